//! The monitor's settings: sampling interval and gauge thresholds (`monitor-*` keys), and the name
//! this instance's samples carry (`instance-name`; absent: `<host name>:<port>`).

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
    /// What this instance is called on the Monitor page and in its samples (env
    /// `PULSEBOARD_INSTANCE_NAME`); absent: the host name and the port it listens on.
    #[serde(rename = "instance-name", default, skip_serializing_if = "Option::is_none")]
    pub instance_name: Option<String>,
}

/// Longest instance name (it is part of a topic name: `monitor.samples.<instance>`).
pub const MAX_INSTANCE_NAME: usize = 64;

/// Whether `name` can name an instance: 1 to [`MAX_INSTANCE_NAME`] letters, digits, `.`, `_`,
/// `-` and `:`, starting with a letter or digit (so it fits in a topic name).
pub fn check_instance_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_INSTANCE_NAME {
        return Err(format!("must be 1 to {MAX_INSTANCE_NAME} characters"));
    }
    if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(format!("{name:?} must start with a letter or digit"));
    }
    match name.chars().find(|c| !(c.is_ascii_alphanumeric() || "._-:".contains(*c))) {
        Some(found) => Err(format!("{name:?} contains {found:?}; allowed are letters, digits and . _ - :")),
        None => Ok(()),
    }
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
        if let Some(Err(problem)) = self.instance_name.as_deref().map(check_instance_name) {
            problems.push(format!("key `pulseboard.instance-name`: {problem}"));
        }
        problems
    }

    /// The instance's name: `instance-name`, or `<host>:<port>` of the address it listens on.
    pub fn instance(&self, port: u16) -> String {
        self.instance_name.clone().unwrap_or_else(|| {
            let host = super::sampler::host_name().unwrap_or_else(|| "pulseboard".to_string());
            let mut name = format!("{host}:{port}");
            // A long host name is cut, keeping the port that tells instances of one host apart.
            if name.len() > MAX_INSTANCE_NAME {
                let keep = MAX_INSTANCE_NAME - (port.to_string().len() + 1);
                name = format!("{}:{port}", &host[..keep.min(host.len())]);
            }
            name
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_fit_in_a_topic_name() {
        assert!(check_instance_name("web-1.example:3000").is_ok());
        assert!(check_instance_name("").is_err());
        assert!(check_instance_name("-web").unwrap_err().contains("start with"));
        assert!(check_instance_name("web 1").unwrap_err().contains("' '"));
        assert!(check_instance_name(&"a".repeat(65)).is_err());
        let settings = MonitorSettings {
            interval_ms: 1000,
            cpu_warn: 1.0,
            cpu_critical: 2.0,
            memory_warn: 1.0,
            memory_critical: 2.0,
            disk_warn: 1.0,
            disk_critical: 2.0,
            instance_name: None,
        };
        let name = settings.instance(3000);
        assert!(name.ends_with(":3000") && check_instance_name(&name).is_ok(), "{name}");
        let named = MonitorSettings { instance_name: Some("web 1".into()), ..settings };
        assert_eq!(named.instance(3000), "web 1");
        assert!(named.validate().iter().any(|p| p.contains("pulseboard.instance-name")), "{:?}", named.validate());
    }
}
