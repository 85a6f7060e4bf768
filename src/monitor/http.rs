//! Operational endpoints: `/metrics` (Prometheus text format), `/healthz` (the process answers)
//! and `/readyz` (ready to serve: every dependency reachable: the hub and the job database).

use super::prometheus;
use crate::state::AppState;
use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
    Json, Router,
};

pub fn routes() -> Router<AppState> {
    Router::new().route("/metrics", get(metrics)).route("/healthz", get(healthz)).route("/readyz", get(readyz))
}

async fn metrics(State(state): State<AppState>) -> Response {
    let latest = state.monitor.latest();
    let (hub, jobs) = (state.streams.hub.stats(), state.jobs.counts().await);
    match prometheus::render(
        &state.monitor.instance,
        latest.as_ref(),
        &hub,
        jobs,
        state.monitor.samples(),
        state.market.ticks(),
    ) {
        Ok(mut text) => {
            text.push_str(&state.market.prometheus_text());
            let mut response = text.into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
            response
        }
        Err(err) => crate::request_error::RequestError::internal(err).into_response(),
    }
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// `200 {"ready":true,"checks":{"hub":"ok","database":"ok"}}`, or `503` with the failing
/// check's reason.
async fn readyz(State(state): State<AppState>) -> Response {
    let hub = state.streams.hub.check_ready().map_err(|err| err.to_string());
    let database = state.jobs.check_database().await.map_err(|err| err.to_string());
    let ready = hub.is_ok() && database.is_ok();
    let body = serde_json::json!({
        "ready": ready,
        "checks": {
            "hub": hub.map_or_else(|err| err, |()| "ok".to_string()),
            "database": database.map_or_else(|err| err, |()| "ok".to_string()),
        },
    });
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body)).into_response()
}
