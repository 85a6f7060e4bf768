//! The peer collector: with a hub that several instances share, each instance follows the shared
//! topic `monitor.samples` and records every other instance's samples in its store, so the page
//! any instance serves shows them all (and their windows). Runs only with a shared hub: in
//! embedded mode there are no peers, and an idle stream would only count as an open stream.
//!
//! The stream is one ordinary hub subscription (every event, from now on); when it ends (the hub
//! disconnected its streams) or cannot be opened, it is opened again after an interval.

use super::{
    api::{MONITOR_TOPIC, SAMPLE_EVENT},
    sample::Sample,
    store::MonitorStore,
};
use crate::streams::{
    hub::{Hub, SubscribeRequest},
    Delivery, TopicConst,
};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const TOPIC: TopicConst = TopicConst::new(MONITOR_TOPIC);

/// Collects the peers' samples until `shutdown`.
pub async fn run(store: MonitorStore, hub: Hub, shutdown: CancellationToken) {
    let pause = Duration::from_millis(store.interval_ms);
    while !shutdown.is_cancelled() {
        let request = SubscribeRequest { topics: vec![TOPIC.name()], last_event_id: None, delivery: Delivery::Every };
        match hub.subscribe(request) {
            Ok(stream) => {
                let mut events = std::pin::pin!(stream.map(Ok::<_, std::convert::Infallible>).eventsource());
                loop {
                    let next = tokio::select! {
                        next = events.next() => next,
                        _ = shutdown.cancelled() => return,
                    };
                    match next {
                        Some(Ok(event)) if event.event == SAMPLE_EVENT => {
                            match serde_json::from_str::<Sample>(&event.data) {
                                Ok(sample) => store.record_peer(sample),
                                Err(err) => tracing::debug!("a peer's sample did not decode: {err}"),
                            }
                        }
                        Some(_) => {}
                        None => break,
                    }
                }
            }
            Err(err) => tracing::debug!("peer samples not followed: {err}"),
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {},
            _ = shutdown.cancelled() => return,
        }
    }
}
