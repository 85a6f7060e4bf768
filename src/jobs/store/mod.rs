//! Where job records, results and logs live: the one seam between the runner and its backend
//! (server only).
//!
//! [`Store`] is chosen once, at wiring: `Sqlite` (the embedded default, a file in the data
//! directory, `sqlite`) or `Redis` (`hub = "redis://..."`: records shared by every instance, with
//! the cluster's job queue, `redis`). The runner calls the same methods whichever it is; what only
//! a shared store can do (a queue other instances take from, cancelling a job another instance
//! runs) is answered by the SQLite store as what it means there (no queue, no other instance).
//!
//! Invariants both keep: ids are unique and never reused; a record in a terminal state never
//! changes again; every call is off the async runtime's threads (SQLite on the blocking pool,
//! Redis over the network with a bounded wait).

pub mod redis;
mod redis_external;
pub mod redis_queue;
mod redis_scripts;
#[cfg(test)]
mod redis_tests;
pub mod sqlite;

pub use self::redis::{ClusterLimits, LimitReached, RedisStore};
use super::model::{JobId, JobState, JobView, LogLine, Progress};
/// The cluster's job queue: the Redis store's queue operations (`redis_queue`).
pub type ClusterQueue = RedisStore;
pub use redis_queue::Take;
pub use sqlite::SqliteStore;

/// Most log lines kept per job; older ones are dropped.
pub const MAX_LOG_LINES: i64 = 2_000;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("job database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The blocking task did not finish (the runtime is shutting down, or it panicked).
    #[error("job database: the database call did not finish: {0}")]
    Task(String),
    /// The shared store cannot be reached (Redis down or paused): the message says which.
    #[error("the job store is unavailable: {0}")]
    Unavailable(String),
    /// The record had already reached a final state, or another instance had taken the job over
    /// (this one lost its claim): the change was not saved, and is not to be published.
    #[error("job {0} was not saved: it has finished or another instance has taken it over")]
    Superseded(JobId),
    /// A record the store holds is not one it wrote (a bug, or another program's key).
    #[error("job store: {0}")]
    Corrupt(String),
}

/// A job as stored, with what only the server needs.
#[derive(Debug, Clone)]
pub struct StoredJob {
    pub view: JobView,
    pub owner: Option<String>,
    pub params: serde_json::Value,
    pub token_hash: Option<String>,
    /// When its producer last reported (ms; external jobs in a shared store, which keeps it for
    /// the rate and the silence watch of whichever instance takes the next report).
    pub reported_ms: Option<i64>,
}

/// What a new job is made of: saved as a row, and the runner's live record is built from it.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub label: String,
    pub params: serde_json::Value,
    pub owner: Option<String>,
    pub shared: bool,
    pub external: bool,
    pub token_hash: Option<String>,
    pub progress: Progress,
    pub state: JobState,
    pub created_ms: i64,
}

impl From<StoredJob> for NewJob {
    /// A stored job as the runner's live record starts from it (an instance taking a queued job).
    fn from(job: StoredJob) -> Self {
        Self {
            kind: job.view.kind,
            label: job.view.label,
            params: job.params,
            owner: job.owner,
            shared: job.view.shared,
            external: job.view.external,
            token_hash: job.token_hash,
            progress: job.view.progress,
            state: job.view.state,
            created_ms: job.view.created_ms,
        }
    }
}

/// What asking a job that no instance-local table holds to stop did.
#[derive(Debug, Clone)]
pub enum CancelOutcome {
    /// It was queued and is now cancelled: this view is to be published.
    Cancelled(JobView),
    /// Another instance runs it and has been told; it ends as cancelled when the job notices.
    Notified(JobView),
    /// It had already finished in this state.
    Finished(JobState),
}

/// The job store. Cheap to clone.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Redis(RedisStore),
}

impl Store {
    /// Whether other instances read and write the same records: then this instance's live table
    /// holds only what it runs itself, and a record that is unfinished may be another's.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    /// The cluster's queue, when jobs are queued for every instance rather than run here.
    pub fn queue(&self) -> Option<&ClusterQueue> {
        match self {
            Self::Sqlite(_) => None,
            Self::Redis(store) => Some(store),
        }
    }

    /// Whether the store answers (for readiness checks).
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.ping().await,
            Self::Redis(store) => store.ping().await,
        }
    }

    /// At start and at the end of shutdown: what this instance left queued or running did not
    /// finish. SQLite: every unfinished record (one instance owns them all). Redis: nothing here;
    /// jobs queued in the cluster stay queued for any instance, and a job whose instance died is
    /// claimed by another after the claim timeout.
    pub async fn mark_unfinished_interrupted(&self, now_ms: i64) -> Result<usize, StoreError> {
        match self {
            Self::Sqlite(store) => store.mark_unfinished_interrupted(now_ms).await,
            Self::Redis(_) => Ok(0),
        }
    }

    pub async fn insert(&self, job: NewJob) -> Result<JobId, StoreError> {
        match self {
            Self::Sqlite(store) => store.insert(job).await,
            // No limits given: nothing can refuse it.
            Self::Redis(store) => store
                .insert(job, None)
                .await?
                .map_err(|refused| StoreError::Corrupt(format!("a job without limits was refused: {refused:?}"))),
        }
    }

    /// Saves a job's view. A record that has reached a terminal state is not changed again (on
    /// Redis also: one taken by another instance after this one lost its claim).
    pub async fn update(&self, view: JobView) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.update(view).await,
            Self::Redis(store) => store.update(view).await,
        }
    }

    /// Appends log lines, keeping the newest [`MAX_LOG_LINES`] of the job.
    pub async fn append_logs(&self, id: JobId, lines: Vec<LogLine>) -> Result<(), StoreError> {
        match self {
            Self::Sqlite(store) => store.append_logs(id, lines).await,
            Self::Redis(store) => store.append_logs(id, lines).await,
        }
    }

    /// The newest `limit` log lines of a job, oldest first.
    pub async fn logs(&self, id: JobId, limit: usize) -> Result<Vec<LogLine>, StoreError> {
        match self {
            Self::Sqlite(store) => store.logs(id, limit).await,
            Self::Redis(store) => store.logs(id, limit).await,
        }
    }

    pub async fn get(&self, id: JobId) -> Result<Option<StoredJob>, StoreError> {
        match self {
            Self::Sqlite(store) => store.get(id).await,
            Self::Redis(store) => store.get(id).await,
        }
    }

    /// Jobs `owner` may see (its own and shared ones), newest first.
    pub async fn list_visible(&self, owner: String, limit: usize) -> Result<Vec<StoredJob>, StoreError> {
        match self {
            Self::Sqlite(store) => store.list_visible(owner, limit).await,
            Self::Redis(store) => store.list_visible(owner, limit).await,
        }
    }

    /// Stops an unfinished job that this instance's live table does not hold. With SQLite there
    /// is none (every unfinished job is in the table), so the record's state is the answer.
    pub async fn cancel_elsewhere(&self, job: &StoredJob) -> Result<CancelOutcome, StoreError> {
        match self {
            Self::Sqlite(_) => Ok(CancelOutcome::Finished(job.view.state)),
            Self::Redis(store) => store.cancel_elsewhere(job).await,
        }
    }
}
