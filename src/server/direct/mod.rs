//! The direct path for event streams: a transport of the server, not part of SSE (server only).
//!
//! We hand-write this small HTTP/1.1 responder where hyper would do, for one figure: an idle
//! subscriber cost the server 18.2 KiB of RSS behind hyper and costs 2.7 KiB here (BENCHMARKS.md,
//! run 3, at N = 1000/5000/10000; the axum `Sse` reference measured 18.9 KiB). Behind hyper, every
//! HTTP/1.1 connection keeps an 8 KiB read buffer and an 8 KiB write buffer for its whole life
//! (hyper's minimum, not configurable), more than everything else an open stream needs. So the
//! first request head of each connection is read here: a `GET` for the stream layer's paths
//! (`/api/events?…`, `/api/streams/…`, taken from its constants) goes through the same router
//! (routes, layers, access checks, errors) and its response is written straight to the socket,
//! one chunk per body frame, with `connection: close`; every other connection is handed to axum
//! and hyper unchanged.
//!
//! The same first read checks every connection's first request head as hyper would (`check`), so
//! a head hyper would refuse with a bare status gets that status and a JSON message instead.
//!
//! The path is written once for any [`Transport`]: plain TCP ([`Plain`]) or TLS (the server's
//! `tls` module), where the connection is first made ready by the handshake and a connection
//! that agreed on HTTP/2 goes to hyper whole.

pub mod check;
mod conn;
pub mod head;
mod listener;
mod transport;

pub use listener::{Prefixed, RoutingListener};
pub use transport::{prepare_socket, Accepted, Plain, Stream, Transport, UNSENT_LIMIT_BYTES};
