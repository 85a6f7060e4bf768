//! Who may change a job, and who may learn private topic names, against a real server: a shared
//! job is cancelled and retried only by the session that started it (another session or a
//! cookieless client gets 403 and the job runs on), and `/metrics` and the monitor's samples
//! count the private topics of open job streams without ever naming them.

mod common;

use common::*;
use pulseboard::server::RunningServer;
use std::time::{Duration, Instant};

async fn call(server: &RunningServer, session: Option<&str>, path: &str, form: &str) -> (u16, serde_json::Value) {
    let mut request = client()
        .post(url(server, path))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    if let Some(session) = session {
        request = request.header("cookie", session);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

async fn get_json(server: &RunningServer, session: &str, path: &str) -> serde_json::Value {
    let response = client().get(url(server, path)).header("cookie", session).send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

async fn job(server: &RunningServer, session: &str, id: i64) -> serde_json::Value {
    get_json(server, session, &format!("/api/jobs/detail?id={id}")).await["job"].clone()
}

/// Polls the job until `ready` holds (10 s at most).
async fn wait_job(
    server: &RunningServer,
    session: &str,
    id: i64,
    ready: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let job = job(server, session, id).await;
        if ready(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never got there: {job}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn a_shared_job_is_cancelled_and_retried_only_by_its_owner() {
    let server = start_server(|_| {}).await;
    let owner = session_cookie(&url(&server, "")).await;
    let other = session_cookie(&url(&server, "")).await;
    let (status, id) =
        call(&server, Some(&owner), "/api/jobs/start", "kind=pipeline&stages=6&step_ms=200&shared=on").await;
    assert_eq!(status, 200, "{id}");
    let id = id.as_i64().unwrap();
    let running = wait_job(&server, &owner, id, |job| job["state"] == "running").await;

    // Everyone sees it; the page learns whose it is from the tags.
    let mine = get_json(&server, &owner, "/api/jobs/list").await;
    let theirs = get_json(&server, &other, "/api/jobs/list").await;
    assert_eq!(mine["jobs"][0]["owner_tag"], mine["viewer"]);
    assert_eq!(theirs["jobs"][0]["id"], id);
    assert_eq!(theirs["jobs"][0]["owner_tag"], mine["viewer"]);
    assert_ne!(theirs["viewer"], mine["viewer"]);
    let listed = serde_json::to_string(&theirs).unwrap();
    assert!(!listed.contains("private."), "{listed}");

    // Another session and a cookieless client may not stop it...
    for session in [Some(other.as_str()), None] {
        let (status, body) = call(&server, session, "/api/jobs/cancel", &format!("id={id}")).await;
        assert_eq!(status, 403, "{session:?}: {body}");
        assert_eq!(body["kind"], "forbidden");
        assert!(body["error"].as_str().unwrap().contains("only the browser session that started this job"), "{body}");
    }
    // ...and it runs on: its progress moves past where it was.
    let done_then = running["progress"]["done"].as_u64().unwrap();
    let later = wait_job(&server, &owner, id, |job| job["progress"]["done"].as_u64().unwrap() > done_then + 2).await;
    assert_eq!(later["state"], "running");

    let (status, body) = call(&server, Some(&owner), "/api/jobs/cancel", &format!("id={id}")).await;
    assert_eq!(status, 200, "{body}");
    wait_job(&server, &owner, id, |job| job["state"] == "cancelled").await;
    // A finished shared job: still not theirs (403 rather than the 409 its owner would get).
    assert_eq!(call(&server, Some(&other), "/api/jobs/cancel", &format!("id={id}")).await.0, 403);
    assert_eq!(call(&server, Some(&owner), "/api/jobs/cancel", &format!("id={id}")).await.0, 409);
    for session in [Some(other.as_str()), None] {
        let (status, body) = call(&server, session, "/api/jobs/retry", &format!("id={id}")).await;
        assert_eq!(status, 403, "{session:?}: {body}");
        assert!(body["error"].as_str().unwrap().contains("retry"), "{body}");
    }
    let (status, retried) = call(&server, Some(&owner), "/api/jobs/retry", &format!("id={id}")).await;
    assert_eq!(status, 200, "{retried}");
    let retried = retried.as_i64().unwrap();
    assert_eq!(job(&server, &other, retried).await["owner_tag"], mine["viewer"], "the retry is the owner's too");
    assert_eq!(call(&server, Some(&owner), "/api/jobs/cancel", &format!("id={retried}")).await.0, 200);
}

#[tokio::test]
async fn an_external_job_is_not_cancelled_from_a_browser() {
    let server = start_server(|_| {}).await;
    let viewer = session_cookie(&url(&server, "")).await;
    let (id, _) = create_external_job(&url(&server, ""), serde_json::json!({"label": "CI #7"})).await;
    let (status, body) = call(&server, Some(&viewer), "/api/jobs/cancel", &format!("id={id}")).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().unwrap().contains("producer"), "{body}");
    let shown = job(&server, &viewer, id).await;
    assert_eq!((shown["state"].as_str(), shown["owner_tag"].is_null()), (Some("running"), true));
}

/// The Prometheus text and the value of `metric` in it.
async fn metric(server: &RunningServer, metric: &str) -> (String, f64) {
    let text = client().get(url(server, "/metrics")).send().await.unwrap().text().await.unwrap();
    let value = text
        .lines()
        .find_map(|line| line.strip_prefix(metric)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("{metric} not in {text}"));
    (text, value)
}

#[tokio::test]
async fn private_topics_are_counted_never_named() {
    let server = start_server(|settings| settings.pulseboard.monitor.interval_ms = 100).await;
    // Three sessions with their job streams open: three private topics, one subscriber each
    // (and the shared topic beside them).
    let mut streams = Vec::new();
    for _ in 0..3 {
        let session = session_cookie(&url(&server, "")).await;
        let response = client().get(url(&server, "/api/streams/jobs")).header("cookie", &session).send().await.unwrap();
        assert_eq!(response.status(), 200);
        streams.push(response);
    }
    let (text, topics) = metric(&server, "pulseboard_hub_private_topics").await;
    assert_eq!(topics, 3.0, "{text}");
    assert_eq!(metric(&server, "pulseboard_hub_private_topic_subscribers").await.1, 3.0);
    assert!(!text.contains("private."), "{text}");
    assert!(text.contains(r#"pulseboard_hub_topic_subscribers{topic="jobs.shared"} 3"#), "{text}");
    let stats = client().get(url(&server, "/api/debug/stats")).send().await.unwrap().text().await.unwrap();
    assert!(!stats.contains("private."), "{stats}");

    // The samples the Monitor shows (and anyone may read) count them the same way.
    let (_, mut samples) = subscribe(&url(&server, "/api/events?topic=monitor.samples"), None).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let event = take(&mut samples, 1).await.remove(0);
        assert!(!event.data.contains("private."), "{}", event.data);
        let sample: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        let private = &sample["streams"]["private_topics"];
        if private["topics"] == 3 {
            assert_eq!(private["subscribers"], 3);
            let named: Vec<&str> = sample["streams"]["top_topics"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|t| t["topic"].as_str())
                .collect();
            assert!(named.contains(&"jobs.shared") && named.iter().all(|t| !t.starts_with("private")), "{named:?}");
            break;
        }
        assert!(Instant::now() < deadline, "no sample counted the three private topics: {sample}");
    }
    let monitor = client().get(url(&server, "/api/monitor/snapshot")).send().await.unwrap().text().await.unwrap();
    assert!(!monitor.contains("private."), "{monitor}");
    drop(streams);
}
