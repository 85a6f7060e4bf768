//! One open stream: a cursor over its topics' logs in this process (`local`), whichever backend
//! fills them (the in-process hub, or the Redis hub's local mirror), and nothing else.
//!
//! Invariants: the cursor only moves forward; only events up to the hub's `visible_through` are
//! taken, so an event of one topic never overtakes an earlier one of another; everything pending
//! leaves as one chunk; an every-event stream whose cursor fell below a topic's history gets one
//! `reset` (`history-expired`) and continues live, a latest-wins stream just skips ahead.

use super::{
    local::{Joined, Local, Topic},
    Delivery, ResetReason,
};
use crate::streams::wire;
use bytes::{Bytes, BytesMut};
use futures::Stream;
use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};
use tokio::sync::watch;

/// Opens a stream on a joined registration: its first bytes, then what the cursor finds.
pub(super) fn open(hub: &Arc<Local>, joined: Joined, delivery: Delivery) -> impl Stream<Item = Bytes> + Send + 'static {
    let Joined { topics, wakes, disconnect, cursor, first, heartbeat } = joined;
    let state = Subscriber {
        hub: hub.clone(),
        delivery,
        topics,
        wakes,
        disconnect,
        cursor,
        pending: Some(first),
        heartbeat,
    };
    futures::stream::unfold(state, |mut state| async move {
        let chunk = state.next_chunk().await?;
        Some((chunk, state))
    })
}

/// One open stream: a cursor over its topics' histories. No queue of its own.
struct Subscriber {
    hub: Arc<Local>,
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
    fn hub(&self) -> &Local {
        &self.hub
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
        self.hub.leave(&self.topics);
    }
}
