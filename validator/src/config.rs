//! The command line: subcommands, and settings as flags and environment variables.
//!
//! Settings shared with the miner keep the miner's names (`X_BEARER_TOKEN`, `X_API_BASE`,
//! `LLM_BASE`, `MODEL`, `API_KEY`, `SUBNET_REGISTRY`, `BLOCKS_PER_WINDOW`, `PULSE_AUTH`,
//! `AUTH_MESSAGE_PREFIX`, the `--wallet.*` flags), so one env file can serve both; the
//! validator's own settings start with `VALIDATOR_` or `PULSE_VALIDATOR_`. Flags win over the
//! environment, which wins over `--env-file`.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use analyzer::sentiment::{DEFAULT_LLM_BASE, DEFAULT_MODEL, Lexicon, LlmClassifier, LlmConfig};
use analyzer::{Analyzer, Registry, SentimentEngine};
use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use client::{AuthForm, IdentityArgs};

/// Where the coordination API listens by default (the server's default port).
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8001";
/// X API v2.
pub const DEFAULT_X_API_BASE: &str = "https://api.twitter.com/2";
/// Seconds one request (to X, the API or the LLM) may take.
pub const DEFAULT_HTTP_TIMEOUT_SECS: f64 = 30.0;
/// Seconds between polls of an empty queue: about one block.
pub const DEFAULT_POLL_SECS: u64 = 12;
/// Tasks leased per request. Small enough that a batch is judged well inside the server's
/// five-minute lease even when every post needs an LLM call.
pub const DEFAULT_LEASE_BATCH: u32 = 25;

/// A secret (token, key) whose `Debug` output hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(s))
    }
}

/// `pulse-validator`: re-checks the posts the coordination API sampled (against X and the
/// analyser), sends a verdict for each, and turns window scores into miner weights.
#[derive(Debug, Parser)]
#[command(name = "pulse-validator", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
    /// File of KEY=value lines read before the command line; variables already set in the
    /// environment, and flags, win over it.
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// Log format (logs go to stderr; verdicts and summaries to stdout).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// The subcommands.
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

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Format of verdict, pass, weight and total lines on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with a `type` of `verdict`, `pass`, `weights` or `total`.
    Json,
}

/// Which sentiment engine re-classifies posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SentimentKind {
    /// The offline cue-word classifier (the miners' default).
    Lexicon,
    /// An OpenAI-compatible chat-completions API (`LLM_BASE`, `MODEL`, `API_KEY`).
    Llm,
}

/// Settings of `run`, `once` and `config`.
#[derive(Debug, Clone, Args)]
pub struct ValidatorArgs {
    /// Which hotkey signs (it must be registered as a validator on the server).
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// Base URL of the coordination API.
    #[arg(long, env = "VALIDATOR_API_URL", default_value = DEFAULT_API_URL)]
    pub api_url: String,
    /// Signature form: Epistula v2 (binds the body; Pulse's default) or the reference's
    /// X-Auth headers.
    #[arg(long, env = "PULSE_AUTH", value_enum, default_value_t = AuthForm::Epistula)]
    pub auth: AuthForm,
    /// Prefix of the signed X-Auth message; must match the server's AUTH_MESSAGE_PREFIX.
    #[arg(long, env = "AUTH_MESSAGE_PREFIX", default_value = protocol::auth::DEFAULT_MESSAGE_PREFIX)]
    pub auth_message_prefix: String,
    /// Bearer token of an X app (required: every post is re-fetched from X).
    #[arg(long, env = "X_BEARER_TOKEN", hide_env_values = true)]
    pub x_bearer_token: Option<Secret>,
    /// Base URL of X API v2 (a local `pulse-xapi` double: `http://127.0.0.1:8002/2`).
    #[arg(long, env = "X_API_BASE", default_value = DEFAULT_X_API_BASE)]
    pub x_api_base: String,
    /// Sentiment engine. It must be the one the subnet's miners use: sentiment is compared
    /// within 0.05, and two engines disagree more often than that.
    #[arg(long, env = "VALIDATOR_SENTIMENT", value_enum, default_value_t = SentimentKind::Lexicon)]
    pub sentiment: SentimentKind,
    /// Base URL of the OpenAI-compatible API (with `--sentiment llm`).
    #[arg(long, env = "LLM_BASE", default_value = DEFAULT_LLM_BASE)]
    pub llm_base: String,
    /// Model name (with `--sentiment llm`).
    #[arg(long, env = "MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Key of the LLM API (required with `--sentiment llm`).
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// Subnet registry file (schema of `data/subnets.json`) instead of the built-in one; it
    /// must be the miners' registry.
    #[arg(long, env = "SUBNET_REGISTRY", value_name = "PATH")]
    pub subnet_registry: Option<PathBuf>,
    /// Seconds one request to X, the coordination API or the LLM may take.
    #[arg(long, env = "VALIDATOR_HTTP_TIMEOUT", default_value_t = DEFAULT_HTTP_TIMEOUT_SECS,
          value_parser = parse_positive_secs)]
    pub http_timeout: f64,
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
    /// Seconds between polls while the queue is empty (`run`).
    #[arg(long, env = "VALIDATOR_POLL_SECS", default_value_t = DEFAULT_POLL_SECS,
          value_parser = clap::value_parser!(u64).range(1..=600))]
    pub poll_secs: u64,
    /// Tasks leased per request (1 to 100; the server allows 100, X looks up 100 ids at once).
    #[arg(long, env = "VALIDATOR_LEASE_BATCH", default_value_t = DEFAULT_LEASE_BATCH,
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub lease_batch: u32,
    /// Metagraph file mapping hotkeys to uids (`{"neurons": [{"uid": 0, "hotkey": "5F..."}]}`).
    /// Without it the weight vector names hotkeys only.
    #[arg(long, env = "VALIDATOR_METAGRAPH", value_name = "PATH")]
    pub metagraph: Option<PathBuf>,
    /// Share of the weight given to `--burn-uid` (0 to 1); the miners share the rest.
    #[arg(long, env = "VALIDATOR_BURN_SHARE", default_value_t = 0.0, value_parser = parse_share)]
    pub burn_share: f64,
    /// The uid that receives the burn share (conventionally the subnet owner's, 0).
    #[arg(long, env = "VALIDATOR_BURN_UID", default_value_t = 0)]
    pub burn_uid: u16,
    /// Format of the verdict, pass, weight and total lines on stdout.
    #[arg(long, env = "PULSE_VALIDATOR_OUTPUT", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Address to serve the summaries' counters on, as Prometheus text at `/metrics`
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

fn parse_positive_secs(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 3600.0 => Ok(secs),
        _ => Err(format!(
            "expected a number of seconds above 0 and at most 3600, not {raw:?}"
        )),
    }
}

fn parse_share(raw: &str) -> Result<f64, String> {
    match raw.trim().parse::<f64>() {
        Ok(share) if (0.0..=1.0).contains(&share) => Ok(share),
        _ => Err(format!("expected a share between 0 and 1, not {raw:?}")),
    }
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
    /// The limit of one request.
    pub fn http_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.http_timeout)
    }

    /// The wait between polls of an empty queue.
    pub fn poll_interval(&self) -> Duration {
        Duration::from_secs(self.poll_secs)
    }

    /// Waits between attempts.
    pub fn backoff(&self) -> Vec<Duration> {
        self.backoff_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect()
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
        let registry = match &self.subnet_registry {
            Some(path) => Registry::from_path(path)
                .with_context(|| format!("loading the subnet registry {}", path.display()))?,
            None => Registry::embedded(),
        };
        let engine = match self.sentiment {
            SentimentKind::Lexicon => SentimentEngine::Lexicon(Lexicon),
            SentimentKind::Llm => {
                let key = self
                    .api_key
                    .as_ref()
                    .filter(|key| !key.expose().is_empty())
                    .context("--sentiment llm needs API_KEY (or --api-key)")?;
                let mut config = LlmConfig::new(&self.llm_base, &self.model, key.expose());
                config.timeout = timeout;
                SentimentEngine::Llm(LlmClassifier::new(config).context("building the LLM client")?)
            }
        };
        Ok(Analyzer::new(registry, engine))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn once(args: &[&str]) -> ValidatorArgs {
        let cli = Cli::try_parse_from(["pulse-validator", "once"].iter().chain(args)).unwrap();
        match cli.command {
            Command::Once(args) => args,
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_server_and_the_miner() {
        let args = once(&[]);
        assert_eq!(args.api_url, "http://127.0.0.1:8001");
        assert_eq!(args.auth, AuthForm::Epistula);
        assert_eq!(args.x_api_base, "https://api.twitter.com/2");
        assert_eq!(args.sentiment, SentimentKind::Lexicon);
        assert_eq!(args.blocks_per_window, 100);
        assert_eq!(args.lease_batch, 25);
        assert_eq!(args.poll_interval(), Duration::from_secs(12));
        assert_eq!(args.http_timeout(), Duration::from_secs(30));
        assert_eq!(args.burn_share, 0.0);
        assert_eq!(args.metrics_bind, None);
        assert_eq!(
            args.backoff(),
            [Duration::from_secs(1), Duration::from_secs(3)]
        );
    }

    #[test]
    fn out_of_range_values_are_refused() {
        for bad in [
            &["--lease-batch", "0"][..],
            &["--lease-batch", "101"],
            &["--burn-share", "1.5"],
            &["--burn-share", "-0.1"],
            &["--http-timeout", "0"],
            &["--poll-secs", "0"],
            &["--auth", "basic"],
        ] {
            let parsed = Cli::try_parse_from(["pulse-validator", "once"].iter().chain(bad));
            assert!(parsed.is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let args = once(&["--x-bearer-token", "hunter2", "--api-key", "sk-123"]);
        let debug = format!("{args:?}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("sk-123"),
            "{debug}"
        );
    }

    #[test]
    fn the_state_lives_in_a_directory_per_hotkey() {
        let args = once(&["--state-dir", "/var/lib/pv"]);
        assert_eq!(
            args.hotkey_state_dir("5Hk"),
            PathBuf::from("/var/lib/pv/5Hk")
        );
    }

    #[test]
    fn the_llm_engine_needs_a_key() {
        let args = once(&["--sentiment", "llm"]);
        let err = args.analyzer(Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("API_KEY"), "{err}");
        let args = once(&["--sentiment", "llm", "--api-key", "k"]);
        let analyzer = args.analyzer(Duration::from_secs(1)).unwrap();
        assert_eq!(analyzer.sentiment_engine().kind(), "llm");
    }
}
