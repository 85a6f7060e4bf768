//! Verification against tokens made with `jsonwebtoken` directly, so each check is seen to fail
//! on its own: expiry, nbf, iat, the header's algorithm, the key, size, aud/iss, claims.

use super::{
    claims::Grants,
    keys::{self, KeyOrigin},
    settings::AuthSettings,
    verifier::{TokenError, MAX_TOKEN_BYTES},
    Auth,
};
use jsonwebtoken::{encode, get_current_timestamp, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::time::Duration;

const SECRET: &str = "an-hs256-test-secret-of-at-least-32-bytes";

// A throwaway P-256 pair made with openssl for these tests only.
const EC_PRIVATE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7q6PhmV7QPSJav27
kkG/2arDAED/X1+j/wxZHg2XCsqhRANCAAShyhr4Pkove6CBaaFq6CQmTnSR363H
rQwGELWjGEmF0LEHw+ZUMv6xRPz4Sr95Vt0T4AX3cCeDIc90zMDifNe5
-----END PRIVATE KEY-----
";
const EC_PUBLIC: &str = "-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEocoa+D5KL3uggWmhaugkJk50kd+t
x60MBhC1oxhJhdCxB8PmVDL+sUT8+Eq/eVbdE+AF93AngyHPdMzA4nzXuQ==
-----END PUBLIC KEY-----
";

fn auth_with(tweak: impl FnOnce(&mut AuthSettings)) -> Auth {
    let mut settings = AuthSettings { jwt_secret: SECRET.to_string(), ..AuthSettings::default() };
    tweak(&mut settings);
    assert!(settings.validate().is_empty(), "{:?}", settings.validate());
    let dir = tempfile::tempdir().unwrap();
    Auth::new(keys::load(&settings, dir.path()).unwrap(), &settings)
}

fn now() -> u64 {
    get_current_timestamp()
}

fn claims(extra: Value) -> Value {
    let mut claims = json!({"pulseboard": {"publish": ["demo"], "subscribe": ["*"]}, "exp": now() + 60});
    claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    claims
}

fn hs256(claims: &Value) -> String {
    encode(&Header::new(Algorithm::HS256), claims, &EncodingKey::from_secret(SECRET.as_bytes())).unwrap()
}

#[test]
fn a_good_token_gives_its_scope() {
    let scope = auth_with(|_| {}).verify(&hs256(&claims(json!({})))).unwrap();
    assert_eq!(scope.publish.len(), 1);
    assert!(scope.expires_at > now());
}

#[test]
fn time_claims() {
    let auth = auth_with(|s| s.jwt_leeway_secs = 5);
    assert_eq!(auth.verify(&hs256(&claims(json!({"exp": now() - 60})))), Err(TokenError::Expired));
    // Within the leeway it still passes.
    assert!(auth.verify(&hs256(&claims(json!({"exp": now() - 2})))).is_ok());
    assert_eq!(auth.verify(&hs256(&claims(json!({"nbf": now() + 60})))), Err(TokenError::NotYetValid));
    assert!(auth.verify(&hs256(&claims(json!({"nbf": now() + 2})))).is_ok());
    assert_eq!(auth.verify(&hs256(&claims(json!({"iat": now() + 60})))), Err(TokenError::IssuedInFuture));
    assert!(auth.verify(&hs256(&claims(json!({"iat": now() - 60})))).is_ok());
    // exp is required.
    let mut no_exp = claims(json!({}));
    no_exp.as_object_mut().unwrap().remove("exp");
    assert!(matches!(auth.verify(&hs256(&no_exp)), Err(TokenError::BadClaims(m)) if m.contains("exp")));
}

#[test]
fn the_algorithm_comes_from_the_configuration() {
    let auth = auth_with(|_| {});
    let hs384 =
        encode(&Header::new(Algorithm::HS384), &claims(json!({})), &EncodingKey::from_secret(SECRET.as_bytes()))
            .unwrap();
    assert!(matches!(auth.verify(&hs384), Err(TokenError::WrongAlgorithm { found, .. }) if found == "HS384"));
    // "alg": "none" with an empty signature.
    let b64 = |v: &Value| base64_url(v.to_string().as_bytes());
    let none = format!("{}.{}.", b64(&json!({"alg": "none", "typ": "JWT"})), b64(&claims(json!({}))));
    assert!(matches!(auth.verify(&none), Err(TokenError::Malformed(_))));
    // An ES256 token at an HS256 server.
    let es = encode(
        &Header::new(Algorithm::ES256),
        &claims(json!({})),
        &EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap(),
    )
    .unwrap();
    assert!(matches!(auth.verify(&es), Err(TokenError::WrongAlgorithm { .. })));
}

fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[test]
fn wrong_key_malformed_and_oversized_tokens() {
    let auth = auth_with(|_| {});
    let other = encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-also-32-bytes-long!!"),
    )
    .unwrap();
    assert_eq!(auth.verify(&other), Err(TokenError::BadSignature));
    assert!(matches!(auth.verify("not-a-jwt"), Err(TokenError::Malformed(_))));
    assert!(matches!(auth.verify(""), Err(TokenError::Malformed(_))));
    let big = hs256(&claims(json!({"padding": "x".repeat(MAX_TOKEN_BYTES)})));
    assert_eq!(auth.verify(&big), Err(TokenError::TooLarge(big.len())));
    // A pattern outside the grammar refuses the token.
    let bad = hs256(&json!({"pulseboard": {"publish": ["a*b"]}, "exp": now() + 60}));
    assert!(matches!(auth.verify(&bad), Err(TokenError::BadClaims(m)) if m.contains("a*b")));
    // No pulseboard claim at all.
    assert!(matches!(auth.verify(&hs256(&json!({"exp": now() + 60}))), Err(TokenError::BadClaims(_))));
}

#[test]
fn audience_and_issuer_when_configured() {
    let auth = auth_with(|s| {
        s.jwt_audience = "pulseboard-prod".into();
        s.jwt_issuer = "https://issuer.example".into();
    });
    let good = claims(json!({"aud": "pulseboard-prod", "iss": "https://issuer.example"}));
    assert!(auth.verify(&hs256(&good)).is_ok());
    let wrong_aud = claims(json!({"aud": "elsewhere", "iss": "https://issuer.example"}));
    assert_eq!(auth.verify(&hs256(&wrong_aud)), Err(TokenError::WrongAudience));
    let wrong_iss = claims(json!({"aud": "pulseboard-prod", "iss": "https://other.example"}));
    assert_eq!(auth.verify(&hs256(&wrong_iss)), Err(TokenError::WrongIssuer));
    assert!(matches!(
        auth.verify(&hs256(&claims(json!({"iss": "https://issuer.example"})))),
        Err(TokenError::BadClaims(_))
    ));
    // Minted tokens carry both.
    let minted = auth.mint(Grants { subscribe: vec!["*".into()], ..Grants::default() }, Duration::from_secs(60));
    assert!(auth.verify(&minted.unwrap().unwrap()).is_ok());
}

#[test]
fn es256_with_a_public_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("public.pem");
    std::fs::write(&path, EC_PUBLIC).unwrap();
    let settings = AuthSettings {
        jwt_algorithm: "ES256".into(),
        jwt_public_key: path.display().to_string(),
        ..AuthSettings::default()
    };
    let loaded = keys::load(&settings, dir.path()).unwrap();
    assert_eq!(loaded.origin, KeyOrigin::PublicKey(path));
    let auth = Auth::new(loaded, &settings);
    assert!(!auth.can_mint());
    let key = EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap();
    let token = encode(&Header::new(Algorithm::ES256), &claims(json!({})), &key).unwrap();
    assert!(auth.verify(&token).is_ok());
    // An HS256 token "signed" with the public key's bytes (the classic confusion attack).
    let confused =
        encode(&Header::new(Algorithm::HS256), &claims(json!({})), &EncodingKey::from_secret(EC_PUBLIC.as_bytes()))
            .unwrap();
    assert!(matches!(auth.verify(&confused), Err(TokenError::WrongAlgorithm { .. })));
}

#[test]
fn the_generated_secret_is_made_once_private_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let settings = AuthSettings::default();
    let first = Auth::new(keys::load(&settings, dir.path()).unwrap(), &settings);
    let token = first.mint(Grants { publish: vec!["demo".into()], ..Grants::default() }, Duration::from_secs(60));
    let second = Auth::new(keys::load(&settings, dir.path()).unwrap(), &settings);
    assert!(second.verify(&token.unwrap().unwrap()).is_ok());
    let file = dir.path().join(keys::SECRET_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // Another data directory, another secret.
    let elsewhere = tempfile::tempdir().unwrap();
    let third = Auth::new(keys::load(&settings, elsewhere.path()).unwrap(), &settings);
    let token = first.mint(Grants::default(), Duration::from_secs(60)).unwrap().unwrap();
    assert_eq!(third.verify(&token), Err(TokenError::BadSignature));
}
