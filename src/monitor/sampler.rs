//! The sampler: measures the host (sysinfo), the process (/proc on Linux) and the hub's counters
//! (and whether its backend is down) once per call, turning counters into rates against the
//! previous call. Knows nothing of time windows, publishing or HTTP.

use super::{
    rate::CounterRate,
    sample::{
        DiskSample, HostSample, PrivateTopicsSample, ProcessSample, Sample, StreamSample, TopicSample, TOP_TOPICS,
    },
};
use crate::streams::hub::HubStats;
use std::{
    path::{Path, PathBuf},
    time::Instant,
};
use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, System};

#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    #[error("system information is not available: {0}")]
    Unavailable(#[from] sysinfo::Error),
}

pub struct Sampler {
    system: System,
    networks: Networks,
    disks: Disks,
    pid: Option<Pid>,
    data_dir: PathBuf,
    started: Instant,
    net_rx: CounterRate,
    net_tx: CounterRate,
    published: CounterRate,
    delivered: CounterRate,
}

impl Sampler {
    /// `data_dir`: whose filesystem's usage to report; `started`: when the process started.
    pub fn new(data_dir: &Path, started: Instant) -> Result<Self, SamplerError> {
        let mut system = System::new()?;
        // CPU usage is measured between two refreshes: prime the first.
        system.refresh_cpu_usage();
        Ok(Self {
            system,
            networks: Networks::new_with_refreshed_list()?,
            disks: Disks::new_with_refreshed_list()?,
            pid: sysinfo::get_current_pid().ok(),
            data_dir: data_dir.to_path_buf(),
            started,
            net_rx: CounterRate::new(),
            net_tx: CounterRate::new(),
            published: CounterRate::new(),
            delivered: CounterRate::new(),
        })
    }

    /// Measures everything now. Blocking (reads /proc): call it off the async workers.
    pub fn sample(&mut self, hub: &HubStats) -> Sample {
        let now = Instant::now();
        Sample {
            at_ms: crate::time::now_ms(),
            // Who measured it, and whether the hub is degraded: filled in by the sampling task.
            instance: String::new(),
            interval_ms: 0,
            degraded: hub.backend_down.clone(),
            instances: Vec::new(),
            host: self.host(now),
            process: self.process(now),
            streams: self.streams(hub, now),
        }
    }

    fn host(&mut self, now: Instant) -> HostSample {
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        self.networks.refresh(true);
        let (mut rx, mut tx) = (0u64, 0u64);
        for (name, data) in self.networks.iter() {
            if name != "lo" {
                rx = rx.saturating_add(data.total_received());
                tx = tx.saturating_add(data.total_transmitted());
            }
        }
        HostSample {
            cpu_percent: f64::from(self.system.global_cpu_usage()),
            cores: self.system.cpus().iter().map(|cpu| f64::from(cpu.usage())).collect(),
            memory_used: self.system.used_memory(),
            memory_total: self.system.total_memory(),
            swap_used: self.system.used_swap(),
            swap_total: self.system.total_swap(),
            load: System::load_average().ok().map(|l| [l.one, l.five, l.fifteen]),
            net_rx_per_sec: self.net_rx.update(rx, now).unwrap_or(0.0),
            net_tx_per_sec: self.net_tx.update(tx, now).unwrap_or(0.0),
            net_rx_total: rx,
            net_tx_total: tx,
            disk: self.data_disk(),
        }
    }

    /// The filesystem holding the data directory (or its nearest existing ancestor: the
    /// directory may not have been created yet).
    fn data_disk(&mut self) -> Option<DiskSample> {
        let dir = existing_ancestor(&self.data_dir)?;
        self.disks.refresh(true);
        let disk = self
            .disks
            .iter()
            .filter(|disk| dir.starts_with(disk.mount_point()))
            .max_by_key(|disk| disk.mount_point().as_os_str().len())?;
        let total = disk.total_space();
        Some(DiskSample {
            mount_point: disk.mount_point().display().to_string(),
            used: total.saturating_sub(disk.available_space()),
            total,
        })
    }

    fn process(&mut self, now: Instant) -> ProcessSample {
        let rss_bytes = self.pid.map_or(0, |pid| {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::Some(&[pid]),
                false,
                ProcessRefreshKind::nothing().with_memory(),
            );
            self.system.process(pid).map_or(0, |p| p.memory())
        });
        ProcessSample {
            rss_bytes,
            open_fds: open_fds(),
            threads: threads(),
            uptime_secs: now.duration_since(self.started).as_secs(),
        }
    }

    fn streams(&mut self, hub: &HubStats, now: Instant) -> StreamSample {
        let mut top: Vec<TopicSample> = hub
            .per_topic
            .iter()
            .map(|t| TopicSample {
                topic: t.topic.clone(),
                subscribers: t.subscribers as u64,
                history_events: t.history_events as u64,
            })
            .collect();
        top.sort_by(|a, b| b.subscribers.cmp(&a.subscribers).then_with(|| a.topic.cmp(&b.topic)));
        top.truncate(TOP_TOPICS);
        StreamSample {
            topics: hub.topics as u64,
            streams: hub.streams as u64,
            subscribers: hub.subscribers as u64,
            history_events: hub.history_events as u64,
            published_total: hub.published,
            delivered_total: hub.delivered,
            conflated_total: hub.conflated,
            resets_total: hub.resets,
            resumes_total: hub.resumes,
            published_per_sec: self.published.update(hub.published, now).unwrap_or(0.0),
            delivered_per_sec: self.delivered.update(hub.delivered, now).unwrap_or(0.0),
            // Filled in by the sampling task, which knows the job runner.
            jobs_queued: 0,
            jobs_running: 0,
            top_topics: top,
            private_topics: PrivateTopicsSample {
                topics: hub.private.topics as u64,
                subscribers: hub.private.subscribers as u64,
                history_events: hub.private.history_events as u64,
            },
        }
    }
}

/// This machine's name as an instance name can hold it (letters, digits, `.`, `_`, `-`; anything
/// else becomes `-`), or `None` when the platform does not say.
pub fn host_name() -> Option<String> {
    let name = System::host_name().ok()?;
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '-' }).collect();
    let clean = clean.trim_start_matches(|c: char| !c.is_ascii_alphanumeric()).to_string();
    (!clean.is_empty()).then_some(clean)
}

fn existing_ancestor(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute.ancestors().find_map(|dir| dir.canonicalize().ok())
}

/// Open file descriptors of this process (Linux: the entries of /proc/self/fd, less the one the
/// listing itself holds open).
fn open_fds() -> Option<u64> {
    let entries = std::fs::read_dir("/proc/self/fd").ok()?;
    Some((entries.count() as u64).saturating_sub(1))
}

/// Threads of this process (Linux: the `Threads:` line of /proc/self/status).
fn threads() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| line.strip_prefix("Threads:")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_describe_this_machine_and_process() {
        let dir = tempfile::tempdir().unwrap();
        let mut sampler = Sampler::new(&dir.path().join("not-yet-created"), Instant::now()).unwrap();
        let hub = HubStats { published: 10, delivered: 20, ..HubStats::default() };
        sampler.sample(&hub);
        std::thread::sleep(std::time::Duration::from_millis(250));
        let later = HubStats {
            published: 35,
            delivered: 20,
            backend_down: Some("Redis at 127.0.0.1:1 did not answer".into()),
            ..HubStats::default()
        };
        let sample = sampler.sample(&later);
        assert_eq!(sample.degraded.as_deref(), Some("Redis at 127.0.0.1:1 did not answer"));
        assert!(sample.at_ms > 1_600_000_000_000);
        assert!(!sample.host.cores.is_empty());
        assert!((0.0..=100.0).contains(&sample.host.cpu_percent));
        assert!(sample.host.memory_total > 0 && sample.host.memory_used <= sample.host.memory_total);
        let disk = sample.host.disk.expect("the temp dir's filesystem is found");
        assert!(disk.total > 0 && disk.used <= disk.total);
        assert!(sample.process.rss_bytes > 0);
        if cfg!(target_os = "linux") {
            assert!(sample.process.open_fds.unwrap() >= 3);
            assert!(sample.process.threads.unwrap() >= 1);
        }
        // 25 events in about a quarter of a second.
        let rate = sample.streams.published_per_sec;
        assert!(rate > 25.0 && rate <= 100.0, "{rate}");
        assert_eq!(sample.streams.delivered_per_sec, 0.0);
        assert_eq!(sample.streams.published_total, 35);
    }
}
