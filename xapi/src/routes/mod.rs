//! The HTTP surface: X's endpoints behind the bearer check and rate limits, the admin API
//! behind its own token, and a health check.

mod admin;
mod params;
mod x;

use axum::Json;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderMap;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::app::{Endpoint, XApi};
use crate::error::XError;

/// The double's routes, ready to serve.
///
/// - `GET /2/tweets/search/recent`, `GET /2/tweets`: X API v2; bearer token, rate limits.
/// - `/_admin/...`: inspect and change posts and the clock (see the crate docs).
/// - `GET /_health`: `{"status": "ok"}`, unauthenticated, for container health checks.
pub fn router(app: XApi) -> Router {
    let limited = |endpoint| from_fn_with_state((app.clone(), endpoint), rate_limited);
    let x_api = Router::new()
        .route(
            "/2/tweets/search/recent",
            get(x::search).layer(limited(Endpoint::Search)),
        )
        .route("/2/tweets", get(x::lookup).layer(limited(Endpoint::Lookup)))
        .route_layer(from_fn_with_state(app.clone(), require_bearer));
    let admin = Router::new()
        .route("/_admin/posts", get(admin::list).post(admin::add))
        .route(
            "/_admin/posts/{reference}",
            get(admin::get).post(admin::update),
        )
        .route(
            "/_admin/clock",
            get(admin::clock).post(admin::advance_clock),
        )
        .route_layer(from_fn_with_state(app.clone(), require_admin));
    x_api
        .merge(admin)
        .route("/_health", get(|| async { Json(json!({"status": "ok"})) }))
        .fallback(|| async { XError::NoSuchPage })
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let path = req
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or(req.uri().path(), MatchedPath::as_str);
                    tracing::info_span!("request", http.method = %req.method(), http.path = %path)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(app)
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

async fn require_bearer(State(app): State<XApi>, req: Request, next: Next) -> Response {
    if bearer(req.headers()) == Some(app.config().bearer_token.expose()) {
        next.run(req).await
    } else {
        XError::Unauthorized.into_response()
    }
}

async fn require_admin(State(app): State<XApi>, req: Request, next: Next) -> Response {
    match &app.config().admin_token {
        Some(token) if bearer(req.headers()) != Some(token.expose()) => {
            XError::Unauthorized.into_response()
        }
        _ => next.run(req).await,
    }
}

/// Counts the request and writes X's `x-rate-limit-*` headers on whatever the reply is, so a
/// client can pace itself before it ever sees a 429.
async fn rate_limited(
    State((app, endpoint)): State<(XApi, Endpoint)>,
    req: Request,
    next: Next,
) -> Response {
    let quota = app.take_quota(endpoint);
    let mut response = if quota.allowed {
        next.run(req).await
    } else {
        tracing::info!(?endpoint, reset = quota.reset_unix, "rate limit reached");
        XError::TooManyRequests.into_response()
    };
    quota.write_headers(response.headers_mut());
    response
}
