//! External producers against a real server: who may create a job, what a report may say
//! (`done` never above `total`), how a body is read (JSON, with or without `Content-Type`), reading
//! a job back (`GET /api/jobs/external/{id}`), and a producer that goes silent.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

type Server = pulseboard::server::RunningServer;

fn creator() -> String {
    token_for(&["jobs.shared"], &[], 60)
}

/// Creates an external job; returns its id and its own token.
async fn create(server: &Server, body: Value) -> (i64, String) {
    let response =
        client().post(url(server, "/api/jobs/external")).bearer_auth(creator()).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_string())
}

async fn report(server: &Server, id: i64, token: &str, body: Value) -> (u16, Value) {
    let response = client()
        .post(url(server, &format!("/api/jobs/external/{id}/progress")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

async fn read(server: &Server, id: &str) -> (u16, Value) {
    let response = client().get(url(server, &format!("/api/jobs/external/{id}"))).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

/// The `error` sentence of a refusal, which every refusal has.
fn error(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_else(|| panic!("no error sentence in {body}"))
}

#[tokio::test]
async fn creating_needs_a_token_that_may_publish_to_the_shared_jobs_topic() {
    let server = start_server(|_| {}).await;
    let attempt = |token: Option<String>| {
        let mut request = client().post(url(&server, "/api/jobs/external")).json(&json!({"label": "CI"}));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(attempt(None).await.unwrap().status(), 401);
    // `*` does not reach the server's own topics; another topic is not this one.
    for patterns in [&["*"][..], &["demo"], &["jobs.other"]] {
        let response = attempt(Some(token_for(patterns, &["*"], 60))).await.unwrap();
        assert_eq!(response.status(), 403, "{patterns:?}");
    }
    for patterns in [&["jobs.shared"][..], &["jobs.*"]] {
        let response = attempt(Some(token_for(patterns, &[], 60))).await.unwrap();
        assert_eq!(response.status(), 201, "{patterns:?}");
    }
    // The job's own token is for its reports, not for creating jobs.
    let (_, job_token) = create(&server, json!({"label": "CI"})).await;
    assert_eq!(attempt(Some(job_token)).await.unwrap().status(), 401);
}

#[tokio::test]
async fn done_above_total_is_refused_and_changes_nothing() {
    let server = start_server(|_| {}).await;
    let (id, token) = create(&server, json!({"label": "CI #7", "total": 3, "unit": "steps"})).await;
    assert_eq!(report(&server, id, &token, json!({"done": 2, "log": ["two"]})).await.0, 200);

    for (body, field, message) in [
        (json!({"done": 4}), "done", "4 is more than the job's total (3)"),
        (json!({"done": 5, "total": 4, "log": ["never"]}), "done", "5 is more than the total reported with it (4)"),
        (json!({"total": 1}), "total", "1 is less than what is already done (2)"),
        (json!({"done": 9, "state": "succeeded"}), "done", "9 is more than the job's total (3)"),
    ] {
        let (status, refused) = report(&server, id, &token, body.clone()).await;
        assert_eq!(status, 400, "{body}: {refused}");
        assert_eq!(refused["field"]["name"], field, "{body}: {refused}");
        assert_eq!(refused["field"]["message"], message, "{body}: {refused}");
        assert!(error(&refused).contains(message));
    }
    let (_, job) = read(&server, &id.to_string()).await;
    assert_eq!((job["state"].as_str(), job["progress"]["done"].as_u64()), (Some("running"), Some(2)), "{job}");
    assert_eq!(job["progress"]["total"], 3);
    let session = session_cookie(&url(&server, "")).await;
    let detail: Value = client()
        .get(url(&server, &format!("/api/jobs/detail?id={id}")))
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lines: Vec<&str> = detail["logs"].as_array().unwrap().iter().map(|l| l["text"].as_str().unwrap()).collect();
    assert_eq!(lines, ["two"], "a refused report logs nothing");

    // Both figures moved together, consistently: accepted.
    let (status, job) = report(&server, id, &token, json!({"done": 8, "total": 10})).await;
    assert_eq!((status, job["progress"]["done"].as_u64()), (200, Some(8)), "{job}");
}

#[tokio::test]
async fn a_job_reads_back_by_id() {
    let server = start_server(|_| {}).await;
    let (id, token) = create(&server, json!({"label": "Deploy", "total": 4, "unit": "hosts"})).await;
    let (status, job) = read(&server, &id.to_string()).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["id"], id);
    assert_eq!(job["label"], "Deploy");
    assert_eq!(job["state"], "running");
    assert_eq!(job["external"], true);
    assert_eq!(job["progress"]["total"], 4);
    assert_eq!(job["progress"]["unit"], "hosts");
    assert!(job["started_ms"].as_i64().is_some(), "an external job runs from its creation: {job}");

    report(&server, id, &token, json!({"done": 4, "state": "succeeded", "result": "4 hosts"})).await;
    let (status, job) = read(&server, &id.to_string()).await;
    assert_eq!((status, job["state"].as_str(), job["result"].as_str()), (200, Some("succeeded"), Some("4 hosts")));
    assert!(job["finished_ms"].as_i64() >= job["started_ms"].as_i64());

    // Unknown ids, and jobs that are not external, are not found.
    let session = session_cookie(&url(&server, "")).await;
    let built_in = post_form(&url(&server, "/api/jobs/start"), &session, "kind=primes&limit=100&shared=on").await;
    let built_in: i64 = built_in.json().await.unwrap();
    for unknown in ["999999".to_string(), built_in.to_string()] {
        let (status, body) = read(&server, &unknown).await;
        assert_eq!(status, 404, "{unknown}: {body}");
        assert_eq!(error(&body), format!("no external job {unknown}"));
    }
    for malformed in ["abc", "0", "-3", "1.5", "99999999999999999999999"] {
        let (status, body) = read(&server, malformed).await;
        assert_eq!(status, 400, "{malformed}: {body}");
        assert!(error(&body).contains("whole number"), "{malformed}: {body}");
    }
    // Reports to a malformed id are refused the same way.
    let (status, body) = report(&server, 0, &token, json!({"done": 1})).await;
    assert_eq!((status, error(&body).contains("whole number from 1")), (400, true), "{body}");
}

#[tokio::test]
async fn reading_back_takes_the_guard_of_subscribing_to_the_shared_jobs_topic() {
    let server = start_server(|s| s.pulseboard.auth.subscribe_requires_token = true).await;
    let (id, _) = create(&server, json!({"label": "CI"})).await;
    let path = url(&server, &format!("/api/jobs/external/{id}"));
    assert_eq!(client().get(&path).send().await.unwrap().status(), 401);
    let reader = token_for(&[], &["jobs.shared"], 60);
    assert_eq!(client().get(&path).bearer_auth(reader).send().await.unwrap().status(), 200);
    let elsewhere = token_for(&[], &["demo"], 60);
    assert_eq!(client().get(&path).bearer_auth(elsewhere).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn a_body_without_content_type_is_read_as_json_and_other_types_are_415() {
    let server = start_server(|_| {}).await;
    let create_raw = |content_type: Option<&str>, body: &str| {
        let mut request =
            client().post(url(&server, "/api/jobs/external")).bearer_auth(creator()).body(body.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    // No Content-Type: read as JSON when it is JSON.
    let response = create_raw(None, r#"{"label": "curl --data-binary"}"#).await.unwrap();
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    let (id, token) = (created["id"].as_i64().unwrap(), created["token"].as_str().unwrap().to_string());
    // No Content-Type and not JSON: 400, saying what to send.
    for body in ["label=x", ""] {
        let response = create_raw(None, body).await.unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let refused: Value = response.json().await.unwrap();
        assert!(error(&refused).contains("without a `Content-Type`"), "{refused}");
        assert!(error(&refused).contains("`Content-Type: application/json`"), "{refused}");
    }
    // Another declared type: 415 naming it and the one to send, JSON body or not.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let response = create_raw(Some(content_type), r#"{"label": "x"}"#).await.unwrap();
        assert_eq!(response.status(), 415, "{content_type}");
        let refused: Value = response.json().await.unwrap();
        assert!(error(&refused).contains(&format!("`{content_type}`")), "{refused}");
        assert!(error(&refused).contains("`Content-Type: application/json`"), "{refused}");
    }
    // JSON with parameters is JSON.
    let response = create_raw(Some("application/json; charset=utf-8"), r#"{"label": "x"}"#).await.unwrap();
    assert_eq!(response.status(), 201);

    // Reports are read the same way.
    let report_raw = |content_type: Option<&str>, body: &str| {
        let mut request = client()
            .post(url(&server, &format!("/api/jobs/external/{id}/progress")))
            .bearer_auth(&token)
            .body(body.to_string());
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request.send()
    };
    assert_eq!(report_raw(None, r#"{"done": 1}"#).await.unwrap().status(), 200);
    assert_eq!(report_raw(None, "done=2").await.unwrap().status(), 400);
    assert_eq!(report_raw(Some("text/plain"), r#"{"done": 2}"#).await.unwrap().status(), 415);
    let (_, job) = read(&server, &id.to_string()).await;
    assert_eq!(job["progress"]["done"], 1, "only the JSON report counted");
}

#[tokio::test]
async fn a_producer_that_goes_silent_fails_its_job() {
    let server = start_server(|s| s.pulseboard.jobs.external_silence_secs = 1).await;
    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=jobs.shared"), None).await;
    let (id, token) = create(&server, json!({"label": "Nightly", "total": 100})).await;
    // Reports a few times a second keep it running well past the silence allowed.
    let reporting = Instant::now();
    let mut done = 0;
    let mut last_sent = Instant::now();
    while reporting.elapsed() < Duration::from_millis(2500) {
        done += 1;
        last_sent = Instant::now();
        let (status, job) = report(&server, id, &token, json!({"done": done})).await;
        assert_eq!((status, job["state"].as_str()), (200, Some("running")), "{job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Then it stops.
    let stopped = Instant::now();
    let job = loop {
        let (_, job) = read(&server, &id.to_string()).await;
        if job["state"] != "running" {
            break job;
        }
        assert!(stopped.elapsed() < Duration::from_secs(10), "still running 10 s after its producer went silent");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // The server's clock started when it took the last report, after it was sent.
    assert!(last_sent.elapsed() >= Duration::from_secs(1), "failed before the silence allowed");
    assert_eq!(job["state"], "failed", "{job}");
    assert!(error(&job).starts_with("producer went silent"), "{job}");
    assert!(error(&job).contains("jobs-external-silence-secs"), "the message names the setting: {job}");
    assert_eq!(job["progress"]["done"], done, "its progress is kept");
    assert!(job["finished_ms"].is_i64());
    // A late report is refused: the job is over.
    let (status, refused) = report(&server, id, &token, json!({"done": done + 1})).await;
    assert_eq!(status, 409, "{refused}");
    assert!(error(&refused).contains("failed"), "{refused}");
    // Pages saw it fail, with its reason logged.
    let (mut failed, mut logged) = (false, false);
    while !(failed && logged) {
        let event = take(&mut events, 1).await.remove(0);
        let data: Value = serde_json::from_str(&event.data).unwrap();
        match event.event.as_str() {
            "job" if data["job"]["id"] == id && data["job"]["state"] == "failed" => failed = true,
            "log" if data["id"] == id => {
                logged |= data["lines"].as_array().unwrap().iter().any(|line| {
                    line["text"].as_str().unwrap().starts_with("producer went silent") && line["at_ms"].is_i64()
                })
            }
            _ => {}
        }
    }
}
