//! Light and dark theme. Until the user picks one the page follows the system
//! (`prefers-color-scheme`, applied by the stylesheet itself, so before any script runs); a pick
//! is kept in the `theme` cookie, which the server reads to render the page in it, so the first
//! paint is already right (no flash of the other theme). Picking the theme the system has anyway
//! drops the cookie: the page follows the system again.
//!
//! The document carries `data-theme` (the theme in effect as far as the renderer knows) and
//! `data-theme-source` (`choice` or `system`); see style/main.css.

use leptos::prelude::*;

/// The cookie that holds the user's pick.
pub const COOKIE: &str = "theme";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Light,
    Dark,
}

impl Theme {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Light => "light",
            Self::Dark => "dark",
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Light => Self::Dark,
            Self::Dark => Self::Light,
        }
    }

    /// The theme a `Cookie` header (or `document.cookie`) names; none for no or another value.
    pub fn from_cookies(header: &str) -> Option<Self> {
        header.split(';').filter_map(|pair| pair.trim().split_once('=')).find(|(name, _)| *name == COOKIE).and_then(
            |(_, value)| match value.trim() {
                "light" => Some(Self::Light),
                "dark" => Some(Self::Dark),
                _ => None,
            },
        )
    }

    /// What `document.cookie` is set to for this pick (`None`: forget the pick).
    pub fn cookie(choice: Option<Self>) -> String {
        match choice {
            Some(theme) => format!("{COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax", theme.as_str()),
            None => format!("{COOKIE}=; Path=/; Max-Age=0; SameSite=Lax"),
        }
    }
}

/// The theme state the shell provides: the pick, and the system's preference (known only in the
/// browser, after hydration; the stylesheet applies it before that).
#[derive(Debug, Clone, Copy)]
pub struct ThemeState {
    pub choice: RwSignal<Option<Theme>>,
    pub system: RwSignal<Theme>,
}

impl ThemeState {
    /// Reads the pick from the request's cookie (server) or `document.cookie` (browser), so both
    /// render the same; then, in the browser, follows the system's preference as it changes.
    pub fn provide() -> Self {
        let state = Self { choice: RwSignal::new(initial_choice()), system: RwSignal::new(Theme::Light) };
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| browser::follow_system(state.system));
        provide_context(state);
        state
    }

    pub fn effective(&self) -> Theme {
        self.choice.get().unwrap_or_else(|| self.system.get())
    }

    pub fn source(&self) -> &'static str {
        if self.choice.get().is_some() {
            "choice"
        } else {
            "system"
        }
    }

    /// Switches to the other theme and remembers it (or forgets the pick when it is the
    /// system's).
    pub fn toggle(&self) {
        let next = self.effective().other();
        let choice = (next != self.system.get_untracked()).then_some(next);
        self.choice.set(choice);
        #[cfg(feature = "hydrate")]
        browser::set_cookie(&Theme::cookie(choice));
    }
}

fn initial_choice() -> Option<Theme> {
    #[cfg(feature = "ssr")]
    {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::COOKIE)?.to_str().ok().and_then(Theme::from_cookies))
    }
    #[cfg(feature = "hydrate")]
    {
        browser::cookies().as_deref().and_then(Theme::from_cookies)
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        None
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::Theme;
    use leptos::prelude::*;
    use wasm_bindgen::{prelude::Closure, JsCast};

    fn document() -> Option<web_sys::HtmlDocument> {
        web_sys::window()?.document()?.dyn_into().ok()
    }

    pub fn cookies() -> Option<String> {
        document()?.cookie().ok()
    }

    pub fn set_cookie(value: &str) {
        if let Some(document) = document() {
            let _ = document.set_cookie(value);
        }
    }

    /// Sets `system` from `prefers-color-scheme` now and whenever it changes.
    pub fn follow_system(system: RwSignal<Theme>) {
        let Some(query) = web_sys::window().and_then(|w| w.match_media("(prefers-color-scheme: dark)").ok().flatten())
        else {
            return;
        };
        let read = |query: &web_sys::MediaQueryList| if query.matches() { Theme::Dark } else { Theme::Light };
        system.set(read(&query));
        let watched = query.clone();
        let on_change = Closure::<dyn Fn()>::new(move || system.set(read(&watched)));
        let _ = query.add_event_listener_with_callback("change", on_change.as_ref().unchecked_ref());
        // Lives as long as the page (the shell is never unmounted).
        on_change.forget();
    }
}

#[component]
pub fn ThemeToggle(theme: ThemeState) -> impl IntoView {
    let dark = move || theme.effective() == Theme::Dark;
    view! {
        <button
            type="button"
            class="theme-toggle"
            aria-pressed=move || dark().to_string()
            title="Switch theme (remembered on this browser)"
            on:click=move |_| theme.toggle()
        >
            {move || if dark() { "Light theme" } else { "Dark theme" }}
        </button>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pick_is_read_from_the_cookie_header() {
        assert_eq!(Theme::from_cookies("theme=dark"), Some(Theme::Dark));
        assert_eq!(Theme::from_cookies("pb_session=abc.def; theme=light; x=1"), Some(Theme::Light));
        assert_eq!(Theme::from_cookies("theme=purple"), None);
        assert_eq!(Theme::from_cookies("mytheme=dark; theme_x=dark"), None);
        assert_eq!(Theme::from_cookies(""), None);
    }

    #[test]
    fn a_pick_is_kept_for_a_year_and_forgetting_expires_it() {
        assert_eq!(Theme::cookie(Some(Theme::Dark)), "theme=dark; Path=/; Max-Age=31536000; SameSite=Lax");
        assert!(Theme::cookie(None).starts_with("theme=; Path=/; Max-Age=0"));
        let cookie = Theme::cookie(Some(Theme::Light));
        assert_eq!(Theme::from_cookies(cookie.split(';').next().unwrap()), Some(Theme::Light));
    }
}
