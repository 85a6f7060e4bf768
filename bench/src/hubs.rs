//! The `hubs` command: pulseboard's embedded hub against its Redis hub, in one run, side by side.
//! Per subscriber count, each mode gets fresh processes: `embedded` is one instance with the
//! in-process hub; `redis` one instance on a fresh `redis-server` of the tool's own
//! (`redis_proc`); `redis-2` two instances sharing a fresh one, the subscribers split across both
//! and the publisher on the first only (the other gets every event through Redis). Each step
//! publishes at one rate as `run` does and accounts every delivery (lost, duplicate, latency),
//! plus what each process spent: CPU of every instance and of Redis (from /proc), and the calls
//! Redis ran (`INFO commandstats` before and after, commands inside scripts included).

use crate::{
    error::BenchError,
    exchange, procstat,
    publisher::Publisher,
    redis_info::{self, CommandCalls},
    redis_proc::RedisProcess,
    server_proc::{self, Launch, ServerKind, ServerProcess},
    subscriber::{self, Shared},
    tracker::{lost, LatencySummary},
};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};
use tokio::task::JoinSet;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// One instance, in-process hub.
    Embedded,
    /// One instance on Redis.
    Redis,
    /// Two instances on one Redis, one publisher.
    #[value(name = "redis-2")]
    Redis2,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Embedded => "embedded",
            Self::Redis => "redis",
            Self::Redis2 => "redis-2",
        }
    }

    fn instances(self) -> usize {
        if self == Self::Redis2 {
            2
        } else {
            1
        }
    }
}

/// What to run (already validated).
#[derive(Debug, Clone)]
pub struct HubPlan {
    pub subscribers: Vec<usize>,
    pub rates: Vec<u32>,
    pub modes: Vec<Mode>,
    /// Binaries, labelled: each Redis mode runs once per binary (the embedded one with the last).
    pub binaries: Vec<(String, PathBuf)>,
    pub redis_exe: PathBuf,
    pub step: Duration,
    pub drain: Duration,
    pub settle: Duration,
    pub payload_pad: usize,
    pub publish_connections: usize,
    pub connect_concurrency: usize,
    pub topic: String,
}

impl HubPlan {
    pub fn events_per_step(&self, rate: u32) -> u64 {
        (f64::from(rate) * self.step.as_secs_f64()).round().max(1.0) as u64
    }
}

#[derive(Debug, Clone)]
pub struct HubStep {
    pub rate: u32,
    pub published: u64,
    pub publish_failed: u64,
    pub delivered: u64,
    pub delivered_per_sec: f64,
    pub latency: LatencySummary,
    pub lost: u64,
    pub duplicates: u64,
    pub resets: u64,
    pub invalid: u64,
    /// CPU seconds of each instance during the step (the publisher's instance first).
    pub instance_cpu: Vec<f64>,
    /// Deliveries each instance made during the step.
    pub instance_delivered: Vec<u64>,
    pub redis_cpu: Option<f64>,
    pub redis_calls: Option<CommandCalls>,
    pub drained: bool,
}

impl HubStep {
    pub fn server_cpu(&self) -> f64 {
        self.instance_cpu.iter().sum()
    }
}

#[derive(Debug, Clone)]
pub struct HubScenario {
    pub mode: Mode,
    pub binary: String,
    pub subscribers: usize,
    /// Subscribers connected per instance.
    pub connected: Vec<usize>,
    pub connect_failed: usize,
    pub first_connect_error: Option<String>,
    pub steps: Vec<HubStep>,
    pub ended_early: u64,
}

impl HubScenario {
    pub fn connected_total(&self) -> usize {
        self.connected.iter().sum()
    }
}

/// Every mode for every subscriber count, in order; `launch` has the settings all share.
/// `finished` hears of each scenario as it ends (the caller prints its progress).
pub async fn run(
    launch: &Launch,
    plan: &HubPlan,
    work_dir: &std::path::Path,
    finished: impl Fn(&HubScenario),
) -> Result<Vec<HubScenario>, BenchError> {
    let mut results = Vec::new();
    for &subscribers in &plan.subscribers {
        for &mode in &plan.modes {
            let binaries: &[(String, PathBuf)] =
                if mode == Mode::Embedded { &plan.binaries[plan.binaries.len() - 1..] } else { &plan.binaries };
            for (label, exe) in binaries {
                let scenario = scenario(launch, plan, work_dir, mode, label, exe, subscribers).await?;
                finished(&scenario);
                results.push(scenario);
                // Let the closed sockets settle before the next processes.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    Ok(results)
}

async fn scenario(
    launch: &Launch,
    plan: &HubPlan,
    work_dir: &std::path::Path,
    mode: Mode,
    label: &str,
    exe: &std::path::Path,
    subscribers: usize,
) -> Result<HubScenario, BenchError> {
    let mut redis = match mode {
        Mode::Embedded => None,
        Mode::Redis | Mode::Redis2 => Some(RedisProcess::start(&plan.redis_exe, &work_dir.join("redis")).await?),
    };
    if let Some(redis) = &redis {
        eprintln!("started redis-server (pid {}) on 127.0.0.1:{}", redis.pid, redis.port);
    }
    let mut servers = Vec::new();
    for at in 0..mode.instances() {
        let mut instance = launch.clone();
        instance.pulseboard_exe = exe.to_path_buf();
        instance.work_dir = work_dir.join(format!("{}-{}", mode.name(), at));
        if let Some(redis) = &redis {
            instance.pulseboard_env.push(("PULSEBOARD_HUB".into(), redis.url()));
        }
        let server = server_proc::start(ServerKind::Pulseboard, &instance).await?;
        eprintln!("started pulseboard {label} {} #{at} (pid {}) on {}", mode.name(), server.pid, server.addr);
        servers.push(server);
    }
    let measured = measure(&servers, redis.as_mut(), plan, mode, label, subscribers).await;
    for server in servers {
        server.stop().await;
    }
    if let Some(redis) = redis {
        redis.stop().await;
    }
    let (result, subscribers) = measured?;
    drop(subscribers);
    Ok(result)
}

/// Waits until `GET /readyz` answers 200 (the Redis hub has connected), at most 30 s.
async fn wait_ready(addr: SocketAddr) -> Result<(), BenchError> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let request = format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    loop {
        let mut buf = Vec::new();
        let answer = match exchange::open(addr, "readyz").await {
            Ok(mut stream) => exchange::exchange(&mut stream, request.as_bytes(), &mut buf, "GET /readyz").await,
            Err(err) => Err(err),
        };
        match answer {
            Ok(_) => return Ok(()),
            Err(err) if Instant::now() > deadline => return Err(err),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

async fn measure(
    servers: &[ServerProcess],
    mut redis: Option<&mut RedisProcess>,
    plan: &HubPlan,
    mode: Mode,
    label: &str,
    subscribers: usize,
) -> Result<(HubScenario, JoinSet<()>), BenchError> {
    for server in servers {
        wait_ready(server.addr).await?;
    }
    let epoch = Instant::now();
    let shared = Arc::new(Shared::new(epoch));
    let mut tasks = JoinSet::new();
    let path = subscriber::events_path(&plan.topic);
    let (mut connected, mut failed, mut first_error) = (Vec::new(), 0, None);
    let mut key = 0usize;
    for (at, server) in servers.iter().enumerate() {
        // An even split, the remainder on the first instances.
        let count = subscribers / servers.len() + usize::from(at < subscribers % servers.len());
        let summary =
            subscriber::connect_all(server.addr, &path, count, plan.connect_concurrency, None, |_, stream| {
                tasks.spawn(subscriber::run(key, stream, shared.clone()));
                key += 1;
            })
            .await;
        summary.require_some(&format!("pulseboard {label} {} #{at}", mode.name()))?;
        connected.push(summary.connected);
        failed += summary.failed;
        first_error = first_error.or(summary.first_error);
    }
    tokio::time::sleep(plan.settle).await;

    let first = &servers[0];
    let token = first.publish_token.as_deref();
    let mut publisher =
        Publisher::start(first.addr, &plan.topic, plan.publish_connections, plan.payload_pad, epoch, token).await?;
    let pids: Vec<u32> = servers.iter().map(|s| s.pid).collect();
    let mut steps = Vec::new();
    for &rate in &plan.rates {
        steps.push(step(&pids, redis.as_deref_mut(), plan, rate, &connected, &shared, &mut publisher).await?);
    }
    let result = HubScenario {
        mode,
        binary: label.to_string(),
        subscribers,
        connected,
        connect_failed: failed,
        first_connect_error: first_error,
        steps,
        ended_early: shared.ended.load(Ordering::Relaxed),
    };
    Ok((result, tasks))
}

fn cpu_all(pids: &[u32]) -> Result<Vec<f64>, BenchError> {
    pids.iter().map(|&pid| procstat::cpu_seconds(pid)).collect()
}

async fn step(
    pids: &[u32],
    mut redis: Option<&mut RedisProcess>,
    plan: &HubPlan,
    rate: u32,
    connected: &[usize],
    shared: &Shared,
    publisher: &mut Publisher,
) -> Result<HubStep, BenchError> {
    let count = plan.events_per_step(rate);
    let subscribers: u64 = connected.iter().sum::<usize>() as u64;
    shared.latencies.reset();
    let unique0 = shared.unique.load(Ordering::Relaxed);
    let dups0 = shared.duplicates.load(Ordering::Relaxed);
    let resets0 = shared.resets.load(Ordering::Relaxed);
    let invalid0 = shared.invalid.load(Ordering::Relaxed);
    let ok0 = publisher.counts.ok.load(Ordering::Relaxed);
    let failed0 = publisher.counts.failed.load(Ordering::Relaxed);
    let done0 = publisher.counts.done();
    let calls0 = redis.as_deref_mut().map(RedisProcess::command_calls).transpose()?;
    let redis_cpu0 = redis.as_deref().map(|r| procstat::cpu_seconds(r.pid)).transpose()?;
    let cpu0 = cpu_all(pids)?;
    let start_ns = shared.epoch.elapsed().as_nanos() as u64;

    publisher.schedule(rate, count).await;
    let deadline = Instant::now() + plan.drain;
    let mut drained = false;
    while Instant::now() < deadline {
        let done = publisher.counts.done() - done0;
        let ok = publisher.counts.ok.load(Ordering::Relaxed) - ok0;
        let delivered = shared.unique.load(Ordering::Relaxed) - unique0;
        if done >= count && delivered >= ok * subscribers {
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu1 = cpu_all(pids)?;
    let redis_cpu = match (redis.as_deref(), redis_cpu0) {
        (Some(r), Some(before)) => Some(procstat::cpu_seconds(r.pid)? - before),
        _ => None,
    };
    let redis_calls = match (redis, calls0) {
        (Some(r), Some(before)) => Some(redis_info::delta(&before, &r.command_calls()?)),
        _ => None,
    };
    let published = publisher.counts.ok.load(Ordering::Relaxed) - ok0;
    let delivered = shared.unique.load(Ordering::Relaxed) - unique0;
    let last_ns = shared.last_delivery_ns.load(Ordering::Relaxed);
    let window = Duration::from_nanos(last_ns.saturating_sub(start_ns)).as_secs_f64();
    Ok(HubStep {
        rate,
        published,
        publish_failed: publisher.counts.failed.load(Ordering::Relaxed) - failed0,
        delivered,
        delivered_per_sec: if window > 0.0 { delivered as f64 / window } else { 0.0 },
        latency: shared.latencies.summary(),
        lost: lost(published, subscribers, delivered),
        duplicates: shared.duplicates.load(Ordering::Relaxed) - dups0,
        resets: shared.resets.load(Ordering::Relaxed) - resets0,
        invalid: shared.invalid.load(Ordering::Relaxed) - invalid0,
        instance_cpu: cpu1.iter().zip(&cpu0).map(|(after, before)| after - before).collect(),
        // Every stream gets every event, so an instance delivers its share of the subscribers.
        instance_delivered: connected.iter().map(|&n| published * n as u64).collect(),
        redis_cpu,
        redis_calls,
        drained,
    })
}
