//! `pulse-devnet`: the whole Pulse stack on one machine, without Docker, in one command.
//!
//! It starts, as child processes found next to its own executable, `pulse-server` with its
//! embedded PostgreSQL and a fast clock (1 s blocks: a 100-block window in 100 s), the X API
//! double `pulse-xapi` serving `data/posts.jsonl`, N `pulse-miner run` with hotkeys of their
//! own and one `pulse-validator run`; waits until each has said where it listens; prints
//! where everything is; then prints one summary line per window as it closes (accepted,
//! duplicates, 429s, selected, verdicts, window scores, weights). Ctrl-C or SIGTERM stops
//! every process (SIGTERM, then SIGKILL after a timeout) and checks that none is left,
//! PostgreSQL included; a process that dies on its own stops the devnet too.
//!
//! Everything lives in one directory (`.pulse/devnet` by default): the database, the hotkey
//! seeds (so a restart keeps every identity), each process's state and its log.
//!
//! # Layout
//! - [`app`]: the program: signals, start, watch, stop, behind `service::main` (which
//!   `main.rs` calls with [`config::Cli`]).
//! - [`config`]: the command line ([`config::Cli`]).
//! - [`binaries`]: finding `pulse-server`, `pulse-xapi`, `pulse-miner` and
//!   `pulse-validator` next to `pulse-devnet`.
//! - [`layout`]: where each file lives in the devnet directory, the hotkey seeds, and the
//!   clock that makes a fresh window start with the devnet.
//! - [`process`]: [`process::Supervisor`]: children in process groups of their own, their
//!   output teed to log files, announced lines, graceful stops, leftovers of a killed devnet.
//! - [`procfs`]: what Linux's `/proc` says about a process (alive, zombie, its group).
//! - [`observe`]: [`observe::Observer`], which gathers each window's numbers from the API,
//!   the server's metrics and the validator's weight file.
//! - [`summary`]: [`summary::WindowSummary`] and the printed lines (text or JSON).
//! - [`prom`]: reading counters from Prometheus text.

#![warn(missing_docs)]

pub mod app;
pub mod binaries;
pub mod config;
pub mod layout;
pub mod observe;
pub mod process;
pub mod procfs;
pub mod prom;
pub mod summary;
