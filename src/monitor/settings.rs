//! The monitor's settings: sampling interval and gauge thresholds (`monitor-*` keys).

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Shortest and longest sampling interval the monitor accepts.
pub const INTERVAL_RANGE_MS: std::ops::RangeInclusive<u64> = 100..=60_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSettings {
    /// How often the monitor samples the host, the process and the hub, in milliseconds.
    #[serde(rename = "monitor-interval-ms")]
    pub interval_ms: u64,
    /// Thresholds in percent: a gauge turns warn at `*-warn`, critical at `*-critical`.
    #[serde(rename = "monitor-cpu-warn")]
    pub cpu_warn: f64,
    #[serde(rename = "monitor-cpu-critical")]
    pub cpu_critical: f64,
    #[serde(rename = "monitor-memory-warn")]
    pub memory_warn: f64,
    #[serde(rename = "monitor-memory-critical")]
    pub memory_critical: f64,
    #[serde(rename = "monitor-disk-warn")]
    pub disk_warn: f64,
    #[serde(rename = "monitor-disk-critical")]
    pub disk_critical: f64,
}

impl MonitorSettings {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }

    /// Ranges and the order of thresholds: one message per problem, naming the key.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if !INTERVAL_RANGE_MS.contains(&self.interval_ms) {
            problems.push(format!(
                "key `pulseboard.monitor-interval-ms`: {} is outside {}..={}",
                self.interval_ms,
                INTERVAL_RANGE_MS.start(),
                INTERVAL_RANGE_MS.end()
            ));
        }
        for (name, warn, critical) in [
            ("cpu", self.cpu_warn, self.cpu_critical),
            ("memory", self.memory_warn, self.memory_critical),
            ("disk", self.disk_warn, self.disk_critical),
        ] {
            for (which, value) in [("warn", warn), ("critical", critical)] {
                if !(0.0..=100.0).contains(&value) {
                    problems.push(format!(
                        "key `pulseboard.monitor-{name}-{which}`: {value} is not a percentage (0 to 100)"
                    ));
                }
            }
            if warn > critical {
                problems.push(format!(
                    "key `pulseboard.monitor-{name}-warn`: {warn} is above monitor-{name}-critical ({critical})"
                ));
            }
        }
        problems
    }
}
