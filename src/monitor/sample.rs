//! What the monitor measures: one full `Sample` per interval (published on the monitor topic and
//! shown by the gauges) and its compact `Point` (kept in the rolling window and drawn by the
//! charts). Shared by the server, which makes them, and the page, which folds them.

use serde::{Deserialize, Serialize};

/// Everything measured at one instant, by one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix time of the measurement, in milliseconds.
    pub at_ms: i64,
    /// The instance that measured it (`instance-name`), and how often it samples.
    #[serde(default)]
    pub instance: String,
    #[serde(default)]
    pub interval_ms: u64,
    /// Why the instance is degraded (its event hub's backend cannot be used), or `None`.
    #[serde(default)]
    pub degraded: Option<String>,
    /// The instances sampling now, as this one sees them (itself included), by name.
    #[serde(default)]
    pub instances: Vec<String>,
    pub host: HostSample,
    pub process: ProcessSample,
    pub streams: StreamSample,
}

/// The machine. Values the platform does not provide are `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HostSample {
    /// All cores together, 0 to 100.
    pub cpu_percent: f64,
    /// Each core, 0 to 100.
    pub cores: Vec<f64>,
    pub memory_used: u64,
    pub memory_total: u64,
    pub swap_used: u64,
    pub swap_total: u64,
    /// 1, 5 and 15 minute load averages.
    pub load: Option<[f64; 3]>,
    /// All interfaces but loopback: bytes per second over the last interval...
    pub net_rx_per_sec: f64,
    pub net_tx_per_sec: f64,
    /// ...and in total since the interfaces came up.
    pub net_rx_total: u64,
    pub net_tx_total: u64,
    /// The filesystem holding the data directory.
    pub disk: Option<DiskSample>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiskSample {
    pub mount_point: String,
    pub used: u64,
    pub total: u64,
}

/// The pulseboard process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessSample {
    pub rss_bytes: u64,
    pub open_fds: Option<u64>,
    pub threads: Option<u64>,
    pub uptime_secs: u64,
}

/// pulseboard's streams (the hub's counters, and rates computed from them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamSample {
    pub topics: u64,
    pub streams: u64,
    pub subscribers: u64,
    pub history_events: u64,
    pub published_total: u64,
    pub delivered_total: u64,
    pub conflated_total: u64,
    pub resets_total: u64,
    pub resumes_total: u64,
    pub published_per_sec: f64,
    pub delivered_per_sec: f64,
    /// Jobs waiting for a worker and jobs running.
    #[serde(default)]
    pub jobs_queued: u64,
    #[serde(default)]
    pub jobs_running: u64,
    /// The busiest public topics by subscribers (at most [`TOP_TOPICS`]). Private topics are
    /// never named here (their names are their owners'): they count in `private_topics`.
    pub top_topics: Vec<TopicSample>,
    #[serde(default)]
    pub private_topics: PrivateTopicsSample,
}

/// How many topics a sample lists by name.
pub const TOP_TOPICS: usize = 10;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicSample {
    pub topic: String,
    pub subscribers: u64,
    pub history_events: u64,
}

/// Every private topic together (the hub's aggregate).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PrivateTopicsSample {
    pub topics: u64,
    pub subscribers: u64,
    pub history_events: u64,
}

/// The charted figures of one sample, or the average of several (`samples` of them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Start of the bucket (or the sample's time when not bucketed), Unix milliseconds.
    pub at_ms: i64,
    /// How many samples this point averages.
    pub samples: u32,
    pub cpu_percent: f64,
    pub memory_percent: f64,
    pub net_rx_per_sec: f64,
    pub net_tx_per_sec: f64,
    pub published_per_sec: f64,
    pub delivered_per_sec: f64,
    pub subscribers: f64,
}

/// `part` as a percentage of `whole` (0 when `whole` is 0).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl Sample {
    pub fn point(&self) -> Point {
        Point {
            at_ms: self.at_ms,
            samples: 1,
            cpu_percent: self.host.cpu_percent,
            memory_percent: percent(self.host.memory_used, self.host.memory_total),
            net_rx_per_sec: self.host.net_rx_per_sec,
            net_tx_per_sec: self.host.net_tx_per_sec,
            published_per_sec: self.streams.published_per_sec,
            delivered_per_sec: self.streams.delivered_per_sec,
            subscribers: self.streams.subscribers as f64,
        }
    }
}

impl Point {
    /// The average of `self` and `other`, weighted by how many samples each holds; keeps
    /// `self`'s time.
    pub fn merged(self, other: Point) -> Point {
        let (a, b) = (self.samples.max(1) as f64, other.samples.max(1) as f64);
        let mix = |x: f64, y: f64| (x * a + y * b) / (a + b);
        Point {
            at_ms: self.at_ms,
            samples: self.samples.max(1) + other.samples.max(1),
            cpu_percent: mix(self.cpu_percent, other.cpu_percent),
            memory_percent: mix(self.memory_percent, other.memory_percent),
            net_rx_per_sec: mix(self.net_rx_per_sec, other.net_rx_per_sec),
            net_tx_per_sec: mix(self.net_tx_per_sec, other.net_tx_per_sec),
            published_per_sec: mix(self.published_per_sec, other.published_per_sec),
            delivered_per_sec: mix(self.delivered_per_sec, other.delivered_per_sec),
            subscribers: mix(self.subscribers, other.subscribers),
        }
    }
}
