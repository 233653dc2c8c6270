//! End-to-end tests of the coordination server over real HTTP against a real PostgreSQL
//! (one fresh database per test; see `testkit`).

mod answer;
mod auth;
mod chain;
mod cli;
mod concurrency;
mod embedded;
mod faults;
mod hardening;
mod health;
mod helpers;
mod incentives;
mod lane;
mod limits;
mod metagraph;
mod metrics;
mod openapi;
mod page;
mod sampling;
mod schema_fuzz;
mod scores;
mod signal;
mod status;
mod submit;
mod submit_function;
mod validation;
