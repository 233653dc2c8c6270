//! The status page at `/`: the current window filling up, the top subnets' sentiment,
//! validation at work, the miners' standing, the validators' activity and how hotkeys are
//! registered; and one page per subnet (`/subnets/{subnet}`) with its series and its
//! validated posts. All rendered on the server from the same queries
//! the read API answers with.
//!
//! Everything the page uses is served from the binary (a style sheet and an icon) under a
//! strict Content-Security-Policy: no script runs, nothing is fetched from another origin,
//! and the page reloads itself with a meta refresh.
//!
//! # Layout
//! - [`view`]: the HTML of the overview, and the layout every page shares.
//! - [`subnet`]: one subnet's page.
//! - [`chart`]: inline SVG charts.

pub mod chart;
pub mod subnet;
pub mod view;

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::AppState;
use crate::config::Registration;
use crate::db::overview::{self, FailureCount, WindowValidation};
use crate::db::signal::{self, Bucket, PostFilter, Range, ValidationState};
use crate::error::ApiError;
use crate::routes::signal::{MAX_POINTS, parse_cursor};

/// How many past windows the validation chart and the validators' table cover.
pub const RECENT_WINDOWS: u64 = 12;
/// How many miners the leaderboard lists.
pub const LEADERBOARD_ROWS: i64 = 50;
/// How many subnets the overview's sentiment chart draws: the newest published window's
/// subnets with the most posts.
pub const TOP_SUBNETS: usize = 5;
/// How many published windows the overview's sentiment chart covers.
pub const SIGNAL_WINDOWS: i64 = 12;
/// How many published windows a subnet page's series covers.
pub const SUBNET_WINDOWS: i64 = 24;
/// Validated posts per page of a subnet page.
pub const POSTS_PER_PAGE: i64 = 20;

/// Nothing but this origin's style sheet and images; no script, no frames, no forms
/// elsewhere. `img-src data:` is not needed: icons are files.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const STYLE: &str = include_str!("pulse.css");
const ICON: &str = include_str!("favicon.svg");

/// The page's routes: `/`, one page per subnet, and their assets.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/subnets/{subnet}", get(subnet_page))
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
    let latest = signal::latest_window(db).await?;
    let (validation, failures, published) = validation(&state, from, current, latest).await?;
    let standings = match latest {
        Some(published) => Some((
            published as u64,
            overview::standings(db, published as u64, LEADERBOARD_ROWS).await?,
        )),
        None => None,
    };
    let validators = overview::validator_activity(db, from).await?;
    let signal = match latest {
        Some(latest) => Some(top_subnets(&state, latest).await?),
        None => None,
    };
    let page = view::overview(&view::Overview {
        window,
        block_time_secs: settings.block_time_secs,
        quota: settings.max_submissions,
        fill,
        signal,
        validation,
        failures,
        published,
        standings,
        validators,
        registration: registration(&state),
    });
    Ok(page_response(Html(page.into_string())))
}

/// Validation per window over `from..=to`, oldest first, with the failures by code and the
/// windows whose numbers are the published rollup's.
///
/// A published window's numbers are its total in `signal_windows`, read with the query of
/// `GET /v2/signal/windows/{window}`, so the page and the read API show one number. A
/// window the rollup has no row for keeps the live counts of the submissions: the current
/// window and any window not published yet (nothing is rolled up before publication), and
/// a published window whose sampled posts are about no registry subnet (the signal counts
/// registry subnets only).
async fn validation(
    state: &AppState,
    from: u64,
    to: u64,
    latest: Option<i64>,
) -> Result<(Vec<WindowValidation>, Vec<FailureCount>, Vec<i64>), ApiError> {
    let db = &state.db;
    let mut rows: BTreeMap<i64, WindowValidation> = overview::validation_by_window(db, from, to)
        .await?
        .into_iter()
        .map(|row| (row.window_index, row))
        .collect();
    let mut failures = overview::failures_by_window(db, from, to).await?;
    let mut published = Vec::new();
    let newest_published = latest.map_or(-1, |w| w.min(to as i64));
    for window in from as i64..=newest_published {
        let Some(total) = signal::window_subnets(db, window).await?.1 else {
            continue;
        };
        if total.selected == 0 {
            // Like the live counts, a window without sampled posts has no row.
            continue;
        }
        rows.insert(
            window,
            WindowValidation {
                window_index: window,
                selected: total.selected,
                passed: total.passed,
                failed: total.failed,
                inconclusive: total.inconclusive,
                pending: total.pending,
            },
        );
        failures.retain(|f| f.window_index != window);
        failures.extend(
            total
                .failed_by_code
                .iter()
                .map(|(code, tasks)| FailureCount {
                    window_index: window,
                    failure_code: code.clone(),
                    tasks: *tasks,
                }),
        );
        published.push(window);
    }
    failures
        .sort_by(|a, b| (a.window_index, &a.failure_code).cmp(&(b.window_index, &b.failure_code)));
    Ok((rows.into_values().collect(), failures, published))
}

/// The `TOP_SUBNETS` subnets with the most posts in published window `latest` (the read
/// API's window summary order), each with its series over the last `SIGNAL_WINDOWS`
/// windows (the read API's series query).
async fn top_subnets(state: &AppState, latest: i64) -> Result<view::Signal, ApiError> {
    let (rows, _) = signal::window_subnets(&state.db, latest).await?;
    let range = Range {
        from_window: Some((latest - SIGNAL_WINDOWS + 1).max(0)),
        to_window: Some(latest),
        ..Range::default()
    };
    let mut subnets = Vec::new();
    for row in rows.into_iter().take(TOP_SUBNETS) {
        let points =
            signal::series(&state.db, &row.name, Bucket::Window, range, MAX_POINTS).await?;
        subnets.push(view::SubnetSeries {
            netuid: row.netuid,
            name: row.name,
            points,
        });
    }
    Ok(view::Signal {
        window: latest,
        subnets,
    })
}

/// How this server decides who may submit, and with a metagraph, its state as
/// `GET /v2/metagraph` shows it.
fn registration(state: &AppState) -> view::RegistrationState {
    match (&state.metagraph, state.settings.registration) {
        (Some(metagraph), _) => view::RegistrationState::Metagraph {
            netuid: metagraph.config().netuid,
            view: crate::routes::metagraph::view(metagraph),
        },
        (None, Registration::Closed) => view::RegistrationState::Closed,
        (None, _) => view::RegistrationState::Open,
    }
}

/// Query of a subnet page.
#[derive(Debug, Deserialize)]
struct SubnetQuery {
    /// Keyset position of the posts shown: the `next_cursor` form of the read API.
    before: Option<String>,
}

async fn subnet_page(
    State(state): State<AppState>,
    Path(subnet): Path<String>,
    query: Result<Query<SubnetQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Some((netuid, name)) = signal::resolve_subnet(&subnet) else {
        return Ok(error_page(
            StatusCode::NOT_FOUND,
            "No such subnet",
            &format!("There is no subnet {subnet:?} in the registry Pulse counts."),
        ));
    };
    let before = match query {
        Ok(Query(q)) => q.before.as_deref().map(parse_cursor).transpose(),
        Err(e) => Err(ApiError::invalid_field("query", e.body_text())),
    };
    let Ok(before) = before else {
        return Ok(error_page(
            StatusCode::BAD_REQUEST,
            "Not a page of posts",
            "This link names no page of posts: start again from the subnet's newest posts.",
        ));
    };
    let db = &state.db;
    let points = match signal::latest_window(db).await? {
        Some(latest) => {
            let range = Range {
                from_window: Some((latest - SUBNET_WINDOWS + 1).max(0)),
                to_window: Some(latest),
                ..Range::default()
            };
            signal::series(db, name, Bucket::Window, range, MAX_POINTS).await?
        }
        None => Vec::new(),
    };
    // Validated posts: decided pass. The rest (unchecked, pending, failed) is on the read
    // API's posts route with its filters.
    let filter = PostFilter {
        subnet: Some(name.to_owned()),
        validation: Some(ValidationState::Passed),
        before,
        publish_text: state.settings.publish_post_text,
        ..PostFilter::default()
    };
    let mut posts = signal::posts(db, &filter, POSTS_PER_PAGE).await?;
    let older = if posts.len() as i64 > POSTS_PER_PAGE {
        posts.truncate(POSTS_PER_PAGE as usize);
        posts.last().map(|p| format!("{}.{}", p.window, p.row_id))
    } else {
        None
    };
    let page = subnet::page(&subnet::SubnetPage {
        netuid,
        name,
        points,
        posts,
        older,
        paged: before.is_some(),
        publish_text: state.settings.publish_post_text,
    });
    Ok(page_response(Html(page.into_string())))
}

/// An error as a page of the site, with `status`.
fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    let mut response = page_response(Html(view::error(title, message).into_string()));
    *response.status_mut() = status;
    response
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
