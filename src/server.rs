//! The HTTP server: router, middleware, background tasks and graceful shutdown (server only).

use crate::{
    app::{shell, App},
    config::Settings,
    state::AppState,
    streams::{
        self,
        hub::{Hub, HubConfig},
    },
};
use axum::Router;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use std::{future::Future, io, net::SocketAddr, sync::Arc, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

/// A server that is accepting connections.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub hub: Hub,
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

    let hub = Hub::in_process(HubConfig::from_settings(&settings.pulseboard));
    let state = AppState {
        leptos_options,
        settings: Arc::new(settings.pulseboard.clone()),
        hub: hub.clone(),
    };
    let shutdown = CancellationToken::new();
    spawn_sweeper(hub.clone(), shutdown.clone());

    let router = router(state);
    let stop = shutdown.clone();
    let hub_for_stop = hub.clone();
    let task = tokio::spawn(async move {
        // `into_make_service`: each connection gets a clone of the finished router (an `Arc`).
        // Serving the `Router` itself rebuilds every route per connection (`with_state(())`),
        // several KiB that an open event stream then holds for its whole life.
        axum::serve(listener, router.into_make_service())
            .with_graceful_shutdown(async move {
                stop.cancelled().await;
                // Streams never end by themselves: end them so the drain can finish.
                hub_for_stop.disconnect_all(true);
            })
            .await
    });
    Ok(RunningServer { addr, hub, shutdown, task })
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
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let options = state.leptos_options.clone();
    // Pages, server functions and assets are compressed (the default predicate never compresses
    // text/event-stream, so stream server functions are neither compressed nor buffered). The
    // stream API is outside the layer: its event streams are never compressed anyway, its JSON
    // answers are a few bytes, and the wrapper would cost every open stream ~6 KiB.
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, shell))
        .layer(CompressionLayer::new());
    Router::new()
        .merge(streams::http_api::routes(state.settings.debug_endpoints))
        .merge(pages)
        .layer(TraceLayer::new_for_http())
        .with_state(state)
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
