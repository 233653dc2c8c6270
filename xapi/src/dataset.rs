//! The sample-post format of `data/posts.jsonl`: one JSON object per line, times relative.
//!
//! Times are ages, not dates, because X's recent search only reaches back a few days: a file
//! of dates would fall out of every search window a week after it was written. The double
//! turns ages into dates from its anchor time when it starts ([`crate::XApi::new`]).
//! `data/README.md` documents the format for people writing lines by hand.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// One post as written in the dataset file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostLine {
    /// Stable name of the post for humans, tests and the admin API (`sn45-bull-001`). Letters,
    /// digits, `.`, `_` and `-`, with at least one non-digit so it never looks like an id.
    pub key: String,
    /// A fixed X id (decimal string); the post's creation time is then the one the id encodes.
    /// Without it the double mints an id from `age_minutes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// How long before the anchor time the post was created; 0 when absent. Not allowed
    /// together with `id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_minutes: Option<u64>,
    /// Language X detected, as a BCP 47 tag (`en`, `ja`) or one of X's special codes (`und`,
    /// `zxx`, `qht`, ...).
    pub lang: String,
    /// The text exactly as X returns it (X escapes `&`, `<` and `>` as HTML entities).
    pub text: String,
    /// Key of the post this one retweets; its text then conventionally starts with `RT @user:`.
    #[serde(default)]
    pub retweet_of: Option<String>,
    /// Who posted it.
    pub author: AuthorLine,
    /// Public engagement counts.
    #[serde(default)]
    pub metrics: Metrics,
    /// Free-form notes on what the line was written to exercise (see `data/README.md`); kept
    /// and listed by the admin API, never used to answer X requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<serde_json::Value>,
}

/// A post's author as written in the dataset file. Every line by the same username must carry
/// the same author fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorLine {
    /// X handle without `@`: 1 to 15 ASCII letters, digits or `_`.
    pub username: String,
    /// Display name.
    pub name: String,
    /// How many days before the anchor time the account was created.
    pub account_age_days: u64,
    /// Follower count.
    pub followers: u64,
    /// Accounts followed.
    #[serde(default)]
    pub following: u64,
    /// Posts written over the account's life.
    #[serde(default)]
    pub tweets: u64,
    /// Lists the account is on.
    #[serde(default)]
    pub listed: u64,
}

/// Public engagement counts of a post, named as the miner maps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// `like_count`.
    #[serde(default)]
    pub likes: u64,
    /// `retweet_count`.
    #[serde(default)]
    pub retweets: u64,
    /// `reply_count`.
    #[serde(default)]
    pub replies: u64,
    /// `quote_count`.
    #[serde(default)]
    pub quotes: u64,
    /// `bookmark_count`.
    #[serde(default)]
    pub bookmarks: u64,
    /// `impression_count`.
    #[serde(default)]
    pub impressions: u64,
}

/// Why a dataset could not be loaded.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// A line is not a valid post object.
    #[error("line {line}: {source}")]
    Json {
        /// 1-based line number.
        line: usize,
        /// What the JSON parser said.
        source: serde_json::Error,
    },
    /// A line breaks a rule of the format.
    #[error("line {line} ({key}): {reason}")]
    Invalid {
        /// 1-based line number (position in the list for [`Dataset::from_posts`]).
        line: usize,
        /// The line's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// A validated list of posts, in file order. The order matters: a post's position is the
/// sequence number in the low bits of its minted id.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    posts: Vec<PostLine>,
}

impl Dataset {
    /// Reads and validates a JSON Lines file. Blank lines are skipped.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DatasetError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses and validates JSON Lines text. Blank lines are skipped.
    pub fn parse(jsonl: &str) -> Result<Self, DatasetError> {
        let mut numbered = Vec::new();
        for (index, raw) in jsonl.lines().enumerate() {
            if raw.trim().is_empty() {
                continue;
            }
            let post = serde_json::from_str(raw).map_err(|source| DatasetError::Json {
                line: index + 1,
                source,
            })?;
            numbered.push((index + 1, post));
        }
        Self::validated(numbered)
    }

    /// Validates posts built in code; errors name a post by its 1-based position.
    pub fn from_posts(posts: Vec<PostLine>) -> Result<Self, DatasetError> {
        Self::validated(
            posts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (i + 1, p))
                .collect(),
        )
    }

    /// The posts, in order.
    pub fn posts(&self) -> &[PostLine] {
        &self.posts
    }

    /// Number of posts.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether there are no posts.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    fn validated(numbered: Vec<(usize, PostLine)>) -> Result<Self, DatasetError> {
        let invalid = |line: usize, post: &PostLine, reason: String| DatasetError::Invalid {
            line,
            key: post.key.clone(),
            reason,
        };
        let mut keys: HashMap<&str, usize> = HashMap::new();
        let mut ids: HashMap<&str, usize> = HashMap::new();
        let mut authors: HashMap<String, &AuthorLine> = HashMap::new();
        for (line, post) in &numbered {
            check_line(post).map_err(|reason| invalid(*line, post, reason))?;
            if let Some(first) = keys.insert(&post.key, *line) {
                return Err(invalid(
                    *line,
                    post,
                    format!("key already used on line {first}"),
                ));
            }
            if let Some(id) = &post.id
                && let Some(first) = ids.insert(id, *line)
            {
                return Err(invalid(
                    *line,
                    post,
                    format!("id already used on line {first}"),
                ));
            }
            let username = post.author.username.to_ascii_lowercase();
            match authors.get(&username) {
                Some(known) if **known != post.author => {
                    return Err(invalid(
                        *line,
                        post,
                        format!(
                            "author @{} differs from an earlier line: {:?} vs {:?}",
                            post.author.username, known, post.author
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    authors.insert(username, &post.author);
                }
            }
        }
        for (line, post) in &numbered {
            if let Some(original) = &post.retweet_of
                && !keys.contains_key(original.as_str())
            {
                return Err(invalid(
                    *line,
                    post,
                    format!("retweet_of names no post: {original:?}"),
                ));
            }
        }
        Ok(Self {
            posts: numbered.into_iter().map(|(_, post)| post).collect(),
        })
    }
}

/// Checks the rules one line obeys on its own; the reason is a sentence fragment.
pub(crate) fn check_line(post: &PostLine) -> Result<(), String> {
    let key_chars_ok = post
        .key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if post.key.is_empty() || !key_chars_ok {
        return Err("key must be non-empty ASCII letters, digits, '.', '_' or '-'".into());
    }
    if post.key.bytes().all(|b| b.is_ascii_digit()) {
        return Err("key must not be all digits (it would read as an id)".into());
    }
    if post.id.is_some() && post.age_minutes.is_some() {
        return Err("give either id or age_minutes, not both".into());
    }
    if let Some(id) = &post.id {
        protocol::post_id::parse_canonical_post_id(id).map_err(|e| format!("id {e}"))?;
    }
    if post.lang.is_empty()
        || !post
            .lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err("lang must be a language tag such as en, pt-BR or und".into());
    }
    if post.text.is_empty() {
        return Err("text must not be empty".into());
    }
    if post.retweet_of.as_deref() == Some(post.key.as_str()) {
        return Err("a post cannot retweet itself".into());
    }
    let username = &post.author.username;
    if username.is_empty()
        || username.len() > 15
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(format!(
            "author username {username:?} is not 1 to 15 ASCII letters, digits or '_'"
        ));
    }
    if post.author.name.is_empty() {
        return Err("author name must not be empty".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, username: &str) -> String {
        format!(
            r#"{{"key": "{key}", "age_minutes": 5, "lang": "en", "text": "hello SN45", "author": {{"username": "{username}", "name": "N", "account_age_days": 10, "followers": 3}}}}"#
        )
    }

    #[test]
    fn a_minimal_line_parses_with_zero_metrics_and_no_retweet() {
        let dataset = Dataset::parse(&line("a-1", "alice")).unwrap();
        let post = &dataset.posts()[0];
        assert_eq!(post.metrics, Metrics::default());
        assert_eq!(post.retweet_of, None);
        assert_eq!(post.author.following, 0);
    }

    #[test]
    fn blank_lines_are_skipped_and_errors_name_the_file_line() {
        let text = format!("{}\n\n{}\n", line("a-1", "alice"), line("a-1", "bob"));
        let err = Dataset::parse(&text).unwrap_err();
        assert!(
            matches!(&err, DatasetError::Invalid { line: 3, key, .. } if key == "a-1"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_rejected_so_typos_do_not_pass_silently() {
        let text = line("a-1", "alice").replace("\"lang\"", "\"language\"");
        assert!(matches!(
            Dataset::parse(&text),
            Err(DatasetError::Json { line: 1, .. })
        ));
    }

    #[test]
    fn an_author_must_look_the_same_on_every_line() {
        let other = line("a-2", "alice").replace("\"followers\": 3", "\"followers\": 4");
        let err = Dataset::parse(&format!("{}\n{other}", line("a-1", "alice"))).unwrap_err();
        assert!(err.to_string().contains("differs"), "{err}");
    }

    #[test]
    fn retweets_must_name_an_existing_post() {
        let rt = line("rt-1", "bob").replace(r#""lang""#, r#""retweet_of": "nope", "lang""#);
        let err = Dataset::parse(&format!("{}\n{rt}", line("a-1", "alice"))).unwrap_err();
        assert!(err.to_string().contains("retweet_of"), "{err}");
    }

    #[test]
    fn ids_must_be_canonical_and_exclusive_with_ages() {
        let with_both =
            line("a-1", "alice").replace(r#""age_minutes""#, r#""id": "123", "age_minutes""#);
        assert!(Dataset::parse(&with_both).is_err());
        let padded = line("a-1", "alice").replace(r#""age_minutes": 5"#, r#""id": "0123""#);
        assert!(Dataset::parse(&padded).is_err());
        let fixed =
            line("a-1", "alice").replace(r#""age_minutes": 5"#, r#""id": "1860000000000000001""#);
        assert!(Dataset::parse(&fixed).is_ok());
    }

    #[test]
    fn keys_that_look_like_ids_or_hold_spaces_are_rejected() {
        assert!(Dataset::parse(&line("12345", "alice")).is_err());
        assert!(Dataset::parse(&line("a 1", "alice")).is_err());
    }

    #[test]
    fn usernames_follow_x_rules() {
        assert!(Dataset::parse(&line("a-1", "sixteen_chars_xx")).is_err());
        assert!(Dataset::parse(&line("a-1", "has-dash")).is_err());
        assert!(Dataset::parse(&line("a-1", "fifteen_chars_x")).is_ok());
    }
}
