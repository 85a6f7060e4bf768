//! Light/dark switch in the header (dashboards are often watched on a dark wall screen).

use leptos::prelude::*;

#[component]
pub fn ThemeToggle(dark: RwSignal<bool>) -> impl IntoView {
    view! {
        <button
            type="button"
            class="theme-toggle"
            aria-pressed=move || dark.get().to_string()
            on:click=move |_| dark.update(|d| *d = !*d)
        >
            {move || if dark.get() { "Light theme" } else { "Dark theme" }}
        </button>
    }
}
