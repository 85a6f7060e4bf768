//! Built-in jobs on a shared store: one queue for every instance (server only).
//!
//! Used when the store has a queue (`Store::queue`, Redis): `start` saves the job and queues it in
//! the cluster in one step (the job limits count cluster-wide there), publishes its queued event
//! and then lets workers take it. Each instance runs three tasks on the runner's tracker:
//!
//! - the **taker**: holds a free worker permit, then reads one entry of the queue (blocking, on a
//!   connection of its own) and takes its job (queued → running, this instance's); the job is
//!   entered in the live table and driven like any built-in job, so its changes leave through the
//!   ordered outbox (saved, then published) exactly as in the embedded mode;
//! - the **keeper**: every third of the claim timeout, resets the idle time of the entries this
//!   instance runs, and stops any job whose entry another instance has claimed meanwhile (it is no
//!   longer this one's: its changes would be refused anyway), and claims entries idle longer than
//!   the claim timeout (their instance stopped) and marks their jobs interrupted;
//! - the **cancel listener**: pops this instance's cancel list (blocking), so a cancel sent to any
//!   instance reaches the one running the job at once.
//!
//! Redis unreachable: the tasks log, wait with backoff and go on; a start answers 503 (the save
//! fails within the command timeout), never hangs.

use super::{
    live::{topic_of, LiveJob},
    outbox::Change,
    JobRunner, JobsError,
};
use crate::jobs::{
    model::{JobId, JobState, JobView, Progress},
    store::{ClusterLimits, ClusterQueue, LimitReached, NewJob, StoreError, Take},
};
use crate::streams::limits::LimitExceeded;
use parking_lot::Mutex;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;

/// The queue entries this instance runs, by job.
pub(super) type Taken = Arc<Mutex<HashMap<JobId, String>>>;

const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// How long a taker waits for a job's queued event to be out before taking it anyway.
const ANNOUNCE_PATIENCE: Duration = Duration::from_secs(2);

impl JobRunner {
    /// Starts the cluster's tasks on this instance.
    pub(super) fn start_cluster(&self, queue: &ClusterQueue) {
        let taken = Taken::default();
        self.inner.tasks.spawn(take_jobs(self.clone(), queue.clone(), taken.clone()));
        self.inner.tasks.spawn(keep_claims(self.clone(), queue.clone(), taken));
        self.inner.tasks.spawn(listen_for_cancels(self.clone(), queue.clone()));
    }

    /// Saves a built-in job and queues it for every instance's workers.
    pub(super) async fn enqueue(&self, queue: &ClusterQueue, new: NewJob) -> Result<JobView, JobsError> {
        let limits = ClusterLimits { per_session: self.inner.limits.per_session, total: self.inner.limits.total };
        let id = match queue.insert(new.clone(), Some(limits)).await? {
            Ok(id) => id,
            Err(LimitReached::PerSession(n)) => return Err(too_many("jobs-max-per-session", "this session", n)),
            Err(LimitReached::Total(n)) => return Err(too_many("jobs-max-total", "the cluster", n)),
        };
        let view = LiveJob::new(id, new.clone(), CancellationToken::new()).view;
        let topic = topic_of(new.owner.as_deref(), new.shared);
        let change = Change::published(id, topic, view.clone());
        let published = self.inner.live.lock().send(change);
        // The job is queued whatever happens to its event; workers wait for the event a moment.
        if let Err(err) = published.outcome().await {
            tracing::warn!(id, %err, "could not publish a queued job");
        }
        if let Err(err) = queue.announce(id).await {
            tracing::warn!(id, %err, "could not mark a queued job announced");
        }
        Ok(view)
    }

    /// Starts a job this instance took from the queue, holding `permit`.
    async fn begin(&self, job: crate::jobs::store::StoredJob, permit: tokio::sync::OwnedSemaphorePermit) {
        let id = job.view.id;
        let prepared = {
            let (inner, kind, params) = (self.inner.clone(), job.view.kind.clone(), job.params.clone());
            tokio::task::spawn_blocking(move || inner.registry.prepare(&kind, &params, &inner.env)).await
        };
        let cancel = CancellationToken::new();
        let mut new = NewJob::from(job);
        new.state = JobState::Queued;
        new.progress = Progress::default();
        self.inner.live.lock().insert(LiveJob::new(id, new, cancel.clone()));
        match prepared {
            Ok(Ok(prepared)) => self.clone().drive(id, prepared.job, cancel, Some(permit)).await,
            Ok(Err(err)) => self.fail(id, err.to_string()),
            Err(err) => self.fail(id, format!("the job could not be prepared: {err}")),
        }
    }

    /// Ends a job that cannot run here (its parameters do not hold on this instance).
    fn fail(&self, id: JobId, message: String) {
        self.mark_running(id);
        self.finish(id, Err(crate::jobs::job::JobFailure::Failed(message)));
    }
}

fn too_many(limit: &'static str, who: &str, n: usize) -> JobsError {
    let message = format!(
        "{who} already has {n} jobs queued or running (setting `{limit}`); wait for one to finish or try again in {} s",
        super::JOBS_RETRY_AFTER_SECS
    );
    JobsError::TooMany(LimitExceeded { limit, message, retry_after_secs: super::JOBS_RETRY_AFTER_SECS })
}

/// Waits `backoff` (or until shutdown); the next backoff.
async fn pause(runner: &JobRunner, backoff: Duration) -> Duration {
    tokio::select! {
        _ = tokio::time::sleep(backoff) => {}
        _ = runner.inner.shutdown.cancelled() => {}
    }
    (backoff * 2).min(BACKOFF_MAX)
}

/// The taker: one job at a time from the queue, while a worker is free.
async fn take_jobs(runner: JobRunner, queue: ClusterQueue, taken: Taken) {
    let shutdown = runner.inner.shutdown.clone();
    let mut connection = None;
    let mut backoff = BACKOFF_MIN;
    while !shutdown.is_cancelled() {
        let permit = tokio::select! {
            permit = runner.inner.permits.clone().acquire_owned() => match permit { Ok(p) => p, Err(_) => return },
            _ = shutdown.cancelled() => return,
        };
        let read = async {
            if connection.is_none() {
                connection = Some(queue.blocking_connection().await?);
            }
            queue.next_entry(connection.as_mut().expect("just made")).await
        };
        let next = tokio::select! {
            next = read => next,
            _ = shutdown.cancelled() => return,
        };
        let (entry, id) = match next {
            Ok(Some(next)) => next,
            Ok(None) => continue,
            Err(err) => {
                tracing::warn!(%err, "job queue unreachable; trying again");
                connection = None;
                backoff = pause(&runner, backoff).await;
                continue;
            }
        };
        backoff = BACKOFF_MIN;
        let Some(id) = id else {
            let _ = queue.drop_entry(&entry).await;
            continue;
        };
        match take(&runner, &queue, &entry, id).await {
            Some(job) => {
                taken.lock().insert(id, entry);
                let (runner, taken) = (runner.clone(), taken.clone());
                runner.inner.tasks.clone().spawn(async move {
                    runner.begin(job, permit).await;
                    taken.lock().remove(&id);
                });
            }
            None => continue,
        }
    }
}

/// Takes the job of an entry, waiting a moment for its queued event to be out.
async fn take(
    runner: &JobRunner,
    queue: &ClusterQueue,
    entry: &str,
    id: JobId,
) -> Option<crate::jobs::store::StoredJob> {
    let since = tokio::time::Instant::now();
    loop {
        let force = since.elapsed() >= ANNOUNCE_PATIENCE;
        match queue.take(entry, id, force).await {
            Ok(Take::Taken(job)) => return Some(*job),
            Ok(Take::Skipped) => return None,
            Ok(Take::NotYet) => tokio::time::sleep(Duration::from_millis(10)).await,
            // Left pending: the keeper of some instance claims it after the timeout.
            Err(err) => {
                tracing::warn!(id, %err, "could not take a queued job");
                return None;
            }
        }
        if runner.inner.shutdown.is_cancelled() {
            return None;
        }
    }
}

/// The keeper: fresh claims for this instance's jobs, interrupted for dead instances' ones.
async fn keep_claims(runner: JobRunner, queue: ClusterQueue, taken: Taken) {
    let every = (queue.claim_timeout() / 3).max(Duration::from_millis(100));
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let message =
        format!("the instance running this job stopped answering (no sign of life for {:?})", queue.claim_timeout());
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = runner.inner.stopped.cancelled() => return,
        }
        let entries: Vec<String> = taken.lock().values().cloned().collect();
        match queue.refresh(entries).await {
            Ok(lost) => {
                for entry in lost {
                    let id = taken.lock().iter().find(|(_, e)| **e == entry).map(|(id, _)| *id);
                    if let Some(job) = id.and_then(|id| runner.inner.live.lock().get(id).map(|job| job.cancel.clone()))
                    {
                        tracing::warn!(?id, "another instance claimed a job this one runs; stopping it here");
                        job.cancel();
                    }
                }
            }
            Err(err) => tracing::warn!(%err, "could not refresh the claims of running jobs"),
        }
        if runner.inner.shutdown.is_cancelled() {
            continue;
        }
        match queue.reclaim().await {
            Ok(claimed) => {
                for (entry, id) in claimed {
                    interrupt(&runner, &queue, &entry, id, &message).await;
                }
            }
            Err(err) => tracing::warn!(%err, "could not look for jobs of stopped instances"),
        }
    }
}

async fn interrupt(runner: &JobRunner, queue: &ClusterQueue, entry: &str, id: Option<JobId>, message: &str) {
    let Some(id) = id else {
        let _ = queue.drop_entry(entry).await;
        return;
    };
    match queue.interrupt(entry, id, message).await {
        Ok(Some(view)) => {
            tracing::info!(id, "a job whose instance stopped is marked interrupted");
            let stored = queue.get(id).await.ok().flatten();
            let (owner, shared) = stored.map_or((None, true), |job| (job.owner, job.view.shared));
            let change = Change::published(id, topic_of(owner.as_deref(), shared), view);
            let published = runner.inner.live.lock().send(change);
            if let Err(err) = published.outcome().await {
                tracing::warn!(id, %err, "could not publish an interrupted job");
            }
        }
        Ok(None) => {}
        Err(err) => tracing::warn!(id, %err, "could not mark a job interrupted"),
    }
}

/// The cancel listener: a cancel sent to any instance, for a job this one runs.
async fn listen_for_cancels(runner: JobRunner, queue: ClusterQueue) {
    let shutdown = runner.inner.stopped.clone();
    let mut connection = None;
    let mut backoff = BACKOFF_MIN;
    loop {
        let read = async {
            if connection.is_none() {
                connection = Some(queue.blocking_connection().await?);
            }
            queue.next_cancel(connection.as_mut().expect("just made")).await
        };
        let next: Result<Option<JobId>, StoreError> = tokio::select! {
            next = read => next,
            _ = shutdown.cancelled() => return,
        };
        match next {
            Ok(Some(id)) => {
                backoff = BACKOFF_MIN;
                if let Some(job) = runner.inner.live.lock().get(id) {
                    job.cancel.cancel();
                }
            }
            Ok(None) => backoff = BACKOFF_MIN,
            Err(err) => {
                tracing::warn!(%err, "cancel list unreachable; trying again");
                connection = None;
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.cancelled() => return,
                }
                backoff = (backoff * 2).min(BACKOFF_MAX);
            }
        }
    }
}
