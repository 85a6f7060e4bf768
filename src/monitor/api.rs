//! Server functions of the monitor: a snapshot of a time window (for the server-rendered page)
//! and the stream of samples (latest-wins), which every panel of the page folds.

use super::{
    sample::{Point, Sample},
    thresholds::MonitorThresholds,
};
use crate::{
    request_error::RequestError,
    streams::{EventStream, Json, Sse},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// The hub topic samples are published on (any SSE client can read it at
/// `/api/events?topic=monitor.samples`).
pub const MONITOR_TOPIC: &str = "monitor.samples";
pub const SAMPLE_EVENT: &str = "sample";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorView {
    pub window_minutes: u32,
    /// Width of one chart point, milliseconds.
    pub step_ms: i64,
    pub interval_ms: u64,
    /// The window's points, oldest first, downsampled to `step_ms`.
    pub points: Vec<Point>,
    /// The newest sample (`None` until the first one is taken).
    pub latest: Option<Sample>,
    pub thresholds: MonitorThresholds,
    /// The stream continues after this id.
    pub last_id: String,
}

/// The last `window` minutes (one of `WINDOW_CHOICES`; `DEFAULT_WINDOW` when absent or empty):
/// `GET /api/monitor/snapshot?window=15`.
#[server(input = GetUrl, prefix = "/api/monitor", endpoint = "snapshot")]
pub async fn monitor_snapshot(window: Option<String>) -> Result<MonitorView, RequestError> {
    use super::window::{BadWindow, Window, DEFAULT_WINDOW};
    let window = window.unwrap_or_else(|| DEFAULT_WINDOW.to_string());
    use crate::state::AppState;
    let state = expect_context::<AppState>();
    let store = &state.monitor;
    let parsed = window.trim().parse::<u32>().map_err(|_| BadWindow(window.clone()));
    let chosen = parsed
        .and_then(|minutes| Window::new(minutes, store.interval_ms))
        .map_err(|err| RequestError::bad_request(err.to_string()))?;
    // The id first: a sample recorded meanwhile is then both in the points and on the stream,
    // and the page drops the repeat (rather than missing it).
    let last_id = state.streams.hub.current_id().to_string();
    let (latest, points) = store.view(chosen);
    Ok(MonitorView {
        window_minutes: chosen.minutes,
        step_ms: chosen.step_ms,
        interval_ms: store.interval_ms,
        points,
        latest,
        thresholds: store.thresholds,
        last_id,
    })
}

/// Every sample as it is taken, latest wins (a slow client gets the newest sample, not a
/// backlog): `GET /api/streams/monitor`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "monitor")]
pub async fn monitor_events() -> Result<EventStream<Json<Sample>>, RequestError> {
    use crate::streams::{open_stream_with, Delivery, TopicConst};
    const TOPIC: TopicConst = TopicConst::new(MONITOR_TOPIC);
    Ok(open_stream_with(vec![TOPIC.name()], Delivery::Latest)?)
}
