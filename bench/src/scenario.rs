//! One scenario: a fresh server, N subscribers connected, idle memory measured, then one step
//! per publish rate (publish, drain, account), then the server stopped. Returns the figures.

use crate::{
    error::BenchError,
    procstat,
    publisher::Publisher,
    server_proc::{ServerKind, ServerProcess},
    subscriber::{self, Shared},
    tracker::{lost, LatencySummary},
};
use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};
use tokio::task::JoinSet;

/// What to run against each server (already validated).
#[derive(Debug, Clone)]
pub struct Plan {
    pub subscribers: usize,
    pub rates: Vec<u32>,
    pub step: Duration,
    pub drain: Duration,
    pub settle: Duration,
    pub payload_pad: usize,
    pub publish_connections: usize,
    pub connect_concurrency: usize,
    pub topic: String,
}

impl Plan {
    pub fn events_per_step(&self, rate: u32) -> u64 {
        (f64::from(rate) * self.step.as_secs_f64()).round().max(1.0) as u64
    }
}

#[derive(Debug, Clone)]
pub struct StepResult {
    pub rate: u32,
    pub published: u64,
    pub publish_failed: u64,
    /// Publishes per second actually achieved (schedule start to last answer).
    pub publish_rate: f64,
    pub delivered: u64,
    pub delivered_per_sec: f64,
    pub latency: LatencySummary,
    pub lost: u64,
    pub duplicates: u64,
    pub resets: u64,
    pub invalid: u64,
    pub rss_load_kib: u64,
    pub cpu_seconds: f64,
    pub drained: bool,
}

#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub server: ServerKind,
    pub subscribers: usize,
    pub connected: usize,
    pub connect_failed: usize,
    pub first_connect_error: Option<String>,
    pub connect_secs: f64,
    pub rss_base_kib: u64,
    pub rss_idle_kib: u64,
    pub steps: Vec<StepResult>,
    pub ended_early: u64,
}

impl ScenarioResult {
    /// Server memory added per subscriber, in KiB, at a given total RSS.
    pub fn kib_per_subscriber(&self, rss_kib: u64) -> f64 {
        rss_kib.saturating_sub(self.rss_base_kib) as f64 / self.connected.max(1) as f64
    }
}

/// Runs the plan against `server`, then stops it (before the subscribers close, so the
/// server side holds the TIME_WAIT sockets, not our ephemeral ports).
pub async fn run(server: ServerProcess, plan: &Plan) -> Result<ScenarioResult, BenchError> {
    let result = measure(&server, plan).await;
    server.stop().await;
    let (result, subscribers) = result?;
    drop(subscribers);
    Ok(result)
}

async fn measure(server: &ServerProcess, plan: &Plan) -> Result<(ScenarioResult, JoinSet<()>), BenchError> {
    let pid = server.pid;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_base_kib = procstat::rss_kib(pid)?;
    let epoch = Instant::now();
    let shared = Arc::new(Shared::new(epoch));

    // Connect everyone, a bounded number at a time.
    let addr = server.addr;
    let mut subscribers = JoinSet::new();
    let summary = subscriber::connect_all(
        addr,
        &subscriber::events_path(&plan.topic),
        plan.subscribers,
        plan.connect_concurrency,
        None,
        |key, stream| {
            subscribers.spawn(subscriber::run(key, stream, shared.clone()));
        },
    )
    .await;
    summary.require_some(server.kind.name())?;

    tokio::time::sleep(plan.settle).await;
    let rss_idle_kib = procstat::rss_kib(pid)?;

    let token = server.publish_token.as_deref();
    let mut publisher =
        Publisher::start(addr, &plan.topic, plan.publish_connections, plan.payload_pad, epoch, token).await?;
    let mut steps = Vec::new();
    for &rate in &plan.rates {
        steps.push(step(pid, plan, rate, summary.connected as u64, &shared, &mut publisher).await?);
    }
    let result = ScenarioResult {
        server: server.kind,
        subscribers: plan.subscribers,
        connected: summary.connected,
        connect_failed: summary.failed,
        first_connect_error: summary.first_error,
        connect_secs: summary.secs,
        rss_base_kib,
        rss_idle_kib,
        steps,
        ended_early: shared.ended.load(Ordering::Relaxed),
    };
    Ok((result, subscribers))
}

async fn step(
    pid: u32,
    plan: &Plan,
    rate: u32,
    connected: u64,
    shared: &Shared,
    publisher: &mut Publisher,
) -> Result<StepResult, BenchError> {
    let count = plan.events_per_step(rate);
    shared.latencies.reset();
    let unique0 = shared.unique.load(Ordering::Relaxed);
    let dups0 = shared.duplicates.load(Ordering::Relaxed);
    let resets0 = shared.resets.load(Ordering::Relaxed);
    let invalid0 = shared.invalid.load(Ordering::Relaxed);
    let ok0 = publisher.counts.ok.load(Ordering::Relaxed);
    let failed0 = publisher.counts.failed.load(Ordering::Relaxed);
    let done0 = publisher.counts.done();
    let cpu0 = procstat::cpu_seconds(pid)?;
    let start = Instant::now();
    let start_ns = shared.epoch.elapsed().as_nanos() as u64;
    let mut rss_load_kib = procstat::rss_kib(pid)?;

    // Publish on schedule while sampling the server's memory.
    {
        let schedule = publisher.schedule(rate, count);
        tokio::pin!(schedule);
        let mut sample = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                _ = &mut schedule => break,
                _ = sample.tick() => rss_load_kib = rss_load_kib.max(procstat::rss_kib(pid).unwrap_or(0)),
            }
        }
    }
    // Wait for the answers and the deliveries, sampling memory; bounded by the drain time.
    let deadline = Instant::now() + plan.drain;
    let mut published_at = None;
    let mut drained = false;
    while Instant::now() < deadline {
        let done = publisher.counts.done() - done0;
        if done >= count && published_at.is_none() {
            published_at = Some(start.elapsed());
        }
        let ok = publisher.counts.ok.load(Ordering::Relaxed) - ok0;
        let delivered = shared.unique.load(Ordering::Relaxed) - unique0;
        if done >= count && delivered >= ok * connected {
            drained = true;
            break;
        }
        rss_load_kib = rss_load_kib.max(procstat::rss_kib(pid).unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_seconds = procstat::cpu_seconds(pid)? - cpu0;
    let published = publisher.counts.ok.load(Ordering::Relaxed) - ok0;
    let publish_failed = publisher.counts.failed.load(Ordering::Relaxed) - failed0;
    let delivered = shared.unique.load(Ordering::Relaxed) - unique0;
    let last_ns = shared.last_delivery_ns.load(Ordering::Relaxed);
    let window = Duration::from_nanos(last_ns.saturating_sub(start_ns)).as_secs_f64();
    let publish_window = published_at.unwrap_or_else(|| start.elapsed()).as_secs_f64();
    Ok(StepResult {
        rate,
        published,
        publish_failed,
        publish_rate: if publish_window > 0.0 { (published + publish_failed) as f64 / publish_window } else { 0.0 },
        delivered,
        delivered_per_sec: if window > 0.0 { delivered as f64 / window } else { 0.0 },
        latency: shared.latencies.summary(),
        lost: lost(published, connected, delivered),
        duplicates: shared.duplicates.load(Ordering::Relaxed) - dups0,
        resets: shared.resets.load(Ordering::Relaxed) - resets0,
        invalid: shared.invalid.load(Ordering::Relaxed) - invalid0,
        rss_load_kib,
        cpu_seconds,
        drained,
    })
}
