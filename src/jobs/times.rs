//! Times as the Jobs pages show them: when a job started, how long it ran or has been running,
//! when each log line was written, and the clock that keeps running times ticking.
//!
//! Shared by the server render and the browser, so both print the same text for the same
//! instant: absolute times are UTC (the server cannot know the reader's zone, and a text that
//! changed at hydration would jump), relative ones ("3 min ago") are computed against the
//! [`Clock`]. The clock starts at the server's time of the snapshot, so the hydrated page renders
//! what the server rendered, then follows the browser's clock, once a second.

use super::model::{human_duration, JobState, JobView};
use leptos::prelude::*;
use time::{format_description::well_known::Rfc3339, macros::format_description, OffsetDateTime};

/// Now, in milliseconds since the epoch, ticking once a second in the browser.
#[derive(Debug, Clone, Copy)]
pub struct Clock(pub Signal<i64>);

impl Clock {
    /// A clock that reads `server_now_ms` until the browser's first tick, and puts itself in
    /// context for the rows below.
    pub fn provide(server_now_ms: i64) -> Self {
        let now = RwSignal::new(server_now_ms);
        #[cfg(feature = "hydrate")]
        {
            let tick = move || now.set(js_sys::Date::now() as i64);
            if let Ok(handle) = set_interval_with_handle(tick, std::time::Duration::from_secs(1)) {
                on_cleanup(move || handle.clear());
            }
        }
        let clock = Self(now.into());
        provide_context(clock);
        clock
    }

    pub fn get(&self) -> i64 {
        self.0.get()
    }
}

fn utc(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

/// RFC 3339, for `<time datetime>`: `2026-12-02T04:10:03.123Z`.
pub fn iso(ms: i64) -> String {
    utc(ms).and_then(|at| at.format(&Rfc3339).ok()).unwrap_or_default()
}

/// For a tooltip: `2026-12-02 04:10:03 UTC`.
pub fn wall(ms: i64) -> String {
    utc(ms)
        .and_then(|at| at.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC")).ok())
        .unwrap_or_default()
}

/// The time of day of a log line: `04:10:03` (UTC).
pub fn clock_time(ms: i64) -> String {
    utc(ms).and_then(|at| at.format(format_description!("[hour]:[minute]:[second]")).ok()).unwrap_or_default()
}

/// "just now", "12 s ago", "3 min ago", "2 h ago", "4 d ago".
pub fn ago(ms: i64) -> String {
    let secs = ms.max(0) / 1000;
    match secs {
        0..=4 => "just now".to_string(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// A finished run's length: tenths of a second below 10 s ("0.4 s"), else as [`human_duration`].
fn run_length(ms: i64) -> String {
    let ms = ms.max(0);
    if ms < 10_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else {
        human_duration(ms as f64 / 1000.0)
    }
}

/// When a row's job began, and how long it has taken, as of `now_ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    /// "started" or "queued".
    pub since: &'static str,
    pub at_ms: i64,
    /// "running for 12 s", "ran 3.2 s", "waiting 4 s", "never ran".
    pub duration: String,
}

pub fn timing(job: &JobView, now_ms: i64) -> Timing {
    let queued = |duration: String| Timing { since: "queued", at_ms: job.created_ms, duration };
    match (job.state, job.started_ms) {
        (JobState::Queued, _) => {
            queued(format!("waiting {}", human_duration((now_ms - job.created_ms).max(0) as f64 / 1000.0)))
        }
        (_, None) => queued("never ran".to_string()),
        (state, Some(started)) if !state.is_terminal() => Timing {
            since: "started",
            at_ms: started,
            duration: format!("running for {}", human_duration((now_ms - started).max(0) as f64 / 1000.0)),
        },
        (_, Some(started)) => Timing {
            since: "started",
            at_ms: started,
            duration: format!("ran {}", run_length(job.finished_ms.unwrap_or(now_ms) - started)),
        },
    }
}

/// A job's parameters on one line, `stages=4, step_ms=300` (text values as they are); `None`
/// when there are none.
pub fn params_text(params: &serde_json::Value) -> Option<String> {
    let object = params.as_object().filter(|object| !object.is_empty())?;
    let shown: Vec<String> = object
        .iter()
        .map(|(name, value)| match value {
            serde_json::Value::String(text) => format!("{name}={}", text.trim()),
            other => format!("{name}={other}"),
        })
        .collect();
    Some(shown.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::Progress;

    fn job(state: JobState, started_ms: Option<i64>, finished_ms: Option<i64>) -> JobView {
        JobView {
            id: 1,
            kind: "pipeline".into(),
            label: "Pipeline".into(),
            state,
            progress: Progress::default(),
            stage: None,
            result: None,
            error: None,
            shared: false,
            external: false,
            created_ms: 1_000,
            started_ms,
            finished_ms,
            params: serde_json::json!({"stages": "4", "step_ms": 300}),
            owner_tag: None,
        }
    }

    #[test]
    fn utc_texts() {
        let at = 1_796_184_603_123; // 2026-12-02 04:10:03.123 UTC
        assert_eq!(iso(at), "2026-12-02T04:10:03.123Z");
        assert_eq!(wall(at), "2026-12-02 04:10:03 UTC");
        assert_eq!(clock_time(at), "04:10:03");
    }

    #[test]
    fn relative_times() {
        assert_eq!(ago(-5), "just now", "a clock a little behind the server's");
        assert_eq!(ago(4_999), "just now");
        assert_eq!(ago(12_000), "12 s ago");
        assert_eq!(ago(200_000), "3 min ago");
        assert_eq!(ago(7_300_000), "2 h ago");
        assert_eq!(ago(4 * 86_400_000), "4 d ago");
    }

    #[test]
    fn a_row_says_how_long_in_each_state() {
        let at = |job: &JobView, now| timing(job, now);
        assert_eq!(at(&job(JobState::Queued, None, None), 5_000).duration, "waiting 4 s");
        let running = job(JobState::Running, Some(2_000), None);
        assert_eq!(
            at(&running, 14_400),
            Timing { since: "started", at_ms: 2_000, duration: "running for 12 s".into() }
        );
        assert_eq!(at(&running, 1_000).duration, "running for 0 s", "never negative");
        let done = job(JobState::Succeeded, Some(2_000), Some(2_420));
        assert_eq!(at(&done, 99_000).duration, "ran 0.4 s", "a finished run does not tick");
        assert_eq!(at(&job(JobState::Failed, Some(0), Some(200_000)), 0).duration, "ran 3 min 20 s");
        let never = at(&job(JobState::Cancelled, None, Some(3_000)), 9_000);
        assert_eq!((never.since, never.duration.as_str()), ("queued", "never ran"));
    }

    #[test]
    fn parameters_on_one_line() {
        assert_eq!(params_text(&job(JobState::Queued, None, None).params).as_deref(), Some("stages=4, step_ms=300"));
        assert_eq!(params_text(&serde_json::json!({})), None);
        assert_eq!(params_text(&serde_json::Value::Null), None);
    }
}
