//! The status page at `/`: the current window filling up, validation at work, the miners'
//! standing and the validators' activity, rendered on the server from the same queries
//! the read API answers with.
//!
//! Everything the page uses is served from the binary (a style sheet and an icon) under a
//! strict Content-Security-Policy: no script runs, nothing is fetched from another origin,
//! and the page reloads itself with a meta refresh.
//!
//! # Layout
//! - [`view`]: the HTML.
//! - [`chart`]: inline SVG charts.

pub mod chart;
pub mod view;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use crate::AppState;
use crate::db::overview;
use crate::error::ApiError;

/// How many past windows the validation chart and the validators' table cover.
pub const RECENT_WINDOWS: u64 = 12;
/// How many miners the leaderboard lists.
pub const LEADERBOARD_ROWS: i64 = 50;

/// Nothing but this origin's style sheet and images; no script, no frames, no forms
/// elsewhere. `img-src data:` is not needed: icons are files.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = include_str!("pulse.css");
const ICON: &str = include_str!("favicon.svg");

/// The page's routes: `/` and its assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/assets/pulse.css", get(style))
        .route("/assets/favicon.svg", get(icon))
}

async fn index(State(state): State<AppState>) -> Result<Response, ApiError> {
    let window = state.window()?;
    let settings = &state.settings;
    let current = window.current_window;
    let from = current.saturating_sub(RECENT_WINDOWS - 1);
    let db = &state.db;
    let fill = overview::window_fill(db, current, settings.max_submissions).await?;
    let validation = overview::validation_by_window(db, from, current).await?;
    let failures = overview::failures_by_window(db, from, current).await?;
    let standings = match overview::latest_published(db).await? {
        Some(published) => Some((
            published,
            overview::standings(db, published, LEADERBOARD_ROWS).await?,
        )),
        None => None,
    };
    let validators = overview::validator_activity(db, from).await?;
    let page = view::overview(&view::Overview {
        window,
        block_time_secs: settings.block_time_secs,
        quota: settings.max_submissions,
        fill,
        validation,
        failures,
        standings,
        validators,
    });
    Ok(page_response(Html(page.into_string())))
}

async fn style() -> Response {
    asset("text/css; charset=utf-8", STYLE)
}

async fn icon() -> Response {
    asset("image/svg+xml", ICON)
}

/// A page with the headers every page carries: the policy, no sniffing, no framing, and no
/// caching (it shows the current window).
fn page_response(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// An embedded asset; it changes only with the binary, so an hour of caching is safe.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
