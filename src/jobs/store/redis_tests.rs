//! The Redis job store against a real `redis-server` (started on a free loopback port): two
//! stores stand for two instances sharing it.

use super::*;
use crate::jobs::model::{JobState, Progress};
use std::time::Duration;

// The same harness the hub's tests include (each test module keeps its own copy of it).
#[allow(clippy::duplicate_mod)]
#[path = "../../../tests/common/redis.rs"]
mod redis_server;

/// A Redis and two stores on it (two instances), or `None` where redis-server is missing.
async fn two(claim: Duration) -> Option<(redis_server::RedisServer, RedisStore, RedisStore)> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI");
        eprintln!("skipped: redis-server is not installed");
        return None;
    }
    let server = redis_server::RedisServer::start().await;
    let a = RedisStore::open(&server.url(), claim).unwrap();
    let b = RedisStore::open(&server.url(), claim).unwrap();
    Some((server, a, b))
}

fn job(owner: &str) -> NewJob {
    NewJob {
        kind: "pipeline".into(),
        label: "Pipeline".into(),
        params: serde_json::json!({"stages": "1"}),
        owner: Some(owner.into()),
        shared: false,
        external: false,
        token_hash: None,
        progress: Progress::default(),
        state: JobState::Queued,
        created_ms: 1,
    }
}

const LIMITS: ClusterLimits = ClusterLimits { per_session: 2, total: 3 };

/// Reads the next queue entry as `store`'s worker and takes its job.
async fn take_next(store: &RedisStore) -> (String, StoredJob) {
    let mut connection = store.blocking_connection().await.unwrap();
    let (entry, id) = store.next_entry(&mut connection).await.unwrap().expect("an entry");
    match store.take(&entry, id.unwrap(), true).await.unwrap() {
        Take::Taken(job) => (entry, *job),
        _ => panic!("not taken"),
    }
}

#[tokio::test]
async fn ids_are_unique_and_limits_count_across_instances_until_jobs_end() {
    let Some((_redis, a, b)) = two(Duration::from_secs(15)).await else { return };
    let first = a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    let second = b.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    assert_ne!(first, second);
    // The session's two places are taken, whichever instance took them.
    assert_eq!(a.insert(job("me"), Some(LIMITS)).await.unwrap(), Err(LimitReached::PerSession(2)));
    let third = b.insert(job("you"), Some(LIMITS)).await.unwrap().unwrap();
    assert_eq!(b.insert(job("them"), Some(LIMITS)).await.unwrap(), Err(LimitReached::Total(3)));
    // Ending a job (here: cancelled while queued) gives its place back.
    let stored = a.get(first).await.unwrap().unwrap();
    assert!(matches!(b.cancel_elsewhere(&stored).await.unwrap(), CancelOutcome::Cancelled(_)));
    assert_eq!(a.get(first).await.unwrap().unwrap().view.state, JobState::Cancelled);
    a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    let listed: Vec<JobId> = b.list_visible("me".into(), 10).await.unwrap().iter().map(|j| j.view.id).collect();
    assert_eq!(listed.len(), 3);
    assert!(listed.windows(2).all(|w| w[0] > w[1]), "newest first: {listed:?}");
    assert!(!listed.contains(&third), "another session's private job is not listed");
}

#[tokio::test]
async fn only_the_worker_saves_a_taken_job_and_a_final_record_never_changes() {
    let Some((_redis, a, b)) = two(Duration::from_secs(15)).await else { return };
    let id = a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    a.announce(id).await.unwrap();
    let (_, taken) = take_next(&a).await;
    assert_eq!(taken.view.state, JobState::Running);
    let mut view = taken.view.clone();
    view.progress.done = 3;
    assert!(a.save(&view).await.unwrap(), "its worker saves it");
    assert!(!b.save(&view).await.unwrap(), "another instance does not");
    // Cancel from B reaches A's cancel list.
    assert!(matches!(b.cancel_elsewhere(&taken).await.unwrap(), CancelOutcome::Notified(_)));
    let mut connection = a.blocking_connection().await.unwrap();
    assert_eq!(a.next_cancel(&mut connection).await.unwrap(), Some(id));
    view.state = JobState::Cancelled;
    a.update(view.clone()).await.unwrap();
    view.state = JobState::Running;
    assert!(matches!(a.update(view).await, Err(StoreError::Superseded(_))));
    assert_eq!(b.get(id).await.unwrap().unwrap().view.state, JobState::Cancelled);
    assert!(matches!(b.cancel_elsewhere(&taken).await.unwrap(), CancelOutcome::Finished(JobState::Cancelled)));
}

#[tokio::test]
async fn a_silent_workers_job_is_claimed_and_interrupted_a_fresh_one_is_not() {
    let claim = Duration::from_millis(1000);
    let Some((_redis, a, b)) = two(claim).await else { return };
    let kept = a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    let silent = a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    a.announce(kept).await.unwrap();
    a.announce(silent).await.unwrap();
    let (kept_entry, _) = take_next(&a).await;
    let (silent_entry, _) = take_next(&a).await;
    // Past the timeout, A has renewed only one of its claims.
    tokio::time::sleep(claim / 2).await;
    assert!(a.refresh(vec![kept_entry.clone()]).await.unwrap().is_empty());
    tokio::time::sleep(claim / 2 + Duration::from_millis(200)).await;
    let claimed = b.reclaim().await.unwrap();
    assert_eq!(claimed, [(silent_entry.clone(), Some(silent))], "only the silent entry is claimed");
    let view = b.interrupt(&silent_entry, silent, "its instance stopped").await.unwrap().expect("changed");
    assert_eq!(view.state, JobState::Interrupted);
    assert_eq!(a.get(silent).await.unwrap().unwrap().view.state, JobState::Interrupted);
    // A learns that the entry is no longer its own; its saves are refused.
    assert_eq!(a.refresh(vec![kept_entry, silent_entry]).await.unwrap().len(), 1);
    let mut late = view.clone();
    late.state = JobState::Running;
    assert!(!a.save(&late).await.unwrap());
    // Its place under the limits came back: two more fit beside the one still running.
    a.insert(job("me"), Some(LIMITS)).await.unwrap().unwrap();
    assert_eq!(a.insert(job("me"), Some(LIMITS)).await.unwrap(), Err(LimitReached::PerSession(2)));
}

#[tokio::test]
async fn unreachable_redis_fails_within_a_second() {
    // Nothing listens on this port (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let store = RedisStore::open(&format!("redis://127.0.0.1:{port}/0"), Duration::from_secs(15)).unwrap();
    let started = std::time::Instant::now();
    let err = store.insert(job("me"), Some(LIMITS)).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
}
