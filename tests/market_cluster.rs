//! The simulated market across instances: real `pulseboard` binaries on free ports sharing one
//! real Redis. Exactly one instance runs the feed (it holds the lease); a leader killed with
//! SIGKILL is replaced within a few seconds by another that continues each symbol from its last
//! published quote, not from the seed; a leader stopped with SIGTERM hands the lease over at once;
//! and every instance's Markets snapshot is the same board.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use eventsource_stream::Event;
use futures::{Stream, StreamExt};
use redis_server::RedisServer;
use std::{
    collections::HashMap,
    net::SocketAddr,
    process::Stdio,
    time::{Duration, Instant},
};
use tokio::process::{Child, Command};

const LEASE_KEY: &str = "pulseboard:lease:market-feed";

async fn redis() -> Option<RedisServer> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    Some(RedisServer::start().await)
}

/// A `pulseboard` binary with the Redis hub and the simulated market on.
struct Instance {
    child: Child,
    addr: SocketAddr,
}

impl Instance {
    async fn start(redis: &RedisServer) -> Self {
        let workdir = tempfile::tempdir().expect("temp dir").keep();
        let mut command = Command::new(env!("CARGO_BIN_EXE_pulseboard"));
        for (name, _) in std::env::vars() {
            if name.starts_with("PULSEBOARD_") || name.starts_with("LEPTOS_") {
                command.env_remove(name);
            }
        }
        command
            .current_dir(&workdir)
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("PULSEBOARD_DATA_DIR", workdir.join("data"))
            .env("PULSEBOARD_JWT_SECRET", TEST_SECRET)
            .env("PULSEBOARD_HUB", redis.url())
            .env("PULSEBOARD_MARKET_TICKS_PER_SECOND", "200")
            // Ten minutes a trading day: prices move enough in seconds to tell a continued
            // walk from one started again at the seed.
            .env("PULSEBOARD_MARKET_SESSION_SECS", "600")
            .env("PULSEBOARD_HISTORY_EVENTS", "5000")
            .env("RUST_LOG", "warn,pulseboard::market=info")
            .stderr(Stdio::inherit());
        let (child, addr) = spawn_listening(&mut command).await;
        // Streams are refused until the instance has heard from Redis.
        wait_until_ready(addr).await;
        Self { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("running")
    }

    /// A figure of `/metrics`.
    async fn metric(&self, name: &str) -> f64 {
        let text = client().get(self.url("/metrics")).send().await.unwrap().text().await.unwrap();
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
        let sample = scrape.samples.iter().find(|s| s.metric == name).unwrap_or_else(|| panic!("{name} in /metrics"));
        match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => panic!("{name} is no number"),
        }
    }

    async fn leads(&self) -> bool {
        self.metric("pulseboard_market_feed_leader").await == 1.0
    }

    async fn snapshot(&self) -> serde_json::Value {
        client().get(self.url("/api/market/snapshot")).send().await.unwrap().json().await.unwrap()
    }

    fn kill(&mut self) {
        self.child.start_kill().expect("SIGKILL");
    }

    fn terminate(&self) {
        let status = std::process::Command::new("kill").args(["-TERM", &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }
}

/// Waits until `check` holds (`within` at most), polling.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, within: Duration, mut check: impl FnMut() -> F) {
    let deadline = Instant::now() + within;
    while !check().await {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(Debug, Clone, serde::Deserialize)]
struct QuoteChange {
    symbol: String,
    last: f64,
    open: f64,
    volume: u64,
    ts_ms: i64,
    point: u64,
}

/// Every quote event of every symbol on `instance`, in order.
async fn quotes(instance: &Instance, symbols: &[String]) -> impl Stream<Item = QuoteChange> + Unpin {
    let topics: Vec<String> = symbols.iter().map(|s| format!("topic=market.quote.{s}")).collect();
    let (_, events) = subscribe(&instance.url(&format!("/api/events?{}", topics.join("&"))), None).await;
    Box::pin(events.filter_map(|event: Event| async move {
        (event.event == "quote").then(|| serde_json::from_str(&event.data).expect("a quote"))
    }))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64
}

/// Snapshots of both instances, taken until they are as of the same event; those must agree.
async fn same_board(a: &Instance, b: &Instance) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (left, right) = tokio::join!(a.snapshot(), b.snapshot());
        if left["as_of"] == right["as_of"] {
            assert_eq!(left["quotes"], right["quotes"], "both instances' boards as of {}", left["as_of"]);
            assert_eq!(left["quotes"].as_array().map(Vec::len), Some(8), "{left}");
            return;
        }
        assert!(Instant::now() < deadline, "the snapshots were never as of the same event");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_instance_runs_the_feed_and_a_killed_leader_is_continued_from_its_last_quotes() {
    let Some(redis) = redis().await else { return };
    let mut a = Instance::start(&redis).await;
    eventually("the first instance leads", Duration::from_secs(10), || a.leads()).await;
    let b = Instance::start(&redis).await;
    eventually("the leader's board quotes every symbol", Duration::from_secs(10), || async {
        a.snapshot().await["symbols"].as_array().map(Vec::len) == Some(8)
    })
    .await;
    let symbols: Vec<String> =
        a.snapshot().await["symbols"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_string()).collect();
    let mut on_b = quotes(&b, &symbols).await;

    // A few seconds of the feed, read on the follower.
    let mut seen: Vec<QuoteChange> = Vec::new();
    while seen.len() < 800 {
        seen.push(tokio::time::timeout(Duration::from_secs(5), on_b.next()).await.unwrap().unwrap());
    }
    assert!(!b.leads().await, "the second instance does not lead");
    let (ticks_a, ticks_b) =
        (a.metric("pulseboard_market_ticks_total").await, b.metric("pulseboard_market_ticks_total").await);
    assert!(ticks_a >= 800.0, "the leader applies the ticks: {ticks_a}");
    assert_eq!(ticks_b, 0.0, "the follower simulates nothing");
    same_board(&a, &b).await;

    // The follower's own Markets page renders that board (every symbol, from its snapshot).
    let page = client().get(b.url("/markets")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(symbols.iter().all(|s| page.contains(s.as_str())), "the follower's page lists every symbol");

    a.kill();
    let killed_at = now_ms();
    eventually("the other instance takes over", Duration::from_secs(10), || b.leads()).await;

    // Quotes made before the kill (some still on their way) and the new leader's first ones.
    let mut after: HashMap<String, QuoteChange> = HashMap::new();
    while after.len() < symbols.len() {
        let quote = tokio::time::timeout(Duration::from_secs(10), on_b.next()).await.unwrap().unwrap();
        if quote.ts_ms <= killed_at {
            seen.push(quote);
        } else {
            after.entry(quote.symbol.clone()).or_insert(quote);
        }
    }
    let seed = |symbol: &str| seen.iter().find(|q| q.symbol == symbol).unwrap().clone();
    let last = |symbol: &str| seen.iter().rev().find(|q| q.symbol == symbol).unwrap().clone();
    for symbol in &symbols {
        let (before, next) = (last(symbol), &after[symbol]);
        assert!(next.point >= before.point, "{symbol}: sparkline points go on ({before:?} then {next:?})");
        let same_session = before.ts_ms.div_euclid(600_000) == next.ts_ms.div_euclid(600_000);
        if same_session {
            assert_eq!(next.open, before.open, "{symbol}: the session's open stays");
            assert!(next.volume > before.volume, "{symbol}: the session's volume goes on ({before:?} then {next:?})");
        }
        assert!((next.last / before.last - 1.0).abs() < 0.01, "{symbol}: {} then {}", before.last, next.last);
    }
    // The symbol that moved most from its seed price: the new leader's first price is near the
    // last one, far nearer than the seed is (a feed started again at the seed would be there).
    let moved = symbols
        .iter()
        .max_by(|x, y| {
            let away = |s: &str| (last(s).last - seed(s).last).abs();
            away(x).total_cmp(&away(y))
        })
        .unwrap();
    let (from_seed, step) = ((last(moved).last - seed(moved).last).abs(), (after[moved].last - last(moved).last).abs());
    assert!(
        step * 3.0 < from_seed,
        "{moved}: seed {}, last {}, then {}",
        seed(moved).last,
        last(moved).last,
        after[moved].last
    );

    // A new follower restores the board from the hub: the same as the leader's.
    let c = Instance::start(&redis).await;
    same_board(&b, &c).await;
    assert!(!c.leads().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_with_sigterm_releases_the_lease_for_the_next() {
    let Some(redis) = redis().await else { return };
    let a = Instance::start(&redis).await;
    eventually("the first instance leads", Duration::from_secs(10), || a.leads()).await;
    let b = Instance::start(&redis).await;
    let holder = || async {
        let held: Option<String> =
            redis::cmd("GET").arg(LEASE_KEY).query_async(&mut redis.connection().await).await.unwrap();
        held.unwrap_or_default()
    };
    let a_token = format!("pid-{}-", a.pid());
    assert!(holder().await.starts_with(&a_token), "the lease names its holder");
    let Instance { mut child, .. } = a;
    let pid = child.id().unwrap();
    let status = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap();
    assert!(status.success());
    let exited = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.expect("exits").unwrap();
    assert!(exited.success());
    // Released, not left to expire: a lease key with the stopped instance's token is gone.
    let now = holder().await;
    assert!(!now.starts_with(&a_token), "still held by the stopped instance: {now}");
    eventually("the other instance takes over", Duration::from_secs(10), || b.leads()).await;
    assert!(holder().await.starts_with(&format!("pid-{}-", b.pid())));
    b.terminate();
}
