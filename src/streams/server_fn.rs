//! Helpers for stream server functions: open the current request's stream on the hub.
//!
//! A stream server function (declared with `#[server(input = GetUrl, output = Sse, ...)]`) names
//! its topics and a delivery policy and calls one of these; they read the request's resume point
//! and pass the same guard and limits as `GET /api/events` (see `context::subscribe`).

use super::{
    access::Origin,
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
    let query_last_id =
        query_pairs(parts.uri.query()).into_iter().find(|(key, _)| key == "last_event_id").map(|(_, value)| value);
    let last_id = last_event_id(&parts.headers, query_last_id);
    let stream = subscribe(&context, &parts.headers, topics, last_id, origin, delivery)?;
    Ok(EventStream::from_sse_bytes(stream).with_heartbeat(context.settings.heartbeat()))
}
