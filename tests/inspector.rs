//! The inspector's server functions against a real server: the topic list names public topics
//! and the caller's own private topic, never another session's; a session opens its own private
//! topic (snapshot and stream) and no other's; the site address is the one the request reached.

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
