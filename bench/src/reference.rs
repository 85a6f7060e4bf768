//! The reference server: the bare stack a typical app would write. axum's `Sse` over a
//! `tokio::sync::broadcast` channel per topic, each event formatted per subscriber with
//! `Event::default().data(..)`; no ids, no history. Same two endpoints as pulseboard.

use crate::error::BenchError;
use axum::{
    extract::{Query, State},
    response::sse::{Event, KeepAlive, Sse},
    routing::{get, post},
    Json, Router,
};
use futures::Stream;
use parking_lot::Mutex;
use serde::Deserialize;
use std::{collections::HashMap, convert::Infallible, net::SocketAddr, sync::Arc};
use tokio::sync::broadcast;

#[derive(Clone)]
struct Topics {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<str>>>>>,
    capacity: usize,
}

impl Topics {
    fn sender(&self, topic: &str) -> broadcast::Sender<Arc<str>> {
        self.channels.lock().entry(topic.to_string()).or_insert_with(|| broadcast::channel(self.capacity).0).clone()
    }
}

#[derive(Deserialize)]
struct TopicQuery {
    topic: String,
}

/// Serves until the process is killed. Prints `reference listening on http://ADDR` once bound.
pub async fn serve(addr: SocketAddr, capacity: usize) -> Result<(), BenchError> {
    let topics = Topics { channels: Arc::default(), capacity: capacity.max(1) };
    let app = Router::new().route("/api/events", get(events)).route("/api/publish", post(publish)).with_state(topics);
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| BenchError::Io("bind", e))?;
    let bound = listener.local_addr().map_err(|e| BenchError::Io("bind", e))?;
    println!("reference listening on http://{bound}");
    axum::serve(listener, app).await.map_err(|e| BenchError::Io("serve", e))
}

async fn events(
    State(topics): State<Topics>,
    Query(query): Query<TopicQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let receiver = topics.sender(&query.topic).subscribe();
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        loop {
            match receiver.recv().await {
                Ok(data) => return Some((Ok(Event::default().data(&*data)), receiver)),
                // A lagging subscriber skips ahead, as a typical app does (the tool counts the gap).
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn publish(
    State(topics): State<Topics>,
    Query(query): Query<TopicQuery>,
    body: String,
) -> Json<serde_json::Value> {
    let receivers = topics.sender(&query.topic).send(Arc::from(body)).unwrap_or(0);
    Json(serde_json::json!({ "receivers": receivers }))
}
