//! Server functions of the inspector: what the page needs around a topic (the site's address,
//! the topics to pick from), a snapshot of a topic and its event stream.
//!
//! Who may see what: public topics are open to anyone (as on `GET /api/events`); a `private.`
//! topic only to a token that names it, or, when it is one of the caller's own session's topics
//! (its jobs' topic), to that session, the server having derived it from the session cookie. The
//! topic list names public topics and the caller's own private ones, never anyone else's. With
//! `subscribe-requires-token`, the snapshot is read for the browser session as its stream is: a
//! caller without a token of its own holds the session's subscribe grant
//! ([`crate::stream_token::session_token`]: public topics), so the server-rendered page shows the
//! topic's events on first paint, and another session's private topic is still refused.

use crate::{
    json_text::JsonText,
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

/// What the page shows around the topic it inspects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SiteAndTopics {
    /// `scheme://host[:port]` of this site as the page's request reached it: what the copyable
    /// `curl` command posts to.
    pub site: String,
    /// The public topics the hub knows, by name, sorted.
    pub topics: Vec<String>,
    /// The caller's own private topics that hold events (its session's jobs), by name.
    pub own: Vec<String>,
}

/// The site's address and the topics this caller may pick.
#[server(input = GetUrl, output = JsonText, prefix = "/api/inspector", endpoint = "setup")]
pub async fn inspector_setup() -> Result<SiteAndTopics, RequestError> {
    use crate::state::AppState;
    let state = expect_context::<AppState>();
    let parts = expect_context::<http::request::Parts>();
    let tls = state.settings.server.tls_enabled();
    let site = super::site::site_url(&parts.headers, &parts.uri, tls, state.leptos_options.site_addr);
    // The hub's figures never name a private topic: this list cannot hold anyone else's.
    let topics = state.streams.hub.stats().per_topic.into_iter().map(|topic| topic.topic).collect();
    let mut own = Vec::new();
    for topic in server::own_private_topics() {
        if !state.streams.hub.snapshot(&topic, 1).await.0.is_empty() {
            own.push(topic.to_string());
        }
    }
    Ok(SiteAndTopics { site, topics, own })
}

/// The newest events of `topic`, oldest first, and the id to continue from.
#[server(input = GetUrl, output = JsonText, prefix = "/api/inspector", endpoint = "snapshot")]
pub async fn topic_snapshot(topic: String) -> Result<TopicHistory, RequestError> {
    use crate::{
        state::AppState,
        streams::{
            access::{authorize, Action, Credentials, Origin, PRIVATE_PREFIX},
            ApiError, TopicName,
        },
    };
    let name = TopicName::new(&topic).map_err(ApiError::from)?;
    let state = expect_context::<AppState>();
    let parts = expect_context::<http::request::Parts>();
    let auth = &state.streams.auth;
    let origin = server::origin_of(&name);
    let presented = Credentials::new(&parts.headers, None);
    // Read for the session: without a token of its own the caller holds the session's grant, what
    // its stream gets (public topics only: a `private.` one keeps its refusal, not a token's).
    let needs_token =
        auth.subscribe_requires_token() && origin == Origin::Public && !name.as_str().starts_with(PRIVATE_PREFIX);
    let session = match presented.header {
        None if needs_token && auth.can_mint() => Some(crate::stream_token::session_token(auth)?),
        _ => None,
    };
    let credentials = match &session {
        Some(token) => Credentials { header: None, query: Some(token) },
        None => presented,
    };
    authorize(auth, credentials, Action::Subscribe, std::slice::from_ref(&name), origin)?;
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
    use crate::streams::{access::Origin, open_stream, open_trusted_stream, ApiError, TopicName};
    let name = TopicName::new(&topic).map_err(ApiError::from)?;
    Ok(match server::origin_of(&name) {
        Origin::Trusted => open_trusted_stream(vec![name])?,
        Origin::Public => open_stream(vec![name])?,
    })
}

#[cfg(feature = "ssr")]
mod server {
    use crate::{
        jobs::runner::Viewer,
        session::Session,
        state::AppState,
        streams::{
            access::{Origin, PRIVATE_PREFIX},
            TopicName,
        },
    };
    use leptos::prelude::*;

    /// The private topics of the current request's own session: those the server derives from
    /// its cookie (today its jobs' topic). None without a session.
    pub fn own_private_topics() -> Vec<TopicName> {
        let parts = expect_context::<http::request::Parts>();
        let Some(session) = parts.extensions.get::<Session>() else { return Vec::new() };
        let jobs = expect_context::<AppState>().jobs;
        jobs.topics_for(&Viewer(session.owner.clone()))
            .into_iter()
            .filter(|topic| topic.as_str().starts_with(PRIVATE_PREFIX))
            .collect()
    }

    /// Who chose `name`, for the guard: the server, when it is one of the session's own private
    /// topics; the caller otherwise (a private topic then needs a token that names it).
    pub fn origin_of(name: &TopicName) -> Origin {
        if name.as_str().starts_with(PRIVATE_PREFIX) && own_private_topics().contains(name) {
            Origin::Trusted
        } else {
            Origin::Public
        }
    }
}
