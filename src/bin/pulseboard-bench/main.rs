//! pulseboard-bench: the fan-out benchmark (issue 7). `run` starts the reference server and
//! pulseboard as child processes on 127.0.0.1, loads each with N SSE subscribers and an
//! open-loop publisher, and prints the figures side by side; `reference` is the reference
//! server itself (started by `run`).

mod error;
mod fdlimit;
mod http1;
mod procstat;
mod publisher;
mod reference;
mod report;
mod scenario;
mod server_proc;
mod sse;
mod subscriber;
mod tracker;

use clap::{Parser, Subcommand};
use error::BenchError;
use server_proc::{Launch, ServerKind};
use std::{net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

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
        return Err(BenchError::BadArgument(format!(
            "--{name} must be above 0 and at most {max}, got {value}"
        )));
    }
    Ok(Duration::from_secs_f64(value))
}

async fn run(args: RunArgs, soft_limit: u64) -> Result<(), BenchError> {
    let step = secs("step-secs", args.step_secs, 60.0)?;
    let drain = secs("drain-secs", args.drain_secs, 300.0)?;
    let settle = secs("settle-secs", args.settle_secs, 60.0)?;
    let max_subscribers = args.subscribers.iter().copied().max().unwrap_or(0) as usize;
    fdlimit::check(max_subscribers, soft_limit)?;
    let bench_exe = std::env::current_exe().map_err(|e| BenchError::Io("finding this executable", e))?;
    let pulseboard_exe = match args.pulseboard {
        Some(path) => path,
        None => bench_exe.with_file_name("pulseboard"),
    };
    if args.servers.iter().any(|s| matches!(s, ServerArg::Pulseboard)) && !pulseboard_exe.is_file() {
        return Err(BenchError::BadArgument(format!(
            "no pulseboard binary at {}; build it (cargo build --release --features ssr) or pass --pulseboard",
            pulseboard_exe.display()
        )));
    }
    let launch = Launch {
        bench_exe,
        pulseboard_exe,
        buffer_events: args.buffer_events as usize,
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
            eprintln!(
                "started {} (pid {}) on {}",
                kind.name(),
                process.pid,
                process.addr
            );
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
