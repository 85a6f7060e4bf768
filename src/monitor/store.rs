//! The monitor's server-side state: the rolling window of points, the newest full sample and the
//! thresholds, shared by the sampling task (writer), the snapshot server function and `/metrics`
//! (readers). Short locks only.

use super::{
    sample::{Point, Sample},
    thresholds::MonitorThresholds,
    window::{RollingWindow, Window},
};
use parking_lot::RwLock;
use std::sync::Arc;

#[derive(Clone)]
pub struct MonitorStore {
    inner: Arc<RwLock<Inner>>,
    pub interval_ms: u64,
    pub thresholds: MonitorThresholds,
}

#[derive(Default)]
struct Inner {
    window: RollingWindow,
    latest: Option<Sample>,
    samples: u64,
}

impl MonitorStore {
    pub fn new(settings: &super::settings::MonitorSettings) -> Self {
        Self {
            inner: Arc::default(),
            interval_ms: settings.interval_ms,
            thresholds: MonitorThresholds::from_settings(settings),
        }
    }

    pub fn record(&self, sample: Sample) {
        let mut inner = self.inner.write();
        inner.window.push(sample.point());
        inner.latest = Some(sample);
        inner.samples += 1;
    }

    pub fn latest(&self) -> Option<Sample> {
        self.inner.read().latest.clone()
    }

    /// How many samples have been recorded since the server started.
    pub fn samples(&self) -> u64 {
        self.inner.read().samples
    }

    /// The newest sample and the window's points up to it (the window ends at the newest sample).
    pub fn view(&self, window: Window) -> (Option<Sample>, Vec<Point>) {
        let inner = self.inner.read();
        let Some(latest) = inner.latest.clone() else {
            return (None, Vec::new());
        };
        let points = inner.window.range(window, latest.at_ms);
        (Some(latest), points)
    }
}
