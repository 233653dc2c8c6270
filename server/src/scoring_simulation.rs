//! The incentive simulation: the expected window score of honest mining against each way
//! of cheating, at every cheating rate, under the rules before credibility and once-only
//! credit and under today's, computed by the production [`window_scores`].
//!
//! A miner fills its quota (5 posts) every window; each post is sampled for validation with
//! the default probability (20%), and a sampled cheat fails. Every strategy sees the same
//! random draws (the honest posts, which are sampled, which are deleted), so the difference
//! between two strategies is the cheat alone. Run with
//! `cargo test -p server --lib simulation -- --nocapture` to see the table.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// Posts per window of a miner filling the default quota.
const QUOTA: usize = 5;
/// The default sampling probability.
const SAMPLING: f64 = 0.2;
/// Windows simulated per strategy and rate.
const WINDOWS: u64 = 1_000;
/// Accepted-time of the first window; windows are 20 minutes apart.
const START: i64 = 1_764_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strategy {
    Honest,
    Fabrication,
    Inflation,
    EditedText,
    Copying,
    EndOfWindow,
}

impl Strategy {
    const CHEATS: [Strategy; 5] = [
        Strategy::Fabrication,
        Strategy::Inflation,
        Strategy::EditedText,
        Strategy::Copying,
        Strategy::EndOfWindow,
    ];

    fn name(self) -> &'static str {
        match self {
            Strategy::Honest => "honest",
            Strategy::Fabrication => "fabrication",
            Strategy::Inflation => "inflated engagement",
            Strategy::EditedText => "edited text",
            Strategy::Copying => "copying others' posts",
            Strategy::EndOfWindow => "fabrication at window end",
        }
    }
}

/// What chance decides about one post slot, drawn once and shared by every strategy.
struct Draw {
    relevance: f64,
    likes: i64,
    retweets: i64,
    replies: i64,
    followers: i64,
    age_secs: i64,
    sampled: bool,
    deleted: bool,
    cheat: f64,
}

fn draw(rng: &mut StdRng, deletion_rate: f64) -> Draw {
    Draw {
        relevance: rng.random_range(0.5..0.95),
        likes: rng.random_range(0..1_500),
        retweets: rng.random_range(0..200),
        replies: rng.random_range(0..100),
        followers: rng.random_range(0..40_000),
        age_secs: rng.random_range(0..24 * 3600),
        sampled: rng.random_bool(SAMPLING),
        deleted: rng.random_bool(deletion_rate),
        cheat: rng.random_range(0.0..1.0),
    }
}

fn post(now: i64, d: &Draw) -> PostForScore {
    PostForScore {
        miner_hotkey: "m".into(),
        date: now - d.age_secs,
        likes: d.likes,
        retweets: d.retweets,
        replies: d.replies,
        followers: d.followers,
        tokens: [("subnet".to_string(), d.relevance)].into_iter().collect(),
        accepted_unix: now,
        credit_share: 1.0,
    }
}

/// The post a strategy submits in a slot, and whether a validator would fail it.
fn submitted(strategy: Strategy, now: i64, d: &Draw, rate: f64) -> (PostForScore, bool) {
    let mut p = post(now, d);
    if strategy == Strategy::Honest || d.cheat >= rate {
        // An honest post fails only when its author deleted it before it was checked.
        return (p, d.deleted);
    }
    match strategy {
        Strategy::Honest => unreachable!(),
        // An id that does not exist, claiming the most a post can score.
        Strategy::Fabrication | Strategy::EndOfWindow => {
            p.tokens = [("subnet".to_string(), 1.0)].into_iter().collect();
            (p.likes, p.retweets, p.replies, p.followers) = (5_000, 1_000, 600, 200_000);
            p.date = now;
            (p, true)
        }
        Strategy::Inflation => {
            (p.likes, p.retweets, p.replies, p.followers) = (5_000, 1_000, 600, 200_000);
            (p, true)
        }
        Strategy::EditedText => {
            p.tokens = [("subnet".to_string(), 1.0)].into_iter().collect();
            (p, true)
        }
        // A real, strong post another miner found and submitted in an earlier window (the
        // leaderboard is public once a window is final): it passes validation.
        Strategy::Copying => {
            p.tokens = [("subnet".to_string(), 0.95)].into_iter().collect();
            (p.likes, p.retweets, p.replies, p.followers) = (4_000, 600, 300, 150_000);
            p.credit_share = 0.0;
            (p, d.deleted)
        }
    }
}

/// The mean window score of `strategy` at cheating `rate` under `rules`.
fn expected_score(
    strategy: Strategy,
    rate: f64,
    posts_per_window: usize,
    deletion_rate: f64,
    rules: &ScoringRules,
    late_verdicts_move: bool,
) -> f64 {
    let mut rng = StdRng::seed_from_u64(13);
    let mut counted: Vec<u64> = Vec::new();
    let mut total = 0.0;
    for window in 0..WINDOWS {
        let now = START + window as i64 * 1_200;
        let mut posts = Vec::with_capacity(posts_per_window);
        for _ in 0..posts_per_window {
            let d = draw(&mut rng, deletion_rate);
            let (p, fails) = submitted(strategy, now, &d, rate);
            if d.sampled && fails {
                // Before publication waited for verdicts, a post sent in a window's last
                // blocks was judged after its window was published: the failure counted in
                // the next window.
                let late = strategy == Strategy::EndOfWindow && d.cheat < rate;
                counted.push(if late && late_verdicts_move {
                    window + 1
                } else {
                    window
                });
            }
            posts.push(p);
        }
        let first = rules.first_window_weighing_on(window);
        let failures = BTreeMap::from([(
            "m".to_string(),
            counted
                .iter()
                .copied()
                .filter(|w| (first..=window).contains(w))
                .collect::<Vec<_>>(),
        )]);
        let scores = window_scores(window, &posts, &failures, rules);
        total += scores[0].score;
    }
    total / WINDOWS as f64
}

const RATES: [f64; 8] = [0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0];

/// Prints the table of one volume and deletion rate; asserts that under today's rules every
/// cheat at every rate scores below honest mining. Returns today's honest score.
fn table(posts_per_window: usize, deletion_rate: f64) -> f64 {
    let before = ScoringRules::without_credibility(0.1);
    let after = ScoringRules::new(0.1);
    println!(
        "\n{posts_per_window} posts a window, {:.0}% of them deleted by their authors before validation",
        deletion_rate * 100.0
    );
    let mut header = format!("{:<36}", "strategy (rules) / cheating rate");
    for rate in RATES {
        header.push_str(&format!("{rate:>8.2}"));
    }
    println!("{header}");
    let score = |strategy, rate, rules, moved| {
        expected_score(
            strategy,
            rate,
            posts_per_window,
            deletion_rate,
            rules,
            moved,
        )
    };
    let honest_before = score(Strategy::Honest, 0.0, &before, true);
    let honest_after = score(Strategy::Honest, 0.0, &after, false);
    println!("{:<36}{honest_before:>8.4}", "honest (before)");
    println!("{:<36}{honest_after:>8.4}", "honest (after)");
    for strategy in Strategy::CHEATS {
        for (label, rules, moved) in [("before", &before, true), ("after", &after, false)] {
            let mut line = format!("{:<36}", format!("{} ({label})", strategy.name()));
            for rate in RATES {
                let cheat = score(strategy, rate, rules, moved);
                line.push_str(&format!("{cheat:>8.4}"));
                if label == "after" {
                    assert!(
                        cheat < honest_after,
                        "{} at rate {rate}, {posts_per_window} posts, {deletion_rate} deletions: {cheat} >= honest {honest_after}",
                        strategy.name()
                    );
                }
            }
            println!("{line}");
        }
    }
    honest_after
}

#[test]
fn no_cheat_pays_at_any_rate_and_deletions_cost_an_honest_miner_little() {
    println!(
        "expected window score over {WINDOWS} windows at {SAMPLING} sampling; before = a failure costs its own window only and copies earn in full, after = credibility and once-only credit"
    );
    let lossless = table(QUOTA, 0.0);
    let with_deletions = table(QUOTA, 0.03);
    // A miner sending one post a window gains the most from one cheat (the mean is that
    // post alone), so the penalty must outweigh it there too.
    table(1, 0.0);
    println!(
        "\nan honest miner with 3% of its posts deleted keeps {:.1}% of a lossless honest score",
        100.0 * with_deletions / lossless
    );
    assert!(
        with_deletions > 0.75 * lossless,
        "{with_deletions} vs {lossless}"
    );
    let after = ScoringRules::new(0.1);
    for strategy in Strategy::CHEATS {
        for rate in [0.4, 1.0] {
            let cheat = expected_score(strategy, rate, QUOTA, 0.0, &after, false);
            assert!(
                cheat < with_deletions,
                "{} at rate {rate} without deletions ({cheat}) must stay below an honest miner with 3% deletions ({with_deletions})",
                strategy.name()
            );
        }
    }
}
