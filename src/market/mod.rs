//! Stock-style tickers: fast-changing prices with latest-wins delivery.

use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn MarketsPage() -> impl IntoView {
    view! {
        <Title text="Markets"/>
        <section class="page markets">
            <h1>"Markets"</h1>
            <p class="lede">"A live board of prices: last, change, high and low, volume and sparklines, updated as ticks arrive."</p>
            <p class="empty">"The market feed is not running yet."</p>
        </section>
    }
}
