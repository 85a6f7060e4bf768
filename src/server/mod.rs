//! The HTTP server: composes the modules, serves them and shuts them down (server only).
//!
//! `start` wires it all, in the order of the architecture: configuration → hub → producers (job
//! runner, market, monitor) → router → listener (with the direct stream path) → serve. Every
//! background task is spawned through one [`Shutdown`]; [`RunningServer::stopped`] applies the
//! grace period once, from the moment shutdown began to the end of the last task.
//!
//! With `tls-cert` and `tls-key` the same listener speaks HTTPS (module [`tls`]): the routing,
//! the direct path and hyper's serving are the same over plain TCP and over TLS, and HTTP/2
//! connections (ALPN `h2`) are served by hyper in tracked tasks of their own (`http2`).

pub mod assets;
mod backends;
mod connect;
pub mod cors;
pub mod direct;
mod http2;
mod router;
mod shutdown;
pub mod tls;

pub use router::router;
pub use shutdown::Shutdown;

use crate::{
    config::Settings,
    jobs::{
        builtin::JobRegistry,
        job::JobEnv,
        runner::{JobRunner, SHARED_TOPIC},
    },
    market::{
        feed::Market,
        tasks as market_tasks,
        topics::{QUOTE_TOPIC_PREFIX, TICKS_TOPIC},
    },
    monitor::{self, store::MonitorStore, MONITOR_TOPIC},
    state::AppState,
    streams::{
        auth::{self, Auth, TopicPattern},
        hooks::{PublishHook, PublishHooks},
        hub::Hub,
        limits::StreamLimits,
        silence::Silence,
        StreamContext,
    },
};
use axum::Router;
use direct::{Plain, RoutingListener, Transport};
use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Whether it speaks HTTPS (`tls-cert` and `tls-key` set).
    pub tls: bool,
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
    // `config::load` refuses bad origins already; settings built another way are checked here.
    if let [first, ..] = settings.pulseboard.cors.validate().as_slice() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("invalid configuration: {first}")));
    }
    let listener = TcpListener::bind(settings.leptos.site_addr).await?;
    let addr = listener.local_addr()?;
    let mut leptos_options = settings.leptos.clone();
    leptos_options.site_addr = addr;

    let config = &settings.pulseboard;
    let data_dir = &config.server.data_dir;
    // File work stays off the async runtime, startup included.
    let prepared = tokio::task::spawn_blocking({
        let (data_dir, auth_settings, config) = (data_dir.clone(), config.auth.clone(), config.clone());
        let options = leptos_options.clone();
        move || {
            std::fs::create_dir_all(&data_dir).map_err(|err| {
                io::Error::other(format!("cannot create the data directory {}: {err}", data_dir.display()))
            })?;
            let sessions = backends::local_session_keys(&config, &data_dir)?;
            // The names the pages link, read here once: no page render reads the hash file.
            let front_end = assets::linked_front_end(&options).map_err(io::Error::other)?;
            Ok::<_, io::Error>((sessions, auth::keys::load(&auth_settings, &data_dir)?, front_end))
        }
    });
    let (sessions, keys, front_end) = prepared.await.map_err(io::Error::other)??;
    let sessions = match sessions {
        Some(sessions) => sessions,
        None => backends::shared_session_keys(config).await?,
    };
    // Served over HTTPS: the session cookie is `Secure`.
    let sessions = sessions.secure(config.server.tls_enabled());
    let auth = Auth::new(keys, &config.auth).reserving(reserved_topics());
    tracing::info!("{}", auth.describe());
    let tls_config = match config.server.tls.files() {
        Some((cert, key)) => {
            let (cert, key) = (cert.clone(), key.clone());
            Some(
                tokio::task::spawn_blocking(move || tls::load_server_config(&cert, &key))
                    .await
                    .map_err(io::Error::other)??,
            )
        }
        None => None,
    };
    let shutdown = Shutdown::new();
    let hub_config = config.streams.hub_config();
    let hub = match &config.streams.hub {
        Some(url) => Hub::redis(url, hub_config).map_err(io::Error::other)?,
        None => Hub::in_process(hub_config),
    };
    let store = backends::job_store(config, data_dir).await?;
    let env = JobEnv { files_root: config.jobs.files_root.clone() };
    let registry = JobRegistry::with_builtins();
    let limits = (&config.jobs).into();
    let jobs = JobRunner::new(store, hub.clone(), registry, env, config.jobs.workers, limits, shutdown.tasks())
        .await
        .map_err(io::Error::other)?;
    jobs.watch_external_silence(config.jobs.external_silence());
    let monitor = MonitorStore::new(&config.monitor, config.monitor.instance(addr.port()));
    // Alone, or (with a Redis hub) one of the instances of which the lease holder runs the feed;
    // a new leader reads back up to a topic's whole history of quotes.
    let redis_url = config.streams.hub.as_deref();
    let (market, market_tasks) =
        market_tasks::start(hub.clone(), &config.market, redis_url, config.streams.history_events.max(1))
            .map_err(io::Error::other)?;
    let streams = StreamContext {
        hub: hub.clone(),
        settings: Arc::new(config.streams.clone()),
        publish_hooks: PublishHooks::new([(TICKS_TOPIC.name(), ticks_hook(market.clone()))]),
        auth,
        limits: StreamLimits::new(&config.limits),
        silence: Silence::new(config.server.debug_endpoints),
    };
    let state = AppState {
        leptos_options,
        front_end,
        settings: Arc::new(config.clone()),
        streams,
        jobs: jobs.clone(),
        sessions,
        monitor: monitor.clone(),
        market: market.clone(),
    };

    shutdown.spawn(sweep_history(hub.clone(), shutdown.clone()));
    if config.streams.hub.is_some() {
        // Other instances share the hub: collect their samples too.
        shutdown.spawn(monitor::peers::run(monitor.clone(), hub.clone(), shutdown.token()));
    }
    shutdown.spawn(monitor::task::run(monitor, hub.clone(), jobs.clone(), data_dir.clone(), shutdown.token()));
    for task in market_tasks.futures(shutdown.token()) {
        shutdown.spawn(task);
    }

    let router = router(state);
    let grace = config.server.shutdown_grace();
    let tls = tls_config.is_some();
    let stage = Stage { router, shutdown: shutdown.clone(), hub: hub.clone(), jobs: jobs.clone(), grace };
    let task = match tls_config {
        None => tokio::spawn(stage.serve(listener, Plain)?),
        Some(config) => tokio::spawn(stage.serve(listener, tls::TlsTransport::new(config))?),
    };
    Ok(RunningServer { addr, tls, hub, jobs, shutdown, task })
}

/// What serving needs, whatever the transport.
struct Stage {
    router: Router,
    shutdown: Shutdown,
    hub: Hub,
    jobs: JobRunner,
    grace: Duration,
}

impl Stage {
    /// Starts accepting on `listener` and returns the server's task: it serves until shutdown,
    /// then drains.
    fn serve<T: Transport>(
        self,
        listener: TcpListener,
        transport: T,
    ) -> io::Result<impl Future<Output = io::Result<()>> + Send + 'static> {
        let Self { router, shutdown, hub, jobs, grace } = self;
        // Event-stream requests are answered on the lean direct path, the rest by hyper.
        let listener =
            RoutingListener::start(listener, transport, router.clone(), shutdown.tasks().clone(), shutdown.token())?;
        Ok(async move {
            let deadline = shutdown.deadline(grace);
            // Each connection gets a clone of the finished router (an `Arc`), with its peer address
            // and socket meter (`connect`). Serving the `Router` itself rebuilds every route per
            // connection (`with_state(())`), several KiB that an open event stream then holds.
            let served = axum::serve(listener, connect::MakeWithPeer(router))
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
        })
    }
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
    let scheme = if server.tls { "https" } else { "http" };
    println!("pulseboard listening on {scheme}://{}", server.addr);
    tracing::info!(addr = %server.addr, "listening");
    signals.recv().await;
    tracing::info!("shutting down");
    server.begin_shutdown();
    server.stopped(grace).await
}

/// The namespaces the server's own producers publish to: outside tokens reach them only by
/// naming them (`*` does not). `ticks` is not among them: it is the market's input from outside
/// feeds, published like any topic, with a token whose publish patterns match it.
fn reserved_topics() -> [TopicPattern; 3] {
    [
        TopicPattern::namespace_of(SHARED_TOPIC),
        TopicPattern::Prefix(QUOTE_TOPIC_PREFIX.to_string()),
        TopicPattern::namespace_of(MONITOR_TOPIC),
    ]
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
