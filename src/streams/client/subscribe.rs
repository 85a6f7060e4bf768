//! Opening a page's streams (browser only): one [`Connection`] per stream URL shared by the
//! page's panels, the browser events it follows (visibility, online, offline), and its end when
//! the last panel using it unmounts.
//!
//! Invariant: a panel joins an open connection only when joining loses nothing (it starts from
//! where that connection is now, or has no snapshot to continue from); otherwise it gets a
//! connection of its own, which then takes the URL's place for later panels.

use super::{
    connection::{Connection, Listener},
    order::WireEvent,
    reconnect::run,
};
use crate::streams::status::ConnectionState;
use futures::channel::mpsc;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use std::{
    cell::RefCell,
    collections::HashMap,
    rc::{Rc, Weak},
};

thread_local! {
    /// Open connections of this page by URL, for sharing.
    static OPEN: RefCell<HashMap<String, Weak<Connection>>> = RefCell::new(HashMap::new());
}

/// Delivers the stream at `url` to `listener` and its state to `state` until the calling
/// component unmounts.
pub fn subscribe(
    url: String,
    resume_from: Option<String>,
    state: RwSignal<ConnectionState>,
    listener: impl Fn(&WireEvent) + 'static,
) {
    let listener: Listener = Rc::new(listener);
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
    let conn = Rc::new(Connection::new(url.clone(), resume_from, wake));
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
