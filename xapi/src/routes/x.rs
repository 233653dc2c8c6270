//! `GET /2/tweets/search/recent` and `GET /2/tweets`, answered as X answers them.

use std::collections::HashSet;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query as QueryString, State};
use chrono::{DateTime, SecondsFormat};

use super::params::{Errors, Params};
use crate::app::XApi;
use crate::error::{ParamError, XError};
use crate::query::{Query, Subject};
use crate::store::{Store, StoredPost};
use crate::wire::{
    FieldSelection, Includes, LookupResponse, ResourceError, SearchMeta, SearchResponse,
};

const SECOND_MS: i64 = 1000;
const DAY_MS: i64 = 86_400_000;
/// How far back recent search reaches.
const SEARCH_HORIZON_MS: i64 = 7 * DAY_MS;
/// X refuses an `end_time` (and a `start_time`) less than this before the request.
const MIN_AGE_MS: i64 = 10 * SECOND_MS;

const SEARCH_PARAMS: &[&str] = &[
    "query",
    "start_time",
    "end_time",
    "since_id",
    "until_id",
    "max_results",
    "next_token",
    "pagination_token",
    "sort_order",
];
const LOOKUP_PARAMS: &[&str] = &["ids"];

/// Recent search: posts of the last seven days matching `query`, newest first.
pub(super) async fn search(
    State(app): State<XApi>,
    raw: Result<QueryString<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<SearchResponse>, XError> {
    let params = Params::parse(raw, SEARCH_PARAMS)?;
    let now_ms = app.now_ms();
    let mut errors = Errors::default();
    let query = errors.take(parse_query(&params, app.config().max_query_len));
    let max_results = errors.take(parse_max_results(&params));
    let window = errors.take_all(parse_window(&params, now_ms));
    let since_id = errors.take(optional_id(&params, "since_id"));
    let until_id = errors.take(optional_id(&params, "until_id"));
    let cursor = errors.take(parse_cursor(&params));
    let sort = errors.take(check_sort_order(&params));
    let fields = errors.take_all(params.fields());
    let (
        Some(query),
        Some(max_results),
        Some((start_ms, end_ms)),
        Some(since_id),
        Some(until_id),
        Some(cursor),
        Some(()),
        Some(fields),
    ) = (
        query,
        max_results,
        window,
        since_id,
        until_id,
        cursor,
        sort,
        fields,
    )
    else {
        return Err(XError::InvalidRequest(errors.0));
    };

    let store = app.store();
    let mut found: Vec<&StoredPost> = store
        .posts()
        .iter()
        .filter(|post| {
            !post.deleted
                && (start_ms..end_ms).contains(&post.created_ms)
                && since_id.is_none_or(|since| post.id > since)
                && until_id.is_none_or(|until| post.id < until)
                && cursor.is_none_or(|below| post.id < below)
        })
        .filter(|post| {
            let author = store.user(post.author);
            query.matches(&Subject {
                text: &post.text,
                lang: &post.lang,
                username: &author.username,
                user_id: author.id,
                is_retweet: post.retweet_of.is_some(),
            })
        })
        .collect();
    // Minted ids grow with creation time, so id order is newest-first order.
    found.sort_unstable_by_key(|post| std::cmp::Reverse(post.id));
    let more = found.len() > max_results;
    found.truncate(max_results);

    let meta = SearchMeta {
        newest_id: found.first().map(|p| p.id.to_string()),
        oldest_id: found.last().map(|p| p.id.to_string()),
        result_count: found.len(),
        next_token: found
            .last()
            .filter(|_| more)
            .map(|oldest| format!("{NEXT_TOKEN_PREFIX}{:x}", oldest.id)),
    };
    tracing::debug!(result_count = meta.result_count, "search answered");
    Ok(Json(SearchResponse {
        data: found.iter().map(|p| store.wire_tweet(p, &fields)).collect(),
        includes: includes(&store, &found, &fields),
        meta,
    }))
}

/// Post lookup: up to 100 ids; found posts in `data`, the rest in `errors`.
pub(super) async fn lookup(
    State(app): State<XApi>,
    raw: Result<QueryString<Vec<(String, String)>>, QueryRejection>,
) -> Result<Json<LookupResponse>, XError> {
    let params = Params::parse(raw, LOOKUP_PARAMS)?;
    let mut errors = Errors::default();
    let ids = errors.take_all(parse_ids(&params));
    let fields = errors.take_all(params.fields());
    let (Some(ids), Some(fields)) = (ids, fields) else {
        return Err(XError::InvalidRequest(errors.0));
    };

    let store = app.store();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for (raw, id) in ids {
        match store.by_id(id).filter(|post| !post.deleted) {
            Some(post) => found.push(post),
            None => missing.push(ResourceError::tweet_not_found(&raw)),
        }
    }
    Ok(Json(LookupResponse {
        data: found.iter().map(|p| store.wire_tweet(p, &fields)).collect(),
        includes: includes(&store, &found, &fields),
        errors: missing,
    }))
}

/// Authors of `posts`, once each in order of first appearance, when `author_id` is expanded.
fn includes(store: &Store, posts: &[&StoredPost], fields: &FieldSelection) -> Includes {
    if !fields.expand_author {
        return Includes::default();
    }
    let mut seen = HashSet::new();
    Includes {
        users: posts
            .iter()
            .filter(|post| seen.insert(post.author))
            .map(|post| store.wire_user(post.author, fields))
            .collect(),
    }
}

fn parse_query(params: &Params, max_len: usize) -> Result<Query, ParamError> {
    let raw = params.get("query").unwrap_or("");
    if raw.is_empty() {
        return Err(ParamError::new(
            "query",
            raw,
            "The `query` query parameter can not be empty",
        ));
    }
    let len = raw.chars().count();
    if len > max_len {
        return Err(ParamError::new(
            "query",
            raw,
            format!(
                "There were errors processing your rule: the query is {len} characters long; at most {max_len} are allowed"
            ),
        ));
    }
    Query::parse(raw).map_err(|err| ParamError::new("query", raw, err.to_string()))
}

fn parse_max_results(params: &Params) -> Result<usize, ParamError> {
    let Some(raw) = params.get("max_results") else {
        return Ok(10);
    };
    match raw.parse::<usize>() {
        Ok(n) if (10..=100).contains(&n) => Ok(n),
        _ => Err(ParamError::new(
            "max_results",
            raw,
            format!("The `max_results` query parameter value [{raw}] is not between 10 and 100"),
        )),
    }
}

/// `[start_ms, end_ms)`: X's start_time is inclusive and end_time exclusive; without an
/// end_time the window reaches the present moment.
fn parse_window(params: &Params, now_ms: i64) -> Result<(i64, i64), Vec<ParamError>> {
    let horizon_ms = now_ms - SEARCH_HORIZON_MS;
    let latest_ms = now_ms - MIN_AGE_MS;
    let mut errors = Vec::new();
    let mut time = |name: &str| -> Option<(i64, &str)> {
        let raw = params.get(name)?;
        match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => Some((t.timestamp_millis(), raw)),
            Err(_) => {
                errors.push(ParamError::new(
                    name,
                    raw,
                    format!("Invalid '{name}':'{raw}'. '{name}' must be an RFC 3339 date-time such as 2025-01-01T00:00:00Z"),
                ));
                None
            }
        }
    };
    let start = time("start_time");
    let end = time("end_time");
    let wrong = |name: &str, raw: &str, rule: String| {
        ParamError::new(
            name,
            raw,
            format!("Invalid '{name}':'{raw}'. '{name}' {rule}"),
        )
    };
    if let Some((start_ms, raw)) = start {
        if start_ms < horizon_ms {
            errors.push(wrong(
                "start_time",
                raw,
                format!("must be on or after {}", minute(horizon_ms)),
            ));
        } else if start_ms > latest_ms {
            errors.push(wrong(
                "start_time",
                raw,
                "must be a minimum of 10 seconds prior to the request time.".into(),
            ));
        }
    }
    if let Some((end_ms, raw)) = end {
        if end_ms > latest_ms {
            errors.push(wrong(
                "end_time",
                raw,
                "must be a minimum of 10 seconds prior to the request time.".into(),
            ));
        } else if start.is_some_and(|(start_ms, _)| start_ms >= end_ms) {
            errors.push(wrong("end_time", raw, "must be after 'start_time'.".into()));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((
        start.map_or(horizon_ms, |(ms, _)| ms),
        end.map_or(now_ms + 1, |(ms, _)| ms),
    ))
}

/// A Unix-ms time as X writes it in these messages, to the minute.
fn minute(ms: i64) -> String {
    crate::clock::datetime(ms)
        .to_rfc3339_opts(SecondsFormat::Secs, true)
        .get(..16)
        .map_or_else(String::new, |m| format!("{m}Z"))
}

fn optional_id(params: &Params, name: &str) -> Result<Option<u64>, ParamError> {
    params.get(name).map(|raw| post_id(name, raw)).transpose()
}

/// An id as X accepts it in query parameters: 1 to 19 digits.
fn post_id(name: &str, raw: &str) -> Result<u64, ParamError> {
    let valid = (1..=19).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_digit());
    raw.parse::<u64>().ok().filter(|_| valid).ok_or_else(|| {
        ParamError::new(
            name,
            raw,
            format!("The `{name}` query parameter value [{raw}] does not match ^[0-9]{{1,19}}$"),
        )
    })
}

/// Pages continue below the oldest id of the previous page; the token wraps that id.
const NEXT_TOKEN_PREFIX: &str = "pxn1";

fn parse_cursor(params: &Params) -> Result<Option<u64>, ParamError> {
    let (name, raw) = match (params.get("next_token"), params.get("pagination_token")) {
        (Some(raw), _) => ("next_token", raw),
        (None, Some(raw)) => ("pagination_token", raw),
        (None, None) => return Ok(None),
    };
    raw.strip_prefix(NEXT_TOKEN_PREFIX)
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .map(Some)
        .ok_or_else(|| {
            ParamError::new(
                name,
                raw,
                format!("The `{name}` query parameter value [{raw}] is not a valid token"),
            )
        })
}

/// `recency` and `relevancy` are both accepted; the double always answers newest first.
fn check_sort_order(params: &Params) -> Result<(), ParamError> {
    match params.get("sort_order") {
        None | Some("recency" | "relevancy") => Ok(()),
        Some(raw) => Err(ParamError::new(
            "sort_order",
            raw,
            format!(
                "The `sort_order` query parameter value [{raw}] is not one of [recency,relevancy]"
            ),
        )),
    }
}

/// The `ids` of a lookup, without repeats, each with its spelling for error entries.
fn parse_ids(params: &Params) -> Result<Vec<(String, u64)>, Vec<ParamError>> {
    let raw = params.get("ids").unwrap_or("");
    if raw.is_empty() {
        return Err(vec![ParamError::new(
            "ids",
            raw,
            "The `ids` query parameter can not be empty",
        )]);
    }
    let values: Vec<&str> = raw.split(',').collect();
    if values.len() > 100 {
        return Err(vec![ParamError::new(
            "ids",
            raw,
            format!(
                "The number of values in the `ids` query parameter list [{}] is not between 1 and 100",
                values.len()
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut ids = Vec::new();
    for value in values {
        match post_id("ids", value) {
            Ok(id) if !ids.iter().any(|(_, seen)| *seen == id) => ids.push((value.to_owned(), id)),
            Ok(_) => {}
            Err(err) => errors.push(err),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(errors)
    }
}
