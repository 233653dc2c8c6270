//! The command line: `pulse-bench run ...` and `pulse-bench check ...`.

use std::ops::Bound;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use protocol::auth;
use service::cli::{number_in, share};

use crate::mix::Mix;

/// `pulse-bench`: load generator and database invariant checker for the Pulse API.
#[derive(Debug, Parser)]
#[command(name = "pulse-bench", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive `POST /v2/submit` and `GET /v2/status` of a running server and report
    /// throughput, latency per outcome and errors (optionally checking the database after).
    Run(Box<RunArgs>),
    /// Check the database invariants (quota, idempotency, validation tasks, and the fate of
    /// every post a run recorded with `--receipts`).
    Check(CheckArgs),
    /// Every hotkey sends its posts the moment a window opens, for several windows, and
    /// each window must count exactly hotkeys x quota new posts and the rest 429 (a full
    /// subnet at a window's start).
    Burst(BurstArgs),
}

/// Settings of one load run.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Base URL of the server.
    #[arg(long, env = "PULSE_URL", default_value = "http://127.0.0.1:8001")]
    pub url: String,
    /// Requests in flight at once (each on a keep-alive connection of its own).
    #[arg(long, short = 'c', default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub concurrency: u32,
    /// Measured time after the warm-up (`30s`, `2m`, `500ms`; a bare number is seconds).
    /// The default, 10 s, applies when --requests is not given either.
    #[arg(long, short = 'd', value_parser = parse_duration, conflicts_with = "requests")]
    pub duration: Option<Duration>,
    /// Measured requests after the warm-up, instead of a duration.
    #[arg(long, short = 'n', value_parser = clap::value_parser!(u64).range(1..))]
    pub requests: Option<u64>,
    /// Time spent sending before measuring starts: it fills connection pools, caches and
    /// the stored posts that duplicates and conflicts reuse. Its requests are checked like
    /// any other but left out of throughput and latency.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Open-loop arrival rate in requests per second (all connections together). Latency
    /// is then measured from each request's scheduled start, so a stalled server is not
    /// hidden by the generator slowing down (coordinated omission). Without it, every
    /// connection sends its next request as soon as the previous one is answered.
    #[arg(long, value_parser = number_in("a rate", (Bound::Excluded(0.0), Bound::Unbounded)))]
    pub rate: Option<f64>,
    /// Miner hotkeys to submit as. Each has at most one request in flight, so the outcome
    /// of every request is known in advance; use at least twice --concurrency.
    #[arg(long, short = 'k', default_value_t = 1000,
          value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    pub hotkeys: u32,
    /// Seed of the hotkeys and of the request sequence: the same seed gives the same
    /// hotkeys (post ids are new in every run, so a rerun never collides with stored posts).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of the hotkeys that sign with Epistula v2; the rest use X-Auth.
    #[arg(long, default_value_t = 0.5, value_parser = share)]
    pub epistula_share: f64,
    /// Request mix as relative weights of `new` (a post never sent before, to a hotkey with
    /// quota left), `duplicate` (a stored post again, same data), `conflict` (a stored
    /// post id with different data), `over-quota` (a new post from a hotkey whose window
    /// quota is used), `status` (public `/v2/status`) and `quota-status` (signed
    /// `/v2/status`). Example: `new=70,duplicate=10,conflict=5,over-quota=10,status=5`.
    #[arg(long, default_value = "new=100", value_parser = Mix::parse)]
    pub mix: Mix,
    /// Fresh posts kept signed ahead per hotkey.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub sign_ahead: u32,
    /// Fresh posts signed per hotkey before the run starts (at least --sign-ahead). With
    /// enough for the whole run, nothing is signed while measuring, so the generator's
    /// signing does not take CPU from the server on a shared machine; afterwards hotkeys
    /// fall back to --sign-ahead. Signatures older than --signature-max-age are not sent,
    /// which bounds how long a supply lasts.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    pub presign: u32,
    /// Threads that sign ahead (sr25519 signing is the generator's main CPU cost).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub signers: u32,
    /// Oldest signature the generator still sends (the server accepts up to
    /// AUTH_MAX_AGE_SECS, 300 s by default); older pre-signed requests are signed again.
    #[arg(long, value_parser = parse_duration, default_value = "240s")]
    pub signature_max_age: Duration,
    /// Age at which a hotkey's X-Auth signature is replaced; until then it is reused, as
    /// the reference miner reuses one across its retries.
    #[arg(long, value_parser = parse_duration, default_value = "40s")]
    pub xauth_reuse: Duration,
    /// Prefix of the X-Auth message (the server's AUTH_MESSAGE_PREFIX).
    #[arg(long, env = "AUTH_MESSAGE_PREFIX", default_value = auth::DEFAULT_MESSAGE_PREFIX)]
    pub auth_message_prefix: String,
    /// Longest wait for one reply before it counts as a transport error.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Write the report as JSON: `--json` prints it on stdout instead of the text report,
    /// `--json FILE` writes it to FILE as well as printing the text.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// After the run, check the database invariants on this database (the server's
    /// DATABASE_URL), including that every `new` reply received is stored.
    #[arg(long, value_name = "DATABASE_URL")]
    pub check_db: Option<String>,
    /// Write the fate of every post sent (JSON lines) for `pulse-bench check --receipts`.
    #[arg(long, value_name = "FILE")]
    pub receipts: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl RunArgs {
    /// Settings for a run against `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        let cli = Cli::try_parse_from(["pulse-bench", "run", "--url", &url.into()])
            .expect("the defaults parse");
        match cli.command {
            Command::Run(args) => *args,
            _ => unreachable!("parsed as run"),
        }
    }

    /// How long to measure when neither --duration nor --requests is given.
    pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
}

/// Settings of `pulse-bench burst`.
#[derive(Debug, Clone, Args)]
pub struct BurstArgs {
    /// Base URL of the server.
    #[arg(long, env = "PULSE_URL", default_value = "http://127.0.0.1:8001")]
    pub url: String,
    /// Miner hotkeys, each sending its posts over a connection of its own.
    #[arg(long, short = 'k', default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub hotkeys: u32,
    /// Posts each hotkey sends at each window's start (one more than the quota makes each
    /// hotkey's last post a 429).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=1_000))]
    pub posts: u32,
    /// Windows to burst in, each at its start.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub windows: u32,
    /// Seed of the hotkeys (the same seed gives the same hotkeys).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of the hotkeys that sign with Epistula v2; the rest use X-Auth.
    #[arg(long, default_value_t = 0.5, value_parser = share)]
    pub epistula_share: f64,
    /// Prefix of the X-Auth message (the server's AUTH_MESSAGE_PREFIX).
    #[arg(long, env = "AUTH_MESSAGE_PREFIX", default_value = auth::DEFAULT_MESSAGE_PREFIX)]
    pub auth_message_prefix: String,
    /// Longest wait for one reply before it counts as an error.
    #[arg(long, value_parser = parse_duration, default_value = "30s")]
    pub timeout: Duration,
    /// Register the hotkeys first on this `pulse-chain` double (its HTTP address), for a
    /// server with REGISTRATION=metagraph, and wait until the server admits them.
    #[arg(long, value_name = "URL")]
    pub register_on: Option<String>,
    /// The subnet to register on.
    #[arg(long, default_value_t = 1)]
    pub netuid: u16,
    /// Bearer token of the chain double's admin API (its CHAIN_ADMIN_TOKEN), if it has one.
    #[arg(long, env = "CHAIN_ADMIN_TOKEN", hide_env_values = true)]
    pub chain_admin_token: Option<String>,
    /// Longest wait for the server's metagraph to admit the registered hotkeys.
    #[arg(long, value_parser = parse_duration, default_value = "120s")]
    pub admission_timeout: Duration,
    /// After the run, check the database invariants on this database (the server's
    /// DATABASE_URL), the receipts of every post, and the stored posts per window.
    #[arg(long, value_name = "DATABASE_URL")]
    pub check_db: Option<String>,
    /// Write the report as JSON: `--json` prints it on stdout instead of the text report,
    /// `--json FILE` writes it to FILE as well as printing the text.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = "-")]
    pub json: Option<PathBuf>,
    /// No progress lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

impl BurstArgs {
    /// Burst settings against `url` with every other setting at its default.
    pub fn new(url: impl Into<String>) -> Self {
        let cli = Cli::try_parse_from(["pulse-bench", "burst", "--url", &url.into()])
            .expect("the defaults parse");
        match cli.command {
            Command::Burst(args) => args,
            _ => unreachable!("parsed as burst"),
        }
    }
}

/// Settings of `pulse-bench check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The server's database.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: String,
    /// The server's MAX_SUBMISSION_RATE (new posts per hotkey per window).
    #[arg(long, env = "MAX_SUBMISSION_RATE", default_value_t = protocol::window::DEFAULT_MAX_SUBMISSIONS)]
    pub quota: u32,
    /// Receipts written by `pulse-bench run --receipts`: every `new` reply must be stored
    /// as acknowledged and every refused post must be absent.
    #[arg(long, value_name = "FILE")]
    pub receipts: Option<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses `30s`, `2m`, `500ms`, `1h` or a bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let split = raw
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{raw:?} is not a duration such as 30s, 2m or 500ms"))?;
    let seconds = match unit.trim() {
        "" | "s" => value,
        "ms" => value / 1e3,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown unit {other:?} in {raw:?} (ms, s, m, h)")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{raw:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use service::cli::parse;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("ten").is_err());
        assert!(parse_duration("5 fortnights").is_err());
    }

    #[test]
    fn duration_and_request_count_exclude_each_other() {
        let both = Cli::try_parse_from(["pulse-bench", "run", "-d", "5s", "-n", "100"]);
        assert!(both.is_err());
    }

    #[test]
    fn json_without_a_file_means_stdout() {
        let cli: Cli = parse(["pulse-bench", "run", "--json"]);
        let Command::Run(args) = cli.command else {
            panic!("run")
        };
        assert_eq!(args.json, Some(PathBuf::from("-")));
    }

    #[test]
    fn defaults_describe_a_new_post_run_over_many_hotkeys() {
        let args = RunArgs::new("http://127.0.0.1:9");
        assert_eq!(args.url, "http://127.0.0.1:9");
        assert_eq!((args.concurrency, args.hotkeys), (16, 1000));
        assert_eq!(args.mix.to_string(), "new=100");
        assert_eq!(args.signature_max_age, Duration::from_secs(240));
    }
}
