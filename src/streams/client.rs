//! `use_event_stream`: a page's typed subscription to a stream server function.
//!
//! What it does for the page (in the hydrated app; on the server it does nothing):
//! - opens the stream declared by the server function `F` (URL and query from `F`'s arguments)
//!   with `fetch`, which unlike `EventSource` can send `Last-Event-ID` and be aborted;
//! - starts after `resume_from` (the event id of the page's server-rendered snapshot), so nothing
//!   published between render and subscribe is lost;
//! - on a dropped connection, reconnects with exponential backoff and jitter (starting from the
//!   server's `retry:`), resuming after the last id it saw;
//! - closes the stream while the tab is hidden and resumes (with the last id) when it is shown;
//! - closes it when the component unmounts;
//! - shares one connection between panels of a page that open the same stream from the same point;
//! - on a 401 or an `auth-expired` event, gets a fresh subscribe token and resumes with it
//!   ([`super::client_token`]);
//! - reports connecting / live / reconnecting / paused / offline to the header indicator.

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
    browser::subscribe(url, resume_from, state, move |raw: &browser::RawEvent| on_event(decode::<T>(raw)));
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
fn decode<T: StreamItem>(raw: &browser::RawEvent) -> StreamEvent<T> {
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

/// Backoff before reconnect attempt `attempt` (1-based): the server's retry doubled per failed
/// attempt, capped at 30 s, then scaled by `jitter` in [0, 1) to between half and all of it, so
/// clients dropped together (a deploy) do not return together.
pub fn backoff_ms(retry_ms: u32, attempt: u32, jitter: f64) -> u32 {
    let exp = attempt.saturating_sub(1).min(16);
    let full = (retry_ms.max(100) as u64).saturating_mul(1 << exp).min(30_000) as f64;
    (full * (0.5 + 0.5 * jitter.clamp(0.0, 1.0))) as u32
}

/// Watches a byte stream for `retry:` lines, which the SSE parser we use drops when they stand
/// alone (as pulseboard sends them). Keeps at most a few bytes of the current line.
#[derive(Default)]
pub struct RetryTap {
    line: Vec<u8>,
    overflow: bool,
}

impl RetryTap {
    const MAX: usize = 24;

    /// Feeds a chunk; returns the last complete `retry:` value in it, if any.
    pub fn feed(&mut self, chunk: &[u8]) -> Option<u32> {
        let mut found = None;
        for &byte in chunk {
            if byte == b'\n' || byte == b'\r' {
                if !self.overflow {
                    if let Some(value) = self.line.strip_prefix(b"retry:") {
                        let value = value.strip_prefix(b" ").unwrap_or(value);
                        if !value.is_empty() && value.iter().all(u8::is_ascii_digit) {
                            found = std::str::from_utf8(value).ok().and_then(|v| v.parse().ok());
                        }
                    }
                }
                self.line.clear();
                self.overflow = false;
            } else if !self.overflow {
                if self.line.len() < Self::MAX {
                    self.line.push(byte);
                } else {
                    self.overflow = true;
                }
            }
        }
        found
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{backoff_ms, RetryTap};
    use crate::streams::status::{ConnectionRegistry, ConnectionState};
    use futures::{channel::mpsc, FutureExt, StreamExt};
    use leptos::prelude::*;
    use send_wrapper::SendWrapper;
    use std::{
        cell::{Cell, RefCell},
        collections::HashMap,
        rc::{Rc, Weak},
        time::Duration,
    };
    use wasm_bindgen::{JsCast, JsValue};

    #[derive(Debug, Clone)]
    pub struct RawEvent {
        pub id: String,
        pub event_type: String,
        pub data: String,
    }

    type Listener = Rc<dyn Fn(&RawEvent)>;

    /// One fetch-based SSE connection and everyone listening to it.
    struct Connection {
        url: String,
        listeners: RefCell<Vec<(u64, Listener)>>,
        next_listener: Cell<u64>,
        last_id: RefCell<Option<String>>,
        retry_ms: Cell<u32>,
        stopped: Cell<bool>,
        abort: RefCell<Option<web_sys::AbortController>>,
        wake: mpsc::UnboundedSender<()>,
        states: RefCell<Vec<RwSignal<ConnectionState>>>,
        registry: Option<(ConnectionRegistry, u64)>,
        token: crate::streams::client_token::TokenSlot,
    }

    impl Connection {
        fn set_state(&self, state: ConnectionState) {
            for signal in self.states.borrow().iter() {
                signal.set(state);
            }
            if let Some((registry, key)) = &self.registry {
                registry.set(*key, state);
            }
        }

        fn dispatch(&self, event: &RawEvent) {
            let listeners: Vec<Listener> = self.listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
            for listener in listeners {
                listener(event);
            }
        }

        fn interrupt(&self) {
            if let Some(controller) = self.abort.borrow_mut().take() {
                controller.abort();
            }
        }

        fn stop(&self) {
            self.stopped.set(true);
            self.interrupt();
            let _ = self.wake.unbounded_send(());
            if let Some((registry, key)) = &self.registry {
                registry.remove(*key);
            }
        }
    }

    thread_local! {
        /// Open connections of this page by URL, for sharing.
        static OPEN: RefCell<HashMap<String, Weak<Connection>>> = RefCell::new(HashMap::new());
    }

    pub fn subscribe(
        url: String,
        resume_from: Option<String>,
        state: RwSignal<ConnectionState>,
        listener: impl Fn(&RawEvent) + 'static,
    ) {
        let listener: Listener = Rc::new(listener);
        // Share an open connection when joining it loses nothing: the caller starts from where
        // that connection is now (or has no snapshot to continue from).
        let shared = OPEN
            .with(|open| open.borrow().get(&url).and_then(Weak::upgrade))
            .filter(|conn| !conn.stopped.get() && (resume_from.is_none() || *conn.last_id.borrow() == resume_from));
        let conn = match shared {
            Some(conn) => {
                state.set(
                    conn.states.borrow().first().map(|s| s.get_untracked()).unwrap_or(ConnectionState::Connecting),
                );
                conn
            }
            None => open(url, resume_from),
        };
        let key = conn.next_listener.get();
        conn.next_listener.set(key + 1);
        conn.listeners.borrow_mut().push((key, listener));
        conn.states.borrow_mut().push(state);

        let conn_for_cleanup = SendWrapper::new(conn);
        on_cleanup(move || {
            let conn = conn_for_cleanup.take();
            conn.listeners.borrow_mut().retain(|(k, _)| *k != key);
            conn.states.borrow_mut().retain(|s| *s != state);
            if conn.listeners.borrow().is_empty() {
                conn.stop();
                // Only this connection's entry: a newer one for the same URL (opened after a
                // snapshot reload) keeps its place, so later panels still share it.
                OPEN.with(|open| {
                    let mut open = open.borrow_mut();
                    let is_this =
                        open.get(&conn.url).is_some_and(|entry| std::ptr::eq(entry.as_ptr(), Rc::as_ptr(&conn)));
                    if is_this {
                        open.remove(&conn.url);
                    }
                });
            }
        });
    }

    fn open(url: String, resume_from: Option<String>) -> Rc<Connection> {
        let (wake, wakes) = mpsc::unbounded();
        let registry = use_context::<ConnectionRegistry>()
            .map(|registry| (registry, registry.register(ConnectionState::Connecting)));
        let conn = Rc::new(Connection {
            url: url.clone(),
            listeners: RefCell::new(Vec::new()),
            next_listener: Cell::new(0),
            last_id: RefCell::new(resume_from),
            retry_ms: Cell::new(1000),
            stopped: Cell::new(false),
            abort: RefCell::new(None),
            wake,
            states: RefCell::new(Vec::new()),
            registry,
            token: Default::default(),
        });
        OPEN.with(|open| open.borrow_mut().insert(url, Rc::downgrade(&conn)));

        // Hidden tab: close the stream; shown again: wake the loop, which resumes.
        let visibility = leptos_use_document_visibility::use_document_visibility();
        let weak = SendWrapper::new(Rc::downgrade(&conn));
        Effect::new(move |_| {
            let visible = visibility.get() != web_sys::VisibilityState::Hidden;
            if let Some(conn) = weak.upgrade() {
                if !visible {
                    conn.interrupt();
                }
                let _ = conn.wake.unbounded_send(());
            }
        });

        leptos::task::spawn_local(run(Rc::downgrade(&conn), wakes));
        conn
    }

    fn hidden() -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.visibility_state() == web_sys::VisibilityState::Hidden)
    }

    enum Outcome {
        /// The stream ended or broke after it was live: reconnect.
        Dropped { was_live: bool },
        /// The server said stop (204) or refused for good (4xx).
        Refused,
    }

    async fn run(weak: Weak<Connection>, mut wakes: mpsc::UnboundedReceiver<()>) {
        let mut attempt = 0u32;
        let mut ever_live = false;
        loop {
            let Some(conn) = weak.upgrade() else { return };
            if conn.stopped.get() {
                return;
            }
            if hidden() {
                conn.set_state(ConnectionState::Paused);
                drop(conn);
                if wakes.next().await.is_none() {
                    return;
                }
                continue;
            }
            conn.set_state(if ever_live || attempt > 0 {
                ConnectionState::Reconnecting
            } else {
                ConnectionState::Connecting
            });
            let outcome = connect(&conn).await;
            if conn.stopped.get() {
                return;
            }
            match outcome {
                Outcome::Refused => {
                    conn.set_state(ConnectionState::Offline);
                    return;
                }
                Outcome::Dropped { was_live } => {
                    ever_live |= was_live;
                    attempt = if was_live { 1 } else { attempt + 1 };
                }
            }
            if hidden() {
                continue;
            }
            let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
            conn.set_state(if online { ConnectionState::Reconnecting } else { ConnectionState::Offline });
            let delay = backoff_ms(conn.retry_ms.get(), attempt, js_sys::Math::random());
            drop(conn);
            // Wakes sent before now (e.g. the visibility effect's first run) are stale.
            while wakes.try_recv().is_ok() {}
            // Wait out the backoff, or less if the tab becomes hidden/visible meanwhile.
            let timer = sleep(Duration::from_millis(delay as u64)).fuse();
            let woken = wakes.next().fuse();
            futures::pin_mut!(timer, woken);
            futures::select! {
                _ = timer => {},
                w = woken => if w.is_none() { return },
            }
        }
    }

    async fn sleep(duration: Duration) {
        let (done, wait) = futures::channel::oneshot::channel::<()>();
        set_timeout(
            move || {
                let _ = done.send(());
            },
            duration,
        );
        let _ = wait.await;
    }

    async fn connect(conn: &Connection) -> Outcome {
        let controller = web_sys::AbortController::new().ok();
        *conn.abort.borrow_mut() = controller.clone();
        let last_id = conn.last_id.borrow().clone();
        let authorization = conn.token.authorization();
        let response = match fetch(&conn.url, last_id.as_deref(), authorization.as_deref(), controller.as_ref()).await {
            Ok(response) => response,
            Err(_) => return Outcome::Dropped { was_live: false },
        };
        let status = response.status();
        let is_sse = response
            .headers()
            .get("content-type")
            .ok()
            .flatten()
            .is_some_and(|t| t.starts_with(crate::streams::CONTENT_TYPE));
        if status == 401 && conn.token.refresh().await {
            return Outcome::Dropped { was_live: false };
        }
        if status == 204 || (400..500).contains(&status) {
            leptos::logging::warn!("stream {} refused with status {status}", conn.url);
            return Outcome::Refused;
        }
        if status != 200 || !is_sse {
            // 5xx (e.g. 503 while the server restarts): try again later.
            return Outcome::Dropped { was_live: false };
        }
        let Some(body) = response.body() else {
            return Outcome::Dropped { was_live: false };
        };
        conn.set_state(ConnectionState::Live);
        conn.token.accepted();

        let mut tap = RetryTap::default();
        let retry = Rc::new(Cell::new(None::<u32>));
        let retry_seen = retry.clone();
        let bytes = wasm_streams::ReadableStream::from_raw(body.unchecked_into()).into_stream().map(
            move |chunk: Result<JsValue, JsValue>| match chunk {
                Ok(value) => {
                    let bytes = js_sys::Uint8Array::new(&value).to_vec();
                    if let Some(ms) = tap.feed(&bytes) {
                        retry_seen.set(Some(ms));
                    }
                    Ok::<_, String>(bytes)
                }
                Err(err) => Err(format!("{err:?}")),
            },
        );
        let mut events = eventsource_stream::Eventsource::eventsource(bytes);
        while let Some(next) = events.next().await {
            if let Some(ms) = retry.take() {
                conn.retry_ms.set(ms);
            }
            let Ok(event) = next else { break };
            if conn.stopped.get() {
                break;
            }
            if event.event == crate::streams::client_token::AUTH_EXPIRED_EVENT {
                // The server closes the stream next: reconnect from the last id with a new token.
                conn.token.refresh().await;
                break;
            }
            if !event.id.is_empty() {
                *conn.last_id.borrow_mut() = Some(event.id.clone());
            }
            conn.dispatch(&RawEvent { id: event.id, event_type: event.event, data: event.data });
        }
        if let Some(ms) = retry.take() {
            conn.retry_ms.set(ms);
        }
        conn.abort.borrow_mut().take();
        Outcome::Dropped { was_live: true }
    }

    async fn fetch(
        url: &str,
        last_id: Option<&str>,
        authorization: Option<&str>,
        controller: Option<&web_sys::AbortController>,
    ) -> Result<web_sys::Response, JsValue> {
        let headers = web_sys::Headers::new()?;
        headers.set("accept", crate::streams::CONTENT_TYPE)?;
        if let Some(authorization) = authorization {
            headers.set("authorization", authorization)?;
        }
        if let Some(id) = last_id {
            headers.set("last-event-id", id)?;
        }
        let init = web_sys::RequestInit::new();
        init.set_method("GET");
        init.set_headers(&headers);
        init.set_cache(web_sys::RequestCache::NoStore);
        if let Some(controller) = controller {
            init.set_signal(Some(&controller.signal()));
        }
        let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
        let response = wasm_bindgen_futures::JsFuture::from(window.fetch_with_str_and_init(url, &init)).await?;
        response.dyn_into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_jitters() {
        assert_eq!(backoff_ms(1000, 1, 1.0), 1000);
        assert_eq!(backoff_ms(1000, 1, 0.0), 500);
        assert_eq!(backoff_ms(1000, 3, 1.0), 4000);
        assert_eq!(backoff_ms(1000, 30, 1.0), 30_000);
        assert_eq!(backoff_ms(1000, 30, 0.0), 15_000);
        assert!((750..=1000).contains(&backoff_ms(1000, 1, 0.6)));
    }

    #[test]
    fn retry_tap_finds_retry_lines_across_chunks() {
        let mut tap = RetryTap::default();
        assert_eq!(tap.feed(b"retry: 25"), None);
        assert_eq!(tap.feed(b"00\n\nid: x\ndata: retry: 9\n\n"), Some(2500));
        assert_eq!(tap.feed(b"retry:7\r\n"), Some(7));
        assert_eq!(tap.feed(b"retry: 1x\n"), None, "only all-digit values count");
        assert_eq!(tap.feed(b"data: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), None);
    }
}
