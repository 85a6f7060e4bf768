//! The monitor's server-side state: per instance, the rolling window of points and the newest
//! full sample; the thresholds; shared by the sampling task and the peer collector (writers), the
//! snapshot server function and `/metrics` (readers). Short locks only.
//!
//! Invariants: this instance's own samples are kept apart from its peers' (so `/metrics` stays
//! about this instance, whatever the peers publish); a peer that has not sampled for
//! [`LIVE_INTERVALS`] of its interval is no longer live and is forgotten.

use super::{
    sample::{Point, Sample},
    thresholds::MonitorThresholds,
    window::{RollingWindow, Window},
};
use parking_lot::RwLock;
use std::{collections::BTreeMap, sync::Arc, time::Instant};

/// A peer stays on the page for this many of its sampling intervals without a sample.
pub const LIVE_INTERVALS: u32 = 5;

#[derive(Clone)]
pub struct MonitorStore {
    inner: Arc<RwLock<Inner>>,
    pub interval_ms: u64,
    pub thresholds: MonitorThresholds,
    /// This instance's name (`instance-name`, or host and port).
    pub instance: Arc<str>,
}

#[derive(Default)]
struct Inner {
    own: History,
    peers: BTreeMap<String, Peer>,
    samples: u64,
}

#[derive(Default)]
struct History {
    window: RollingWindow,
    latest: Option<Sample>,
}

impl History {
    fn push(&mut self, sample: Sample) {
        self.window.push(sample.point());
        self.latest = Some(sample);
    }

    fn view(&self, window: Window) -> (Option<Sample>, Vec<Point>) {
        let Some(latest) = self.latest.clone() else {
            return (None, Vec::new());
        };
        let points = self.window.range(window, latest.at_ms);
        (Some(latest), points)
    }
}

struct Peer {
    history: History,
    seen: Instant,
}

impl Peer {
    fn live(&self, now: Instant) -> bool {
        let interval = self.history.latest.as_ref().map_or(1000, |s| s.interval_ms.max(100));
        now.duration_since(self.seen).as_millis() <= u128::from(interval) * u128::from(LIVE_INTERVALS)
    }
}

/// A snapshot asked for an instance that is not sampling.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no instance named {name:?} is sampling now; live instances: {}", .live.join(", "))]
pub struct UnknownInstance {
    pub name: String,
    pub live: Vec<String>,
}

impl MonitorStore {
    pub fn new(settings: &super::settings::MonitorSettings, instance: String) -> Self {
        Self {
            inner: Arc::default(),
            interval_ms: settings.interval_ms,
            thresholds: MonitorThresholds::from_settings(settings),
            instance: instance.into(),
        }
    }

    /// Records one of this instance's samples.
    pub fn record(&self, sample: Sample) {
        let mut inner = self.inner.write();
        inner.own.push(sample);
        inner.samples += 1;
    }

    /// Records a sample another instance published (this instance's own are ignored: they are
    /// recorded where they are taken).
    pub fn record_peer(&self, sample: Sample) {
        if sample.instance == *self.instance || sample.instance.is_empty() {
            return;
        }
        let now = Instant::now();
        let mut inner = self.inner.write();
        inner.peers.retain(|_, peer| peer.live(now));
        let peer = inner
            .peers
            .entry(sample.instance.clone())
            .or_insert_with(|| Peer { history: History::default(), seen: now });
        peer.seen = now;
        peer.history.push(sample);
    }

    /// This instance's newest sample.
    pub fn latest(&self) -> Option<Sample> {
        self.inner.read().own.latest.clone()
    }

    /// How many samples this instance has taken since the server started.
    pub fn samples(&self) -> u64 {
        self.inner.read().samples
    }

    /// The instances sampling now, this one first, then the live peers by name.
    pub fn live_instances(&self) -> Vec<String> {
        self.live_at(Instant::now())
    }

    fn live_at(&self, now: Instant) -> Vec<String> {
        let inner = self.inner.read();
        let peers = inner.peers.iter().filter(|(_, peer)| peer.live(now)).map(|(name, _)| name.clone());
        std::iter::once(self.instance.to_string()).chain(peers).collect()
    }

    /// How often `instance` (this one when `None`) samples, as its newest sample says: what its
    /// windows' steps are made of. This instance's interval for one not known (yet).
    pub fn interval_of(&self, instance: Option<&str>) -> u64 {
        let inner = self.inner.read();
        instance
            .filter(|name| *name != &*self.instance)
            .and_then(|name| inner.peers.get(name))
            .and_then(|peer| peer.history.latest.as_ref())
            .map_or(self.interval_ms, |sample| sample.interval_ms.max(1))
    }

    /// The newest sample of `instance` (this one when `None`) and the window's points up to it.
    pub fn view(
        &self,
        window: Window,
        instance: Option<&str>,
    ) -> Result<(Option<Sample>, Vec<Point>), UnknownInstance> {
        let inner = self.inner.read();
        match instance {
            None => Ok(inner.own.view(window)),
            Some(name) if name == &*self.instance => Ok(inner.own.view(window)),
            Some(name) => match inner.peers.get(name).filter(|peer| peer.live(Instant::now())) {
                Some(peer) => Ok(peer.history.view(window)),
                None => {
                    drop(inner);
                    Err(UnknownInstance { name: name.to_string(), live: self.live_instances() })
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::{sample::*, settings::MonitorSettings};

    fn sample(instance: &str, at_ms: i64, cpu: f64) -> Sample {
        Sample {
            at_ms,
            instance: instance.into(),
            interval_ms: 100,
            degraded: None,
            instances: Vec::new(),
            host: HostSample { cpu_percent: cpu, ..HostSample::default() },
            process: ProcessSample::default(),
            streams: StreamSample::default(),
        }
    }

    fn store() -> MonitorStore {
        let settings = MonitorSettings {
            interval_ms: 100,
            cpu_warn: 1.0,
            cpu_critical: 2.0,
            memory_warn: 1.0,
            memory_critical: 2.0,
            disk_warn: 1.0,
            disk_critical: 2.0,
            instance_name: None,
        };
        MonitorStore::new(&settings, "a:1".into())
    }

    #[test]
    fn own_samples_and_peers_are_kept_apart() {
        let store = store();
        let window = Window::new(5, 100).unwrap();
        store.record(sample("a:1", 1_000_000, 10.0));
        store.record_peer(sample("b:2", 1_000_050, 90.0));
        // Our own sample coming back over the shared topic is not a peer.
        store.record_peer(sample("a:1", 1_000_100, 50.0));
        assert_eq!(store.latest().unwrap().host.cpu_percent, 10.0, "/metrics reads this instance only");
        assert_eq!(store.samples(), 1);
        assert_eq!(store.live_instances(), ["a:1", "b:2"]);
        assert_eq!(
            (store.interval_of(Some("b:2")), store.interval_of(Some("c:3")), store.interval_of(None)),
            (100, 100, 100)
        );
        let (latest, points) = store.view(window, Some("b:2")).unwrap();
        assert_eq!((latest.unwrap().host.cpu_percent, points.len()), (90.0, 1));
        assert_eq!(store.view(window, None).unwrap().0.unwrap().host.cpu_percent, 10.0);
        let unknown = store.view(window, Some("c:3")).unwrap_err();
        assert_eq!(unknown.live, ["a:1", "b:2"]);
        assert!(unknown.to_string().contains("\"c:3\""), "{unknown}");
    }

    #[test]
    fn a_peer_that_stopped_sampling_drops_out() {
        let store = store();
        store.record_peer(sample("b:2", 1_000_000, 90.0));
        assert_eq!(store.live_instances().len(), 2);
        // Five intervals of 100 ms without a sample.
        let later = Instant::now() + std::time::Duration::from_millis(600);
        assert_eq!(store.live_at(later), ["a:1"]);
        assert_eq!(store.live_at(Instant::now()), ["a:1", "b:2"]);
    }
}
