//! HTTP/2 connections (agreed by ALPN over TLS), served by hyper through hyper-util with the
//! same router as everything else. Many streams share one connection, each a request of its own
//! through every layer; hyper leaves out the connection-specific headers HTTP/2 forbids
//! (`Connection`, `Transfer-Encoding`).
//!
//! Shutdown: when `shutdown` is cancelled the connection is shut down gracefully (GOAWAY: no new
//! streams; open ones finish, and event streams finish because the hub ends them with `retry:`).
//! The task serving it is tracked, so the server's drain waits for it within the grace period.

use super::direct::UNSENT_LIMIT_BYTES;
use axum::{extract::ConnectInfo, Router};
use http::Request;
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::conn::auto,
    service::TowerToHyperService,
};
use std::{net::SocketAddr, time::Duration};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;

/// An idle HTTP/2 connection is pinged this often, and closed when a ping goes unanswered this
/// long: a client that vanished without closing must not keep its streams open.
const KEEP_ALIVE: Duration = Duration::from_secs(30);

pub async fn serve<S>(stream: S, peer: SocketAddr, router: Router, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new()).http2_only();
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(KEEP_ALIVE)
        .keep_alive_timeout(KEEP_ALIVE)
        // hyper buffers up to 400 KiB per stream by default for a reader that does not keep up;
        // bound it as the direct path bounds its socket, so a slow stream falls behind in the hub.
        .max_send_buf_size(UNSENT_LIMIT_BYTES);
    // Every request carries the peer address, as on HTTP/1.1 (`connect`): limits count clients.
    let service = tower::ServiceExt::map_request(router, move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request
    });
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    tokio::pin!(connection);
    tokio::select! {
        served = connection.as_mut() => {
            if let Err(err) = served {
                tracing::debug!("HTTP/2 connection ended: {err}");
            }
            return;
        }
        () = shutdown.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    if let Err(err) = connection.await {
        tracing::debug!("HTTP/2 connection ended while shutting down: {err}");
    }
}
