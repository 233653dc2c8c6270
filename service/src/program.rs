//! [`main`]: from the process's arguments to its exit code, the same way for every binary.
//!
//! 1. The env file named by `--env-file` (for binaries that declare it) is loaded first,
//!    while the process is still single-threaded: it sets environment variables, which clap
//!    then reads like any others. A file that cannot be read exits with 2, as a usage error.
//! 2. clap parses the command line (its own errors and `--help` exit as clap decides).
//! 3. Logging starts, for binaries that declare `--log-format` (`cli::LogArgs`); the others'
//!    stderr is their own. `--logging.debug` / `--logging.trace` (`cli::LoggingArgs`), where
//!    declared, replace the `RUST_LOG` filter.
//! 4. The tokio runtime starts and runs [`Program::run`].
//! 5. An error is printed as one line, `<binary>: <error and its causes>`, on stderr
//!    whatever the log format, and the process exits with [`Program::FAILURE`].

use std::ffi::OsString;
use std::future::Future;
use std::process::ExitCode;

use clap::Parser;

use crate::env_file;
use crate::log::{self, LogFormat};

/// Which tokio runtime runs the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// A worker thread per core.
    MultiThread,
    /// Everything on the main thread.
    CurrentThread,
}

/// A binary's command line and what it runs: implemented by each binary's `Cli`. What
/// [`main`] does around it follows from the command line's definition: it reads an env file
/// when there is an `--env-file` flag (`cli::EnvFileArgs`), and logs when there is a
/// `--log-format` flag (`cli::LogArgs`).
pub trait Program: Parser {
    /// The `RUST_LOG` filter used when the variable is unset.
    const LOG_FILTER: &'static str = "info";
    /// Exit code when [`Program::run`] fails.
    const FAILURE: u8 = 1;
    /// The runtime [`Program::run`] runs on.
    const RUNTIME: Runtime = Runtime::MultiThread;

    /// The work; its exit code, or an error for [`main`] to print.
    fn run(self) -> impl Future<Output = anyhow::Result<ExitCode>>;
}

/// The whole program `P`, from the process's arguments; `main.rs` returns what it returns.
pub fn main<P: Program>() -> ExitCode {
    run_with::<P>(std::env::args_os().collect())
}

fn run_with<P: Program>(args: Vec<OsString>) -> ExitCode {
    let definition = P::command();
    let name = definition.get_name().to_owned();
    let reads_env_file = definition
        .get_arguments()
        .any(|arg| arg.get_long() == Some("env-file"));
    if reads_env_file && let Err(error) = env_file::load_from_args(&args) {
        eprintln!("{name}: {error:#}");
        return ExitCode::from(2);
    }
    // clap reads an argument's variable when the argument is built: the command that
    // parses is built after the env file is loaded.
    let mut matches = P::command().get_matches_from(args);
    // Read before the derive takes the values out of `matches`.
    let log_format = matches
        .try_get_one::<LogFormat>("log_format")
        .ok()
        .flatten()
        .copied();
    let logging = crate::cli::LoggingArgs {
        debug: flag_of(&matches, "logging_debug"),
        trace: flag_of(&matches, "logging_trace"),
    };
    let cli = P::from_arg_matches_mut(&mut matches)
        .map_err(|error| error.format(&mut P::command()))
        .unwrap_or_else(|error| error.exit());
    if let Some(format) = log_format {
        match logging.filter() {
            Some(filter) => log::init_with_filter(format, &filter),
            None => log::init(format, P::LOG_FILTER),
        }
    }
    let runtime = match P::RUNTIME {
        Runtime::MultiThread => tokio::runtime::Builder::new_multi_thread(),
        Runtime::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    }
    .enable_all()
    .build();
    let runtime = match runtime {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("{name}: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(cli.run()) {
        Ok(code) => code,
        Err(error) => {
            // One line on stderr, whatever the log format: the cause chain says what to do.
            eprintln!("{name}: {error:#}");
            ExitCode::from(P::FAILURE)
        }
    }
}

/// A `SetTrue` flag's value, given before or after the subcommand; false when the binary
/// does not declare it.
fn flag_of(matches: &clap::ArgMatches, id: &str) -> bool {
    let here = matches
        .try_get_one::<bool>(id)
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false);
    here || matches
        .subcommand()
        .is_some_and(|(_, sub)| flag_of(sub, id))
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;
    use crate::cli::EnvFileArgs;

    #[derive(Debug, Parser)]
    #[command(name = "pulse-sample")]
    struct Sample {
        #[command(flatten)]
        env_file: EnvFileArgs,
        /// Fail with this message.
        #[arg(long)]
        fail: Option<String>,
        /// Exit with this code.
        #[arg(long, default_value_t = 0)]
        code: u8,
        /// Set by the env file in one case.
        #[arg(long, env = "PULSE_SERVICE_PROGRAM_TEST")]
        from_env: Option<String>,
    }

    impl Program for Sample {
        const FAILURE: u8 = 3;
        const RUNTIME: Runtime = Runtime::CurrentThread;

        async fn run(self) -> anyhow::Result<ExitCode> {
            if let Some(message) = self.fail {
                return Err(anyhow::anyhow!(message)).context("the sample failed");
            }
            // Read through clap, as every binary reads its settings.
            let from_file = self.from_env.as_deref() == Some("from_the_env_file");
            Ok(ExitCode::from(if from_file { 40 } else { self.code }))
        }
    }

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_exit_code_is_the_work_s_or_the_program_s_failure_code() {
        assert_eq!(
            run_with::<Sample>(args(&["pulse-sample", "--code", "7"])),
            ExitCode::from(7)
        );
        assert_eq!(
            run_with::<Sample>(args(&["pulse-sample", "--fail", "no"])),
            ExitCode::from(3)
        );
        assert_eq!(
            run_with::<Sample>(args(&["pulse-sample", "--env-file", "/nonexistent/.env"])),
            ExitCode::from(2)
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(".env");
        std::fs::write(&file, "PULSE_SERVICE_PROGRAM_TEST=from_the_env_file\n").unwrap();
        let file = file.display().to_string();
        assert_eq!(
            run_with::<Sample>(args(&["pulse-sample", "--env-file", &file])),
            ExitCode::from(40)
        );
    }
}
