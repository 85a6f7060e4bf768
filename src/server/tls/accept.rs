//! The TLS side of accepting a connection: the handshake (bounded in time), the protocol ALPN
//! agreed on, and a clear answer to a client that speaks plain HTTP to the HTTPS port.

use crate::server::direct::{prepare_socket, Accepted, Stream, Transport, UNSENT_LIMIT_BYTES};
use rustls::ServerConfig;
use std::{sync::Arc, time::Duration};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    net::TcpStream,
};
use tokio_rustls::{server::TlsStream, TlsAcceptor};
use tokio_util::sync::CancellationToken;

/// A client has this long from connecting to finishing the TLS handshake (then the usual time
/// for its first request head), so a slow or silent client cannot hold a task for ever. As long
/// as the head's own limit: a handshake costs CPU on both sides, and a loaded machine is slow.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The first byte of a TLS connection: a handshake record (`ContentType::Handshake`).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// HTTPS: each accepted connection does the TLS handshake first.
#[derive(Clone)]
pub struct TlsTransport {
    acceptor: TlsAcceptor,
}

impl TlsTransport {
    pub fn new(config: Arc<ServerConfig>) -> Self {
        Self { acceptor: TlsAcceptor::from(config) }
    }
}

impl Transport for TlsTransport {
    type Stream = TlsStream<TcpStream>;

    async fn accept(&self, socket: TcpStream, shutdown: &CancellationToken) -> Accepted<Self::Stream> {
        tokio::select! {
            () = shutdown.cancelled() => Accepted::Closed,
            accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&self.acceptor, socket)) => {
                accepted.unwrap_or_else(|_| {
                    tracing::debug!("TLS handshake not finished within {HANDSHAKE_TIMEOUT:?}; closed");
                    Accepted::Closed
                })
            }
        }
    }
}

async fn handshake(acceptor: &TlsAcceptor, socket: TcpStream) -> Accepted<TlsStream<TcpStream>> {
    let mut first = [0u8; 1];
    match socket.peek(&mut first).await {
        Ok(1) if first[0] == TLS_HANDSHAKE_RECORD => {}
        // An HTTP request line starts with a method: tell the client where it went wrong.
        Ok(1) if first[0].is_ascii_uppercase() => {
            refuse(socket, PLAIN_HTTP_ANSWER.as_bytes()).await;
            return Accepted::Closed;
        }
        // Neither TLS nor HTTP: nothing to say in a language the client speaks.
        Ok(1) => {
            refuse(socket, b"").await;
            return Accepted::Closed;
        }
        _ => return Accepted::Closed,
    }
    let mut stream = match acceptor.accept(socket).await {
        Ok(stream) => stream,
        Err(err) => {
            tracing::debug!("TLS handshake failed: {err}");
            return Accepted::Closed;
        }
    };
    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
    // Bound what rustls keeps unsent on any connection, as the kernel's side is bounded.
    stream.get_mut().1.set_buffer_limit(Some(UNSENT_LIMIT_BYTES));
    if h2 {
        // Many streams share this connection: the same socket settings as a direct-path stream's.
        prepare_socket(stream.get_ref().0);
        Accepted::Http2(stream)
    } else {
        Accepted::Http1(stream)
    }
}

/// What a plain-HTTP request to the HTTPS port gets, in plain HTTP.
const PLAIN_HTTP_ANSWER: &str = "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\
    content-length: 60\r\nconnection: close\r\n\r\n\
    {\"error\":\"this port speaks HTTPS only: use an https:// URL\"}";

/// Sends `answer` and closes the connection: after reading what the client sent, so that the
/// close is a clean end of stream and not a reset that could lose the answer.
async fn refuse(mut socket: TcpStream, answer: &[u8]) {
    let mut scratch = [0u8; 1024];
    // What arrived with the first packet (usually the whole request head).
    let _ = tokio::time::timeout(Duration::from_millis(100), socket.read(&mut scratch)).await;
    if socket.write_all(answer).await.is_ok() && socket.shutdown().await.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while matches!(socket.read(&mut scratch).await, Ok(n) if n > 0) {}
        })
        .await;
    }
}

impl Stream for TlsStream<TcpStream> {
    fn prepare_for_events(&mut self) {
        prepare_socket(self.get_ref().0);
    }

    fn halves(&mut self) -> (impl AsyncRead + Unpin + Send + '_, impl AsyncWrite + Unpin + Send + '_) {
        // Reading and writing both go through the one rustls connection: halves sharing it.
        tokio::io::split(self)
    }

    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_http_answer_frames_its_json_body() {
        let (head, body) = PLAIN_HTTP_ANSWER.split_once("\r\n\r\n").unwrap();
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("https://"));
    }
}
