//! The hub: topics, their bounded histories and fan-out to subscribers.
//!
//! `Hub` is the seam for backends. Today it has one, the in-process hub below (the embedded
//! default: no services); a Redis backend would be a second variant behind the same methods, so
//! producers and handlers never change.
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

use super::{
    names::{EventType, TopicName, RESET_EVENT},
    wire,
};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use parking_lot::{Mutex, RwLock};
use std::{
    collections::{HashMap, VecDeque},
    fmt,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::sync::watch;

/// Limits and timings of the hub.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub history_events: usize,
    pub history_age: Duration,
    pub heartbeat: Duration,
    pub retry_ms: u32,
}

impl HubConfig {
    pub fn from_settings(settings: &crate::config::PulseboardSettings) -> Self {
        Self {
            history_events: settings.history_events.max(1),
            history_age: settings.history_age(),
            heartbeat: settings.heartbeat(),
            retry_ms: settings.sse_retry_ms,
        }
    }
}

/// An event id: which run of the hub made it, and its place in that run's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId {
    pub epoch: u32,
    pub seq: u64,
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}-{}", self.epoch, self.seq)
    }
}

impl std::str::FromStr for EventId {
    type Err = ();
    fn from_str(text: &str) -> Result<Self, ()> {
        let (epoch, seq) = text.split_once('-').ok_or(())?;
        if epoch.len() != 8 || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        Ok(Self {
            epoch: u32::from_str_radix(epoch, 16).map_err(|_| ())?,
            seq: seq.parse().map_err(|_| ())?,
        })
    }
}

/// Why a stream begins with (or falls back to) a `reset` event. Part of the documented contract:
/// the `reset` event's data is `{"reason":"<one of these>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetReason {
    /// The id is older than the history kept for one of the topics.
    HistoryExpired,
    /// The id was not made by this run of the hub (e.g. before a restart), or is in the future.
    UnknownId,
    /// The id is not of the form pulseboard makes.
    MalformedId,
}

impl ResetReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HistoryExpired => "history-expired",
            Self::UnknownId => "unknown-id",
            Self::MalformedId => "malformed-id",
        }
    }
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
}

/// The hub every producer publishes to and every stream reads from. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    backend: Arc<Backend>,
}

enum Backend {
    InProcess(MemoryHub),
}

/// Counters and sizes for the monitoring views. Counters (`u64`) only grow while the hub runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HubStats {
    pub topics: usize,
    /// Open streams summed over their topics (a stream of two topics counts twice).
    pub subscribers: usize,
    /// Open streams.
    pub streams: usize,
    /// Events kept in all topics' histories.
    pub history_events: usize,
    pub published: u64,
    /// Events written to subscribers (one per event per stream).
    pub delivered: u64,
    /// Events a latest-wins stream skipped because a newer one of the same topic was pending.
    pub conflated: u64,
    /// `reset` events sent: streams that could not resume or fell behind the history.
    pub resets: u64,
    /// Streams that resumed from a `Last-Event-ID` this run of the hub made.
    pub resumes: u64,
    /// Per topic, sorted by name.
    pub per_topic: Vec<TopicStats>,
}

/// One topic's share of [`HubStats`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicStats {
    pub topic: String,
    pub subscribers: usize,
    pub history_events: usize,
}

impl Hub {
    /// The embedded default: everything in this process.
    pub fn in_process(config: HubConfig) -> Self {
        Self { backend: Arc::new(Backend::InProcess(MemoryHub::new(config))) }
    }

    /// Publishes one event and returns its id.
    pub async fn publish(
        &self,
        topic: &TopicName,
        event_type: &EventType,
        data: &str,
    ) -> Result<EventId, HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => hub.publish(topic, event_type, data),
        }
    }

    /// A stream of SSE bytes: `retry:`, then history after `last_event_id` (or a `reset`), then
    /// live events and heartbeats until the client leaves or the server stops.
    pub fn subscribe(
        &self,
        request: SubscribeRequest,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => hub.subscribe(self.backend.clone(), request),
        }
    }

    /// The id of the newest event published so far: what a server-rendered snapshot carries so
    /// the page's stream continues exactly after it.
    pub fn current_id(&self) -> EventId {
        match &*self.backend {
            Backend::InProcess(hub) => hub.current_id(),
        }
    }

    /// The newest `limit` events of a topic, oldest first, and the id a stream continues from
    /// to see exactly what came after them (neither lost nor repeated).
    pub fn snapshot(&self, topic: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.snapshot(topic, limit),
        }
    }

    pub fn stats(&self) -> HubStats {
        match &*self.backend {
            Backend::InProcess(hub) => hub.stats(),
        }
    }

    /// Whether the hub takes new subscriptions and events: what `/readyz` asks. Fails while the
    /// server shuts down (and, for a remote backend, when it cannot be reached).
    pub fn check_ready(&self) -> Result<(), HubError> {
        match &*self.backend {
            Backend::InProcess(hub) => hub.check_ready(),
        }
    }

    /// Ends every open stream (clients reconnect and resume). With `closing`, new subscriptions
    /// are refused too: used when the server shuts down.
    pub fn disconnect_all(&self, closing: bool) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.disconnect_all(closing),
        }
    }

    /// Drops history older than the configured age and forgets idle, empty topics.
    pub fn sweep(&self) {
        match &*self.backend {
            Backend::InProcess(hub) => hub.sweep(),
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

struct Entry {
    seq: u64,
    at: Instant,
    event_type: EventType,
    frame: Bytes,
}

struct TopicLog {
    entries: VecDeque<Entry>,
    /// Highest sequence number dropped from this topic's history (0: none). A cursor below it
    /// means events were missed.
    evicted_through: u64,
}

struct Topic {
    log: RwLock<TopicLog>,
    /// Bumped on every publish; subscribers wait on it.
    wake: watch::Sender<u64>,
    subscribers: AtomicUsize,
}

struct MemoryHub {
    config: HubConfig,
    epoch: u32,
    /// Serialises id assignment and history appends across topics (see module docs).
    publish_lock: Mutex<()>,
    next_seq: AtomicU64,
    /// Every event with a sequence number up to this one is in its topic's history.
    visible_through: AtomicU64,
    topics: RwLock<HashMap<TopicName, Arc<Topic>>>,
    /// Highest sequence number of any topic the sweeper forgot: a topic created again later
    /// cannot prove it had no events before this, so older cursors get a reset.
    forgotten_through: AtomicU64,
    /// Generation bumped to end all open streams; `closing` refuses new ones.
    disconnect: watch::Sender<(u64, bool)>,
    published: AtomicU64,
    delivered: AtomicU64,
    conflated: AtomicU64,
    resets: AtomicU64,
    resumes: AtomicU64,
    streams: AtomicUsize,
}

impl MemoryHub {
    fn new(config: HubConfig) -> Self {
        Self {
            config,
            epoch: rand::random(),
            publish_lock: Mutex::new(()),
            next_seq: AtomicU64::new(1),
            visible_through: AtomicU64::new(0),
            topics: RwLock::new(HashMap::new()),
            forgotten_through: AtomicU64::new(0),
            disconnect: watch::Sender::new((0, false)),
            published: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            conflated: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            resumes: AtomicU64::new(0),
            streams: AtomicUsize::new(0),
        }
    }

    fn topic(&self, name: &TopicName) -> Arc<Topic> {
        if let Some(topic) = self.topics.read().get(name) {
            return topic.clone();
        }
        let mut topics = self.topics.write();
        topics
            .entry(name.clone())
            .or_insert_with(|| {
                Arc::new(Topic {
                    log: RwLock::new(TopicLog {
                        entries: VecDeque::new(),
                        evicted_through: self.forgotten_through.load(Ordering::Acquire),
                    }),
                    wake: watch::Sender::new(0),
                    subscribers: AtomicUsize::new(0),
                })
            })
            .clone()
    }

    fn id(&self, seq: u64) -> EventId {
        EventId { epoch: self.epoch, seq }
    }

    fn current_id(&self) -> EventId {
        self.id(self.visible_through.load(Ordering::Acquire))
    }

    fn publish(&self, topic_name: &TopicName, event_type: &EventType, data: &str) -> Result<EventId, HubError> {
        let topic = self.topic(topic_name);
        let now = Instant::now();
        let id = {
            let _order = self.publish_lock.lock();
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            let id = self.id(seq);
            let frame = wire::encode_event(&id.to_string(), event_type.as_str(), data);
            let mut log = topic.log.write();
            log.entries.push_back(Entry { seq, at: now, event_type: event_type.clone(), frame });
            self.trim(&mut log, now);
            drop(log);
            self.visible_through.store(seq, Ordering::Release);
            id
        };
        self.published.fetch_add(1, Ordering::Relaxed);
        topic.wake.send_replace(id.seq);
        Ok(id)
    }

    fn trim(&self, log: &mut TopicLog, now: Instant) {
        while let Some(front) = log.entries.front() {
            let too_many = log.entries.len() > self.config.history_events;
            let too_old = now.duration_since(front.at) > self.config.history_age;
            if !(too_many || too_old) {
                break;
            }
            log.evicted_through = front.seq;
            log.entries.pop_front();
        }
    }

    fn snapshot(&self, name: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
        // Read the horizon first, then take only events up to it: one published meanwhile is
        // left to the stream, which starts after the horizon.
        let visible = self.visible_through.load(Ordering::Acquire);
        let Some(topic) = self.topics.read().get(name).cloned() else {
            return (Vec::new(), self.id(visible));
        };
        let log = topic.log.read();
        let end = log.entries.partition_point(|e| e.seq <= visible);
        let start = end.saturating_sub(limit);
        let events = log
            .entries
            .range(start..end)
            .map(|entry| StoredEvent {
                id: self.id(entry.seq),
                event_type: entry.event_type.clone(),
                frame: entry.frame.clone(),
            })
            .collect();
        (events, self.id(visible))
    }

    fn stats(&self) -> HubStats {
        let mut per_topic: Vec<TopicStats> = self
            .topics
            .read()
            .iter()
            .map(|(name, topic)| TopicStats {
                topic: name.to_string(),
                subscribers: topic.subscribers.load(Ordering::Relaxed),
                history_events: topic.log.read().entries.len(),
            })
            .collect();
        per_topic.sort_unstable_by(|a, b| a.topic.cmp(&b.topic));
        HubStats {
            topics: per_topic.len(),
            subscribers: per_topic.iter().map(|t| t.subscribers).sum(),
            streams: self.streams.load(Ordering::Relaxed),
            history_events: per_topic.iter().map(|t| t.history_events).sum(),
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            conflated: self.conflated.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            resumes: self.resumes.load(Ordering::Relaxed),
            per_topic,
        }
    }

    fn check_ready(&self) -> Result<(), HubError> {
        if self.disconnect.borrow().1 {
            Err(HubError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    fn disconnect_all(&self, closing: bool) {
        self.disconnect.send_modify(|(generation, is_closing)| {
            *generation += 1;
            *is_closing |= closing;
        });
    }

    fn sweep(&self) {
        let now = Instant::now();
        let mut topics = self.topics.write();
        topics.retain(|_, topic| {
            let mut log = topic.log.write();
            self.trim(&mut log, now);
            let idle = log.entries.is_empty() && topic.subscribers.load(Ordering::Acquire) == 0;
            if idle {
                self.forgotten_through.fetch_max(log.evicted_through, Ordering::AcqRel);
            }
            !idle
        });
    }

    /// Where a new subscriber starts: its cursor, and a reset to send first if its id is no good.
    fn starting_point(&self, last_event_id: Option<&str>) -> (u64, Option<ResetReason>) {
        let now = self.visible_through.load(Ordering::Acquire);
        let Some(text) = last_event_id.map(str::trim).filter(|t| !t.is_empty()) else {
            return (now, None);
        };
        match text.parse::<EventId>() {
            Err(()) => (now, Some(ResetReason::MalformedId)),
            Ok(id) if id.epoch != self.epoch || id.seq > now => (now, Some(ResetReason::UnknownId)),
            // Whether history still covers it is checked on the first read.
            Ok(id) => (id.seq, None),
        }
    }

    fn subscribe(
        &self,
        backend: Arc<Backend>,
        request: SubscribeRequest,
    ) -> Result<impl Stream<Item = Bytes> + Send + 'static, HubError> {
        if request.topics.is_empty() {
            return Err(HubError::NoTopics);
        }
        let disconnect = self.disconnect.subscribe();
        if disconnect.borrow().1 {
            return Err(HubError::ShuttingDown);
        }
        let mut topics: Vec<TopicName> = request.topics;
        topics.sort();
        topics.dedup();
        let topics: Vec<Arc<Topic>> = topics.iter().map(|name| self.topic(name)).collect();
        let wakes = topics.iter().map(|t| t.wake.subscribe()).collect();
        for topic in &topics {
            topic.subscribers.fetch_add(1, Ordering::AcqRel);
        }
        let (cursor, reset) = self.starting_point(request.last_event_id.as_deref());
        let mut first = BytesMut::from(&wire::encode_retry(self.config.retry_ms)[..]);
        match reset {
            Some(reason) => {
                self.resets.fetch_add(1, Ordering::Relaxed);
                first.extend_from_slice(&self.reset_frame(cursor, reason));
            }
            None if request.last_event_id.as_deref().is_some_and(|id| !id.trim().is_empty()) => {
                self.resumes.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        self.streams.fetch_add(1, Ordering::AcqRel);
        let state = Subscriber {
            backend,
            delivery: request.delivery,
            topics,
            wakes,
            disconnect,
            cursor,
            pending: Some(first.freeze()),
            heartbeat: self.config.heartbeat,
        };
        Ok(futures::stream::unfold(state, |mut state| async move {
            let chunk = state.next_chunk().await?;
            Some((chunk, state))
        }))
    }

    fn reset_frame(&self, seq: u64, reason: ResetReason) -> Bytes {
        let data = format!("{{\"reason\":\"{}\"}}", reason.as_str());
        wire::encode_event(&self.id(seq).to_string(), RESET_EVENT, &data)
    }
}

/// One open stream: a cursor over its topics' histories. No queue of its own.
struct Subscriber {
    backend: Arc<Backend>,
    delivery: Delivery,
    topics: Vec<Arc<Topic>>,
    wakes: Vec<watch::Receiver<u64>>,
    disconnect: watch::Receiver<(u64, bool)>,
    /// Sequence number of the last event sent (or skipped by a reset).
    cursor: u64,
    pending: Option<Bytes>,
    heartbeat: Duration,
}

impl Subscriber {
    fn hub(&self) -> &MemoryHub {
        match &*self.backend {
            Backend::InProcess(hub) => hub,
        }
    }

    /// The next bytes to write, or `None` when the stream must end.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(chunk) = self.pending.take() {
            return Some(chunk);
        }
        loop {
            if self.disconnect.has_changed().unwrap_or(true) {
                return None;
            }
            for wake in &mut self.wakes {
                wake.borrow_and_update();
            }
            if let Some(chunk) = self.read_new() {
                return Some(chunk);
            }
            match tokio::time::timeout(self.heartbeat, self.woken()).await {
                Err(_elapsed) => return Some(wire::heartbeat()),
                Ok(true) => continue,
                Ok(false) => return None,
            }
        }
    }

    /// Waits until a topic has news (true) or the stream must end (false).
    async fn woken(&mut self) -> bool {
        let disconnect = &mut self.disconnect;
        let wakes = &mut self.wakes;
        let news = async {
            if let [only] = wakes.as_mut_slice() {
                only.changed().await.is_ok()
            } else {
                let waits = wakes.iter_mut().map(|w| Box::pin(w.changed()));
                futures::future::select_all(waits).await.0.is_ok()
            }
        };
        tokio::select! {
            ok = news => ok,
            _ = disconnect.changed() => false,
        }
    }

    /// Everything after the cursor that is visible in every topic, in id order, as one chunk.
    fn read_new(&mut self) -> Option<Bytes> {
        let hub = self.hub();
        // Only events up to `visible` are taken: all of them are in their histories already, so
        // an event of one topic can never overtake an earlier one of another topic.
        let visible = hub.visible_through.load(Ordering::Acquire);
        if visible <= self.cursor {
            return None;
        }
        let mut batch: Vec<(u64, Bytes)> = Vec::new();
        let mut expired = false;
        let mut conflated = 0u64;
        for topic in &self.topics {
            let log = topic.log.read();
            if log.evicted_through > self.cursor && self.delivery == Delivery::Every {
                expired = true;
                break;
            }
            let start = log.entries.partition_point(|e| e.seq <= self.cursor);
            let fresh = log.entries.range(start..).take_while(|e| e.seq <= visible);
            match self.delivery {
                Delivery::Every => batch.extend(fresh.map(|e| (e.seq, e.frame.clone()))),
                Delivery::Latest => {
                    let mut newest = None;
                    for entry in fresh {
                        conflated += u64::from(newest.is_some());
                        newest = Some(entry);
                    }
                    batch.extend(newest.map(|e| (e.seq, e.frame.clone())));
                }
            }
        }
        if conflated > 0 {
            hub.conflated.fetch_add(conflated, Ordering::Relaxed);
        }
        hub.delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if expired {
            hub.resets.fetch_add(1, Ordering::Relaxed);
            let frame = hub.reset_frame(visible, ResetReason::HistoryExpired);
            self.cursor = visible;
            return Some(frame);
        }
        self.cursor = visible;
        match batch.len() {
            0 => None,
            1 => batch.pop().map(|(_, frame)| frame),
            _ => {
                if self.topics.len() > 1 {
                    batch.sort_unstable_by_key(|(seq, _)| *seq);
                }
                let mut chunk = BytesMut::with_capacity(batch.iter().map(|(_, f)| f.len()).sum());
                for (_, frame) in batch {
                    chunk.extend_from_slice(&frame);
                }
                Some(chunk.freeze())
            }
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.hub().streams.fetch_sub(1, Ordering::AcqRel);
        for topic in &self.topics {
            topic.subscribers.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use eventsource_stream::Eventsource;
    use futures::StreamExt;

    fn config() -> HubConfig {
        HubConfig {
            history_events: 100,
            history_age: Duration::from_secs(600),
            heartbeat: Duration::from_secs(15),
            retry_ms: 1000,
        }
    }

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).unwrap()
    }

    fn events(
        hub: &Hub,
        topics: &[&str],
        last: Option<String>,
    ) -> impl Stream<Item = eventsource_stream::Event> {
        let request = SubscribeRequest {
            topics: topics.iter().map(|t| topic(t)).collect(),
            last_event_id: last,
            delivery: Delivery::Every,
        };
        events_with(hub, request)
    }

    fn events_with(hub: &Hub, request: SubscribeRequest) -> impl Stream<Item = eventsource_stream::Event> {
        hub.subscribe(request)
            .unwrap()
            .map(Ok::<_, std::convert::Infallible>)
            .eventsource()
            .map(|event| event.unwrap())
    }

    async fn publish(hub: &Hub, name: &str, data: &str) -> EventId {
        hub.publish(&topic(name), &EventType::message(), data).await.unwrap()
    }

    async fn take(stream: &mut (impl Stream<Item = eventsource_stream::Event> + Unpin), n: usize) -> Vec<eventsource_stream::Event> {
        let mut out = Vec::new();
        while out.len() < n {
            // Generous: a loaded 2-core CI machine runs many tests at once. A lost event still
            // fails (it never arrives); a slow one does not.
            let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
            out.push(next.unwrap_or_else(|_| panic!("event {} of {n} within 30 s", out.len() + 1)).expect("stream open"));
        }
        out
    }

    #[test]
    fn event_ids_round_trip_and_reject_garbage() {
        let id = EventId { epoch: 0xdead_beef, seq: 42 };
        assert_eq!(id.to_string(), "deadbeef-42");
        assert_eq!("deadbeef-42".parse::<EventId>(), Ok(id));
        for bad in ["", "42", "deadbeef-", "deadbeef-x", "dead-42", "zzzzzzzz-1", "deadbeef--1"] {
            assert!(bad.parse::<EventId>().is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn live_subscriber_gets_events_after_subscribing_only() {
        let hub = Hub::in_process(config());
        publish(&hub, "a", "before").await;
        let mut stream = Box::pin(events(&hub, &["a"], None));
        let first = publish(&hub, "a", "one").await;
        publish(&hub, "b", "other topic").await;
        publish(&hub, "a", "two").await;
        let got = take(&mut stream, 2).await;
        assert_eq!(got[0].data, "one");
        assert_eq!(got[0].id, first.to_string());
        assert_eq!(got[1].data, "two");
    }

    #[tokio::test]
    async fn resume_replays_exactly_what_followed_the_id() {
        let hub = Hub::in_process(config());
        let mut ids = Vec::new();
        for n in 0..10 {
            ids.push(publish(&hub, "a", &n.to_string()).await);
        }
        let mut stream = Box::pin(events(&hub, &["a"], Some(ids[4].to_string())));
        let got = take(&mut stream, 5).await;
        let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["5", "6", "7", "8", "9"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn resume_under_concurrent_publishing_has_no_gap_and_no_duplicate() {
        let hub = Hub::in_process(HubConfig { history_events: 100_000, ..config() });
        let total = 3000u32;
        let publisher = {
            let hub = hub.clone();
            tokio::spawn(async move {
                for n in 0..total {
                    let name = if n % 3 == 0 { "b" } else { "a" };
                    publish(&hub, name, &n.to_string()).await;
                    if n % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        };
        // Read a while, drop the stream, resume from the last id seen; repeat while publishing.
        let mut seen: Vec<u32> = Vec::new();
        let mut last: Option<String> = None;
        while seen.len() < total as usize {
            let mut stream = Box::pin(events(&hub, &["a", "b"], last.clone()));
            let want = (total as usize - seen.len()).min(257);
            for event in take(&mut stream, want).await {
                assert_ne!(event.event, "reset", "history covers everything here");
                seen.push(event.data.parse().unwrap());
                last = Some(event.id);
            }
        }
        publisher.await.unwrap();
        let expected: Vec<u32> = (0..total).collect();
        assert_eq!(seen, expected, "every event once, in publish order, across two topics");
    }

    #[tokio::test]
    async fn history_is_bounded_by_count_and_a_stale_id_gets_a_reset() {
        let hub = Hub::in_process(HubConfig { history_events: 3, ..config() });
        let first = publish(&hub, "a", "0").await;
        for n in 1..6 {
            publish(&hub, "a", &n.to_string()).await;
        }
        let kept: Vec<_> = hub.snapshot(&topic("a"), 100).0.iter().map(StoredEvent::data).collect();
        assert_eq!(kept, ["3", "4", "5"]);

        let mut stream = Box::pin(events(&hub, &["a"], Some(first.to_string())));
        let reset = take(&mut stream, 1).await.remove(0);
        assert_eq!(reset.event, "reset");
        assert_eq!(reset.data, r#"{"reason":"history-expired"}"#);
        assert_eq!(reset.id, hub.current_id().to_string());
        publish(&hub, "a", "live").await;
        assert_eq!(take(&mut stream, 1).await[0].data, "live");
    }

    #[tokio::test]
    async fn history_is_bounded_by_age() {
        let hub = Hub::in_process(HubConfig { history_age: Duration::from_millis(50), ..config() });
        publish(&hub, "a", "old").await;
        tokio::time::sleep(Duration::from_millis(80)).await;
        publish(&hub, "a", "new").await;
        let kept: Vec<_> = hub.snapshot(&topic("a"), 100).0.iter().map(StoredEvent::data).collect();
        assert_eq!(kept, ["new"]);
        tokio::time::sleep(Duration::from_millis(80)).await;
        hub.sweep();
        assert!(hub.snapshot(&topic("a"), 100).0.is_empty());
        assert_eq!(hub.stats().topics, 0, "idle empty topics are forgotten");
    }

    #[tokio::test]
    async fn forgotten_topic_does_not_hide_a_gap() {
        let hub = Hub::in_process(HubConfig { history_age: Duration::from_millis(20), ..config() });
        let before = publish(&hub, "other", "x").await;
        publish(&hub, "a", "lost").await;
        tokio::time::sleep(Duration::from_millis(40)).await;
        hub.sweep();
        let mut stream = Box::pin(events(&hub, &["a"], Some(before.to_string())));
        assert_eq!(take(&mut stream, 1).await[0].event, "reset");
    }

    #[tokio::test]
    async fn unknown_and_malformed_ids_get_a_reset_then_live() {
        let hub = Hub::in_process(config());
        publish(&hub, "a", "x").await;
        let other_run = EventId { epoch: hub.current_id().epoch.wrapping_add(1), seq: 1 };
        let future = EventId { seq: 999, ..hub.current_id() };
        for (last, reason) in [
            (other_run.to_string(), "unknown-id"),
            (future.to_string(), "unknown-id"),
            ("garbage\u{0}".to_string(), "malformed-id"),
        ] {
            let mut stream = Box::pin(events(&hub, &["a"], Some(last)));
            let reset = take(&mut stream, 1).await.remove(0);
            assert_eq!(reset.event, "reset");
            assert_eq!(reset.data, format!(r#"{{"reason":"{reason}"}}"#));
            publish(&hub, "a", "live").await;
            assert_eq!(take(&mut stream, 1).await[0].data, "live");
        }
        assert_eq!(hub.stats().resets, 3);
    }

    #[tokio::test]
    async fn stalled_subscriber_catches_up_in_one_chunk_or_resets() {
        let hub = Hub::in_process(HubConfig { history_events: 50, ..config() });
        let request = SubscribeRequest { topics: vec![topic("a")], last_event_id: None, delivery: Delivery::Every };
        let mut raw = Box::pin(hub.subscribe(request.clone()).unwrap());
        let retry = raw.next().await.unwrap();
        assert_eq!(&retry[..], b"retry: 1000\n\n");
        for n in 0..10 {
            publish(&hub, "a", &n.to_string()).await;
        }
        let chunk = raw.next().await.unwrap();
        assert_eq!(chunk.iter().filter(|b| **b == b'\n').count(), 10 * 3, "ten frames, one chunk");

        // A subscriber that falls behind the whole history is told to reset, not given a gap.
        let mut slow = Box::pin(hub.subscribe(request).unwrap());
        slow.next().await.unwrap();
        for n in 0..60 {
            publish(&hub, "a", &n.to_string()).await;
        }
        let chunk = slow.next().await.unwrap();
        assert!(std::str::from_utf8(&chunk).unwrap().contains("event: reset"));
    }

    #[tokio::test]
    async fn latest_wins_stream_sends_the_newest_event_of_each_topic() {
        let hub = Hub::in_process(HubConfig { history_events: 5, ..config() });
        let request = |last_event_id| SubscribeRequest {
            topics: vec![topic("a"), topic("b")],
            last_event_id,
            delivery: Delivery::Latest,
        };
        let mut raw = Box::pin(hub.subscribe(request(None)).unwrap());
        raw.next().await.unwrap();
        // More than the history holds: an every-event stream would get a reset here.
        for n in 0..12 {
            publish(&hub, "a", &format!("a{n}")).await;
        }
        publish(&hub, "b", "b0").await;
        publish(&hub, "b", "b1").await;
        let chunk = raw.next().await.unwrap();
        let text = std::str::from_utf8(&chunk).unwrap();
        assert!(!text.contains("reset"), "{text}");
        assert_eq!(text.matches("data: ").count(), 2, "{text}");
        assert!(text.contains("data: a11") && text.contains("data: b1"), "{text}");
        let stats = hub.stats();
        assert_eq!(stats.delivered, 2);
        // Of the 14 published, 2 were sent; the other 4 of a's history and 1 of b's were skipped
        // (events evicted from history before the read are neither sent nor counted).
        assert_eq!(stats.conflated, 4 + 1);

        // Resuming a latest-wins stream from an id history covers: only the newest after it.
        let resumed = Box::pin(hub.subscribe(request(Some(hub.current_id().to_string()))).unwrap());
        drop(resumed);
        let old = hub.snapshot(&topic("a"), 5).0[0].id.to_string();
        let mut resumed = Box::pin(
            events_with(&hub, request(Some(old))),
        );
        let got = take(&mut resumed, 2).await;
        let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
        assert_eq!(data, ["a11", "b1"]);
        assert_eq!(hub.stats().resumes, 2);
    }

    #[tokio::test]
    async fn stats_count_streams_deliveries_and_history() {
        let hub = Hub::in_process(config());
        let mut one = Box::pin(events(&hub, &["a"], None));
        let mut two = Box::pin(events(&hub, &["a", "b"], None));
        publish(&hub, "a", "1").await;
        publish(&hub, "b", "2").await;
        take(&mut one, 1).await;
        take(&mut two, 2).await;
        let stats = hub.stats();
        assert_eq!((stats.streams, stats.subscribers, stats.topics), (2, 3, 2));
        assert_eq!((stats.published, stats.delivered, stats.history_events), (2, 3, 2));
        assert_eq!(
            stats.per_topic,
            vec![
                TopicStats { topic: "a".into(), subscribers: 2, history_events: 1 },
                TopicStats { topic: "b".into(), subscribers: 1, history_events: 1 },
            ]
        );
        drop(one);
        assert_eq!(hub.stats().streams, 1);
        assert_eq!(hub.check_ready(), Ok(()));
        hub.disconnect_all(true);
        assert_eq!(hub.check_ready(), Err(HubError::ShuttingDown));
    }

    #[tokio::test]
    async fn heartbeat_when_idle_and_disconnect_ends_streams() {
        let hub = Hub::in_process(HubConfig { heartbeat: Duration::from_millis(30), ..config() });
        let request = SubscribeRequest { topics: vec![topic("a")], last_event_id: None, delivery: Delivery::Every };
        let mut raw = Box::pin(hub.subscribe(request.clone()).unwrap());
        raw.next().await.unwrap();
        assert_eq!(&raw.next().await.unwrap()[..], b": heartbeat\n\n");
        assert_eq!(hub.stats().subscribers, 1);
        hub.disconnect_all(false);
        assert_eq!(raw.next().await, None);
        drop(raw);
        assert_eq!(hub.stats().subscribers, 0);
        // Not closing: new streams are still welcome. Closing: refused.
        assert!(hub.subscribe(request.clone()).is_ok());
        hub.disconnect_all(true);
        assert_eq!(hub.subscribe(request).err(), Some(HubError::ShuttingDown));
    }
}
