//! One SSE subscriber as a lean raw-TCP HTTP/1.1 client: sends the GET, checks the head, then
//! reads the body (chunked or not), parses frames and accounts each payload. Thousands of these
//! run at once, so each holds one small read buffer and a sequence tracker, nothing more.
//! `connect` and `EventReader` also serve the quote subscribers of `market`.

use crate::{
    error::BenchError,
    http1::{self, Dechunker, ResponseHead},
    sse::{parse_payload, SseEvent, SseParser},
    tracker::{Latencies, SeqTracker},
};
use futures::StreamExt;
use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
};

const READ_BUFFER: usize = 4096;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Counters all subscribers add to (once per read, not per event).
pub struct Shared {
    /// The clock payload timestamps are relative to.
    pub epoch: Instant,
    pub unique: AtomicU64,
    pub duplicates: AtomicU64,
    /// `reset` events (pulseboard's notice that a subscriber fell behind its history).
    pub resets: AtomicU64,
    /// Events whose data was not a benchmark payload.
    pub invalid: AtomicU64,
    /// Streams that ended or failed before the run was over.
    pub ended: AtomicU64,
    /// Nanoseconds since `epoch` of the latest read that brought a new event.
    pub last_delivery_ns: AtomicU64,
    pub latencies: Latencies,
}

impl Shared {
    pub fn new(epoch: Instant) -> Self {
        Self {
            epoch,
            unique: AtomicU64::new(0),
            duplicates: AtomicU64::new(0),
            resets: AtomicU64::new(0),
            invalid: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            last_delivery_ns: AtomicU64::new(0),
            latencies: Latencies::new(16),
        }
    }
}

/// An open stream whose response head has been read.
pub struct Connected {
    stream: TcpStream,
    head: ResponseHead,
    /// Body bytes that arrived with the head.
    leftover: Vec<u8>,
}

impl Connected {
    /// The socket, a reader for its body, and the body bytes that came with the head.
    pub fn into_parts(self) -> (TcpStream, EventReader, Vec<u8>) {
        (self.stream, EventReader::new(&self.head), self.leftover)
    }
}

/// The fan-out stream of one topic: `GET /api/events?topic=...`.
pub fn events_path(topic: &str) -> String {
    format!("/api/events?topic={topic}")
}

/// Connects and sends `GET path` for an event stream; returns once the 200 head has arrived.
/// `recv_buffer`: a receive buffer size (SO_RCVBUF, bytes) set before connecting, for clients
/// meant to stall: the kernel then holds little of what the server sends.
pub async fn connect(addr: SocketAddr, path: &str, recv_buffer: Option<u32>) -> Result<Connected, BenchError> {
    connect_after(addr, None, path, recv_buffer).await
}

/// [`connect`], with `first` asked for first on the same connection (its whole answer read): a
/// stream asked for after that on the kept-alive connection is served by hyper, not by the
/// server's direct path for a connection's first request.
pub async fn connect_after(
    addr: SocketAddr,
    first: Option<&str>,
    path: &str,
    recv_buffer: Option<u32>,
) -> Result<Connected, BenchError> {
    tokio::time::timeout(CONNECT_TIMEOUT, async {
        let socket = if addr.is_ipv4() { TcpSocket::new_v4() } else { TcpSocket::new_v6() }
            .map_err(|e| BenchError::Io("connect", e))?;
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).map_err(|e| BenchError::Io("setting SO_RCVBUF", e))?;
        }
        let mut stream = socket.connect(addr).await.map_err(|e| BenchError::Io("connect", e))?;
        stream.set_nodelay(true).map_err(|e| BenchError::Io("connect", e))?;
        let mut buf = Vec::with_capacity(1024);
        if let Some(first) = first {
            let request = format!("GET {first} HTTP/1.1\r\nHost: {addr}\r\n\r\n");
            crate::exchange::exchange(&mut stream, request.as_bytes(), &mut buf, "the request before the stream")
                .await?;
        }
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n");
        stream.write_all(request.as_bytes()).await.map_err(|e| BenchError::Io("subscribe", e))?;
        loop {
            if let Some((head, len)) = http1::parse_head(&buf)? {
                if head.status != 200 {
                    return Err(BenchError::Status { what: "the event stream GET", status: head.status });
                }
                return Ok(Connected { stream, head, leftover: buf.split_off(len) });
            }
            let mut chunk = [0u8; 1024];
            let n = stream.read(&mut chunk).await.map_err(|e| BenchError::Io("subscribe", e))?;
            if n == 0 {
                return Err(BenchError::Closed("the response head"));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    })
    .await
    .map_err(|_| BenchError::Timeout("subscribing"))?
}

/// How opening a batch of streams went.
#[derive(Debug, Clone, Default)]
pub struct ConnectSummary {
    pub connected: usize,
    pub failed: usize,
    pub first_error: Option<String>,
    /// Until the last head arrived.
    pub secs: f64,
}

impl ConnectSummary {
    /// An error when not one stream could be opened (nothing to measure).
    pub fn require_some(&self, server: &str) -> Result<(), BenchError> {
        if self.connected > 0 {
            return Ok(());
        }
        Err(BenchError::BadArgument(format!(
            "no subscriber could connect to {server}: {}",
            self.first_error.as_deref().unwrap_or_default()
        )))
    }
}

/// Opens `count` streams of `path`, `concurrency` at a time (the listen backlog is finite), and
/// hands each to `each` with its number (0, 1, ... in order of arrival) as soon as its head is in.
pub async fn connect_all(
    addr: SocketAddr,
    path: &str,
    count: usize,
    concurrency: usize,
    recv_buffer: Option<u32>,
    mut each: impl FnMut(usize, Connected),
) -> ConnectSummary {
    let started = Instant::now();
    let mut attempts =
        futures::stream::iter(0..count).map(|_| connect(addr, path, recv_buffer)).buffer_unordered(concurrency.max(1));
    let mut summary = ConnectSummary::default();
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(stream) => {
                each(summary.connected, stream);
                summary.connected += 1;
            }
            Err(err) => {
                summary.failed += 1;
                summary.first_error.get_or_insert_with(|| err.to_string());
            }
        }
    }
    summary.secs = started.elapsed().as_secs_f64();
    summary
}

/// Turns the wire bytes of an event-stream response (chunked or not) into SSE events.
pub struct EventReader {
    dechunker: Option<Dechunker>,
    body: Vec<u8>,
    parser: SseParser,
}

impl EventReader {
    pub fn new(head: &ResponseHead) -> Self {
        Self { dechunker: head.chunked.then(Dechunker::default), body: Vec::new(), parser: SseParser::default() }
    }

    /// Feeds the bytes of one read, calling `on_event` for each complete event; false when the
    /// stream is over or its chunked coding is broken.
    pub fn feed(&mut self, wire: &[u8], on_event: impl FnMut(SseEvent<'_>)) -> bool {
        let body: &[u8] = match &mut self.dechunker {
            Some(dechunker) => {
                self.body.clear();
                if dechunker.feed(wire, &mut self.body).is_err() {
                    return false;
                }
                &self.body
            }
            None => wire,
        };
        self.parser.feed(body, on_event);
        !self.dechunker.as_ref().is_some_and(Dechunker::is_done)
    }
}

/// Reads the stream until it ends, accounting every event in `shared`. `key` spreads the
/// latency recording over shards.
pub async fn run(key: usize, connected: Connected, shared: Arc<Shared>) {
    let (mut stream, events, leftover) = connected.into_parts();
    let mut reader = Reader { events, tracker: SeqTracker::default(), latencies: Vec::new() };
    read_body(&mut stream, &leftover, None, |wire| reader.take(key, wire, &shared)).await;
    shared.ended.fetch_add(1, Ordering::Relaxed);
}

/// Hands `take` the body bytes that came with the head, then each read, until `take` returns
/// false (the stream is over or broken), the server closes, a read fails or `deadline` passes.
pub async fn read_body(
    stream: &mut TcpStream,
    leftover: &[u8],
    deadline: Option<tokio::time::Instant>,
    mut take: impl FnMut(&[u8]) -> bool,
) {
    let mut open = take(leftover);
    let mut buf = vec![0u8; READ_BUFFER];
    while open {
        let read = match deadline {
            Some(deadline) => match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
                Ok(read) => read,
                Err(_) => return,
            },
            None => stream.read(&mut buf).await,
        };
        match read {
            Ok(0) | Err(_) => return,
            Ok(n) => open = take(&buf[..n]),
        }
    }
}

struct Reader {
    events: EventReader,
    tracker: SeqTracker,
    latencies: Vec<u64>,
}

impl Reader {
    /// Handles the bytes of one read; false when the stream is over or broken.
    fn take(&mut self, key: usize, wire: &[u8], shared: &Shared) -> bool {
        if wire.is_empty() {
            return true;
        }
        let now_ns = shared.epoch.elapsed().as_nanos() as u64;
        let (unique_before, dups_before) = (self.tracker.unique, self.tracker.duplicates);
        let (mut resets, mut invalid) = (0u64, 0u64);
        let tracker = &mut self.tracker;
        let latencies = &mut self.latencies;
        let open = self.events.feed(wire, |event| {
            if event.event_type == b"reset" {
                resets += 1;
                return;
            }
            match parse_payload(event.data) {
                Some(payload) => {
                    if tracker.record(payload.seq) {
                        latencies.push(now_ns.saturating_sub(payload.sent_ns) / 1000);
                    }
                }
                None => invalid += 1,
            }
        });
        let new = self.tracker.unique - unique_before;
        if new > 0 {
            shared.unique.fetch_add(new, Ordering::Relaxed);
            shared.last_delivery_ns.fetch_max(now_ns, Ordering::Relaxed);
            shared.latencies.record(key, &self.latencies);
            self.latencies.clear();
        }
        let dups = self.tracker.duplicates - dups_before;
        if dups > 0 {
            shared.duplicates.fetch_add(dups, Ordering::Relaxed);
        }
        if resets > 0 {
            shared.resets.fetch_add(resets, Ordering::Relaxed);
        }
        if invalid > 0 {
            shared.invalid.fetch_add(invalid, Ordering::Relaxed);
        }
        open
    }
}
