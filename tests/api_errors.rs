//! Every error of the API is JSON with a message a person can act on: wrong methods, unknown
//! endpoints, private topics; and the server starts beside environment variables that are not
//! its settings (as Kubernetes injects for a Service named pulseboard).

mod common;

use common::{client, start_server, url};
use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

async fn json_error(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(content_type.starts_with("application/json"), "status {status}: content-type {content_type:?}");
    let body: serde_json::Value = response.json().await.expect("a JSON body");
    (status, body["error"].as_str().expect("an \"error\" message").to_string())
}

#[tokio::test]
async fn a_wrong_method_is_a_405_naming_the_right_one() {
    let server = start_server(|_| {}).await;
    let response = client().get(url(&server, "/api/publish?topic=a")).send().await.unwrap();
    assert_eq!(response.headers().get("allow").map(|v| v.to_str().unwrap()), Some("POST"));
    let (status, message) = json_error(response).await;
    assert_eq!(status, 405);
    assert!(message.contains("GET") && message.contains("/api/publish") && message.contains("POST"), "{message}");

    let response = client().post(url(&server, "/api/events?topic=a")).send().await.unwrap();
    let (status, message) = json_error(response).await;
    assert_eq!(status, 405);
    assert!(message.contains("POST") && message.contains("GET"), "{message}");

    // A server function declared for GET, posted to.
    let response = client().post(url(&server, "/api/jobs/list")).send().await.unwrap();
    let (status, message) = json_error(response).await;
    assert_eq!(status, 405);
    assert!(message.contains("POST") && message.contains("/api/jobs/list"), "{message}");
}

#[tokio::test]
async fn an_unknown_api_path_is_a_json_404_but_pages_keep_their_html_404() {
    let server = start_server(|_| {}).await;
    let response = client().get(url(&server, "/api/no-such-thing")).send().await.unwrap();
    let (status, message) = json_error(response).await;
    assert_eq!(status, 404);
    assert!(message.contains("/api/no-such-thing"), "{message}");

    let page = client().get(url(&server, "/no-such-page")).send().await.unwrap();
    assert_eq!(page.status(), 404);
    let content_type = page.headers().get("content-type").unwrap().to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/html"), "{content_type}");
}

#[tokio::test]
async fn a_private_topic_is_refused_with_its_plain_name() {
    let server = start_server(|_| {}).await;
    let response = client().get(url(&server, "/api/events?topic=private.jobs.abc")).send().await.unwrap();
    let (status, message) = json_error(response).await;
    assert_eq!(status, 403);
    assert!(message.contains("\"private.jobs.abc\""), "{message}");
    assert!(!message.contains("TopicName"), "Rust debug text leaked: {message}");
}

/// The real binary, with an orchestrator's variables beside a real setting.
#[test]
fn foreign_pulseboard_variables_only_warn() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulseboard"))
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSEBOARD_DATA_DIR", data.path())
        .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "0")
        .env("PULSEBOARD_PORT", "tcp://10.0.0.1:3000")
        .env("PULSEBOARD_SERVICE_HOST", "10.0.0.1")
        .env("RUST_LOG", "warn")
        .env_remove("PULSEBOARD_CONFIG")
        .current_dir(data.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("server binary starts");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let listening = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = listening.unwrap_or_else(|_| panic!("server did not start; stderr: {stderr}"));
    assert!(line.starts_with("pulseboard listening on http://127.0.0.1:"), "{line}");
    for variable in ["PULSEBOARD_PORT", "PULSEBOARD_SERVICE_HOST"] {
        assert!(
            stderr.lines().any(|l| l.contains("WARN") && l.contains(variable)),
            "no warning naming {variable}: {stderr}"
        );
    }
}

#[tokio::test]
async fn publishing_while_shutting_down_is_a_503() {
    let server = start_server(|_| {}).await;
    // What shutting down does first: the hub takes no more subscribers or outside events.
    server.hub.disconnect_all(true);
    let response = client().post(url(&server, "/api/publish?topic=demo")).body("late").send().await.unwrap();
    let (status, message) = json_error(response).await;
    assert_eq!(status, 503);
    assert!(message.contains("shutting down"), "{message}");
    let demo = pulseboard::streams::TopicName::new("demo").unwrap();
    assert!(server.hub.snapshot(&demo, 10).await.0.is_empty(), "nothing was published");
}
