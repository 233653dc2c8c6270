//! The miner's integration tests: the real `pulse-miner` binary and its library against the
//! real coordination server (in-process, on port 0, its own database per test) and the
//! local X double (in-process, on port 0).

mod analyze;
mod cli;
mod e2e;
mod helpers;
mod metrics;
mod run;
mod submitter;
mod x_client;
