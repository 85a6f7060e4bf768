//! Debug only (`debug-endpoints`): makes the streams open at a given moment go silent, for
//! testing clients that must notice a connection which stopped delivering without closing (a
//! laptop waking from sleep, a proxy that dropped the connection without a FIN).
//!
//! `POST /api/debug/silence-streams` bumps a generation; every stream opened before it writes
//! nothing more, not even heartbeats, and stays open for [`SILENT_FOR`], then ends (so a broken
//! client still recovers and the test server does not keep them for ever). Streams opened after
//! it are untouched. With debug endpoints off, streams are not wrapped at all.

use futures::{future::Either, Stream, StreamExt};
use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

/// How long a silenced stream stays open before it ends.
pub const SILENT_FOR: Duration = Duration::from_secs(30);

#[derive(Clone)]
pub struct Silence {
    /// `None` when debug endpoints are off.
    generation: Option<Arc<AtomicU64>>,
    silent_for: Duration,
}

impl Silence {
    pub fn new(enabled: bool) -> Self {
        Self { generation: enabled.then(Arc::default), silent_for: SILENT_FOR }
    }

    /// Silences every stream open now.
    pub fn silence_open_streams(&self) {
        if let Some(generation) = &self.generation {
            generation.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The stream as it is, or (debug endpoints on) one that goes silent when told to. An item
    /// already taken from `inner` when the silence starts is not written either.
    pub fn guard<T: Send + 'static>(
        &self,
        inner: impl Stream<Item = T> + Send + 'static,
    ) -> impl Stream<Item = T> + Send + 'static {
        let Some(generation) = self.generation.clone() else { return Either::Left(inner) };
        let born = generation.load(Ordering::SeqCst);
        let silent_for = self.silent_for;
        Either::Right(futures::stream::unfold(Box::pin(inner), move |mut inner| {
            let generation = generation.clone();
            async move {
                let item = inner.next().await?;
                if generation.load(Ordering::SeqCst) != born {
                    tokio::time::sleep(silent_for).await;
                    return None;
                }
                Some((item, inner))
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[tokio::test]
    async fn silenced_streams_write_nothing_then_end_and_new_ones_flow() {
        let silence = Silence { silent_for: Duration::from_millis(50), ..Silence::new(true) };
        let (tx, rx) = futures::channel::mpsc::unbounded::<Bytes>();
        let mut old = Box::pin(silence.guard(rx));
        tx.unbounded_send(Bytes::from_static(b"a")).unwrap();
        assert_eq!(old.next().await.unwrap(), "a");
        silence.silence_open_streams();
        let (tx2, rx2) = futures::channel::mpsc::unbounded::<Bytes>();
        let mut new = Box::pin(silence.guard(rx2));
        tx.unbounded_send(Bytes::from_static(b"b")).unwrap();
        tx2.unbounded_send(Bytes::from_static(b"c")).unwrap();
        assert_eq!(new.next().await.unwrap(), "c");
        let started = std::time::Instant::now();
        assert_eq!(old.next().await, None, "the silenced stream ends without writing `b`");
        assert!(started.elapsed() >= Duration::from_millis(50), "and only after its silence");
    }

    #[tokio::test]
    async fn off_by_default_passes_everything() {
        let silence = Silence::new(false);
        silence.silence_open_streams();
        let items: Vec<Bytes> = silence.guard(futures::stream::iter([Bytes::from_static(b"x")])).collect().await;
        assert_eq!(items, vec![Bytes::from_static(b"x")]);
    }
}
