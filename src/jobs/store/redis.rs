//! Job records, results and logs in Redis, shared by every instance (`hub = "redis://..."`)
//! (server only).
//!
//! Keys (all under the hub's prefix, see `redis_scripts` for a job's fields): `jobs:next-id` (ids
//! from `INCR`: unique across the cluster), `job:<id>` (the record), `job:<id>:log` (its log, the
//! newest [`MAX_LOG_LINES`]), `jobs:owner:<owner>` and `jobs:shared` (sorted indexes for the
//! lists), `jobs:limits` (places taken under the job limits), `jobs:queue` (the cluster's queue,
//! see `redis_queue`), `jobs:cancel:<consumer>` (cancel requests for one instance) and
//! `jobs:external:running` (running external jobs by their last report, see `redis_external`).
//!
//! Commands go over the hub's kind of `ConnectionManager`, each bounded by the hub's command
//! timeout (700 ms): with Redis unreachable a call fails with [`StoreError::Unavailable`] within a
//! second, never hangs. Blocking reads (the queue, cancel requests) use connections of their own.

use super::{redis_scripts as scripts, CancelOutcome, NewJob, StoreError, StoredJob, MAX_LOG_LINES};
use crate::jobs::model::{owner_tag, JobId, JobState, JobView, LogLine};
use crate::streams::hub::redis_connect as connect;
use redis::{aio::ConnectionManager, Client, Script};
use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

/// The consumer group every instance's workers read the queue in.
pub(super) const GROUP: &str = "workers";

pub(super) fn job_key(id: JobId) -> String {
    format!("{}job:{id}", connect::PREFIX)
}

fn log_key(id: JobId) -> String {
    format!("{}job:{id}:log", connect::PREFIX)
}

fn owner_index(owner: &str) -> String {
    format!("{}jobs:owner:{owner}", connect::PREFIX)
}

fn shared_index() -> String {
    format!("{}jobs:shared", connect::PREFIX)
}

pub(super) fn limits_key() -> String {
    format!("{}jobs:limits", connect::PREFIX)
}

pub(super) fn queue_key() -> String {
    format!("{}jobs:queue", connect::PREFIX)
}

/// The running external jobs, scored by when their producer last reported (ms).
pub(super) fn externals_key() -> String {
    format!("{}jobs:external:running", connect::PREFIX)
}

/// `script` given the keys of a change to one job's record, in the order the save and silence
/// scripts read them: the job, the limits, the queue and the running external jobs.
pub(super) fn on_record(script: &Script, id: JobId) -> redis::ScriptInvocation<'_> {
    let mut invocation = script.key(job_key(id));
    invocation.key(limits_key()).key(queue_key()).key(externals_key());
    invocation
}

pub(super) fn cancel_prefix() -> String {
    format!("{}jobs:cancel:", connect::PREFIX)
}

/// The cluster's limits on built-in jobs queued or running at once.
#[derive(Debug, Clone, Copy)]
pub struct ClusterLimits {
    pub per_session: usize,
    pub total: usize,
}

/// Why the cluster refused a new job: which limit, and how many jobs hold it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitReached {
    PerSession(usize),
    Total(usize),
}

pub(super) struct Scripts {
    pub insert: Script,
    pub save: Script,
    pub take: Script,
    pub cancel: Script,
    pub interrupt: Script,
    pub silence: Script,
    pub refresh: Script,
    detail: Script,
    list: Script,
}

pub(super) struct Inner {
    pub client: Client,
    commands: ConnectionManager,
    label: String,
    /// This instance's name in the consumer group: unique per process, so a restarted instance
    /// does not take over the pending entries of its previous run (those are claimed and marked
    /// interrupted after the claim timeout, like any dead instance's).
    pub consumer: String,
    pub claim_timeout: Duration,
    pub scripts: Scripts,
}

/// The Redis job store. Cheap to clone.
#[derive(Clone)]
pub struct RedisStore {
    pub(super) inner: Arc<Inner>,
}

impl RedisStore {
    /// A store on the Redis at `url`. Connects lazily: Redis need not be up yet.
    pub fn open(url: &str, claim_timeout: Duration) -> Result<Self, StoreError> {
        let client = connect::client(url).map_err(StoreError::Unavailable)?;
        let commands = connect::command_manager(client.clone()).map_err(StoreError::Unavailable)?;
        let consumer = format!("{}-{}", std::process::id(), hex::encode(rand::random::<[u8; 6]>()));
        let scripts = Scripts {
            insert: scripts::insert(),
            save: scripts::save(),
            take: scripts::take(),
            cancel: scripts::cancel(),
            interrupt: scripts::interrupt(),
            silence: scripts::silence(),
            refresh: scripts::refresh(),
            detail: scripts::detail(),
            list: scripts::list(),
        };
        let label = connect::describe(url);
        Ok(Self { inner: Arc::new(Inner { client, commands, label, consumer, claim_timeout, scripts }) })
    }

    /// A command on the shared connection, bounded by the command timeout whatever the
    /// connection manager does while it reconnects.
    pub(super) async fn command<T, F>(
        &self,
        what: &str,
        run: impl FnOnce(ConnectionManager) -> F,
    ) -> Result<T, StoreError>
    where
        F: Future<Output = redis::RedisResult<T>>,
    {
        let unavailable =
            |err: String| StoreError::Unavailable(format!("{what}: {} did not answer ({err})", self.inner.label));
        match tokio::time::timeout(connect::COMMAND_TIMEOUT, run(self.inner.commands.clone())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(err)) => Err(unavailable(err.to_string())),
            Err(_) => Err(unavailable(format!("no answer within {:?}", connect::COMMAND_TIMEOUT))),
        }
    }

    pub async fn ping(&self) -> Result<(), StoreError> {
        self.command("the job store", |mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await
            .map(drop)
    }

    /// Saves a new job. With `limits`, it takes a place under them (refused, with nothing saved,
    /// when one is reached) and joins the cluster's queue in the same step.
    pub async fn insert(
        &self,
        job: NewJob,
        limits: Option<ClusterLimits>,
    ) -> Result<Result<JobId, LimitReached>, StoreError> {
        let id: JobId = self
            .command("the job was not saved", |mut c| async move {
                redis::cmd("INCR").arg(format!("{}jobs:next-id", connect::PREFIX)).query_async(&mut c).await
            })
            .await?;
        let view = new_view(id, &job);
        let index = if job.shared || job.owner.is_none() { shared_index() } else { owner_index(owner_of(&job.owner)) };
        let script = &self.inner.scripts.insert;
        let (code, count): (i64, i64) = self
            .command("the job was not saved", |mut c| async move {
                let limits = limits.unwrap_or(ClusterLimits { per_session: 0, total: 0 });
                script
                    .key(job_key(id))
                    .key(limits_key())
                    .key(queue_key())
                    .key(index)
                    .key(externals_key())
                    .arg(GROUP)
                    .arg(id)
                    .arg(serde_json::to_string(&view).expect("views serialise"))
                    .arg(job.state.as_str())
                    .arg(owner_of(&job.owner))
                    .arg(job.params.to_string())
                    .arg(job.token_hash.as_deref().unwrap_or(""))
                    .arg(if limits.total > 0 { "1" } else { "0" })
                    .arg(limits.per_session)
                    .arg(limits.total)
                    .arg(if limits.total > 0 { "1" } else { "0" })
                    .arg(job.created_ms)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match code {
            -1 => Err(LimitReached::PerSession(count.max(0) as usize)),
            -2 => Err(LimitReached::Total(count.max(0) as usize)),
            _ => Ok(id),
        })
    }

    /// Saves a view as this instance's worker (or for a job no worker holds, an external one).
    /// A record that is final, or another worker's, is left alone: `Ok(false)`.
    pub async fn save(&self, view: &JobView) -> Result<bool, StoreError> {
        let script = &self.inner.scripts.save;
        let (id, state, json) = (view.id, view.state.as_str(), serde_json::to_string(view).expect("views serialise"));
        let consumer = self.inner.consumer.clone();
        let applied: i64 = self
            .command("the job was not saved", |mut c| async move {
                on_record(script, id)
                    .arg(GROUP)
                    .arg(state)
                    .arg(json)
                    .arg(consumer)
                    .arg(crate::time::now_ms())
                    .arg(id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(applied == 1)
    }

    /// [`RedisStore::save`], with a change that did not happen as [`StoreError::Superseded`] (so
    /// it is not published either).
    pub async fn update(&self, view: JobView) -> Result<(), StoreError> {
        if self.save(&view).await? {
            Ok(())
        } else {
            Err(StoreError::Superseded(view.id))
        }
    }

    pub async fn append_logs(&self, id: JobId, lines: Vec<LogLine>) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        // Each line is kept as its JSON ({"at_ms", "text"}), so its time travels with it.
        let lines: Vec<String> = lines.iter().map(encode_log_line).collect();
        self.command("the log lines were not saved", |mut c| async move {
            redis::pipe()
                .atomic()
                .cmd("RPUSH")
                .arg(log_key(id))
                .arg(&lines)
                .ignore()
                .cmd("LTRIM")
                .arg(log_key(id))
                .arg(-MAX_LOG_LINES)
                .arg(-1)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    pub async fn logs(&self, id: JobId, limit: usize) -> Result<Vec<LogLine>, StoreError> {
        Ok(self.detail(id, limit).await?.map(|(_, logs)| logs).unwrap_or_default())
    }

    /// A job and its newest `limit` log lines, read at one instant.
    pub async fn detail(&self, id: JobId, limit: usize) -> Result<Option<(StoredJob, Vec<LogLine>)>, StoreError> {
        let script = &self.inner.scripts.detail;
        let (fields, logs): (HashMap<String, String>, Vec<String>) = self
            .command("the job was not read", |mut c| async move {
                script.key(job_key(id)).key(log_key(id)).arg(limit.max(1)).invoke_async(&mut c).await
            })
            .await?;
        if fields.is_empty() {
            return Ok(None);
        }
        let logs = if limit == 0 { Vec::new() } else { logs.iter().map(|line| decode_log_line(line)).collect() };
        Ok(Some((stored_job(fields)?, logs)))
    }

    pub async fn get(&self, id: JobId) -> Result<Option<StoredJob>, StoreError> {
        Ok(self.detail(id, 0).await?.map(|(job, _)| job))
    }

    pub async fn list_visible(&self, owner: String, limit: usize) -> Result<Vec<StoredJob>, StoreError> {
        let script = &self.inner.scripts.list;
        let records: Vec<HashMap<String, String>> = self
            .command("the jobs were not read", |mut c| async move {
                script
                    .key(owner_index(&owner))
                    .key(shared_index())
                    .arg(limit.max(1))
                    .arg(format!("{}job:", connect::PREFIX))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        records.into_iter().filter(|fields| !fields.is_empty()).map(stored_job).collect()
    }

    /// Cancels a job this instance does not run: see [`CancelOutcome`].
    pub async fn cancel_elsewhere(&self, job: &StoredJob) -> Result<CancelOutcome, StoreError> {
        let mut cancelled = job.view.clone();
        cancelled.state = JobState::Cancelled;
        cancelled.progress.eta_secs = None;
        cancelled.finished_ms = Some(crate::time::now_ms());
        let script = &self.inner.scripts.cancel;
        let json = serde_json::to_string(&cancelled).expect("views serialise");
        let id = job.view.id;
        let (outcome,): (String,) = self
            .command("the job was not cancelled", |mut c| async move {
                script
                    .key(job_key(id))
                    .key(limits_key())
                    .key(queue_key())
                    .arg(GROUP)
                    .arg(json)
                    .arg(cancel_prefix())
                    .arg(id)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match outcome.as_str() {
            "applied" => CancelOutcome::Cancelled(cancelled),
            "notified" | "running" => CancelOutcome::Notified(job.view.clone()),
            state => CancelOutcome::Finished(JobState::parse(state).unwrap_or(job.view.state)),
        })
    }
}

fn encode_log_line(line: &LogLine) -> String {
    serde_json::to_string(line).unwrap_or_else(|_| line.text.clone())
}

/// A kept line back; anything that is not a line's JSON is read as text with no time.
fn decode_log_line(kept: &str) -> LogLine {
    serde_json::from_str(kept).unwrap_or_else(|_| LogLine { at_ms: None, text: kept.to_string() })
}

fn owner_of(owner: &Option<String>) -> &str {
    owner.as_deref().unwrap_or("")
}

/// The view of a job just saved as `id` (as the live table builds it).
fn new_view(id: JobId, job: &NewJob) -> JobView {
    JobView {
        id,
        kind: job.kind.clone(),
        label: job.label.clone(),
        state: job.state,
        progress: job.progress.clone(),
        stage: None,
        result: None,
        error: None,
        shared: job.shared,
        external: job.external,
        created_ms: job.created_ms,
        // An external job runs from its creation (built-in ones start when a worker takes them).
        started_ms: (job.state == JobState::Running).then_some(job.created_ms),
        finished_ms: None,
        params: job.params.clone(),
        owner_tag: job.owner.as_deref().map(owner_tag),
    }
}

/// A record as the scripts keep it: the saved view, with the hash's `state` over it.
pub(super) fn stored_job(mut fields: HashMap<String, String>) -> Result<StoredJob, StoreError> {
    let mut take = |name: &str| fields.remove(name).unwrap_or_default();
    let mut view: JobView = serde_json::from_str(&take("view"))
        .map_err(|err| StoreError::Corrupt(format!("a job record's view is not a job: {err}")))?;
    if let Some(state) = JobState::parse(&take("state")) {
        view.state = state;
    }
    let owner = Some(take("owner")).filter(|owner| !owner.is_empty());
    let token_hash = Some(take("token")).filter(|token| !token.is_empty());
    let params = serde_json::from_str(&take("params")).unwrap_or(serde_json::Value::Null);
    let reported_ms = take("reported").parse().ok();
    Ok(StoredJob { view, owner, params, token_hash, reported_ms })
}
