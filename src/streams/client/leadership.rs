//! How a tab group picks its leader (browser only), behind one seam: the group asks to stand
//! ([`Leadership::stand`]) and to step back ([`Leadership::withdraw`]), and is told when this tab
//! leads (`TabGroup::elected`, which may refuse) and, with the channel election, when it must stop
//! (`TabGroup::deposed`). The group does not know which of the two is in use:
//!
//! - **Web Lock** where the browser has one (secure contexts: HTTPS, localhost): the tab holding
//!   the lock named after the group's key leads; the browser queues the others and hands the lock
//!   on when its holder releases it or its page goes. web-sys only has the Web Locks API behind
//!   `web_sys_unstable_apis`, so the one call needed is bound here (`LockManager::request`).
//! - **Channel election** elsewhere (plain HTTP on a LAN address: no `navigator.locks`): the
//!   [`Election`] run over the group's `BroadcastChannel`, with one timer for its heartbeats and
//!   timeouts. Its messages are `["c" | "h" | "q", rank]` (claim, heartbeat, resign).

use super::{
    election::{Change, Election, Message, Step},
    tab_group::Member,
};
use js_sys::{Array, Function, Promise};
use leptos::prelude::{set_timeout_with_handle, TimeoutHandle};
use std::{
    cell::RefCell,
    mem,
    rc::{Rc, Weak},
    time::Duration,
};
use wasm_bindgen::{prelude::*, JsCast};

#[wasm_bindgen]
extern "C" {
    type LockManager;
    #[wasm_bindgen(method)]
    fn request(this: &LockManager, name: &str, options: &JsValue, callback: &JsValue) -> Promise;
}

pub(super) enum Leadership {
    Lock(WebLock),
    Channel(ChannelElection),
}

impl Leadership {
    /// The Web Lock named `key` where the browser has Web Locks, else an election on `channel`.
    pub(super) fn new(key: &str, channel: &web_sys::BroadcastChannel) -> Self {
        let locks = web_sys::window()
            .and_then(|w| js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("locks")).ok())
            .filter(|locks| !locks.is_undefined() && !locks.is_null());
        match locks {
            Some(locks) => Self::Lock(WebLock {
                key: key.to_string(),
                locks: locks.unchecked_into(),
                state: RefCell::new(LockState::Idle),
            }),
            None => Self::Channel(ChannelElection {
                channel: channel.clone(),
                election: RefCell::new(Election::new((js_sys::Math::random() * 9.0e15) as u64)),
                timer: RefCell::new(None),
            }),
        }
    }

    /// The tab is visible: stand for the lead (once; again only after [`Leadership::withdraw`]).
    pub(super) fn stand(&self, conn: &Rc<impl Member>) {
        let weak: Weak<dyn Member> = Rc::downgrade(conn) as Weak<dyn Member>;
        match self {
            Self::Lock(lock) => lock.request(weak),
            Self::Channel(vote) => {
                let step = vote.election.borrow_mut().stand(now());
                vote.apply(&**conn, &weak, step);
            }
        }
    }

    /// The tab is hidden or its stream closes: give the lead back, or stop standing.
    pub(super) fn withdraw(&self) {
        match self {
            Self::Lock(lock) => lock.release(),
            Self::Channel(vote) => {
                let step = vote.election.borrow_mut().withdraw();
                vote.post(step.post);
                if let Some(timer) = vote.timer.borrow_mut().take() {
                    timer.clear();
                }
            }
        }
    }

    /// Takes `message` if it is about the lead (whatever this tab's part, hidden tabs included:
    /// they learn who leads). `false`: a message for the group.
    pub(super) fn hear(&self, conn: &Rc<impl Member>, message: &Array) -> bool {
        let Self::Channel(vote) = self else { return false };
        let kind = message.get(0).as_string().unwrap_or_default();
        let Some(message) = Message::parse(&kind, &message.get(1).as_string().unwrap_or_default()) else {
            return false;
        };
        let step = vote.election.borrow_mut().hear(now(), message);
        let weak: Weak<dyn Member> = Rc::downgrade(conn) as Weak<dyn Member>;
        vote.apply(&**conn, &weak, step);
        true
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

pub(super) struct WebLock {
    key: String,
    locks: LockManager,
    state: RefCell<LockState>,
}

enum LockState {
    Idle,
    /// Asked for; aborting the signal withdraws the request.
    Waiting(web_sys::AbortController),
    /// Held until this resolver is called.
    Held(Function),
}

impl WebLock {
    fn request(&self, conn: Weak<dyn Member>) {
        if !matches!(*self.state.borrow(), LockState::Idle) {
            return;
        }
        let Ok(controller) = web_sys::AbortController::new() else { return };
        let options = js_sys::Object::new();
        let _ = js_sys::Reflect::set(&options, &JsValue::from_str("signal"), &controller.signal());
        // Called by the browser when the lock is granted; the lock is held until the promise it
        // returns settles. (A request withdrawn before that never calls it; the closure is freed
        // when the page goes.)
        let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
            let mut release = None;
            let held = Promise::new(&mut |resolve, _reject| release = Some(resolve));
            let Some(release) = release else { return held.into() };
            if let Some(conn) = conn.upgrade() {
                if let Some(Leadership::Lock(lock)) = conn.group().map(|group| group.leadership()) {
                    lock.granted(&*conn, release);
                    return held.into();
                }
            }
            let _ = release.call0(&JsValue::NULL);
            held.into()
        });
        let request = self.locks.request(&self.key, &options, &granted);
        // Withdrawing rejects the request's promise (AbortError): expected, not an error.
        leptos::task::spawn_local(async move {
            let _ = wasm_bindgen_futures::JsFuture::from(request).await;
        });
        *self.state.borrow_mut() = LockState::Waiting(controller);
    }

    fn granted(&self, conn: &dyn Member, release: Function) {
        if !matches!(*self.state.borrow(), LockState::Waiting(_)) {
            // Withdrawn meanwhile.
            let _ = release.call0(&JsValue::NULL);
            return;
        }
        if conn.group().is_some_and(|group| group.elected(conn)) {
            *self.state.borrow_mut() = LockState::Held(release);
        } else {
            // Stopped or hidden meanwhile: give it straight back (and ask again when visible).
            let _ = release.call0(&JsValue::NULL);
            *self.state.borrow_mut() = LockState::Idle;
            conn.wake();
        }
    }

    fn release(&self) {
        match mem::replace(&mut *self.state.borrow_mut(), LockState::Idle) {
            LockState::Idle => {}
            LockState::Waiting(controller) => controller.abort(),
            LockState::Held(release) => {
                let _ = release.call0(&JsValue::NULL);
            }
        }
    }
}

pub(super) struct ChannelElection {
    channel: web_sys::BroadcastChannel,
    election: RefCell<Election>,
    /// Wakes the election at its next deadline while the tab stands.
    timer: RefCell<Option<TimeoutHandle>>,
}

impl ChannelElection {
    fn post(&self, message: Option<Message>) {
        let Some(message) = message else { return };
        let parts: Array =
            [JsValue::from_str(message.kind()), JsValue::from_str(&message.rank().to_string())].iter().collect();
        let _ = self.channel.post_message(&parts);
    }

    /// Does what `step` says, then sets the timer for the election's next deadline.
    fn apply(&self, conn: &dyn Member, weak: &Weak<dyn Member>, step: Step) {
        match step.change {
            Some(Change::Elected) => {
                if conn.group().is_some_and(|group| group.elected(conn)) {
                    self.post(step.post);
                } else {
                    // Stopped or hidden meanwhile: resign at once, so another tab claims.
                    let resign = self.election.borrow_mut().withdraw();
                    self.post(resign.post);
                }
            }
            Some(Change::Deposed) => {
                self.post(step.post);
                if let Some(group) = conn.group() {
                    group.deposed(conn);
                }
            }
            None => self.post(step.post),
        }
        self.arm(weak);
    }

    fn arm(&self, weak: &Weak<dyn Member>) {
        if let Some(timer) = self.timer.borrow_mut().take() {
            timer.clear();
        }
        let Some(deadline) = self.election.borrow().deadline() else { return };
        let weak = weak.clone();
        let wait = Duration::from_millis((deadline - now()).max(0.0).ceil() as u64);
        let timer = set_timeout_with_handle(
            move || {
                let Some(conn) = weak.upgrade() else { return };
                if let Some(Leadership::Channel(vote)) = conn.group().map(|group| group.leadership()) {
                    vote.timer.borrow_mut().take();
                    let step = vote.election.borrow_mut().tick(now());
                    vote.apply(&*conn, &weak, step);
                }
            },
            wait,
        );
        *self.timer.borrow_mut() = timer.ok();
    }
}
