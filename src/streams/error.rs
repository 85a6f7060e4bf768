//! Why the stream layer refused a request: one error type, one status each, one JSON body.
//!
//! Every refusal of the stream API (`/api/events`, `/api/publish`) and of stream server functions
//! is an [`ApiError`]; [`ApiError::status`] is the only table from error to HTTP status, and the
//! body is always `{"error": "<a sentence saying what was wrong>"}`. A limit reached (429) and
//! a server shutting down (503) also say when to come back, in `Retry-After`.

use super::{hub::HubError, limits::LimitExceeded, names::NameError};
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
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(HubError::ShuttingDown) => StatusCode::SERVICE_UNAVAILABLE,
            Self::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::BadName(_)
            | Self::UnknownParameter(..)
            | Self::MissingParameter(_)
            | Self::RepeatedParameter(_)
            | Self::TooManyTopics(_)
            | Self::BodyNotUtf8
            | Self::BodyUnreadable(_)
            | Self::Rejected(..)
            | Self::Unavailable(HubError::NoTopics) => StatusCode::BAD_REQUEST,
        }
    }

    /// The `Retry-After` of the answer, in seconds: for a limit reached and while shutting down.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests(limit) => Some(limit.retry_after_secs),
            Self::Unavailable(HubError::ShuttingDown) => Some(SHUTDOWN_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = serde_json::json!({ "error": self.to_string() });
        if let Self::TooManyRequests(limit) = &self {
            body["limit"] = limit.limit.into();
        }
        let mut response = (self.status(), Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        if let Self::MethodNotAllowed { allowed, .. } = self {
            response.headers_mut().insert(axum::http::header::ALLOW, axum::http::HeaderValue::from_static(allowed));
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
