//! Token auth's own settings: the `jwt-*` keys of the `[pulseboard]` table and
//! `subscribe-requires-token` (documented in Leptos.toml and README, "Tokens").
//!
//! TOML has no null, so an empty string means "not set". The algorithm is fixed here, never read
//! from a token's header. [`AuthSettings::validate`] refuses combinations that cannot work (a
//! secret with an RSA algorithm, a public key with HS256, a secret too short to be one).

use jsonwebtoken::{Algorithm, AlgorithmFamily};
use serde::{Deserialize, Serialize};
use std::{path::PathBuf, str::FromStr};

/// Shortest `jwt-secret` accepted, in bytes (RFC 7518 §3.2: at least the hash size for HS256).
pub const MIN_SECRET_LEN: usize = 32;
/// Most leeway for `exp`/`nbf`/`iat` one may configure, in seconds.
pub const MAX_LEEWAY_SECS: u64 = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthSettings {
    /// Shared HS256 secret (env `PULSEBOARD_JWT_SECRET`). Empty: a secret generated in the data
    /// directory on first start (unless `jwt-public-key` is set).
    #[serde(rename = "jwt-secret")]
    pub jwt_secret: String,
    /// PEM public key file for RS256/ES256 tokens signed elsewhere. Empty: HS256 with the secret.
    #[serde(rename = "jwt-public-key")]
    pub jwt_public_key: String,
    /// The one algorithm tokens must use: HS256 (with the secret) or RS256/ES256/... (with the key).
    #[serde(rename = "jwt-algorithm")]
    pub jwt_algorithm: String,
    /// When not empty, tokens must carry this `aud`.
    #[serde(rename = "jwt-audience")]
    pub jwt_audience: String,
    /// When not empty, tokens must carry this `iss` (and minted tokens carry it).
    #[serde(rename = "jwt-issuer")]
    pub jwt_issuer: String,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
    #[serde(rename = "jwt-leeway-secs")]
    pub jwt_leeway_secs: u64,
    /// Lifetime of the subscribe tokens the server hands to browser sessions, in seconds.
    #[serde(rename = "stream-token-ttl-secs")]
    pub stream_token_ttl_secs: u64,
    /// Public topics need a token to subscribe too (private ones always do).
    #[serde(rename = "subscribe-requires-token")]
    pub subscribe_requires_token: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: String::new(),
            jwt_public_key: String::new(),
            jwt_algorithm: "HS256".to_string(),
            jwt_audience: String::new(),
            jwt_issuer: String::new(),
            jwt_leeway_secs: 30,
            stream_token_ttl_secs: 300,
            subscribe_requires_token: false,
        }
    }
}

impl AuthSettings {
    /// The configured algorithm (call after [`AuthSettings::validate`] passed).
    pub fn algorithm(&self) -> Result<Algorithm, String> {
        Algorithm::from_str(self.jwt_algorithm.trim()).map_err(|_| {
            format!(
                "key `pulseboard.jwt-algorithm`: unknown algorithm {:?}; use HS256, HS384, HS512, RS256, RS384, \
                 RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA",
                self.jwt_algorithm
            )
        })
    }

    pub fn public_key_path(&self) -> Option<PathBuf> {
        (!self.jwt_public_key.trim().is_empty()).then(|| PathBuf::from(self.jwt_public_key.trim()))
    }

    pub fn secret(&self) -> Option<&str> {
        (!self.jwt_secret.is_empty()).then_some(self.jwt_secret.as_str())
    }

    /// What the types alone cannot say: one message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let algorithm = match self.algorithm() {
            Ok(algorithm) => algorithm,
            Err(problem) => return vec![problem],
        };
        let hmac = algorithm.family() == AlgorithmFamily::Hmac;
        match (hmac, self.secret(), self.public_key_path()) {
            (_, Some(_), Some(_)) => problems.push(
                "keys `pulseboard.jwt-secret` and `pulseboard.jwt-public-key`: set one of them, not both".to_string(),
            ),
            (true, _, Some(_)) => problems.push(format!(
                "key `pulseboard.jwt-public-key`: a public key needs an RS/PS/ES/EdDSA `jwt-algorithm`, \
                 not {algorithm:?}"
            )),
            (false, Some(_), None) => problems.push(format!(
                "key `pulseboard.jwt-secret`: a shared secret needs an HS `jwt-algorithm`, not {algorithm:?}"
            )),
            (false, None, None) => problems.push(format!(
                "key `pulseboard.jwt-algorithm`: {algorithm:?} verifies with a public key; set `jwt-public-key`"
            )),
            _ => {}
        }
        if self.secret().is_some_and(|secret| secret.len() < MIN_SECRET_LEN) {
            problems.push(format!("key `pulseboard.jwt-secret`: must be at least {MIN_SECRET_LEN} bytes long"));
        }
        if self.jwt_leeway_secs > MAX_LEEWAY_SECS {
            problems.push(format!("key `pulseboard.jwt-leeway-secs`: at most {MAX_LEEWAY_SECS}"));
        }
        if !(10..=86_400).contains(&self.stream_token_ttl_secs) {
            problems.push("key `pulseboard.stream-token-ttl-secs`: must be in 10..=86400".to_string());
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_combinations_are_refused() {
        assert!(AuthSettings::default().validate().is_empty());
        let with = |f: fn(&mut AuthSettings)| {
            let mut settings = AuthSettings::default();
            f(&mut settings);
            settings.validate().join("; ")
        };
        assert!(with(|s| s.jwt_secret = "short".into()).contains("at least 32"));
        assert!(with(|s| s.jwt_algorithm = "none".into()).contains("unknown algorithm"));
        assert!(with(|s| s.jwt_algorithm = "RS256".into()).contains("set `jwt-public-key`"));
        assert!(with(|s| s.jwt_public_key = "/k.pem".into()).contains("needs an RS/PS/ES"));
        assert!(with(|s| {
            s.jwt_algorithm = "ES256".into();
            s.jwt_secret = "x".repeat(40);
        })
        .contains("needs an HS"));
        assert!(with(|s| s.jwt_leeway_secs = 3600).contains("jwt-leeway-secs"));
        assert!(with(|s| {
            s.jwt_algorithm = "ES256".into();
            s.jwt_public_key = "/k.pem".into();
        })
        .is_empty());
    }
}
