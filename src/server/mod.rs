//! The HTTP server: composes the modules, serves them and shuts them down (server only).
//!
//! `start` wires it all, in the order of the architecture: configuration → hub → producers (job
//! runner, market, monitor) → router → listener (with the direct stream path) → serve. Every
//! background task is spawned through one [`Shutdown`]; [`RunningServer::stopped`] applies the
//! grace period once, from the moment shutdown began to the end of the last task.

pub mod assets;
pub mod direct;
mod router;
mod shutdown;

pub use router::router;
pub use shutdown::Shutdown;

use crate::{
    config::Settings,
    jobs::{builtin::JobRegistry, job::JobEnv, runner::JobRunner, store::Store},
    market::feed::{run_simulator, Market, TICKS_TOPIC},
    monitor::{self, store::MonitorStore},
    session::SessionKeys,
    state::AppState,
    streams::{
        hooks::{PublishHook, PublishHooks},
        hub::{Hub, HubConfig},
        StreamContext,
    },
};
use direct::RoutingListener;
use std::{io, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub jobs: JobRunner,
    shutdown: Shutdown,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// Starts shutting down: open streams end at once (clients reconnect elsewhere or later),
    /// new connections are refused, requests in flight finish.
    pub fn begin_shutdown(&self) {
        self.shutdown.begin();
    }

    /// Waits until the server and every background task have stopped, or `grace` has passed
    /// since shutdown began (then whatever is left is abandoned).
    pub async fn stopped(self, grace: Duration) -> io::Result<()> {
        let mut task = self.task;
        let deadline = self.shutdown.deadline(grace);
        tokio::select! {
            result = &mut task => result.map_err(io::Error::other)?,
            _ = async { tokio::time::sleep_until(deadline.await).await } => {
                tracing::warn!("still draining after {grace:?}; stopping anyway");
                task.abort();
                Ok(())
            }
        }
    }
}

/// Binds the configured address and serves the app in a background task.
pub async fn start(settings: Settings) -> io::Result<RunningServer> {
    for variable in &settings.ignored_variables {
        tracing::warn!(%variable, "environment variable is not a pulseboard setting; ignored");
    }
    let listener = TcpListener::bind(settings.leptos.site_addr).await?;
    let addr = listener.local_addr()?;
    let mut leptos_options = settings.leptos.clone();
    leptos_options.site_addr = addr;

    let config = &settings.pulseboard;
    let data_dir = &config.server.data_dir;
    // File work stays off the async runtime, startup included.
    let prepared = tokio::task::spawn_blocking({
        let data_dir = data_dir.clone();
        move || {
            std::fs::create_dir_all(&data_dir).map_err(|err| {
                io::Error::other(format!("cannot create the data directory {}: {err}", data_dir.display()))
            })?;
            SessionKeys::load_or_create(&data_dir)
        }
    });
    let sessions = prepared.await.map_err(io::Error::other)??;
    let shutdown = Shutdown::new();
    let hub = Hub::in_process(HubConfig::from_settings(&config.streams));
    let database = data_dir.join("pulseboard.sqlite3");
    let store =
        Store::open(&database).await.map_err(|err| io::Error::other(format!("{}: {err}", database.display())))?;
    let env = JobEnv { files_root: config.jobs.files_root.clone() };
    let registry = JobRegistry::with_builtins();
    let jobs = JobRunner::new(store, hub.clone(), registry, env, config.jobs.workers, shutdown.tasks())
        .await
        .map_err(io::Error::other)?;
    let monitor = MonitorStore::new(&config.monitor);
    let (market, quote_publisher) = Market::new(hub.clone());
    let streams = StreamContext {
        hub: hub.clone(),
        settings: Arc::new(config.streams.clone()),
        publish_hooks: PublishHooks::new([(TICKS_TOPIC.name(), ticks_hook(market.clone()))]),
    };
    let state = AppState {
        leptos_options,
        settings: Arc::new(config.clone()),
        streams,
        jobs: jobs.clone(),
        sessions,
        monitor: monitor.clone(),
        market: market.clone(),
    };

    shutdown.spawn(sweep_history(hub.clone(), shutdown.clone()));
    shutdown.spawn(monitor::task::run(monitor, hub.clone(), jobs.clone(), data_dir.clone(), shutdown.token()));
    shutdown.spawn(Market::run_publisher(quote_publisher, shutdown.token()));
    shutdown.spawn(run_simulator(market, config.market.clone(), shutdown.token()));

    let router = router(state);
    let grace = config.server.shutdown_grace();
    // Event-stream requests are answered on the lean direct path, the rest by hyper.
    let listener = RoutingListener::start(listener, router.clone(), shutdown.tasks().clone(), shutdown.token())?;
    let task = tokio::spawn({
        let (shutdown, hub, jobs) = (shutdown.clone(), hub.clone(), jobs.clone());
        async move {
            let deadline = shutdown.deadline(grace);
            // `into_make_service`: each connection gets a clone of the finished router (an `Arc`).
            // Serving the `Router` itself rebuilds every route per connection (`with_state(())`),
            // several KiB that an open event stream then holds for its whole life.
            let served = axum::serve(listener, router.into_make_service())
                .with_graceful_shutdown({
                    let shutdown = shutdown.clone();
                    async move {
                        shutdown.begun().await;
                        // Streams never end by themselves: end them so the drain can finish.
                        hub.disconnect_all(true);
                    }
                })
                .await;
            // Running jobs end as interrupted (and can be retried after the restart), within
            // what is left of the one grace period. The runner's own tasks end only after this,
            // so it comes before the drain.
            let left = deadline.await.saturating_duration_since(tokio::time::Instant::now());
            jobs.shutdown(left).await;
            shutdown.drained().await;
            served
        }
    });
    Ok(RunningServer { addr, hub, jobs, shutdown, task })
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run(settings: Settings) -> io::Result<()> {
    let grace = settings.pulseboard.server.shutdown_grace();
    // Handlers first: a SIGTERM right after the "listening" line must still drain gracefully.
    let signals = shutdown::Signals::install();
    // The binary serves its site folder: refuse one from another build before listening.
    assets::check_site(&settings.leptos).await?;
    let server = start(settings).await?;
    // Tests and scripts read this line to learn the port when the configured port is 0.
    println!("pulseboard listening on http://{}", server.addr);
    tracing::info!(addr = %server.addr, "listening");
    signals.recv().await;
    tracing::info!("shutting down");
    server.begin_shutdown();
    server.stopped(grace).await
}

/// Ticks published by outside feeds go through the market's check and onto its board.
fn ticks_hook(market: Market) -> PublishHook {
    Arc::new(move |text: String| {
        let market = market.clone();
        Box::pin(async move { market.ingest(&text).await.map_err(|err| err.to_string()) })
    })
}

async fn sweep_history(hub: Hub, shutdown: Shutdown) {
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        tokio::select! {
            _ = every.tick() => hub.sweep(),
            _ = shutdown.begun() => return,
        }
    }
}
