//! The HTTP contract for clients outside the app (documented in README):
//!
//! - `GET /api/events?topic=NAME[&topic=NAME...][&last_event_id=ID][&access_token=JWT]`
//!   → `text/event-stream`
//! - `POST /api/publish?topic=NAME[&event=TYPE]` with `Authorization: Bearer <token>`, body = data
//!   → `200 {"id":"..."}`
//!
//! and, with `debug-endpoints`, `POST /api/debug/drop-streams`, `POST /api/debug/silence-streams`
//! (open streams stop writing, heartbeats included, without closing) and `GET /api/debug/stats`. Every
//! refusal is an [`ApiError`] (status + `{"error": ...}`), a wrong method included.

use super::{
    access::{self, Action, Credentials, Origin, ACCESS_TOKEN_PARAM},
    context::{last_event_id, query_pairs, subscribe, StreamContext},
    error::ApiError,
    hub::Delivery,
    limits::{Client, RateKey},
    names::{EventType, TopicName},
    response::sse_response,
    EVENTS_PATH, PUBLISH_PATH,
};
use axum::{
    body::Bytes,
    extract::{RawQuery, Request, State},
    http::{header, HeaderMap, Method, StatusCode, Uri},
    response::Response,
    routing::{get, post, MethodRouter},
    Json, Router,
};
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// The stream API's routes, for any app state the [`StreamContext`] can be taken from.
pub fn routes<S>(debug_endpoints: bool) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    StreamContext: axum::extract::FromRef<S>,
{
    let router =
        Router::new().route(EVENTS_PATH, only(get(events), "GET")).route(PUBLISH_PATH, only(post(publish), "POST"));
    if debug_endpoints {
        router
            .route("/api/debug/drop-streams", only(post(drop_streams), "POST"))
            .route("/api/debug/silence-streams", only(post(silence_streams), "POST"))
            .route("/api/debug/stats", only(get(stats), "GET"))
    } else {
        router
    }
}

/// A route that answers any other method with a JSON 405 naming the one it takes. (The router's
/// own JSON 405 cannot name it: axum adds `Allow` outside every layer.)
fn only<S>(route: MethodRouter<S>, allowed: &'static str) -> MethodRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    route.fallback(move |method: Method, uri: Uri| async move {
        ApiError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_string(), allowed }
    })
}

async fn events(
    State(context): State<StreamContext>,
    client: Client,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let mut topics = Vec::new();
    let mut query_last_id = None;
    let mut token = None;
    for (key, value) in query_pairs(query.as_deref()) {
        match key.as_str() {
            "topic" => topics.push(TopicName::new(&value)?),
            "last_event_id" if query_last_id.is_some() => return Err(ApiError::RepeatedParameter("last_event_id")),
            "last_event_id" => query_last_id = Some(value),
            ACCESS_TOKEN_PARAM if token.is_some() => return Err(ApiError::RepeatedParameter(ACCESS_TOKEN_PARAM)),
            ACCESS_TOKEN_PARAM => token = Some(value),
            _ => return Err(ApiError::UnknownParameter(key, "topic, last_event_id, access_token")),
        }
    }
    if topics.is_empty() {
        return Err(ApiError::MissingParameter("topic"));
    }
    let last_id = last_event_id(&headers, query_last_id);
    let stream =
        subscribe(&context, &headers, token.as_deref(), client, topics, last_id, Origin::Public, Delivery::Every)?;
    Ok(sse_response(stream, Some(context.settings.heartbeat())))
}

async fn publish(
    State(context): State<StreamContext>,
    client: Client,
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
            ACCESS_TOKEN_PARAM => {
                let credentials = Credentials { header: None, query: Some(&value) };
                access::authorize(&context.auth, credentials, Action::Publish, &[], Origin::Public)?;
            }
            _ => return Err(ApiError::UnknownParameter(key, "topic, event")),
        }
    }
    let topic = topic.ok_or(ApiError::MissingParameter("topic"))?;
    // While shutting down, the API takes no more events (the server's own producers still
    // flush theirs): the client gets a 503 and publishes again to the next instance.
    context.hub.check_ready()?;
    let event_type = event_type.unwrap_or_else(EventType::message);
    let credentials = Credentials::new(request.headers(), None);
    let granted =
        access::authorize(&context.auth, credentials, Action::Publish, std::slice::from_ref(&topic), Origin::Public)?;
    // After the guard, before the body is read: the key is who is publishing, the token the guard
    // verified.
    context.limits.publish(&RateKey::publisher(granted.token, client.ip))?;

    let limit = context.settings.publish_body_limit;
    let body = read_body(request, limit).await?;
    let data = std::str::from_utf8(&body).map_err(|_| ApiError::BodyNotUtf8)?;
    context
        .publish_hooks
        .check(&topic, data)
        .await
        .map_err(|message| ApiError::Rejected(topic.to_string(), message))?;
    let id = context.hub.publish(&topic, &event_type, data).await?;
    Ok(Json(serde_json::json!({ "id": id.to_string() })))
}

async fn read_body(request: Request, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(ApiError::BodyTooLarge(limit));
    }
    match Limited::new(request.into_body(), limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::BodyTooLarge(limit)),
        Err(err) => Err(ApiError::BodyUnreadable(err.to_string())),
    }
}

async fn stats(State(context): State<StreamContext>) -> Json<serde_json::Value> {
    let stats = context.hub.stats();
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

async fn drop_streams(State(context): State<StreamContext>) -> StatusCode {
    context.hub.disconnect_all(false);
    StatusCode::NO_CONTENT
}

async fn silence_streams(State(context): State<StreamContext>) -> StatusCode {
    context.silence.silence_open_streams();
    StatusCode::NO_CONTENT
}
