//! The job runner: the one handle (`JobRunner`) through which jobs are started, reported, read,
//! cancelled and stopped (server only).
//!
//! Two protocols share it: `internal` runs the built-in kinds on the server's workers (queue,
//! bounded concurrency, cancel, progress ticks); `external` takes reports from producers outside
//! the server that hold a job's bearer token. Both keep their unfinished jobs in one live table
//! (`live`) and send every change through one ordered outbox (`outbox`) that saves it to the
//! store and publishes it to the hub. With a shared store (Redis), `cluster` queues built-in jobs
//! for every instance's workers instead and takes this instance's share; the table then holds
//! only the jobs this instance runs.
//!
//! Invariants:
//! - A change is made and queued in one short critical section of the live table (a std-style
//!   mutex, never held across `.await`); saving and publishing happen after it is released, one
//!   change at a time in queue order, so the events of a job arrive in the order they happened.
//! - A page's snapshot (the job list, or one job and its log tail) is read at a point of that
//!   order together with the hub's current id, so the page's stream continues exactly where the
//!   snapshot ends.
//! - Database work runs on the blocking pool (see `store`), never on a runtime thread.
//! - Every task the runner starts (the outbox dispatcher, one per internal job) is spawned on the
//!   server's task tracker and ends once [`JobRunner::shutdown`] has run.
//! - A built-in job holds a place under the job limits (per session and in total, `jobs-max-*`)
//!   from before it is saved until it leaves the live table: its permit lives in its live record,
//!   so however the job ends, or fails to begin, the place is given back.
//!
//! Topics: a private job is published to `private.jobs.<owner>`, a shared one to `jobs.shared`.
//! `private.` topics are refused to outside subscribers by the stream guard; a session's stream
//! server function subscribes to its own topic and the shared one.

mod cluster;
mod external;
mod external_cluster;
mod internal;
mod live;
mod outbox;
#[cfg(test)]
mod tests;

pub use external::ExternalReport;

use super::{
    builtin::JobRegistry,
    job::{FieldError, JobEnv},
    model::{JobId, JobState, JobView, LogLine, LOG_TAIL},
    store::{CancelOutcome, NewJob, Store, StoreError, StoredJob},
};
use crate::streams::{
    hub::{EventId, Hub, HubError},
    limits::{KeyedPermits, LimitExceeded, Permit, Refusal},
    TopicName,
};
use crate::time::now_ms;
use live::{Live, LiveJob};
use outbox::{Outbox, Pending};
use parking_lot::Mutex;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::sync::Semaphore;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub const SHARED_TOPIC: &str = "jobs.shared";

/// Who is asking: the owner key of a browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer(pub String);

impl Viewer {
    /// The tag the viewer's jobs carry ([`JobView::owner_tag`]), for pages to tell them apart.
    pub fn tag(&self) -> String {
        super::model::owner_tag(&self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JobsError {
    /// Unknown, or not visible to this viewer (the two are indistinguishable on purpose).
    #[error("no such job")]
    NotFound,
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("a {0} job cannot be retried")]
    NotRetryable(&'static str),
    #[error("the job has already finished ({0})")]
    Finished(&'static str),
    #[error("wrong or missing token for this job")]
    BadToken,
    /// Visible (a shared job) but not the viewer's to change.
    #[error("{0}")]
    NotOwner(&'static str),
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error("{0}")]
    TooMany(LimitExceeded),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Hub(#[from] HubError),
}

/// Seconds a start refused by a job limit is told to wait (when a job will end cannot be known).
pub const JOBS_RETRY_AFTER_SECS: u64 = 10;

/// How many built-in jobs may be queued or running at once.
#[derive(Debug, Clone, Copy)]
pub struct JobLimits {
    pub per_session: usize,
    pub total: usize,
}

impl From<&crate::jobs::settings::JobsSettings> for JobLimits {
    fn from(settings: &crate::jobs::settings::JobsSettings) -> Self {
        Self { per_session: settings.max_per_session, total: settings.max_total }
    }
}

/// A built-in job's place under [`JobLimits`], keyed by its session's owner key.
pub(super) type JobPermit = Permit<String>;

struct Inner {
    store: Store,
    registry: JobRegistry,
    env: JobEnv,
    permits: Arc<Semaphore>,
    quota: KeyedPermits<String>,
    /// The job limits, for a shared store to count cluster-wide (`cluster`).
    limits: JobLimits,
    live: Mutex<Live>,
    tasks: TaskTracker,
    /// Set when shutdown begins: no new jobs, and cancelled jobs end as interrupted.
    shutdown: CancellationToken,
    /// Set when the grace period is over: jobs still running are dropped where they are.
    stopped: CancellationToken,
}

#[derive(Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

pub fn owner_topic(owner: &str) -> TopicName {
    TopicName::new(&format!("private.jobs.{owner}")).expect("owner keys are hex")
}

fn shared_topic() -> TopicName {
    const SHARED: crate::streams::TopicConst = crate::streams::TopicConst::new(SHARED_TOPIC);
    SHARED.name()
}

fn visible(owner: Option<&str>, shared: bool, viewer: &Viewer) -> bool {
    shared || owner == Some(viewer.0.as_str())
}

fn stored_visible(job: &StoredJob, viewer: &Viewer) -> bool {
    visible(job.owner.as_deref(), job.view.shared, viewer)
}

/// What to do with a job: the verb of the refusal.
#[derive(Debug, Clone, Copy)]
enum Change {
    Cancel,
    Retry,
}

/// Only the session that started a job cancels or retries it; a shared job is visible to every
/// session, not theirs to change. An external job belongs to its producer (its token), to no
/// session.
fn may_change(owner: Option<&str>, external: bool, viewer: &Viewer, change: Change) -> Result<(), JobsError> {
    if owner == Some(viewer.0.as_str()) {
        return Ok(());
    }
    Err(JobsError::NotOwner(match (external, change) {
        (true, _) => "an external job is ended by its producer (with its token), not from a browser session",
        (false, Change::Cancel) => "only the browser session that started this job can cancel it",
        (false, Change::Retry) => "only the browser session that started this job can retry it",
    }))
}

impl JobRunner {
    /// Opens the runner over `store`; jobs left unfinished by a previous run become interrupted.
    /// Its tasks are spawned on `tasks`.
    pub async fn new(
        store: Store,
        hub: Hub,
        registry: JobRegistry,
        env: JobEnv,
        workers: usize,
        limits: JobLimits,
        tasks: &TaskTracker,
    ) -> Result<Self, JobsError> {
        let interrupted = store.mark_unfinished_interrupted(now_ms()).await?;
        if interrupted > 0 {
            tracing::info!(interrupted, "jobs left unfinished by the previous run are marked interrupted");
        }
        let outbox = Outbox::start(store.clone(), hub, tasks);
        let runner = Self {
            inner: Arc::new(Inner {
                store,
                registry,
                env,
                permits: Arc::new(Semaphore::new(workers.max(1))),
                quota: KeyedPermits::new(limits.per_session, limits.total),
                limits,
                live: Mutex::new(Live::new(outbox)),
                tasks: tasks.clone(),
                shutdown: CancellationToken::new(),
                stopped: CancellationToken::new(),
            }),
        };
        // A shared store queues built-in jobs for every instance: this one's workers take part.
        if let Some(queue) = runner.inner.store.queue() {
            runner.start_cluster(queue);
        }
        Ok(runner)
    }

    /// The topics a viewer's stream reads.
    pub fn topics_for(&self, viewer: &Viewer) -> Vec<TopicName> {
        vec![shared_topic(), owner_topic(&viewer.0)]
    }

    /// Whether the job database answers (for the readiness check).
    pub async fn check_database(&self) -> Result<(), JobsError> {
        Ok(self.inner.store.ping().await?)
    }

    /// A place for one more built-in job of `viewer`, or which limit is reached.
    fn reserve(&self, viewer: &Viewer) -> Result<JobPermit, JobsError> {
        let (limit, message) = match self.inner.quota.try_acquire(viewer.0.clone()) {
            Ok(permit) => return Ok(permit),
            Err(Refusal::PerKey(n)) => (
                "jobs-max-per-session",
                format!("this session already has {n} jobs queued or running (setting `jobs-max-per-session`)"),
            ),
            Err(Refusal::Total(n)) => (
                "jobs-max-total",
                format!("the server already has {n} jobs queued or running (setting `jobs-max-total`)"),
            ),
        };
        let message = format!("{message}; wait for one to finish or try again in {JOBS_RETRY_AFTER_SECS} s");
        Err(JobsError::TooMany(LimitExceeded { limit, message, retry_after_secs: JOBS_RETRY_AFTER_SECS }))
    }

    /// Saves a new job, enters it in the live table and queues its first event: the one way a
    /// job begins. The returned outcome is that of saving and publishing the event. `quota` is
    /// the job's place under the limits (none for external jobs), kept in its live record.
    async fn admit(
        &self,
        new: NewJob,
        cancel: CancellationToken,
        quota: Option<JobPermit>,
    ) -> Result<(JobView, Pending<()>), JobsError> {
        let id = self.inner.store.insert(new.clone()).await?;
        let mut live = self.inner.live.lock();
        // Checked again under the lock: shutdown cancels every job in the table under it, so a
        // job is either cancelled by it or refused here. (The row stays unfinished and is marked
        // interrupted at the end of shutdown.)
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        let mut job = LiveJob::new(id, new, cancel);
        job.quota = quota;
        let view = job.view.clone();
        let published = live.send(job.change(false));
        live.insert(job);
        Ok((view, published))
    }

    /// A stored job as of now: the read runs after every change made so far is saved.
    async fn settled_get(&self, id: JobId) -> Result<Option<StoredJob>, JobsError> {
        let pending = self.inner.live.lock().read(move |store, _| async move { Ok(store.get(id).await?) });
        pending.outcome().await
    }

    /// The jobs a viewer sees, newest first, and the event id they are current as of.
    pub async fn snapshot(&self, viewer: &Viewer, limit: usize) -> Result<(Vec<JobView>, EventId), JobsError> {
        let owner = viewer.0.clone();
        let pending = {
            let live = self.inner.live.lock();
            let current: HashMap<JobId, JobView> =
                live.jobs().filter(|job| job.visible_to(viewer)).map(|job| (job.view.id, job.view.clone())).collect();
            live.read(move |store, as_of| async move {
                let jobs = store
                    .list_visible(owner, limit)
                    .await?
                    .into_iter()
                    .map(|stored| current.get(&stored.view.id).cloned().unwrap_or(stored.view))
                    .collect();
                Ok((jobs, as_of))
            })
        };
        pending.outcome().await
    }

    /// One job with its log tail, and the event id they are current as of.
    pub async fn detail(&self, viewer: &Viewer, id: JobId) -> Result<(JobView, Vec<LogLine>, EventId), JobsError> {
        let viewer = viewer.clone();
        let pending = {
            let live = self.inner.live.lock();
            let current = match live.get(id) {
                Some(job) if job.visible_to(&viewer) => Some(job.view.clone()),
                Some(_) => return Err(JobsError::NotFound),
                None => None,
            };
            live.read(move |store, as_of| async move {
                let view = match current {
                    Some(view) => view,
                    None => match store.get(id).await? {
                        Some(job) if stored_visible(&job, &viewer) => job.view,
                        _ => return Err(JobsError::NotFound),
                    },
                };
                let logs = store.logs(id, LOG_TAIL).await?;
                Ok((view, logs, as_of))
            })
        };
        pending.outcome().await
    }

    /// Asks a job to stop: only the session that started it may (shared jobs included). A
    /// built-in job ends as cancelled as soon as it notices (promptly: jobs check their token
    /// between small units of work). An external job is ended by its producer, with its token.
    pub async fn cancel(&self, viewer: &Viewer, id: JobId) -> Result<JobView, JobsError> {
        {
            let live = self.inner.live.lock();
            if let Some(job) = live.get(id) {
                if !job.visible_to(viewer) {
                    return Err(JobsError::NotFound);
                }
                may_change(job.owner.as_deref(), job.view.external, viewer, Change::Cancel)?;
                job.cancel.cancel();
                return Ok(job.view.clone());
            }
        }
        match self.settled_get(id).await? {
            Some(job) if stored_visible(&job, viewer) => {
                may_change(job.owner.as_deref(), job.view.external, viewer, Change::Cancel)?;
                if job.view.state.is_terminal() {
                    return Err(JobsError::Finished(job.view.state.as_str()));
                }
                // Unfinished but not in this instance's table: on a shared store, queued in the
                // cluster or run by another instance.
                self.cancel_elsewhere(&job).await
            }
            _ => Err(JobsError::NotFound),
        }
    }

    async fn cancel_elsewhere(&self, job: &StoredJob) -> Result<JobView, JobsError> {
        match self.inner.store.cancel_elsewhere(job).await? {
            CancelOutcome::Cancelled(view) => {
                let topic = live::topic_of(job.owner.as_deref(), job.view.shared);
                let change = outbox::Change::published(view.id, topic, view.clone());
                let published = self.inner.live.lock().send(change);
                published.outcome().await?;
                Ok(view)
            }
            CancelOutcome::Notified(view) => Ok(view),
            CancelOutcome::Finished(state) => Err(JobsError::Finished(state.as_str())),
        }
    }

    /// Stops every job: queued and running ones end as interrupted. Waits up to `grace` for
    /// built-in jobs to notice, drops those that did not, then marks whatever is still
    /// unfinished in the store as interrupted and ends the runner's tasks.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.shutdown.cancel();
        let mut internal = {
            let live = self.inner.live.lock();
            for job in live.jobs() {
                job.cancel.cancel();
            }
            live.internal_count()
        };
        if tokio::time::timeout(grace, internal.wait_for(|n| *n == 0)).await.is_err() {
            tracing::warn!("jobs still running {grace:?} after shutdown began; stopping them");
        }
        self.inner.stopped.cancel();
        let marked = {
            let live = self.inner.live.lock();
            let marked = live.read(|store, _| async move { Ok(store.mark_unfinished_interrupted(now_ms()).await?) });
            live.stop_outbox();
            marked
        };
        if let Err(err) = marked.outcome().await {
            tracing::error!(%err, "could not mark unfinished jobs");
        }
    }

    /// Jobs queued and running (for monitoring).
    pub async fn counts(&self) -> (usize, usize) {
        let live = self.inner.live.lock();
        let (mut queued, mut running) = (0, 0);
        for job in live.jobs() {
            match job.view.state {
                JobState::Running => running += 1,
                _ => queued += 1,
            }
        }
        (queued, running)
    }
}
