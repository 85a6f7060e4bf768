//! The listener `axum::serve` accepts from. Each new connection is made ready by its transport
//! (plain TCP, or the TLS handshake), then its first request head is read and checked here
//! (module `check`): a head hyper would refuse with a bare status is answered with that status
//! and a JSON message; an event-stream request is answered on the direct path; everything else
//! (pages, server functions, publishing, HTTP/2 with prior knowledge) is handed to axum and
//! hyper with the bytes already read put back in front of the stream. A connection that agreed
//! on HTTP/2 by ALPN goes to hyper's HTTP/2 server at once.

use super::{
    check::{check_head, Check, Refusal},
    conn,
    head::{parse_head, sniff, Head, Sniff, MAX_HEAD_BYTES},
    transport::{Accepted, Stream, Transport},
};
use crate::streams::limits::SocketMeter;
use axum::Router;
use bytes::{Bytes, BytesMut};
use std::{
    io,
    net::SocketAddr,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf},
    net::TcpListener,
    sync::mpsc,
};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// A client has this long to send its first request head (slow-loris guard).
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// First read size; a head that does not fit grows the buffer (up to the check's limit).
const FIRST_READ: usize = 1024;

/// Connections for hyper, in the order their first bytes arrived.
pub struct RoutingListener<S: Stream> {
    for_hyper: mpsc::Receiver<(Prefixed<S>, SocketAddr)>,
    local_addr: SocketAddr,
}

impl<S: Stream> RoutingListener<S> {
    /// Starts accepting on `listener`. Connection tasks (the transport's handshake, the direct
    /// path, HTTP/2 connections) run as tasks of `tasks`, so the server can wait for them on
    /// shutdown; accepting stops when `shutdown` is cancelled.
    pub fn start<T: Transport<Stream = S>>(
        listener: TcpListener,
        transport: T,
        router: Router,
        tasks: TaskTracker,
        shutdown: CancellationToken,
    ) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        let (to_hyper, for_hyper) = mpsc::channel(1024);
        let connections = Connections { transport, router, to_hyper, tasks: tasks.clone(), shutdown };
        tasks.spawn(accept_loop(listener, connections));
        Ok(Self { for_hyper, local_addr })
    }
}

impl<S: Stream> axum::serve::Listener for RoutingListener<S> {
    type Io = Prefixed<S>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.for_hyper.recv().await {
            Some(connection) => connection,
            // The accept loop has stopped (shutdown): axum stops accepting on the same signal.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// What every connection task gets a clone of.
struct Connections<T: Transport> {
    transport: T,
    router: Router,
    to_hyper: mpsc::Sender<(Prefixed<T::Stream>, SocketAddr)>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

// By hand: a derive would ask for `T::Stream: Clone`, which no stream is.
impl<T: Transport> Clone for Connections<T> {
    fn clone(&self) -> Self {
        Self {
            transport: self.transport.clone(),
            router: self.router.clone(),
            to_hyper: self.to_hyper.clone(),
            tasks: self.tasks.clone(),
            shutdown: self.shutdown.clone(),
        }
    }
}

async fn accept_loop<T: Transport>(listener: TcpListener, connections: Connections<T>) {
    loop {
        let accepted = tokio::select! {
            () = connections.shutdown.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((socket, peer)) => {
                let connections = connections.clone();
                let tasks = connections.tasks.clone();
                tasks.spawn(async move {
                    match connections.transport.accept(socket, &connections.shutdown).await {
                        Accepted::Http1(stream) => route(stream, peer, connections).await,
                        // Boxed: hyper's connection is several KiB, and every connection's task
                        // would be sized for it, direct-path streams included.
                        Accepted::Http2(stream) => {
                            Box::pin(crate::server::http2::serve(
                                stream,
                                peer,
                                connections.router,
                                connections.shutdown,
                            ))
                            .await
                        }
                        Accepted::Closed => {}
                    }
                });
            }
            // The peer gave up before we accepted: nothing to do.
            Err(err)
                if matches!(
                    err.kind(),
                    io::ErrorKind::ConnectionRefused
                        | io::ErrorKind::ConnectionAborted
                        | io::ErrorKind::ConnectionReset
                ) => {}
            // Usually out of file descriptors: wait for some to be freed rather than spin.
            Err(err) => {
                tracing::error!("accept error: {err}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Where a connection's first request head sends it.
enum Route {
    /// An event stream the direct path answers.
    Direct(Box<http::Request<()>>),
    /// Everything else hyper serves.
    Hyper,
    /// A head hyper would refuse: answered here with a message.
    Refuse(Refusal),
}

/// Reads and checks the first request head and sends the connection down the right path.
/// A connection still sending its head when the server shuts down is closed; an answered stream
/// ends when the hub ends it (the response then ends cleanly).
async fn route<T: Transport>(mut socket: T::Stream, peer: SocketAddr, connections: Connections<T>) {
    let mut read = BytesMut::with_capacity(FIRST_READ);
    let reading = tokio::time::timeout(HEAD_TIMEOUT, async {
        loop {
            if read.len() == read.capacity() {
                read.reserve(read.capacity());
            }
            match socket.read_buf(&mut read).await {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
            let route = match check_head(&read) {
                Check::NeedMore => continue,
                Check::Http2 => Route::Hyper,
                Check::Refused(refusal) => Route::Refuse(refusal),
                // Heads past the direct path's own bounds are hyper's, as are all but streams.
                Check::Passed(len) if len > MAX_HEAD_BYTES || sniff(&read) != Sniff::Stream => Route::Hyper,
                Check::Passed(_) => match parse_head(&read) {
                    Head::Complete(request) => Route::Direct(request),
                    Head::Partial | Head::Unsupported => Route::Hyper,
                },
            };
            return Some(route);
        }
    });
    let route = tokio::select! {
        () = connections.shutdown.cancelled() => return,
        route = reading => route,
    };
    match route {
        Ok(Some(Route::Direct(request))) => {
            drop(read);
            conn::serve(socket, peer, *request, connections.router).await;
        }
        Ok(Some(Route::Refuse(refusal))) => {
            drop(read);
            conn::refuse(socket, refusal).await;
        }
        Ok(Some(Route::Hyper)) => {
            // As on the direct path: what a slow reader has not taken stays in the hub.
            socket.prepare_for_events();
            let connection = Prefixed { prefix: read.freeze(), socket, meter: SocketMeter::new() };
            // Fails only when the server is shutting down: the connection is then just closed.
            let _ = connections.to_hyper.send((connection, peer)).await;
        }
        // Closed, failed or timed out before sending a head: nothing to answer.
        Ok(None) | Err(_) => {}
    }
}

/// A stream with bytes already read from it put back in front, and a meter of what was written
/// to it (for the event streams it carries; see `streams::limits::SocketMeter`).
pub struct Prefixed<S: Stream> {
    prefix: Bytes,
    socket: S,
    meter: SocketMeter,
}

impl<S: Stream> Prefixed<S> {
    pub fn meter(&self) -> SocketMeter {
        self.meter.clone()
    }

    fn counted(&self, written: Poll<io::Result<usize>>) -> Poll<io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = written {
            self.meter.record(n);
        }
        written
    }
}

/// A connection whose stream was closed for lagging is reset, not closed: a graceful close would
/// leave the kernel holding its unsent bytes for a client that does not read.
impl<S: Stream> Drop for Prefixed<S> {
    fn drop(&mut self) {
        if self.meter.lagged() {
            let _ = socket2::SockRef::from(self.socket.tcp()).set_linger(Some(Duration::ZERO));
        }
    }
}

impl<S: Stream> AsyncRead for Prefixed<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.prefix.is_empty() {
            return Pin::new(&mut self.socket).poll_read(cx, buf);
        }
        let n = self.prefix.len().min(buf.remaining());
        buf.put_slice(&self.prefix.split_to(n));
        if self.prefix.is_empty() {
            // Free the first read's buffer for the life of the connection.
            self.prefix = Bytes::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: Stream> AsyncWrite for Prefixed<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.socket).poll_write(cx, buf);
        self.counted(written)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.socket).poll_write_vectored(cx, bufs);
        self.counted(written)
    }

    fn is_write_vectored(&self) -> bool {
        self.socket.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.socket).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::{io::AsyncWriteExt, net::TcpStream};

    #[tokio::test]
    async fn the_bytes_read_first_come_back_before_the_socket() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (socket, _) = listener.accept().await.unwrap();
        client.write_all(b" world").await.unwrap();
        client.shutdown().await.unwrap();
        let mut prefixed = Prefixed { prefix: Bytes::from_static(b"hello"), socket, meter: SocketMeter::new() };
        let mut small = [0u8; 3];
        prefixed.read_exact(&mut small).await.unwrap();
        assert_eq!(&small, b"hel");
        let mut rest = Vec::new();
        prefixed.read_to_end(&mut rest).await.unwrap();
        assert_eq!(rest, b"lo world");
    }
}
