//! Command line and environment configuration.
//!
//! Every setting is a flag and an environment variable; `pulse-server --help` lists them
//! with their defaults, and the README's configuration table mirrors it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use analyzer::chat::LlmConfig;
use analyzer::sentiment::DEFAULT_MODEL;
use clap::{Args, Parser, Subcommand, ValueEnum};
use protocol::auth::{self, AuthPolicy};
use protocol::window;
use service::cli::{LogArgs, number_in, probability};
use service::secret::Secret;

/// `pulse-server`: the Pulse coordination API.
#[derive(Debug, Parser)]
#[command(name = "pulse-server", version, about, long_about = None)]
pub struct Cli {
    /// What to do; without a subcommand the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Where the database is.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// How the server behaves.
    #[command(flatten)]
    pub serve: ServeArgs,
    /// `--log-format`.
    #[command(flatten)]
    pub log: LogArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (the default).
    Serve,
    /// Manage the hotkey registry (who may act as miner or validator).
    Hotkeys {
        /// The registry operation.
        #[command(subcommand)]
        action: HotkeysCommand,
    },
    /// Print the OpenAPI document and exit.
    Openapi,
    /// Exit 0 when the server at --url answers /ready with 200 (for container healthchecks).
    Healthcheck {
        /// Base URL of the server; default: this configuration's PULSE_BIND on loopback.
        #[arg(long)]
        url: Option<String>,
    },
}

/// `pulse-server hotkeys ...`.
#[derive(Debug, Subcommand)]
pub enum HotkeysCommand {
    /// Register a hotkey in a role.
    Add {
        /// SS58 address of the hotkey.
        hotkey: String,
        /// The role it may act in.
        #[arg(long, value_enum, default_value_t = Role::Miner)]
        role: Role,
    },
    /// Remove a hotkey's role (all its roles without --role).
    Remove {
        /// SS58 address of the hotkey.
        hotkey: String,
        /// Only this role.
        #[arg(long, value_enum)]
        role: Option<Role>,
    },
    /// List registered hotkeys.
    List,
}

/// What a hotkey may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Role {
    /// Submits posts.
    Miner,
    /// Checks sampled posts and reads scores.
    Validator,
}

impl Role {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Miner => "miner",
            Role::Validator => "validator",
        }
    }

    /// The role stored under `name`.
    pub fn from_db(name: &str) -> Option<Self> {
        match name {
            "miner" => Some(Role::Miner),
            "validator" => Some(Role::Validator),
            _ => None,
        }
    }
}

/// Who may submit as a miner (and, with `metagraph`, who may validate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Registration {
    /// Any validly signed hotkey may submit, unless it is registered only as a validator.
    Open,
    /// Only hotkeys registered as miners may submit.
    Closed,
    /// The subnet's metagraph decides: miners need a UID on NETUID, validators a validator
    /// permit and MIN_VALIDATOR_STAKE; `hotkeys add` overrides.
    Metagraph,
}

/// Which signature forms a class of routes accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AcceptedAuth {
    /// Epistula v2 or the reference clients' X-Auth. X-Auth signs only a timestamp, so one
    /// observed set of X-Auth headers lets anyone act as that hotkey until it is stale.
    Any,
    /// Only Epistula v2, whose signature binds the body and a single-use uuid: nothing
    /// observed can be replayed or reused for another body. The production choice once
    /// every client of the class signs with Epistula.
    Epistula,
}

/// The classes of routes whose accepted signature forms are set apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// `/v2/submit` and `/v2/miners/{hotkey}`.
    Miners,
    /// `/v2/validation`, `/v2/validation_result` and `/v2/scores`.
    Validators,
}

/// Where the current block comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BlockSourceKind {
    /// Derived from the clock: (now - GENESIS_UNIX) / BLOCK_TIME_SECS.
    Clock,
    /// The chain head of a subtensor node, read over JSON-RPC.
    Subtensor,
}

/// Database settings.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL URL. Without it, pulse-server runs its own PostgreSQL cluster in
    /// PULSE_DATA_DIR from the machine's PostgreSQL binaries.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<String>,
    /// Directory for the embedded PostgreSQL cluster (used without DATABASE_URL).
    #[arg(long, env = "PULSE_DATA_DIR", default_value = ".pulse", global = true)]
    pub data_dir: PathBuf,
    /// Directory holding initdb, pg_ctl and postgres for the embedded cluster; searched
    /// for when unset.
    #[arg(long, env = "PG_BIN_DIR", global = true)]
    pub pg_bin_dir: Option<PathBuf>,
    /// Unprivileged user that runs the embedded cluster when pulse-server runs as root
    /// (PostgreSQL refuses to run as root).
    #[arg(long, env = "PULSE_PG_USER", default_value = "postgres", global = true)]
    pub pg_user: String,
    /// Database connections for `/v2/submit` per process; the other endpoints share a
    /// further quarter as many (at least 2), so a process opens at most N + max(2, N/4).
    /// More connections than the database has cores to run them only make its backends
    /// contend (bench/README.md): about twice its cores over all replicas is plenty.
    #[arg(long, env = "DATABASE_MAX_CONNECTIONS", default_value_t = 8, global = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub database_max_connections: u32,
    /// Longest a request waits for a database connection before it is answered 503, in
    /// seconds.
    #[arg(long, env = "DATABASE_ACQUIRE_TIMEOUT_SECS", default_value_t = 3.0, global = true,
          value_parser = number_in("a number of seconds", MIN_SECS..))]
    pub database_acquire_timeout_secs: f64,
}

/// Server settings.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "PULSE_BIND",
        default_value = "0.0.0.0:8001",
        global = true
    )]
    pub bind: SocketAddr,
    /// Blocks per rate-limit window.
    #[arg(long, env = "BLOCKS_PER_WINDOW", default_value_t = window::DEFAULT_BLOCKS_PER_WINDOW,
          global = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub blocks_per_window: u64,
    /// New posts each miner hotkey may submit per window.
    #[arg(long, env = "MAX_SUBMISSION_RATE", default_value_t = window::DEFAULT_MAX_SUBMISSIONS,
          global = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_submission_rate: u32,
    /// Probability that a new post is selected for validation, in [0, 1].
    #[arg(long, env = "VALIDATION_PROBABILITY", default_value_t = 0.2, global = true,
          value_parser = probability)]
    pub validation_probability: f64,
    /// Prefix of the signed X-Auth message (`<prefix>:<unix seconds>`).
    #[arg(long, env = "AUTH_MESSAGE_PREFIX", default_value = auth::DEFAULT_MESSAGE_PREFIX, global = true)]
    pub auth_message_prefix: String,
    /// Oldest accepted signature, in seconds.
    #[arg(long, env = "AUTH_MAX_AGE_SECS", default_value_t = auth::DEFAULT_MAX_AGE_SECS, global = true)]
    pub auth_max_age_secs: u64,
    /// Furthest accepted signature time ahead of the server's clock, in seconds.
    #[arg(long, env = "AUTH_MAX_FUTURE_SECS", default_value_t = auth::DEFAULT_MAX_FUTURE_SECS, global = true)]
    pub auth_max_future_secs: u64,
    /// Where the current block comes from.
    #[arg(long, env = "BLOCK_SOURCE", value_enum, default_value_t = BlockSourceKind::Clock, global = true)]
    pub block_source: BlockSourceKind,
    /// Seconds per block (the clock source's pace; the subtensor source's refresh interval).
    #[arg(long, env = "BLOCK_TIME_SECS", default_value_t = window::DEFAULT_BLOCK_TIME_SECS,
          global = true, value_parser = number_in("a number of seconds", MIN_SECS..))]
    pub block_time_secs: f64,
    /// Unix time of block 0 for the clock source. The default, 2023-03-20T00:00:00Z, is
    /// about when the Bittensor mainnet (finney) started, so clock blocks are near the
    /// chain's; use BLOCK_SOURCE=subtensor for the chain's own.
    #[arg(long, env = "GENESIS_UNIX", default_value_t = DEFAULT_GENESIS_UNIX, global = true)]
    pub genesis_unix: i64,
    /// Subtensor node for BLOCK_SOURCE=subtensor and REGISTRATION=metagraph: a network name
    /// (finney, test, archive, local, latent-lite) or a ws://, wss://, http:// or https://
    /// URL.
    #[arg(long, env = "SUBTENSOR_URL", global = true)]
    pub subtensor_url: Option<String>,
    /// The subnet whose metagraph decides roles (REGISTRATION=metagraph).
    #[arg(long, env = "NETUID", global = true)]
    pub netuid: Option<u16>,
    /// Blocks between metagraph syncs (REGISTRATION=metagraph); one server process at a time
    /// syncs, every BLOCK_TIME_SECS × this.
    #[arg(long, env = "METAGRAPH_SYNC_BLOCKS", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub metagraph_sync_blocks: u64,
    /// Oldest metagraph the server decides with, in seconds: when the node has been away
    /// longer, role checks answer 503 and /ready fails.
    #[arg(long, env = "METAGRAPH_MAX_AGE_SECS", default_value_t = 1800, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub metagraph_max_age_secs: u64,
    /// Least stake of a validator (REGISTRATION=metagraph), in TAO units: the hotkey's alpha
    /// stake on NETUID (NeuronInfoLite.stake, 1 = 10^9 rao).
    #[arg(long, env = "MIN_VALIDATOR_STAKE", default_value_t = 0.0, global = true,
          value_parser = number_in("a stake", 0.0..))]
    pub min_validator_stake: f64,
    /// Hotkeys (SS58, comma-separated) registered as validators at start, in addition to
    /// those added with `pulse-server hotkeys add`.
    #[arg(long, env = "VALIDATOR_HOTKEYS", value_delimiter = ',', global = true, value_parser = parse_ss58)]
    pub validator_hotkeys: Vec<String>,
    /// Whether unregistered hotkeys may submit as miners.
    #[arg(long, env = "REGISTRATION", value_enum, default_value_t = Registration::Open, global = true)]
    pub registration: Registration,
    /// Seconds a validator holds a leased task before it returns to the queue.
    #[arg(long, env = "VALIDATION_LEASE_SECS", default_value_t = 300, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub validation_lease_secs: u64,
    /// Independent verdicts each selected post needs (from different validators); a
    /// majority decides.
    #[arg(long, env = "VALIDATION_VERDICTS", default_value_t = 1, global = true,
          value_parser = clap::value_parser!(u16).range(1..=15))]
    pub validation_verdicts: u16,
    /// Post credits a validation failure costs the miner, taken from its window scores
    /// over the next 12 windows (docs/protocol.md#window-score); applies to every failure
    /// but a post X reports missing.
    #[arg(long, env = "FAILURE_COST", default_value_t = crate::scoring::DEFAULT_FAILURE_COST,
          global = true, value_parser = number_in("a cost in post credits", 0.0..=1000.0))]
    pub failure_cost: f64,
    /// Post credits a failure costs when X reports the post missing (post_not_found,
    /// post_unavailable): its author may have deleted it after an honest miner scraped it.
    /// Keep it above (1 - p) / p for sampling probability p, so fabricating never pays.
    #[arg(long, env = "MISSING_POST_COST", default_value_t = crate::scoring::DEFAULT_MISSING_POST_COST,
          global = true, value_parser = number_in("a cost in post credits", 0.0..=1000.0))]
    pub missing_post_cost: f64,
    /// Blocks after a window's last block by which its scores are final even if some of its
    /// sampled posts have no decided verdict yet (at most BLOCKS_PER_WINDOW). A window is
    /// final earlier, as soon as every sampled post is decided.
    #[arg(long, env = "SCORES_GRACE_BLOCKS", default_value_t = DEFAULT_SCORES_GRACE_BLOCKS, global = true)]
    pub scores_grace_blocks: u64,
    /// Whether the public read API publishes the text of stored posts. Off by default: X's
    /// terms let anyone republish post ids and labels derived from posts, not their text.
    #[arg(long, env = "PUBLISH_POST_TEXT", default_value_t = false, global = true,
          action = clap::ArgAction::Set)]
    pub publish_post_text: bool,
    /// Base URL of the OpenAI-compatible chat-completions API the answer route
    /// (`/v2/signal/answer`) asks, up to and including the version segment (e.g.
    /// `https://llm.chutes.ai/v1`). Unset: answers are the matching validated posts and their
    /// sentiment breakdown, without a written answer.
    #[arg(long, env = "ANSWER_LLM_BASE", global = true)]
    pub answer_llm_base: Option<String>,
    /// Model the answer route asks (with ANSWER_LLM_BASE).
    #[arg(long, env = "ANSWER_MODEL", default_value = DEFAULT_MODEL, global = true)]
    pub answer_model: String,
    /// Bearer key of the answer route's LLM API (with ANSWER_LLM_BASE); unset or empty sends
    /// no key.
    #[arg(long, env = "ANSWER_API_KEY", hide_env_values = true, global = true)]
    pub answer_api_key: Option<Secret>,
    /// Longest wait for one request to the answer route's LLM, in seconds. A failed request
    /// is tried once more; whatever the LLM does, the answer route replies within
    /// three quarters of PULSE_REQUEST_TIMEOUT_SECS, with the posts and the LLM's error.
    #[arg(long, env = "ANSWER_LLM_TIMEOUT_SECS", default_value_t = 10, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub answer_llm_timeout_secs: u64,
    /// Requests per minute one IP address may make to the public read API (`/v2/signal/...`),
    /// and failed authentications per minute one IP address may have on any route, before
    /// it is answered 429 with `Retry-After`; 0 turns the limit off.
    #[arg(
        long,
        env = "PUBLIC_RATE_LIMIT_PER_MINUTE",
        default_value_t = 600,
        global = true
    )]
    pub public_rate_limit_per_minute: u32,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "PULSE_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES, global = true)]
    pub max_body_bytes: usize,
    /// Most connections open at once; more are closed as soon as they are accepted.
    #[arg(long, env = "PULSE_MAX_CONNECTIONS", default_value_t = 1024, global = true,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Longest wait for a request's headers, and for the next request on an idle
    /// keep-alive connection, in seconds.
    #[arg(long, env = "PULSE_HEADER_TIMEOUT_SECS", default_value_t = 15, global = true,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout_secs: u64,
    /// Longest a request may take before the server answers 503, in seconds.
    #[arg(
        long,
        env = "PULSE_REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,
    /// Signature forms accepted on the miners' routes (`/v2/submit`, `/v2/miners/{hotkey}`):
    /// `any` (Epistula v2 or the reference X-Auth) or `epistula` (body-bound signatures
    /// only, the production choice once every miner signs with Epistula).
    #[arg(long, env = "PULSE_MINER_AUTH", value_enum, default_value_t = AcceptedAuth::Any, global = true)]
    pub miner_auth: AcceptedAuth,
    /// Signature forms accepted on the validators' routes (`/v2/validation`,
    /// `/v2/validation_result`, `/v2/scores`): `any` or `epistula`, as for miners.
    #[arg(long, env = "PULSE_VALIDATOR_AUTH", value_enum, default_value_t = AcceptedAuth::Any, global = true)]
    pub validator_auth: AcceptedAuth,
    /// This server's identity (say, its SS58 hotkey). When set, an Epistula request must
    /// name it in `Epistula-Signed-For`, so a request signed for another server is refused
    /// here.
    #[arg(long, env = "PULSE_SERVER_IDENTITY", global = true)]
    pub server_identity: Option<String>,
}

/// Default `SCORES_GRACE_BLOCKS`: two default lease periods (2 x 300 s) of 12-second blocks.
pub const DEFAULT_SCORES_GRACE_BLOCKS: u64 = 50;

/// 2023-03-20T00:00:00Z.
pub const DEFAULT_GENESIS_UNIX: i64 = 1_679_270_400;
/// Room for a 25,000-character post even when every character is JSON-escaped as a
/// surrogate pair (Python's `json.dumps` escapes non-ASCII by default).
pub const DEFAULT_MAX_BODY_BYTES: usize = 512 * 1024;

fn parse_ss58(raw: &str) -> Result<String, String> {
    let hotkey = raw.trim();
    protocol::ss58::decode(hotkey)
        .map_err(|e| format!("{hotkey:?} is not an SS58 address: {e}"))?;
    Ok(hotkey.to_string())
}

/// The shortest block time and database wait, in seconds: a millisecond.
pub const MIN_SECS: f64 = 0.001;

/// The settings request handlers read, derived from [`ServeArgs`].
#[derive(Debug, Clone)]
pub struct Settings {
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// New posts per miner hotkey per window.
    pub max_submissions: u32,
    /// Probability of selecting a new post for validation.
    pub validation_probability: f64,
    /// Signature checks.
    pub auth: AuthPolicy,
    /// Seconds per block, for estimating when windows end.
    pub block_time_secs: f64,
    /// Who may submit.
    pub registration: Registration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Longest wait for request headers.
    pub header_read_timeout: Duration,
    /// How long a validator holds a leased task.
    pub validation_lease: Duration,
    /// Verdicts each selected post needs.
    pub validation_verdicts: u16,
    /// Post credits a validation failure costs.
    pub failure_cost: f64,
    /// Post credits a failure costs when X reports the post missing.
    pub missing_post_cost: f64,
    /// Blocks after a window's end by which its scores are final whatever is undecided.
    pub scores_grace_blocks: u64,
    /// Signature forms the miners' routes accept.
    pub miner_auth: AcceptedAuth,
    /// Signature forms the validators' routes accept.
    pub validator_auth: AcceptedAuth,
    /// The identity Epistula requests must be signed for, if any.
    pub server_identity: Option<String>,
    /// Whether the read API publishes post text.
    pub publish_post_text: bool,
    /// Public requests (and failed authentications) per IP address per minute; 0: no limit.
    pub public_rate_limit_per_minute: u32,
    /// The LLM the answer route asks; `None`: answers without one.
    pub answer_llm: Option<LlmConfig>,
}

impl Settings {
    /// The rules window scores follow.
    pub fn scoring_rules(&self) -> crate::scoring::ScoringRules {
        crate::scoring::ScoringRules::new(self.failure_cost, self.missing_post_cost)
    }

    /// Refuses settings that cannot work together.
    pub fn check(&self) -> Result<(), String> {
        if self.scores_grace_blocks > self.blocks_per_window {
            return Err(format!(
                "SCORES_GRACE_BLOCKS ({}) must be at most BLOCKS_PER_WINDOW ({}): a window must be final by the time the next one closes",
                self.scores_grace_blocks, self.blocks_per_window
            ));
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            blocks_per_window: window::DEFAULT_BLOCKS_PER_WINDOW,
            max_submissions: window::DEFAULT_MAX_SUBMISSIONS,
            validation_probability: 0.2,
            auth: AuthPolicy::default(),
            block_time_secs: window::DEFAULT_BLOCK_TIME_SECS,
            registration: Registration::Open,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: Duration::from_secs(30),
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(15),
            validation_lease: Duration::from_secs(300),
            validation_verdicts: 1,
            failure_cost: crate::scoring::DEFAULT_FAILURE_COST,
            missing_post_cost: crate::scoring::DEFAULT_MISSING_POST_COST,
            scores_grace_blocks: DEFAULT_SCORES_GRACE_BLOCKS,
            miner_auth: AcceptedAuth::Any,
            validator_auth: AcceptedAuth::Any,
            server_identity: None,
            publish_post_text: false,
            public_rate_limit_per_minute: 600,
            answer_llm: None,
        }
    }
}

impl From<&ServeArgs> for Settings {
    fn from(args: &ServeArgs) -> Self {
        Self {
            blocks_per_window: args.blocks_per_window,
            max_submissions: args.max_submission_rate,
            validation_probability: args.validation_probability,
            auth: AuthPolicy {
                message_prefix: args.auth_message_prefix.clone(),
                max_age: Duration::from_secs(args.auth_max_age_secs),
                max_future: Duration::from_secs(args.auth_max_future_secs),
            },
            block_time_secs: args.block_time_secs,
            registration: args.registration,
            max_body_bytes: args.max_body_bytes,
            request_timeout: Duration::from_secs(args.request_timeout_secs),
            max_connections: args.max_connections as usize,
            header_read_timeout: Duration::from_secs(args.header_timeout_secs),
            validation_lease: Duration::from_secs(args.validation_lease_secs),
            validation_verdicts: args.validation_verdicts,
            failure_cost: args.failure_cost,
            missing_post_cost: args.missing_post_cost,
            scores_grace_blocks: args.scores_grace_blocks,
            miner_auth: args.miner_auth,
            validator_auth: args.validator_auth,
            server_identity: args
                .server_identity
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            publish_post_text: args.publish_post_text,
            public_rate_limit_per_minute: args.public_rate_limit_per_minute,
            answer_llm: answer_llm(args),
        }
    }
}

/// Attempts per answer-route LLM call: one retry of a transient failure, no more, as a
/// person waits for the reply.
pub const ANSWER_LLM_ATTEMPTS: u32 = 2;

/// The answer route's LLM, when ANSWER_LLM_BASE names one.
fn answer_llm(args: &ServeArgs) -> Option<LlmConfig> {
    let base = args
        .answer_llm_base
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())?;
    let key = args.answer_api_key.as_ref().map_or("", Secret::expose);
    let mut config = LlmConfig::new(base, args.answer_model.clone(), key);
    config.timeout = Duration::from_secs(args.answer_llm_timeout_secs);
    config.max_attempts = ANSWER_LLM_ATTEMPTS;
    config.initial_backoff = Duration::from_millis(500);
    Some(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use service::cli::parse;

    #[test]
    fn defaults_match_the_reference_system() {
        let cli: Cli = parse(["pulse-server"]);
        let settings = Settings::from(&cli.serve);
        assert_eq!(cli.serve.bind.to_string(), "0.0.0.0:8001");
        assert_eq!(settings.blocks_per_window, 100);
        assert_eq!(settings.max_submissions, 5);
        assert_eq!(settings.validation_probability, 0.2);
        assert_eq!(settings.auth.message_prefix, "talisman-ai-auth");
        assert_eq!(settings.auth.max_age, Duration::from_secs(300));
        assert_eq!(settings.auth.max_future, Duration::from_secs(60));
        assert_eq!(cli.serve.block_source, BlockSourceKind::Clock);
        assert_eq!(cli.serve.registration, Registration::Open);
        assert_eq!(settings.miner_auth, AcceptedAuth::Any);
        assert_eq!(settings.validator_auth, AcceptedAuth::Any);
        assert_eq!(settings.server_identity, None);
        assert!(
            settings.answer_llm.is_none(),
            "no LLM unless ANSWER_LLM_BASE is set"
        );
    }

    #[test]
    fn the_answer_llm_is_configured_from_its_own_variables() {
        let cli: Cli = parse([
            "pulse-server",
            "--answer-llm-base",
            "http://127.0.0.1:9/v1",
            "--answer-model",
            "m",
            "--answer-api-key",
            "sk-1",
            "--answer-llm-timeout-secs",
            "4",
        ]);
        let config = Settings::from(&cli.serve).answer_llm.unwrap();
        assert_eq!(
            (
                config.base_url.as_str(),
                config.model.as_str(),
                config.api_key.as_str()
            ),
            ("http://127.0.0.1:9/v1", "m", "sk-1")
        );
        assert_eq!(config.timeout, Duration::from_secs(4));
        assert_eq!(config.max_attempts, ANSWER_LLM_ATTEMPTS);
        assert!(!format!("{:?}", cli.serve).contains("sk-1"));
    }

    #[test]
    fn probabilities_outside_zero_to_one_are_refused() {
        assert!(Cli::try_parse_from(["pulse-server", "--validation-probability", "1.5"]).is_err());
        assert!(Cli::try_parse_from(["pulse-server", "--validation-probability", "-0.1"]).is_err());
        assert!(Cli::try_parse_from(["pulse-server", "--validation-probability", "1"]).is_ok());
    }

    #[test]
    fn metagraph_registration_parses_with_its_settings() {
        let cli: Cli = parse([
            "pulse-server",
            "--registration",
            "metagraph",
            "--netuid",
            "45",
            "--min-validator-stake",
            "1000",
        ]);
        assert_eq!(cli.serve.registration, Registration::Metagraph);
        assert_eq!(cli.serve.netuid, Some(45));
        assert_eq!(cli.serve.metagraph_sync_blocks, 10);
        assert_eq!(cli.serve.metagraph_max_age_secs, 1800);
        assert_eq!(cli.serve.min_validator_stake, 1000.0);
        assert!(Cli::try_parse_from(["pulse-server", "--min-validator-stake", "-1"]).is_err());
        assert!(Cli::try_parse_from(["pulse-server", "--metagraph-sync-blocks", "0"]).is_err());
    }

    #[test]
    fn a_zero_window_or_quota_is_refused() {
        assert!(Cli::try_parse_from(["pulse-server", "--blocks-per-window", "0"]).is_err());
        assert!(Cli::try_parse_from(["pulse-server", "--max-submission-rate", "0"]).is_err());
        assert!(Cli::try_parse_from(["pulse-server", "--block-time-secs", "0"]).is_err());
    }

    #[test]
    fn hotkey_subcommands_parse_with_roles() {
        let cli = Cli::try_parse_from([
            "pulse-server",
            "hotkeys",
            "add",
            "5Abc",
            "--role",
            "validator",
        ])
        .unwrap();
        match cli.command {
            Some(Command::Hotkeys {
                action: HotkeysCommand::Add { hotkey, role },
            }) => {
                assert_eq!((hotkey.as_str(), role), ("5Abc", Role::Validator));
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
