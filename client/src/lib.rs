//! The Pulse API client shared by `pulse-miner` and `pulse-validator`.
//!
//! # Layout
//! - [`identity`]: which hotkey signs (a wallet on disk, or a seed in the environment), as
//!   the conventional `--wallet.*` flags.
//! - [`api`]: [`ApiClient`], one typed method per endpoint, each a single signed attempt;
//!   retry policy belongs to the caller, which knows what a failure means for its work.
//! - [`env_file`]: loading a `.miner_env`-style file before the command line is parsed.

#![warn(missing_docs)]

pub mod api;
pub mod env_file;
pub mod identity;

pub use api::{ApiClient, AuthForm, CallError};
pub use identity::IdentityArgs;
