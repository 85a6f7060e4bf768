//! The cluster's job queue: a Redis stream (`jobs:queue`) read by every instance's workers in one
//! consumer group, and each instance's cancel list (server only).
//!
//! Life of an entry: a new built-in job is saved and added in one step (`insert`); a worker reads
//! it (`XREADGROUP ... >`: it is now pending for that worker's instance) and takes the job
//! (`take`: queued → running, this worker's); the entry is acknowledged and deleted when the job
//! leaves its live state (the scripts' `settle`). While the job runs, its instance resets the
//! entry's idle time every third of the claim timeout (`refresh`). An entry idle longer than the
//! claim timeout belongs to an instance that stopped: any instance claims it (`XAUTOCLAIM`) and
//! marks the job interrupted (`interrupt`), so it can be retried instead of hanging in running.
//!
//! Blocking reads (`XREADGROUP BLOCK`, `BLPOP`) run on connections of their own, never on the
//! shared command connection.

use super::{
    redis::{cancel_prefix, job_key, limits_key, queue_key, RedisStore, GROUP},
    StoreError, StoredJob,
};
use crate::jobs::model::{JobId, JobState, JobView};
use crate::streams::hub::redis_connect as connect;
use redis::{aio::MultiplexedConnection, streams::StreamReadReply};
use std::time::Duration;

/// How long one blocking read of the queue or the cancel list waits when nothing comes.
pub const BLOCK: Duration = Duration::from_millis(1000);

/// `XAUTOCLAIM`'s answer: where to go on, the claimed entries (id, fields), deleted ids.
type AutoClaimReply = (String, Vec<(String, Vec<String>)>, Vec<String>);

/// What taking a queued job found.
pub enum Take {
    /// It is this instance's to run now.
    Taken(Box<StoredJob>),
    /// It is not queued any more (cancelled meanwhile, or unknown): its entry is dropped.
    Skipped,
    /// Its queued event is not out yet: take it again in a moment.
    NotYet,
}

impl RedisStore {
    /// This instance's name in the consumer group.
    pub fn consumer(&self) -> &str {
        &self.inner.consumer
    }

    /// After how long without a sign of life a running job's entry may be claimed by another
    /// instance.
    pub fn claim_timeout(&self) -> Duration {
        self.inner.claim_timeout
    }

    /// A connection of its own for blocking reads; makes the consumer group if it is missing.
    pub async fn blocking_connection(&self) -> Result<MultiplexedConnection, StoreError> {
        let unavailable = |err: redis::RedisError| StoreError::Unavailable(format!("the job queue: {err}"));
        let mut connection = connect::blocking_connection(&self.inner.client, BLOCK).await.map_err(unavailable)?;
        let made: redis::RedisResult<()> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(queue_key())
            .arg(GROUP)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        match made {
            Err(err) if !err.to_string().contains("BUSYGROUP") => Err(unavailable(err)),
            _ => Ok(connection),
        }
    }

    /// Waits (up to [`BLOCK`]) for the next queued entry for this instance: its id and job.
    pub async fn next_entry(
        &self,
        connection: &mut MultiplexedConnection,
    ) -> Result<Option<(String, Option<JobId>)>, StoreError> {
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(GROUP)
            .arg(&self.inner.consumer)
            .arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(BLOCK.as_millis() as u64)
            .arg("STREAMS")
            .arg(queue_key())
            .arg(">")
            .query_async(connection)
            .await
            .map_err(|err| StoreError::Unavailable(format!("the job queue: {err}")))?;
        let entry = reply.and_then(|reply| reply.keys.into_iter().next()).and_then(|key| key.ids.into_iter().next());
        Ok(entry.map(|entry| {
            let job = entry.get::<String>("job").and_then(|id| id.parse().ok());
            (entry.id, job)
        }))
    }

    /// Waits (up to [`BLOCK`]) for a request to cancel a job this instance runs.
    pub async fn next_cancel(&self, connection: &mut MultiplexedConnection) -> Result<Option<JobId>, StoreError> {
        let popped: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(format!("{}{}", cancel_prefix(), self.inner.consumer))
            .arg(BLOCK.as_secs_f64())
            .query_async(connection)
            .await
            .map_err(|err| StoreError::Unavailable(format!("the cancel list: {err}")))?;
        Ok(popped.and_then(|(_, id)| id.parse().ok()))
    }

    /// Records that a job's queued event is out: workers may take it now.
    pub async fn announce(&self, id: JobId) -> Result<(), StoreError> {
        self.command("the job was not announced", |mut c| async move {
            redis::cmd("HSET").arg(job_key(id)).arg("announced").arg("1").query_async::<()>(&mut c).await
        })
        .await
    }

    /// Takes the job of a queue entry this instance read. With `force`, even if its queued event
    /// is not out (its instance may have stopped before announcing it).
    pub async fn take(&self, entry: &str, id: JobId, force: bool) -> Result<Take, StoreError> {
        let script = &self.inner.scripts.take;
        let consumer = self.inner.consumer.clone();
        let taken: i64 = self
            .command("the job was not taken", |mut c| async move {
                script
                    .key(job_key(id))
                    .arg(consumer)
                    .arg(entry)
                    .arg(if force { "1" } else { "0" })
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        match taken {
            1 => match self.get(id).await? {
                Some(job) => Ok(Take::Taken(Box::new(job))),
                None => Ok(Take::Skipped),
            },
            2 => Ok(Take::NotYet),
            _ => {
                self.drop_entry(entry).await?;
                Ok(Take::Skipped)
            }
        }
    }

    /// Acknowledges and deletes an entry whose job will not run.
    pub async fn drop_entry(&self, entry: &str) -> Result<(), StoreError> {
        self.command("the queue entry was not dropped", |mut c| async move {
            redis::pipe()
                .cmd("XACK")
                .arg(queue_key())
                .arg(GROUP)
                .arg(entry)
                .ignore()
                .cmd("XDEL")
                .arg(queue_key())
                .arg(entry)
                .ignore()
                .query_async::<()>(&mut c)
                .await
        })
        .await
    }

    /// Keeps the claims of the entries this instance runs fresh; returns those it has lost.
    pub async fn refresh(&self, entries: Vec<String>) -> Result<Vec<String>, StoreError> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let script = &self.inner.scripts.refresh;
        let consumer = self.inner.consumer.clone();
        self.command("the job claims were not refreshed", |mut c| async move {
            let mut call = script.key(queue_key());
            call.arg(GROUP).arg(consumer);
            for entry in &entries {
                call.arg(entry);
            }
            call.invoke_async(&mut c).await
        })
        .await
    }

    /// Claims entries idle longer than the claim timeout (their instance stopped): each entry
    /// and its job.
    pub async fn reclaim(&self) -> Result<Vec<(String, Option<JobId>)>, StoreError> {
        let consumer = self.inner.consumer.clone();
        let idle = self.inner.claim_timeout.as_millis() as u64;
        let (_, claimed, _): AutoClaimReply = self
            .command("the job queue was not read", |mut c| async move {
                redis::cmd("XAUTOCLAIM")
                    .arg(queue_key())
                    .arg(GROUP)
                    .arg(consumer)
                    .arg(idle)
                    .arg("0-0")
                    .arg("COUNT")
                    .arg(32)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        Ok(claimed
            .into_iter()
            .map(|(entry, fields)| {
                let job = fields.chunks(2).find(|pair| pair[0] == "job").and_then(|pair| pair.get(1)?.parse().ok());
                (entry, job)
            })
            .collect())
    }

    /// Marks the job of a claimed entry interrupted (if it was still queued or running) and
    /// drops the entry; the new view, if it changed (to publish).
    pub async fn interrupt(&self, entry: &str, id: JobId, message: &str) -> Result<Option<JobView>, StoreError> {
        let Some(job) = self.get(id).await? else {
            self.drop_entry(entry).await?;
            return Ok(None);
        };
        let mut view = job.view;
        view.state = JobState::Interrupted;
        view.error = Some(message.to_string());
        view.progress.eta_secs = None;
        view.progress.per_second = None;
        view.finished_ms = Some(crate::time::now_ms());
        let script = &self.inner.scripts.interrupt;
        let json = serde_json::to_string(&view).expect("views serialise");
        let changed: i64 = self
            .command("the job was not marked interrupted", |mut c| async move {
                script
                    .key(job_key(id))
                    .key(limits_key())
                    .key(queue_key())
                    .arg(GROUP)
                    .arg(json)
                    .arg(entry)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok((changed == 1).then_some(view))
    }
}
