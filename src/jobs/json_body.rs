//! The body of the external producers' endpoints: JSON, read the same way by each (server only).
//!
//! A body declared `application/json` (or any `…+json` type) is read as JSON. A body sent with
//! no `Content-Type` at all (`curl --data-binary`, scripts' raw clients) is read as JSON too: it
//! is accepted when it parses, and otherwise refused with 400 saying to send JSON with
//! `Content-Type: application/json`. A body declared as anything else (a form, `text/plain`) is
//! refused with 415 naming the type to send, without being read. Every refusal is a
//! [`RequestError`] (`{"error": ...}`).

use crate::request_error::{ErrorKind, RequestError};
use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header,
    Json,
};
use serde::de::DeserializeOwned;

/// A JSON body, see the module documentation.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// What the refusals ask for.
const SEND_JSON: &str = "send a JSON object with `Content-Type: application/json`";

/// Whether a `Content-Type` value names JSON: `application/json` or a `+json` type, with any
/// parameters (`; charset=utf-8`).
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.split_once('/') {
        Some((kind, subtype)) => kind == "application" && (subtype == "json" || subtype.ends_with("+json")),
        None => false,
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = RequestError;

    async fn from_request(request: Request, state: &S) -> Result<Self, RequestError> {
        let declared =
            request.headers().get(header::CONTENT_TYPE).map(|value| value.to_str().unwrap_or("(not text)").to_string());
        if let Some(declared) = declared.filter(|declared| !is_json(declared)) {
            return Err(RequestError::new(
                ErrorKind::UnsupportedMediaType,
                format!("the body was sent as `{declared}`, which this endpoint does not read: {SEND_JSON}"),
            ));
        }
        let undeclared = request.headers().get(header::CONTENT_TYPE).is_none();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|refused| RequestError::new(ErrorKind::from_status(refused.status()), refused.body_text()))?;
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(refused) if undeclared => Err(RequestError::bad_request(format!(
                "the body came without a `Content-Type` and is not the JSON expected ({}): {SEND_JSON}",
                refused.body_text()
            ))),
            Err(refused) => Err(RequestError::bad_request(format!("bad JSON body: {}", refused.body_text()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_json;

    #[test]
    fn json_types_with_and_without_parameters() {
        for json in ["application/json", "Application/JSON; charset=utf-8", "application/merge-patch+json"] {
            assert!(is_json(json), "{json}");
        }
        for other in ["text/plain", "application/x-www-form-urlencoded", "json", "", "text/json", "(not text)"] {
            assert!(!is_json(other), "{other}");
        }
    }
}
