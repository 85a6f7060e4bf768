//! How far a connection's writes have got: the link between a transport (the direct path's
//! writer, or the socket hyper writes to) and the event stream it carries.
//!
//! The transport adds every byte the kernel accepts ([`SocketMeter::record`]); an event stream
//! hands the transport its next chunk only once the previous one has been taken, and counts
//! what is published meanwhile (see `hub::subscriber`). So a client that stops reading leaves
//! at most one chunk in the server's buffers, whichever path serves it, and falls behind in the
//! hub, where history is shared and bounded. One meter serves one HTTP/1 connection (one stream
//! at a time); HTTP/2 multiplexes, and its flow control bounds each stream instead.
//!
//! The meter also says whether a stream was closed for lagging, so the transport can reset the
//! connection rather than leave the kernel trying to deliver to a client that does not read.

use futures::task::AtomicWaker;
use std::{
    future::poll_fn,
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    task::Poll,
};

#[derive(Default)]
struct Shared {
    written: AtomicU64,
    waker: AtomicWaker,
    lagged: AtomicBool,
}

/// Bytes written to one connection's socket so far. Cheap to clone.
#[derive(Clone, Default)]
pub struct SocketMeter {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SocketMeter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketMeter").field("written", &self.written()).finish()
    }
}

impl SocketMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The transport wrote `bytes` more to the socket.
    pub fn record(&self, bytes: usize) {
        self.shared.written.fetch_add(bytes as u64, Ordering::Release);
        self.shared.waker.wake();
    }

    pub fn written(&self) -> u64 {
        self.shared.written.load(Ordering::Acquire)
    }

    /// Completes once `written()` has reached `target`.
    pub async fn reached(&self, target: u64) {
        poll_fn(|cx| {
            // Register first, then check: a write in between still wakes this task.
            self.shared.waker.register(cx.waker());
            if self.written() >= target {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }

    /// Marks the connection's stream as closed for lagging behind.
    pub fn mark_lagged(&self) {
        self.shared.lagged.store(true, Ordering::Release);
    }

    /// Whether a stream on this connection was closed for lagging: the transport then resets the
    /// connection (`SO_LINGER` 0) instead of closing it gracefully.
    pub fn lagged(&self) -> bool {
        self.shared.lagged.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn reached_waits_for_the_writes() {
        let meter = SocketMeter::new();
        meter.record(10);
        tokio::time::timeout(Duration::from_secs(1), meter.reached(10)).await.unwrap();
        let waiting = tokio::spawn({
            let meter = meter.clone();
            async move { meter.reached(25).await }
        });
        meter.record(5);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        meter.record(10);
        tokio::time::timeout(Duration::from_secs(1), waiting).await.unwrap().unwrap();
        assert_eq!(meter.written(), 25);
    }
}
