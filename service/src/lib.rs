//! What every Pulse binary does around its work, written once: `pulse-server`,
//! `pulse-miner`, `pulse-validator`, `pulse-xapi`, `pulse-devnet` and `pulse-bench` all start
//! through [`main`], so each `main.rs` is one call and a change to logging, signals or the
//! metrics listener is made here.
//!
//! # Layout
//! - [`program`]: [`Program`], what a binary's command line declares, and [`main`]: env file,
//!   parsing, logging, runtime, and the one-line error with the binary's exit code.
//! - [`cli`]: command-line pieces shared by several binaries (`--env-file`,
//!   `--log-format`, `--logging.*`, `--netuid` and `--subtensor.*`, the `--wallet.*` flags,
//!   the signature form, X, the analyser, output formats, number ranges) and the helpers
//!   their tests use.
//! - [`log`]: [`LogFormat`] and the `tracing` subscriber (`RUST_LOG`, text or JSON, stderr).
//! - [`shutdown`]: Ctrl-C / SIGTERM as a [`CancellationToken`], and cancellable sleeps.
//! - [`metrics`](mod@metrics): a process's metrics declared once ([`metrics!`]), the `*_build_info`
//!   gauge, `/metrics` in OpenMetrics text, and the listener the miner and the validator
//!   serve it on.
//! - [`registration`]: the miner's and validator's start-up check against the subnet's
//!   metagraph (UID, validator permit, stake), failing with the `btcli` command that fixes it.
//! - [`secret`]: [`Secret`], a string that `Debug` does not show.
//! - [`time`]: the wall clock in Unix seconds and milliseconds.
//! - [`env_file`]: loading a `.miner_env`-style file before the command line is parsed.

#![warn(missing_docs)]

pub mod cli;
pub mod env_file;
pub mod log;
pub mod metrics;
pub mod program;
pub mod registration;
pub mod secret;
pub mod shutdown;
pub mod time;

pub use log::LogFormat;
pub use program::{Program, Runtime, main};
pub use secret::Secret;
pub use time::{unix_now, unix_now_ms};
pub use tokio_util::sync::CancellationToken;
