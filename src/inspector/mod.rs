//! The topic inspector: a live view of the raw events of any topic, for developers and operators
//! wiring producers to pulseboard. Server-rendered with the topic's recent history, then live.
//!
//! Rooms: `api` (server functions), `site` (the site's address as a request names it, ssr),
//! `log` (what the view shows: newest events, pause and resume), `page` (topic choice, publish
//! hint) and `live` (one topic's events as they arrive).

mod api;
mod live;
mod log;
mod page;
#[cfg(feature = "ssr")]
mod site;

pub use api::{
    inspector_setup, topic_events, topic_snapshot, InspectedEvent, InspectorSetup, SiteAndTopics, TopicEvents,
    TopicHistory, TopicSnapshot,
};
pub use page::InspectorPage;
