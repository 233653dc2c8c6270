//! `pulse-chain`: a local double of a subtensor (Bittensor chain) node for Pulse's tests and
//! devnet. It speaks the node's JSON-RPC wire format, produces blocks, serves finney's
//! spec-343 metadata, keeps subnets' metagraphs and accepts the weights extrinsics under the
//! chain's rules. Its encodings are pinned by bytes recorded from finney and made by the
//! official Python SDK (`shared/chain/`), not only by Pulse's own decoder.
//!
//! Start it in-process (tests) or as the `pulse-chain` binary:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let chain = chain::Chain::new(chain::Config::manual())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let url = format!("ws://{}", listener.local_addr()?);
//! tokio::spawn(chain::serve(listener, chain.clone(), std::future::pending()));
//! chain.produce_blocks(3);
//! // ... point a client at `url`.
//! # Ok(()) }
//! ```
//!
//! # JSON-RPC (HTTP `POST /` and WebSocket `GET /`, one port)
//! `system_chain`, `system_name`, `system_version`, `system_chainType`, `system_properties`
//! (ss58Format 42, tokenDecimals 9, tokenSymbol TAO), `system_health`,
//! `system_accountNextIndex`, `rpc_methods`, `chain_getHeader`, `chain_getBlock`,
//! `chain_getBlockHash` (alias `chain_getHead`; number, hex or list), `chain_getFinalizedHead`,
//! `state_getRuntimeVersion`, `state_getMetadata` (V14), `state_call`, `state_getStorage`,
//! `state_getStorageHash`, `state_getStorageSize`, `state_queryStorageAt`,
//! `state_getKeysPaged`, `author_submitExtrinsic`, `author_pendingExtrinsics`, and over
//! WebSocket `chain_subscribeNewHeads`, `chain_subscribeAllHeads`,
//! `chain_subscribeFinalizedHeads`, `state_subscribeRuntimeVersion` and
//! `author_submitAndWatchExtrinsic` (`author_extrinsicUpdate`: `"ready"`/`"future"`,
//! `{"inBlock": hash}`, `{"finalized": hash}`, or `"invalid"`), with their unsubscribe
//! methods and the aliases a node registers ([`rpc::METHODS`]). Errors carry the node's codes:
//! -32700/-32600/-32601/-32602, 1001 bad extrinsic format, 1010 "Invalid Transaction" with the
//! runtime's sentence as `data`, 1011, 1013, 1014, 4003 client errors. `GET /health` answers as
//! a node does.
//!
//! `state_call` answers ([`rpc::runtime_api::SERVED`]): `Core_version`, `Metadata_metadata`,
//! `Metadata_metadata_at_version` (14, 15), `Metadata_metadata_versions`,
//! `AccountNonceApi_account_nonce`, `NeuronInfoRuntimeApi_get_neurons_lite`,
//! `NeuronInfoRuntimeApi_get_neuron_lite`, `SubnetInfoRuntimeApi_get_subnet_hyperparams` and
//! `SubnetInfoRuntimeApi_get_subnet_hyperparams_v2`. Storage reads serve `System` (`Events`,
//! `Account`, `Number`, `ParentHash`, `EventCount`, `BlockHash`), `Timestamp.Now` and the
//! `SubtensorModule` items of registration and weights (`Uids`, `Keys`, `LastUpdate`,
//! `Weights`, `WeightCommits`, `TimelockedWeightCommits`, hyperparameter items, ...).
//!
//! # Extrinsics
//! Signed v4 extrinsics are decoded, their era, sr25519 signature (over call, extra and the
//! spec version, transaction version, genesis hash and era checkpoint), nonce and the
//! transaction extension's checks are verified as the runtime does, then the weights calls are
//! dispatched under spec 343's rules ([`weights`]). A dispatch failure is included, with
//! `System.ExtrinsicFailed { Module { index: 7, error } }` naming the `SubtensorModule` error.
//! Only `SubtensorModule`'s weights calls are modelled: other calls are refused with 1010
//! "Transaction call is not expected"; ed25519 and ECDSA signatures are refused as bad.
//!
//! # Admin API (JSON under `/admin`; bearer token if `--admin-token` is set)
//! - `GET /admin/chain`: `{"best": {"number", "hash"}, "finalized": {...}, "genesis_hash",
//!   "runtime": {"spec_version", "transaction_version"}, "block_time_ms", "stake_threshold",
//!   "commit_reveal_version", "pool": [{"hash", "signer", "nonce", "ready"}]}`;
//!   `PATCH` with `{"stake_threshold"?, "commit_reveal_version"?}`.
//! - `POST /admin/blocks` `{"count": n}` (default 1): makes n blocks now; answers best and
//!   finalized.
//! - `POST /admin/runtime` `{"spec_version", "transaction_version"?}`: a runtime upgrade from
//!   the next block on (202 with `from_block`).
//! - `GET|PUT /admin/accounts/{address}`: `{"nonce"?, "free"?}` (rao).
//! - `GET /admin/subnets`; `POST /admin/subnets` `{"netuid", "hyperparameters"?: {partial},
//!   "max_allowed_uids"?, "mechanism_count"?, "neurons"?: [neuron]}` (201).
//! - `GET|PATCH /admin/subnets/{netuid}`: `{"hyperparameters"?: {partial},
//!   "max_allowed_uids"?, "mechanism_count"?}`.
//! - `GET /admin/subnets/{netuid}/neurons`; `POST` a neuron `{"hotkey", "coldkey"?,
//!   "stake"?: rao | [[coldkey, rao]], "validator_permit"?, "active"?, ...}` registers it as the
//!   chain does (next uid, or the pruned uid when full; 201 `{"uid", "replaced", "neuron"}`).
//! - `GET|PATCH /admin/subnets/{netuid}/neurons/{hotkey or uid}`: `{"validator_permit"?,
//!   "stake"?, "active"?, "last_update"?, "coldkey"?, "block_at_registration"?,
//!   "pruning_score"?, "axon_info"?, "incentive"?, "dividends"?, "emission"?}`.
//! - `POST /admin/subnets/{netuid}/deregister` `{"hotkey", "replacement"?: neuron}`: the uid
//!   goes to the replacement (by default a fresh hotkey), as on chain a uid only changes hands.
//! - `GET /admin/subnets/{netuid}/weights`: per mechanism `{"mecid", "netuid_index",
//!   "last_update": [..], "weights": [{"uid", "hotkey", "block", "weights": [[uid, w]]}]}`.
//! - `GET /admin/subnets/{netuid}/commits`: per mechanism pending `commits` (`hotkey`,
//!   `hash`, `commit_block`, `first_reveal_block`, `last_reveal_block`) and `timelocked` ones.
//! - `GET /admin/subnets/{netuid}/reveals`: successful reveals.
//! - `GET /admin/extrinsics`: every included extrinsic with its call, error name and events.
//!
//! Errors answer `{"error": "..."}` with 404, 409, 422 or 401.
//!
//! # State file (`--state`)
//! ```json
//! {"stake_threshold": 0, "commit_reveal_version": 4,
//!  "accounts": [{"address": "5F...", "nonce": 7, "free": 1000000000}],
//!  "subnets": [{"netuid": 1, "max_allowed_uids": 256, "mechanism_count": 1,
//!               "hyperparameters": {"tempo": 10, "commit_reveal_weights_enabled": false},
//!               "neurons": [{"hotkey": "5F...", "coldkey": "5G...", "stake": 1000,
//!                            "validator_permit": true}],
//!               "neurons_file": "neurons.json"}]}
//! ```
//! Neuron lines take the fields of the SDK's `get_neurons_lite` decoding ([`NeuronSpec`]);
//! `neurons_file` appends a JSON array of such lines. Missing hyperparameters take
//! [`Hyperparameters`]'s defaults (finney netuid 1's, with `weights_version` 0) or the flags'.
//!
//! # Checked with the official SDK
//! `chain/scripts/sdk_check.py` drives the binary with bittensor 10.2.0 (reads, `set_weights`,
//! a refused version key reported by name, a timelocked commit). It needs PyPI packages, so it
//! runs by hand rather than under `cargo test`; its header says how.
//!
//! # Layout
//! - [`config`]: [`Config`] and the binary's command line ([`Cli`]).
//! - [`chain`]: [`Chain`]: blocks, pool, block production, finality, notices.
//! - [`state`]: the per-block [`State`], the state file and storage reads.
//! - [`metagraph`]: subnets, neurons, registration, `NeuronInfoLite` and hyperparameters.
//! - [`weights`]: the weights calls and the chain's rules for them.
//! - [`extrinsic`]: v4 extrinsics, eras, signing payloads, sr25519 checks, signing.
//! - [`events`]: `EventRecord`s as `System.Events` holds them.
//! - [`metadata`]: the embedded spec-343 metadata and lookups by name.
//! - [`scale`]: hashes, account ids, hex.
//! - [`rpc`]: JSON-RPC requests, methods, subscriptions, error objects, runtime API calls.
//! - [`admin`]: the admin API; `server`: the HTTP and WebSocket routes.

#![warn(missing_docs)]

pub mod admin;
pub mod chain;
pub mod config;
pub mod events;
pub mod extrinsic;
pub mod metadata;
pub mod metagraph;
pub mod rpc;
pub mod scale;
mod server;
pub mod state;
pub mod weights;

use std::future::Future;

use std::process::ExitCode;

use anyhow::Context;
use service::Program;
use service::shutdown::{OnSignal, on_signal};
use tokio::net::TcpListener;

pub use chain::{Chain, Header, TxStatus};
pub use config::{Cli, Config, Genesis, RuntimeVersion, Start};
pub use metagraph::{Hyperparameters, NeuronSpec};
pub use server::router;
pub use state::{State, StateFile};

/// Serves JSON-RPC and the admin API on `listener` until `shutdown` completes. Blocks are made
/// by [`Chain::run`] (which [`run`] starts) or on request.
pub async fn serve(
    listener: TcpListener,
    chain: Chain,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(chain))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The `pulse-chain` binary after argument parsing and logging set-up: builds the chain, binds,
/// prints `pulse-chain listening on ws://<addr>` on stdout (a line scripts and tests can wait
/// for), produces blocks on the timer and serves until `shutdown`.
pub async fn run(
    cli: Cli,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let config = cli.config().context("reading the configuration")?;
    let chain = Chain::new(config).context("building the first block")?;
    let listener = TcpListener::bind(cli.bind)
        .await
        .with_context(|| format!("binding {}", cli.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let head = chain.best_header();
    tracing::info!(
        %addr,
        genesis = %chain.genesis_hash(),
        best = head.number,
        block_time_ms = ?chain.config().block_time.map(|d| d.as_millis()),
        "pulse-chain ready"
    );
    println!("pulse-chain listening on ws://{addr}");
    let producer = tokio::spawn(chain.clone().run());
    let served = serve(listener, chain, shutdown).await;
    producer.abort();
    served.context("serving")
}

/// `pulse-chain` through `service::main`: [`run`] until SIGINT or SIGTERM (`docker stop`).
impl Program for Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        let shutdown = on_signal(OnSignal {
            first: "shutting down",
            second: None,
        });
        run(self, shutdown.cancelled_owned()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
