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
}

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
        problems
    }
}
