//! The response every event stream is sent with, whoever opened it (the HTTP API or a stream
//! server function): `text/event-stream`, never cached, never buffered by a proxy.

use super::CONTENT_TYPE;
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::Response,
};
use futures::Stream;

pub fn sse_response(chunks: impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static) -> Response {
    let mut response = Response::new(Body::from_stream(chunks));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // Tells nginx-style proxies not to buffer the stream.
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}
