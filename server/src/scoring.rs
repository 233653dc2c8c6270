//! A miner's window score, from the shared scoring library.
//!
//! score = reward x penalty factor x credibility, where
//! - the reward is the mean of the server's own score of each post the miner had accepted in
//!   the window (the formula miners use, computed from the stored fields at the time of
//!   acceptance; quotes are not submitted, so they count as 0), each times its credit
//!   share: hotkeys that submit the same post in the same window share its score equally
//!   (racing to be first earns nothing, and a cheater who submits a post first cannot take
//!   it from the honest miners who also found it); a post another hotkey had submitted in
//!   an earlier window is a copy and scores 0, so copying others' finds (the leaderboard is
//!   public only once a window is final) never pays. Submissions whose validation failed
//!   take no share and make nothing a copy;
//! - the penalty takes away `1 - FAILED_VALIDATION_FACTOR` (0.9 by default, so the score is
//!   multiplied by 0.1) when any validation failure counts in the window;
//! - credibility carries a failure into the following windows: a failure counted in window
//!   `w` multiplies the score of window `W > w` by `(W - w) / CREDIBILITY_WINDOWS` until
//!   `W - w` reaches [`CREDIBILITY_WINDOWS`], and several failures multiply. A failure thus
//!   costs about `0.9 + (CREDIBILITY_WINDOWS - 1) / 2` windows of the miner's score, which at
//!   the default 20% sampling is more than any unchecked cheat earns (the simulation in this
//!   module's tests shows it for each strategy and cheating rate).
//!
//! Inconclusive verdicts never count. A failure counts in the window of its post when it is
//! decided before that window's grace ends (`SCORES_GRACE_BLOCKS` after its last block),
//! otherwise in the window in which it is decided: either way exactly once, and a window's
//! scores are published only when final, so they never change.

use std::collections::BTreeMap;

use analyzer::scoring::{Engagement, Penalty, Reward, clamp01, combine, score_post};

/// Windows over which a failure's credibility loss fades: in the window after the failure's,
/// the score is multiplied by `1 / CREDIBILITY_WINDOWS`, then `2 / CREDIBILITY_WINDOWS`, ...
pub const CREDIBILITY_WINDOWS: u64 = 12;

/// The rules a window score follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoringRules {
    /// Factor the score is multiplied by when a failure counts in the window.
    pub failed_factor: f64,
    /// Windows over which a failure's credibility loss fades; 0 keeps no credibility (a
    /// failure costs only its own window, the rule before credibility existed).
    pub credibility_windows: u64,
    /// Whether every submission of a post earns its full score, whoever else submitted it
    /// (the rule before posts were credited once).
    pub credit_copies: bool,
}

impl ScoringRules {
    /// The server's rules with `failed_factor` (`FAILED_VALIDATION_FACTOR`).
    pub fn new(failed_factor: f64) -> Self {
        Self {
            failed_factor,
            credibility_windows: CREDIBILITY_WINDOWS,
            credit_copies: false,
        }
    }

    /// The rules before credibility and once-only credit: a failure cost its own window only
    /// and every copy of a post earned in full. Kept to compare the two in the simulation.
    pub fn without_credibility(failed_factor: f64) -> Self {
        Self {
            failed_factor,
            credibility_windows: 0,
            credit_copies: true,
        }
    }

    /// The oldest window whose failures still weigh on `window`'s scores.
    pub fn first_window_weighing_on(&self, window: u64) -> u64 {
        window.saturating_sub(self.credibility_windows.saturating_sub(1))
    }
}

/// A miner's credibility in `window`, given the windows its failures counted in (failures
/// counted in `window` itself or later do not lower it: they are that window's penalty).
pub fn credibility(window: u64, failure_windows: &[u64], credibility_windows: u64) -> f64 {
    if credibility_windows == 0 {
        return 1.0;
    }
    failure_windows
        .iter()
        .filter(|&&w| w < window)
        .map(|&w| ((window - w) as f64 / credibility_windows as f64).min(1.0))
        .product()
}

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
    /// The share of its score this submission earns: `1 / n` when `n` hotkeys (this one
    /// included) submitted the post in this window and none in an earlier one, 0 when
    /// another hotkey submitted it in an earlier window (a copy). Submissions that failed
    /// validation are not counted among the others.
    pub credit_share: f64,
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
    /// The miner's credibility in the window (1 when no recent failure weighs on it).
    pub credibility: f64,
    /// Posts that were copies of another hotkey's submission in an earlier window, scored 0.
    pub copies: i64,
}

impl WindowScore {
    /// Whether the miner was penalised in this window: a failure counted in it, or an earlier
    /// failure still lowers its credibility.
    pub fn penalised(&self) -> bool {
        self.penalty_factor < 1.0 || self.credibility < 1.0
    }
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

/// Every miner's score in `window`: those with posts in it, and those with only failures
/// counted in it (who score 0).
///
/// `failures` maps a miner to the window each of its failures counted in, for failures
/// counted from [`ScoringRules::first_window_weighing_on`] to `window`; those counted in
/// `window` are its penalty there, the earlier ones lower its credibility.
pub fn window_scores(
    window: u64,
    posts: &[PostForScore],
    failures: &BTreeMap<String, Vec<u64>>,
    rules: &ScoringRules,
) -> Vec<WindowScore> {
    let mut per_miner: BTreeMap<&str, (Vec<f64>, i64)> = BTreeMap::new();
    for post in posts {
        let entry = per_miner.entry(&post.miner_hotkey).or_default();
        let share = if rules.credit_copies {
            1.0
        } else {
            post.credit_share.clamp(0.0, 1.0)
        };
        entry.0.push(post_score(post) * share);
        if share == 0.0 {
            entry.1 += 1;
        }
    }
    for (miner, windows) in failures {
        if windows.contains(&window) {
            per_miner.entry(miner).or_default();
        }
    }
    per_miner
        .into_iter()
        .map(|(miner, (scores, copies))| {
            let reward = if scores.is_empty() {
                0.0
            } else {
                scores.iter().sum::<f64>() / scores.len() as f64
            };
            let counted: &[u64] = failures.get(miner).map_or(&[], Vec::as_slice);
            let failed = counted.iter().filter(|&&w| w == window).count();
            let credibility = credibility(window, counted, rules.credibility_windows);
            let penalty = Penalty::new(
                "failed_validation",
                1.0 - rules.failed_factor,
                if failed > 0 { 1.0 } else { 0.0 },
            );
            let low_credibility = Penalty::new("credibility", 1.0, 1.0 - credibility);
            let score = combine(
                &[Reward::new("post_quality", 1.0, reward)],
                &[penalty, low_credibility],
            );
            WindowScore {
                miner_hotkey: miner.to_string(),
                score,
                reward: clamp01(reward),
                posts: scores.len() as i64,
                failed_validations: failed as i64,
                penalty_factor: penalty.factor(),
                credibility: low_credibility.factor(),
                copies,
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
            credit_share: 1.0,
        }
    }

    const W: u64 = 10;

    fn rules() -> ScoringRules {
        ScoringRules::new(0.1)
    }

    #[test]
    fn the_reward_is_the_mean_post_score_and_a_failure_multiplies_it_by_the_factor() {
        // relevance 1 -> 0.5; value = mean(likes/5000, 0, 0, 0, 0); recency = 1 - 1/24.
        let expected = |likes: f64| 0.5 + 0.4 * (likes / 5000.0) / 5.0 + 0.1 * (1.0 - 1.0 / 24.0);
        let posts = [post("a", 0), post("a", 5000), post("b", 2500)];
        let failures = BTreeMap::from([("b".to_string(), vec![W])]);
        let scores = window_scores(W, &posts, &failures, &rules());
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
        let failures = BTreeMap::from([("c".to_string(), vec![W, W])]);
        let scores = window_scores(W, &[], &failures, &rules());
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
        for s in window_scores(W, &[extreme, post("d", -5)], &BTreeMap::new(), &rules()) {
            assert!(
                s.score.is_finite() && (0.0..=1.0).contains(&s.score),
                "{s:?}"
            );
        }
    }

    #[test]
    fn a_failure_lowers_credibility_for_the_following_windows_and_failures_multiply() {
        let r = CREDIBILITY_WINDOWS;
        assert_eq!(
            credibility(W, &[W], r),
            1.0,
            "its own window is the penalty's"
        );
        assert!((credibility(W + 1, &[W], r) - 1.0 / r as f64).abs() < 1e-12);
        assert!((credibility(W + 3, &[W], r) - 3.0 / r as f64).abs() < 1e-12);
        assert_eq!(credibility(W + r, &[W], r), 1.0);
        let two = credibility(W + 2, &[W, W + 1], r);
        assert!((two - (2.0 / r as f64) * (1.0 / r as f64)).abs() < 1e-12);
        assert_eq!(
            credibility(W + 1, &[W], 0),
            1.0,
            "0 windows: no credibility"
        );

        let posts = [post("a", 5000)];
        let failures = BTreeMap::from([("a".to_string(), vec![W - 2])]);
        let scores = window_scores(W, &posts, &failures, &rules());
        let a = &scores[0];
        assert_eq!((a.failed_validations, a.penalty_factor), (0, 1.0));
        assert!((a.credibility - 2.0 / r as f64).abs() < 1e-12);
        assert!((a.score - a.reward * a.credibility).abs() < 1e-12);
        assert!(a.penalised());
        let before = window_scores(
            W,
            &posts,
            &failures,
            &ScoringRules::without_credibility(0.1),
        );
        assert_eq!(before[0].score, before[0].reward);
        assert!(!before[0].penalised());
    }

    #[test]
    fn hotkeys_submitting_a_post_in_the_same_window_share_its_score() {
        let mut shared = post("a", 5000);
        shared.credit_share = 0.5;
        let scores = window_scores(W, &[shared.clone()], &BTreeMap::new(), &rules());
        assert!((scores[0].reward - post_score(&shared) / 2.0).abs() < 1e-12);
        assert_eq!(scores[0].copies, 0);
        let before = window_scores(
            W,
            &[shared.clone()],
            &BTreeMap::new(),
            &ScoringRules::without_credibility(0.1),
        );
        assert!((before[0].reward - post_score(&shared)).abs() < 1e-12);
    }

    #[test]
    fn a_copy_of_another_hotkeys_post_scores_zero_in_the_mean() {
        let mut copy = post("b", 5000);
        copy.credit_share = 0.0;
        let posts = [post("a", 5000), copy.clone(), post("b", 0)];
        let scores = window_scores(W, &posts, &BTreeMap::new(), &rules());
        let (a, b) = (&scores[0], &scores[1]);
        assert_eq!((b.posts, b.copies), (2, 1));
        assert!((b.reward - post_score(&post("b", 0)) / 2.0).abs() < 1e-12);
        assert!(a.reward > b.reward * 2.0);
        let before = window_scores(
            W,
            &posts,
            &BTreeMap::new(),
            &ScoringRules::without_credibility(0.1),
        );
        assert!(
            (before[1].reward - (post_score(&copy) + post_score(&post("b", 0))) / 2.0).abs()
                < 1e-12
        );
    }
}

#[cfg(test)]
#[path = "scoring_simulation.rs"]
mod simulation;
