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
}

impl JobsSettings {
    /// One message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        if self.workers == 0 {
            vec!["key `pulseboard.jobs-workers`: must be at least 1 (no job would ever run)".to_string()]
        } else {
            Vec::new()
        }
    }
}
