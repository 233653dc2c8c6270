//! [`Subtensor`]: reads and extrinsics against one node.
//!
//! Every read is pinned to a block hash, and decoded with the metadata of the runtime at
//! that block: the client keeps the last runtime it checked and fetches the metadata again
//! when a block's spec version differs (a runtime upgrade), checking it before use.

use std::sync::Arc;
use std::time::Duration;

use parity_scale_codec::{Decode, Encode};
use protocol::Hotkey;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};
use thiserror::Error;
use tokio::sync::Mutex;

use crate::calls::WeightsCall;
use crate::check::{MetadataMismatch, ReadPlan, SigningPlan, check_for_reads, check_for_signing};
use crate::endpoint::{Endpoint, Transport};
use crate::events::{
    DispatchFailure, EventsError, ExtrinsicOutcome, custom_transaction_error, decode_events,
    outcome_for_signer,
};
use crate::extrinsic::{DEFAULT_ERA_PERIOD, Era, SignedExtrinsic, TxParams, sign};
use crate::hyperparams::{Hyperparameters, HyperparamsError, decode_hyperparameters};
use crate::metadata::{Metadata, MetadataError};
use crate::neuron::{Neuron, NeuronDecodeError, decode_neurons};
use crate::primitives::{BlockRef, H256, Header, RuntimeVersion, from_hex, to_hex};
use crate::rpc::{RpcClient, RpcError, RpcOptions};
use crate::storage::{map_key, plain_key};
use crate::value::{ValueError, decode_all};

/// Why a read from the chain failed.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ChainError {
    /// The transport failed or the node answered with an error.
    #[error(transparent)]
    Rpc(#[from] RpcError),
    /// The metadata did not decode.
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    /// The runtime does not match what Pulse encodes or decodes.
    #[error(transparent)]
    Mismatch(#[from] MetadataMismatch),
    /// The neuron list did not decode.
    #[error(transparent)]
    Neurons(#[from] NeuronDecodeError),
    /// The hyperparameters did not decode.
    #[error(transparent)]
    Hyperparams(#[from] HyperparamsError),
    /// The events did not decode.
    #[error(transparent)]
    Events(#[from] EventsError),
    /// An answer whose bytes are not what the method returns.
    #[error("{what} does not decode: {reason}")]
    Undecodable {
        /// What was read.
        what: String,
        /// Why it does not decode.
        reason: String,
    },
    /// The node does not know the block.
    #[error("the node has no block {0}")]
    UnknownBlock(String),
}

/// Why an extrinsic was not included, or its outcome is unknown.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SubmitError {
    /// Preparing it failed: a read, or the metadata check refused.
    #[error(transparent)]
    Chain(#[from] ChainError),
    /// The node turned it away on submission (RPC error 1010 "Invalid Transaction",
    /// 1011/1012 "Unknown/Pool"), e.g. a stale nonce or subtensor's own checks.
    #[error("the node rejected the extrinsic: {message}{}", describe_rejection(data.as_deref(), *custom))]
    Rejected {
        /// The JSON-RPC error code.
        code: i64,
        /// The error message (`Invalid Transaction`).
        message: String,
        /// The error's data (`Custom error: 6`, `Transaction is outdated`, ...).
        data: Option<String>,
        /// The name of subtensor's custom error code, when `data` carries one.
        custom: Option<&'static str>,
    },
    /// The pool dropped it.
    #[error("the extrinsic was dropped from the transaction pool")]
    Dropped,
    /// The pool found it invalid after accepting it.
    #[error("the extrinsic became invalid in the transaction pool")]
    Invalid,
    /// Another extrinsic with the same nonce took its place.
    #[error("the extrinsic was replaced by another with the same nonce (in block {0})")]
    Usurped(H256),
    /// Its block was not finalized in time.
    #[error("block {0}, which included the extrinsic, was not finalized in time")]
    FinalityTimeout(H256),
    /// It was not seen in a block before its era ran out or the watch timed out.
    #[error("the extrinsic was not included by block {0}")]
    NotIncluded(u64),
    /// It is in a block, but the block's events do not say how it went.
    #[error("the extrinsic is in block {block} but its outcome is unknown: {reason}")]
    OutcomeUnknown {
        /// The block.
        block: H256,
        /// Why.
        reason: String,
    },
}

fn describe_rejection(data: Option<&str>, custom: Option<&'static str>) -> String {
    match (data, custom) {
        (Some(data), Some(name)) => format!(" ({data}: {name})"),
        (Some(data), None) => format!(" ({data})"),
        (None, _) => String::new(),
    }
}

/// The runtime at some block: its version, metadata, and what the metadata check said.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The runtime version.
    pub version: RuntimeVersion,
    /// The decoded metadata.
    pub metadata: Arc<Metadata>,
    /// The read check's verdict: how to read hyperparameters, or why not to read.
    pub reads: Result<ReadPlan, MetadataMismatch>,
    /// The signing check's verdict: how to encode extrinsics, or why not to sign.
    pub signing: Result<SigningPlan, MetadataMismatch>,
}

impl Runtime {
    /// Decodes `metadata` bytes and checks them.
    pub fn new(version: RuntimeVersion, metadata_bytes: &[u8]) -> Result<Self, MetadataError> {
        let metadata = Metadata::decode(metadata_bytes)?;
        Ok(Self::from_metadata(version, metadata))
    }

    /// Checks decoded `metadata`.
    pub fn from_metadata(version: RuntimeVersion, metadata: Metadata) -> Self {
        Self {
            reads: check_for_reads(&metadata),
            signing: check_for_signing(&metadata),
            version,
            metadata: Arc::new(metadata),
        }
    }
}

/// A subnet's metagraph at one block: what the server stores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: u16,
    /// The block it was read at.
    pub block: BlockRef,
    /// The neurons, by uid.
    pub neurons: Vec<Neuron>,
    /// The subnet's hyperparameters.
    pub hyperparameters: Hyperparameters,
}

impl Metagraph {
    /// The neuron whose hotkey is `ss58`.
    pub fn neuron_by_hotkey(&self, ss58: &str) -> Option<&Neuron> {
        self.neurons.iter().find(|neuron| neuron.hotkey == ss58)
    }
}

/// When [`Subtensor::submit_and_watch`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// As soon as a block includes the extrinsic.
    InBlock,
    /// When that block is finalized.
    Finalized,
}

/// How to build and watch an extrinsic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxOptions {
    /// Mortality in blocks (rounded up to a power of two); `None` for an immortal extrinsic.
    pub era_period: Option<u64>,
    /// Tip in rao.
    pub tip: u64,
    /// When to stop watching.
    pub wait_for: WaitFor,
    /// The longest the watch may take before giving up.
    pub watch_timeout: Duration,
    /// Over HTTP, how often to look for new blocks while watching.
    pub poll_interval: Duration,
}

impl Default for TxOptions {
    fn default() -> Self {
        Self {
            era_period: Some(DEFAULT_ERA_PERIOD),
            tip: 0,
            wait_for: WaitFor::InBlock,
            watch_timeout: Duration::from_secs(30 * 60),
            poll_interval: Duration::from_secs(2),
        }
    }
}

/// A signed extrinsic with what it was built from, ready for [`Subtensor::submit_and_watch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The extrinsic.
    pub extrinsic: SignedExtrinsic,
    /// Its nonce, era, versions and hashes.
    pub params: TxParams,
    /// The best block it was built at (a mortal era starts there).
    pub built_at: BlockRef,
    /// The signer's public key.
    pub signer: [u8; 32],
}

/// An extrinsic in a block, and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Included {
    /// The extrinsic's hash.
    pub extrinsic_hash: H256,
    /// The block that includes it.
    pub block: BlockRef,
    /// Its index in the block.
    pub index: u32,
    /// Whether the block was finalized when the watch ended.
    pub finalized: bool,
    /// `None` on success; the named dispatch error on `ExtrinsicFailed`.
    pub failure: Option<DispatchFailure>,
}

/// A client for one subtensor node. Cheap to clone; clones share the connection and
/// the cached runtime.
#[derive(Clone)]
pub struct Subtensor {
    endpoint: Endpoint,
    rpc: RpcClient,
    runtime: Arc<Mutex<Option<Arc<Runtime>>>>,
    genesis: Arc<Mutex<Option<H256>>>,
}

impl std::fmt::Debug for Subtensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subtensor")
            .field("endpoint", &self.endpoint.to_string())
            .finish_non_exhaustive()
    }
}

impl Subtensor {
    /// Connects to `endpoint` (over WebSocket the connection opens now).
    pub async fn connect(endpoint: &Endpoint, options: RpcOptions) -> Result<Self, RpcError> {
        Ok(Self {
            endpoint: endpoint.clone(),
            rpc: RpcClient::connect(endpoint, options).await?,
            runtime: Arc::default(),
            genesis: Arc::default(),
        })
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The JSON-RPC client underneath.
    pub fn rpc(&self) -> &RpcClient {
        &self.rpc
    }

    /// The best block (`chain_getBlockHash []`, then `chain_getHeader [hash]`).
    pub async fn head(&self) -> Result<BlockRef, ChainError> {
        let hash: Option<H256> = self.rpc.request("chain_getBlockHash", json!([])).await?;
        let hash = hash.ok_or_else(|| ChainError::UnknownBlock("best".into()))?;
        self.block_ref(hash).await
    }

    /// The finalized block (`chain_getFinalizedHead`, then `chain_getHeader [hash]`).
    pub async fn finalized_head(&self) -> Result<BlockRef, ChainError> {
        let hash: H256 = self
            .rpc
            .request("chain_getFinalizedHead", json!([]))
            .await?;
        self.block_ref(hash).await
    }

    /// The block `hash` with its number (`chain_getHeader [hash]`).
    pub async fn block_ref(&self, hash: H256) -> Result<BlockRef, ChainError> {
        let header: Option<Header> = self.rpc.request("chain_getHeader", json!([hash])).await?;
        let header = header.ok_or_else(|| ChainError::UnknownBlock(hash.to_string()))?;
        Ok(BlockRef {
            number: header.number,
            hash,
        })
    }

    /// The hash of block `number` (`chain_getBlockHash [number]`), `None` if not yet made.
    pub async fn block_hash(&self, number: u64) -> Result<Option<H256>, ChainError> {
        Ok(self
            .rpc
            .request("chain_getBlockHash", json!([number]))
            .await?)
    }

    /// The genesis hash (`chain_getBlockHash [0]`), read once.
    pub async fn genesis_hash(&self) -> Result<H256, ChainError> {
        let mut cached = self.genesis.lock().await;
        if let Some(hash) = *cached {
            return Ok(hash);
        }
        let hash = self
            .block_hash(0)
            .await?
            .ok_or_else(|| ChainError::UnknownBlock("0 (genesis)".into()))?;
        *cached = Some(hash);
        Ok(hash)
    }

    /// The runtime version at `at` (the best block if `None`).
    pub async fn runtime_version(&self, at: Option<H256>) -> Result<RuntimeVersion, ChainError> {
        Ok(self
            .rpc
            .request("state_getRuntimeVersion", json!([at]))
            .await?)
    }

    /// The metadata bytes at `at`: V15 through `state_call Metadata_metadata_at_version
    /// 0x0f000000`, or, when the node does not offer V15, V14 through `state_getMetadata`.
    pub async fn metadata_bytes(&self, at: Option<H256>) -> Result<Vec<u8>, ChainError> {
        let v15 = self
            .rpc
            .request::<String>(
                "state_call",
                json!(["Metadata_metadata_at_version", "0x0f000000", at]),
            )
            .await;
        match v15 {
            Ok(hex) => {
                let wrapped = hex_bytes("Metadata_metadata_at_version", &hex)?;
                // The answer is Option<OpaqueMetadata>: 0x01, a compact length, the bytes.
                let opaque =
                    Option::<Vec<u8>>::decode(&mut wrapped.as_slice()).map_err(|error| {
                        ChainError::Undecodable {
                            what: "Metadata_metadata_at_version".into(),
                            reason: error.to_string(),
                        }
                    })?;
                if let Some(bytes) = opaque {
                    return Ok(bytes);
                }
            }
            // An old node without the call; anything else is a real failure.
            Err(RpcError::Rpc { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        let hex: String = self.rpc.request("state_getMetadata", json!([at])).await?;
        hex_bytes("state_getMetadata", &hex)
    }

    /// The decoded metadata at `at`.
    pub async fn metadata(&self, at: Option<H256>) -> Result<Metadata, ChainError> {
        Ok(Metadata::decode(&self.metadata_bytes(at).await?)?)
    }

    /// The checked runtime of block `at`, from the cache when its spec version is the
    /// cached one.
    pub async fn runtime_at(&self, at: H256) -> Result<Arc<Runtime>, ChainError> {
        let version = self.runtime_version(Some(at)).await?;
        let mut cached = self.runtime.lock().await;
        if let Some(runtime) = cached.as_ref()
            && runtime.version.spec_version == version.spec_version
            && runtime.version.transaction_version == version.transaction_version
        {
            return Ok(runtime.clone());
        }
        let bytes = self.metadata_bytes(Some(at)).await?;
        let runtime = Arc::new(Runtime::new(version, &bytes)?);
        *cached = Some(runtime.clone());
        Ok(runtime)
    }

    /// `state_call` of a runtime API method with SCALE `params` at `at`: the output bytes.
    pub async fn state_call(
        &self,
        method: &str,
        params: &[u8],
        at: H256,
    ) -> Result<Vec<u8>, ChainError> {
        let hex: String = self
            .rpc
            .request("state_call", json!([method, to_hex(params), at]))
            .await?;
        hex_bytes(method, &hex)
    }

    /// A storage value at `at` (`state_getStorage [key, at]`); `None` when unset.
    pub async fn storage(&self, key: &[u8], at: H256) -> Result<Option<Vec<u8>>, ChainError> {
        let hex: Option<String> = self
            .rpc
            .request("state_getStorage", json!([to_hex(key), at]))
            .await?;
        hex.map(|hex| hex_bytes("state_getStorage", &hex))
            .transpose()
    }

    /// The subnet's neurons at `at` (`NeuronInfoRuntimeApi_get_neurons_lite`).
    pub async fn neurons(&self, netuid: u16, at: H256) -> Result<Vec<Neuron>, ChainError> {
        let runtime = self.runtime_at(at).await?;
        runtime.reads.clone()?;
        let bytes = self
            .state_call(
                "NeuronInfoRuntimeApi_get_neurons_lite",
                &netuid.encode(),
                at,
            )
            .await?;
        Ok(decode_neurons(&bytes)?)
    }

    /// The subnet's hyperparameters at `at` (`SubnetInfoRuntimeApi_get_subnet_hyperparams_v2`,
    /// or `get_subnet_hyperparams` on runtimes without it).
    pub async fn hyperparameters(
        &self,
        netuid: u16,
        at: H256,
    ) -> Result<Hyperparameters, ChainError> {
        let runtime = self.runtime_at(at).await?;
        let plan = runtime.reads.clone()?;
        let method = format!("SubnetInfoRuntimeApi_{}", plan.hyperparams_method);
        let bytes = self.state_call(&method, &netuid.encode(), at).await?;
        Ok(decode_hyperparameters(
            &runtime.metadata,
            &plan,
            netuid,
            &bytes,
        )?)
    }

    /// The subnet's metagraph at the best block.
    pub async fn metagraph(&self, netuid: u16) -> Result<Metagraph, ChainError> {
        let head = self.head().await?;
        self.metagraph_at(netuid, head).await
    }

    /// The subnet's metagraph at `block`.
    pub async fn metagraph_at(
        &self,
        netuid: u16,
        block: BlockRef,
    ) -> Result<Metagraph, ChainError> {
        let neurons = self.neurons(netuid, block.hash).await?;
        let hyperparameters = self.hyperparameters(netuid, block.hash).await?;
        Ok(Metagraph {
            netuid,
            block,
            neurons,
            hyperparameters,
        })
    }

    /// The chain's commit-reveal version (`SubtensorModule.CommitRevealWeightsVersion`)
    /// at `at`, which a timelocked commit must name.
    pub async fn commit_reveal_version(&self, at: H256) -> Result<u16, ChainError> {
        let runtime = self.runtime_at(at).await?;
        let entry = runtime
            .metadata
            .storage_entry("SubtensorModule", "CommitRevealWeightsVersion")
            .ok_or_else(|| ChainError::Undecodable {
                what: "SubtensorModule.CommitRevealWeightsVersion".into(),
                reason: "the runtime has no such storage".into(),
            })?;
        let stored = self
            .storage(
                &plain_key("SubtensorModule", "CommitRevealWeightsVersion"),
                at,
            )
            .await?;
        let bytes = stored.unwrap_or_else(|| entry.default.clone());
        let value = decode_all(&runtime.metadata.types, entry.value_ty, &bytes)
            .map_err(|error| undecodable("SubtensorModule.CommitRevealWeightsVersion", error))?;
        value
            .as_u128()
            .and_then(|version| u16::try_from(version).ok())
            .ok_or_else(|| ChainError::Undecodable {
                what: "SubtensorModule.CommitRevealWeightsVersion".into(),
                reason: format!("{value:?} is not a u16"),
            })
    }

    /// The next nonce of `ss58` (`system_accountNextIndex`), counting pool transactions.
    pub async fn account_next_index(&self, ss58: &str) -> Result<u32, ChainError> {
        Ok(self
            .rpc
            .request("system_accountNextIndex", json!([ss58]))
            .await?)
    }

    /// The account nonce of `account` stored at block `at` (`System.Account`).
    pub async fn account_nonce_at(&self, account: &[u8; 32], at: H256) -> Result<u32, ChainError> {
        let runtime = self.runtime_at(at).await?;
        let entry = runtime
            .metadata
            .storage_entry("System", "Account")
            .ok_or_else(|| ChainError::Undecodable {
                what: "System.Account".into(),
                reason: "the runtime has no such storage".into(),
            })?;
        let hasher = entry
            .key
            .as_ref()
            .and_then(|(hashers, _)| hashers.first().copied())
            .ok_or_else(|| ChainError::Undecodable {
                what: "System.Account".into(),
                reason: "it is not a map".into(),
            })?;
        let bytes = self
            .storage(&map_key("System", "Account", hasher, account), at)
            .await?
            .unwrap_or_else(|| entry.default.clone());
        let value = decode_all(&runtime.metadata.types, entry.value_ty, &bytes)
            .map_err(|error| undecodable("System.Account", error))?;
        value
            .field("nonce")
            .and_then(|nonce| nonce.as_u128())
            .and_then(|nonce| u32::try_from(nonce).ok())
            .ok_or_else(|| ChainError::Undecodable {
                what: "System.Account".into(),
                reason: "no u32 nonce".into(),
            })
    }

    /// The events of block `at` (`System.Events`).
    pub async fn events(&self, at: H256) -> Result<Vec<crate::events::Event>, ChainError> {
        let runtime = self.runtime_at(at).await?;
        let bytes = self
            .storage(&plain_key("System", "Events"), at)
            .await?
            .unwrap_or_default();
        if bytes.is_empty() {
            return Ok(Vec::new());
        }
        Ok(decode_events(&runtime.metadata, &bytes)?)
    }

    /// Builds and signs `call` with `hotkey` against the best block: the runtime there
    /// must pass the signing check, the nonce comes from `system_accountNextIndex`, and
    /// a mortal era starts at the best block.
    pub async fn prepare(
        &self,
        hotkey: &Hotkey,
        call: &WeightsCall,
        options: &TxOptions,
    ) -> Result<Prepared, ChainError> {
        let head = self.head().await?;
        let runtime = self.runtime_at(head.hash).await?;
        let plan = runtime.signing.clone()?;
        let genesis_hash = self.genesis_hash().await?;
        let (era, checkpoint) = match options.era_period {
            None => (Era::Immortal, genesis_hash),
            Some(period) => {
                let era = Era::mortal(period, head.number);
                let birth = era.birth(head.number);
                let checkpoint = if birth == head.number {
                    head.hash
                } else {
                    self.block_hash(birth)
                        .await?
                        .ok_or_else(|| ChainError::UnknownBlock(birth.to_string()))?
                };
                (era, checkpoint)
            }
        };
        let params = TxParams {
            spec_version: runtime.version.spec_version,
            transaction_version: runtime.version.transaction_version,
            genesis_hash,
            era,
            checkpoint,
            nonce: self.account_next_index(hotkey.ss58()).await?,
            tip: options.tip,
        };
        let extrinsic = sign(&call.encode(), hotkey, &plan, &params);
        Ok(Prepared {
            extrinsic,
            params,
            built_at: head,
            signer: hotkey.public_key(),
        })
    }

    /// Signs `call` with `hotkey`, submits it and watches it until `options.wait_for`,
    /// then reads the block's events for its outcome.
    pub async fn sign_and_submit(
        &self,
        hotkey: &Hotkey,
        call: &WeightsCall,
        options: &TxOptions,
    ) -> Result<Included, SubmitError> {
        let prepared = self.prepare(hotkey, call, options).await?;
        self.submit_and_watch(&prepared, options).await
    }

    /// Submits a prepared extrinsic and watches it: over WebSocket with
    /// `author_submitAndWatchExtrinsic`, over HTTP with `author_submitExtrinsic` and a look
    /// at the signer's stored nonce in each new block. Then reads the including block's
    /// events for the outcome.
    pub async fn submit_and_watch(
        &self,
        prepared: &Prepared,
        options: &TxOptions,
    ) -> Result<Included, SubmitError> {
        let extrinsic = &prepared.extrinsic;
        let signer = &prepared.signer;
        let built_at = prepared.built_at.number;
        let watch = async {
            match self.endpoint.transport() {
                Transport::WebSocket => self.watch_subscribed(extrinsic, signer, options).await,
                Transport::Http => {
                    self.watch_polled(extrinsic, signer, &prepared.params, built_at, options)
                        .await
                }
            }
        };
        match tokio::time::timeout(options.watch_timeout, watch).await {
            Ok(result) => result,
            Err(_) => Err(SubmitError::NotIncluded(
                self.head()
                    .await
                    .map(|head| head.number)
                    .unwrap_or(built_at),
            )),
        }
    }

    async fn watch_subscribed(
        &self,
        extrinsic: &SignedExtrinsic,
        signer: &[u8; 32],
        options: &TxOptions,
    ) -> Result<Included, SubmitError> {
        let mut statuses = self
            .rpc
            .subscribe(
                "author_submitAndWatchExtrinsic",
                json!([to_hex(&extrinsic.bytes)]),
                "author_unwatchExtrinsic",
            )
            .await
            .map_err(rejection)?;
        loop {
            let status = statuses.next().await.map_err(ChainError::from)?;
            match TxStatus::from_json(&status) {
                TxStatus::InBlock(block) if options.wait_for == WaitFor::InBlock => {
                    return self.included(extrinsic, signer, block, false).await;
                }
                TxStatus::Finalized(block) => {
                    return self.included(extrinsic, signer, block, true).await;
                }
                TxStatus::Pending | TxStatus::InBlock(_) | TxStatus::Retracted => {}
                TxStatus::FinalityTimeout(block) => {
                    return Err(SubmitError::FinalityTimeout(block));
                }
                TxStatus::Usurped(block) => return Err(SubmitError::Usurped(block)),
                TxStatus::Dropped => return Err(SubmitError::Dropped),
                TxStatus::Invalid => return Err(SubmitError::Invalid),
                TxStatus::Unknown(other) => {
                    return Err(ChainError::Rpc(RpcError::Undecodable {
                        url: self.endpoint.url.to_string(),
                        method: "author_submitAndWatchExtrinsic".into(),
                        reason: format!("unknown transaction status {other}"),
                    })
                    .into());
                }
            }
        }
    }

    async fn watch_polled(
        &self,
        extrinsic: &SignedExtrinsic,
        signer: &[u8; 32],
        params: &TxParams,
        built_at: u64,
        options: &TxOptions,
    ) -> Result<Included, SubmitError> {
        let _hash: H256 = self
            .rpc
            .request("author_submitExtrinsic", json!([to_hex(&extrinsic.bytes)]))
            .await
            .map_err(rejection)?;
        let deadline = params.era.death(built_at);
        let mut checked = built_at;
        loop {
            let head = self.head().await?;
            // The first block whose stored nonce has moved past ours includes the extrinsic.
            while checked < head.number {
                let number = checked + 1;
                let hash = self
                    .block_hash(number)
                    .await?
                    .ok_or_else(|| ChainError::UnknownBlock(number.to_string()))?;
                if self.account_nonce_at(signer, hash).await? > params.nonce {
                    if options.wait_for == WaitFor::Finalized {
                        self.wait_finalized(number, hash, options).await?;
                    }
                    let finalized = options.wait_for == WaitFor::Finalized;
                    return self.included(extrinsic, signer, hash, finalized).await;
                }
                checked = number;
            }
            if checked >= deadline {
                return Err(SubmitError::NotIncluded(checked));
            }
            tokio::time::sleep(options.poll_interval).await;
        }
    }

    async fn wait_finalized(
        &self,
        number: u64,
        hash: H256,
        options: &TxOptions,
    ) -> Result<(), SubmitError> {
        loop {
            let finalized = self.finalized_head().await?;
            if finalized.number >= number {
                return if self.block_hash(number).await? == Some(hash) {
                    Ok(())
                } else {
                    Err(SubmitError::Usurped(hash))
                };
            }
            tokio::time::sleep(options.poll_interval).await;
        }
    }

    async fn included(
        &self,
        extrinsic: &SignedExtrinsic,
        signer: &[u8; 32],
        block_hash: H256,
        finalized: bool,
    ) -> Result<Included, SubmitError> {
        let block = self.block_ref(block_hash).await?;
        let runtime = self.runtime_at(block_hash).await?;
        let events = self.events(block_hash).await?;
        let (index, failure) = match outcome_for_signer(&runtime.metadata, &events, signer) {
            ExtrinsicOutcome::Success { index } => (index, None),
            ExtrinsicOutcome::Failed { index, error } => (index, Some(error)),
            ExtrinsicOutcome::NotFound => {
                return Err(SubmitError::OutcomeUnknown {
                    block: block_hash,
                    reason: "its events name no extrinsic of the signer (no TransactionPayment.TransactionFeePaid)".into(),
                });
            }
            ExtrinsicOutcome::Ambiguous(indices) => {
                return Err(SubmitError::OutcomeUnknown {
                    block: block_hash,
                    reason: format!("the signer has extrinsics at indices {indices:?}"),
                });
            }
        };
        Ok(Included {
            extrinsic_hash: extrinsic.hash,
            block,
            index,
            finalized,
            failure,
        })
    }

    /// New best (`finalized: false`) or finalized block numbers as the node announces them
    /// (`chain_subscribeNewHeads` / `chain_subscribeFinalizedHeads`). Needs WebSocket.
    pub async fn subscribe_heads(&self, finalized: bool) -> Result<HeadSubscription, ChainError> {
        let (subscribe, unsubscribe) = if finalized {
            (
                "chain_subscribeFinalizedHeads",
                "chain_unsubscribeFinalizedHeads",
            )
        } else {
            ("chain_subscribeNewHeads", "chain_unsubscribeNewHeads")
        };
        let inner = self
            .rpc
            .subscribe(subscribe, json!([]), unsubscribe)
            .await?;
        Ok(HeadSubscription { inner })
    }
}

/// Block numbers from a head subscription.
#[derive(Debug)]
pub struct HeadSubscription {
    inner: crate::rpc::Subscription,
}

impl HeadSubscription {
    /// The next announced block number.
    pub async fn next(&mut self) -> Result<u64, ChainError> {
        let header: Header = self.inner.next_as().await?;
        Ok(header.number)
    }
}

// Substrate's TransactionStatus as JSON: a string or a one-key object.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TxStatus {
    Pending,
    InBlock(H256),
    Retracted,
    FinalityTimeout(H256),
    Finalized(H256),
    Usurped(H256),
    Dropped,
    Invalid,
    Unknown(String),
}

impl TxStatus {
    fn from_json(status: &Json) -> Self {
        if let Some(text) = status.as_str() {
            return match text {
                "future" | "ready" => TxStatus::Pending,
                "dropped" => TxStatus::Dropped,
                "invalid" => TxStatus::Invalid,
                other => TxStatus::Unknown(other.to_string()),
            };
        }
        let Some((key, value)) = status.as_object().and_then(|object| object.iter().next()) else {
            return TxStatus::Unknown(status.to_string());
        };
        let hash = || value.as_str().and_then(|text| text.parse::<H256>().ok());
        match (key.as_str(), hash()) {
            ("broadcast", _) => TxStatus::Pending,
            ("retracted", _) => TxStatus::Retracted,
            ("inBlock", Some(hash)) => TxStatus::InBlock(hash),
            ("finalized", Some(hash)) => TxStatus::Finalized(hash),
            ("finalityTimeout", Some(hash)) => TxStatus::FinalityTimeout(hash),
            ("usurped", Some(hash)) => TxStatus::Usurped(hash),
            _ => TxStatus::Unknown(status.to_string()),
        }
    }
}

fn rejection(error: RpcError) -> SubmitError {
    match error {
        RpcError::Rpc {
            code,
            message,
            data,
            ..
        } => {
            let custom = data
                .as_deref()
                .and_then(|data| data.strip_prefix("Custom error: "))
                .and_then(|code| code.trim().parse::<u8>().ok())
                .and_then(custom_transaction_error);
            SubmitError::Rejected {
                code,
                message,
                data,
                custom,
            }
        }
        other => SubmitError::Chain(other.into()),
    }
}

fn hex_bytes(what: &str, hex: &str) -> Result<Vec<u8>, ChainError> {
    from_hex(hex).map_err(|reason| ChainError::Undecodable {
        what: what.to_string(),
        reason,
    })
}

fn undecodable(what: &str, error: ValueError) -> ChainError {
    ChainError::Undecodable {
        what: what.to_string(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transaction_statuses_read_as_substrate_sends_them() {
        let hash = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0";
        let parsed: H256 = hash.parse().unwrap();
        assert_eq!(TxStatus::from_json(&json!("ready")), TxStatus::Pending);
        assert_eq!(
            TxStatus::from_json(&json!({"broadcast": ["peer"]})),
            TxStatus::Pending
        );
        assert_eq!(
            TxStatus::from_json(&json!({"inBlock": hash})),
            TxStatus::InBlock(parsed)
        );
        assert_eq!(
            TxStatus::from_json(&json!({"finalized": hash})),
            TxStatus::Finalized(parsed)
        );
        assert_eq!(TxStatus::from_json(&json!("dropped")), TxStatus::Dropped);
        assert_eq!(TxStatus::from_json(&json!("invalid")), TxStatus::Invalid);
        assert!(matches!(
            TxStatus::from_json(&json!({"what": 1})),
            TxStatus::Unknown(_)
        ));
    }

    #[test]
    fn a_custom_pool_error_is_named() {
        let error = rejection(RpcError::Rpc {
            url: "ws://x".into(),
            method: "author_submitExtrinsic".into(),
            code: 1010,
            message: "Invalid Transaction".into(),
            data: Some("Custom error: 6".into()),
        });
        assert_eq!(
            error.to_string(),
            "the node rejected the extrinsic: Invalid Transaction (Custom error: 6: RateLimitExceeded)"
        );
    }
}
