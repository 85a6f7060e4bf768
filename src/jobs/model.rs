//! What a job looks like to pages and clients: its state, progress and the events that move it.
//! Shared by the server (which produces these) and the browser (which renders them).

use crate::streams::{EventType, EventTypeConst};
use serde::{Deserialize, Serialize};

pub type JobId = i64;

/// Log lines a job's detail view shows: the server sends this many with a snapshot, and the page
/// keeps this many as lines stream in.
pub const LOG_TAIL: usize = 200;

/// Where a job is in its life. Terminal states never change again; a retry is a new job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// Was queued or running when the server stopped.
    Interrupted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Queued, Self::Running, Self::Succeeded, Self::Failed, Self::Cancelled, Self::Interrupted]
            .into_iter()
            .find(|state| state.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }

    /// The transitions the runner allows; anything else is a bug or a bad external report.
    pub fn can_become(self, next: JobState) -> bool {
        use JobState::*;
        matches!(
            (self, next),
            (Queued, Running)
                | (Queued, Cancelled)
                | (Queued, Interrupted)
                | (Running, Running)
                | (Running, Succeeded)
                | (Running, Failed)
                | (Running, Cancelled)
                | (Running, Interrupted)
        )
    }

    pub fn can_retry(self) -> bool {
        matches!(self, Self::Failed | Self::Cancelled | Self::Interrupted)
    }
}

/// Progress as a page shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub done: u64,
    /// `None` while the total is unknown (e.g. still listing files).
    pub total: Option<u64>,
    /// What `done` and `total` count: "bytes", "numbers", "steps"...
    pub unit: String,
    /// Units per second, smoothed.
    pub per_second: Option<f64>,
    /// Seconds left at the current pace.
    pub eta_secs: Option<f64>,
}

impl Progress {
    /// 0–100, `None` while the total is unknown.
    pub fn percent(&self) -> Option<f64> {
        let total = self.total?;
        if total == 0 {
            return Some(100.0);
        }
        Some((self.done.min(total) as f64 / total as f64 * 100.0).clamp(0.0, 100.0))
    }
}

/// A job as pages list it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobView {
    pub id: JobId,
    pub kind: String,
    pub label: String,
    pub state: JobState,
    pub progress: Progress,
    pub stage: Option<String>,
    /// A short human summary of the result (e.g. "1,229 files, 3.1 GB").
    pub result: Option<String>,
    pub error: Option<String>,
    /// Visible to every session, not only the one that started it.
    pub shared: bool,
    /// Reported over HTTP by a producer outside the server.
    pub external: bool,
    pub created_ms: i64,
    /// When it began running: `None` while queued, and for a job cancelled before it ran.
    #[serde(default)]
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    /// The parameters it was started with, as the form or API sent them (a JSON object; empty
    /// for external jobs). A retry runs with the same.
    #[serde(default)]
    pub params: serde_json::Value,
    /// The tag of the browser session that started it ([`owner_tag`]), which alone may cancel or
    /// retry it; `None` when no session owns it (external jobs). Pages compare it with the
    /// viewer's own tag to offer Cancel and Retry only on the viewer's jobs.
    #[serde(default)]
    pub owner_tag: Option<String>,
}

impl JobView {
    /// Whether the session tagged `viewer_tag` started this job.
    pub fn owned_by(&self, viewer_tag: &str) -> bool {
        self.owner_tag.as_deref() == Some(viewer_tag)
    }
}

/// What pages may learn of a job's owner key: a one-way tag of it. The key itself names the
/// owner's private topic (`private.jobs.<key>`), so it is never sent with a shared job; the tag
/// only tells a session which jobs are its own.
#[cfg(feature = "ssr")]
pub fn owner_tag(owner: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(format!("pulseboard job owner tag\0{owner}").as_bytes())[..8])
}

/// One line of a job's log and when it was written (milliseconds since the Unix epoch, server
/// time; `None` for lines kept from before times were recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    pub at_ms: Option<i64>,
    pub text: String,
}

impl LogLine {
    /// A line written at `at_ms`.
    pub fn at(at_ms: i64, text: impl Into<String>) -> Self {
        Self { at_ms: Some(at_ms), text: text.into() }
    }
}

/// What a jobs stream carries. Every `Job` event holds the whole view, so applying one twice is
/// harmless and a page needs no other state to render it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
// Built once per change and serialised at once; boxing the view would only add an allocation and
// make every page's pattern on `Job { job }` unwrap a box.
#[allow(clippy::large_enum_variant)]
pub enum JobEvent {
    Job { job: JobView },
    Log { id: JobId, lines: Vec<LogLine> },
}

impl JobEvent {
    /// The SSE event type it is published with.
    pub fn event_type(&self) -> EventTypeConst {
        const JOB: EventTypeConst = EventType::constant("job");
        const LOG: EventTypeConst = EventType::constant("log");
        match self {
            Self::Job { .. } => JOB,
            Self::Log { .. } => LOG,
        }
    }
}

/// Human units for sizes and rates on the page.
pub fn human_amount(value: f64, unit: &str) -> String {
    if unit == "bytes" {
        let units = ["B", "KB", "MB", "GB", "TB"];
        let mut v = value;
        let mut i = 0;
        while v >= 1000.0 && i < units.len() - 1 {
            v /= 1000.0;
            i += 1;
        }
        return if i == 0 { format!("{v:.0} {}", units[i]) } else { format!("{v:.1} {}", units[i]) };
    }
    if value >= 1_000_000.0 {
        format!("{:.1}M {unit}", value / 1_000_000.0)
    } else if value >= 10_000.0 {
        format!("{:.0}k {unit}", value / 1000.0)
    } else {
        format!("{value:.0} {unit}")
    }
}

/// How far a job is, the unit named once when both amounts share it: "3 of 20 steps",
/// "12k of 3.0M numbers", but "999 B of 3.1 GB".
pub fn human_progress(done: f64, total: f64, unit: &str) -> String {
    let (done, total) = (human_amount(done, unit), human_amount(total, unit));
    let unit_of = |text: &str| text.rsplit_once(' ').map(|(_, unit)| unit.to_string());
    match (done.rsplit_once(' '), unit_of(&total)) {
        (Some((amount, done_unit)), Some(total_unit)) if done_unit == total_unit => format!("{amount} of {total}"),
        _ => format!("{done} of {total}"),
    }
}

/// "1 h 02 min", "3 min 20 s", "12 s".
pub fn human_duration(secs: f64) -> String {
    let secs = secs.max(0.0).round() as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {:02} s", secs / 60, secs % 60),
        _ => format!("{} h {:02} min", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_handles_unknown_zero_and_overshoot() {
        let mut p = Progress { done: 50, total: Some(200), ..Default::default() };
        assert_eq!(p.percent(), Some(25.0));
        p.total = None;
        assert_eq!(p.percent(), None);
        p.total = Some(0);
        assert_eq!(p.percent(), Some(100.0));
        p.total = Some(10);
        assert_eq!(p.percent(), Some(100.0));
    }

    #[test]
    fn state_machine() {
        use JobState::*;
        assert!(Queued.can_become(Running));
        assert!(Queued.can_become(Cancelled));
        assert!(Running.can_become(Succeeded));
        assert!(!Succeeded.can_become(Running));
        assert!(!Cancelled.can_become(Succeeded));
        assert!(!Queued.can_become(Succeeded), "a job runs before it succeeds");
        assert!(Interrupted.can_retry() && Failed.can_retry() && !Succeeded.can_retry());
        for state in [Queued, Running, Succeeded, Failed, Cancelled, Interrupted] {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn owner_tags_are_stable_distinct_and_not_the_key() {
        let key = "00112233445566778899aabbccddeeff";
        assert_eq!(owner_tag(key), owner_tag(key));
        assert_ne!(owner_tag(key), owner_tag("ffeeddccbbaa99887766554433221100"));
        assert!(!owner_tag(key).contains(key) && !key.contains(&owner_tag(key)));
        assert_eq!(owner_tag(key).len(), 16);
    }

    #[test]
    fn human_units() {
        assert_eq!(human_amount(999.0, "bytes"), "999 B");
        assert_eq!(human_amount(3_100_000_000.0, "bytes"), "3.1 GB");
        assert_eq!(human_amount(12_345.0, "numbers"), "12k numbers");
        assert_eq!(human_progress(1.0, 20.0, "steps"), "1 of 20 steps");
        assert_eq!(human_progress(12_345.0, 3_000_000.0, "numbers"), "12k of 3.0M numbers");
        assert_eq!(human_progress(999.0, 3_100_000_000.0, "bytes"), "999 B of 3.1 GB");
        assert_eq!(human_progress(1_200_000.0, 3_100_000.0, "bytes"), "1.2 of 3.1 MB");
        assert_eq!(human_duration(12.4), "12 s");
        assert_eq!(human_duration(200.0), "3 min 20 s");
        assert_eq!(human_duration(3720.0), "1 h 02 min");
    }
}
