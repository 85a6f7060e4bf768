//! Quotes and ticks as they travel between server and page (shared).

use serde::{Deserialize, Serialize};

/// Points in a sparkline: one per second, the last minute.
pub const SPARK_POINTS: usize = 60;

/// One symbol's state as the board shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    pub symbol: String,
    pub last: f64,
    pub open: f64,
    pub high: f64,
    pub low: f64,
    pub volume: u64,
    /// Milliseconds since the Unix epoch of the last tick.
    pub ts_ms: i64,
    /// Recent prices, oldest first, for the sparkline.
    pub spark: Vec<f64>,
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
}
