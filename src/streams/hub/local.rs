//! What every backend keeps in this process: topic logs in one id order, the open streams on
//! them, their wake-ups and the counters. Subscribers (`subscriber`) read only from here.
//!
//! The in-process backend (`memory`) appends to these logs when it publishes; the Redis backend
//! (`redis`) fills them from its one reader, as a bounded local mirror of the streams in Redis.
//! Either way an event has a position (`u64`) in one order across topics, and
//! `visible_through` promises: every event of every log up to it is in its log already, so a
//! cursor that moves to it cannot skip an event that appears later. A log's `evicted_through` is
//! the highest position it does not cover (dropped, or never held): a cursor below it has a gap.
//! No lock is held across an `.await`.

use super::{stats::Counters, EventId, HubConfig, HubError, HubStats, ResetReason, TopicStats};
use crate::streams::{
    names::{EventType, TopicName, RESET_EVENT},
    wire,
};
use bytes::{Bytes, BytesMut};
use parking_lot::RwLock;
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
    pub(super) at: Instant,
    pub(super) event_type: EventType,
    pub(super) frame: Bytes,
}

pub(super) struct TopicLog {
    pub(super) entries: VecDeque<Entry>,
    /// Highest position this log does not cover (0: none). A cursor below it means a gap.
    pub(super) evicted_through: u64,
}

pub(super) struct Topic {
    pub(super) log: RwLock<TopicLog>,
    /// Bumped when events become visible; subscribers wait on it.
    pub(super) wake: watch::Sender<u64>,
    pub(super) subscribers: AtomicUsize,
    /// Frame bytes ever appended to this topic's log: how a stalled stream measures what it owes.
    pub(super) bytes: AtomicU64,
}

/// A stream just registered by [`Local::join`].
pub(super) struct Joined {
    pub(super) topics: Vec<Arc<Topic>>,
    pub(super) wakes: Vec<watch::Receiver<u64>>,
    pub(super) disconnect: watch::Receiver<(u64, bool)>,
    pub(super) cursor: u64,
    pub(super) first: Bytes,
    pub(super) heartbeat: std::time::Duration,
}

/// Where a new stream starts: its cursor and, if its `Last-Event-ID` is no good, why.
pub(super) struct Start {
    pub(super) cursor: u64,
    pub(super) reset: Option<ResetReason>,
    pub(super) resumed: bool,
}

pub(super) struct Local {
    pub(super) config: HubConfig,
    /// How positions are written as event ids (per run, or Redis stream ids).
    id_of: fn(u32, u64) -> EventId,
    pub(super) epoch: u32,
    /// Every event up to this position is in its topic's log.
    pub(super) visible_through: AtomicU64,
    pub(super) topics: RwLock<HashMap<TopicName, Arc<Topic>>>,
    /// Highest position of any topic the sweeper forgot (see `memory`).
    pub(super) forgotten_through: AtomicU64,
    /// Generation bumped to end all open streams; `closing` refuses new ones.
    disconnect: watch::Sender<(u64, bool)>,
    pub(super) published: AtomicU64,
    pub(super) delivered: AtomicU64,
    pub(super) conflated: AtomicU64,
    pub(super) resets: AtomicU64,
    resumes: AtomicU64,
    streams: AtomicUsize,
}

impl Local {
    pub(super) fn new(config: HubConfig, epoch: u32, id_of: fn(u32, u64) -> EventId) -> Self {
        Self {
            config,
            id_of,
            epoch,
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

    pub(super) fn id(&self, seq: u64) -> EventId {
        (self.id_of)(self.epoch, seq)
    }

    pub(super) fn visible(&self) -> u64 {
        self.visible_through.load(Ordering::Acquire)
    }

    /// The topic's log, made on first use; `created` runs (under the map's lock) only when it is
    /// new and says which position the new log covers from.
    pub(super) fn topic(&self, name: &TopicName, created: impl FnOnce(&TopicName) -> u64) -> Arc<Topic> {
        if let Some(topic) = self.topics.read().get(name) {
            return topic.clone();
        }
        let mut topics = self.topics.write();
        topics
            .entry(name.clone())
            .or_insert_with(|| {
                Arc::new(Topic {
                    log: RwLock::new(TopicLog { entries: VecDeque::new(), evicted_through: created(name) }),
                    wake: watch::Sender::new(0),
                    subscribers: AtomicUsize::new(0),
                    bytes: AtomicU64::new(0),
                })
            })
            .clone()
    }

    pub(super) fn get(&self, name: &TopicName) -> Option<Arc<Topic>> {
        self.topics.read().get(name).cloned()
    }

    /// Drops entries beyond the count bound and older than the age bound.
    pub(super) fn trim(&self, log: &mut TopicLog, now: Instant) {
        while let Some(front) = log.entries.front() {
            let too_many = log.entries.len() > self.config.history_events;
            let too_old = now.duration_since(front.at) > self.config.history_age;
            if !(too_many || too_old) {
                break;
            }
            log.evicted_through = log.evicted_through.max(front.seq);
            log.entries.pop_front();
        }
    }

    pub(super) fn stats(&self) -> HubStats {
        let per_topic: Vec<TopicStats> = self
            .topics
            .read()
            .iter()
            .map(|(name, topic)| TopicStats {
                topic: name.to_string(),
                subscribers: topic.subscribers.load(Ordering::Relaxed),
                history_events: topic.log.read().entries.len(),
            })
            .collect();
        let counters = Counters {
            streams: self.streams.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            conflated: self.conflated.load(Ordering::Relaxed),
            resets: self.resets.load(Ordering::Relaxed),
            resumes: self.resumes.load(Ordering::Relaxed),
        };
        HubStats::from_topics(per_topic, counters)
    }

    pub(super) fn closing(&self) -> bool {
        self.disconnect.borrow().1
    }

    pub(super) fn check_open(&self) -> Result<(), HubError> {
        if self.closing() {
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

    /// Trims by age and forgets idle, empty topics (`forgot` hears each one, under the lock).
    pub(super) fn sweep(&self, mut forgot: impl FnMut(&TopicName)) {
        let now = Instant::now();
        let mut topics = self.topics.write();
        topics.retain(|name, topic| {
            let mut log = topic.log.write();
            self.trim(&mut log, now);
            let idle = log.entries.is_empty() && topic.subscribers.load(Ordering::Acquire) == 0;
            if idle {
                self.forgotten_through.fetch_max(log.evicted_through, Ordering::AcqRel);
                forgot(name);
            }
            !idle
        });
    }

    /// Registers a new stream on its topics (made with `created`, see [`Local::topic`]). The
    /// registration is undone when the returned guard (or the stream made from it) is dropped.
    pub(super) fn register(
        self: &Arc<Self>,
        names: &[TopicName],
        mut created: impl FnMut(&TopicName) -> u64,
    ) -> Result<Registered, HubError> {
        if names.is_empty() {
            return Err(HubError::NoTopics);
        }
        let disconnect = self.disconnect.subscribe();
        if disconnect.borrow().1 {
            return Err(HubError::ShuttingDown);
        }
        let mut names: Vec<&TopicName> = names.iter().collect();
        names.sort();
        names.dedup();
        let topics: Vec<Arc<Topic>> = names.iter().map(|name| self.topic(name, &mut created)).collect();
        for topic in &topics {
            topic.subscribers.fetch_add(1, Ordering::AcqRel);
        }
        self.streams.fetch_add(1, Ordering::AcqRel);
        let names = names.into_iter().cloned().collect();
        Ok(Registered { local: self.clone(), names, topics, disconnect })
    }

    /// Undoes [`Local::register`]'s counts when a stream ends.
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

/// A stream registered on its topics, not started yet. Dropping it unregisters.
pub(super) struct Registered {
    local: Arc<Local>,
    names: Vec<TopicName>,
    topics: Vec<Arc<Topic>>,
    disconnect: watch::Receiver<(u64, bool)>,
}

impl Registered {
    /// The stream's topics (sorted, no repeats) with their logs.
    pub(super) fn topics(&self) -> impl Iterator<Item = (&TopicName, &Arc<Topic>)> {
        self.names.iter().zip(&self.topics)
    }

    /// The stream's first bytes (`retry:`, then a `reset` if its id is no good) and its cursor.
    /// The returned [`Joined`] must end with [`Local::leave`] (the subscriber does it).
    pub(super) fn start(mut self, start: Start) -> Joined {
        let local = self.local.clone();
        let mut first = BytesMut::from(&wire::encode_retry(local.config.retry_ms)[..]);
        match start.reset {
            Some(reason) => {
                local.resets.fetch_add(1, Ordering::Relaxed);
                first.extend_from_slice(&local.reset_frame(start.cursor, reason));
            }
            None if start.resumed => {
                local.resumes.fetch_add(1, Ordering::Relaxed);
            }
            None => {}
        }
        let topics = std::mem::take(&mut self.topics);
        let wakes = topics.iter().map(|t| t.wake.subscribe()).collect();
        Joined {
            topics,
            wakes,
            disconnect: self.disconnect.clone(),
            cursor: start.cursor,
            first: first.freeze(),
            heartbeat: local.config.heartbeat,
        }
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        // Emptied by `start`: from then on the subscriber owns the registration.
        if !self.topics.is_empty() {
            self.local.leave(&self.topics);
        }
    }
}
