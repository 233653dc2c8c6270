//! Scoring: the post score (docs/protocol.md#post-score), built from rewards that add and penalties that multiply.
//!
//! The arithmetic is the older design's (docs/protocol.md#rewards-and-penalties): a score is the weighted sum of reward
//! values, clamped to [0, 1], times `(1 - penalty)` for each penalty, every penalty clipped to
//! `[0, its max]`. [`Reward`], [`Penalty`] and [`combine`] are that arithmetic alone, so the
//! server and validator can score a miner's window with the same pieces.
//!
//! A post's score (docs/protocol.md#post-score):
//! - rewards: `0.50 × relevance + 0.40 × value + 0.10 × recency`, where relevance is the mean of
//!   the top five token values, value the mean of `likes/5000`, `retweets/1000`, `quotes/300`,
//!   `replies/600` and `followers/200000` (each clamped to [0, 1]), and recency
//!   `1 - age_hours/24` clamped to [0, 1];
//! - penalty `stale` (max 1): 1 when the post is more than ten days old (exactly ten days still
//!   scores, as in the reference's `age_days > 10`);
//! - penalty `future` (max 1): 1 when the post is dated more than [`MAX_FUTURE_SKEW_SECS`]
//!   after `now`. X does not publish posts from the future, so such a date is wrong or forged;
//!   a smaller lead is clock skew between X and the scorer and counts as age 0. The reference
//!   has no such rule and gives any future post full recency.
//!
//! Sums run in the reference's order, so with no penalty the total is bit-identical to the
//! reference's. Every output is finite and in [0, 1] whatever the inputs: NaN values count as
//! 0 for rewards and as the maximum for penalties (nothing is paid on a value that cannot be
//! read).

use serde::Serialize;

/// Weight of relevance in a post's score.
pub const RELEVANCE_WEIGHT: f64 = 0.50;
/// Weight of value (engagement and reach) in a post's score.
pub const VALUE_WEIGHT: f64 = 0.40;
/// Weight of recency in a post's score.
pub const RECENCY_WEIGHT: f64 = 0.10;
/// How many token values the relevance mean takes, highest first.
pub const TOP_TOKENS: usize = 5;
/// Likes at which the likes component saturates.
pub const LIKES_CAP: f64 = 5_000.0;
/// Retweets at which the retweets component saturates.
pub const RETWEETS_CAP: f64 = 1_000.0;
/// Quotes at which the quotes component saturates.
pub const QUOTES_CAP: f64 = 300.0;
/// Replies at which the replies component saturates.
pub const REPLIES_CAP: f64 = 600.0;
/// Author followers at which the followers component saturates.
pub const FOLLOWERS_CAP: f64 = 200_000.0;
/// Age in hours at which recency reaches 0.
pub const RECENCY_HORIZON_HOURS: f64 = 24.0;
/// Oldest a post may be and still score: ten days, in seconds.
pub const MAX_AGE_SECS: i64 = 10 * 24 * 3600;
/// How far in the future a post's date may be (clock skew) before it is implausible.
pub const MAX_FUTURE_SKEW_SECS: i64 = 60;

/// `x` clamped to [0, 1], with NaN as 0.
pub fn clamp01(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) }
}

/// A reward term: a value in [0, 1] and its weight in the sum.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reward {
    /// What is rewarded, for breakdowns and logs.
    pub name: &'static str,
    /// The weight; negative or non-finite weights count as 0.
    pub weight: f64,
    /// The value; clamped to [0, 1], NaN counts as 0.
    pub value: f64,
}

impl Reward {
    /// A reward term.
    pub fn new(name: &'static str, weight: f64, value: f64) -> Self {
        Self {
            name,
            weight,
            value,
        }
    }

    /// `weight × value` after the guards above.
    pub fn contribution(&self) -> f64 {
        let weight = if self.weight.is_finite() {
            self.weight.max(0.0)
        } else {
            0.0
        };
        weight * clamp01(self.value)
    }
}

/// A penalty: a fraction of the score taken away, at most `max`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Penalty {
    /// What is penalised, for breakdowns and logs.
    pub name: &'static str,
    /// The largest fraction this penalty may take, clamped to [0, 1].
    pub max: f64,
    /// The penalty before clipping; NaN counts as `max`.
    pub value: f64,
}

impl Penalty {
    /// A penalty.
    pub fn new(name: &'static str, max: f64, value: f64) -> Self {
        Self { name, max, value }
    }

    /// The penalty clipped to `[0, max]`.
    pub fn applied(&self) -> f64 {
        let max = clamp01(self.max);
        if self.value.is_nan() {
            max
        } else {
            self.value.clamp(0.0, max)
        }
    }

    /// The factor the score is multiplied by: `1 - applied`.
    pub fn factor(&self) -> f64 {
        1.0 - self.applied()
    }
}

/// `clamp01(Σ weight × value) × Π (1 - penalty)`, always finite and in [0, 1].
///
/// Rewards are summed in the order given, so callers keep the reference's order when they
/// need bit-identical results.
pub fn combine(rewards: &[Reward], penalties: &[Penalty]) -> f64 {
    let sum: f64 = rewards.iter().map(Reward::contribution).sum();
    let mut total = clamp01(sum);
    for penalty in penalties {
        total *= penalty.factor();
    }
    clamp01(total)
}

/// The engagement figures of a post and its author.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Engagement {
    /// Likes of the post.
    pub likes: u64,
    /// Retweets of the post.
    pub retweets: u64,
    /// Quote posts of the post.
    pub quotes: u64,
    /// Replies to the post.
    pub replies: u64,
    /// Followers of the author.
    pub followers: u64,
}

/// Each engagement figure divided by its cap and clamped to [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ValueParts {
    /// `likes / 5000`.
    pub likes: f64,
    /// `retweets / 1000`.
    pub retweets: f64,
    /// `quotes / 300`.
    pub quotes: f64,
    /// `replies / 600`.
    pub replies: f64,
    /// `followers / 200000`.
    pub followers: f64,
}

impl ValueParts {
    /// Normalises engagement figures.
    pub fn new(engagement: &Engagement) -> Self {
        let part = |count: u64, cap: f64| clamp01(count as f64 / cap);
        Self {
            likes: part(engagement.likes, LIKES_CAP),
            retweets: part(engagement.retweets, RETWEETS_CAP),
            quotes: part(engagement.quotes, QUOTES_CAP),
            replies: part(engagement.replies, REPLIES_CAP),
            followers: part(engagement.followers, FOLLOWERS_CAP),
        }
    }

    /// The mean of the five parts (the value reward).
    pub fn mean(&self) -> f64 {
        (self.likes + self.retweets + self.quotes + self.replies + self.followers) / 5.0
    }
}

/// Why a post scored what it did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreBreakdown {
    /// Mean of the top five token values.
    pub relevance: f64,
    /// Mean of the normalised engagement figures.
    pub value: f64,
    /// The normalised engagement figures.
    pub value_parts: ValueParts,
    /// `1 - age_hours / 24`, clamped to [0, 1].
    pub recency: f64,
    /// `now - created_at` in seconds; negative for a post dated in the future.
    pub age_secs: i64,
    /// 1 when the post is more than ten days old, else 0.
    pub stale_penalty: f64,
    /// 1 when the post is dated more than the allowed skew in the future, else 0.
    pub future_penalty: f64,
    /// The score submitted: rewards combined with penalties.
    pub total: f64,
}

impl ScoreBreakdown {
    /// The reward terms, in the order they are summed.
    pub fn rewards(&self) -> [Reward; 3] {
        [
            Reward::new("relevance", RELEVANCE_WEIGHT, self.relevance),
            Reward::new("value", VALUE_WEIGHT, self.value),
            Reward::new("recency", RECENCY_WEIGHT, self.recency),
        ]
    }

    /// The penalties.
    pub fn penalties(&self) -> [Penalty; 2] {
        [
            Penalty::new("stale", 1.0, self.stale_penalty),
            Penalty::new("future", 1.0, self.future_penalty),
        ]
    }
}

/// The mean of the top [`TOP_TOKENS`] token values, each clamped to [0, 1] (NaN as 0); 0 with
/// no tokens.
pub fn token_relevance(values: impl IntoIterator<Item = f64>) -> f64 {
    let mut values: Vec<f64> = values.into_iter().map(clamp01).collect();
    values.sort_by(|a, b| b.total_cmp(a));
    values.truncate(TOP_TOKENS);
    if values.is_empty() {
        return 0.0;
    }
    values.iter().sum::<f64>() / values.len() as f64
}

/// Recency for a post `age_secs` old (negative ages count as 0).
pub fn recency(age_secs: i64) -> f64 {
    let age_hours = age_secs.max(0) as f64 / 3600.0;
    clamp01(1.0 - age_hours / RECENCY_HORIZON_HOURS)
}

/// Scores a post from its token values, engagement and dates (unix seconds).
pub fn score_post(
    token_values: impl IntoIterator<Item = f64>,
    engagement: &Engagement,
    created_at: i64,
    now: i64,
) -> ScoreBreakdown {
    let age_secs = now.saturating_sub(created_at);
    let value_parts = ValueParts::new(engagement);
    let flag = |condition: bool| if condition { 1.0 } else { 0.0 };
    let mut breakdown = ScoreBreakdown {
        relevance: token_relevance(token_values),
        value: value_parts.mean(),
        value_parts,
        recency: recency(age_secs),
        age_secs,
        stale_penalty: flag(age_secs > MAX_AGE_SECS),
        future_penalty: flag(age_secs < -MAX_FUTURE_SKEW_SECS),
        total: 0.0,
    };
    breakdown.total = combine(&breakdown.rewards(), &breakdown.penalties());
    breakdown
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_120_000;
    const HOUR: i64 = 3600;
    const DAY: i64 = 24 * HOUR;

    fn engagement(
        likes: u64,
        retweets: u64,
        quotes: u64,
        replies: u64,
        followers: u64,
    ) -> Engagement {
        Engagement {
            likes,
            retweets,
            quotes,
            replies,
            followers,
        }
    }

    #[test]
    fn a_hand_worked_post_scores_0_647() {
        // value = (2500/5000 + 100/1000 + 30/300 + 60/600 + 20000/200000) / 5
        //       = (0.5 + 0.1 + 0.1 + 0.1 + 0.1) / 5 = 0.18
        // recency at 6 h = 1 - 6/24 = 0.75
        // score = 0.5 * 1.0 + 0.4 * 0.18 + 0.1 * 0.75 = 0.5 + 0.072 + 0.075 = 0.647
        let s = score_post(
            [1.0],
            &engagement(2500, 100, 30, 60, 20_000),
            NOW - 6 * HOUR,
            NOW,
        );
        assert_eq!(s.relevance, 1.0);
        assert!((s.value - 0.18).abs() < 1e-15, "{}", s.value);
        assert_eq!(s.recency, 0.75);
        assert!((s.total - 0.647).abs() < 1e-12, "{}", s.total);
        // Bit-identical to the reference's expression.
        assert_eq!(s.total, 0.5 * 1.0 + 0.4 * s.value + 0.1 * 0.75);
        assert_eq!((s.stale_penalty, s.future_penalty), (0.0, 0.0));
    }

    #[test]
    fn engagement_saturates_at_the_caps() {
        let at_caps = engagement(5000, 1000, 300, 600, 200_000);
        let huge = engagement(u64::MAX, u64::MAX, u64::MAX, u64::MAX, u64::MAX);
        for e in [at_caps, huge] {
            let s = score_post([1.0], &e, NOW, NOW);
            assert_eq!((s.value, s.recency, s.total), (1.0, 1.0, 1.0));
        }
        let none = score_post([], &Engagement::default(), NOW - 30 * HOUR, NOW);
        assert_eq!(
            (none.relevance, none.value, none.recency, none.total),
            (0.0, 0.0, 0.0, 0.0)
        );
    }

    #[test]
    fn a_post_exactly_ten_days_old_still_scores() {
        let s = score_post([1.0], &engagement(5000, 0, 0, 0, 0), NOW - 10 * DAY, NOW);
        assert_eq!(s.stale_penalty, 0.0);
        assert_eq!(s.recency, 0.0);
        // 0.5 * 1 + 0.4 * (1 / 5) + 0.1 * 0
        assert_eq!(s.total, 0.5 + 0.4 * 0.2);
    }

    #[test]
    fn a_post_ten_days_and_one_second_old_scores_zero() {
        let s = score_post(
            [1.0],
            &engagement(5000, 0, 0, 0, 0),
            NOW - 10 * DAY - 1,
            NOW,
        );
        assert_eq!(s.stale_penalty, 1.0);
        assert_eq!(s.total, 0.0);
        // The components stay visible for operators.
        assert_eq!(s.relevance, 1.0);
    }

    #[test]
    fn a_post_dated_within_the_skew_counts_as_brand_new() {
        let s = score_post(
            [1.0],
            &Engagement::default(),
            NOW + MAX_FUTURE_SKEW_SECS,
            NOW,
        );
        assert_eq!(s.age_secs, -60);
        assert_eq!((s.recency, s.future_penalty), (1.0, 0.0));
        assert_eq!(s.total, 0.5 + 0.1);
    }

    #[test]
    fn a_post_dated_beyond_the_skew_scores_zero() {
        let s = score_post(
            [1.0],
            &Engagement::default(),
            NOW + MAX_FUTURE_SKEW_SECS + 1,
            NOW,
        );
        assert_eq!(s.future_penalty, 1.0);
        assert_eq!(s.total, 0.0);
    }

    #[test]
    fn recency_falls_linearly_over_24_hours() {
        assert_eq!(recency(0), 1.0);
        assert_eq!(recency(12 * HOUR), 0.5);
        assert_eq!(recency(24 * HOUR), 0.0);
        assert_eq!(recency(48 * HOUR), 0.0);
        assert_eq!(recency(-HOUR), 1.0);
    }

    #[test]
    fn relevance_is_the_mean_of_the_top_five_tokens() {
        assert_eq!(token_relevance([1.0]), 1.0);
        assert_eq!(token_relevance([]), 0.0);
        // Top five of seven: (1.0 + 0.9 + 0.8 + 0.7 + 0.6) / 5 = 0.8.
        let r = token_relevance([0.5, 0.9, 0.0, 1.0, 0.7, 0.6, 0.8]);
        assert!((r - 0.8).abs() < 1e-15, "{r}");
        // Out-of-range values are clamped, NaN counts as 0.
        assert_eq!(token_relevance([2.0, -1.0]), 0.5);
        assert_eq!(token_relevance([f64::NAN, 1.0]), 0.5);
    }

    #[test]
    fn rewards_add_and_penalties_multiply() {
        let rewards = [Reward::new("a", 0.5, 1.0), Reward::new("b", 0.5, 0.5)];
        assert_eq!(combine(&rewards, &[]), 0.75);
        let penalties = [Penalty::new("p", 0.6, 0.5), Penalty::new("q", 1.0, 0.5)];
        // 0.75 * (1 - 0.5) * (1 - 0.5)
        assert_eq!(combine(&rewards, &penalties), 0.1875);
    }

    #[test]
    fn a_penalty_is_clipped_to_its_max() {
        let rewards = [Reward::new("a", 1.0, 1.0)];
        // The older design's task penalty: at most 0.6, so never more than 60 % is taken.
        let task = Penalty::new("task", 0.6, 1.0);
        assert_eq!(task.applied(), 0.6);
        assert!((combine(&rewards, &[task]) - 0.4).abs() < 1e-15);
        assert_eq!(Penalty::new("neg", 1.0, -3.0).applied(), 0.0);
        assert_eq!(Penalty::new("big max", 7.0, 5.0).applied(), 1.0);
    }

    #[test]
    fn the_reward_sum_is_clamped_to_one() {
        let rewards = [Reward::new("a", 1.0, 1.0), Reward::new("b", 1.0, 1.0)];
        assert_eq!(combine(&rewards, &[]), 1.0);
    }

    #[test]
    fn non_finite_inputs_give_finite_scores_in_range() {
        let odd = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            -0.0,
            1e308,
            -1e308,
        ];
        for &x in &odd {
            for &y in &odd {
                let total = combine(&[Reward::new("r", x, y)], &[Penalty::new("p", x, y)]);
                assert!((0.0..=1.0).contains(&total), "combine({x}, {y}) = {total}");
            }
        }
        // NaN reward values pay nothing; a NaN penalty takes its maximum.
        assert_eq!(combine(&[Reward::new("r", 1.0, f64::NAN)], &[]), 0.0);
        assert_eq!(
            combine(
                &[Reward::new("r", 1.0, 1.0)],
                &[Penalty::new("p", 0.5, f64::NAN)]
            ),
            0.5
        );
        for (created_at, now) in [(i64::MIN, i64::MAX), (i64::MAX, i64::MIN), (0, 0)] {
            let s = score_post(
                [f64::NAN, f64::INFINITY],
                &Engagement::default(),
                created_at,
                now,
            );
            assert!((0.0..=1.0).contains(&s.total), "{s:?}");
            assert!(s.recency.is_finite() && s.relevance.is_finite());
        }
    }
}
