use std::process::ExitCode;

use clap::Parser;

// One thread drives every connection: the generator usually shares the machine with the
// server it measures, and a second worker would mostly add wake-ups between threads
// (signing, the costly part, happens on the signer threads or before the run).
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    match bench::main(bench::config::Cli::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        // The report already says what went wrong.
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("pulse-bench: {error:#}");
            ExitCode::from(2)
        }
    }
}
