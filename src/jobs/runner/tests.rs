//! The runner's unit tests: a real store in a temporary directory and an in-process hub.

use super::*;
use crate::jobs::{
    builtin::Prepared,
    job::{Job, JobContext, JobFailure, JobFuture},
};
use crate::streams::hub::{HubConfig, SubscribeRequest};
use futures::StreamExt;
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};
use tokio::sync::mpsc;

struct Fixture {
    runner: JobRunner,
    hub: Hub,
    tasks: TaskTracker,
}

async fn runner_with(dir: &std::path::Path, workers: usize, registry: JobRegistry) -> Fixture {
    let hub = Hub::in_process(HubConfig {
        history_events: 10_000,
        history_age: Duration::from_secs(600),
        heartbeat: Duration::from_secs(15),
        retry_ms: 1000,
    });
    let store = Store::Sqlite(crate::jobs::store::SqliteStore::open(&dir.join("jobs.sqlite3")).await.unwrap());
    let env = JobEnv { files_root: dir.to_path_buf() };
    let tasks = TaskTracker::new();
    let limits = JobLimits { per_session: 1000, total: 1000 };
    let runner = JobRunner::new(store, hub.clone(), registry, env, workers, limits, &tasks).await.unwrap();
    Fixture { runner, hub, tasks }
}

async fn runner(dir: &std::path::Path, workers: usize) -> (JobRunner, Hub) {
    let fixture = runner_with(dir, workers, JobRegistry::with_builtins()).await;
    (fixture.runner, fixture.hub)
}

async fn wait_for(runner: &JobRunner, viewer: &Viewer, id: JobId, state: JobState) -> JobView {
    for _ in 0..500 {
        let (view, _, _) = runner.detail(viewer, id).await.unwrap();
        if view.state == state {
            return view;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("job {id} never became {state:?}");
}

/// A test kind (`hold`): says when it begins, then runs until cancelled (or forever, if
/// `stubborn`). Counts how many run at once.
#[derive(Clone)]
struct Holds {
    began: mpsc::UnboundedSender<JobId>,
    active: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

struct Hold {
    holds: Holds,
    stubborn: bool,
}

impl Job for Hold {
    fn run(self: Box<Self>, ctx: JobContext) -> JobFuture {
        Box::pin(async move {
            let now = self.holds.active.fetch_add(1, Ordering::SeqCst) + 1;
            self.holds.most.fetch_max(now, Ordering::SeqCst);
            let _ = self.holds.began.send(ctx.id);
            if self.stubborn {
                std::future::pending::<()>().await;
            }
            ctx.token().cancelled().await;
            self.holds.active.fetch_sub(1, Ordering::SeqCst);
            Err(JobFailure::Cancelled)
        })
    }
}

fn with_holds() -> (JobRegistry, Holds, mpsc::UnboundedReceiver<JobId>) {
    let (began, began_rx) = mpsc::unbounded_channel();
    let holds = Holds { began, active: Arc::default(), most: Arc::default() };
    let mut registry = JobRegistry::with_builtins();
    let factory = holds.clone();
    registry.register(
        "hold",
        Arc::new(move |params: &serde_json::Value, _: &JobEnv| {
            let stubborn = params.get("stubborn").is_some();
            Ok(Prepared { label: "Hold".into(), job: Box::new(Hold { holds: factory.clone(), stubborn }) })
        }),
    );
    (registry, holds, began_rx)
}

async fn next_began(began: &mut mpsc::UnboundedReceiver<JobId>) -> JobId {
    tokio::time::timeout(Duration::from_secs(10), began.recv()).await.expect("a job began within 10 s").unwrap()
}

#[tokio::test]
async fn runs_a_job_to_success_publishing_progress_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, hub) = runner(dir.path(), 2).await;
    let me = Viewer("a".repeat(32));
    let topics = runner.topics_for(&me);
    let request = SubscribeRequest { topics, last_event_id: None, delivery: Default::default() };
    let mut events = Box::pin(hub.subscribe(request).unwrap());
    let job = runner.start(&me, false, "pipeline", serde_json::json!({"stages": 2, "step_ms": 10})).await.unwrap();
    assert_eq!(job.state, JobState::Queued);
    let done = wait_for(&runner, &me, job.id, JobState::Succeeded).await;
    assert_eq!(done.progress.done, 10);
    assert!(done.result.unwrap().starts_with("2 stages"));

    let mut text = String::new();
    while !text.contains("succeeded") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    let states: Vec<&str> =
        ["\"queued\"", "\"running\"", "\"succeeded\""].into_iter().filter(|s| text.contains(s)).collect();
    assert_eq!(states.len(), 3, "{text}");
    assert!(
        text.find("\"queued\"") < text.find("\"running\"") && text.find("\"running\"") < text.find("\"succeeded\"")
    );
    assert!(text.contains("event: log"), "log lines are published");
    let (_, logs, _) = runner.detail(&me, job.id).await.unwrap();
    assert!(logs.iter().any(|l| l.text == "stage: transform"), "{logs:?}");
    assert!(logs.iter().all(|l| l.at_ms.is_some_and(|at| at >= job.created_ms)), "lines carry their time: {logs:?}");
    assert!(done.started_ms.is_some_and(|at| at >= job.created_ms) && done.finished_ms >= done.started_ms);
    assert_eq!(done.params, serde_json::json!({"stages": 2, "step_ms": 10}));
}

#[tokio::test]
async fn cancel_stops_promptly_and_other_sessions_cannot_touch_it() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _hub) = runner(dir.path(), 1).await;
    let me = Viewer("a".repeat(32));
    let other = Viewer("b".repeat(32));
    let job = runner.start(&me, false, "pipeline", serde_json::json!({"stages": 6, "step_ms": 10000})).await.unwrap();
    wait_for(&runner, &me, job.id, JobState::Running).await;
    assert!(matches!(runner.cancel(&other, job.id).await, Err(JobsError::NotFound)));
    assert!(matches!(runner.detail(&other, job.id).await, Err(JobsError::NotFound)));
    let asked = Instant::now();
    runner.cancel(&me, job.id).await.unwrap();
    wait_for(&runner, &me, job.id, JobState::Cancelled).await;
    assert!(asked.elapsed() < Duration::from_secs(1), "took {:?}", asked.elapsed());
    assert!(matches!(runner.cancel(&me, job.id).await, Err(JobsError::Finished("cancelled"))));
    let retried = runner.retry(&me, job.id).await.unwrap();
    assert_ne!(retried.id, job.id);
    runner.cancel(&me, retried.id).await.unwrap();
}

#[tokio::test]
async fn a_shared_job_is_changed_only_by_its_owner() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _hub) = runner(dir.path(), 1).await;
    let me = Viewer("a".repeat(32));
    let other = Viewer("b".repeat(32));
    let job = runner.start(&me, true, "pipeline", serde_json::json!({"stages": 6, "step_ms": 10000})).await.unwrap();
    assert_eq!(job.owner_tag.as_deref(), Some(me.tag().as_str()));
    assert!(job.owned_by(&me.tag()) && !job.owned_by(&other.tag()));
    wait_for(&runner, &me, job.id, JobState::Running).await;
    // The other session sees it but may not stop it: it keeps running.
    assert_eq!(runner.detail(&other, job.id).await.unwrap().0.state, JobState::Running);
    assert!(matches!(runner.cancel(&other, job.id).await, Err(JobsError::NotOwner(m)) if m.contains("cancel")));
    assert_eq!(runner.detail(&other, job.id).await.unwrap().0.state, JobState::Running);
    runner.cancel(&me, job.id).await.unwrap();
    wait_for(&runner, &me, job.id, JobState::Cancelled).await;
    assert!(matches!(runner.cancel(&other, job.id).await, Err(JobsError::NotOwner(_))));
    assert!(matches!(runner.retry(&other, job.id).await, Err(JobsError::NotOwner(m)) if m.contains("retry")));
    // Stored views (after the job left the live table) carry the tag too.
    let (listed, _) = runner.snapshot(&other, 10).await.unwrap();
    assert_eq!(listed[0].owner_tag.as_deref(), Some(me.tag().as_str()));
    let retried = runner.retry(&me, job.id).await.unwrap();
    runner.cancel(&me, retried.id).await.unwrap();

    // An external job belongs to its producer: no session cancels it.
    let (external, _token) = runner.create_external("CI build", None, "steps").await.unwrap();
    assert_eq!(external.owner_tag, None);
    assert!(matches!(runner.cancel(&me, external.id).await, Err(JobsError::NotOwner(m)) if m.contains("producer")));
}

#[tokio::test]
async fn concurrency_is_bounded_and_queued_jobs_can_be_cancelled() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, holds, mut began) = with_holds();
    let Fixture { runner, .. } = runner_with(dir.path(), 1, registry).await;
    let me = Viewer("a".repeat(32));
    let first = runner.start(&me, false, "hold", serde_json::json!({})).await.unwrap();
    let second = runner.start(&me, false, "hold", serde_json::json!({})).await.unwrap();
    let third = runner.start(&me, false, "hold", serde_json::json!({})).await.unwrap();
    // The one worker is taken by the first job once it has begun; the others wait for it.
    assert_eq!(next_began(&mut began).await, first.id);
    wait_for(&runner, &me, first.id, JobState::Running).await;
    assert_eq!(runner.detail(&me, second.id).await.unwrap().0.state, JobState::Queued);
    assert_eq!(runner.detail(&me, third.id).await.unwrap().0.state, JobState::Queued);
    assert_eq!(runner.counts().await, (2, 1));

    runner.cancel(&me, third.id).await.unwrap();
    wait_for(&runner, &me, third.id, JobState::Cancelled).await;
    assert_eq!(runner.counts().await, (1, 1));
    // Ending the first job hands its worker to the second, which only then begins.
    runner.cancel(&me, first.id).await.unwrap();
    assert_eq!(next_began(&mut began).await, second.id);
    wait_for(&runner, &me, second.id, JobState::Running).await;
    assert_eq!(holds.most.load(Ordering::SeqCst), 1, "never more jobs at once than workers");
    runner.cancel(&me, second.id).await.unwrap();
    wait_for(&runner, &me, second.id, JobState::Cancelled).await;
    assert!(began.try_recv().is_err(), "the cancelled queued job never began");
}

#[tokio::test]
async fn bad_parameters_are_field_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _hub) = runner(dir.path(), 1).await;
    let me = Viewer("a".repeat(32));
    match runner.start(&me, false, "checksum", serde_json::json!({"dir": "../.."})).await {
        Err(JobsError::Invalid(err)) => assert_eq!(err.field, "dir"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn external_jobs_need_their_token_and_follow_the_state_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _hub) = runner(dir.path(), 1).await;
    let (job, token) = runner.create_external("CI build", Some(4), "steps").await.unwrap();
    let report = ExternalReport { done: Some(2), log: vec!["compiling".into()], ..Default::default() };
    assert!(matches!(runner.report_external(job.id, "wrong", report.clone()).await, Err(JobsError::BadToken)));
    let view = runner.report_external(job.id, &token, report).await.unwrap();
    assert_eq!(view.progress.percent(), Some(50.0));
    let done = ExternalReport {
        done: Some(4),
        state: Some(JobState::Succeeded),
        result: Some("ok".into()),
        ..Default::default()
    };
    assert_eq!(runner.report_external(job.id, &token, done.clone()).await.unwrap().state, JobState::Succeeded);
    assert!(matches!(runner.report_external(job.id, &token, done).await, Err(JobsError::Finished("succeeded"))));
    let viewer = Viewer("c".repeat(32));
    let (_, logs, _) = runner.detail(&viewer, job.id).await.unwrap();
    assert_eq!(logs.iter().map(|l| l.text.as_str()).collect::<Vec<_>>(), ["compiling"]);
}

#[tokio::test]
async fn a_snapshot_and_its_stream_neither_miss_nor_repeat_log_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, hub) = runner(dir.path(), 1).await;
    let (job, _token) = runner.create_external("CI build", None, "steps").await.unwrap();
    // Reports queued and not yet saved or published when the snapshot is asked for, and more
    // queued right after it.
    let report = |n: u64| {
        let report = ExternalReport { done: Some(n), log: vec![format!("line {n}")], ..Default::default() };
        let (_, saved) = external::apply(&mut runner.inner.live.lock(), job.id, report).unwrap();
        drop(saved);
    };
    (0..100).for_each(report);
    let viewer = Viewer("c".repeat(32));
    let detail = runner.detail(&viewer, job.id);
    tokio::pin!(detail);
    // One poll queues the read behind the first hundred reports; then a hundred more.
    assert!(futures::poll!(&mut detail).is_pending());
    (100..200).for_each(report);
    let (_, lines, as_of) = detail.await.unwrap();
    let mut lines: Vec<String> = lines.into_iter().map(|l| l.text).collect();
    let request = SubscribeRequest {
        topics: runner.topics_for(&viewer),
        last_event_id: Some(as_of.to_string()),
        delivery: Default::default(),
    };
    let mut events = Box::pin(hub.subscribe(request).unwrap());
    let mut text = String::new();
    while !text.contains("\"line 199\"") {
        let chunk = tokio::time::timeout(Duration::from_secs(5), events.next()).await.unwrap().unwrap();
        text.push_str(std::str::from_utf8(&chunk).unwrap());
    }
    for data in text.lines().filter_map(|l| l.strip_prefix("data: ")) {
        if let Ok(crate::jobs::model::JobEvent::Log { lines: more, .. }) = serde_json::from_str(data) {
            lines.extend(more.into_iter().map(|l| l.text));
        }
    }
    let expected: Vec<String> = (0..200).map(|n| format!("line {n}")).collect();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn shutdown_interrupts_running_and_queued_jobs_and_history_survives() {
    let dir = tempfile::tempdir().unwrap();
    let me = Viewer("a".repeat(32));
    let (running, queued) = {
        let (runner, _hub) = runner(dir.path(), 1).await;
        let params = serde_json::json!({"stages": 6, "step_ms": 10000});
        let running = runner.start(&me, false, "pipeline", params.clone()).await.unwrap();
        let queued = runner.start(&me, false, "pipeline", params).await.unwrap();
        wait_for(&runner, &me, running.id, JobState::Running).await;
        runner.shutdown(Duration::from_secs(2)).await;
        let late = runner.start(&me, false, "primes", serde_json::json!({"limit": 10})).await;
        assert!(matches!(late, Err(JobsError::ShuttingDown)), "{late:?}");
        (running.id, queued.id)
    };
    let (runner, _hub) = runner(dir.path(), 1).await;
    let (jobs, _) = runner.snapshot(&me, 10).await.unwrap();
    assert_eq!(
        jobs.iter().map(|j| (j.id, j.state)).collect::<Vec<_>>(),
        [(queued, JobState::Interrupted), (running, JobState::Interrupted)]
    );
    assert!(runner.retry(&me, running).await.is_ok());
}

#[tokio::test]
async fn after_shutdown_every_task_has_ended_even_a_job_that_ignores_cancel() {
    let dir = tempfile::tempdir().unwrap();
    let (registry, _holds, mut began) = with_holds();
    let Fixture { runner, tasks, .. } = runner_with(dir.path(), 2, registry).await;
    let me = Viewer("a".repeat(32));
    let stubborn = runner.start(&me, false, "hold", serde_json::json!({"stubborn": true})).await.unwrap();
    next_began(&mut began).await;
    runner.shutdown(Duration::from_millis(200)).await;
    tasks.close();
    tokio::time::timeout(Duration::from_secs(5), tasks.wait()).await.expect("the runner's tasks end after shutdown");
    let (runner, _hub) = self::runner(dir.path(), 1).await;
    let (view, _, _) = runner.detail(&me, stubborn.id).await.unwrap();
    assert_eq!(view.state, JobState::Interrupted);
}

#[tokio::test]
async fn the_database_check_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (runner, _hub) = runner(dir.path(), 1).await;
    runner.check_database().await.unwrap();
}
