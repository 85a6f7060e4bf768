//! Limits against a real server with small limits: open streams per client IP and in total (on
//! the direct path, on hyper and through stream server functions), publishes per second, jobs
//! per session and in total, `X-Forwarded-For` only from a trusted proxy (also on the real
//! binary configured through the environment), and a stream whose client stops reading closed
//! past its byte bound, on both paths.

mod common;

use common::*;
use pulseboard::server::RunningServer;
use std::time::{Duration, Instant};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// A stream request through reqwest: its status, `Retry-After` and body (when refused).
async fn try_stream(url: &str, forwarded_for: Option<&str>) -> (u16, Option<String>, Option<reqwest::Response>) {
    let mut request = client().get(url).header("accept", "text/event-stream");
    if let Some(value) = forwarded_for {
        request = request.header("x-forwarded-for", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (status, retry_after, Some(response))
}

/// Asserts a 429 whose JSON message names `key`; returns the body.
async fn assert_refused(url: &str, forwarded_for: Option<&str>, key: &str) -> serde_json::Value {
    let (status, retry_after, response) = try_stream(url, forwarded_for).await;
    assert_eq!(status, 429, "{url} from {forwarded_for:?}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    let body: serde_json::Value = response.unwrap().json().await.unwrap();
    let message = body["error"].as_str().unwrap();
    assert!(message.contains(key), "{message}");
    body
}

#[tokio::test]
async fn streams_per_ip_are_limited_on_every_path_and_a_closed_stream_frees_its_place() {
    let server = start_server(|s| s.pulseboard.limits.max_streams_per_ip = 2).await;
    let (_, first) = subscribe(&url(&server, "/api/events?topic=a"), None).await;
    let (_, second) = subscribe(&url(&server, "/api/streams/topic?topic=a"), None).await;
    wait_for_open_streams(&server, 2).await;

    let body = assert_refused(&url(&server, "/api/events?topic=a"), None, "max-streams-per-ip").await;
    assert_eq!(body["limit"], "max-streams-per-ip");
    // A stream server function says so in its own error shape, with Retry-After too.
    let body = assert_refused(&url(&server, "/api/streams/quotes"), None, "max-streams-per-ip").await;
    assert_eq!((body["kind"].as_str(), body["retry_after"].as_u64()), (Some("too_many_requests"), Some(5)));
    // A stream asked for on a kept-alive connection (served by hyper) is refused the same way.
    let mut raw = RawConnection::connect(&server).await;
    raw.send("GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await;
    let head = raw.read_head().await;
    raw.read_body(&head).await;
    raw.send("GET /api/events?topic=a HTTP/1.1\r\nHost: test\r\n\r\n").await;
    let head = raw.read_head().await;
    assert_eq!((head.status(), head.header("retry-after")), (429, Some("5")), "{head:?}");
    assert_eq!(server.hub.stats().streams, 2, "refusals open nothing");

    drop(first);
    wait_for_open_streams(&server, 1).await;
    let (_, _third) = subscribe(&url(&server, "/api/events?topic=a"), None).await;
    drop(second);
    wait_for_open_streams(&server, 1).await;
    let (_, _fourth) = subscribe(&url(&server, "/api/streams/topic?topic=a"), None).await;
    wait_for_open_streams(&server, 2).await;
}

#[tokio::test]
async fn forwarded_for_names_the_client_only_from_a_trusted_proxy_and_the_total_counts_everyone() {
    let server = start_server(|s| {
        s.pulseboard.limits.max_streams_per_ip = 1;
        s.pulseboard.limits.max_streams = 2;
        s.pulseboard.limits.trusted_proxies = vec!["127.0.0.0/8".into()];
    })
    .await;
    let events = url(&server, "/api/events?topic=x");
    let (status, _, _one) = try_stream(&events, Some("198.51.100.1")).await;
    assert_eq!(status, 200);
    // A client's own entries (left of what the proxy appended) do not count.
    let (status, _, _two) = try_stream(&events, Some("198.51.100.1, 198.51.100.2")).await;
    assert_eq!(status, 200);
    wait_for_open_streams(&server, 2).await;
    assert_refused(&events, Some("198.51.100.2"), "max-streams-per-ip").await;
    let body = assert_refused(&events, Some("198.51.100.3"), "max-streams").await;
    assert_eq!(body["limit"], "max-streams");
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    let server = start_server(|s| s.pulseboard.limits.max_streams_per_ip = 1).await;
    let events = url(&server, "/api/events?topic=x");
    let (status, _, _one) = try_stream(&events, Some("198.51.100.1")).await;
    assert_eq!(status, 200);
    wait_for_open_streams(&server, 1).await;
    // Another address in the header changes nothing: the client is still 127.0.0.1.
    let body = assert_refused(&events, Some("198.51.100.2"), "max-streams-per-ip").await;
    assert!(body["error"].as_str().unwrap().contains("127.0.0.1"), "{body}");
}

async fn publish_status(server: &RunningServer, token: Option<&str>) -> (u16, Option<u64>, serde_json::Value) {
    let mut request = client().post(url(server, "/api/publish?topic=rate")).body("x");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse().unwrap());
    (status, retry_after, response.json().await.unwrap())
}

#[tokio::test]
async fn publishes_beyond_the_rate_are_refused_per_token() {
    let server = start_server(|s| {
        s.pulseboard.limits.publish_per_second = 1;
        s.pulseboard.limits.publish_burst = 2;
    })
    .await;
    // Three publishers (distinct tokens), each with its own bucket.
    let tokens =
        [token_for(&["rate"], &[], 600), token_for(&["rate", "a"], &[], 600), token_for(&["rate", "b"], &[], 600)];
    for who in &tokens {
        for _ in 0..2 {
            assert_eq!(publish_status(&server, Some(who)).await.0, 200, "{who:?}");
        }
    }
    for who in &tokens[..2] {
        let (status, retry_after, body) = publish_status(&server, Some(who)).await;
        assert_eq!(status, 429, "{who:?}");
        assert!(retry_after.is_some_and(|secs| (1..=2).contains(&secs)), "{retry_after:?}");
        assert_eq!(body["limit"], "publish-per-second");
        assert!(body["error"].as_str().unwrap().contains("publish-per-second"), "{body}");
    }
    // Nothing refused was published.
    let topic = pulseboard::streams::TopicName::new("rate").unwrap();
    assert_eq!(server.hub.snapshot(&topic, 100).await.0.len(), 6);
}

const LONG_PIPELINE: &str = "kind=pipeline&stages=4&step_ms=10000";

async fn start_job(server: &RunningServer, session: Option<&str>) -> reqwest::Response {
    client()
        .post(url(server, "/api/jobs/start"))
        .header("cookie", session.unwrap_or(""))
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(LONG_PIPELINE)
        .send()
        .await
        .unwrap()
}

async fn assert_job_refused(response: reqwest::Response, key: &str) {
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "10");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!((body["kind"].as_str(), body["retry_after"].as_u64()), (Some("too_many_requests"), Some(10)));
    assert!(body["error"].as_str().unwrap().contains(key), "{body}");
}

#[tokio::test]
async fn jobs_per_session_and_in_total_are_limited_and_a_finished_job_frees_its_place() {
    let server = start_server(|s| {
        s.pulseboard.jobs.workers = 1;
        s.pulseboard.jobs.max_per_session = 2;
        s.pulseboard.jobs.max_total = 3;
    })
    .await;
    let (alice, bob) = (session_cookie(&url(&server, "")).await, session_cookie(&url(&server, "")).await);
    let mut alices = Vec::new();
    for _ in 0..2 {
        let response = start_job(&server, Some(&alice)).await;
        assert_eq!(response.status(), 200);
        alices.push(response.json::<i64>().await.unwrap());
    }
    assert_job_refused(start_job(&server, Some(&alice)).await, "jobs-max-per-session").await;
    assert_eq!(start_job(&server, Some(&bob)).await.status(), 200);
    assert_job_refused(start_job(&server, Some(&bob)).await, "jobs-max-total").await;

    // Cancelling one of Alice's jobs gives its place back once it has ended.
    let response = post_form(&url(&server, "/api/jobs/cancel"), &alice, &format!("id={}", alices[0])).await;
    assert_eq!(response.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = start_job(&server, Some(&bob)).await;
        if response.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the cancelled job's place never came back");
        assert_job_refused(response, "jobs-max-total").await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn three_thousand_anonymous_starts_are_not_all_accepted() {
    // The shipped defaults (`jobs-max-total` = 200); every start comes without a cookie, so each
    // is a new session and only the total stops them.
    let server = start_server(|_| {}).await;
    let limit = server_settings_total();
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..3000 {
        let response = start_job(&server, None).await;
        match response.status().as_u16() {
            200 => accepted += 1,
            429 => refused += 1,
            other => panic!("start answered {other}"),
        }
    }
    assert_eq!((accepted, refused), (limit, 3000 - limit));
}

fn server_settings_total() -> usize {
    pulseboard::config::load(None).unwrap().pulseboard.jobs.max_total
}

/// A client socket with a small receive buffer, which the kernel cannot grow.
async fn small_buffer_socket(server: &RunningServer) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.connect(server.addr).await.unwrap()
}

/// Publishes 4 KiB events to `topic` until the server has no open stream left; fails after
/// 4000 events (16 MiB, 250x the bound) or 30 s.
async fn publish_until_closed(server: &RunningServer, topic: &str) -> usize {
    let body = "x".repeat(4096);
    let deadline = Instant::now() + Duration::from_secs(30);
    for published in 1..=4000 {
        publish(server, topic, None, &body).await;
        if server.hub.stats().streams == 0 {
            return published;
        }
        assert!(Instant::now() < deadline, "the stalled stream was still open after 30 s");
    }
    panic!("the stalled stream was still open after 4000 events");
}

/// The server ends the connection: the client, reading at last, gets to its end (or a reset).
async fn assert_connection_ends(mut socket: TcpStream) {
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection stayed open");
}

fn stalling_server(s: &mut pulseboard::config::Settings) {
    s.pulseboard.streams.max_lag_bytes = 64 * 1024;
    s.pulseboard.limits.publish_per_second = 100_000;
    s.pulseboard.limits.publish_burst = 100_000;
}

#[tokio::test]
async fn a_direct_path_stream_whose_client_stops_reading_is_closed_past_the_bound() {
    let server = start_server(stalling_server).await;
    let mut socket = small_buffer_socket(&server).await;
    socket.write_all(b"GET /api/events?topic=stall HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let head = read_until(&mut socket, "retry:").await;
    assert!(head.contains("connection: close"), "served on the direct path: {head}");
    wait_for_open_streams(&server, 1).await;
    // From here on the client reads nothing.
    let published = publish_until_closed(&server, "stall").await;
    assert!(published * 4096 > 64 * 1024, "closed after {published} events, before the bound");
    assert_connection_ends(socket).await;
}

#[tokio::test]
async fn a_hyper_served_stream_whose_client_stops_reading_is_closed_past_the_bound() {
    let server = start_server(stalling_server).await;
    let mut socket = small_buffer_socket(&server).await;
    socket.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    read_until(&mut socket, "\"ok\"").await;
    socket.write_all(b"GET /api/events?topic=stall HTTP/1.1\r\nHost: test\r\n\r\n").await.unwrap();
    let head = read_until(&mut socket, "retry:").await;
    assert!(!head.contains("connection: close"), "served by hyper on the kept-alive connection: {head}");
    wait_for_open_streams(&server, 1).await;
    let published = publish_until_closed(&server, "stall").await;
    assert!(published * 4096 > 64 * 1024, "closed after {published} events, before the bound");
    assert_connection_ends(socket).await;
}

#[tokio::test]
async fn a_client_that_keeps_reading_is_not_closed() {
    let server = start_server(stalling_server).await;
    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=steady"), None).await;
    let body = "y".repeat(4096);
    // Far more than the bound in all, one event at a time, read as it comes.
    for _ in 0..64 {
        publish(&server, "steady", None, &body).await;
        let got = take(&mut events, 1).await;
        assert_eq!(got[0].data.len(), 4096);
    }
    assert_eq!(server.hub.stats().streams, 1);
}

/// The real binary, limits from its environment: `PULSEBOARD_TRUSTED_PROXIES` and
/// `PULSEBOARD_MAX_STREAMS_PER_IP`.
#[tokio::test]
async fn the_binary_takes_its_limits_from_the_environment() {
    use tokio::io::AsyncBufReadExt;
    let data = tempfile::tempdir().unwrap();
    let workdir = tempfile::tempdir().unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulseboard"));
    for (name, _) in std::env::vars() {
        if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(workdir.path())
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PULSEBOARD_DATA_DIR", data.path())
        .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "0")
        .env("PULSEBOARD_MAX_STREAMS_PER_IP", "1")
        .env("PULSEBOARD_TRUSTED_PROXIES", "[\"127.0.0.1\"]")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.strip_prefix("pulseboard listening on http://") {
                return addr.to_string();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("listening within 30 s");
    let events = format!("http://{addr}/api/events?topic=env");
    let (status, _, _one) = try_stream(&events, Some("198.51.100.7")).await;
    assert_eq!(status, 200);
    let (status, _, _two) = try_stream(&events, Some("198.51.100.8")).await;
    assert_eq!(status, 200, "a trusted proxy's clients count one by one");
    assert_refused(&events, Some("198.51.100.8"), "max-streams-per-ip").await;
    child.kill().await.unwrap();
}
