//! Scraping: X API v2 recent search ([`XClient`]).
//!
//! One request is docs/protocol.md#x-search's: `GET {base}/tweets/search/recent` with the bearer token,
//! `query` ([`query::build_query`]), `start_time` = now - 72 h, `max_results` (10..=100),
//! `expansions=author_id`, `tweet.fields=created_at,public_metrics,text,lang,author_id,
//! referenced_tweets` and `user.fields=username,name,created_at,public_metrics`. `lang` and
//! `referenced_tweets` let the miner check the query's `lang:en` and `-is:retweet` itself.
//!
//! # Rate limits and retries
//! Requests follow the `retry` crate's policy. X answers a spent limit with 429 and
//! `x-rate-limit-reset` (the Unix second its window ends). The client waits until then and
//! asks again, up to three times per search, unless the reset comes after the caller's
//! deadline (the end of the miner's window: a later window scrapes afresh) or the shutdown
//! signal comes first; without the header it gives up at once. A success with
//! `x-rate-limit-remaining: 0` makes the next search wait for the reset the same way, so the
//! client does not spend a request to learn what it was told.
//!
//! Network errors and 5xx are retried with the client's waits (the reference's 3 s and 6 s
//! unless [`XClient::with_backoff`] says otherwise); 401 and 403 (a bad or unenrolled
//! token) and other 4xx are reported at once.
//!
//! # Layout
//! - [`query`]: the query string from keywords, hashtags and mentions.
//! - [`wire`]: reply bodies and their mapping to [`ScrapedPost`]s.

pub mod query;
pub mod wire;

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use retry::{Failure, Policy};
use service::shutdown::sleep;
use service::{CancellationToken, Secret, unix_now};
use thiserror::Error;
use tokio::time::Instant;

use crate::post::ScrapedPost;
use wire::{Incomplete, SearchResponse};

/// How far back the miner searches (docs/protocol.md#x-search).
pub const SEARCH_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// `tweet.fields` asked for.
pub const TWEET_FIELDS: &str = "created_at,public_metrics,text,lang,author_id,referenced_tweets";
/// `user.fields` asked for.
pub const USER_FIELDS: &str = "username,name,created_at,public_metrics";
/// Rate-limit waits in one [`XClient::search`] call at most; a limit that is still spent
/// after that many resets is a problem for the operator, not for waiting.
const MAX_RATE_LIMIT_WAITS: u32 = 3;

/// Why a search failed.
#[derive(Debug, Error)]
pub enum XError {
    /// 401 or 403: the bearer token is wrong, revoked, or its project may not search.
    #[error("X refused the bearer token ({status}): {detail} (check X_BEARER_TOKEN)")]
    Unauthorized {
        /// 401 or 403.
        status: u16,
        /// X's explanation.
        detail: String,
    },
    /// The rate limit is spent and resets after the deadline (or X did not say when).
    #[error("X's rate limit is spent until {}", describe_reset(*.reset))]
    RateLimited {
        /// When it resets, Unix seconds, if X said.
        reset: Option<i64>,
    },
    /// No reply (connection refused, timeout...), after the retries.
    #[error("X request failed: {0}")]
    Transport(String),
    /// Another non-success status (after the retries, for 5xx).
    #[error("X answered {status}: {detail}")]
    Status {
        /// The status.
        status: u16,
        /// X's explanation.
        detail: String,
    },
    /// A success whose body is not a search reply.
    #[error("X's reply is unreadable: {0}")]
    Unreadable(String),
    /// The shutdown signal came first.
    #[error("interrupted by shutdown")]
    Interrupted,
}

fn describe_reset(reset: Option<i64>) -> String {
    reset
        .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
        .map_or_else(
            || "an unknown time (no x-rate-limit-reset header)".to_owned(),
            |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
        )
}

impl XError {
    /// Whether trying again soon may help: no reply, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            XError::Transport(_) => true,
            XError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }

    /// What this error means to the retry policy.
    pub fn failure(&self) -> Failure {
        match self {
            XError::RateLimited { reset } => Failure::RateLimited {
                reset_in: reset.map(|reset| retry::until_unix(reset, SystemTime::now())),
            },
            error if error.is_transient() => Failure::Transient { retry_after: None },
            _ => Failure::Permanent,
        }
    }
}

/// One page of search results.
#[derive(Debug, Clone)]
pub struct SearchPage {
    /// The posts in X's order (newest first); those that cannot be submitted say why.
    pub posts: Vec<Result<ScrapedPost, Incomplete>>,
    /// Token of the next (older) page.
    pub next_token: Option<String>,
}

/// A client of X API v2 recent search with one query.
#[derive(Debug)]
pub struct XClient {
    http: reqwest::Client,
    search_url: String,
    bearer: Secret,
    query: String,
    max_results: u8,
    policy: Policy,
    /// When X last said the limit is spent until (Unix seconds).
    paced_until: Mutex<Option<i64>>,
}

/// The retry policy of searches with transient-failure waits `backoff`.
fn search_policy(backoff: &Policy) -> Policy {
    Policy::new(backoff.waits().to_vec())
        .with_rate_limit_waits(MAX_RATE_LIMIT_WAITS)
        // The caller's deadline bounds the wait for a reset.
        .with_longest_wait(Duration::MAX)
}

fn header_i64(headers: &HeaderMap, name: &str) -> Option<i64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

impl XClient {
    /// A client of the API at `base` (e.g. `https://api.twitter.com/2`) searching for
    /// `query`, `max_results` posts per page, each request limited to `timeout`.
    pub fn new(
        base: &str,
        bearer: Secret,
        query: String,
        max_results: u8,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("pulse-miner/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            search_url: format!("{}/tweets/search/recent", base.trim_end_matches('/')),
            bearer,
            query,
            max_results: max_results.clamp(10, 100),
            policy: search_policy(&Policy::reference()),
            paced_until: Mutex::new(None),
        })
    }

    /// Uses `backoff`'s waits between attempts after network errors and 5xx (rate limits
    /// are waited out as the module docs say).
    pub fn with_backoff(mut self, backoff: Policy) -> Self {
        self.policy = search_policy(&backoff);
        self
    }

    /// The query sent.
    pub fn query(&self) -> &str {
        &self.query
    }

    /// Searches posts of the last 72 hours, the page after `next_token` if given.
    ///
    /// Waits for X's rate limit to reset when it resets by `deadline` (Unix seconds), and
    /// stops waiting when `shutdown` comes (see the module docs).
    pub async fn search(
        &self,
        next_token: Option<&str>,
        deadline: i64,
        shutdown: &CancellationToken,
    ) -> Result<SearchPage, XError> {
        self.wait_for_reset(deadline, shutdown).await?;
        let left = u64::try_from(deadline - unix_now()).unwrap_or(0);
        let policy = self
            .policy
            .until(Instant::now() + Duration::from_secs(left));
        let reply = policy
            .run("X search", shutdown, XError::failure, || {
                self.attempt(next_token)
            })
            .await;
        let (now, reply) = reply.map_err(|gave_up| {
            if gave_up.cancelled {
                XError::Interrupted
            } else {
                gave_up.error
            }
        })?;
        if !reply.errors.is_empty() {
            tracing::debug!(errors = reply.errors.len(), "X reported partial errors");
        }
        Ok(SearchPage {
            posts: reply.posts(now),
            next_token: reply.meta.next_token.clone(),
        })
    }

    fn set_paced_until(&self, reset: i64) {
        *self.paced_until.lock().unwrap_or_else(|e| e.into_inner()) = Some(reset);
    }

    /// Waits until a known rate-limit reset, if it comes by `deadline`.
    async fn wait_for_reset(
        &self,
        deadline: i64,
        shutdown: &CancellationToken,
    ) -> Result<(), XError> {
        let Some(reset) = *self.paced_until.lock().unwrap_or_else(|e| e.into_inner()) else {
            return Ok(());
        };
        let now = unix_now();
        if reset <= now {
            return Ok(());
        }
        if reset > deadline {
            return Err(XError::RateLimited { reset: Some(reset) });
        }
        let wait = Duration::from_secs((reset - now) as u64);
        tracing::info!(
            reset = %describe_reset(Some(reset)),
            wait_secs = wait.as_secs(),
            "X rate limit spent; waiting for its reset"
        );
        if sleep(shutdown, wait).await {
            Ok(())
        } else {
            Err(XError::Interrupted)
        }
    }

    /// One request: the reply and the Unix second it was asked at, or why not.
    async fn attempt(
        &self,
        next_token: Option<&str>,
    ) -> Result<(i64, Box<SearchResponse>), XError> {
        let now = unix_now();
        let start = DateTime::<Utc>::from_timestamp(now - SEARCH_WINDOW.as_secs() as i64, 0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Secs, true);
        let max_results = self.max_results.to_string();
        let mut params: Vec<(&str, &str)> = vec![
            ("query", &self.query),
            ("start_time", &start),
            ("max_results", &max_results),
            ("expansions", "author_id"),
            ("tweet.fields", TWEET_FIELDS),
            ("user.fields", USER_FIELDS),
        ];
        if let Some(token) = next_token {
            params.push(("next_token", token));
        }
        let transport =
            |error: reqwest::Error| XError::Transport(format!("{}: {error}", self.search_url));
        let response = self
            .http
            .get(&self.search_url)
            .bearer_auth(self.bearer.expose())
            .query(&params)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let reset = retry::rate_limit_reset(&headers);
        let body = response.text().await.map_err(transport)?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Later searches wait for the reset too; a reset a skewed clock places in the
            // past still gets a second's pause.
            if let Some(reset) = reset {
                self.set_paced_until(reset.max(unix_now() + 1));
            }
            return Err(XError::RateLimited { reset });
        }
        if status.is_success() {
            if header_i64(&headers, "x-rate-limit-remaining") == Some(0)
                && let Some(reset) = reset
            {
                self.set_paced_until(reset);
            }
            return match serde_json::from_str::<SearchResponse>(&body) {
                Ok(reply) => Ok((now, Box::new(reply))),
                Err(error) => Err(XError::Unreadable(format!(
                    "{error}: {}",
                    body.chars().take(300).collect::<String>()
                ))),
            };
        }
        let detail = wire::describe_error(&body);
        Err(match status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => XError::Unauthorized {
                status: status.as_u16(),
                detail,
            },
            _ => XError::Status {
                status: status.as_u16(),
                detail,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_errors_and_5xx_are_transient() {
        assert!(XError::Transport("x".into()).is_transient());
        let status = |status| XError::Status {
            status,
            detail: String::new(),
        };
        assert!(status(503).is_transient());
        assert!(!status(400).is_transient());
        assert!(
            !XError::Unauthorized {
                status: 401,
                detail: String::new()
            }
            .is_transient()
        );
        assert!(!XError::RateLimited { reset: None }.is_transient());
    }

    #[test]
    fn a_rate_limit_error_names_its_reset_time() {
        let error = XError::RateLimited {
            reset: Some(1_764_115_200),
        };
        assert_eq!(
            error.to_string(),
            "X's rate limit is spent until 2025-11-26T00:00:00Z"
        );
    }
}
