//! Warn and critical levels of the monitor's percentage gauges, from the configuration. Shared:
//! the snapshot carries them to the page.

use crate::ui::Thresholds;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MonitorThresholds {
    pub cpu: Thresholds,
    pub memory: Thresholds,
    pub disk: Thresholds,
}

impl MonitorThresholds {
    #[cfg(feature = "ssr")]
    pub fn from_settings(s: &crate::config::PulseboardSettings) -> Self {
        Self {
            cpu: Thresholds { warn: s.monitor_cpu_warn, critical: s.monitor_cpu_critical },
            memory: Thresholds { warn: s.monitor_memory_warn, critical: s.monitor_memory_critical },
            disk: Thresholds { warn: s.monitor_disk_warn, critical: s.monitor_disk_critical },
        }
    }
}
