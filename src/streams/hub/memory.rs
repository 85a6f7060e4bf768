//! The in-process backend: every topic's bounded history in this process's memory.
//!
//! Invariants: one short lock (`publish_lock`) assigns sequence numbers and appends to history, so
//! `visible_through` only moves forward and every event up to it is in its topic's history; a
//! topic the sweeper forgets leaves its highest sequence number in `forgotten_through`, so a
//! cursor from before it gets a reset instead of a silent gap. No lock is held across an `.await`.

use super::{
    local::{Entry, Joined, Local, Start},
    EventId, HubConfig, HubError, HubStats, ResetReason, StoredEvent, SubscribeRequest,
};
use crate::streams::{
    names::{EventType, TopicName},
    wire,
};
use parking_lot::Mutex;
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Instant,
};

pub(super) struct MemoryHub {
    pub(super) local: Arc<Local>,
    /// Serialises id assignment and history appends across topics (see module docs).
    publish_lock: Mutex<()>,
    next_seq: AtomicU64,
}

impl MemoryHub {
    pub(super) fn new(config: HubConfig) -> Self {
        Self {
            local: Arc::new(Local::new(config, rand::random(), |epoch, seq| EventId::Run { epoch, seq })),
            publish_lock: Mutex::new(()),
            next_seq: AtomicU64::new(1),
        }
    }

    fn topic(&self, name: &TopicName) -> Arc<super::local::Topic> {
        self.local.topic(name, |_| self.local.forgotten_through.load(Ordering::Acquire))
    }

    pub(super) fn current_id(&self) -> EventId {
        self.local.id(self.local.visible())
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
            let id = self.local.id(seq);
            let frame = wire::encode_event(&id.to_string(), event_type.as_str(), data);
            topic.bytes.fetch_add(frame.len() as u64, Ordering::Relaxed);
            let mut log = topic.log.write();
            log.entries.push_back(Entry { seq, at: now, event_type: event_type.clone(), frame });
            self.local.trim(&mut log, now);
            drop(log);
            self.local.visible_through.store(seq, Ordering::Release);
            seq
        };
        self.local.published.fetch_add(1, Ordering::Relaxed);
        topic.wake.send_replace(id);
        Ok(self.local.id(id))
    }

    pub(super) fn snapshot(&self, name: &TopicName, limit: usize) -> (Vec<StoredEvent>, EventId) {
        // Read the horizon first, then take only events up to it: one published meanwhile is
        // left to the stream, which starts after the horizon.
        let visible = self.local.visible();
        let Some(topic) = self.local.get(name) else {
            return (Vec::new(), self.local.id(visible));
        };
        let log = topic.log.read();
        let end = log.entries.partition_point(|e| e.seq <= visible);
        let start = end.saturating_sub(limit);
        let events = log
            .entries
            .range(start..end)
            .map(|entry| StoredEvent {
                id: self.local.id(entry.seq),
                event_type: entry.event_type.clone(),
                frame: entry.frame.clone(),
            })
            .collect();
        (events, self.local.id(visible))
    }

    pub(super) fn stats(&self) -> HubStats {
        self.local.stats()
    }

    pub(super) fn sweep(&self) {
        self.local.sweep(|_| {});
    }

    /// Where a new subscriber starts: its cursor, and a reset to send first if its id is no good.
    fn starting_point(&self, last_event_id: Option<&str>) -> Start {
        let now = self.local.visible();
        let Some(text) = last_event_id.map(str::trim).filter(|t| !t.is_empty()) else {
            return Start { cursor: now, reset: None, resumed: false };
        };
        let reset = |reason| Start { cursor: now, reset: Some(reason), resumed: false };
        match text.parse::<EventId>() {
            Ok(EventId::Run { epoch, seq }) if epoch == self.local.epoch && seq <= now => {
                // Whether history still covers it is checked on the first read.
                Start { cursor: seq, reset: None, resumed: true }
            }
            Ok(_) => reset(ResetReason::UnknownId),
            Err(()) => reset(ResetReason::MalformedId),
        }
    }

    /// Registers a new stream and decides where it starts (see [`Local::register`]).
    pub(super) fn join(&self, request: &SubscribeRequest) -> Result<Joined, HubError> {
        let registered =
            self.local.register(&request.topics, |_| self.local.forgotten_through.load(Ordering::Acquire))?;
        Ok(registered.start(self.starting_point(request.last_event_id.as_deref())))
    }
}
