//! Warn and critical thresholds, and the level a value is at: what colours gauges and charts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    pub warn: f64,
    pub critical: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Ok,
    Warn,
    Critical,
}

impl Thresholds {
    pub fn level(&self, value: f64) -> Level {
        if value >= self.critical {
            Level::Critical
        } else if value >= self.warn {
            Level::Warn
        } else {
            Level::Ok
        }
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warn => "warn",
            Self::Critical => "critical",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_start_at_their_threshold() {
        let t = Thresholds { warn: 75.0, critical: 90.0 };
        assert_eq!(t.level(74.9), Level::Ok);
        assert_eq!(t.level(75.0), Level::Warn);
        assert_eq!(t.level(90.0), Level::Critical);
        assert_eq!(t.level(f64::NAN), Level::Ok);
    }
}
