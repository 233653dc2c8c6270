//! The parts of X API v2 replies the miner reads, and their mapping to [`ScrapedPost`]s.
//!
//! Optional fields are `Option`s or defaulted: X leaves out what was not asked for and what a
//! post does not have, and a partial reply (`errors` beside `data`) is still a reply.

use std::collections::HashMap;

use chrono::DateTime;
use serde::Deserialize;
use serde_json::Value;

use crate::post::{ScrapedPost, whole_days};

/// `GET /2/tweets/search/recent`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SearchResponse {
    /// The posts, newest first; absent when nothing matched.
    #[serde(default)]
    pub data: Vec<Tweet>,
    /// Expanded objects (`expansions=author_id` puts the authors here).
    #[serde(default)]
    pub includes: Includes,
    /// Counts and the next page's token.
    #[serde(default)]
    pub meta: Meta,
    /// Partial errors (a suspended author, say); the posts in `data` are still good.
    #[serde(default)]
    pub errors: Vec<Value>,
}

/// A post.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Tweet {
    /// Snowflake id as a decimal string.
    pub id: String,
    /// The text, HTML-escaped as X sends it.
    pub text: String,
    /// The author's user id.
    pub author_id: Option<String>,
    /// RFC 3339 creation time.
    pub created_at: Option<String>,
    /// Detected language.
    pub lang: Option<String>,
    /// Counts.
    pub public_metrics: Option<TweetMetrics>,
    /// Retweeted, quoted or replied-to posts.
    pub referenced_tweets: Option<Vec<ReferencedTweet>>,
}

/// A post's counts. X's newer OpenAPI renames `retweet_count` to `repost_count`; both are
/// read (the older first, should X send both). A count X leaves out is `None`, never 0.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct TweetMetrics {
    /// Retweets.
    pub retweet_count: Option<u64>,
    /// Retweets, in X's newer wording.
    pub repost_count: Option<u64>,
    /// Replies.
    pub reply_count: Option<u64>,
    /// Likes.
    pub like_count: Option<u64>,
    /// Quote posts.
    pub quote_count: Option<u64>,
}

/// A post this one refers to.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReferencedTweet {
    /// `retweeted`, `quoted` or `replied_to`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its id.
    pub id: String,
}

/// `includes`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Includes {
    /// Authors of the posts in `data`.
    #[serde(default)]
    pub users: Vec<User>,
}

/// A user.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct User {
    /// User id.
    pub id: String,
    /// Username, without `@`.
    pub username: String,
    /// RFC 3339 account creation time.
    pub created_at: Option<String>,
    /// Counts.
    pub public_metrics: Option<UserMetrics>,
}

/// A user's counts (`tweet_count`, `post_count` in X's newer wording, is not needed).
#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct UserMetrics {
    /// Followers; `None` when X leaves it out.
    pub followers_count: Option<u64>,
}

/// `meta`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    /// Posts in `data`.
    #[serde(default)]
    pub result_count: usize,
    /// Token of the next (older) page, if any.
    pub next_token: Option<String>,
}

/// A post that lacks something a submission needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    /// The post's id.
    pub id: String,
    /// What is missing or wrong.
    pub reason: String,
}

fn unix_seconds(raw: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(raw)
        .ok()
        .map(|t| t.timestamp())
}

impl SearchResponse {
    /// Each post mapped as docs/protocol.md#post-fields says, at `now` (Unix seconds, for account ages), in
    /// X's order.
    pub fn posts(&self, now: i64) -> Vec<Result<ScrapedPost, Incomplete>> {
        let users: HashMap<&str, &User> = self
            .includes
            .users
            .iter()
            .map(|user| (user.id.as_str(), user))
            .collect();
        self.data
            .iter()
            .map(|tweet| map_tweet(tweet, &users, now))
            .collect()
    }
}

fn map_tweet(
    tweet: &Tweet,
    users: &HashMap<&str, &User>,
    now: i64,
) -> Result<ScrapedPost, Incomplete> {
    let incomplete = |reason: &str| Incomplete {
        id: tweet.id.clone(),
        reason: reason.to_owned(),
    };
    let created_at = tweet
        .created_at
        .as_deref()
        .and_then(unix_seconds)
        .ok_or_else(|| incomplete("no readable created_at"))?;
    let metrics = tweet
        .public_metrics
        .ok_or_else(|| incomplete("no public_metrics"))?;
    let author = tweet
        .author_id
        .as_deref()
        .and_then(|id| users.get(id))
        .ok_or_else(|| incomplete("its author is not in includes.users"))?;
    let account_created = author
        .created_at
        .as_deref()
        .and_then(unix_seconds)
        .ok_or_else(|| incomplete("the author has no readable created_at"))?;
    let followers = author
        .public_metrics
        .ok_or_else(|| incomplete("the author has no public_metrics"))?
        .followers_count
        .ok_or_else(|| incomplete("the author's followers_count is absent"))?;
    // A count X did not report is not 0: a post without one is skipped rather than
    // submitted with a number nobody read.
    let count = |value: Option<u64>, name: &str| {
        value.ok_or_else(|| incomplete(&format!("its {name} is absent")))
    };
    let likes = count(metrics.like_count, "like_count")?;
    let retweets = count(
        metrics.retweet_count.or(metrics.repost_count),
        "retweet_count (or repost_count)",
    )?;
    let replies = count(metrics.reply_count, "reply_count")?;
    let quotes = count(metrics.quote_count, "quote_count")?;
    let is_retweet = tweet
        .referenced_tweets
        .iter()
        .flatten()
        .any(|r| r.kind == "retweeted")
        || tweet.text.starts_with("RT @");
    Ok(ScrapedPost {
        id: tweet.id.clone(),
        text: tweet.text.clone(),
        author: author.username.clone(),
        created_at,
        account_age_days: whole_days(account_created, now),
        likes,
        retweets,
        replies,
        quotes,
        followers,
        lang: tweet.lang.clone(),
        is_retweet,
    })
}

/// What an X error body says: `detail` (or `title`) and every `errors[].message`.
pub fn describe_error(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.chars().take(300).collect();
    };
    let mut parts: Vec<String> = Vec::new();
    if let Some(detail) = value
        .get("detail")
        .or_else(|| value.get("title"))
        .and_then(Value::as_str)
    {
        parts.push(detail.to_owned());
    }
    for error in value
        .get("errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(message) = error.get("message").and_then(Value::as_str) {
            parts.push(message.to_owned());
        }
    }
    if parts.is_empty() {
        body.chars().take(300).collect()
    } else {
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_115_200; // 2025-11-26T00:00:00Z

    fn reply() -> SearchResponse {
        serde_json::from_str(
            r#"{
            "data": [
                {"id": "1993000000000000001", "text": "SN45 &amp; friends", "author_id": "7",
                 "created_at": "2025-11-25T22:00:00.000Z", "lang": "en",
                 "edit_history_tweet_ids": ["1993000000000000001"],
                 "public_metrics": {"retweet_count": 3, "reply_count": 2, "like_count": 10,
                                    "quote_count": 1, "bookmark_count": 0, "impression_count": 9}},
                {"id": "1993000000000000002", "text": "RT @alice: SN45", "author_id": "8",
                 "created_at": "2025-11-25T23:00:00.000Z", "lang": "en",
                 "referenced_tweets": [{"type": "retweeted", "id": "1993000000000000001"}],
                 "public_metrics": {"retweet_count": 3, "reply_count": 0, "like_count": 0, "quote_count": 0}},
                {"id": "1993000000000000003", "text": "orphan", "author_id": "99",
                 "created_at": "2025-11-25T23:00:00.000Z",
                 "public_metrics": {"retweet_count": 0, "reply_count": 0, "like_count": 0, "quote_count": 0}}
            ],
            "includes": {"users": [
                {"id": "7", "name": "Alice", "username": "alice", "created_at": "2024-11-26T00:00:01.000Z",
                 "public_metrics": {"followers_count": 1200, "following_count": 5, "tweet_count": 9, "listed_count": 0}},
                {"id": "8", "name": "Bob", "username": "bob", "created_at": "2020-01-01T00:00:00.000Z",
                 "public_metrics": {"followers_count": 5}}
            ]},
            "meta": {"result_count": 3, "newest_id": "1993000000000000003", "next_token": "abc"},
            "errors": [{"title": "Not Found Error"}]
        }"#,
        )
        .unwrap()
    }

    #[test]
    fn posts_are_mapped_with_their_authors_as_the_reference_maps_them() {
        let reply = reply();
        assert_eq!(reply.meta.next_token.as_deref(), Some("abc"));
        let posts = reply.posts(NOW);
        let first = posts[0].as_ref().unwrap();
        assert_eq!(first.id, "1993000000000000001");
        assert_eq!(first.text, "SN45 &amp; friends", "X's escaping is kept");
        assert_eq!(first.author, "alice");
        assert_eq!(first.created_at, NOW - 2 * 3600);
        // One second short of a year: 364 whole days.
        assert_eq!(first.account_age_days, 364);
        assert_eq!(
            (
                first.likes,
                first.retweets,
                first.replies,
                first.quotes,
                first.followers
            ),
            (10, 3, 2, 1, 1200)
        );
        assert_eq!(first.lang.as_deref(), Some("en"));
        assert!(!first.is_retweet);
        assert!(posts[1].as_ref().unwrap().is_retweet);
        let orphan = posts[2].as_ref().unwrap_err();
        assert!(orphan.reason.contains("author"), "{orphan:?}");
    }

    #[test]
    fn newer_count_names_are_read_and_a_post_missing_a_count_is_skipped_not_zeroed() {
        let reply: SearchResponse = serde_json::from_str(
            r#"{
            "data": [
                {"id": "11", "text": "a", "author_id": "7", "created_at": "2025-11-25T22:00:00.000Z",
                 "public_metrics": {"repost_count": 4, "reply_count": 2, "like_count": 10, "quote_count": 1}},
                {"id": "12", "text": "b", "author_id": "7", "created_at": "2025-11-25T22:00:00.000Z",
                 "public_metrics": {"retweet_count": 4, "reply_count": 2, "quote_count": 1}},
                {"id": "13", "text": "c", "author_id": "8", "created_at": "2025-11-25T22:00:00.000Z",
                 "public_metrics": {"retweet_count": 4, "reply_count": 2, "like_count": 10, "quote_count": 1}}
            ],
            "includes": {"users": [
                {"id": "7", "username": "alice", "created_at": "2024-11-26T00:00:01.000Z",
                 "public_metrics": {"followers_count": 1200, "post_count": 9}},
                {"id": "8", "username": "bob", "created_at": "2024-11-26T00:00:01.000Z",
                 "public_metrics": {"post_count": 9}}
            ]},
            "meta": {"result_count": 3}
        }"#,
        )
        .unwrap();
        let posts = reply.posts(NOW);
        assert_eq!(posts[0].as_ref().unwrap().retweets, 4, "repost_count");
        let no_likes = posts[1].as_ref().unwrap_err();
        assert!(no_likes.reason.contains("like_count"), "{no_likes:?}");
        let no_followers = posts[2].as_ref().unwrap_err();
        assert!(
            no_followers.reason.contains("followers_count"),
            "{no_followers:?}"
        );
    }

    #[test]
    fn an_empty_result_has_no_data_and_is_fine() {
        let reply: SearchResponse =
            serde_json::from_str(r#"{"meta": {"result_count": 0}}"#).unwrap();
        assert!(reply.posts(NOW).is_empty());
        assert_eq!(reply.meta.next_token, None);
    }

    #[test]
    fn error_bodies_are_described_by_their_detail_and_messages() {
        assert_eq!(
            describe_error(
                r#"{"errors":[{"message":"Invalid 'start_time'"}],"title":"Invalid Request","detail":"One or more parameters to your request was invalid."}"#
            ),
            "One or more parameters to your request was invalid.; Invalid 'start_time'"
        );
        assert_eq!(
            describe_error(r#"{"title":"Unauthorized","status":401}"#),
            "Unauthorized"
        );
        assert_eq!(describe_error("<html>"), "<html>");
    }
}
