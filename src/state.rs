//! What every request handler and server function can reach (server only).
//!
//! Handlers of one layer take only their slice through axum's sub-state extraction: the stream
//! layer's handlers take [`StreamContext`] (derived `FromRef`), never the whole state, so the
//! stream layer knows nothing of jobs, markets or the monitor.

use crate::{
    config::PulseboardSettings, front_end::FrontEnd, jobs::runner::JobRunner, market::feed::Market,
    monitor::store::MonitorStore, session::SessionKeys, streams::StreamContext,
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    /// The front end the pages link, read once at start.
    pub front_end: FrontEnd,
    pub settings: Arc<PulseboardSettings>,
    pub streams: StreamContext,
    pub jobs: JobRunner,
    pub sessions: SessionKeys,
    pub monitor: MonitorStore,
    pub market: Market,
}
