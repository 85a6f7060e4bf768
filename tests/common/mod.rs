//! Helpers for integration tests: a real pulseboard server on a free loopback port.

#![allow(dead_code)]

use eventsource_stream::{Event, Eventsource};
use futures::{Stream, StreamExt};
use pulseboard::{config, server::RunningServer};
use std::time::Duration;

pub async fn start_server(tweak: impl FnOnce(&mut config::Settings)) -> RunningServer {
    let mut settings = config::load(None).expect("built-in defaults load");
    settings.leptos.site_addr = "127.0.0.1:0".parse().unwrap();
    settings.pulseboard.server.debug_endpoints = true;
    // Quiet by default: the simulated market only runs in tests that ask for it.
    settings.pulseboard.market.ticks_per_second = 0;
    // Each server gets its own data directory (kept for post-mortems in the system temp dir).
    settings.pulseboard.server.data_dir = tempfile::tempdir().expect("temp dir").keep();
    tweak(&mut settings);
    pulseboard::server::start(settings).await.expect("server starts")
}

pub fn url(server: &RunningServer, path: &str) -> String {
    format!("http://{}{}", server.addr, path)
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// Opens an event stream and parses it with `eventsource-stream` (a parser we did not write).
pub async fn subscribe(
    url: &str,
    last_event_id: Option<&str>,
) -> (reqwest::header::HeaderMap, impl Stream<Item = Event> + Unpin) {
    let mut request = client().get(url).header("accept", "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("last-event-id", id);
    }
    let response = request.send().await.expect("stream request");
    assert_eq!(response.status(), 200, "stream refused: {url}");
    let headers = response.headers().clone();
    (headers, response_events(response))
}

fn response_events(response: reqwest::Response) -> impl Stream<Item = Event> + Unpin {
    Box::pin(response.bytes_stream().eventsource().map(|event| event.expect("well-formed SSE")))
}

/// The next `n` events, failing the test if they take more than 5 s.
pub async fn take(events: &mut (impl Stream<Item = Event> + Unpin), n: usize) -> Vec<Event> {
    let mut out = Vec::new();
    while out.len() < n {
        match tokio::time::timeout(Duration::from_secs(5), events.next()).await {
            Ok(Some(event)) => out.push(event),
            Ok(None) => panic!("stream ended after {} of {n} events", out.len()),
            Err(_) => panic!("waited 5 s for event {} of {n}", out.len() + 1),
        }
    }
    out
}

/// Publishes through the HTTP API; returns the event id.
pub async fn publish(server: &RunningServer, topic: &str, event: Option<&str>, body: &str) -> String {
    let mut path = format!("/api/publish?topic={topic}");
    if let Some(event) = event {
        path.push_str(&format!("&event={event}"));
    }
    let response = client().post(url(server, &path)).body(body.to_string()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let json: serde_json::Value = response.json().await.unwrap();
    json["id"].as_str().expect("id in response").to_string()
}
