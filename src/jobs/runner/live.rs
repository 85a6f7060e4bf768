//! The live table: every unfinished job, internal or external, with what only a running job needs
//! (owner, cancel token, rate meter, token hash) (server only).
//!
//! The table sits behind a `parking_lot` mutex held for short critical sections with no `.await`
//! inside (its guard is not `Send`, so a spawned task cannot hold it across one). The outbox is
//! reached only through the guard: a change is queued in the same critical section that made it,
//! which is what keeps the events of a job in order (see `outbox`).
//!
//! [`LiveJob::new`] is the one place a job's view and live record are built.

use super::{
    outbox::{Change, Outbox, Pending},
    owner_topic, shared_topic, JobsError, Viewer,
};
use crate::jobs::{
    model::{owner_tag, JobId, JobState, JobView, LogLine},
    progress::RateMeter,
    store::{NewJob, Store},
};
use crate::streams::{hub::EventId, TopicName};
use std::{collections::HashMap, future::Future, time::Instant};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// A job that has not finished yet.
pub(super) struct LiveJob {
    pub view: JobView,
    pub owner: Option<String>,
    /// Where its events go: the owner's private topic, or the shared one.
    pub topic: TopicName,
    pub cancel: CancellationToken,
    pub meter: RateMeter,
    pub started: Instant,
    pub last_persist: Instant,
    /// When its producer last reported (external jobs; see `external`'s silence watch).
    pub last_report: Instant,
    pub token_hash: Option<String>,
    /// Its place under the job limits (built-in jobs), given back when the record goes.
    pub quota: Option<super::JobPermit>,
}

impl LiveJob {
    /// The live record of a job just saved as `id`.
    pub fn new(id: JobId, new: NewJob, cancel: CancellationToken) -> Self {
        let topic = topic_of(new.owner.as_deref(), new.shared);
        let view = JobView {
            id,
            kind: new.kind,
            label: new.label,
            state: new.state,
            progress: new.progress,
            stage: None,
            result: None,
            error: None,
            shared: new.shared,
            external: new.external,
            created_ms: new.created_ms,
            // An external job is running from the moment it is created.
            started_ms: (new.state == JobState::Running).then_some(new.created_ms),
            finished_ms: None,
            params: new.params,
            owner_tag: new.owner.as_deref().map(owner_tag),
        };
        Self {
            view,
            owner: new.owner,
            topic,
            cancel,
            meter: RateMeter::new(2.0),
            started: Instant::now(),
            last_persist: Instant::now(),
            last_report: Instant::now(),
            token_hash: new.token_hash,
            quota: None,
        }
    }

    pub fn visible_to(&self, viewer: &Viewer) -> bool {
        super::visible(self.owner.as_deref(), self.view.shared, viewer)
    }

    /// Publishes the view as it is now, saving it first when `save`.
    pub fn change(&self, save: bool) -> Change {
        self.change_with(save, Vec::new(), true)
    }

    /// Saves the view when `save`, appends and publishes `lines`, publishes the view when
    /// `publish`.
    pub fn change_with(&self, save: bool, lines: Vec<LogLine>, publish: bool) -> Change {
        Change {
            id: self.view.id,
            topic: self.topic.clone(),
            save: save.then(|| self.view.clone()),
            lines,
            publish: publish.then(|| self.view.clone()),
            refused_if_superseded: false,
        }
    }
}

/// Where a job's events go: its owner's private topic, or the shared one.
pub(super) fn topic_of(owner: Option<&str>, shared: bool) -> TopicName {
    match owner {
        Some(owner) if !shared => owner_topic(owner),
        _ => shared_topic(),
    }
}

pub(super) struct Live {
    jobs: HashMap<JobId, LiveJob>,
    outbox: Outbox,
    /// Internal (built-in) jobs in the table: shutdown waits for zero.
    internal: watch::Sender<usize>,
}

impl Live {
    pub fn new(outbox: Outbox) -> Self {
        Self { jobs: HashMap::new(), outbox, internal: watch::Sender::new(0) }
    }

    pub fn get(&self, id: JobId) -> Option<&LiveJob> {
        self.jobs.get(&id)
    }

    pub fn get_mut(&mut self, id: JobId) -> Option<&mut LiveJob> {
        self.jobs.get_mut(&id)
    }

    pub fn jobs(&self) -> impl Iterator<Item = &LiveJob> {
        self.jobs.values()
    }

    pub fn insert(&mut self, job: LiveJob) {
        if !job.view.external {
            self.internal.send_modify(|n| *n += 1);
        }
        if let Some(old) = self.jobs.insert(job.view.id, job) {
            // Ids come from the database and are never reused; keep the count right regardless.
            if !old.view.external {
                self.internal.send_modify(|n| *n -= 1);
            }
        }
    }

    pub fn remove(&mut self, id: JobId) -> Option<LiveJob> {
        let job = self.jobs.remove(&id)?;
        if !job.view.external {
            self.internal.send_modify(|n| *n -= 1);
        }
        Some(job)
    }

    /// Follows the number of internal jobs in the table.
    pub fn internal_count(&self) -> watch::Receiver<usize> {
        self.internal.subscribe()
    }

    /// Queues a change for the store and the hub (in order, see `outbox`).
    pub fn send(&self, change: Change) -> Pending<()> {
        self.outbox.change(change)
    }

    /// Queues a read that completes what this critical section copied from the table.
    pub fn read<T, F, Fut>(&self, read: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(Store, EventId) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, JobsError>> + Send + 'static,
    {
        self.outbox.read(read)
    }

    pub fn stop_outbox(&self) {
        self.outbox.stop();
    }
}
