//! One fetch of a stream (browser only): the request (resume point, token), what the answer's
//! status means, and reading its events until it ends, goes silent or, for a catch-up, reaches
//! its target.
//!
//! Invariants: events are delivered through `Connection::deliver` (the dedupe rule), and a
//! leader's are handed to its group first; a 401 is answered once with a fresh token, an
//! `auth-expired` notice ends the fetch after fetching one, so the next resumes from the last id.

use super::{
    backoff::{silence_limit_ms, RetryTap},
    browser::{fetch, watchdog},
    connection::Connection,
    order::{self, WireEvent},
    tab_group::Role,
};
use crate::streams::status::ConnectionState;
use futures::{FutureExt, StreamExt};
use std::{cell::Cell, rc::Rc};
use wasm_bindgen::{JsCast, JsValue};

/// How a fetch ended.
pub(super) enum Outcome {
    /// The stream ended or broke after it was live: reconnect.
    Dropped { was_live: bool },
    /// Nothing arrived for longer than the silence limit: replaced at once.
    Silent,
    /// A catch-up connection reached the id it was opened for.
    CaughtUp,
    /// The server said stop (204) or refused for good (4xx).
    Refused,
}

/// One fetch of the stream, from `from`. With `until`, a catch-up: its events go to this tab only
/// and it ends once the cursor reaches `until`; without, the tab's (or group's) connection.
pub(super) async fn connect(conn: &Connection, from: Option<String>, until: Option<&str>) -> Outcome {
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
