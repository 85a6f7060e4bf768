//! The one guard in front of publishing and subscribing.
//!
//! Every publish and every stream (HTTP API and server functions alike) passes through
//! [`authorize`]. Topics whose names start with `private.` belong to the server: only its own
//! code, which derived the topic from the caller's session, may use them (`Origin::Trusted`);
//! the public API and server functions that take a topic name from the caller get 403. All other
//! topics are open to anyone who can reach the server; token auth for publishing goes here.

use super::{error::ApiError, names::TopicName};
use axum::http::HeaderMap;

pub const PRIVATE_PREFIX: &str = "private.";

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

pub fn authorize(_headers: &HeaderMap, action: Action, topics: &[TopicName], origin: Origin) -> Result<(), ApiError> {
    if origin == Origin::Public {
        if let Some(topic) = topics.iter().find(|t| t.as_str().starts_with(PRIVATE_PREFIX)) {
            let verb = match action {
                Action::Publish => "publish to",
                Action::Subscribe => "subscribe to",
            };
            return Err(ApiError::Forbidden(format!(
                "topic \"{topic}\" is private to the server; clients may not {verb} it"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_topics_only_for_trusted_callers() {
        let private = [TopicName::new("private.jobs.abc").unwrap()];
        let public = [TopicName::new("jobs.shared").unwrap()];
        let headers = HeaderMap::new();
        assert!(authorize(&headers, Action::Subscribe, &private, Origin::Public).is_err());
        assert!(authorize(&headers, Action::Publish, &private, Origin::Public).is_err());
        assert!(authorize(&headers, Action::Subscribe, &private, Origin::Trusted).is_ok());
        assert!(authorize(&headers, Action::Subscribe, &public, Origin::Public).is_ok());
    }
}
