//! Command-line pieces that several binaries declare alike, so each is written once: flatten
//! the argument groups (`#[command(flatten)]`) and use the value parsers in `value_parser =`.
//!
//! Settings the miner and the validator share keep one name in both (`LLM_BASE`, `API_KEY`,
//! `PULSE_AUTH`, the `--wallet.*` flags...), so one env file can serve both.

use std::ffi::OsString;
use std::ops::{Bound, RangeBounds};
use std::path::PathBuf;
use std::time::Duration;

use analyzer::sentiment::{DEFAULT_LLM_BASE, DEFAULT_MODEL, Lexicon, LlmClassifier, LlmConfig};
use analyzer::{Analyzer, Registry, SentimentEngine};
use anyhow::Context;
use clap::builder::{BoolishValueParser, PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{ArgAction, Args, Parser, ValueEnum};
use protocol::Hotkey;
use protocol::auth::{self, AuthForm};
use subtensor::Endpoint;

use crate::log::LogFormat;
use crate::secret::Secret;

/// The global flags of a binary with subcommands that reads an env file and logs (the
/// miner, the validator).
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// `--env-file`.
    #[command(flatten)]
    pub env_file: EnvFileArgs,
    /// `--log-format`.
    #[command(flatten)]
    pub log: LogArgs,
    /// `--logging.debug`, `--logging.trace`.
    #[command(flatten)]
    pub logging: LoggingArgs,
}

/// The Bittensor SDK's logging flags (`--logging.debug`, `--logging.trace`, and the
/// `BT_LOGGING_DEBUG` / `BT_LOGGING_TRACE` variables `bittensor.core.settings` reads), so a
/// command line written for a Python neuron keeps its meaning. Either one replaces the log
/// filter, `RUST_LOG` included: flags win over the environment.
#[derive(Debug, Clone, Args)]
pub struct LoggingArgs {
    /// Log at debug level (Pulse's crates and the rest; HTTP and TLS internals stay at info).
    /// Overrides RUST_LOG.
    #[arg(id = "logging_debug", long = "logging.debug", env = "BT_LOGGING_DEBUG", global = true,
          action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub debug: bool,
    /// Log at trace level (as --logging.debug, one level lower). Overrides RUST_LOG and
    /// --logging.debug.
    #[arg(id = "logging_trace", long = "logging.trace", env = "BT_LOGGING_TRACE", global = true,
          action = ArgAction::SetTrue, value_parser = BoolishValueParser::new())]
    pub trace: bool,
}

/// Libraries whose debug output is about their own internals (frames, handshakes, pools),
/// kept at info under `--logging.debug` and `--logging.trace` so Pulse's own lines stay readable.
const NOISY_LIBRARIES: &str = "hyper=info,hyper_util=info,h2=info,rustls=info,tungstenite=info,tokio_tungstenite=info,reqwest=info,sqlx=info";

impl LoggingArgs {
    /// The log filter these flags ask for, or `None` to keep `RUST_LOG` (or the binary's
    /// default).
    pub fn filter(&self) -> Option<String> {
        let level = if self.trace {
            "trace"
        } else if self.debug {
            "debug"
        } else {
            return None;
        };
        Some(format!("{level},{NOISY_LIBRARIES}"))
    }
}

/// The subtensor flags of Bittensor neurons: `--netuid`, `--subtensor.network`,
/// `--subtensor.chain_endpoint`, with the variables the SDK reads (`BT_SUBTENSOR_NETWORK`,
/// `BT_SUBTENSOR_CHAIN_ENDPOINT`) and `NETUID`, the server's name for the subnet.
///
/// Unlike the SDK, no network is assumed: without `--subtensor.network` and
/// `--subtensor.chain_endpoint` the binary talks to no chain at all (a devnet, a local
/// server that counts blocks itself), as before these flags existed.
#[derive(Debug, Clone, Default, Args)]
pub struct SubtensorArgs {
    /// The subnet's netuid on the chain (required with a subtensor).
    #[arg(long = "netuid", env = "NETUID", value_name = "NETUID")]
    pub netuid: Option<u16>,
    /// The chain by name as btcli takes it (finney, test, archive, local, latent-lite) or a
    /// ws://, wss://, http:// or https:// URL. Unset, with no --subtensor.chain_endpoint: no
    /// subtensor.
    #[arg(
        long = "subtensor.network",
        env = "BT_SUBTENSOR_NETWORK",
        value_name = "NETWORK"
    )]
    pub network: Option<String>,
    /// The node's URL; wins over --subtensor.network, as in the SDK.
    #[arg(
        long = "subtensor.chain_endpoint",
        env = "BT_SUBTENSOR_CHAIN_ENDPOINT",
        value_name = "URL"
    )]
    pub chain_endpoint: Option<String>,
}

/// A subnet on a chain: the node to ask and the netuid to ask about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetTarget {
    /// The node.
    pub endpoint: Endpoint,
    /// The subnet.
    pub netuid: u16,
}

impl SubtensorArgs {
    /// The endpoint these flags name, if any: `--subtensor.chain_endpoint` when given (a URL,
    /// or a network name, as the SDK also accepts there), else `--subtensor.network`.
    pub fn endpoint(&self) -> anyhow::Result<Option<Endpoint>> {
        let given = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_owned)
        };
        if let Some(url) = given(&self.chain_endpoint) {
            return Endpoint::parse(&url)
                .map(Some)
                .context("--subtensor.chain_endpoint (BT_SUBTENSOR_CHAIN_ENDPOINT)");
        }
        if let Some(network) = given(&self.network) {
            return Endpoint::parse(&network)
                .map(Some)
                .context("--subtensor.network (BT_SUBTENSOR_NETWORK)");
        }
        Ok(None)
    }

    /// The subnet to check against, or `None` when no subtensor is configured. A subtensor
    /// without a netuid is an error: there is no default subnet.
    pub fn target(&self) -> anyhow::Result<Option<SubnetTarget>> {
        let Some(endpoint) = self.endpoint()? else {
            return Ok(None);
        };
        let netuid = self.netuid.with_context(|| {
            format!("a subtensor is configured ({endpoint}) but no subnet: set --netuid (NETUID)")
        })?;
        Ok(Some(SubnetTarget { endpoint, netuid }))
    }
}

/// Format of a binary's own lines on stdout (summaries, verdicts, reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Lines for people.
    Text,
    /// One JSON object per line, whose `type` says what it describes.
    Json,
}

/// X API v2's public base URL.
pub const DEFAULT_X_API_BASE: &str = "https://api.twitter.com/2";

/// Where X is and the app token that reads it: the miner searches X, the validator
/// re-fetches every post from it.
#[derive(Debug, Clone, Args)]
pub struct XApiArgs {
    /// Bearer token of an X app (required).
    #[arg(long, env = "X_BEARER_TOKEN", hide_env_values = true)]
    pub x_bearer_token: Option<Secret>,
    /// Base URL of X API v2 (a local `pulse-xapi` double: `http://127.0.0.1:8002/2`).
    #[arg(long, env = "X_API_BASE", default_value = DEFAULT_X_API_BASE)]
    pub x_api_base: String,
}

impl XApiArgs {
    /// The bearer token, required `for_what` (as in "required to search X").
    pub fn bearer(&self, for_what: &str) -> anyhow::Result<Secret> {
        self.x_bearer_token
            .clone()
            .filter(|token| !token.is_empty())
            .with_context(|| format!("X_BEARER_TOKEN (or --x-bearer-token) is required {for_what}"))
    }
}

/// `--log-format`, for binaries that log (to stderr).
#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format: human-readable text or one JSON object per line. Logs go to stderr;
    /// stdout carries the program's own output.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

/// `--env-file`, read by [`crate::main`] before the command line is parsed.
#[derive(Debug, Clone, Args)]
pub struct EnvFileArgs {
    /// File of KEY=value lines (such as the reference miner's `.miner_env`) read before the
    /// command line; variables already set in the environment, and flags, win over it.
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
}

/// The wallet flags Bittensor tools use: which hotkey signs.
#[derive(Debug, Clone, Args)]
pub struct IdentityArgs {
    /// Wallet name (directory under --wallet.path).
    #[arg(
        long = "wallet.name",
        env = "BT_WALLET_NAME",
        default_value = "default"
    )]
    pub wallet_name: String,
    /// Hotkey name inside the wallet.
    #[arg(
        long = "wallet.hotkey",
        env = "BT_WALLET_HOTKEY",
        default_value = "default"
    )]
    pub wallet_hotkey: String,
    /// Directory of wallets.
    #[arg(
        long = "wallet.path",
        env = "BT_WALLET_PATH",
        default_value = "~/.bittensor/wallets"
    )]
    pub wallet_path: PathBuf,
}

impl IdentityArgs {
    /// The wallet these flags name.
    pub fn wallet(&self) -> client::Wallet {
        client::Wallet {
            path: self.wallet_path.clone(),
            name: self.wallet_name.clone(),
            hotkey: self.wallet_hotkey.clone(),
        }
    }

    /// The hotkey file these flags name.
    pub fn hotkey_file(&self) -> PathBuf {
        self.wallet().hotkey_file()
    }

    /// The signing hotkey: from `PULSE_HOTKEY_SEED` when set, else from the wallet file.
    pub fn load(&self) -> anyhow::Result<Hotkey> {
        self.wallet().load()
    }
}

/// How requests to the coordination API are signed.
#[derive(Debug, Clone, Args)]
pub struct SigningArgs {
    /// Signature form: Epistula v2 (binds the body; Pulse's default) or the reference's
    /// X-Auth headers (for servers that only know them).
    #[arg(long, env = "PULSE_AUTH", value_parser = auth_form(), default_value_t = AuthForm::Epistula)]
    pub auth: AuthForm,
    /// Prefix of the signed X-Auth message (`<prefix>:<unix seconds>`); must match the
    /// server's AUTH_MESSAGE_PREFIX.
    #[arg(long, env = "AUTH_MESSAGE_PREFIX", default_value = auth::DEFAULT_MESSAGE_PREFIX)]
    pub auth_message_prefix: String,
    /// `Epistula-Signed-For` of every Epistula request: the server's identity, when the
    /// server sets PULSE_SERVER_IDENTITY (it then refuses requests signed for anyone else).
    #[arg(long, env = "PULSE_EPISTULA_SIGNED_FOR")]
    pub epistula_signed_for: Option<String>,
}

/// Which sentiment engine classifies posts. Validators compare sentiment within 0.05, so
/// a validator must use the engine the subnet's miners use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SentimentKind {
    /// The offline cue-word classifier: deterministic, no network, no key.
    Lexicon,
    /// An OpenAI-compatible chat-completions API (`LLM_BASE`, `MODEL`, `API_KEY`).
    Llm,
}

/// How posts are analysed, but for the engine's choice (each binary names its own
/// variable for it: `MINER_SENTIMENT`, `VALIDATOR_SENTIMENT`).
#[derive(Debug, Clone, Args)]
pub struct AnalyzerArgs {
    /// Base URL of the OpenAI-compatible API (with `--sentiment llm`).
    #[arg(long, env = "LLM_BASE", default_value = DEFAULT_LLM_BASE)]
    pub llm_base: String,
    /// Model name (with `--sentiment llm`).
    #[arg(long, env = "MODEL", default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Key of the LLM API (required with `--sentiment llm`).
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<Secret>,
    /// Subnet registry file (schema of `data/subnets.json`) instead of the built-in one;
    /// validators must use the miners' registry.
    #[arg(long, env = "SUBNET_REGISTRY", value_name = "PATH")]
    pub subnet_registry: Option<PathBuf>,
}

impl AnalyzerArgs {
    /// The analyser with `sentiment`'s engine; LLM requests are limited to `timeout` each.
    pub fn analyzer(
        &self,
        sentiment: SentimentKind,
        timeout: Duration,
    ) -> anyhow::Result<Analyzer> {
        let registry = match &self.subnet_registry {
            Some(path) => Registry::from_path(path)
                .with_context(|| format!("loading the subnet registry {}", path.display()))?,
            None => Registry::embedded(),
        };
        let engine = match sentiment {
            SentimentKind::Lexicon => SentimentEngine::Lexicon(Lexicon),
            SentimentKind::Llm => {
                let key = self
                    .api_key
                    .as_ref()
                    .filter(|key| !key.is_empty())
                    .context("--sentiment llm needs API_KEY (or --api-key)")?;
                let mut config = LlmConfig::new(&self.llm_base, &self.model, key.expose());
                config.timeout = timeout;
                SentimentEngine::Llm(LlmClassifier::new(config).context("building the LLM client")?)
            }
        };
        Ok(Analyzer::new(registry, engine))
    }
}

/// Parses `args` as `C` after checking `C`'s definition as a whole (every subcommand and
/// argument, clap's `debug_assert`), panicking on either failure: for the tests of each
/// binary's command line.
pub fn parse<C: Parser>(args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> C {
    C::command().debug_assert();
    C::try_parse_from(args).unwrap_or_else(|error| panic!("{error}"))
}

/// Parses `args` (flags only, without a program name) as the argument group `A`, checked
/// as [`parse`] checks a command line: for the tests of a subcommand's settings.
pub fn parse_args<A: Args>(args: &[&str]) -> A {
    #[derive(Parser)]
    struct Only<A: Args> {
        #[command(flatten)]
        args: A,
    }
    parse::<Only<A>>(std::iter::once("test").chain(args.iter().copied())).args
}

/// Asserts that none of `secrets` shows in `value`'s `Debug` output (settings are printed by
/// `config` subcommands and in logs): for the tests of each binary's command line.
pub fn assert_hidden(value: &impl std::fmt::Debug, secrets: &[&str]) {
    let debug = format!("{value:?}");
    for secret in secrets {
        assert!(!debug.contains(secret), "{secret:?} shows in {debug}");
    }
}

/// Asserts that `C` refuses each of `bad`, given after `program` (a program name and
/// perhaps a subcommand): for the tests of each binary's command line.
pub fn assert_refused<C: Parser>(program: &[&str], bad: &[&[&str]]) {
    for args in bad {
        let parsed = C::try_parse_from(program.iter().chain(args.iter()));
        assert!(parsed.is_err(), "{args:?} was accepted");
    }
}

/// Parses a signature form by its name (`epistula`, `x-auth`), listing both in `--help`.
pub fn auth_form() -> impl TypedValueParser<Value = AuthForm> {
    PossibleValuesParser::new(AuthForm::ALL.map(|form| {
        PossibleValue::new(form.as_str()).help(match form {
            AuthForm::Epistula => "Epistula v2: binds the body, accepted once (Pulse's default)",
            AuthForm::XAuth => "The reference `X-Auth-*` headers, for servers that only know them",
        })
    }))
    .map(|name| {
        name.parse::<AuthForm>()
            .expect("only the forms' own names are possible values")
    })
}

/// A value parser for a finite number within `range`, such as `0.0..=1.0` for a share or
/// `(Bound::Excluded(0.0), Bound::Included(3600.0))` for a timeout; the error names what
/// is expected (`what`: "a share") and the range.
pub fn number_in<R>(
    what: &'static str,
    range: R,
) -> impl Fn(&str) -> Result<f64, String> + Clone + Send + Sync + 'static
where
    R: RangeBounds<f64> + Clone + Send + Sync + 'static,
{
    move |raw: &str| match raw.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && range.contains(&value) => Ok(value),
        _ => Err(format!(
            "{raw:?} is not {what} {}",
            describe(range.start_bound(), range.end_bound())
        )),
    }
}

/// A probability: a number in [0, 1].
pub fn probability(raw: &str) -> Result<f64, String> {
    number_in("a probability", 0.0..=1.0)(raw)
}

/// A share of something: a number in [0, 1].
pub fn share(raw: &str) -> Result<f64, String> {
    number_in("a share", 0.0..=1.0)(raw)
}

/// A timeout: a number of seconds above 0 and at most an hour.
pub fn timeout_secs(raw: &str) -> Result<f64, String> {
    number_in(
        "a number of seconds",
        (Bound::Excluded(0.0), Bound::Included(3600.0)),
    )(raw)
}

/// The range in words; `f64`'s `Display` writes `1`, not `1.0`.
fn describe(start: Bound<&f64>, end: Bound<&f64>) -> String {
    fn bound(word_in: &str, word_out: &str, bound: Bound<&f64>) -> Option<String> {
        match bound {
            Bound::Included(value) => Some(format!("{word_in} {value}")),
            Bound::Excluded(value) => Some(format!("{word_out} {value}")),
            Bound::Unbounded => None,
        }
    }
    match (start, end) {
        (Bound::Included(low), Bound::Included(high)) => format!("between {low} and {high}"),
        _ => [
            bound("at least", "above", start),
            bound("at most", "below", end),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" and "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Sample {
        #[command(flatten)]
        identity: IdentityArgs,
        #[command(flatten)]
        signing: SigningArgs,
        #[command(flatten)]
        log: LogArgs,
        #[command(flatten)]
        analyzer: AnalyzerArgs,
        #[command(flatten)]
        x: XApiArgs,
        #[command(flatten)]
        subtensor: SubtensorArgs,
        #[arg(long, value_enum, default_value_t = SentimentKind::Lexicon)]
        sentiment: SentimentKind,
        #[arg(long, default_value_t = 0.2, value_parser = share)]
        share: f64,
        #[arg(long, default_value_t = 30.0, value_parser = timeout_secs)]
        timeout: f64,
        #[arg(long, default_value_t = 1.0, value_parser = number_in("a block time", 0.001..))]
        block_time: f64,
    }

    #[test]
    fn the_shared_flags_parse_with_their_defaults() {
        let sample: Sample = parse(["sample"]);
        assert_eq!(sample.signing.auth, AuthForm::Epistula);
        assert_eq!(sample.signing.auth_message_prefix, "talisman-ai-auth");
        assert_eq!(sample.identity.wallet_name, "default");
        assert!(
            sample
                .identity
                .hotkey_file()
                .ends_with(".bittensor/wallets/default/hotkeys/default")
        );
        assert_eq!(sample.log.log_format, LogFormat::Text);
        let sample: Sample = parse(["sample", "--auth", "x-auth", "--log-format", "json"]);
        assert_eq!(sample.signing.auth, AuthForm::XAuth);
        assert_eq!(sample.log.log_format, LogFormat::Json);
        assert!(Sample::try_parse_from(["sample", "--auth", "basic"]).is_err());
    }

    #[test]
    fn the_llm_engine_needs_a_key_and_secrets_do_not_show() {
        let sample: Sample = parse(["sample", "--sentiment", "llm"]);
        let timeout = Duration::from_secs(1);
        let err = sample
            .analyzer
            .analyzer(sample.sentiment, timeout)
            .unwrap_err();
        assert!(err.to_string().contains("API_KEY"), "{err}");
        let sample: Sample = parse([
            "sample",
            "--api-key",
            "sk-123",
            "--x-bearer-token",
            "hunter2",
        ]);
        assert_hidden(&sample, &["sk-123", "hunter2"]);
        assert_eq!(sample.x.bearer("to test").unwrap().expose(), "hunter2");
        let no_token: Sample = parse(["sample", "--x-bearer-token", ""]);
        let error = no_token.x.bearer("to search X").unwrap_err().to_string();
        assert_eq!(
            error,
            "X_BEARER_TOKEN (or --x-bearer-token) is required to search X"
        );
        let analyzer = sample
            .analyzer
            .analyzer(SentimentKind::Llm, timeout)
            .unwrap();
        assert_eq!(analyzer.sentiment_engine().kind(), "llm");
        let analyzer = sample.analyzer.analyzer(sample.sentiment, timeout).unwrap();
        assert_eq!(analyzer.sentiment_engine().kind(), "lexicon");
    }

    #[test]
    fn numbers_outside_their_range_are_refused_with_the_range_named() {
        assert_eq!(share("0.25"), Ok(0.25));
        assert_eq!(probability("1"), Ok(1.0));
        assert_eq!(
            probability("2"),
            Err("\"2\" is not a probability between 0 and 1".to_owned())
        );
        assert_eq!(
            share("-0.1"),
            Err("\"-0.1\" is not a share between 0 and 1".to_owned())
        );
        assert_eq!(timeout_secs(" 2.5 "), Ok(2.5));
        assert_eq!(
            timeout_secs("0"),
            Err("\"0\" is not a number of seconds above 0 and at most 3600".to_owned())
        );
        assert!(timeout_secs("3601").is_err());
        assert!(timeout_secs("NaN").is_err());
        let block_time = number_in("a block time", 0.001..);
        assert_eq!(block_time("0.001"), Ok(0.001));
        assert_eq!(
            block_time("0"),
            Err("\"0\" is not a block time at least 0.001".to_owned())
        );
        assert!(block_time("inf").is_err());
        assert_refused::<Sample>(
            &["sample"],
            &[
                &["--share", "-0.1"],
                &["--timeout", "0"],
                &["--block-time", "0"],
            ],
        );
    }

    #[test]
    fn subtensor_network_names_resolve_as_btcli_resolves_them() {
        let none: SubtensorArgs = parse_args(&[]);
        assert_eq!(none.endpoint().unwrap(), None);
        assert_eq!(none.target().unwrap(), None);

        let finney: SubtensorArgs =
            parse_args(&["--subtensor.network", "finney", "--netuid", "45"]);
        let target = finney.target().unwrap().unwrap();
        assert_eq!(target.netuid, 45);
        assert_eq!(target.endpoint.network, "finney");
        assert_eq!(
            target.endpoint.url.as_str(),
            "wss://entrypoint-finney.opentensor.ai/"
        );
        let test: SubtensorArgs = parse_args(&["--subtensor.network", "test"]);
        assert_eq!(
            test.endpoint().unwrap().unwrap().url.host_str(),
            Some("test.finney.opentensor.ai")
        );
        let local: SubtensorArgs = parse_args(&["--subtensor.network", "local"]);
        assert_eq!(
            local.endpoint().unwrap().unwrap().url.as_str(),
            "ws://127.0.0.1:9944/"
        );
    }

    #[test]
    fn the_chain_endpoint_wins_over_the_network_and_bad_values_say_which_flag() {
        let both: SubtensorArgs = parse_args(&[
            "--subtensor.network",
            "finney",
            "--subtensor.chain_endpoint",
            "ws://127.0.0.1:9946",
            "--netuid",
            "2",
        ]);
        let endpoint = both.endpoint().unwrap().unwrap();
        assert_eq!(endpoint.url.as_str(), "ws://127.0.0.1:9946/");
        assert_eq!(endpoint.network, "local");

        let no_netuid: SubtensorArgs = parse_args(&["--subtensor.network", "test"]);
        let error = format!("{:#}", no_netuid.target().unwrap_err());
        assert!(error.contains("set --netuid (NETUID)"), "{error}");

        let typo: SubtensorArgs = parse_args(&["--subtensor.network", "fenney"]);
        let error = format!("{:#}", typo.endpoint().unwrap_err());
        assert!(
            error.starts_with(
                "--subtensor.network (BT_SUBTENSOR_NETWORK): unknown subtensor network \"fenney\""
            ),
            "{error}"
        );
        let scheme: SubtensorArgs = parse_args(&["--subtensor.chain_endpoint", "ftp://node:9944"]);
        let error = format!("{:#}", scheme.endpoint().unwrap_err());
        assert!(error.contains("--subtensor.chain_endpoint"), "{error}");
        assert!(
            error.contains("use ws://, wss://, http:// or https://"),
            "{error}"
        );
        assert_refused::<Sample>(&["sample"], &[&["--netuid", "65536"], &["--netuid", "-1"]]);
    }

    #[test]
    fn logging_flags_replace_the_filter_trace_over_debug() {
        let quiet: LoggingArgs = parse_args(&[]);
        assert_eq!(quiet.filter(), None);
        let debug: LoggingArgs = parse_args(&["--logging.debug"]);
        assert!(debug.filter().unwrap().starts_with("debug,"));
        let both: LoggingArgs = parse_args(&["--logging.debug", "--logging.trace"]);
        let filter = both.filter().unwrap();
        assert!(filter.starts_with("trace,"), "{filter}");
        // The directives must parse as a filter.
        tracing_subscriber::EnvFilter::try_new(&filter).unwrap();
    }
}
