//! Pulse's wire protocol: what miners, validators and the coordination server agree on.
//!
//! What both sides of the `/v2` API must compute the same way: the request and response
//! bodies, signing and verifying requests in both header forms, block and window
//! arithmetic, the normalisation of post text, and the acceptance rules of a submitted
//! post (the server applies them; they sit beside the body they read, where the fuzz
//! targets and any client can apply the same rules). Besides these the crate reads and
//! writes Bittensor wallet hotkey files ([`wallet`]), which the miner and the validator
//! sign with. It does no network or database I/O and keeps nothing between calls: the
//! server's decisions (roles, quota, idempotency, sampling, scoring) and its caches (such
//! as the X-Auth signatures it has proven, behind [`auth::ProvenSignatures`]) live in the
//! server.
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
//! - [`verdict`]: the bounds of what a verdict carries (sizes, no NUL).
//! - [`wallet`]: Bittensor wallet hotkey files on disk (the crate's only file I/O).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod keys;
pub mod post_id;
pub mod ss58;
pub mod submission;
pub mod text;
pub mod verdict;
pub mod wallet;
pub mod window;

pub use keys::Hotkey;
pub use window::WindowInfo;
