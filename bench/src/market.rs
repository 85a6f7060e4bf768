//! The market benchmark (issue 5). For each tick rate a fresh pulseboard with its simulated
//! market: wait until the quote histories are full, connect N live quote subscribers and
//! measure a window (ticks/s from `/metrics`, updates and staleness at the clients, server CPU
//! and memory). Then a fresh server with M stalled subscribers whose memory is sampled every
//! second while ticks flow, and a few of them resumed at the end to see what they get first.

use crate::{
    contract::MarketSnapshot,
    error::BenchError,
    exchange,
    market_results::{LiveResult, Span, StallResult, StallSample},
    metrics::{self, Counters},
    procstat,
    quotes::{self, LiveShared},
    server_proc::{self, Launch, ServerKind, ServerProcess},
    subscriber::{self, Connected},
};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::task::JoinSet;

/// What to run (already validated).
#[derive(Debug, Clone)]
pub struct MarketPlan {
    pub rates: Vec<u32>,
    /// `None`: the server's default symbols.
    pub symbols: Option<Vec<String>>,
    pub seed: u64,
    pub history_events: usize,
    /// Least time from the server's start to measuring (quote events are of a steady size from
    /// the start now; the snapshot's sparklines fill in 60 s, and the histories must fill too).
    pub warmup_min: Duration,
    /// Most time to wait, beyond `warmup_min`, for the quote histories to be full.
    pub warmup_more: Duration,
    pub subscribers: usize,
    pub settle: Duration,
    pub window: Duration,
    pub stalled: usize,
    pub stall_rate: u32,
    pub stall: Duration,
    pub resume: usize,
    pub resume_reading: Duration,
    pub recv_buffer: u32,
    pub connect_concurrency: usize,
}

impl MarketPlan {
    /// The server settings of one run at `rate` ticks/s.
    pub fn server_env(&self, rate: u32) -> Vec<(String, String)> {
        let mut env = vec![
            ("PULSEBOARD_MARKET_TICKS_PER_SECOND".to_string(), rate.to_string()),
            ("PULSEBOARD_MARKET_SEED".to_string(), self.seed.to_string()),
            ("PULSEBOARD_HISTORY_EVENTS".to_string(), self.history_events.to_string()),
        ];
        if let Some(symbols) = &self.symbols {
            env.push(("PULSEBOARD_MARKET_SYMBOLS".to_string(), env_list(symbols)));
        }
        env
    }
}

/// A list of strings as a `PULSEBOARD_*` variable holds it: the server reads `["A","B"]` as a list
/// and each quoted item as the string written, even one that looks like a number (`"123"`) or
/// holds a separator, so it judges exactly the symbols given. A JSON array of strings is that
/// syntax (its escapes, `\"` and `\\`, are the server's too).
pub fn env_list(items: &[String]) -> String {
    serde_json::Value::from(items).to_string()
}

/// Counters, CPU times and the clock at one end of a measuring window.
struct Mark {
    /// Halfway through the `/metrics` request: the best guess of when the server read its
    /// counters (it is loaded, so the answer can take a while).
    at: Instant,
    /// That request's round trip, seconds: the uncertainty of `at`.
    round_trip: f64,
    counters: Counters,
    server_cpu: f64,
    tool_cpu: f64,
}

async fn mark(server: &ServerProcess) -> Result<Mark, BenchError> {
    let asked = Instant::now();
    let counters = Counters::parse(&metrics::scrape(server.addr).await?)?;
    let round_trip = asked.elapsed();
    Ok(Mark {
        at: asked + round_trip / 2,
        round_trip: round_trip.as_secs_f64(),
        counters,
        server_cpu: procstat::cpu_seconds(server.pid)?,
        tool_cpu: procstat::cpu_seconds(std::process::id())?,
    })
}

/// The window between two marks.
fn span_between(start: &Mark, end: &Mark) -> Span {
    Span {
        secs: end.at.duration_since(start.at).as_secs_f64(),
        round_trip: start.round_trip.max(end.round_trip),
        grown: end.counters.since(&start.counters),
        server_cpu: end.server_cpu - start.server_cpu,
        tool_cpu: end.tool_cpu - start.tool_cpu,
    }
}

/// Runs every live rate, then the stall run, each on a fresh server.
pub async fn run(launch: &Launch, plan: &MarketPlan) -> Result<(Vec<LiveResult>, Option<StallResult>), BenchError> {
    let mut live = Vec::new();
    if plan.subscribers > 0 {
        for &rate in &plan.rates {
            let server = start(launch, plan, rate).await?;
            let outcome = measure_live(&server, plan, rate).await;
            // Stop the server before the subscribers close (it keeps the TIME_WAIT sockets).
            server.stop().await;
            let (result, tasks) = outcome?;
            drop(tasks);
            eprintln!("{}", crate::market_report::live_line(&result));
            live.push(result);
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut stall = None;
    if plan.stalled > 0 {
        let server = start(launch, plan, plan.stall_rate).await?;
        let outcome = measure_stall(&server, plan).await;
        server.stop().await;
        let (result, held) = outcome?;
        drop(held);
        stall = Some(result);
    }
    Ok((live, stall))
}

async fn start(launch: &Launch, plan: &MarketPlan, rate: u32) -> Result<ServerProcess, BenchError> {
    let mut launch = launch.clone();
    launch.pulseboard_env.extend(plan.server_env(rate));
    let server = server_proc::start(ServerKind::Pulseboard, &launch).await?;
    eprintln!("started pulseboard (pid {}) on {} at {rate} ticks/s", server.pid, server.addr);
    Ok(server)
}

/// The server's symbols, once `warmup_min` has passed (quotes have their full size) and every
/// quote topic's history is full (so its memory no longer grows by itself), or `warmup_more`
/// after that. Returns them and the seconds waited.
async fn warm_up(server: &ServerProcess, plan: &MarketPlan) -> Result<(Vec<String>, f64), BenchError> {
    let started = Instant::now();
    let what = "GET /api/market/snapshot";
    let body = exchange::get(server.addr, "/api/market/snapshot", what, Duration::from_secs(30)).await?;
    let view: MarketSnapshot =
        serde_json::from_slice(&body).map_err(|e| BenchError::BadAnswer(format!("{what}: {e}")))?;
    if view.symbols.is_empty() {
        return Err(BenchError::BadAnswer(format!("{what}: the market has no symbols")));
    }
    let topics: Vec<String> = view.symbols.iter().map(|s| format!("market.quote.{s}")).collect();
    let full = (plan.history_events * topics.len()) as f64;
    eprintln!("  warming up: at least {:.0} s, until the quote histories are full", plan.warmup_min.as_secs_f64());
    tokio::time::sleep(plan.warmup_min.saturating_sub(started.elapsed())).await;
    let give_up = started + plan.warmup_min + plan.warmup_more;
    loop {
        let held = metrics::history_events(&metrics::scrape(server.addr).await?, &topics);
        if held >= full {
            break;
        }
        if Instant::now() >= give_up {
            eprintln!(
                "  warning: quote histories hold {held} of {full} events after {:.0} s; measuring anyway (memory may still grow by that)",
                started.elapsed().as_secs_f64()
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    Ok((view.symbols, started.elapsed().as_secs_f64()))
}

async fn measure_live(
    server: &ServerProcess,
    plan: &MarketPlan,
    rate: u32,
) -> Result<(LiveResult, JoinSet<()>), BenchError> {
    let (symbols, warmup_secs) = warm_up(server, plan).await?;
    let symbols: Arc<[String]> = symbols.into();
    let rss_base_kib = procstat::rss_kib(server.pid)?;
    let tcp_base_kib = procstat::tcp_buffers_kib()?;
    let shared = Arc::new(LiveShared::new(symbols.clone(), plan.subscribers));
    let mut tasks = JoinSet::new();
    let connect = subscriber::connect_all(
        server.addr,
        &quotes::quotes_path(&symbols),
        plan.subscribers,
        plan.connect_concurrency,
        None,
        |key, stream| {
            tasks.spawn(quotes::run_live(key, stream, shared.clone()));
        },
    )
    .await;
    connect.require_some("pulseboard")?;
    eprintln!(
        "  {} live subscribers of {} symbols connected in {:.2} s ({} failed)",
        connect.connected,
        symbols.len(),
        connect.secs,
        connect.failed
    );
    tokio::time::sleep(plan.settle).await;
    let rss_connected_kib = procstat::rss_kib(server.pid)?;

    let start = mark(server).await?;
    shared.staleness.reset();
    let before = shared.totals();
    let mut rss_max_kib = rss_connected_kib;
    let ends = tokio::time::Instant::now() + plan.window;
    while tokio::time::Instant::now() < ends {
        tokio::time::sleep_until(ends.min(tokio::time::Instant::now() + Duration::from_millis(500))).await;
        rss_max_kib = rss_max_kib.max(procstat::rss_kib(server.pid)?);
    }
    let delivered = shared.totals().since(&before);
    let staleness = shared.staleness.summary();
    let end = mark(server).await?;
    let tcp_end_kib = procstat::tcp_buffers_kib()?;
    let result = LiveResult {
        rate,
        symbols: symbols.len(),
        warmup_secs,
        connect,
        span: span_between(&start, &end),
        delivered,
        staleness,
        rss_base_kib,
        rss_connected_kib,
        rss_max_kib,
        tcp_base_kib,
        tcp_end_kib,
    };
    Ok((result, tasks))
}

async fn measure_stall(server: &ServerProcess, plan: &MarketPlan) -> Result<(StallResult, Vec<Connected>), BenchError> {
    let (symbols, _) = warm_up(server, plan).await?;
    let symbols: Arc<[String]> = symbols.into();
    let rss_base_kib = procstat::rss_kib(server.pid)?;
    let tcp_base_kib = procstat::tcp_buffers_kib()?;
    let mut held = Vec::with_capacity(plan.stalled);
    let connect = subscriber::connect_all(
        server.addr,
        &quotes::quotes_path(&symbols),
        plan.stalled,
        plan.connect_concurrency,
        Some(plan.recv_buffer),
        |_, stream| held.push(stream),
    )
    .await;
    connect.require_some("pulseboard")?;
    eprintln!(
        "  {} stalled subscribers connected in {:.2} s ({} failed); they read nothing from now on",
        connect.connected, connect.secs, connect.failed
    );

    let start = mark(server).await?;
    let mut samples = Vec::new();
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let secs = start.at.elapsed().as_secs_f64();
        let sample =
            StallSample { secs, rss_kib: procstat::rss_kib(server.pid)?, tcp_kib: procstat::tcp_buffers_kib()? };
        samples.push(sample);
        if samples.len() % 5 == 1 {
            eprintln!("{}", crate::market_report::stall_line(&sample, rss_base_kib, tcp_base_kib, connect.connected));
        }
        if secs + 0.5 >= plan.stall.as_secs_f64() {
            break;
        }
    }
    let end = mark(server).await?;

    // A few stalled subscribers read again: is the first thing they get a backlog or the news?
    let resumed_us = quotes::unix_now_us();
    let mut readers = JoinSet::new();
    for stream in held.drain(..plan.resume.min(held.len())) {
        readers.spawn(quotes::resume(stream, symbols.clone(), resumed_us, plan.resume_reading));
    }
    let mut resumed = Vec::new();
    while let Some(outcome) = readers.join_next().await {
        resumed.push(outcome.map_err(|e| BenchError::BadAnswer(format!("a resumed reader failed: {e}")))?);
    }
    let result = StallResult {
        rate: plan.stall_rate,
        symbols: symbols.len(),
        recv_buffer: plan.recv_buffer,
        connect,
        rss_base_kib,
        tcp_base_kib,
        samples,
        span: span_between(&start, &end),
        resumed,
    };
    Ok((result, held))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> MarketPlan {
        MarketPlan {
            rates: vec![2000],
            symbols: None,
            seed: 7,
            history_events: 1024,
            warmup_min: Duration::from_secs(61),
            warmup_more: Duration::from_secs(60),
            subscribers: 1000,
            settle: Duration::from_secs(2),
            window: Duration::from_secs(10),
            stalled: 1000,
            stall_rate: 2000,
            stall: Duration::from_secs(20),
            resume: 5,
            resume_reading: Duration::from_secs(2),
            recv_buffer: 4096,
            connect_concurrency: 200,
        }
    }

    #[test]
    fn server_env_names_only_known_settings() {
        let env = plan().server_env(5000);
        let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["PULSEBOARD_MARKET_TICKS_PER_SECOND", "PULSEBOARD_MARKET_SEED", "PULSEBOARD_HISTORY_EVENTS"]);
        assert_eq!(env[0].1, "5000");
        let mut with_symbols = plan();
        with_symbols.symbols = Some(vec!["ACME".into(), "BRK.B".into()]);
        let env = with_symbols.server_env(1);
        assert_eq!(env.last().unwrap(), &("PULSEBOARD_MARKET_SYMBOLS".to_string(), r#"["ACME","BRK.B"]"#.to_string()));
    }

    /// The server reads its `PULSEBOARD_*` variables with figment: each symbol must come out as
    /// the string given, so the server's own check sees (and names) exactly what was asked for.
    #[test]
    fn symbols_reach_the_server_as_given() {
        let symbols: Vec<String> =
            ["ACME", "123", "1.5", "true", "", "a b", "X,Y", "[Z]", r#"q"uote\"#, "{k=v}"].map(String::from).into();
        let read: figment::value::Value = env_list(&symbols).parse().unwrap();
        assert_eq!(read.deserialize::<Vec<String>>().unwrap(), symbols);
        // What the old unquoted `[A,B]` form gave: a number where a symbol was meant.
        let unquoted: figment::value::Value = "[ACME,123]".parse().unwrap();
        assert!(unquoted.deserialize::<Vec<String>>().is_err());
    }

    #[test]
    fn span_rates_guard_an_empty_window() {
        let span = Span { secs: 2.0, ..Span::default() };
        assert_eq!(span.per_sec(4000.0), 2000.0);
        assert_eq!(Span::default().per_sec(10.0), 0.0);
    }
}
