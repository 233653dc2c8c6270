use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
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
