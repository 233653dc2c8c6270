//! The Pulse coordination server: miners submit analysed posts, the server rate-limits,
//! deduplicates and samples them for validators.
//!
//! # Layout
//! - [`config`]: command line and environment settings.
//! - [`startup`]: turning settings into a running server (database, migrations, block
//!   source, listener), and the admin subcommands.
//! - [`embedded`]: the private PostgreSQL cluster used when no `DATABASE_URL` is given.
//! - [`chain`]: where the current block comes from (clock, subtensor node, manual).
//! - [`metagraph`]: `REGISTRATION=metagraph`, the subnet's metagraph synced into PostgreSQL
//!   by one process at a time and held in memory by every process.
//! - [`routes`]: the HTTP endpoints and the OpenAPI document generated from them.
//! - [`page`]: the status page at `/`, server-rendered HTML.
//! - [`state`]: [`AppState`], what every request handler shares.
//! - [`auth`]: signature checks, the X-Auth signature memo, Epistula replay protection
//!   and roles.
//! - [`scoring`]: miners' window scores from the shared scoring library.
//! - [`answer`]: questions answered from validated posts: the query a question becomes,
//!   the sentiment breakdown, the LLM's prompt and the check of its citations.
//! - [`db`]: the SQL, one module per table group.
//! - [`error`]: the error type and the wire shape of every error.
//! - [`metrics`]: Prometheus metrics served at `/metrics`.
//! - [`ratelimit`]: per-IP limits of public requests and failed authentications.
//! - [`listen`]: the connection loop (connection cap, header timeout, graceful shutdown).
//!
//! Tests drive the server through [`router`] and [`serve`] with an [`AppState`] of their
//! own making.

#![warn(missing_docs)]

pub mod answer;
pub mod auth;
pub mod chain;
pub mod config;
pub mod db;
pub mod embedded;
pub mod error;
pub mod listen;
pub mod metagraph;
pub mod metrics;
pub mod page;
pub mod ratelimit;
pub mod routes;
pub mod scoring;
pub mod startup;
pub mod state;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;
use tracing::Span;
use utoipa_swagger_ui::SwaggerUi;

use crate::error::ApiError;
use crate::metrics::Metrics;

pub use crate::state::AppState;

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::api_router().split_for_parts().1
}

/// The complete HTTP application: API routes, `/openapi.json`, Swagger UI at `/docs`, the
/// status page at `/`,
/// request tracing, body limit and request timeout.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = routes::api_router().split_for_parts();
    let timeout = state.settings.request_timeout;
    let body_limit = state.settings.max_body_bytes;
    let metrics = Arc::clone(&state.metrics);
    api.merge(SwaggerUi::new("/docs").url("/openapi.json", openapi))
        .merge(page::router())
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            time_limit(timeout, request, next)
        }))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            ratelimit::limit,
        ))
        .layer(middleware::from_fn(move |request: Request, next: Next| {
            count_request(Arc::clone(&metrics), request, next)
        }))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let path = request.extensions().get::<MatchedPath>().map_or_else(
                        || request.uri().path().to_owned(),
                        |p| p.as_str().to_owned(),
                    );
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path,
                        hotkey = tracing::field::Empty,
                        post_id = tracing::field::Empty,
                        outcome = tracing::field::Empty,
                        reason = tracing::field::Empty,
                    )
                })
                .on_request(())
                .on_response(|response: &Response, latency: Duration, _: &Span| {
                    tracing::info!(
                        status = response.status().as_u16(),
                        latency_ms = format_args!("{:.2}", latency.as_secs_f64() * 1e3),
                        "request handled"
                    );
                })
                .on_failure(()),
        )
        .with_state(state)
}

/// Counts every request by method, route template (bounded, unlike raw paths) and status.
async fn count_request(metrics: Arc<Metrics>, request: Request, next: Next) -> Response {
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics.observe_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Answers 503 when a request takes longer than `limit` (a database that hangs rather
/// than refuses), instead of holding the client indefinitely.
async fn time_limit(limit: Duration, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Unavailable(format!("request took longer than {} s", limit.as_secs()))
            .into_response(),
    }
}

/// How often expired Epistula uuids are deleted.
const NONCE_PRUNE_INTERVAL: Duration = Duration::from_secs(60);

/// Serves [`router`] on `listener` until `shutdown` completes, then finishes the requests
/// in flight. Also prunes expired Epistula uuids while it runs.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(state.clone()), state, shutdown).await
}

/// [`serve`] with an application of the caller's making, usually [`router`] wrapped in
/// extra layers (tests use it to interpose on requests).
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = listen::Limits {
        max_connections: state.settings.max_connections,
        header_read_timeout: state.settings.header_read_timeout,
    };
    let metrics = Arc::clone(&state.metrics);
    let pruner = tokio::spawn(prune_nonces(state));
    let result = listen::serve(listener, app, limits, metrics, shutdown).await;
    pruner.abort();
    result
}

async fn prune_nonces(state: AppState) {
    // A uuid can be refused as stale once its signature is older than the freshness
    // window; a minute of margin covers clock differences between server processes.
    let keep = state.settings.auth.max_age + Duration::from_secs(60);
    let mut ticker = tokio::time::interval(NONCE_PRUNE_INTERVAL);
    loop {
        ticker.tick().await;
        match db::nonces::prune(&state.db, keep).await {
            Ok(0) => {}
            Ok(pruned) => tracing::debug!(pruned, "expired Epistula uuids pruned"),
            Err(error) => tracing::warn!(%error, "pruning Epistula uuids failed"),
        }
    }
}
