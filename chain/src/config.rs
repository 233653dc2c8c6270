//! Settings: [`Config`] for the library, [`Cli`] for the `pulse-chain` binary (every flag also
//! an environment variable; `pulse-chain --help` lists them with their defaults).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde_json::Value;
pub use service::Secret;
use service::cli::LogArgs;

use crate::chain::Header;
use crate::metagraph::{DEFAULT_MAX_ALLOWED_UIDS, Hyperparameters};
use crate::scale::H256;
use crate::state::{StateFile, SubnetSpec};

/// Finney's genesis hash (from subtensor's source; see `data/chain/`).
pub const FINNEY_GENESIS: &str =
    "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03";
/// Finney block 6852690's header as `chain_getHeader` returned it (recorded).
pub static FINNEY_HEADER_6852690: &str =
    include_str!("../../data/chain/finney_header_6852690.json");
/// Finney's `state_getRuntimeVersion` answer at spec 343 (recorded); its `apis` list is served.
pub static FINNEY_RUNTIME_VERSION_343: &str =
    include_str!("../../data/chain/finney_runtime_version_343.json");
/// Default block time, finney's.
pub const DEFAULT_BLOCK_TIME_MS: u64 = 12_000;
/// Default finality lag in blocks (GRANDPA on finney trails the head by about two).
pub const DEFAULT_FINALITY_LAG: u32 = 2;
/// Blocks whose state stays queryable behind the finalized block (a node's default pruning).
pub const DEFAULT_STATE_PRUNING: u32 = 256;
/// `Timestamp.Now` of block 0: 2025-01-01T00:00:00Z. Block `n` is stamped `n` slots later,
/// so block hashes depend only on content and not on when the double runs.
pub const DEFAULT_GENESIS_TIME_MS: u64 = 1_735_689_600_000;

/// The runtime version the chain reports and signatures must commit to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuntimeVersion {
    /// `specVersion`.
    pub spec_version: u32,
    /// `transactionVersion`.
    pub transaction_version: u32,
}

impl Default for RuntimeVersion {
    fn default() -> Self {
        Self {
            spec_version: 343,
            transaction_version: 1,
        }
    }
}

/// Where the chain's history begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// At genesis: block 0 is the first block.
    Genesis,
    /// At this height, as a node synced from a snapshot: blocks between genesis and it are
    /// unknown. Its header is built like any other block's.
    Height(u32),
    /// At this recorded header (its hash is the real one).
    Header(Header),
}

/// The genesis hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Genesis {
    /// The hash of the double's own genesis header (deterministic for a given state).
    Local,
    /// This hash (for example finney's, so SDK-signed vectors verify). The genesis header the
    /// double serves then does not hash to it.
    Hash(H256),
}

impl FromStr for Genesis {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(Self::Local),
            "finney" => Ok(Self::Hash(FINNEY_GENESIS.parse().expect("a valid hash"))),
            hash => hash
                .parse()
                .map(Self::Hash)
                .map_err(|_| format!("expected local, finney or 0x and 64 hex digits, got {s:?}")),
        }
    }
}

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// Time between blocks; `None` produces blocks only when asked (`POST /admin/blocks`).
    pub block_time: Option<Duration>,
    /// Slot length in milliseconds for timestamps and the Aura digest (the block time, or
    /// finney's 12 s in manual mode).
    pub slot_ms: u64,
    /// How many blocks finality trails the best block.
    pub finality_lag: u32,
    /// Genesis hash.
    pub genesis: Genesis,
    /// First block.
    pub start: Start,
    /// Runtime version at start.
    pub runtime: RuntimeVersion,
    /// `Timestamp.Now` of block 0.
    pub genesis_time_ms: u64,
    /// Blocks behind the finalized one whose state stays queryable.
    pub state_pruning: u32,
    /// What the chain holds at its first block.
    pub state: StateFile,
    /// Bearer token of the admin API; without one it is open to anyone who reaches the port.
    pub admin_token: Option<Secret>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            block_time: Some(Duration::from_millis(DEFAULT_BLOCK_TIME_MS)),
            slot_ms: DEFAULT_BLOCK_TIME_MS,
            finality_lag: DEFAULT_FINALITY_LAG,
            genesis: Genesis::Local,
            start: Start::Genesis,
            runtime: RuntimeVersion::default(),
            genesis_time_ms: DEFAULT_GENESIS_TIME_MS,
            state_pruning: DEFAULT_STATE_PRUNING,
            state: StateFile::default(),
            admin_token: None,
        }
    }
}

impl Config {
    /// Defaults with blocks made only on request: what most tests want.
    pub fn manual() -> Self {
        Self {
            block_time: None,
            ..Self::default()
        }
    }

    /// Finney's genesis hash, spec 343 / tx 1, and history starting at the recorded block
    /// 6852690: the setting under which the SDK's signed vectors verify.
    pub fn finney_fork(mut self) -> Self {
        self.genesis = FINNEY_GENESIS.parse().expect("a valid genesis");
        self.start = Start::Header(finney_header());
        self.runtime = RuntimeVersion::default();
        self
    }
}

/// The recorded header of finney block 6852690.
pub fn finney_header() -> Header {
    let file: Value =
        serde_json::from_str(FINNEY_HEADER_6852690).expect("the embedded header is JSON");
    Header::from_json(&file["header"]).expect("the embedded header is a header")
}

/// Chains the double can pretend to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Preset {
    /// A local chain from its own genesis.
    Local,
    /// Finney's genesis hash, with history starting at the recorded block 6852690.
    Finney,
}

/// The admin API's routes, as `pulse-chain --help` lists them after the flags.
pub const ADMIN_HELP: &str = "\
Admin API (JSON on the same port; bearer token if --admin-token is set):
  GET   /admin/chain                          best, finalized, genesis, runtime, pool
  PATCH /admin/chain                          {\"stake_threshold\", \"commit_reveal_version\"}
  POST  /admin/blocks                         {\"count\": n}: make n blocks now
  POST  /admin/runtime                        {\"spec_version\", \"transaction_version\"}: upgrade
                                              from the next block
  GET|PUT   /admin/accounts/{address}         {\"nonce\", \"free\"}
  GET|POST  /admin/subnets                    list; create {\"netuid\", \"hyperparameters\", ...}
  GET|PATCH /admin/subnets/{netuid}           {\"hyperparameters\", \"max_allowed_uids\",
                                              \"mechanism_count\"}
  GET|POST  /admin/subnets/{netuid}/neurons   list; register {\"hotkey\", \"coldkey\", \"stake\", ...}
  GET|PATCH /admin/subnets/{netuid}/neurons/{hotkey or uid}
                                              {\"validator_permit\", \"stake\", \"active\", ...}
  POST  /admin/subnets/{netuid}/deregister    {\"hotkey\", \"replacement\"}
  GET   /admin/subnets/{netuid}/weights       weights in force per mechanism and uid
  GET   /admin/subnets/{netuid}/commits       pending and timelocked commits
  GET   /admin/subnets/{netuid}/reveals       successful reveals
  GET   /admin/extrinsics                     included extrinsics with their events

The crate documentation (chain/src/lib.rs) describes every body and answer, and the state file.";

/// `pulse-chain`: a local double of a subtensor (Bittensor) node. It serves the node's
/// JSON-RPC over HTTP POST and WebSocket on one port, produces blocks, keeps subnets'
/// metagraphs and accepts the weights extrinsics under the chain's rules.
#[derive(Debug, Parser)]
#[command(name = "pulse-chain", version, about, long_about = None, after_long_help = ADMIN_HELP)]
pub struct Cli {
    /// Address to listen on for JSON-RPC (HTTP and WebSocket) and the admin API (port 0 picks
    /// a free port; the chosen address is printed).
    #[arg(long, env = "CHAIN_BIND", default_value = "127.0.0.1:9944")]
    pub bind: SocketAddr,
    /// Milliseconds between blocks; 0 makes blocks only on POST /admin/blocks.
    #[arg(long, env = "CHAIN_BLOCK_TIME_MS", default_value_t = DEFAULT_BLOCK_TIME_MS)]
    pub block_time_ms: u64,
    /// Blocks by which finality trails the best block.
    #[arg(long, env = "CHAIN_FINALITY_LAG", default_value_t = DEFAULT_FINALITY_LAG)]
    pub finality_lag: u32,
    /// Which chain to look like: local (own genesis) or finney (finney's genesis hash, history
    /// from recorded block 6852690, so SDK-signed extrinsics for finney verify).
    #[arg(long, env = "CHAIN_PRESET", value_enum, default_value_t = Preset::Local)]
    pub preset: Preset,
    /// Genesis hash: local, finney or 0x and 64 hex digits (overrides the preset's).
    #[arg(long, env = "CHAIN_GENESIS")]
    pub genesis: Option<Genesis>,
    /// Height of the first block, for a local chain that should not start at 0.
    #[arg(long, env = "CHAIN_FIRST_BLOCK", default_value_t = 0)]
    pub first_block: u32,
    /// Runtime spec version (change it at run time with POST /admin/runtime).
    #[arg(long, env = "CHAIN_SPEC_VERSION", default_value_t = 343)]
    pub spec_version: u32,
    /// Runtime transaction version.
    #[arg(long, env = "CHAIN_TRANSACTION_VERSION", default_value_t = 1)]
    pub transaction_version: u32,
    /// JSON state file: accounts, subnets, hyperparameters and neurons at the first block
    /// (see the crate documentation).
    #[arg(long, env = "CHAIN_STATE")]
    pub state: Option<PathBuf>,
    /// A subnet to create empty unless the state file has it (repeat or comma-separate).
    #[arg(long = "netuid", env = "CHAIN_NETUIDS", value_delimiter = ',')]
    pub netuids: Vec<u16>,
    /// Tempo of every subnet (a subnet's hyperparameters in the state file win).
    #[arg(long, env = "CHAIN_TEMPO")]
    pub tempo: Option<u16>,
    /// Weights rate limit in blocks, for every subnet.
    #[arg(long, env = "CHAIN_WEIGHTS_RATE_LIMIT")]
    pub weights_rate_limit: Option<u64>,
    /// Lowest weights version key accepted, for every subnet (0: any).
    #[arg(long, env = "CHAIN_WEIGHTS_VERSION")]
    pub weights_version: Option<u64>,
    /// Whether weights go through commit-reveal, for every subnet (the chain's default: true).
    #[arg(long, env = "CHAIN_COMMIT_REVEAL")]
    pub commit_reveal: Option<bool>,
    /// Epochs between a commit and its reveal, for every subnet.
    #[arg(long, env = "CHAIN_COMMIT_REVEAL_PERIOD")]
    pub commit_reveal_period: Option<u64>,
    /// Fewest weights a validator must set, for every subnet.
    #[arg(long, env = "CHAIN_MIN_ALLOWED_WEIGHTS")]
    pub min_allowed_weights: Option<u16>,
    /// Largest normalised weight as a fraction of 65535, for every subnet.
    #[arg(long, env = "CHAIN_MAX_WEIGHTS_LIMIT")]
    pub max_weights_limit: Option<u16>,
    /// Immunity period in blocks, for every subnet.
    #[arg(long, env = "CHAIN_IMMUNITY_PERIOD")]
    pub immunity_period: Option<u16>,
    /// Most uids of a subnet created by --netuid.
    #[arg(long, env = "CHAIN_MAX_ALLOWED_UIDS", default_value_t = DEFAULT_MAX_ALLOWED_UIDS)]
    pub max_allowed_uids: u16,
    /// Stake in rao a hotkey needs to set weights (a state file's `stake_threshold` wins).
    #[arg(long, env = "CHAIN_STAKE_THRESHOLD")]
    pub stake_threshold: Option<u64>,
    /// Blocks behind the finalized one whose state stays queryable.
    #[arg(long, env = "CHAIN_STATE_PRUNING", default_value_t = DEFAULT_STATE_PRUNING)]
    pub state_pruning: u32,
    /// Bearer token for the /admin API; without it the admin API is open.
    #[arg(long, env = "CHAIN_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Logging.
    #[command(flatten)]
    pub log: LogArgs,
}

impl Cli {
    /// Hyperparameter defaults these flags describe.
    pub fn hyperparameters(&self) -> Hyperparameters {
        let mut params = Hyperparameters::default();
        if let Some(v) = self.tempo {
            params.tempo = v;
        }
        if let Some(v) = self.weights_rate_limit {
            params.weights_rate_limit = v;
        }
        if let Some(v) = self.weights_version {
            params.weights_version = v;
        }
        if let Some(v) = self.commit_reveal {
            params.commit_reveal_weights_enabled = v;
        }
        if let Some(v) = self.commit_reveal_period {
            params.commit_reveal_period = v;
        }
        if let Some(v) = self.min_allowed_weights {
            params.min_allowed_weights = v;
        }
        if let Some(v) = self.max_weights_limit {
            params.max_weights_limit = v;
        }
        if let Some(v) = self.immunity_period {
            params.immunity_period = v;
        }
        params
    }

    /// The library configuration these flags (and the state file they name) describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let defaults = self.hyperparameters();
        let mut state = match &self.state {
            Some(path) => StateFile::load_with_defaults(path, &defaults)?,
            None => StateFile::default(),
        };
        if state.stake_threshold.is_none() {
            state.stake_threshold = self.stake_threshold;
        }
        for netuid in &self.netuids {
            if !state.subnets.iter().any(|s| s.netuid == *netuid) {
                state.subnets.push(SubnetSpec {
                    netuid: *netuid,
                    hyperparameters: defaults.clone(),
                    max_allowed_uids: self.max_allowed_uids,
                    mechanism_count: 1,
                    neurons: Vec::new(),
                    neurons_file: None,
                });
            }
        }
        let mut config = Config {
            block_time: (self.block_time_ms > 0).then(|| Duration::from_millis(self.block_time_ms)),
            slot_ms: if self.block_time_ms > 0 {
                self.block_time_ms
            } else {
                DEFAULT_BLOCK_TIME_MS
            },
            finality_lag: self.finality_lag,
            runtime: RuntimeVersion {
                spec_version: self.spec_version,
                transaction_version: self.transaction_version,
            },
            state_pruning: self.state_pruning,
            state,
            admin_token: self.admin_token.clone(),
            start: if self.first_block > 0 {
                Start::Height(self.first_block)
            } else {
                Start::Genesis
            },
            ..Config::default()
        };
        if self.preset == Preset::Finney {
            let runtime = config.runtime;
            config = config.finney_fork();
            config.runtime = runtime;
        }
        if let Some(genesis) = self.genesis {
            config.genesis = genesis;
        }
        Ok(config)
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

    #[test]
    fn defaults_match_a_node_on_its_usual_port() {
        let cli = Cli::try_parse_from(["pulse-chain"]).unwrap();
        assert_eq!(cli.bind.to_string(), "127.0.0.1:9944");
        let config = cli.config().unwrap();
        assert_eq!(config.block_time, Some(Duration::from_secs(12)));
        assert_eq!(config.runtime, RuntimeVersion::default());
        assert_eq!(config.genesis, Genesis::Local);
        assert_eq!(config.start, Start::Genesis);
        assert!(config.state.subnets.is_empty());
    }

    #[test]
    fn netuid_and_hyperparameter_flags_make_subnets() {
        let cli = Cli::try_parse_from([
            "pulse-chain",
            "--netuid",
            "1,7",
            "--tempo",
            "10",
            "--commit-reveal",
            "false",
            "--block-time-ms",
            "0",
        ])
        .unwrap();
        let config = cli.config().unwrap();
        assert_eq!(config.block_time, None);
        let netuids: Vec<u16> = config.state.subnets.iter().map(|s| s.netuid).collect();
        assert_eq!(netuids, vec![1, 7]);
        assert_eq!(config.state.subnets[0].hyperparameters.tempo, 10);
        assert!(
            !config.state.subnets[1]
                .hyperparameters
                .commit_reveal_weights_enabled
        );
    }

    #[test]
    fn the_finney_preset_uses_finneys_genesis_and_the_recorded_block() {
        let cli = Cli::try_parse_from(["pulse-chain", "--preset", "finney"]).unwrap();
        let config = cli.config().unwrap();
        assert_eq!(
            config.genesis,
            Genesis::Hash(FINNEY_GENESIS.parse().unwrap())
        );
        let Start::Header(header) = config.start else {
            panic!("a recorded start header expected")
        };
        assert_eq!(header.number, 6_852_690);
    }

    #[test]
    fn genesis_accepts_names_and_hashes_and_refuses_the_rest() {
        assert_eq!("local".parse::<Genesis>(), Ok(Genesis::Local));
        assert!(matches!("finney".parse::<Genesis>(), Ok(Genesis::Hash(_))));
        assert!("0x12".parse::<Genesis>().is_err());
    }

    #[test]
    fn the_admin_token_does_not_show_in_debug_output() {
        let cli = Cli::try_parse_from(["pulse-chain", "--admin-token", "hunter2"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
