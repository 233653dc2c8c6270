//! Sentiment: the five classes miners submit, and the engines that pick one.
//!
//! Two engines sit behind [`SentimentEngine`]:
//! - [`Lexicon`] (the default): an offline cue-word classifier. Same text, same class, on every
//!   machine, with no network and no key.
//! - [`LlmClassifier`]: asks an OpenAI-compatible chat-completions API at temperature 0, as the
//!   reference miner does.
//!
//! Validators compare a miner's sentiment with their own within 0.05 (docs/protocol.md#tolerances), so a miner and
//! the validators checking it must use the same engine. A failed LLM call is an error the
//! caller acts on (the miner skips the post, a validator reports itself unable to judge); it
//! never turns into "neutral", which would be a confident answer nobody gave.

mod lexicon;
mod llm;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use lexicon::{CueHit, Lexicon, LexiconVerdict};
pub use llm::{DEFAULT_LLM_BASE, DEFAULT_MODEL, LlmClassifier};
// Where the LLM is: kept reachable here, where the sentiment engine's users look for it.
pub use crate::chat::{LlmConfig, LlmError};

/// One of the five sentiment classes, from most to least favourable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sentiment {
    /// Euphoric: rockets, moon, ATH, pumps. Value 1.0.
    VeryBullish,
    /// Positive or optimistic. Value 0.5.
    Bullish,
    /// Factual, balanced or without a view. Value 0.0.
    Neutral,
    /// Concerned or sceptical. Value -0.5.
    Bearish,
    /// Crashes, exploits, failures. Value -1.0.
    VeryBearish,
}

impl Sentiment {
    /// All classes, from most to least favourable.
    pub const ALL: [Sentiment; 5] = [
        Sentiment::VeryBullish,
        Sentiment::Bullish,
        Sentiment::Neutral,
        Sentiment::Bearish,
        Sentiment::VeryBearish,
    ];

    /// The value submitted as `sentiment`, in [-1, 1].
    pub fn value(self) -> f64 {
        match self {
            Sentiment::VeryBullish => 1.0,
            Sentiment::Bullish => 0.5,
            Sentiment::Neutral => 0.0,
            Sentiment::Bearish => -0.5,
            Sentiment::VeryBearish => -1.0,
        }
    }

    /// The class's label (`very_bullish`, ...).
    pub fn label(self) -> &'static str {
        match self {
            Sentiment::VeryBullish => "very_bullish",
            Sentiment::Bullish => "bullish",
            Sentiment::Neutral => "neutral",
            Sentiment::Bearish => "bearish",
            Sentiment::VeryBearish => "very_bearish",
        }
    }

    /// The class whose value is exactly `value`, if any.
    pub fn from_value(value: f64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.value() == value)
    }
}

impl fmt::Display for Sentiment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A string that names no sentiment class.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a sentiment class: {0:?}")]
pub struct UnknownSentiment(pub String);

impl FromStr for Sentiment {
    type Err = UnknownSentiment;

    /// Reads a label, forgiving case, surrounding whitespace, and spaces or hyphens for the
    /// underscore (`Very Bullish`, `very-bullish`), as models write labels those ways too.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        Self::ALL
            .into_iter()
            .find(|c| c.label() == key)
            .ok_or_else(|| UnknownSentiment(s.to_owned()))
    }
}

/// Why a sentiment could not be determined. Only the LLM engine fails.
#[derive(Debug, thiserror::Error)]
pub enum SentimentError {
    /// No chat completion came back (network, timeout, status, malformed reply).
    #[error(transparent)]
    Llm(#[from] LlmError),
    /// The model answered, but its answer names none of the five classes.
    #[error("LLM answer names no sentiment class: {0:?}")]
    UnrecognisedAnswer(String),
}

impl SentimentError {
    /// Whether trying again may help: network failures, timeouts, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            SentimentError::Llm(e) => e.is_transient(),
            SentimentError::UnrecognisedAnswer(_) => false,
        }
    }

    /// What this error means to the retry policy (see [`LlmError::failure`]).
    pub fn failure(&self) -> retry::Failure {
        match self {
            SentimentError::Llm(e) => e.failure(),
            SentimentError::UnrecognisedAnswer(_) => retry::Failure::Permanent,
        }
    }
}

/// The sentiment engine a miner or validator runs.
#[derive(Debug, Clone)]
pub enum SentimentEngine {
    /// The offline cue-word classifier.
    Lexicon(Lexicon),
    /// An OpenAI-compatible chat-completions API.
    Llm(LlmClassifier),
}

impl Default for SentimentEngine {
    fn default() -> Self {
        SentimentEngine::Lexicon(Lexicon)
    }
}

impl SentimentEngine {
    /// Classifies one text. The lexicon never fails; the LLM fails after its retries run out
    /// or when its answer names no class.
    pub async fn classify(&self, text: &str) -> Result<Sentiment, SentimentError> {
        match self {
            SentimentEngine::Lexicon(lexicon) => Ok(lexicon.classify(text)),
            SentimentEngine::Llm(llm) => llm.classify(text).await,
        }
    }

    /// A short name for logs: `lexicon` or `llm`.
    pub fn kind(&self) -> &'static str {
        match self {
            SentimentEngine::Lexicon(_) => "lexicon",
            SentimentEngine::Llm(_) => "llm",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_the_reference_five() {
        let values: Vec<f64> = Sentiment::ALL.iter().map(|s| s.value()).collect();
        assert_eq!(values, [1.0, 0.5, 0.0, -0.5, -1.0]);
    }

    #[test]
    fn labels_round_trip_through_from_str_and_serde() {
        for s in Sentiment::ALL {
            assert_eq!(s.label().parse::<Sentiment>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.label())
            );
            assert_eq!(Sentiment::from_value(s.value()), Some(s));
        }
    }

    #[test]
    fn labels_forgive_case_spaces_and_hyphens_but_not_other_words() {
        assert_eq!(
            " Very Bullish ".parse::<Sentiment>().unwrap(),
            Sentiment::VeryBullish
        );
        assert_eq!(
            "very-bearish".parse::<Sentiment>().unwrap(),
            Sentiment::VeryBearish
        );
        assert!("positive".parse::<Sentiment>().is_err());
        assert!("bullishh".parse::<Sentiment>().is_err());
        assert_eq!(Sentiment::from_value(0.25), None);
    }

    #[test]
    fn an_unrecognised_answer_is_permanent_and_llm_errors_keep_their_kind() {
        let status = |status| {
            SentimentError::Llm(LlmError::Status {
                url: "u".into(),
                status,
                body: String::new(),
                retry_after: None,
            })
        };
        assert!(status(503).is_transient());
        assert!(!status(401).is_transient());
        assert!(!SentimentError::UnrecognisedAnswer("maybe".into()).is_transient());
        assert_eq!(
            SentimentError::UnrecognisedAnswer("maybe".into()).failure(),
            retry::Failure::Permanent
        );
        assert_eq!(
            status(429).failure(),
            retry::Failure::Transient { retry_after: None }
        );
    }

    #[tokio::test]
    async fn the_default_engine_is_the_lexicon_and_never_fails() {
        let engine = SentimentEngine::default();
        assert_eq!(engine.kind(), "lexicon");
        assert_eq!(
            engine.classify("sn45 to the moon 🚀").await.unwrap(),
            Sentiment::VeryBullish
        );
    }
}
