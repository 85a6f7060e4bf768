//! The one router: pages, server functions and assets (compressed, with the browser session),
//! and the stream, jobs-reporting and monitoring APIs beside them.

use crate::{
    app::{shell, App},
    state::AppState,
    streams::{self, StreamContext},
};
use axum::{
    extract::Request,
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json, Router,
};
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::OnceLock;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

pub fn router(state: AppState) -> Router {
    let routes = route_list();
    // Server functions find the app state and, for stream server functions, the stream layer's
    // own slice of it in the Leptos context.
    let context = {
        let state = state.clone();
        move || {
            provide_context(state.clone());
            provide_context::<StreamContext>(state.streams.clone());
        }
    };
    let (options, front_end) = (state.leptos_options.clone(), state.front_end.clone());
    // Pages, server functions and assets are compressed (the default predicate never compresses
    // text/event-stream, so stream server functions are neither compressed nor buffered) and get
    // the browser session. The stream, jobs-reporting and monitoring APIs are outside both
    // layers: their event streams are never compressed anyway, their JSON answers are a few bytes,
    // and the compression wrapper would cost every open stream ~6 KiB.
    let sessions = state.sessions.clone();
    // Assets: the built js/wasm/css (precompressed where built so, `immutable` when their names
    // carry a hash) come from `assets`; pages and the rest are revalidated on every visit.
    let assets = super::assets::pkg_router(&options, front_end.hashed);
    let page_shell = {
        let front_end = front_end.clone();
        move || shell(options.clone(), front_end.clone())
    };
    let error_shell = move |options| shell(options, front_end.clone());
    let pages = Router::new()
        .leptos_routes_with_context(&state, routes, context.clone(), page_shell)
        .merge(assets)
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(context, error_shell))
        .layer(axum::middleware::map_response(super::assets::revalidate_by_default))
        .layer(axum::middleware::from_fn_with_state(sessions, crate::session::middleware))
        .layer(CompressionLayer::new());
    let origins = super::cors::AllowedOrigins::new(&state.settings.cors);
    let mut router = Router::new()
        .merge(streams::http_api::routes(state.settings.server.debug_endpoints))
        .merge(crate::jobs::http_api::routes())
        .merge(crate::monitor::http::routes())
        .merge(pages)
        .layer(axum::middleware::from_fn(json_for_bare_api_errors));
    // CORS for the listed origins; before it, the guard refuses foreign ones (see `cors`).
    if let Some(cors) = origins.layer() {
        router = router.layer(cors);
    }
    router
        .layer(axum::middleware::from_fn_with_state(origins, super::cors::guard))
        // The access log never shows a subscription's `access_token`.
        .layer(TraceLayer::new_for_http().make_span_with(|request: &Request| {
            let uri = streams::access::redact_access_token(request.uri());
            // tower-http's own span target, so the usual `tower_http=debug` filter shows it.
            let (method, version) = (request.method(), request.version());
            tracing::debug_span!(target: "tower_http::trace::make_span", "request", %method, uri, ?version)
        }))
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

/// Every error of the API is `{"error": ...}`: this gives the two answers the router makes by
/// itself a body that says what was wrong. A wrong method on a server function gets an empty 405
/// from axum, and an unknown `/api/...` path falls through to the HTML 404 page.
async fn json_for_bare_api_errors(request: Request, next: Next) -> Response {
    // `Method` and `Uri` clone cheaply (shared bytes); the path is formatted only for an error.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let response = next.run(request).await;
    let status = response.status();
    let path = uri.path();
    let is_api = path.starts_with("/api/");
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED if response.headers().get(header::CONTENT_TYPE).is_none() => {
            let allowed = response.headers().get(header::ALLOW).and_then(|v| v.to_str().ok()).unwrap_or_default();
            match allowed {
                "" => format!("{method} is not allowed on {path}"),
                allowed => format!("{method} is not allowed on {path}; use {allowed}"),
            }
        }
        StatusCode::NOT_FOUND if is_api && !is_json(&response) => {
            format!("no such endpoint: {path} (README lists the API)")
        }
        _ => return response,
    };
    let allow = response.headers().get(header::ALLOW).cloned();
    let mut answer = (status, Json(serde_json::json!({ "error": message }))).into_response();
    if let Some(allow) = allow {
        answer.headers_mut().insert(header::ALLOW, allow);
    }
    answer
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"))
}
