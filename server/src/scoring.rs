//! A miner's window score, from the shared scoring library.
//!
//! score = max(0, reward - debit), where
//! - the reward is the mean of the server's own score of each post the miner had accepted in
//!   the window (the formula miners use, computed from the stored fields at the time of
//!   acceptance; quotes are not submitted, so they count as 0), each times its credit
//!   share. Hotkeys that submit the same post in the same window share its score equally
//!   (racing to be first earns nothing, and a cheater who submits a post first cannot take
//!   it from the honest miners who also found it); a post another hotkey had submitted in an
//!   earlier window is a copy (the leaderboard is public only once a window is final), and a
//!   post whose failure counts in the window failed: both stay in the mean with a score of 0.
//!   Submissions whose validation failed take no share and make nothing a copy;
//! - the debit charges each failure counted in the last [`HORIZON_WINDOWS`] windows (this one
//!   included) its cost in post credits, spread over the posts the miner had accepted in
//!   those windows: `debit = sum of costs / posts`. A failure stays in the horizon for
//!   [`HORIZON_WINDOWS`] windows, so in total it takes `cost` times the share of a window one
//!   of the miner's posts earns: `cost` post credits, whatever the miner's volume.
//!
//! What a failure costs depends on what X said. X answers alike for a post its author
//! deleted after an honest miner scraped it and for an id that never existed, so a failure
//! whose verdicts all say `post_not_found` or `post_unavailable` costs
//! [`DEFAULT_MISSING_POST_COST`] credits; any other failure (inflated counts, edited text,
//! claimed subnets, ...) is something X tells apart from honest mining and costs
//! [`DEFAULT_FAILURE_COST`]. A post earns at most 1 credit, and at the default sampling
//! `s = 0.2` a cheat goes unchecked `(1 - s) / s = 4` times for each time it is checked, so
//! with either cost above 4 the expected credit of a cheat, at most `(1 - s) - s x cost`, is
//! below 0: below any real post. A cost linear in the failures costs an honest miner that
//! loses a share `d` of its posts to deletion about `d x s x (cost + its mean post score)`
//! credits per post (9% of a typical score at `d` = 3%), where a tenth of the window and
//! twelve windows of lowered credibility per failure cost it 18%. The simulation in this
//! module's tests checks every cheat at every rate (docs/protocol.md#credibility).
//!
//! Credibility, `1 - debit` clamped to [0, 1], is the part of a perfect score the miner's
//! recent failures leave: `score = max(0, reward + credibility - 1)`.
//!
//! Inconclusive verdicts never count. A failure counts in the window of its post when it is
//! decided before that window's grace ends (`SCORES_GRACE_BLOCKS` after its last block),
//! otherwise in the window in which it is decided: either way exactly once, and a window's
//! scores are published only when final, so they never change. A failure counted after its
//! post's window costs one credit more, the most that window can have paid for the post.

use std::collections::BTreeMap;

use analyzer::scoring::{Engagement, clamp01, score_post};

/// Windows a failure weighs on: the window it counts in and the following ones, until
/// `HORIZON_WINDOWS` windows in all.
pub const HORIZON_WINDOWS: u64 = 12;

/// Default cost, in post credits, of a failure X tells apart from honest mining
/// (`FAILURE_COST`).
pub const DEFAULT_FAILURE_COST: f64 = 20.0;

/// Default cost, in post credits, of a failure whose verdicts all say the post is missing
/// on X (`post_not_found`, `post_unavailable`): deleted or made private by its author, or
/// never there (`MISSING_POST_COST`).
pub const DEFAULT_MISSING_POST_COST: f64 = 6.0;

/// The validation codes of a post X reports missing: its author may have deleted it, or
/// made it private, after an honest miner scraped it.
pub const MISSING_POST_CODES: [&str; 2] = ["post_not_found", "post_unavailable"];

/// The rules a window score follows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoringRules {
    /// Post credits a failure costs (`FAILURE_COST`).
    pub failure_cost: f64,
    /// Post credits a failure costs when X reports the post missing (`MISSING_POST_COST`).
    pub missing_post_cost: f64,
    /// Windows a failure weighs on ([`HORIZON_WINDOWS`]).
    pub horizon_windows: u64,
}

impl Default for ScoringRules {
    fn default() -> Self {
        Self::new(DEFAULT_FAILURE_COST, DEFAULT_MISSING_POST_COST)
    }
}

impl ScoringRules {
    /// The server's rules with these costs.
    pub fn new(failure_cost: f64, missing_post_cost: f64) -> Self {
        Self {
            failure_cost,
            missing_post_cost,
            horizon_windows: HORIZON_WINDOWS,
        }
    }

    /// The oldest window whose failures and posts still weigh on `window`'s scores.
    pub fn first_window_weighing_on(&self, window: u64) -> u64 {
        window.saturating_sub(self.horizon_windows.max(1) - 1)
    }

    /// What `failure` costs, in post credits: one more when it counts after its post's own
    /// window, whose published score paid that post (at most 1 credit) in full.
    pub fn cost(&self, failure: &CountedFailure) -> f64 {
        let cost = if failure.post_missing {
            self.missing_post_cost
        } else {
            self.failure_cost
        };
        let cost = if cost.is_finite() { cost.max(0.0) } else { 0.0 };
        if failure.late { cost + 1.0 } else { cost }
    }
}

/// A failure counted in a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CountedFailure {
    /// The window it counts in.
    pub window: u64,
    /// Whether every failing verdict said X reports the post missing ([`MISSING_POST_CODES`]).
    pub post_missing: bool,
    /// Whether it counts in a later window than its post's (it was decided after its post's
    /// window was final), so its post was paid in that window.
    pub late: bool,
}

/// What a miner did in the windows that weigh on a window's score before that window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinerRecord {
    /// Its failures counted from [`ScoringRules::first_window_weighing_on`] to the window
    /// scored, that window included.
    pub failures: Vec<CountedFailure>,
    /// Its posts accepted from [`ScoringRules::first_window_weighing_on`] to the window
    /// before the one scored.
    pub earlier_posts: u64,
}

/// The debit of a miner in `window`: the cost of its failures counted in the horizon, over
/// its posts accepted in it (at least 1). Failures outside the horizon cost nothing.
pub fn debit(window: u64, record: &MinerRecord, posts_in_window: u64, rules: &ScoringRules) -> f64 {
    let first = rules.first_window_weighing_on(window);
    let cost: f64 = record
        .failures
        .iter()
        .filter(|f| (first..=window).contains(&f.window))
        .map(|f| rules.cost(f))
        .sum();
    cost / record.earlier_posts.saturating_add(posts_in_window).max(1) as f64
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
    /// True when the post's own failure counts in this window.
    pub failed: bool,
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
    /// The share of the reward the debit leaves, `score / reward` (1 with no debit, or no
    /// reward).
    pub penalty_factor: f64,
    /// `1 - debit`, in [0, 1]: 1 when no failure weighs on the window.
    pub credibility: f64,
    /// Posts that were copies of another hotkey's earlier submission, scored 0.
    pub copies: i64,
}

impl WindowScore {
    /// Whether the miner was penalised in this window: a failure in the horizon weighs on it.
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
/// `records` maps a miner to its failures and earlier posts in the horizon (a miner absent
/// from it has none).
pub fn window_scores(
    window: u64,
    posts: &[PostForScore],
    records: &BTreeMap<String, MinerRecord>,
    rules: &ScoringRules,
) -> Vec<WindowScore> {
    let mut per_miner: BTreeMap<&str, (Vec<f64>, i64)> = BTreeMap::new();
    for post in posts {
        let entry = per_miner.entry(&post.miner_hotkey).or_default();
        let share = post.credit_share.clamp(0.0, 1.0);
        if share == 0.0 {
            entry.0.push(0.0);
            entry.1 += 1;
        } else if post.failed {
            entry.0.push(0.0);
        } else {
            entry.0.push(clamp01(post_score(post)) * share);
        }
    }
    for (miner, record) in records {
        if record.failures.iter().any(|f| f.window == window) {
            per_miner.entry(miner).or_default();
        }
    }
    let none = MinerRecord::default();
    per_miner
        .into_iter()
        .map(|(miner, (scores, copies))| {
            let reward = if scores.is_empty() {
                0.0
            } else {
                clamp01(scores.iter().sum::<f64>() / scores.len() as f64)
            };
            let record = records.get(miner).unwrap_or(&none);
            let failed = record
                .failures
                .iter()
                .filter(|f| f.window == window)
                .count();
            let debit = debit(window, record, scores.len() as u64, rules);
            let score = clamp01(reward - debit);
            WindowScore {
                miner_hotkey: miner.to_string(),
                score,
                reward,
                posts: scores.len() as i64,
                failed_validations: failed as i64,
                penalty_factor: if reward > 0.0 { score / reward } else { 1.0 },
                credibility: clamp01(1.0 - debit),
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
            failed: false,
        }
    }

    const W: u64 = 20;

    fn rules() -> ScoringRules {
        ScoringRules::default()
    }

    fn missing(window: u64) -> CountedFailure {
        CountedFailure {
            window,
            post_missing: true,
            late: false,
        }
    }

    fn mismatch(window: u64) -> CountedFailure {
        CountedFailure {
            window,
            post_missing: false,
            late: false,
        }
    }

    fn record(failures: Vec<CountedFailure>, earlier_posts: u64) -> MinerRecord {
        MinerRecord {
            failures,
            earlier_posts,
        }
    }

    #[test]
    fn the_signal_leaves_out_a_missing_post_by_the_same_codes() {
        // pulse_signal_aggregate spells the codes out in SQL: keep the two lists one.
        let sql = include_str!("../../migrations/0013_signal_missing_posts.sql");
        let list = MISSING_POST_CODES.map(|c| format!("'{c}'")).join(", ");
        assert!(sql.contains(&format!("in ({list})")), "{list}");
    }

    #[test]
    fn hotkeys_submitting_a_post_in_the_same_window_share_its_score() {
        let mut shared = post("a", 5000);
        shared.credit_share = 0.5;
        let alone = window_scores(W, &[post("a", 5000)], &BTreeMap::new(), &rules());
        let scores = window_scores(W, &[shared], &BTreeMap::new(), &rules());
        assert!((scores[0].reward - alone[0].reward / 2.0).abs() < 1e-12);
        assert_eq!(scores[0].copies, 0);
    }

    #[test]
    fn the_reward_is_the_mean_post_score_with_failed_posts_and_copies_at_zero() {
        // relevance 1 -> 0.5; value = mean(likes/5000, 0, 0, 0, 0); recency = 1 - 1/24.
        let expected = |likes: f64| 0.5 + 0.4 * (likes / 5000.0) / 5.0 + 0.1 * (1.0 - 1.0 / 24.0);
        let mut failed = post("b", 5000);
        failed.failed = true;
        let mut copy = post("b", 5000);
        copy.credit_share = 0.0;
        let posts = [post("a", 0), post("a", 5000), post("b", 2500), failed, copy];
        let scores = window_scores(W, &posts, &BTreeMap::new(), &rules());
        assert_eq!(scores.len(), 2);
        let (a, b) = (&scores[0], &scores[1]);
        assert!((a.reward - (expected(0.0) + expected(5000.0)) / 2.0).abs() < 1e-12);
        assert_eq!(
            (a.score, a.posts, a.failed_validations, a.penalty_factor),
            (a.reward, 2, 0, 1.0)
        );
        assert!((b.reward - expected(2500.0) / 3.0).abs() < 1e-12);
        assert_eq!((b.posts, b.copies), (3, 1));
        assert!(!a.penalised() && !b.penalised());
    }

    #[test]
    fn a_failure_costs_its_credits_spread_over_the_posts_of_the_horizon() {
        let posts: Vec<_> = (0..5).map(|_| post("a", 5000)).collect();
        let reward = post_score(&posts[0]);
        // 55 posts in the eleven windows before, 5 in this one: 60 posts bear the cost.
        for (failure, cost) in [
            (missing(W), DEFAULT_MISSING_POST_COST),
            (mismatch(W - 11), DEFAULT_FAILURE_COST),
        ] {
            let records = BTreeMap::from([("a".to_string(), record(vec![failure], 55))]);
            let s = &window_scores(W, &posts, &records, &rules())[0];
            let debit = cost / 60.0;
            assert!((s.score - (reward - debit)).abs() < 1e-12, "{s:?}");
            assert!((s.credibility - (1.0 - debit)).abs() < 1e-12);
            assert!((s.penalty_factor - s.score / reward).abs() < 1e-12);
            assert_eq!(s.failed_validations, i64::from(failure.window == W));
            assert!(s.penalised());
        }
        // A failure decided after its post's window was final also takes back the credit
        // that window paid the post.
        let late = CountedFailure {
            late: true,
            ..missing(W)
        };
        assert_eq!(rules().cost(&late), DEFAULT_MISSING_POST_COST + 1.0);
        // Twelve windows later the failure weighs no more.
        let records = BTreeMap::from([("a".to_string(), record(vec![missing(W - 12)], 55))]);
        let s = &window_scores(W, &posts, &records, &rules())[0];
        assert_eq!((s.score, s.credibility), (reward, 1.0));
    }

    #[test]
    fn over_its_horizon_a_failure_costs_its_credits_in_post_shares_of_a_window() {
        // A miner with n posts a window: each post is 1/n of a window's reward, and the
        // debits of one failure over the windows it weighs on add up to cost / n.
        for n in [1_u64, 3, 5] {
            let total: f64 = (W..W + HORIZON_WINDOWS)
                .map(|w| {
                    let earlier = n * (w - rules().first_window_weighing_on(w));
                    debit(w, &record(vec![missing(W)], earlier), n, &rules())
                })
                .sum();
            assert!(
                (total - DEFAULT_MISSING_POST_COST / n as f64).abs() < 1e-12,
                "{n}: {total}"
            );
        }
    }

    #[test]
    fn a_miner_with_only_failures_scores_zero_and_debits_never_go_below_zero() {
        let records = BTreeMap::from([("c".to_string(), record(vec![missing(W), mismatch(W)], 0))]);
        let scores = window_scores(W, &[], &records, &rules());
        let c = &scores[0];
        assert_eq!(
            (c.score, c.posts, c.failed_validations, c.credibility),
            (0.0, 0, 2, 0.0)
        );
        let records = BTreeMap::from([("a".to_string(), record(vec![mismatch(W - 1)], 0))]);
        let a = &window_scores(W, &[post("a", 5000)], &records, &rules())[0];
        assert_eq!((a.score, a.penalty_factor, a.credibility), (0.0, 0.0, 0.0));
    }

    #[test]
    fn scores_stay_finite_and_in_range_for_extreme_inputs() {
        let mut extreme = post("d", i64::MAX);
        extreme.followers = i64::MAX;
        extreme.date = i64::MIN / 2;
        extreme.tokens.insert("x".into(), f64::MAX);
        let strange = [
            ScoringRules::new(f64::NAN, f64::INFINITY),
            ScoringRules::new(-1.0, f64::MAX),
            ScoringRules {
                horizon_windows: 0,
                ..rules()
            },
        ];
        let records = BTreeMap::from([("d".to_string(), record(vec![missing(W)], u64::MAX - 1))]);
        for rules in strange {
            for s in window_scores(W, &[extreme.clone(), post("d", -5)], &records, &rules) {
                for x in [s.score, s.reward, s.penalty_factor, s.credibility] {
                    assert!(x.is_finite() && (0.0..=1.0).contains(&x), "{s:?}");
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "scoring_simulation.rs"]
mod simulation;
