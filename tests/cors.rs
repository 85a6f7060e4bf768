//! CORS and the origin guard against a real server, read by reqwest: preflights answered for a
//! listed origin and refused without any CORS header for others, credentials only for listed
//! origins (on hyper-served answers and on the direct stream path alike), state-changing server
//! functions refused from foreign origins, and bad origins refused at startup.

mod common;

use common::*;
use pulseboard::server::RunningServer;
use reqwest::{header::HeaderMap, Method};

const LISTED: &str = "http://app.example:8080";
const FOREIGN: &str = "https://evil.example";

async fn cors_server() -> RunningServer {
    start_server(|settings| settings.pulseboard.cors.origins = vec![LISTED.to_string()]).await
}

async fn preflight(server: &RunningServer, path: &str, origin: &str, method: &str, headers: &str) -> reqwest::Response {
    client()
        .request(Method::OPTIONS, url(server, path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header("access-control-request-headers", headers)
        .send()
        .await
        .unwrap()
}

fn cors_headers(headers: &HeaderMap) -> Vec<String> {
    headers.keys().map(|name| name.as_str().to_string()).filter(|name| name.starts_with("access-control-")).collect()
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn preflights_are_answered_for_the_listed_origin_only() {
    let server = cors_server().await;
    for (path, method, asked) in [
        ("/api/events?topic=news", "GET", "last-event-id,authorization"),
        ("/api/streams/jobs", "GET", "last-event-id"),
        ("/api/publish?topic=news", "POST", "authorization,content-type"),
        ("/api/jobs/start", "POST", "content-type"),
        ("/api/jobs/cancel", "POST", "content-type"),
    ] {
        let answer = preflight(&server, path, LISTED, method, asked).await;
        assert!(answer.status().is_success(), "{path}: {}", answer.status());
        let headers = answer.headers();
        assert_eq!(header(headers, "access-control-allow-origin"), LISTED, "{path}");
        assert_eq!(header(headers, "access-control-allow-credentials"), "true", "{path}");
        let allowed = header(headers, "access-control-allow-headers").to_ascii_lowercase();
        for wanted in asked.split(',') {
            assert!(allowed.contains(wanted), "{path}: {wanted} not in {allowed}");
        }
        assert!(header(headers, "access-control-allow-methods").contains(method), "{path}");

        let refused = preflight(&server, path, FOREIGN, method, asked).await;
        assert_eq!(refused.status(), 403, "{path}");
        assert_eq!(cors_headers(refused.headers()), Vec::<String>::new(), "{path}: no CORS header at all");
        let body: serde_json::Value = refused.json().await.unwrap();
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(FOREIGN) && message.contains("cors-origins"), "{message}");
    }
}

#[tokio::test]
async fn credentials_and_the_origin_are_granted_to_listed_origins_only() {
    let server = cors_server().await;
    publish(&server, "news", None, "hello").await;
    // A JSON answer from hyper, and an event stream from the direct path.
    for (path, accept) in [("/api/debug/stats", "application/json"), ("/api/events?topic=news", "text/event-stream")] {
        let listed = client().get(url(&server, path)).header("origin", LISTED).header("accept", accept);
        let listed = listed.send().await.unwrap();
        assert_eq!(listed.status(), 200, "{path}");
        assert_eq!(header(listed.headers(), "access-control-allow-origin"), LISTED, "{path}");
        assert_eq!(header(listed.headers(), "access-control-allow-credentials"), "true", "{path}");
        assert!(header(listed.headers(), "vary").contains("origin"), "{path}: caches keep origins apart");
        drop(listed);

        let foreign = client().get(url(&server, path)).header("origin", FOREIGN).header("accept", accept);
        let foreign = foreign.send().await.unwrap();
        // Reading is not refused (curl could read it too); the browser just gets no grant.
        assert_eq!(foreign.status(), 200, "{path}");
        assert_eq!(cors_headers(foreign.headers()), Vec::<String>::new(), "{path}");
    }
}

#[tokio::test]
async fn without_cors_origins_it_is_same_origin_only() {
    let server = start_server(|_| {}).await;
    let origin = format!("http://{}", server.addr);
    let refused = preflight(&server, "/api/events?topic=news", &origin, "GET", "last-event-id").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(cors_headers(refused.headers()), Vec::<String>::new());
    let read = client().get(url(&server, "/api/debug/stats")).header("origin", FOREIGN).send().await.unwrap();
    assert_eq!(read.status(), 200);
    assert_eq!(cors_headers(read.headers()), Vec::<String>::new());
}

/// Posts `form` to a server function in `session`, with `extra` headers.
async fn post_with(
    server: &RunningServer,
    path: &str,
    session: &str,
    form: &str,
    extra: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let mut request = client()
        .post(url(server, path))
        .header("cookie", session)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string());
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

async fn state_of(server: &RunningServer, session: &str, id: i64) -> String {
    let response =
        client().get(url(server, &format!("/api/jobs/detail?id={id}"))).header("cookie", session).send().await.unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    body["job"]["state"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn state_changing_server_functions_refuse_foreign_origins() {
    let server = cors_server().await;
    let me = session_cookie(&url(&server, "")).await;
    let own = format!("http://{}", server.addr);
    let long = "kind=pipeline&stages=6&step_ms=10000";

    // Same origin, a listed origin, and no Origin at all (curl, scripts) may start jobs.
    for extra in [vec![("origin", own.as_str())], vec![("origin", LISTED)], vec![]] {
        let (status, body) = post_with(&server, "/api/jobs/start", &me, long, &extra).await;
        assert_eq!(status, 200, "{extra:?}: {body}");
    }
    // Behind a proxy that rewrote Host but said which host it was asked for.
    let proxied = [("origin", "https://board.example"), ("host", "127.0.0.1:1"), ("x-forwarded-host", "board.example")];
    let (status, body) = post_with(&server, "/api/jobs/start", &me, long, &proxied).await;
    assert_eq!(status, 200, "{body}");
    let id = body.as_i64().unwrap();
    let before = state_of(&server, &me, id).await;

    for origin in [FOREIGN, "null", "http://127.0.0.1:1", "http://app.example"] {
        for (path, form) in [
            ("/api/jobs/start", long.to_string()),
            ("/api/jobs/cancel", format!("id={id}")),
            ("/api/jobs/retry", format!("id={id}")),
        ] {
            let (status, body) = post_with(&server, path, &me, &form, &[("origin", origin)]).await;
            assert_eq!(status, 403, "{origin} {path}: {body}");
            let message = body["error"].as_str().unwrap_or_default();
            assert!(message.contains(origin) && message.contains("cors-origins"), "{message}");
            assert_eq!(body["kind"], "forbidden");
        }
    }
    // Nothing of it happened: the job runs on, and no job was started.
    assert_eq!(state_of(&server, &me, id).await, before);
    assert!(before == "queued" || before == "running", "{before}");
    let listed = client().get(url(&server, "/api/jobs/list")).header("cookie", &me).send().await.unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(listed["jobs"].as_array().unwrap().len(), 4);

    // The site's own pages cancel it.
    let (status, body) = post_with(&server, "/api/jobs/cancel", &me, &format!("id={id}"), &[("origin", &own)]).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn bad_origins_are_refused_at_startup() {
    let mut settings = pulseboard::config::load(None).unwrap();
    settings.leptos.site_addr = "127.0.0.1:0".parse().unwrap();
    settings.pulseboard.server.data_dir = tempfile::tempdir().unwrap().keep();
    for (bad, says) in [("*", "list each origin"), ("https://app.example/", "path"), ("app.example", "scheme://host")] {
        settings.pulseboard.cors.origins = vec![LISTED.to_string(), bad.to_string()];
        let err = pulseboard::server::start(settings.clone()).await.err().expect("refused");
        let message = err.to_string();
        assert!(message.contains("cors-origins") && message.contains(bad) && message.contains(says), "{message}");
    }
}
