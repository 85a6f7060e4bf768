//! Jobs against a real server: start, progress events in order, cancel, privacy between
//! sessions, external producers, and persistence across a restart.

mod common;

use common::*;
use std::time::Duration;

/// A browser session: the cookie the server set on the first request.
async fn new_session(server: &pulseboard::server::RunningServer) -> String {
    session_cookie(&url(server, "")).await
}

async fn call(
    server: &pulseboard::server::RunningServer,
    session: &str,
    path: &str,
    form: &str,
) -> (u16, serde_json::Value) {
    let response = post_form(&url(server, path), session, form).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

async fn detail(server: &pulseboard::server::RunningServer, session: &str, id: i64) -> (u16, serde_json::Value) {
    let response =
        client().get(url(server, &format!("/api/jobs/detail?id={id}"))).header("cookie", session).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

async fn wait_state(
    server: &pulseboard::server::RunningServer,
    session: &str,
    id: i64,
    state: &str,
) -> serde_json::Value {
    for _ in 0..300 {
        let (_, body) = detail(server, session, id).await;
        if body["job"]["state"] == state {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never became {state}");
}

/// Waits until the job's `done` reaches `at_least` (15 s at most).
async fn wait_done(server: &pulseboard::server::RunningServer, session: &str, id: i64, at_least: u64) {
    for _ in 0..300 {
        let (_, body) = detail(server, session, id).await;
        if body["job"]["progress"]["done"].as_u64().is_some_and(|done| done >= at_least) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} never reached {at_least} done");
}

async fn session_stream(
    server: &pulseboard::server::RunningServer,
    session: &str,
) -> impl futures::Stream<Item = eventsource_stream::Event> + Unpin {
    use eventsource_stream::Eventsource;
    use futures::StreamExt;
    let response = client().get(url(server, "/api/streams/jobs")).header("cookie", session).send().await.unwrap();
    assert_eq!(response.status(), 200);
    Box::pin(response.bytes_stream().eventsource().map(|e| e.unwrap()))
}

#[tokio::test]
async fn a_job_runs_with_progress_events_in_order() {
    let server = start_server(|_| {}).await;
    let me = new_session(&server).await;
    let mut events = session_stream(&server, &me).await;
    let (status, id) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=2&step_ms=20").await;
    assert_eq!(status, 200, "{id}");
    let id = id.as_i64().unwrap();

    let mut states = Vec::new();
    let mut done_values = Vec::new();
    let mut log_lines = 0;
    while states.last().map(String::as_str) != Some("succeeded") {
        let event = take(&mut events, 1).await.remove(0);
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        match event.event.as_str() {
            "job" => {
                assert_eq!(data["job"]["id"], id);
                let state = data["job"]["state"].as_str().unwrap().to_string();
                if states.last() != Some(&state) {
                    states.push(state);
                }
                done_values.push(data["job"]["progress"]["done"].as_u64().unwrap());
            }
            "log" => log_lines += data["lines"].as_array().unwrap().len(),
            other => panic!("unexpected event {other}"),
        }
    }
    assert_eq!(states, ["queued", "running", "succeeded"]);
    assert!(done_values.windows(2).all(|w| w[0] <= w[1]), "progress never goes back: {done_values:?}");
    assert_eq!(*done_values.last().unwrap(), 10);
    assert!(log_lines >= 10, "{log_lines} log lines");
}

#[tokio::test]
async fn bad_parameters_are_400_with_the_field() {
    let server = start_server(|_| {}).await;
    let me = new_session(&server).await;
    for (form, field, message) in [
        ("kind=primes&limit=abc", "limit", "must be a whole number"),
        ("kind=checksum&dir=../../etc", "dir", "must not contain '..'"),
        ("kind=checksum&dir=/etc", "dir", "relative to the jobs root"),
        ("kind=pipeline&stages=99&step_ms=10", "stages", "between 1 and 6"),
        ("kind=rm-rf", "kind", "unknown job kind"),
    ] {
        let (status, body) = call(&server, &me, "/api/jobs/start", form).await;
        assert_eq!(status, 400, "{form}: {body}");
        assert_eq!(body["field"]["name"], field, "{form}: {body}");
        assert!(body["field"]["message"].as_str().unwrap().contains(message), "{form}: {body}");
        assert!(body["error"].as_str().unwrap().contains(message), "{form}: {body}");
    }
}

#[tokio::test]
async fn cancel_stops_a_job_and_other_sessions_cannot_see_or_cancel_it() {
    let server = start_server(|_| {}).await;
    let me = new_session(&server).await;
    let other = new_session(&server).await;
    let mut other_events = session_stream(&server, &other).await;
    // 30 steps of 200 ms: long enough for the checks below, short enough to see it move.
    let (_, id) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=6&step_ms=200").await;
    let id = id.as_i64().unwrap();
    wait_state(&server, &me, id, "running").await;

    assert_eq!(detail(&server, &other, id).await.0, 404);
    assert_eq!(call(&server, &other, "/api/jobs/cancel", &format!("id={id}")).await.0, 404);
    // The private topic is closed to the public stream API.
    let (status, _) = {
        let r = client().get(url(&server, "/api/events?topic=private.jobs.x")).send().await.unwrap();
        (r.status().as_u16(), ())
    };
    assert_eq!(status, 403);

    wait_done(&server, &me, id, 1).await;
    let (status, _) = call(&server, &me, "/api/jobs/cancel", &format!("id={id}")).await;
    assert_eq!(status, 200);
    let body = wait_state(&server, &me, id, "cancelled").await;
    let stopped_at = body["job"]["progress"]["done"].as_u64().unwrap();
    assert!(stopped_at < 30);
    // Time for two more of its steps, measured by a job of the same steps that keeps running:
    // the cancelled one did not move, nor log.
    let (_, control) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=1&step_ms=200").await;
    let control = control.as_i64().unwrap();
    wait_done(&server, &me, control, 2).await;
    let (_, after) = detail(&server, &me, id).await;
    assert_eq!(after["job"]["progress"]["done"].as_u64(), Some(stopped_at), "{after}");
    assert_eq!(after["job"]["state"], "cancelled");
    assert_eq!(after["logs"], body["logs"], "no step ran after the cancel");
    assert_eq!(call(&server, &me, "/api/jobs/cancel", &format!("id={id}")).await.0, 409);
    wait_state(&server, &me, control, "succeeded").await;

    // A shared job is visible to the other session.
    let (_, shared) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=1&step_ms=10&shared=on").await;
    let shared = shared.as_i64().unwrap();
    wait_state(&server, &other, shared, "succeeded").await;
    // The other session's stream saw the shared job and never the private one.
    let mut ids = Vec::new();
    while !ids.contains(&shared) {
        let event = take(&mut other_events, 1).await.remove(0);
        let data: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        ids.push(data["job"]["id"].as_i64().or(data["id"].as_i64()).unwrap());
    }
    assert!(!ids.contains(&id));
}

#[tokio::test]
async fn external_producers_report_progress() {
    let server = start_server(|_| {}).await;
    let http = client();
    let (id, token) =
        create_external_job(&url(&server, ""), serde_json::json!({"label": "CI #42", "total": 3, "unit": "steps"}))
            .await;
    let token = token.as_str();
    let report = |body: serde_json::Value, token: Option<&str>| {
        let mut request = http.post(url(&server, &format!("/api/jobs/external/{id}/progress"))).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(report(serde_json::json!({"done": 1}), None).await.unwrap().status(), 401);
    assert_eq!(report(serde_json::json!({"done": 1}), Some("nope")).await.unwrap().status(), 403);
    assert_eq!(report(serde_json::json!({"done": "one"}), Some(token)).await.unwrap().status(), 400);
    assert_eq!(report(serde_json::json!({"state": "exploded"}), Some(token)).await.unwrap().status(), 400);
    let ok = report(serde_json::json!({"done": 2, "stage": "test", "log": ["ok 1"]}), Some(token)).await.unwrap();
    assert_eq!(ok.status(), 200);
    let session = new_session(&server).await;
    let (status, body) = detail(&server, &session, id).await;
    assert_eq!(status, 200);
    assert_eq!(body["job"]["progress"]["done"], 2);
    assert_eq!(body["job"]["stage"], "test");
    assert_eq!(body["logs"][0]["text"], "ok 1");
    assert!(body["logs"][0]["at_ms"].as_i64() >= body["job"]["created_ms"].as_i64(), "{body}");
    let finished =
        report(serde_json::json!({"done": 3, "state": "succeeded", "result": "green"}), Some(token)).await.unwrap();
    assert_eq!(finished.status(), 200);
    assert_eq!(report(serde_json::json!({"done": 3}), Some(token)).await.unwrap().status(), 409);
}

#[tokio::test]
async fn history_survives_a_restart_and_running_jobs_become_interrupted() {
    let data_dir = tempfile::tempdir().unwrap().keep();
    let dir = data_dir.clone();
    let server = start_server(move |s| s.pulseboard.server.data_dir = dir).await;
    let me = new_session(&server).await;
    let (_, finished) = call(&server, &me, "/api/jobs/start", "kind=primes&limit=1000").await;
    let finished = finished.as_i64().unwrap();
    wait_state(&server, &me, finished, "succeeded").await;
    let (_, running) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=6&step_ms=5000").await;
    let running = running.as_i64().unwrap();
    wait_state(&server, &me, running, "running").await;
    server.begin_shutdown();
    server.stopped(Duration::from_secs(10)).await.unwrap();

    // Same data directory, same session cookie (the signing key is kept there too).
    let dir = data_dir.clone();
    let server = start_server(move |s| s.pulseboard.server.data_dir = dir).await;
    let body = wait_state(&server, &me, finished, "succeeded").await;
    assert_eq!(body["job"]["result"], "168 primes below 1000; largest 997");
    let body = wait_state(&server, &me, running, "interrupted").await;
    assert!(body["logs"].as_array().unwrap().iter().any(|l| l["text"] == "stage: fetch"));
    let (status, retried) = call(&server, &me, "/api/jobs/retry", &format!("id={running}")).await;
    assert_eq!(status, 200, "{retried}");
    assert_ne!(retried.as_i64().unwrap(), running);
}

#[tokio::test]
async fn metrics_count_running_jobs() {
    async fn running(server: &pulseboard::server::RunningServer) -> f64 {
        let text = client().get(url(server, "/metrics")).send().await.unwrap().text().await.unwrap();
        let lines = text.lines().map(|l| Ok(l.to_string()));
        let scrape = prometheus_parse::Scrape::parse(lines).unwrap();
        let sample = scrape.samples.iter().find(|s| s.metric == "pulseboard_jobs_running").expect("jobs gauge");
        match sample.value {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{other:?}"),
        }
    }
    let server = start_server(|_| {}).await;
    let me = new_session(&server).await;
    assert_eq!(running(&server).await, 0.0);
    let (_, id) = call(&server, &me, "/api/jobs/start", "kind=pipeline&stages=6&step_ms=5000").await;
    let id = id.as_i64().unwrap();
    wait_state(&server, &me, id, "running").await;
    assert_eq!(running(&server).await, 1.0);
    call(&server, &me, "/api/jobs/cancel", &format!("id={id}")).await;
    wait_state(&server, &me, id, "cancelled").await;
    assert_eq!(running(&server).await, 0.0);
}
