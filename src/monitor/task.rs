//! The sampling task: every `monitor-interval-ms`, measure (off the async workers), record the
//! sample in the store and publish it twice: on the instance's own topic
//! (`monitor.samples.<instance>`, what the page follows, latest wins) and on the topic every
//! instance shares (`monitor.samples`, what the peers collect), until shutdown. Stream clients
//! get the samples as ordinary hub events. A sample not published (the hub's backend is down) is
//! still recorded: the page served by this instance shows it, degraded.

use super::{
    api::{instance_topic, MONITOR_TOPIC, SAMPLE_EVENT},
    sampler::Sampler,
    store::MonitorStore,
};
use crate::{
    jobs::runner::JobRunner,
    streams::{hub::Hub, EventType, EventTypeConst, TopicConst, TopicName},
};
use std::{path::PathBuf, time::Instant};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

const TOPIC: TopicConst = TopicConst::new(MONITOR_TOPIC);
const EVENT: EventTypeConst = EventType::constant(SAMPLE_EVENT);

/// Samples until `shutdown` (the server spawns this through its task tracker).
pub async fn run(store: MonitorStore, hub: Hub, jobs: JobRunner, data_dir: PathBuf, shutdown: CancellationToken) {
    let started = Instant::now();
    let own_topic = match TopicName::new(&instance_topic(&store.instance)) {
        Ok(topic) => topic,
        Err(err) => return tracing::error!("monitor disabled: {err}"),
    };
    let interval = std::time::Duration::from_millis(store.interval_ms);
    {
        let mut sampler = match tokio::task::spawn_blocking(move || Sampler::new(&data_dir, started)).await {
            Ok(Ok(sampler)) => sampler,
            Ok(Err(err)) => return tracing::error!("monitor disabled: {err}"),
            Err(err) => return tracing::error!("monitor disabled: sampler setup failed: {err}"),
        };
        let (topic, event_type) = (TOPIC.name(), EVENT.event_type());
        let mut every = tokio::time::interval(interval);
        every.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = every.tick() => {},
                _ = shutdown.cancelled() => return,
            }
            let stats = hub.stats();
            let measured = tokio::task::spawn_blocking(move || {
                let sample = sampler.sample(&stats);
                (sampler, sample)
            })
            .await;
            let mut sample = match measured {
                Ok((back, sample)) => {
                    sampler = back;
                    sample
                }
                Err(err) => return tracing::error!("monitor stopped: sampling failed: {err}"),
            };
            let (queued, running) = jobs.counts().await;
            sample.streams.jobs_queued = queued as u64;
            sample.streams.jobs_running = running as u64;
            sample.instance = store.instance.to_string();
            sample.interval_ms = store.interval_ms;
            sample.instances = store.live_instances();
            let json = match serde_json::to_string(&sample) {
                Ok(json) => json,
                Err(err) => {
                    tracing::warn!("monitor sample not encoded: {err}");
                    continue;
                }
            };
            store.record(sample);
            for topic in [&own_topic, &topic] {
                if let Err(err) = hub.publish(topic, &event_type, &json).await {
                    tracing::debug!("monitor sample not published: {err}");
                    break;
                }
            }
        }
    }
}
