//! Task progress: jobs users start, watch and cancel.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn JobsPage() -> impl IntoView {
    view! {
        <Title text="Jobs"/>
        <section class="page jobs">
            <h1>"Jobs"</h1>
            <p class="lede">"Start work on the server and watch its progress live: checksums, CPU jobs and multi-stage pipelines, with cancel and retry."</p>
            <p class="empty">"No jobs yet."</p>
        </section>
    }
}
