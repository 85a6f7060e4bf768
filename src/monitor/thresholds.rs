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
    pub fn from_settings(s: &super::settings::MonitorSettings) -> Self {
        Self {
            cpu: Thresholds { warn: s.cpu_warn, critical: s.cpu_critical },
            memory: Thresholds { warn: s.memory_warn, critical: s.memory_critical },
            disk: Thresholds { warn: s.disk_warn, critical: s.disk_critical },
        }
    }
}
