//! Server functions of the monitor: a snapshot of a time window (for the server-rendered page)
//! and the stream of samples (latest-wins), which every panel of the page folds.

use super::{
    sample::{Point, Sample},
    thresholds::MonitorThresholds,
};
use crate::{
    json_text::JsonText,
    request_error::RequestError,
    streams::{EventStream, Json, Sse},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};

/// The hub topic every instance publishes its samples on (any SSE client can read it at
/// `/api/events?topic=monitor.samples`); each instance also publishes on its own topic,
/// [`instance_topic`], which the page follows.
pub const MONITOR_TOPIC: &str = "monitor.samples";
pub const SAMPLE_EVENT: &str = "sample";

/// `monitor.samples.<instance>`: one instance's samples only, so a latest-wins stream of it never
/// skips one instance's sample for another's.
#[cfg(feature = "ssr")]
pub fn instance_topic(instance: &str) -> String {
    format!("{MONITOR_TOPIC}.{instance}")
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorView {
    /// Whose figures these are, and every instance sampling now (this server's first).
    pub instance: String,
    pub instances: Vec<String>,
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

/// The last `window` minutes (one of `WINDOW_CHOICES`; `DEFAULT_WINDOW` when absent or empty) of
/// `instance` (the answering one when absent or empty; `404` for one not sampling now):
/// `GET /api/monitor/snapshot?window=15&instance=web-1:3000`.
#[server(input = GetUrl, output = JsonText, prefix = "/api/monitor", endpoint = "snapshot")]
pub async fn monitor_snapshot(window: Option<String>, instance: Option<String>) -> Result<MonitorView, RequestError> {
    use super::window::{BadWindow, Window, DEFAULT_WINDOW};
    let window = window.unwrap_or_else(|| DEFAULT_WINDOW.to_string());
    use crate::state::AppState;
    let state = expect_context::<AppState>();
    let store = &state.monitor;
    let wanted = instance.as_deref().map(str::trim).filter(|name| !name.is_empty());
    // The shown instance's interval makes the window's steps (instances may sample at their own).
    let interval_ms = store.interval_of(wanted);
    let parsed = window.trim().parse::<u32>().map_err(|_| BadWindow(window.clone()));
    let chosen = parsed
        .and_then(|minutes| Window::new(minutes, interval_ms))
        .map_err(|err| RequestError::bad_request(err.to_string()))?;
    // The id first: a sample recorded meanwhile is then both in the points and on the stream,
    // and the page drops the repeat (rather than missing it).
    let last_id = state.streams.hub.current_id().to_string();
    let (latest, points) = store.view(chosen, wanted).map_err(|err| RequestError::not_found(err.to_string()))?;
    Ok(MonitorView {
        instance: wanted.map_or_else(|| store.instance.to_string(), str::to_string),
        instances: store.live_instances(),
        window_minutes: chosen.minutes,
        step_ms: chosen.step_ms,
        interval_ms,
        points,
        latest,
        thresholds: store.thresholds,
        last_id,
    })
}

/// Every sample of `instance` (the answering one when absent) as it is taken, latest wins (a
/// slow client gets the newest sample, not a backlog): `GET /api/streams/monitor?instance=...`.
/// Any instance serves any instance's stream: its samples cross the shared hub.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "monitor")]
pub async fn monitor_events(instance: Option<String>) -> Result<EventStream<Json<Sample>>, RequestError> {
    use crate::{
        monitor::settings::check_instance_name,
        state::AppState,
        streams::{open_stream_with, Delivery, TopicName},
    };
    let name = match instance.as_deref().map(str::trim).filter(|name| !name.is_empty()) {
        Some(name) => {
            check_instance_name(name).map_err(|err| RequestError::bad_request(format!("instance {err}")))?;
            name.to_string()
        }
        None => expect_context::<AppState>().monitor.instance.to_string(),
    };
    let topic = TopicName::new(&instance_topic(&name)).map_err(|err| RequestError::bad_request(err.to_string()))?;
    Ok(open_stream_with(vec![topic], Delivery::Latest)?)
}
