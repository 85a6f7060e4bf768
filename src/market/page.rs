//! The Markets board: chosen symbols (kept in the URL), sortable columns, sparklines, a flash on
//! each change. Quotes arriving faster than the screen refreshes are held and drawn at most once
//! per animation frame, so thousands of ticks per second do not freeze the page.

use super::{
    api::{market_snapshot, MarketView, QuoteEvents},
    model::{Quote, SortBy},
};
use crate::streams::{use_event_stream, Json, StreamEvent};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use std::collections::HashMap;

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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flash {
    None,
    Up,
    Down,
}

#[derive(Clone, Copy)]
struct Row {
    quote: RwSignal<Quote>,
    flash: RwSignal<(Flash, u32)>,
}

#[component]
fn MarketBoard(view: MarketView, chosen: Vec<String>, on_reset: Callback<()>) -> impl IntoView {
    let rows: HashMap<String, Row> = view
        .quotes
        .iter()
        .map(|q| (q.symbol.clone(), Row { quote: RwSignal::new(q.clone()), flash: RwSignal::new((Flash::None, 0)) }))
        .collect();
    let symbols: Vec<String> = view.quotes.iter().map(|q| q.symbol.clone()).collect();
    let rows = StoredValue::new(rows);
    let sort = RwSignal::new((SortBy::Symbol, true));
    let watched = RwSignal::new(Vec::<String>::new());
    let announcement = RwSignal::new(String::new());
    let last_announced = StoredValue::new(HashMap::<String, f64>::new());

    // Quotes wait here until the next animation frame; only the newest per symbol is kept.
    let pending = StoredValue::new(HashMap::<String, Quote>::new());
    let frame_requested = StoredValue::new(false);
    let draw = move || {
        frame_requested.set_value(false);
        let mut quotes: Vec<Quote> = Vec::new();
        pending.update_value(|p| quotes.extend(p.drain().map(|(_, q)| q)));
        for quote in quotes {
            let Some(row) = rows.with_value(|r| r.get(&quote.symbol).copied()) else { continue };
            let before = row.quote.with_untracked(|q| q.last);
            let direction = if quote.last > before {
                Flash::Up
            } else if quote.last < before {
                Flash::Down
            } else {
                Flash::None
            };
            if direction != Flash::None {
                row.flash.update(|(flash, count)| {
                    *flash = direction;
                    *count = count.wrapping_add(1);
                });
            }
            announce_if_watched(&quote, watched, announcement, last_announced);
            row.quote.set(quote);
        }
    };
    let stream_symbols = chosen.clone();
    let connection = use_event_stream(
        QuoteEvents { symbols: stream_symbols },
        Some(view.as_of.clone()),
        move |event: StreamEvent<Json<Quote>>| match event {
            StreamEvent::Item { item: Json(quote), .. } => {
                pending.update_value(|p| {
                    p.insert(quote.symbol.clone(), quote);
                });
                if !frame_requested.get_value() {
                    frame_requested.set_value(true);
                    request_animation_frame(draw);
                }
            }
            StreamEvent::Reset { .. } => on_reset.run(()),
            StreamEvent::Invalid { error, .. } => leptos::logging::warn!("bad quote: {error}"),
        },
    );

    let sorted = move || {
        let (by, ascending) = sort.get();
        let mut list: Vec<(String, Row)> =
            symbols.iter().filter_map(|s| rows.with_value(|r| r.get(s).copied()).map(|row| (s.clone(), row))).collect();
        list.sort_by(|a, b| {
            let order = a.1.quote.with(|qa| b.1.quote.with(|qb| by.compare(qa, qb)));
            if ascending {
                order
            } else {
                order.reverse()
            }
        });
        list
    };
    let header = move |label: &'static str, by: SortBy| {
        let aria_sort = move || match sort.get() {
            (current, true) if current == by => "ascending",
            (current, false) if current == by => "descending",
            _ => "none",
        };
        view! {
            <th scope="col" aria-sort=aria_sort>
                <button type="button" class="sort" on:click=move |_| sort.update(|(current, ascending)| {
                    if *current == by { *ascending = !*ascending } else { *current = by; *ascending = by == SortBy::Symbol }
                })>{label}</button>
            </th>
        }
    };
    let all_symbols = view.symbols.clone();
    let is_chosen = move |symbol: &str| chosen.is_empty() || chosen.iter().any(|c| c == symbol);

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
                <button type="submit">"Show"</button>
            </fieldset>
        </Form>
        <div class="sr-only" role="status" aria-live="polite" aria-atomic="true">{move || announcement.get()}</div>
        <p class="stream-state">"Prices: "<span class="state">{move || connection.get().label()}</span></p>
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
                    <th scope="col"><span class="sr-only">"Announce"</span></th>
                </tr>
            </thead>
            <tbody>
                <For each=sorted key=|(symbol, _)| symbol.clone() let:entry>
                    <QuoteRow row=entry.1 watched/>
                </For>
            </tbody>
        </table>
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

#[component]
fn QuoteRow(row: Row, watched: RwSignal<Vec<String>>) -> impl IntoView {
    let quote = row.quote;
    let symbol = quote.with_untracked(|q| q.symbol.clone());
    let direction = move || {
        let change = quote.with(|q| q.change());
        if change > 0.0 {
            "up"
        } else if change < 0.0 {
            "down"
        } else {
            "flat"
        }
    };
    // Alternating classes restart the CSS animation on every change.
    let flash_class = move || match row.flash.get() {
        (Flash::None, _) => "",
        (Flash::Up, n) => {
            if n % 2 == 0 {
                "flash-up-a"
            } else {
                "flash-up-b"
            }
        }
        (Flash::Down, n) => {
            if n % 2 == 0 {
                "flash-down-a"
            } else {
                "flash-down-b"
            }
        }
    };
    let watching = {
        let symbol = StoredValue::new(symbol.clone());
        move || symbol.with_value(|s| watched.with(|w| w.contains(s)))
    };
    let toggle = {
        let symbol = symbol.clone();
        move |_| {
            watched.update(|w| {
                if let Some(at) = w.iter().position(|s| *s == symbol) {
                    w.remove(at);
                } else {
                    w.push(symbol.clone());
                }
            })
        }
    };
    view! {
        <tr class="quote" data-symbol=symbol.clone() data-direction=direction>
            <th scope="row">{symbol.clone()}</th>
            <td class=move || format!("last {}", flash_class())>{move || format!("{:.2}", quote.with(|q| q.last))}</td>
            <td class="change">{move || format!("{:+.2}", quote.with(|q| q.change()))}</td>
            <td class="change-pct">{move || format!("{:+.2} %", quote.with(|q| q.change_pct()))}</td>
            <td class="range">{move || quote.with(|q| format!("{:.2} / {:.2}", q.high, q.low))}</td>
            <td class="volume">{move || quote.with(|q| q.volume.to_string())}</td>
            <td class="spark-cell"><Sparkline quote/></td>
            <td>
                <button type="button" class="announce" aria-pressed=move || watching().to_string()
                    aria-label=format!("Announce {symbol} prices") on:click=toggle>
                    {move || if watching() { "Announcing" } else { "Announce" }}
                </button>
            </td>
        </tr>
    }
}

const SPARK_W: f64 = 120.0;
const SPARK_H: f64 = 28.0;

/// The last minute of prices as a line, scaled to its own range.
#[component]
fn Sparkline(quote: RwSignal<Quote>) -> impl IntoView {
    let points = move || quote.with(|q| spark_points(&q.spark));
    view! {
        <svg class="spark" viewBox=format!("0 0 {SPARK_W} {SPARK_H}") width=SPARK_W height=SPARK_H role="img"
            aria-label=move || quote.with(|q| format!("{} over the last minute", q.symbol))>
            <polyline points=points/>
        </svg>
    }
}

/// SVG `points` for prices: x spread over the width, y over the height (higher is up).
pub fn spark_points(prices: &[f64]) -> String {
    if prices.is_empty() {
        return String::new();
    }
    let (min, max) = prices.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
    let span = if max > min { max - min } else { 1.0 };
    let step = if prices.len() > 1 { SPARK_W / (prices.len() - 1) as f64 } else { 0.0 };
    prices
        .iter()
        .enumerate()
        .map(|(i, p)| format!("{:.1},{:.1}", i as f64 * step, SPARK_H - 2.0 - (p - min) / span * (SPARK_H - 4.0)))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparkline_spans_the_box() {
        assert_eq!(spark_points(&[]), "");
        assert_eq!(spark_points(&[5.0]), "0.0,26.0");
        assert_eq!(spark_points(&[1.0, 3.0, 2.0]), "0.0,26.0 60.0,2.0 120.0,14.0");
    }
}
