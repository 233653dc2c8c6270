//! The posts and users the double serves: built from a dataset at an anchor time, then
//! changed through the admin API or a schedule.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::datetime;
use crate::dataset::{AuthorLine, Dataset, DatasetError, Metrics, PostLine, check_line};
use crate::ids::{MAX_SEQUENCE, mint_post_id, post_time_ms, user_id};
use crate::wire::{self, FieldSelection};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// Why an admin change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminError {
    /// No post has that id or key.
    #[error("no post with id or key {0:?}")]
    NotFound(String),
    /// The key or id is already taken.
    #[error("{0}")]
    Conflict(String),
    /// The body is malformed or breaks a dataset rule.
    #[error("{0}")]
    Invalid(String),
}

/// A change to one post; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostPatch {
    /// New text, as an edit on X would change it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// New language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// New engagement counts (each one optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<MetricsPatch>,
    /// Changes to the author; they show on every post by that author, as on X.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<AuthorPatch>,
    /// `true` deletes the post (lookups then report it missing, searches skip it); `false`
    /// restores it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
}

/// New engagement counts; absent ones stay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsPatch {
    /// Likes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Retweets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retweets: Option<u64>,
    /// Replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<u64>,
    /// Quotes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotes: Option<u64>,
    /// Bookmarks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bookmarks: Option<u64>,
    /// Impressions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub impressions: Option<u64>,
}

/// Changes to an author; absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorPatch {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Followers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// Accounts followed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub following: Option<u64>,
    /// Posts written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tweets: Option<u64>,
    /// Lists the account is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listed: Option<u64>,
}

/// A post as the admin API lists it: the dataset fields plus what the double made of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostView {
    /// Snowflake id (a string in JSON, as X writes ids).
    #[serde(serialize_with = "as_string")]
    pub id: u64,
    /// Dataset key.
    pub key: String,
    /// Current text.
    pub text: String,
    /// Language tag.
    pub lang: String,
    /// Creation time, to the millisecond the id encodes (X's `created_at` shows only the whole
    /// second, which differs for a fixed id with a millisecond part).
    pub created_at: DateTime<Utc>,
    /// Id of the retweeted post.
    #[serde(serialize_with = "as_opt_string")]
    pub retweet_of: Option<u64>,
    /// Whether the post is deleted.
    pub deleted: bool,
    /// Current engagement counts.
    pub metrics: Metrics,
    /// The author as it is now.
    pub author: UserView,
    /// The dataset line's `intent` notes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intent: Option<serde_json::Value>,
}

/// An author as the admin API lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// Numeric id (a string in JSON).
    #[serde(serialize_with = "as_string")]
    pub id: u64,
    /// Handle without `@`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// When the account was made.
    pub created_at: DateTime<Utc>,
    /// Followers.
    pub followers: u64,
    /// Accounts followed.
    pub following: u64,
    /// Posts written.
    pub tweets: u64,
    /// Lists the account is on.
    pub listed: u64,
}

fn as_string<S: serde::Serializer>(id: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(id)
}

fn as_opt_string<S: serde::Serializer>(id: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match id {
        Some(id) => s.collect_str(id),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone)]
pub(crate) struct StoredPost {
    pub(crate) id: u64,
    key: String,
    pub(crate) text: String,
    pub(crate) lang: String,
    pub(crate) created_ms: i64,
    pub(crate) author: usize,
    metrics: Metrics,
    pub(crate) retweet_of: Option<u64>,
    pub(crate) deleted: bool,
    intent: Option<serde_json::Value>,
}

#[derive(Debug, Clone)]
pub(crate) struct StoredUser {
    pub(crate) id: u64,
    pub(crate) username: String,
    name: String,
    created_ms: i64,
    followers: u64,
    following: u64,
    tweets: u64,
    listed: u64,
}

/// Posts in insertion order (dataset order, then added ones) with indexes by id and key.
#[derive(Debug, Default)]
pub(crate) struct Store {
    posts: Vec<StoredPost>,
    by_id: HashMap<u64, usize>,
    by_key: HashMap<String, usize>,
    users: Vec<StoredUser>,
    /// Lowercased username to index in `users`.
    by_username: HashMap<String, usize>,
}

impl Store {
    /// Materialises a dataset: ages become dates before `anchor_ms`, and posts without a fixed
    /// id get one minted with their position as the sequence.
    pub(crate) fn build(dataset: &Dataset, anchor_ms: i64) -> Result<Self, DatasetError> {
        let mut store = Store::default();
        let invalid = |index: usize, line: &PostLine, reason: String| DatasetError::Invalid {
            line: index + 1,
            key: line.key.clone(),
            reason,
        };
        for (index, line) in dataset.posts().iter().enumerate() {
            let sequence = u32::try_from(index)
                .ok()
                .filter(|&s| s <= MAX_SEQUENCE)
                .ok_or_else(|| {
                    invalid(index, line, format!("more than {} posts", MAX_SEQUENCE + 1))
                })?;
            store
                .insert(line, anchor_ms, sequence)
                .map_err(|err| invalid(index, line, err.to_string()))?;
        }
        // A second pass because a retweet may come before its original in the file.
        for (index, line) in dataset.posts().iter().enumerate() {
            if let Some(original) = &line.retweet_of {
                let original = store
                    .find(original)
                    .ok_or_else(|| invalid(index, line, "retweet_of names no post".into()))?;
                store.posts[index].retweet_of = Some(store.posts[original].id);
            }
        }
        Ok(store)
    }

    /// Adds a post created `age_minutes` before `now_ms` (or at its fixed id's time). A known
    /// author keeps its stored fields; the line's other author fields are then ignored.
    pub(crate) fn add(&mut self, line: &PostLine, now_ms: i64) -> Result<usize, AdminError> {
        check_line(line).map_err(AdminError::Invalid)?;
        let original = match &line.retweet_of {
            Some(key) => Some(self.find(key).ok_or_else(|| {
                AdminError::Invalid(format!("retweet_of names no post: {key:?}"))
            })?),
            None => None,
        };
        let sequence = u32::try_from(self.posts.len())
            .ok()
            .filter(|&s| s <= MAX_SEQUENCE)
            .ok_or_else(|| AdminError::Invalid("no sequence number left for a new post".into()))?;
        let index = self.insert(line, now_ms, sequence)?;
        self.posts[index].retweet_of = original.map(|o| self.posts[o].id);
        Ok(index)
    }

    /// Stores a post without its retweet link, which the callers resolve.
    fn insert(&mut self, line: &PostLine, now_ms: i64, sequence: u32) -> Result<usize, AdminError> {
        if self.by_key.contains_key(&line.key) {
            return Err(AdminError::Conflict(format!(
                "key {:?} is already used",
                line.key
            )));
        }
        let (id, created_ms) = match &line.id {
            Some(fixed) => {
                let id = protocol::post_id::parse_canonical_post_id(fixed)
                    .map_err(|e| AdminError::Invalid(format!("id {e}")))?;
                (id, post_time_ms(id))
            }
            None => {
                let age_ms = match line.age_minutes {
                    None => 0,
                    Some(m) => i64::try_from(m)
                        .ok()
                        .and_then(|m| m.checked_mul(MINUTE_MS))
                        .unwrap_or(i64::MAX),
                };
                // Whole seconds, so the created_at X prints (second precision) and the time
                // the id encodes agree to the millisecond.
                let created_ms = now_ms.saturating_sub(age_ms).div_euclid(1000) * 1000;
                let id = mint_post_id(created_ms, sequence).ok_or_else(|| {
                    AdminError::Invalid(format!(
                        "age_minutes {} is before X's snowflake epoch (2010-11-04)",
                        line.age_minutes.unwrap_or(0)
                    ))
                })?;
                (id, created_ms)
            }
        };
        if self.by_id.contains_key(&id) {
            return Err(AdminError::Conflict(format!("id {id} is already used")));
        }
        let author = self.user_for(&line.author, now_ms);
        let index = self.posts.len();
        self.posts.push(StoredPost {
            id,
            key: line.key.clone(),
            text: line.text.clone(),
            lang: line.lang.clone(),
            created_ms,
            author,
            metrics: line.metrics,
            retweet_of: None,
            deleted: false,
            intent: line.intent.clone(),
        });
        self.by_id.insert(id, index);
        self.by_key.insert(line.key.clone(), index);
        Ok(index)
    }

    fn user_for(&mut self, author: &AuthorLine, now_ms: i64) -> usize {
        let lower = author.username.to_ascii_lowercase();
        if let Some(&index) = self.by_username.get(&lower) {
            return index;
        }
        let age_ms = i64::try_from(author.account_age_days)
            .ok()
            .and_then(|d| d.checked_mul(DAY_MS))
            .unwrap_or(i64::MAX);
        let index = self.users.len();
        self.users.push(StoredUser {
            id: user_id(&author.username),
            username: author.username.clone(),
            name: author.name.clone(),
            created_ms: now_ms.saturating_sub(age_ms).div_euclid(1000) * 1000,
            followers: author.followers,
            following: author.following,
            tweets: author.tweets,
            listed: author.listed,
        });
        self.by_username.insert(lower, index);
        index
    }

    /// The post named by `reference`: an id if it is all digits, else a key.
    pub(crate) fn find(&self, reference: &str) -> Option<usize> {
        if !reference.is_empty() && reference.bytes().all(|b| b.is_ascii_digit()) {
            let id = reference.parse::<u64>().ok()?;
            self.by_id.get(&id).copied()
        } else {
            self.by_key.get(reference).copied()
        }
    }

    /// The post with this id, deleted or not.
    pub(crate) fn by_id(&self, id: u64) -> Option<&StoredPost> {
        self.by_id.get(&id).map(|&i| &self.posts[i])
    }

    /// Every post, in insertion order.
    pub(crate) fn posts(&self) -> &[StoredPost] {
        &self.posts
    }

    /// The author of a post.
    pub(crate) fn user(&self, index: usize) -> &StoredUser {
        &self.users[index]
    }

    /// Applies a patch to the post at `index`.
    pub(crate) fn patch(&mut self, index: usize, patch: &PostPatch) -> Result<(), AdminError> {
        if let Some(text) = &patch.text
            && text.is_empty()
        {
            return Err(AdminError::Invalid("text must not be empty".into()));
        }
        if let Some(lang) = &patch.lang
            && lang.is_empty()
        {
            return Err(AdminError::Invalid("lang must not be empty".into()));
        }
        let post = &mut self.posts[index];
        if let Some(text) = &patch.text {
            post.text.clone_from(text);
        }
        if let Some(lang) = &patch.lang {
            post.lang.clone_from(lang);
        }
        if let Some(delete) = patch.delete {
            post.deleted = delete;
        }
        if let Some(m) = patch.metrics {
            let metrics = &mut post.metrics;
            metrics.likes = m.likes.unwrap_or(metrics.likes);
            metrics.retweets = m.retweets.unwrap_or(metrics.retweets);
            metrics.replies = m.replies.unwrap_or(metrics.replies);
            metrics.quotes = m.quotes.unwrap_or(metrics.quotes);
            metrics.bookmarks = m.bookmarks.unwrap_or(metrics.bookmarks);
            metrics.impressions = m.impressions.unwrap_or(metrics.impressions);
        }
        if let Some(a) = &patch.author {
            let user = &mut self.users[post.author];
            if let Some(name) = &a.name {
                user.name.clone_from(name);
            }
            user.followers = a.followers.unwrap_or(user.followers);
            user.following = a.following.unwrap_or(user.following);
            user.tweets = a.tweets.unwrap_or(user.tweets);
            user.listed = a.listed.unwrap_or(user.listed);
        }
        Ok(())
    }

    /// The admin view of the post at `index`.
    pub(crate) fn view(&self, index: usize) -> PostView {
        let post = &self.posts[index];
        let user = &self.users[post.author];
        PostView {
            id: post.id,
            key: post.key.clone(),
            text: post.text.clone(),
            lang: post.lang.clone(),
            created_at: datetime(post.created_ms),
            retweet_of: post.retweet_of,
            deleted: post.deleted,
            metrics: post.metrics,
            author: UserView {
                id: user.id,
                username: user.username.clone(),
                name: user.name.clone(),
                created_at: datetime(user.created_ms),
                followers: user.followers,
                following: user.following,
                tweets: user.tweets,
                listed: user.listed,
            },
            intent: post.intent.clone(),
        }
    }

    /// The post as X would send it, with the requested fields only.
    pub(crate) fn wire_tweet(&self, post: &StoredPost, fields: &FieldSelection) -> wire::Tweet {
        let id = post.id.to_string();
        let m = post.metrics;
        wire::Tweet {
            id: id.clone(),
            text: post.text.clone(),
            edit_history_tweet_ids: vec![id.clone()],
            author_id: fields
                .tweet_has("author_id")
                .then(|| self.users[post.author].id.to_string()),
            created_at: fields
                .tweet_has("created_at")
                .then(|| x_time(post.created_ms)),
            lang: fields.tweet_has("lang").then(|| post.lang.clone()),
            public_metrics: fields
                .tweet_has("public_metrics")
                .then_some(wire::TweetMetrics {
                    retweet_count: m.retweets,
                    reply_count: m.replies,
                    like_count: m.likes,
                    quote_count: m.quotes,
                    bookmark_count: m.bookmarks,
                    impression_count: m.impressions,
                }),
            conversation_id: fields.tweet_has("conversation_id").then_some(id),
            referenced_tweets: post
                .retweet_of
                .filter(|_| fields.tweet_has("referenced_tweets"))
                .map(|original| {
                    vec![wire::ReferencedTweet {
                        kind: "retweeted".to_owned(),
                        id: original.to_string(),
                    }]
                }),
            possibly_sensitive: fields.tweet_has("possibly_sensitive").then_some(false),
        }
    }

    /// The user as X would send it in `includes.users`, with the requested fields only.
    pub(crate) fn wire_user(&self, index: usize, fields: &FieldSelection) -> wire::User {
        let user = &self.users[index];
        wire::User {
            id: user.id.to_string(),
            name: user.name.clone(),
            username: user.username.clone(),
            created_at: fields
                .user_has("created_at")
                .then(|| x_time(user.created_ms)),
            public_metrics: fields
                .user_has("public_metrics")
                .then_some(wire::UserMetrics {
                    followers_count: user.followers,
                    following_count: user.following,
                    tweet_count: user.tweets,
                    listed_count: user.listed,
                }),
            protected: fields.user_has("protected").then_some(false),
            verified: fields.user_has("verified").then_some(false),
        }
    }
}

/// A time as X writes it: RFC 3339, UTC, milliseconds always `.000`.
pub(crate) fn x_time(ms: i64) -> String {
    datetime(ms.div_euclid(1000) * 1000).to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANCHOR_MS: i64 = 1_764_120_123_000;

    fn line(key: &str, age_minutes: u64) -> PostLine {
        PostLine {
            key: key.to_owned(),
            id: None,
            age_minutes: Some(age_minutes),
            lang: "en".to_owned(),
            text: format!("post {key}"),
            retweet_of: None,
            author: AuthorLine {
                username: "alice".to_owned(),
                name: "Alice".to_owned(),
                account_age_days: 10,
                followers: 5,
                following: 0,
                tweets: 0,
                listed: 0,
            },
            metrics: Metrics::default(),
            intent: None,
        }
    }

    #[test]
    fn ages_become_dates_before_the_anchor_and_ids_encode_them() {
        let dataset = Dataset::from_posts(vec![line("a", 0), line("b", 90)]).unwrap();
        let store = Store::build(&dataset, ANCHOR_MS).unwrap();
        let b = &store.posts()[1];
        assert_eq!(b.created_ms, ANCHOR_MS - 90 * MINUTE_MS);
        assert_eq!(post_time_ms(b.id), b.created_ms);
        assert_eq!(b.id & u64::from(MAX_SEQUENCE), 1);
        assert_eq!(store.user(b.author).created_ms, ANCHOR_MS - 10 * DAY_MS);
    }

    #[test]
    fn a_post_older_than_the_snowflake_epoch_is_refused() {
        let ancient = line("ancient", 20 * 365 * 24 * 60);
        let err =
            Store::build(&Dataset::from_posts(vec![ancient]).unwrap(), ANCHOR_MS).unwrap_err();
        assert!(err.to_string().contains("snowflake epoch"), "{err}");
    }

    #[test]
    fn a_fixed_id_sets_the_creation_time() {
        let mut fixed = line("f", 0);
        fixed.age_minutes = None;
        fixed.id = Some("1860000000000000001".to_owned());
        let store = Store::build(&Dataset::from_posts(vec![fixed]).unwrap(), ANCHOR_MS).unwrap();
        let post = &store.posts()[0];
        assert_eq!(post.id, 1_860_000_000_000_000_001);
        assert_eq!(post.created_ms, post_time_ms(post.id));
        // X prints whole seconds even when the id has milliseconds.
        assert!(x_time(post.created_ms).ends_with(".000Z"));
    }

    #[test]
    fn retweets_may_precede_their_original_in_the_file() {
        let mut rt = line("rt", 1);
        rt.retweet_of = Some("orig".to_owned());
        let store = Store::build(
            &Dataset::from_posts(vec![rt, line("orig", 5)]).unwrap(),
            ANCHOR_MS,
        )
        .unwrap();
        assert_eq!(store.posts()[0].retweet_of, Some(store.posts()[1].id));
    }

    #[test]
    fn added_posts_get_fresh_sequence_numbers_and_refuse_taken_keys() {
        let mut store =
            Store::build(&Dataset::from_posts(vec![line("a", 0)]).unwrap(), ANCHOR_MS).unwrap();
        let index = store.add(&line("b", 0), ANCHOR_MS).unwrap();
        assert_eq!(store.posts()[index].id & u64::from(MAX_SEQUENCE), 1);
        assert!(matches!(
            store.add(&line("a", 0), ANCHOR_MS),
            Err(AdminError::Conflict(_))
        ));
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let mut store =
            Store::build(&Dataset::from_posts(vec![line("a", 0)]).unwrap(), ANCHOR_MS).unwrap();
        let patch = PostPatch {
            metrics: Some(MetricsPatch {
                likes: Some(99_999),
                ..MetricsPatch::default()
            }),
            author: Some(AuthorPatch {
                followers: Some(7),
                ..AuthorPatch::default()
            }),
            ..PostPatch::default()
        };
        store.patch(0, &patch).unwrap();
        let view = store.view(0);
        assert_eq!(view.metrics.likes, 99_999);
        assert_eq!(view.metrics.retweets, 0);
        assert_eq!(view.author.followers, 7);
        assert_eq!(view.text, "post a");
    }

    #[test]
    fn ids_and_keys_both_find_posts() {
        let store = Store::build(
            &Dataset::from_posts(vec![line("a-1", 0)]).unwrap(),
            ANCHOR_MS,
        )
        .unwrap();
        let id = store.posts()[0].id.to_string();
        assert_eq!(store.find(&id), Some(0));
        assert_eq!(store.find("a-1"), Some(0));
        assert_eq!(store.find("404"), None);
    }
}
