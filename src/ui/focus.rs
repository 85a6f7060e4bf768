//! Keeps keyboard focus on the page when the control that had it goes away: a Cancel button
//! that disappears with the running state, a form re-rendered with the data it asked for (Show).
//! Browsers then drop focus to `<body>`, and a keyboard user starts again from the top.
//!
//! In the browser only: the element focused last is remembered with its ancestors (a removed
//! element keeps only its detached ones); a pointer press forgets it (the user then chooses where
//! focus goes, a click on blank page included). When a change to the document leaves focus on
//! `<body>`, focus goes back to that element if it is in the page again (a node the renderer
//! moved loses focus too), or else to the nearest ancestor still in the page that holds a
//! focusable element, preferring one like the lost control (same id, or same tag and name, as a
//! re-rendered Show button is), never above `<main>`. If no such element is there yet
//! (the page is loading what the action asked for), later changes try again for a few seconds.
//! Hand-written: no crate we know does this for a Leptos page.

/// Installs the keeper (once, from the shell; nothing happens on the server).
pub fn keep_focus() {
    #[cfg(feature = "hydrate")]
    browser::install();
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::RefCell;
    use wasm_bindgen::{prelude::Closure, JsCast};
    use web_sys::{Element, HtmlElement};

    const FOCUSABLE: &str = "a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), \
                             select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";
    /// How long after the loss a restore is still tried.
    const PATIENCE_MS: f64 = 5000.0;

    struct Focused {
        element: Element,
        /// Nearest first, up to and including `<main>` (or the root when outside it).
        ancestors: Vec<Element>,
        id: String,
        name: String,
        /// When the element was found gone (NaN: not yet).
        lost_at: f64,
    }

    thread_local! {
        static FOCUSED: RefCell<Option<Focused>> = const { RefCell::new(None) };
    }

    fn name_of(element: &Element) -> String {
        let label = element.get_attribute("aria-label").unwrap_or_else(|| element.text_content().unwrap_or_default());
        format!("{}:{}", element.tag_name(), label.trim())
    }

    fn remember(element: Element) {
        let mut ancestors = Vec::new();
        let mut at = element.parent_element();
        while let Some(parent) = at {
            let is_main = parent.tag_name().eq_ignore_ascii_case("main");
            at = parent.parent_element();
            ancestors.push(parent);
            if is_main {
                break;
            }
        }
        let (id, name) = (element.id(), name_of(&element));
        FOCUSED.with(|f| *f.borrow_mut() = Some(Focused { element, ancestors, id, name, lost_at: f64::NAN }));
    }

    fn focus_dropped() -> bool {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return false };
        match (document.active_element(), document.body()) {
            (None, _) => true,
            (Some(active), Some(body)) => active == *body.unchecked_ref::<Element>(),
            _ => false,
        }
    }

    /// The element to move focus to, if the page has one yet.
    fn replacement(focused: &Focused) -> Option<HtmlElement> {
        for ancestor in focused.ancestors.iter().filter(|a| a.is_connected()) {
            let found = ancestor.query_selector_all(FOCUSABLE).ok()?;
            let candidates: Vec<HtmlElement> =
                (0..found.length()).filter_map(|i| found.item(i)?.dyn_into::<HtmlElement>().ok()).collect();
            let alike = candidates.iter().find(|c| {
                (!focused.id.is_empty() && c.id() == focused.id) || name_of(c.unchecked_ref()) == focused.name
            });
            if let Some(found) = alike.or(candidates.first()) {
                return Some(found.clone());
            }
        }
        None
    }

    fn after_change() {
        if !focus_dropped() {
            return;
        }
        let target = FOCUSED.with(|f| {
            let mut slot = f.borrow_mut();
            let focused = slot.as_mut()?;
            let now = js_sys::Date::now();
            if focused.lost_at.is_nan() {
                focused.lost_at = now;
            } else if now - focused.lost_at > PATIENCE_MS {
                *slot = None;
                return None;
            }
            if focused.element.is_connected() {
                return focused.element.clone().dyn_into::<HtmlElement>().ok();
            }
            replacement(focused)
        });
        if let Some(target) = target {
            // Focusing it records it anew (focusin).
            let _ = target.focus();
        }
    }

    pub fn install() {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
        let on_focus = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
            if let Some(element) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                remember(element);
            }
        });
        let _ = document.add_event_listener_with_callback("focusin", on_focus.as_ref().unchecked_ref());
        on_focus.forget();
        let on_press = Closure::<dyn Fn()>::new(|| FOCUSED.with(|f| *f.borrow_mut() = None));
        let _ = document.add_event_listener_with_callback("pointerdown", on_press.as_ref().unchecked_ref());
        on_press.forget();
        let on_change = Closure::<dyn Fn()>::new(after_change);
        let Ok(observer) = web_sys::MutationObserver::new(on_change.as_ref().unchecked_ref()) else { return };
        on_change.forget();
        let options = web_sys::MutationObserverInit::new();
        options.set_child_list(true);
        options.set_subtree(true);
        if let Some(body) = document.body() {
            let _ = observer.observe_with_options(&body, &options);
        }
    }
}
