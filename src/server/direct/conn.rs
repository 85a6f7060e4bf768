//! One direct-path connection: the request goes through the whole router (same routes, layers,
//! checks and errors as on hyper), and the response is written straight to the socket, each body
//! frame as one chunk in one vectored write. All the connection holds while a stream is open is
//! the socket, the body and a 64-byte scratch buffer for noticing that the client left.
//!
//! The request carries the peer address (`ConnectInfo`) and the connection's socket meter, which
//! counts every body byte written: the body is polled while a chunk is still being written, so
//! a stream whose client stopped reading can still notice it owes too much and fail, and a
//! failed stream's connection is reset. At most one chunk waits behind the one being written.
//!
//! A refused first head (`check`) is answered here too: its status, its JSON message, and
//! `connection: close`.

use super::{
    check::Refusal,
    head::{encode_head, ChunkSize, Framing, LAST_CHUNK},
    transport::Stream,
};
use crate::streams::limits::SocketMeter;
use axum::{body::Body, body::HttpBody, extract::ConnectInfo, Router};
use bytes::{Buf, Bytes};
use http::Request;
use http_body_util::BodyExt;
use std::{io, net::SocketAddr, time::Duration};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower::ServiceExt;

/// How long a refused connection is read from after its answer before it is dropped.
const REFUSAL_LINGER: Duration = Duration::from_secs(1);

/// Answers `request` on `stream` (plain TCP or TLS) and closes the connection.
pub async fn serve(mut stream: impl Stream, peer: SocketAddr, mut request: Request<()>, router: Router) {
    stream.prepare_for_events();
    let meter = SocketMeter::new();
    request.extensions_mut().insert(ConnectInfo(peer));
    request.extensions_mut().insert(meter.clone());
    let response = match router.oneshot(request.map(|()| Body::empty())).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let framing = match body.size_hint().exact() {
        Some(len) => Framing::Length(len),
        None => Framing::Chunked,
    };
    let head =
        encode_head(parts.status, &parts.headers, framing, &httpdate::fmt_http_date(std::time::SystemTime::now()));
    drop(parts);

    let outcome = {
        let (mut reader, mut writer) = stream.halves();
        tokio::select! {
            () = client_gone(&mut reader) => Ok(()),
            written = write_response(&mut writer, head, body, framing, &meter) => written,
        }
    };
    match outcome {
        Ok(()) => {
            let _ = stream.shutdown().await;
        }
        Err(err) => {
            // A stream closed for lagging: reset, so the kernel drops what the client never read.
            if meter.lagged() {
                let _ = socket2::SockRef::from(stream.tcp()).set_linger(Some(Duration::ZERO));
            }
            tracing::trace!("direct stream connection ended: {err}");
        }
    }
}

/// Answers a refused request head with its status and JSON message, then closes: after reading
/// what the client still sends (the rest of a flood, a body), so that the close is a clean end of
/// stream and not a reset that could lose the answer.
pub async fn refuse(mut stream: impl Stream, refusal: Refusal) {
    tracing::debug!(status = %refusal.status, "refused a request head: {}", refusal.message);
    let body = refusal.body();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let mut answer = encode_head(refusal.status, &headers, Framing::Length(body.len() as u64), &date);
    answer.extend_from_slice(body.as_bytes());
    if stream.write_all(&answer).await.is_ok() && stream.shutdown().await.is_ok() {
        let mut scratch = [0u8; 4096];
        let _ = tokio::time::timeout(REFUSAL_LINGER, async {
            while matches!(stream.read(&mut scratch).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

/// One body frame as it goes on the wire (chunk size line, data, CRLF when chunked).
fn on_the_wire(data: Bytes, framing: Framing) -> impl Buf {
    let size = match framing {
        Framing::Chunked => Bytes::copy_from_slice(ChunkSize::new(data.len()).as_bytes()),
        Framing::Length(_) => Bytes::new(),
    };
    let end: &'static [u8] = if framing == Framing::Chunked { b"\r\n" } else { b"" };
    size.chain(data).chain(end)
}

async fn write_response(
    writer: &mut (impl AsyncWrite + Unpin),
    head: Vec<u8>,
    mut body: Body,
    framing: Framing,
    meter: &SocketMeter,
) -> io::Result<()> {
    writer.write_all(&head).await?;
    drop(head);
    // The frame being written, and at most one more taken from the body meanwhile.
    let mut writing = None;
    let mut next: Option<Bytes> = None;
    let mut ended = false;
    loop {
        if writing.is_none() {
            writing = next.take().map(|data| on_the_wire(data, framing));
        }
        if writing.is_none() && ended {
            break;
        }
        tokio::select! {
            written = write_some(writer, &mut writing), if writing.is_some() => {
                let n = written?;
                if n == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                meter.record(n);
                if !writing.as_ref().is_some_and(Buf::has_remaining) {
                    writing = None;
                }
            }
            frame = body.frame(), if next.is_none() && !ended => match frame {
                None => ended = true,
                // A body that fails mid-stream cannot be reported any more: end the connection,
                // which the client sees as a truncated response (EventSource then reconnects
                // and resumes).
                Some(frame) => {
                    if let Ok(data) = frame.map_err(io::Error::other)?.into_data() {
                        next = Some(data).filter(|data| !data.is_empty());
                    }
                }
            },
        }
    }
    if framing == Framing::Chunked {
        writer.write_all(LAST_CHUNK).await?;
    }
    Ok(())
}

/// Writes some of `writing` (never completes when there is nothing to write).
async fn write_some(writer: &mut (impl AsyncWrite + Unpin), writing: &mut Option<impl Buf>) -> io::Result<usize> {
    match writing {
        Some(buf) => writer.write_buf(buf).await,
        None => std::future::pending().await,
    }
}

/// Completes when the client closes its side (or the socket fails). Anything it sends after the
/// request is read and dropped: the direct path answers one request per connection.
async fn client_gone(reader: &mut (impl AsyncRead + Unpin)) {
    let mut scratch = [0u8; 64];
    loop {
        match reader.read(&mut scratch).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}
