//! The outbox: where store writes and hub events leave the runner, one at a time, in the order the
//! live table changed (server only).
//!
//! Ordering: a change is queued inside the critical section of the live table that made it (the
//! queue is reachable only through the table's guard, see `live`), so the queue's order is the
//! order of changes. One dispatcher task takes the steps in turn and finishes each (save, then
//! publish) before the next, so the events of a job reach the hub in the order they happened,
//! while no lock is held across the database or `hub.publish` (which a network backend makes
//! slow). The cost is that a change is published a moment after it is made.
//!
//! Snapshots: a read that must match the stream exactly (a page's job list or log tail, and the
//! event id its stream continues from) is queued as a step too. It runs between two changes: the
//! hub's current id and the store are read when everything queued before it is saved and
//! published, and nothing queued after it is. So the page neither misses an event nor sees a log
//! line twice.

use super::JobsError;
use crate::jobs::{
    model::{JobEvent, JobId, JobView, LogLine},
    store::{Store, StoreError},
};
use crate::streams::{
    hub::{EventId, Hub},
    TopicName,
};
use futures::future::BoxFuture;
use std::future::Future;
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

/// What one change of a job sends out, in this order: the record saved, new log lines appended
/// and published as a `log` event, then the view published as a `job` event.
#[derive(Debug)]
pub(super) struct Change {
    pub id: JobId,
    pub topic: TopicName,
    pub save: Option<JobView>,
    pub lines: Vec<LogLine>,
    pub publish: Option<JobView>,
    /// A save refused because the record moved on (finished meanwhile) fails the change with
    /// [`JobsError::Finished`] instead of dropping it quietly: set for a producer's report, whose
    /// caller must learn it was not applied.
    pub refused_if_superseded: bool,
}

impl Change {
    /// A change that only publishes `view` (its record is already saved).
    pub fn published(id: JobId, topic: TopicName, view: JobView) -> Self {
        Self { id, topic, save: None, lines: Vec::new(), publish: Some(view), refused_if_superseded: false }
    }
}

enum Step {
    Change(Box<Change>, oneshot::Sender<Result<(), JobsError>>),
    Read(BoxFuture<'static, ()>),
    /// Runs what is queued so far, then ends the dispatcher.
    Stop,
}

/// The queue's sending side. Not `Clone` on purpose: it lives in the live table, so steps can only
/// be queued by a holder of the table's lock.
pub(super) struct Outbox {
    steps: mpsc::UnboundedSender<Step>,
    store: Store,
    hub: Hub,
}

/// The outcome of a queued step. Dropping it is fine: the step still runs.
#[must_use = "dropping it does not cancel the step, but its outcome is lost"]
pub(super) struct Pending<T>(oneshot::Receiver<Result<T, JobsError>>);

impl<T> Pending<T> {
    /// Waits until the step has run. A step the dispatcher never ran (it had stopped) is refused
    /// as shutting down.
    pub async fn outcome(self) -> Result<T, JobsError> {
        self.0.await.unwrap_or(Err(JobsError::ShuttingDown))
    }
}

impl Outbox {
    /// Starts the dispatcher on `tasks`.
    pub fn start(store: Store, hub: Hub, tasks: &TaskTracker) -> Self {
        let (steps, queue) = mpsc::unbounded_channel();
        tasks.spawn(dispatch(queue, store.clone(), hub.clone()));
        Self { steps, store, hub }
    }

    /// Queues a change (call it in the critical section that made the change).
    pub fn change(&self, change: Change) -> Pending<()> {
        let (done, outcome) = oneshot::channel();
        if let Err(refused) = self.steps.send(Step::Change(Box::new(change), done)) {
            if let Step::Change(change, _) = refused.0 {
                tracing::debug!(id = change.id, "job change after shutdown not saved");
            }
        }
        Pending(outcome)
    }

    /// Queues a read that sees the store, and gets the hub's current id, exactly as of this point
    /// of the sequence (call it in the critical section that copied the live state it completes).
    pub fn read<T, F, Fut>(&self, read: F) -> Pending<T>
    where
        T: Send + 'static,
        F: FnOnce(Store, EventId) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, JobsError>> + Send + 'static,
    {
        let (done, outcome) = oneshot::channel();
        let (store, hub) = (self.store.clone(), self.hub.clone());
        let step = async move {
            let as_of = hub.current_id();
            let _ = done.send(read(store, as_of).await);
        };
        let _ = self.steps.send(Step::Read(Box::pin(step)));
        Pending(outcome)
    }

    /// Ends the dispatcher once what is queued so far has run; later steps are refused.
    pub fn stop(&self) {
        let _ = self.steps.send(Step::Stop);
    }
}

async fn dispatch(mut queue: mpsc::UnboundedReceiver<Step>, store: Store, hub: Hub) {
    while let Some(step) = queue.recv().await {
        match step {
            Step::Change(change, done) => {
                let _ = done.send(apply(&store, &hub, *change).await);
            }
            Step::Read(read) => read.await,
            // Steps already queued are still received; later sends fail.
            Step::Stop => queue.close(),
        }
    }
}

/// Saves and publishes one change. A failed part is logged and the rest still goes out (pages
/// follow the live table, which has already changed); the first error is the step's outcome.
async fn apply(store: &Store, hub: &Hub, change: Change) -> Result<(), JobsError> {
    let Change { id, topic, save, lines, publish: view, refused_if_superseded } = change;
    let mut first: Option<JobsError> = None;
    let mut note = |what: &str, err: JobsError| {
        tracing::warn!(id, %err, "could not {what}");
        first.get_or_insert(err);
    };
    if let Some(view) = save {
        match store.update(view).await {
            // The job is no longer this instance's (finished, or taken over by another after
            // this one lost its claim): nothing of this change is true, so nothing goes out.
            Err(StoreError::Superseded(_)) if refused_if_superseded => {
                let state = match store.get(id).await {
                    Ok(Some(job)) => job.view.state.as_str(),
                    _ => "finished",
                };
                return Err(JobsError::Finished(state));
            }
            Err(StoreError::Superseded(_)) => {
                tracing::debug!(id, "job change superseded: not published");
                return Ok(());
            }
            Err(err) => note("save a job", err.into()),
            Ok(()) => {}
        }
    }
    if !lines.is_empty() {
        if let Err(err) = store.append_logs(id, lines.clone()).await {
            note("save log lines", err.into());
        }
        if let Err(err) = publish(hub, &topic, &JobEvent::Log { id, lines }).await {
            note("publish log lines", err);
        }
    }
    if let Some(job) = view {
        if let Err(err) = publish(hub, &topic, &JobEvent::Job { job }).await {
            note("publish a job", err);
        }
    }
    first.map_or(Ok(()), Err)
}

async fn publish(hub: &Hub, topic: &TopicName, event: &JobEvent) -> Result<(), JobsError> {
    let data = serde_json::to_string(event).expect("job events serialise");
    let event_type = event.event_type().event_type();
    hub.publish(topic, &event_type, &data).await?;
    Ok(())
}
