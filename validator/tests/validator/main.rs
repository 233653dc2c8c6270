//! Integration tests of `pulse-validator`: its X client against the X API double, and the
//! real binary against the real server (testkit, PostgreSQL) and the real miner, on port 0.

mod chain_weights;
mod cli;
mod end_to_end;
mod hardening;
mod helpers;
mod kill;
mod lookup;
mod metrics;
