//! The topic inspector: a live view of the raw events of any topic, for developers and operators
//! wiring producers to pulseboard. Server-rendered with the topic's recent history, then live.

mod api;
mod page;

pub use api::{topic_events, topic_snapshot, InspectedEvent, TopicEvents, TopicHistory, TopicSnapshot};
pub use page::InspectorPage;
