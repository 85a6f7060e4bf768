//! What a client needs to tell a quiet stream from a dead one: the heartbeat interval in every
//! stream's response head (`x-heartbeat-ms`, on the direct path and behind hyper, for the HTTP
//! API and stream server functions), and the debug endpoint that makes open streams go silent.

mod common;

use common::{client, publish, start_server, take, url, RawConnection};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use std::time::Duration;

#[tokio::test]
async fn every_stream_announces_its_heartbeat_interval() {
    let server = start_server(|s| s.pulseboard.streams.heartbeat_secs = 7).await;
    for path in ["/api/events?topic=hb", "/api/streams/monitor", "/api/streams/topic?topic=hb"] {
        let response = client().get(url(&server, path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.headers()["connection"], "close", "{path} on the direct path");
        assert_eq!(response.headers()["x-heartbeat-ms"], "7000", "{path}");
    }
    // Behind hyper: a stream asked for after a page on the same connection.
    for path in ["/api/events?topic=hb", "/api/streams/monitor"] {
        let mut connection = RawConnection::connect(&server).await;
        connection.send("GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n").await;
        let first = connection.read_head().await;
        connection.read_body(&first).await;
        connection.send(&format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")).await;
        let head = connection.read_head().await;
        assert_eq!(head.status(), 200, "{head:?}");
        assert_eq!(head.header("connection"), None, "served by hyper: {head:?}");
        assert_eq!(head.header("x-heartbeat-ms"), Some("7000"), "{head:?}");
    }
}

#[tokio::test]
async fn silenced_streams_write_nothing_not_even_heartbeats_and_new_ones_flow() {
    let server = start_server(|s| s.pulseboard.streams.heartbeat_secs = 1).await;
    let response = client().get(url(&server, "/api/events?topic=quiet")).send().await.unwrap();
    let mut old = response.bytes_stream();
    let first = publish(&server, "quiet", None, "1").await;
    // The retry line, then the event.
    let mut seen = String::new();
    while !seen.contains("data: 1") {
        seen.push_str(&String::from_utf8_lossy(&old.next().await.unwrap().unwrap()));
    }
    // Heartbeats flow while it is healthy.
    let beat = tokio::time::timeout(Duration::from_secs(3), old.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(&beat[..], b": heartbeat\n\n");

    let silenced = client().post(url(&server, "/api/debug/silence-streams")).send().await.unwrap();
    assert_eq!(silenced.status(), 204);
    publish(&server, "quiet", None, "2").await;
    // Three heartbeat intervals: not an event, not a heartbeat, and still open.
    let nothing = tokio::time::timeout(Duration::from_secs(3), old.next()).await;
    assert!(nothing.is_err(), "a silenced stream wrote {nothing:?}");

    // A stream opened afterwards resumes and flows as usual.
    let response = client().get(url(&server, "/api/events?topic=quiet")).header("last-event-id", &first).send().await;
    let mut events = Box::pin(response.unwrap().bytes_stream().eventsource().map(|e| e.unwrap()));
    assert_eq!(take(&mut events, 1).await[0].data, "2");
}

#[tokio::test]
async fn the_silence_endpoint_exists_only_with_debug_endpoints() {
    let server = start_server(|s| s.pulseboard.server.debug_endpoints = false).await;
    let response = client().post(url(&server, "/api/debug/silence-streams")).send().await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"].is_string(), "{body}");
}
