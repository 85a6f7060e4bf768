//! Time windows of points: the server's rolling window (one hour at the sampling interval, then
//! one-minute averages for a day) and the downsampling both sides share, so a chart has a bounded
//! number of points whatever its range. Buckets are aligned to multiples of the step in Unix time,
//! so the server's snapshot and the page's live fold put a sample in the same bucket.

use super::sample::Point;
use std::collections::VecDeque;

/// The ranges the page offers, in minutes.
pub const WINDOW_CHOICES: [u32; 4] = [5, 15, 60, 360];
pub const DEFAULT_WINDOW: u32 = 15;
/// Most points a chart draws per series.
pub const MAX_POINTS: i64 = 360;
/// Fine points: this long at the sampling interval.
pub const FINE_SPAN_MS: i64 = 60 * 60 * 1000;
/// Coarse points: one per this long...
pub const COARSE_STEP_MS: i64 = 60 * 1000;
/// ...for this long.
pub const COARSE_SPAN_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window must be one of {WINDOW_CHOICES:?} minutes, not {0:?}")]
pub struct BadWindow(pub String);

/// A chart range: how far back, and the width of one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub minutes: u32,
    pub step_ms: i64,
}

impl Window {
    /// Checks `minutes` against [`WINDOW_CHOICES`] and picks the step for `interval_ms` sampling:
    /// at least the interval, at most [`MAX_POINTS`] points, a whole number of intervals.
    pub fn new(minutes: u32, interval_ms: u64) -> Result<Self, BadWindow> {
        if !WINDOW_CHOICES.contains(&minutes) {
            return Err(BadWindow(minutes.to_string()));
        }
        let interval = (interval_ms as i64).max(1);
        let wanted = (minutes as i64 * 60_000 / MAX_POINTS).max(interval);
        let step_ms = (wanted + interval - 1) / interval * interval;
        Ok(Self { minutes, step_ms })
    }

    pub fn span_ms(&self) -> i64 {
        self.minutes as i64 * 60_000
    }
}

/// Start of the bucket of width `step_ms` that holds `at_ms`.
pub fn bucket_start(at_ms: i64, step_ms: i64) -> i64 {
    at_ms.div_euclid(step_ms.max(1)) * step_ms.max(1)
}

/// Averages `points` (oldest first) into buckets of `step_ms`; each result is stamped with its
/// bucket's start.
pub fn downsample<'a>(points: impl IntoIterator<Item = &'a Point>, step_ms: i64) -> Vec<Point> {
    let mut out: Vec<Point> = Vec::new();
    for point in points {
        fold(&mut out, *point, step_ms);
    }
    out
}

/// Adds one point (newer than those in `points`) to a downsampled series.
fn fold(points: &mut Vec<Point>, point: Point, step_ms: i64) {
    let start = bucket_start(point.at_ms, step_ms);
    match points.last_mut() {
        Some(last) if last.at_ms == start => *last = last.merged(point),
        _ => points.push(Point { at_ms: start, ..point }),
    }
}

/// The page's live fold: adds a new point to a series downsampled with `window`'s step and drops
/// buckets that left the window.
pub fn fold_live(points: &mut Vec<Point>, point: Point, window: Window) {
    fold(points, point, window.step_ms);
    let oldest = point.at_ms - window.span_ms();
    let stale = points.partition_point(|p| p.at_ms + window.step_ms <= oldest);
    points.drain(..stale);
}

/// The server's memory of recent points: fine ones for [`FINE_SPAN_MS`], one-minute averages for
/// [`COARSE_SPAN_MS`]. Bounded: at most span / interval fine points and 1440 coarse ones.
#[derive(Debug, Default)]
pub struct RollingWindow {
    fine: VecDeque<Point>,
    coarse: VecDeque<Point>,
}

impl RollingWindow {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a point newer than every point so far (an older one is ignored: clocks can step back).
    pub fn push(&mut self, point: Point) {
        if self.fine.back().is_some_and(|last| last.at_ms >= point.at_ms) {
            return;
        }
        self.fine.push_back(point);
        while self.fine.front().is_some_and(|p| p.at_ms < point.at_ms - FINE_SPAN_MS) {
            self.fine.pop_front();
        }
        let start = bucket_start(point.at_ms, COARSE_STEP_MS);
        match self.coarse.back_mut() {
            Some(last) if last.at_ms == start => *last = last.merged(point),
            _ => self.coarse.push_back(Point { at_ms: start, ..point }),
        }
        while self.coarse.front().is_some_and(|p| p.at_ms < point.at_ms - COARSE_SPAN_MS) {
            self.coarse.pop_front();
        }
    }

    pub fn len(&self) -> (usize, usize) {
        (self.fine.len(), self.coarse.len())
    }

    pub fn is_empty(&self) -> bool {
        self.fine.is_empty()
    }

    /// The points of the last `window` before `now_ms`, downsampled to its step: coarse points
    /// where the fine ones no longer reach, fine ones after.
    pub fn range(&self, window: Window, now_ms: i64) -> Vec<Point> {
        let from = now_ms - window.span_ms();
        let fine_from = self.fine.front().map_or(i64::MAX, |p| p.at_ms);
        let older = self
            .coarse
            .iter()
            .filter(|p| p.at_ms >= bucket_start(from, COARSE_STEP_MS) && p.at_ms + COARSE_STEP_MS <= fine_from);
        let recent = self.fine.iter().filter(|p| p.at_ms >= from);
        downsample(older.chain(recent), window.step_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(at_ms: i64, cpu: f64) -> Point {
        Point { at_ms, samples: 1, cpu_percent: cpu, ..Point::default() }
    }

    #[test]
    fn window_steps_bound_the_point_count() {
        assert_eq!(Window::new(5, 1000).unwrap().step_ms, 1000);
        assert_eq!(Window::new(15, 1000).unwrap().step_ms, 3000);
        assert_eq!(Window::new(60, 1000).unwrap().step_ms, 10_000);
        assert_eq!(Window::new(360, 1000).unwrap().step_ms, 60_000);
        // Never finer than the interval, always a whole number of intervals.
        assert_eq!(Window::new(5, 2000).unwrap().step_ms, 2000);
        assert_eq!(Window::new(15, 700).unwrap().step_ms, 2800);
        assert_eq!(Window::new(7, 1000), Err(BadWindow("7".into())));
    }

    #[test]
    fn downsampling_averages_within_aligned_buckets() {
        let points = [point(10_000, 10.0), point(11_000, 20.0), point(12_000, 60.0), point(13_000, 0.0)];
        let out = downsample(&points, 3000);
        // Buckets start at 9000 (10 s and 11 s) and 12000 (12 s and 13 s).
        assert_eq!(out.len(), 2);
        assert_eq!((out[0].at_ms, out[0].samples, out[0].cpu_percent), (9000, 2, 15.0));
        assert_eq!((out[1].at_ms, out[1].samples, out[1].cpu_percent), (12_000, 2, 30.0));
        // Merging keeps weights: a bucket of two and a bucket of one average to thirds.
        let merged = out[0].merged(point(0, 90.0));
        assert_eq!((merged.samples, merged.cpu_percent), (3, 40.0));
    }

    #[test]
    fn live_fold_matches_server_downsampling_and_trims_the_window() {
        let window = Window::new(5, 1000).unwrap();
        let all: Vec<Point> = (0..400).map(|n| point(1_000_000 + n * 1000, n as f64)).collect();
        let mut live = downsample(&all[..100], window.step_ms);
        for p in &all[100..] {
            fold_live(&mut live, *p, window);
        }
        assert_eq!(live.len(), 301, "five minutes at one second, both ends included");
        assert_eq!(live.last().unwrap().cpu_percent, 399.0);
        assert_eq!(live[0].at_ms, all[399].at_ms - 300_000);

        let window = Window::new(15, 1000).unwrap();
        let mut live = Vec::new();
        for p in &all {
            fold_live(&mut live, *p, window);
        }
        assert_eq!(live, downsample(&all, 3000));
    }

    #[test]
    fn rolling_window_keeps_an_hour_fine_and_a_day_coarse() {
        let mut rolling = RollingWindow::new();
        let start = 1_700_000_000_000 - 1_700_000_000_000 % COARSE_STEP_MS;
        let hours = 3;
        for n in 0..hours * 3600 {
            rolling.push(point(start + n * 1000, (n / 60) as f64));
        }
        let now = start + (hours * 3600 - 1) * 1000;
        let (fine, coarse) = rolling.len();
        assert_eq!(fine, 3601);
        assert_eq!(coarse, (hours * 60) as usize);
        // An older point is ignored.
        rolling.push(point(start, 0.0));
        assert_eq!(rolling.len().0, 3601);

        let hour = rolling.range(Window::new(60, 1000).unwrap(), now);
        assert!(hour.len() <= 361 && hour.len() >= 359, "{}", hour.len());
        assert!(hour.windows(2).all(|w| w[1].at_ms - w[0].at_ms == 10_000));

        // Six hours: only three exist, from the coarse minutes then the fine hour, one per minute.
        let six = rolling.range(Window::new(360, 1000).unwrap(), now);
        assert_eq!(six.len(), 180);
        assert_eq!(six[0].at_ms, start);
        assert!(six.windows(2).all(|w| w[1].at_ms - w[0].at_ms == 60_000));
        // Minute m of the run averaged cpu = m (the test's signal).
        assert!(six.iter().enumerate().all(|(m, p)| p.cpu_percent == m as f64));
    }
}
