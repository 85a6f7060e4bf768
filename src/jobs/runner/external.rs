//! External jobs: work running outside the server (a CI pipeline, a script) that reports its
//! progress over HTTP with the job's bearer token (server only).
//!
//! `create_external` saves a shared job as running and hands out a random token; only its
//! SHA-256 is kept. Each report is checked against the token, the state machine and the job's
//! figures (`done` never above `total`) and applied in one critical section of the live table;
//! the caller waits until it is saved and published, so a report that answers 200 is in the
//! store and on the stream. A refused report changes nothing.
//!
//! Silence: a producer that stops reporting (it crashed, its machine went away) would leave its
//! job running forever. The silence watch ([`JobRunner::watch_external_silence`]) fails every
//! external job whose last accepted report (or creation) is older than the configured silence,
//! with "producer went silent", in the same kind of critical section as a report: a report and
//! the watch never both end a job, and a report after it is refused as finished (409). On a
//! shared store the watch also covers the cluster's external jobs (`external_cluster`).

use super::{
    live::{Live, LiveJob},
    outbox::Pending,
    JobRunner, JobsError,
};
use crate::jobs::{
    job::FieldError,
    model::{JobId, JobState, JobView, LogLine, Progress},
    progress::eta_secs,
    store::NewJob,
};
use serde::{Deserialize, Deserializer};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What a job failed by silence says, first of all.
pub const SILENT: &str = "producer went silent";

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

    /// The current state of the external job `id` (anyone may read it: external jobs are shared).
    /// Unknown ids and jobs that are not external are [`JobsError::NotFound`].
    pub async fn external_job(&self, id: JobId) -> Result<JobView, JobsError> {
        if let Some(job) = self.inner.live.lock().get(id) {
            return if job.view.external { Ok(job.view.clone()) } else { Err(JobsError::NotFound) };
        }
        match self.settled_get(id).await? {
            Some(job) if job.view.external => Ok(job.view),
            _ => Err(JobsError::NotFound),
        }
    }

    /// Fails external jobs whose producer has not reported for `silence`, checking a few times
    /// per `silence` (at least every second) until shutdown begins. Call it once, after `new`.
    pub fn watch_external_silence(&self, silence: Duration) {
        let runner = self.clone();
        let cluster = self.inner.store.queue().cloned();
        let every = (silence / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        self.inner.tasks.spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticker.tick() => {
                        runner.fail_silent(silence);
                        if let Some(cluster) = &cluster {
                            runner.fail_silent_in_cluster(cluster, silence).await;
                        }
                    }
                    _ = runner.inner.shutdown.cancelled() => break,
                }
            }
        });
    }

    /// Ends as failed every external job of the live table silent for `silence` or longer (one
    /// critical section).
    fn fail_silent(&self, silence: Duration) {
        let mut live = self.inner.live.lock();
        let silent: Vec<JobId> = live
            .jobs()
            .filter(|job| job.view.external && job.last_report.elapsed() >= silence)
            .map(|job| job.view.id)
            .collect();
        for id in silent {
            let Some(mut job) = live.remove(id) else { continue };
            tracing::info!(id, secs = silence.as_secs(), "external job failed: its producer went silent");
            let line = silence_failure(&mut job.view, silence);
            let change = job.change_with(true, vec![line], true);
            let _ = live.send(change);
        }
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

/// Marks `view` failed because its producer was silent for `silence`; returns the log line that
/// says so.
pub(super) fn silence_failure(view: &mut JobView, silence: Duration) -> LogLine {
    let secs = silence.as_secs();
    let message = format!("{SILENT}: no report for {secs} s (setting `jobs-external-silence-secs`)");
    view.state = JobState::Failed;
    view.error = Some(message.clone());
    view.progress.eta_secs = None;
    view.progress.per_second = None;
    view.finished_ms = Some(crate::time::now_ms());
    LogLine::at(crate::time::now_ms(), message)
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
    check_figures(&job.view.progress, &report)?;
    job.last_report = Instant::now();
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
    let at_ms = crate::time::now_ms();
    let lines =
        report.log.into_iter().map(|line| LogLine::at(at_ms, line.chars().take(500).collect::<String>())).collect();
    let mut change = job.change_with(true, lines, true);
    // On a shared store another instance may have ended the job since it was read (its silence
    // watch): the producer then hears 409, not 200 for a report that was not applied.
    change.refused_if_superseded = true;
    let view = job.view.clone();
    if next.is_terminal() {
        live.remove(id);
    }
    Ok((view, live.send(change)))
}

/// `done` may not pass `total`, as reported or as the job already has them; the field named is
/// the one the report moved (`done` when it moved both).
fn check_figures(current: &Progress, report: &ExternalReport) -> Result<(), FieldError> {
    let done = report.done.unwrap_or(current.done);
    let Some(total) = report.total.or(current.total) else { return Ok(()) };
    if done <= total {
        return Ok(());
    }
    Err(match (report.done, report.total) {
        (Some(_), Some(_)) => {
            FieldError::new("done", format!("{done} is more than the total reported with it ({total})"))
        }
        (Some(_), None) => FieldError::new("done", format!("{done} is more than the job's total ({total})")),
        _ => FieldError::new("total", format!("{total} is less than what is already done ({done})")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_never_passes_total() {
        let report = |json: &str| serde_json::from_str::<ExternalReport>(json).unwrap();
        let current = Progress { done: 4, total: Some(10), ..Default::default() };
        assert!(check_figures(&current, &report(r#"{"done": 10}"#)).is_ok());
        assert!(check_figures(&current, &report(r#"{"total": 4}"#)).is_ok());
        assert!(check_figures(&current, &report(r#"{"done": 20, "total": 20}"#)).is_ok());
        let refused = |json: &str| check_figures(&current, &report(json)).unwrap_err();
        let err = refused(r#"{"done": 11}"#);
        assert_eq!((err.field.as_str(), err.message.as_str()), ("done", "11 is more than the job's total (10)"));
        assert_eq!(refused(r#"{"done": 5, "total": 3}"#).field, "done");
        let err = refused(r#"{"total": 3}"#);
        assert_eq!((err.field.as_str(), err.message.as_str()), ("total", "3 is less than what is already done (4)"));
        // No total yet: any done goes.
        assert!(check_figures(&Progress::default(), &report(r#"{"done": 99}"#)).is_ok());
    }

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
