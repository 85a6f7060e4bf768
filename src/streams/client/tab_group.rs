//! The tabs of one origin sharing one stream (browser only): the `BroadcastChannel` the leader
//! hands events over on, the few messages the tabs exchange, and what a tab does when it becomes
//! or stops being the leader. Who leads is decided behind [`Leadership`] (a Web Lock, or an
//! election over this same channel where the browser has no Web Locks). The rules (election,
//! hand-over, dedupe, joining) are in the parent module's documentation.
//!
//! Messages are arrays of strings (no serialisation code in the bundle), first the kind:
//! - `["e", id, type, data]`: an event of the leader's connection;
//! - `["s", state]`: the leader's connection state (a [`ConnectionState`] label);
//! - `["j", member, after]`: a tab joins, having delivered up to `after` (`""`: nothing);
//! - `["r", member, status, state, newest, (id, type, data)...]`: the leader's answer to `member`;
//!   `status` is `ok` (the events it missed follow), `far` (catch up yourself up to `newest`) or
//!   `epoch` (your id is of another server run: reset at `newest`);
//! - `["l"]`: a new leader took over (tabs still waiting for an answer ask again);
//! - `["c" | "h" | "q", rank]`: the channel election's own (see `leadership`).
//!
//! The group drives its tab's stream through [`Member`] (the connection implements it), so the
//! group knows nothing of the connection's loop. A tab whose page goes (`pagehide`: closed,
//! reloaded, navigated away) leaves the group at once, so the lead moves without waiting for the
//! browser to notice.

use super::{
    browser::hidden,
    leadership::Leadership,
    order::{self, Catchup, Replay, WireEvent},
};
use crate::streams::{names::RESET_EVENT, status::ConnectionState};
use js_sys::Array;
use leptos::prelude::{window_event_listener_untyped, WindowListenerHandle};
use std::{
    cell::{Cell, RefCell},
    mem,
    rc::{Rc, Weak},
};
use wasm_bindgen::{prelude::*, JsCast};

/// Bumped when the messages change, so tabs of two builds never form one group.
const PROTOCOL: &str = "pulseboard-stream/2";

/// Most live events a joining tab holds while it catches up; beyond, it resets instead.
const MAX_PENDING: usize = 4 * Replay::CAPACITY;

type MessageHandler = Closure<dyn FnMut(web_sys::MessageEvent)>;

/// What the group needs of its tab's stream.
pub(super) trait Member: 'static {
    /// The group this tab's stream belongs to (the one calling).
    fn group(&self) -> Option<&TabGroup>;
    fn stopped(&self) -> bool;
    fn state(&self) -> ConnectionState;
    /// Shows `state` in this tab.
    fn set_state(&self, state: ConnectionState);
    /// The last id delivered to this tab.
    fn cursor(&self) -> Option<String>;
    /// Where the tab's next connection resumes.
    fn resume_from(&self, from: Option<String>);
    /// Hands `event` to the tab's listeners (through the dedupe rule).
    fn deliver(&self, event: &WireEvent);
    /// Aborts the tab's fetch in flight.
    fn interrupt(&self);
    /// Wakes the tab's loop.
    fn wake(&self);
}

/// What this tab does in the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Role {
    /// Hidden (or stopped): takes no part.
    Inactive,
    /// Asked the leader what it missed; holds live events until the answer.
    Joining,
    /// Catching up over its own connection up to `target`, then takes the held events.
    CatchingUp { target: String },
    /// Delivers the leader's events.
    Follower,
    /// Elected: holds the connection.
    Leader,
}

pub(super) struct TabGroup {
    me: String,
    channel: web_sys::BroadcastChannel,
    leadership: Leadership,
    on_message: RefCell<Option<MessageHandler>>,
    on_pagehide: RefCell<Option<WindowListenerHandle>>,
    role: RefCell<Role>,
    fresh_lead: Cell<bool>,
    /// Live events held while joining or catching up.
    pending: RefCell<Vec<WireEvent>>,
    overflowed: Cell<bool>,
    /// The newest id seen on the channel or delivered here: the group's last id.
    seen: RefCell<Option<String>>,
    /// The leader's recent events, for tabs that join.
    replay: RefCell<Replay>,
}

impl TabGroup {
    /// The group of the stream at `url`; `None` where the browser lacks `BroadcastChannel`
    /// (then the tab keeps its own connection).
    pub(super) fn new(url: &str) -> Option<Self> {
        let window = web_sys::window()?;
        if !js_sys::Reflect::has(&window, &JsValue::from_str("BroadcastChannel")).unwrap_or(false) {
            return None;
        }
        let key = format!("{PROTOCOL} {url}");
        let channel = web_sys::BroadcastChannel::new(&key).ok()?;
        let me = format!("{:x}", (js_sys::Math::random() * 9.0e15) as u64);
        Some(Self {
            me,
            leadership: Leadership::new(&key, &channel),
            channel,
            on_message: RefCell::new(None),
            on_pagehide: RefCell::new(None),
            role: RefCell::new(Role::Inactive),
            fresh_lead: Cell::new(false),
            pending: RefCell::new(Vec::new()),
            overflowed: Cell::new(false),
            seen: RefCell::new(None),
            replay: RefCell::new(Replay::default()),
        })
    }

    /// Starts taking messages for `conn` (which owns this group), and leaving it when the page
    /// goes.
    pub(super) fn listen(&self, conn: Weak<impl Member>) {
        let weak = conn.clone();
        let handler = MessageHandler::new(move |event: web_sys::MessageEvent| {
            if let Some(conn) = weak.upgrade() {
                if let (Some(group), Ok(message)) = (conn.group(), event.data().dyn_into::<Array>()) {
                    if !group.leadership.hear(&conn, &message) {
                        group.on_message(&*conn, &message);
                    }
                }
            }
        });
        self.channel.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        *self.on_message.borrow_mut() = Some(handler);
        let pagehide = window_event_listener_untyped("pagehide", move |_| {
            if let Some(conn) = conn.upgrade() {
                if let Some(group) = conn.group() {
                    group.deactivate();
                }
                conn.interrupt();
            }
        });
        *self.on_pagehide.borrow_mut() = Some(pagehide);
    }

    pub(super) fn leadership(&self) -> &Leadership {
        &self.leadership
    }

    pub(super) fn role(&self) -> Role {
        self.role.borrow().clone()
    }

    fn seen(&self) -> Option<String> {
        self.seen.borrow().clone()
    }

    /// True once after this tab was elected: the loop starts the leader's connection.
    pub(super) fn take_fresh_lead(&self) -> bool {
        self.fresh_lead.replace(false)
    }

    /// The tab is visible: join the group (once) and stand for the lead (once).
    pub(super) fn activate(&self, conn: &Rc<impl Member>) {
        if *self.role.borrow() == Role::Inactive {
            *self.role.borrow_mut() = Role::Joining;
            self.pending.borrow_mut().clear();
            self.overflowed.set(false);
            self.send_join(&**conn);
        }
        self.leadership.stand(conn);
    }

    /// The tab is hidden, its page goes or the stream closes: give the lead back (or stop
    /// standing).
    pub(super) fn deactivate(&self) {
        *self.role.borrow_mut() = Role::Inactive;
        self.pending.borrow_mut().clear();
        self.fresh_lead.set(false);
        self.leadership.withdraw();
    }

    pub(super) fn close(&self) {
        self.deactivate();
        self.channel.set_onmessage(None);
        self.channel.close();
        self.on_message.borrow_mut().take();
        if let Some(handle) = self.on_pagehide.borrow_mut().take() {
            handle.remove();
        }
    }

    /// Leader: hands an event of its connection to the group.
    pub(super) fn publish(&self, event: &WireEvent) {
        self.note_seen(event);
        self.replay.borrow_mut().push(event.clone());
        self.post(&[
            JsValue::from_str("e"),
            JsValue::from_str(&event.id),
            JsValue::from_str(&event.event_type),
            JsValue::from_str(&event.data),
        ]);
    }

    /// Leader: tells the group its connection's state.
    pub(super) fn post_state(&self, state: ConnectionState) {
        if *self.role.borrow() == Role::Leader {
            self.post(&[JsValue::from_str("s"), JsValue::from_str(state.label())]);
        }
    }

    /// The catch-up connection ended: reached its target, or (`false`) failed, when the tab
    /// resets at the target as the server would on an id it can no longer resume from.
    pub(super) fn catch_up_done(&self, conn: &dyn Member, reached: bool) {
        let Role::CatchingUp { target } = self.role() else { return };
        if !reached {
            conn.deliver(&WireEvent::reset(&target, "history-expired"));
        }
        self.become_follower(conn);
    }

    fn post(&self, parts: &[JsValue]) {
        let message: Array = parts.iter().collect();
        let _ = self.channel.post_message(&message);
    }

    fn note_seen(&self, event: &WireEvent) {
        let is_reset = event.event_type == RESET_EVENT;
        if order::should_deliver(self.seen.borrow().as_deref(), &event.id, is_reset) && !event.id.is_empty() {
            *self.seen.borrow_mut() = Some(event.id.clone());
        }
    }

    fn send_join(&self, conn: &dyn Member) {
        let after = conn.cursor().unwrap_or_default();
        self.post(&[JsValue::from_str("j"), JsValue::from_str(&self.me), JsValue::from_str(&after)]);
    }

    /// This tab was elected: it takes the lead and starts the connection, unless it was stopped
    /// or hidden meanwhile (`false`: the leadership gives the lead straight back).
    pub(super) fn elected(&self, conn: &dyn Member) -> bool {
        if conn.stopped() || hidden() || *self.role.borrow() == Role::Inactive {
            return false;
        }
        // Resume no later than any tab got to (the group's last id, or this tab's own cursor if
        // that is earlier): the replayed window is deduped, never skipped. Held events are
        // dropped: the connection brings them again, in order.
        let from = order::earlier(conn.cursor().as_deref(), self.seen.borrow().as_deref()).map(str::to_string);
        self.replay.borrow_mut().restart(from.as_deref());
        conn.resume_from(from);
        *self.role.borrow_mut() = Role::Leader;
        self.pending.borrow_mut().clear();
        self.fresh_lead.set(true);
        self.post(&[JsValue::from_str("l")]);
        // A catch-up connection in progress gives way to the leader's.
        conn.interrupt();
        conn.wake();
        true
    }

    /// Another tab outranks this one as leader: stop the connection and follow. The tab has
    /// delivered the other leader's events all along (a leader takes the channel's too), so it
    /// follows on from where it is, without joining again.
    pub(super) fn deposed(&self, conn: &dyn Member) {
        if *self.role.borrow() != Role::Leader {
            return;
        }
        *self.role.borrow_mut() = Role::Follower;
        self.fresh_lead.set(false);
        conn.interrupt();
        conn.wake();
    }

    fn on_message(&self, conn: &dyn Member, message: &Array) {
        let text = |i: u32| message.get(i).as_string().unwrap_or_default();
        match text(0).as_str() {
            "e" => {
                let event = WireEvent { id: text(1), event_type: text(2), data: text(3) };
                self.note_seen(&event);
                match self.role() {
                    Role::Inactive => {}
                    Role::Joining | Role::CatchingUp { .. } => self.hold(event),
                    Role::Follower | Role::Leader => conn.deliver(&event),
                }
            }
            "s" => {
                if matches!(self.role(), Role::Joining | Role::CatchingUp { .. } | Role::Follower) {
                    if let Some(state) = ConnectionState::from_label(&text(1)) {
                        conn.set_state(state);
                    }
                }
            }
            "j" if self.role() == Role::Leader => self.answer_join(conn, &text(1), &text(2)),
            "r" if self.role() == Role::Joining && text(1) == self.me => self.on_answer(conn, message),
            "l" if self.role() == Role::Joining => self.send_join(conn),
            _ => {}
        }
    }

    fn hold(&self, event: WireEvent) {
        let mut pending = self.pending.borrow_mut();
        if pending.len() < MAX_PENDING {
            pending.push(event);
        } else {
            self.overflowed.set(true);
        }
    }

    fn answer_join(&self, conn: &dyn Member, member: &str, after: &str) {
        let after = (!after.is_empty()).then_some(after);
        let replay = self.replay.borrow();
        let newest = replay.newest().map(str::to_string).or_else(|| self.seen()).or_else(|| conn.cursor());
        let (status, events) = match replay.since(after) {
            Catchup::Events(events) => ("ok", events),
            Catchup::TooOld => ("far", Vec::new()),
            Catchup::OtherEpoch => ("epoch", Vec::new()),
        };
        let mut parts = vec![
            JsValue::from_str("r"),
            JsValue::from_str(member),
            JsValue::from_str(status),
            JsValue::from_str(conn.state().label()),
            JsValue::from_str(newest.as_deref().unwrap_or_default()),
        ];
        for event in &events {
            parts.extend([&event.id, &event.event_type, &event.data].map(|s| JsValue::from_str(s)));
        }
        self.post(&parts);
    }

    fn on_answer(&self, conn: &dyn Member, message: &Array) {
        let text = |i: u32| message.get(i).as_string().unwrap_or_default();
        if let Some(state) = ConnectionState::from_label(&text(3)) {
            conn.set_state(state);
        }
        let newest = text(4);
        match text(2).as_str() {
            "far" if !newest.is_empty() => {
                *self.role.borrow_mut() = Role::CatchingUp { target: newest };
                conn.wake();
            }
            "epoch" if !newest.is_empty() => {
                conn.deliver(&WireEvent::reset(&newest, "unknown-id"));
                self.become_follower(conn);
            }
            _ => {
                let mut i = 5;
                while i + 2 < message.length() {
                    conn.deliver(&WireEvent { id: text(i), event_type: text(i + 1), data: text(i + 2) });
                    i += 3;
                }
                self.become_follower(conn);
            }
        }
    }

    /// Takes the held events (each through the dedupe rule) and follows the leader from now on.
    fn become_follower(&self, conn: &dyn Member) {
        *self.role.borrow_mut() = Role::Follower;
        let pending = mem::take(&mut *self.pending.borrow_mut());
        if self.overflowed.replace(false) {
            // More arrived than could be held: what was dropped cannot be told apart.
            let at = self.seen().unwrap_or_default();
            conn.deliver(&WireEvent::reset(&at, "history-expired"));
            return;
        }
        for event in &pending {
            conn.deliver(event);
        }
    }
}
