//! Pulse's post analysis: which subnet a post is about, its sentiment, and its score.
//!
//! Miners run it to decide what to submit; validators re-run it on the stored text and compare
//! (docs/protocol.md#analysis). Everything here is pure and deterministic except the optional LLM sentiment
//! client, so the same post and registry give the same tokens and score on every machine.
//!
//! # Layout
//! - [`analysis`]: [`Analyzer`], the one-call pipeline from a scraped post to tokens, subnet,
//!   sentiment and score.
//! - [`registry`]: the subnet registry ([`Registry`]), embedded from `data/subnets.json` or
//!   loaded from a file, validated on load.
//! - [`relevance`]: subnet matching by the reference's rules ([`SubnetMatcher`]).
//! - [`difflib`]: a faithful port of Python's `SequenceMatcher.ratio()`, which fuzzy matching
//!   needs bit for bit.
//! - [`sentiment`]: the five sentiment classes and the engines behind [`SentimentEngine`]: an
//!   offline lexicon (the default) and an OpenAI-compatible LLM client.
//! - [`chat`]: the OpenAI-compatible chat-completions client (HTTP and retries) that the LLM
//!   sentiment engine and the server's answer route share.
//! - [`scoring`]: the post score, built from generic rewards and penalties that window scores
//!   reuse.

#![warn(missing_docs)]

pub mod analysis;
pub mod chat;
pub mod difflib;
pub mod registry;
pub mod relevance;
pub mod scoring;
pub mod sentiment;

pub use analysis::{Analysis, AnalyzeError, Analyzer, PostInput};
pub use registry::{Registry, RegistryError, Subnet};
pub use relevance::{Relevance, SubnetMatch, SubnetMatcher};
pub use scoring::ScoreBreakdown;
pub use sentiment::{Sentiment, SentimentEngine, SentimentError};
