//! The `Job` trait an application implements to run work under the runner, and the context a
//! running job reports through (server only).

use super::model::{JobId, LogLine};
use parking_lot::Mutex;
use std::{future::Future, path::PathBuf, pin::Pin, sync::Arc};
use tokio_util::sync::CancellationToken;

/// Work the runner can execute. Implementations check `ctx.cancelled()` often (at least every few
/// hundred milliseconds of work) so cancel is prompt, and report progress through `ctx`.
///
/// ```ignore
/// struct Backup { dir: PathBuf }
/// impl Job for Backup {
///     fn run(self: Box<Self>, ctx: JobContext) -> JobFuture {
///         Box::pin(async move { ctx.set_total(Some(10), "files"); /* ... */ Ok("done".into()) })
///     }
/// }
/// ```
pub trait Job: Send + 'static {
    fn run(self: Box<Self>, ctx: JobContext) -> JobFuture;
}

pub type JobFuture = Pin<Box<dyn Future<Output = Result<String, JobFailure>> + Send>>;

/// How a job ended when it did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobFailure {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

/// A parameter a user got wrong, reported beside its form field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_string(), message: message.into() }
    }
}

/// What jobs may rely on from the server.
#[derive(Debug, Clone)]
pub struct JobEnv {
    /// File jobs may only read below this directory.
    pub files_root: PathBuf,
}

/// What the running job sees: its id, a reporter and its cancellation token. Cheap to clone and
/// usable from blocking threads.
#[derive(Clone)]
pub struct JobContext {
    pub id: JobId,
    reported: Arc<Mutex<Reported>>,
    cancel: CancellationToken,
}

/// Progress written by the job, read by the runner a few times per second.
#[derive(Debug, Default, Clone)]
pub(crate) struct Reported {
    pub done: u64,
    pub total: Option<u64>,
    pub unit: String,
    pub stage: Option<String>,
    pub new_lines: Vec<LogLine>,
    pub version: u64,
}

/// Log lines kept between two reads by the runner; more are counted, not stored.
const MAX_PENDING_LINES: usize = 500;

impl JobContext {
    pub(crate) fn new(id: JobId, cancel: CancellationToken) -> Self {
        Self { id, reported: Arc::new(Mutex::new(Reported::default())), cancel }
    }

    fn update(&self, f: impl FnOnce(&mut Reported)) {
        let mut reported = self.reported.lock();
        f(&mut reported);
        reported.version += 1;
    }

    pub fn set_total(&self, total: Option<u64>, unit: &str) {
        self.update(|r| {
            r.total = total;
            r.unit = unit.to_string();
        });
    }

    pub fn set_done(&self, done: u64) {
        self.update(|r| r.done = done);
    }

    pub fn advance(&self, by: u64) {
        self.update(|r| r.done = r.done.saturating_add(by));
    }

    pub fn set_stage(&self, stage: &str) {
        self.update(|r| r.stage = Some(stage.to_string()));
        self.log(format!("stage: {stage}"));
    }

    /// Appends a line to the job's log, stamped with the time of this call.
    pub fn log(&self, line: impl Into<String>) {
        let line: String = line.into();
        let at_ms = crate::time::now_ms();
        self.update(|r| {
            if r.new_lines.len() < MAX_PENDING_LINES {
                r.new_lines.push(LogLine::at(at_ms, line.chars().take(500).collect::<String>()));
            }
        });
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// `Err(Cancelled)` once cancel was asked: `ctx.check()?` in a job's loop.
    pub fn check(&self) -> Result<(), JobFailure> {
        if self.cancelled() {
            Err(JobFailure::Cancelled)
        } else {
            Ok(())
        }
    }

    pub fn token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Takes what changed since the last call (the runner's side).
    pub(crate) fn take(&self) -> Reported {
        let mut reported = self.reported.lock();
        let lines = std::mem::take(&mut reported.new_lines);
        Reported { new_lines: lines, ..reported.clone() }
    }
}
