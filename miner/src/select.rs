//! Which posts to submit: skip what cannot or should not be submitted, rank the rest.
//!
//! The reference samples its scrape at random, whatever the posts are about. Pulse screens
//! every post ([`screen`]): already submitted, retweets, not English, incomplete, empty,
//! older than the 72-hour search window or dated in the future, or about no subnet; then it
//! ranks what is left by score ([`rank`]) and submits from the top. Screening needs no
//! sentiment (the score does not depend on it), so an LLM is asked only about the posts
//! actually submitted.

use std::cmp::Ordering;
use std::fmt;

use analyzer::scoring::score_post;
use analyzer::{Analyzer, ScoreBreakdown, SubnetMatch};
use protocol::text::normalize_content;
use serde::Serialize;

use crate::post::ScrapedPost;
use crate::scrape::SEARCH_WINDOW;
use crate::seen::SeenSet;

/// Furthest a post's date may be ahead of the miner's clock; the server refuses dates more
/// than 60 s ahead of its own.
pub const MAX_FUTURE_SECS: i64 = 60;

/// Why a post is not submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Submitted (or refused for good) before.
    Seen,
    /// A retweet: the original is the post.
    Retweet,
    /// Not tagged English by X.
    NotEnglish,
    /// Lacks a field a submission needs (author, dates, counts, a canonical id).
    Incomplete,
    /// Nothing left after normalisation.
    EmptyContent,
    /// Older than the 72-hour search window.
    TooOld,
    /// Dated more than a minute in the future.
    FutureDate,
    /// About no subnet: nothing to claim.
    NoSubnet,
    /// The sentiment engine failed; the post is not submitted as "neutral".
    AnalysisFailed,
}

impl SkipReason {
    /// The reason's name in summaries and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::Seen => "seen",
            SkipReason::Retweet => "retweet",
            SkipReason::NotEnglish => "not_english",
            SkipReason::Incomplete => "incomplete",
            SkipReason::EmptyContent => "empty_content",
            SkipReason::TooOld => "too_old",
            SkipReason::FutureDate => "future_date",
            SkipReason::NoSubnet => "no_subnet",
            SkipReason::AnalysisFailed => "analysis_failed",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The checks that need no analysis, in order; `seen` is consulted when given.
pub fn precheck(post: &ScrapedPost, now: i64, seen: Option<&SeenSet>) -> Result<(), SkipReason> {
    if seen.is_some_and(|seen| seen.contains(&post.id)) {
        return Err(SkipReason::Seen);
    }
    if post.is_retweet {
        return Err(SkipReason::Retweet);
    }
    if post.lang.as_deref().is_some_and(|lang| lang != "en") {
        return Err(SkipReason::NotEnglish);
    }
    let bad_id =
        !post.id.is_empty() && protocol::post_id::parse_canonical_post_id(&post.id).is_err();
    if bad_id || post.author.is_empty() {
        return Err(SkipReason::Incomplete);
    }
    if normalize_content(&post.text).is_empty() {
        return Err(SkipReason::EmptyContent);
    }
    let age = now.saturating_sub(post.created_at);
    if age > SEARCH_WINDOW.as_secs() as i64 {
        return Err(SkipReason::TooOld);
    }
    if age < -MAX_FUTURE_SECS {
        return Err(SkipReason::FutureDate);
    }
    Ok(())
}

/// A post worth submitting, with its subnet and score (before sentiment).
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The post.
    pub post: ScrapedPost,
    /// The subnet it is about.
    pub subnet: SubnetMatch,
    /// Its score at screening time.
    pub score: ScoreBreakdown,
}

/// Screens one post at `now`: the prechecks, then subnet matching and scoring.
pub fn screen(
    analyzer: &Analyzer,
    post: &ScrapedPost,
    now: i64,
    seen: Option<&SeenSet>,
) -> Result<Candidate, SkipReason> {
    precheck(post, now, seen)?;
    let relevance = analyzer.relevance(&post.text);
    let subnet = relevance.best().cloned().ok_or(SkipReason::NoSubnet)?;
    let score = score_post(
        relevance.tokens().into_values(),
        &post.input().engagement(),
        post.created_at,
        now,
    );
    Ok(Candidate {
        post: post.clone(),
        subnet,
        score,
    })
}

/// The submission order: higher score first; among equal scores the newer post, then the
/// higher id, so the order never depends on the order X answered in.
pub fn submission_order(a: (f64, i64, &str), b: (f64, i64, &str)) -> Ordering {
    let id = |raw: &str| (raw.len(), raw.to_owned());
    b.0.total_cmp(&a.0)
        .then(b.1.cmp(&a.1))
        .then_with(|| id(b.2).cmp(&id(a.2)))
}

/// Sorts candidates into submission order.
pub fn rank(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        submission_order(
            (a.score.total, a.post.created_at, &a.post.id),
            (b.score.total, b.post.created_at, &b.post.id),
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_115_200;

    fn post(id: &str, text: &str, age_secs: i64, likes: u64) -> ScrapedPost {
        ScrapedPost {
            id: id.into(),
            text: text.into(),
            author: "alice".into(),
            created_at: NOW - age_secs,
            account_age_days: 100,
            likes,
            followers: 1000,
            lang: Some("en".into()),
            ..ScrapedPost::default()
        }
    }

    fn reason(post: ScrapedPost) -> Option<SkipReason> {
        screen(&Analyzer::default(), &post, NOW, None).err()
    }

    #[test]
    fn each_reason_to_skip_is_recognised() {
        let ok = post("11", "SN45 shipped a new release", 3600, 5);
        assert_eq!(reason(ok.clone()), None);
        assert_eq!(
            reason(ScrapedPost {
                is_retweet: true,
                ..ok.clone()
            }),
            Some(SkipReason::Retweet)
        );
        assert_eq!(
            reason(ScrapedPost {
                lang: Some("es".into()),
                ..ok.clone()
            }),
            Some(SkipReason::NotEnglish)
        );
        assert_eq!(
            reason(ScrapedPost {
                id: "011".into(),
                ..ok.clone()
            }),
            Some(SkipReason::Incomplete)
        );
        assert_eq!(
            reason(ScrapedPost {
                text: " \u{1f}\r\n\t\u{a0}".into(),
                ..ok.clone()
            }),
            Some(SkipReason::EmptyContent)
        );
        assert_eq!(
            reason(post("12", "SN45 shipped", 72 * 3600 + 1, 5)),
            Some(SkipReason::TooOld)
        );
        assert_eq!(reason(post("13", "SN45 shipped", 72 * 3600, 5)), None);
        assert_eq!(
            reason(post("14", "SN45 shipped", -61, 5)),
            Some(SkipReason::FutureDate)
        );
        assert_eq!(reason(post("15", "SN45 shipped", -60, 5)), None);
        assert_eq!(
            reason(post("16", "lovely weather", 3600, 5)),
            Some(SkipReason::NoSubnet)
        );
    }

    #[test]
    fn seen_posts_are_skipped_first() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = SeenSet::open(dir.path(), "5Hotkey", NOW).unwrap();
        seen.mark(
            "11",
            crate::seen::SeenEntry {
                date: NOW,
                outcome: crate::seen::SeenOutcome::New,
                marked_at: NOW,
            },
            NOW,
        )
        .unwrap();
        let retweet = ScrapedPost {
            is_retweet: true,
            ..post("11", "SN45", 60, 0)
        };
        assert_eq!(precheck(&retweet, NOW, Some(&seen)), Err(SkipReason::Seen));
        assert_eq!(
            precheck(&post("12", "SN45", 60, 0), NOW, Some(&seen)),
            Ok(())
        );
    }

    #[test]
    fn candidates_rank_by_score_then_newest_then_highest_id() {
        let analyzer = Analyzer::default();
        let screened = |p| screen(&analyzer, &p, NOW, None).unwrap();
        let mut candidates = vec![
            screened(post("21", "SN45 steady", 7200, 10)),
            screened(post("22", "SN45 steady", 7200, 4000)),
            screened(post("23", "SN45 steady", 3600, 10)),
            screened(post("24", "SN45 steady", 7200, 10)),
        ];
        rank(&mut candidates);
        let order: Vec<&str> = candidates.iter().map(|c| c.post.id.as_str()).collect();
        assert_eq!(order, ["22", "23", "24", "21"]);
        assert_eq!(candidates[0].subnet.id, 45);
    }
}
