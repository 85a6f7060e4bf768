//! The HTTP contract for clients outside the app (documented in README):
//!
//! - `GET /api/events?topic=NAME[&topic=NAME...][&last_event_id=ID]` → `text/event-stream`
//! - `POST /api/publish?topic=NAME[&event=TYPE]`, body = data → `200 {"id":"..."}`
//!
//! plus the helper stream server functions use, and the response headers every stream gets.

use super::{
    access::{self, Action, Origin},
    encoding::EventStream,
    hub::{Delivery, HubError, SubscribeRequest},
    names::{EventType, NameError, TopicName},
    wire,
};
use crate::state::AppState;
use axum::{
    body::{Body, Bytes},
    extract::{RawQuery, Request, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use futures::Stream;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Why a request to the stream API was refused. Each becomes a status and a JSON message.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadName(#[from] NameError),
    #[error("unknown query parameter {0:?}; expected {1}")]
    UnknownParameter(String, &'static str),
    #[error("missing query parameter {0:?}")]
    MissingParameter(&'static str),
    #[error("query parameter {0:?} given more than once")]
    RepeatedParameter(&'static str),
    #[error("a stream may subscribe to at most {0} topics")]
    TooManyTopics(usize),
    #[error("body is larger than the limit of {0} bytes")]
    BodyTooLarge(usize),
    #[error("body is not valid UTF-8 (event data must be text)")]
    BodyNotUtf8,
    #[error("could not read the request body: {0}")]
    BodyUnreadable(String),
    #[error("rejected by topic {0:?}: {1}")]
    Rejected(String, String),
    #[error("not allowed: {0}")]
    Forbidden(String),
    #[error("{0}")]
    Unavailable(#[from] HubError),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::Unavailable(HubError::ShuttingDown) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.to_string() });
        (self.status(), Json(body)).into_response()
    }
}

/// The response every event stream is sent with.
pub fn sse_response(
    chunks: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
) -> Response {
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(wire::CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

pub fn routes(debug_endpoints: bool) -> Router<AppState> {
    let router = Router::new()
        .route("/api/events", get(events))
        .route("/api/publish", post(publish));
    if debug_endpoints {
        router
            .route("/api/debug/drop-streams", post(drop_streams))
            .route("/api/debug/stats", get(stats))
    } else {
        router
    }
}

fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// `Last-Event-ID` from the header (what EventSource sends when it reconnects) or else from the
/// `last_event_id` query parameter (for clients that cannot set headers). The header wins: a
/// reconnecting EventSource still carries the query of its first request.
fn last_event_id(headers: &HeaderMap, query_value: Option<String>) -> Option<String> {
    headers
        .get("last-event-id")
        .and_then(|value| value.to_str().ok())
        .map(str::to_string)
        .or(query_value)
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut topics = Vec::new();
    let mut query_last_id = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "topic" => topics.push(TopicName::new(&value)?),
            "last_event_id" if query_last_id.is_some() => {
                return Err(ApiError::RepeatedParameter("last_event_id"))
            }
            "last_event_id" => query_last_id = Some(value),
            _ => return Err(ApiError::UnknownParameter(key, "topic, last_event_id")),
        }
    }
    if topics.is_empty() {
        return Err(ApiError::MissingParameter("topic"));
    }
    let last_id = last_event_id(&headers, query_last_id);
    let stream = subscribe(&state, &headers, topics, last_id, Origin::Public, Delivery::Every)?;
    Ok(sse_response(futures::StreamExt::map(stream, Ok)))
}

/// Checks access and limits, then subscribes. Shared by `/api/events` and stream server functions.
fn subscribe(
    state: &AppState,
    headers: &HeaderMap,
    topics: Vec<TopicName>,
    last_event_id: Option<String>,
    origin: Origin,
    delivery: Delivery,
) -> Result<impl Stream<Item = Bytes> + Send + 'static, ApiError> {
    let limit = state.settings.max_topics_per_stream;
    if topics.len() > limit {
        return Err(ApiError::TooManyTopics(limit));
    }
    access::authorize(headers, Action::Subscribe, &topics, origin)?;
    Ok(state.hub.subscribe(SubscribeRequest { topics, last_event_id, delivery })?)
}

async fn publish(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    request: Request,
) -> Result<Json<serde_json::Value>, ApiError> {
    let mut topic = None;
    let mut event_type = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "topic" if topic.is_some() => return Err(ApiError::RepeatedParameter("topic")),
            "topic" => topic = Some(TopicName::new(&value)?),
            "event" if event_type.is_some() => return Err(ApiError::RepeatedParameter("event")),
            "event" => event_type = Some(EventType::new(&value)?),
            _ => return Err(ApiError::UnknownParameter(key, "topic, event")),
        }
    }
    let topic = topic.ok_or(ApiError::MissingParameter("topic"))?;
    let event_type = event_type.unwrap_or_else(EventType::message);
    access::authorize(request.headers(), Action::Publish, std::slice::from_ref(&topic), Origin::Public)?;

    let limit = state.settings.publish_body_limit;
    let body = read_body(request, limit).await?;
    let data = std::str::from_utf8(&body).map_err(|_| ApiError::BodyNotUtf8)?;
    state.publish_hooks.check(&topic, data).await.map_err(|message| ApiError::Rejected(topic.to_string(), message))?;
    let id = state.hub.publish(&topic, &event_type, data).await?;
    Ok(Json(serde_json::json!({ "id": id.to_string() })))
}

async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::BodyTooLarge(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::BodyTooLarge(limit)),
        Err(err) => Err(ApiError::BodyUnreadable(err.to_string())),
    }
}

async fn stats(State(state): State<AppState>) -> Json<serde_json::Value> {
    let stats = state.hub.stats();
    let per_topic: serde_json::Map<String, serde_json::Value> =
        stats.per_topic.iter().map(|t| (t.topic.clone(), t.subscribers.into())).collect();
    Json(serde_json::json!({
        "topics": stats.topics,
        "subscribers": stats.subscribers,
        "published": stats.published,
        "delivered": stats.delivered,
        "conflated": stats.conflated,
        "resets": stats.resets,
        "resumes": stats.resumes,
        "subscribers_per_topic": per_topic,
    }))
}

async fn drop_streams(State(state): State<AppState>) -> StatusCode {
    state.hub.disconnect_all(false);
    StatusCode::NO_CONTENT
}

/// For stream server functions taking topic names from the caller: subscribes the current
/// request to `topics`, honouring its `Last-Event-ID` header or `last_event_id` query parameter.
pub fn open_stream<T>(topics: Vec<TopicName>) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Public, Delivery::Every)
}

/// [`open_stream`] with a delivery policy: `Delivery::Latest` for streams of states (samples,
/// quotes), where a slow client should get the newest one rather than a backlog.
pub fn open_stream_with<T>(topics: Vec<TopicName>, delivery: Delivery) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Public, delivery)
}

/// For stream server functions whose topics the server derived itself (e.g. from the session):
/// may include `private.` topics.
pub fn open_trusted_stream<T>(topics: Vec<TopicName>) -> Result<EventStream<T>, ApiError> {
    open(topics, Origin::Trusted, Delivery::Every)
}

fn open<T>(topics: Vec<TopicName>, origin: Origin, delivery: Delivery) -> Result<EventStream<T>, ApiError> {
    use leptos::prelude::*;
    let state = expect_context::<AppState>();
    let parts = expect_context::<http::request::Parts>();
    let query_last_id = query_pairs(parts.uri.query())
        .into_iter()
        .find(|(key, _)| key == "last_event_id")
        .map(|(_, value)| value);
    let last_id = last_event_id(&parts.headers, query_last_id);
    let stream = subscribe(&state, &parts.headers, topics, last_id, origin, delivery)?;
    Ok(EventStream::from_sse_bytes(stream))
}

/// Turns an [`ApiError`] into a server-function error with the right HTTP status.
pub fn refuse(err: ApiError) -> leptos::prelude::ServerFnError {
    use leptos::prelude::*;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(err.status());
    }
    ServerFnError::ServerError(err.to_string())
}
