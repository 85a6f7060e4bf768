//! The loop that keeps one connection live (browser only): when to fetch the stream, as what
//! (alone, the group's leader, a tab catching up) and when to wait instead (hidden, offline, a
//! follower, a backoff).
//!
//! Invariants: a connection silent for longer than the silence limit of the announced heartbeat
//! is replaced at once, with resume; a refusal (204, 4xx) ends the loop; any other failure waits
//! out a backoff with jitter ([`backoff_ms`]), cut short by the browser coming online or the tab
//! being shown or hidden. Only the loop's own wakes (`Connection::wake`) move it.

use super::{
    attempt::{connect, Outcome},
    backoff::backoff_ms,
    browser::{hidden, online, sleep},
    connection::Connection,
    tab_group::Role,
};
use crate::streams::status::ConnectionState;
use futures::{channel::mpsc, FutureExt, StreamExt};
use std::{rc::Weak, time::Duration};

/// Runs until the connection is stopped (its last listener left) or refused.
pub(super) async fn run(weak: Weak<Connection>, mut wakes: mpsc::UnboundedReceiver<()>) {
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
                        group.catch_up_done(&*conn, matches!(outcome, Outcome::CaughtUp));
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
