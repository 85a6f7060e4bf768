//! Two server instances sharing one real Redis (`hub = "redis://..."`): events cross instances,
//! a stream resumes on the other instance with no gap and no duplicate, an expired id gets a
//! `reset`, and Redis restarting or pausing loses nothing it kept while publishes answer 503
//! quickly and streams recover by themselves.

mod common;
#[path = "common/redis.rs"]
mod redis_server;

use common::*;
use eventsource_stream::Event;
use futures::{Stream, StreamExt};
use pulseboard::server::RunningServer;
use redis_server::RedisServer;
use std::time::{Duration, Instant};

/// A Redis for the test, or `None` (with a message) where redis-server is not installed. CI
/// installs it (scripts/install.sh --test), so there the test fails instead of skipping.
async fn redis(persistent: bool) -> Option<RedisServer> {
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    Some(if persistent { RedisServer::start_persistent().await } else { RedisServer::start().await })
}

async fn instance(redis: &RedisServer, history_events: usize) -> RunningServer {
    let url = redis.url();
    let server = start_server(move |s| {
        s.pulseboard.streams.hub = Some(url);
        s.pulseboard.streams.history_events = history_events;
        s.pulseboard.streams.heartbeat_secs = 1;
        // The tests publish faster than one publisher may by default.
        s.pulseboard.limits.publish_per_second = 100_000;
        s.pulseboard.limits.publish_burst = 100_000;
    })
    .await;
    wait_ready(&server, true).await;
    server
}

/// `/readyz`: its status and body.
async fn readyz(server: &RunningServer) -> (u16, serde_json::Value) {
    let response = client().get(url(server, "/readyz")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// Waits (up to 20 s) until `/readyz` answers 200 (`ready`) or 503 (not); returns the body.
async fn wait_ready(server: &RunningServer, ready: bool) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = readyz(server).await;
        if (status == 200) == ready {
            return body;
        }
        assert!(Instant::now() < deadline, "readyz stayed {status} for 20 s: {body}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Publishes; the status, the event id (if published) and how long it took.
async fn try_publish(server: &RunningServer, topic: &str, body: &str) -> (u16, serde_json::Value, Duration) {
    let started = Instant::now();
    let response = client()
        .post(url(server, &format!("/api/publish?topic={topic}")))
        .bearer_auth(publisher_token())
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap(), started.elapsed())
}

/// The next `n` events (heartbeats are comments, not events), each within `patience`.
async fn take_within(events: &mut (impl Stream<Item = Event> + Unpin), n: usize, patience: Duration) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(patience, events.next()).await {
            Ok(Some(event)) => out.push(event),
            Ok(None) => panic!("stream ended after {} of {n} events", out.len()),
            Err(_) => panic!("waited {patience:?} for event {} of {n}", out.len() + 1),
        }
    }
    out
}

#[tokio::test]
async fn an_event_published_on_one_instance_arrives_on_the_other_with_the_same_id() {
    let Some(redis) = redis(false).await else { return };
    let (a, b) = (instance(&redis, 100).await, instance(&redis, 100).await);
    let (_, mut on_a) = subscribe(&url(&a, "/api/events?topic=orders"), None).await;
    let (_, mut on_b) = subscribe(&url(&b, "/api/events?topic=orders"), None).await;
    let id = publish(&b, "orders", Some("order.created"), "from b").await;
    for events in [&mut on_a, &mut on_b] {
        let got = take(events, 1).await.remove(0);
        assert_eq!((got.id.as_str(), got.event.as_str(), got.data.as_str()), (id.as_str(), "order.created", "from b"));
    }
    let (ms, seq) = id.split_once('-').expect("a Redis stream id");
    assert!(ms.parse::<u64>().is_ok() && seq.parse::<u64>().is_ok(), "{id}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_cut_on_one_instance_resumes_on_the_other_with_no_gap_and_no_duplicate() {
    let Some(redis) = redis(false).await else { return };
    let (a, b) = (instance(&redis, 10_000).await, instance(&redis, 10_000).await);
    let total = 400usize;
    // The first stream is open before anything is published: it must see event 0 too.
    let topics = "/api/events?topic=left&topic=right";
    let mut first = Some(subscribe(&url(&a, topics), None).await.1);
    let publisher = {
        let (a_addr, b_addr) = (a.addr, b.addr);
        let token = publisher_token();
        tokio::spawn(async move {
            // Alternating instances and topics: one order of publishes, from two places.
            for n in 0..total {
                let addr = if n % 2 == 0 { a_addr } else { b_addr };
                let topic = if n % 3 == 0 { "left" } else { "right" };
                let response = client()
                    .post(format!("http://{addr}/api/publish?topic={topic}"))
                    .bearer_auth(&token)
                    .body(n.to_string())
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
            }
        })
    };
    let mut seen: Vec<usize> = Vec::new();
    let mut last: Option<String> = None;
    let mut round = 0;
    while seen.len() < total {
        // Read a while on one instance, cut the connection, resume on the other.
        let server = if round % 2 == 0 { &a } else { &b };
        round += 1;
        let mut events = match first.take() {
            Some(events) => events,
            None => subscribe(&url(server, topics), last.as_deref()).await.1,
        };
        let want = (total - seen.len()).min(67);
        for event in take(&mut events, want).await {
            assert_ne!(event.event, "reset", "history covers everything here: {}", event.data);
            seen.push(event.data.parse().unwrap());
            last = Some(event.id);
        }
    }
    publisher.await.unwrap();
    assert_eq!(seen, (0..total).collect::<Vec<_>>(), "every event once, in publish order, across instances");
    assert!(round > 3, "the stream moved between instances several times");
}

#[tokio::test]
async fn an_id_older_than_the_kept_history_gets_a_reset_on_any_instance() {
    let Some(redis) = redis(false).await else { return };
    let (a, b) = (instance(&redis, 5).await, instance(&redis, 5).await);
    let first = publish(&b, "kept", None, "0").await;
    let mut newest = first.clone();
    for n in 1..10 {
        newest = publish(&b, "kept", None, &n.to_string()).await;
    }
    let (_, mut events) = subscribe(&url(&a, "/api/events?topic=kept"), Some(&first)).await;
    let reset = take(&mut events, 1).await.remove(0);
    assert_eq!((reset.event.as_str(), reset.data.as_str()), ("reset", r#"{"reason":"history-expired"}"#));
    // An id the history still covers resumes exactly (the newest five are kept).
    let fifth = {
        let (_, mut all) = subscribe(&url(&a, "/api/events?topic=kept"), Some(&newest)).await;
        let live = publish(&b, "kept", None, "live").await;
        assert_eq!(take(&mut all, 1).await[0].id, live);
        live
    };
    let (_, mut tail) = subscribe(&url(&b, "/api/events?topic=kept"), Some(&newest)).await;
    let got = take(&mut tail, 1).await.remove(0);
    assert_eq!((got.id, got.data), (fifth, "live".to_string()));
    // Ids the cluster never made.
    for (id, reason) in [("1-0", "unknown-id"), ("99999999999-0", "unknown-id"), ("deadbeef-1", "malformed-id")] {
        let (_, mut events) = subscribe(&url(&a, "/api/events?topic=kept"), Some(id)).await;
        let reset = take(&mut events, 1).await.remove(0);
        assert_eq!((reset.event.as_str(), reset.data), ("reset", format!(r#"{{"reason":"{reason}"}}"#)), "{id}");
    }
}

/// Calls of `command` Redis has run so far.
async fn calls(redis: &RedisServer, command: &str) -> u64 {
    redis.command_calls().await.into_iter().find(|(name, _)| name == command).map_or(0, |(_, calls)| calls)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_reads_per_batch_per_instance_not_per_subscriber() {
    let Some(redis) = redis(false).await else { return };
    let server = instance(&redis, 1000).await;
    let subscribers = 60;
    let mut streams = Vec::new();
    for _ in 0..subscribers {
        streams.push(subscribe(&url(&server, "/api/events?topic=fan"), None).await.1);
    }
    let reads_before = calls(&redis, "xread").await;
    let events = 20;
    for n in 0..events {
        publish(&server, "fan", None, &n.to_string()).await;
    }
    for stream in &mut streams {
        let got = take(stream, events).await;
        assert_eq!(got.last().unwrap().data, (events - 1).to_string());
    }
    let reads = calls(&redis, "xread").await - reads_before;
    // (The server's own monitor publishes too, so XADDs are counted on the topic's key.)
    let kept: u64 =
        redis::cmd("XLEN").arg("pulseboard:topic:fan").query_async(&mut redis.connection().await).await.unwrap();
    assert_eq!(kept, events as u64, "one stream entry per published event");
    // One reader: at most one read per event (fewer when events share a batch) plus the few
    // that returned empty while this ran; a read per subscriber would be 60 times as many.
    assert!(reads <= events as u64 + 10, "{reads} XREADs for {events} events to {subscribers} subscribers");
}

/// Publishes `range` on `server`'s topic `topic`, each answered 200.
async fn publish_all(server: &RunningServer, topic: &str, range: std::ops::Range<usize>) {
    for n in range {
        publish(server, topic, None, &n.to_string()).await;
    }
}

/// While Redis is down: `/readyz` says why on both instances, publishes answer 503 within a
/// second with a message (and are not applied later: see the streams' exact contents).
async fn check_outage(a: &RunningServer, b: &RunningServer) {
    for server in [a, b] {
        wait_ready(server, false).await;
        // The job store (on the same Redis) may notice first; the hub's own check follows.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let (_, body) = readyz(server).await;
            let reason = body["checks"]["hub"].as_str().unwrap_or_default().to_string();
            if reason.contains("Redis at 127.0.0.1:") {
                break;
            }
            assert!(Instant::now() < deadline, "readyz names the hub's reason within 20 s: {body}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let (status, error, took) = try_publish(b, "outage", "lost?").await;
    assert_eq!(status, 503, "{error}");
    assert!(error["error"].as_str().is_some_and(|e| e.contains("event hub is unavailable")), "{error}");
    assert!(took < Duration::from_secs(1), "a publish during the outage answered in {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_loses_nothing_it_kept_and_streams_recover_by_themselves() {
    let Some(mut redis) = redis(true).await else { return };
    let (a, b) = (instance(&redis, 1000).await, instance(&redis, 1000).await);
    let (_, mut on_a) = subscribe(&url(&a, "/api/events?topic=outage"), None).await;
    publish_all(&b, "outage", 0..20).await;
    // Stopped right after publishing: the reader may not have read them all yet.
    redis.stop().await;
    check_outage(&a, &b).await;
    redis.start_again().await;
    wait_ready(&a, true).await;
    wait_ready(&b, true).await;
    publish_all(&b, "outage", 20..40).await;
    let got = take_within(&mut on_a, 40, Duration::from_secs(20)).await;
    let data: Vec<usize> = got.iter().map(|e| e.data.parse().unwrap()).collect();
    assert_eq!(data, (0..40).collect::<Vec<_>>(), "the same stream, every event once, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_paused_redis_gets_503s_quickly_and_streams_continue_after_it() {
    let Some(redis) = redis(false).await else { return };
    let (a, b) = (instance(&redis, 1000).await, instance(&redis, 1000).await);
    let (_, mut on_a) = subscribe(&url(&a, "/api/events?topic=outage"), None).await;
    publish_all(&b, "outage", 0..10).await;
    let paused = Instant::now();
    redis.pause(Duration::from_secs(5)).await;
    check_outage(&a, &b).await;
    assert!(paused.elapsed() < Duration::from_secs(5), "the outage was seen within the pause");
    wait_ready(&a, true).await;
    wait_ready(&b, true).await;
    publish_all(&b, "outage", 10..20).await;
    let got = take_within(&mut on_a, 20, Duration::from_secs(20)).await;
    let data: Vec<usize> = got.iter().map(|e| e.data.parse().unwrap()).collect();
    assert_eq!(data, (0..20).collect::<Vec<_>>(), "the same stream, every event once, in order");
}

#[test]
#[allow(clippy::result_large_err)] // figment's Jail closure returns its (large) error type
fn the_hub_is_chosen_by_pulseboard_hub_and_a_malformed_url_is_refused_naming_the_key() {
    figment::Jail::expect_with(|jail| {
        assert_eq!(pulseboard::config::load(None).unwrap().pulseboard.streams.hub, None, "in-process by default");
        jail.set_env("PULSEBOARD_HUB", "redis://127.0.0.1:6379/0");
        let settings = pulseboard::config::load(None).unwrap();
        assert_eq!(settings.pulseboard.streams.hub.as_deref(), Some("redis://127.0.0.1:6379/0"));
        for bad in ["localhost:6379", "http://127.0.0.1:6379", "redis://127.0.0.1:notaport/0"] {
            jail.set_env("PULSEBOARD_HUB", bad);
            let err = pulseboard::config::load(None).unwrap_err().to_string();
            assert!(err.contains("key `pulseboard.hub`"), "{bad}: {err}");
        }
        Ok(())
    });
}
