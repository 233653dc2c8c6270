//! `pulse-bench`: a load generator for the Pulse coordination API that knows what every
//! reply must be, and a checker of the database invariants the API promises.
//!
//! A run derives its miners' hotkeys from a seed, signs their requests ahead on signer
//! threads (Epistula per body and uuid, X-Auth per hotkey and reused while fresh), reads
//! each hotkey's quota use from signed `/v2/status`, then drives `POST /v2/submit` and
//! `GET /v2/status` at a concurrency for a time or a request count. A model of the
//! server (per hotkey: window, quota use, stored posts) gives the expected reply of every
//! request; anything else is counted as an error. Afterwards the database can be checked:
//! quota, idempotency, validation tasks, and that every acknowledged post is stored.
//!
//! # Layout
//! - [`config`]: the command line (`run`, `check`).
//! - [`mix`]: the kinds of request and the exact-proportion sequence they are sent in.
//! - [`keys`]: hotkeys from a seed, and post bodies with fresh canonical ids.
//! - [`sign`]: the signer threads that keep every hotkey's requests signed ahead.
//! - [`plan`]: the model of the server, the choice of each request and the check of
//!   each reply.
//! - [`conn`]: the measured requests' client, one keep-alive connection per task.
//! - [`run`]: setup, the connections' loops, pacing and warm-up, the report's numbers.
//! - [`report`]: latency histograms and counters, and the text and JSON report.
//! - [`receipts`]: the fate of every post sent, for the database check.
//! - [`check`]: the database invariants.
//! - [`burst`]: `pulse-bench burst`, every hotkey submitting at a window's start.
//!
//! Tests drive [`run::run`] against an in-process server and [`check::check`] against
//! databases they break on purpose.

#![warn(missing_docs)]

pub mod burst;
pub mod check;
pub mod config;
pub mod conn;
pub mod keys;
pub mod mix;
pub mod plan;
pub mod receipts;
pub mod report;
pub mod run;
pub mod sign;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use service::{Program, Runtime};

use crate::config::{BurstArgs, CheckArgs, Cli, Command, RunArgs};

/// `pulse-bench` through `service::main` (without logging: the progress lines and the
/// report are its output): exit 0 when the run or check passed, 1 when it found errors (the
/// report says which), 2 when it could not be done.
impl Program for Cli {
    const FAILURE: u8 = 2;
    // One thread drives every connection: the generator usually shares the machine with the
    // server it measures, and a second worker would mostly add wake-ups between threads
    // (signing, the costly part, happens on the signer threads or before the run).
    const RUNTIME: Runtime = Runtime::CurrentThread;

    async fn run(self) -> anyhow::Result<ExitCode> {
        Ok(if main(self).await? {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}

/// Runs what the command line asks for; `Ok(false)` when the run found errors or the
/// database breaks an invariant.
pub async fn main(cli: Cli) -> anyhow::Result<bool> {
    match cli.command {
        Command::Run(args) => run_command(&args).await,
        Command::Check(args) => check_command(&args).await,
        Command::Burst(args) => burst_command(&args).await,
    }
}

async fn burst_command(args: &BurstArgs) -> anyhow::Result<bool> {
    let report = burst::run(args).await?;
    write_report(
        args.json.as_deref(),
        &serde_json::to_string_pretty(&report)?,
        &report.to_text(),
    )?;
    Ok(report.passed())
}

async fn run_command(args: &RunArgs) -> anyhow::Result<bool> {
    let report = run::run(args).await?;
    write_report(
        args.json.as_deref(),
        &serde_json::to_string_pretty(&report)?,
        &report.to_text(),
    )?;
    Ok(report.passed())
}

/// Prints `text`, or `json` on stdout when `json_to` is `-`; with a file, writes `json`
/// into it as well as printing `text`.
fn write_report(json_to: Option<&std::path::Path>, json: &str, text: &str) -> anyhow::Result<()> {
    match json_to {
        Some(path) if path.as_os_str() == "-" => println!("{json}"),
        Some(path) => {
            std::fs::write(path, format!("{json}\n"))
                .with_context(|| format!("cannot write the JSON report to {}", path.display()))?;
            print!("{text}");
        }
        None => print!("{text}"),
    }
    std::io::stdout().flush()?;
    Ok(())
}

async fn check_command(args: &CheckArgs) -> anyhow::Result<bool> {
    let receipts = args.receipts.as_deref().map(receipts::read).transpose()?;
    let pool = check::connect(&args.database_url).await?;
    let result = check::check(&pool, args.quota, receipts.as_deref()).await;
    pool.close().await;
    let report = result?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    Ok(report.passed())
}
