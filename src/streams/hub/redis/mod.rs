//! The Redis backend: topics as Redis streams shared by every instance, read by one reader per
//! instance into a bounded local mirror that this instance's streams read from.
//!
//! - **Publish** runs one script (`scripts`): it makes the next id of one cluster-wide order,
//!   `XADD`s the event to the topic's stream and trims the history to `history-events` and
//!   `history-secs`. The id is the Redis stream id, so it is the same on every instance.
//! - **Read once, fan out locally.** One reader task (`reader`) per instance reads every topic
//!   this instance's streams need with one blocking `XREAD` on a connection of its own, encodes
//!   each event's SSE frame once and appends it to the mirror (`local`); subscribers read the
//!   mirror with the same cursor logic as the in-process hub (`subscriber`). Redis sees one read
//!   per batch per instance, however many streams are open.
//! - **Resume anywhere** (`resume`): a `Last-Event-ID` is checked against Redis (made by this data
//!   set, not in the future); what the mirror does not hold after it is fetched from Redis; an
//!   id older than what Redis kept gets `reset` (`history-expired`), as in-process.
//! - **Outages.** Streams stay open (heartbeats go on); `check_ready` names the reason; publish
//!   answers [`HubError::Unavailable`] within a second; the reader reconnects with backoff and
//!   continues after the last id it read per topic, so nothing Redis kept is lost.
//!
//! Rooms: `connect` (connection setup, key names), `ids` (stream ids as positions), `scripts`,
//! `registry` (topics wanted, reader positions), `reader`, `resume`, `health`.

pub mod connect;
mod health;
mod ids;
mod reader;
mod registry;
mod resume;
mod scripts;

use super::{
    local::{Local, Start, Topic},
    subscriber::{self, Lagged, Metering},
    EventId, HubConfig, HubError, HubStats, StoredEvent, SubscribeRequest,
};
use crate::streams::{
    names::{EventType, TopicName},
    wire,
};
use bytes::Bytes;
use futures::{Stream, StreamExt};
use health::Health;
use redis::{aio::ConnectionManager, Client, Script};
use registry::Registry;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

pub(super) struct RedisHub {
    pub(super) local: Arc<Local>,
    client: Client,
    commands: ConnectionManager,
    registry: Registry,
    health: Health,
    /// The newest id this instance knows exists in Redis (read or published): where a topic
    /// the mirror newly needs starts, at the horizon or above it.
    last_known: AtomicU64,
    publish_script: Script,
    resume_script: Script,
    /// What the messages call Redis (its address, no password).
    label: String,
}

impl RedisHub {
    /// A hub on the Redis at `url`, with its reader and probe tasks. Does not wait for Redis:
    /// unreachable at start, it reports not ready and connects when Redis is there.
    pub(super) fn start(url: &str, config: HubConfig) -> Result<Arc<Self>, HubError> {
        let client = connect::client(url).map_err(HubError::Unavailable)?;
        let commands = connect::command_manager(client.clone()).map_err(HubError::Unavailable)?;
        let label = connect::describe(url);
        let hub = Arc::new(Self {
            local: Arc::new(Local::new(config, 0, ids::event_id)),
            client,
            commands,
            registry: Registry::new(),
            health: Health::new(format!("{label} has not answered yet")),
            last_known: AtomicU64::new(0),
            publish_script: scripts::publish(),
            resume_script: scripts::resume(),
            label,
        });
        tokio::spawn(reader::run(Arc::downgrade(&hub)));
        tokio::spawn(reader::unblock(Arc::downgrade(&hub), hub.registry.watch()));
        tokio::spawn(health::probe(Arc::downgrade(&hub)));
        Ok(hub)
    }

    fn unavailable(&self, what: &str, err: impl std::fmt::Display) -> HubError {
        HubError::Unavailable(format!("{what}: {} did not answer ({err})", self.label))
    }

    /// A command on the shared connection, bounded by [`connect::COMMAND_TIMEOUT`] whatever
    /// the connection manager does while it reconnects.
    async fn command<T, F>(&self, what: &str, run: impl FnOnce(ConnectionManager) -> F) -> Result<T, HubError>
    where
        F: std::future::Future<Output = redis::RedisResult<T>>,
    {
        match tokio::time::timeout(connect::COMMAND_TIMEOUT, run(self.commands.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(self.unavailable(what, err)),
            Err(_) => Err(self.unavailable(what, format!("no answer within {:?}", connect::COMMAND_TIMEOUT))),
        }
    }

    pub(super) async fn publish(
        &self,
        topic: &TopicName,
        event_type: &EventType,
        data: &str,
    ) -> Result<EventId, HubError> {
        // While Redis is known to be down, refuse at once rather than send: a command that times
        // out is not known to have failed (a paused Redis runs it later).
        self.check_ready()?;
        let config = &self.local.config;
        let age_ms = config.history_age.as_millis().clamp(1, u128::from(u32::MAX)) as u64;
        let script = &self.publish_script;
        let id: String = self
            .command("the event was not published", |mut commands| async move {
                script
                    .key(connect::topic_key(topic.as_str()))
                    .key(connect::last_id_key())
                    .key(connect::since_key())
                    .key(connect::topic_last_key(topic.as_str()))
                    .arg(config.history_events)
                    .arg(age_ms)
                    .arg(event_type.as_str())
                    .arg(data)
                    .invoke_async(&mut commands)
                    .await
            })
            .await?;
        let position =
            ids::parse(&id).ok_or_else(|| self.unavailable("the event id", format!("unexpected id {id:?}")))?;
        self.last_known.fetch_max(position, Ordering::AcqRel);
        self.local.published.fetch_add(1, Ordering::Relaxed);
        Ok(ids::event_id(0, position))
    }

    /// Registers the stream now (so the reader starts on its topics at once); decides where it
    /// starts (a round trip to Redis) when it is first polled.
    pub(super) fn subscribe(
        self: &Arc<Self>,
        request: SubscribeRequest,
        metering: Option<Metering>,
    ) -> Result<impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static, HubError> {
        let registered = self.local.register(&request.topics, |name| self.start_topic(name))?;
        if request.last_event_id.as_deref().is_none_or(|id| id.trim().is_empty()) {
            // A new stream starts after everything this instance has seen or published (decided
            // now, so an event this instance publishes after `subscribe` returns is delivered).
            let start = Start { cursor: self.newest_known(), reset: None, resumed: false };
            return Ok(subscriber::open(&self.local, registered.start(start), request.delivery, metering).left_stream());
        }
        let hub = self.clone();
        let opened = async move {
            let start = hub.starting_point(&registered, request.last_event_id.as_deref()).await;
            subscriber::open(&hub.local, registered.start(start), request.delivery, metering)
        };
        Ok(futures::stream::once(opened).flatten().right_stream())
    }

    /// The newest position this instance has read or published.
    fn newest_known(&self) -> u64 {
        self.local.visible().max(self.last_known.load(Ordering::Acquire))
    }

    /// Where the mirror of a topic new to it starts: at the horizon or the newest id known,
    /// whichever is later (see `registry`).
    fn start_topic(&self, name: &TopicName) -> u64 {
        self.registry.add(name, || self.newest_known())
    }

    /// The horizon: every event of the mirrored topics up to it is here.
    pub(super) fn current_id(&self) -> EventId {
        self.local.id(self.local.visible())
    }

    /// The newest `limit` events of a topic from Redis, and the newest id of any topic then (a
    /// stream from it sees exactly what followed).
    pub(super) async fn snapshot(&self, topic: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
        let fallback = (Vec::new(), self.current_id());
        let read = self
            .command("the snapshot was not read", |mut commands| async move {
                redis::pipe()
                    .atomic()
                    .cmd("XREVRANGE")
                    .arg(connect::topic_key(topic.as_str()))
                    .arg("+")
                    .arg("-")
                    .arg("COUNT")
                    .arg(limit.max(1))
                    .cmd("GET")
                    .arg(connect::last_id_key())
                    .query_async::<(Vec<scripts::RawEntry>, Option<String>)>(&mut commands)
                    .await
            })
            .await;
        let Ok((mut entries, last)) = read else { return fallback };
        entries.reverse();
        let events = entries.iter().filter_map(|(id, fields)| stored(id, fields)).map(|(_, e)| e).take(limit).collect();
        let as_of = last.as_deref().and_then(ids::parse).map_or(fallback.1, |at| ids::event_id(0, at));
        (events, as_of)
    }

    pub(super) fn stats(&self) -> HubStats {
        HubStats { backend_down: self.health.down(), ..self.local.stats() }
    }

    pub(super) fn check_ready(&self) -> Result<(), HubError> {
        self.local.check_open()?;
        self.health.down().map_or(Ok(()), |reason| Err(HubError::Unavailable(reason)))
    }

    pub(super) fn disconnect_all(&self, closing: bool) {
        self.local.disconnect_all(closing);
    }

    /// Trims the mirror by age and forgets idle topics (the reader stops reading them).
    pub(super) fn sweep(&self) {
        self.local.sweep(|name| self.registry.remove(name));
    }

    fn wake(topics: &[Arc<Topic>], horizon: u64) {
        for topic in topics {
            topic.wake.send_replace(horizon);
        }
    }
}

/// An entry from Redis as the mirror keeps it: position, and the event with its frame encoded.
fn stored(id: &str, fields: &[String]) -> Option<(u64, StoredEvent)> {
    let position = ids::parse(id)?;
    let (event_type, data) = scripts::fields(fields);
    let event_type = event_type.and_then(|t| EventType::new(t).ok()).unwrap_or_else(EventType::message);
    let frame: Bytes = wire::encode_event(id, event_type.as_str(), data);
    Some((position, StoredEvent { id: ids::event_id(0, position), event_type, frame }))
}

/// When an entry was published, as an `Instant` (for the mirror's age bound).
fn published_at(position: u64) -> std::time::Instant {
    let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    let age = Duration::from_millis(now_ms.saturating_sub(ids::millis(position)));
    let now = std::time::Instant::now();
    now.checked_sub(age).unwrap_or(now)
}
