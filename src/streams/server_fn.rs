//! Helpers for stream server functions: open the current request's stream on the hub.
//!
//! A stream server function (declared with `#[server(input = GetUrl, output = Sse, ...)]`) names
//! its topics and a delivery policy and calls one of these; they read the request's resume point
//! and pass the same guard and limits as `GET /api/events` (see `context::subscribe`), a token in
//! `Authorization` or the `access_token` query parameter included.

use super::{
    access::{Origin, ACCESS_TOKEN_PARAM},
    context::{last_event_id, query_pairs, subscribe, StreamContext},
    encoding::EventStream,
    error::ApiError,
    hub::Delivery,
    names::TopicName,
};
use leptos::prelude::*;

/// For stream server functions taking topic names from the caller: subscribes the current
/// request to `topics`, honouring its `Last-Event-ID` header or `last_event_id` query parameter.
pub fn open_stream<T>(topics: Vec<TopicName>) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Public, Delivery::Every)
}

/// [`open_stream`] with a delivery policy: `Delivery::Latest` for streams of states (samples,
/// quotes), where a slow client should get the newest one rather than a backlog.
pub fn open_stream_with<T>(topics: Vec<TopicName>, delivery: Delivery) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Public, delivery)
}

/// For stream server functions whose topics the server derived itself (e.g. from the session):
/// may include `private.` topics.
pub fn open_trusted_stream<T>(topics: Vec<TopicName>) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Trusted, Delivery::Every)
}

fn open<T>(topics: Vec<TopicName>, origin: Origin, delivery: Delivery) -> Result<EventStream<T>, ApiError> {
    let context = expect_context::<StreamContext>();
    let parts = expect_context::<http::request::Parts>();
    let pairs = query_pairs(parts.uri.query());
    let find = |name: &str| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    let last_id = last_event_id(&parts.headers, find("last_event_id"));
    let token = find(ACCESS_TOKEN_PARAM);
    let client = context.limits.client(&parts.headers, &parts.extensions, parts.version);
    let stream = subscribe(&context, &parts.headers, token.as_deref(), client, topics, last_id, origin, delivery)?;
    Ok(EventStream::from_sse_chunks(stream).with_heartbeat(context.settings.heartbeat()))
}
