//! Helpers for integration tests: a real pulseboard server on a free loopback port.

#![allow(dead_code)]

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use pulseboard::{config, server::RunningServer};
use std::time::Duration;

pub async fn start_server(tweak: impl FnOnce(&mut config::Settings)) -> RunningServer {
    let mut settings = config::load(None).expect("built-in defaults load");
    settings.leptos.site_addr = "127.0.0.1:0".parse().unwrap();
    settings.pulseboard.server.debug_endpoints = true;
    // Quiet by default: the simulated market only runs in tests that ask for it.
    settings.pulseboard.market.ticks_per_second = 0;
    // Each server gets its own data directory (kept for post-mortems in the system temp dir).
    settings.pulseboard.server.data_dir = tempfile::tempdir().expect("temp dir").keep();
    // A known secret, so tests can mint tokens (`token`) the way an outside issuer would.
    settings.pulseboard.auth.jwt_secret = TEST_SECRET.to_string();
    tweak(&mut settings);
    pulseboard::server::start(settings).await.expect("server starts")
}

pub fn url(server: &RunningServer, path: &str) -> String {
    format!("http://{}{}", server.addr, path)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// Opens an event stream and parses it with `eventsource-stream` (a parser we did not write).
pub async fn subscribe(
    url: &str,
    last_event_id: Option<&str>,
) -> (reqwest::header::HeaderMap, impl Stream<Item = Event> + Unpin) {
    let mut request = client().get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("stream request");
    assert_eq!(response.status(), 200, "stream refused: {url}");
    let headers = response.headers().clone();
    (headers, response_events(response))
}

pub fn response_events(response: reqwest::Response) -> impl Stream<Item = Event> + Unpin {
    Box::pin(response.bytes_stream().eventsource().map(|event| event.expect("well-formed SSE")))
}

/// The next `n` events, failing the test if they take more than 5 s.
pub async fn take(events: &mut (impl Stream<Item = Event> + Unpin), n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Some(event)) => out.push(event),
            Ok(None) => panic!("stream ended after {} of {n} events", out.len()),
            Err(_) => panic!("waited 5 s for event {} of {n}", out.len() + 1),
        }
    }
    out
}

/// The `jwt-secret` every test server gets (also as `PULSEBOARD_JWT_SECRET` for child processes).
pub const TEST_SECRET: &str = "pulseboard-integration-tests-shared-secret";

/// An HS256 token signed with [`TEST_SECRET`] by `jsonwebtoken` directly (not by the server's
/// issuer), granting `publish` and `subscribe` for `ttl_secs` from now.
pub fn token_for(publish: &[&str], subscribe: &[&str], ttl_secs: i64) -> String {
    sign(serde_json::json!({
        "pulseboard": { "publish": publish, "subscribe": subscribe },
        "exp": (now_secs() + ttl_secs).max(0),
        "iat": now_secs(),
    }))
}

/// Creates an external job (`POST /api/jobs/external` with `body`) on the server at `base` (its
/// URL, no path), as a producer whose token may publish on `jobs.shared`: the job's id and the
/// token its reports must carry.
pub async fn create_external_job(base: &str, body: serde_json::Value) -> (i64, String) {
    let created: serde_json::Value = client()
        .post(format!("{base}/api/jobs/external"))
        .bearer_auth(token_for(&["jobs.shared"], &[], 60))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_i64().unwrap_or_else(|| panic!("no job created: {created}"));
    (id, created["token"].as_str().unwrap().to_string())
}

/// A token that may publish to every topic that is not reserved (not `jobs.*`, `monitor.*`,
/// `market.quote.*`) and subscribe to every public one.
pub fn publisher_token() -> String {
    token_for(&["*"], &["*"], 3600)
}

/// Signs any claims with [`TEST_SECRET`] (HS256).
pub fn sign(claims: serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_secret(TEST_SECRET.as_bytes());
    jsonwebtoken::encode(&jsonwebtoken::Header::default(), &claims, &key).expect("HS256 signs")
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// Publishes through the HTTP API with [`publisher_token`]; returns the event id.
pub async fn publish(server: &RunningServer, topic: &str, event: Option<&str>, body: &str) -> String {
    let mut path = format!("/api/publish?topic={topic}");
    if let Some(event) = event {
        path.push_str(&format!("&event={event}"));
    }
    let request = client().post(url(server, &path)).bearer_auth(publisher_token());
    let response = request.body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    json["id"].as_str().expect("id in response").to_string()
}

/// Reads from `socket` until `needle` has arrived (10 s at most); returns everything read.
pub async fn read_until(socket: &mut tokio::net::TcpStream, needle: &str) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(&seen).contains(needle) {
        let mut buf = [0u8; 4096];
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let n = tokio::time::timeout(left, socket.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("waited 10 s for {needle:?}; got {:?}", String::from_utf8_lossy(&seen)))
            .expect("read");
        assert!(n > 0, "closed before {needle:?}; got {:?}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&seen).into_owned()
}

/// Waits until the server's hub has `want` open streams (10 s at most).
pub async fn wait_for_open_streams(server: &RunningServer, want: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while server.hub.stats().streams != want {
        assert!(
            std::time::Instant::now() < deadline,
            "open streams stayed {} (want {want})",
            server.hub.stats().streams
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One raw HTTP/1.1 connection, for tests that must see the framing itself or send several
/// requests over the same socket (reqwest hides which connection a request took).
pub struct RawConnection {
    socket: tokio::net::TcpStream,
    /// Bytes read but not consumed yet (the start of the next response, say).
    pending: Vec<u8>,
}

/// A response head: the status line and header lines, names in lower case.
pub struct RawHead {
    pub status_line: String,
    pub headers: Vec<(String, String)>,
}

impl RawHead {
    pub fn status(&self) -> u16 {
        self.status_line.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// The value of header `name` (lower case), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for RawHead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {:?}", self.status_line, self.headers)
    }
}

impl RawConnection {
    pub async fn connect(server: &RunningServer) -> Self {
        Self::connect_to(server.addr).await
    }

    pub async fn connect_to(addr: std::net::SocketAddr) -> Self {
        let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
        Self { socket, pending: Vec::new() }
    }

    pub async fn send(&mut self, request: &str) {
        use tokio::io::AsyncWriteExt;
        self.socket.write_all(request.as_bytes()).await.expect("write request");
    }

    /// Reads more bytes into `pending`; fails the test after 5 s or when the peer closes.
    async fn fill(&mut self, waiting_for: &str) {
        use tokio::io::AsyncReadExt;
        let mut buf = [0u8; 8192];
        let read = tokio::time::timeout(Duration::from_secs(5), self.socket.read(&mut buf)).await;
        let n = read
            .unwrap_or_else(|_| {
                panic!("waited 5 s for {waiting_for}; have {:?}", String::from_utf8_lossy(&self.pending))
            })
            .expect("read");
        assert!(
            n > 0,
            "connection closed while waiting for {waiting_for}; have {:?}",
            String::from_utf8_lossy(&self.pending)
        );
        self.pending.extend_from_slice(&buf[..n]);
    }

    /// Consumes and returns everything up to and including `needle`.
    pub async fn read_until(&mut self, needle: &[u8]) -> Vec<u8> {
        loop {
            if let Some(at) = self.pending.windows(needle.len()).position(|w| w == needle) {
                return self.pending.drain(..at + needle.len()).collect();
            }
            self.fill(&String::from_utf8_lossy(needle)).await;
        }
    }

    async fn read_exact(&mut self, n: usize) -> Vec<u8> {
        while self.pending.len() < n {
            self.fill(&format!("{n} bytes")).await;
        }
        self.pending.drain(..n).collect()
    }

    pub async fn read_head(&mut self) -> RawHead {
        let head = String::from_utf8(self.read_until(b"\r\n\r\n").await).expect("head is text");
        let mut lines = head.trim_end().split("\r\n");
        let status_line = lines.next().unwrap_or_default().to_string();
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
            .collect();
        RawHead { status_line, headers }
    }

    /// Reads the whole body `head` announces (`content-length` or chunked), leaving the
    /// connection at the start of the next response.
    pub async fn read_body(&mut self, head: &RawHead) -> Vec<u8> {
        if let Some(length) = head.header("content-length") {
            return self.read_exact(length.parse().expect("content-length")).await;
        }
        assert_eq!(head.header("transfer-encoding"), Some("chunked"), "a body without length: {head:?}");
        let mut body = Vec::new();
        loop {
            let line = String::from_utf8(self.read_until(b"\r\n").await).expect("chunk size line");
            let size = usize::from_str_radix(line.trim_end().split(';').next().unwrap(), 16).expect("chunk size");
            if size == 0 {
                // Trailers (none expected), then the blank line.
                while self.read_until(b"\r\n").await != b"\r\n" {}
                return body;
            }
            body.extend(self.read_exact(size).await);
            assert_eq!(self.read_exact(2).await, b"\r\n", "chunk ends with CRLF");
        }
    }

    /// Whether the peer closes the connection within 5 s; what it sent until then is dropped.
    pub async fn closed(&mut self) -> bool {
        use tokio::io::AsyncReadExt;
        let mut rest = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), self.socket.read_to_end(&mut rest)).await;
        self.pending.clear();
        matches!(closed, Ok(Ok(_)))
    }
}

/// A browser session: the cookie the server sets on the first page of `base` (`http://host:port`).
pub async fn session_cookie(base: &str) -> String {
    let response = client().get(format!("{base}/")).send().await.unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// Posts `form` to a server function as the hydrated app does (JSON answer), in `session`.
pub async fn post_form(url: &str, session: &str, form: &str) -> reqwest::Response {
    client()
        .post(url)
        .header("cookie", session)
        .header("accept", "application/json")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_string())
        .send()
        .await
        .unwrap()
}

/// Starts `command` (the real `pulseboard` binary, configured by the caller) with stdout piped
/// and killed on drop, and waits up to 30 s for its "listening" line. Stdout is read on
/// afterwards, so the process never blocks on a full pipe.
pub async fn spawn_listening(command: &mut tokio::process::Command) -> (tokio::process::Child, std::net::SocketAddr) {
    use tokio::io::AsyncBufReadExt;
    command.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::piped()).kill_on_drop(true);
    let mut child = command.spawn().expect("the pulseboard binary starts");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(addr) = line.strip_prefix("pulseboard listening on http://") {
                return addr.parse().expect("an address");
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// Waits up to 20 s until the server at `addr` answers `/readyz` with 200 (e.g. an instance on a
/// Redis hub, which refuses streams until it has heard from Redis).
pub async fn wait_until_ready(addr: std::net::SocketAddr) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let ready = format!("http://{addr}/readyz");
    while client().get(&ready).send().await.map(|r| r.status().as_u16()).unwrap_or(0) != 200 {
        assert!(std::time::Instant::now() < deadline, "readyz never answered 200");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
