//! `/metrics` in the Prometheus text format: the figures of the newest sample (host, process) and
//! the hub's counters read at scrape time, so counters move as soon as events are published.
//! A fresh registry per scrape: the values are all read here, none is kept between scrapes.
//! Topics are labelled by name only when public; private ones (named after their owners) appear
//! as three sums, `pulseboard_hub_private_*` (the hub's stats decide which are which).

use super::sample::Sample;
use crate::streams::hub::HubStats;
use prometheus::{Encoder, Gauge, GaugeVec, IntCounter, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

/// At most this many topics get a labelled series (the busiest by subscribers), so arbitrary
/// topic names cannot blow up the label cardinality.
pub const MAX_TOPIC_SERIES: usize = 50;

#[derive(Debug, thiserror::Error)]
#[error("metrics could not be encoded: {0}")]
pub struct MetricsError(#[from] prometheus::Error);

/// Collects metrics into one registry.
struct Metrics(Registry);

impl Metrics {
    fn gauge(&self, name: &str, help: &str, value: f64) -> Result<(), MetricsError> {
        let gauge = Gauge::new(name, help)?;
        gauge.set(value);
        Ok(self.0.register(Box::new(gauge))?)
    }

    fn int_gauge(&self, name: &str, help: &str, value: u64) -> Result<(), MetricsError> {
        let gauge = IntGauge::new(name, help)?;
        gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
        Ok(self.0.register(Box::new(gauge))?)
    }

    fn counter(&self, name: &str, help: &str, value: u64) -> Result<(), MetricsError> {
        let counter = IntCounter::new(name, help)?;
        counter.inc_by(value);
        Ok(self.0.register(Box::new(counter))?)
    }

    fn gauge_vec<'a>(
        &self,
        name: &str,
        help: &str,
        label: &str,
        values: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<(), MetricsError> {
        let vec = GaugeVec::new(Opts::new(name, help), &[label])?;
        for (key, value) in values {
            vec.with_label_values(&[key]).set(value);
        }
        Ok(self.0.register(Box::new(vec))?)
    }
}

/// The text exposition of every metric, all about the instance named `instance` (its own samples,
/// its hub's counters: never its peers'). `latest` is `None` before the first sample (host and
/// process metrics are then absent; hub metrics are always there). `market_ticks`: ticks the
/// market has applied (each published one quote event), so its rate can be told apart from the
/// hub's other events.
pub fn render(
    instance: &str,
    latest: Option<&Sample>,
    hub: &HubStats,
    jobs: (usize, usize),
    samples: u64,
    market_ticks: u64,
) -> Result<String, MetricsError> {
    let m = Metrics(Registry::new());
    m.gauge_vec(
        "pulseboard_instance_info",
        "Always 1; the label names the instance these metrics describe (instance-name).",
        "name",
        [(instance, 1.0)],
    )?;
    m.int_gauge(
        "pulseboard_hub_backend_up",
        "1 while the event hub's backend can be used, 0 while it is down (the instance is degraded).",
        u64::from(hub.backend_down.is_none()),
    )?;
    m.counter("pulseboard_monitor_samples_total", "Samples taken by the monitor.", samples)?;
    m.counter(
        "pulseboard_market_ticks_total",
        "Market ticks applied (simulated or from the ticks topic); each publishes one quote event.",
        market_ticks,
    )?;
    m.int_gauge("pulseboard_jobs_queued", "Jobs waiting for a worker.", jobs.0 as u64)?;
    m.int_gauge("pulseboard_jobs_running", "Jobs running.", jobs.1 as u64)?;

    m.int_gauge("pulseboard_hub_topics", "Topics the hub holds.", hub.topics as u64)?;
    m.int_gauge("pulseboard_hub_streams", "Open event streams.", hub.streams as u64)?;
    m.int_gauge("pulseboard_hub_subscribers", "Open streams summed over their topics.", hub.subscribers as u64)?;
    m.int_gauge("pulseboard_hub_history_events", "Events kept in all topics' histories.", hub.history_events as u64)?;
    m.counter("pulseboard_hub_events_published_total", "Events published.", hub.published)?;
    m.counter(
        "pulseboard_hub_events_delivered_total",
        "Events written to streams (one per event per stream).",
        hub.delivered,
    )?;
    m.counter(
        "pulseboard_hub_events_conflated_total",
        "Events latest-wins streams skipped for a newer one.",
        hub.conflated,
    )?;
    m.counter(
        "pulseboard_hub_resets_total",
        "Reset events sent (could not resume, or fell behind the history).",
        hub.resets,
    )?;
    m.counter("pulseboard_hub_resumes_total", "Streams resumed from a Last-Event-ID.", hub.resumes)?;
    let mut busiest: Vec<_> = hub.per_topic.iter().collect();
    busiest.sort_by(|a, b| b.subscribers.cmp(&a.subscribers).then_with(|| a.topic.cmp(&b.topic)));
    busiest.truncate(MAX_TOPIC_SERIES);
    let topic_subscribers = IntGaugeVec::new(
        Opts::new("pulseboard_hub_topic_subscribers", "Open streams per topic (the busiest topics)."),
        &["topic"],
    )?;
    let topic_history = IntGaugeVec::new(
        Opts::new("pulseboard_hub_topic_history_events", "Events kept in each topic's history (the busiest topics)."),
        &["topic"],
    )?;
    for topic in &busiest {
        topic_subscribers.with_label_values(&[topic.topic.as_str()]).set(topic.subscribers as i64);
        topic_history.with_label_values(&[topic.topic.as_str()]).set(topic.history_events as i64);
    }
    m.0.register(Box::new(topic_subscribers))?;
    m.0.register(Box::new(topic_history))?;
    // Private topics are named after their owners: never a label, only their sum.
    let private = &hub.private;
    m.int_gauge("pulseboard_hub_private_topics", "Private topics (counted, never named).", private.topics as u64)?;
    m.int_gauge(
        "pulseboard_hub_private_topic_subscribers",
        "Open streams summed over the private topics.",
        private.subscribers as u64,
    )?;
    m.int_gauge(
        "pulseboard_hub_private_topic_history_events",
        "Events kept in the private topics' histories.",
        private.history_events as u64,
    )?;

    if let Some(sample) = latest {
        let host = &sample.host;
        let cores = host.cores.iter().enumerate().map(|(n, v)| (n.to_string(), *v)).collect::<Vec<_>>();
        m.gauge_vec(
            "pulseboard_host_cpu_usage_percent",
            "CPU usage, 0 to 100: cpu=\"total\" for all cores, else one core.",
            "cpu",
            std::iter::once(("total", host.cpu_percent)).chain(cores.iter().map(|(n, v)| (n.as_str(), *v))),
        )?;
        m.int_gauge("pulseboard_host_memory_used_bytes", "Memory in use.", host.memory_used)?;
        m.int_gauge("pulseboard_host_memory_total_bytes", "Memory installed.", host.memory_total)?;
        m.int_gauge("pulseboard_host_swap_used_bytes", "Swap in use.", host.swap_used)?;
        m.int_gauge("pulseboard_host_swap_total_bytes", "Swap available.", host.swap_total)?;
        if let Some([one, five, fifteen]) = host.load {
            m.gauge_vec(
                "pulseboard_host_load_average",
                "Load average over 1, 5 and 15 minutes.",
                "period",
                [("1m", one), ("5m", five), ("15m", fifteen)],
            )?;
        }
        m.counter(
            "pulseboard_host_network_receive_bytes_total",
            "Bytes received on all interfaces but loopback.",
            host.net_rx_total,
        )?;
        m.counter(
            "pulseboard_host_network_transmit_bytes_total",
            "Bytes sent on all interfaces but loopback.",
            host.net_tx_total,
        )?;
        m.gauge(
            "pulseboard_host_network_receive_bytes_per_second",
            "Receive rate over the last interval.",
            host.net_rx_per_sec,
        )?;
        m.gauge(
            "pulseboard_host_network_transmit_bytes_per_second",
            "Transmit rate over the last interval.",
            host.net_tx_per_sec,
        )?;
        if let Some(disk) = &host.disk {
            m.int_gauge(
                "pulseboard_data_disk_used_bytes",
                "Used space of the data directory's filesystem.",
                disk.used,
            )?;
            m.int_gauge("pulseboard_data_disk_total_bytes", "Size of the data directory's filesystem.", disk.total)?;
        }
        let process = &sample.process;
        m.int_gauge("process_resident_memory_bytes", "Resident memory of the pulseboard process.", process.rss_bytes)?;
        if let Some(fds) = process.open_fds {
            m.int_gauge("process_open_fds", "Open file descriptors of the pulseboard process.", fds)?;
        }
        if let Some(threads) = process.threads {
            m.int_gauge("process_threads", "Threads of the pulseboard process.", threads)?;
        }
        m.int_gauge("pulseboard_uptime_seconds", "Seconds since the server started.", process.uptime_secs)?;
        m.gauge(
            "pulseboard_hub_events_published_per_second",
            "Publish rate over the last interval.",
            sample.streams.published_per_sec,
        )?;
        m.gauge(
            "pulseboard_hub_events_delivered_per_second",
            "Delivery rate over the last interval.",
            sample.streams.delivered_per_sec,
        )?;
    }

    let mut out = Vec::new();
    TextEncoder::new().encode(&m.0.gather(), &mut out)?;
    String::from_utf8(out).map_err(|e| MetricsError(prometheus::Error::Msg(e.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streams::hub::{PrivateTopics, TopicStats};

    #[test]
    fn renders_hub_counters_and_escapes_topic_labels() {
        let hub = HubStats {
            topics: 1,
            published: 7,
            delivered: 9,
            per_topic: vec![TopicStats { topic: "odd\"name".into(), subscribers: 2, history_events: 3 }],
            private: PrivateTopics { topics: 4, subscribers: 5, history_events: 6 },
            ..HubStats::default()
        };
        let text = render("web-1:3000", None, &hub, (0, 0), 0, 5).unwrap();
        assert!(text.contains(r#"pulseboard_instance_info{name="web-1:3000"} 1"#), "{text}");
        assert!(text.contains("pulseboard_hub_backend_up 1\n"), "{text}");
        assert!(text.contains("pulseboard_hub_events_published_total 7\n"), "{text}");
        assert!(text.contains("pulseboard_market_ticks_total 5\n"), "{text}");
        assert!(text.contains("pulseboard_hub_events_delivered_total 9\n"), "{text}");
        assert!(text.contains("# TYPE pulseboard_hub_events_published_total counter"), "{text}");
        assert!(text.contains(r#"pulseboard_hub_topic_subscribers{topic="odd\"name"} 2"#), "{text}");
        assert!(!text.contains("pulseboard_host_"), "no host figures before the first sample");
        assert!(text.contains("pulseboard_hub_private_topics 4\n"), "{text}");
        assert!(text.contains("pulseboard_hub_private_topic_subscribers 5\n"), "{text}");
        assert!(text.contains("pulseboard_hub_private_topic_history_events 6\n"), "{text}");
    }
}
