//! What the stream layer's handlers and server-function helpers need from the server, and the
//! checks every subscription passes, whoever opens it.
//!
//! [`StreamContext`] is the stream layer's slice of the app state: handlers take it through axum's
//! sub-state extraction (`State<StreamContext>`, via `FromRef` on the app's state) and stream
//! server functions find it in the Leptos context, so this layer never sees the app's domains.
//! `subscribe` is the one path from a request to a hub stream: topic limit, access guard, stream
//! limits (a permit the stream holds until it is dropped), resume point (the `Last-Event-ID`
//! header wins over the `last_event_id` query parameter), the connection's socket meter for slow
//! consumers, and, when a token was needed, the stream's end when that token expires (an
//! `auth-expired` event, then the stream closes; the client gets a fresh token and resumes from
//! its last id).

use super::{
    access::{self, Action, Credentials, Origin},
    auth::Auth,
    error::ApiError,
    hooks::PublishHooks,
    hub::{Delivery, Hub, Metering, SubscribeRequest},
    limits::{Client, StreamLimits},
    names::{TopicName, AUTH_EXPIRED_EVENT},
    settings::StreamSettings,
    silence::Silence,
    wire,
};
use axum::{
    body::Bytes,
    extract::{FromRef, FromRequestParts},
    http::{request::Parts, HeaderMap},
};
use futures::{future::Either, Stream, StreamExt};
use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

#[derive(Clone)]
pub struct StreamContext {
    pub hub: Hub,
    pub settings: Arc<StreamSettings>,
    pub publish_hooks: PublishHooks,
    pub auth: Auth,
    pub limits: StreamLimits,
    /// Debug only: lets a test make open streams go silent (`silence`).
    pub silence: Silence,
}

/// For handlers of the stream API: the request's [`Client`], as [`StreamLimits::client`] sees it.
impl<S> FromRequestParts<S> for Client
where
    S: Send + Sync,
    StreamContext: FromRef<S>,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let context = StreamContext::from_ref(state);
        Ok(context.limits.client(&parts.headers, &parts.extensions, parts.version))
    }
}

pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes()).into_owned().collect()
}

/// `Last-Event-ID` from the header (what EventSource sends when it reconnects) or else from the
/// `last_event_id` query parameter (for clients that cannot set headers). The header wins: a
/// reconnecting EventSource still carries the query of its first request.
pub(super) fn last_event_id(headers: &HeaderMap, query_value: Option<String>) -> Option<String> {
    headers.get("last-event-id").and_then(|value| value.to_str().ok()).map(str::to_string).or(query_value)
}

/// Checks access and limits, then subscribes. Shared by `/api/events` and stream server functions.
/// A stream that fails (closed for lagging) ends its connection.
#[allow(clippy::too_many_arguments)]
pub(super) fn subscribe(
    context: &StreamContext,
    headers: &HeaderMap,
    query_token: Option<&str>,
    client: Client,
    topics: Vec<TopicName>,
    last_event_id: Option<String>,
    origin: Origin,
    delivery: Delivery,
) -> Result<impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static, ApiError> {
    let limit = context.settings.max_topics_per_stream;
    if topics.len() > limit {
        return Err(ApiError::TooManyTopics(limit));
    }
    let granted =
        access::authorize(&context.auth, Credentials::new(headers, query_token), Action::Subscribe, &topics, origin)?;
    // While shutting down that is the answer (503), not a limit.
    context.hub.check_ready()?;
    let permit = context.limits.open_stream(client.ip)?;
    let request = SubscribeRequest { topics, last_event_id, delivery };
    let stream = match client.socket {
        Some(socket) => {
            let metering = Metering { socket, max_lag_bytes: context.settings.max_lag_bytes };
            Either::Left(context.hub.subscribe_metered(request, metering)?.map(move |chunk| {
                chunk.map_err(|lagged| {
                    tracing::info!(client = %client.ip, "{lagged}");
                    std::io::Error::other(lagged)
                })
            }))
        }
        None => Either::Right(context.hub.subscribe(request)?.map(Ok)),
    };
    let stream = match granted.expires_at {
        None => Either::Left(stream),
        Some(expires_at) => Either::Right(until_expiry(stream, expires_at)),
    };
    // The permit is the stream's: it goes when the stream is dropped, however it ends.
    Ok(context.silence.guard(stream.map(move |chunk| {
        let _held = &permit;
        chunk
    })))
}

/// Passes `stream` on until `expires_at` (seconds since the epoch), then sends `auth-expired`
/// and ends. The notice has no `id:`, so the client's resume point stays at the last real event.
fn until_expiry<E: Send + 'static>(
    stream: impl Stream<Item = Result<Bytes, E>> + Send + 'static,
    expires_at: u64,
) -> impl Stream<Item = Result<Bytes, E>> + Send + 'static {
    let left = (UNIX_EPOCH + Duration::from_secs(expires_at)).duration_since(SystemTime::now()).unwrap_or_default();
    let deadline = Box::pin(tokio::time::sleep(left));
    let notice = wire::encode_notice(
        AUTH_EXPIRED_EVENT,
        r#"{"error": "the stream's token has expired; subscribe again with a fresh token and Last-Event-ID"}"#,
    );
    futures::stream::unfold(Some((Box::pin(stream), deadline, notice)), |state| async move {
        let (mut stream, mut deadline, notice) = state?;
        tokio::select! {
            biased;
            _ = &mut deadline => Some((Ok(notice), None)),
            item = stream.next() => item.map(|chunk| (chunk, Some((stream, deadline, notice)))),
        }
    })
}
