//! Mints tokens with the server's own HS secret: for `pulseboard token` and for the short-lived
//! subscribe tokens browser sessions get. A server that only holds a public key (RS/ES tokens
//! signed elsewhere) has no issuer.

use super::{
    claims::{Claims, Grants, Scope},
    pattern::PatternError,
};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("{0}")]
    Pattern(#[from] PatternError),
    #[error("could not sign the token: {0}")]
    Signing(String),
}

pub struct Issuer {
    key: EncodingKey,
    algorithm: Algorithm,
    audience: Option<String>,
    issuer: Option<String>,
}

impl Issuer {
    pub fn new(key: EncodingKey, algorithm: Algorithm, audience: Option<&str>, issuer: Option<&str>) -> Self {
        Self { key, algorithm, audience: audience.map(str::to_string), issuer: issuer.map(str::to_string) }
    }

    /// A token granting `grants` for `ttl` from now. Patterns are checked first: a token this
    /// server would refuse is never made.
    pub fn mint(&self, grants: Grants, ttl: Duration) -> Result<String, MintError> {
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            pulseboard: grants,
            exp: now + ttl.as_secs().max(1),
            nbf: None,
            iat: Some(now),
            aud: self.audience.clone().map(serde_json::Value::String),
            iss: self.issuer.clone(),
            sub: None,
        };
        Scope::from_claims(&claims)?;
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.key)
            .map_err(|err| MintError::Signing(err.to_string()))
    }
}
