//! The typed SSE layer every live view goes through.
//!
//! ```text
//! producer -> hub.publish(topic, type, data)   [hub: ids, encode once, history, fan-out]   (ssr)
//!          -> stream server function / GET /api/events   [encoding, http_api]               (ssr)
//!          -> use_event_stream in the page: reconnect, resume, connection state  [client]   (hydrate)
//! ```
//!
//! Nothing here knows about jobs, prices or metrics.

pub mod client;
pub mod encoding;
pub mod names;
pub mod status;

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
pub mod direct;
#[cfg(feature = "ssr")]
pub mod hooks;
#[cfg(feature = "ssr")]
pub mod http_api;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod wire;

pub use client::{use_event_stream, StreamEvent};
pub use encoding::{EventStream, Json, RawEvent, Sse, StreamItem};
pub use names::{EventType, TopicName};
pub use status::ConnectionState;

// What stream server functions and producers use, at paths that stay put while the files behind
// them move.
#[cfg(feature = "ssr")]
pub use http_api::{open_stream, open_stream_with, open_trusted_stream, refuse, ApiError};
#[cfg(feature = "ssr")]
pub use hub::{Delivery, EventId, Hub};

/// The event type a client sees when a frame has no `event:` line.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// The content type of every event stream.
pub const CONTENT_TYPE: &str = "text/event-stream";
