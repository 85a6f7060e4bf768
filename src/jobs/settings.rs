//! The job runner's settings (`jobs-*` keys).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsSettings {
    /// Jobs running at once; more wait in the queue.
    #[serde(rename = "jobs-workers")]
    pub workers: usize,
    /// File jobs may only read below this directory.
    #[serde(rename = "jobs-files-root")]
    pub files_root: PathBuf,
    /// Built-in jobs queued or running at once for one browser session...
    #[serde(rename = "jobs-max-per-session")]
    pub max_per_session: usize,
    /// ...and over all sessions.
    #[serde(rename = "jobs-max-total")]
    pub max_total: usize,
    /// With a shared (Redis) store: seconds a running job's instance may go without renewing its
    /// claim before another instance claims the job and marks it interrupted.
    #[serde(rename = "jobs-claim-timeout-secs")]
    pub claim_timeout_secs: u64,
    /// An external job whose producer has not reported for this long fails ("producer went
    /// silent") instead of running forever.
    #[serde(rename = "jobs-external-silence-secs")]
    pub external_silence_secs: u64,
}

/// The longest `jobs-external-silence-secs` (a week).
pub const MAX_EXTERNAL_SILENCE_SECS: u64 = 7 * 24 * 3600;

impl JobsSettings {
    pub fn claim_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.claim_timeout_secs)
    }

    /// One message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.workers == 0 {
            problems.push("key `pulseboard.jobs-workers`: must be at least 1 (no job would ever run)".to_string());
        }
        for (key, value) in [("jobs-max-per-session", self.max_per_session), ("jobs-max-total", self.max_total)] {
            if value == 0 {
                problems.push(format!("key `pulseboard.{key}`: must be at least 1 (no job could ever start)"));
            }
        }
        if self.claim_timeout_secs == 0 || self.claim_timeout_secs > 86_400 {
            problems.push(format!(
                "key `pulseboard.jobs-claim-timeout-secs`: {} is not between 1 and 86400 seconds",
                self.claim_timeout_secs
            ));
        }
        if self.max_per_session > self.max_total {
            problems.push(format!(
                "key `pulseboard.jobs-max-per-session`: {} is more than `jobs-max-total` ({})",
                self.max_per_session, self.max_total
            ));
        }
        if !(1..=MAX_EXTERNAL_SILENCE_SECS).contains(&self.external_silence_secs) {
            problems.push(format!(
                "key `pulseboard.jobs-external-silence-secs`: {} is not between 1 and {MAX_EXTERNAL_SILENCE_SECS} \
                 (seconds an external job may go without a report before it fails)",
                self.external_silence_secs
            ));
        }
        problems
    }

    pub fn external_silence(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.external_silence_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(external_silence_secs: u64) -> JobsSettings {
        JobsSettings {
            workers: 2,
            files_root: ".".into(),
            max_per_session: 20,
            max_total: 200,
            claim_timeout_secs: 15,
            external_silence_secs,
        }
    }

    #[test]
    fn external_silence_is_between_a_second_and_a_week() {
        assert!(settings(1).validate().is_empty());
        assert!(settings(MAX_EXTERNAL_SILENCE_SECS).validate().is_empty());
        for bad in [0, MAX_EXTERNAL_SILENCE_SECS + 1] {
            let problems = settings(bad).validate();
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert!(problems[0].contains("jobs-external-silence-secs") && problems[0].contains(&bad.to_string()));
        }
    }
}
