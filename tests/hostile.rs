//! Hostile and broken requests, sent as raw bytes on fresh sockets (so nothing a client library
//! would tidy up is tidied up), each with the status and message it must get. A panic anywhere in
//! the server fails the suite: the server runs on this process's worker threads, and a panic hook
//! counts every panic on them.
//!
//! The cases are listed in `cases()` (the suite prints each with what it got: `cargo test --features
//! ssr --test hostile -- --nocapture`); the tests below the table cover what a single
//! request cannot show (slow heads, pipelining, sessions, floods of connections).

mod common;

use common::*;
use std::{
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);

/// Counts panics on the runtime's worker threads (where the server's tasks run), keeping the
/// default report.
fn count_server_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() == Some("tokio-runtime-worker") {
                SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info);
        }));
    });
}

fn assert_no_server_panic() {
    assert_eq!(SERVER_PANICS.load(Ordering::SeqCst), 0, "the server panicked (see the report above)");
}

/// What came back on a raw connection.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: String,
}

/// Sends `request` on a new connection and reads one response: its head, then the body by its
/// length, to the end of a chunked body, or (for an event stream) until its first event.
async fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> Reply {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    read_reply(&mut socket).await
}

async fn read_reply(socket: &mut TcpStream) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut seen = Vec::new();
    let complete = |seen: &[u8]| -> bool {
        let text = String::from_utf8_lossy(seen);
        let Some((head, body)) = text.split_once("\r\n\r\n") else { return false };
        let head = head.to_ascii_lowercase();
        if let Some(length) = head.lines().find_map(|l| l.strip_prefix("content-length:")) {
            return body.len() >= length.trim().parse::<usize>().unwrap_or(0);
        }
        if head.contains("text/event-stream") {
            return body.contains("\n\n") && body.trim_start_matches(|c: char| c.is_ascii_hexdigit()).len() > 12;
        }
        head.contains("transfer-encoding: chunked") && body.ends_with("0\r\n\r\n")
    };
    while !complete(&seen) {
        let mut buf = [0u8; 16384];
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, socket.read(&mut buf)).await {
            Err(_) => panic!("no complete answer in 10 s; got {:?}", String::from_utf8_lossy(&seen)),
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&seen).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Reply { status, head: head.to_string(), body: body.to_string() }
}

/// A request: method and target, then extra header lines and a body.
fn request(start: &str, headers: &[&str], body: &[u8]) -> Vec<u8> {
    let mut out = format!("{start} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes();
    for header in headers {
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() && !headers.iter().any(|h| h.to_ascii_lowercase().starts_with("content-length")) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

const FORM: &str = "Content-Type: application/x-www-form-urlencoded";
const JSON_ANSWER: &str = "Accept: application/json";

/// One hostile request: what it is, the bytes, the status it must get and what the answer
/// must say (in the JSON `error` for API answers, anywhere in the body otherwise; empty for
/// static paths, whose 404 has no body), and whether the connection must close after it.
struct Case {
    what: &'static str,
    bytes: Vec<u8>,
    status: u16,
    says: &'static str,
    closes: bool,
}

fn case(what: &'static str, bytes: Vec<u8>, status: u16, says: &'static str) -> Case {
    Case { what, bytes, status, says, closes: false }
}

/// A request whose head or framing HTTP/1.1 itself refuses, before any route: answered with a
/// JSON message and `connection: close`, so nothing can be smuggled behind it.
fn framing(what: &'static str, bytes: Vec<u8>, status: u16, says: &'static str) -> Case {
    Case { what, bytes, status, says, closes: true }
}

/// Base64url without padding (a JWT's segments).
fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

fn cases() -> Vec<Case> {
    let long_topic = format!("GET /api/events?topic={}", "t".repeat(129));
    let many_topics = format!("GET /api/events?{}", "topic=t&".repeat(33));
    let huge_id = format!("Last-Event-ID: {}", "7".repeat(8000));
    let many_headers: Vec<String> = (0..120).map(|i| format!("X-Flood-{i}: x")).collect();
    let many_headers: Vec<&str> = many_headers.iter().map(String::as_str).collect();
    let huge_header = format!("X-Big: {}", "b".repeat(500_000));
    let symbol_flood: String =
        (0..200).fold("GET /api/market/snapshot?".to_string(), |query, i| query + &format!("symbols=S{i}&"));
    let huge_cookie = format!("Cookie: pb_session={}", "c".repeat(20_000));
    let bearer = format!("Authorization: Bearer {}", publisher_token());
    let bearer = bearer.as_str();
    let with_token = |token: String| format!("Authorization: Bearer {token}");
    let expired = with_token(token_for(&["p1"], &[], -120));
    let foreign_key = with_token(
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &serde_json::json!({"pulseboard": {"publish": ["p1"]}, "exp": now_secs() + 60}),
            &jsonwebtoken::EncodingKey::from_secret(b"a-secret-this-server-never-had-at-all"),
        )
        .unwrap(),
    );
    // `alg: none` with claims that would allow everything.
    let unsigned = with_token(format!(
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
        base64_url(&serde_json::json!({"pulseboard": {"publish": ["*"]}, "exp": now_secs() + 60}).to_string())
    ));
    let oversized = with_token("x".repeat(9000));
    let narrow = with_token(token_for(&["other"], &["*"], 60));
    let jobs_writer = with_token(token_for(&["jobs.shared"], &[], 600));
    vec![
        // Tokens (RFC 6750): 401 for a missing or bad one, 403 for one that does not allow the topic.
        case("publish without a token", request("POST /api/publish?topic=p1", &[], b"x"), 401, "needs a bearer token"),
        case(
            "malformed token",
            request("POST /api/publish?topic=p1", &["Authorization: Bearer not.a.jwt"], b"x"),
            401,
            "not a well-formed JWT",
        ),
        case("expired token", request("POST /api/publish?topic=p1", &[&expired], b"x"), 401, "expired"),
        case("wrongly signed token", request("POST /api/publish?topic=p1", &[&foreign_key], b"x"), 401, "signature"),
        case(
            "unsigned alg-none token",
            request("POST /api/publish?topic=p1", &[&unsigned], b"x"),
            401,
            "invalid token",
        ),
        case("oversized token", request("POST /api/publish?topic=p1", &[&oversized], b"x"), 401, "at most 8192"),
        case(
            "wrongly scoped token",
            request("POST /api/publish?topic=p1", &[&narrow], b"x"),
            403,
            "do not allow topic",
        ),
        case(
            "`*` onto a server topic",
            request("POST /api/publish?topic=jobs.shared&event=job", &[bearer], b"{}"),
            403,
            "`*` does not",
        ),
        case(
            "access_token on publish",
            request(&format!("POST /api/publish?topic=p1&access_token={}", publisher_token()), &[], b"x"),
            400,
            "subscriptions only",
        ),
        // Ids on the stream API: never echoed raw, never a field injection, always a clean reset.
        case("huge Last-Event-ID", request("GET /api/events?topic=h1", &[&huge_id], b""), 200, "malformed-id"),
        case(
            "CR LF in last_event_id",
            request("GET /api/events?topic=h2&last_event_id=1%0D%0Aevent:%20evil%0D%0A", &[], b""),
            200,
            "malformed-id",
        ),
        case(
            "NUL in last_event_id",
            request("GET /api/events?topic=h3&last_event_id=a%00b", &[], b""),
            200,
            "malformed-id",
        ),
        case(
            "future id",
            request("GET /api/events?topic=h4&last_event_id=00000000-99999999", &[], b""),
            200,
            "unknown-id",
        ),
        case(
            "id seq overflows u64",
            request("GET /api/events?topic=h5", &["Last-Event-ID: 0000abcd-999999999999999999999999"], b""),
            200,
            "malformed-id",
        ),
        // Topic names and parameters.
        case("non-ASCII topic", request("GET /api/events?topic=t%C3%A9", &[], b""), 400, "contains 'é'"),
        case("129-character topic", request(&long_topic, &[], b""), 400, "longer than 128"),
        case("empty topic", request("GET /api/events?topic=", &[], b""), 400, "must not be empty"),
        case("topic of dots", request("GET /api/events?topic=..", &[], b""), 400, "must start with a letter or digit"),
        case(
            "bad percent-encoding",
            request("GET /api/events?topic=%ZZ", &[], b""),
            400,
            "must start with a letter or digit",
        ),
        case("bracketed parameter", request("GET /api/events?topic[]=a", &[], b""), 400, "unknown query parameter"),
        case(
            "repeated last_event_id",
            request("GET /api/events?topic=a&last_event_id=1&last_event_id=2", &[], b""),
            400,
            "more than once",
        ),
        case("33 topics", request(&many_topics, &[], b""), 400, "at most 32 topics"),
        case("no topic", request("GET /api/events?", &[], b""), 400, "missing query parameter \"topic\""),
        case(
            "private topic subscribe",
            request("GET /api/events?topic=private.jobs.x", &[], b""),
            403,
            "private to the server",
        ),
        // Publishing.
        case(
            "CR in event type",
            request("POST /api/publish?topic=p1&event=a%0Db", &[bearer], b"x"),
            400,
            "contains '\\r'",
        ),
        case(
            "reserved event type",
            request("POST /api/publish?topic=p1&event=reset", &[bearer], b"x"),
            400,
            "reserved",
        ),
        case(
            "non-UTF-8 body",
            request("POST /api/publish?topic=p1", &[bearer], &[0xC3, 0x28, 0xFF]),
            400,
            "not valid UTF-8",
        ),
        case("oversized body", request("POST /api/publish?topic=p1", &[bearer], &vec![b'x'; 70_000]), 413, "limit of"),
        case(
            "oversized declared, not sent",
            request("POST /api/publish?topic=p1", &[bearer, "Content-Length: 999999999"], b""),
            413,
            "limit of",
        ),
        case(
            "private topic publish",
            request("POST /api/publish?topic=private.jobs.x", &[], b"x"),
            403,
            "private to the server",
        ),
        case("publish with GET", request("GET /api/publish?topic=p1", &[], b""), 405, "use POST"),
        case("events with DELETE", request("DELETE /api/events?topic=p1", &[], b""), 405, "use GET"),
        // Framing HTTP/1.1 refuses before any route (the first head of a connection is checked as
        // hyper checks it, and answered with a message).
        framing(
            "two Content-Lengths",
            request("POST /api/publish?topic=p1", &["Content-Length: 1", "Content-Length: 2"], b"xx"),
            400,
            "two Content-Length headers disagree (1 and 2)",
        ),
        framing(
            "negative Content-Length",
            request("POST /api/publish?topic=p1", &["Content-Length: -1"], b""),
            400,
            "Content-Length must be a whole number of bytes (digits only), not \"-1\"",
        ),
        framing(
            "Content-Length not a number",
            request("POST /api/publish?topic=p1", &["Content-Length: 1e3"], b""),
            400,
            "not \"1e3\"",
        ),
        // RFC 9112 §6.3: Transfer-Encoding wins over Content-Length and the connection closes after
        // the answer, so nothing can be smuggled behind the body.
        framing(
            "Content-Length with Transfer-Encoding",
            request(
                "POST /api/publish?topic=p1",
                &[bearer, "Content-Length: 3", "Transfer-Encoding: chunked"],
                b"0\r\n\r\n",
            ),
            200,
            "\"id\"",
        ),
        framing(
            "unknown Transfer-Encoding",
            request("POST /api/publish?topic=p1", &["Transfer-Encoding: gzip"], b""),
            400,
            "Transfer-Encoding \"gzip\" is not supported",
        ),
        framing("garbage request line", b"HELLO THERE\r\n\r\n".to_vec(), 400, "malformed request line"),
        framing(
            "HTTP/2.0 request line",
            b"GET / HTTP/2.0\r\nHost: x\r\n\r\n".to_vec(),
            400,
            "must end in HTTP/1.1 or HTTP/1.0",
        ),
        framing("120 header lines", request("GET /healthz", &many_headers, b""), 431, "more than 100 header lines"),
        framing("500 KB header", request("GET /healthz", &[&huge_header], b""), 431, "larger than 417792 bytes"),
        framing(
            "120 header lines on a stream path",
            request("GET /api/events?topic=f1", &many_headers, b""),
            431,
            "more than 100 header lines",
        ),
        // Server functions: every argument broken in its own way.
        case("unknown job kind", request("POST /api/jobs/start", &[FORM, JSON_ANSWER], b"kind=rm-rf"), 400, "kind"),
        case(
            "job dir with ..",
            request("POST /api/jobs/start", &[FORM, JSON_ANSWER], b"kind=checksum&dir=..%2F..%2Fetc"),
            400,
            "must not contain '..'",
        ),
        case(
            "job dir absolute",
            request("POST /api/jobs/start", &[FORM, JSON_ANSWER], b"kind=checksum&dir=%2Fetc"),
            400,
            "relative to the jobs root",
        ),
        case(
            "job limit out of range",
            request("POST /api/jobs/start", &[FORM, JSON_ANSWER], b"kind=primes&limit=999999999999999999999"),
            400,
            "limit",
        ),
        case(
            "job form not UTF-8",
            request("POST /api/jobs/start", &[FORM, JSON_ANSWER], &[b'k', b'=', 0xFF, 0xFE]),
            400,
            "",
        ),
        case(
            "cancel id overflow",
            request("POST /api/jobs/cancel", &[FORM, JSON_ANSWER], b"id=99999999999999999999999"),
            400,
            "id must be a job number",
        ),
        case("cancel with no id", request("POST /api/jobs/cancel", &[FORM, JSON_ANSWER], b""), 400, "id"),
        case(
            "cancel unknown job",
            request("POST /api/jobs/cancel", &[FORM, JSON_ANSWER], b"id=424242"),
            404,
            "no such job",
        ),
        case(
            "detail negative id",
            request("GET /api/jobs/detail?id=-3", &[JSON_ANSWER], b""),
            400,
            "id must be a job number",
        ),
        case(
            "unknown server function",
            request("POST /api/jobs/explode", &[FORM, JSON_ANSWER], b"x=1"),
            404,
            "/api/jobs/explode",
        ),
        case(
            "inspector topic with newline",
            request("GET /api/inspector/snapshot?topic=a%0Ab", &[JSON_ANSWER], b""),
            400,
            "contains '\\n'",
        ),
        case("market symbols flood", request(&symbol_flood, &[JSON_ANSWER], b""), 400, "unknown symbol"),
        case(
            "external job report not JSON",
            request("POST /api/jobs/external", &[&jobs_writer, "Content-Type: application/json"], b"{nope"),
            400,
            "",
        ),
        // Static paths: traversal never reaches a file outside the site.
        case("pkg traversal", request("GET /pkg/../../Cargo.toml", &[], b""), 404, ""),
        case("encoded traversal", request("GET /pkg/%2e%2e/%2e%2e/Cargo.toml", &[], b""), 404, ""),
        case("backslash traversal", request("GET /pkg/..%5c..%5cCargo.toml", &[], b""), 404, ""),
        case("NUL in path", request("GET /pkg/a%00.js", &[], b""), 404, ""),
        // Sessions.
        case("tampered session cookie", request("GET /", &["Cookie: pb_session=forged.value"], b""), 200, "<html"),
        case("20 KB cookie", request("GET /", &[&huge_cookie], b""), 200, "<html"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hostile_request_gets_its_status_and_message() {
    count_server_panics();
    let server = start_server(|_| {}).await;
    let mut failures = Vec::new();
    let cases = cases();
    assert!(cases.len() >= 40, "the suite keeps at least 40 cases");
    for case in &cases {
        let reply = exchange(server.addr, &case.bytes).await;
        let error = serde_json::from_str::<serde_json::Value>(reply.body.trim())
            .ok()
            .and_then(|json| json["error"].as_str().map(str::to_string));
        let said = error.as_deref().unwrap_or(&reply.body);
        // The list of cases and what each got (`-- --nocapture` shows it).
        let shown = error.as_deref().map_or_else(
            || "(no JSON error: a page, a stream or a file)".into(),
            |e| e.chars().take(110).collect::<String>(),
        );
        println!("{} -> {}: {shown}", case.what, reply.status);
        if reply.status != case.status || !said.contains(case.says) {
            failures.push(format!(
                "{}: want {} saying {:?}, got {:?} {:?}",
                case.what, case.status, case.says, reply.head, said
            ));
        }
        if (400..500).contains(&case.status) && !case.says.is_empty() && error.is_none() {
            failures.push(format!("{}: a refusal without a JSON error: {:?}", case.what, reply.body));
        }
        if case.what.contains("CR LF") && reply.body.contains("event: evil") {
            failures.push(format!("{}: the id injected a field", case.what));
        }
        if case.closes && !reply.head.to_ascii_lowercase().contains("connection: close") {
            failures.push(format!("{}: the connection stays open after broken framing: {:?}", case.what, reply.head));
        }
        if case.what.contains("traversal") && reply.body.contains("[package]") {
            failures.push(format!("{}: a file outside the site was served", case.what));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
    // The server still answers, and nothing panicked.
    assert_eq!(exchange(server.addr, &request("GET /healthz", &[], b"")).await.status, 200);
    assert_no_server_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_heads_do_not_hold_up_anyone_else() {
    count_server_panics();
    let server = start_server(|_| {}).await;
    // Ten connections dribble their heads a byte at a time, one on a stream path, ...
    let mut slow = Vec::new();
    for i in 0..10 {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        let target = if i == 0 { "GET /api/events?topic=slow" } else { "GET /healthz" };
        socket.write_all(&target.as_bytes()[..6]).await.unwrap();
        slow.push((socket, &target[6..]));
    }
    // ... while others are answered at once, a stream included.
    for _ in 0..5 {
        let started = Instant::now();
        assert_eq!(exchange(server.addr, &request("GET /healthz", &[], b"")).await.status, 200);
        assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}", started.elapsed());
    }
    let reply = exchange(server.addr, &request("GET /api/events?topic=fast", &[], b"")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // The slow ones finish their heads and are answered too.
    for (socket, rest) in &mut slow {
        for byte in rest.bytes() {
            socket.write_all(&[byte]).await.unwrap();
        }
        socket.write_all(b" HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    }
    for (socket, _) in &mut slow {
        let reply = read_reply(socket).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    assert_no_server_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_are_answered_in_order() {
    count_server_panics();
    let server = start_server(|_| {}).await;
    // Two plain requests and then a stream on one connection, in one write.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = request("GET /healthz", &[], b"");
    bytes.extend(request("GET /api/events?topic=piped-a", &["Accept: application/json"], b""));
    socket.write_all(&bytes).await.unwrap();
    let both = read_until(&mut socket, "retry:").await;
    let health = both.find("{\"status\":\"ok\"}").unwrap_or_else(|| panic!("no health answer: {both:?}"));
    let stream = both.find("text/event-stream").unwrap_or_else(|| panic!("no stream answer: {both:?}"));
    assert!(health < stream, "answered out of order: {both:?}");
    assert_eq!(both.matches("HTTP/1.1 200 OK").count(), 2, "{both:?}");

    // A stream first (the direct path) with junk pipelined behind it: the stream is served, the
    // junk never becomes a request, and the connection closes when the stream ends.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = request("GET /api/events?topic=piped-b", &[], b"");
    bytes.extend_from_slice(b"POST /api/publish?topic=piped-b HTTP/1.1\r\nContent-Length: 5\r\n\r\nforge");
    socket.write_all(&bytes).await.unwrap();
    let head = read_until(&mut socket, "retry:").await;
    assert!(head.starts_with("HTTP/1.1 200 OK"), "{head:?}");
    let id = publish(&server, "piped-b", None, "real").await;
    let seen = read_until(&mut socket, &id).await;
    let topic =
        reqwest::get(url(&server, "/api/inspector/snapshot?topic=piped-b")).await.unwrap().text().await.unwrap();
    assert!(!seen.contains("forge") && !topic.contains("forge"), "the pipelined publish was taken: {seen:?} {topic}");
    assert_no_server_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_half_open_connections_leaves_the_server_answering() {
    count_server_panics();
    let server = start_server(|_| {}).await;
    // 300 connections that send part of a head and stop, and 300 that send nothing.
    let mut idle = Vec::new();
    for i in 0..600 {
        let mut socket = TcpStream::connect(server.addr).await.unwrap();
        if i % 2 == 0 {
            socket.write_all(b"GET /api/str").await.unwrap();
        }
        idle.push(socket);
    }
    let reply = exchange(server.addr, &request("GET /api/events?topic=flood", &[], b"")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(exchange(server.addr, &request("GET /healthz", &[], b"")).await.status, 200);
    drop(idle);
    assert_no_server_panic();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_framing_after_the_first_request_of_a_kept_alive_connection_still_closes_it() {
    count_server_panics();
    let server = start_server(|_| {}).await;
    // The first request is served; the second, on the same connection, is parsed by hyper alone,
    // which refuses it with the status and no message (README, "Limits") and closes the
    // connection, so the publish pipelined behind it is never taken.
    let mut socket = TcpStream::connect(server.addr).await.unwrap();
    let mut bytes = request("GET /healthz", &[], b"");
    bytes.extend(request("POST /api/publish?topic=kept", &["Content-Length: 1", "Content-Length: 2"], b"xx"));
    bytes.extend(request(
        "POST /api/publish?topic=kept",
        &[&format!("Authorization: Bearer {}", publisher_token())],
        b"smuggled",
    ));
    socket.write_all(&bytes).await.unwrap();
    let mut all = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), socket.read_to_end(&mut all)).await;
    assert!(matches!(closed, Ok(Ok(_))), "the connection stayed open: {:?}", String::from_utf8_lossy(&all));
    let all = String::from_utf8_lossy(&all);
    let answers: Vec<&str> = all.matches("HTTP/1.1 ").collect();
    assert_eq!(answers.len(), 2, "{all:?}");
    assert!(all.starts_with("HTTP/1.1 200 OK") && all.contains("HTTP/1.1 400 Bad Request"), "{all:?}");
    let topic = reqwest::get(url(&server, "/api/inspector/snapshot?topic=kept")).await.unwrap().text().await.unwrap();
    assert!(!topic.contains("smuggled"), "{topic}");
    assert_no_server_panic();
}
