//! A gauge: a half-circle dial filled to a percentage, coloured by its thresholds, with the value
//! written under it.

use super::level::{Level, Thresholds};
use leptos::prelude::*;

/// The SVG path of the dial's arc from empty to `percent` (0 to 100) on a 100×56 canvas.
pub fn arc_path(percent: f64) -> String {
    let fraction = if percent.is_finite() { percent.clamp(0.0, 100.0) / 100.0 } else { 0.0 };
    let angle = std::f64::consts::PI * fraction;
    let (x, y) = (50.0 - 40.0 * angle.cos(), 50.0 - 40.0 * angle.sin());
    format!("M 10 50 A 40 40 0 0 1 {x:.2} {y:.2}")
}

#[component]
pub fn Gauge(
    label: &'static str,
    /// How full the dial is, 0 to 100.
    #[prop(into)]
    percent: Signal<f64>,
    /// The value as text (e.g. `42 %`).
    #[prop(into)]
    text: Signal<String>,
    /// A second line (e.g. `3 GiB of 8 GiB`).
    #[prop(optional, into)]
    detail: Option<Signal<String>>,
    #[prop(optional)] thresholds: Option<Thresholds>,
) -> impl IntoView {
    let level = move || thresholds.map_or(Level::Ok, |t| t.level(percent.get())).as_str();
    view! {
        <figure class="gauge" data-level=level data-percent=move || format!("{:.1}", percent.get())>
            <svg viewBox="0 0 100 56" role="img" aria-label=label>
                <path class="dial" d=arc_path(100.0)/>
                <path class=move || format!("fill level-{}", level()) d=move || arc_path(percent.get())/>
            </svg>
            <figcaption>
                <span class="gauge-label">{label}</span>
                <span class="gauge-value">{move || text.get()}</span>
                {detail.map(|d| view! { <span class="gauge-detail">{move || d.get()}</span> })}
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arc_ends_where_the_percentage_says() {
        assert_eq!(arc_path(0.0), "M 10 50 A 40 40 0 0 1 10.00 50.00");
        assert_eq!(arc_path(50.0), "M 10 50 A 40 40 0 0 1 50.00 10.00");
        assert_eq!(arc_path(100.0), "M 10 50 A 40 40 0 0 1 90.00 50.00");
        assert_eq!(arc_path(250.0), arc_path(100.0));
        assert_eq!(arc_path(f64::NAN), arc_path(0.0));
    }
}
