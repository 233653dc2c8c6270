//! The public read API of the signal (`/v2/signal/...`): subnets with their latest pulse,
//! a subnet's series, a window's summary and export, posts with filters, search, answers.
//!
//! No authentication: the signal is public. Every route is rate-limited per IP address
//! ([`crate::ratelimit`]). Replies carry an `ETag` (a digest of the body, or of the
//! window's state for exports) and answer `If-None-Match` with 304; replies about a
//! published window whose sampled posts are all decided never change again and are
//! cached for a year (`immutable`), others for a minute at most.

use std::fmt::Write as _;

use analyzer::chat::{ChatClient, LlmError};
use axum::body::{Body, Bytes};
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use protocol::api::{ErrorBody, ValidationErrorBody};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::AppState;
use crate::answer::{self, Breakdown, Question, RecognisedSubnet, Reply};
use crate::db::signal::{
    self, Bucket, MinerRow, PostFilter, PostItem, Pulse, Range, SubnetPulse, SubnetRow,
    ValidationState, WindowInfo,
};
use crate::error::ApiError;

/// `Cache-Control` of a reply that can no longer change.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// `Cache-Control` of a reply that may change (new windows, late verdicts).
pub const SHORT: &str = "public, max-age=60";
/// `Cache-Control` of a reply about windows still filling.
pub const REVALIDATE: &str = "no-cache";

/// Most points one series reply holds.
pub const MAX_POINTS: i64 = 10_000;
/// Most windows a posts page without a subnet may span.
pub const MAX_UNFILTERED_WINDOWS: i64 = 72;

/// A JSON reply with its `ETag` (digest of the body) and `cache_control`, or 304 when the
/// client already holds it.
fn cached<T: Serialize>(request: &HeaderMap, value: &T, cache_control: &'static str) -> Response {
    let body = serde_json::to_vec(value).expect("replies serialise");
    let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&body))[..32]);
    respond(
        request,
        etag,
        cache_control,
        "application/json",
        Body::from(body),
    )
}

fn not_modified(request: &HeaderMap, etag: &str) -> bool {
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().trim_start_matches("W/"))
        .any(|v| v == etag || v == "*")
}

fn respond(
    request: &HeaderMap,
    etag: String,
    cache_control: &'static str,
    content_type: &'static str,
    body: Body,
) -> Response {
    let mut response = if not_modified(request, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = Response::new(body);
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).expect("hex"));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    response
}

fn window_cache(info: &WindowInfo) -> &'static str {
    if info.settled { IMMUTABLE } else { SHORT }
}

fn invalid_query(e: QueryRejection) -> ApiError {
    ApiError::invalid_field("query", e.body_text())
}

/// Every subnet of the registry with its newest pulse.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubnetsResponse {
    /// By netuid.
    pub subnets: Vec<SubnetPulse>,
}

/// Every subnet with its latest pulse.
///
/// The newest published window with posts about each subnet of the registry (null when
/// none has any). Posts that failed validation and posts of miners penalised in the window
/// do not count (docs/signal.md).
#[utoipa::path(
    get,
    path = "/v2/signal/subnets",
    tag = "signal",
    responses(
        (status = 200, description = "Subnets by netuid", body = SubnetsResponse,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "public, max-age=60"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn subnets(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let subnets = signal::latest(&state.db).await?;
    Ok(cached(&headers, &SubnetsResponse { subnets }, SHORT))
}

/// Query of a subnet's series.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SeriesQuery {
    /// `window` (default), `hour` or `day`: one point per window, or per hour or day (UTC)
    /// in which windows ended.
    pub bucket: Option<Bucket>,
    /// First window, inclusive.
    pub from_window: Option<u64>,
    /// Last window, inclusive.
    pub to_window: Option<u64>,
    /// Earliest end time of a window, inclusive (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Latest end time of a window, exclusive (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// A subnet's series.
#[derive(Debug, Serialize, ToSchema)]
pub struct SeriesResponse {
    /// The subnet's netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: String,
    /// How points group windows.
    pub bucket: Bucket,
    /// Oldest first; windows without posts about the subnet have no point.
    pub points: Vec<Pulse>,
}

/// One subnet's pulse over time.
///
/// Per window, hour or day, over a window range and/or a time range (default: the last 30
/// days). At most 10,000 points per reply: a longer range per window is refused (422);
/// ask per hour or day.
#[utoipa::path(
    get,
    path = "/v2/signal/subnets/{subnet}/series",
    tag = "signal",
    params(("subnet" = String, Path, description = "Netuid (`45`, `sn45`) or registry name (`talisman_ai`)"),
           SeriesQuery),
    responses(
        (status = 200, description = "The series", body = SeriesResponse,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "public, max-age=60"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such subnet", body = ErrorBody),
        (status = 422, description = "Invalid query, or more than 10,000 points", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn series(
    State(state): State<AppState>,
    headers: HeaderMap,
    subnet: Result<Path<String>, PathRejection>,
    query: Result<Query<SeriesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(subnet) = subnet.map_err(|e| ApiError::NotFound(e.body_text()))?;
    let Query(query) = query.map_err(invalid_query)?;
    let (netuid, name) = signal::resolve_subnet(&subnet)
        .ok_or_else(|| ApiError::NotFound(format!("no subnet {subnet:?} in the registry")))?;
    let mut range = window_range(query.from_window, query.to_window, query.from, query.to)?;
    if range.from_window.is_none()
        && range.to_window.is_none()
        && range.from.is_none()
        && range.to.is_none()
    {
        range.from = Some(Utc::now() - chrono::Duration::days(30));
    }
    let bucket = query.bucket.unwrap_or(Bucket::Window);
    let points = signal::series(&state.db, name, bucket, range, MAX_POINTS).await?;
    if points.len() as i64 > MAX_POINTS {
        return Err(ApiError::invalid_field(
            "bucket",
            format!(
                "the range holds more than {MAX_POINTS} points; narrow it or ask per hour or day"
            ),
        ));
    }
    let reply = SeriesResponse {
        netuid,
        name: name.to_string(),
        bucket,
        points,
    };
    Ok(cached(&headers, &reply, SHORT))
}

fn window_range(
    from_window: Option<u64>,
    to_window: Option<u64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<Range, ApiError> {
    let as_i64 = |field: &str, w: Option<u64>| -> Result<Option<i64>, ApiError> {
        w.map(|w| {
            i64::try_from(w).map_err(|_| ApiError::invalid_field(field, "window out of range"))
        })
        .transpose()
    };
    let range = Range {
        from_window: as_i64("from_window", from_window)?,
        to_window: as_i64("to_window", to_window)?,
        from,
        to,
    };
    if let (Some(a), Some(b)) = (range.from_window, range.to_window)
        && a > b
    {
        return Err(ApiError::invalid_field(
            "from_window",
            "from_window is after to_window",
        ));
    }
    if let (Some(a), Some(b)) = (from, to)
        && a >= b
    {
        return Err(ApiError::invalid_field("from", "from is not before to"));
    }
    Ok(range)
}

/// Query of a window's summary.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Miners in the leaderboard (default 100, at most 1000).
    pub miners: Option<u32>,
}

/// A published window's summary.
#[derive(Debug, Serialize, ToSchema)]
pub struct WindowSummary {
    /// The window and its publication.
    #[serde(flatten)]
    pub window: WindowInfo,
    /// Every subnet together; null when the window has no post about a registry subnet.
    pub total: Option<Pulse>,
    /// Subnets, most posts first.
    pub subnets: Vec<SubnetRow>,
    /// Miners, best window score first.
    pub miners: Vec<MinerRow>,
}

/// A published window: its subnets and miners.
///
/// The pulse of every subnet in the window (the subnet leaderboard, most posts first),
/// their total, and the miners' window scores (the miner leaderboard). A window whose
/// sampled posts are all decided is cached for a year; until then a late verdict can
/// change it, and it is cached for a minute.
#[utoipa::path(
    get,
    path = "/v2/signal/windows/{window}",
    tag = "signal",
    params(("window" = u64, Path, description = "A published window"), SummaryQuery),
    responses(
        (status = 200, description = "The window's summary", body = WindowSummary,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "public, max-age=31536000, immutable once settled, else public, max-age=60"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "The window is not published", body = ErrorBody),
        (status = 422, description = "Invalid window or query", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn window_summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    window: Result<Path<u64>, PathRejection>,
    query: Result<Query<SummaryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let info = published(&state, window).await?;
    let Query(query) = query.map_err(invalid_query)?;
    let miners = query.miners.unwrap_or(100);
    if miners > 1000 {
        return Err(ApiError::invalid_field("miners", "at most 1000"));
    }
    let (subnets, total) = signal::window_subnets(&state.db, info.window).await?;
    let miners = signal::window_miners(&state.db, info.window, i64::from(miners)).await?;
    let cache = window_cache(&info);
    let reply = WindowSummary {
        window: info,
        total,
        subnets,
        miners,
    };
    Ok(cached(&headers, &reply, cache))
}

async fn published(
    state: &AppState,
    window: Result<Path<u64>, PathRejection>,
) -> Result<WindowInfo, ApiError> {
    let Path(window) = window.map_err(|e| ApiError::invalid_field("window", e.body_text()))?;
    let window = i64::try_from(window)
        .map_err(|_| ApiError::invalid_field("window", "window out of range"))?;
    signal::window_info(&state.db, window)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("window {window} is not published")))
}

/// Query of a posts page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostsQuery {
    /// Netuid (`45`) or registry name of the subnet the posts count for.
    pub subnet: Option<String>,
    /// One window (same as `from_window` = `to_window` = it).
    pub window: Option<u64>,
    /// First window, inclusive.
    pub from_window: Option<u64>,
    /// Last window, inclusive.
    pub to_window: Option<u64>,
    /// Earliest acceptance time, inclusive (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Latest acceptance time, exclusive (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Sentiment class: `very_bullish`, `bullish`, `neutral`, `bearish`, `very_bearish`.
    pub sentiment: Option<String>,
    /// Validation outcome: `unselected`, `pending`, `inconclusive`, `passed`, `failed`.
    pub validation: Option<ValidationState>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Posts per page (default 50, at most 500).
    pub limit: Option<u32>,
}

/// A page of posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostsPage {
    /// Newest window first, then newest submission.
    pub posts: Vec<PostItem>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Stored posts with filters, newest first, page by page.
///
/// Each item is one miner's submission of an X post (the same post sent by two miners is
/// two items with one `post_id`). Keyset pagination: pass `next_cursor` back as `cursor`;
/// pages stay consistent while posts arrive. Without `subnet`, the window range (default:
/// the current window and the two before it) may span at most 72 windows. Post text is
/// included only when the server publishes it (`PUBLISH_POST_TEXT`, off by default).
#[utoipa::path(
    get,
    path = "/v2/signal/posts",
    tag = "signal",
    params(PostsQuery),
    responses(
        (status = 200, description = "A page of posts", body = PostsPage,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "no-cache"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such subnet", body = ErrorBody),
        (status = 422, description = "Invalid filter or cursor", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn posts(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<PostsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(invalid_query)?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "between 1 and 500"));
    }
    let (from_window, to_window) = match query.window {
        Some(w) => (Some(w), Some(w)),
        None => (query.from_window, query.to_window),
    };
    let mut filter = post_filter(
        &state,
        query.subnet.as_deref(),
        from_window,
        to_window,
        query.from,
        query.to,
    )?;
    filter.sentiment = query
        .sentiment
        .as_deref()
        .map(|s| {
            s.parse::<analyzer::Sentiment>()
                .map(|c| c.value())
                .map_err(|e| ApiError::invalid_field("sentiment", e.to_string()))
        })
        .transpose()?;
    filter.validation = query.validation;
    filter.before = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let mut posts = signal::posts(&state.db, &filter, i64::from(limit)).await?;
    let next_cursor = if posts.len() > limit as usize {
        posts.truncate(limit as usize);
        posts.last().map(|p| format!("{}.{}", p.window, p.row_id))
    } else {
        None
    };
    Ok(cached(
        &headers,
        &PostsPage { posts, next_cursor },
        REVALIDATE,
    ))
}

/// A filter from the query's subnet and ranges; without a subnet, the window range is
/// bounded.
fn post_filter(
    state: &AppState,
    subnet: Option<&str>,
    from_window: Option<u64>,
    to_window: Option<u64>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<PostFilter, ApiError> {
    let mut range = window_range(from_window, to_window, from, to)?;
    let subnet = match subnet {
        Some(s) => Some(
            signal::resolve_subnet(s)
                .ok_or_else(|| ApiError::NotFound(format!("no subnet {s:?} in the registry")))?
                .1
                .to_string(),
        ),
        None => {
            if range.from_window.is_none() {
                let newest = match range.to_window {
                    Some(w) => w,
                    None => state.window()?.current_window as i64,
                };
                range.from_window = Some((newest - 2).max(0));
            }
            let newest = match range.to_window {
                Some(w) => w,
                None => state.window()?.current_window as i64,
            };
            if newest - range.from_window.unwrap_or(0) >= MAX_UNFILTERED_WINDOWS {
                return Err(ApiError::invalid_field(
                    "from_window",
                    format!("without subnet, at most {MAX_UNFILTERED_WINDOWS} windows"),
                ));
            }
            None
        }
    };
    Ok(PostFilter {
        subnet,
        range,
        publish_text: state.settings.publish_post_text,
        ..PostFilter::default()
    })
}

/// A `next_cursor` this API gave (`window.id`) as the keyset position it names.
pub fn parse_cursor(cursor: &str) -> Result<(i64, i64), ApiError> {
    let bad = || ApiError::invalid_field("cursor", "not a cursor this API gave");
    let (window, id) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((
        window.parse().map_err(|_| bad())?,
        id.parse().map_err(|_| bad())?,
    ))
}

/// Query of a search.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Words to find (web search syntax: `"a phrase"`, `or`, `-word`); 1 to 200 characters.
    pub q: String,
    /// Netuid or registry name of the subnet.
    pub subnet: Option<String>,
    /// First window, inclusive.
    pub from_window: Option<u64>,
    /// Last window, inclusive.
    pub to_window: Option<u64>,
    /// Earliest acceptance time, inclusive (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Latest acceptance time, exclusive (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Posts to return (default 20, at most 100).
    pub limit: Option<u32>,
}

/// Search results.
#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    /// Best first (`rank`).
    pub posts: Vec<PostItem>,
}

/// Full-text search over the stored posts.
///
/// PostgreSQL text search (English stemming) over the posts' text, filtered by subnet and
/// time, ranked by text relevance times (0.5 + the post's score) times its validation:
/// passed posts first, failed ones last. Without a subnet, the window range (default: the
/// last three windows) spans at most 72 windows.
#[utoipa::path(
    get,
    path = "/v2/signal/search",
    tag = "signal",
    params(SearchQuery),
    responses(
        (status = 200, description = "Matching posts", body = SearchResponse,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "no-cache"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such subnet", body = ErrorBody),
        (status = 422, description = "Invalid query", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<SearchQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(invalid_query)?;
    let q = query.q.trim();
    if q.is_empty() || q.chars().count() > 200 {
        return Err(ApiError::invalid_field("q", "1 to 200 characters"));
    }
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "between 1 and 100"));
    }
    let filter = post_filter(
        &state,
        query.subnet.as_deref(),
        query.from_window,
        query.to_window,
        query.from,
        query.to,
    )?;
    let posts = signal::search(&state.db, q, &filter, i64::from(limit)).await?;
    Ok(cached(&headers, &SearchResponse { posts }, REVALIDATE))
}

/// The export's formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

const CSV_COLUMNS: [&str; 18] = [
    "validation_id",
    "post_id",
    "miner_hotkey",
    "netuid",
    "subnet",
    "window",
    "accepted_at",
    "date",
    "author",
    "content",
    "sentiment",
    "score",
    "likes",
    "retweets",
    "responses",
    "followers",
    "validation",
    "failure_code",
];

/// A CSV field: quoted when it holds a separator, quote or line break; a text starting
/// with `=`, `+`, `-` or `@` gets a leading `'` so a spreadsheet does not run it as a
/// formula (miners choose these strings).
fn csv_text(out: &mut String, text: &str) {
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_string()
    };
    if guarded.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&guarded.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&guarded);
    }
}

fn csv_row(post: &PostItem) -> String {
    let mut out = String::new();
    let texts: [&str; 3] = [
        &post.validation_id.to_string(),
        &post.post_id,
        &post.miner_hotkey,
    ];
    for t in texts {
        csv_text(&mut out, t);
        out.push(',');
    }
    if let Some(n) = post.netuid {
        let _ = write!(out, "{n}");
    }
    out.push(',');
    csv_text(&mut out, post.subnet.as_deref().unwrap_or(""));
    let _ = write!(
        out,
        ",{},{},{},",
        post.window,
        post.accepted_at.to_rfc3339(),
        post.date
    );
    csv_text(&mut out, &post.author);
    out.push(',');
    csv_text(&mut out, post.content.as_deref().unwrap_or(""));
    let _ = write!(
        out,
        ",{},{},{},{},{},{},{},",
        post.sentiment,
        post.score,
        post.likes,
        post.retweets,
        post.responses,
        post.followers,
        post.validation
    );
    csv_text(&mut out, post.failure_code.as_deref().unwrap_or(""));
    out.push('\n');
    out
}

/// One line of the JSON lines export.
#[derive(Serialize)]
struct ExportLine<'a> {
    #[serde(flatten)]
    post: &'a PostItem,
}

async fn export(
    state: AppState,
    headers: HeaderMap,
    window: Result<Path<u64>, PathRejection>,
    format: Format,
) -> Result<Response, ApiError> {
    let info = published(&state, window).await?;
    let publish_text = state.settings.publish_post_text;
    // The rows change only when the window's signal does (a late verdict), so the state
    // of its signal names the export.
    let state_key = format!(
        "{:?}|{}|{}|{:?}|{}",
        format, info.window, info.settled, info.updated_at, publish_text
    );
    let etag = format!(
        "\"{}\"",
        &hex::encode(Sha256::digest(state_key.as_bytes()))[..32]
    );
    let cache = window_cache(&info);
    if not_modified(&headers, &etag) {
        return Ok(respond(&headers, etag, cache, "text/plain", Body::empty()));
    }
    let rows = signal::window_posts(state.db.clone(), info.window, publish_text);
    let (content_type, header_line) = match format {
        Format::JsonLines => ("application/x-ndjson", None),
        Format::Csv => (
            "text/csv; charset=utf-8",
            Some(format!("{}\n", CSV_COLUMNS.join(","))),
        ),
    };
    let lines = rows.map(move |row| -> Result<Bytes, std::io::Error> {
        let post = row.map_err(std::io::Error::other)?;
        Ok(Bytes::from(match format {
            Format::JsonLines => {
                let mut line = serde_json::to_vec(&ExportLine { post: &post }).expect("serialises");
                line.push(b'\n');
                line
            }
            Format::Csv => csv_row(&post).into_bytes(),
        }))
    });
    let head = futures_util::stream::iter(header_line.map(|h| Ok(Bytes::from(h))));
    Ok(respond(
        &headers,
        etag,
        cache,
        content_type,
        Body::from_stream(head.chain(lines)),
    ))
}

/// A published window's posts as JSON lines, streamed.
///
/// One JSON object per line per submission of the window, in acceptance order, with the
/// fields of a posts page item (post text only when the server publishes it). Cached like
/// the window's summary.
#[utoipa::path(
    get,
    path = "/v2/signal/windows/{window}/export.jsonl",
    tag = "signal",
    params(("window" = u64, Path, description = "A published window")),
    responses(
        (status = 200, description = "One post per line", content_type = "application/x-ndjson", body = String,
            headers(("ETag" = String, description = "Names the window's signal state"),
                    ("Cache-Control" = String, description = "public, max-age=31536000, immutable once settled, else public, max-age=60"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "The window is not published", body = ErrorBody),
        (status = 422, description = "Invalid window", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn export_jsonl(
    State(state): State<AppState>,
    headers: HeaderMap,
    window: Result<Path<u64>, PathRejection>,
) -> Result<Response, ApiError> {
    export(state, headers, window, Format::JsonLines).await
}

/// A published window's posts as CSV, streamed.
///
/// A header line, then one row per submission of the window in acceptance order (RFC 4180
/// quoting; text fields starting with `=`, `+`, `-` or `@` get a leading `'`). Cached like
/// the window's summary.
#[utoipa::path(
    get,
    path = "/v2/signal/windows/{window}/export.csv",
    tag = "signal",
    params(("window" = u64, Path, description = "A published window")),
    responses(
        (status = 200, description = "CSV with a header line", content_type = "text/csv", body = String,
            headers(("ETag" = String, description = "Names the window's signal state"),
                    ("Cache-Control" = String, description = "public, max-age=31536000, immutable once settled, else public, max-age=60"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "The window is not published", body = ErrorBody),
        (status = 422, description = "Invalid window", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    window: Result<Path<u64>, PathRejection>,
) -> Result<Response, ApiError> {
    export(state, headers, window, Format::Csv).await
}

/// Query of an answer.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnswerQuery {
    /// The question, 1 to 500 characters. Subnets are recognised in it as in posts
    /// (`sn45`, `subnet 45`, registry names and identifiers); its other words, `#hashtags`
    /// and `@mentions` are searched for.
    pub q: String,
    /// Netuid or registry name of the subnet to answer about, instead of those the question
    /// names.
    pub subnet: Option<String>,
    /// First window, inclusive.
    pub from_window: Option<u64>,
    /// Last window, inclusive.
    pub to_window: Option<u64>,
    /// Earliest acceptance time, inclusive (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Latest acceptance time, exclusive (RFC 3339).
    pub to: Option<DateTime<Utc>>,
    /// Posts to gather (default 10, at most 50).
    pub limit: Option<u32>,
}

/// How an answer's posts were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// Full-text search of the question's words, hashtags and mentions.
    Text,
    /// The subnets' newest validated posts: the question had no word to search for, or no
    /// post matched its words.
    Subnet,
    /// No validated post was found.
    None,
}

/// What became of the LLM's part of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LlmOutcome {
    /// No LLM is configured (`ANSWER_LLM_BASE`): the posts and their breakdown are the answer.
    NotConfigured,
    /// No validated post was found, so the LLM was not asked.
    NoPosts,
    /// The LLM answered, citing only posts it was given.
    Answered,
    /// The LLM said the posts do not answer the question.
    Declined,
    /// The LLM failed (timeout, error status, unusable reply): `llm_error` says how.
    Failed,
}

/// An answer from validated posts.
#[derive(Debug, Serialize, ToSchema)]
pub struct AnswerResponse {
    /// The question as asked.
    pub question: String,
    /// What the question became: subnets, keywords, hashtags, mentions.
    pub query: Question,
    /// The full-text query searched (websearch syntax); null when the question has no
    /// word to search for.
    pub text_query: Option<String>,
    /// How the posts were found.
    pub matched_by: MatchedBy,
    /// The validated (passed) posts gathered, one per X post, best first. Their text only
    /// when the server publishes post text (`PUBLISH_POST_TEXT`).
    pub posts: Vec<PostItem>,
    /// Their sentiment.
    pub breakdown: Breakdown,
    /// What became of the LLM's part.
    pub llm: LlmOutcome,
    /// The LLM's short answer, citing post ids as `[post_id]`; null unless `llm` is
    /// `answered`. Never written by the server itself.
    pub answer: Option<String>,
    /// The `post_id`s the answer cites, all among `posts`.
    pub citations: Vec<String>,
    /// Ids the LLM cited that it was not given; its answer was then withheld.
    pub rejected_citations: Vec<String>,
    /// Why the LLM gave no usable answer, when `llm` is `failed`.
    pub llm_error: Option<String>,
}

/// Answers a question from validated posts.
///
/// The question becomes a query: the subnets it names (recognised as in posts: `sn45`,
/// registry names and identifiers; or the `subnet` parameter), its keywords, `#hashtags`
/// and `@mentions`. The posts that passed validation and match are gathered by the
/// full-text search (ranked by text relevance, score and validation), one per X post;
/// when none matches the words, a named subnet's newest validated posts. Without a subnet,
/// the window range (default: the last 72 windows) spans at most 72 windows.
///
/// With an LLM configured, it writes a short answer citing the post ids it used; an answer
/// citing a post it was not given, or none, is withheld. The LLM sees post text only when
/// the server publishes it. Without an LLM, or when it fails (said in `llm_error`), the
/// posts and their sentiment breakdown are the answer: the server never writes one itself.
#[utoipa::path(
    get,
    path = "/v2/signal/answer",
    tag = "signal",
    params(AnswerQuery),
    responses(
        (status = 200, description = "The posts, their breakdown and, with an LLM, its answer", body = AnswerResponse,
            headers(("ETag" = String, description = "Digest of the body"),
                    ("Cache-Control" = String, description = "no-cache"))),
        (status = 304, description = "Unchanged since the `If-None-Match` ETag"),
        (status = 404, description = "No such subnet", body = ErrorBody),
        (status = 422, description = "Invalid query, or a question with no subnet and no word to search for", body = ValidationErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn answer(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<AnswerQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(invalid_query)?;
    let q = query.q.trim();
    if q.is_empty() || q.chars().count() > 500 {
        return Err(ApiError::invalid_field("q", "1 to 500 characters"));
    }
    let limit = query.limit.unwrap_or(10);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::invalid_field("limit", "between 1 and 50"));
    }
    let mut question = Question::parse(q);
    if let Some(subnet) = query.subnet.as_deref() {
        let (netuid, name) = signal::resolve_subnet(subnet)
            .ok_or_else(|| ApiError::NotFound(format!("no subnet {subnet:?} in the registry")))?;
        question.subnets = vec![RecognisedSubnet {
            netuid,
            name: name.to_string(),
            relevance: 1.0,
        }];
    }
    let text_query = question.text_query();
    if question.subnets.is_empty() && text_query.is_none() {
        return Err(ApiError::invalid_field(
            "q",
            "the question names no subnet and no word to search for",
        ));
    }
    let mut from_window = query.from_window;
    if question.subnets.is_empty()
        && from_window.is_none()
        && query.to_window.is_none()
        && query.from.is_none()
        && query.to.is_none()
    {
        // Without a subnet, the widest range a search may span: the last day of windows.
        let current = state.window()?.current_window;
        from_window = Some(current.saturating_sub(MAX_UNFILTERED_WINDOWS as u64 - 1));
    }
    let subnets: Vec<Option<String>> = if question.subnets.is_empty() {
        vec![None]
    } else {
        question
            .subnets
            .iter()
            .map(|s| Some(s.netuid.to_string()))
            .collect()
    };
    let mut filters = Vec::with_capacity(subnets.len());
    for subnet in &subnets {
        let mut filter = post_filter(
            &state,
            subnet.as_deref(),
            from_window,
            query.to_window,
            query.from,
            query.to,
        )?;
        filter.validation = Some(ValidationState::Passed);
        filters.push(filter);
    }
    // Several miners may submit one X post: gather more rows than posts wanted, keep one
    // row per post.
    let rows = i64::from(limit) * 3;
    let mut found = Vec::new();
    if let Some(text) = &text_query {
        for filter in &filters {
            found.extend(signal::search(&state.db, text, filter, rows).await?);
        }
        found.sort_by(|a, b| {
            b.rank
                .unwrap_or(0.0)
                .total_cmp(&a.rank.unwrap_or(0.0))
                .then(b.row_id.cmp(&a.row_id))
        });
    }
    let mut matched_by = MatchedBy::Text;
    if found.is_empty() && !question.subnets.is_empty() {
        matched_by = MatchedBy::Subnet;
        for filter in &filters {
            found.extend(signal::posts(&state.db, filter, rows).await?);
        }
        // Newest first across the subnets, as each subnet's page is.
        found.sort_by_key(|p| std::cmp::Reverse((p.window, p.row_id)));
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(p.post_id.clone()));
    found.truncate(limit as usize);
    if found.is_empty() {
        matched_by = MatchedBy::None;
    }
    let mut reply = AnswerResponse {
        question: q.to_string(),
        breakdown: Breakdown::of(&found),
        query: question,
        text_query,
        matched_by,
        posts: found,
        llm: LlmOutcome::NotConfigured,
        answer: None,
        citations: Vec::new(),
        rejected_citations: Vec::new(),
        llm_error: None,
    };
    if let Some(client) = &state.answer_llm {
        ask_llm(&state, client, &mut reply).await;
    }
    Ok(cached(&headers, &reply, REVALIDATE))
}

/// Fills in the LLM's part of `reply`. The LLM's own error stays in the server's log: the
/// public reply says what kind of failure it was, not where the LLM is.
async fn ask_llm(state: &AppState, client: &ChatClient, reply: &mut AnswerResponse) {
    if reply.posts.is_empty() {
        reply.llm = LlmOutcome::NoPosts;
        return;
    }
    // Whatever the LLM does, the posts go out before the request's own time limit.
    let budget = state.settings.request_timeout.mul_f64(0.75);
    let asked = answer::ask(
        client,
        &reply.question,
        &reply.posts,
        state.settings.publish_post_text,
    );
    let failure = match tokio::time::timeout(budget, asked).await {
        Ok(Ok(Reply::Answered { answer, citations })) => {
            reply.llm = LlmOutcome::Answered;
            reply.answer = Some(answer);
            reply.citations = citations;
            return;
        }
        Ok(Ok(Reply::Declined)) => {
            reply.llm = LlmOutcome::Declined;
            return;
        }
        Ok(Ok(Reply::Unusable {
            reason,
            rejected_citations,
        })) => {
            tracing::warn!(%reason, ?rejected_citations, "the answer LLM's reply was withheld");
            reply.rejected_citations = rejected_citations;
            reason
        }
        Ok(Err(error)) => {
            // The full error (endpoint, body) for the operator; the reply gets its kind.
            tracing::warn!(%error, "the answer LLM failed");
            llm_failure(&error)
        }
        Err(_) => {
            let failure = format!(
                "the LLM did not answer within {} s",
                budget.as_secs_f64().round()
            );
            tracing::warn!(%failure, "the answer LLM failed");
            failure
        }
    };
    reply.llm = LlmOutcome::Failed;
    reply.llm_error = Some(failure);
}

/// What an LLM failure is, for the public reply.
fn llm_failure(error: &LlmError) -> String {
    match error {
        LlmError::Timeout { .. } => "the LLM request timed out".into(),
        LlmError::Status { status, .. } => format!("the LLM answered HTTP {status}"),
        LlmError::Transport { .. } | LlmError::Client(_) => "the LLM could not be reached".into(),
        LlmError::MalformedReply(_) => "the LLM's reply is not a chat completion".into(),
    }
}
