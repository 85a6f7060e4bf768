//! The monitor's HTTP side against a real server: `/metrics` read with a Prometheus text parser we
//! did not write, `/healthz`, `/readyz`, the snapshot server function and the sample stream.

mod common;

use common::*;
use prometheus_parse::{Scrape, Value};
use std::time::Duration;

async fn scrape(server: &pulseboard::server::RunningServer) -> Scrape {
    let response = client().get(url(server, "/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let text = response.text().await.unwrap();
    Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).expect("valid Prometheus text format")
}

/// The value of `metric` (with `label` = value when given), failing the test when it is absent.
fn value(scrape: &Scrape, metric: &str, label: Option<(&str, &str)>) -> f64 {
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && label.is_none_or(|(k, v)| s.labels.get(k) == Some(v)))
        .unwrap_or_else(|| panic!("{metric} {label:?} missing"));
    match sample.value {
        Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
        ref other => panic!("{metric} is {other:?}"),
    }
}

fn fast_monitor(settings: &mut pulseboard::config::Settings) {
    settings.pulseboard.monitor.interval_ms = 100;
}

/// Waits for the sampler's first samples to be recorded.
async fn wait_for_samples(server: &pulseboard::server::RunningServer, n: f64) -> Scrape {
    for _ in 0..100 {
        let scrape = scrape(server).await;
        if value(&scrape, "pulseboard_monitor_samples_total", None) >= n {
            return scrape;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the monitor took no {n} samples in 5 s");
}

#[tokio::test]
async fn metrics_parse_and_counters_move_with_events() {
    let server = start_server(fast_monitor).await;
    let before = wait_for_samples(&server, 2.0).await;
    assert!(value(&before, "pulseboard_host_memory_total_bytes", None) > 0.0);
    assert!(value(&before, "process_resident_memory_bytes", None) > 0.0);
    let total_cpu = value(&before, "pulseboard_host_cpu_usage_percent", Some(("cpu", "total")));
    assert!((0.0..=100.0).contains(&total_cpu));
    // Every core's usage is a percentage, and there is at least one core beside the total.
    let cores: Vec<(String, f64)> = before
        .samples
        .iter()
        .filter(|s| s.metric == "pulseboard_host_cpu_usage_percent" && s.labels.get("cpu") != Some("total"))
        .map(|s| match s.value {
            Value::Gauge(v) | Value::Untyped(v) => (s.labels.get("cpu").unwrap_or_default().to_string(), v),
            ref other => panic!("cpu usage is {other:?}"),
        })
        .collect();
    assert!(cores.iter().any(|(cpu, _)| cpu == "0"), "{cores:?}");
    assert!(cores.iter().all(|(_, usage)| (0.0..=100.0).contains(usage)), "{cores:?}");
    assert!(value(&before, "pulseboard_data_disk_total_bytes", None) > 0.0);
    assert!(matches!(
        before.samples.iter().find(|s| s.metric == "pulseboard_hub_events_published_total").unwrap().value,
        Value::Counter(_)
    ));

    let (_, mut events) = subscribe(&url(&server, "/api/events?topic=metrics.test"), None).await;
    for n in 0..3 {
        publish(&server, "metrics.test", None, &n.to_string()).await;
    }
    take(&mut events, 3).await;
    let after = scrape(&server).await;
    let moved = |metric: &str| value(&after, metric, None) - value(&before, metric, None);
    // The sampler publishes too (one sample per interval), so at least what the test sent.
    assert!(moved("pulseboard_hub_events_published_total") >= 3.0);
    assert!(moved("pulseboard_hub_events_delivered_total") >= 3.0);
    assert_eq!(value(&after, "pulseboard_hub_topic_subscribers", Some(("topic", "metrics.test"))), 1.0);
    assert_eq!(value(&after, "pulseboard_hub_topic_history_events", Some(("topic", "metrics.test"))), 3.0);
    assert!(value(&after, "pulseboard_hub_streams", None) >= 1.0);
}

#[tokio::test]
async fn healthz_answers_and_readyz_follows_the_hub() {
    let server = start_server(|_| {}).await;
    let health = client().get(url(&server, "/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.json::<serde_json::Value>().await.unwrap()["status"], "ok");

    let ready = client().get(url(&server, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!((body["ready"].clone(), body["checks"]["hub"].clone()), (true.into(), "ok".into()));

    // The hub stops taking subscribers (as on shutdown): not ready, saying why; still alive.
    server.hub.disconnect_all(true);
    let ready = client().get(url(&server, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["ready"], false);
    assert!(body["checks"]["hub"].as_str().unwrap().contains("shutting down"), "{body}");
    assert_eq!(client().get(url(&server, "/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_job_database_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_path_buf();
    let server = start_server(move |s| s.pulseboard.server.data_dir = data_dir).await;
    let ready = client().get(url(&server, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // The database file is removed under the running server (a volume lost, a wrong cleanup).
    for name in ["pulseboard.sqlite3", "pulseboard.sqlite3-wal", "pulseboard.sqlite3-shm"] {
        let _ = std::fs::remove_file(dir.path().join(name));
    }
    let ready = client().get(url(&server, "/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!((body["ready"].clone(), body["checks"]["hub"].clone()), (false.into(), "ok".into()));
    let reason = body["checks"]["database"].as_str().unwrap_or_default();
    assert!(!reason.is_empty() && reason != "ok", "{body}");
    // Still alive: the process answers.
    assert_eq!(client().get(url(&server, "/healthz")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn snapshot_holds_the_window_and_refuses_other_windows() {
    let server = start_server(fast_monitor).await;
    wait_for_samples(&server, 3.0).await;
    let response = client().get(url(&server, "/api/monitor/snapshot?window=5")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let view: serde_json::Value = response.json().await.unwrap();
    assert_eq!(view["window_minutes"], 5);
    assert_eq!(view["step_ms"], 900, "five minutes at 100 ms sampling: at most 360 points, whole intervals");
    assert!(!view["points"].as_array().unwrap().is_empty());
    assert!(view["latest"]["host"]["memory_total"].as_u64().unwrap() > 0);
    assert_eq!(view["thresholds"]["cpu"]["warn"], 75.0);
    // Without a window: the default one.
    let response = client().get(url(&server, "/api/monitor/snapshot")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap()["window_minutes"], 15);

    for bad in ["7", "abc", "-5", "15.0"] {
        let response = client().get(url(&server, &format!("/api/monitor/snapshot?window={bad}"))).send().await.unwrap();
        assert_eq!(response.status(), 400, "window={bad}");
        let message = response.text().await.unwrap();
        assert!(message.contains("window must be one of [5, 15, 60, 360] minutes"), "{message}");
    }
}

#[tokio::test]
async fn sample_stream_is_latest_wins_and_resumes() {
    let server = start_server(fast_monitor).await;
    let (headers, mut events) = subscribe(&url(&server, "/api/streams/monitor"), None).await;
    assert_eq!(headers["content-type"], "text/event-stream");
    let got = take(&mut events, 2).await;
    for event in &got {
        assert_eq!(event.event, "sample");
        let sample: serde_json::Value = serde_json::from_str(&event.data).unwrap();
        assert!(sample["at_ms"].as_i64().unwrap() > 0);
        assert!(sample["host"]["cores"].as_array().is_some_and(|c| !c.is_empty()));
    }
    drop(events);

    // Away for about ten samples, then back with the last id: only the newest sample arrives,
    // not the backlog, and the skipped ones are counted as conflated.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let (_, mut resumed) = subscribe(&url(&server, "/api/streams/monitor"), Some(&got[1].id)).await;
    let first = take(&mut resumed, 1).await.remove(0);
    let stats: serde_json::Value =
        client().get(url(&server, "/api/debug/stats")).send().await.unwrap().json().await.unwrap();
    assert!(stats["conflated"].as_u64().unwrap() >= 5, "{stats}");
    assert!(stats["resumes"].as_u64().unwrap() >= 1, "{stats}");
    let first_at = serde_json::from_str::<serde_json::Value>(&first.data).unwrap()["at_ms"].as_i64().unwrap();
    let next = take(&mut resumed, 1).await.remove(0);
    let next_at = serde_json::from_str::<serde_json::Value>(&next.data).unwrap()["at_ms"].as_i64().unwrap();
    assert!(next_at - first_at < 1000, "after the newest sample, live samples follow");
    assert!(next_at > first_at, "each sample is newer than the one before");
    // The first sample after the resume is the newest one, not the next of the backlog: samples
    // are 100 ms apart, and the stream was away for 1000 ms (a replay would start 100 ms later).
    let left_at = serde_json::from_str::<serde_json::Value>(&got[1].data).unwrap()["at_ms"].as_i64().unwrap();
    assert!(first_at - left_at >= 700, "the backlog was skipped: {} ms after the last sample seen", first_at - left_at);
}

#[tokio::test]
async fn monitor_page_is_rendered_with_values_and_refuses_a_bad_window() {
    let server = start_server(fast_monitor).await;
    wait_for_samples(&server, 2.0).await;
    let page = client().get(url(&server, "/monitor?window=5")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(r#"data-span-min="5""#), "charts span the chosen window");
    assert!(html.contains(r#"class="gauge""#));
    assert!(html.contains(" cores<"), "the CPU gauge names the cores");
    assert!(!html.contains(r#"data-points="0""#), "every series has points");
    assert!(!html.contains("Waiting for the first sample"));

    let page = client().get(url(&server, "/monitor?window=2")).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("window must be one of"));
}

#[tokio::test]
async fn thresholds_from_the_configuration_colour_the_gauges() {
    let server = start_server(|s| {
        fast_monitor(s);
        // Any memory use is critical; any disk use short of full is a warning.
        s.pulseboard.monitor.memory_warn = 0.0;
        s.pulseboard.monitor.memory_critical = 0.0;
        s.pulseboard.monitor.disk_warn = 0.0;
        s.pulseboard.monitor.disk_critical = 100.0;
    })
    .await;
    wait_for_samples(&server, 2.0).await;
    let html = client().get(url(&server, "/monitor")).send().await.unwrap().text().await.unwrap();
    let level_of = |label: &str| {
        let at = html.find(&format!(r#"aria-label="{label}""#)).unwrap_or_else(|| panic!("gauge {label}"));
        let figure = html[..at].rfind("<figure").unwrap();
        let tag = &html[figure..at];
        tag.split("data-level=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap().to_string()
    };
    assert_eq!(level_of("Memory"), "critical");
    assert_eq!(level_of("Data disk"), "warn");
    assert!(html.contains(r#"class="threshold level-critical""#), "threshold lines drawn");
}
