//! The monitor with several instances sharing one real Redis: each instance's samples reach the
//! other (its snapshot lists both and holds the other's window, its sample stream of the other
//! instance delivers that instance's samples), `/metrics` of each stays about itself, and while
//! Redis is down the samples say "degraded" with the reason, then recover by themselves.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use prometheus_parse::{Scrape, Value};
use pulseboard::server::RunningServer;
use redis_server::RedisServer;
use std::time::{Duration, Instant};

/// A Redis for the test, or `None` (with a message) where redis-server is not installed. CI
/// installs it (scripts/install.sh --test), so there the test fails instead of skipping.
async fn redis() -> Option<RedisServer> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    Some(RedisServer::start().await)
}

async fn instance(redis: &RedisServer, name: &str, interval_ms: u64) -> RunningServer {
    let (url, name) = (redis.url(), name.to_string());
    start_server(move |s| {
        s.pulseboard.streams.hub = Some(url);
        s.pulseboard.streams.heartbeat_secs = 1;
        s.pulseboard.monitor.interval_ms = interval_ms;
        s.pulseboard.monitor.instance_name = Some(name);
    })
    .await
}

async fn snapshot(server: &RunningServer, query: &str) -> (u16, serde_json::Value) {
    let response = client().get(url(server, &format!("/api/monitor/snapshot?{query}"))).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

/// Waits (up to 20 s) until `server`'s snapshot for `query` satisfies `done`; returns it.
async fn wait_snapshot(
    server: &RunningServer,
    query: &str,
    what: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, view) = snapshot(server, query).await;
        if status == 200 && done(&view) {
            return view;
        }
        assert!(Instant::now() < deadline, "{what}: not within 20 s; last snapshot ({status}): {view}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn scrape(server: &RunningServer) -> Scrape {
    let text = client().get(url(server, "/metrics")).send().await.unwrap().text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("valid Prometheus text format")
}

fn value(scrape: &Scrape, metric: &str) -> f64 {
    let sample = scrape.samples.iter().find(|s| s.metric == metric).unwrap_or_else(|| panic!("{metric} missing"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric} is {other:?}"),
    }
}

fn instance_names(scrape: &Scrape) -> Vec<String> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == "pulseboard_instance_info")
        .filter_map(|s| s.labels.get("name").map(str::to_string))
        .collect()
}

fn lists(view: &serde_json::Value, names: &[&str]) -> bool {
    let listed: Vec<&str> =
        view["instances"].as_array().map(|a| a.iter().filter_map(|n| n.as_str()).collect()).unwrap_or_default();
    names.iter().all(|name| listed.contains(name))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_instance_sees_every_instance_and_metrics_stay_per_instance() {
    let Some(redis) = redis().await else { return };
    // Alpha samples rarely (once at start, then every 10 s), beta every 100 ms: whatever alpha
    // counts of beta's samples would show in its own figures.
    let alpha = instance(&redis, "alpha", 10_000).await;
    let beta = instance(&redis, "beta", 100).await;

    for server in [&alpha, &beta] {
        let view = wait_snapshot(server, "window=5", "both instances listed", |v| lists(v, &["alpha", "beta"])).await;
        assert_eq!(view["instances"][0], view["instance"], "the answering instance comes first: {view}");
    }
    // Alpha holds beta's window: its points and newest sample, named beta.
    let of_beta = wait_snapshot(&alpha, "window=5&instance=beta", "beta's points on alpha", |v| {
        v["points"].as_array().is_some_and(|p| p.len() >= 5)
    })
    .await;
    assert_eq!(of_beta["instance"], "beta");
    assert_eq!(of_beta["latest"]["instance"], "beta");
    assert_eq!(of_beta["latest"]["interval_ms"], 100);
    let (_, own) = snapshot(&alpha, "window=5").await;
    assert_eq!((own["instance"].clone(), own["latest"]["instance"].clone()), ("alpha".into(), "alpha".into()));
    // Beta holds alpha's (one sample so far).
    let of_alpha =
        wait_snapshot(&beta, "window=5&instance=alpha", "alpha's sample on beta", |v| !v["latest"].is_null()).await;
    assert_eq!(of_alpha["latest"]["instance"], "alpha");

    // Alpha serves a stream of beta's samples: they crossed Redis.
    let (_, mut events) = subscribe(&url(&alpha, "/api/streams/monitor?instance=beta"), None).await;
    for event in take(&mut events, 3).await {
        let sample: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(sample["instance"], "beta");
        assert!(lists(&sample, &["alpha", "beta"]), "a sample names the live instances: {sample}");
    }
    // An instance nobody runs: 404 with the live ones named; a bad name: 400.
    let (status, body) = snapshot(&alpha, "instance=gamma").await;
    assert_eq!(status, 404, "{body}");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(message.contains("gamma") && message.contains("alpha, beta"), "{body}");
    let response = client().get(url(&alpha, "/api/streams/monitor?instance=no%20such")).send().await.unwrap();
    assert_eq!(response.status(), 400);

    // /metrics: each instance about itself.
    let (on_alpha, on_beta) = (scrape(&alpha).await, scrape(&beta).await);
    assert_eq!(instance_names(&on_alpha), ["alpha"]);
    assert_eq!(instance_names(&on_beta), ["beta"]);
    let beta_samples = value(&on_beta, "pulseboard_monitor_samples_total");
    assert!(beta_samples >= 5.0, "{beta_samples}");
    assert!(value(&on_alpha, "pulseboard_monitor_samples_total") <= 2.0, "alpha counts only its own samples");
    assert_eq!(value(&on_alpha, "pulseboard_hub_backend_up"), 1.0);

    // Beta stops: after a few of its intervals alpha no longer lists it.
    beta.begin_shutdown();
    beta.stopped(Duration::from_secs(5)).await.unwrap();
    wait_snapshot(&alpha, "window=5", "beta dropped out", |v| lists(v, &["alpha"]) && !lists(v, &["beta"])).await;
    let (status, _) = snapshot(&alpha, "instance=beta").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn samples_say_degraded_while_redis_is_down_and_recover_by_themselves() {
    let Some(mut redis) = redis().await else { return };
    let server = instance(&redis, "solo", 100).await;
    wait_snapshot(&server, "window=5", "a healthy sample", |v| {
        !v["latest"].is_null() && v["latest"]["degraded"].is_null()
    })
    .await;

    redis.stop().await;
    let view = wait_snapshot(&server, "window=5", "a degraded sample", |v| v["latest"]["degraded"].is_string()).await;
    let reason = view["latest"]["degraded"].as_str().unwrap();
    assert!(reason.contains("Redis at 127.0.0.1:"), "the reason names Redis: {reason}");
    // The page rendered now says so too, with the reason; /metrics counts the backend down.
    let html = client().get(url(&server, "/monitor?window=5")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains(r#"class="degraded""#) && html.contains("Redis at 127.0.0.1:"), "degraded on the page");
    assert_eq!(value(&scrape(&server).await, "pulseboard_hub_backend_up"), 0.0);

    redis.start_again().await;
    wait_snapshot(&server, "window=5", "a healthy sample again", |v| {
        !v["latest"].is_null() && v["latest"]["degraded"].is_null()
    })
    .await;
    let html = client().get(url(&server, "/monitor?window=5")).send().await.unwrap().text().await.unwrap();
    assert!(!html.contains(r#"class="degraded""#), "no longer degraded on the page");
    assert_eq!(value(&scrape(&server).await, "pulseboard_hub_backend_up"), 1.0);
}
