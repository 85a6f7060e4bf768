//! The response every event stream is sent with, whoever opened it (the HTTP API or a stream
//! server function): `text/event-stream`, never cached, never buffered by a proxy, and the
//! heartbeat interval in `x-heartbeat-ms` ([`HEARTBEAT_HEADER`]), so a client can tell a quiet
//! stream from a dead one without guessing the server's setting. A header rather than a frame:
//! both transports (hyper and the direct path) send the same response head, and no SSE client
//! sees anything new in the body.

use super::{CONTENT_TYPE, HEARTBEAT_HEADER};
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::Response,
};
use futures::Stream;
use std::time::Duration;

/// `heartbeat`: the longest the stream stays silent (the hub's heartbeat), when known.
pub fn sse_response(
    chunks: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    heartbeat: Option<Duration>,
) -> Response {
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    if let Some(every) = heartbeat {
        headers.insert(HEARTBEAT_HEADER, HeaderValue::from(every.as_millis().min(u64::MAX as u128) as u64));
    }
    response
}
