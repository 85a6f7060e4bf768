//! One stream of this tab (browser only): its listeners, its cursor (the last id delivered
//! here), and the loop that keeps it live, either alone (no tab group: the fallback) or as a
//! member of the stream's [`TabGroup`] (leader: it holds the connection; follower: the leader
//! hands it the events).
//!
//! Invariants: every event reaches the listeners through [`Connection::deliver`], which applies
//! the dedupe rule against the cursor; only the leader (or a lone tab) reports its connection's
//! state, followers show the state the leader posts; a connection silent for longer than
//! [`silence_limit_ms`] of the announced heartbeat is aborted and replaced at once, with resume.

use super::{
    backoff::{backoff_ms, silence_limit_ms, RetryTap},
    browser::{fetch, hidden, online, sleep, watchdog},
    order::{self, WireEvent},
    tab_group::{Role, TabGroup},
    token::TokenSlot,
};
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

type Listener = Rc<dyn Fn(&WireEvent)>;

pub(super) struct Connection {
    url: String,
    listeners: RefCell<Vec<(u64, Listener)>>,
    next_listener: Cell<u64>,
    /// The last id delivered to this tab's listeners (at first the snapshot's): the dedupe cursor.
    pub(super) cursor: RefCell<Option<String>>,
    /// Where the next connection resumes: the last id its predecessor received.
    pub(super) resume: RefCell<Option<String>>,
    retry_ms: Cell<u32>,
    pub(super) stopped: Cell<bool>,
    abort: RefCell<Option<web_sys::AbortController>>,
    wake: mpsc::UnboundedSender<()>,
    state: Cell<ConnectionState>,
    states: RefCell<Vec<RwSignal<ConnectionState>>>,
    registry: Option<(ConnectionRegistry, u64)>,
    /// The browser came back online: the next attempt goes at once.
    kick: Cell<bool>,
    window_listeners: RefCell<Vec<WindowListenerHandle>>,
    pub(super) group: Option<TabGroup>,
    /// The subscribe token this connection sends, once a 401 or an `auth-expired` asked for one.
    token: TokenSlot,
}

impl Connection {
    pub(super) fn state(&self) -> ConnectionState {
        self.state.get()
    }

    /// Shows `state` in this tab.
    pub(super) fn set_state(&self, state: ConnectionState) {
        self.state.set(state);
        for signal in self.states.borrow().iter() {
            signal.set(state);
        }
        if let Some((registry, key)) = &self.registry {
            registry.set(*key, state);
        }
    }

    /// The state of this tab's own connection: shown here and, by a leader, posted to the group.
    fn report(&self, state: ConnectionState) {
        self.set_state(state);
        if let Some(group) = &self.group {
            group.post_state(state);
        }
    }

    /// Hands `event` to the listeners unless it is not later than the last one delivered.
    pub(super) fn deliver(&self, event: &WireEvent) {
        let is_reset = event.event_type == crate::streams::names::RESET_EVENT;
        if !order::should_deliver(self.cursor.borrow().as_deref(), &event.id, is_reset) {
            return;
        }
        if !event.id.is_empty() {
            *self.cursor.borrow_mut() = Some(event.id.clone());
        }
        let listeners: Vec<Listener> = self.listeners.borrow().iter().map(|(_, l)| l.clone()).collect();
        for listener in listeners {
            listener(event);
        }
    }

    pub(super) fn interrupt(&self) {
        if let Some(controller) = self.abort.borrow_mut().take() {
            controller.abort();
        }
    }

    pub(super) fn wake(&self) {
        let _ = self.wake.unbounded_send(());
    }

    fn stop(&self) {
        self.stopped.set(true);
        self.interrupt();
        self.wake();
        if let Some(group) = &self.group {
            group.close();
        }
        for handle in self.window_listeners.borrow_mut().drain(..) {
            handle.remove();
        }
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
    listener: impl Fn(&WireEvent) + 'static,
) {
    let listener: Listener = Rc::new(listener);
    // Share an open connection when joining it loses nothing: the caller starts from where
    // that connection is now (or has no snapshot to continue from).
    let shared = OPEN
        .with(|open| open.borrow().get(&url).and_then(Weak::upgrade))
        .filter(|conn| !conn.stopped.get() && (resume_from.is_none() || *conn.cursor.borrow() == resume_from));
    let conn = match shared {
        Some(conn) => {
            state.set(conn.state());
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
                let is_this = open.get(&conn.url).is_some_and(|entry| std::ptr::eq(entry.as_ptr(), Rc::as_ptr(&conn)));
                if is_this {
                    open.remove(&conn.url);
                }
            });
        }
    });
}

fn open(url: String, resume_from: Option<String>) -> Rc<Connection> {
    let (wake, wakes) = mpsc::unbounded();
    let registry =
        use_context::<ConnectionRegistry>().map(|registry| (registry, registry.register(ConnectionState::Connecting)));
    let conn = Rc::new(Connection {
        url: url.clone(),
        listeners: RefCell::new(Vec::new()),
        next_listener: Cell::new(0),
        cursor: RefCell::new(resume_from.clone()),
        resume: RefCell::new(resume_from),
        retry_ms: Cell::new(1000),
        stopped: Cell::new(false),
        abort: RefCell::new(None),
        wake,
        state: Cell::new(ConnectionState::Connecting),
        states: RefCell::new(Vec::new()),
        registry,
        kick: Cell::new(false),
        window_listeners: RefCell::new(Vec::new()),
        group: TabGroup::new(&url),
        token: TokenSlot::from_context(),
    });
    if let Some(group) = &conn.group {
        group.listen(Rc::downgrade(&conn));
    }
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
            conn.wake();
        }
    });
    // Back online: reconnect now rather than at the end of a backoff. Offline: drop the
    // connection (it cannot work) and wait for `online` without spending attempts.
    let weak = Rc::downgrade(&conn);
    let online = window_event_listener_untyped("online", move |_| {
        if let Some(conn) = weak.upgrade() {
            conn.kick.set(true);
            conn.wake();
        }
    });
    let weak = Rc::downgrade(&conn);
    let offline = window_event_listener_untyped("offline", move |_| {
        if let Some(conn) = weak.upgrade() {
            conn.interrupt();
            conn.wake();
        }
    });
    conn.window_listeners.borrow_mut().extend([online, offline]);

    leptos::task::spawn_local(run(Rc::downgrade(&conn), wakes));
    conn
}

enum Outcome {
    /// The stream ended or broke after it was live: reconnect.
    Dropped { was_live: bool },
    /// Nothing arrived for longer than the silence limit: replaced at once.
    Silent,
    /// A catch-up connection reached the id it was opened for.
    CaughtUp,
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
            if let Some(group) = &conn.group {
                group.deactivate();
            }
            conn.set_state(ConnectionState::Paused);
            drop(conn);
            if wakes.next().await.is_none() {
                return;
            }
            continue;
        }
        let mut fresh_lead = false;
        if let Some(group) = &conn.group {
            if conn.state() == ConnectionState::Paused {
                conn.set_state(ConnectionState::Reconnecting);
            }
            group.activate(&conn);
            match group.role() {
                Role::Leader => {
                    // Just granted the lock (which also set where the connection resumes).
                    if group.take_fresh_lead() {
                        attempt = 0;
                        fresh_lead = true;
                    }
                }
                Role::CatchingUp { target } => {
                    let from = conn.cursor.borrow().clone();
                    let outcome = connect(&conn, from, Some(&target)).await;
                    if !conn.stopped.get() && !hidden() {
                        group.catch_up_done(&conn, matches!(outcome, Outcome::CaughtUp));
                    }
                    continue;
                }
                _ => {
                    // A follower: the leader's events and state arrive on the channel.
                    drop(conn);
                    if wakes.next().await.is_none() {
                        return;
                    }
                    continue;
                }
            }
        }
        if conn.kick.take() {
            attempt = 0;
        }
        if !online() {
            attempt = 0;
            conn.report(ConnectionState::Offline);
            drop(conn);
            if wakes.next().await.is_none() {
                return;
            }
            continue;
        }
        // A new leader of a live group stays "live" while it takes over.
        if !(fresh_lead && conn.state() == ConnectionState::Live) {
            conn.report(if ever_live || attempt > 0 {
                ConnectionState::Reconnecting
            } else {
                ConnectionState::Connecting
            });
        }
        let from = conn.resume.borrow().clone();
        let outcome = connect(&conn, from, None).await;
        if conn.stopped.get() {
            return;
        }
        match outcome {
            Outcome::Refused => {
                conn.report(ConnectionState::Offline);
                return;
            }
            Outcome::Silent => {
                ever_live = true;
                attempt = 0;
                continue;
            }
            // Only catch-up connections end this way.
            Outcome::CaughtUp => {}
            Outcome::Dropped { was_live } => {
                ever_live |= was_live;
                attempt = if was_live { 1 } else { attempt + 1 };
            }
        }
        if hidden() || !online() || conn.group.as_ref().is_some_and(|g| g.role() != Role::Leader) {
            continue;
        }
        conn.report(ConnectionState::Reconnecting);
        let delay = backoff_ms(conn.retry_ms.get(), attempt, js_sys::Math::random());
        drop(conn);
        // Wakes sent before now (e.g. the visibility effect's first run) are stale.
        while wakes.try_recv().is_ok() {}
        // Wait out the backoff, or less if the tab becomes hidden/visible or online meanwhile.
        let timer = sleep(Duration::from_millis(delay as u64)).fuse();
        let woken = wakes.next().fuse();
        futures::pin_mut!(timer, woken);
        futures::select! {
            _ = timer => {},
            w = woken => if w.is_none() { return },
        }
    }
}

/// One fetch of the stream, from `from`. With `until`, a catch-up: its events go to this tab only
/// and it ends once the cursor reaches `until`; without, the tab's (or group's) connection.
async fn connect(conn: &Connection, from: Option<String>, until: Option<&str>) -> Outcome {
    let controller = web_sys::AbortController::new().ok();
    *conn.abort.borrow_mut() = controller.clone();
    let authorization = conn.token.authorization();
    let response = match fetch(&conn.url, from.as_deref(), authorization.as_deref(), controller.as_ref()).await {
        Ok(response) => response,
        Err(_) => return Outcome::Dropped { was_live: false },
    };
    let status = response.status();
    let headers = response.headers();
    let is_sse =
        headers.get("content-type").ok().flatten().is_some_and(|t| t.starts_with(crate::streams::CONTENT_TYPE));
    let heartbeat_ms =
        headers.get(crate::streams::HEARTBEAT_HEADER).ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
    // A stream that needs a token: fetch one (once) and go again from the same point.
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
    let leading = until.is_none() && conn.group.as_ref().is_some_and(|g| g.role() == Role::Leader);
    if until.is_none() {
        conn.report(ConnectionState::Live);
    }
    conn.token.accepted();

    let mut tap = RetryTap::default();
    let retry = Rc::new(Cell::new(None::<u32>));
    let retry_seen = retry.clone();
    // Any bytes count as a sign of life, heartbeat comments included (the parser hides those).
    let last_bytes = Rc::new(Cell::new(js_sys::Date::now()));
    let last_bytes_seen = last_bytes.clone();
    let bytes = wasm_streams::ReadableStream::from_raw(body.unchecked_into()).into_stream().map(
        move |chunk: Result<JsValue, JsValue>| match chunk {
            Ok(value) => {
                last_bytes_seen.set(js_sys::Date::now());
                let bytes = js_sys::Uint8Array::new(&value).to_vec();
                if let Some(ms) = tap.feed(&bytes) {
                    retry_seen.set(Some(ms));
                }
                Ok::<_, String>(bytes)
            }
            Err(err) => Err(format!("{err:?}")),
        },
    );
    let mut events = Box::pin(eventsource_stream::Eventsource::eventsource(bytes));
    let watchdog = watchdog(last_bytes, heartbeat_ms.map(silence_limit_ms)).fuse();
    futures::pin_mut!(watchdog);
    let mut outcome = Outcome::Dropped { was_live: true };
    loop {
        let next = futures::select! {
            next = events.next().fuse() => next,
            () = watchdog => {
                leptos::logging::warn!("stream {} silent for too long: reconnecting", conn.url);
                conn.interrupt();
                outcome = Outcome::Silent;
                break;
            }
        };
        if let Some(ms) = retry.take() {
            conn.retry_ms.set(ms);
        }
        let Some(Ok(event)) = next else { break };
        if conn.stopped.get() {
            break;
        }
        // The token ran out: a fresh one, then resume from the last id (the notice has no id).
        if event.event == crate::streams::names::AUTH_EXPIRED_EVENT {
            conn.token.refresh().await;
            break;
        }
        let event = WireEvent { id: event.id, event_type: event.event, data: event.data };
        match until {
            None => {
                if !event.id.is_empty() {
                    *conn.resume.borrow_mut() = Some(event.id.clone());
                }
                if leading {
                    if let Some(group) = &conn.group {
                        group.publish(&event);
                    }
                }
                conn.deliver(&event);
            }
            Some(target) => {
                conn.deliver(&event);
                if !order::should_deliver(conn.cursor.borrow().as_deref(), target, false) {
                    conn.interrupt();
                    outcome = Outcome::CaughtUp;
                    break;
                }
            }
        }
    }
    if let Some(ms) = retry.take() {
        conn.retry_ms.set(ms);
    }
    conn.abort.borrow_mut().take();
    outcome
}
