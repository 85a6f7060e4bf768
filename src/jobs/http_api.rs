//! HTTP endpoints for work running outside the server (a CI pipeline, a script), documented in
//! README (server only):
//!
//! - `POST /api/jobs/external` `{"label": "...", "total": 100, "unit": "steps"}`
//!   → `201 {"id": 7, "token": "..."}`: a shared job record, shown like a built-in job.
//! - `POST /api/jobs/external/{id}/progress` with `Authorization: Bearer <token>` and
//!   `{"done": 40, "stage": "test", "log": ["..."], "state": "running"|"succeeded"|"failed"|"cancelled",
//!    "result": "...", "error": "..."}` (all optional) → `200` with the job.

use super::runner::{ExternalReport, JobsError};
use crate::state::AppState;
use axum::{
    extract::{rejection::JsonRejection, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::post,
    Json, Router,
};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/external", post(create))
        .route("/api/jobs/external/{id}/progress", post(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewExternal {
    label: String,
    total: Option<u64>,
    #[serde(default)]
    unit: String,
}

struct Failure(StatusCode, String);

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.0, Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

impl From<JsonRejection> for Failure {
    fn from(rejection: JsonRejection) -> Self {
        Failure(StatusCode::BAD_REQUEST, format!("bad JSON body: {}", rejection.body_text()))
    }
}

impl From<JobsError> for Failure {
    fn from(err: JobsError) -> Self {
        let status = match &err {
            JobsError::NotFound => StatusCode::NOT_FOUND,
            JobsError::Invalid(_) => StatusCode::BAD_REQUEST,
            JobsError::BadToken => StatusCode::FORBIDDEN,
            JobsError::Finished(_) | JobsError::NotRetryable(_) => StatusCode::CONFLICT,
            JobsError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
            JobsError::Store(_) | JobsError::Hub(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Failure(status, err.to_string())
    }
}

async fn create(
    State(state): State<AppState>,
    body: Result<Json<NewExternal>, JsonRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), Failure> {
    let Json(new) = body?;
    let unit = if new.unit.trim().is_empty() { "steps".to_string() } else { new.unit.chars().take(32).collect() };
    let (job, token) = state.jobs.create_external(&new.label, new.total, &unit).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": job.id, "token": token }))))
}

async fn report(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    body: Result<Json<ExternalReport>, JsonRejection>,
) -> Result<Json<serde_json::Value>, Failure> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| Failure(StatusCode::UNAUTHORIZED, "missing 'Authorization: Bearer <token>' header".into()))?;
    let Json(report) = body?;
    let job = state.jobs.report_external(id, token.trim(), report).await?;
    Ok(Json(serde_json::to_value(job).expect("jobs serialise")))
}
