//! External jobs on a shared store (Redis): reports that come to any instance, a rate that spans
//! them, and one silence watch for the whole cluster (server only).
//!
//! On a shared store an external job is in no instance's live table: its record is its state.
//! A report adopts the record into the table for one critical section (`adopt_external`, used by
//! `external::report_external`), with its rate meter rebuilt from what the record keeps (the last
//! `done`, the smoothed rate, and when the last report was saved), so the rate and ETA come out
//! as if one instance had taken every report.
//!
//! Silence: the store knows when each running external job last reported, whichever instance
//! took it. Every instance's watch asks it for the jobs silent too long and fails each through
//! the store's check at that instant (`RedisStore::fail_silent`): a report saved meanwhile keeps
//! the job running, and when several instances' watches find the same job only one fails it, so
//! its failure is published once.

use super::{external::silence_failure, live::LiveJob, JobRunner};
use crate::jobs::{
    progress::RateMeter,
    store::{ClusterQueue, StoredJob},
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

impl JobRunner {
    /// A live record of an external job from its stored one, to apply one report to.
    pub(super) fn adopt_external(&self, job: StoredJob) -> LiveJob {
        let (id, view, reported_ms) = (job.view.id, job.view.clone(), job.reported_ms);
        let mut live = LiveJob::new(id, job.into(), CancellationToken::new());
        if let Some(reported_ms) = reported_ms {
            // The meter's clock starts now (`LiveJob::started`): the last report was this long ago.
            let ago_secs = (crate::time::now_ms() - reported_ms).max(0) as f64 / 1000.0;
            live.meter = RateMeter::resumed(2.0, -ago_secs, view.progress.done, view.progress.per_second);
        }
        live.view = view;
        live
    }

    /// Fails the cluster's external jobs whose producer has not reported for `silence`. Redis
    /// unreachable: logged, and the next round tries again.
    pub(super) async fn fail_silent_in_cluster(&self, queue: &ClusterQueue, silence: Duration) {
        let cutoff_ms = crate::time::now_ms() - silence.as_millis() as i64;
        let silent = match queue.silent_externals(cutoff_ms).await {
            Ok(silent) => silent,
            Err(err) => return tracing::debug!(%err, "silence watch: the store did not answer"),
        };
        for id in silent {
            let job = match queue.get(id).await {
                Ok(Some(job)) => job,
                Ok(None) => continue,
                Err(err) => return tracing::debug!(id, %err, "silence watch: the store did not answer"),
            };
            let mut job = self.adopt_external(job);
            let line = silence_failure(&mut job.view, silence);
            match queue.fail_silent(&job.view, cutoff_ms).await {
                Ok(true) => {
                    tracing::info!(id, secs = silence.as_secs(), "external job failed: its producer went silent");
                    // Saved by the check above; its log line and event go out like any change.
                    let change = job.change_with(false, vec![line], true);
                    let published = self.inner.live.lock().send(change);
                    if let Err(err) = published.outcome().await {
                        tracing::warn!(id, %err, "could not publish a job failed for silence");
                    }
                }
                Ok(false) => {}
                Err(err) => return tracing::debug!(id, %err, "silence watch: the store did not answer"),
            }
        }
    }
}
