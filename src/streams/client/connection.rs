//! One stream of this tab (browser only): its listeners, its cursor (the last id delivered
//! here), where its next connection resumes, and how its state is shown. The loop that keeps it
//! live is `reconnect` (with `attempt`, one fetch); `subscribe` opens and shares them.
//!
//! Invariants: every event reaches the listeners through [`Connection::deliver`], which applies
//! the dedupe rule against the cursor; only the leader (or a lone tab) reports its connection's
//! state ([`Connection::report`]), followers show the state the leader posts. The connection is
//! the tab's [`Member`] of its [`TabGroup`]: the group drives it through that trait alone.

use super::{
    order::{self, WireEvent},
    tab_group::{Member, TabGroup},
    token::TokenSlot,
};
use crate::streams::status::{ConnectionRegistry, ConnectionState};
use futures::channel::mpsc;
use leptos::prelude::*;
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

pub(super) type Listener = Rc<dyn Fn(&WireEvent)>;

pub(super) struct Connection {
    pub(super) url: String,
    pub(super) listeners: RefCell<Vec<(u64, Listener)>>,
    pub(super) next_listener: Cell<u64>,
    /// The last id delivered to this tab's listeners (at first the snapshot's): the dedupe cursor.
    pub(super) cursor: RefCell<Option<String>>,
    /// Where the next connection resumes: the last id its predecessor received.
    pub(super) resume: RefCell<Option<String>>,
    /// The server's `retry:`, the base of the backoff.
    pub(super) retry_ms: Cell<u32>,
    pub(super) stopped: Cell<bool>,
    pub(super) abort: RefCell<Option<web_sys::AbortController>>,
    wake: mpsc::UnboundedSender<()>,
    state: Cell<ConnectionState>,
    pub(super) states: RefCell<Vec<RwSignal<ConnectionState>>>,
    registry: Option<(ConnectionRegistry, u64)>,
    /// The browser came back online: the next attempt goes at once.
    pub(super) kick: Cell<bool>,
    pub(super) window_listeners: RefCell<Vec<WindowListenerHandle>>,
    pub(super) group: Option<TabGroup>,
    /// The subscribe token this connection sends, once a 401 or an `auth-expired` asked for one.
    pub(super) token: TokenSlot,
}

impl Connection {
    /// A connection of the stream at `url`, starting after `resume_from`; `wake` reaches its loop.
    /// Registers with the page's connection indicator and joins the stream's tab group, if the
    /// browser has one.
    pub(super) fn new(url: String, resume_from: Option<String>, wake: mpsc::UnboundedSender<()>) -> Self {
        let registry = use_context::<ConnectionRegistry>()
            .map(|registry| (registry, registry.register(ConnectionState::Connecting)));
        Self {
            group: TabGroup::new(&url),
            url,
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
            token: TokenSlot::from_context(),
        }
    }

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
    pub(super) fn report(&self, state: ConnectionState) {
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

    /// Aborts the fetch in flight, if any.
    pub(super) fn interrupt(&self) {
        if let Some(controller) = self.abort.borrow_mut().take() {
            controller.abort();
        }
    }

    /// Wakes the loop (out of a backoff or a wait).
    pub(super) fn wake(&self) {
        let _ = self.wake.unbounded_send(());
    }

    /// The last listener left: ends the loop, leaves the group and the indicator.
    pub(super) fn stop(&self) {
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

impl Member for Connection {
    fn group(&self) -> Option<&TabGroup> {
        self.group.as_ref()
    }

    fn stopped(&self) -> bool {
        self.stopped.get()
    }

    fn state(&self) -> ConnectionState {
        Connection::state(self)
    }

    fn set_state(&self, state: ConnectionState) {
        Connection::set_state(self, state);
    }

    fn cursor(&self) -> Option<String> {
        self.cursor.borrow().clone()
    }

    fn resume_from(&self, from: Option<String>) {
        *self.resume.borrow_mut() = from;
    }

    fn deliver(&self, event: &WireEvent) {
        Connection::deliver(self, event);
    }

    fn interrupt(&self) {
        Connection::interrupt(self);
    }

    fn wake(&self) {
        Connection::wake(self);
    }
}
