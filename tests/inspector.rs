//! The inspector's server functions against a real server: the topic list names public topics
//! and the caller's own private topic, never another session's; a session opens its own private
//! topic (snapshot and stream) and no other's; the site address is the one the request reached;
//! with tokens required, the snapshot is read with the session's own grant.

mod common;

use common::*;
use pulseboard::server::RunningServer;
use std::time::{Duration, Instant};

async fn get(server: &RunningServer, session: &str, path: &str, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut request = client().get(url(server, path)).header("cookie", session).header("accept", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

fn names(value: &serde_json::Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// The setup of `session` once its own private topic holds events (10 s at most).
async fn setup_with_own_topic(server: &RunningServer, session: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, setup) = get(server, session, "/api/inspector/setup", &[]).await;
        assert_eq!(status, 200, "{setup}");
        if !setup["own"].as_array().unwrap().is_empty() {
            return setup;
        }
        assert!(Instant::now() < deadline, "the job's topic never showed: {setup}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn the_topic_list_names_public_topics_and_only_the_callers_own_private_one() {
    let server = start_server(|_| {}).await;
    let owner = session_cookie(&url(&server, "")).await;
    let other = session_cookie(&url(&server, "")).await;
    publish(&server, "inspect.public", None, "hello").await;
    for session in [&owner, &other] {
        let started = post_form(&url(&server, "/api/jobs/start"), session, "kind=pipeline&stages=1&step_ms=10").await;
        assert_eq!(started.status(), 200);
    }

    let mine = setup_with_own_topic(&server, &owner).await;
    let theirs = setup_with_own_topic(&server, &other).await;
    let (own, their_own) = (names(&mine["own"]), names(&theirs["own"]));
    assert_eq!(own.len(), 1, "{mine}");
    assert!(own[0].starts_with("private.jobs."), "{mine}");
    assert_ne!(own, their_own);
    for setup in [&mine, &theirs] {
        let public = names(&setup["topics"]);
        assert!(public.contains(&"inspect.public".to_string()), "{setup}");
        assert!(public.iter().all(|name| !name.starts_with("private.")), "{setup}");
    }

    // The owner opens its own private topic; the other session gets 403 for it.
    let snapshot = format!("/api/inspector/snapshot?topic={}", own[0]);
    let (status, history) = get(&server, &owner, &snapshot, &[]).await;
    assert_eq!(status, 200, "{history}");
    assert!(!history["events"].as_array().unwrap().is_empty(), "{history}");
    let (status, refused) = get(&server, &other, &snapshot, &[]).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("private to the server"), "{refused}");

    let stream = url(&server, &format!("/api/streams/topic?topic={}", own[0]));
    let open = |session: String| {
        let stream = stream.clone();
        async move {
            client().get(stream).header("cookie", session).header("accept", "text/event-stream").send().await.unwrap()
        }
    };
    let response = open(owner.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    drop(response);
    assert_eq!(open(other.clone()).await.status(), 403);
    // Without a session cookie it is anybody's request: refused too.
    let cookieless = client().get(&stream).header("accept", "text/event-stream").send().await.unwrap();
    assert_eq!(cookieless.status(), 403);
}

#[tokio::test]
async fn the_site_address_is_the_one_the_request_reached() {
    let server = start_server(|_| {}).await;
    let session = session_cookie(&url(&server, "")).await;
    let (status, setup) = get(&server, &session, "/api/inspector/setup", &[]).await;
    assert_eq!(status, 200, "{setup}");
    assert_eq!(setup["site"], format!("http://{}", server.addr));
    let proxied = [("x-forwarded-host", "pulse.example"), ("x-forwarded-proto", "https")];
    let (_, setup) = get(&server, &session, "/api/inspector/setup", &proxied).await;
    assert_eq!(setup["site"], "https://pulse.example");
}

/// With `subscribe-requires-token`, the snapshot is read for the browser session with the grant
/// its stream gets: the server-rendered page shows the topic's events (not a token error), while
/// the raw stream API still wants a token, a presented token is still checked, and another
/// session's private topic is still refused.
#[tokio::test]
async fn with_tokens_required_the_page_reads_the_snapshot_with_the_sessions_grant() {
    let server = start_server(|s| s.pulseboard.auth.subscribe_requires_token = true).await;
    let owner = session_cookie(&url(&server, "")).await;
    let other = session_cookie(&url(&server, "")).await;
    publish(&server, "inspect.guarded", None, "first-paint").await;

    let (status, history) = get(&server, &owner, "/api/inspector/snapshot?topic=inspect.guarded", &[]).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["events"][0]["data"], "first-paint", "{history}");
    let page = client()
        .get(url(&server, "/inspect?topic=inspect.guarded"))
        .header("cookie", &owner)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("first-paint"), "{html}");
    assert!(!html.contains("needs a bearer token"), "{html}");

    let raw = client().get(url(&server, "/api/events?topic=inspect.guarded")).send().await.unwrap();
    assert_eq!(raw.status(), 401, "the stream API itself still needs a token");
    let bad = [("authorization", "Bearer not-a-token")];
    let (status, refused) = get(&server, &owner, "/api/inspector/snapshot?topic=inspect.guarded", &bad).await;
    assert_eq!(status, 401, "{refused}");

    let started = post_form(&url(&server, "/api/jobs/start"), &owner, "kind=pipeline&stages=1&step_ms=10").await;
    assert_eq!(started.status(), 200);
    let own = names(&setup_with_own_topic(&server, &owner).await["own"]);
    let snapshot = format!("/api/inspector/snapshot?topic={}", own[0]);
    let (status, history) = get(&server, &owner, &snapshot, &[]).await;
    assert_eq!(status, 200, "{history}");
    let (status, refused) = get(&server, &other, &snapshot, &[]).await;
    assert_eq!(status, 403, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("private to the server"), "{refused}");
}
