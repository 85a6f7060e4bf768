//! The open-loop publisher: sends `POST /api/publish` on a fixed schedule whatever the server's
//! answers take, over a few keep-alive connections that take the next sequence number from one
//! shared queue as soon as they are free (so the server sees the numbers nearly in order: a
//! slow connection cannot hold back a fixed share of them). Each payload carries its sequence
//! number and the time it was sent.

use crate::{
    error::BenchError,
    exchange,
    sse::{format_payload, Payload},
};
use std::{
    net::SocketAddr,
    sync::atomic::{AtomicU64, Ordering},
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::{
    net::TcpStream,
    sync::{mpsc, Mutex},
    task::JoinSet,
};

/// Publishes queued per connection before the schedule has to wait (the server is far behind).
const QUEUE: usize = 4096;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
pub struct PublishCounts {
    pub ok: AtomicU64,
    pub failed: AtomicU64,
}

impl PublishCounts {
    pub fn done(&self) -> u64 {
        self.ok.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed)
    }
}

pub struct Publisher {
    queue: mpsc::Sender<u64>,
    pub counts: Arc<PublishCounts>,
    next_seq: u64,
    _tasks: JoinSet<()>,
}

/// What one target of the publisher is.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    topic: String,
    /// `Authorization: Bearer ...\r\n`, or nothing.
    authorization: String,
    pad: usize,
    epoch: Instant,
}

impl Publisher {
    pub async fn start(
        addr: SocketAddr,
        topic: &str,
        connections: usize,
        pad: usize,
        epoch: Instant,
        token: Option<&str>,
    ) -> Result<Self, BenchError> {
        let authorization = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
        let target = Target { addr, topic: topic.to_string(), authorization, pad, epoch };
        let counts = Arc::new(PublishCounts::default());
        let mut tasks = JoinSet::new();
        let (queue, receiver) = mpsc::channel(QUEUE);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..connections.max(1) {
            let stream = open(addr).await?;
            tasks.spawn(connection(stream, receiver.clone(), target.clone(), counts.clone()));
        }
        Ok(Self { queue, counts, next_seq: 0, _tasks: tasks })
    }

    /// Publishes `count` events at `rate` per second from now on; returns when the last has
    /// been handed to its connection.
    pub async fn schedule(&mut self, rate: u32, count: u64) {
        let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        for _ in 0..count {
            ticks.tick().await;
            let seq = self.next_seq;
            self.next_seq += 1;
            if self.queue.send(seq).await.is_err() {
                self.counts.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn open(addr: SocketAddr) -> Result<TcpStream, BenchError> {
    exchange::open(addr, "publisher connect").await
}

type Queue = Arc<Mutex<mpsc::Receiver<u64>>>;

/// The next sequence number to publish, for whichever connection is free first.
async fn next(queue: &Queue) -> Option<u64> {
    queue.lock().await.recv().await
}

async fn connection(mut stream: TcpStream, queue: Queue, target: Target, counts: Arc<PublishCounts>) {
    let mut buf = Vec::with_capacity(1024);
    while let Some(seq) = next(&queue).await {
        let sent_ns = target.epoch.elapsed().as_nanos() as u64;
        let body = format_payload(Payload { seq, sent_ns }, target.pad);
        let request = format!(
            "POST /api/publish?topic={} HTTP/1.1\r\nHost: {}\r\n{}Content-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{}",
            target.topic,
            target.addr,
            target.authorization,
            body.len(),
            body
        );
        let result = tokio::time::timeout(
            REQUEST_TIMEOUT,
            exchange::exchange(&mut stream, request.as_bytes(), &mut buf, "POST /api/publish"),
        )
        .await;
        match result {
            Ok(Ok(_body)) => {
                counts.ok.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Ok(Err(_)) | Err(_) => {
                counts.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        // The connection is in an unknown state: start a new one.
        buf.clear();
        match open(target.addr).await {
            Ok(fresh) => stream = fresh,
            Err(_) => {
                while next(&queue).await.is_some() {
                    counts.failed.fetch_add(1, Ordering::Relaxed);
                }
                return;
            }
        }
    }
}
