//! A miner that cheats on purpose, so a devnet (`pulse-devnet --dishonest N`) and the tests
//! can show validation catching what real cheaters do. Each strategy alters the submission
//! after the honest analysis, the way a miner paid to out-earn others would: claim more
//! engagement than X shows, submit text the author never wrote, submit posts that do not
//! exist, or claim a subnet the post does not mention.
//!
//! Nothing here runs unless `--dishonest` is given.

use analyzer::Registry;
use protocol::api::SubmitRequest;
use rand::Rng;

/// How a dishonest miner cheats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Cheat {
    /// Claims ten times the likes, reposts, replies and followers X reports.
    Inflate,
    /// Submits the post's text with words of its own added.
    Edit,
    /// Submits a post id that no post on X has, with the post's other data.
    Invent,
    /// Claims a subnet the post does not mention.
    Claim,
}

impl Cheat {
    /// Every strategy, in the order a devnet hands them out.
    pub const ALL: [Cheat; 4] = [Cheat::Inflate, Cheat::Edit, Cheat::Invent, Cheat::Claim];

    /// The `i`-th dishonest miner's strategy: each in turn, then round again.
    pub fn cycle(i: usize) -> Self {
        Self::ALL[i % Self::ALL.len()]
    }
    /// The strategy's name, as the flag takes it.
    pub fn name(self) -> &'static str {
        match self {
            Cheat::Inflate => "inflate",
            Cheat::Edit => "edit",
            Cheat::Invent => "invent",
            Cheat::Claim => "claim",
        }
    }

    /// Alters `request` (the honest submission) the way this strategy cheats. `registry`
    /// supplies the subnet a claim names.
    pub fn apply(self, request: &mut SubmitRequest, registry: &Registry, rng: &mut impl Rng) {
        match self {
            Cheat::Inflate => {
                request.likes = request.likes.saturating_mul(10).max(1_000);
                request.retweets = request.retweets.saturating_mul(10).max(200);
                request.responses = request.responses.saturating_mul(10).max(100);
                request.followers = request.followers.saturating_mul(10).max(50_000);
            }
            Cheat::Edit => {
                request
                    .content
                    .push_str(" Huge news, buy now before it moons!");
            }
            Cheat::Invent => {
                // Snowflake-sized, far beyond any id X has handed out.
                request.post_id = rng
                    .random_range(9_000_000_000_000_000_000u64..9_200_000_000_000_000_000)
                    .to_string();
            }
            Cheat::Claim => {
                let claimed = registry
                    .subnets()
                    .iter()
                    .filter(|s| !s.placeholder && !request.tokens.contains_key(&s.name))
                    .map(|s| s.name.clone())
                    .next();
                if let Some(name) = claimed {
                    request.tokens.clear();
                    request.tokens.insert(name, 1.0);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> SubmitRequest {
        SubmitRequest {
            miner_hotkey: "5H".into(),
            post_id: "1850000000000000000".into(),
            content: "Subnet 1 is live".into(),
            date: 1_700_000_000,
            author: "alice".into(),
            account_age: 400,
            retweets: 3,
            likes: 20,
            responses: 1,
            followers: 900,
            tokens: [("apex".to_owned(), 1.0)].into(),
            sentiment: 0.5,
            score: 0.4,
        }
    }

    #[test]
    fn each_strategy_changes_what_it_says_and_nothing_else() {
        let registry = Registry::embedded();
        let mut rng = rand::rng();
        let honest = request();
        for cheat in Cheat::ALL {
            let mut altered = honest.clone();
            cheat.apply(&mut altered, &registry, &mut rng);
            assert_ne!(altered, honest, "{}", cheat.name());
            let mut restored = altered.clone();
            match cheat {
                Cheat::Inflate => {
                    assert!(altered.likes >= 10 * honest.likes);
                    (restored.likes, restored.retweets) = (honest.likes, honest.retweets);
                    (restored.responses, restored.followers) = (honest.responses, honest.followers);
                }
                Cheat::Edit => {
                    assert!(altered.content.starts_with(&honest.content));
                    restored.content = honest.content.clone();
                }
                Cheat::Invent => {
                    assert!(altered.post_id.parse::<u64>().unwrap() >= 9_000_000_000_000_000_000);
                    restored.post_id = honest.post_id.clone();
                }
                Cheat::Claim => {
                    assert!(!altered.tokens.contains_key("apex"));
                    assert_eq!(altered.tokens.len(), 1);
                    restored.tokens = honest.tokens.clone();
                }
            }
            assert_eq!(restored, honest, "{} changed more", cheat.name());
        }
    }
}
