//! A submission as the server accepts it: parsed, validated field by field, normalised.
//!
//! Parsing goes through `serde_json::Value` rather than a derived `Deserialize`, so one
//! reply can name every invalid field with a message that says what is expected (serde
//! stops at the first error and words it for Rust programmers).

use std::collections::BTreeMap;

use crate::api::FieldError;
use crate::post_id::parse_canonical_post_id;
use crate::ss58;
use crate::text::normalize_content;
use serde_json::{Map, Value};

/// Longest accepted post, in characters after normalisation (X's limit for long posts).
pub const MAX_CONTENT_CHARS: usize = 25_000;
/// Longest accepted author name; X allows 15, older accounts may have more.
pub const MAX_AUTHOR_CHARS: usize = 50;
/// Most subnets one post may be tagged with (the registry has 129).
pub const MAX_TOKENS: usize = 256;
/// Longest accepted subnet name in `tokens`.
pub const MAX_TOKEN_NAME_CHARS: usize = 100;
/// Why a text with U+0000 is refused: PostgreSQL text cannot hold it, and no X post has it.
pub const NUL_MESSAGE: &str = "must not contain U+0000 (NUL)";
/// 2006-03-21T00:00:00Z: no X post is older.
pub const EARLIEST_POST_DATE: i64 = 1_142_899_200;

/// A validated, normalised submission.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSubmission {
    /// Miner's SS58 address.
    pub miner_hotkey: String,
    /// Canonical post id.
    pub post_id: String,
    /// Normalised text.
    pub content: String,
    /// Post creation time, Unix seconds.
    pub date: i64,
    /// Author's username.
    pub author: String,
    /// Author account age, days.
    pub account_age: i64,
    /// Retweets.
    pub retweets: i64,
    /// Likes.
    pub likes: i64,
    /// Replies.
    pub responses: i64,
    /// Author followers.
    pub followers: i64,
    /// Subnet name -> relevance.
    pub tokens: BTreeMap<String, f64>,
    /// Sentiment in [-1, 1].
    pub sentiment: f64,
    /// Miner's score in [0, 1].
    pub score: f64,
}

struct Fields<'a> {
    object: &'a Map<String, Value>,
    errors: Vec<FieldError>,
}

impl<'a> Fields<'a> {
    fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError {
            field: field.to_string(),
            message: message.into(),
        });
    }

    fn present(&mut self, name: &str) -> Option<&'a Value> {
        match self.object.get(name) {
            None | Some(Value::Null) => {
                self.error(name, "field required");
                None
            }
            Some(value) => Some(value),
        }
    }

    fn string(&mut self, name: &str) -> Option<&'a str> {
        let value = self.present(name)?;
        let text = value.as_str();
        if text.is_none() {
            self.error(name, format!("must be a string, not {}", kind_of(value)));
        }
        text
    }

    fn integer(&mut self, name: &str, min: i64) -> Option<i64> {
        let value = self.present(name)?;
        match value.as_i64() {
            Some(n) if n >= min => Some(n),
            _ => {
                let message = if value.is_u64() {
                    "must be at most 9223372036854775807".to_string()
                } else if min == 0 {
                    "must be an integer >= 0".to_string()
                } else {
                    format!("must be an integer >= {min}")
                };
                self.error(name, message);
                None
            }
        }
    }

    fn number(&mut self, name: &str, min: f64, max: f64) -> Option<f64> {
        let value = self.present(name)?;
        match value.as_f64() {
            Some(x) if (min..=max).contains(&x) => Some(x),
            _ => {
                self.error(name, format!("must be a number in [{min}, {max}]"));
                None
            }
        }
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn body_error(message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError {
        field: "body".into(),
        message: message.into(),
    }]
}

impl NewSubmission {
    /// Parses and validates a `/v2/submit` body, normalising `content`.
    ///
    /// `latest_date` is the latest acceptable post `date` (now plus the allowed clock skew).
    /// Unknown fields are ignored, so newer clients can send more.
    pub fn parse(body: &[u8], latest_date: i64) -> Result<Self, Vec<FieldError>> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| body_error(format!("is not valid JSON: {e}")))?;
        let Value::Object(object) = &value else {
            return Err(body_error(format!(
                "must be a JSON object, not {}",
                kind_of(&value)
            )));
        };
        let mut f = Fields {
            object,
            errors: Vec::new(),
        };

        let miner_hotkey = f
            .string("miner_hotkey")
            .and_then(|raw| match ss58::decode(raw) {
                Ok(_) => Some(raw.to_string()),
                Err(e) => {
                    f.error(
                        "miner_hotkey",
                        format!("must be an SS58 address with prefix 42: {e}"),
                    );
                    None
                }
            });

        let post_id = match f.present("post_id") {
            Some(Value::String(raw)) => match parse_canonical_post_id(raw) {
                Ok(_) => Some(raw.clone()),
                Err(e) => {
                    f.error("post_id", e.to_string());
                    None
                }
            },
            Some(Value::Number(n)) => {
                f.error(
                    "post_id",
                    format!("must be a string of decimal digits (send \"{n}\")"),
                );
                None
            }
            Some(other) => {
                f.error(
                    "post_id",
                    format!("must be a string of decimal digits, not {}", kind_of(other)),
                );
                None
            }
            None => None,
        };

        let content = f.string("content").and_then(|raw| {
            let normalised = normalize_content(raw);
            let chars = normalised.chars().count();
            if raw.contains('\0') {
                f.error("content", NUL_MESSAGE);
                None
            } else if chars == 0 {
                f.error(
                    "content",
                    "must not be empty (after whitespace normalisation)",
                );
                None
            } else if chars > MAX_CONTENT_CHARS {
                f.error(
                    "content",
                    format!("must be at most {MAX_CONTENT_CHARS} characters, got {chars}"),
                );
                None
            } else {
                Some(normalised)
            }
        });

        let date = f.integer("date", 0).and_then(|date| {
            if date < EARLIEST_POST_DATE {
                f.error("date", format!("must be Unix seconds of the post, not before {EARLIEST_POST_DATE} (2006-03-21)"));
                None
            } else if date > latest_date {
                f.error("date", "is in the future (check the clock, or send Unix seconds rather than milliseconds)");
                None
            } else {
                Some(date)
            }
        });

        let author = f.string("author").and_then(|raw| {
            if raw.starts_with('@') {
                f.error("author", "must be the username without @");
                None
            } else if raw.is_empty()
                || raw.chars().count() > MAX_AUTHOR_CHARS
                || !raw.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                f.error("author", format!("must be an X username: 1 to {MAX_AUTHOR_CHARS} letters, digits or underscores"));
                None
            } else {
                Some(raw.to_string())
            }
        });

        let account_age = f.integer("account_age", 0);
        let retweets = f.integer("retweets", 0);
        let likes = f.integer("likes", 0);
        let responses = f.integer("responses", 0);
        let followers = f.integer("followers", 0);
        let tokens = parse_tokens(&mut f);
        let sentiment = f.number("sentiment", -1.0, 1.0);
        let score = f.number("score", 0.0, 1.0);

        if !f.errors.is_empty() {
            return Err(f.errors);
        }
        // Every field parsed: each Option below is Some.
        Ok(Self {
            miner_hotkey: miner_hotkey.expect("validated"),
            post_id: post_id.expect("validated"),
            content: content.expect("validated"),
            date: date.expect("validated"),
            author: author.expect("validated"),
            account_age: account_age.expect("validated"),
            retweets: retweets.expect("validated"),
            likes: likes.expect("validated"),
            responses: responses.expect("validated"),
            followers: followers.expect("validated"),
            tokens: tokens.expect("validated"),
            sentiment: sentiment.expect("validated"),
            score: score.expect("validated"),
        })
    }

    /// Names of the fields whose values differ from `stored` (empty for a true duplicate).
    pub fn differing_fields(&self, stored: &NewSubmission) -> Vec<String> {
        let checks: [(&str, bool); 13] = [
            ("miner_hotkey", self.miner_hotkey == stored.miner_hotkey),
            ("post_id", self.post_id == stored.post_id),
            ("content", self.content == stored.content),
            ("date", self.date == stored.date),
            ("author", self.author == stored.author),
            ("account_age", self.account_age == stored.account_age),
            ("retweets", self.retweets == stored.retweets),
            ("likes", self.likes == stored.likes),
            ("responses", self.responses == stored.responses),
            ("followers", self.followers == stored.followers),
            ("tokens", self.tokens == stored.tokens),
            ("sentiment", self.sentiment == stored.sentiment),
            ("score", self.score == stored.score),
        ];
        checks
            .iter()
            .filter(|(_, same)| !same)
            .map(|(name, _)| name.to_string())
            .collect()
    }
}

fn parse_tokens(f: &mut Fields<'_>) -> Option<BTreeMap<String, f64>> {
    let value = f.present("tokens")?;
    let Value::Object(map) = value else {
        f.error(
            "tokens",
            format!(
                "must be an object of subnet name -> relevance, not {}",
                kind_of(value)
            ),
        );
        return None;
    };
    if map.is_empty() {
        f.error("tokens", "must name at least one subnet");
        return None;
    }
    if map.len() > MAX_TOKENS {
        f.error("tokens", format!("must name at most {MAX_TOKENS} subnets"));
        return None;
    }
    let mut tokens = BTreeMap::new();
    let mut ok = true;
    for (name, relevance) in map {
        // The field path quotes the name with NUL spelled out, so the reply names it
        // readably.
        let field = format!("tokens.{}", name.replace('\0', "\\u0000"));
        if name.contains('\0') {
            f.error(&field, NUL_MESSAGE);
            ok = false;
            continue;
        }
        if name.trim().is_empty() || name.chars().count() > MAX_TOKEN_NAME_CHARS {
            f.error(
                &field,
                format!("subnet names must be 1 to {MAX_TOKEN_NAME_CHARS} characters"),
            );
            ok = false;
            continue;
        }
        match relevance.as_f64() {
            Some(x) if (0.0..=1.0).contains(&x) => {
                tokens.insert(name.clone(), x);
            }
            _ => {
                f.error(&field, "relevance must be a number in [0, 1]");
                ok = false;
            }
        }
    }
    if ok && !tokens.values().any(|&x| x > 0.0) {
        f.error("tokens", "at least one relevance must be above 0");
        ok = false;
    }
    ok.then_some(tokens)
}

/// The latest post date the invariant check accepts: far enough ahead that dates are
/// judged by their range only.
pub const FUZZ_LATEST_DATE: i64 = 4_102_444_800; // 2100-01-01

/// Parses `body` and panics if the parser broke a promise: every input gives a submission
/// or at least one field error (never a panic), and an accepted submission is normalised,
/// canonical, in range, and parses to itself again once re-serialised.
///
/// Shared by the `submit_body` fuzz target and the property tests.
pub fn check_parse_invariants(body: &[u8]) {
    match NewSubmission::parse(body, FUZZ_LATEST_DATE) {
        Ok(s) => {
            assert_eq!(
                normalize_content(&s.content),
                s.content,
                "content is normalised"
            );
            let chars = s.content.chars().count();
            assert!((1..=MAX_CONTENT_CHARS).contains(&chars));
            assert!(parse_canonical_post_id(&s.post_id).is_ok());
            assert!(ss58::decode(&s.miner_hotkey).is_ok());
            assert!(
                s.tokens.values().all(|v| (0.0..=1.0).contains(v))
                    && s.tokens.values().any(|&v| v > 0.0)
            );
            assert!((-1.0..=1.0).contains(&s.sentiment) && (0.0..=1.0).contains(&s.score));
            assert!(
                [s.account_age, s.retweets, s.likes, s.responses, s.followers]
                    .iter()
                    .all(|&n| n >= 0)
            );
            assert!((EARLIEST_POST_DATE..=FUZZ_LATEST_DATE).contains(&s.date));
            let wire = crate::api::SubmitRequest {
                miner_hotkey: s.miner_hotkey.clone(),
                post_id: s.post_id.clone(),
                content: s.content.clone(),
                date: s.date,
                author: s.author.clone(),
                account_age: s.account_age as u64,
                retweets: s.retweets as u64,
                likes: s.likes as u64,
                responses: s.responses as u64,
                followers: s.followers as u64,
                tokens: s.tokens.clone(),
                sentiment: s.sentiment,
                score: s.score,
            };
            let again = NewSubmission::parse(
                &serde_json::to_vec(&wire).expect("serialises"),
                FUZZ_LATEST_DATE,
            );
            assert_eq!(again.as_ref(), Ok(&s), "an accepted submission round-trips");
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            assert!(
                errors
                    .iter()
                    .all(|e| !e.field.is_empty() && !e.message.is_empty())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_764_120_123;

    fn valid() -> Value {
        json!({
            "miner_hotkey": "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi",
            "post_id": "1860000000000000001",
            "content": "  SN45\r\nlooks\u{1f}strong  ",
            "date": 1_764_120_000, "author": "alice", "account_age": 365,
            "retweets": 3, "likes": 10, "responses": 1, "followers": 1200,
            "tokens": {"talisman_ai": 1.0}, "sentiment": 0.5, "score": 0.55
        })
    }

    fn parse(value: &Value) -> Result<NewSubmission, Vec<FieldError>> {
        NewSubmission::parse(value.to_string().as_bytes(), NOW + 60)
    }

    fn fields(errors: Vec<FieldError>) -> Vec<String> {
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_valid_body_parses_with_normalised_content() {
        let s = parse(&valid()).unwrap();
        assert_eq!(s.content, "SN45 looks strong");
        assert_eq!(s.post_id, "1860000000000000001");
        assert_eq!(s.tokens["talisman_ai"], 1.0);
    }

    #[test]
    fn every_invalid_field_is_reported_at_once() {
        let mut body = valid();
        body["likes"] = json!(-1);
        body["post_id"] = json!("00123");
        body["sentiment"] = json!(1.5);
        body["author"] = json!("@alice");
        body.as_object_mut().unwrap().remove("score");
        assert_eq!(
            fields(parse(&body).unwrap_err()),
            ["post_id", "author", "likes", "sentiment", "score"]
        );
    }

    #[test]
    fn malformed_json_is_a_body_error() {
        let errors = NewSubmission::parse(b"{\"post_id\": ", NOW).unwrap_err();
        assert_eq!(errors[0].field, "body");
        assert!(
            errors[0].message.contains("not valid JSON"),
            "{}",
            errors[0].message
        );
        let errors = NewSubmission::parse(b"[1,2]", NOW).unwrap_err();
        assert_eq!(errors[0].message, "must be a JSON object, not an array");
    }

    #[test]
    fn wrong_types_are_named() {
        let mut body = valid();
        body["likes"] = json!("10");
        body["post_id"] = json!(1860000000000000001u64);
        body["tokens"] = json!(["talisman_ai"]);
        body["content"] = json!(null);
        let errors = parse(&body).unwrap_err();
        let by_field: BTreeMap<_, _> = errors
            .iter()
            .map(|e| (e.field.as_str(), e.message.as_str()))
            .collect();
        assert_eq!(by_field["likes"], "must be an integer >= 0");
        assert_eq!(
            by_field["post_id"],
            "must be a string of decimal digits (send \"1860000000000000001\")"
        );
        assert!(by_field["tokens"].starts_with("must be an object"));
        assert_eq!(by_field["content"], "field required");
    }

    #[test]
    fn floats_are_not_counts() {
        let mut body = valid();
        body["retweets"] = json!(3.0);
        assert_eq!(fields(parse(&body).unwrap_err()), ["retweets"]);
    }

    #[test]
    fn nul_in_content_or_a_token_name_is_refused_where_it_was_sent() {
        let mut body = valid();
        body["content"] = json!("SN45 \u{0} looks strong");
        body["tokens"] = json!({"talisman_ai": 1.0, "ap\u{0}ex": 0.5});
        let errors = parse(&body).unwrap_err();
        assert_eq!(fields(errors.clone()), ["content", "tokens.ap\\u0000ex"]);
        assert!(errors.iter().all(|e| e.message == NUL_MESSAGE));
    }

    #[test]
    fn content_that_is_only_whitespace_is_empty() {
        let mut body = valid();
        body["content"] = json!(" \u{1c}\r\n ");
        assert_eq!(fields(parse(&body).unwrap_err()), ["content"]);
    }

    #[test]
    fn content_length_is_counted_in_characters_after_normalisation() {
        let mut body = valid();
        body["content"] = json!(format!("{}   ", "🚀".repeat(MAX_CONTENT_CHARS)));
        assert!(parse(&body).is_ok());
        body["content"] = json!("🚀".repeat(MAX_CONTENT_CHARS + 1));
        assert_eq!(fields(parse(&body).unwrap_err()), ["content"]);
    }

    #[test]
    fn dates_in_the_future_or_in_milliseconds_are_refused() {
        let mut body = valid();
        body["date"] = json!(NOW + 61);
        assert_eq!(fields(parse(&body).unwrap_err()), ["date"]);
        body["date"] = json!(NOW * 1000);
        assert!(
            parse(&body).unwrap_err()[0]
                .message
                .contains("milliseconds")
        );
        body["date"] = json!(1_000);
        assert_eq!(fields(parse(&body).unwrap_err()), ["date"]);
    }

    #[test]
    fn tokens_need_one_positive_relevance_in_range() {
        let mut body = valid();
        body["tokens"] = json!({"apex": 0.0});
        assert_eq!(
            parse(&body).unwrap_err()[0].message,
            "at least one relevance must be above 0"
        );
        body["tokens"] = json!({"apex": 1.2, "omron": 0.5});
        assert_eq!(fields(parse(&body).unwrap_err()), ["tokens.apex"]);
        body["tokens"] = json!({});
        assert_eq!(fields(parse(&body).unwrap_err()), ["tokens"]);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let mut body = valid();
        body["quotes"] = json!(4);
        assert!(parse(&body).is_ok());
    }

    #[test]
    fn invalid_hotkeys_are_refused() {
        let mut body = valid();
        body["miner_hotkey"] = json!("5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9FA");
        let errors = parse(&body).unwrap_err();
        assert_eq!(errors[0].field, "miner_hotkey");
        assert!(errors[0].message.contains("checksum"));
    }

    #[test]
    fn differing_fields_name_what_changed() {
        let a = parse(&valid()).unwrap();
        let mut b = a.clone();
        assert!(a.differing_fields(&b).is_empty());
        b.likes += 1;
        b.tokens.insert("apex".into(), 0.2);
        assert_eq!(a.differing_fields(&b), ["likes", "tokens"]);
    }
}
