//! One direct-path connection: the request goes through the whole router (same routes, layers,
//! checks and errors as on hyper), and the response is written straight to the socket, each body
//! frame as one chunk in one vectored write. All the connection holds while a stream is open is
//! the socket (with its TLS state on HTTPS), the body and a 64-byte scratch buffer for noticing
//! that the client left.

use super::{
    head::{encode_head, ChunkSize, Framing, LAST_CHUNK},
    transport::Stream,
};
use axum::{body::Body, body::HttpBody, Router};
use bytes::Buf;
use http::Request;
use http_body_util::BodyExt;
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower::ServiceExt;

/// Answers `request` on `stream` (plain TCP or TLS) and closes the connection.
pub async fn serve(mut stream: impl Stream, request: Request<()>, router: Router) {
    stream.prepare_for_events();
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
            written = write_response(&mut writer, head, body, framing) => written,
        }
    };
    match outcome {
        Ok(()) => {
            let _ = stream.shutdown().await;
        }
        Err(err) => tracing::trace!("direct stream connection ended: {err}"),
    }
}

async fn write_response(
    writer: &mut (impl AsyncWrite + Unpin),
    head: Vec<u8>,
    body: Body,
    framing: Framing,
) -> io::Result<()> {
    writer.write_all(&head).await?;
    drop(head);
    let mut body = body;
    while let Some(frame) = body.frame().await {
        // A body that fails mid-stream cannot be reported any more: end the connection, which
        // the client sees as a truncated response (EventSource then reconnects and resumes).
        let frame = frame.map_err(io::Error::other)?;
        let Ok(data) = frame.into_data() else { continue };
        if data.is_empty() {
            continue;
        }
        match framing {
            Framing::Chunked => {
                let size = ChunkSize::new(data.len());
                let mut chunk = Buf::chain(Buf::chain(size.as_bytes(), &data[..]), &b"\r\n"[..]);
                writer.write_all_buf(&mut chunk).await?;
            }
            Framing::Length(_) => writer.write_all(&data).await?,
        }
    }
    if framing == Framing::Chunked {
        writer.write_all(LAST_CHUNK).await?;
    }
    Ok(())
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
