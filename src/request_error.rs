//! The one error of the app's request layer: every server function (pages' snapshots, forms and
//! streams) and the jobs and monitor HTTP endpoints answer failures with it.
//!
//! On the wire it is JSON, `{"error": "<a sentence a person can act on>", "kind": "bad_request"}`,
//! plus `"field": {"name": ..., "message": ...}` when one form field is at fault, and
//! `"retry_after": <seconds>` when a limit was reached (429), also sent as `Retry-After` (as it
//! is while the server shuts down, 503). The kind decides
//! the HTTP status, in [`ErrorKind::status`] and nowhere else: 4xx for what the caller can fix
//! (400 for arguments that do not decode or do not check out), 500 only for bugs, which are also
//! logged. The type is shared with the browser, which decodes it from the body (or, after a form
//! post without JavaScript, from the URL server_fn redirects to) and shows it.
//!
//! Invariant: build one only to return it. On the server, building one inside a request sets that
//! request's status (see `server::answer_with`), so a server function's error status is right
//! whether server_fn failed to decode its arguments or the function itself refused them, and a
//! page rendered on the server answers with the status of the error it shows.

use crate::json_text::JsonTextEncoding;
use leptos::server_fn::error::{FromServerFnError, ServerFnErrorErr};
use serde::{Deserialize, Serialize};

/// What kind of failure an error is: decides the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Arguments that do not decode, are missing, or do not check out.
    BadRequest,
    /// Credentials are missing.
    Unauthorized,
    /// The caller may not do this.
    Forbidden,
    /// No such thing (or not visible to this caller).
    NotFound,
    /// The request conflicts with the current state (e.g. cancelling a finished job).
    Conflict,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// The body is of a type the endpoint does not read (the message names the one it does).
    UnsupportedMediaType,
    /// A limit was reached (too many jobs, streams, publishes): try again later.
    TooManyRequests,
    /// The server cannot serve this now (shutting down).
    Unavailable,
    /// A bug in the server.
    Internal,
}

impl ErrorKind {
    /// The one mapping of error kinds to HTTP statuses.
    pub fn status(self) -> http::StatusCode {
        use http::StatusCode;
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The kind answering with `status` (a 4xx without a kind of its own is a bad request; any
    /// other status that is not a 4xx a bug).
    pub fn from_status(status: http::StatusCode) -> Self {
        [
            Self::BadRequest,
            Self::Unauthorized,
            Self::Forbidden,
            Self::NotFound,
            Self::Conflict,
            Self::PayloadTooLarge,
            Self::UnsupportedMediaType,
            Self::TooManyRequests,
            Self::Unavailable,
        ]
        .into_iter()
        .find(|kind| kind.status() == status)
        .unwrap_or(if status.is_client_error() { Self::BadRequest } else { Self::Internal })
    }
}

/// The form field a [`RequestError`] is about, and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProblem {
    pub name: String,
    pub message: String,
}

/// Why a request failed. See the module documentation for the wire form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct RequestError {
    /// What went wrong, as a sentence a person can act on.
    pub error: String,
    pub kind: ErrorKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldProblem>,
    /// Seconds to wait before trying again (a limit reached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// Seconds a client is told to wait while the server shuts down (as the stream layer says).
#[cfg(feature = "ssr")]
const SHUTDOWN_RETRY_AFTER_SECS: u64 = crate::streams::error::SHUTDOWN_RETRY_AFTER_SECS;

impl RequestError {
    pub fn new(kind: ErrorKind, error: impl Into<String>) -> Self {
        let error = error.into();
        #[cfg(feature = "ssr")]
        let retry_after = (kind == ErrorKind::Unavailable).then_some(SHUTDOWN_RETRY_AFTER_SECS);
        #[cfg(not(feature = "ssr"))]
        let retry_after = None;
        #[cfg(feature = "ssr")]
        server::answer_with(kind, &error, retry_after);
        Self { error, kind, field: None, retry_after }
    }

    /// A limit was reached (429): try again in `retry_after_secs` (`Retry-After`).
    pub fn too_many(error: impl Into<String>, retry_after_secs: u64) -> Self {
        let error = error.into();
        #[cfg(feature = "ssr")]
        server::answer_with(ErrorKind::TooManyRequests, &error, Some(retry_after_secs));
        Self { error, kind: ErrorKind::TooManyRequests, field: None, retry_after: Some(retry_after_secs) }
    }

    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, error)
    }

    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, error)
    }

    /// A bug: answered with 500 and logged on the server.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        Self::new(ErrorKind::Internal, error.to_string())
    }

    /// A bad value in form field `name` (400), shown beside that field.
    pub fn field(name: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        let mut error = Self::bad_request(format!("{name}: {message}"));
        error.field = Some(FieldProblem { name: name.to_string(), message });
        error
    }

    pub fn status(&self) -> http::StatusCode {
        self.kind.status()
    }

    /// The message for form field `name`, if this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        self.field.as_ref().filter(|field| field.name == name).map(|field| field.message.clone())
    }
}

impl FromServerFnError for RequestError {
    type Encoder = JsonTextEncoding;

    /// What server_fn itself reports. On the server these are the caller's arguments failing to
    /// decode (400) or a bug (500); in the browser, failures to reach the server or to read its
    /// answer.
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        use ServerFnErrorErr as E;
        match value {
            E::Args(message) => Self::bad_request(format!("could not read the arguments: {message}")),
            E::MissingArg(name) => Self::bad_request(format!("missing argument {name}")),
            // The server reads the body (size limit, UTF-8) before decoding it; the browser
            // reads the server's answer.
            #[cfg(feature = "ssr")]
            E::Deserialization(message) => Self::bad_request(format!("could not read the request body: {message}")),
            #[cfg(not(feature = "ssr"))]
            E::Deserialization(message) => Self::internal(format!("could not read the server's answer: {message}")),
            E::Request(message) => Self::new(ErrorKind::Unavailable, format!("could not reach the server: {message}")),
            other => Self::internal(other),
        }
    }
}

#[cfg(feature = "ssr")]
mod server {
    use super::{ErrorKind, RequestError};
    use axum::response::{IntoResponse, Response};
    use leptos::prelude::use_context;

    /// Inside a request (server function or page render), sets its status to `kind`'s (and
    /// `Retry-After`, when given); logs bugs.
    ///
    /// A plain HTML form post (a POST accepting `text/html`, i.e. no JavaScript) keeps server_fn's
    /// answer, a redirect back to the form with the error in the URL, where the page shows it:
    /// a 4xx status would replace that redirect. Outside any request (an axum handler answering
    /// with [`IntoResponse`]) there is nothing to set.
    pub(super) fn answer_with(kind: ErrorKind, error: &str, retry_after: Option<u64>) {
        if kind == ErrorKind::Internal {
            tracing::error!(error, "request failed");
        }
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
        let plain_form_post = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts.method == http::Method::POST
                && parts
                    .headers
                    .get(http::header::ACCEPT)
                    .and_then(|accept| accept.to_str().ok())
                    .is_some_and(|accept| accept.contains("text/html"))
        });
        if !plain_form_post {
            response.set_status(kind.status());
            if let Some(secs) = retry_after {
                response.insert_header(http::header::RETRY_AFTER, secs.into());
            }
        }
    }

    /// For axum handlers: the status, `Retry-After` when there is one, and the JSON body.
    impl IntoResponse for RequestError {
        fn into_response(self) -> Response {
            let retry_after = self.retry_after;
            let mut response = (self.status(), axum::Json(self)).into_response();
            if let Some(secs) = retry_after {
                response.headers_mut().insert(http::header::RETRY_AFTER, secs.into());
            }
            response
        }
    }

    /// A refusal from the streams layer, with its status (and its `Retry-After`).
    impl From<crate::streams::ApiError> for RequestError {
        fn from(err: crate::streams::ApiError) -> Self {
            match (err.status(), err.retry_after_secs()) {
                (http::StatusCode::TOO_MANY_REQUESTS, Some(secs)) => Self::too_many(err.to_string(), secs),
                (status, _) => Self::new(ErrorKind::from_status(status), err.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_is_json_with_an_error_sentence() {
        let body = serde_json::to_value(RequestError::not_found("no such job")).unwrap();
        assert_eq!(body, serde_json::json!({ "error": "no such job", "kind": "not_found" }));
        let body = serde_json::to_value(RequestError::field("limit", "must be a whole number")).unwrap();
        assert_eq!(body["error"], "limit: must be a whole number");
        assert_eq!(body["kind"], "bad_request");
        assert_eq!(body["field"], serde_json::json!({ "name": "limit", "message": "must be a whole number" }));
        // What the browser decodes is what the server sent.
        let error = RequestError::field("dir", "must not contain '..'");
        let back: RequestError = serde_json::from_str(&serde_json::to_string(&error).unwrap()).unwrap();
        assert_eq!(back, error);
        assert_eq!(back.for_field("dir").as_deref(), Some("must not contain '..'"));
        assert_eq!(back.for_field("limit"), None);
        // A limit says when to come back.
        let body = serde_json::to_value(RequestError::too_many("too many jobs", 7)).unwrap();
        assert_eq!(
            body,
            serde_json::json!({ "error": "too many jobs", "kind": "too_many_requests", "retry_after": 7 })
        );
        assert_eq!(RequestError::too_many("x", 1).status(), 429);
    }

    #[test]
    fn undecodable_arguments_are_bad_requests_and_server_faults_are_bugs() {
        let args = RequestError::from_server_fn_error(ServerFnErrorErr::Args("missing field `id`".into()));
        assert_eq!(args.status(), http::StatusCode::BAD_REQUEST);
        assert_eq!(args.error, "could not read the arguments: missing field `id`");
        let missing = RequestError::from_server_fn_error(ServerFnErrorErr::MissingArg("kind".into()));
        assert_eq!(missing.status(), 400);
        let bug = RequestError::from_server_fn_error(ServerFnErrorErr::Serialization("oops".into()));
        assert_eq!(bug.status(), 500);
        #[cfg(feature = "ssr")]
        {
            let body = RequestError::from_server_fn_error(ServerFnErrorErr::Deserialization("bad utf-8".into()));
            assert_eq!(body.status(), 400);
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_status() {
        use ErrorKind::*;
        for kind in [
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            PayloadTooLarge,
            UnsupportedMediaType,
            TooManyRequests,
            Unavailable,
            Internal,
        ] {
            assert_eq!(ErrorKind::from_status(kind.status()), kind);
        }
        assert_eq!(ErrorKind::from_status(http::StatusCode::UNPROCESSABLE_ENTITY), BadRequest);
        assert_eq!(ErrorKind::from_status(http::StatusCode::BAD_GATEWAY), Internal);
    }
}
