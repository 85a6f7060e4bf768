//! Slow consumers (issue 12): every-event subscribers that stop reading while a publisher keeps
//! publishing, on both of the server's stream paths: `direct` (the stream is the connection's
//! first request) and `hyper` (the stream is asked for after `GET /healthz` on the same kept-alive
//! connection). Reported: server RSS per stalled subscriber over time, the host's kernel TCP
//! memory per stalled subscriber, and how many of the streams the server still holds at the end
//! (`pulseboard_hub_streams`). Each labelled server binary (e.g. `before=...,after=...`) runs
//! each path on a fresh server, in the same run of the tool, so the figures compare.

use crate::{
    error::BenchError,
    market_report::kib_per,
    metrics, procstat,
    publisher::Publisher,
    server_proc::{self, Launch, ServerKind},
    subscriber::{self, Connected},
};
use futures::StreamExt;
use std::{
    fmt::Write as _,
    path::PathBuf,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

/// Which path the stalled streams are served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamPath {
    Direct,
    Hyper,
}

impl StreamPath {
    fn first_request(self) -> Option<&'static str> {
        match self {
            Self::Direct => None,
            Self::Hyper => Some("/healthz"),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Hyper => "hyper",
        }
    }
}

#[derive(Debug, Clone)]
pub struct SlowPlan {
    pub stalled: usize,
    pub rate: u32,
    pub pad: usize,
    pub stall: Duration,
    pub recv_buffer: u32,
    pub connect_concurrency: usize,
}

/// One server binary on one path.
#[derive(Debug, Clone)]
pub struct SlowResult {
    pub label: String,
    pub path: StreamPath,
    pub connected: usize,
    pub rss_base_kib: u64,
    pub tcp_base_kib: u64,
    /// (seconds since the publisher started, RSS KiB, kernel TCP KiB)
    pub samples: Vec<(f64, u64, u64)>,
    pub streams_at_end: f64,
    pub published: u64,
    pub publish_failed: u64,
}

#[derive(clap::Args, Debug)]
pub struct SlowArgs {
    /// Server binaries to compare, as LABEL=PATH (e.g. before=/tmp/pulseboard-old,after=target/release/pulseboard).
    #[arg(long = "server", value_delimiter = ',', required = true)]
    servers: Vec<String>,
    /// Extra settings for one labelled server, as LABEL:PULSEBOARD_KEY=VALUE (a server refuses
    /// keys it does not know, so each binary gets only its own).
    #[arg(long = "server-env")]
    server_env: Vec<String>,
    /// Paths to measure, one fresh server each.
    #[arg(long, value_delimiter = ',', default_value = "direct,hyper")]
    paths: Vec<StreamPath>,
    /// Stalled subscribers per run: they read the response head, then nothing.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    stalled: u32,
    /// Events per second published to their topic while they stall.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    rate: u32,
    /// Bytes of padding per event (an event is ~70 bytes without).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(0..=16_384))]
    payload_pad: u32,
    /// Seconds of publishing while server memory is sampled every second.
    #[arg(long, default_value_t = 20.0)]
    stall_secs: f64,
    /// Receive buffer (SO_RCVBUF, bytes) of a stalled subscriber's socket.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1024..=1_048_576))]
    recv_buffer: u32,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connect_concurrency: u32,
    /// Working directory for the servers (their data dirs go inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    work_dir: PathBuf,
}

/// `pulseboard-bench slow`: every labelled binary on every path, then the Markdown tables.
pub async fn command(args: SlowArgs, soft_limit: u64) -> Result<(), BenchError> {
    let plan = SlowPlan {
        stalled: args.stalled as usize,
        rate: args.rate,
        pad: args.payload_pad as usize,
        stall: crate::secs("stall-secs", args.stall_secs, 600.0)?,
        recv_buffer: args.recv_buffer,
        connect_concurrency: args.connect_concurrency as usize,
    };
    crate::fdlimit::check(plan.stalled, soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let mut results = Vec::new();
    for server in &args.servers {
        let (label, path) = server
            .split_once('=')
            .ok_or_else(|| BenchError::BadArgument(format!("--server {server:?}: expected LABEL=PATH")))?;
        let mut env = vec![("PULSEBOARD_MARKET_TICKS_PER_SECOND".to_string(), "0".to_string())];
        for entry in &args.server_env {
            let (owner, setting) = entry
                .split_once(':')
                .ok_or_else(|| BenchError::BadArgument(format!("--server-env {entry:?}: expected LABEL:KEY=VALUE")))?;
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| BenchError::BadArgument(format!("--server-env {entry:?}: expected LABEL:KEY=VALUE")))?;
            if owner == label {
                env.push((key.to_string(), value.to_string()));
            }
        }
        let launch = Launch {
            bench_exe: bench_exe.clone(),
            pulseboard_exe: crate::pulseboard_exe(&bench_exe, Some(PathBuf::from(path)), true)?,
            buffer_events: 0,
            pulseboard_env: env,
            work_dir: args.work_dir.join(label),
        };
        for &path in &args.paths {
            results.push(run(label, &launch, &plan, path).await?);
        }
    }
    println!("{}", markdown(&plan, &results));
    Ok(())
}

const TOPIC: &str = "slow";

pub async fn run(label: &str, launch: &Launch, plan: &SlowPlan, path: StreamPath) -> Result<SlowResult, BenchError> {
    let server = server_proc::start(ServerKind::Pulseboard, launch).await?;
    eprintln!("{label}/{}: started pid {} on {}", path.name(), server.pid, server.addr);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_base_kib = procstat::rss_kib(server.pid)?;
    let tcp_base_kib = procstat::tcp_buffers_kib()?;
    let events = subscriber::events_path(TOPIC);
    let mut held: Vec<Connected> = Vec::with_capacity(plan.stalled);
    let mut attempts = futures::stream::iter(0..plan.stalled)
        .map(|_| subscriber::connect_after(server.addr, path.first_request(), &events, Some(plan.recv_buffer)))
        .buffer_unordered(plan.connect_concurrency.max(1));
    let mut first_error = None;
    while let Some(attempt) = attempts.next().await {
        match attempt {
            Ok(connected) => held.push(connected),
            Err(err) => {
                first_error.get_or_insert(err.to_string());
            }
        }
    }
    drop(attempts);
    if held.is_empty() {
        return Err(BenchError::BadArgument(format!("no stalled subscriber connected: {first_error:?}")));
    }
    eprintln!("  {} stalled subscribers connected; they read nothing from now on", held.len());

    let mut publisher =
        Publisher::start(server.addr, TOPIC, 2, plan.pad, Instant::now(), server.publish_token.as_deref()).await?;
    let counts = publisher.counts.clone();
    let total = (f64::from(plan.rate) * plan.stall.as_secs_f64()) as u64;
    let rate = plan.rate;
    let publishing = tokio::spawn(async move { publisher.schedule(rate, total).await });
    let started = Instant::now();
    let mut samples = vec![(0.0, procstat::rss_kib(server.pid)?, procstat::tcp_buffers_kib()?)];
    let mut every = tokio::time::interval(Duration::from_secs(1));
    every.tick().await;
    while started.elapsed() + Duration::from_millis(500) < plan.stall {
        every.tick().await;
        let sample = (started.elapsed().as_secs_f64(), procstat::rss_kib(server.pid)?, procstat::tcp_buffers_kib()?);
        eprintln!(
            "  t={:.0} s: {:.2} KiB RSS/stalled subscriber, {:.2} KiB kernel TCP/stalled",
            sample.0,
            kib_per(sample.1, rss_base_kib, held.len()),
            kib_per(sample.2, tcp_base_kib, held.len())
        );
        samples.push(sample);
    }
    let _ = publishing.await;
    let text = metrics::scrape(server.addr).await?;
    let streams_at_end = metrics::series_value(&text, "pulseboard_hub_streams").unwrap_or(f64::NAN);
    let result = SlowResult {
        label: label.to_string(),
        path,
        connected: held.len(),
        rss_base_kib,
        tcp_base_kib,
        samples,
        streams_at_end,
        published: counts.ok.load(Ordering::Relaxed),
        publish_failed: counts.failed.load(Ordering::Relaxed),
    };
    drop(held);
    server.stop().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    Ok(result)
}

pub fn markdown(plan: &SlowPlan, results: &[SlowResult]) -> String {
    let mut out = format!(
        "Stalled every-event subscribers: {} per run, SO_RCVBUF {} asked, {} events/s of ~{} bytes for {:.0} s\n\n",
        plan.stalled,
        plan.recv_buffer,
        plan.rate,
        plan.pad + 70,
        plan.stall.as_secs_f64()
    );
    out.push_str(
        "| server | path | stalled subs | published | publish failed | RSS base MiB | RSS KiB/stalled sub at start \
         | at end | max | kernel TCP KiB/stalled at end | streams still open at end |\n",
    );
    out.push_str("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        let per = |kib: u64| kib_per(kib, r.rss_base_kib, r.connected);
        let start = r.samples.first().map_or(0, |s| s.1);
        let end = r.samples.last().map_or(0, |s| s.1);
        let max = r.samples.iter().map(|s| s.1).max().unwrap_or(0);
        let tcp_end = r.samples.last().map_or(0, |s| s.2);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {} |",
            r.label,
            r.path.name(),
            r.connected,
            r.published,
            r.publish_failed,
            r.rss_base_kib as f64 / 1024.0,
            per(start),
            per(end),
            per(max),
            kib_per(tcp_end, r.tcp_base_kib, r.connected),
            r.streams_at_end
        );
    }
    out.push_str("\nRSS KiB per stalled subscriber over time:\n\n| server | path |");
    let longest = results.iter().map(|r| r.samples.len()).max().unwrap_or(0);
    for i in 0..longest {
        let _ = write!(out, " t={i} s |");
    }
    out.push_str("\n|---|---|");
    out.push_str(&"---:|".repeat(longest));
    out.push('\n');
    for r in results {
        let _ = write!(out, "| {} | {} |", r.label, r.path.name());
        for sample in &r.samples {
            let _ = write!(out, " {:.2} |", kib_per(sample.1, r.rss_base_kib, r.connected));
        }
        out.push('\n');
    }
    out
}
