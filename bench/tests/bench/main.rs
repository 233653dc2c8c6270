//! pulse-bench against a real server in this process and real databases (one per test;
//! see `testkit`).

mod burst;
mod check;
mod cli;
mod helpers;
mod pgbench;
mod run;
