//! X API v2 response bodies, field for field, and the `tweet.fields` / `user.fields` /
//! `expansions` selection that decides which optional fields appear.
//!
//! Optional fields are `Option`s skipped when absent, because X leaves out every field that
//! was not asked for; `id`, `text` and `edit_history_tweet_ids` of a post and `id`, `name` and
//! `username` of a user are always present, as on X. The types also deserialize, so tests and
//! clients can read replies with them.

use serde::{Deserialize, Serialize};

/// A post in `data` or `includes.tweets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tweet {
    /// Snowflake id, as a decimal string.
    pub id: String,
    /// Text, with `&`, `<` and `>` escaped as X escapes them.
    pub text: String,
    /// Ids of every version of the post, oldest first; the double edits in place, so this is
    /// always the post's own id.
    pub edit_history_tweet_ids: Vec<String>,
    /// `tweet.fields=author_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_id: Option<String>,
    /// `tweet.fields=created_at`: RFC 3339 with milliseconds, always `.000Z` as on X.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `tweet.fields=lang`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// `tweet.fields=public_metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_metrics: Option<TweetMetrics>,
    /// `tweet.fields=conversation_id`: the post's own id (the dataset has no replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation_id: Option<String>,
    /// `tweet.fields=referenced_tweets`: set on retweets only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referenced_tweets: Option<Vec<ReferencedTweet>>,
    /// `tweet.fields=possibly_sensitive`: always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possibly_sensitive: Option<bool>,
}

/// `public_metrics` of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TweetMetrics {
    /// Retweets.
    pub retweet_count: u64,
    /// Replies.
    pub reply_count: u64,
    /// Likes.
    pub like_count: u64,
    /// Quote posts.
    pub quote_count: u64,
    /// Bookmarks.
    pub bookmark_count: u64,
    /// Impressions.
    pub impression_count: u64,
}

/// One entry of `referenced_tweets`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferencedTweet {
    /// `retweeted`, `quoted` or `replied_to`; the double only makes `retweeted`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Id of the referenced post.
    pub id: String,
}

/// A user in `includes.users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Numeric id, as a decimal string.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Handle without `@`.
    pub username: String,
    /// `user.fields=created_at`: when the account was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// `user.fields=public_metrics`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_metrics: Option<UserMetrics>,
    /// `user.fields=protected`: always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protected: Option<bool>,
    /// `user.fields=verified`: always false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
}

/// `public_metrics` of a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMetrics {
    /// Followers.
    pub followers_count: u64,
    /// Accounts followed.
    pub following_count: u64,
    /// Posts.
    pub tweet_count: u64,
    /// Lists the user is on.
    pub listed_count: u64,
}

/// Objects referenced from `data` and expanded with `expansions`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Includes {
    /// Authors, once each, in order of first appearance (`expansions=author_id`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
}

/// `meta` of a search reply.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchMeta {
    /// Id of the first (newest) post of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_id: Option<String>,
    /// Id of the last (oldest) post of this page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_id: Option<String>,
    /// Posts in this page.
    pub result_count: usize,
    /// Pass as `next_token` to get the next page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Reply of `GET /2/tweets/search/recent`. With no match X sends only
/// `{"meta": {"result_count": 0}}`, which is what the skipped empty fields give.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResponse {
    /// Matching posts, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Tweet>,
    /// Expanded objects.
    #[serde(default, skip_serializing_if = "Includes::is_empty")]
    pub includes: Includes,
    /// Page information.
    pub meta: SearchMeta,
}

/// Reply of `GET /2/tweets?ids=...`: found posts in `data`, missing ones in `errors`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LookupResponse {
    /// Found posts, in the order their ids were asked for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<Tweet>,
    /// Expanded objects.
    #[serde(default, skip_serializing_if = "Includes::is_empty")]
    pub includes: Includes,
    /// One entry per id that names no (or a deleted) post.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ResourceError>,
}

/// X's "resource not found" problem, as it appears in `errors` of a 200 reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceError {
    /// The id asked for.
    pub value: String,
    /// `Could not find tweet with ids: [<id>].`
    pub detail: String,
    /// `Not Found Error`.
    pub title: String,
    /// `tweet`.
    pub resource_type: String,
    /// `ids`.
    pub parameter: String,
    /// The id asked for.
    pub resource_id: String,
    /// `https://api.twitter.com/2/problems/resource-not-found`.
    #[serde(rename = "type")]
    pub kind: String,
}

impl ResourceError {
    /// The error X gives for a post id it cannot find.
    pub fn tweet_not_found(id: &str) -> Self {
        Self {
            value: id.to_owned(),
            detail: format!("Could not find tweet with ids: [{id}]."),
            title: "Not Found Error".to_owned(),
            resource_type: "tweet".to_owned(),
            parameter: "ids".to_owned(),
            resource_id: id.to_owned(),
            kind: "https://api.twitter.com/2/problems/resource-not-found".to_owned(),
        }
    }
}

impl Includes {
    /// Whether nothing was expanded (then X leaves `includes` out).
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// Every `tweet.fields` value X accepts; others get a 400 listing these.
pub const TWEET_FIELDS: &[&str] = &[
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "text",
    "withheld",
];

/// Every `user.fields` value X accepts.
pub const USER_FIELDS: &[&str] = &[
    "affiliation",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
];

/// Every `expansions` value X accepts for post endpoints; only `author_id` expands anything
/// here (the dataset has no media, polls, places or replies).
pub const EXPANSIONS: &[&str] = &[
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "entities.note.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
];

/// Which optional fields a request asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelection {
    /// Requested `tweet.fields`.
    pub tweet: Vec<String>,
    /// Requested `user.fields`.
    pub user: Vec<String>,
    /// Whether `expansions` holds `author_id`.
    pub expand_author: bool,
}

impl FieldSelection {
    /// Whether `tweet.fields` holds `field`.
    pub fn tweet_has(&self, field: &str) -> bool {
        self.tweet.iter().any(|f| f == field)
    }

    /// Whether `user.fields` holds `field`.
    pub fn user_has(&self, field: &str) -> bool {
        self.user.iter().any(|f| f == field)
    }
}
