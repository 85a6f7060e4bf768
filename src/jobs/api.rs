//! Server functions of the Jobs page: snapshot, detail, start, cancel, retry and the live stream.
//! Forms post to them directly, so starting and cancelling also work without JavaScript.
//!
//! Start, cancel and retry change state: the router's origin guard (`server::cors`) refuses them
//! (403) when the request's `Origin` is neither the site's nor an allowed one, before they run.
//! Cancel and retry are the owning session's alone (403 for any other, see the runner).

use super::model::{JobEvent, JobId, JobView, LogLine};
use crate::{
    json_text::JsonText,
    request_error::RequestError,
    streams::{EventStream, Json, Sse},
};
use leptos::{prelude::*, server_fn::codec::GetUrl};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Jobs shown on the page.
pub const LISTED_JOBS: usize = 100;

/// A job id as a server-function argument. It comes as text (query string, form field); a bad one
/// is refused with a message naming the argument and the value, which serde_qs's own ("invalid
/// digit found in string") does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct JobIdArg(pub JobId);

impl<'de> Deserialize<'de> for JobIdArg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = JobIdArg;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a job id (a whole number)")
            }
            fn visit_i64<E: Error>(self, id: i64) -> Result<JobIdArg, E> {
                job_number(id).ok_or_else(|| E::custom(format!("id {id} is not a job id (job ids start at 1)")))
            }
            fn visit_u64<E: Error>(self, id: u64) -> Result<JobIdArg, E> {
                JobId::try_from(id)
                    .ok()
                    .and_then(job_number)
                    .ok_or_else(|| E::custom(format!("id {id} is not a job id (job ids start at 1)")))
            }
            fn visit_str<E: Error>(self, text: &str) -> Result<JobIdArg, E> {
                text.trim()
                    .parse()
                    .ok()
                    .and_then(job_number)
                    .ok_or_else(|| E::custom(format!("id must be a job number (a whole number from 1), not {text:?}")))
            }
        }
        /// Job ids are the store's row ids: whole numbers from 1.
        fn job_number(id: JobId) -> Option<JobIdArg> {
            (id >= 1).then_some(JobIdArg(id))
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobsSnapshot {
    pub jobs: Vec<JobView>,
    pub as_of: String,
    /// The viewer's owner tag: jobs carrying it are the viewer's to cancel and retry.
    pub viewer: String,
    /// The server's clock when the snapshot was read (ms since the epoch): what the page renders
    /// "started … ago" and running times against until the browser's clock takes over.
    pub now_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobWithLog {
    pub job: JobView,
    pub logs: Vec<LogLine>,
    pub as_of: String,
    /// As in [`JobsSnapshot::viewer`].
    pub viewer: String,
    /// As in [`JobsSnapshot::now_ms`].
    pub now_ms: i64,
}

#[cfg(feature = "ssr")]
mod server {
    use crate::{
        jobs::{
            runner::{JobRunner, JobsError, Viewer},
            store::StoreError,
        },
        request_error::{ErrorKind, RequestError},
        session::Session,
        state::AppState,
        streams::hub::HubError,
    };
    use leptos::prelude::*;

    pub fn context() -> Result<(JobRunner, Viewer), RequestError> {
        let state = expect_context::<AppState>();
        let parts = expect_context::<http::request::Parts>();
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or_else(|| RequestError::internal("no session on this request"))?;
        Ok((state.jobs.clone(), Viewer(session.owner)))
    }

    /// The one mapping of runner errors to answers, for the server functions and for the HTTP
    /// endpoints of external jobs alike.
    impl From<JobsError> for RequestError {
        fn from(err: JobsError) -> Self {
            let kind = match &err {
                JobsError::Invalid(field) => return RequestError::field(&field.field, field.message.clone()),
                JobsError::TooMany(limit) => {
                    return RequestError::too_many(limit.message.clone(), limit.retry_after_secs)
                }
                JobsError::NotFound => ErrorKind::NotFound,
                JobsError::NotRetryable(_) | JobsError::Finished(_) => ErrorKind::Conflict,
                JobsError::BadToken | JobsError::NotOwner(_) => ErrorKind::Forbidden,
                JobsError::ShuttingDown
                | JobsError::Hub(HubError::ShuttingDown | HubError::Unavailable(_))
                | JobsError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
                JobsError::Store(_) | JobsError::Hub(_) => ErrorKind::Internal,
            };
            RequestError::new(kind, err.to_string())
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::jobs::job::FieldError;

        #[test]
        fn runner_errors_map_to_one_status_each() {
            let status = |err: JobsError| RequestError::from(err).status().as_u16();
            assert_eq!(status(JobsError::NotFound), 404);
            assert_eq!(status(JobsError::Finished("succeeded")), 409);
            assert_eq!(status(JobsError::NotRetryable("succeeded")), 409);
            assert_eq!(status(JobsError::BadToken), 403);
            assert_eq!(status(JobsError::NotOwner("only the session that started it")), 403);
            assert_eq!(status(JobsError::ShuttingDown), 503);
            let limit = crate::streams::limits::LimitExceeded {
                limit: "jobs-max-total",
                message: "too many".into(),
                retry_after_secs: 10,
            };
            let refused = RequestError::from(JobsError::TooMany(limit));
            assert_eq!((refused.status().as_u16(), refused.retry_after), (429, Some(10)));
            assert_eq!(status(JobsError::Hub(HubError::ShuttingDown)), 503);
            assert_eq!(status(JobsError::Hub(HubError::NoTopics)), 500);
            assert_eq!(status(JobsError::Store(StoreError::Unavailable("Redis at 127.0.0.1:1".into()))), 503);
            let field = RequestError::from(JobsError::Invalid(FieldError::new("limit", "must be a whole number")));
            assert_eq!((field.status().as_u16(), field.error.as_str()), (400, "limit: must be a whole number"));
            assert_eq!(field.for_field("limit").as_deref(), Some("must be a whole number"));
        }
    }
}

/// The jobs this browser session sees, and the event id they are current as of.
#[server(input = GetUrl, output = JsonText, prefix = "/api/jobs", endpoint = "list")]
pub async fn list_jobs() -> Result<JobsSnapshot, RequestError> {
    let (runner, viewer) = server::context()?;
    let (jobs, as_of) = runner.snapshot(&viewer, LISTED_JOBS).await?;
    Ok(JobsSnapshot { jobs, as_of: as_of.to_string(), viewer: viewer.tag(), now_ms: crate::time::now_ms() })
}

/// One job with its log tail. Unknown and other sessions' private jobs are 404.
#[server(input = GetUrl, output = JsonText, prefix = "/api/jobs", endpoint = "detail")]
pub async fn job_detail(id: JobIdArg) -> Result<JobWithLog, RequestError> {
    let (runner, viewer) = server::context()?;
    let (job, logs, as_of) = runner.detail(&viewer, id.0).await?;
    Ok(JobWithLog { job, logs, as_of: as_of.to_string(), viewer: viewer.tag(), now_ms: crate::time::now_ms() })
}

/// Starts a job. Fields come as text from the form and are checked on the server.
#[server(output = JsonText, prefix = "/api/jobs", endpoint = "start")]
pub async fn start_job(
    kind: String,
    dir: Option<String>,
    limit: Option<String>,
    stages: Option<String>,
    step_ms: Option<String>,
    shared: Option<String>,
) -> Result<JobId, RequestError> {
    let (runner, viewer) = server::context()?;
    let mut params = serde_json::Map::new();
    for (name, value) in [("dir", dir), ("limit", limit), ("stages", stages), ("step_ms", step_ms)] {
        if let Some(value) = value {
            params.insert(name.to_string(), value.into());
        }
    }
    let shared = shared.is_some_and(|v| v == "on" || v == "true");
    let job = runner.start(&viewer, shared, &kind, params.into()).await?;
    Ok(job.id)
}

#[server(output = JsonText, prefix = "/api/jobs", endpoint = "cancel")]
pub async fn cancel_job(id: JobIdArg) -> Result<(), RequestError> {
    let (runner, viewer) = server::context()?;
    runner.cancel(&viewer, id.0).await?;
    Ok(())
}

#[server(output = JsonText, prefix = "/api/jobs", endpoint = "retry")]
pub async fn retry_job(id: JobIdArg) -> Result<JobId, RequestError> {
    let (runner, viewer) = server::context()?;
    Ok(runner.retry(&viewer, id.0).await?.id)
}

/// Every change of the jobs this session sees: `job` events carry the whole job, `log` events
/// new log lines. `GET /api/streams/jobs`.
#[server(input = GetUrl, output = Sse, prefix = "/api/streams", endpoint = "jobs")]
pub async fn job_events() -> Result<EventStream<Json<JobEvent>>, RequestError> {
    use crate::streams::open_trusted_stream;
    let (runner, viewer) = server::context()?;
    Ok(open_trusted_stream(runner.topics_for(&viewer))?)
}

#[cfg(test)]
mod tests {
    use super::JobIdArg;

    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Args {
        id: JobIdArg,
    }

    #[test]
    fn a_job_id_argument_names_a_bad_value() {
        let qs = serde_qs::Config::new(5, false);
        assert_eq!(qs.deserialize_str::<Args>("id=42").unwrap().id, JobIdArg(42));
        assert_eq!(serde_json::from_str::<Args>(r#"{"id":7}"#).unwrap().id, JobIdArg(7));
        let message = qs.deserialize_str::<Args>("id=abc").unwrap_err().to_string();
        assert_eq!(message, r#"id must be a job number (a whole number from 1), not "abc""#);
        for not_an_id in ["id=0", "id=-3"] {
            let message = qs.deserialize_str::<Args>(not_an_id).unwrap_err().to_string();
            assert!(message.contains("id must be a job number"), "{not_an_id}: {message}");
        }
        let message = serde_json::from_str::<Args>(r#"{"id":-3}"#).unwrap_err().to_string();
        assert!(message.contains("job ids start at 1"), "{message}");
        let message = qs.deserialize_str::<Args>("").unwrap_err().to_string();
        assert!(message.contains("missing field `id`"), "{message}");
        // What the client sends (a plain number) decodes back.
        let sent = serde_qs::to_string(&Args { id: JobIdArg(9) }).unwrap();
        assert_eq!(sent, "id=9");
        assert_eq!(qs.deserialize_str::<Args>(&sent).unwrap().id, JobIdArg(9));
    }
}
