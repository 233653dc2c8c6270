//! `pulse-miner analyze`: what the miner would claim for each post, without X or a server.
//!
//! # Input: JSON lines on stdin, in either of two forms
//! - **Dataset lines**, as in `data/posts.jsonl` (recognised by an `author` object): `text`,
//!   `lang`, `retweet_of`, `author.{username, account_age_days, followers}`,
//!   `metrics.{likes, retweets, replies, quotes}`, and `age_minutes` (counted back from
//!   `--now`) or a fixed `id` (its snowflake gives the creation time). `key` names the line
//!   in the output; other fields are ignored.
//! - **Absolute lines**: `text` (or `content`), `created_at` (or `date`: Unix seconds or
//!   RFC 3339), `author` (a username; without one the post is `incomplete`), optional `id`,
//!   `lang` (default `en`), `is_retweet` (default false), `likes`, `retweets`, `replies` (or
//!   `responses`), `quotes`, `followers`, `account_age` (days); counts default to 0. A
//!   `/v2/submit` body is such a line.
//!
//! # Output: one JSON line per input line, in input order
//! `line`, `key` (dataset lines), `post_id`, `decision` (`submit`, `skip` or `error`),
//! `rank` (among the posts to submit, 1 = submitted first), `reason` and `detail` (why not),
//! `subnet` (the match and its evidence), `tokens`, `sentiment` and `sentiment_value`, and
//! `score` (total, components, penalties); `content` (the normalised text) with
//! `--content`. A line that is not a readable post gets `decision: "error"` and the exit
//! status is 1.
//!
//! Decisions are the miner's screening ([`crate::select`]) without the seen set, which is
//! per hotkey and not consulted here.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};

use analyzer::sentiment::Sentiment;
use analyzer::{Analyzer, ScoreBreakdown, SubnetMatch};
use anyhow::Context;
use chrono::DateTime;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::post::ScrapedPost;
use crate::select::{self, SkipReason};

/// What `analyze` decided for one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The miner would submit it (in `rank` order).
    Submit,
    /// The miner would not submit it (see `reason`).
    Skip,
    /// The line is not a readable post.
    Error,
}

/// One output line.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// 1-based input line number.
    pub line: usize,
    /// The dataset line's key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The post's id, when the input gave one.
    pub post_id: Option<String>,
    /// Submit, skip or error.
    pub decision: Decision,
    /// Position among the posts to submit (1 first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rank: Option<usize>,
    /// Why the post is skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<SkipReason>,
    /// More about a skip or an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The matched subnet and why.
    pub subnet: Option<SubnetMatch>,
    /// The tokens that would be submitted.
    pub tokens: BTreeMap<String, f64>,
    /// The sentiment class.
    pub sentiment: Option<Sentiment>,
    /// Its value, as submitted.
    pub sentiment_value: Option<f64>,
    /// The score and its parts.
    pub score: Option<ScoreBreakdown>,
    /// The normalised content (with `--content`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(skip)]
    created_at: i64,
}

/// Counts over all lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnalyzeSummary {
    /// Lines read (blank lines excluded).
    pub lines: usize,
    /// Posts the miner would submit.
    pub submit: usize,
    /// Posts it would skip, by reason.
    pub skipped: BTreeMap<SkipReason, usize>,
    /// Unreadable lines.
    pub errors: usize,
}

impl AnalyzeSummary {
    /// One line for stderr.
    pub fn text(&self) -> String {
        let skipped: usize = self.skipped.values().sum();
        let reasons: Vec<String> = self
            .skipped
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        format!(
            "analysed {} lines: submit {}, skip {}{}, unreadable {}",
            self.lines,
            self.submit,
            skipped,
            if reasons.is_empty() {
                String::new()
            } else {
                format!(" ({})", reasons.join(", "))
            },
            self.errors
        )
    }
}

#[derive(Deserialize)]
struct DatasetLine {
    key: Option<String>,
    age_minutes: Option<u64>,
    id: Option<String>,
    lang: Option<String>,
    text: String,
    retweet_of: Option<String>,
    author: DatasetAuthor,
    #[serde(default)]
    metrics: Counts,
}

#[derive(Deserialize)]
struct DatasetAuthor {
    username: String,
    #[serde(default)]
    account_age_days: u64,
    #[serde(default)]
    followers: u64,
}

#[derive(Deserialize, Default)]
struct Counts {
    #[serde(default)]
    likes: u64,
    #[serde(default)]
    retweets: u64,
    #[serde(default)]
    replies: u64,
    #[serde(default)]
    quotes: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IdValue {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TimeValue {
    Unix(i64),
    Text(String),
}

#[derive(Deserialize)]
struct AbsoluteLine {
    id: Option<IdValue>,
    #[serde(alias = "content")]
    text: String,
    #[serde(alias = "date")]
    created_at: TimeValue,
    #[serde(default)]
    author: String,
    lang: Option<String>,
    #[serde(default)]
    is_retweet: bool,
    #[serde(default)]
    likes: u64,
    #[serde(default)]
    retweets: u64,
    #[serde(default, alias = "responses")]
    replies: u64,
    #[serde(default)]
    quotes: u64,
    #[serde(default)]
    followers: u64,
    #[serde(default, alias = "account_age_days")]
    account_age: u64,
}

/// Reads one input line as a post, at `now`.
pub fn parse_line(raw: &str, now: i64) -> Result<(Option<String>, ScrapedPost), String> {
    let value: Value = serde_json::from_str(raw).map_err(|e| format!("not JSON: {e}"))?;
    if value.get("author").is_some_and(Value::is_object) {
        let line: DatasetLine =
            serde_json::from_value(value).map_err(|e| format!("not a dataset line: {e}"))?;
        let created_at = match &line.id {
            Some(id) => {
                let id = protocol::post_id::parse_canonical_post_id(id)
                    .map_err(|e| format!("id: {e}"))?;
                (protocol::post_id::snowflake_time_ms(id) / 1000) as i64
            }
            None => now - 60 * line.age_minutes.unwrap_or(0) as i64,
        };
        let post = ScrapedPost {
            id: line.id.unwrap_or_default(),
            text: line.text,
            author: line.author.username,
            created_at,
            account_age_days: line.author.account_age_days,
            likes: line.metrics.likes,
            retweets: line.metrics.retweets,
            replies: line.metrics.replies,
            quotes: line.metrics.quotes,
            followers: line.author.followers,
            lang: line.lang,
            is_retweet: line.retweet_of.is_some(),
        };
        return Ok((line.key, post));
    }
    let line: AbsoluteLine =
        serde_json::from_value(value).map_err(|e| format!("not a post line: {e}"))?;
    let created_at = match line.created_at {
        TimeValue::Unix(secs) => secs,
        TimeValue::Text(text) => DateTime::parse_from_rfc3339(&text)
            .map_err(|e| format!("created_at {text:?}: {e}"))?
            .timestamp(),
    };
    let post = ScrapedPost {
        id: match line.id {
            Some(IdValue::Text(id)) => id,
            Some(IdValue::Number(id)) => id.to_string(),
            None => String::new(),
        },
        text: line.text,
        author: line.author.trim_start_matches('@').to_owned(),
        created_at,
        account_age_days: line.account_age,
        likes: line.likes,
        retweets: line.retweets,
        replies: line.replies,
        quotes: line.quotes,
        followers: line.followers,
        lang: Some(line.lang.unwrap_or_else(|| "en".to_owned())),
        is_retweet: line.is_retweet,
    };
    Ok((None, post))
}

async fn verdict(
    analyzer: &Analyzer,
    line: usize,
    raw: &str,
    now: i64,
    with_content: bool,
) -> Verdict {
    let mut verdict = Verdict {
        line,
        key: None,
        post_id: None,
        decision: Decision::Error,
        rank: None,
        reason: None,
        detail: None,
        subnet: None,
        tokens: BTreeMap::new(),
        sentiment: None,
        sentiment_value: None,
        score: None,
        content: None,
        created_at: 0,
    };
    let (key, post) = match parse_line(raw, now) {
        Ok(parsed) => parsed,
        Err(detail) => {
            verdict.detail = Some(detail);
            return verdict;
        }
    };
    verdict.key = key;
    verdict.post_id = Some(post.id.clone()).filter(|id| !id.is_empty());
    verdict.created_at = post.created_at;
    verdict.decision = Decision::Skip;
    let analysis = match analyzer.analyze(&post.input(), now).await {
        Ok(analysis) => analysis,
        Err(error) => {
            verdict.reason = Some(SkipReason::AnalysisFailed);
            let mut detail = error.to_string();
            if let Some(cause) = std::error::Error::source(&error) {
                detail = format!("{detail}: {cause}");
            }
            verdict.detail = Some(detail);
            return verdict;
        }
    };
    verdict.reason = match select::precheck(&post, now, None) {
        Err(reason) => Some(reason),
        Ok(()) if !analysis.is_relevant() => Some(SkipReason::NoSubnet),
        Ok(()) => None,
    };
    if verdict.reason.is_none() {
        verdict.decision = Decision::Submit;
    }
    verdict.subnet = analysis.subnet().cloned();
    verdict.sentiment = analysis.sentiment;
    verdict.sentiment_value = analysis.sentiment.map(Sentiment::value);
    verdict.score = Some(analysis.score);
    verdict.tokens = analysis.tokens;
    if with_content {
        verdict.content = Some(analysis.content);
    }
    verdict
}

/// Analyses every line of `input` at `now` and writes one JSON line per input line to
/// `out`.
pub async fn analyze(
    analyzer: &Analyzer,
    input: impl BufRead,
    out: &mut impl Write,
    now: i64,
    with_content: bool,
) -> anyhow::Result<AnalyzeSummary> {
    let mut verdicts = Vec::new();
    for (index, raw) in input.lines().enumerate() {
        let raw = raw.context("reading stdin")?;
        if raw.trim().is_empty() {
            continue;
        }
        verdicts.push(verdict(analyzer, index + 1, &raw, now, with_content).await);
    }
    let mut order: Vec<usize> = (0..verdicts.len())
        .filter(|i| verdicts[*i].decision == Decision::Submit)
        .collect();
    order.sort_by(|a, b| {
        let key = |v: &Verdict| {
            (
                v.score.map_or(0.0, |s| s.total),
                v.created_at,
                v.post_id.clone().unwrap_or_default(),
            )
        };
        let (ka, kb) = (key(&verdicts[*a]), key(&verdicts[*b]));
        select::submission_order((ka.0, ka.1, &ka.2), (kb.0, kb.1, &kb.2))
    });
    for (rank, index) in order.into_iter().enumerate() {
        verdicts[index].rank = Some(rank + 1);
    }
    let mut summary = AnalyzeSummary::default();
    for verdict in &verdicts {
        summary.lines += 1;
        match (verdict.decision, verdict.reason) {
            (Decision::Submit, _) => summary.submit += 1,
            (Decision::Error, _) => summary.errors += 1,
            (Decision::Skip, Some(reason)) => *summary.skipped.entry(reason).or_default() += 1,
            (Decision::Skip, None) => {}
        }
        serde_json::to_writer(&mut *out, verdict).context("writing stdout")?;
        out.write_all(b"\n").context("writing stdout")?;
    }
    out.flush().context("writing stdout")?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_115_200;

    async fn run(input: &str) -> (Vec<Value>, AnalyzeSummary) {
        let mut out = Vec::new();
        let summary = analyze(&Analyzer::default(), input.as_bytes(), &mut out, NOW, true)
            .await
            .unwrap();
        let lines = String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (lines, summary)
    }

    #[tokio::test]
    async fn both_input_forms_are_read_and_ranked() {
        let input = r#"{"key": "a", "age_minutes": 60, "lang": "en", "text": "SN45 to the moon 🚀", "retweet_of": null, "author": {"username": "alice", "account_age_days": 10, "followers": 100}, "metrics": {"likes": 1, "retweets": 0, "replies": 0, "quotes": 0}, "intent": null}

{"id": "1860000000000000001", "content": "subnet 64 chutes is solid", "date": "2025-11-25T23:00:00Z", "author": "@bob", "likes": 4000, "responses": 3}
{"text": "lovely weather", "created_at": 1764111600, "author": "carol"}
not json
{"key": "rt", "age_minutes": 5, "lang": "en", "text": "RT @alice: SN45", "retweet_of": "a", "author": {"username": "dan"}}"#;
        let (lines, summary) = run(input).await;
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0]["key"], "a");
        assert_eq!(lines[0]["decision"], "submit");
        assert_eq!(lines[0]["rank"], 2);
        assert_eq!(lines[0]["tokens"]["talisman_ai"], 1.0);
        assert_eq!(lines[0]["sentiment"], "very_bullish");
        assert_eq!(lines[0]["score"]["age_secs"], 3600);
        assert_eq!(lines[0]["content"], "SN45 to the moon 🚀");

        assert_eq!(lines[1]["line"], 3, "blank lines keep their numbers");
        assert_eq!(lines[1]["post_id"], "1860000000000000001");
        assert_eq!(lines[1]["rank"], 1, "more likes, higher score");
        assert_eq!(lines[1]["subnet"]["id"], 64);

        assert_eq!(lines[2]["decision"], "skip");
        assert_eq!(lines[2]["reason"], "no_subnet");
        assert!(lines[2].get("rank").is_none());

        assert_eq!(lines[3]["decision"], "error");
        assert!(lines[3]["detail"].as_str().unwrap().starts_with("not JSON"));

        assert_eq!(lines[4]["reason"], "retweet");
        assert_eq!(
            summary.text(),
            "analysed 5 lines: submit 2, skip 2 (retweet 1, no_subnet 1), unreadable 1"
        );
    }

    #[tokio::test]
    async fn a_fixed_id_dates_a_dataset_line() {
        // 2025-11-26T00:00:00Z as a snowflake: ((ms - epoch) << 22).
        let id = ((NOW as u64 * 1000 - protocol::post_id::SNOWFLAKE_EPOCH_MS) << 22).to_string();
        let line = format!(
            r#"{{"key": "f", "id": "{id}", "lang": "en", "text": "SN45", "author": {{"username": "a"}}}}"#
        );
        let (key, post) = parse_line(&line, NOW + 600).unwrap();
        assert_eq!(key.as_deref(), Some("f"));
        assert_eq!(post.created_at, NOW);
        assert_eq!(post.id, id);
    }
}
