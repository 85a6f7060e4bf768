//! What the market benchmark measured: one live run, the stall run and its samples. Plain data,
//! shared by the runner (`market`) that fills it and the report (`market_report`) that prints it.

use crate::{
    metrics::Counters,
    quotes::{LiveTotals, ResumeOutcome},
    subscriber::ConnectSummary,
    tracker::LatencySummary,
};

/// What a window measured on the server side: counter growth, per second where it says so.
#[derive(Debug, Clone, Copy, Default)]
pub struct Span {
    pub secs: f64,
    /// Longer of the two `/metrics` round trips, seconds: `secs` is known to about half of it.
    pub round_trip: f64,
    pub grown: Counters,
    pub server_cpu: f64,
    pub tool_cpu: f64,
}

impl Span {
    pub fn per_sec(&self, count: f64) -> f64 {
        if self.secs > 0.0 {
            count / self.secs
        } else {
            0.0
        }
    }
}

/// One live run.
#[derive(Debug, Clone)]
pub struct LiveResult {
    pub rate: u32,
    pub symbols: usize,
    pub warmup_secs: f64,
    pub connect: ConnectSummary,
    pub span: Span,
    pub delivered: LiveTotals,
    pub staleness: LatencySummary,
    pub rss_base_kib: u64,
    pub rss_connected_kib: u64,
    pub rss_max_kib: u64,
    /// Kernel TCP buffers (host-wide) before connecting and at the end of the window.
    pub tcp_base_kib: u64,
    pub tcp_end_kib: u64,
}

/// RSS and kernel TCP buffers at one moment of the stall.
#[derive(Debug, Clone, Copy)]
pub struct StallSample {
    pub secs: f64,
    pub rss_kib: u64,
    pub tcp_kib: u64,
}

/// The stall run.
#[derive(Debug, Clone)]
pub struct StallResult {
    pub rate: u32,
    pub symbols: usize,
    pub recv_buffer: u32,
    pub connect: ConnectSummary,
    pub rss_base_kib: u64,
    pub tcp_base_kib: u64,
    pub samples: Vec<StallSample>,
    pub span: Span,
    pub resumed: Vec<ResumeOutcome>,
}
