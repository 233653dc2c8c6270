//! Checks of Pulse's deployment files.
//!
//! # Layout
//! - `tests/compose.rs`: `docker-compose.yml`, the `Dockerfile` and `.env.example` agree
//!   with each other and with the settings the binaries accept.
//!
//! The library itself is empty; the package exists for its tests.

#![warn(missing_docs)]
