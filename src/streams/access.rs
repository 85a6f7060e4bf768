//! The one guard in front of publishing and subscribing.
//!
//! Every publish and every stream (HTTP API, server functions, the job producers' API) passes
//! through [`authorize`]:
//! - **publish** needs a bearer token whose `publish` patterns grant every topic;
//! - **subscribe** to a public topic is open, unless `subscribe-requires-token`; a token that is
//!   presented must still be valid;
//! - `private.` topics, and the reserved topics of the server's own producers for publishing,
//!   are reached only by a grant that names them ([`TopicPattern::grants`]), or by server code
//!   that derived the topic from the caller's session (`Origin::Trusted`).
//!
//! Tokens come from `Authorization: Bearer` or, for subscriptions only (clients that cannot set
//! headers), the `access_token` query parameter; never both (RFC 6750 §2). When a token was
//! needed for a stream, [`Granted::expires_at`] bounds the stream's life; [`Granted::token`] names
//! the verified token, for what is counted per token (the publish rate).

use super::{
    auth::{Auth, TokenId, TopicPattern},
    error::ApiError,
    names::TopicName,
};
use axum::http::{header, HeaderMap, Uri};

pub use super::names::PRIVATE_PREFIX;

/// The query parameter that carries a token on subscriptions.
pub const ACCESS_TOKEN_PARAM: &str = "access_token";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Publish,
    Subscribe,
}

/// Who chose the topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The caller named them (HTTP API, inspector).
    Public,
    /// Server code derived them from the caller's identity.
    Trusted,
}

/// The credentials a request carries.
#[derive(Debug, Clone, Copy, Default)]
pub struct Credentials<'a> {
    /// The `Authorization` header, as sent.
    pub header: Option<&'a str>,
    /// The `access_token` query parameter.
    pub query: Option<&'a str>,
}

impl<'a> Credentials<'a> {
    pub fn new(headers: &'a HeaderMap, query: Option<&'a str>) -> Self {
        // A header that is not text is kept as "" so it is refused as malformed, not ignored.
        let header = headers.get(header::AUTHORIZATION).map(|value| value.to_str().unwrap_or(""));
        Self { header, query }
    }
}

/// What the guard allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Granted {
    /// When the token that was needed stops being accepted (seconds since the epoch: its `exp`
    /// plus the leeway); none when no token was needed.
    pub expires_at: Option<u64>,
    /// The token the request presented, once verified; none without one, or when server code
    /// vouched for the topics (`Origin::Trusted`).
    pub token: Option<TokenId>,
}

pub fn authorize(
    auth: &Auth,
    credentials: Credentials<'_>,
    action: Action,
    topics: &[TopicName],
    origin: Origin,
) -> Result<Granted, ApiError> {
    let token = bearer(credentials, action)?;
    if origin == Origin::Trusted {
        // The session, not a token, is the credential here: a stale token beside it is harmless.
        return Ok(Granted::default());
    }
    // A presented token is checked even where none is needed: a client should learn it is bad.
    let scope = token.map(|token| auth.verify(token)).transpose()?;
    let publish = action == Action::Publish;
    let reserved: &[TopicPattern] = if publish { auth.reserved() } else { &[] };
    let mut needed = false;
    for topic in topics {
        let name = topic.as_str();
        let private = name.starts_with(PRIVATE_PREFIX);
        if !publish && !private && !auth.subscribe_requires_token() {
            continue;
        }
        needed = true;
        let Some(scope) = &scope else {
            return Err(if private {
                ApiError::InsufficientScope(format!(
                    "topic \"{topic}\" is private to the server; clients may not {} it without a token that names it",
                    verb(action)
                ))
            } else {
                ApiError::MissingToken(format!(
                    "{} \"{topic}\" needs a bearer token (`Authorization: Bearer <token>`); README, \"Tokens\", \
                     says how to get one",
                    if publish { "publishing to" } else { "subscribing to" }
                ))
            });
        };
        if !scope.patterns(publish).iter().any(|pattern| pattern.grants(name, reserved)) {
            let kind = if publish { "publish" } else { "subscribe" };
            let explicit = if private || reserved.iter().any(|r| r.matches(name)) {
                " (the server produces this topic itself: only a pattern that names it reaches it, `*` does not)"
            } else {
                ""
            };
            return Err(ApiError::InsufficientScope(format!(
                "the token's {kind} patterns do not allow topic \"{topic}\"{explicit}"
            )));
        }
    }
    Ok(Granted {
        expires_at: scope.as_ref().filter(|_| needed).map(|scope| auth.refused_from(scope)),
        // A presented token was verified above (or refused): this names a valid token only.
        token: token.map(TokenId::of),
    })
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Publish => "publish to",
        Action::Subscribe => "subscribe to",
    }
}

/// The token of a request, if it carries one; refuses a token in the query of a publish and a
/// token given twice (400, `invalid_request`).
fn bearer<'a>(credentials: Credentials<'a>, action: Action) -> Result<Option<&'a str>, ApiError> {
    if credentials.query.is_some() && action == Action::Publish {
        return Err(ApiError::BadTokenRequest(format!(
            "the {ACCESS_TOKEN_PARAM} query parameter is accepted on subscriptions only; send the token in an \
             `Authorization: Bearer <token>` header"
        )));
    }
    match (credentials.header, credentials.query) {
        (Some(_), Some(_)) => Err(ApiError::BadTokenRequest(format!(
            "the token was given twice (Authorization header and {ACCESS_TOKEN_PARAM}); send it once"
        ))),
        (None, query) => Ok(query.map(str::trim)),
        (Some(value), None) => match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
                Ok(Some(token.trim()))
            }
            _ => {
                Err(ApiError::MissingToken("the Authorization header must be `Bearer <token>` (RFC 6750)".to_string()))
            }
        },
    }
}

/// `uri` with the value of any `access_token` query parameter replaced by `REDACTED`, for logs.
pub fn redact_access_token(uri: &Uri) -> String {
    let Some(query) = uri.query().filter(|q| q.contains(ACCESS_TOKEN_PARAM)) else {
        return uri.to_string();
    };
    let redacted: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key == ACCESS_TOKEN_PARAM => format!("{key}=REDACTED"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{}?{}", uri.path(), redacted.join("&"))
}

#[cfg(test)]
#[path = "access_tests.rs"]
mod tests;
