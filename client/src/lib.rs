//! The Pulse API client shared by `pulse-miner`, `pulse-validator` and `pulse-devnet`.
//!
//! A library without command-line parsing: the binaries own their flags (see the `service`
//! crate) and hand this crate plain values.
//!
//! # Layout
//! - [`identity`]: which hotkey signs ([`Wallet`]: a wallet on disk, or a seed in the
//!   environment).
//! - [`api`]: [`ApiClient`], one typed method per endpoint, each a single signed attempt;
//!   retry policy belongs to the caller (the `retry` crate), which knows what a failure
//!   means for its work.

#![warn(missing_docs)]

pub mod api;
pub mod identity;

pub use api::{ApiClient, CallError};
pub use identity::Wallet;
pub use protocol::auth::AuthForm;
