//! Internal jobs: the built-in kinds the server runs itself (server only).
//!
//! `start` checks the parameters (on the blocking pool: file kinds look at the disk), saves the
//! job as queued and spawns its driver on the runner's task tracker. The driver waits for one of
//! the worker permits (a semaphore bounds concurrency), runs the job and, every tick, moves what
//! the job reported into its view. Cancel is the job's token; a job cancelled because the server
//! stops ends as interrupted instead, and one still running when the grace period ends is dropped.
//!
//! Each step below is one critical section of the live table, with no `.await`: the driver is the
//! only writer of its job, so its changes are queued (and published) in the order it makes them.

use super::{JobRunner, JobsError, Viewer};
use crate::jobs::{
    job::{Job, JobContext, JobFailure},
    model::{JobId, JobState, JobView, Progress},
    progress::eta_secs,
    store::NewJob,
};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// How often a running job's reports are moved into its view.
const TICK: Duration = Duration::from_millis(200);
/// Progress alone is saved at most this often (state changes and log lines always are).
const PERSIST_EVERY: Duration = Duration::from_secs(2);

impl JobRunner {
    /// Validates and queues a job of `kind`.
    pub async fn start(
        &self,
        viewer: &Viewer,
        shared: bool,
        kind: &str,
        params: serde_json::Value,
    ) -> Result<JobView, JobsError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        // Before any work: a refused start costs neither a check of its parameters nor a row.
        // (A shared store counts the limits cluster-wide, as it queues the job.)
        let quota = match self.inner.store.queue() {
            None => Some(self.reserve(viewer)?),
            Some(_) => None,
        };
        let prepared = {
            let (inner, kind, params) = (self.inner.clone(), kind.to_string(), params.clone());
            tokio::task::spawn_blocking(move || inner.registry.prepare(&kind, &params, &inner.env))
                .await
                .map_err(|_| JobsError::ShuttingDown)??
        };
        let new = NewJob {
            kind: kind.to_string(),
            label: prepared.label,
            params,
            owner: Some(viewer.0.clone()),
            shared,
            external: false,
            token_hash: None,
            progress: Progress::default(),
            state: JobState::Queued,
            created_ms: crate::time::now_ms(),
        };
        if let Some(queue) = self.inner.store.queue() {
            // Any instance's worker runs it (it checks the parameters again there).
            return self.enqueue(queue, new).await;
        }
        let cancel = CancellationToken::new();
        // The queued event goes out with the job's later ones, in order; a failure to save or
        // publish it is logged by the outbox and does not stop the job.
        let (view, _published) = self.admit(new, cancel.clone(), quota).await?;
        self.inner.tasks.spawn(self.clone().drive(view.id, prepared.job, cancel, None));
        Ok(view)
    }

    /// Starts a new job with the parameters of a failed, cancelled or interrupted one: only the
    /// session that started the original may. The new job is its, shared if the original was.
    pub async fn retry(&self, viewer: &Viewer, id: JobId) -> Result<JobView, JobsError> {
        let job = match self.settled_get(id).await? {
            Some(job) if super::stored_visible(&job, viewer) => job,
            _ => return Err(JobsError::NotFound),
        };
        if self.inner.live.lock().get(id).is_some() || !job.view.state.can_retry() {
            return Err(JobsError::NotRetryable(job.view.state.as_str()));
        }
        if job.view.external {
            return Err(JobsError::NotRetryable("external"));
        }
        super::may_change(job.owner.as_deref(), false, viewer, super::Change::Retry)?;
        self.start(viewer, job.view.shared, &job.view.kind, job.params).await
    }

    /// Runs one job: waits for a worker (unless it holds one already), runs it, reports
    /// progress until it ends.
    pub(super) async fn drive(
        self,
        id: JobId,
        job: Box<dyn Job>,
        cancel: CancellationToken,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) {
        let permit = match permit {
            Some(permit) => Some(permit),
            None => tokio::select! {
                permit = self.inner.permits.clone().acquire_owned() => permit.ok(),
                _ = cancel.cancelled() => None,
            },
        };
        let Some(_permit) = permit else {
            self.finish(id, Err(JobFailure::Cancelled));
            return;
        };
        self.mark_running(id);
        let ctx = JobContext::new(id, cancel);
        let mut run = job.run(ctx.clone());
        let mut ticker = tokio::time::interval(TICK);
        let stopped = self.inner.stopped.clone();
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = ticker.tick() => self.flush(id, &ctx),
                // The grace period is over and the job has not noticed its cancel: drop it.
                _ = stopped.cancelled() => break Err(JobFailure::Cancelled),
            }
        };
        drop(run);
        self.flush(id, &ctx);
        self.finish(id, outcome);
    }

    pub(super) fn mark_running(&self, id: JobId) {
        let mut live = self.inner.live.lock();
        let Some(job) = live.get_mut(id) else {
            return tracing::warn!(id, "could not start job: it is no longer in the table");
        };
        job.view.state = JobState::Running;
        job.view.started_ms = Some(crate::time::now_ms());
        job.started = Instant::now();
        let change = job.change(true);
        let _ = live.send(change);
    }

    /// Moves what the job reported into its view: publishes progress and log lines.
    fn flush(&self, id: JobId, ctx: &JobContext) {
        let reported = ctx.take();
        let mut live = self.inner.live.lock();
        let Some(job) = live.get_mut(id) else { return };
        let before = job.view.clone();
        let elapsed = job.started.elapsed().as_secs_f64();
        let rate = job.meter.observe(elapsed, reported.done);
        let progress = &mut job.view.progress;
        progress.done = reported.done;
        progress.total = reported.total;
        progress.unit = reported.unit;
        progress.per_second = rate;
        progress.eta_secs = eta_secs(reported.done, reported.total, rate);
        job.view.stage = reported.stage;
        let changed = job.view != before;
        let persist = job.last_persist.elapsed() >= PERSIST_EVERY || !reported.new_lines.is_empty();
        if persist {
            job.last_persist = Instant::now();
        }
        if !(changed || persist) {
            return;
        }
        let change = job.change_with(persist, reported.new_lines, changed);
        let _ = live.send(change);
    }

    pub(super) fn finish(&self, id: JobId, outcome: Result<String, JobFailure>) {
        let mut live = self.inner.live.lock();
        let Some(mut job) = live.remove(id) else { return };
        let view = &mut job.view;
        match outcome {
            Ok(summary) => {
                view.state = JobState::Succeeded;
                view.result = Some(summary);
            }
            Err(JobFailure::Cancelled) if self.inner.shutdown.is_cancelled() => {
                view.state = JobState::Interrupted;
                view.error = Some("the server stopped while this job was running".into());
            }
            Err(JobFailure::Cancelled) => view.state = JobState::Cancelled,
            Err(JobFailure::Failed(message)) => {
                view.state = JobState::Failed;
                view.error = Some(message);
            }
        }
        view.progress.eta_secs = None;
        view.finished_ms = Some(crate::time::now_ms());
        let _ = live.send(job.change(true));
    }
}
