//! The command line: subcommands, and settings as flags and environment variables.
//!
//! Settings shared with the miner keep the miner's names (`X_BEARER_TOKEN`, `X_API_BASE`,
//! `LLM_BASE`, `MODEL`, `API_KEY`, `SUBNET_REGISTRY`, `BLOCKS_PER_WINDOW`, `PULSE_AUTH`,
//! `AUTH_MESSAGE_PREFIX`, the `--wallet.*` flags), so one env file can serve both; the
//! validator's own settings start with `VALIDATOR_` or `PULSE_VALIDATOR_`. Flags win over the
//! environment, which wins over `--env-file`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::chain_weights::CommitReveal;
use analyzer::Analyzer;
use clap::{Args, Parser, Subcommand};
use retry::Policy;
use service::cli::{
    AnalyzerArgs, CommonArgs, IdentityArgs, OutputFormat, SentimentKind, SigningArgs,
    SubtensorArgs, XApiArgs, number_in, share, timeout_secs,
};

/// Where the coordination API listens by default (the server's default port).
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8001";
/// Seconds one request (to X, the API or the LLM) may take.
pub const DEFAULT_HTTP_TIMEOUT_SECS: f64 = 30.0;
/// Seconds between polls of an empty queue: about one block.
pub const DEFAULT_POLL_SECS: u64 = 12;
/// Tasks leased per request. Small enough that a batch is judged well inside the server's
/// five-minute lease even when every post needs an LLM call.
pub const DEFAULT_LEASE_BATCH: u32 = 25;

/// `pulse-validator`: re-checks the posts the coordination API sampled (against X and the
/// analyser), sends a verdict for each, and turns window scores into miner weights.
#[derive(Debug, Parser)]
#[command(name = "pulse-validator", version, about, long_about = None)]
pub struct Cli {
    /// Validate (until stopped, or one pass), or show the settings.
    #[command(subcommand)]
    pub command: Command,
    /// `--env-file` (one file can serve the miner and the validator) and `--log-format`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What `pulse-validator` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate until stopped: poll the queue, check each leased post, send verdicts, and
    /// update weights at every new window.
    Run(ValidatorArgs),
    /// One pass: re-send pending verdicts, update weights if a window closed, check what is
    /// queued now (leasing until the queue is empty), send the verdicts, and exit.
    Once(ValidatorArgs),
    /// Print the effective settings (secrets redacted) and the state paths, then exit.
    Config(ValidatorArgs),
}

/// Settings of `run`, `once` and `config`.
#[derive(Debug, Clone, Args)]
pub struct ValidatorArgs {
    /// Which hotkey signs (it must be registered as a validator on the server).
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Base URL of the coordination API. Unset: MINER_API_URL (the reference validator's
    /// `.vali_env` name), else http://127.0.0.1:8001.
    #[arg(long, env = "VALIDATOR_API_URL")]
    pub api_url: Option<String>,
    /// The subnet on chain, checked at start: the hotkey's UID, validator permit and stake.
    #[command(flatten)]
    pub subtensor: SubtensorArgs,
    /// Minimum stake the start-up check asks of the hotkey, in TAO (its alpha stake on the
    /// subnet, as the server counts it); 0 checks only the UID and the validator permit.
    #[arg(long, env = "MIN_VALIDATOR_STAKE", default_value_t = 0.0,
          value_parser = number_in("a stake in TAO", 0.0..))]
    pub min_validator_stake: f64,
    /// The reference validator's names, read when Pulse's own are unset.
    #[command(flatten)]
    pub reference: ReferenceEnv,
    /// How requests are signed.
    #[command(flatten)]
    pub signing: SigningArgs,
    /// Where X is and the app's token: every post is re-fetched from X.
    #[command(flatten)]
    pub x: XApiArgs,
    /// Sentiment engine. It must be the one the subnet's miners use: sentiment is compared
    /// within 0.05, and two engines disagree more often than that.
    #[arg(long, env = "VALIDATOR_SENTIMENT", value_enum, default_value_t = SentimentKind::Lexicon)]
    pub sentiment: SentimentKind,
    /// The engine's settings and the subnet registry, as the miners have them.
    #[command(flatten)]
    pub engine: AnalyzerArgs,
    /// Seconds one request to X, the coordination API or the LLM may take. Unset:
    /// BATCH_HTTP_TIMEOUT (the reference's `.vali_env` name), else 30.
    #[arg(long, env = "VALIDATOR_HTTP_TIMEOUT", value_parser = timeout_secs)]
    pub http_timeout: Option<f64>,
    /// Blocks per window, as the server counts them. The server's value is the one used; a
    /// different value here is reported as a warning.
    #[arg(long, env = "BLOCKS_PER_WINDOW", default_value_t = protocol::window::DEFAULT_BLOCKS_PER_WINDOW,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub blocks_per_window: u64,
    /// Directory of the validator's state: `<dir>/<hotkey ss58>/` holds the verdicts not yet
    /// acknowledged (`outbox/`), the moving averages (`weights_state.json`) and the last
    /// weight vector (`weights.json`). Default: `$XDG_STATE_HOME/pulse-validator`, else
    /// `~/.local/state/pulse-validator`.
    #[arg(long, env = "PULSE_VALIDATOR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Seconds between polls while the queue is empty (`run`). Unset: BATCH_POLL_SECONDS (the
    /// reference's `.vali_env` name), else 12.
    #[arg(long, env = "VALIDATOR_POLL_SECS",
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub poll_secs: Option<u64>,
    /// Tasks leased per request (1 to 100; the server allows 100, X looks up 100 ids at once).
    #[arg(long, env = "VALIDATOR_LEASE_BATCH", default_value_t = DEFAULT_LEASE_BATCH,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub lease_batch: u32,
    /// Metagraph file mapping hotkeys to uids (`{"neurons": [{"uid": 0, "hotkey": "5F..."}]}`).
    /// Without it the weight vector names hotkeys only.
    #[arg(long, env = "VALIDATOR_METAGRAPH", value_name = "PATH")]
    pub metagraph: Option<PathBuf>,
    /// Share of the weight given to `--burn-uid` (0 to 1); the miners share the rest.
    #[arg(long, env = "VALIDATOR_BURN_SHARE", default_value_t = 0.0, value_parser = share)]
    pub burn_share: f64,
    /// The uid that receives the burn share (conventionally the subnet owner's, 0).
    #[arg(long, env = "VALIDATOR_BURN_UID", default_value_t = 0)]
    pub burn_uid: u16,
    /// With a subtensor, on subnets whose `commit_reveal_weights_enabled` is on: `timelock`
    /// sends drand-timelocked commits the chain reveals itself (commit-reveal version 4, what
    /// the Bittensor SDK sends); `hash` commits a hash and reveals it in the reveal epoch.
    #[arg(long, env = "VALIDATOR_COMMIT_REVEAL", value_enum, default_value_t = CommitReveal::Timelock)]
    pub commit_reveal: CommitReveal,
    /// With a subtensor: the weights version key to send. Unset: the subnet's
    /// `weights_version` hyperparameter, the lowest the chain accepts.
    #[arg(long, env = "VALIDATOR_WEIGHTS_VERSION_KEY", value_name = "KEY")]
    pub weights_version_key: Option<u64>,
    /// Format of the verdict, pass, weight and total lines on stdout (as JSON, their `type`
    /// is `verdict`, `pass`, `weights` or `total`).
    #[arg(long, env = "PULSE_VALIDATOR_OUTPUT", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Address to serve the summaries' counters on, in OpenMetrics text at `/metrics`
    /// (`127.0.0.1:9102`; port 0 picks a free port, and the log says which). Unset: no
    /// listener.
    #[arg(long, env = "PULSE_VALIDATOR_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
    /// Waits between attempts at sending verdicts or looking posts up on X, in milliseconds
    /// (one more attempt than waits). For tests.
    #[arg(long, env = "PULSE_VALIDATOR_BACKOFF_MS", value_delimiter = ',',
          default_values_t = [1000u64, 3000], hide = true)]
    pub backoff_ms: Vec<u64>,
}

/// The reference validator's `.vali_env` names for settings Pulse names otherwise
/// (`MINER_API_URL`, `BATCH_HTTP_TIMEOUT`, `BATCH_POLL_SECONDS`), so its file works through
/// `--env-file`: each is used only when Pulse's own name is unset. Hidden from `--help`,
/// which lists Pulse's names; clap gives one variable to one argument, hence these twins.
#[derive(Debug, Clone, Default, Args)]
pub struct ReferenceEnv {
    /// The reference's name for `--api-url`.
    #[arg(long = "reference-miner-api-url", env = "MINER_API_URL", hide = true)]
    pub miner_api_url: Option<String>,
    /// The reference's name for `--http-timeout`.
    #[arg(long = "reference-batch-http-timeout", env = "BATCH_HTTP_TIMEOUT", hide = true,
          value_parser = timeout_secs)]
    pub batch_http_timeout: Option<f64>,
    /// The reference's name for `--poll-secs` (whole seconds, 1 to 600).
    #[arg(long = "reference-batch-poll-seconds", env = "BATCH_POLL_SECONDS", hide = true,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub batch_poll_seconds: Option<u64>,
}

/// The default state directory: `$XDG_STATE_HOME/pulse-validator`, else
/// `~/.local/state/pulse-validator`.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("pulse-validator"),
        None => protocol::wallet::expand_home(Path::new("~/.local/state/pulse-validator")),
    }
}

impl ValidatorArgs {
    /// The coordination API: `VALIDATOR_API_URL`, else the reference's `MINER_API_URL`,
    /// else the default.
    pub fn api_url(&self) -> &str {
        self.api_url
            .as_deref()
            .or(self.reference.miner_api_url.as_deref())
            .unwrap_or(DEFAULT_API_URL)
    }

    /// The limit of one request.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs_f64(
            self.http_timeout
                .or(self.reference.batch_http_timeout)
                .unwrap_or(DEFAULT_HTTP_TIMEOUT_SECS),
        )
    }

    /// The wait between polls of an empty queue.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(
            self.poll_secs
                .or(self.reference.batch_poll_seconds)
                .unwrap_or(DEFAULT_POLL_SECS),
        )
    }

    /// The least stake the start-up check accepts, in rao (1 TAO = 10^9 rao).
    pub fn min_validator_stake_rao(&self) -> u64 {
        (self.min_validator_stake * 1e9).round() as u64
    }

    /// Attempts at sending verdicts, reading the status and looking posts up on X.
    pub fn backoff(&self) -> Policy {
        Policy::new(
            self.backoff_ms
                .iter()
                .map(|ms| Duration::from_millis(*ms))
                .collect(),
        )
    }

    /// The state directory of `hotkey`: `<state dir>/<ss58>`.
    pub fn hotkey_state_dir(&self, hotkey: &str) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(default_state_dir)
            .join(hotkey)
    }

    /// The analyser these settings describe; LLM requests are limited to `timeout` each.
    pub fn analyzer(&self, timeout: Duration) -> anyhow::Result<Analyzer> {
        self.engine.analyzer(self.sentiment, timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::auth::AuthForm;
    use service::cli::{assert_hidden, assert_refused, parse, parse_args};

    #[test]
    fn defaults_match_the_server_and_the_miner() {
        let cli: Cli = parse(["pulse-validator", "once"]);
        assert!(matches!(cli.command, Command::Once(_)), "{cli:?}");
        let args: ValidatorArgs = parse_args(&[]);
        assert_eq!(args.api_url(), "http://127.0.0.1:8001");
        assert_eq!(args.subtensor.target().unwrap(), None);
        assert_eq!(args.min_validator_stake_rao(), 0);
        assert_eq!(args.signing.auth, AuthForm::Epistula);
        assert_eq!(args.x.x_api_base, "https://api.twitter.com/2");
        assert_eq!(args.sentiment, SentimentKind::Lexicon);
        assert_eq!(args.blocks_per_window, 100);
        assert_eq!(args.lease_batch, 25);
        assert_eq!(args.poll_interval(), Duration::from_secs(12));
        assert_eq!(args.http_timeout(), Duration::from_secs(30));
        assert_eq!(args.burn_share, 0.0);
        assert_eq!(args.metrics_bind, None);
        assert_eq!(
            args.backoff().waits(),
            [Duration::from_secs(1), Duration::from_secs(3)]
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert_refused::<Cli>(
            &["pulse-validator", "once"],
            &[
                &["--lease-batch", "0"],
                &["--lease-batch", "101"],
                &["--burn-share", "1.5"],
                &["--burn-share", "-0.1"],
                &["--http-timeout", "0"],
                &["--poll-secs", "0"],
                &["--auth", "basic"],
                &["--min-validator-stake", "-1"],
                &["--netuid", "70000"],
            ],
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let args: ValidatorArgs =
            parse_args(&["--x-bearer-token", "hunter2", "--api-key", "sk-123"]);
        assert_hidden(&args, &["hunter2", "sk-123"]);
    }

    #[test]
    fn the_state_lives_in_a_directory_per_hotkey() {
        let args: ValidatorArgs = parse_args(&["--state-dir", "/var/lib/pv"]);
        assert_eq!(
            args.hotkey_state_dir("5Hk"),
            PathBuf::from("/var/lib/pv/5Hk")
        );
    }

    #[test]
    fn the_llm_engine_needs_a_key() {
        let args: ValidatorArgs = parse_args(&["--sentiment", "llm"]);
        let err = args.analyzer(Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("API_KEY"), "{err}");
        let args: ValidatorArgs = parse_args(&["--sentiment", "llm", "--api-key", "k"]);
        let analyzer = args.analyzer(Duration::from_secs(1)).unwrap();
        assert_eq!(analyzer.sentiment_engine().kind(), "llm");
    }

    #[test]
    fn the_reference_vali_env_names_fill_in_for_pulse_s_own() {
        let reference: ValidatorArgs = parse_args(&[
            "--reference-miner-api-url",
            "https://talisman.example/api",
            "--reference-batch-http-timeout",
            "12.5",
            "--reference-batch-poll-seconds",
            "10",
        ]);
        assert_eq!(reference.api_url(), "https://talisman.example/api");
        assert_eq!(reference.http_timeout(), Duration::from_millis(12_500));
        assert_eq!(reference.poll_interval(), Duration::from_secs(10));
        let both: ValidatorArgs = parse_args(&[
            "--reference-miner-api-url",
            "https://talisman.example/api",
            "--api-url",
            "http://127.0.0.1:9001",
            "--reference-batch-poll-seconds",
            "10",
            "--poll-secs",
            "3",
        ]);
        assert_eq!(both.api_url(), "http://127.0.0.1:9001");
        assert_eq!(both.poll_interval(), Duration::from_secs(3));
    }

    #[test]
    fn the_subtensor_flags_name_the_subnet_and_the_stake_is_in_tao() {
        let args: ValidatorArgs = parse_args(&[
            "--subtensor.network",
            "test",
            "--netuid",
            "45",
            "--min-validator-stake",
            "1000.5",
        ]);
        let target = args.subtensor.target().unwrap().unwrap();
        assert_eq!(target.netuid, 45);
        assert_eq!(target.endpoint.network, "test");
        assert_eq!(args.min_validator_stake_rao(), 1_000_500_000_000);
    }
}
