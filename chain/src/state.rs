//! The chain state one block sees: accounts, subnets and two runtime-wide weights settings;
//! the state file that seeds it; and the storage items `state_getStorage` reads from it.
//!
//! Every block keeps its own [`State`]. Subnets sit behind `Arc`s, so a block that changes
//! one subnet copies only that one.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use parity_scale_codec::{Compact, Encode};
use serde::{Deserialize, Serialize};

use crate::events::EventRecord;
use crate::metadata::{Hasher, metadata, split_key, storage_key};
use crate::metagraph::{
    DEFAULT_MAX_ALLOWED_UIDS, Hyperparameters, MAX_SUBNETS, MetagraphError, NeuronSpec, Subnet,
};
use crate::scale::{AccountId, H256};
use crate::weights::DEFAULT_COMMIT_REVEAL_VERSION;

/// An account's nonce and balance (the parts of `AccountInfo` the double tracks).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Account {
    /// Transactions sent so far.
    pub nonce: u32,
    /// Free balance in rao.
    pub free: u64,
}

/// The state of the chain after a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct State {
    /// Subnets by netuid.
    pub subnets: BTreeMap<u16, Arc<Subnet>>,
    /// Accounts with a nonce or a balance.
    pub accounts: BTreeMap<AccountId, Account>,
    /// `StakeThreshold`: the stake in rao a hotkey needs to set weights.
    pub stake_threshold: u64,
    /// `CommitRevealWeightsVersion`: the version timelocked commits must carry.
    pub commit_reveal_version: u16,
}

impl Default for State {
    fn default() -> Self {
        Self {
            subnets: BTreeMap::new(),
            accounts: BTreeMap::new(),
            stake_threshold: 0,
            commit_reveal_version: DEFAULT_COMMIT_REVEAL_VERSION,
        }
    }
}

/// An account line of the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    /// SS58 address or `0x` public key.
    pub address: AccountId,
    /// Its nonce.
    #[serde(default)]
    pub nonce: u32,
    /// Its free balance in rao.
    #[serde(default)]
    pub free: u64,
}

/// A subnet of the state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetSpec {
    /// The netuid.
    pub netuid: u16,
    /// Hyperparameters; missing fields take their defaults.
    #[serde(default)]
    pub hyperparameters: Hyperparameters,
    /// Most uids; beyond, registration replaces (default 256).
    #[serde(default = "default_max_allowed_uids")]
    pub max_allowed_uids: u16,
    /// Mechanisms (default 1).
    #[serde(default = "default_mechanism_count")]
    pub mechanism_count: u8,
    /// Neurons by uid.
    #[serde(default)]
    pub neurons: Vec<NeuronSpec>,
    /// A JSON file holding an array of neuron lines, appended after `neurons` (relative paths
    /// start at the state file's folder). The SDK's decoded `get_neurons_lite` file loads as
    /// it is.
    #[serde(default)]
    pub neurons_file: Option<std::path::PathBuf>,
}

fn default_max_allowed_uids() -> u16 {
    DEFAULT_MAX_ALLOWED_UIDS
}

fn default_mechanism_count() -> u8 {
    1
}

/// The state file (`--state`): what the chain holds at its first block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StateFile {
    /// Stake in rao a hotkey needs to set weights (default: `--stake-threshold`, else 0).
    #[serde(default)]
    pub stake_threshold: Option<u64>,
    /// The version timelocked commits must carry (default 4).
    #[serde(default)]
    pub commit_reveal_version: Option<u16>,
    /// Accounts with a nonce or balance.
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    /// Subnets.
    #[serde(default)]
    pub subnets: Vec<SubnetSpec>,
}

/// Why a state file was refused.
#[derive(Debug, thiserror::Error)]
pub enum StateFileError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid JSON of the expected shape.
    #[error("{path} is not a valid state file: {source}")]
    Json {
        /// The file.
        path: String,
        /// Why.
        source: serde_json::Error,
    },
    /// A netuid appears twice.
    #[error("netuid {0} is listed twice")]
    DuplicateSubnet(u16),
    /// A netuid the runtime cannot address.
    #[error("netuid {0} is out of range (at most {max})", max = MAX_SUBNETS - 1)]
    NetuidOutOfRange(u16),
    /// A neuron line does not fit.
    #[error("netuid {netuid}: {source}")]
    Neuron {
        /// The subnet.
        netuid: u16,
        /// Why.
        source: MetagraphError,
    },
}

impl StateFile {
    /// Reads a state file; `neurons_file` paths resolve against its folder.
    pub fn load(path: &Path) -> Result<Self, StateFileError> {
        Self::load_with_defaults(path, &Hyperparameters::default())
    }

    /// Reads a state file whose subnets' hyperparameters default to `defaults` field by field.
    pub fn load_with_defaults(
        path: &Path,
        defaults: &Hyperparameters,
    ) -> Result<Self, StateFileError> {
        let json_error = |source| StateFileError::Json {
            path: path.display().to_string(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(|source| StateFileError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut value: serde_json::Value = serde_json::from_str(&text).map_err(json_error)?;
        if let Some(subnets) = value.get_mut("subnets").and_then(|s| s.as_array_mut()) {
            for subnet in subnets {
                let Some(object) = subnet.as_object_mut() else {
                    continue;
                };
                let mut merged = serde_json::to_value(defaults).map_err(json_error)?;
                if let (Some(base), Some(given)) = (
                    merged.as_object_mut(),
                    object.get("hyperparameters").and_then(|h| h.as_object()),
                ) {
                    for (name, field) in given {
                        base.insert(name.clone(), field.clone());
                    }
                }
                object.insert("hyperparameters".to_owned(), merged);
            }
        }
        let mut file: Self = serde_json::from_value(value).map_err(json_error)?;
        let base = path.parent().unwrap_or(Path::new("."));
        for subnet in &mut file.subnets {
            if let Some(neurons_file) = subnet.neurons_file.take() {
                let neurons_path = base.join(neurons_file);
                let text = std::fs::read_to_string(&neurons_path).map_err(|source| {
                    StateFileError::Read {
                        path: neurons_path.display().to_string(),
                        source,
                    }
                })?;
                let neurons: Vec<NeuronSpec> =
                    serde_json::from_str(&text).map_err(|source| StateFileError::Json {
                        path: neurons_path.display().to_string(),
                        source,
                    })?;
                subnet.neurons.extend(neurons);
            }
        }
        Ok(file)
    }

    /// The state these lines describe, with neurons registered at block `first_block`
    /// unless a line says otherwise.
    pub fn build(&self, first_block: u64) -> Result<State, StateFileError> {
        let mut state = State {
            stake_threshold: self.stake_threshold.unwrap_or(0),
            commit_reveal_version: self
                .commit_reveal_version
                .unwrap_or(DEFAULT_COMMIT_REVEAL_VERSION),
            ..State::default()
        };
        for account in &self.accounts {
            state.accounts.insert(
                account.address,
                Account {
                    nonce: account.nonce,
                    free: account.free,
                },
            );
        }
        for spec in &self.subnets {
            if spec.netuid >= MAX_SUBNETS {
                return Err(StateFileError::NetuidOutOfRange(spec.netuid));
            }
            if state.subnets.contains_key(&spec.netuid) {
                return Err(StateFileError::DuplicateSubnet(spec.netuid));
            }
            let neuron_error = |source| StateFileError::Neuron {
                netuid: spec.netuid,
                source,
            };
            let mut subnet = Subnet::new(
                spec.netuid,
                spec.hyperparameters.clone(),
                spec.max_allowed_uids,
            );
            subnet
                .set_mechanism_count(spec.mechanism_count)
                .map_err(neuron_error)?;
            for neuron in &spec.neurons {
                subnet
                    .push_loaded(neuron, first_block)
                    .map_err(neuron_error)?;
            }
            state.subnets.insert(spec.netuid, Arc::new(subnet));
        }
        Ok(state)
    }
}

impl State {
    /// The account's nonce (0 for an unknown account).
    pub fn nonce(&self, who: &AccountId) -> u32 {
        self.accounts.get(who).map_or(0, |a| a.nonce)
    }

    /// A subnet to change: copied out of its `Arc` if another block shares it.
    pub fn subnet_mut(&mut self, netuid: u16) -> Option<&mut Subnet> {
        self.subnets.get_mut(&netuid).map(Arc::make_mut)
    }

    /// A digest of everything in the state, for the block header's state root (the double
    /// has no trie; the root still changes exactly when the state does).
    pub fn root(&self) -> H256 {
        let mut bytes = Vec::new();
        self.stake_threshold.encode_to(&mut bytes);
        self.commit_reveal_version.encode_to(&mut bytes);
        for (who, account) in &self.accounts {
            who.encode_to(&mut bytes);
            account.nonce.encode_to(&mut bytes);
            account.free.encode_to(&mut bytes);
        }
        for (netuid, subnet) in &self.subnets {
            netuid.encode_to(&mut bytes);
            subnet.hyperparameters.encode_to(&mut bytes);
            subnet.max_allowed_uids.encode_to(&mut bytes);
            bytes.extend_from_slice(&subnet.encode_neurons_lite());
            for mechanism in &subnet.mechanisms {
                mechanism.last_update.encode_to(&mut bytes);
                for (uid, entry) in &mechanism.weights {
                    uid.encode_to(&mut bytes);
                    entry.weights.encode_to(&mut bytes);
                }
                for (who, queue) in &mechanism.commits {
                    who.encode_to(&mut bytes);
                    for commit in queue {
                        commit.encode_to(&mut bytes);
                    }
                }
                for (epoch, commits) in &mechanism.timelocked {
                    epoch.encode_to(&mut bytes);
                    for commit in commits {
                        commit.who.encode_to(&mut bytes);
                        commit.commit.encode_to(&mut bytes);
                    }
                }
            }
        }
        H256::hash_of(&bytes)
    }
}

/// What a storage read needs to know about its block beyond the state.
pub struct BlockContext<'a> {
    /// Block number.
    pub number: u32,
    /// Parent's hash.
    pub parent_hash: H256,
    /// `Timestamp.Now` in milliseconds.
    pub timestamp_ms: u64,
    /// The block's events.
    pub events: &'a [EventRecord],
    /// Hashes the runtime's `BlockHash` map holds at this block.
    pub block_hash: &'a dyn Fn(u32) -> Option<H256>,
}

/// `AccountInfo` for an account: nonce, no references, and its free balance with the
/// "new logic" flag balances set on every account.
fn account_info(account: &Account) -> Vec<u8> {
    let mut out = Vec::new();
    account.nonce.encode_to(&mut out);
    0u32.encode_to(&mut out);
    u32::from(account.free > 0).encode_to(&mut out);
    0u32.encode_to(&mut out);
    account.free.encode_to(&mut out);
    0u64.encode_to(&mut out);
    0u64.encode_to(&mut out);
    (1u128 << 127).encode_to(&mut out);
    out
}

/// The value under `key` at a block, as `state_getStorage` answers it: `None` where nothing is
/// stored, including items the double does not model and values equal to their declared
/// default (which a node also answers as absent).
pub fn read(state: &State, ctx: &BlockContext<'_>, key: &[u8]) -> Option<Vec<u8>> {
    let item = metadata().storage_item(key)?;
    let value = read_item(state, ctx, item, key)?;
    if item.value_query && value == item.default {
        return None;
    }
    Some(value)
}

fn u16_key(part: &[u8]) -> u16 {
    u16::from_le_bytes([part[0], part[1]])
}

fn read_item(
    state: &State,
    ctx: &BlockContext<'_>,
    item: &crate::metadata::StorageItem,
    key: &[u8],
) -> Option<Vec<u8>> {
    let plain = || (key.len() == 32).then_some(());
    let by_netuid = |lens: &[usize]| split_key(item, key, lens);
    match (item.pallet.as_str(), item.name.as_str()) {
        ("System", "Events") => {
            plain()?;
            Some(ctx.events.to_vec().encode())
        }
        ("System", "Number") => {
            plain()?;
            Some(ctx.number.encode())
        }
        ("System", "ParentHash") => {
            plain()?;
            Some(ctx.parent_hash.encode())
        }
        ("System", "EventCount") => {
            plain()?;
            Some((ctx.events.len() as u32).encode())
        }
        ("System", "BlockHash") => {
            let parts = by_netuid(&[4])?;
            let number = u32::from_le_bytes(parts[0].try_into().ok()?);
            (ctx.block_hash)(number).map(|h| h.encode())
        }
        ("System", "Account") => {
            let parts = by_netuid(&[32])?;
            let who = AccountId(parts[0].try_into().ok()?);
            state.accounts.get(&who).map(account_info)
        }
        ("Timestamp", "Now") => {
            plain()?;
            Some(ctx.timestamp_ms.encode())
        }
        ("SubtensorModule", "StakeThreshold") => {
            plain()?;
            Some(state.stake_threshold.encode())
        }
        ("SubtensorModule", "CommitRevealWeightsVersion") => {
            plain()?;
            Some(state.commit_reveal_version.encode())
        }
        ("SubtensorModule", "Owner") => {
            let parts = by_netuid(&[32])?;
            let hotkey = AccountId(parts[0].try_into().ok()?);
            state.subnets.values().find_map(|subnet| {
                subnet
                    .uid_of(&hotkey)
                    .map(|uid| subnet.neurons[usize::from(uid)].coldkey.encode())
            })
        }
        ("SubtensorModule", name) => read_subtensor(state, item, key, name),
        _ => None,
    }
}

fn read_subtensor(
    state: &State,
    item: &crate::metadata::StorageItem,
    key: &[u8],
    name: &str,
) -> Option<Vec<u8>> {
    // Items keyed by netuid alone.
    if item.hashers.len() == 1 && key.len() == 32 + hasher_len(item.hashers[0]) + 2 {
        let netuid_or_index = u16_key(split_key(item, key, &[2])?[0]);
        let index_items = ["LastUpdate"];
        if index_items.contains(&name) {
            let netuid = netuid_or_index % MAX_SUBNETS;
            let mecid = usize::from(netuid_or_index / MAX_SUBNETS);
            let subnet = state.subnets.get(&netuid)?;
            return subnet.mechanisms.get(mecid).map(|m| m.last_update.encode());
        }
        let subnet = state.subnets.get(&netuid_or_index)?;
        let p = &subnet.hyperparameters;
        return match name {
            "NetworksAdded" => Some(true.encode()),
            "Tempo" => Some(p.tempo.encode()),
            "SubnetworkN" => Some(subnet.n().encode()),
            "MaxAllowedUids" => Some(subnet.max_allowed_uids.encode()),
            "ImmunityPeriod" => Some(p.immunity_period.encode()),
            "MaxWeightsLimit" => Some(p.max_weights_limit.encode()),
            "WeightsVersionKey" => Some(p.weights_version.encode()),
            "MinAllowedWeights" => Some(p.min_allowed_weights.encode()),
            "WeightsSetRateLimit" => Some(p.weights_rate_limit.encode()),
            "CommitRevealWeightsEnabled" => Some(p.commit_reveal_weights_enabled.encode()),
            "RevealPeriodEpochs" => Some(p.commit_reveal_period.encode()),
            "ActivityCutoff" => Some(p.activity_cutoff.encode()),
            "MaxAllowedValidators" => Some(p.max_validators.encode()),
            "MechanismCountCurrent" => Some((subnet.mechanisms.len() as u8).encode()),
            "Active" => Some(
                subnet
                    .neurons
                    .iter()
                    .map(|n| n.active)
                    .collect::<Vec<_>>()
                    .encode(),
            ),
            "ValidatorPermit" => Some(
                subnet
                    .neurons
                    .iter()
                    .map(|n| n.validator_permit)
                    .collect::<Vec<_>>()
                    .encode(),
            ),
            "PruningScores" => Some(
                subnet
                    .neurons
                    .iter()
                    .map(|n| n.pruning_score)
                    .collect::<Vec<_>>()
                    .encode(),
            ),
            _ => None,
        };
    }
    match name {
        "Uids" => {
            let parts = split_key(item, key, &[2, 32])?;
            let subnet = state.subnets.get(&u16_key(parts[0]))?;
            let hotkey = AccountId(parts[1].try_into().ok()?);
            subnet.uid_of(&hotkey).map(|uid| uid.encode())
        }
        "Keys" => {
            let parts = split_key(item, key, &[2, 2])?;
            let subnet = state.subnets.get(&u16_key(parts[0]))?;
            let uid = usize::from(u16_key(parts[1]));
            subnet.neurons.get(uid).map(|n| n.hotkey.encode())
        }
        "BlockAtRegistration" => {
            let parts = split_key(item, key, &[2, 2])?;
            let subnet = state.subnets.get(&u16_key(parts[0]))?;
            let uid = usize::from(u16_key(parts[1]));
            subnet
                .neurons
                .get(uid)
                .map(|n| n.block_at_registration.encode())
        }
        "Weights" => {
            let parts = split_key(item, key, &[2, 2])?;
            let index = u16_key(parts[0]);
            let subnet = state.subnets.get(&(index % MAX_SUBNETS))?;
            let mechanism = subnet.mechanisms.get(usize::from(index / MAX_SUBNETS))?;
            mechanism
                .weights
                .get(&u16_key(parts[1]))
                .map(|entry| entry.weights.encode())
        }
        "WeightCommits" => {
            let parts = split_key(item, key, &[2, 32])?;
            let index = u16_key(parts[0]);
            let subnet = state.subnets.get(&(index % MAX_SUBNETS))?;
            let mechanism = subnet.mechanisms.get(usize::from(index / MAX_SUBNETS))?;
            let who = AccountId(parts[1].try_into().ok()?);
            mechanism.commits.get(&who).map(|queue| {
                let mut out = Compact(queue.len() as u32).encode();
                for commit in queue {
                    commit.encode_to(&mut out);
                }
                out
            })
        }
        "TimelockedWeightCommits" => {
            let parts = split_key(item, key, &[2, 8])?;
            let index = u16_key(parts[0]);
            let epoch = u64::from_le_bytes(parts[1].try_into().ok()?);
            let subnet = state.subnets.get(&(index % MAX_SUBNETS))?;
            let mechanism = subnet.mechanisms.get(usize::from(index / MAX_SUBNETS))?;
            mechanism.timelocked.get(&epoch).map(|commits| {
                let mut out = Compact(commits.len() as u32).encode();
                for c in commits {
                    (c.who, c.commit_block, &c.commit, c.reveal_round).encode_to(&mut out);
                }
                out
            })
        }
        _ => None,
    }
}

fn hasher_len(hasher: Hasher) -> usize {
    match hasher {
        Hasher::Blake2_128Concat => 16,
        Hasher::Twox64Concat => 8,
        Hasher::Identity | Hasher::Opaque => 0,
    }
}

/// Every storage key the double answers at a block (for `state_getKeysPaged`), unsorted.
pub fn keys(state: &State) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |pallet: &str, item: &str, parts: &[&[u8]]| {
        if let Some(key) = storage_key(pallet, item, parts) {
            out.push(key);
        }
    };
    for plain in ["Events", "Number", "ParentHash", "EventCount"] {
        push("System", plain, &[]);
    }
    push("Timestamp", "Now", &[]);
    push("SubtensorModule", "StakeThreshold", &[]);
    push("SubtensorModule", "CommitRevealWeightsVersion", &[]);
    for who in state.accounts.keys() {
        push("System", "Account", &[&who.0]);
    }
    for (netuid, subnet) in &state.subnets {
        let netuid_bytes = netuid.encode();
        for item in [
            "NetworksAdded",
            "Tempo",
            "SubnetworkN",
            "MaxAllowedUids",
            "ImmunityPeriod",
            "MaxWeightsLimit",
            "WeightsVersionKey",
            "MinAllowedWeights",
            "WeightsSetRateLimit",
            "CommitRevealWeightsEnabled",
            "RevealPeriodEpochs",
            "ActivityCutoff",
            "MaxAllowedValidators",
            "MechanismCountCurrent",
            "Active",
            "ValidatorPermit",
            "PruningScores",
        ] {
            push("SubtensorModule", item, &[&netuid_bytes]);
        }
        for (uid, neuron) in subnet.neurons.iter().enumerate() {
            let uid_bytes = (uid as u16).encode();
            push(
                "SubtensorModule",
                "Uids",
                &[&netuid_bytes, &neuron.hotkey.0],
            );
            push("SubtensorModule", "Keys", &[&netuid_bytes, &uid_bytes]);
            push(
                "SubtensorModule",
                "BlockAtRegistration",
                &[&netuid_bytes, &uid_bytes],
            );
            push("SubtensorModule", "Owner", &[&neuron.hotkey.0]);
        }
        for (mecid, mechanism) in subnet.mechanisms.iter().enumerate() {
            let index = subnet.storage_index(mecid as u8).encode();
            push("SubtensorModule", "LastUpdate", &[&index]);
            for uid in mechanism.weights.keys() {
                push("SubtensorModule", "Weights", &[&index, &uid.encode()]);
            }
            for who in mechanism.commits.keys() {
                push("SubtensorModule", "WeightCommits", &[&index, &who.0]);
            }
            for epoch in mechanism.timelocked.keys() {
                push(
                    "SubtensorModule",
                    "TimelockedWeightCommits",
                    &[&index, &epoch.encode()],
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(events: &[EventRecord]) -> BlockContext<'_> {
        BlockContext {
            number: 12,
            parent_hash: H256([1; 32]),
            timestamp_ms: 1_000,
            events,
            block_hash: &|n| (n == 0).then_some(H256([2; 32])),
        }
    }

    fn state() -> State {
        let file: StateFile = serde_json::from_value(serde_json::json!({
            "accounts": [{"address": "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV", "nonce": 7}],
            "subnets": [{
                "netuid": 1,
                "hyperparameters": {"tempo": 10},
                "neurons": [{"hotkey": "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV", "stake": 5}]
            }]
        }))
        .unwrap();
        file.build(0).unwrap()
    }

    #[test]
    fn the_account_reads_back_with_its_nonce_and_unknown_accounts_are_absent() {
        let state = state();
        let who: AccountId = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
            .parse()
            .unwrap();
        let key = storage_key("System", "Account", &[&who.0]).unwrap();
        let value = read(&state, &context(&[]), &key).unwrap();
        assert_eq!(&value[..4], &7u32.to_le_bytes());
        let other = storage_key("System", "Account", &[&[9; 32]]).unwrap();
        assert_eq!(read(&state, &context(&[]), &other), None);
    }

    #[test]
    fn subnet_items_read_their_values_and_defaults_read_as_absent() {
        let state = state();
        let tempo = storage_key("SubtensorModule", "Tempo", &[&1u16.encode()]).unwrap();
        assert_eq!(read(&state, &context(&[]), &tempo), Some(10u16.encode()));
        let count = storage_key(
            "SubtensorModule",
            "MechanismCountCurrent",
            &[&1u16.encode()],
        )
        .unwrap();
        assert_eq!(read(&state, &context(&[]), &count), None);
        let who: AccountId = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
            .parse()
            .unwrap();
        let uid = storage_key("SubtensorModule", "Uids", &[&1u16.encode(), &who.0]).unwrap();
        assert_eq!(read(&state, &context(&[]), &uid), Some(0u16.encode()));
        assert!(keys(&state).contains(&uid));
    }

    #[test]
    fn a_state_file_with_a_neuron_at_the_wrong_uid_is_refused() {
        let file: StateFile = serde_json::from_value(serde_json::json!({
            "subnets": [{"netuid": 1, "neurons": [{"uid": 3, "hotkey": "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"}]}]
        }))
        .unwrap();
        let err = file.build(0).unwrap_err();
        assert!(err.to_string().contains("uid 3"), "{err}");
    }
}
