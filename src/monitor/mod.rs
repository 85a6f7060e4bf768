//! Monitoring panels: host and stream metrics.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn MonitorPage() -> impl IntoView {
    view! {
        <Title text="Monitor"/>
        <section class="page monitor">
            <h1>"Monitor"</h1>
            <p class="lede">"Host and server metrics: CPU, memory, network, and pulseboard's own streams and subscribers."</p>
            <p>"To watch the raw events of any topic, open the "<a href="/inspect">"topic inspector"</a>"."</p>
        </section>
    }
}
