//! Quotes and ticks as they travel between server and page (shared).
//!
//! The board's full state of a symbol is a [`Quote`] (the snapshot, and what the page holds). The
//! stream sends only what a tick changed, a [`QuoteChange`]: the figures and the sparkline's
//! newest point, numbered, so the page keeps the series itself ([`Quote::merge`]) instead of
//! receiving all of it with every tick. Merging is plain Rust, tested without a browser.

use serde::{Deserialize, Serialize};

/// Points in a sparkline: one per second, the last minute.
pub const SPARK_POINTS: usize = 60;

/// One symbol's state as the board shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub symbol: String,
    pub last: f64,
    /// First price of the current session (see `market-session-secs`).
    pub open: f64,
    pub high: f64,
    pub low: f64,
    /// Traded in the current session.
    pub volume: u64,
    /// Milliseconds since the Unix epoch of the last tick.
    pub ts_ms: i64,
    /// Recent prices, oldest first, for the sparkline.
    pub spark: Vec<f64>,
    /// Number of the newest sparkline point (points are numbered from 1 as the board makes them;
    /// 0: none yet).
    #[serde(default)]
    pub point: u64,
}

/// One `quote` event: a symbol's figures after a tick, and the sparkline's newest point, which
/// is always `last`: point number `point` either moved (the same number as before) or is new.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteChange {
    pub symbol: String,
    pub last: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub volume: u64,
    pub ts_ms: i64,
    pub point: u64,
}

/// What [`Quote::merge`] did with a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merged {
    /// Older than what the quote holds (a snapshot newer than the event): ignored.
    Stale,
    /// Applied; `missed` points were skipped (latest-wins delivery drops changes a slow client
    /// could not take), drawn as the price held flat until the new point.
    Applied { missed: u64 },
}

impl Quote {
    pub fn change(&self) -> f64 {
        self.last - self.open
    }

    pub fn change_pct(&self) -> f64 {
        if self.open == 0.0 {
            0.0
        } else {
            self.change() / self.open * 100.0
        }
    }

    /// The event a board sends for this state.
    pub fn as_change(&self) -> QuoteChange {
        QuoteChange {
            symbol: self.symbol.clone(),
            last: self.last,
            open: self.open,
            high: self.high,
            low: self.low,
            volume: self.volume,
            ts_ms: self.ts_ms,
            point: self.point,
        }
    }

    /// Applies a change of the same symbol: the figures are replaced, the sparkline's newest
    /// point moves or a new one is added (the oldest dropping out past [`SPARK_POINTS`]).
    pub fn merge(&mut self, change: &QuoteChange) -> Merged {
        if change.point < self.point || (change.point == self.point && change.ts_ms < self.ts_ms) {
            return Merged::Stale;
        }
        let mut missed = 0;
        if change.point == self.point && !self.spark.is_empty() {
            if let Some(newest) = self.spark.last_mut() {
                *newest = change.last;
            }
        } else {
            missed = change.point.saturating_sub(self.point).saturating_sub(1);
            if let Some(&held) = self.spark.last() {
                let fill = missed.min(SPARK_POINTS as u64) as usize;
                self.spark.extend(std::iter::repeat_n(held, fill));
            }
            self.spark.push(change.last);
            if self.spark.len() > SPARK_POINTS {
                self.spark.drain(..self.spark.len() - SPARK_POINTS);
            }
        }
        self.last = change.last;
        self.open = change.open;
        self.high = change.high;
        self.low = change.low;
        self.volume = change.volume;
        self.ts_ms = change.ts_ms;
        self.point = change.point;
        Merged::Applied { missed }
    }
}

/// A trade or price update: what the simulator makes and external feeds publish to the topic
/// `ticks` (JSON: `{"symbol":"ACME","price":101.25,"volume":300,"timestamp":1763800000000}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tick {
    pub symbol: String,
    pub price: f64,
    #[serde(default)]
    pub volume: u64,
    /// Milliseconds since the Unix epoch.
    pub timestamp: i64,
}

/// Columns the board sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Symbol,
    Last,
    ChangePct,
    Volume,
}

impl SortBy {
    pub fn compare(self, a: &Quote, b: &Quote) -> std::cmp::Ordering {
        match self {
            Self::Symbol => a.symbol.cmp(&b.symbol),
            Self::Last => a.last.total_cmp(&b.last),
            Self::ChangePct => a.change_pct().total_cmp(&b.change_pct()),
            Self::Volume => a.volume.cmp(&b.volume),
        }
    }

    /// Whether the order by this column changes as prices move (the symbol's does not).
    pub fn moves(self) -> bool {
        self != Self::Symbol
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quote(spark: Vec<f64>, point: u64) -> Quote {
        let last = spark.last().copied().unwrap_or(0.0);
        Quote { symbol: "A".into(), last, open: 1.0, high: 9.0, low: 1.0, volume: 10, ts_ms: 1000, spark, point }
    }

    fn change(last: f64, point: u64, ts_ms: i64) -> QuoteChange {
        QuoteChange { symbol: "A".into(), last, open: 1.0, high: 9.0, low: 0.5, volume: 12, ts_ms, point }
    }

    #[test]
    fn a_change_moves_the_newest_point_or_adds_one() {
        let mut q = quote(vec![1.0, 2.0], 2);
        assert_eq!(q.merge(&change(2.5, 2, 1100)), Merged::Applied { missed: 0 });
        assert_eq!(q.spark, [1.0, 2.5]);
        assert_eq!((q.last, q.low, q.volume, q.ts_ms, q.point), (2.5, 0.5, 12, 1100, 2));
        assert_eq!(q.merge(&change(3.0, 3, 2000)), Merged::Applied { missed: 0 });
        assert_eq!(q.spark, [1.0, 2.5, 3.0]);
    }

    #[test]
    fn the_series_keeps_a_minute_and_drops_the_oldest() {
        let mut q = quote(vec![], 0);
        for n in 1..=100u64 {
            q.merge(&change(n as f64, n, n as i64 * 1000));
        }
        assert_eq!(q.spark.len(), SPARK_POINTS);
        assert_eq!((q.spark[0], q.spark[SPARK_POINTS - 1]), (41.0, 100.0));
    }

    #[test]
    fn older_changes_are_ignored_and_skipped_points_are_held_flat() {
        let mut q = quote(vec![1.0, 2.0], 2);
        let before = q.clone();
        assert_eq!(q.merge(&change(7.0, 1, 5000)), Merged::Stale);
        assert_eq!(q.merge(&change(7.0, 2, 900)), Merged::Stale);
        assert_eq!(q, before);
        assert_eq!(q.merge(&change(5.0, 5, 6000)), Merged::Applied { missed: 2 });
        assert_eq!(q.spark, [1.0, 2.0, 2.0, 2.0, 5.0]);
        // A gap longer than the series leaves one minute of it.
        assert_eq!(q.merge(&change(6.0, 500, 9000)), Merged::Applied { missed: 494 });
        assert_eq!(q.spark.len(), SPARK_POINTS);
        assert_eq!(q.spark[SPARK_POINTS - 1], 6.0);
    }

    #[test]
    fn a_change_round_trips_and_the_snapshot_accepts_no_point() {
        let q = quote(vec![1.0, 2.0], 2);
        let json = serde_json::to_string(&q.as_change()).unwrap();
        assert_eq!(serde_json::from_str::<QuoteChange>(&json).unwrap(), q.as_change());
        let old = r#"{"symbol":"A","last":1,"open":1,"high":1,"low":1,"volume":0,"ts_ms":1,"spark":[1]}"#;
        assert_eq!(serde_json::from_str::<Quote>(old).unwrap().point, 0);
    }
}
