//! Shutdown as a type: one cancellation token and one task tracker for everything the server
//! runs in the background.
//!
//! Every background task (the hub's sweeper, the monitor, the market's simulator and publisher,
//! the job workers, each direct-path connection) is spawned through [`Shutdown::spawn`] or the
//! tracker, and watches the token. Shutting down cancels the token once; the server then waits
//! for the tracker to drain, within one grace period measured from that moment (see
//! [`Shutdown::deadline`]), so the grace is applied once however many stages the drain has.

use std::{
    future::Future,
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::time::Instant;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

#[derive(Clone, Default)]
pub struct Shutdown {
    token: CancellationToken,
    tasks: TaskTracker,
    began: Arc<OnceLock<Instant>>,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `task` in the background, tracked: the server waits for it when it stops.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
    }

    /// The token tasks watch; cancelled once, when shutdown begins.
    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    pub fn tasks(&self) -> &TaskTracker {
        &self.tasks
    }

    pub fn begin(&self) {
        self.began.get_or_init(Instant::now);
        self.token.cancel();
    }

    pub async fn begun(&self) {
        self.token.cancelled().await;
    }

    /// When the drain must be over: `grace` after shutdown began (waits for it to begin).
    pub async fn deadline(&self, grace: Duration) -> Instant {
        self.token.cancelled().await;
        *self.began.get_or_init(Instant::now) + grace
    }

    /// Waits until every tracked task has ended. No new task may be spawned afterwards.
    pub async fn drained(&self) {
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// SIGINT and SIGTERM, listened for from the moment this is made: made before the server says it
/// is listening, so a signal sent as soon as the line appears is already handled gracefully.
pub struct Signals {
    #[cfg(unix)]
    listening: Vec<tokio::signal::unix::Signal>,
}

impl Signals {
    pub fn install() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listening = [SignalKind::interrupt(), SignalKind::terminate()]
                .into_iter()
                .filter_map(|kind| signal(kind).ok())
                .collect();
            Self { listening }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the first of them.
    pub async fn recv(self) {
        #[cfg(unix)]
        {
            let mut listening = self.listening;
            if listening.is_empty() {
                return std::future::pending().await;
            }
            let waits = listening.iter_mut().map(|signal| Box::pin(signal.recv()));
            futures::future::select_all(waits).await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drained_waits_for_every_task_to_see_the_token() {
        let shutdown = Shutdown::new();
        let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
        for n in 0..3 {
            let token = shutdown.token();
            let done = done_tx.clone();
            shutdown.spawn(async move {
                token.cancelled().await;
                let _ = done.send(n);
            });
        }
        let drained = tokio::time::timeout(Duration::from_millis(50), shutdown.drained());
        assert!(drained.await.is_err(), "tasks still wait for the token");
        shutdown.begin();
        tokio::time::timeout(Duration::from_secs(5), shutdown.drained()).await.expect("drains once cancelled");
        let mut seen = Vec::new();
        while let Ok(n) = done_rx.try_recv() {
            seen.push(n);
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2]);
    }
}
