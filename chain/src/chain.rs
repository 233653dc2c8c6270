//! The chain itself: blocks with their headers, bodies, events and states; the transaction
//! pool; block production and finality; and the notices subscribers receive.
//!
//! # How a transaction travels
//! `submit` validates it against the best block's state as the pool would for the next block
//! (decode, era checkpoint, signature, nonce, the transaction extension's checks) and keeps it
//! as ready or future. Each new block re-validates and applies the ready ones in order of
//! arrival: nonce up, the call dispatched, events deposited. Watchers hear `ready`, then
//! `{"inBlock": hash}`, then `{"finalized": hash}` once the block is final, or `invalid`
//! when a later check fails (for example a runtime upgrade that changed the signed spec).
//!
//! # What is not a node's
//! State and extrinsics roots are blake2b-256 digests rather than trie roots; the only
//! inherent is `Timestamp.set` (its event reports no weight), stamped `slot_ms` apart from a
//! fixed genesis time; the digest holds only Aura's pre-runtime slot; there are no forks, so
//! nothing is ever retracted; extrinsics carry no fee.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use parity_scale_codec::{Compact, Decode, Encode};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::config::{Config, Genesis, RuntimeVersion, Start};
use crate::events::{DispatchClass, DispatchInfo, Event, EventRecord, Pays, Phase};
use crate::extrinsic::{self, Additional, Extrinsic, MultiAddress};
use crate::metadata::metadata;
use crate::rpc::error::{InvalidTransaction, RpcError, UnknownTransaction};
use crate::scale::{AccountId, H256, to_hex};
use crate::state::{BlockContext, State};
use crate::weights::{self, Call, WeightsCall};

/// Blocks whose hashes the runtime keeps for era checks (subtensor's `BlockHashCount`).
pub const BLOCK_HASH_COUNT: u32 = 2400;
/// Ready transactions the pool holds at most (a node's default `--pool-limit`).
pub const POOL_READY_LIMIT: usize = 8192;
/// Future transactions the pool holds at most (a tenth of the ready limit, as a node's);
/// beyond it the oldest future transaction is dropped.
pub const POOL_FUTURE_LIMIT: usize = POOL_READY_LIMIT / 10;

/// A block header (`sp_runtime::generic::Header<u32, BlakeTwo256>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The parent's hash.
    pub parent_hash: H256,
    /// Height.
    pub number: u32,
    /// State root.
    pub state_root: H256,
    /// Extrinsics root.
    pub extrinsics_root: H256,
    /// Digest items, each SCALE-encoded as the node lists them.
    pub logs: Vec<Vec<u8>>,
}

impl Header {
    /// SCALE: parent hash, compact number, roots, then the digest as a vector of items.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.parent_hash.encode_to(&mut out);
        Compact(self.number).encode_to(&mut out);
        self.state_root.encode_to(&mut out);
        self.extrinsics_root.encode_to(&mut out);
        Compact(self.logs.len() as u32).encode_to(&mut out);
        for log in &self.logs {
            out.extend_from_slice(log);
        }
        out
    }

    /// The block hash: blake2b-256 of the encoded header.
    pub fn hash(&self) -> H256 {
        H256::hash_of(&self.encode())
    }

    /// The header as `chain_getHeader` returns it.
    pub fn to_json(&self) -> Value {
        json!({
            "parentHash": self.parent_hash,
            "number": format!("0x{:x}", self.number),
            "stateRoot": self.state_root,
            "extrinsicsRoot": self.extrinsics_root,
            "digest": {"logs": self.logs.iter().map(to_hex).collect::<Vec<_>>()},
        })
    }

    /// A header from `chain_getHeader`'s JSON.
    pub fn from_json(value: &Value) -> Option<Self> {
        let hash = |field: &str| value.get(field)?.as_str()?.parse::<H256>().ok();
        let number = value.get("number")?.as_str()?;
        let number = u32::from_str_radix(number.strip_prefix("0x")?, 16).ok()?;
        let logs = value
            .get("digest")?
            .get("logs")?
            .as_array()?
            .iter()
            .map(|log| crate::scale::from_hex(log.as_str()?).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            parent_hash: hash("parentHash")?,
            number,
            state_root: hash("stateRoot")?,
            extrinsics_root: hash("extrinsicsRoot")?,
            logs,
        })
    }
}

/// A block and everything the double knows about it.
#[derive(Debug, Clone)]
pub struct Block {
    /// Header.
    pub header: Header,
    /// `header.hash()`, or the configured genesis hash for block 0.
    pub hash: H256,
    /// Extrinsics, each with its length prefix.
    pub extrinsics: Vec<Vec<u8>>,
    /// Events deposited while building it.
    pub events: Vec<EventRecord>,
    /// State after it; `None` once pruned.
    pub state: Option<Arc<State>>,
    /// Runtime that built it.
    pub runtime: RuntimeVersion,
    /// `Timestamp.Now`.
    pub timestamp_ms: u64,
}

/// A transaction's status as `author_extrinsicUpdate` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Waiting for an earlier nonce.
    Future,
    /// Ready for the next block.
    Ready,
    /// Included in this block.
    InBlock(H256),
    /// This block is final; the last notice.
    Finalized(H256),
    /// Refused by a later check; the last notice.
    Invalid,
    /// Pushed out of the pool; the last notice.
    Dropped,
}

impl TxStatus {
    /// The JSON a node sends: `"ready"`, `{"inBlock": "0x…"}`, ...
    pub fn to_json(&self) -> Value {
        match self {
            Self::Future => json!("future"),
            Self::Ready => json!("ready"),
            Self::InBlock(hash) => json!({"inBlock": hash}),
            Self::Finalized(hash) => json!({"finalized": hash}),
            Self::Invalid => json!("invalid"),
            Self::Dropped => json!("dropped"),
        }
    }

    /// Whether no notice follows this one.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Finalized(_) | Self::Invalid | Self::Dropped)
    }
}

/// Something subscribers hear about.
#[derive(Debug, Clone)]
pub enum Notice {
    /// A new best block's header.
    NewHead(Arc<Value>),
    /// A newly finalized block's header.
    Finalized(Arc<Value>),
    /// The best block's runtime version changed.
    RuntimeVersion(Arc<Value>),
}

/// An extrinsic the chain included, kept for the admin API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Included {
    /// Block height.
    pub block_number: u32,
    /// Block hash.
    pub block_hash: H256,
    /// Index in the block.
    pub index: u32,
    /// The extrinsic's hash.
    pub hash: H256,
    /// Signer.
    pub signer: AccountId,
    /// The nonce it used.
    pub nonce: u32,
    /// The call.
    pub call: WeightsCall,
    /// `null` on success, else the dispatch error's name.
    pub error: Option<String>,
    /// Events of this extrinsic.
    pub events: Vec<Event>,
}

/// Who is waiting to hear about a transaction.
type Watchers = Vec<mpsc::UnboundedSender<TxStatus>>;

struct PoolTx {
    hash: H256,
    bytes: Vec<u8>,
    signer: AccountId,
    nonce: u32,
    ready: bool,
    watchers: Watchers,
}

/// A transaction that passed validation.
struct Checked {
    hash: H256,
    signer: AccountId,
    nonce: u32,
    call: WeightsCall,
    future: bool,
}

struct Core {
    genesis: Block,
    blocks: Vec<Block>,
    by_hash: HashMap<H256, u32>,
    finalized: u32,
    pool: Vec<PoolTx>,
    awaiting_finality: HashMap<u32, Vec<(H256, Watchers)>>,
    next_runtime: Option<RuntimeVersion>,
    included: Vec<Included>,
    slot_ms: u64,
    genesis_time_ms: u64,
    finality_lag: u32,
    state_pruning: u32,
    /// Blocks below this height have had their state discarded already.
    pruned_below: u32,
}

/// The running chain. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct Chain {
    inner: Arc<Inner>,
}

struct Inner {
    core: Mutex<Core>,
    notices: broadcast::Sender<Notice>,
    config: Config,
}

impl std::fmt::Debug for Chain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Chain").finish_non_exhaustive()
    }
}

fn timestamp_call(now_ms: u64) -> Vec<u8> {
    let m = metadata();
    let mut call = vec![
        m.pallet_index("Timestamp")
            .expect("the runtime has Timestamp"),
        m.call_index("Timestamp", "set").expect("Timestamp has set"),
    ];
    Compact(now_ms).encode_to(&mut call);
    call
}

/// The `Timestamp.set` inherent's event, first in every block the double builds.
fn timestamp_applied() -> EventRecord {
    EventRecord {
        phase: Phase::ApplyExtrinsic(0),
        event: Event::ExtrinsicSuccess {
            dispatch_info: DispatchInfo {
                ref_time: 0,
                proof_size: 0,
                class: DispatchClass::Mandatory,
                pays_fee: Pays::Yes,
            },
        },
    }
}

fn aura_digest(slot: u64) -> Vec<u8> {
    // DigestItem::PreRuntime(*b"aura", slot.encode()), as Aura authors stamp every block.
    let mut item = vec![6u8];
    item.extend_from_slice(b"aura");
    slot.encode().encode_to(&mut item);
    item
}

fn extrinsics_root(extrinsics: &[Vec<u8>]) -> H256 {
    let mut bytes = Compact(extrinsics.len() as u32).encode();
    for xt in extrinsics {
        bytes.extend_from_slice(xt);
    }
    H256::hash_of(&bytes)
}

impl Core {
    fn best(&self) -> &Block {
        self.blocks
            .last()
            .expect("the chain always has a first block")
    }

    fn first_number(&self) -> u32 {
        self.blocks[0].header.number
    }

    fn block(&self, number: u32) -> Option<&Block> {
        if number == 0 {
            return Some(&self.genesis);
        }
        let first = self.first_number();
        number
            .checked_sub(first)
            .and_then(|i| self.blocks.get(i as usize))
    }

    fn block_by_hash(&self, hash: &H256) -> Option<&Block> {
        if *hash == self.genesis.hash {
            return Some(&self.genesis);
        }
        self.by_hash.get(hash).and_then(|n| self.block(*n))
    }

    fn timestamp(&self, number: u32) -> u64 {
        self.genesis_time_ms + u64::from(number) * self.slot_ms
    }

    /// `frame_system::BlockHash` while block `current` is built: genesis plus the
    /// `BlockHashCount` blocks before `current`, where the double knows them.
    fn runtime_block_hash(&self, number: u32, current: u32) -> Option<H256> {
        if number == 0 {
            return Some(self.genesis.hash);
        }
        if number >= current || current - number > BLOCK_HASH_COUNT + 1 {
            return None;
        }
        self.block(number).map(|b| b.hash)
    }

    /// Validates a transaction for inclusion in block `current` on top of `state`, as the
    /// runtime's `validate_transaction` would.
    fn check(
        &self,
        state: &State,
        current: u32,
        runtime: RuntimeVersion,
        bytes: &[u8],
    ) -> Result<Checked, RpcError> {
        let xt = Extrinsic::decode_bytes(bytes).map_err(RpcError::bad_format)?;
        let signed = match xt {
            Extrinsic::Signed(signed) => signed,
            Extrinsic::Unsigned { call } => {
                Call::decode(&call).map_err(RpcError::bad_format)?;
                return Err(RpcError::unknown_transaction(
                    UnknownTransaction::NoUnsignedValidator,
                ));
            }
        };
        let call = Call::decode(&signed.call).map_err(RpcError::bad_format)?;
        let MultiAddress::Id(signer) = signed.address else {
            return Err(RpcError::unknown_transaction(
                UnknownTransaction::CannotLookup,
            ));
        };
        let invalid = |reason| Err(RpcError::invalid_transaction(reason));
        let birth = signed.extra.era.birth(u64::from(current));
        let Some(checkpoint) = u32::try_from(birth)
            .ok()
            .and_then(|birth| self.runtime_block_hash(birth, current))
        else {
            return invalid(InvalidTransaction::AncientBirthBlock);
        };
        let additional = Additional {
            spec_version: runtime.spec_version,
            transaction_version: runtime.transaction_version,
            genesis_hash: self.genesis.hash,
            checkpoint,
            // The double's runtime carries no metadata hash, like one built without it.
            metadata_hash: None,
        };
        if !extrinsic::verify(
            &signer,
            &signed.signature,
            &signed.call,
            &signed.extra,
            &additional,
        ) {
            return invalid(InvalidTransaction::BadProof);
        }
        if signer.0 == [0; 32] {
            return invalid(InvalidTransaction::BadSigner);
        }
        let account_nonce = state.nonce(&signer);
        if signed.extra.nonce < account_nonce {
            return invalid(InvalidTransaction::Stale);
        }
        let call = match call {
            Call::Weights(call) => call,
            Call::Unmodelled { pallet, call } => {
                tracing::warn!(
                    call.pallet = %pallet,
                    call.name = %call,
                    "pulse-chain models only SubtensorModule's weights calls; refusing"
                );
                return invalid(InvalidTransaction::Call);
            }
        };
        weights::validate(state, &signer, &call, u64::from(current))
            .map_err(RpcError::invalid_transaction)?;
        Ok(Checked {
            hash: extrinsic::hash(bytes),
            signer,
            nonce: signed.extra.nonce,
            call,
            future: signed.extra.nonce > account_nonce,
        })
    }

    fn best_state(&self) -> Arc<State> {
        self.best()
            .state
            .clone()
            .expect("the best block's state is never pruned")
    }
}

/// Why an admin change to the chain was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The state file does not describe a valid state.
    #[error(transparent)]
    State(#[from] crate::state::StateFileError),
}

impl Chain {
    /// Builds the chain's first block from `config` (nothing runs until [`Chain::run`] or
    /// [`Chain::produce_blocks`]).
    pub fn new(config: Config) -> Result<Self, ChainError> {
        let first_number = match &config.start {
            Start::Genesis => 0,
            Start::Height(n) => *n,
            Start::Header(header) => header.number,
        };
        let state = Arc::new(config.state.build(u64::from(first_number))?);
        let runtime = config.runtime;
        let timestamp = |n: u32| config.genesis_time_ms + u64::from(n) * config.slot_ms;
        let genesis_header = Header {
            parent_hash: H256::default(),
            number: 0,
            state_root: if first_number == 0 {
                state.root()
            } else {
                H256::default()
            },
            extrinsics_root: extrinsics_root(&[]),
            logs: Vec::new(),
        };
        let genesis_hash = match config.genesis {
            Genesis::Local => genesis_header.hash(),
            Genesis::Hash(hash) => hash,
        };
        let genesis = Block {
            hash: genesis_hash,
            header: genesis_header,
            extrinsics: Vec::new(),
            events: Vec::new(),
            state: (first_number == 0).then(|| state.clone()),
            runtime,
            timestamp_ms: timestamp(0),
        };
        let first = match &config.start {
            Start::Genesis => genesis.clone(),
            Start::Height(number) => {
                let now = timestamp(*number);
                let extrinsics = vec![extrinsic::unsigned(&timestamp_call(now))];
                let header = Header {
                    parent_hash: genesis_hash,
                    number: *number,
                    state_root: state.root(),
                    extrinsics_root: extrinsics_root(&extrinsics),
                    logs: vec![aura_digest(now / config.slot_ms)],
                };
                Block {
                    hash: header.hash(),
                    header,
                    extrinsics,
                    events: vec![timestamp_applied()],
                    state: Some(state.clone()),
                    runtime,
                    timestamp_ms: now,
                }
            }
            Start::Header(header) => Block {
                hash: header.hash(),
                header: header.clone(),
                // The recorded block's body is not known; its header is.
                extrinsics: Vec::new(),
                events: Vec::new(),
                state: Some(state.clone()),
                runtime,
                timestamp_ms: timestamp(header.number),
            },
        };
        let mut by_hash = HashMap::new();
        by_hash.insert(first.hash, first.header.number);
        let core = Core {
            genesis,
            by_hash,
            finalized: first.header.number,
            blocks: vec![first],
            pool: Vec::new(),
            awaiting_finality: HashMap::new(),
            next_runtime: None,
            included: Vec::new(),
            slot_ms: config.slot_ms,
            genesis_time_ms: config.genesis_time_ms,
            finality_lag: config.finality_lag,
            state_pruning: config.state_pruning,
            pruned_below: 0,
        };
        let (notices, _) = broadcast::channel(1024);
        Ok(Self {
            inner: Arc::new(Inner {
                core: Mutex::new(core),
                notices,
                config,
            }),
        })
    }

    fn core(&self) -> MutexGuard<'_, Core> {
        // Every change under the lock is completed before it is released or is made on a copy
        // first, so a panic elsewhere cannot leave a half-built block behind.
        self.inner
            .core
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Notices of new heads, finality and runtime changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Notice> {
        self.inner.notices.subscribe()
    }

    /// Produces a block every `block_time` until the task is dropped; with no block time it
    /// waits forever (blocks come from [`Chain::produce_blocks`]).
    pub async fn run(self) {
        let Some(block_time) = self.inner.config.block_time else {
            return std::future::pending().await;
        };
        let mut ticks = tokio::time::interval(block_time);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            self.produce_blocks(1);
        }
    }

    /// Genesis hash.
    pub fn genesis_hash(&self) -> H256 {
        self.core().genesis.hash
    }

    /// Best block's header.
    pub fn best_header(&self) -> Header {
        self.core().best().header.clone()
    }

    /// Best block's hash.
    pub fn best_hash(&self) -> H256 {
        self.core().best().hash
    }

    /// Finalized block's height and hash.
    pub fn finalized(&self) -> (u32, H256) {
        let core = self.core();
        let number = core.finalized;
        (
            number,
            core.block(number).map(|b| b.hash).unwrap_or_default(),
        )
    }

    /// A header by hash (best when `None`).
    pub fn header(&self, at: Option<H256>) -> Option<Header> {
        let core = self.core();
        match at {
            None => Some(core.best().header.clone()),
            Some(hash) => core.block_by_hash(&hash).map(|b| b.header.clone()),
        }
    }

    /// A whole block by hash (best when `None`): header and extrinsics.
    pub fn block(&self, at: Option<H256>) -> Option<(Header, Vec<Vec<u8>>)> {
        let core = self.core();
        let block = match at {
            None => core.best(),
            Some(hash) => core.block_by_hash(&hash)?,
        };
        Some((block.header.clone(), block.extrinsics.clone()))
    }

    /// The hash of the block at `number` on the chain (best when `None`).
    pub fn block_hash(&self, number: Option<u64>) -> Option<H256> {
        let core = self.core();
        match number {
            None => Some(core.best().hash),
            Some(n) => u32::try_from(n)
                .ok()
                .and_then(|n| core.block(n))
                .map(|b| b.hash),
        }
    }

    /// Runtime version of a block (best when `None`).
    pub fn runtime_version(&self, at: Option<H256>) -> Result<RuntimeVersion, RpcError> {
        let core = self.core();
        let block = match at {
            None => core.best(),
            Some(hash) => core
                .block_by_hash(&hash)
                .ok_or_else(|| unknown_block(&hash))?,
        };
        Ok(block.runtime)
    }

    /// Runs `read` on the state and context of a block (best when `None`).
    pub fn with_state<T>(
        &self,
        at: Option<H256>,
        read: impl FnOnce(&State, &BlockContext<'_>, RuntimeVersion) -> T,
    ) -> Result<T, RpcError> {
        let core = self.core();
        let block = match at {
            None => core.best(),
            Some(hash) => core
                .block_by_hash(&hash)
                .ok_or_else(|| unknown_block(&hash))?,
        };
        let Some(state) = block.state.clone() else {
            return Err(RpcError::state_client(format!(
                "State already discarded for {}",
                block.hash
            )));
        };
        let number = block.header.number;
        let block_hash = |n: u32| core.runtime_block_hash(n, number);
        let ctx = BlockContext {
            number,
            parent_hash: block.header.parent_hash,
            timestamp_ms: block.timestamp_ms,
            events: &block.events,
            block_hash: &block_hash,
        };
        Ok(read(&state, &ctx, block.runtime))
    }

    /// The next nonce for `who`: the best state's, past any of its transactions waiting in
    /// the pool with consecutive nonces (`system_accountNextIndex`).
    pub fn account_next_index(&self, who: &AccountId) -> u32 {
        let core = self.core();
        let mut next = core.best_state().nonce(who);
        loop {
            let pending = core
                .pool
                .iter()
                .any(|tx| &tx.signer == who && tx.nonce == next);
            if !pending {
                return next;
            }
            next += 1;
        }
    }

    /// Submits an extrinsic to the pool. With `watcher`, its statuses follow there, starting
    /// with `ready` or `future`. Errors are the node's (1001, 1010, 1011, 1013, 1014).
    pub fn submit(
        &self,
        bytes: Vec<u8>,
        watcher: Option<mpsc::UnboundedSender<TxStatus>>,
    ) -> Result<H256, RpcError> {
        let mut core = self.core();
        let state = core.best_state();
        let best = core.best();
        let current = best.header.number + 1;
        let runtime = best.runtime;
        let checked = core.check(&state, current, runtime, &bytes)?;
        if core.pool.iter().any(|tx| tx.hash == checked.hash) {
            return Err(RpcError::already_imported(&checked.hash));
        }
        if core
            .pool
            .iter()
            .any(|tx| tx.signer == checked.signer && tx.nonce == checked.nonce)
        {
            return Err(RpcError::too_low_priority());
        }
        let ready = core.pool.iter().filter(|tx| tx.ready).count();
        if !checked.future && ready >= POOL_READY_LIMIT {
            return Err(RpcError::immediately_dropped());
        }
        if checked.future {
            let future: Vec<usize> = (0..core.pool.len())
                .filter(|i| !core.pool[*i].ready)
                .collect();
            if future.len() >= POOL_FUTURE_LIMIT {
                let mut oldest = core.pool.remove(future[0]);
                tracing::info!(tx.hash = %oldest.hash, "future extrinsic dropped: the pool is full");
                notify(&mut oldest.watchers, &TxStatus::Dropped);
            }
        }
        let status = if checked.future {
            TxStatus::Future
        } else {
            TxStatus::Ready
        };
        let mut watchers = Vec::new();
        if let Some(watcher) = watcher
            && watcher.send(status).is_ok()
        {
            watchers.push(watcher);
        }
        tracing::info!(
            tx.hash = %checked.hash,
            tx.signer = %checked.signer,
            tx.nonce = checked.nonce,
            tx.call = %checked.call.name,
            tx.future = checked.future,
            "extrinsic accepted into the pool"
        );
        core.pool.push(PoolTx {
            hash: checked.hash,
            bytes,
            signer: checked.signer,
            nonce: checked.nonce,
            ready: !checked.future,
            watchers,
        });
        Ok(checked.hash)
    }

    /// Makes `count` blocks now; returns the new best height.
    pub fn produce_blocks(&self, count: u32) -> u32 {
        let mut notices = Vec::new();
        let number = {
            let mut core = self.core();
            for _ in 0..count {
                produce(&mut core, &mut notices);
            }
            core.best().header.number
        };
        for notice in notices {
            // Nobody listening is fine: notices are for subscribers only.
            let _ = self.inner.notices.send(notice);
        }
        number
    }

    /// Changes the runtime version from the next block on, as a runtime upgrade does.
    pub fn schedule_runtime(&self, runtime: RuntimeVersion) {
        self.core().next_runtime = Some(runtime);
    }

    /// Changes the best block's state in place (admin changes: they apply at once and to every
    /// later block; earlier blocks keep theirs). Returns what `change` returns.
    pub fn change_state<T>(&self, change: impl FnOnce(&mut State) -> T) -> T {
        let mut core = self.core();
        let best = core.blocks.last_mut().expect("the chain has a first block");
        let state = best.state.as_mut().expect("the best state is never pruned");
        change(Arc::make_mut(state))
    }

    /// Extrinsics included so far, oldest first.
    pub fn included(&self) -> Vec<Included> {
        self.core().included.clone()
    }

    /// Extrinsics waiting in the pool, as `author_pendingExtrinsics` lists them.
    pub fn pending_extrinsics(&self) -> Vec<String> {
        self.core()
            .pool
            .iter()
            .map(|tx| to_hex(&tx.bytes))
            .collect()
    }

    /// Transactions waiting in the pool: `(hash, signer, nonce, ready)`.
    pub fn pool(&self) -> Vec<(H256, AccountId, u32, bool)> {
        self.core()
            .pool
            .iter()
            .map(|tx| (tx.hash, tx.signer, tx.nonce, tx.ready))
            .collect()
    }
}

fn unknown_block(hash: &H256) -> RpcError {
    RpcError::state_client(format!(
        "UnknownBlock: Header was not found in the database: {hash}"
    ))
}

fn notify(watchers: &mut Watchers, status: &TxStatus) {
    watchers.retain(|w| w.send(status.clone()).is_ok());
}

/// Builds the next block on top of the best one.
fn produce(core: &mut Core, notices: &mut Vec<Notice>) {
    let parent = core.best();
    let parent_hash = parent.hash;
    let parent_runtime = parent.runtime;
    let number = parent.header.number + 1;
    let mut state = State::clone(&core.best_state());
    let runtime = core.next_runtime.take().unwrap_or(parent_runtime);
    let now = core.timestamp(number);
    let mut extrinsics = vec![extrinsic::unsigned(&timestamp_call(now))];
    let mut events = vec![timestamp_applied()];
    let mut included_here: Vec<(H256, Watchers)> = Vec::new();
    let mut records = Vec::new();
    // Apply ready transactions in order of arrival until a pass includes nothing new: a
    // transaction whose nonce becomes current within the block goes in on the next pass.
    let mut pool = std::mem::take(&mut core.pool);
    loop {
        let mut progressed = false;
        let mut kept = Vec::with_capacity(pool.len());
        for mut tx in pool {
            if tx.nonce != state.nonce(&tx.signer) {
                kept.push(tx);
                continue;
            }
            let checked = match core.check(&state, number, runtime, &tx.bytes) {
                Ok(checked) => checked,
                Err(err) => {
                    tracing::info!(tx.hash = %tx.hash, error = ?err.data, "extrinsic dropped as invalid");
                    notify(&mut tx.watchers, &TxStatus::Invalid);
                    continue;
                }
            };
            progressed = true;
            let index = extrinsics.len() as u32;
            state.accounts.entry(checked.signer).or_default().nonce += 1;
            let info = DispatchInfo {
                ref_time: checked.call.weight(),
                proof_size: 0,
                class: DispatchClass::Normal,
                pays_fee: Pays::No,
            };
            let result = weights::dispatch(
                &mut state,
                &checked.signer,
                &checked.call,
                u64::from(number),
            );
            let mut xt_events = Vec::new();
            let error = match result {
                Ok(pallet_events) => {
                    xt_events.extend(pallet_events);
                    xt_events.push(Event::TransactionFeePaid {
                        who: checked.signer,
                        actual_fee: 0,
                        tip: 0,
                    });
                    xt_events.push(Event::ExtrinsicSuccess {
                        dispatch_info: info,
                    });
                    None
                }
                Err(dispatch_error) => {
                    let name = dispatch_error.name().to_owned();
                    xt_events.push(Event::TransactionFeePaid {
                        who: checked.signer,
                        actual_fee: 0,
                        tip: 0,
                    });
                    xt_events.push(Event::ExtrinsicFailed {
                        dispatch_error,
                        dispatch_info: info,
                    });
                    Some(name)
                }
            };
            tracing::info!(
                block = number,
                tx.hash = %checked.hash,
                tx.call = %checked.call.name,
                tx.error = error.as_deref().unwrap_or("none"),
                "extrinsic included"
            );
            events.extend(xt_events.iter().map(|event| EventRecord {
                phase: Phase::ApplyExtrinsic(index),
                event: event.clone(),
            }));
            records.push(Included {
                block_number: number,
                block_hash: H256::default(),
                index,
                hash: checked.hash,
                signer: checked.signer,
                nonce: checked.nonce,
                call: checked.call,
                error,
                events: xt_events,
            });
            extrinsics.push(tx.bytes);
            included_here.push((tx.hash, tx.watchers));
        }
        pool = kept;
        if !progressed {
            break;
        }
    }
    let header = Header {
        parent_hash,
        number,
        state_root: state.root(),
        extrinsics_root: extrinsics_root(&extrinsics),
        logs: vec![aura_digest(now / core.slot_ms)],
    };
    let hash = header.hash();
    for record in &mut records {
        record.block_hash = hash;
    }
    core.included.extend(records);
    let header_json = Arc::new(header.to_json());
    core.by_hash.insert(hash, number);
    core.blocks.push(Block {
        header,
        hash,
        extrinsics,
        events,
        state: Some(Arc::new(state)),
        runtime,
        timestamp_ms: now,
    });
    tracing::debug!(block = number, %hash, "block produced");
    notices.push(Notice::NewHead(header_json));
    if runtime != parent_runtime {
        tracing::info!(
            spec_version = runtime.spec_version,
            transaction_version = runtime.transaction_version,
            "runtime upgraded"
        );
        notices.push(Notice::RuntimeVersion(Arc::new(runtime_version_json(
            runtime,
        ))));
    }
    for (tx_hash, mut watchers) in included_here {
        notify(&mut watchers, &TxStatus::InBlock(hash));
        core.awaiting_finality
            .entry(number)
            .or_default()
            .push((tx_hash, watchers));
    }
    // What stays in the pool is checked again against the new best state.
    let best_state = core.best_state();
    let mut kept = Vec::with_capacity(pool.len());
    for mut tx in pool {
        match core.check(&best_state, number + 1, runtime, &tx.bytes) {
            Ok(checked) => {
                if tx.ready == checked.future {
                    tx.ready = !checked.future;
                    let status = if tx.ready {
                        TxStatus::Ready
                    } else {
                        TxStatus::Future
                    };
                    notify(&mut tx.watchers, &status);
                }
                kept.push(tx);
            }
            Err(err) => {
                tracing::info!(tx.hash = %tx.hash, error = ?err.data, "extrinsic dropped from the pool as invalid");
                notify(&mut tx.watchers, &TxStatus::Invalid);
            }
        }
    }
    core.pool = kept;
    finalize(core, notices);
}

fn finalize(core: &mut Core, notices: &mut Vec<Notice>) {
    let best = core.best().header.number;
    let target = best
        .saturating_sub(core.finality_lag)
        .max(core.first_number());
    while core.finalized < target {
        core.finalized += 1;
        let number = core.finalized;
        let Some(block) = core.block(number) else {
            continue;
        };
        let hash = block.hash;
        notices.push(Notice::Finalized(Arc::new(block.header.to_json())));
        for (_, mut watchers) in core.awaiting_finality.remove(&number).unwrap_or_default() {
            notify(&mut watchers, &TxStatus::Finalized(hash));
        }
    }
    // A pruning node keeps the states of the blocks close to finality only.
    let prune_below = core.finalized.saturating_sub(core.state_pruning);
    if prune_below > core.pruned_below {
        let first = core.first_number();
        for number in core.pruned_below.max(first)..prune_below {
            if let Some(block) = core.blocks.get_mut((number - first) as usize) {
                block.state = None;
            }
        }
        core.genesis.state = None;
        core.pruned_below = prune_below;
    }
}

/// `state_getRuntimeVersion`'s answer: the recorded spec-343 answer with this version's
/// numbers.
pub fn runtime_version_json(runtime: RuntimeVersion) -> Value {
    let recorded: Value = serde_json::from_str(crate::config::FINNEY_RUNTIME_VERSION_343)
        .expect("the embedded runtime version is JSON");
    let mut result = recorded["result"].clone();
    result["specVersion"] = json!(runtime.spec_version);
    result["transactionVersion"] = json!(runtime.transaction_version);
    result
}

/// `Core_version`'s SCALE answer for this version (`sp_version::RuntimeVersion`).
pub fn runtime_version_scale(runtime: RuntimeVersion) -> Vec<u8> {
    let json = runtime_version_json(runtime);
    let mut out = Vec::new();
    json["specName"]
        .as_str()
        .unwrap_or_default()
        .encode_to(&mut out);
    json["implName"]
        .as_str()
        .unwrap_or_default()
        .encode_to(&mut out);
    (json["authoringVersion"].as_u64().unwrap_or(1) as u32).encode_to(&mut out);
    runtime.spec_version.encode_to(&mut out);
    (json["implVersion"].as_u64().unwrap_or(1) as u32).encode_to(&mut out);
    let apis: Vec<([u8; 8], u32)> = json["apis"]
        .as_array()
        .map(|apis| {
            apis.iter()
                .filter_map(|api| {
                    let id = crate::scale::from_hex(api[0].as_str()?).ok()?;
                    Some((id.try_into().ok()?, api[1].as_u64()? as u32))
                })
                .collect()
        })
        .unwrap_or_default();
    apis.encode_to(&mut out);
    runtime.transaction_version.encode_to(&mut out);
    (json["systemVersion"].as_u64().unwrap_or(1) as u8).encode_to(&mut out);
    out
}

/// Decodes a `state_call` argument fully, or says why as the runtime would.
pub fn decode_args<T: Decode>(function: &str, mut bytes: &[u8]) -> Result<T, RpcError> {
    let value = T::decode(&mut bytes).map_err(|err| {
        RpcError::state_client(format!(
            "Execution failed: Runtime panicked: Bad input data provided to {function}: {err}"
        ))
    })?;
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_recorded_finney_header_hashes_to_the_recorded_block_hash() {
        let header = crate::config::finney_header();
        assert_eq!(
            header.hash().to_string(),
            "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0"
        );
        assert_eq!(
            header.to_json(),
            serde_json::from_str::<Value>(crate::config::FINNEY_HEADER_6852690).unwrap()["header"]
        );
    }

    #[test]
    fn blocks_chain_by_hash_and_finality_trails_by_the_lag() {
        let chain = Chain::new(Config::manual()).unwrap();
        let genesis = chain.genesis_hash();
        assert_eq!(chain.block_hash(Some(0)), Some(genesis));
        assert_eq!(chain.produce_blocks(5), 5);
        let head = chain.best_header();
        assert_eq!(head.number, 5);
        let parent = chain.header(Some(head.parent_hash)).unwrap();
        assert_eq!(parent.number, 4);
        assert_eq!(chain.finalized().0, 3);
        assert_eq!(chain.block_hash(Some(6)), None);
    }

    #[test]
    fn two_chains_from_the_same_config_make_the_same_hashes() {
        let a = Chain::new(Config::manual()).unwrap();
        let b = Chain::new(Config::manual()).unwrap();
        a.produce_blocks(3);
        b.produce_blocks(3);
        assert_eq!(a.best_hash(), b.best_hash());
    }

    #[test]
    fn a_chain_can_start_at_a_height_with_unknown_history() {
        let config = Config {
            start: Start::Height(1000),
            ..Config::manual()
        };
        let chain = Chain::new(config).unwrap();
        assert_eq!(chain.best_header().number, 1000);
        assert_eq!(chain.best_header().parent_hash, chain.genesis_hash());
        assert_eq!(chain.block_hash(Some(999)), None);
        chain.produce_blocks(1);
        assert_eq!(chain.best_header().number, 1001);
    }

    #[test]
    fn old_states_are_discarded_behind_finality() {
        let config = Config {
            state_pruning: 2,
            finality_lag: 0,
            ..Config::manual()
        };
        let chain = Chain::new(config).unwrap();
        chain.produce_blocks(5);
        let old = chain.block_hash(Some(1));
        let err = chain.with_state(old, |_, _, _| ()).unwrap_err();
        assert_eq!(err.code, 4003);
        assert!(
            chain
                .with_state(chain.block_hash(Some(4)), |_, _, _| ())
                .is_ok()
        );
    }

    #[test]
    fn the_runtime_version_scale_form_decodes_back() {
        let bytes = runtime_version_scale(RuntimeVersion::default());
        let mut input = &bytes[..];
        assert_eq!(String::decode(&mut input).unwrap(), "node-subtensor");
    }
}
