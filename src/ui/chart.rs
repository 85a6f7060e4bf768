//! A time-series line chart in SVG: a fixed time range ending at `end_ms`, a y axis from zero in
//! round steps of the unit shown, threshold lines, and a legend with each series' newest value
//! whose entries hide and show their series (the axis then fits what is shown). Server-rendered
//! like any view, then updated reactively. The drawing stretches to its box; the axis labels are
//! HTML placed over it in shares of that box, so they keep their shape at any width.
//!
//! The readout: pointing at the plot (mouse, pen or finger) or focusing it (Tab, then the arrow
//! keys, Home, End; Escape hides it) puts a vertical line at the nearest point's time and writes
//! the time and each shown series' value there in the chart's unit, as text in the page (a live
//! region), not only drawn. The arithmetic is in `readout`.

use super::{level::Thresholds, readout, series::Series, units::Unit};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;
/// Most steps of the y axis (each 1, 2 or 5 times a power of ten in the unit shown).
const Y_STEPS: usize = 5;

/// `value` as a CSS percentage of `whole` (view box units to shares of the plot's box).
fn share(value: f64, whole: f64) -> String {
    format!("{:.3}%", value / whole * 100.0)
}

/// Where the x axis is labelled: whole minutes or hours back from the end.
pub fn x_ticks(span_ms: i64) -> Vec<i64> {
    const STEPS_MIN: [i64; 9] = [1, 2, 5, 10, 15, 30, 60, 120, 180];
    let span_min = (span_ms / 60_000).max(1);
    let step = STEPS_MIN.iter().copied().find(|s| span_min / s <= 5).unwrap_or(360);
    (0..=span_min / step).map(|k| k * step * 60_000).collect()
}

/// `300000` -> `−5 min`, `3600000` -> `−1 h`, `0` -> `now`.
pub fn ago_label(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0 => "now".to_string(),
        m if m % 60 == 0 => format!("−{} h", m / 60),
        m => format!("−{m} min"),
    }
}

/// The plot's share of a pointer's position across the chart (0 at the plot's left edge, 1 at its
/// right), from the element the handler is on.
#[cfg(feature = "hydrate")]
fn pointer_fraction(ev: &leptos::ev::PointerEvent) -> Option<f64> {
    use wasm_bindgen::JsCast;
    let element = ev.current_target()?.dyn_into::<web_sys::Element>().ok()?;
    let rect = element.get_bounding_client_rect();
    if rect.width() <= 0.0 {
        return None;
    }
    let view_x = (f64::from(ev.client_x()) - rect.left()) / rect.width() * WIDTH;
    Some((view_x - LEFT) / (WIDTH - LEFT - RIGHT))
}

#[cfg(not(feature = "hydrate"))]
fn pointer_fraction(_: &leptos::ev::PointerEvent) -> Option<f64> {
    None
}

#[component]
pub fn LineChart(
    title: &'static str,
    unit: Unit,
    /// Length of the time range, in milliseconds.
    span_ms: i64,
    /// End of the time range (the newest sample), Unix milliseconds.
    #[prop(into)]
    end_ms: Signal<i64>,
    #[prop(into)] series: Signal<Vec<Series>>,
    /// A fixed top of the y axis (100 for percentages); otherwise fitted to the data.
    #[prop(optional)]
    y_max: Option<f64>,
    #[prop(optional)] thresholds: Option<Thresholds>,
) -> impl IntoView {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    // Series hidden from the legend: not drawn, not read out, not in the axis's range.
    let hidden = RwSignal::new(Vec::<&'static str>::new());
    let shown = Memo::new(move |_| {
        let hidden = hidden.get();
        series.get().into_iter().filter(|s| !hidden.contains(&s.label)).collect::<Vec<_>>()
    });
    let axis = Memo::new(move |_| {
        let highest = y_max.unwrap_or_else(|| {
            shown.with(|all| all.iter().flat_map(|s| s.points.iter().map(|(_, v)| *v)).fold(0.0f64, f64::max))
        });
        unit.axis(highest, Y_STEPS)
    });
    let y = move |value: f64, top: f64| TOP + plot_h - (value.clamp(0.0, top) / top) * plot_h;
    let x = move |t: i64, end: i64| LEFT + plot_w * ((t - (end - span_ms)) as f64 / span_ms as f64);
    // The time the readout stands at (a point's time), while the pointer or focus is on the plot.
    let cursor = RwSignal::new(None::<i64>);

    let grid = move || {
        let axis = axis.get();
        axis.ticks()
            .into_iter()
            .map(|value| {
                let at = y(value, axis.top());
                view! { <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=at y2=at/> }
            })
            .collect_view()
    };
    // The labels are HTML over the plot, placed in shares of its box: SVG text would be stretched
    // with the drawing (it fills its box whatever the aspect ratio, a phone's narrow one too).
    let y_labels = move || {
        let axis = axis.get();
        axis.ticks()
            .into_iter()
            .map(|value| {
                let style = format!(
                    "top: {}; right: {}",
                    share(y(value, axis.top()), HEIGHT),
                    share(WIDTH - LEFT + 6.0, WIDTH)
                );
                view! { <span class="y-label" style=style>{axis.label(value)}</span> }
            })
            .collect_view()
    };
    let time_ticks: Vec<(i64, f64)> =
        x_ticks(span_ms).into_iter().map(|back| (back, LEFT + plot_w * (1.0 - back as f64 / span_ms as f64))).collect();
    let time_axis = time_ticks
        .iter()
        .map(|&(_, at)| view! { <line class="tick" x1=at x2=at y1=TOP + plot_h y2=TOP + plot_h + 4.0/> })
        .collect_view();
    let x_labels = time_ticks
        .into_iter()
        .map(|(back, at)| {
            let anchor = if back == 0 {
                "end"
            } else if back == span_ms {
                "start"
            } else {
                "middle"
            };
            view! { <span class=format!("x-label anchor-{anchor}") style=format!("left: {}", share(at, WIDTH))>{ago_label(back)}</span> }
        })
        .collect_view();
    let limits = move || {
        let top = axis.get().top();
        thresholds
            .into_iter()
            .flat_map(|t| [("warn", t.warn), ("critical", t.critical)])
            .filter(move |(_, value)| *value <= top)
            .map(|(level, value)| {
                let at = y(value, top);
                view! { <line class=format!("threshold level-{level}") x1=LEFT x2=WIDTH - RIGHT y1=at y2=at/> }
            })
            .collect_view()
    };
    let lines = move || {
        let top = axis.get().top();
        let end = end_ms.get();
        let start = end - span_ms;
        shown
            .get()
            .into_iter()
            .map(|s| {
                let drawn: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .filter(|(t, _)| *t >= start && *t <= end)
                    .map(|(t, v)| (x(*t, end), y(*v, top)))
                    .collect();
                let text = drawn.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
                // The newest point is marked, so a series of one point is visible too.
                let newest = drawn.last().map(|(x, y)| {
                    view! { <circle class=format!("newest {}", s.class) cx=format!("{x:.1}") cy=format!("{y:.1}") r="3"/> }
                });
                view! {
                    <polyline class=format!("line {}", s.class) data-series=s.label data-points=drawn.len() points=text/>
                    {newest}
                }
            })
            .collect_view()
    };
    // What the readout says: the time, and each shown series' value there.
    let reading = Memo::new(move |_| {
        let at = cursor.get()?;
        let end = end_ms.get();
        let values = shown.with(|all| readout::values_at(all, at, span_ms / 60));
        Some((at, readout::time_label(at, end), values))
    });
    let readout_marks = move || {
        reading.get().map(|(at, _, values)| {
            let (end, top) = (end_ms.get(), axis.get().top());
            let at_x = format!("{:.1}", x(at, end));
            let dots = values
                .into_iter()
                .filter_map(|(_, class, value)| value.map(|v| (class, y(v, top))))
                .map(|(class, at_y)| view! { <circle class=format!("readout-dot {class}") cx=at_x.clone() cy=format!("{at_y:.1}") r="4"/> })
                .collect_view();
            view! {
                <line class="readout-line" x1=at_x.clone() x2=at_x.clone() y1=TOP y2=TOP + plot_h/>
                {dots}
            }
        })
    };
    let readout_text = move || {
        reading.get().map(|(_, time, values)| {
            let values = values
                .into_iter()
                .map(|(label, class, value)| {
                    let text = value.map_or_else(|| "–".to_string(), |v| unit.format(v));
                    view! { <li class=class data-series=label><span class="swatch"></span>{label}": "<span class="value">{text}</span></li> }
                })
                .collect_view();
            view! {
                <span class="readout-time">{time}</span>
                <ul class="readout-values">{values}</ul>
            }
        })
    };
    let legend = move || {
        series
            .get()
            .into_iter()
            .map(|s| {
                let label = s.label;
                let newest = s
                    .current
                    .or_else(|| s.points.last().map(|(_, v)| *v))
                    .map_or_else(|| "–".to_string(), |v| unit.format(v));
                let pressed = move || (!hidden.with(|h| h.contains(&label))).to_string();
                let toggle = move |_: leptos::ev::MouseEvent| {
                    hidden.update(|h| match h.iter().position(|l| *l == label) {
                        Some(at) => {
                            h.remove(at);
                        }
                        None => h.push(label),
                    })
                };
                view! {
                    <li class=s.class>
                        <button type="button" class="series-toggle" aria-pressed=pressed on:click=toggle
                            title=move || if pressed() == "true" { format!("Hide {label}") } else { format!("Show {label}") }>
                            <span class="swatch"></span>
                            {label}": "<span class="value">{newest}</span>
                        </button>
                    </li>
                }
            })
            .collect_view()
    };
    let point_at = move |ev: &leptos::ev::PointerEvent| {
        let Some(fraction) = pointer_fraction(ev) else { return };
        let end = end_ms.get_untracked();
        cursor.set(shown.with_untracked(|all| readout::time_at(all, fraction, span_ms, end)));
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let end = end_ms.get_untracked();
        let times = shown.with_untracked(|all| readout::times(all, end - span_ms, end));
        if let Some(next) = readout::key_move(&ev.key(), cursor.get_untracked(), &times) {
            ev.prevent_default();
            cursor.set(next);
        }
    };
    let on_focus = move |_: leptos::ev::FocusEvent| {
        if cursor.get_untracked().is_none() {
            let end = end_ms.get_untracked();
            cursor.set(shown.with_untracked(|all| readout::times(all, end - span_ms, end).last().copied()));
        }
    };
    let readout_id = format!("readout-{}", title.to_lowercase().replace(' ', "-"));

    view! {
        <figure class="chart" data-span-min=span_ms / 60_000 data-end-ms=move || end_ms.get()>
            <figcaption>{title}</figcaption>
            <div
                class="plot"
                tabindex="0"
                aria-label=format!("{title}: arrow keys read the values at each time")
                aria-describedby=readout_id.clone()
                on:pointermove=move |ev| point_at(&ev)
                on:pointerdown=move |ev| point_at(&ev)
                // A mouse leaving takes the readout away; a finger lifted leaves it where it was.
                on:pointerleave=move |ev: leptos::ev::PointerEvent| {
                    if ev.pointer_type() == "mouse" {
                        cursor.set(None);
                    }
                }
                on:keydown=on_key
                on:focus=on_focus
                on:blur=move |_| cursor.set(None)
            >
                <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title preserveAspectRatio="none">
                    <g class="axes">{grid}{time_axis}</g>
                    <g class="thresholds">{limits}</g>
                    <g class="lines">{lines}</g>
                    <g class="readout-marks">{readout_marks}</g>
                </svg>
                <div class="axis-labels" aria-hidden="true">{y_labels}{x_labels}</div>
            </div>
            <div class="readout" id=readout_id role="status" aria-live="polite" hidden=move || reading.with(Option::is_none)>
                {readout_text}
            </div>
            <ul class="legend" aria-label=format!("{title} series")>{legend}</ul>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_axis_has_a_few_round_ticks() {
        assert_eq!(x_ticks(5 * 60_000).len(), 6);
        assert_eq!(x_ticks(15 * 60_000), [0, 5, 10, 15].map(|m| m * 60_000));
        assert_eq!(x_ticks(60 * 60_000), [0, 15, 30, 45, 60].map(|m| m * 60_000));
        assert_eq!(x_ticks(360 * 60_000), [0, 2, 4, 6].map(|h| h * 3_600_000));
        assert_eq!(ago_label(0), "now");
        assert_eq!(ago_label(300_000), "−5 min");
        assert_eq!(ago_label(7_200_000), "−2 h");
    }

    #[test]
    fn labels_are_placed_in_shares_of_the_plot() {
        assert_eq!(share(LEFT, WIDTH), "10.000%");
        assert_eq!(share(HEIGHT, HEIGHT), "100.000%");
    }
}
