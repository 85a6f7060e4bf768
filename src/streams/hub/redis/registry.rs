//! The local subscriber registry: which topics this instance's streams need, and where the
//! reader has read each of them to.
//!
//! Invariants: a topic is in the registry exactly while it is in the local mirror (both change
//! under the mirror's map lock); adding one bumps the generation; the reader moves the shared
//! horizon (`visible_through`) only in [`Registry::commit`], under this registry's lock and only
//! if the generation it read with is still current, so a topic added meanwhile (which starts at
//! or above the horizon) can never be skipped past.

use crate::streams::names::TopicName;
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    sync::atomic::{AtomicI64, AtomicU64, Ordering},
};
use tokio::sync::watch;

pub(super) struct Registry {
    inner: Mutex<Inner>,
    /// The generation, published for the reader and the unblocker to wait on.
    changed: watch::Sender<u64>,
    /// The generation of the read in flight.
    pub(super) reading: AtomicU64,
    /// Redis `CLIENT ID` of the reader's connection (-1: none), for `CLIENT UNBLOCK`.
    pub(super) reader_client: AtomicI64,
}

struct Inner {
    generation: u64,
    positions: HashMap<TopicName, u64>,
}

impl Registry {
    pub(super) fn new() -> Self {
        Self {
            inner: Mutex::new(Inner { generation: 0, positions: HashMap::new() }),
            changed: watch::Sender::new(0),
            reading: AtomicU64::new(0),
            reader_client: AtomicI64::new(-1),
        }
    }

    /// Adds a topic read from the position `start` computes (under the lock); returns it.
    pub(super) fn add(&self, name: &TopicName, start: impl FnOnce() -> u64) -> u64 {
        let mut inner = self.inner.lock();
        let position = start();
        inner.positions.insert(name.clone(), position);
        inner.generation += 1;
        self.changed.send_replace(inner.generation);
        position
    }

    pub(super) fn remove(&self, name: &TopicName) {
        self.inner.lock().positions.remove(name);
    }

    /// The generation and every topic with the position to read after.
    pub(super) fn snapshot(&self) -> (u64, Vec<(TopicName, u64)>) {
        let inner = self.inner.lock();
        (inner.generation, inner.positions.iter().map(|(name, at)| (name.clone(), *at)).collect())
    }

    /// Records that the reader has read `name` through `position`.
    pub(super) fn advance(&self, name: &TopicName, position: u64) {
        if let Some(at) = self.inner.lock().positions.get_mut(name) {
            *at = (*at).max(position);
        }
    }

    /// Runs `advance` (which moves the horizon) if no topic was added since `generation`.
    pub(super) fn commit(&self, generation: u64, advance: impl FnOnce() -> bool) -> bool {
        let inner = self.inner.lock();
        inner.generation == generation && advance()
    }

    pub(super) fn watch(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub(super) fn set_reading(&self, generation: u64) {
        self.reading.store(generation, Ordering::Release);
    }
}
