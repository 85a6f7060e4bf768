//! External jobs in the Redis store: the silence watch's side (server only).
//!
//! A producer's report may go to any instance, so no instance's memory knows when an external
//! job last heard from its producer. The record does: every report's save (`save` script) sets the
//! job's score in `jobs:external:running` to the time it was saved, and the job leaves that set
//! when it ends. Any instance's silence watch reads the jobs whose score is older than the
//! allowed silence and fails each with the `silence` script, which checks the score again at that
//! instant: a report saved in between keeps its job running, and a job failed by one instance's
//! watch is not failed again by another's (the script finds it ended), so its event goes out once.

use super::{
    redis::{externals_key, on_record, RedisStore, GROUP},
    StoreError,
};
use crate::jobs::model::{JobId, JobView};

/// Most silent jobs one round of the watch fails (the rest wait for the next round).
const ROUND: usize = 100;

impl RedisStore {
    /// Running external jobs whose producer last reported at or before `cutoff_ms`, oldest first.
    pub async fn silent_externals(&self, cutoff_ms: i64) -> Result<Vec<JobId>, StoreError> {
        self.command("the external jobs were not read", |mut c| async move {
            redis::cmd("ZRANGEBYSCORE")
                .arg(externals_key())
                .arg("-inf")
                .arg(cutoff_ms)
                .arg("LIMIT")
                .arg(0)
                .arg(ROUND)
                .query_async(&mut c)
                .await
        })
        .await
    }

    /// Saves `failed` (the job's view, failed for silence) if the job is still running and has
    /// not reported since `cutoff_ms`; whether it did (then its event is to be published).
    pub async fn fail_silent(&self, failed: &JobView, cutoff_ms: i64) -> Result<bool, StoreError> {
        let script = &self.inner.scripts.silence;
        let (id, json) = (failed.id, serde_json::to_string(failed).expect("views serialise"));
        let changed: i64 = self
            .command("the silent job was not failed", |mut c| async move {
                on_record(script, id).arg(GROUP).arg(id).arg(cutoff_ms).arg(json).invoke_async(&mut c).await
            })
            .await?;
        Ok(changed == 1)
    }
}
