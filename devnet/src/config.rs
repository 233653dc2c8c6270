//! The command line: every setting is a flag and a `PULSE_DEVNET_*` environment variable.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
pub use service::cli::OutputFormat;
use service::cli::{number_in, probability};

/// Blocks per window: the server's, the miners' and the validator's default.
pub const BLOCKS_PER_WINDOW: u64 = 100;

/// `pulse-devnet`: runs the Pulse server (with its own PostgreSQL), the X API double, N
/// miners and a validator on this machine, and prints a summary line per window. Ctrl-C
/// stops everything.
#[derive(Debug, Clone, Parser)]
#[command(name = "pulse-devnet", version, about, long_about = None)]
pub struct Cli {
    /// Directory of the devnet: the database, hotkey seeds, every process's state and logs.
    /// Kept between runs, so a restart keeps the data and every identity.
    #[arg(long, env = "PULSE_DEVNET_DIR", default_value = ".pulse/devnet")]
    pub dir: PathBuf,
    /// Miners to run, each with its own hotkey.
    #[arg(long, env = "PULSE_DEVNET_MINERS", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=32))]
    pub miners: u32,
    /// Miners that cheat on purpose, added to `--miners`, so validation can be seen catching
    /// them: `cheat-1` inflates engagement, `cheat-2` edits the text, `cheat-3` invents post
    /// ids, `cheat-4` claims subnets a post does not mention, then round again.
    #[arg(long, env = "PULSE_DEVNET_DISHONEST", value_name = "N", default_value_t = 0,
          value_parser = clap::value_parser!(u32).range(0..=32))]
    pub dishonest: u32,
    /// Seconds per block (fractions allowed); a window is 100 blocks.
    // The server's own lower bound; above an hour a window would outlast any demo.
    #[arg(long, env = "PULSE_DEVNET_BLOCK_TIME_SECS", default_value_t = 1.0,
          value_parser = number_in("a number of seconds per block", 0.001..=3600.0))]
    pub block_time_secs: f64,
    /// Port of the coordination API on 127.0.0.1 (0 picks a free port).
    #[arg(long, env = "PULSE_DEVNET_PORT", default_value_t = 8001)]
    pub port: u16,
    /// Chance that the server samples a new post for validation. Higher than the server's
    /// default (0.2) so that every window shows verdicts.
    #[arg(long, env = "PULSE_DEVNET_VALIDATION_PROBABILITY", default_value_t = 0.5,
          value_parser = probability)]
    pub validation_probability: f64,
    /// Posts the X double serves (JSON Lines). Default: `data/posts.jsonl` of the working
    /// directory, else of the repository `pulse-devnet` was built in.
    #[arg(long, env = "PULSE_DEVNET_DATASET", value_name = "PATH")]
    pub dataset: Option<PathBuf>,
    /// Stop after this many window summaries (default: run until Ctrl-C or SIGTERM).
    #[arg(long, env = "PULSE_DEVNET_WINDOWS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub windows: Option<u32>,
    /// Summary lines as text, or as JSON objects (`"type"`: `ready`, `window`, `stopped`).
    #[arg(long, env = "PULSE_DEVNET_OUTPUT", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Seconds each process gets to stop after SIGTERM before it is killed.
    #[arg(long, env = "PULSE_DEVNET_STOP_TIMEOUT_SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub stop_timeout_secs: u64,
    /// Turn commit-reveal on in the chain double: the validator then commits a hash of its
    /// weights each tempo and reveals it one tempo later (as on subnets where the owner
    /// keeps the chain's default), instead of setting them directly.
    #[arg(long, env = "PULSE_DEVNET_COMMIT_REVEAL")]
    pub commit_reveal: bool,
    /// Delete the devnet directory first: a new database, new hotkeys, no state.
    #[arg(long)]
    pub reset: bool,
    /// Directory of the `pulse-*` binaries (default: the one `pulse-devnet` is in).
    #[arg(long, env = "PULSE_DEVNET_BIN_DIR", value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
}

impl Cli {
    /// Seconds per window.
    pub fn window_secs(&self) -> f64 {
        self.block_time_secs * BLOCKS_PER_WINDOW as f64
    }

    /// How long each process gets to stop.
    pub fn stop_timeout(&self) -> Duration {
        Duration::from_secs(self.stop_timeout_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service::cli::{assert_refused, parse};

    #[test]
    fn defaults_give_two_miners_and_a_window_under_two_minutes() {
        let cli: Cli = parse(["pulse-devnet"]);
        assert_eq!(cli.miners, 2);
        assert_eq!(cli.port, 8001);
        assert_eq!(cli.window_secs(), 100.0);
        assert_eq!(cli.validation_probability, 0.5);
        assert_eq!(cli.dir, PathBuf::from(".pulse/devnet"));
        assert_eq!(cli.output, OutputFormat::Text);
        assert_eq!(cli.windows, None);
        assert!(!cli.commit_reveal);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert_refused::<Cli>(
            &["pulse-devnet"],
            &[
                &["--block-time-secs", "0"],
                &["--block-time-secs", "nan"],
                &["--miners", "0"],
                &["--validation-probability", "1.5"],
                &["--windows", "0"],
            ],
        );
        let fast = Cli::try_parse_from(["pulse-devnet", "--block-time-secs", "0.2"]).unwrap();
        assert_eq!(fast.window_secs(), 20.0);
    }
}
