//! `pulse-validator`: re-checks the posts the coordination API sampled, sends one verdict per
//! task, and turns the server's window scores into miner weights.
//!
//! For each leased task it re-fetches the post from X (`GET /2/tweets?ids=`, 100 ids per
//! request) and checks that it exists and that its text, author, date and counts match the
//! submission (counts within the inflation tolerance of docs/protocol.md#tolerances), holds the date against the
//! time the post id encodes, and re-runs the miners' analysis to compare tokens and
//! sentiment within 0.05. The verdict is pass, fail (with a reason code, expected and found
//! values) or inconclusive (the validator's own X fetch or analyser failed; never counted
//! against the miner). Verdicts are on disk before they are sent and leave only when the
//! server has answered for them, so a killed validator loses none.
//!
//! # Layout
//! - [`app`]: the program: one function per subcommand, behind `service::main` (which
//!   `main.rs` calls with [`config::Cli`]).
//! - [`config`]: the command line ([`config::Cli`]): subcommands, flags and environment
//!   variables.
//! - [`validating`]: [`validating::Validator`], the loop behind `run` and `once`: lease,
//!   look up, judge, write, send; and window updates.
//! - [`lookup`]: X API v2 post lookup ([`lookup::XClient`]): batching, missing posts, 429.
//! - [`check`]: the checks as pure functions, the reason codes, and how findings add up to
//!   a verdict.
//! - [`outbox`]: [`outbox::Outbox`], verdicts kept on disk until the server acknowledges
//!   them.
//! - [`weights`]: moving averages, normalisation, burn, the metagraph file, and the
//!   [`weights::WeightSetter`] that publishes weights to a file.
//! - [`chain_weights`]: [`chain_weights::ChainWeightSetter`], weights set on chain: uids from
//!   the chain's metagraph, the SDK's conversion, rate limit, version key, commit-reveal.
//! - [`report`]: the verdict, pass, weight and total lines on stdout.
//! - [`metrics`]: the summaries' counters, served at `/metrics` by the `--metrics-bind`
//!   listener.
//! - [`durable`]: atomic, synced file writes.

#![warn(missing_docs)]

pub mod app;
pub mod chain_weights;
pub mod check;
pub mod config;
pub mod durable;
pub mod lookup;
pub mod metrics;
pub mod outbox;
pub mod report;
pub mod validating;
pub mod weights;
