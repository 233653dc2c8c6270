//! The command line: subcommands, and settings as flags and environment variables.
//!
//! Every setting of the reference miner keeps its environment name (`MINER_API_URL`,
//! `X_BEARER_TOKEN`, `X_API_BASE`, `BLOCKS_PER_WINDOW`, `MAX_SUBMISSIONS_PER_WINDOW`,
//! `LLM_BASE`, `MODEL`, `API_KEY`, `BATCH_HTTP_TIMEOUT`) and gets a flag spelt the same way in
//! lower case (`--x-bearer-token`), so an existing `.miner_env` works through `--env-file`.
//! Flags win over the environment, which wins over the env file.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use analyzer::Analyzer;
use clap::{Args, Parser, Subcommand, ValueEnum};
use service::cli::{
    AnalyzerArgs, CommonArgs, IdentityArgs, OutputFormat, SentimentKind, SigningArgs,
    SubtensorArgs, XApiArgs, timeout_secs,
};

use crate::scrape::query::SearchTerms;

/// The reference miner's `MINER_API_URL`.
pub const DEFAULT_API_URL: &str = "http://127.0.0.1:8001";
/// Keywords searched when none are configured.
///
/// `bittensor` is the reference's only keyword. `opentensor` (the foundation), `dtao` (the
/// subnet-token upgrade) and `subnet` widen the net to posts that name a subnet without
/// naming Bittensor; the analyser drops whatever matches no subnet, and the miner submits the
/// best of the rest. Cashtags (`$TAO`) are left out: X reserves the `$` operator for some
/// access levels.
pub const DEFAULT_KEYWORDS: &str = "bittensor,opentensor,dtao,subnet";
/// The reference's `BATCH_HTTP_TIMEOUT`, in seconds.
pub const DEFAULT_HTTP_TIMEOUT_SECS: f64 = 30.0;

/// `pulse-miner`: finds posts about Bittensor subnets on X, analyses and scores them, and
/// submits the best to the Pulse coordination API, within each window's quota.
#[derive(Debug, Parser)]
#[command(name = "pulse-miner", version, about, long_about = None)]
pub struct Cli {
    /// Mine, try the analysis, manage the hotkey, sign a request, or show the settings.
    #[command(subcommand)]
    pub command: Command,
    /// `--env-file` (the reference's `.miner_env` works) and `--log-format`.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// What `pulse-miner` can do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mine until stopped: at each window, scrape, analyse, score and submit up to the quota.
    Run(MinerArgs),
    /// Do one window's work, print its summary, and exit.
    Once(MinerArgs),
    /// Analyse posts given as JSON lines on stdin; print one JSON line per post with its
    /// analysis, score and whether the miner would submit it (and if not, why).
    Analyze(AnalyzeArgs),
    /// Write a new unencrypted hotkey at the --wallet.* location and print its address.
    Keygen(KeygenArgs),
    /// Print the signature headers (or a ready-to-run curl command) for one request to the
    /// coordination API.
    SignRequest(SignRequestArgs),
    /// Print the effective settings (secrets redacted) and the X query, then exit.
    Config(MinerArgs),
}

/// Where the coordination API is and how requests to it are signed.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// Base URL of the coordination API.
    #[arg(long, env = "MINER_API_URL", default_value = DEFAULT_API_URL)]
    pub miner_api_url: String,
    /// How requests are signed.
    #[command(flatten)]
    pub signing: SigningArgs,
}

/// How long requests other than submissions may take.
#[derive(Debug, Clone, Args)]
pub struct TimeoutArgs {
    /// Seconds one request to X, to `/v2/status` or to the LLM may take. Submissions keep
    /// their own 10 s limit per attempt.
    #[arg(long, env = "BATCH_HTTP_TIMEOUT", default_value_t = DEFAULT_HTTP_TIMEOUT_SECS,
          value_parser = timeout_secs)]
    pub batch_http_timeout: f64,
}

impl TimeoutArgs {
    /// The limit as a duration.
    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.batch_http_timeout)
    }
}

/// Where posts come from: X API v2 recent search.
#[derive(Debug, Clone, Args)]
pub struct XArgs {
    /// Where X is and the app's token.
    #[command(flatten)]
    pub api: XApiArgs,
    /// Keywords to search for, comma-separated; a keyword with spaces is searched as an exact
    /// phrase.
    #[arg(long, env = "MINER_KEYWORDS", value_delimiter = ',', default_value = DEFAULT_KEYWORDS)]
    pub keywords: Vec<String>,
    /// Hashtags to search for as well, comma-separated, with or without `#`.
    #[arg(long, env = "MINER_HASHTAGS", value_delimiter = ',')]
    pub hashtags: Vec<String>,
    /// Accounts whose mentions to search for as well, comma-separated, with or without `@`.
    #[arg(long, env = "MINER_MENTIONS", value_delimiter = ',')]
    pub mentions: Vec<String>,
    /// Posts asked for per search request (X allows 10 to 100).
    #[arg(long, env = "X_MAX_RESULTS", default_value_t = 100,
          value_parser = clap::value_parser!(u8).range(10..=100))]
    pub x_max_results: u8,
    /// Search result pages read per window at most, while fewer eligible posts than the quota
    /// are in hand. Every post read counts against the X app's monthly cap.
    #[arg(long, env = "X_MAX_PAGES", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=10))]
    pub x_max_pages: u32,
    /// Longest query X accepts from this app (512 self-serve, 4096 enterprise).
    #[arg(long, env = "X_MAX_QUERY_LEN", default_value_t = 512)]
    pub x_max_query_len: usize,
}

impl XArgs {
    /// The keywords, hashtags and mentions, as given.
    pub fn terms(&self) -> SearchTerms {
        SearchTerms {
            keywords: self.keywords.clone(),
            hashtags: self.hashtags.clone(),
            mentions: self.mentions.clone(),
        }
    }
}

/// How posts are analysed.
#[derive(Debug, Clone, Args)]
pub struct AnalysisArgs {
    /// Sentiment engine. Validators compare sentiment within 0.05, so use the engine the
    /// subnet's validators use.
    #[arg(long, env = "MINER_SENTIMENT", value_enum, default_value_t = SentimentKind::Lexicon)]
    pub sentiment: SentimentKind,
    /// The engine's settings and the subnet registry.
    #[command(flatten)]
    pub engine: AnalyzerArgs,
}

impl AnalysisArgs {
    /// The analyser these settings describe; LLM requests are limited to `timeout` each.
    pub fn analyzer(&self, timeout: Duration) -> anyhow::Result<Analyzer> {
        self.engine.analyzer(self.sentiment, timeout)
    }
}

/// Settings of `run`, `once` and `config`.
#[derive(Debug, Clone, Args)]
pub struct MinerArgs {
    /// Which hotkey signs.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The coordination API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The subnet on chain, checked at start: the hotkey must hold a UID on it.
    #[command(flatten)]
    pub subtensor: SubtensorArgs,
    /// Request time limits.
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    /// X.
    #[command(flatten)]
    pub x: XArgs,
    /// Analysis.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Directory of the miner's state; the posts already submitted are kept in
    /// `<dir>/<hotkey ss58>/seen.json`. Default: `$XDG_STATE_HOME/pulse-miner`, else
    /// `~/.local/state/pulse-miner`.
    #[arg(long, env = "PULSE_MINER_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Blocks per window, as the server counts them. The server's value is the one used; a
    /// different value here is reported as a warning.
    #[arg(long, env = "BLOCKS_PER_WINDOW", default_value_t = protocol::window::DEFAULT_BLOCKS_PER_WINDOW,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub blocks_per_window: u64,
    /// Most new posts this miner submits per window (it never exceeds the server's quota
    /// either).
    #[arg(long, env = "MAX_SUBMISSIONS_PER_WINDOW", default_value_t = protocol::window::DEFAULT_MAX_SUBMISSIONS)]
    pub max_submissions_per_window: u32,
    /// Seconds between block syncs with `/v2/status` while waiting for the next window
    /// (at most 60).
    #[arg(long, env = "PULSE_MINER_SYNC_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub sync_secs: u64,
    /// Format of the per-window summaries on stdout: one line per window and a total, as
    /// text or as JSON (`"type": "window"` or `"total"`).
    #[arg(long, env = "PULSE_MINER_OUTPUT", value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Address to serve the summaries' counters on, in OpenMetrics text at `/metrics`
    /// (`127.0.0.1:9101`; port 0 picks a free port, and the log says which). Unset: no
    /// listener.
    #[arg(long, env = "PULSE_MINER_METRICS_BIND", value_name = "ADDR")]
    pub metrics_bind: Option<SocketAddr>,
    /// Waits between submission attempts in milliseconds (A7: 3000,6000). For tests.
    #[arg(long, env = "PULSE_MINER_SUBMIT_BACKOFF_MS", value_delimiter = ',',
          default_values_t = [3000u64, 6000], hide = true)]
    pub submit_backoff_ms: Vec<u64>,
}

/// Settings of `analyze`.
#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// Analysis.
    #[command(flatten)]
    pub analysis: AnalysisArgs,
    /// Request time limits (LLM).
    #[command(flatten)]
    pub timeout: TimeoutArgs,
    /// The present, in Unix seconds, that ages and scores are computed at (default: now).
    /// Dataset lines' `age_minutes` count back from it.
    #[arg(long, value_name = "UNIX_SECS")]
    pub now: Option<i64>,
    /// Include the normalised content (what would be submitted) in each output line.
    #[arg(long)]
    pub content: bool,
}

/// Settings of `keygen`.
#[derive(Debug, Clone, Args)]
pub struct KeygenArgs {
    /// Where to write the hotkey.
    #[command(flatten)]
    pub identity: IdentityArgs,
}

/// How `sign-request` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignFormat {
    /// `Name: value` lines.
    Headers,
    /// A curl command line.
    Curl,
    /// One JSON object: method, url, headers, body.
    Json,
}

/// Settings of `sign-request`.
#[derive(Debug, Clone, Args)]
pub struct SignRequestArgs {
    /// Which hotkey signs.
    #[command(flatten)]
    pub identity: IdentityArgs,
    /// The coordination API and signature form.
    #[command(flatten)]
    pub api: ApiArgs,
    /// HTTP method (GET, POST, ...).
    pub method: String,
    /// A path on the API (`/v2/status`, joined to MINER_API_URL) or a full URL.
    pub target: String,
    /// File holding the request body, or `-` for stdin; without it the body is empty.
    #[arg(long, value_name = "PATH")]
    pub body: Option<PathBuf>,
    /// Epistula `Signed-For` value (the receiving hotkey), if any.
    #[arg(long, value_name = "SS58")]
    pub signed_for: Option<String>,
    /// What to print.
    #[arg(long, value_enum, default_value_t = SignFormat::Headers)]
    pub format: SignFormat,
}

impl MinerArgs {
    /// Waits between submission attempts.
    pub fn submit_backoff(&self) -> Vec<Duration> {
        self.submit_backoff_ms
            .iter()
            .map(|ms| Duration::from_millis(*ms))
            .collect()
    }

    /// Waits between block syncs.
    pub fn sync_interval(&self) -> Duration {
        Duration::from_secs(self.sync_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::auth::AuthForm;
    use service::cli::{assert_hidden, assert_refused, parse, parse_args};

    #[test]
    fn defaults_are_the_reference_values() {
        let cli: Cli = parse(["pulse-miner", "once"]);
        assert!(matches!(cli.command, Command::Once(_)), "{cli:?}");
        let args: MinerArgs = parse_args(&[]);
        assert_eq!(args.api.miner_api_url, "http://127.0.0.1:8001");
        assert_eq!(args.api.signing.auth, AuthForm::Epistula);
        assert_eq!(args.x.api.x_api_base, "https://api.twitter.com/2");
        assert_eq!(args.blocks_per_window, 100);
        assert_eq!(args.max_submissions_per_window, 5);
        assert_eq!(args.timeout.duration(), Duration::from_secs(30));
        assert_eq!(
            args.submit_backoff(),
            [Duration::from_secs(3), Duration::from_secs(6)]
        );
        assert_eq!(args.sync_interval(), Duration::from_secs(60));
        assert_eq!(
            args.x.keywords,
            ["bittensor", "opentensor", "dtao", "subnet"]
        );
        assert_eq!(args.analysis.sentiment, SentimentKind::Lexicon);
        assert_eq!(args.metrics_bind, None);
        assert_eq!(args.subtensor.target().unwrap(), None);
    }

    #[test]
    fn bittensor_flags_parse_as_the_sdk_spells_them() {
        let cli: Cli = parse([
            "pulse-miner",
            "--logging.debug",
            "run",
            "--netuid",
            "45",
            "--subtensor.network",
            "finney",
        ]);
        assert!(cli.common.logging.debug);
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        let target = args.subtensor.target().unwrap().unwrap();
        assert_eq!(
            (target.netuid, target.endpoint.network.as_str()),
            (45, "finney")
        );
    }

    #[test]
    fn lists_are_comma_separated_and_flags_use_the_reference_names() {
        let args: MinerArgs = parse_args(&[
            "--keywords",
            "sn45,talisman ai",
            "--hashtags",
            "#bittensor",
            "--x-max-results",
            "10",
            "--batch-http-timeout",
            "2.5",
            "--auth",
            "x-auth",
            "--max-submissions-per-window",
            "3",
        ]);
        assert_eq!(args.x.keywords, ["sn45", "talisman ai"]);
        assert_eq!(args.x.hashtags, ["#bittensor"]);
        assert_eq!(args.x.x_max_results, 10);
        assert_eq!(args.timeout.duration(), Duration::from_millis(2500));
        assert_eq!(args.api.signing.auth, AuthForm::XAuth);
        assert_eq!(args.max_submissions_per_window, 3);
    }

    #[test]
    fn out_of_range_values_are_refused() {
        assert_refused::<Cli>(
            &["pulse-miner", "once"],
            &[
                &["--x-max-results", "5"],
                &["--x-max-results", "101"],
                &["--batch-http-timeout", "0"],
                &["--sync-secs", "61"],
                &["--blocks-per-window", "0"],
            ],
        );
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let args: MinerArgs = parse_args(&["--x-bearer-token", "hunter2", "--api-key", "sk-123"]);
        assert_eq!(args.x.api.bearer("").unwrap().expose(), "hunter2");
        assert_hidden(&args, &["hunter2", "sk-123"]);
    }

    #[test]
    fn the_llm_engine_needs_a_key() {
        let args: MinerArgs = parse_args(&["--sentiment", "llm"]);
        let err = args.analysis.analyzer(Duration::from_secs(1)).unwrap_err();
        assert!(err.to_string().contains("API_KEY"), "{err}");
        let args: MinerArgs = parse_args(&["--sentiment", "llm", "--api-key", "k"]);
        let analyzer = args.analysis.analyzer(Duration::from_secs(1)).unwrap();
        assert_eq!(analyzer.sentiment_engine().kind(), "llm");
    }
}
