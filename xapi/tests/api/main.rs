//! End-to-end tests of the X API double over real HTTP on 127.0.0.1, one binary with a module
//! per area. Every test starts its own double on port 0 with a fixed anchor time.

mod admin;
mod auth;
mod binary;
mod helpers;
mod lookup;
mod rate_limit;
mod sample_data;
mod schedule;
mod search;
