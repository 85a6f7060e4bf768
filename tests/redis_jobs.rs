//! Jobs and sessions across instances: two real `pulseboard` processes sharing one real Redis
//! (`hub = "redis://..."`). A job started on A is watched and cancelled on B with A's cookie;
//! job ids are unique and bad ids get the same answers on both; an instance killed (SIGKILL)
//! mid-job leaves its job interrupted after the claim timeout, and it can be retried; with Redis
//! gone, starting a job answers 503 quickly. An external job reported to both instances in turn
//! has a rate and an ETA, and fails once, on every page, when its producer goes silent.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use eventsource_stream::Event;
use futures::{Stream, StreamExt};
use redis_server::RedisServer;
use std::{
    net::SocketAddr,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

/// A Redis for the test, or `None` (with a message) where redis-server is not installed. CI
/// installs it, so there the test fails instead of skipping.
async fn redis() -> Option<RedisServer> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    Some(RedisServer::start().await)
}

/// A `pulseboard` process on a free port, on the test's Redis.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    /// Starts the binary with `hub` on `redis`, a claim timeout of `claim_secs` and a data
    /// directory of its own; waits until it listens and `/readyz` answers 200.
    async fn start(redis: &RedisServer, claim_secs: u64) -> Self {
        Self::start_with(redis, claim_secs, "").await
    }

    /// [`Instance::start`], with `more` lines of `[pulseboard]` settings.
    async fn start_with(redis: &RedisServer, claim_secs: u64, more: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        let config = dir.join("pulseboard.toml");
        std::fs::write(
            &config,
            format!(
                "[pulseboard]\nmarket-ticks-per-second = 0\nhub = \"{}\"\njobs-claim-timeout-secs = {claim_secs}\n\
                 jobs-workers = 2\ndata-dir = \"{}\"\n{more}",
                redis.url(),
                dir.join("data").display()
            ),
        )
        .unwrap();
        Self::spawn(&config, &dir).await
    }

    async fn spawn(config: &Path, workdir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulseboard"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
                command.env_remove(name);
            }
        }
        command
            .arg("--config")
            .arg(config)
            .current_dir(workdir)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("PULSEBOARD_JWT_SECRET", common::TEST_SECRET)
            .env("RUST_LOG", "warn")
            .stderr(Stdio::inherit());
        let (child, addr) = spawn_listening(&mut command).await;
        wait_until_ready(addr).await;
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// SIGKILL: the process gets no chance to end its jobs.
    async fn kill(mut self) {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("wait");
    }

    async fn start_job(&self, session: &str, form: &str) -> i64 {
        let response = post_form(&self.url("/api/jobs/start"), session, form).await;
        assert_eq!(response.status(), 200, "start: {}", response.text().await.unwrap());
        response.json::<serde_json::Value>().await.unwrap().as_i64().expect("the job's id")
    }

    /// `/api/jobs/detail`: status and body.
    async fn detail(&self, session: &str, id: &str) -> (u16, serde_json::Value) {
        let response = client()
            .get(self.url(&format!("/api/jobs/detail?id={id}")))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn state(&self, session: &str, id: i64) -> String {
        let (status, body) = self.detail(session, &id.to_string()).await;
        assert_eq!(status, 200, "detail of job {id}: {body}");
        body["job"]["state"].as_str().unwrap().to_string()
    }

    async fn wait_state(&self, session: &str, id: i64, want: &str, within: Duration) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            let (status, body) = self.detail(session, &id.to_string()).await;
            if status == 200 && body["job"]["state"] == want {
                return body;
            }
            assert!(Instant::now() < deadline, "job {id} never became {want} within {within:?}: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The jobs stream of a session.
    async fn job_events(&self, session: &str) -> impl Stream<Item = Event> + Unpin {
        let response = client()
            .get(self.url("/api/streams/jobs"))
            .header("cookie", session)
            .header("accept", "text/event-stream")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response_events(response)
    }
}

/// The next `job` event of job `id` in state `state` (other events are skipped), within 15 s.
async fn job_event(events: &mut (impl Stream<Item = Event> + Unpin), id: i64, state: &str) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let event = tokio::time::timeout_at(deadline, events.next())
            .await
            .unwrap_or_else(|_| panic!("no {state} event for job {id} within 15 s"))
            .expect("the stream stays open");
        if event.event != "job" {
            continue;
        }
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        if data["job"]["id"] == id && data["job"]["state"] == state {
            return data["job"].clone();
        }
    }
}

#[tokio::test]
async fn a_job_started_on_a_is_watched_and_cancelled_on_b_with_the_same_cookie() {
    let Some(redis) = redis().await else { return };
    let a = Instance::start(&redis, 15).await;
    let b = Instance::start(&redis, 15).await;
    let me = session_cookie(&a.url("")).await;

    // B accepts A's cookie: no new session, and the same viewer.
    let on_b = client().get(b.url("/api/jobs/list")).header("cookie", &me).send().await.unwrap();
    assert!(on_b.headers().get("set-cookie").is_none(), "B started a new session for A's cookie");
    let on_b: serde_json::Value = on_b.json().await.unwrap();
    let on_a: serde_json::Value =
        client().get(a.url("/api/jobs/list")).header("cookie", &me).send().await.unwrap().json().await.unwrap();
    assert_eq!(on_a["viewer"], on_b["viewer"]);

    let mut watched = b.job_events(&me).await;
    let id = a.start_job(&me, "kind=pipeline&stages=6&step_ms=2000").await;
    job_event(&mut watched, id, "queued").await;
    let running = job_event(&mut watched, id, "running").await;
    assert_eq!(running["owner_tag"], on_b["viewer"], "the job is the cookie's on B too");

    let response = post_form(&b.url("/api/jobs/cancel"), &me, &format!("id={id}")).await;
    assert_eq!(response.status(), 200, "cancel on B: {}", response.text().await.unwrap());
    job_event(&mut watched, id, "cancelled").await;
    assert_eq!(a.state(&me, id).await, "cancelled");
    assert_eq!(b.state(&me, id).await, "cancelled");

    // Cancelled once, finished everywhere: a second cancel is a conflict on either instance.
    for instance in [&a, &b] {
        let again = post_form(&instance.url("/api/jobs/cancel"), &me, &format!("id={id}")).await;
        assert_eq!(again.status(), 409);
    }
    // Another session cannot cancel or see it, on either instance.
    let other = session_cookie(&b.url("")).await;
    for instance in [&a, &b] {
        assert_eq!(instance.detail(&other, &id.to_string()).await.0, 404);
    }
}

#[tokio::test]
async fn a_queued_job_is_cancelled_from_the_other_instance_and_ids_are_unique() {
    let Some(redis) = redis().await else { return };
    let a = Instance::start(&redis, 15).await;
    let b = Instance::start(&redis, 15).await;
    let me = session_cookie(&a.url("")).await;
    // Four workers in the cluster, all busy: the fifth job waits in the queue.
    let mut ids = Vec::new();
    for n in 0..4 {
        let instance = if n % 2 == 0 { &a } else { &b };
        ids.push(instance.start_job(&me, "kind=pipeline&stages=6&step_ms=2000").await);
    }
    for id in &ids {
        a.wait_state(&me, *id, "running", Duration::from_secs(10)).await;
    }
    let queued = b.start_job(&me, "kind=pipeline&stages=1&step_ms=10").await;
    ids.push(queued);
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "ids are unique across instances: {ids:?}");
    assert_eq!(a.state(&me, queued).await, "queued");

    let mut watched = a.job_events(&me).await;
    let response = post_form(&a.url("/api/jobs/cancel"), &me, &format!("id={queued}")).await;
    assert_eq!(response.status(), 200);
    job_event(&mut watched, queued, "cancelled").await;
    for id in &ids[..4] {
        let response = post_form(&b.url("/api/jobs/cancel"), &me, &format!("id={id}")).await;
        assert_eq!(response.status(), 200);
    }
    for id in &ids[..4] {
        b.wait_state(&me, *id, "cancelled", Duration::from_secs(10)).await;
    }
    // The cancelled queued job never ran.
    assert_eq!(a.state(&me, queued).await, "cancelled");
}

#[tokio::test]
async fn bad_and_unknown_ids_get_the_same_answers_on_both_instances() {
    let Some(redis) = redis().await else { return };
    let a = Instance::start(&redis, 15).await;
    let b = Instance::start(&redis, 15).await;
    let me = session_cookie(&a.url("")).await;
    let mine = a.start_job(&me, "kind=pipeline&stages=1&step_ms=10").await;
    a.wait_state(&me, mine, "succeeded", Duration::from_secs(10)).await;
    let stranger = session_cookie(&b.url("")).await;
    for (session, id, status) in [
        (&me, "999999".to_string(), 404),
        (&me, "abc".to_string(), 400),
        (&me, "0".to_string(), 400),
        (&stranger, mine.to_string(), 404),
    ] {
        let on_a = a.detail(session, &id).await;
        let on_b = b.detail(session, &id).await;
        assert_eq!(on_a.0, status, "id {id} on A: {}", on_a.1);
        assert_eq!(on_a, on_b, "id {id}: A and B answer alike");
    }
}

#[tokio::test]
async fn an_instance_killed_mid_job_leaves_the_job_interrupted_and_retryable() {
    let Some(redis) = redis().await else { return };
    let claim = Duration::from_secs(1);
    // Only A runs at first, so the job is A's.
    let a = Instance::start(&redis, claim.as_secs()).await;
    let me = session_cookie(&a.url("")).await;
    let id = a.start_job(&me, "kind=pipeline&stages=6&step_ms=2000").await;
    a.wait_state(&me, id, "running", Duration::from_secs(10)).await;
    let b = Instance::start(&redis, claim.as_secs()).await;
    // Alive, A keeps its claim fresh: B, looking for dead instances' jobs, leaves it running.
    tokio::time::sleep(claim * 3).await;
    assert_eq!(b.state(&me, id).await, "running", "a live instance's job was taken from it");

    let mut watched = b.job_events(&me).await;
    a.kill().await;
    let killed = Instant::now();
    let interrupted = job_event(&mut watched, id, "interrupted").await;
    assert!(interrupted["error"].as_str().unwrap().contains("stopped answering"), "{interrupted}");
    // The entry's idle time counts from A's last renewal, which comes every third of the claim
    // timeout: up to a third of it passed before the kill.
    assert!(killed.elapsed() >= claim / 2, "interrupted long before the claim timeout");
    assert_eq!(b.state(&me, id).await, "interrupted");

    let response = post_form(&b.url("/api/jobs/retry"), &me, &format!("id={id}")).await;
    assert_eq!(response.status(), 200, "retry: {}", response.text().await.unwrap());
    let retried = response.json::<serde_json::Value>().await.unwrap().as_i64().unwrap();
    assert_ne!(retried, id);
    b.wait_state(&me, retried, "running", Duration::from_secs(10)).await;
    let response = post_form(&b.url("/api/jobs/cancel"), &me, &format!("id={retried}")).await;
    assert_eq!(response.status(), 200);
    b.wait_state(&me, retried, "cancelled", Duration::from_secs(10)).await;
}

#[tokio::test]
async fn with_redis_gone_starting_a_job_answers_503_with_a_message_quickly() {
    let Some(mut redis) = redis().await else { return };
    let a = Instance::start(&redis, 15).await;
    let me = session_cookie(&a.url("")).await;
    redis.stop().await;
    let started = Instant::now();
    let response = post_form(&a.url("/api/jobs/start"), &me, "kind=pipeline&stages=1&step_ms=10").await;
    let took = started.elapsed();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("unavailable"), "{body}");
    assert!(took < Duration::from_secs(1), "a start during the outage answered in {took:?}");
    // Back again: jobs start and run.
    redis.start_again().await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let id = loop {
        let response = post_form(&a.url("/api/jobs/start"), &me, "kind=pipeline&stages=1&step_ms=10").await;
        if response.status() == 200 {
            break response.json::<serde_json::Value>().await.unwrap().as_i64().unwrap();
        }
        assert!(Instant::now() < deadline, "jobs never started again after Redis came back");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    a.wait_state(&me, id, "succeeded", Duration::from_secs(20)).await;
}

/// An external producer's report to `instance`: status and body.
async fn report(instance: &Instance, id: i64, token: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
    let response = client()
        .post(instance.url(&format!("/api/jobs/external/{id}/progress")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or_default())
}

#[tokio::test]
async fn an_external_job_reported_to_both_instances_has_a_rate_and_fails_once_when_its_producer_goes_silent() {
    let Some(redis) = redis().await else { return };
    let silence = "jobs-external-silence-secs = 2\n";
    let a = Instance::start_with(&redis, 15, silence).await;
    let b = Instance::start_with(&redis, 15, silence).await;
    let (_, mut on_a) = subscribe(&a.url("/api/events?topic=jobs.shared"), None).await;
    let (id, token) =
        create_external_job(&a.url(""), serde_json::json!({"label": "CI #7", "total": 1000, "unit": "tests"})).await;

    // Reports alternate between the instances, 10 units every 250 ms: about 40 per second.
    let mut job = serde_json::Value::Null;
    for round in 1..=8u64 {
        let to = if round % 2 == 0 { &a } else { &b };
        let (status, body) = report(to, id, &token, serde_json::json!({"done": round * 10})).await;
        assert_eq!((status, body["state"].as_str()), (200, Some("running")), "report {round}: {body}");
        job = body;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let rate = job["progress"]["per_second"].as_f64().unwrap_or_else(|| panic!("no rate after 8 reports: {job}"));
    assert!((15.0..=60.0).contains(&rate), "about 40 tests/s reported, the rate says {rate}: {job}");
    assert!(job["progress"]["eta_secs"].as_f64().is_some_and(|eta| eta > 0.0), "no ETA: {job}");
    assert!(job["started_ms"].is_i64() && job["started_ms"] == job["created_ms"], "it runs from its creation: {job}");

    // Then the producer goes silent: the job fails, read back on either instance.
    let stopped = Instant::now();
    let failed = loop {
        let read = client().get(b.url(&format!("/api/jobs/external/{id}"))).send().await.unwrap();
        let read: serde_json::Value = read.json().await.unwrap();
        if read["state"] != "running" {
            break read;
        }
        assert!(stopped.elapsed() < Duration::from_secs(10), "still running 10 s after its producer went silent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(stopped.elapsed() >= Duration::from_millis(1500), "failed before the silence allowed: {failed}");
    assert_eq!(failed["state"], "failed", "{failed}");
    assert!(failed["error"].as_str().unwrap_or_default().starts_with("producer went silent"), "{failed}");
    assert_eq!(failed["progress"]["done"], 80, "its progress is kept");
    for instance in [&a, &b] {
        let (status, refused) = report(instance, id, &token, serde_json::json!({"done": 90})).await;
        assert_eq!(status, 409, "a late report: {refused}");
    }

    // Both instances' watches saw it silent; the failure went out once (read on 3 s past it).
    let (mut failures, mut reasons) = (0, 0);
    let mut until = tokio::time::Instant::now() + Duration::from_secs(15);
    while let Ok(event) = tokio::time::timeout_at(until, on_a.next()).await {
        let event = event.expect("the stream stays open");
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        match event.event.as_str() {
            "job" if data["job"]["id"] == id && data["job"]["state"] == "failed" => {
                failures += 1;
                until = until.min(tokio::time::Instant::now() + Duration::from_secs(3));
            }
            "log" if data["id"] == id => {
                let says_why = |line: &&serde_json::Value| {
                    line["text"].as_str().unwrap_or_default().starts_with("producer went silent")
                };
                reasons += data["lines"].as_array().unwrap().iter().filter(says_why).count();
            }
            _ => {}
        }
    }
    assert_eq!((failures, reasons), (1, 1), "one failed event and one log line saying why");
}
