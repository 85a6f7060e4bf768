//! External jobs: work running outside the server (a CI pipeline, a script) that reports its
//! progress over HTTP with the job's bearer token (server only).
//!
//! `create_external` saves a shared job as running and hands out a random token; only its
//! SHA-256 is kept. Each report is checked against the token and the state machine and applied
//! in one critical section of the live table; the caller waits until it is saved and published,
//! so a report that answers 200 is in the store and on the stream.

use super::{
    live::{Live, LiveJob},
    outbox::Pending,
    JobRunner, JobsError,
};
use crate::jobs::{
    job::FieldError,
    model::{JobId, JobState, JobView, Progress},
    progress::eta_secs,
    store::NewJob,
};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

/// Most log lines one report may carry.
const MAX_REPORT_LINES: usize = 1000;

/// A progress report from a producer outside the server.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExternalReport {
    pub done: Option<u64>,
    pub total: Option<u64>,
    pub unit: Option<String>,
    pub stage: Option<String>,
    #[serde(default)]
    pub log: Vec<String>,
    /// `running` (the default), `succeeded`, `failed` or `cancelled`; any other value is refused
    /// when the report is read, with a message naming these four.
    #[serde(default, deserialize_with = "reportable_state")]
    pub state: Option<JobState>,
    pub result: Option<String>,
    pub error: Option<String>,
}

/// The states a producer may report (`queued` and `interrupted` are the server's to give).
#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum Reportable {
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

fn reportable_state<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<JobState>, D::Error> {
    Ok(Option::<Reportable>::deserialize(deserializer)?.map(|state| match state {
        Reportable::Running => JobState::Running,
        Reportable::Succeeded => JobState::Succeeded,
        Reportable::Failed => JobState::Failed,
        Reportable::Cancelled => JobState::Cancelled,
    }))
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl JobRunner {
    /// Creates a record for work running elsewhere; returns it and the token its reports need.
    pub async fn create_external(
        &self,
        label: &str,
        total: Option<u64>,
        unit: &str,
    ) -> Result<(JobView, String), JobsError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(JobsError::ShuttingDown);
        }
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 200 {
            return Err(FieldError::new("label", "must be 1 to 200 characters").into());
        }
        let token = hex::encode(rand::random::<[u8; 24]>());
        let new = NewJob {
            kind: "external".into(),
            label: label.to_string(),
            params: serde_json::json!({}),
            owner: None,
            shared: true,
            external: true,
            token_hash: Some(sha256_hex(&token)),
            progress: Progress { total, unit: unit.to_string(), ..Default::default() },
            state: JobState::Running,
            created_ms: crate::time::now_ms(),
        };
        let (view, published) = self.admit(new, CancellationToken::new(), None).await?;
        if self.inner.store.is_shared() {
            // Reports may come to any instance: the shared record is the job's state, not this
            // instance's table (see `report_external`).
            self.inner.live.lock().remove(view.id);
        }
        published.outcome().await?;
        Ok((view, token))
    }

    /// Applies a report from an external producer holding the job's token.
    pub async fn report_external(&self, id: JobId, token: &str, report: ExternalReport) -> Result<JobView, JobsError> {
        let presented = sha256_hex(token);
        let applied = {
            let mut live = self.inner.live.lock();
            match live.get(id) {
                Some(job) if job.view.external && job.token_hash.as_deref() == Some(presented.as_str()) => {
                    Ok(apply(&mut live, id, report)?)
                }
                Some(job) if job.view.external => return Err(JobsError::BadToken),
                Some(_) => return Err(JobsError::NotFound),
                None => Err(report),
            }
        };
        let report = match applied {
            Ok((view, saved)) => {
                saved.outcome().await?;
                return Ok(view);
            }
            Err(report) => report,
        };
        match self.settled_get(id).await? {
            Some(job)
                if job.view.external
                    && job.token_hash.as_deref() == Some(presented.as_str())
                    && !job.view.state.is_terminal() =>
            {
                // Unfinished and in no table here: a shared store's job (created on any
                // instance). Applied to its record, as if it were in the table for this report.
                let (view, saved) = {
                    let mut live = self.inner.live.lock();
                    live.insert(self.adopt_external(job));
                    let applied = apply(&mut live, id, report);
                    live.remove(id);
                    applied?
                };
                saved.outcome().await?;
                Ok(view)
            }
            Some(job) if job.view.external && job.token_hash.as_deref() == Some(presented.as_str()) => {
                Err(JobsError::Finished(job.view.state.as_str()))
            }
            Some(job) if job.view.external => Err(JobsError::BadToken),
            _ => Err(JobsError::NotFound),
        }
    }
}

/// Applies `report` to the external job `id` inside the caller's critical section; the outcome is
/// that of saving and publishing it.
pub(super) fn apply(live: &mut Live, id: JobId, report: ExternalReport) -> Result<(JobView, Pending<()>), JobsError> {
    let next = report.state.unwrap_or(JobState::Running);
    if report.log.len() > MAX_REPORT_LINES {
        return Err(FieldError::new("log", format!("at most {MAX_REPORT_LINES} lines per report")).into());
    }
    let job: &mut LiveJob = live.get_mut(id).ok_or(JobsError::NotFound)?;
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
    if next.is_terminal() {
        job.view.result = report.result;
        job.view.error = report.error.or_else(|| (next == JobState::Cancelled).then(|| "cancelled".to_string()));
        job.view.progress.eta_secs = None;
        job.view.finished_ms = Some(crate::time::now_ms());
    }
    let lines = report.log.into_iter().map(|line| line.chars().take(500).collect()).collect();
    let change = job.change_with(true, lines, true);
    let view = job.view.clone();
    if next.is_terminal() {
        live.remove(id);
    }
    Ok((view, live.send(change)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_state_is_one_of_four_named_in_the_error() {
        let read = |json: &str| serde_json::from_str::<ExternalReport>(json);
        assert_eq!(read(r#"{"state": "succeeded"}"#).unwrap().state, Some(JobState::Succeeded));
        assert_eq!(read(r#"{"state": null}"#).unwrap().state, None);
        assert_eq!(read(r#"{"done": 1}"#).unwrap().state, None);
        for bad in ["exploded", "queued", "interrupted", "Running"] {
            let err = read(&format!(r#"{{"state": "{bad}"}}"#)).unwrap_err().to_string();
            assert!(err.contains("expected one of `running`, `succeeded`, `failed`, `cancelled`"), "{bad}: {err}");
        }
    }
}
