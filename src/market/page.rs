//! The Markets board: chosen symbols (kept in the URL), sortable columns, sparklines, a flash on
//! a change. The snapshot brings each symbol's whole state; stream events bring changes, merged
//! into it here ([`Quote::merge`]). Changes arriving faster than the screen refreshes are merged
//! as they come and drawn at most once per animation frame, so thousands of ticks per second do
//! not freeze the page.
//!
//! Sorted by a column that moves (last, change, volume), the rows are put in order when the user
//! sorts, on request ("Sort now") and every [`RESORT_EVERY_MS`], but not while the pointer or the
//! focus is on the rows: a row does not slide away under the pointer.

use super::{
    api::{market_snapshot, MarketView, QuoteEvents},
    model::{Merged, Quote, QuoteChange, SortBy},
    row::{QuoteRow, Row},
};
use crate::{
    streams::{use_event_stream, Json, StreamEvent},
    ui::{live_label, units},
};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use std::collections::{BTreeSet, HashMap};

/// How often rows sorted by a moving column are put in order again.
pub const RESORT_EVERY_MS: u32 = 5000;

#[component]
pub fn MarketsPage() -> impl IntoView {
    let query = use_query_map();
    let chosen = Memo::new(move |_| {
        let mut symbols = query.with(|q| q.get_all("symbols").unwrap_or_default());
        symbols.retain(|s| !s.is_empty());
        symbols.sort();
        symbols.dedup();
        symbols
    });
    let snapshot = Resource::new(move || chosen.get(), market_snapshot);
    view! {
        <Title text="Markets"/>
        <section class="page markets">
            <h1>"Markets"</h1>
            <p class="lede">"Live prices. A slow connection skips to the newest price of each symbol instead of falling behind."</p>
            <Suspense fallback=|| view! { <p>"Loading prices…"</p> }>
                {move || snapshot.get().map(|result| match result {
                    Ok(view) => view! {
                        <MarketBoard view chosen=chosen.get_untracked() on_reset=Callback::new(move |_| snapshot.refetch())/>
                    }.into_any(),
                    Err(err) => view! { <p class="error" role="alert">{err.to_string()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The symbols of `quotes` in the order `by` puts them (ties by symbol).
pub fn sorted_symbols<'a>(quotes: impl IntoIterator<Item = &'a Quote>, by: SortBy, ascending: bool) -> Vec<String> {
    let mut list: Vec<&Quote> = quotes.into_iter().collect();
    list.sort_by(|a, b| {
        let order = by.compare(a, b).then_with(|| a.symbol.cmp(&b.symbol));
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    list.into_iter().map(|q| q.symbol.clone()).collect()
}

#[component]
fn MarketBoard(view: MarketView, chosen: Vec<String>, on_reset: Callback<()>) -> impl IntoView {
    let rows: HashMap<String, Row> = view.quotes.iter().map(|q| (q.symbol.clone(), Row::new(q.clone()))).collect();
    let rows = StoredValue::new(rows);
    // Every change is merged here as it comes (the series needs each new point); rows are drawn
    // from it once a frame.
    let merged = StoredValue::new(view.quotes.iter().map(|q| (q.symbol.clone(), q.clone())).collect::<HashMap<_, _>>());
    let changed = StoredValue::new(BTreeSet::<String>::new());
    let sort = RwSignal::new((SortBy::Symbol, true));
    let order = RwSignal::new(sorted_symbols(&view.quotes, SortBy::Symbol, true));
    let held = StoredValue::new((false, false)); // (pointer on the board, focus in it)
    let watched = RwSignal::new(Vec::<String>::new());
    let announcement = RwSignal::new(String::new());
    let last_announced = StoredValue::new(HashMap::<String, f64>::new());

    let resort = move || {
        let (by, ascending) = sort.get_untracked();
        let next = rows.with_value(|r| {
            let quotes: Vec<Quote> = r.values().map(|row| row.quote.get_untracked()).collect();
            sorted_symbols(&quotes, by, ascending)
        });
        if order.with_untracked(|now| *now != next) {
            order.set(next);
        }
    };
    #[cfg(feature = "hydrate")]
    {
        let every = std::time::Duration::from_millis(RESORT_EVERY_MS.into());
        let tick = move || {
            let (pointer, focus) = held.get_value();
            if sort.get_untracked().0.moves() && !pointer && !focus {
                resort();
            }
        };
        if let Ok(handle) = set_interval_with_handle(tick, every) {
            on_cleanup(move || handle.clear());
        }
    }

    let frame_requested = StoredValue::new(false);
    let draw = move || {
        frame_requested.set_value(false);
        let symbols = changed.try_update_value(std::mem::take).unwrap_or_default();
        let now = js_now();
        for symbol in symbols {
            let Some(row) = rows.with_value(|r| r.get(&symbol).copied()) else { continue };
            let Some(quote) = merged.with_value(|m| m.get(&symbol).cloned()) else { continue };
            announce_if_watched(&quote, watched, announcement, last_announced);
            row.show(quote, now);
        }
    };
    let connection = use_event_stream(
        QuoteEvents { symbols: chosen.clone() },
        Some(view.as_of.clone()),
        move |event: StreamEvent<Json<QuoteChange>>| match event {
            StreamEvent::Item { item: Json(change), .. } => {
                let applied = merged.try_update_value(|m| {
                    m.get_mut(&change.symbol).map(|quote| matches!(quote.merge(&change), Merged::Applied { .. }))
                });
                if applied.flatten() == Some(true) {
                    changed.update_value(|c| {
                        c.insert(change.symbol.clone());
                    });
                    if !frame_requested.get_value() {
                        frame_requested.set_value(true);
                        request_animation_frame(draw);
                    }
                }
            }
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { error, .. } => leptos::logging::warn!("bad quote: {error}"),
        },
    );

    let header = move |label: &'static str, by: SortBy| {
        let aria_sort = move || match sort.get() {
            (current, true) if current == by => "ascending",
            (current, false) if current == by => "descending",
            _ => "none",
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button type="button" class="sort" on:click=move |_| {
                    sort.update(|(current, ascending)| {
                        if *current == by { *ascending = !*ascending } else { *current = by; *ascending = by == SortBy::Symbol }
                    });
                    resort();
                }>{label}</button>
            </th>
        }
    };
    let sort_note = move || {
        sort.get().0.moves().then(|| {
            format!(
                "Order updates every {}, not while the pointer or focus is on the rows.",
                units::duration_ms(RESORT_EVERY_MS.into())
            )
        })
    };
    let all_symbols = view.symbols.clone();
    let is_chosen = move |symbol: &str| chosen.is_empty() || chosen.iter().any(|c| c == symbol);
    let session = units::duration(view.session_secs);
    let state = live_label(move || connection.get().label());

    view! {
        <Form method="GET" action="/markets" attr:class="symbol-picker" attr:aria-label="Symbols">
            <fieldset>
                <legend>"Symbols"</legend>
                {all_symbols.into_iter().map(|symbol| {
                    let label_for = format!("pick-{symbol}");
                    let input_id = label_for.clone();
                    let checked = is_chosen(&symbol);
                    view! {
                        <label for=label_for>
                            <input type="checkbox" id=input_id name="symbols" value=symbol.clone() checked=checked/>
                            {symbol.clone()}
                        </label>
                    }
                }).collect_view()}
                <button type="submit" id="show-symbols">"Show"</button>
            </fieldset>
        </Form>
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">{move || announcement.get()}</div>
        <div class="board-tools">
            <p class="stream-state">"Prices: "<span class="state">{state}</span></p>
            <p class="session">{format!("Change, high, low and volume since the session's open (a session lasts {session}).")}</p>
            <Show when=move || sort.get().0.moves()>
                <p class="sort-note">{sort_note}</p>
                <button type="button" class="resort" on:click=move |_| resort()>"Sort now"</button>
            </Show>
        </div>
        <div class="table-scroll">
            <table class="board">
                <thead>
                    <tr>
                        {header("Symbol", SortBy::Symbol)}
                        {header("Last", SortBy::Last)}
                        <th scope="col">"Change"</th>
                        {header("Change %", SortBy::ChangePct)}
                        <th scope="col">"High / Low"</th>
                        {header("Volume", SortBy::Volume)}
                        <th scope="col">"Last minute"</th>
                        <th scope="col">"Screen reader"</th>
                    </tr>
                </thead>
                // The rows, not the headers: a click on a header sorts at once anyway.
                <tbody
                    on:pointerenter=move |_| held.update_value(|h| h.0 = true)
                    on:pointerleave=move |_| held.update_value(|h| h.0 = false)
                    on:focusin=move |_| held.update_value(|h| h.1 = true)
                    on:focusout=move |_| held.update_value(|h| h.1 = false)
                >
                    <For each=move || order.get() key=|symbol| symbol.clone() let:symbol>
                        {rows.with_value(|r| r.get(&symbol).copied()).map(|row| view! { <QuoteRow row watched/> })}
                    </For>
                </tbody>
            </table>
        </div>
        <p class="board-hint" id="announce-hint">
            "Announce: a screen reader reads that symbol's price aloud, at most every 5 s."
        </p>
    }
}

/// Screen readers hear prices only for symbols the user asked for, at most every 5 s each.
fn announce_if_watched(
    quote: &Quote,
    watched: RwSignal<Vec<String>>,
    announcement: RwSignal<String>,
    last_announced: StoredValue<HashMap<String, f64>>,
) {
    if !watched.with_untracked(|w| w.contains(&quote.symbol)) {
        return;
    }
    let now = js_now();
    let due = last_announced.with_value(|m| m.get(&quote.symbol).is_none_or(|at| now - at >= 5000.0));
    if due {
        last_announced.update_value(|m| {
            m.insert(quote.symbol.clone(), now);
        });
        announcement.set(format!("{} {:.2}, {:+.2} %", quote.symbol, quote.last, quote.change_pct()));
    }
}

fn js_now() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        js_sys::Date::now()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(symbol: &str, last: f64, volume: u64) -> Quote {
        Quote {
            symbol: symbol.into(),
            last,
            open: 10.0,
            high: last,
            low: last,
            volume,
            ts_ms: 0,
            spark: vec![],
            point: 0,
        }
    }

    #[test]
    fn rows_sort_by_a_column_then_by_symbol() {
        let quotes = [quote("B", 12.0, 5), quote("A", 12.0, 9), quote("C", 8.0, 7)];
        assert_eq!(sorted_symbols(&quotes, SortBy::Last, false), ["B", "A", "C"]);
        assert_eq!(sorted_symbols(&quotes, SortBy::Last, true), ["C", "A", "B"]);
        assert_eq!(sorted_symbols(&quotes, SortBy::Volume, false), ["A", "C", "B"]);
        assert_eq!(sorted_symbols(&quotes, SortBy::Symbol, true), ["A", "B", "C"]);
        assert!(SortBy::ChangePct.moves() && !SortBy::Symbol.moves());
    }
}
