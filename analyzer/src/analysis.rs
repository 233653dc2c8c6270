//! The whole analysis of one post: normalise, match a subnet, classify sentiment, score.

use std::collections::BTreeMap;

use protocol::text::normalize_content;
use serde::Serialize;

use crate::registry::Registry;
use crate::relevance::{Relevance, SubnetMatch, SubnetMatcher};
use crate::scoring::{Engagement, ScoreBreakdown, score_post};
use crate::sentiment::{Sentiment, SentimentEngine, SentimentError};

/// A scraped post, as the miner maps it from the X API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostInput {
    /// The post's text as scraped; [`Analyzer::analyze`] normalises it.
    pub text: String,
    /// When the post was created, unix seconds.
    pub created_at: i64,
    /// Likes of the post.
    pub likes: u64,
    /// Retweets of the post.
    pub retweets: u64,
    /// Replies to the post (submitted as `responses`).
    pub replies: u64,
    /// Quote posts of the post. Scored, but not part of the submission.
    pub quotes: u64,
    /// Followers of the author.
    pub followers: u64,
    /// Age of the author's account in days. Submitted as `account_age`; the score leaves it
    /// out, as the reference does.
    pub account_age_days: u64,
}

impl PostInput {
    /// The figures the value reward is computed from.
    pub fn engagement(&self) -> Engagement {
        Engagement {
            likes: self.likes,
            retweets: self.retweets,
            quotes: self.quotes,
            replies: self.replies,
            followers: self.followers,
        }
    }
}

/// What the analyser found in a post.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Analysis {
    /// The normalised text that was analysed (what the miner submits as `content`).
    pub content: String,
    /// The subnet matching outcome: anchor, every candidate, best first.
    pub relevance: Relevance,
    /// The `tokens` to submit: `{name: 1.0}` for the matched subnet, empty when none matched.
    pub tokens: BTreeMap<String, f64>,
    /// The sentiment, or `None` when no subnet matched: such a post is not submitted, so no
    /// sentiment (and no LLM call) is spent on it.
    pub sentiment: Option<Sentiment>,
    /// The score and its components (0 relevance when no subnet matched).
    pub score: ScoreBreakdown,
}

impl Analysis {
    /// The matched subnet, if any.
    pub fn subnet(&self) -> Option<&SubnetMatch> {
        self.relevance.best()
    }

    /// Whether a subnet matched, i.e. whether the miner should submit the post.
    pub fn is_relevant(&self) -> bool {
        !self.tokens.is_empty()
    }
}

/// Why a post could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The sentiment engine failed; the post should be skipped, not submitted as neutral.
    #[error("sentiment analysis failed")]
    Sentiment(#[from] SentimentError),
}

/// A subnet registry and a sentiment engine, ready to analyse posts.
#[derive(Debug, Clone)]
pub struct Analyzer {
    registry: Registry,
    matcher: SubnetMatcher,
    sentiment: SentimentEngine,
}

impl Default for Analyzer {
    /// The embedded registry with the offline lexicon.
    fn default() -> Self {
        Self::new(Registry::embedded(), SentimentEngine::default())
    }
}

impl Analyzer {
    /// An analyser over `registry` using `sentiment`.
    pub fn new(registry: Registry, sentiment: SentimentEngine) -> Self {
        let matcher = SubnetMatcher::new(&registry);
        Self {
            registry,
            matcher,
            sentiment,
        }
    }

    /// The registry in use.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The sentiment engine in use.
    pub fn sentiment_engine(&self) -> &SentimentEngine {
        &self.sentiment
    }

    /// Subnet matching alone, on the normalised form of `text` (validators use it to re-check
    /// `tokens` without a sentiment call).
    pub fn relevance(&self, text: &str) -> Relevance {
        self.matcher.match_text(&normalize_content(text))
    }

    /// Analyses one post at `now_unix` (unix seconds).
    ///
    /// A post that matches no subnet is not an error: the result has empty `tokens` and no
    /// sentiment. The only error is a failed sentiment engine.
    pub async fn analyze(&self, post: &PostInput, now_unix: i64) -> Result<Analysis, AnalyzeError> {
        let content = normalize_content(&post.text);
        let relevance = self.matcher.match_text(&content);
        let tokens = relevance.tokens();
        let sentiment = if tokens.is_empty() {
            None
        } else {
            Some(self.sentiment.classify(&content).await?)
        };
        let score = score_post(
            tokens.values().copied(),
            &post.engagement(),
            post.created_at,
            now_unix,
        );
        Ok(Analysis {
            content,
            relevance,
            tokens,
            sentiment,
            score,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::sentiment::{LlmClassifier, LlmConfig};

    const NOW: i64 = 1_764_120_000;

    fn post(text: &str) -> PostInput {
        PostInput {
            text: text.to_owned(),
            created_at: NOW - 6 * 3600,
            likes: 2500,
            retweets: 100,
            replies: 60,
            quotes: 30,
            followers: 20_000,
            account_age_days: 900,
        }
    }

    #[tokio::test]
    async fn a_relevant_post_gets_tokens_sentiment_and_score() {
        let analysis = Analyzer::default()
            .analyze(&post("  SN45\r\n is going to the moon 🚀  "), NOW)
            .await
            .unwrap();
        assert_eq!(analysis.content, "SN45 is going to the moon 🚀");
        assert!(analysis.is_relevant());
        assert_eq!(analysis.subnet().map(|s| s.id), Some(45));
        assert_eq!(
            analysis.tokens,
            BTreeMap::from([("talisman_ai".to_owned(), 1.0)])
        );
        assert_eq!(analysis.sentiment, Some(Sentiment::VeryBullish));
        assert_eq!(analysis.sentiment.map(Sentiment::value), Some(1.0));
        // The hand-worked post of the scoring tests: 0.647.
        assert!((analysis.score.total - 0.647).abs() < 1e-12);
    }

    #[tokio::test]
    async fn a_post_without_a_subnet_is_reported_not_an_error() {
        let analysis = Analyzer::default()
            .analyze(&post("lovely weather today"), NOW)
            .await
            .unwrap();
        assert!(!analysis.is_relevant());
        assert!(analysis.subnet().is_none());
        assert!(analysis.tokens.is_empty());
        assert_eq!(analysis.sentiment, None);
        assert_eq!(analysis.score.relevance, 0.0);
    }

    #[tokio::test]
    async fn an_unreachable_llm_is_an_error_and_unmatched_posts_never_call_it() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut config = LlmConfig::new(format!("http://127.0.0.1:{port}/v1"), "m", "k");
        config.max_attempts = 1;
        config.timeout = Duration::from_secs(2);
        let engine = SentimentEngine::Llm(LlmClassifier::new(config).unwrap());
        let analyzer = Analyzer::new(Registry::embedded(), engine);

        let err = analyzer
            .analyze(&post("sn64 chutes"), NOW)
            .await
            .unwrap_err();
        assert!(matches!(err, AnalyzeError::Sentiment(_)), "{err}");
        // No subnet, no sentiment call, no error.
        assert!(analyzer.analyze(&post("gm"), NOW).await.is_ok());
    }

    #[test]
    fn relevance_alone_normalises_first() {
        let analyzer = Analyzer::default();
        assert_eq!(
            analyzer
                .relevance("subnet\u{a0}\u{a0}64")
                .best()
                .map(|m| m.id),
            Some(64)
        );
    }
}
