//! [`XClient`]: X API v2 post lookup (`GET /2/tweets?ids=...`), as validators re-fetch posts.
//!
//! One request looks up at most [`MAX_IDS_PER_REQUEST`] ids; [`XClient::lookup`] splits longer
//! lists. Each id comes back as one of:
//! - [`Found::Live`]: the post with its text, author, creation time and counts;
//! - [`Found::Missing`]: listed in X's `errors` (deleted, never existed, or withheld from
//!   public view);
//! - [`Found::Incomplete`]: X answered without the fields a check needs, which says nothing
//!   about the post.
//!
//! A request that fails as a whole ([`LookupError`]) fails every id it carried. Network
//! errors and 5xx are retried by the configured `retry` policy; a 429 is not, and after one
//! the client asks X nothing more until `x-rate-limit-reset` (the remaining ids fail with
//! the same rate-limit error), since every further request would only be refused.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use reqwest::StatusCode;
use retry::{Failure, Policy};
use serde::Deserialize;
use serde_json::Value;
use service::{CancellationToken, Secret, unix_now};

use crate::metrics::Metrics;

/// X's limit of ids per lookup request.
pub const MAX_IDS_PER_REQUEST: usize = 100;
/// The post fields every check needs.
pub const TWEET_FIELDS: &str = "created_at,public_metrics,text,author_id,lang,referenced_tweets";
/// The author comes as an expansion.
pub const EXPANSIONS: &str = "author_id";
/// The author fields every check needs.
pub const USER_FIELDS: &str = "username,created_at,public_metrics";

/// A post as X shows it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePost {
    /// The id.
    pub id: u64,
    /// The text, exactly as X returns it (HTML escaping included, as miners submit it).
    pub text: String,
    /// The author's username.
    pub author: String,
    /// Creation time, Unix seconds (X reports whole seconds).
    pub created_at: i64,
    /// Likes; `None` when X did not report the count (never read as 0).
    pub likes: Option<u64>,
    /// Retweets (`retweet_count`, or `repost_count` in X's newer wording); `None` when
    /// absent.
    pub retweets: Option<u64>,
    /// Replies; `None` when absent.
    pub replies: Option<u64>,
    /// The author's followers; `None` when absent.
    pub followers: Option<u64>,
    /// X's language tag (`en`, `und`, ...); `None` when absent.
    pub lang: Option<String>,
    /// Whether X says the post is a retweet (`referenced_tweets` of type `retweeted`).
    pub retweet_of: Option<String>,
    /// When the author's account was created, Unix seconds; `None` when absent.
    pub author_created_at: Option<i64>,
}

/// What X said about one id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// The post exists and is readable.
    Live(LivePost),
    /// X lists the id in `errors`.
    Missing {
        /// Whether X says the post does not exist (deleted or never was), rather than that
        /// it may not be shown (protected or suspended author).
        not_found: bool,
        /// X's title and detail.
        detail: String,
    },
    /// X's answer lacked what a check needs (say, the author's expansion).
    Incomplete(String),
}

/// Why a lookup request failed as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// No reply: connection refused, reset, timed out.
    #[error("X lookup failed: {0}")]
    Transport(String),
    /// 429: the app's lookup allowance is spent until `reset_unix`.
    #[error("X lookup is rate limited{}", .reset_unix.map(|r| format!(" until {r} (unix)")).unwrap_or_default())]
    RateLimited {
        /// `x-rate-limit-reset`, Unix seconds.
        reset_unix: Option<i64>,
    },
    /// Any other non-2xx reply.
    #[error("X lookup answered {status}: {detail}")]
    Status {
        /// The status code.
        status: u16,
        /// X's `detail` or `title`, or the start of the body.
        detail: String,
    },
    /// A 2xx reply that is not a lookup reply.
    #[error("X lookup reply is unreadable: {0}")]
    Unreadable(String),
}

impl LookupError {
    /// Whether trying again soon may help: no reply, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            LookupError::Transport(_) => true,
            LookupError::Status { status, .. } => *status >= 500,
            LookupError::RateLimited { .. } | LookupError::Unreadable(_) => false,
        }
    }

    /// A stable name of the kind of failure, for metrics and logs: `transport`,
    /// `rate_limited`, `status` or `unreadable`.
    pub fn code(&self) -> &'static str {
        match self {
            LookupError::Transport(_) => "transport",
            LookupError::RateLimited { .. } => "rate_limited",
            LookupError::Status { .. } => "status",
            LookupError::Unreadable(_) => "unreadable",
        }
    }

    /// What this error means to the retry policy. A spent rate limit is not waited for
    /// here: the client stops asking until the reset, and the validator leases no more
    /// tasks until then.
    pub fn failure(&self) -> Failure {
        if self.is_transient() {
            Failure::Transient { retry_after: None }
        } else {
            Failure::Permanent
        }
    }

    /// The HTTP status, when X answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            LookupError::RateLimited { .. } => Some(429),
            LookupError::Status { status, .. } => Some(*status),
            LookupError::Transport(_) | LookupError::Unreadable(_) => None,
        }
    }
}

/// The answer for every id asked: what X said, or why it could not be asked.
pub type LookupResults = BTreeMap<u64, Result<Found, LookupError>>;

/// An X API v2 client for post lookup.
#[derive(Debug, Clone)]
pub struct XClient {
    http: reqwest::Client,
    url: String,
    token: Secret,
    policy: Policy,
    blocked_until: Option<i64>,
    metrics: Arc<Metrics>,
}

impl XClient {
    /// A client of the API at `base` (e.g. `https://api.twitter.com/2`) with an app bearer
    /// `token`, each request limited to `timeout`, retrying network errors and 5xx as
    /// `policy` says.
    pub fn new(
        base: &str,
        token: Secret,
        timeout: Duration,
        policy: Policy,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("pulse-validator/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            url: format!("{}/tweets", base.trim_end_matches('/')),
            token,
            policy,
            blocked_until: None,
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// Counts requests and their failures in `metrics` (the validator's, rather than a
    /// private set nobody reads).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// When X's rate limit ends (Unix seconds), if a 429 said so and it has not ended by
    /// `now`.
    pub fn blocked_until(&self, now: i64) -> Option<i64> {
        self.blocked_until.filter(|until| *until > now)
    }

    /// Looks up `ids` (any number, duplicates ignored), [`MAX_IDS_PER_REQUEST`] per request.
    pub async fn lookup(&mut self, ids: &[u64]) -> LookupResults {
        let mut unique: Vec<u64> = ids.to_vec();
        unique.sort_unstable();
        unique.dedup();
        let mut results = LookupResults::new();
        for chunk in unique.chunks(MAX_IDS_PER_REQUEST) {
            let now = unix_now();
            let answer = match self.blocked_until(now) {
                Some(until) => Err(LookupError::RateLimited {
                    reset_unix: Some(until),
                }),
                None => self.lookup_chunk_retrying(chunk).await,
            };
            match answer {
                Ok(mut found) => {
                    for id in chunk {
                        let entry = found.remove(id).unwrap_or_else(|| {
                            Found::Incomplete(
                                "X answered neither the post nor an error for it".into(),
                            )
                        });
                        results.insert(*id, Ok(entry));
                    }
                }
                Err(error) => {
                    if let LookupError::RateLimited { reset_unix } = &error {
                        // Without a reset time, wait one X rate-limit window (15 min).
                        self.blocked_until = Some(reset_unix.unwrap_or(now + 15 * 60));
                    }
                    for id in chunk {
                        results.insert(*id, Err(error.clone()));
                    }
                }
            }
        }
        results
    }

    async fn lookup_chunk_retrying(&self, ids: &[u64]) -> Result<HashMap<u64, Found>, LookupError> {
        // The caller races the whole lookup against shutdown: nothing to cancel here.
        let never = CancellationToken::new();
        self.policy
            .run("X lookup", &never, LookupError::failure, || {
                self.lookup_chunk(ids)
            })
            .await
            .map_err(|gave_up| gave_up.error)
    }

    /// One request for at most [`MAX_IDS_PER_REQUEST`] ids.
    pub async fn lookup_chunk(&self, ids: &[u64]) -> Result<HashMap<u64, Found>, LookupError> {
        self.metrics.x_lookups.inc();
        let result = self.lookup_chunk_uncounted(ids).await;
        if let Err(error) = &result {
            self.metrics.x_lookup_error(error.code());
        }
        result
    }

    async fn lookup_chunk_uncounted(
        &self,
        ids: &[u64],
    ) -> Result<HashMap<u64, Found>, LookupError> {
        debug_assert!(ids.len() <= MAX_IDS_PER_REQUEST);
        let joined = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        let response = self
            .http
            .get(&self.url)
            .bearer_auth(self.token.expose())
            .query(&[
                ("ids", joined.as_str()),
                ("tweet.fields", TWEET_FIELDS),
                ("expansions", EXPANSIONS),
                ("user.fields", USER_FIELDS),
            ])
            .send()
            .await
            .map_err(|e| LookupError::Transport(e.to_string()))?;
        let status = response.status();
        let reset_unix = retry::rate_limit_reset(response.headers());
        let body = response
            .text()
            .await
            .map_err(|e| LookupError::Transport(e.to_string()))?;
        if status == StatusCode::TOO_MANY_REQUESTS {
            return Err(LookupError::RateLimited { reset_unix });
        }
        if !status.is_success() {
            return Err(LookupError::Status {
                status: status.as_u16(),
                detail: describe_error(&body),
            });
        }
        parse_lookup(&body, ids)
    }
}

/// X's error bodies: `{"title", "detail", ...}` (v2) or `{"errors": [{"message"}]}` (v1).
fn describe_error(body: &str) -> String {
    let excerpt = || body.chars().take(200).collect::<String>();
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return excerpt();
    };
    for key in ["detail", "title"] {
        if let Some(text) = value.get(key).and_then(Value::as_str) {
            return text.to_owned();
        }
    }
    value
        .pointer("/errors/0/message")
        .and_then(Value::as_str)
        .map_or_else(excerpt, str::to_owned)
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    data: Vec<Tweet>,
    #[serde(default)]
    includes: Includes,
    #[serde(default)]
    errors: Vec<Problem>,
}

#[derive(Deserialize)]
struct Tweet {
    id: String,
    text: String,
    author_id: Option<String>,
    created_at: Option<String>,
    public_metrics: Option<TweetMetrics>,
    lang: Option<String>,
    #[serde(default)]
    referenced_tweets: Vec<ReferencedTweet>,
}

#[derive(Deserialize)]
struct ReferencedTweet {
    #[serde(rename = "type")]
    kind: String,
    id: String,
}

/// A post's counts. X's newer OpenAPI says `repost_count` where v2 has said
/// `retweet_count`; both are read (the older name first, should X send both). An absent
/// count stays absent.
#[derive(Deserialize)]
struct TweetMetrics {
    retweet_count: Option<u64>,
    repost_count: Option<u64>,
    reply_count: Option<u64>,
    like_count: Option<u64>,
}

#[derive(Deserialize, Default)]
struct Includes {
    #[serde(default)]
    users: Vec<User>,
}

#[derive(Deserialize)]
struct User {
    id: String,
    username: String,
    created_at: Option<String>,
    public_metrics: Option<UserMetrics>,
}

/// A user's counts (`tweet_count`, or `post_count` in X's newer wording, is not read).
#[derive(Deserialize)]
struct UserMetrics {
    followers_count: Option<u64>,
}

#[derive(Deserialize)]
struct Problem {
    value: Option<String>,
    resource_id: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

impl Problem {
    fn id(&self) -> Option<u64> {
        self.resource_id
            .as_deref()
            .or(self.value.as_deref())
            .and_then(|id| id.parse().ok())
    }

    fn is_not_found(&self) -> bool {
        self.kind
            .as_deref()
            .is_some_and(|k| k.ends_with("/resource-not-found"))
            || self.title.as_deref() == Some("Not Found Error")
    }
}

/// Reads a 200 lookup reply for `asked` ids.
fn parse_lookup(body: &str, asked: &[u64]) -> Result<HashMap<u64, Found>, LookupError> {
    let reply: Reply =
        serde_json::from_str(body).map_err(|e| LookupError::Unreadable(e.to_string()))?;
    let users: HashMap<&str, &User> = reply
        .includes
        .users
        .iter()
        .map(|u| (u.id.as_str(), u))
        .collect();
    let mut found = HashMap::new();
    for problem in &reply.errors {
        let Some(id) = problem.id().filter(|id| asked.contains(id)) else {
            continue;
        };
        let detail = [problem.title.as_deref(), problem.detail.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(": ");
        found.insert(
            id,
            Found::Missing {
                not_found: problem.is_not_found(),
                detail,
            },
        );
    }
    for tweet in &reply.data {
        let Ok(id) = tweet.id.parse::<u64>() else {
            continue;
        };
        found.insert(id, live_post(id, tweet, &users));
    }
    Ok(found)
}

fn live_post(id: u64, tweet: &Tweet, users: &HashMap<&str, &User>) -> Found {
    let Some(created_at) = tweet
        .created_at
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    else {
        return Found::Incomplete("the post has no readable created_at".into());
    };
    let Some(metrics) = &tweet.public_metrics else {
        return Found::Incomplete("the post has no public_metrics".into());
    };
    let Some(user) = tweet.author_id.as_deref().and_then(|a| users.get(a)) else {
        return Found::Incomplete("the post's author is not in includes.users".into());
    };
    let Some(user_metrics) = &user.public_metrics else {
        return Found::Incomplete("the author has no public_metrics".into());
    };
    Found::Live(LivePost {
        id,
        text: tweet.text.clone(),
        author: user.username.clone(),
        created_at: created_at.timestamp(),
        likes: metrics.like_count,
        retweets: metrics.retweet_count.or(metrics.repost_count),
        replies: metrics.reply_count,
        followers: user_metrics.followers_count,
        lang: tweet.lang.clone(),
        retweet_of: tweet
            .referenced_tweets
            .iter()
            .find(|r| r.kind == "retweeted")
            .map(|r| r.id.clone()),
        author_created_at: user
            .created_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reply_maps_posts_authors_and_missing_ids() {
        let body = r#"{
            "data": [{"id": "1993000000000000001", "text": "SN45 &amp; friends", "author_id": "7",
                      "created_at": "2025-11-26T00:00:00.000Z",
                      "public_metrics": {"retweet_count": 3, "reply_count": 1, "like_count": 10, "quote_count": 0}}],
            "includes": {"users": [{"id": "7", "username": "Mira_Builds", "public_metrics": {"followers_count": 1200}}]},
            "errors": [
                {"value": "5", "detail": "Could not find tweet with ids: [5].", "title": "Not Found Error",
                 "resource_type": "tweet", "parameter": "ids", "resource_id": "5",
                 "type": "https://api.twitter.com/2/problems/resource-not-found"},
                {"value": "6", "detail": "Sorry, you are not authorized to see the Tweet with ids: [6].",
                 "title": "Authorization Error", "resource_id": "6",
                 "type": "https://api.twitter.com/2/problems/not-authorized-for-resource"},
                {"value": "99", "title": "Not Found Error", "resource_id": "99"}
            ]}"#;
        let found = parse_lookup(body, &[1_993_000_000_000_000_001, 5, 6]).unwrap();
        assert_eq!(found.len(), 3, "an error for an id not asked is ignored");
        let Found::Live(post) = &found[&1_993_000_000_000_000_001] else {
            panic!("{found:?}")
        };
        assert_eq!(post.text, "SN45 &amp; friends");
        assert_eq!(post.author, "Mira_Builds");
        assert_eq!(post.created_at, 1_764_115_200);
        assert_eq!(
            (post.likes, post.retweets, post.replies, post.followers),
            (Some(10), Some(3), Some(1), Some(1200))
        );
        assert!(matches!(
            &found[&5],
            Found::Missing {
                not_found: true,
                ..
            }
        ));
        assert!(
            matches!(&found[&6], Found::Missing { not_found: false, detail } if detail.starts_with("Authorization Error"))
        );
    }

    #[test]
    fn newer_count_names_are_read_and_absent_counts_stay_absent() {
        let body = r#"{
            "data": [{"id": "9", "text": "RT @kim: chutes", "author_id": "7", "lang": "pt",
                      "created_at": "2025-11-26T00:00:00.000Z",
                      "referenced_tweets": [{"type": "retweeted", "id": "8"}],
                      "public_metrics": {"repost_count": 4, "like_count": 0, "quote_count": 0}}],
            "includes": {"users": [{"id": "7", "username": "kim", "created_at": "2020-01-01T00:00:00.000Z",
                                    "public_metrics": {"post_count": 12}}]}}"#;
        let found = parse_lookup(body, &[9]).unwrap();
        let Found::Live(post) = &found[&9] else {
            panic!("{found:?}")
        };
        assert_eq!(post.retweets, Some(4), "repost_count is retweet_count");
        assert_eq!(post.likes, Some(0), "a count of 0 is 0");
        assert_eq!(post.replies, None, "an absent count is absent, not 0");
        assert_eq!(post.followers, None);
        assert_eq!(post.lang.as_deref(), Some("pt"));
        assert_eq!(post.retweet_of.as_deref(), Some("8"));
        assert_eq!(post.author_created_at, Some(1_577_836_800));
    }

    #[test]
    fn a_post_without_its_author_is_incomplete_not_missing() {
        let body = r#"{"data": [{"id": "8", "text": "t", "author_id": "7", "created_at": "2025-11-26T00:00:00Z",
                       "public_metrics": {"like_count": 1}}]}"#;
        let found = parse_lookup(body, &[8]).unwrap();
        assert!(matches!(&found[&8], Found::Incomplete(why) if why.contains("author")));
    }

    #[test]
    fn error_bodies_are_summarised() {
        assert_eq!(
            describe_error(r#"{"title": "Unauthorized", "detail": "Unauthorized", "status": 401}"#),
            "Unauthorized"
        );
        assert_eq!(
            describe_error(r#"{"errors": [{"message": "Bad Authentication data", "code": 215}]}"#),
            "Bad Authentication data"
        );
        assert_eq!(describe_error("<html>"), "<html>");
    }

    #[test]
    fn only_network_errors_and_5xx_are_retried() {
        assert!(LookupError::Transport("reset".into()).is_transient());
        assert!(
            LookupError::Status {
                status: 503,
                detail: String::new()
            }
            .is_transient()
        );
        assert!(
            !LookupError::Status {
                status: 401,
                detail: String::new()
            }
            .is_transient()
        );
        assert!(!LookupError::RateLimited { reset_unix: None }.is_transient());
    }

    #[test]
    fn each_error_names_its_kind_for_metrics_and_logs() {
        let status = LookupError::Status {
            status: 503,
            detail: String::new(),
        };
        assert_eq!(LookupError::Transport("reset".into()).code(), "transport");
        assert_eq!(
            LookupError::RateLimited { reset_unix: None }.code(),
            "rate_limited"
        );
        assert_eq!(status.code(), "status");
        assert_eq!(LookupError::Unreadable("{".into()).code(), "unreadable");
    }
}
