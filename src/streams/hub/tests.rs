//! Unit tests of the hub: resume, bounds, resets, latest wins, stats, heartbeat. Each test that
//! is about the hub's contract runs twice (`both!`): on the in-process backend and on the Redis
//! backend against a real `redis-server` (skipped, saying so, only where it is not installed; CI
//! installs it and fails rather than skip).

use super::*;
use eventsource_stream::Eventsource;
use futures::StreamExt;

#[path = "../../../tests/common/redis.rs"]
mod redis_server;

fn config() -> HubConfig {
    HubConfig {
        history_events: 100,
        history_age: Duration::from_secs(600),
        heartbeat: Duration::from_secs(15),
        retry_ms: 1000,
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    InProcess,
    Redis,
}

/// A hub of the kind, ready; with the Redis it runs on (stopped when dropped). `None`: skip.
async fn make(kind: Kind, config: HubConfig) -> Option<(Hub, Option<redis_server::RedisServer>)> {
    if kind == Kind::InProcess {
        return Some((Hub::in_process(config), None));
    }
    if !redis_server::installed() {
        assert!(std::env::var_os("CI").is_none(), "redis-server must be installed in CI (scripts/install.sh --test)");
        eprintln!("skipped: redis-server is not installed (scripts/install.sh --test installs it)");
        return None;
    }
    let server = redis_server::RedisServer::start().await;
    let hub = Hub::redis(&server.url(), config).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Err(err) = hub.check_ready() {
        assert!(tokio::time::Instant::now() < deadline, "Redis hub not ready in 10 s: {err}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Some((hub, Some(server)))
}

/// Waits until the hub's local view includes `id` (at once in-process; the Redis hub's reader
/// brings published events back asynchronously).
async fn settled(hub: &Hub, id: EventId) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while hub.current_id() < id {
        assert!(tokio::time::Instant::now() < deadline, "hub did not read back {id} in 30 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// One test body, run on each backend.
macro_rules! both {
    ($(#[$attr:meta])* $name:ident) => {
        mod $name {
            use super::*;
            $(#[$attr])*
            async fn in_process() {
                super::$name(Kind::InProcess).await
            }
            $(#[$attr])*
            async fn redis() {
                super::$name(Kind::Redis).await
            }
        }
    };
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

fn events(hub: &Hub, topics: &[&str], last: Option<String>) -> impl Stream<Item = eventsource_stream::Event> {
    let request = SubscribeRequest {
        topics: topics.iter().map(|t| topic(t)).collect(),
        last_event_id: last,
        delivery: Delivery::Every,
    };
    events_with(hub, request)
}

fn events_with(hub: &Hub, request: SubscribeRequest) -> impl Stream<Item = eventsource_stream::Event> {
    hub.subscribe(request).unwrap().map(Ok::<_, std::convert::Infallible>).eventsource().map(|event| event.unwrap())
}

async fn publish(hub: &Hub, name: &str, data: &str) -> EventId {
    hub.publish(&topic(name), &EventType::message(), data).await.unwrap()
}

async fn take(
    stream: &mut (impl Stream<Item = eventsource_stream::Event> + Unpin),
    n: usize,
) -> Vec<eventsource_stream::Event> {
    let mut out = Vec::new();
    while out.len() < n {
        // Generous: a loaded 2-core CI machine runs many tests at once. A lost event still
        // fails (it never arrives); a slow one does not.
        let next = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        out.push(next.unwrap_or_else(|_| panic!("event {} of {n} within 30 s", out.len() + 1)).expect("stream open"));
    }
    out
}

#[test]
fn event_ids_round_trip_and_reject_garbage() {
    let id = EventId::Run { epoch: 0xdead_beef, seq: 42 };
    assert_eq!(id.to_string(), "deadbeef-42");
    assert_eq!("deadbeef-42".parse::<EventId>(), Ok(id));
    for bad in ["", "42", "deadbeef-", "deadbeef-x", "dead-42", "zzzzzzzz-1", "deadbeef--1"] {
        assert!(bad.parse::<EventId>().is_err(), "{bad}");
    }
}

both!(
    #[tokio::test]
    live_subscriber_gets_events_after_subscribing_only
);
async fn live_subscriber_gets_events_after_subscribing_only(kind: Kind) {
    let Some((hub, _redis)) = make(kind, config()).await else { return };
    publish(&hub, "a", "before").await;
    let mut stream = Box::pin(events(&hub, &["a"], None));
    let first = publish(&hub, "a", "one").await;
    publish(&hub, "b", "other topic").await;
    publish(&hub, "a", "two").await;
    let got = take(&mut stream, 2).await;
    assert_eq!(got[0].data, "one");
    assert_eq!(got[0].id, first.to_string());
    assert_eq!(got[1].data, "two");
}

both!(
    #[tokio::test]
    resume_replays_exactly_what_followed_the_id
);
async fn resume_replays_exactly_what_followed_the_id(kind: Kind) {
    let Some((hub, _redis)) = make(kind, config()).await else { return };
    let mut ids = Vec::new();
    for n in 0..10 {
        ids.push(publish(&hub, "a", &n.to_string()).await);
    }
    let mut stream = Box::pin(events(&hub, &["a"], Some(ids[4].to_string())));
    let got = take(&mut stream, 5).await;
    let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["5", "6", "7", "8", "9"]);
}

both!(
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    resume_under_concurrent_publishing_has_no_gap_and_no_duplicate
);
async fn resume_under_concurrent_publishing_has_no_gap_and_no_duplicate(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_events: 100_000, ..config() }).await else { return };
    let total = 3000u32;
    // The first stream is open before anything is published (it must see event 0 too).
    let mut first = Some(Box::pin(events(&hub, &["a", "b"], None)));
    let publisher = {
        let hub = hub.clone();
        tokio::spawn(async move {
            for n in 0..total {
                let name = if n % 3 == 0 { "b" } else { "a" };
                publish(&hub, name, &n.to_string()).await;
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    // Read a while, drop the stream, resume from the last id seen; repeat while publishing.
    let mut seen: Vec<u32> = Vec::new();
    let mut last: Option<String> = None;
    while seen.len() < total as usize {
        let mut stream = first.take().unwrap_or_else(|| Box::pin(events(&hub, &["a", "b"], last.clone())));
        let want = (total as usize - seen.len()).min(257);
        for event in take(&mut stream, want).await {
            assert_ne!(event.event, "reset", "history covers everything here");
            seen.push(event.data.parse().unwrap());
            last = Some(event.id);
        }
    }
    publisher.await.unwrap();
    let expected: Vec<u32> = (0..total).collect();
    assert_eq!(seen, expected, "every event once, in publish order, across two topics");
}

both!(
    #[tokio::test]
    history_is_bounded_by_count_and_a_stale_id_gets_a_reset
);
async fn history_is_bounded_by_count_and_a_stale_id_gets_a_reset(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_events: 3, ..config() }).await else { return };
    let first = publish(&hub, "a", "0").await;
    for n in 1..6 {
        publish(&hub, "a", &n.to_string()).await;
    }
    let kept: Vec<_> = hub.snapshot(&topic("a"), 100).await.0.iter().map(StoredEvent::data).collect();
    assert_eq!(kept, ["3", "4", "5"]);

    let mut stream = Box::pin(events(&hub, &["a"], Some(first.to_string())));
    let reset = take(&mut stream, 1).await.remove(0);
    assert_eq!(reset.event, "reset");
    assert_eq!(reset.data, r#"{"reason":"history-expired"}"#);
    assert_eq!(reset.id, hub.current_id().to_string());
    publish(&hub, "a", "live").await;
    assert_eq!(take(&mut stream, 1).await[0].data, "live");
}

both!(
    #[tokio::test]
    history_is_bounded_by_age
);
async fn history_is_bounded_by_age(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_age: Duration::from_millis(50), ..config() }).await else {
        return;
    };
    publish(&hub, "a", "old").await;
    tokio::time::sleep(Duration::from_millis(80)).await;
    publish(&hub, "a", "new").await;
    let kept: Vec<_> = hub.snapshot(&topic("a"), 100).await.0.iter().map(StoredEvent::data).collect();
    assert_eq!(kept, ["new"]);
    tokio::time::sleep(Duration::from_millis(80)).await;
    hub.sweep();
    assert!(hub.snapshot(&topic("a"), 100).await.0.is_empty());
    assert_eq!(hub.stats().topics, 0, "idle empty topics are forgotten");
}

both!(
    #[tokio::test]
    forgotten_topic_does_not_hide_a_gap
);
async fn forgotten_topic_does_not_hide_a_gap(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_age: Duration::from_millis(20), ..config() }).await else {
        return;
    };
    let before = publish(&hub, "other", "x").await;
    publish(&hub, "a", "lost").await;
    tokio::time::sleep(Duration::from_millis(40)).await;
    hub.sweep();
    let mut stream = Box::pin(events(&hub, &["a"], Some(before.to_string())));
    assert_eq!(take(&mut stream, 1).await[0].event, "reset");
}

both!(
    #[tokio::test]
    unknown_and_malformed_ids_get_a_reset_then_live
);
async fn unknown_and_malformed_ids_get_a_reset_then_live(kind: Kind) {
    let Some((hub, _redis)) = make(kind, config()).await else { return };
    let now = publish(&hub, "a", "x").await;
    settled(&hub, now).await;
    let (other_run, future) = match now {
        EventId::Run { epoch, seq } => {
            (EventId::Run { epoch: epoch.wrapping_add(1), seq: 1 }, EventId::Run { epoch, seq: seq + 999 })
        }
        // Older than the first event of this Redis data set, and far ahead of the newest.
        EventId::Stream { ms, seq } => (EventId::Stream { ms: 1, seq: 0 }, EventId::Stream { ms: ms + 60_000, seq }),
    };
    for (last, reason) in [
        (other_run.to_string(), "unknown-id"),
        (future.to_string(), "unknown-id"),
        ("garbage\u{0}".to_string(), "malformed-id"),
    ] {
        let mut stream = Box::pin(events(&hub, &["a"], Some(last)));
        let reset = take(&mut stream, 1).await.remove(0);
        assert_eq!(reset.event, "reset");
        assert_eq!(reset.data, format!(r#"{{"reason":"{reason}"}}"#));
        publish(&hub, "a", "live").await;
        assert_eq!(take(&mut stream, 1).await[0].data, "live");
    }
    assert_eq!(hub.stats().resets, 3);
}

both!(
    #[tokio::test]
    stalled_subscriber_catches_up_in_one_chunk_or_resets
);
async fn stalled_subscriber_catches_up_in_one_chunk_or_resets(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_events: 50, ..config() }).await else { return };
    let request = SubscribeRequest { topics: vec![topic("a")], last_event_id: None, delivery: Delivery::Every };
    let mut raw = Box::pin(hub.subscribe(request.clone()).unwrap());
    let retry = raw.next().await.unwrap();
    assert_eq!(&retry[..], b"retry: 1000\n\n");
    let mut last = hub.current_id();
    for n in 0..10 {
        last = publish(&hub, "a", &n.to_string()).await;
    }
    settled(&hub, last).await;
    let chunk = raw.next().await.unwrap();
    assert_eq!(chunk.iter().filter(|b| **b == b'\n').count(), 10 * 3, "ten frames, one chunk");

    // A subscriber that falls behind the whole history is told to reset, not given a gap.
    let mut slow = Box::pin(hub.subscribe(request).unwrap());
    slow.next().await.unwrap();
    for n in 0..60 {
        last = publish(&hub, "a", &n.to_string()).await;
    }
    settled(&hub, last).await;
    let chunk = slow.next().await.unwrap();
    assert!(std::str::from_utf8(&chunk).unwrap().contains("event: reset"));
}

both!(
    #[tokio::test]
    latest_wins_stream_sends_the_newest_event_of_each_topic
);
async fn latest_wins_stream_sends_the_newest_event_of_each_topic(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { history_events: 5, ..config() }).await else { return };
    let request = |last_event_id| SubscribeRequest {
        topics: vec![topic("a"), topic("b")],
        last_event_id,
        delivery: Delivery::Latest,
    };
    let mut raw = Box::pin(hub.subscribe(request(None)).unwrap());
    raw.next().await.unwrap();
    // More than the history holds: an every-event stream would get a reset here.
    for n in 0..12 {
        publish(&hub, "a", &format!("a{n}")).await;
    }
    publish(&hub, "b", "b0").await;
    let b1 = publish(&hub, "b", "b1").await;
    settled(&hub, b1).await;
    let chunk = raw.next().await.unwrap();
    let text = std::str::from_utf8(&chunk).unwrap();
    assert!(!text.contains("reset"), "{text}");
    assert_eq!(text.matches("data: ").count(), 2, "{text}");
    assert!(text.contains("data: a11") && text.contains("data: b1"), "{text}");
    let stats = hub.stats();
    assert_eq!(stats.delivered, 2);
    // Of the 14 published, 2 were sent; the other 4 of a's history and 1 of b's were skipped
    // (events evicted from history before the read are neither sent nor counted).
    assert_eq!(stats.conflated, 4 + 1);

    // Resuming a latest-wins stream from an id history covers: only the newest after it.
    let mut resumed = Box::pin(hub.subscribe(request(Some(hub.current_id().to_string()))).unwrap());
    // Its first bytes: the Redis hub decides a resume when the stream is first read.
    assert_eq!(&resumed.next().await.unwrap()[..], b"retry: 1000\n\n");
    drop(resumed);
    let old = hub.snapshot(&topic("a"), 5).await.0[0].id.to_string();
    let mut resumed = Box::pin(events_with(&hub, request(Some(old))));
    let got = take(&mut resumed, 2).await;
    let data: Vec<_> = got.iter().map(|e| e.data.as_str()).collect();
    assert_eq!(data, ["a11", "b1"]);
    assert_eq!(hub.stats().resumes, 2);
}

both!(
    #[tokio::test]
    stats_count_streams_deliveries_and_history
);
async fn stats_count_streams_deliveries_and_history(kind: Kind) {
    let Some((hub, _redis)) = make(kind, config()).await else { return };
    let mut one = Box::pin(events(&hub, &["a"], None));
    let mut two = Box::pin(events(&hub, &["a", "b"], None));
    publish(&hub, "a", "1").await;
    publish(&hub, "b", "2").await;
    take(&mut one, 1).await;
    take(&mut two, 2).await;
    let stats = hub.stats();
    assert_eq!((stats.streams, stats.subscribers, stats.topics), (2, 3, 2));
    assert_eq!((stats.published, stats.delivered, stats.history_events), (2, 3, 2));
    assert_eq!(
        stats.per_topic,
        vec![
            TopicStats { topic: "a".into(), subscribers: 2, history_events: 1 },
            TopicStats { topic: "b".into(), subscribers: 1, history_events: 1 },
        ]
    );
    drop(one);
    assert_eq!(hub.stats().streams, 1);
    assert_eq!(hub.check_ready(), Ok(()));
    hub.disconnect_all(true);
    assert_eq!(hub.check_ready(), Err(HubError::ShuttingDown));
}

both!(
    #[tokio::test]
    heartbeat_when_idle_and_disconnect_ends_streams
);
async fn heartbeat_when_idle_and_disconnect_ends_streams(kind: Kind) {
    let Some((hub, _redis)) = make(kind, HubConfig { heartbeat: Duration::from_millis(30), ..config() }).await else {
        return;
    };
    let request = SubscribeRequest { topics: vec![topic("a")], last_event_id: None, delivery: Delivery::Every };
    let mut raw = Box::pin(hub.subscribe(request.clone()).unwrap());
    raw.next().await.unwrap();
    assert_eq!(&raw.next().await.unwrap()[..], b": heartbeat\n\n");
    assert_eq!(hub.stats().subscribers, 1);
    hub.disconnect_all(false);
    assert_eq!(raw.next().await, None);
    drop(raw);
    assert_eq!(hub.stats().subscribers, 0);
    // Not closing: new streams are still welcome. Closing: refused.
    assert!(hub.subscribe(request.clone()).is_ok());
    hub.disconnect_all(true);
    assert_eq!(hub.subscribe(request).err(), Some(HubError::ShuttingDown));
}

#[tokio::test]
async fn a_backlog_leaves_in_chunks_of_bounded_size_in_id_order_across_topics() {
    let hub = Hub::in_process(HubConfig { history_events: 1000, ..config() });
    let request =
        SubscribeRequest { topics: vec![topic("a"), topic("b")], last_event_id: None, delivery: Delivery::Every };
    let mut raw = Box::pin(hub.subscribe(request).unwrap());
    raw.next().await.unwrap();
    let body = "z".repeat(2000);
    for n in 0..200 {
        publish(&hub, if n % 3 == 0 { "b" } else { "a" }, &format!("{n:04}{body}")).await;
    }
    let mut seen = Vec::new();
    while seen.len() < 200 {
        let chunk = raw.next().await.unwrap();
        assert!(chunk.len() <= MAX_CHUNK_BYTES, "a chunk of {} bytes", chunk.len());
        let text = std::str::from_utf8(&chunk).unwrap();
        seen.extend(text.split("data: ").skip(1).map(|data| data[..4].parse::<usize>().unwrap()));
    }
    assert_eq!(seen, (0..200).collect::<Vec<_>>(), "every event once, in id order");
}

fn metered(
    hub: &Hub,
    socket: &crate::streams::limits::SocketMeter,
    delivery: Delivery,
) -> impl Stream<Item = Result<Bytes, Lagged>> {
    let request = SubscribeRequest { topics: vec![topic("a")], last_event_id: None, delivery };
    let metering = Metering { socket: socket.clone(), max_lag_bytes: 10_000 };
    Box::pin(hub.subscribe_metered(request, metering).unwrap())
}

#[tokio::test]
async fn a_metered_stream_waits_for_its_socket_and_is_closed_past_the_lag_bound() {
    let hub = Hub::in_process(config());
    let socket = crate::streams::limits::SocketMeter::new();
    let mut stream = metered(&hub, &socket, Delivery::Every);
    let retry = stream.next().await.unwrap().unwrap();
    // Nothing is taken from the socket yet: the next chunk waits, whatever is published.
    publish(&hub, "a", "one").await;
    let waiting = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
    assert!(waiting.is_err(), "a chunk was handed out before the socket took the last");
    socket.record(retry.len());
    let chunk = stream.next().await.unwrap().unwrap();
    assert!(std::str::from_utf8(&chunk).unwrap().contains("data: one"));
    // The client stops reading: past 10 000 bytes owed the stream fails, once, and ends.
    let body = "x".repeat(1000);
    for _ in 0..11 {
        publish(&hub, "a", &body).await;
    }
    let lagged = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap().unwrap().unwrap_err();
    assert!(lagged.owed > 10_000, "{lagged:?}");
    assert!(socket.lagged());
    assert!(stream.next().await.is_none());
    assert_eq!(hub.stats().streams, 0, "an ended stream has left the hub");
}

#[tokio::test]
async fn a_stalled_latest_wins_stream_is_never_closed_and_sends_the_newest() {
    let hub = Hub::in_process(config());
    let socket = crate::streams::limits::SocketMeter::new();
    let mut stream = metered(&hub, &socket, Delivery::Latest);
    let retry = stream.next().await.unwrap().unwrap();
    let body = "x".repeat(1000);
    for n in 0..50 {
        publish(&hub, "a", &format!("{n}{body}")).await;
    }
    let waiting = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
    assert!(waiting.is_err(), "still waiting for the socket, not closed");
    socket.record(retry.len());
    let chunk = stream.next().await.unwrap().unwrap();
    assert!(std::str::from_utf8(&chunk).unwrap().contains("data: 49x"), "the newest only");
    assert!(!socket.lagged());
}
