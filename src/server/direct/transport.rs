//! What the routing listener needs of a transport: how a fresh TCP connection becomes a stream
//! to speak HTTP on ([`Transport::accept`]: nothing for plain HTTP, the TLS handshake for HTTPS)
//! and what the direct path needs of that stream ([`Stream`]). The listener, the direct path and
//! the hand-over to hyper are written once, for any transport.

use std::future::Future;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

/// Most bytes of an event stream held unsent per connection: in the kernel
/// (`TCP_NOTSENT_LOWAT`), and in the TLS layer's own buffer on TLS.
pub const UNSENT_LIMIT_BYTES: usize = 16 * 1024;

/// A connection HTTP is spoken on.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Readies the connection for an event stream: no Nagle delay (events are written whole),
    /// and at most [`UNSENT_LIMIT_BYTES`] unsent, so a reader slower than its stream falls
    /// behind in the hub (where latest-wins streams keep only each topic's newest event), not
    /// in buffers that grow to megabytes of stale frames.
    fn prepare_for_events(&mut self);

    /// Read and write halves used at the same time (the direct path notices a client leaving
    /// while it writes).
    fn halves(&mut self) -> (impl AsyncRead + Unpin + Send + '_, impl AsyncWrite + Unpin + Send + '_);

    /// The TCP connection underneath (for socket options such as a reset on close).
    fn tcp(&self) -> &TcpStream;
}

impl Stream for TcpStream {
    fn prepare_for_events(&mut self) {
        prepare_socket(self);
    }

    fn halves(&mut self) -> (impl AsyncRead + Unpin + Send + '_, impl AsyncWrite + Unpin + Send + '_) {
        // Borrowed halves: no allocation, no lock.
        self.split()
    }

    fn tcp(&self) -> &TcpStream {
        self
    }
}

pub fn prepare_socket(socket: &TcpStream) {
    let _ = socket.set_nodelay(true);
    let _ = socket2::SockRef::from(socket).set_tcp_notsent_lowat(UNSENT_LIMIT_BYTES as u32);
}

/// What a transport made of an accepted connection.
pub enum Accepted<S> {
    /// HTTP/1.1 (or no protocol named): the routing of the first request head decides.
    Http1(S),
    /// HTTP/2, agreed by ALPN: hyper serves the whole connection.
    Http2(S),
    /// Nothing to serve: the handshake failed, timed out or was answered already.
    Closed,
}

/// How accepted TCP connections become HTTP connections.
pub trait Transport: Clone + Send + Sync + 'static {
    type Stream: Stream;

    /// Called in the connection's own task; gives up when `shutdown` is cancelled.
    fn accept(
        &self,
        socket: TcpStream,
        shutdown: &CancellationToken,
    ) -> impl Future<Output = Accepted<Self::Stream>> + Send;
}

/// Plain HTTP: the socket as it is.
#[derive(Clone, Copy, Debug)]
pub struct Plain;

impl Transport for Plain {
    type Stream = TcpStream;

    async fn accept(&self, socket: TcpStream, _shutdown: &CancellationToken) -> Accepted<TcpStream> {
        Accepted::Http1(socket)
    }
}
