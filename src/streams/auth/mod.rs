//! Token auth: which topics a bearer token lets its holder publish to and subscribe to.
//!
//! Tokens are JWTs ([`claims`]) whose patterns ([`pattern`]) name topics; [`keys`] loads the one
//! key and algorithm the configuration ([`settings`]) names, [`verifier`] checks tokens with it
//! and [`issuer`] mints them with the server's own secret. [`Auth`] bundles these with the
//! patterns of *reserved* topics — those the server's own producers publish to, which outside
//! tokens reach only by naming them. This layer does not know those topics: the server wiring
//! registers them ([`Auth::reserving`]). The decision itself is `streams::access::authorize`.

pub mod claims;
pub mod issuer;
pub mod keys;
pub mod pattern;
pub mod settings;
pub mod verifier;

#[cfg(test)]
mod tests;

pub use claims::{Grants, Scope};
pub use pattern::TopicPattern;
pub use settings::AuthSettings;
pub use verifier::TokenError;

use issuer::{Issuer, MintError};
use keys::{KeyOrigin, Keys};
use sha2::{Digest, Sha256};
use std::{sync::Arc, time::Duration};
use verifier::Verifier;

/// The realm named in `WWW-Authenticate` challenges.
pub const REALM: &str = "pulseboard";

/// Which token a request was granted by, for what is counted per token (the publish rate): the
/// SHA-256 of the token, so the token itself is not kept. Made by the access guard from a token
/// it verified, never from one it did not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenId([u8; 32]);

impl TokenId {
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }
}

#[derive(Clone)]
pub struct Auth {
    inner: Arc<Inner>,
    reserved: Arc<[TopicPattern]>,
}

struct Inner {
    verifier: Verifier,
    issuer: Option<Issuer>,
    origin: KeyOrigin,
    subscribe_requires_token: bool,
    stream_token_ttl: Duration,
    leeway_secs: u64,
}

impl Auth {
    pub fn new(keys: Keys, settings: &AuthSettings) -> Self {
        Self {
            inner: Arc::new(Inner {
                verifier: keys.verifier,
                issuer: keys.issuer,
                origin: keys.origin,
                subscribe_requires_token: settings.subscribe_requires_token,
                stream_token_ttl: Duration::from_secs(settings.stream_token_ttl_secs),
                leeway_secs: settings.jwt_leeway_secs,
            }),
            reserved: Arc::from([]),
        }
    }

    /// The same, with `patterns` reserved: topics they match take no outside publish unless a
    /// token names them (see [`TopicPattern::grants`]). Called once, by the server wiring.
    pub fn reserving(self, patterns: impl IntoIterator<Item = TopicPattern>) -> Self {
        let reserved = self.reserved.iter().cloned().chain(patterns).collect();
        Self { reserved, ..self }
    }

    pub fn verify(&self, token: &str) -> Result<Scope, TokenError> {
        self.inner.verifier.verify(token)
    }

    pub fn reserved(&self) -> &[TopicPattern] {
        &self.reserved
    }

    pub fn subscribe_requires_token(&self) -> bool {
        self.inner.subscribe_requires_token
    }

    /// Whether this server can mint tokens (it holds a secret, not only a public key).
    pub fn can_mint(&self) -> bool {
        self.inner.issuer.is_some()
    }

    /// Mints a token for `grants` valid for `ttl`; `None` when the server only has a public key.
    pub fn mint(&self, grants: Grants, ttl: Duration) -> Option<Result<String, MintError>> {
        self.inner.issuer.as_ref().map(|issuer| issuer.mint(grants, ttl))
    }

    /// The first second (since the epoch) at which the verifier refuses a token of `scope`: a
    /// stream opened with it ends then, so no stream outlives what a new request would get.
    pub fn refused_from(&self, scope: &Scope) -> u64 {
        scope.expires_at.saturating_add(self.inner.leeway_secs).saturating_add(1)
    }

    /// How long the subscribe tokens handed to browser sessions live.
    pub fn stream_token_ttl(&self) -> Duration {
        self.inner.stream_token_ttl
    }

    /// One line for the startup log: which key verifies tokens and how to get one.
    pub fn describe(&self) -> String {
        let key = keys::describe(self.inner.verifier.algorithm(), &self.inner.origin);
        if self.can_mint() {
            format!("tokens: {key}; mint one with `pulseboard token --publish 'TOPIC' --subscribe '*' --ttl 1h`")
        } else {
            format!("tokens: {key}; tokens are minted by whoever holds the private key")
        }
    }
}
