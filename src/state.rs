//! What every request handler and server function can reach (server only).

use crate::{
    config::PulseboardSettings,
    jobs::runner::JobRunner,
    market::feed::Market,
    monitor::store::MonitorStore,
    session::SessionKeys,
    streams::{hooks::PublishHooks, hub::Hub},
};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<PulseboardSettings>,
    pub hub: Hub,
    pub jobs: JobRunner,
    pub sessions: SessionKeys,
    pub monitor: MonitorStore,
    pub market: Market,
    pub publish_hooks: PublishHooks,
}
