//! The job runner: a queue, bounded concurrency, progress publishing and persistence (server only).
//!
//! Every change of a job goes through one lock (`live`): the record is updated, written to the
//! store when it matters (state changes, logs, progress every couple of seconds) and published to
//! the hub, in that order. A page's snapshot is taken under the same lock together with the hub's
//! current id, so the page's stream continues exactly where the snapshot ends.
//!
//! Topics: a private job is published to `private.jobs.<owner>`, a shared one to `jobs.shared`.
//! `private.` topics are refused to outside subscribers by the stream guard; a session's stream
//! server function subscribes to its own topic and the shared one.

use super::{
    builtin::JobRegistry,
    job::{FieldError, Job, JobContext, JobEnv, JobFailure},
    model::{JobEvent, JobId, JobState, JobView, Progress},
    progress::{eta_secs, RateMeter},
    store::{NewJob, Store, StoreError},
};
use crate::streams::{
    hub::{EventId, Hub, HubError},
    EventType, TopicName,
};
use sha2::{Digest, Sha256};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{Mutex, Semaphore};
use tokio_util::sync::CancellationToken;

pub const SHARED_TOPIC: &str = "jobs.shared";
/// Log lines a page's detail view shows.
pub const LOG_TAIL: usize = 200;
const TICK: Duration = Duration::from_millis(200);
const PERSIST_EVERY: Duration = Duration::from_secs(2);

/// Who is asking: the owner key of a browser session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Viewer(pub String);

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
    #[error("the server is shutting down")]
    ShuttingDown,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Hub(#[from] HubError),
}

/// A progress report from a producer outside the server.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalReport {
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub unit: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub log: Vec<String>,
    /// `running` (default), `succeeded`, `failed` or `cancelled`.
    pub state: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
}

struct LiveJob {
    view: JobView,
    owner: Option<String>,
    cancel: CancellationToken,
    meter: RateMeter,
    started: Instant,
    last_persist: Instant,
    token_hash: Option<String>,
}

struct Inner {
    store: Store,
    hub: Hub,
    registry: JobRegistry,
    env: JobEnv,
    permits: Arc<Semaphore>,
    live: Mutex<HashMap<JobId, LiveJob>>,
    shutdown: CancellationToken,
}

#[derive(Clone)]
pub struct JobRunner {
    inner: Arc<Inner>,
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

pub fn owner_topic(owner: &str) -> TopicName {
    TopicName::new(&format!("private.jobs.{owner}")).expect("owner keys are hex")
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl JobRunner {
    /// Opens the runner over `store`; jobs left unfinished by a previous run become interrupted.
    pub fn new(store: Store, hub: Hub, registry: JobRegistry, env: JobEnv, workers: usize) -> Result<Self, JobsError> {
        let interrupted = store.mark_unfinished_interrupted(now_ms())?;
        if interrupted > 0 {
            tracing::info!(interrupted, "jobs left unfinished by the previous run are marked interrupted");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                hub,
                registry,
                env,
                permits: Arc::new(Semaphore::new(workers.max(1))),
                live: Mutex::new(HashMap::new()),
                shutdown: CancellationToken::new(),
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The topics a viewer's stream reads.
    pub fn topics_for(&self, viewer: &Viewer) -> Vec<TopicName> {
        vec![TopicName::new(SHARED_TOPIC).expect("valid"), owner_topic(&viewer.0)]
    }

    fn visible(owner: Option<&str>, shared: bool, viewer: &Viewer) -> bool {
        shared || owner == Some(viewer.0.as_str())
    }

    async fn publish(&self, owner: Option<&str>, shared: bool, event: &JobEvent) -> Result<(), JobsError> {
        let topic = match owner {
            Some(owner) if !shared => owner_topic(owner),
            _ => TopicName::new(SHARED_TOPIC).expect("valid"),
        };
        let data = serde_json::to_string(event).expect("job events serialise");
        let event_type = EventType::new(event.event_type()).expect("valid");
        self.inner.hub.publish(&topic, &event_type, &data).await?;
        Ok(())
    }

    /// Validates and queues a job of `kind`.
    pub async fn start(&self, viewer: &Viewer, shared: bool, kind: &str, params: serde_json::Value) -> Result<JobView, JobsError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        let prepared = self.inner.registry.prepare(kind, &params, &self.inner.env)?;
        let created_ms = now_ms();
        let progress = Progress::default();
        let cancel = CancellationToken::new();
        let mut live = self.inner.live.lock().await;
        let id = self.inner.store.insert(NewJob {
            kind,
            label: &prepared.label,
            params: &params,
            owner: Some(&viewer.0),
            shared,
            external: false,
            token_hash: None,
            progress: &progress,
            state: JobState::Queued,
            created_ms,
        })?;
        let view = JobView {
            id,
            kind: kind.to_string(),
            label: prepared.label,
            state: JobState::Queued,
            progress,
            stage: None,
            result: None,
            error: None,
            shared,
            external: false,
            created_ms,
            finished_ms: None,
        };
        live.insert(id, LiveJob {
            view: view.clone(),
            owner: Some(viewer.0.clone()),
            cancel: cancel.clone(),
            meter: RateMeter::new(2.0),
            started: Instant::now(),
            last_persist: Instant::now(),
            token_hash: None,
        });
        self.publish(Some(&viewer.0), shared, &JobEvent::Job { job: view.clone() }).await?;
        drop(live);
        tokio::spawn(self.clone().drive(id, prepared.job, cancel));
        Ok(view)
    }

    /// Runs one job: waits for a worker, runs it, reports progress until it ends.
    async fn drive(self, id: JobId, job: Box<dyn Job>, cancel: CancellationToken) {
        let permit = tokio::select! {
            permit = self.inner.permits.clone().acquire_owned() => permit.ok(),
            _ = cancel.cancelled() => None,
        };
        let Some(_permit) = permit else {
            self.finish(id, Err(JobFailure::Cancelled)).await;
            return;
        };
        if let Err(err) = self.transition(id, JobState::Running).await {
            tracing::warn!(id, %err, "could not start job");
        }
        let ctx = JobContext::new(id, cancel);
        let mut run = job.run(ctx.clone());
        let mut ticker = tokio::time::interval(TICK);
        let outcome = loop {
            tokio::select! {
                outcome = &mut run => break outcome,
                _ = ticker.tick() => self.flush(id, &ctx).await,
            }
        };
        self.flush(id, &ctx).await;
        self.finish(id, outcome).await;
    }

    async fn transition(&self, id: JobId, state: JobState) -> Result<(), JobsError> {
        let mut live = self.inner.live.lock().await;
        let job = live.get_mut(&id).ok_or(JobsError::NotFound)?;
        job.view.state = state;
        job.started = Instant::now();
        self.inner.store.update(&job.view)?;
        let (owner, shared, view) = (job.owner.clone(), job.view.shared, job.view.clone());
        self.publish(owner.as_deref(), shared, &JobEvent::Job { job: view }).await
    }

    /// Moves what the job reported into its view: publishes progress and log lines.
    async fn flush(&self, id: JobId, ctx: &JobContext) {
        let reported = ctx.take();
        let mut live = self.inner.live.lock().await;
        let Some(job) = live.get_mut(&id) else { return };
        let before = job.view.clone();
        let elapsed = job.started.elapsed().as_secs_f64();
        let rate = job.meter.observe(elapsed, reported.done);
        let progress = &mut job.view.progress;
        progress.done = reported.done;
        progress.total = reported.total;
        progress.unit = reported.unit.clone();
        progress.per_second = rate;
        progress.eta_secs = eta_secs(reported.done, reported.total, rate);
        job.view.stage = reported.stage.clone();
        let (owner, shared) = (job.owner.clone(), job.view.shared);
        let changed = job.view != before;
        let persist = job.last_persist.elapsed() >= PERSIST_EVERY || !reported.new_lines.is_empty();
        if persist {
            job.last_persist = Instant::now();
            if let Err(err) = self.inner.store.update(&job.view) {
                tracing::warn!(id, %err, "could not save progress");
            }
        }
        let view = job.view.clone();
        if !reported.new_lines.is_empty() {
            if let Err(err) = self.inner.store.append_logs(id, &reported.new_lines) {
                tracing::warn!(id, %err, "could not save log lines");
            }
            let event = JobEvent::Log { id, lines: reported.new_lines };
            if let Err(err) = self.publish(owner.as_deref(), shared, &event).await {
                tracing::warn!(id, %err, "could not publish log lines");
            }
        }
        if changed {
            if let Err(err) = self.publish(owner.as_deref(), shared, &JobEvent::Job { job: view }).await {
                tracing::warn!(id, %err, "could not publish progress");
            }
        }
    }

    async fn finish(&self, id: JobId, outcome: Result<String, JobFailure>) {
        let mut live = self.inner.live.lock().await;
        let Some(mut job) = live.remove(&id) else { return };
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
        view.finished_ms = Some(now_ms());
        if let Err(err) = self.inner.store.update(view) {
            tracing::error!(id, %err, "could not save the end of a job");
        }
        let event = JobEvent::Job { job: view.clone() };
        if let Err(err) = self.publish(job.owner.as_deref(), view.shared, &event).await {
            tracing::warn!(id, %err, "could not publish the end of a job");
        }
    }

    /// Asks a job to stop. It ends as cancelled as soon as it notices (promptly: jobs check their
    /// token between small units of work).
    pub async fn cancel(&self, viewer: &Viewer, id: JobId) -> Result<JobView, JobsError> {
        let live = self.inner.live.lock().await;
        if let Some(job) = live.get(&id) {
            if !Self::visible(job.owner.as_deref(), job.view.shared, viewer) {
                return Err(JobsError::NotFound);
            }
            if job.view.external {
                drop(live);
                return self.report_external_unchecked(id, ExternalReport { state: Some("cancelled".into()), ..Default::default() }).await;
            }
            job.cancel.cancel();
            return Ok(job.view.clone());
        }
        drop(live);
        match self.inner.store.get(id)? {
            Some(job) if Self::visible(job.owner.as_deref(), job.view.shared, viewer) => {
                Err(JobsError::Finished(job.view.state.as_str()))
            }
            _ => Err(JobsError::NotFound),
        }
    }

    /// Starts a new job with the parameters of a failed, cancelled or interrupted one.
    pub async fn retry(&self, viewer: &Viewer, id: JobId) -> Result<JobView, JobsError> {
        let job = match self.inner.store.get(id)? {
            Some(job) if Self::visible(job.owner.as_deref(), job.view.shared, viewer) => job,
            _ => return Err(JobsError::NotFound),
        };
        if self.inner.live.lock().await.contains_key(&id) || !job.view.state.can_retry() {
            return Err(JobsError::NotRetryable(job.view.state.as_str()));
        }
        if job.view.external {
            return Err(JobsError::NotRetryable("external"));
        }
        self.start(viewer, job.view.shared, &job.view.kind, job.params).await
    }

    /// The jobs a viewer sees, newest first, and the event id they are current as of.
    pub async fn snapshot(&self, viewer: &Viewer, limit: usize) -> Result<(Vec<JobView>, EventId), JobsError> {
        let live = self.inner.live.lock().await;
        let as_of = self.inner.hub.current_id();
        let jobs = self
            .inner
            .store
            .list_visible(&viewer.0, limit)?
            .into_iter()
            .map(|stored| live.get(&stored.view.id).map(|l| l.view.clone()).unwrap_or(stored.view))
            .collect();
        Ok((jobs, as_of))
    }

    /// One job with its log tail, and the event id they are current as of.
    pub async fn detail(&self, viewer: &Viewer, id: JobId) -> Result<(JobView, Vec<String>, EventId), JobsError> {
        let live = self.inner.live.lock().await;
        let as_of = self.inner.hub.current_id();
        let view = match (live.get(&id), self.inner.store.get(id)?) {
            (Some(job), _) if Self::visible(job.owner.as_deref(), job.view.shared, viewer) => job.view.clone(),
            (None, Some(job)) if Self::visible(job.owner.as_deref(), job.view.shared, viewer) => job.view,
            _ => return Err(JobsError::NotFound),
        };
        let logs = self.inner.store.logs(id, LOG_TAIL)?;
        Ok((view, logs, as_of))
    }

    /// Creates a record for work running elsewhere; returns it and the token its reports need.
    pub async fn create_external(&self, label: &str, total: Option<u64>, unit: &str) -> Result<(JobView, String), JobsError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 200 {
            return Err(FieldError::new("label", "must be 1 to 200 characters").into());
        }
        let token = hex::encode(rand::random::<[u8; 24]>());
        let token_hash = sha256_hex(&token);
        let created_ms = now_ms();
        let progress = Progress { total, unit: unit.to_string(), ..Default::default() };
        let mut live = self.inner.live.lock().await;
        let params = serde_json::json!({});
        let id = self.inner.store.insert(NewJob {
            kind: "external",
            label,
            params: &params,
            owner: None,
            shared: true,
            external: true,
            token_hash: Some(&token_hash),
            progress: &progress,
            state: JobState::Running,
            created_ms,
        })?;
        let view = JobView {
            id,
            kind: "external".into(),
            label: label.to_string(),
            state: JobState::Running,
            progress,
            stage: None,
            result: None,
            error: None,
            shared: true,
            external: true,
            created_ms,
            finished_ms: None,
        };
        live.insert(id, LiveJob {
            view: view.clone(),
            owner: None,
            cancel: CancellationToken::new(),
            meter: RateMeter::new(2.0),
            started: Instant::now(),
            last_persist: Instant::now(),
            token_hash: Some(token_hash),
        });
        self.publish(None, true, &JobEvent::Job { job: view.clone() }).await?;
        Ok((view, token))
    }

    /// Applies a report from an external producer holding the job's token.
    pub async fn report_external(&self, id: JobId, token: &str, report: ExternalReport) -> Result<JobView, JobsError> {
        let presented = sha256_hex(token);
        {
            let live = self.inner.live.lock().await;
            match live.get(&id) {
                Some(job) if job.view.external => {
                    if job.token_hash.as_deref() != Some(presented.as_str()) {
                        return Err(JobsError::BadToken);
                    }
                }
                Some(_) => return Err(JobsError::NotFound),
                None => {
                    drop(live);
                    return match self.inner.store.get(id)? {
                        Some(job) if job.view.external && job.token_hash.as_deref() == Some(presented.as_str()) => {
                            Err(JobsError::Finished(job.view.state.as_str()))
                        }
                        Some(job) if job.view.external => Err(JobsError::BadToken),
                        _ => Err(JobsError::NotFound),
                    };
                }
            }
        }
        self.report_external_unchecked(id, report).await
    }

    async fn report_external_unchecked(&self, id: JobId, report: ExternalReport) -> Result<JobView, JobsError> {
        let next = match report.state.as_deref().unwrap_or("running") {
            "running" => JobState::Running,
            "succeeded" => JobState::Succeeded,
            "failed" => JobState::Failed,
            "cancelled" => JobState::Cancelled,
            other => {
                return Err(FieldError::new("state", format!("{other:?} is not one of running, succeeded, failed, cancelled")).into())
            }
        };
        if report.log.len() > 1000 {
            return Err(FieldError::new("log", "at most 1000 lines per report").into());
        }
        let mut live = self.inner.live.lock().await;
        let job = live.get_mut(&id).ok_or(JobsError::NotFound)?;
        if !job.view.state.can_become(next) {
            return Err(JobsError::Finished(job.view.state.as_str()));
        }
        let progress = &mut job.view.progress;
        if let Some(total) = report.total {
            progress.total = Some(total);
        }
        if let Some(done) = report.done {
            progress.done = done;
        }
        if let Some(unit) = report.unit {
            progress.unit = unit.chars().take(32).collect();
        }
        let elapsed = job.started.elapsed().as_secs_f64();
        progress.per_second = job.meter.observe(elapsed, progress.done);
        progress.eta_secs = eta_secs(progress.done, progress.total, progress.per_second);
        if let Some(stage) = report.stage {
            job.view.stage = Some(stage.chars().take(200).collect());
        }
        job.view.state = next;
        let lines: Vec<String> = report.log.into_iter().map(|l| l.chars().take(500).collect()).collect();
        if next.is_terminal() {
            job.view.result = report.result;
            job.view.error = report.error.or_else(|| (next == JobState::Cancelled).then(|| "cancelled".to_string()));
            job.view.progress.eta_secs = None;
            job.view.finished_ms = Some(now_ms());
        }
        let view = job.view.clone();
        self.inner.store.update(&view)?;
        self.inner.store.append_logs(id, &lines)?;
        if !lines.is_empty() {
            self.publish(None, true, &JobEvent::Log { id, lines }).await?;
        }
        self.publish(None, true, &JobEvent::Job { job: view.clone() }).await?;
        if next.is_terminal() {
            live.remove(&id);
        }
        Ok(view)
    }

    /// Stops every running job (they end as interrupted) and waits up to `grace` for them.
    pub async fn shutdown(&self, grace: Duration) {
        self.inner.shutdown.cancel();
        for job in self.inner.live.lock().await.values() {
            job.cancel.cancel();
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            let running = self.inner.live.lock().await.values().filter(|j| !j.view.external).count();
            if running == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if let Err(err) = self.inner.store.mark_unfinished_interrupted(now_ms()) {
            tracing::error!(%err, "could not mark unfinished jobs");
        }
    }

    /// Jobs queued and running (for monitoring).
    pub async fn counts(&self) -> (usize, usize) {
        let live = self.inner.live.lock().await;
        let running = live.values().filter(|j| j.view.state == JobState::Running).count();
        (live.len() - running, running)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::hub::{HubConfig, SubscribeRequest};
    use futures::StreamExt;

    fn runner(dir: &std::path::Path, workers: usize) -> (JobRunner, Hub) {
        let hub = Hub::in_process(HubConfig {
            history_events: 10_000,
            history_age: Duration::from_secs(600),
            heartbeat: Duration::from_secs(15),
            retry_ms: 1000,
        });
        let store = Store::open(&dir.join("jobs.sqlite3")).unwrap();
        let env = JobEnv { files_root: dir.to_path_buf() };
        (JobRunner::new(store, hub.clone(), JobRegistry::with_builtins(), env, workers).unwrap(), hub)
    }

    async fn wait_for(runner: &JobRunner, viewer: &Viewer, id: JobId, state: JobState) -> JobView {
        for _ in 0..500 {
            let (view, _, _) = runner.detail(viewer, id).await.unwrap();
            if view.state == state {
                return view;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("job {id} never became {state:?}");
    }

    #[tokio::test]
    async fn runs_a_job_to_success_publishing_progress_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, hub) = runner(dir.path(), 2);
        let me = Viewer("a".repeat(32));
        let mut events = Box::pin(
            hub.subscribe(SubscribeRequest { topics: runner.topics_for(&me), last_event_id: None, delivery: Default::default() }).unwrap(),
        );
        let job = runner.start(&me, false, "pipeline", serde_json::json!({"stages": 2, "step_ms": 10})).await.unwrap();
        assert_eq!(job.state, JobState::Queued);
        let done = wait_for(&runner, &me, job.id, JobState::Succeeded).await;
        assert_eq!(done.progress.done, 10);
        assert!(done.result.unwrap().starts_with("2 stages"));

        let mut text = String::new();
        while !text.contains("succeeded") {
            let chunk = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap();
            text.push_str(std::str::from_utf8(&chunk).unwrap());
        }
        let states: Vec<&str> = ["\"queued\"", "\"running\"", "\"succeeded\""]
            .into_iter()
            .filter(|s| text.contains(s))
            .collect();
        assert_eq!(states.len(), 3, "{text}");
        assert!(text.find("\"queued\"") < text.find("\"running\"") && text.find("\"running\"") < text.find("\"succeeded\""));
        assert!(text.contains("event: log"), "log lines are published");
        let (_, logs, _) = runner.detail(&me, job.id).await.unwrap();
        assert!(logs.iter().any(|l| l == "stage: transform"), "{logs:?}");
    }

    #[tokio::test]
    async fn cancel_stops_promptly_and_other_sessions_cannot_touch_it() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, _hub) = runner(dir.path(), 1);
        let me = Viewer("a".repeat(32));
        let other = Viewer("b".repeat(32));
        let job = runner.start(&me, false, "pipeline", serde_json::json!({"stages": 6, "step_ms": 10000})).await.unwrap();
        wait_for(&runner, &me, job.id, JobState::Running).await;
        assert!(matches!(runner.cancel(&other, job.id).await, Err(JobsError::NotFound)));
        assert!(matches!(runner.detail(&other, job.id).await, Err(JobsError::NotFound)));
        let asked = Instant::now();
        runner.cancel(&me, job.id).await.unwrap();
        wait_for(&runner, &me, job.id, JobState::Cancelled).await;
        assert!(asked.elapsed() < Duration::from_secs(1), "took {:?}", asked.elapsed());
        assert!(matches!(runner.cancel(&me, job.id).await, Err(JobsError::Finished("cancelled"))));
        let retried = runner.retry(&me, job.id).await.unwrap();
        assert_ne!(retried.id, job.id);
        runner.cancel(&me, retried.id).await.unwrap();
    }

    #[tokio::test]
    async fn concurrency_is_bounded_and_queued_jobs_can_be_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, _hub) = runner(dir.path(), 1);
        let me = Viewer("a".repeat(32));
        let params = serde_json::json!({"stages": 1, "step_ms": 10000});
        let first = runner.start(&me, false, "pipeline", params.clone()).await.unwrap();
        let second = runner.start(&me, false, "pipeline", params).await.unwrap();
        wait_for(&runner, &me, first.id, JobState::Running).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runner.detail(&me, second.id).await.unwrap().0.state, JobState::Queued);
        assert_eq!(runner.counts().await, (1, 1));
        runner.cancel(&me, second.id).await.unwrap();
        wait_for(&runner, &me, second.id, JobState::Cancelled).await;
        runner.cancel(&me, first.id).await.unwrap();
    }

    #[tokio::test]
    async fn bad_parameters_are_field_errors() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, _hub) = runner(dir.path(), 1);
        let me = Viewer("a".repeat(32));
        match runner.start(&me, false, "checksum", serde_json::json!({"dir": "../.."})).await {
            Err(JobsError::Invalid(err)) => assert_eq!(err.field, "dir"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn external_jobs_need_their_token_and_follow_the_state_machine() {
        let dir = tempfile::tempdir().unwrap();
        let (runner, _hub) = runner(dir.path(), 1);
        let (job, token) = runner.create_external("CI build", Some(4), "steps").await.unwrap();
        let report = ExternalReport { done: Some(2), log: vec!["compiling".into()], ..Default::default() };
        assert!(matches!(runner.report_external(job.id, "wrong", report.clone()).await, Err(JobsError::BadToken)));
        let view = runner.report_external(job.id, &token, report).await.unwrap();
        assert_eq!(view.progress.percent(), Some(50.0));
        let done = ExternalReport { done: Some(4), state: Some("succeeded".into()), result: Some("ok".into()), ..Default::default() };
        assert_eq!(runner.report_external(job.id, &token, done.clone()).await.unwrap().state, JobState::Succeeded);
        assert!(matches!(runner.report_external(job.id, &token, done).await, Err(JobsError::Finished("succeeded"))));
        let viewer = Viewer("c".repeat(32));
        let (_, logs, _) = runner.detail(&viewer, job.id).await.unwrap();
        assert_eq!(logs, ["compiling"]);
    }

    #[tokio::test]
    async fn shutdown_interrupts_running_jobs_and_history_survives() {
        let dir = tempfile::tempdir().unwrap();
        let me = Viewer("a".repeat(32));
        let id = {
            let (runner, _hub) = runner(dir.path(), 1);
            let job = runner.start(&me, false, "pipeline", serde_json::json!({"stages": 6, "step_ms": 10000})).await.unwrap();
            wait_for(&runner, &me, job.id, JobState::Running).await;
            runner.shutdown(Duration::from_secs(2)).await;
            job.id
        };
        let (runner, _hub) = runner(dir.path(), 1);
        let (jobs, _) = runner.snapshot(&me, 10).await.unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id, id);
        assert_eq!(jobs[0].state, JobState::Interrupted);
        assert!(runner.retry(&me, id).await.is_ok());
    }
}
