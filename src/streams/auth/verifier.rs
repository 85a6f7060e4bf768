//! Checks a token: size, algorithm, signature, `exp` (required), `nbf` and `iat` (with the
//! configured leeway), `aud`/`iss` when configured, and the pulseboard claim's patterns.
//!
//! Signature and registered claims are checked by `jsonwebtoken`; the algorithm is the one from
//! the configuration, never the token's header (a header naming another one is refused before
//! any key is used). [`TokenError`] says which check failed, in a sentence for the client.

use super::claims::{Claims, Scope};
use jsonwebtoken::{errors::ErrorKind, Algorithm, DecodingKey, Validation};

/// Tokens longer than this are refused unread.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is {0} bytes long; at most {MAX_TOKEN_BYTES} are accepted")]
    TooLarge(usize),
    #[error("the token is not a well-formed JWT ({0})")]
    Malformed(String),
    #[error("the token is signed with {found}; this server accepts only {expected}")]
    WrongAlgorithm { found: String, expected: String },
    #[error("the token's signature does not verify with this server's key")]
    BadSignature,
    #[error("the token has expired; get a new one")]
    Expired,
    #[error("the token is not valid yet (its nbf is in the future)")]
    NotYetValid,
    #[error("the token was issued in the future (its iat is later than now); check the issuer's clock")]
    IssuedInFuture,
    #[error("the token is not meant for this server (its aud does not match)")]
    WrongAudience,
    #[error("the token comes from an issuer this server does not accept (its iss does not match)")]
    WrongIssuer,
    #[error("the token's claims are not valid: {0}")]
    BadClaims(String),
}

pub struct Verifier {
    key: DecodingKey,
    algorithm: Algorithm,
    validation: Validation,
    leeway: u64,
}

impl Verifier {
    pub fn new(
        key: DecodingKey,
        algorithm: Algorithm,
        audience: Option<&str>,
        issuer: Option<&str>,
        leeway: u64,
    ) -> Self {
        let mut validation = Validation::new(algorithm);
        validation.leeway = leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        validation.validate_aud = audience.is_some();
        if let Some(audience) = audience {
            validation.set_audience(&[audience]);
            required.push("aud");
        }
        if let Some(issuer) = issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        validation.set_required_spec_claims(&required);
        Self { key, algorithm, validation, leeway }
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    pub fn verify(&self, token: &str) -> Result<Scope, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge(token.len()));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|err| TokenError::Malformed(err.to_string()))?;
        if header.alg != self.algorithm {
            return Err(TokenError::WrongAlgorithm {
                found: format!("{:?}", header.alg),
                expected: format!("{:?}", self.algorithm),
            });
        }
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation).map_err(|err| match err.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAlgorithm => TokenError::WrongAlgorithm {
                    found: format!("{:?}", header.alg),
                    expected: format!("{:?}", self.algorithm),
                },
                ErrorKind::MissingRequiredClaim(claim) => {
                    TokenError::BadClaims(format!("the {claim} claim is required"))
                }
                ErrorKind::Json(err) => TokenError::BadClaims(err.to_string()),
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                    TokenError::Malformed(err.to_string())
                }
                _ => TokenError::BadClaims(err.to_string()),
            })?;
        if data.claims.iat.is_some_and(|iat| iat > jsonwebtoken::get_current_timestamp() + self.leeway) {
            return Err(TokenError::IssuedInFuture);
        }
        Scope::from_claims(&data.claims).map_err(|err| TokenError::BadClaims(err.to_string()))
    }
}
