//! The in-process backend: every topic's bounded history in this process's memory.
//!
//! Invariants: one short lock (`publish_lock`) assigns sequence numbers and appends to history, so
//! `visible_through` only moves forward and every event up to it is in its topic's history; a
//! topic the sweeper forgets leaves its highest sequence number in `forgotten_through`, so a
//! cursor from before it gets a reset instead of a silent gap. No lock is held across an `.await`.

use super::{EventId, HubConfig, HubError, HubStats, ResetReason, StoredEvent, SubscribeRequest, TopicStats};
use crate::streams::{
    names::{EventType, TopicName, RESET_EVENT},
    wire,
};
use bytes::{Bytes, BytesMut};
use parking_lot::{Mutex, RwLock};
use std::{
    collections::{HashMap, VecDeque},
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::sync::watch;

pub(super) struct Entry {
    pub(super) seq: u64,
    at: Instant,
    event_type: EventType,
    pub(super) frame: Bytes,
}

pub(super) struct TopicLog {
    pub(super) entries: VecDeque<Entry>,
    /// Highest sequence number dropped from this topic's history (0: none). A cursor below it
    /// means events were missed.
    pub(super) evicted_through: u64,
}

pub(super) struct Topic {
    pub(super) log: RwLock<TopicLog>,
    /// Bumped on every publish; subscribers wait on it.
    pub(super) wake: watch::Sender<u64>,
    pub(super) subscribers: AtomicUsize,
    /// Frame bytes ever published to this topic: how a stalled stream measures what it owes.
    pub(super) bytes: AtomicU64,
}

/// A stream just registered by [`MemoryHub::join`].
pub(super) struct Joined {
    pub(super) topics: Vec<Arc<Topic>>,
    pub(super) wakes: Vec<watch::Receiver<u64>>,
    pub(super) disconnect: watch::Receiver<(u64, bool)>,
    pub(super) cursor: u64,
    pub(super) first: Bytes,
    pub(super) heartbeat: std::time::Duration,
}

pub(super) struct MemoryHub {
    config: HubConfig,
    epoch: u32,
    /// Serialises id assignment and history appends across topics (see module docs).
    publish_lock: Mutex<()>,
    next_seq: AtomicU64,
    /// Every event with a sequence number up to this one is in its topic's history.
    pub(super) visible_through: AtomicU64,
    topics: RwLock<HashMap<TopicName, Arc<Topic>>>,
    /// Highest sequence number of any topic the sweeper forgot: a topic created again later
    /// cannot prove it had no events before this, so older cursors get a reset.
    forgotten_through: AtomicU64,
    /// Generation bumped to end all open streams; `closing` refuses new ones.
    disconnect: watch::Sender<(u64, bool)>,
    published: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) conflated: AtomicU64,
    pub(super) resets: AtomicU64,
    resumes: AtomicU64,
    streams: AtomicUsize,
}

impl MemoryHub {
    pub(super) fn new(config: HubConfig) -> Self {
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
                    bytes: AtomicU64::new(0),
                })
            })
            .clone()
    }

    fn id(&self, seq: u64) -> EventId {
        EventId { epoch: self.epoch, seq }
    }

    pub(super) fn current_id(&self) -> EventId {
        self.id(self.visible_through.load(Ordering::Acquire))
    }

    pub(super) fn publish(
        &self,
        topic_name: &TopicName,
        event_type: &EventType,
        data: &str,
    ) -> Result<EventId, HubError> {
        let topic = self.topic(topic_name);
        let now = Instant::now();
        let id = {
            let _order = self.publish_lock.lock();
            let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
            let id = self.id(seq);
            let frame = wire::encode_event(&id.to_string(), event_type.as_str(), data);
            topic.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
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

    pub(super) fn snapshot(&self, name: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
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

    pub(super) fn stats(&self) -> HubStats {
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

    pub(super) fn check_ready(&self) -> Result<(), HubError> {
        if self.disconnect.borrow().1 {
            Err(HubError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    pub(super) fn disconnect_all(&self, closing: bool) {
        self.disconnect.send_modify(|(generation, is_closing)| {
            *generation += 1;
            *is_closing |= closing;
        });
    }

    pub(super) fn sweep(&self) {
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

    /// Registers a new stream on its topics: where its cursor starts, and the first bytes it
    /// sends (`retry:`, then a `reset` if its id is no good). The stream must end with
    /// [`MemoryHub::leave`].
    pub(super) fn join(&self, request: &SubscribeRequest) -> Result<Joined, HubError> {
        if request.topics.is_empty() {
            return Err(HubError::NoTopics);
        }
        let disconnect = self.disconnect.subscribe();
        if disconnect.borrow().1 {
            return Err(HubError::ShuttingDown);
        }
        let mut names: Vec<&TopicName> = request.topics.iter().collect();
        names.sort();
        names.dedup();
        let topics: Vec<Arc<Topic>> = names.into_iter().map(|name| self.topic(name)).collect();
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
        Ok(Joined { topics, wakes, disconnect, cursor, first: first.freeze(), heartbeat: self.config.heartbeat })
    }

    /// Undoes [`MemoryHub::join`]'s counts when a stream ends.
    pub(super) fn leave(&self, topics: &[Arc<Topic>]) {
        self.streams.fetch_sub(1, Ordering::AcqRel);
        for topic in topics {
            topic.subscribers.fetch_sub(1, Ordering::AcqRel);
        }
    }

    pub(super) fn reset_frame(&self, seq: u64, reason: ResetReason) -> Bytes {
        let data = format!("{{\"reason\":\"{}\"}}", reason.as_str());
        wire::encode_event(&self.id(seq).to_string(), RESET_EVENT, &data)
    }
}
