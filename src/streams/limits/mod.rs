//! Limits of the stream layer: concurrent streams per client IP and in total, publishes per
//! second per publisher, and who the client is (the peer, or a trusted proxy's
//! `X-Forwarded-For`).
//!
//! Rooms: `settings` (the keys), `client_ip` (peer or trusted `X-Forwarded-For`), `permits`
//! (counted permits per key and in total, also used for jobs), `rate` (token buckets per
//! publisher), `socket` (how far a connection's writes got, for slow consumers).
//!
//! Invariants: every stream, whoever opens it, holds a [`StreamPermit`] for its whole life,
//! taken in `context::subscribe` and given back when the stream is dropped (the client left, the
//! hub ended it, the server stopped, or it was closed for lagging). A refusal is a
//! [`LimitExceeded`]: 429 with `Retry-After` and a message naming the limit's key.

mod client_ip;
mod permits;
mod rate;
mod settings;
mod socket;

pub use client_ip::TrustedProxies;
pub use permits::{KeyedPermits, Permit, Refusal};
pub use rate::{PublishRate, RateKey};
pub use settings::LimitSettings;
pub use socket::SocketMeter;

use axum::{
    extract::ConnectInfo,
    http::{Extensions, HeaderMap, Version},
};
use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    sync::Arc,
};

/// Seconds a client refused for too many open streams is told to wait (a stream's end cannot be
/// foreseen; EventSource's own retry is a few seconds too).
pub const STREAM_RETRY_AFTER_SECS: u64 = 5;

/// A limit was reached: 429, `Retry-After: retry_after_secs`, and a sentence naming the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct LimitExceeded {
    /// The setting that decides it (`max-streams-per-ip`, ...).
    pub limit: &'static str,
    pub message: String,
    pub retry_after_secs: u64,
}

/// One open stream's place under the stream limits.
pub type StreamPermit = Permit<IpAddr>;

/// Who a request comes from, as the limits see it.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: IpAddr,
    /// The connection's write meter, when it is an HTTP/1 connection that has one.
    pub socket: Option<SocketMeter>,
}

/// The stream layer's limits, shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct StreamLimits {
    streams: KeyedPermits<IpAddr>,
    publish: Arc<PublishRate>,
    proxies: Arc<TrustedProxies>,
}

impl StreamLimits {
    /// The limits of `settings` (validated at load: a network that does not parse is refused
    /// there, so none is dropped here).
    pub fn new(settings: &LimitSettings) -> Self {
        Self {
            streams: KeyedPermits::new(settings.max_streams_per_ip, settings.max_streams),
            publish: Arc::new(PublishRate::new(settings.publish_per_second, settings.publish_burst)),
            proxies: Arc::new(TrustedProxies::parse(&settings.trusted_proxies).unwrap_or_default()),
        }
    }

    /// The client of a request: its peer address (axum's `ConnectInfo<SocketAddr>`, which both
    /// transports set) or what a trusted proxy says, and its socket meter.
    pub fn client(&self, headers: &HeaderMap, extensions: &Extensions, version: Version) -> Client {
        let peer = match extensions.get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => addr.ip(),
            None => {
                // Only a request built in-process (a test's `oneshot`) has no peer.
                tracing::debug!("request without a peer address; limits count it as 0.0.0.0");
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            }
        };
        let socket = extensions.get::<SocketMeter>().filter(|_| version < Version::HTTP_2).cloned();
        Client { ip: self.proxies.client_ip(peer, headers), socket }
    }

    /// A place for one more stream of `client`.
    pub fn open_stream(&self, client: IpAddr) -> Result<StreamPermit, LimitExceeded> {
        self.streams.try_acquire(client).map_err(|refusal| match refusal {
            Refusal::PerKey(limit) => LimitExceeded {
                limit: "max-streams-per-ip",
                message: format!(
                    "too many open event streams from {client}: at most {limit} (setting `max-streams-per-ip`); \
                     close one or try again in {STREAM_RETRY_AFTER_SECS} s"
                ),
                retry_after_secs: STREAM_RETRY_AFTER_SECS,
            },
            Refusal::Total(limit) => LimitExceeded {
                limit: "max-streams",
                message: format!(
                    "the server has its most open event streams, {limit} (setting `max-streams`); \
                     try again in {STREAM_RETRY_AFTER_SECS} s"
                ),
                retry_after_secs: STREAM_RETRY_AFTER_SECS,
            },
        })
    }

    /// Takes one publish of `key`'s allowance.
    pub fn publish(&self, key: &RateKey) -> Result<(), LimitExceeded> {
        self.publish.check(key).map_err(|wait| {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            let who = match key {
                RateKey::Token(_) => "this token".to_string(),
                RateKey::Ip(ip) => ip.to_string(),
            };
            LimitExceeded {
                limit: "publish-per-second",
                message: format!(
                    "too many publishes from {who} (settings `publish-per-second` and `publish-burst`); \
                     try again in {secs} s"
                ),
                retry_after_secs: secs,
            }
        })
    }

    /// Streams open for `client` and in total.
    pub fn open_streams(&self, client: IpAddr) -> (usize, usize) {
        self.streams.held(&client)
    }
}
