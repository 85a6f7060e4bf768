//! Monitoring panels: the host, the process and pulseboard's own streams, sampled on the server,
//! kept in a rolling window, published on a hub topic and shown live; plus `/metrics`,
//! `/healthz` and `/readyz`.
//!
//! Every instance samples itself; with a hub several instances share, each also collects the
//! others' samples (`peers`), so the page of any instance shows every live one. `/metrics` stays
//! about the instance that answers.
//!
//! Shared: `sample` (what is measured), `window` (windows and downsampling), `thresholds`, the
//! server functions in `api`, the page and its `readiness` watch (the header's "degraded").
//! Server only: `rate`, `sampler`, `store`, `task`, `peers`, `prometheus`, `http`.

mod api;
mod page;
pub mod readiness;
pub mod sample;
pub mod thresholds;
pub mod window;

#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod peers;
#[cfg(feature = "ssr")]
pub mod prometheus;
#[cfg(feature = "ssr")]
pub mod rate;
#[cfg(feature = "ssr")]
pub mod sampler;
#[cfg(feature = "ssr")]
pub mod settings;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod task;

pub use api::{
    monitor_events, monitor_snapshot, MonitorEvents, MonitorSnapshot, MonitorView, MONITOR_TOPIC, SAMPLE_EVENT,
};
pub use page::MonitorPage;
