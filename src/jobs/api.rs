//! Server functions of the Jobs page: snapshot, detail, start, cancel, retry and the live stream.
//! Forms post to them directly, so starting and cancelling also work without JavaScript.

use super::model::{JobEvent, JobId, JobView};
use crate::streams::{EventStream, Json, Sse};
use leptos::{
    prelude::*,
    server_fn::{
        codec::{GetUrl, JsonEncoding},
        error::{FromServerFnError, ServerFnErrorErr},
    },
};
use serde::{Deserialize, Serialize};

/// Jobs shown on the page.
pub const LISTED_JOBS: usize = 100;

/// Why a jobs request failed: for a form, which field and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
pub enum JobRequestError {
    #[error("{field}: {message}")]
    Field { field: String, message: String },
    #[error("no such job")]
    NotFound,
    #[error("{0}")]
    Refused(String),
    #[error("{0}")]
    Server(String),
}

impl JobRequestError {
    /// The message for `field`, if this error is about it.
    pub fn for_field(&self, name: &str) -> Option<String> {
        match self {
            Self::Field { field, message } if field == name => Some(message.clone()),
            _ => None,
        }
    }
}

impl FromServerFnError for JobRequestError {
    type Encoder = JsonEncoding;
    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        Self::Server(value.to_string())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsSnapshot {
    pub jobs: Vec<JobView>,
    pub as_of: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobWithLog {
    pub job: JobView,
    pub logs: Vec<String>,
    pub as_of: String,
}

#[cfg(feature = "ssr")]
mod server {
    use super::JobRequestError;
    use crate::{
        jobs::runner::{JobRunner, JobsError, Viewer},
        session::Session,
        state::AppState,
    };
    use http::StatusCode;
    use leptos::prelude::*;

    pub fn context() -> Result<(JobRunner, Viewer), JobRequestError> {
        let state = expect_context::<AppState>();
        let parts = expect_context::<http::request::Parts>();
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| JobRequestError::Server("no session on this request".into()))?;
        Ok((state.jobs.clone(), Viewer(session.owner)))
    }

    /// Maps a runner error to the page's error type and the HTTP status. Plain HTML form posts
    /// keep server_fn's redirect back to the page (the error travels in the URL).
    pub fn reject(err: JobsError) -> JobRequestError {
        let (status, error) = match err {
            JobsError::NotFound => (StatusCode::NOT_FOUND, JobRequestError::NotFound),
            JobsError::Invalid(field) => {
                (StatusCode::BAD_REQUEST, JobRequestError::Field { field: field.field, message: field.message })
            }
            JobsError::NotRetryable(_) | JobsError::Finished(_) => (StatusCode::CONFLICT, JobRequestError::Refused(err.to_string())),
            JobsError::BadToken => (StatusCode::FORBIDDEN, JobRequestError::Refused(err.to_string())),
            JobsError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, JobRequestError::Refused(err.to_string())),
            JobsError::Store(_) | JobsError::Hub(_) => {
                tracing::error!(%err, "jobs request failed");
                (StatusCode::INTERNAL_SERVER_ERROR, JobRequestError::Server(err.to_string()))
            }
        };
        let from_html_form = use_context::<http::request::Parts>().is_some_and(|parts| {
            parts.headers.get(http::header::ACCEPT).and_then(|a| a.to_str().ok()).is_some_and(|a| a.contains("text/html"))
        });
        if !from_html_form {
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(status);
            }
        }
        error
    }
}

/// The jobs this browser session sees, and the event id they are current as of.
#[server(input = GetUrl, prefix = "/api/jobs", endpoint = "list")]
pub async fn list_jobs() -> Result<JobsSnapshot, JobRequestError> {
    let (runner, viewer) = server::context()?;
    let (jobs, as_of) = runner.snapshot(&viewer, LISTED_JOBS).await.map_err(server::reject)?;
    Ok(JobsSnapshot { jobs, as_of: as_of.to_string() })
}

/// One job with its log tail. Unknown and other sessions' private jobs are 404.
#[server(input = GetUrl, prefix = "/api/jobs", endpoint = "detail")]
pub async fn job_detail(id: JobId) -> Result<JobWithLog, JobRequestError> {
    let (runner, viewer) = server::context()?;
    let (job, logs, as_of) = runner.detail(&viewer, id).await.map_err(server::reject)?;
    Ok(JobWithLog { job, logs, as_of: as_of.to_string() })
}

/// Starts a job. Fields come as text from the form and are checked on the server.
#[server(prefix = "/api/jobs", endpoint = "start")]
pub async fn start_job(
    kind: String,
    dir: Option<String>,
    limit: Option<String>,
    stages: Option<String>,
    step_ms: Option<String>,
    shared: Option<String>,
) -> Result<JobId, JobRequestError> {
    let (runner, viewer) = server::context()?;
    let mut params = serde_json::Map::new();
    for (name, value) in [("dir", dir), ("limit", limit), ("stages", stages), ("step_ms", step_ms)] {
        if let Some(value) = value {
            params.insert(name.to_string(), value.into());
        }
    }
    let shared = shared.is_some_and(|v| v == "on" || v == "true");
    let job = runner.start(&viewer, shared, &kind, params.into()).await.map_err(server::reject)?;
    Ok(job.id)
}

#[server(prefix = "/api/jobs", endpoint = "cancel")]
pub async fn cancel_job(id: JobId) -> Result<(), JobRequestError> {
    let (runner, viewer) = server::context()?;
    runner.cancel(&viewer, id).await.map_err(server::reject)?;
    Ok(())
}

#[server(prefix = "/api/jobs", endpoint = "retry")]
pub async fn retry_job(id: JobId) -> Result<JobId, JobRequestError> {
    let (runner, viewer) = server::context()?;
    Ok(runner.retry(&viewer, id).await.map_err(server::reject)?.id)
}

/// Every change of the jobs this session sees: `job` events carry the whole job, `log` events
/// new log lines. `GET /api/streams/jobs`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "jobs")]
pub async fn job_events() -> Result<EventStream<Json<JobEvent>>, ServerFnError> {
    use crate::streams::{open_trusted_stream, refuse};
    let (runner, viewer) = match server::context() {
        Ok(context) => context,
        Err(err) => return Err(ServerFnError::ServerError(err.to_string())),
    };
    open_trusted_stream(runner.topics_for(&viewer)).map_err(refuse)
}
