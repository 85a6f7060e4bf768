//! The HTTP server: router, middleware, background tasks and graceful shutdown (server only).

use crate::{
    app::{shell, App},
    config::Settings,
    jobs::{builtin::JobRegistry, job::JobEnv, runner::JobRunner, store::Store},
    session::SessionKeys,
    market::feed::{run_simulator, Market, TICKS_TOPIC},
    monitor::{self, store::MonitorStore},
    state::AppState,
    streams::{
        self,
        direct::RoutingListener,
        hooks::{PublishHook, PublishHooks},
        hub::{Hub, HubConfig},
        TopicName,
    },
};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub hub: Hub,
    pub jobs: JobRunner,
    shutdown: CancellationToken,
    task: JoinHandle<io::Result<()>>,
}

impl RunningServer {
    /// Starts shutting down: open streams end at once (clients reconnect elsewhere or later),
    /// new connections are refused, requests in flight finish.
    pub fn begin_shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped, or `grace` has passed since shutdown began.
    pub async fn stopped(self, grace: Duration) -> io::Result<()> {
        let shutdown = self.shutdown.clone();
        let mut task = self.task;
        tokio::select! {
            result = &mut task => result.map_err(io::Error::other)?,
            _ = async { shutdown.cancelled().await; tokio::time::sleep(grace).await } => {
                tracing::warn!("connections still open after {grace:?}; stopping anyway");
                task.abort();
                Ok(())
            }
        }
    }
}

/// Binds the configured address and serves the app in a background task.
pub async fn start(settings: Settings) -> io::Result<RunningServer> {
    let listener = TcpListener::bind(settings.leptos.site_addr).await?;
    let addr = listener.local_addr()?;
    let mut leptos_options = settings.leptos.clone();
    leptos_options.site_addr = addr;

    let config = &settings.pulseboard;
    std::fs::create_dir_all(&config.data_dir).map_err(|err| {
        io::Error::other(format!("cannot create the data directory {}: {err}", config.data_dir.display()))
    })?;
    let hub = Hub::in_process(HubConfig::from_settings(config));
    let database = config.data_dir.join("pulseboard.sqlite3");
    let store = Store::open(&database)
        .await
        .map_err(|err| io::Error::other(format!("{}: {err}", database.display())))?;
    let env = JobEnv { files_root: config.jobs_files_root.clone() };
    // The job runner's tasks (its outbox and one per job); awaited after `jobs.shutdown`.
    let tasks = TaskTracker::new();
    let jobs = JobRunner::new(store, hub.clone(), JobRegistry::with_builtins(), env, config.jobs_workers, &tasks)
        .await
        .map_err(io::Error::other)?;
    let sessions = SessionKeys::load_or_create(&config.data_dir)?;
    let monitor = MonitorStore::new(config);
    let market = Market::new(hub.clone());
    let publish_hooks = PublishHooks::new([(TopicName::new(TICKS_TOPIC).expect("valid"), {
        let market = market.clone();
        let hook: PublishHook = Arc::new(move |text: String| {
            let market = market.clone();
            Box::pin(async move { market.ingest(&text).await.map_err(|err| err.to_string()) })
        });
        hook
    })]);
    let state = AppState {
        leptos_options,
        settings: Arc::new(config.clone()),
        hub: hub.clone(),
        jobs: jobs.clone(),
        sessions,
        monitor: monitor.clone(),
        market: market.clone(),
        publish_hooks,
    };
    let shutdown = CancellationToken::new();
    spawn_sweeper(hub.clone(), shutdown.clone());
    monitor::task::spawn(monitor, hub.clone(), jobs.clone(), &settings.pulseboard.data_dir, shutdown.clone());
    tokio::spawn(run_simulator(
        market,
        config.market_symbols.clone(),
        config.market_seed,
        config.market_ticks_per_second,
        shutdown.clone(),
    ));

    let router = router(state);
    let stop = shutdown.clone();
    let hub_for_stop = hub.clone();
    let jobs_for_stop = jobs.clone();
    let grace = config.shutdown_grace();
    // Event-stream requests are answered on the lean direct path, the rest by hyper.
    let direct = TaskTracker::new();
    let listener = RoutingListener::start(listener, router.clone(), direct.clone(), shutdown.clone())?;
    let task = tokio::spawn(async move {
        // `into_make_service`: each connection gets a clone of the finished router (an `Arc`).
        // Serving the `Router` itself rebuilds every route per connection (`with_state(())`),
        // several KiB that an open event stream then holds for its whole life.
        let served = axum::serve(listener, router.into_make_service())
            .with_graceful_shutdown(async move {
                stop.cancelled().await;
                // Streams never end by themselves: end them so the drain can finish.
                hub_for_stop.disconnect_all(true);
            })
            .await;
        direct.close();
        direct.wait().await;
        // Running jobs end as interrupted (and can be retried after the restart).
        jobs_for_stop.shutdown(grace).await;
        tasks.close();
        tasks.wait().await;
        served
    });
    Ok(RunningServer { addr, hub, jobs, shutdown, task })
}

/// Runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn run(settings: Settings) -> io::Result<()> {
    let grace = settings.pulseboard.shutdown_grace();
    let server = start(settings).await?;
    // Tests and scripts read this line to learn the port when the configured port is 0.
    println!("pulseboard listening on http://{}", server.addr);
    tracing::info!(addr = %server.addr, "listening");
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.begin_shutdown();
    server.stopped(grace).await
}

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let options = state.leptos_options.clone();
    // Pages, server functions and assets are compressed (the default predicate never compresses
    // text/event-stream, so stream server functions are neither compressed nor buffered) and get
    // the browser session. The stream, jobs-reporting and monitoring APIs are outside both
    // layers: their event streams are never compressed anyway, their JSON answers are a few bytes,
    // and the compression wrapper would cost every open stream ~6 KiB.
    let sessions = state.sessions.clone();
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(axum::middleware::from_fn_with_state(sessions, crate::session::middleware))
        .layer(CompressionLayer::new());
    Router::new()
        .merge(streams::http_api::routes(state.settings.debug_endpoints))
        .merge(crate::jobs::http_api::routes())
        .merge(monitor::http::routes())
        .merge(pages)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// The app's routes, generated once per process. Generating them runs the app with resource
/// loading switched off through a process-wide flag, and a page that starts rendering meanwhile
/// anywhere in the process waits forever for its data (leptos issue #4773). A server binary starts
/// one router; the integration tests start many servers in one process, concurrently.
fn route_list() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn spawn_sweeper(hub: Hub, shutdown: CancellationToken) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = every.tick() => hub.sweep(),
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

fn shutdown_signal() -> impl Future<Output = ()> {
    async {
        let ctrl_c = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = terminate => {},
        }
    }
}
