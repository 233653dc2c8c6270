//! `pulse-miner`: finds posts about Bittensor subnets on X, analyses and scores them, and
//! submits the best to the Pulse coordination API, at most the quota of each window.
//!
//! Where it goes further than the reference miner it replaces: it ranks every post it
//! fetched by score instead of sampling at random, skips what cannot score (retweets, other
//! languages, no subnet, stale or future dates) and says why, keeps its record of submitted
//! posts on disk, never turns a failed analysis into a score or a "neutral", retries only
//! what a retry can fix, and reads its quota from the server.
//!
//! # Layout
//! - [`app`]: the program: one function per subcommand, behind `service::main` (which
//!   `main.rs` calls with [`config::Cli`]).
//! - [`config`]: the command line ([`config::Cli`]): subcommands, flags and environment
//!   variables.
//! - [`mining`]: [`mining::Miner`], the window loop behind `run` and `once`.
//! - [`scrape`]: X API v2 recent search ([`scrape::XClient`]), its query and replies.
//! - [`post`]: [`post::ScrapedPost`], a post between X and a submission.
//! - [`select`]: screening (why a post is skipped) and ranking.
//! - [`submit`]: [`submit::Submitter`], one post per request with the reference's retries,
//!   and what each reply means.
//! - [`seen`]: [`seen::SeenSet`], the posts already submitted, persisted per hotkey.
//! - [`report`]: the per-window summary and the totals.
//! - [`metrics`]: the summaries' counters, served at `/metrics` by the `--metrics-bind`
//!   listener.
//! - [`analyze`]: `pulse-miner analyze`, the miner's decisions for posts on stdin.
//! - [`sign`]: `pulse-miner sign-request`, signature headers and curl commands.
//! - [`keygen`]: `pulse-miner keygen`, a new hotkey file.

#![warn(missing_docs)]

pub mod analyze;
pub mod app;
pub mod cheat;
pub mod config;
pub mod keygen;
pub mod metrics;
pub mod mining;
pub mod post;
pub mod report;
pub mod scrape;
pub mod seen;
pub mod select;
pub mod sign;
pub mod submit;
