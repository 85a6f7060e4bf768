//! Why the stream layer refused a request: one error type, one status each, one JSON body.
//!
//! Every refusal of the stream API (`/api/events`, `/api/publish`) and of stream server functions
//! is an [`ApiError`]; [`ApiError::status`] is the only table from error to HTTP status, and the
//! body is always `{"error": "<a sentence saying what was wrong>"}`.

use super::{hub::HubError, names::NameError};
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
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Unavailable(HubError::ShuttingDown | HubError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
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
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (self.status(), Json(body)).into_response();
        if let Self::MethodNotAllowed { allowed, .. } = self {
            response.headers_mut().insert(axum::http::header::ALLOW, axum::http::HeaderValue::from_static(allowed));
        }
        response
    }
}
