//! What every request served by hyper carries from its connection: the peer address (axum's
//! `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info` would add it) and the
//! connection's [`SocketMeter`], which an event stream on it reads to stay within its bound. The
//! direct path adds the same two in `direct::conn`.
//!
//! Hand-written because axum's own make-service knows only its `TcpListener`'s streams, not our
//! listener's; like it, each connection gets a clone of the finished router (an `Arc`).

use super::direct::{Prefixed, RoutingListener, Stream};
use crate::streams::limits::SocketMeter;
use axum::{extract::ConnectInfo, extract::Request, response::Response, serve::IncomingStream, Router};
use std::{
    convert::Infallible,
    future::{ready, Ready},
    net::SocketAddr,
    task::{Context, Poll},
};
use tower::Service;

/// Makes one [`WithPeer`] service per accepted connection.
#[derive(Clone)]
pub struct MakeWithPeer(pub Router);

impl<S: Stream> Service<IncomingStream<'_, RoutingListener<S>>> for MakeWithPeer {
    type Response = WithPeer;
    type Error = Infallible;
    type Future = Ready<Result<WithPeer, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, incoming: IncomingStream<'_, RoutingListener<S>>) -> Self::Future {
        let io: &Prefixed<S> = incoming.io();
        ready(Ok(WithPeer { router: self.0.clone(), peer: *incoming.remote_addr(), meter: io.meter() }))
    }
}

/// The router, for the requests of one connection.
#[derive(Clone)]
pub struct WithPeer {
    router: Router,
    peer: SocketAddr,
    meter: SocketMeter,
}

impl Service<Request> for WithPeer {
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as Service<Request>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        <Router as Service<Request>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        request.extensions_mut().insert(self.meter.clone());
        self.router.call(request)
    }
}
