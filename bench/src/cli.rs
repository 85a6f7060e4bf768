//! The command line: the subcommands and their options (clap). `main` dispatches each to its
//! driver; the options are plain data, judged there (and by the server, for what it reads).

use crate::{hubs, slow, tls_idle};
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Fan-out benchmark: pulseboard against a bare axum Sse + broadcast server, on 127.0.0.1.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
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
pub struct RunArgs {
    /// Subscriber counts, one scenario per server each (at most 10000).
    #[arg(long, value_delimiter = ',', default_value = "1000", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub subscribers: Vec<u32>,
    /// Publish rates in events per second, one step each.
    #[arg(long, value_delimiter = ',', default_value = "10,50", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub rates: Vec<u32>,
    /// Seconds of publishing per step.
    #[arg(long, default_value_t = 5.0)]
    pub step_secs: f64,
    /// Most seconds to wait after a step for the last deliveries.
    #[arg(long, default_value_t = 30.0)]
    pub drain_secs: f64,
    /// Seconds to wait after connecting before measuring idle memory.
    #[arg(long, default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Bytes of padding in each payload (the payload is ~40 bytes without).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=16_384))]
    pub payload_pad: u32,
    /// Keep-alive connections the publisher spreads its requests over.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub publish_connections: u32,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connect_concurrency: u32,
    /// Events each server keeps for slow subscribers (pulseboard history, reference broadcast
    /// capacity); must cover one step.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub buffer_events: u32,
    /// Which servers to run, in order.
    #[arg(long, value_delimiter = ',', default_value = "reference,pulseboard")]
    pub servers: Vec<ServerArg>,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pub pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir goes inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    pub work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct MarketArgs {
    /// Simulated ticks per second across all symbols; a fresh server and one live measurement
    /// each (at most 20000, the server's own limit).
    #[arg(long, value_delimiter = ',', default_value = "2000", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub ticks_per_second: Vec<u32>,
    /// Live subscribers, each reading and parsing every quote (0: no live measurement).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub subscribers: u32,
    /// Seconds of the live measuring window.
    #[arg(long, default_value_t = 10.0)]
    pub secs: f64,
    /// Seconds between the last live subscriber connecting and the window.
    #[arg(long, default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Stalled subscribers: they read the response head, then nothing (0: no stall measurement).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(0..=10_000))]
    pub stalled: u32,
    /// Ticks per second while the subscribers stall.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub stall_ticks_per_second: u32,
    /// Seconds the stalled subscribers stall while server memory is sampled every second.
    #[arg(long, default_value_t = 20.0)]
    pub stall_secs: f64,
    /// Stalled subscribers that read again at the end, to see what they get first.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub resume: u32,
    /// Seconds a resumed subscriber reads.
    #[arg(long, default_value_t = 2.0)]
    pub resume_secs: f64,
    /// Receive buffer (SO_RCVBUF, bytes) of a stalled subscriber's socket; the kernel doubles
    /// it and applies its own floor.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1024..=1_048_576))]
    pub recv_buffer: u32,
    /// Symbols of the simulated market (default: the server's own); the server checks them.
    #[arg(long, value_delimiter = ',')]
    pub symbols: Vec<String>,
    /// Seed of the simulation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Events the server keeps per quote topic (its default is 1024). Memory is measured only
    /// once these histories are full (at most 60 s after the warm-up).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub history_events: u32,
    /// Seconds from the server's start to measuring: quotes carry a one-minute sparkline (a
    /// point per second), so they reach their steady size after 60 s.
    #[arg(long, default_value_t = 61.0)]
    pub warmup_secs: f64,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connect_concurrency: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pub pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir goes inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    pub work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct TlsArgs {
    /// Idle streams per transport (at most 10000).
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub streams: u32,
    /// Streams on each HTTP/2 connection (the server allows 200 at once).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=200))]
    pub streams_per_connection: u32,
    /// Transports to measure, in order; each gets a fresh server.
    #[arg(long, value_delimiter = ',', default_value = "plain,tls-http1,tls-h2")]
    pub transports: Vec<tls_idle::Transport>,
    /// Seconds to wait after the last stream opened before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Connections being opened at once (each costs a TLS handshake on both sides).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connect_concurrency: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pub pulseboard: Option<PathBuf>,
    /// Working directory for the pulseboard server (its data dir and the certificate go inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench"))]
    pub work_dir: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct HubsArgs {
    /// Subscriber counts; every mode runs at each (at most 10000).
    #[arg(long, value_delimiter = ',', default_value = "1000,5000", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub subscribers: Vec<u32>,
    /// Publish rates in events per second, one step each (far above what is delivered: the
    /// saturation throughput).
    #[arg(long, value_delimiter = ',', default_value = "1000", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub rates: Vec<u32>,
    /// Modes, in order, for each subscriber count: `embedded` (in-process hub), `redis` (one
    /// instance on Redis), `redis-2` (two instances on one Redis, subscribers split, one publisher).
    #[arg(long, value_delimiter = ',', default_value = "embedded,redis,redis-2")]
    pub modes: Vec<hubs::Mode>,
    /// Seconds of publishing per step.
    #[arg(long, default_value_t = 2.0)]
    pub step_secs: f64,
    /// Most seconds to wait after a step for the last deliveries.
    #[arg(long, default_value_t = 120.0)]
    pub drain_secs: f64,
    /// Seconds to wait after connecting before publishing.
    #[arg(long, default_value_t = 2.0)]
    pub settle_secs: f64,
    /// Bytes of padding in each payload (the payload is ~40 bytes without).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(0..=16_384))]
    pub payload_pad: u32,
    /// Keep-alive connections the publisher spreads its requests over.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub publish_connections: u32,
    /// Subscriptions being opened at once.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub connect_concurrency: u32,
    /// Events each instance (and Redis, per topic) keeps; must cover one step.
    #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(16..=1_000_000))]
    pub buffer_events: u32,
    /// The pulseboard server binary (default: `pulseboard` next to this executable).
    #[arg(long)]
    pub pulseboard: Option<PathBuf>,
    /// A second pulseboard binary (e.g. an older build): every Redis mode runs with it first,
    /// labelled `before`, then with `--pulseboard`, labelled `after`.
    #[arg(long)]
    pub before: Option<PathBuf>,
    /// The redis-server binary (default: `redis-server` on PATH).
    #[arg(long)]
    pub redis_server: Option<PathBuf>,
    /// Working directory (instances' data dirs and Redis's directory go inside).
    #[arg(long, default_value_os_t = std::env::temp_dir().join("pulseboard-bench-hubs"))]
    pub work_dir: PathBuf,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum ServerArg {
    Reference,
    Pulseboard,
}
