//! The direct path for event streams (server only).
//!
//! An idle subscriber should cost the server as little memory as possible: that is how one small
//! machine holds tens of thousands of them. Behind hyper, every HTTP/1.1 connection keeps an
//! 8 KiB read buffer and an 8 KiB write buffer for its whole life (hyper's minimum, not
//! configurable), more than everything else an open stream needs. So the first request head of
//! each connection is read here: a `GET` for `/api/events?…` or `/api/streams/…` goes through
//! the same router (routes, layers, access checks, errors) and its response is written straight
//! to the socket, one chunk per body frame, with `connection: close`; every other connection is
//! handed to axum and hyper unchanged. `BENCHMARKS.md` has the figures.

mod conn;
mod head;
mod listener;

pub use listener::RoutingListener;
