//! The hub: topics, their bounded histories and fan-out to subscribers.
//!
//! [`Hub`] is the one API producers publish through and streams read from, whatever backend is
//! behind it: `Backend` is the seam. Two variants, each in a room of its own: the in-process hub
//! of `memory` (the embedded default: no services) and the Redis hub of `redis` (`hub =
//! "redis://..."`: several instances share topics, ids and history); producers and handlers
//! never change. Producers call `publish` without holding any lock of their own across it: the
//! Redis backend's publish is a network round trip.
//!
//! Rooms: `ids` (event ids and reset reasons, the resume contract), `local` (what both backends
//! keep in this process: topic logs in one order, open streams, counters), `memory` (the
//! in-process backend: histories, id order, sweeping), `redis` (the Redis backend: publish, one
//! reader per instance into a local mirror, resume), `subscriber` (one open stream: a cursor
//! over the local logs, delivery policy, heartbeats), `stats` (counters for monitoring).
//!
//! The promises below are the in-process hub's; the Redis hub keeps the same ones across
//! instances (see `redis` for how).
//!
//! How the in-process hub keeps its promises:
//! - **Encode once.** `publish` turns the event into SSE frame bytes once; every subscriber gets a
//!   reference-counted clone of the same `Bytes`.
//! - **One order.** Publishing takes one short lock that assigns the next sequence number and
//!   appends to the topic's history, so ids grow in the order events become visible. The id of an
//!   event is `<epoch>-<seq>`: the epoch changes whenever the hub starts, so an id from a previous
//!   run is recognised as unknown rather than confused with a new event.
//! - **History is the queue.** A subscriber holds only a cursor (the last sequence number it sent)
//!   and reads history after it when woken. Resume after `Last-Event-ID` and live delivery are the
//!   same read, so the hand-over cannot lose or repeat an event, and a subscriber costs no queue:
//!   memory stays bounded however slow it is. A subscriber that falls behind the history, or
//!   resumes from an id the history no longer covers, gets a `reset` event instead of a silent gap.
//! - **Delivery is a property of the stream.** `Delivery::Every` (the default) sends every event;
//!   `Delivery::Latest` (latest wins, for streams of samples such as metrics) sends, of everything
//!   pending, only the newest event of each topic, so a slow client gets the newest state rather
//!   than a backlog, and falling behind the history is not a gap for it.
//! - **Batching.** Everything pending for a subscriber leaves in one chunk (one write).

mod ids;
mod local;
mod memory;
mod redis;
mod stats;
mod subscriber;
#[cfg(test)]
mod tests;

/// Connection setup and key layout for everything pulseboard keeps in Redis (the job store uses
/// it too, so every user of Redis shares one prefix and one set of timeouts).
pub use self::redis::connect as redis_connect;
pub use self::redis::connect::check_url as check_redis_url;
pub use ids::{EventId, ResetReason};
pub use stats::{HubStats, PrivateTopics, TopicStats};
pub use subscriber::{Lagged, Metering, MAX_CHUNK_BYTES};

use self::redis::RedisHub;
use super::{
    names::{EventType, TopicName},
    wire,
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use memory::MemoryHub;
use std::{sync::Arc, time::Duration};

/// Limits and timings of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub history_events: usize,
    pub history_age: Duration,
    pub heartbeat: Duration,
    pub retry_ms: u32,
}

/// How a stream delivers what it has not sent yet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Delivery {
    /// Every event, in order. A subscriber that falls behind the history gets a `reset`.
    #[default]
    Every,
    /// Latest wins: of the events pending when the stream is read, only the newest of each topic
    /// is sent (the others are counted as conflated). For topics whose events are states, not
    /// changes (samples, quotes): a slow client skips to the newest one and never gets a reset
    /// for falling behind.
    Latest,
}

/// What a subscriber asks for.
#[derive(Debug, Clone)]
pub struct SubscribeRequest {
    pub topics: Vec<TopicName>,
    /// The `Last-Event-ID` the client sent, if any: events after it are replayed from history.
    pub last_event_id: Option<String>,
    pub delivery: Delivery,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HubError {
    #[error("a stream needs at least one topic")]
    NoTopics,
    #[error("the server is shutting down")]
    ShuttingDown,
    /// The backend cannot be reached (Redis down or paused): the message says which and why.
    #[error("the event hub is unavailable: {0}")]
    Unavailable(String),
}

/// The hub every producer publishes to and every stream reads from. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    backend: Arc<Backend>,
}

/// The seam: one variant per backend, each in a room of its own.
enum Backend {
    InProcess(Arc<MemoryHub>),
    Redis(Arc<RedisHub>),
}

impl Hub {
    /// The embedded default: everything in this process.
    pub fn in_process(config: HubConfig) -> Self {
        Self { backend: Arc::new(Backend::InProcess(Arc::new(MemoryHub::new(config)))) }
    }

    /// Topics in the Redis at `url` (`redis://host:port/db`), shared with every instance using
    /// it. Starts at once (in a Tokio runtime) whether or not Redis answers yet: until it does,
    /// `check_ready` says why not. Fails only for a URL that is no Redis URL.
    pub fn redis(url: &str, config: HubConfig) -> Result<Self, HubError> {
        Ok(Self { backend: Arc::new(Backend::Redis(RedisHub::start(url, config)?)) })
    }

    /// Publishes one event and returns its id.
    pub async fn publish(&self, topic: &TopicName, event_type: &EventType, data: &str) -> Result<EventId, HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => hub.publish(topic, event_type, data),
            Backend::Redis(hub) => hub.publish(topic, event_type, data).await,
        }
    }

    /// A stream of SSE bytes: `retry:`, then history after `last_event_id` (or a `reset`), then
    /// live events and heartbeats until the client leaves or the server stops.
    pub fn subscribe(&self, request: SubscribeRequest) -> Result<impl Stream<Item = Bytes> + Send + 'static, HubError> {
        // Without a socket meter a stream is never closed for lagging: every item is a chunk.
        let stream = self.open(request, None)?;
        Ok(futures::StreamExt::filter_map(stream, |chunk| std::future::ready(chunk.ok())))
    }

    /// [`Hub::subscribe`] for a stream written to a connection whose writes `metering` follows:
    /// it hands out a chunk only once the socket took the previous one, and ends with
    /// [`Lagged`] when an every-event stream owes its client more than the bound.
    pub fn subscribe_metered(
        &self,
        request: SubscribeRequest,
        metering: Metering,
    ) -> Result<impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static, HubError> {
        self.open(request, Some(metering))
    }

    fn open(
        &self,
        request: SubscribeRequest,
        metering: Option<Metering>,
    ) -> Result<impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static, HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => {
                let joined = hub.join(&request)?;
                Ok(subscriber::open(&hub.local, joined, request.delivery, metering).left_stream())
            }
            Backend::Redis(hub) => Ok(hub.subscribe(request, metering)?.right_stream()),
        }
    }

    /// The id of the newest event published so far: what a server-rendered snapshot carries so
    /// the page's stream continues exactly after it.
    pub fn current_id(&self) -> EventId {
        match &*self.backend {
            Backend::InProcess(hub) => hub.current_id(),
            Backend::Redis(hub) => hub.current_id(),
        }
    }

    /// The newest `limit` events of a topic, oldest first, and the id a stream continues from
    /// to see exactly what came after them (neither lost nor repeated).
    pub async fn snapshot(&self, topic: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.snapshot(topic, limit),
            Backend::Redis(hub) => hub.snapshot(topic, limit).await,
        }
    }

    pub fn stats(&self) -> HubStats {
        match &*self.backend {
            Backend::InProcess(hub) => hub.stats(),
            Backend::Redis(hub) => hub.stats(),
        }
    }

    /// Whether the hub takes new subscriptions and events: what `/readyz` asks. Fails while the
    /// server shuts down (and, for a remote backend, when it cannot be reached).
    pub fn check_ready(&self) -> Result<(), HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => hub.local.check_open(),
            Backend::Redis(hub) => hub.check_ready(),
        }
    }

    /// Ends every open stream (clients reconnect and resume). With `closing`, new subscriptions
    /// are refused too: used when the server shuts down.
    pub fn disconnect_all(&self, closing: bool) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.local.disconnect_all(closing),
            Backend::Redis(hub) => hub.disconnect_all(closing),
        }
    }

    /// Drops history older than the configured age and forgets idle, empty topics.
    pub fn sweep(&self) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.sweep(),
            Backend::Redis(hub) => hub.sweep(),
        }
    }
}

/// One event as kept in history.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub id: EventId,
    pub event_type: EventType,
    pub frame: Bytes,
}

impl StoredEvent {
    pub fn data(&self) -> String {
        wire::frame_data(&self.frame)
    }
}
