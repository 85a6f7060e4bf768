//! A scroll box that follows its tail, like `tail -f`: the Jobs log and the Inspector's events.
//!
//! While the reader is at the box's bottom, what is appended scrolls into view; once they scroll
//! up, the box stays where they are and a "Jump to the latest" button offers the way back; back at
//! the bottom (by scrolling or by the button) it follows again. The box opens at its tail.
//!
//! Invariant: a scroll that leaves the box at its bottom (within [`SLACK_PX`]) turns following on;
//! only a scroll *up* away from the bottom turns it off. A scroll event is handled after the
//! fact, so by then more lines may have arrived below our own scroll to the end: that box is not
//! at its bottom, but nobody scrolled up, and it keeps following (a fast topic once stopped
//! following by itself this way). The box is moved only by us, only while following, and only
//! after the new content was laid out (the next animation frame).

use leptos::{prelude::*, tachys::html::element::ElementType, wasm_bindgen::JsCast, web_sys::Element};

/// Within a couple of pixels of the end counts as at the end (zoom makes positions fractional).
const SLACK_PX: i32 = 2;

/// The follow state of one box; `Copy`, to hand to the box's `on:scroll` and to [`TailState`].
#[derive(Clone, Copy)]
pub struct Tail {
    following: RwSignal<bool>,
    scrolled: Callback<()>,
    jump: Callback<()>,
}

impl Tail {
    /// Follows the tail of the element `scroller` refers to, after every change `changes` tracks
    /// (and once the element is mounted).
    pub fn follow<E>(scroller: NodeRef<E>, changes: impl Fn() + Send + Sync + 'static) -> Self
    where
        E: ElementType + 'static,
        E::Output: JsCast + Clone + 'static,
    {
        let element = move || scroller.get_untracked().map(|el| el.unchecked_into::<Element>());
        let following = RwSignal::new(true);
        // Where the box was scrolled to when last seen, to tell a scroll up from one down.
        let last_top = StoredValue::new(0);
        let to_end = move || {
            if let Some(el) = element() {
                el.set_scroll_top(el.scroll_height());
                last_top.set_value(el.scroll_top());
            }
        };
        // Reads where the box is now: at its bottom follows, moved up since last seen does not.
        let observe = move || {
            let Some(el) = element() else { return };
            let top = el.scroll_top();
            let at_end = el.scroll_height() - top - el.client_height() <= SLACK_PX;
            let up = top < last_top.get_value();
            last_top.set_value(top);
            let follow = at_end || (following.get_untracked() && !up);
            if following.get_untracked() != follow {
                following.set(follow);
            }
        };
        Effect::new(move |_| {
            changes();
            scroller.track();
            if following.get_untracked() {
                // Looked at again when the frame comes: the reader may have scrolled up since,
                // and the scroll event saying so may not have been handled yet.
                request_animation_frame(move || {
                    observe();
                    if following.get_untracked() {
                        to_end();
                    }
                });
            }
        });
        Self {
            following,
            scrolled: Callback::new(move |_| observe()),
            jump: Callback::new(move |_| {
                following.set(true);
                to_end();
            }),
        }
    }

    /// For the box's `on:scroll`: following again at the bottom, not elsewhere.
    pub fn scrolled(&self) {
        self.scrolled.run(());
    }

    pub fn following(&self) -> bool {
        self.following.get()
    }
}

/// The line above a box that follows its tail: whether it does, and the way back to the end.
/// `what` names the box's entries ("lines", "events").
#[component]
pub fn TailState(tail: Tail, what: &'static str) -> impl IntoView {
    view! {
        <p class="tail-state" aria-live="polite">
            {move || if tail.following() {
                format!("Following new {what}.")
            } else {
                format!("Scrolled up: new {what} are not followed.")
            }}
            <Show when=move || !tail.following()>
                " "<button type="button" class="tail-to-end" on:click=move |_| tail.jump.run(())>"Jump to the latest"</button>
            </Show>
        </p>
    }
}
