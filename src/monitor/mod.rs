//! Monitoring panels: the host, the process and pulseboard's own streams, sampled on the server,
//! kept in a rolling window, published on a hub topic and shown live; plus `/metrics`,
//! `/healthz` and `/readyz`.
//!
//! Shared: `sample` (what is measured), `window` (windows and downsampling), `thresholds`, the
//! server functions in `api` and the page. Server only: `rate`, `sampler`, `store`, `task`,
//! `prometheus`, `http`.

mod api;
mod page;
pub mod sample;
pub mod thresholds;
pub mod window;

#[cfg(feature = "ssr")]
pub mod http;
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
