//! What every request handler and server function can reach (server only).

use crate::{config::PulseboardSettings, monitor::store::MonitorStore, streams::hub::Hub};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub settings: Arc<PulseboardSettings>,
    pub hub: Hub,
    pub monitor: MonitorStore,
}
