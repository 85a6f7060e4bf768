//! The app shell: document, header (navigation, connection status, theme), routes and the 404
//! page. The shell renders the theme the user picked (from its cookie) into the server's HTML, and
//! says when the page has hydrated (`data-hydrated`, [`Hydrated`]).

use crate::{
    front_end::{FrontEnd, FrontEndLinks},
    inspector::InspectorPage,
    jobs::{JobDetailPage, JobsPage},
    market::MarketsPage,
    monitor::MonitorPage,
    stream_token::provide_token_source,
    streams::status::{ConnectionIndicator, ConnectionRegistry},
    ui::{keep_focus, Hydrated, ThemeState, ThemeToggle},
};
use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    hooks::use_location,
    ParamSegment, SsrMode, StaticSegment,
};

/// The Jobs link of the header: the current page on `/`, and marked as the section the reader is
/// in on a job's own page (`/jobs/N`), where `<A exact>` would leave no link marked.
#[component]
fn JobsLink() -> impl IntoView {
    let path = use_location().pathname;
    let current = move || {
        path.with(|p| match p.as_str() {
            "/" => Some("page"),
            p if p.starts_with("/jobs/") => Some("location"),
            _ => None,
        })
    };
    view! { <a href="/" aria-current=current>"Jobs"</a> }
}

/// The HTML document the server renders around the app, linking `front_end` (the names the
/// server read at start).
pub fn shell(options: LeptosOptions, front_end: FrontEnd) -> impl IntoView {
    let pkg_dir = options.site_pkg_dir.to_string();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // From public/ (cargo-leptos copies it into the site root); SVG where supported.
                <link rel="icon" href="/favicon.ico" sizes="16x16 32x32 48x48"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                // The names carry their content hash when hash-files is on (hash.txt).
                <FrontEndLinks front_end pkg_dir/>
                <AutoReload options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // The header says "degraded" while the server's readiness check fails (and why).
    crate::monitor::readiness::watch(ConnectionRegistry::provide());
    provide_token_source();
    let theme = ThemeState::provide();
    // Effects run only in the browser, after hydration: the attribute tells tests (and curious
    // users in devtools) that the page is interactive; pages' stream states read it too.
    let Hydrated(hydrated) = Hydrated::provide();
    Effect::new(move |_| keep_focus());

    view! {
        <Title formatter=|page: String| if page.is_empty() { "pulseboard".to_string() } else { format!("{page} · pulseboard") }/>
        <Router>
            <div
                class="app"
                data-theme=move || theme.effective().as_str()
                data-theme-source=move || theme.source()
                data-hydrated=move || hydrated.get().then_some("true")
            >
                <header class="top">
                    <span class="brand">"pulseboard"</span>
                    <nav aria-label="Main">
                        <JobsLink/>
                        <A href="/markets">"Markets"</A>
                        <A href="/monitor">"Monitor"</A>
                        <A href="/inspect">"Inspector"</A>
                    </nav>
                    <ConnectionIndicator/>
                    <ThemeToggle theme/>
                </header>
                <main>
                    <Routes fallback=NotFound>
                        <Route path=StaticSegment("") view=JobsPage ssr=SsrMode::Async/>
                        <Route path=(StaticSegment("jobs"), ParamSegment("id")) view=JobDetailPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("markets") view=MarketsPage ssr=SsrMode::Async/>
                        // Async: pages with live data render their snapshot into the HTML itself,
                        // so it is there without JavaScript (no out-of-order placeholders).
                        <Route path=StaticSegment("monitor") view=MonitorPage ssr=SsrMode::Async/>
                        <Route path=StaticSegment("inspect") view=InspectorPage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

/// Shown for any path without a page; answers HTTP 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <section class="not-found">
            <h1>"Page not found"</h1>
            <p>"There is no page at this address. Try "<A href="/">"Jobs"</A>", "
               <A href="/markets">"Markets"</A>", "<A href="/monitor">"Monitor"</A>" or "
               <A href="/inspect">"Inspector"</A>"."</p>
        </section>
    }
}
