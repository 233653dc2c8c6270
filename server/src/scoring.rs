//! A miner's window score, from the shared scoring library.
//!
//! score = reward x penalty factor, where
//! - the reward is the mean of the server's own score of each post the miner had accepted in
//!   the window (the formula miners use, computed from the stored fields at the time of
//!   acceptance; quotes are not submitted, so they count as 0);
//! - the penalty takes away `1 - FAILED_VALIDATION_FACTOR` (0.9 by default, so the score is
//!   multiplied by 0.1) when any validation failure counts in the window.
//!
//! Inconclusive verdicts never count. A failure counts in the window of its post when it is
//! decided before that window's scores are published, otherwise in the window in which it
//! is decided: either way exactly once, and a published window never changes.

use std::collections::BTreeMap;

use analyzer::scoring::{Engagement, Penalty, Reward, combine, score_post};

/// A stored post, as much as scoring needs.
#[derive(Debug, Clone, PartialEq)]
pub struct PostForScore {
    /// Its miner.
    pub miner_hotkey: String,
    /// Creation time, Unix seconds.
    pub date: i64,
    /// Likes.
    pub likes: i64,
    /// Retweets.
    pub retweets: i64,
    /// Replies.
    pub replies: i64,
    /// Author followers.
    pub followers: i64,
    /// Subnet relevance as submitted.
    pub tokens: BTreeMap<String, f64>,
    /// Acceptance time, Unix seconds: the "now" of its recency.
    pub accepted_unix: i64,
}

/// One miner's score in one window, with its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowScore {
    /// The miner.
    pub miner_hotkey: String,
    /// The score, in [0, 1].
    pub score: f64,
    /// The reward part.
    pub reward: f64,
    /// Posts accepted in the window.
    pub posts: i64,
    /// Failures counted in the window.
    pub failed_validations: i64,
    /// Factor the failures applied (1 when none).
    pub penalty_factor: f64,
}

fn count(n: i64) -> u64 {
    n.max(0) as u64
}

/// The server's own score of a stored post.
pub fn post_score(post: &PostForScore) -> f64 {
    let engagement = Engagement {
        likes: count(post.likes),
        retweets: count(post.retweets),
        quotes: 0,
        replies: count(post.replies),
        followers: count(post.followers),
    };
    score_post(
        post.tokens.values().copied(),
        &engagement,
        post.date,
        post.accepted_unix,
    )
    .total
}

/// Every miner's score in a window: those with posts in it, and those with only failures
/// counted in it (who score 0).
pub fn window_scores(
    posts: &[PostForScore],
    failures: &BTreeMap<String, u32>,
    failed_factor: f64,
) -> Vec<WindowScore> {
    let mut per_miner: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for post in posts {
        per_miner
            .entry(&post.miner_hotkey)
            .or_default()
            .push(post_score(post));
    }
    for miner in failures.keys() {
        per_miner.entry(miner).or_default();
    }
    per_miner
        .into_iter()
        .map(|(miner, scores)| {
            let reward = if scores.is_empty() {
                0.0
            } else {
                scores.iter().sum::<f64>() / scores.len() as f64
            };
            let failed = failures.get(miner).copied().unwrap_or(0);
            let penalty = Penalty::new(
                "failed_validation",
                1.0 - failed_factor,
                if failed > 0 { 1.0 } else { 0.0 },
            );
            let score = combine(&[Reward::new("post_quality", 1.0, reward)], &[penalty]);
            WindowScore {
                miner_hotkey: miner.to_string(),
                score,
                reward: analyzer::scoring::clamp01(reward),
                posts: scores.len() as i64,
                failed_validations: i64::from(failed),
                penalty_factor: penalty.factor(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_120_000;

    fn post(miner: &str, likes: i64) -> PostForScore {
        PostForScore {
            miner_hotkey: miner.into(),
            date: NOW - 3600,
            likes,
            retweets: 0,
            replies: 0,
            followers: 0,
            tokens: [("apex".to_string(), 1.0)].into_iter().collect(),
            accepted_unix: NOW,
        }
    }

    #[test]
    fn the_reward_is_the_mean_post_score_and_a_failure_multiplies_it_by_the_factor() {
        // relevance 1 -> 0.5; value = mean(likes/5000, 0, 0, 0, 0); recency = 1 - 1/24.
        let expected = |likes: f64| 0.5 + 0.4 * (likes / 5000.0) / 5.0 + 0.1 * (1.0 - 1.0 / 24.0);
        let posts = [post("a", 0), post("a", 5000), post("b", 2500)];
        let failures = BTreeMap::from([("b".to_string(), 1)]);
        let scores = window_scores(&posts, &failures, 0.1);
        assert_eq!(scores.len(), 2);
        let a = &scores[0];
        assert!((a.reward - (expected(0.0) + expected(5000.0)) / 2.0).abs() < 1e-12);
        assert_eq!(
            (a.score, a.posts, a.failed_validations, a.penalty_factor),
            (a.reward, 2, 0, 1.0)
        );
        let b = &scores[1];
        assert!((b.reward - expected(2500.0)).abs() < 1e-12);
        assert!((b.penalty_factor - 0.1).abs() < 1e-12);
        assert!((b.score - b.reward * 0.1).abs() < 1e-12);
    }

    #[test]
    fn a_miner_with_only_a_failure_scores_zero() {
        let failures = BTreeMap::from([("c".to_string(), 2)]);
        let scores = window_scores(&[], &failures, 0.1);
        assert_eq!(
            (
                scores[0].score,
                scores[0].posts,
                scores[0].failed_validations
            ),
            (0.0, 0, 2)
        );
    }

    #[test]
    fn scores_stay_finite_and_in_range_for_extreme_inputs() {
        let mut extreme = post("d", i64::MAX);
        extreme.followers = i64::MAX;
        extreme.date = i64::MIN / 2;
        extreme.tokens.insert("x".into(), f64::MAX);
        for s in window_scores(&[extreme, post("d", -5)], &BTreeMap::new(), 0.1) {
            assert!(
                s.score.is_finite() && (0.0..=1.0).contains(&s.score),
                "{s:?}"
            );
        }
    }
}
