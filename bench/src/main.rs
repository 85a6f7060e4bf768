//! pulseboard-bench: the fan-out benchmark (issue 7). `run` starts the reference server and
//! pulseboard as child processes on 127.0.0.1, loads each with N SSE subscribers and an
//! open-loop publisher, and prints the figures side by side; `reference` is the reference
//! server itself (started by `run`). `market` is the benchmark of issue 5: pulseboard's
//! simulated market with live and stalled quote subscribers. `slow` is issue 12's: server memory
//! per every-event subscriber that stops reading, on the direct path and on hyper, for one or
//! more server binaries in the same run. `tls` measures what TLS costs the server per idle
//! stream (issue 12): plain HTTP against TLS with HTTP/1.1 and with HTTP/2. `hubs` sets the
//! embedded hub against the Redis hub, on one instance and on two (issue 15). The options of each
//! command are in `cli`; this file dispatches them to their drivers.
//!
//! The tool is a crate of its own and does not depend on the app crate: it is a client of
//! pulseboard's public HTTP contract, like any outside client, so it reads the JSON with its own
//! small types (`contract`) and speaks HTTP/1.1 and SSE itself (`http1`, `sse`). Settings reach
//! the server only as its documented `PULSEBOARD_*` variables, and the server judges them: a bad
//! `--symbols` list is handed over verbatim and the server refuses to start with its own message,
//! which this tool reports (rather than keeping a second copy of the server's rules that could
//! drift from them). The server binary is `pulseboard` beside this executable by default: both
//! are built into the workspace's one `target/` directory.

mod cli;
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

use clap::Parser;
use cli::{Cli, Command, HubsArgs, MarketArgs, RunArgs, ServerArg, TlsArgs};
use error::BenchError;
use server_proc::{Launch, ServerKind};
use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

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
