//! pulseboard-bench: the fan-out benchmark (issue 7). `run` starts the reference server and
//! pulseboard as child processes on 127.0.0.1, loads each with N SSE subscribers and an
//! open-loop publisher, and prints the figures side by side; `reference` is the reference
//! server itself (started by `run`). `market` is the benchmark of issue 5: pulseboard's
//! simulated market with live and stalled quote subscribers. `slow` is issue 12's: server memory
//! per every-event subscriber that stops reading, on the direct path and on hyper, for one or
//! more server binaries in the same run. `tls` measures what TLS costs the server per idle
//! stream (issue 12): plain HTTP against TLS with HTTP/1.1 and with HTTP/2.
//!
//! The tool is a crate of its own and does not depend on the app crate: it is a client of
//! pulseboard's public HTTP contract, like any outside client, so it reads the JSON with its own
//! small types (`contract`) and speaks HTTP/1.1 and SSE itself (`http1`, `sse`). Settings reach
//! the server only as its documented `PULSEBOARD_*` variables, and the server judges them: a bad
//! `--symbols` list is handed over verbatim and the server refuses to start with its own message,
//! which this tool reports (rather than keeping a second copy of the server's rules that could
//! drift from them). The server binary is `pulseboard` beside this executable by default: both
//! are built into the workspace's one `target/` directory.

mod contract;
mod error;
mod exchange;
mod fdlimit;
mod http1;
mod hubs;
mod hubs_report;
mod market;
mod market_report;
mod market_results;
mod metrics;
mod procstat;
mod publisher;
mod quotes;
mod redis_info;
mod redis_proc;
mod reference;
mod report;
mod scenario;
mod server_proc;
mod slow;
mod sse;
mod subscriber;
mod tls_idle;
mod tracker;

use clap::{Parser, Subcommand};
use error::BenchError;
use server_proc::{Launch, ServerKind};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

/// Fan-out benchmark: pulseboard against a bare axum Sse + broadcast server, on 127.0.0.1.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the benchmark: both servers, each subscriber count, each rate.
    Run(RunArgs),
    /// Benchmark the simulated market (issue 5): ticks/s with live quote subscribers, and server
    /// memory per stalled subscriber.
    Market(MarketArgs),
    /// Benchmark slow consumers (issue 12): server memory per every-event subscriber that stops
    /// reading, on the direct path and on hyper, for each given server binary.
    Slow(slow::SlowArgs),
    /// Server memory per idle stream over TLS (HTTP/1.1 and HTTP/2) against plain HTTP.
    Tls(TlsArgs),
    /// The embedded hub against the Redis hub (one instance, and two sharing one Redis), in one
    /// run: throughput, latency, CPU of every process and Redis commands per published event.
    Hubs(HubsArgs),
    /// Serve the reference server (the `run` command starts this itself).
    Reference {
        /// Listen address; must be on 127.0.0.1 (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
        /// Broadcast channel capacity per topic (events kept for slow subscribers).
        #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        capacity: u32,
    },
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Subscriber counts, one scenario per server each (at most 10000).
    #[arg(long, value_delimiter = ',', default_value = "1000", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    subscribers: Vec<u32>,
    /// Publish rates in events per second, one step each.
    #[arg(long, value_delimiter = ',', default_value = "10,50", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    rates: Vec<u32>,
    /// Seconds of publishing per step.
    #[arg(long, default_value_t = 5.0)]
    step_secs: f64,
    /// Most seconds to wait after a step for the last deliveries.
    #[arg(long, default_value_t = 30.0)]
    drain_secs: f64,
    /// Seconds to wait after connecting before measuring idle memory.
    #[arg(long, default_value_t = 2.0)]
    settle_secs: f64,
    /// Bytes of padding in each payload (the payload is ~40 bytes without).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=16_384))]
    payload_pad: u32,
    /// Keep-alive connections the publisher spreads its requests over.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    publish_connections: u32,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connect_concurrency: u32,
    /// Events each server keeps for slow subscribers (pulseboard history, reference broadcast
    /// capacity); must cover one step.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    buffer_events: u32,
    /// Which servers to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "reference,pulseboard")]
    servers: Vec<ServerArg>,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir goes inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
struct MarketArgs {
    /// Simulated ticks per second across all symbols; a fresh server and one live measurement
    /// each (at most 20000, the server's own limit).
    #[arg(long, value_delimiter = ',', default_value = "2000", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    ticks_per_second: Vec<u32>,
    /// Live subscribers, each reading and parsing every quote (0: no live measurement).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    subscribers: u32,
    /// Seconds of the live measuring window.
    #[arg(long, default_value_t = 10.0)]
    secs: f64,
    /// Seconds between the last live subscriber connecting and the window.
    #[arg(long, default_value_t = 2.0)]
    settle_secs: f64,
    /// Stalled subscribers: they read the response head, then nothing (0: no stall measurement).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    stalled: u32,
    /// Ticks per second while the subscribers stall.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    stall_ticks_per_second: u32,
    /// Seconds the stalled subscribers stall while server memory is sampled every second.
    #[arg(long, default_value_t = 20.0)]
    stall_secs: f64,
    /// Stalled subscribers that read again at the end, to see what they get first.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    resume: u32,
    /// Seconds a resumed subscriber reads.
    #[arg(long, default_value_t = 2.0)]
    resume_secs: f64,
    /// Receive buffer (SO_RCVBUF, bytes) of a stalled subscriber's socket; the kernel doubles
    /// it and applies its own floor.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1024..=1_048_576))]
    recv_buffer: u32,
    /// Symbols of the simulated market (default: the server's own); the server checks them.
    #[arg(long, value_delimiter = ',')]
    symbols: Vec<String>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Events the server keeps per quote topic (its default is 1024). Memory is measured only
    /// once these histories are full (at most 60 s after the warm-up).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    history_events: u32,
    /// Seconds from the server's start to measuring: quotes carry a one-minute sparkline (a
    /// point per second), so they reach their steady size after 60 s.
    #[arg(long, default_value_t = 61.0)]
    warmup_secs: f64,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connect_concurrency: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir goes inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
struct TlsArgs {
    /// Idle streams per transport (at most 10000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    streams: u32,
    /// Streams on each HTTP/2 connection (the server allows 200 at once).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=200))]
    streams_per_connection: u32,
    /// Transports to measure, in order; each gets a fresh server.
    #[arg(long, value_delimiter = ',', default_value = "plain,tls-http1,tls-h2")]
    transports: Vec<tls_idle::Transport>,
    /// Seconds to wait after the last stream opened before measuring.
    #[arg(long, default_value_t = 2.0)]
    settle_secs: f64,
    /// Connections being opened at once (each costs a TLS handshake on both sides).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connect_concurrency: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir and the certificate go inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
struct HubsArgs {
    /// Subscriber counts; every mode runs at each (at most 10000).
    #[arg(long, value_delimiter = ',', default_value = "1000,5000", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    subscribers: Vec<u32>,
    /// Publish rates in events per second, one step each (far above what is delivered: the
    /// saturation throughput).
    #[arg(long, value_delimiter = ',', default_value = "1000", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    rates: Vec<u32>,
    /// Modes, in order, for each subscriber count: `embedded` (in-process hub), `redis` (one
    /// instance on Redis), `redis-2` (two instances on one Redis, subscribers split, one publisher).
    #[arg(long, value_delimiter = ',', default_value = "embedded,redis,redis-2")]
    modes: Vec<hubs::Mode>,
    /// Seconds of publishing per step.
    #[arg(long, default_value_t = 2.0)]
    step_secs: f64,
    /// Most seconds to wait after a step for the last deliveries.
    #[arg(long, default_value_t = 120.0)]
    drain_secs: f64,
    /// Seconds to wait after connecting before publishing.
    #[arg(long, default_value_t = 2.0)]
    settle_secs: f64,
    /// Bytes of padding in each payload (the payload is ~40 bytes without).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=16_384))]
    payload_pad: u32,
    /// Keep-alive connections the publisher spreads its requests over.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    publish_connections: u32,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    connect_concurrency: u32,
    /// Events each instance (and Redis, per topic) keeps; must cover one step.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    buffer_events: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pulseboard: Option<PathBuf>,
    /// A second pulseboard binary (e.g. an older build): every Redis mode runs with it first,
    /// labelled `before`, then with `--pulseboard`, labelled `after`.
    #[arg(long)]
    before: Option<PathBuf>,
    /// The redis-server binary (default: `redis-server` on PATH).
    #[arg(long)]
    redis_server: Option<PathBuf>,
    /// Working directory (instances' data dirs and Redis's directory go inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench-hubs"))]
    work_dir: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ServerArg {
    Reference,
    Pulseboard,
}

const MAX_EVENTS_PER_STEP: u64 = 200_000;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let soft_limit = match fdlimit::raise() {
        Ok(limit) => limit,
        Err(err) => return fail(err),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(BenchError::Io("starting the runtime", err)),
    };
    let outcome = match cli.command {
        Command::Reference { addr, capacity } => {
            if !addr.ip().is_loopback() {
                return fail(BenchError::NotLoopback(addr));
            }
            runtime.block_on(reference::serve(addr, capacity as usize))
        }
        Command::Run(args) => runtime.block_on(run(args, soft_limit)),
        Command::Market(args) => runtime.block_on(market(args, soft_limit)),
        Command::Slow(args) => runtime.block_on(slow::command(args, soft_limit)),
        Command::Tls(args) => runtime.block_on(tls(args, soft_limit)),
        Command::Hubs(args) => runtime.block_on(hubs(args, soft_limit)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(err),
    }
}

fn fail(err: BenchError) -> ExitCode {
    eprintln!("pulseboard-bench: {err}");
    ExitCode::from(2)
}

fn secs(name: &str, value: f64, max: f64) -> Result<Duration, BenchError> {
    if !(value > 0.0 && value <= max) {
        return Err(BenchError::BadArgument(format!("--{name} must be above 0 and at most {max}, got {value}")));
    }
    Ok(Duration::from_secs_f64(value))
}

/// The pulseboard binary: `given`, or the one next to this executable; it must exist if `needed`.
fn pulseboard_exe(bench_exe: &Path, given: Option<PathBuf>, needed: bool) -> Result<PathBuf, BenchError> {
    let path = given.unwrap_or_else(|| bench_exe.with_file_name("pulseboard"));
    if needed && !path.is_file() {
        return Err(BenchError::BadArgument(format!(
            "no pulseboard binary at {}; build it (cargo build --release --features ssr --bin pulseboard) \
             or pass --pulseboard",
            path.display()
        )));
    }
    // The servers run in their own working directory: a relative path must not change meaning.
    Ok(std::fs::canonicalize(&path).unwrap_or(path))
}

async fn market(args: MarketArgs, soft_limit: u64) -> Result<(), BenchError> {
    let plan = market::MarketPlan {
        rates: args.ticks_per_second,
        // Not checked here: the server checks its settings as it starts and refuses bad symbols
        // with a message naming them.
        symbols: (!args.symbols.is_empty()).then_some(args.symbols),
        seed: args.seed,
        history_events: args.history_events as usize,
        warmup_min: secs("warmup-secs", args.warmup_secs, 300.0)?,
        warmup_more: Duration::from_secs(60),
        subscribers: args.subscribers as usize,
        settle: secs("settle-secs", args.settle_secs, 60.0)?,
        window: secs("secs", args.secs, 300.0)?,
        stalled: args.stalled as usize,
        stall_rate: args.stall_ticks_per_second,
        stall: secs("stall-secs", args.stall_secs, 600.0)?,
        resume: args.resume.min(args.stalled) as usize,
        resume_reading: secs("resume-secs", args.resume_secs, 60.0)?,
        recv_buffer: args.recv_buffer,
        connect_concurrency: args.connect_concurrency as usize,
    };
    if plan.subscribers == 0 && plan.stalled == 0 {
        return Err(BenchError::BadArgument("--subscribers and --stalled are both 0: nothing to measure".into()));
    }
    fdlimit::check(plan.subscribers.max(plan.stalled), soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let launch = Launch {
        pulseboard_exe: pulseboard_exe(&bench_exe, args.pulseboard, true)?,
        bench_exe,
        buffer_events: 0,
        // Every subscriber comes from 127.0.0.1: lift the per-client limits.
        pulseboard_env: unlimited_env(),
        work_dir: args.work_dir,
    };
    let (live, stall) = market::run(&launch, &plan).await?;
    if !live.is_empty() {
        println!("{}", market_report::live_markdown(&live));
    }
    if let Some(stall) = stall {
        println!("{}", market_report::stall_markdown(&stall));
    }
    Ok(())
}

/// The server's stream and publish limits, lifted: the tool's thousands of subscribers and its
/// publisher all come from 127.0.0.1.
fn unlimited_env() -> Vec<(String, String)> {
    [
        ("PULSEBOARD_MAX_STREAMS_PER_IP", "100000"),
        ("PULSEBOARD_MAX_STREAMS", "100000"),
        ("PULSEBOARD_PUBLISH_PER_SECOND", "1000000"),
        ("PULSEBOARD_PUBLISH_BURST", "1000000"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), value.to_string()))
    .collect()
}

async fn tls(args: TlsArgs, soft_limit: u64) -> Result<(), BenchError> {
    fdlimit::check(args.streams as usize, soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let launch = Launch {
        pulseboard_exe: pulseboard_exe(&bench_exe, args.pulseboard, true)?,
        bench_exe,
        buffer_events: 0,
        pulseboard_env: [unlimited_env(), vec![("PULSEBOARD_MARKET_TICKS_PER_SECOND".into(), "0".into())]].concat(),
        work_dir: args.work_dir,
    };
    let plan = tls_idle::TlsPlan {
        transports: args.transports,
        streams: args.streams as usize,
        streams_per_connection: args.streams_per_connection as usize,
        settle: secs("settle-secs", args.settle_secs, 60.0)?,
        connect_concurrency: args.connect_concurrency as usize,
    };
    let results = tls_idle::run(&launch, &plan).await?;
    println!("{}", tls_idle::markdown(&results));
    Ok(())
}

async fn hubs(args: HubsArgs, soft_limit: u64) -> Result<(), BenchError> {
    let max_subscribers = args.subscribers.iter().copied().max().unwrap_or(0) as usize;
    fdlimit::check(max_subscribers, soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let current = pulseboard_exe(&bench_exe, args.pulseboard, true)?;
    let binaries = match args.before {
        Some(before) => {
            let before = pulseboard_exe(&bench_exe, Some(before), true)?;
            vec![("before".to_string(), before), ("after".to_string(), current.clone())]
        }
        None => vec![("current".to_string(), current.clone())],
    };
    let plan = hubs::HubPlan {
        subscribers: args.subscribers.iter().map(|&n| n as usize).collect(),
        rates: args.rates,
        modes: args.modes,
        binaries,
        redis_exe: redis_proc::exe(args.redis_server),
        step: secs("step-secs", args.step_secs, 60.0)?,
        drain: secs("drain-secs", args.drain_secs, 300.0)?,
        settle: secs("settle-secs", args.settle_secs, 60.0)?,
        payload_pad: args.payload_pad as usize,
        publish_connections: args.publish_connections as usize,
        connect_concurrency: args.connect_concurrency as usize,
        topic: "bench".into(),
    };
    for &rate in &plan.rates {
        let events = plan.events_per_step(rate);
        if events > MAX_EVENTS_PER_STEP || events > u64::from(args.buffer_events) {
            return Err(BenchError::BadArgument(format!(
                "rate {rate}/s for {}s is {events} events; at most {MAX_EVENTS_PER_STEP} and at most \
                 --buffer-events {} per step",
                args.step_secs, args.buffer_events
            )));
        }
    }
    let launch = Launch {
        bench_exe,
        pulseboard_exe: current,
        buffer_events: args.buffer_events as usize,
        pulseboard_env: [
            vec![
                ("PULSEBOARD_HISTORY_EVENTS".into(), args.buffer_events.to_string()),
                ("PULSEBOARD_HISTORY_SECS".into(), "3600".into()),
                ("PULSEBOARD_MARKET_TICKS_PER_SECOND".into(), "0".into()),
            ],
            unlimited_env(),
        ]
        .concat(),
        work_dir: args.work_dir.clone(),
    };
    let results = hubs::run(&launch, &plan, &args.work_dir, |scenario| {
        for line in hubs_report::progress(scenario) {
            eprintln!("{line}");
        }
    })
    .await?;
    println!("{}", hubs_report::markdown(&results));
    Ok(())
}

async fn run(args: RunArgs, soft_limit: u64) -> Result<(), BenchError> {
    let step = secs("step-secs", args.step_secs, 60.0)?;
    let drain = secs("drain-secs", args.drain_secs, 300.0)?;
    let settle = secs("settle-secs", args.settle_secs, 60.0)?;
    let max_subscribers = args.subscribers.iter().copied().max().unwrap_or(0) as usize;
    fdlimit::check(max_subscribers, soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let wants_pulseboard = args.servers.iter().any(|s| matches!(s, ServerArg::Pulseboard));
    let pulseboard_exe = pulseboard_exe(&bench_exe, args.pulseboard, wants_pulseboard)?;
    let launch = Launch {
        bench_exe,
        pulseboard_exe,
        buffer_events: args.buffer_events as usize,
        // Both servers keep the same events for slow subscribers, and pulseboard's simulated
        // market (on by default) stays off: the reference has no such extra work.
        pulseboard_env: [
            vec![
                ("PULSEBOARD_HISTORY_EVENTS".into(), args.buffer_events.to_string()),
                ("PULSEBOARD_HISTORY_SECS".into(), "3600".into()),
                ("PULSEBOARD_MARKET_TICKS_PER_SECOND".into(), "0".into()),
            ],
            unlimited_env(),
        ]
        .concat(),
        work_dir: args.work_dir,
    };
    let mut results = Vec::new();
    for &subscribers in &args.subscribers {
        let plan = scenario::Plan {
            subscribers: subscribers as usize,
            rates: args.rates.clone(),
            step,
            drain,
            settle,
            payload_pad: args.payload_pad as usize,
            publish_connections: args.publish_connections as usize,
            connect_concurrency: args.connect_concurrency as usize,
            topic: "bench".into(),
        };
        for &rate in &plan.rates {
            let events = plan.events_per_step(rate);
            if events > MAX_EVENTS_PER_STEP {
                return Err(BenchError::BadArgument(format!(
                    "rate {rate}/s for {}s is {events} events; at most {MAX_EVENTS_PER_STEP} per step",
                    args.step_secs
                )));
            }
            if events > u64::from(args.buffer_events) {
                return Err(BenchError::BadArgument(format!(
                    "a step of {events} events exceeds --buffer-events {}: slow subscribers would be cut off",
                    args.buffer_events
                )));
            }
        }
        for server in &args.servers {
            let kind = match server {
                ServerArg::Reference => ServerKind::Reference,
                ServerArg::Pulseboard => ServerKind::Pulseboard,
            };
            let process = server_proc::start(kind, &launch).await?;
            eprintln!("started {} (pid {}) on {}", kind.name(), process.pid, process.addr);
            let result = scenario::run(process, &plan).await?;
            for line in report::scenario_lines(&result) {
                eprintln!("{line}");
            }
            results.push(result);
            // Let the closed sockets settle before the next server.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    println!("{}", report::markdown(&results));
    Ok(())
}
