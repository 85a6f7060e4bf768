//! A time-series line chart in SVG: a fixed time range ending at `end_ms`, a y axis from zero to
//! a round top, threshold lines, and a legend with each series' newest value. Server-rendered
//! like any view, then updated reactively.

use super::{level::Thresholds, units::Unit};
use leptos::prelude::*;

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 200.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 24.0;
const Y_TICKS: usize = 4;

/// One line: `(unix ms, value)` pairs, oldest first. `class` styles it (`series-1`, ...).
/// `current` is what the legend shows (e.g. the newest sample, where the points are averages);
/// without it, the newest point.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: &'static str,
    pub class: &'static str,
    pub points: Vec<(i64, f64)>,
    pub current: Option<f64>,
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
    let top = Memo::new(move |_| {
        y_max.unwrap_or_else(|| {
            let highest =
                series.with(|all| all.iter().flat_map(|s| s.points.iter().map(|(_, v)| *v)).fold(0.0f64, f64::max));
            unit.axis_max(highest)
        })
    });
    let y = move |value: f64, top: f64| TOP + plot_h - (value.clamp(0.0, top) / top) * plot_h;

    let grid = move || {
        let top = top.get();
        (0..=Y_TICKS)
            .map(|k| {
                let value = top * k as f64 / Y_TICKS as f64;
                let at = y(value, top);
                view! {
                    <line class="grid" x1=LEFT x2=WIDTH - RIGHT y1=at y2=at/>
                    <text class="y-label" x=LEFT - 6.0 y=at + 4.0 text-anchor="end">{unit.format(value)}</text>
                }
            })
            .collect_view()
    };
    let time_axis = x_ticks(span_ms)
        .into_iter()
        .map(|back| {
            let at = LEFT + plot_w * (1.0 - back as f64 / span_ms as f64);
            let anchor = if back == 0 {
                "end"
            } else if back == span_ms {
                "start"
            } else {
                "middle"
            };
            view! {
                <line class="tick" x1=at x2=at y1=TOP + plot_h y2=TOP + plot_h + 4.0/>
                <text class="x-label" x=at y=HEIGHT - 6.0 text-anchor=anchor>{ago_label(back)}</text>
            }
        })
        .collect_view();
    let limits = move || {
        let top = top.get();
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
        let top = top.get();
        let end = end_ms.get();
        let start = end - span_ms;
        series
            .get()
            .into_iter()
            .map(|s| {
                let shown: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .filter(|(t, _)| *t >= start && *t <= end)
                    .map(|(t, v)| (LEFT + plot_w * ((t - start) as f64 / span_ms as f64), y(*v, top)))
                    .collect();
                let drawn = shown.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect::<Vec<_>>().join(" ");
                // The newest point is marked, so a series of one point is visible too.
                let newest = shown.last().map(|(x, y)| {
                    view! { <circle class=format!("newest {}", s.class) cx=format!("{x:.1}") cy=format!("{y:.1}") r="3"/> }
                });
                view! {
                    <polyline class=format!("line {}", s.class) data-series=s.label data-points=shown.len() points=drawn/>
                    {newest}
                }
            })
            .collect_view()
    };
    let legend = move || {
        series
            .get()
            .into_iter()
            .map(|s| {
                let newest = s
                    .current
                    .or_else(|| s.points.last().map(|(_, v)| *v))
                    .map_or_else(|| "–".to_string(), |v| unit.format(v));
                view! {
                    <li class=s.class>
                        <span class="swatch"></span>
                        {s.label}": "<span class="value">{newest}</span>
                    </li>
                }
            })
            .collect_view()
    };

    view! {
        <figure class="chart" data-span-min=span_ms / 60_000 data-end-ms=move || end_ms.get()>
            <figcaption>{title}</figcaption>
            <svg viewBox=format!("0 0 {WIDTH} {HEIGHT}") role="img" aria-label=title preserveAspectRatio="none">
                <g class="axes">{grid}{time_axis}</g>
                <g class="thresholds">{limits}</g>
                <g class="lines">{lines}</g>
            </svg>
            <ul class="legend">{legend}</ul>
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
}
