//! What a page says about its live updates before (or without) the browser app: the server's
//! HTML and a page whose script never ran say that live updates need JavaScript, instead of a
//! "connecting" that would never end; once hydrated the stream's own state shows.

use leptos::prelude::*;

/// Shown in place of a stream's state until the page is hydrated.
pub const NEEDS_JAVASCRIPT: &str = "live updates need JavaScript — reload for the latest";

/// Whether the browser app runs on this page: false in the server's HTML and until hydration.
#[derive(Debug, Clone, Copy)]
pub struct Hydrated(pub RwSignal<bool>);

impl Hydrated {
    /// Provides the flag and sets it once hydrated (effects run only in the browser).
    pub fn provide() -> Self {
        let hydrated = Self(RwSignal::new(false));
        Effect::new(move |_| hydrated.0.set(true));
        provide_context(hydrated);
        hydrated
    }
}

/// The stream's state label once hydrated, [`NEEDS_JAVASCRIPT`] before.
pub fn live_label(label: impl Fn() -> &'static str + Send + Sync + 'static) -> impl Fn() -> &'static str + Send + Sync {
    let hydrated = use_context::<Hydrated>();
    move || match hydrated {
        Some(Hydrated(hydrated)) if hydrated.get() => label(),
        _ => NEEDS_JAVASCRIPT,
    }
}
