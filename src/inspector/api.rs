//! Server functions of the inspector: a snapshot of a topic and its event stream.

use crate::{
    request_error::RequestError,
    streams::{EventStream, RawEvent, Sse},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// How many recent events the inspector shows.
pub const SHOWN_EVENTS: usize = 200;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectedEvent {
    pub id: String,
    pub event_type: String,
    pub data: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicHistory {
    pub topic: String,
    pub events: Vec<InspectedEvent>,
    /// Id of the newest event the snapshot includes: the stream continues right after it.
    pub last_id: String,
}

/// The newest events of `topic`, oldest first, and the id to continue from.
#[server(input = GetUrl, prefix = "/api/inspector", endpoint = "snapshot")]
pub async fn topic_snapshot(topic: String) -> Result<TopicHistory, RequestError> {
    use crate::{
        state::AppState,
        streams::{
            access::{authorize, Action, Credentials, Origin},
            ApiError, TopicName,
        },
    };
    let name = TopicName::new(&topic).map_err(ApiError::from)?;
    let state = expect_context::<AppState>();
    let parts = expect_context::<http::request::Parts>();
    let credentials = Credentials::new(&parts.headers, None);
    authorize(&state.streams.auth, credentials, Action::Subscribe, std::slice::from_ref(&name), Origin::Public)?;
    let (events, last_id) = state.streams.hub.snapshot(&name, SHOWN_EVENTS).await;
    Ok(TopicHistory {
        topic,
        events: events
            .iter()
            .map(|e| InspectedEvent { id: e.id.to_string(), event_type: e.event_type.to_string(), data: e.data() })
            .collect(),
        last_id: last_id.to_string(),
    })
}

/// Every event of `topic` as it is published: `GET /api/streams/topic?topic=NAME`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "topic")]
pub async fn topic_events(topic: String) -> Result<EventStream<RawEvent>, RequestError> {
    use crate::streams::{open_stream, ApiError, TopicName};
    let name = TopicName::new(&topic).map_err(ApiError::from)?;
    Ok(open_stream(vec![name])?)
}
