//! Browser sessions: a random id in a signed cookie (server only).
//!
//! Every request passes [`middleware`]: a valid `pb_session` cookie names the session; otherwise a
//! new one is made and set on the response. Handlers and server functions find the [`Session`] in
//! the request's extensions. Only a hash of the id (the *owner key*) is stored with jobs, so the
//! database never holds a usable cookie value.
//!
//! The signing key, in this order: `session-secret` (env `PULSEBOARD_SESSION_SECRET`, at least
//! 32 bytes, the key derived from it); with `hub = "redis://..."`, one key made once in Redis
//! (`SET NX`) and read by every instance, so a cookie signed by one is accepted by all; else a key
//! in the data directory, so sessions survive restarts.
//!
//! The cookie is `HttpOnly`, `SameSite=Lax` and, when the site is served over TLS
//! ([`SessionKeys::secure`]), `Secure`. A cookie that is missing, malformed, forged or signed with
//! another key simply starts a new session: never an error.

use crate::private_file::write_private;
use axum::{
    extract::{Request, State},
    http::{header, HeaderValue},
    middleware::Next,
    response::Response,
};
use cookie::{Cookie, CookieJar, Key, SameSite};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::{path::Path, sync::Arc, time::Duration};

/// Shortest `session-secret` accepted (the 64-byte key is its SHA-512, with a label).
pub const MIN_SECRET_BYTES: usize = 32;

/// The `session-secret` setting. Empty (the default) is unset.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionSettings {
    #[serde(rename = "session-secret")]
    pub secret: String,
}

impl std::fmt::Debug for SessionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = if self.secret.is_empty() { "(unset)" } else { "(set)" };
        f.debug_struct("SessionSettings").field("secret", &shown).finish()
    }
}

impl SessionSettings {
    /// One message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let length = self.secret.len();
        if length > 0 && length < MIN_SECRET_BYTES {
            return vec![format!(
                "key `pulseboard.session-secret`: {length} bytes is too short; use at least {MIN_SECRET_BYTES} \
                 (e.g. `openssl rand -hex 32`), or leave it empty for a generated key"
            )];
        }
        Vec::new()
    }
}

pub const COOKIE: &str = "pb_session";

/// The current browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Hash of the session id: what records are owned by.
    pub owner: String,
}

impl Session {
    fn from_id(id: &str) -> Self {
        Self { owner: hex::encode(&Sha256::digest(id.as_bytes())[..16]) }
    }
}

#[derive(Clone)]
pub struct SessionKeys {
    key: Arc<Key>,
    /// Whether new cookies carry `Secure` (the site is served over TLS).
    secure: bool,
}

impl SessionKeys {
    /// Reads the signing key from `dir/session.key`, creating it on first start.
    pub fn load_or_create(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join("session.key");
        let key = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 64 => Key::from(&bytes),
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is too short to be a session key; delete it to make a new one",
                    path.display()
                )))
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let key = Key::generate();
                write_private(&path, key.master())?;
                key
            }
            Err(err) => return Err(err),
        };
        Ok(Self { key: Arc::new(key), secure: false })
    }

    /// The key derived from a configured secret (at least [`MIN_SECRET_BYTES`], checked by
    /// [`SessionSettings::validate`]; a shorter one is refused here too).
    pub fn from_secret(secret: &str) -> std::io::Result<Self> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(std::io::Error::other(format!("session-secret must be at least {MIN_SECRET_BYTES} bytes")));
        }
        use sha2::Sha512;
        let derived = Sha512::digest([b"pulseboard session key\0".as_slice(), secret.as_bytes()].concat());
        Ok(Self { key: Arc::new(Key::from(&derived)), secure: false })
    }

    /// The one key every instance sharing the Redis at `url` signs with: made by the first to
    /// start (`SET NX`), read by the others. Waits up to `patience` for Redis to answer.
    pub async fn shared_in_redis(url: &str, patience: Duration) -> std::io::Result<Self> {
        use crate::streams::hub::redis_connect as connect;
        let client = connect::client(url).map_err(std::io::Error::other)?;
        let key_name = format!("{}session-key", connect::PREFIX);
        let attempt = || async {
            let mut connection = client.get_multiplexed_async_connection().await?;
            let fresh = hex::encode(Key::generate().master());
            let (stored,): (String,) = redis::pipe()
                .cmd("SET")
                .arg(&key_name)
                .arg(fresh)
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(&key_name)
                .query_async(&mut connection)
                .await?;
            Ok::<_, redis::RedisError>(stored)
        };
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let last = match tokio::time::timeout(connect::COMMAND_TIMEOUT * 2, attempt()).await {
                Ok(Ok(stored)) => {
                    return match hex::decode(stored.trim()) {
                        Ok(bytes) if bytes.len() >= 64 => Ok(Self { key: Arc::new(Key::from(&bytes)), secure: false }),
                        _ => Err(std::io::Error::other(format!(
                        "the session key in Redis ({key_name}) is not one pulseboard made; delete it to make a new one"
                    ))),
                    }
                }
                Ok(Err(err)) => err.to_string(),
                Err(_) => "no answer".to_string(),
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(std::io::Error::other(format!(
                    "the session key could not be read from {} ({last}): start Redis, or set \
                     `session-secret` (PULSEBOARD_SESSION_SECRET) to the same value on every instance",
                    connect::describe(url)
                )));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Marks new session cookies `Secure` (browsers then send them over HTTPS only): set when
    /// the site is served over TLS.
    pub fn secure(mut self, secure: bool) -> Self {
        self.secure = secure;
        self
    }

    #[cfg(test)]
    pub fn ephemeral() -> Self {
        Self { key: Arc::new(Key::generate()), secure: false }
    }

    /// The session a request's cookies prove, if any.
    pub fn session_of(&self, headers: &axum::http::HeaderMap) -> Option<Session> {
        let mut jar = CookieJar::new();
        for value in headers.get_all(header::COOKIE) {
            for cookie in Cookie::split_parse(value.to_str().ok()?).flatten() {
                jar.add_original(cookie.into_owned());
            }
        }
        let cookie = jar.signed(&self.key).get(COOKIE)?;
        Some(Session::from_id(cookie.value()))
    }

    /// A new session and the `Set-Cookie` value that establishes it.
    fn new_session(&self) -> (Session, HeaderValue) {
        let id = hex::encode(rand::random::<[u8; 16]>());
        let mut jar = CookieJar::new();
        jar.signed_mut(&self.key).add(
            Cookie::build((COOKIE, id.clone()))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Lax)
                .secure(self.secure)
                .max_age(cookie::time::Duration::days(365)),
        );
        let cookie = jar.get(COOKIE).expect("just added").to_string();
        (Session::from_id(&id), HeaderValue::from_str(&cookie).expect("cookie is ASCII"))
    }
}

/// Attaches a [`Session`] to every request, creating one when the cookie is missing or forged.
pub async fn middleware(State(keys): State<SessionKeys>, mut request: Request, next: Next) -> Response {
    let (session, set_cookie) = match keys.session_of(request.headers()) {
        Some(session) => (session, None),
        None => {
            let (session, cookie) = keys.new_session();
            (session, Some(cookie))
        }
    };
    request.extensions_mut().insert(session);
    let mut response = next.run(request).await;
    if let Some(cookie) = set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderMap;

    #[test]
    fn signed_cookie_round_trips_and_forgeries_fail() {
        let keys = SessionKeys::ephemeral();
        let (session, set_cookie) = keys.new_session();
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&format!("other=1; {pair}")).unwrap());
        assert_eq!(keys.session_of(&headers), Some(session));

        let forged = format!("{COOKIE}=00000000000000000000000000000000");
        headers.insert(header::COOKIE, HeaderValue::from_str(&forged).unwrap());
        assert_eq!(keys.session_of(&headers), None);
        // Another server's key does not accept it either.
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert_eq!(SessionKeys::ephemeral().session_of(&headers), None);
    }

    #[test]
    fn the_cookie_is_secure_only_when_asked() {
        let (_, plain) = SessionKeys::ephemeral().new_session();
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Lax"), "{plain}");
        assert!(!plain.contains("Secure"), "{plain}");
        let (_, secure) = SessionKeys::ephemeral().secure(true).new_session();
        let secure = secure.to_str().unwrap();
        assert!(secure.split("; ").any(|attribute| attribute == "Secure"), "{secure}");
        assert!(secure.contains("HttpOnly") && secure.contains("SameSite=Lax"), "{secure}");
    }

    /// A tampered, truncated or garbled cookie is a new session, answered normally (never a 500).
    #[tokio::test]
    async fn a_tampered_cookie_starts_a_new_session() {
        use axum::{body::Body, routing::get, Extension, Router};
        use tower::ServiceExt;

        let keys = SessionKeys::ephemeral();
        let app = Router::new()
            .route("/", get(|Extension(session): Extension<Session>| async move { session.owner }))
            .layer(axum::middleware::from_fn_with_state(keys.clone(), middleware));
        let (session, set_cookie) = keys.new_session();
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let (name, value) = pair.split_once('=').unwrap();
        // One character of the signed value changed, the signature cut, the value emptied, junk,
        // bytes that are not UTF-8, and the same cookie twice (once tampered).
        let last = value.chars().last().unwrap();
        let flipped = format!("{name}={}{}", &value[..value.len() - 1], if last == 'A' { 'B' } else { 'A' });
        let cases: Vec<Vec<u8>> = vec![
            flipped.clone().into_bytes(),
            format!("{name}={}", &value[..20]).into_bytes(),
            format!("{name}=").into_bytes(),
            format!("{name}=%%%;;;===").into_bytes(),
            [format!("{name}=").as_bytes(), &[0xff, 0xfe, 0x80]].concat(),
            format!("{flipped}; {pair}").into_bytes(),
        ];
        for cookie in cases {
            let request = axum::http::Request::get("/")
                .header(header::COOKIE, HeaderValue::from_bytes(&cookie).unwrap())
                .body(Body::empty())
                .unwrap();
            let response = app.clone().oneshot(request).await.unwrap();
            let shown = String::from_utf8_lossy(&cookie).into_owned();
            assert_eq!(response.status(), 200, "{shown}");
            let new_cookie = response.headers().contains_key(header::SET_COOKIE);
            let body = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
            let owner = String::from_utf8(body.to_vec()).unwrap();
            if shown.ends_with(&pair) {
                // The genuine cookie beside the tampered one still names its session.
                assert_eq!(owner, session.owner, "{shown}");
            } else {
                assert!(new_cookie, "a new session is set: {shown}");
                assert_ne!(owner, session.owner, "{shown}");
            }
        }
    }

    #[test]
    fn a_configured_secret_signs_alike_on_every_instance() {
        let secret = "0123456789abcdef0123456789abcdef";
        let (session, set_cookie) = SessionKeys::from_secret(secret).unwrap().new_session();
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert_eq!(SessionKeys::from_secret(secret).unwrap().session_of(&headers), Some(session));
        let other = SessionKeys::from_secret("0123456789abcdef0123456789abcdeX").unwrap();
        assert_eq!(other.session_of(&headers), None);

        assert!(SessionKeys::from_secret("short").is_err());
        let problems = SessionSettings { secret: "short".into() }.validate();
        assert!(problems[0].contains("`pulseboard.session-secret`") && problems[0].contains("5 bytes"), "{problems:?}");
        assert!(SessionSettings { secret: secret.into() }.validate().is_empty());
        assert!(SessionSettings::default().validate().is_empty());
        assert!(!format!("{:?}", SessionSettings { secret: secret.into() }).contains(secret));
    }

    #[test]
    fn key_file_is_created_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = SessionKeys::load_or_create(dir.path()).unwrap();
        let (session, set_cookie) = first.new_session();
        let second = SessionKeys::load_or_create(dir.path()).unwrap();
        let mut headers = HeaderMap::new();
        let pair = set_cookie.to_str().unwrap().split(';').next().unwrap().to_string();
        headers.insert(header::COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert_eq!(second.session_of(&headers), Some(session));
    }
}
