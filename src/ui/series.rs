//! One line of a chart: what the chart draws and its readout reads, shared by both so neither
//! imports the other for it.

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
