//! Pulse's wire protocol: what miners, validators and the coordination server agree on.
//!
//! Wire types and the rules that give them meaning, with no I/O and no business logic.
//!
//! # Layout
//! - [`api`]: request and response bodies of the `/v2` API, with OpenAPI schemas.
//! - [`window`]: block and window arithmetic ([`WindowInfo`]).
//! - [`text`]: content normalisation, the one form in which post text is compared.
//! - [`post_id`]: canonical X post ids and snowflake creation times.
//! - [`ss58`]: SS58 addresses (prefix 42).
//! - [`keys`]: sr25519 hotkeys, signing and verification with the `substrate` context.
//! - [`auth`]: the X-Auth and Epistula v2 request signatures, both directions.
//! - [`submission`]: a submitted post validated field by field, as the server accepts it.
//! - [`wallet`]: Bittensor wallet hotkey files on disk.

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod keys;
pub mod post_id;
pub mod ss58;
pub mod submission;
pub mod text;
pub mod wallet;
pub mod window;

pub use keys::Hotkey;
pub use window::WindowInfo;
