//! HTTP endpoints for work running outside the server (a CI pipeline, a script), documented in
//! README (server only):
//!
//! - `POST /api/jobs/external` with `Authorization: Bearer <JWT>` whose publish patterns name the
//!   shared jobs topic (`jobs.*` or `jobs.shared`; `*` does not reach it), and
//!   `{"label": "...", "total": 100, "unit": "steps"}`
//!   → `201 {"id": 7, "token": "..."}`: a shared job record, shown like a built-in job.
//! - `POST /api/jobs/external/{id}/progress` with `Authorization: Bearer <token>` (the job's own
//!   token from the answer above: a capability for that one job, handed only to a caller the
//!   guard let publish to the jobs topic) and
//!   `{"done": 40, "stage": "test", "log": ["..."], "state": "running"|"succeeded"|"failed"|"cancelled",
//!    "result": "...", "error": "..."}` (all optional) → `200` with the job. `done` may not pass
//!   `total` (400 naming the field).
//! - `GET /api/jobs/external/{id}` → `200` with the job: what a producer (or anyone who may
//!   subscribe to the shared jobs topic) reads back, e.g. whether it was failed for silence.
//!
//! Bodies are JSON ([`JsonBody`]: declared `application/json`, or undeclared and parsing; any
//! other declared type is 415). Failures answer with [`RequestError`]: `{"error": "..."}` and 400
//! (bad body or id), 401 (no token), 403 (wrong token), 404, 409 (finished job), 415 or 503
//! (shutting down); refusals of the stream guard are its own answers (RFC 6750 401/403 with
//! `WWW-Authenticate`).

use super::{
    json_body::JsonBody,
    model::JobId,
    runner::{ExternalReport, SHARED_TOPIC},
};
use crate::{
    request_error::{ErrorKind, RequestError},
    state::AppState,
    streams::{
        access::{self, Action, Credentials, Origin},
        TopicConst,
    },
};
use axum::{
    extract::{rejection::PathRejection, Path, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/jobs/external", post(create))
        .route("/api/jobs/external/{id}", get(read))
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

const SHARED: TopicConst = TopicConst::new(SHARED_TOPIC);

/// The job id of the path: a whole number from 1 (job ids are the store's row ids), else 400.
fn job_id(id: Result<Path<String>, PathRejection>) -> Result<JobId, RequestError> {
    let Path(text) = id.map_err(|_| RequestError::bad_request("the job id in the path must be a whole number"))?;
    text.parse::<JobId>().ok().filter(|id| *id >= 1).ok_or_else(|| {
        RequestError::bad_request(format!("the job id in the path must be a whole number from 1, not {text:?}"))
    })
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<JsonBody<NewExternal>, RequestError>,
) -> Response {
    // An external job publishes to the shared jobs topic: the same guard as any publish.
    let credentials = Credentials::new(&headers, None);
    if let Err(refusal) =
        access::authorize(&state.streams.auth, credentials, Action::Publish, &[SHARED.name()], Origin::Public)
    {
        return refusal.into_response();
    }
    create_job(state, body).await.into_response()
}

async fn create_job(
    state: AppState,
    body: Result<JsonBody<NewExternal>, RequestError>,
) -> Result<(StatusCode, Json<serde_json::Value>), RequestError> {
    let JsonBody(new) = body?;
    let unit = if new.unit.trim().is_empty() { "steps".to_string() } else { new.unit.chars().take(32).collect() };
    let (job, token) = state.jobs.create_external(&new.label, new.total, &unit).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({ "id": job.id, "token": token }))))
}

async fn read(State(state): State<AppState>, id: Result<Path<String>, PathRejection>, headers: HeaderMap) -> Response {
    // The job is what the shared jobs topic says of it: whoever may subscribe to it may read it
    // (anyone, unless `subscribe-requires-token`).
    let credentials = Credentials::new(&headers, None);
    if let Err(refusal) =
        access::authorize(&state.streams.auth, credentials, Action::Subscribe, &[SHARED.name()], Origin::Public)
    {
        return refusal.into_response();
    }
    let read = async {
        let id = job_id(id)?;
        let job = state.jobs.external_job(id).await.map_err(|err| match err {
            super::runner::JobsError::NotFound => RequestError::not_found(format!("no external job {id}")),
            other => other.into(),
        })?;
        Ok::<_, RequestError>(Json(serde_json::to_value(job).expect("jobs serialise")))
    };
    read.await.into_response()
}

async fn report(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Result<JsonBody<ExternalReport>, RequestError>,
) -> Result<Json<serde_json::Value>, RequestError> {
    let id = job_id(id)?;
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or_else(|| RequestError::new(ErrorKind::Unauthorized, "missing 'Authorization: Bearer <token>' header"))?;
    let JsonBody(report) = body?;
    let job = state.jobs.report_external(id, token.trim(), report).await?;
    Ok(Json(serde_json::to_value(job).expect("jobs serialise")))
}
