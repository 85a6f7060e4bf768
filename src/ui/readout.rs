//! The chart readout's arithmetic, apart from the DOM: which point a pointer position or an arrow
//! key lands on, each series' value there, and how its time is written. Pure functions, so the
//! chart's interaction is tested without a browser.

use super::{series::Series, units};

/// The time under a pointer at `fraction` (0 at the plot's left edge, 1 at its right) of a plot
/// showing `span_ms` up to `end_ms`, snapped to the nearest point of the shown series.
pub fn time_at(series: &[Series], fraction: f64, span_ms: i64, end_ms: i64) -> Option<i64> {
    let fraction = if fraction.is_finite() { fraction.clamp(0.0, 1.0) } else { 1.0 };
    let wanted = end_ms - span_ms + (fraction * span_ms as f64).round() as i64;
    nearest_time(series, wanted, end_ms - span_ms, end_ms)
}

/// The point time nearest `wanted` among the shown series' points within `start..=end`.
pub fn nearest_time(series: &[Series], wanted: i64, start: i64, end: i64) -> Option<i64> {
    times(series, start, end).into_iter().min_by_key(|t| (t - wanted).abs())
}

/// Every point time of the shown series within `start..=end`, sorted, without repeats.
pub fn times(series: &[Series], start: i64, end: i64) -> Vec<i64> {
    let mut all: Vec<i64> =
        series.iter().flat_map(|s| s.points.iter().map(|(t, _)| *t)).filter(|t| (start..=end).contains(t)).collect();
    all.sort_unstable();
    all.dedup();
    all
}

/// Where a key moves the readout from `current` (`None`: not shown), or `None` for a key the
/// readout does not use. Arrows step one point, Home and End go to the oldest and newest point;
/// Escape hides the readout (`Some(None)`).
pub fn key_move(key: &str, current: Option<i64>, times: &[i64]) -> Option<Option<i64>> {
    let (first, last) = (times.first().copied(), times.last().copied());
    let at = current.map(|c| times.partition_point(|t| *t < c));
    Some(match key {
        "Escape" => None,
        "Home" => first,
        "End" => last,
        "ArrowLeft" | "ArrowDown" => match at {
            Some(i) if i > 0 => Some(times[i - 1]),
            Some(_) => first,
            None => last,
        },
        "ArrowRight" | "ArrowUp" => match at {
            Some(i) if times.get(i) == current.as_ref() => times.get(i + 1).copied().or(last),
            Some(i) => times.get(i).copied().or(last),
            None => last,
        },
        _ => return None,
    })
}

/// Each shown series' value at `at` (its point at that time, else its nearest point within
/// `tolerance_ms`), or `None` where it has none.
pub fn values_at(series: &[Series], at: i64, tolerance_ms: i64) -> Vec<(&'static str, &'static str, Option<f64>)> {
    series
        .iter()
        .map(|s| {
            let value = s
                .points
                .iter()
                .min_by_key(|(t, _)| (t - at).abs())
                .filter(|(t, _)| (t - at).abs() <= tolerance_ms)
                .map(|(_, v)| *v);
            (s.label, s.class, value)
        })
        .collect()
}

/// `12:03:45 · 1 min 5 s ago` (local time in the browser, UTC on the server, which never shows a
/// readout), or `12:03:45 · now` at the chart's end.
pub fn time_label(at: i64, end_ms: i64) -> String {
    let back = (end_ms - at).max(0) / 1000;
    let ago = if back == 0 { "now".to_string() } else { format!("{} ago", units::duration(back as u64)) };
    format!("{} · {ago}", clock(at))
}

#[cfg(feature = "hydrate")]
fn clock(at: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
    format!("{:02}:{:02}:{:02}", date.get_hours(), date.get_minutes(), date.get_seconds())
}

#[cfg(not(feature = "hydrate"))]
fn clock(at: i64) -> String {
    let secs = at.div_euclid(1000).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(label: &'static str, points: &[(i64, f64)]) -> Series {
        Series { label, class: "series-1", points: points.to_vec(), current: None }
    }

    #[test]
    fn pointer_snaps_to_the_nearest_point() {
        let all = [series("a", &[(1000, 1.0), (2000, 2.0), (3000, 3.0)]), series("b", &[(2500, 9.0)])];
        // The plot shows 0..=4000: the left edge is time 0, the right edge 4000.
        assert_eq!(time_at(&all, 0.0, 4000, 4000), Some(1000));
        assert_eq!(time_at(&all, 0.6, 4000, 4000), Some(2500));
        assert_eq!(time_at(&all, 1.0, 4000, 4000), Some(3000));
        assert_eq!(time_at(&all, f64::NAN, 4000, 4000), Some(3000));
        assert_eq!(time_at(&[], 0.5, 4000, 4000), None);
        // Points outside the range are not landed on.
        assert_eq!(time_at(&all, 0.0, 1500, 4000), Some(2500));
    }

    #[test]
    fn keys_step_through_the_points() {
        let times = [1000, 2000, 3000];
        assert_eq!(key_move("ArrowLeft", None, &times), Some(Some(3000)));
        assert_eq!(key_move("ArrowLeft", Some(3000), &times), Some(Some(2000)));
        assert_eq!(key_move("ArrowLeft", Some(1000), &times), Some(Some(1000)));
        assert_eq!(key_move("ArrowRight", Some(1000), &times), Some(Some(2000)));
        assert_eq!(key_move("ArrowRight", Some(3000), &times), Some(Some(3000)));
        // From a time between points (the data moved on): to the next one either way.
        assert_eq!(key_move("ArrowRight", Some(1500), &times), Some(Some(2000)));
        assert_eq!(key_move("ArrowLeft", Some(1500), &times), Some(Some(1000)));
        assert_eq!(key_move("Home", Some(2000), &times), Some(Some(1000)));
        assert_eq!(key_move("End", None, &times), Some(Some(3000)));
        assert_eq!(key_move("Escape", Some(2000), &times), Some(None));
        assert_eq!(key_move("Tab", Some(2000), &times), None);
        assert_eq!(key_move("ArrowLeft", None, &[]), Some(None));
    }

    #[test]
    fn values_under_the_readout() {
        let all = [series("a", &[(1000, 1.0), (2000, 2.0)]), series("b", &[(5000, 9.0)])];
        assert_eq!(values_at(&all, 2000, 500), [("a", "series-1", Some(2.0)), ("b", "series-1", None)]);
        assert_eq!(values_at(&all, 4800, 500), [("a", "series-1", None), ("b", "series-1", Some(9.0))]);
        assert_eq!(time_label(3_600_000 + 65_000, 3_600_000 + 130_000), "01:01:05 · 1 min 5 s ago");
        assert_eq!(time_label(5000, 5000), "00:00:05 · now");
    }
}
