//! One open stream: a cursor over its topics' logs in this process (`local`), whichever backend
//! fills them (the in-process hub, or the Redis hub's local mirror), and nothing else.
//!
//! Invariants: the cursor only moves forward; only events up to the hub's `visible_through` are
//! taken, so an event of one topic never overtakes an earlier one of another; what is pending
//! leaves as one chunk of at most [`MAX_CHUNK_BYTES`] (at least one event; the rest stays in
//! history for the next); an every-event stream whose cursor fell below a topic's history gets
//! one `reset` (`history-expired`) and continues live, a latest-wins stream just skips ahead.
//!
//! Slow consumers: with a [`SocketMeter`] (the connection's writes), the next chunk is made only
//! once the socket has taken the previous one, so a client that stops reading pins at most one
//! chunk in the server, and what it has not read waits in the shared history. While it waits, an
//! every-event stream adds up what it owes (its unsent bytes plus everything published to its
//! topics since): past `max_lag_bytes` it ends with [`Lagged`], which the transport turns into a
//! reset connection (the client reconnects and resumes from its last id, or gets a `reset`). A
//! latest-wins stream never owes a backlog, so it just waits and then sends the newest.

use super::{
    local::{Joined, Local, Topic},
    Delivery, ResetReason,
};
use crate::streams::{limits::SocketMeter, wire};
use bytes::{Bytes, BytesMut};
use futures::Stream;
use std::{
    sync::{atomic::Ordering, Arc},
    time::Duration,
};
use tokio::sync::watch;

/// Most bytes of events in one chunk (a single larger event still goes whole).
pub const MAX_CHUNK_BYTES: usize = 64 * 1024;

/// The connection a stream is written to, and how far behind it may fall.
pub struct Metering {
    pub socket: SocketMeter,
    /// An every-event stream owing its client more than this is closed.
    pub max_lag_bytes: u64,
}

/// Why a stream was closed: its client stopped reading (or reads too slowly) and it owed more
/// than the bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the client fell {owed} bytes behind its event stream (more than `stream-max-lag-bytes`, {limit}); \
     closed: reconnect to resume"
)]
pub struct Lagged {
    pub owed: u64,
    pub limit: u64,
}

/// Opens a stream on a joined registration: its first bytes, then what the cursor finds. With
/// `metering`, chunks follow the socket's pace (see the module docs); without, never `Lagged`.
pub(super) fn open(
    hub: &Arc<Local>,
    joined: Joined,
    delivery: Delivery,
    metering: Option<Metering>,
) -> impl Stream<Item = Result<Bytes, Lagged>> + Send + 'static {
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
        metering,
        handed_through: 0,
        published_at_handoff: 0,
        ended: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        if state.ended {
            return None;
        }
        if let Err(lagged) = state.wait_for_socket().await {
            state.ended = true;
            return Some((Err(lagged), state));
        }
        let chunk = state.next_chunk().await?;
        if let Some(metering) = &state.metering {
            state.handed_through = metering.socket.written() + chunk.len() as u64;
            state.published_at_handoff = state.published_bytes();
        }
        Some((Ok(chunk), state))
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
    metering: Option<Metering>,
    /// What the socket meter reads once the last chunk handed out has been written.
    handed_through: u64,
    /// [`Subscriber::published_bytes`] when the last chunk was handed out.
    published_at_handoff: u64,
    ended: bool,
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

    /// Waits until the socket has taken the last chunk. Meanwhile an every-event stream counts
    /// what it owes, and gives up with [`Lagged`] past the bound. Returns at once without a meter,
    /// and when the stream must end (the next read then ends it).
    async fn wait_for_socket(&mut self) -> Result<(), Lagged> {
        let Some(metering) = &self.metering else { return Ok(()) };
        let (socket, limit, target) = (metering.socket.clone(), metering.max_lag_bytes, self.handed_through);
        if socket.written() >= target {
            return Ok(());
        }
        let published_before = self.published_at_handoff;
        loop {
            let unsent = target.saturating_sub(socket.written());
            if unsent == 0 {
                return Ok(());
            }
            if self.delivery == Delivery::Every {
                let owed = unsent + self.published_bytes().saturating_sub(published_before);
                if owed > limit {
                    socket.mark_lagged();
                    return Err(Lagged { owed, limit });
                }
            }
            for wake in &mut self.wakes {
                wake.borrow_and_update();
            }
            tokio::select! {
                () = socket.reached(target) => return Ok(()),
                alive = self.woken() => if !alive { return Ok(()) },
            }
        }
    }

    /// Frame bytes published so far to this stream's topics.
    fn published_bytes(&self) -> u64 {
        self.topics.iter().map(|topic| topic.bytes.load(Ordering::Relaxed)).sum()
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
        let mut cut_short = false;
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
                // Past the chunk's size what is left of this topic waits for the next chunk. A
                // topic cut short here holds more than a chunk, so the cut below falls within it.
                Delivery::Every => {
                    let mut bytes = 0;
                    for entry in fresh {
                        batch.push((entry.seq, entry.frame.clone()));
                        bytes += entry.frame.len();
                        if bytes > MAX_CHUNK_BYTES {
                            cut_short = true;
                            break;
                        }
                    }
                }
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
        if expired {
            hub.resets.fetch_add(1, Ordering::Relaxed);
            let frame = hub.reset_frame(visible, ResetReason::HistoryExpired);
            self.cursor = visible;
            return Some(frame);
        }
        if self.topics.len() > 1 {
            batch.sort_unstable_by_key(|(seq, _)| *seq);
        }
        self.cursor = visible;
        if self.delivery == Delivery::Every {
            // In id order, at most a chunk's worth (at least one event); the cursor stops at the
            // last event taken, so everything after it, in any topic, is read next time.
            let mut bytes = 0;
            let keep = batch
                .iter()
                .enumerate()
                .take_while(|(i, (_, frame))| {
                    bytes += frame.len();
                    *i == 0 || bytes <= MAX_CHUNK_BYTES
                })
                .count();
            if keep < batch.len() || cut_short {
                batch.truncate(keep);
                self.cursor = batch.last().map_or(self.cursor, |(seq, _)| *seq);
            }
        }
        self.hub.delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
        match batch.len() {
            0 => None,
            1 => batch.pop().map(|(_, frame)| frame),
            _ => {
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
