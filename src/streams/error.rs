//! Why the stream layer refused a request: one error type, one status each, one JSON body.
//!
//! Every refusal of the stream API (`/api/events`, `/api/publish`) and of stream server functions
//! is an [`ApiError`]; [`ApiError::status`] is the only table from error to HTTP status, and the
//! body is always `{"error": "<a sentence saying what was wrong>"}`. A limit reached (429) and
//! a server shutting down or a backend down (503) also say when to come back, in `Retry-After`.
//!
//! Token refusals follow RFC 6750 §3: 401 with `WWW-Authenticate: Bearer realm="pulseboard"` when
//! no token came (no error code, as §3.1 asks for requests without credentials), with
//! `error="invalid_token"` when the token is malformed, wrongly signed, expired, ...; 403 with
//! `error="insufficient_scope"` when it is valid but does not allow the topic; 400 with
//! `error="invalid_request"` when it came where it may not (a publish's query) or twice.

use super::{
    auth::{TokenError, REALM},
    hub::HubError,
    limits::LimitExceeded,
    names::NameError,
};
use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadName(#[from] NameError),
    #[error("unknown query parameter {0:?}; expected {1}")]
    UnknownParameter(String, &'static str),
    #[error("missing query parameter {0:?}")]
    MissingParameter(&'static str),
    #[error("query parameter {0:?} given more than once")]
    RepeatedParameter(&'static str),
    #[error("a stream may subscribe to at most {0} topics")]
    TooManyTopics(usize),
    #[error("body is larger than the limit of {0} bytes")]
    BodyTooLarge(usize),
    #[error("body is not valid UTF-8 (event data must be text)")]
    BodyNotUtf8,
    #[error("could not read the request body: {0}")]
    BodyUnreadable(String),
    #[error("rejected by topic {0:?}: {1}")]
    Rejected(String, String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("{0}")]
    MissingToken(String),
    #[error("invalid token: {0}")]
    InvalidToken(#[from] TokenError),
    #[error("insufficient scope: {0}")]
    InsufficientScope(String),
    #[error("{0}")]
    BadTokenRequest(String),
    #[error("{method} is not allowed on {path}; use {allowed}")]
    MethodNotAllowed { method: String, path: String, allowed: &'static str },
    #[error("{0}")]
    Unavailable(#[from] HubError),
    #[error("{0}")]
    TooManyRequests(#[from] LimitExceeded),
}

/// Seconds a client is told to wait when the server is shutting down: about what a restart or a
/// replica taking over needs.
pub const SHUTDOWN_RETRY_AFTER_SECS: u64 = 5;

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden(_) | Self::InsufficientScope(_) => StatusCode::FORBIDDEN,
            Self::MissingToken(_) | Self::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(HubError::ShuttingDown | HubError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadName(_)
            | Self::UnknownParameter(..)
            | Self::MissingParameter(_)
            | Self::RepeatedParameter(_)
            | Self::TooManyTopics(_)
            | Self::BodyNotUtf8
            | Self::BodyUnreadable(_)
            | Self::Rejected(..)
            | Self::BadTokenRequest(_)
            | Self::Unavailable(HubError::NoTopics) => StatusCode::BAD_REQUEST,
        }
    }

    /// The `Retry-After` of the answer, in seconds: for a limit reached and while shutting down.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(limit) => Some(limit.retry_after_secs),
            Self::Unavailable(HubError::ShuttingDown | HubError::Unavailable(_)) => Some(SHUTDOWN_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

impl ApiError {
    /// The RFC 6750 challenge a token refusal carries.
    pub fn challenge(&self) -> Option<String> {
        let code = match self {
            Self::MissingToken(_) => return Some(format!("Bearer realm=\"{REALM}\"")),
            Self::InvalidToken(_) => "invalid_token",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::BadTokenRequest(_) => "invalid_request",
            _ => return None,
        };
        Some(format!("Bearer realm=\"{REALM}\", error=\"{code}\""))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        use axum::http::{header, HeaderValue};
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let Self::TooManyRequests(limit) = &self {
            body["limit"] = limit.limit.into();
        }
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if let Self::MethodNotAllowed { allowed, .. } = self {
            response.headers_mut().insert(header::ALLOW, HeaderValue::from_static(allowed));
        }
        if let Some(challenge) = self.challenge().and_then(|c| HeaderValue::from_str(&c).ok()) {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_shutdown_say_when_to_come_back() {
        let limit = LimitExceeded { limit: "max-streams", message: "full".into(), retry_after_secs: 5 };
        let response = ApiError::from(limit).into_response();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "5");
        let response = ApiError::Unavailable(HubError::ShuttingDown).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "5");
        assert!(ApiError::TooManyTopics(3).into_response().headers().get(axum::http::header::RETRY_AFTER).is_none());
    }
}
