//! One row of the Markets board: the figures, a sparkline, a price flash at most every
//! [`FLASH_EVERY_MS`] per row (a busy symbol would otherwise flash without pause) and the
//! per-row control that has a screen reader announce the symbol's price.

use super::model::Quote;
use crate::ui::units;
use leptos::prelude::*;

/// Least time between two flashes of one row.
pub const FLASH_EVERY_MS: f64 = 2000.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flash {
    None,
    Up,
    Down,
}

/// A row's signals: the quote it shows, and its flash (direction, count: a new count restarts it).
#[derive(Clone, Copy)]
pub struct Row {
    pub quote: RwSignal<Quote>,
    pub flash: RwSignal<(Flash, u32)>,
    /// When the row last flashed (ms, the page's clock).
    flashed_at: StoredValue<f64>,
}

impl Row {
    pub fn new(quote: Quote) -> Self {
        Self {
            quote: RwSignal::new(quote),
            flash: RwSignal::new((Flash::None, 0)),
            flashed_at: StoredValue::new(f64::NEG_INFINITY),
        }
    }

    /// Shows `quote`, flashing the price if it moved and the row has not flashed lately.
    pub fn show(&self, quote: Quote, now_ms: f64) {
        let before = self.quote.with_untracked(|q| q.last);
        let direction = flash_for(before, quote.last, now_ms - self.flashed_at.get_value());
        if direction != Flash::None {
            self.flashed_at.set_value(now_ms);
            self.flash.update(|(flash, count)| {
                *flash = direction;
                *count = count.wrapping_add(1);
            });
        }
        self.quote.set(quote);
    }
}

/// The flash a move from `before` to `now` makes, `since_ms` after the row's last flash.
pub fn flash_for(before: f64, now: f64, since_ms: f64) -> Flash {
    if since_ms < FLASH_EVERY_MS {
        Flash::None
    } else if now > before {
        Flash::Up
    } else if now < before {
        Flash::Down
    } else {
        Flash::None
    }
}

#[component]
pub fn QuoteRow(row: Row, watched: RwSignal<Vec<String>>) -> impl IntoView {
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
    // Two class names per direction: a new flash switches name, which restarts the animation.
    let flash_class = move || match row.flash.get() {
        (Flash::None, _) => "",
        (Flash::Up, n) if n % 2 == 0 => "flash-up-a",
        (Flash::Up, _) => "flash-up-b",
        (Flash::Down, n) if n % 2 == 0 => "flash-down-a",
        (Flash::Down, _) => "flash-down-b",
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
            <td class="volume" title=move || quote.with(|q| format!("{} traded this session", q.volume))>
                {move || quote.with(|q| units::volume(q.volume))}
            </td>
            <td class="spark-cell"><Sparkline quote/></td>
            <td>
                <button type="button" class="announce" aria-pressed=move || watching().to_string()
                    aria-label=format!("Announce {symbol}'s price") aria-describedby="announce-hint"
                    title=format!("A screen reader reads {symbol}'s price aloud, at most every 5 s")
                    on:click=toggle>
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

    #[test]
    fn a_row_flashes_on_a_move_at_most_every_two_seconds() {
        assert_eq!(flash_for(1.0, 2.0, f64::INFINITY), Flash::Up);
        assert_eq!(flash_for(2.0, 1.0, FLASH_EVERY_MS), Flash::Down);
        assert_eq!(flash_for(1.0, 1.0, f64::INFINITY), Flash::None);
        assert_eq!(flash_for(1.0, 2.0, FLASH_EVERY_MS - 1.0), Flash::None);
    }
}
