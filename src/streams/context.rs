//! What the stream layer's handlers and server-function helpers need from the server, and the
//! checks every subscription passes, whoever opens it.
//!
//! [`StreamContext`] is the stream layer's slice of the app state: handlers take it through axum's
//! sub-state extraction (`State<StreamContext>`, via `FromRef` on the app's state) and stream
//! server functions find it in the Leptos context, so this layer never sees the app's domains.
//! `subscribe` is the one path from a request to a hub stream: topic limit, access guard, resume
//! point (the `Last-Event-ID` header wins over the `last_event_id` query parameter).

use super::{
    access::{self, Action, Origin},
    error::ApiError,
    hooks::PublishHooks,
    hub::{Delivery, Hub, SubscribeRequest},
    names::TopicName,
    settings::StreamSettings,
    silence::Silence,
};
use axum::{body::Bytes, http::HeaderMap};
use futures::Stream;
use std::sync::Arc;

#[derive(Clone)]
pub struct StreamContext {
    pub hub: Hub,
    pub settings: Arc<StreamSettings>,
    pub publish_hooks: PublishHooks,
    /// Debug only: lets a test make open streams go silent (`silence`).
    pub silence: Silence,
}

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// `Last-Event-ID` from the header (what EventSource sends when it reconnects) or else from the
/// `last_event_id` query parameter (for clients that cannot set headers). The header wins: a
/// reconnecting EventSource still carries the query of its first request.
pub(super) fn last_event_id(headers: &HeaderMap, query_value: Option<String>) -> Option<String> {
    headers.get("last-event-id").and_then(|value| value.to_str().ok()).map(str::to_string).or(query_value)
}

/// Checks access and limits, then subscribes. Shared by `/api/events` and stream server functions.
pub(super) fn subscribe(
    context: &StreamContext,
    headers: &HeaderMap,
    topics: Vec<TopicName>,
    last_event_id: Option<String>,
    origin: Origin,
    delivery: Delivery,
) -> Result<impl Stream<Item = Bytes> + Send + 'static, ApiError> {
    let limit = context.settings.max_topics_per_stream;
    if topics.len() > limit {
        return Err(ApiError::TooManyTopics(limit));
    }
    access::authorize(headers, Action::Subscribe, &topics, origin)?;
    Ok(context.silence.guard(context.hub.subscribe(SubscribeRequest { topics, last_event_id, delivery })?))
}
