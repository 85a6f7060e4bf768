//! The typed SSE layer every live view goes through.
//!
//! ```text
//! producer -> hub.publish(topic, type, data)   [hub: ids, encode once, history, fan-out]   (ssr)
//!          -> stream server function / GET /api/events   [encoding, http_api]               (ssr)
//!          -> use_event_stream in the page: reconnect, resume, connection state  [client]   (hydrate)
//! ```
//!
//! Nothing here knows about jobs, prices or metrics: this module imports nothing of the app's
//! domains or its state. Server side, handlers take the layer's own slice of the state,
//! [`StreamContext`] (`FromRef`), and every subscription passes [`context`]'s one path (limits,
//! the [`access`] guard, the resume point); every refusal is an [`ApiError`]. Shared with the
//! browser: names, the `Sse` encoding, the client hook and connection states.

pub mod client;
pub mod encoding;
pub mod names;
pub mod status;

#[cfg(feature = "ssr")]
pub mod access;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod error;
#[cfg(feature = "ssr")]
pub mod hooks;
#[cfg(feature = "ssr")]
pub mod http_api;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(feature = "ssr")]
pub mod limits;
#[cfg(feature = "ssr")]
pub mod response;
#[cfg(feature = "ssr")]
pub mod server_fn;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod silence;
#[cfg(feature = "ssr")]
pub mod wire;

pub use client::{use_event_stream, StreamEvent};
pub use encoding::{EventStream, Json, RawEvent, Sse, StreamItem};
pub use names::{EventType, EventTypeConst, TopicConst, TopicName};
pub use status::ConnectionState;

// What stream server functions and producers use, at paths that stay put while the files behind
// them move.
#[cfg(feature = "ssr")]
pub use context::StreamContext;
#[cfg(feature = "ssr")]
pub use error::ApiError;
#[cfg(feature = "ssr")]
pub use hub::{Delivery, EventId, Hub};
#[cfg(feature = "ssr")]
pub use server_fn::{open_stream, open_stream_with, open_trusted_stream};
#[cfg(feature = "ssr")]
pub use settings::StreamSettings;

/// The event type a client sees when a frame has no `event:` line.
pub const DEFAULT_EVENT_TYPE: &str = "message";

/// The content type of every event stream.
pub const CONTENT_TYPE: &str = "text/event-stream";

/// Response header of every event stream: the server's heartbeat interval in milliseconds (the
/// longest a healthy stream stays silent). Clients treat a stream silent for well over it as dead.
pub const HEARTBEAT_HEADER: &str = "x-heartbeat-ms";

/// The public event-stream endpoint (`GET`).
pub const EVENTS_PATH: &str = "/api/events";

/// The public publish endpoint (`POST`).
pub const PUBLISH_PATH: &str = "/api/publish";

/// Where stream server functions are mounted (`#[server(prefix = "/api/streams", ...)]`, which
/// needs a literal: a test checks each declared stream's path starts with this).
pub const STREAM_FUNCTIONS_PREFIX: &str = "/api/streams";
