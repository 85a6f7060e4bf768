//! `use_event_stream`: a page's typed subscription to a stream server function.
//!
//! What it does for the page (in the hydrated app; on the server it does nothing):
//! - opens the stream declared by the server function `F` (URL and query from `F`'s arguments)
//!   with `fetch`, which unlike `EventSource` can send `Last-Event-ID` and be aborted;
//! - starts after `resume_from` (the event id of the page's server-rendered snapshot), so nothing
//!   published between render and subscribe is lost;
//! - on a dropped connection, reconnects with exponential backoff and jitter (starting from the
//!   server's `retry:`), resuming after the last id it saw; a connection silent for one and a half
//!   heartbeat intervals (announced by the server in `x-heartbeat-ms`) is taken for dead and
//!   replaced at once; the browser's `online` event reconnects at once, `offline` shows offline
//!   and spends no retries;
//! - closes the stream while the tab is hidden and resumes (with the last id) when it is shown;
//! - closes it when the component unmounts;
//! - shares one connection between panels of a page that open the same stream from the same point;
//! - shares one connection per stream between all tabs of the browser profile (below);
//! - reports connecting / live / reconnecting / paused / offline to the header indicator.
//!
//! # Tabs share their streams
//!
//! Browsers allow six HTTP/1.1 connections per origin across all tabs, so every tab holding its
//! own streams stops working at the seventh. The tabs of one origin form a group per stream,
//! keyed by the stream's URL (the server function's path and every argument: two streams that
//! differ in anything have different keys; private job streams are per session, and the session
//! cookie is per profile, so one key is right for them):
//!
//! - **Leader election**: every visible tab asks for the Web Lock named after the key
//!   (`navigator.locks.request`); the one holding it is the leader and alone opens the
//!   connection. A hidden tab does not ask, and the leader gives the lock back when it is hidden
//!   or its page goes (closed, reloaded, navigated: the tab leaves on `pagehide`, and the browser
//!   releases a dead page's locks anyway), so the next visible tab in the lock's queue takes over.
//! - **Hand-over**: the leader posts every event and its connection state on a `BroadcastChannel`
//!   of the same name. A new leader resumes from the earlier of the last id it delivered and the
//!   newest id it saw on the channel (the group's last id), so the connection starts no later than
//!   any tab of the group got to: the window between the old leader's last event and the new
//!   connection is replayed, never skipped.
//! - **Dedupe rule**: each tab delivers an event only if its id is later than the last id that
//!   tab delivered ([`order::should_deliver`]; ids of one server run are ordered), whoever handed
//!   it over. Replays and copies in flight from the old leader are dropped, nothing is doubled.
//! - **Joining**: a tab that becomes visible (or opens) asks the leader for the events after its
//!   own last id (its snapshot's id at first) and holds live events meanwhile. The leader answers
//!   from its memory of recent events ([`order::Replay`]); if that does not reach back far enough,
//!   the tab catches up over a short connection of its own, up to the id the leader had; if the
//!   tab's id is from an earlier run of the server, it gets a `reset`, as the server would send.
//! - **Fallback**: the Web Locks API exists only in secure contexts (HTTPS, localhost), so a
//!   deployment over plain HTTP on a LAN address has none. There the tabs elect their leader over
//!   the `BroadcastChannel` alone (`election`): a visible tab claims the lead with a random rank
//!   unless it hears a leader, the leader sends a heartbeat every second, a follower claims when
//!   the leader resigns (hidden, page gone) or is silent for three seconds, and of two leaders the
//!   lower rank yields and stops its connection. Hand-over, dedupe and joining are the same as
//!   with the lock; a moment with two leaders costs a connection, never an event. Only without
//!   `BroadcastChannel` does each tab hold its own connection.
//!
//! Each tab keeps its own state: the indicator shows the leader's connection state (the hidden
//! tab shows paused), `resume_from` and `reset` work per tab.
//!
//! Files, each using only those after it: `subscribe` (a page's connections, shared per URL),
//! `reconnect` (the loop keeping one live), `attempt` (one fetch of the stream), `connection`
//! (one stream of the tab: listeners, cursor, state), `tab_group` (channel, messages, taking and
//! leaving the lead), `leadership` (who leads: the Web Lock, or the channel election and its
//! timer), `election` (the channel election's rules), `token` (the subscribe token), `order` (id
//! order, dedupe, the leader's memory), `backoff` (retry delays, silence limit), `browser` (fetch,
//! timers, visibility, online).

#[cfg(feature = "hydrate")]
mod attempt;
mod backoff;
#[cfg(feature = "hydrate")]
mod browser;
#[cfg(feature = "hydrate")]
mod connection;
#[cfg(any(feature = "hydrate", test))]
mod election;
#[cfg(feature = "hydrate")]
mod leadership;
pub mod order;
#[cfg(feature = "hydrate")]
mod reconnect;
#[cfg(feature = "hydrate")]
mod subscribe;
#[cfg(feature = "hydrate")]
mod tab_group;
mod token;

pub use backoff::{backoff_ms, silence_limit_ms, RetryTap};
pub use token::TokenSource;

use super::{encoding::EventStream, status::ConnectionState, StreamItem};
use leptos::{prelude::*, server_fn::ServerFn};
use serde::Serialize;

/// What a page's handler receives.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent<T> {
    /// An event, decoded.
    Item { id: String, event_type: String, item: T },
    /// The stream could not resume from the page's last id (history expired, server restarted):
    /// the page should reload its snapshot. Live events follow.
    Reset { id: String, reason: String },
    /// An event whose data did not decode as `T`.
    Invalid { id: String, error: String },
}

/// Subscribes the current component to the stream server function `F` called with `args`.
pub fn use_event_stream<F, T>(
    args: F,
    resume_from: Option<String>,
    on_event: impl Fn(StreamEvent<T>) + 'static,
) -> Signal<ConnectionState>
where
    F: ServerFn<Output = EventStream<T>> + Serialize + 'static,
    T: StreamItem,
{
    let url = stream_url::<F>(&args);
    let state = RwSignal::new(ConnectionState::Connecting);
    #[cfg(feature = "hydrate")]
    subscribe::subscribe(url, resume_from, state, move |raw: &order::WireEvent| on_event(decode::<T>(raw)));
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, resume_from, on_event);
    state.into()
}

/// The stream's URL: the server function's path with its arguments as the query string (the
/// same encoding server_fn's `GetUrl` decodes).
pub fn stream_url<F: ServerFn + Serialize>(args: &F) -> String {
    let query = serde_qs::to_string(args).unwrap_or_default();
    if query.is_empty() {
        F::url().to_string()
    } else {
        format!("{}?{query}", F::url())
    }
}

#[cfg(feature = "hydrate")]
fn decode<T: StreamItem>(raw: &order::WireEvent) -> StreamEvent<T> {
    if raw.event_type == super::names::RESET_EVENT {
        let reason = serde_json::from_str::<serde_json::Value>(&raw.data)
            .ok()
            .and_then(|v| v.get("reason").and_then(|r| r.as_str()).map(str::to_string))
            .unwrap_or_default();
        return StreamEvent::Reset { id: raw.id.clone(), reason };
    }
    match T::decode(&raw.event_type, &raw.data) {
        Ok(item) => StreamEvent::Item { id: raw.id.clone(), event_type: raw.event_type.clone(), item },
        Err(error) => StreamEvent::Invalid { id: raw.id.clone(), error },
    }
}
