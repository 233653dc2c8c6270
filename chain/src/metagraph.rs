//! Subnets as the double keeps them: hyperparameters, neurons by uid, and per mechanism the
//! weights, commits and last updates; registration and replacement as subtensor does them; and
//! the runtime API answers built from them (`NeuronInfoLite`, `SubnetHyperparamsV2`).
//!
//! The JSON forms here are what the state file and the admin API read. A neuron line accepts
//! the fields of the SDK's decoding of `get_neurons_lite` (the recorded
//! `neurons_lite.*.decoded.json` loads as it is), with every field but `hotkey` optional.

use std::collections::{BTreeMap, VecDeque};

use parity_scale_codec::{Compact, Encode};
use serde::{Deserialize, Serialize};

use crate::scale::{AccountId, H256};

/// Mechanisms per subnet at most (`MAX_MECHANISM_COUNT_PER_SUBNET`).
pub const MAX_MECHANISMS: u8 = 16;
/// Subnets the storage index can address (`GLOBAL_MAX_SUBNET_COUNT`): the weights of mechanism
/// `m` of subnet `n` live under index `m * 4096 + n`.
pub const MAX_SUBNETS: u16 = 4096;

/// A subnet's hyperparameters, the fields of `SubnetHyperparamsV2` in its order. Defaults are
/// finney netuid 1's values at block 6852690 (from the recorded `get_selective_mechagraph`)
/// except `weights_version` (0: every version key passes), and subtensor's defaults for the
/// fields that recording does not carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hyperparameters {
    /// Yuma's rho.
    pub rho: u16,
    /// Yuma's kappa.
    pub kappa: u16,
    /// Blocks after registration during which a neuron is not pruned first.
    pub immunity_period: u16,
    /// Fewest weights a validator may set (capped by the subnet's size).
    pub min_allowed_weights: u16,
    /// Largest normalised weight, as a fraction of 65535 (65535: no limit).
    pub max_weights_limit: u16,
    /// Blocks per epoch, minus one: the epoch runs when `(block + netuid + 1) % (tempo + 1) == 0`.
    pub tempo: u16,
    /// POW registration's lowest difficulty.
    pub min_difficulty: u64,
    /// POW registration's highest difficulty.
    pub max_difficulty: u64,
    /// The lowest version key weights may carry (0: any).
    pub weights_version: u64,
    /// Blocks between two weight settings (or commits) of one neuron.
    pub weights_rate_limit: u64,
    /// Blocks between registration-cost adjustments.
    pub adjustment_interval: u16,
    /// Blocks without an update after which a neuron counts as inactive.
    pub activity_cutoff: u16,
    /// Whether registration is open.
    pub registration_allowed: bool,
    /// Registrations targeted per adjustment interval.
    pub target_regs_per_interval: u16,
    /// Lowest registration burn, in rao.
    pub min_burn: u64,
    /// Highest registration burn, in rao.
    pub max_burn: u64,
    /// Bonds' moving average.
    pub bonds_moving_avg: u64,
    /// Registrations allowed per block.
    pub max_regs_per_block: u16,
    /// Blocks between two axon announcements.
    pub serving_rate_limit: u64,
    /// Validator permits given at most.
    pub max_validators: u16,
    /// Smoothing of registration-cost adjustments.
    pub adjustment_alpha: u64,
    /// Current POW difficulty.
    pub difficulty: u64,
    /// Epochs between a commit and its reveal.
    pub commit_reveal_period: u64,
    /// Whether weights go through commit-reveal (then `set_weights` is refused).
    pub commit_reveal_weights_enabled: bool,
    /// Liquid alpha's upper bound.
    pub alpha_high: u16,
    /// Liquid alpha's lower bound.
    pub alpha_low: u16,
    /// Whether liquid alpha is on.
    pub liquid_alpha_enabled: bool,
    /// Liquid alpha's sigmoid steepness (an integer; served as fixed point `I32F32`).
    pub alpha_sigmoid_steepness: i32,
    /// Yuma consensus version (2 or 3).
    pub yuma_version: u16,
    /// Whether the subnet's token is enabled.
    pub subnet_is_active: bool,
    /// Whether alpha transfers are enabled.
    pub transfers_enabled: bool,
    /// Whether bonds reset is enabled.
    pub bonds_reset_enabled: bool,
    /// Whether user liquidity is enabled.
    pub user_liquidity_enabled: bool,
}

impl Default for Hyperparameters {
    fn default() -> Self {
        Self {
            rho: 10,
            kappa: 32_767,
            immunity_period: 7200,
            min_allowed_weights: 1,
            max_weights_limit: u16::MAX,
            tempo: 99,
            min_difficulty: 10_000_000,
            max_difficulty: 1_000_000_000_000_000_000,
            weights_version: 0,
            weights_rate_limit: 100,
            adjustment_interval: 112,
            activity_cutoff: 5000,
            registration_allowed: true,
            target_regs_per_interval: 2,
            min_burn: 500_000,
            max_burn: 100_000_000_000,
            bonds_moving_avg: 900_000,
            max_regs_per_block: 1,
            serving_rate_limit: 10,
            max_validators: 128,
            adjustment_alpha: 17_893_341_751_498_265_066,
            difficulty: 10_000_000,
            commit_reveal_period: 1,
            commit_reveal_weights_enabled: true,
            alpha_high: 58_982,
            alpha_low: 45_875,
            liquid_alpha_enabled: false,
            alpha_sigmoid_steepness: 1000,
            yuma_version: 2,
            subnet_is_active: true,
            transfers_enabled: true,
            bonds_reset_enabled: false,
            user_liquidity_enabled: false,
        }
    }
}

impl Hyperparameters {
    /// `SubnetHyperparams` (the first version): the fields up to `liquid_alpha_enabled`.
    pub fn encode_v1(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_v1_to(&mut out);
        out
    }

    fn encode_v1_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        Compact(self.rho).encode_to(dest);
        Compact(self.kappa).encode_to(dest);
        Compact(self.immunity_period).encode_to(dest);
        Compact(self.min_allowed_weights).encode_to(dest);
        Compact(self.max_weights_limit).encode_to(dest);
        Compact(self.tempo).encode_to(dest);
        Compact(self.min_difficulty).encode_to(dest);
        Compact(self.max_difficulty).encode_to(dest);
        Compact(self.weights_version).encode_to(dest);
        Compact(self.weights_rate_limit).encode_to(dest);
        Compact(self.adjustment_interval).encode_to(dest);
        Compact(self.activity_cutoff).encode_to(dest);
        self.registration_allowed.encode_to(dest);
        Compact(self.target_regs_per_interval).encode_to(dest);
        Compact(self.min_burn).encode_to(dest);
        Compact(self.max_burn).encode_to(dest);
        Compact(self.bonds_moving_avg).encode_to(dest);
        Compact(self.max_regs_per_block).encode_to(dest);
        Compact(self.serving_rate_limit).encode_to(dest);
        Compact(self.max_validators).encode_to(dest);
        Compact(self.adjustment_alpha).encode_to(dest);
        Compact(self.difficulty).encode_to(dest);
        Compact(self.commit_reveal_period).encode_to(dest);
        self.commit_reveal_weights_enabled.encode_to(dest);
        Compact(self.alpha_high).encode_to(dest);
        Compact(self.alpha_low).encode_to(dest);
        self.liquid_alpha_enabled.encode_to(dest);
    }
}

impl Encode for Hyperparameters {
    /// `SubnetHyperparamsV2`: most integers compact, `alpha_sigmoid_steepness` as `I32F32` bits.
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.encode_v1_to(dest);
        (i64::from(self.alpha_sigmoid_steepness) << 32).encode_to(dest);
        Compact(self.yuma_version).encode_to(dest);
        self.subnet_is_active.encode_to(dest);
        self.transfers_enabled.encode_to(dest);
        self.bonds_reset_enabled.encode_to(dest);
        self.user_liquidity_enabled.encode_to(dest);
    }
}

/// Where a neuron's axon listens (`AxonInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Encode)]
#[serde(default, deny_unknown_fields)]
pub struct AxonInfo {
    /// Block of the announcement.
    pub block: u64,
    /// Axon version.
    pub version: u32,
    /// IP address as an integer (IPv4 in the low 32 bits).
    pub ip: u128,
    /// Port.
    pub port: u16,
    /// 4 or 6.
    pub ip_type: u8,
    /// Protocol.
    pub protocol: u8,
    /// Reserved.
    pub placeholder1: u8,
    /// Reserved.
    pub placeholder2: u8,
}

/// Where a neuron's Prometheus endpoint listens (`PrometheusInfo`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Encode)]
#[serde(default, deny_unknown_fields)]
pub struct PrometheusInfo {
    /// Block of the announcement.
    pub block: u64,
    /// Version.
    pub version: u32,
    /// IP address as an integer.
    pub ip: u128,
    /// Port.
    pub port: u16,
    /// 4 or 6.
    pub ip_type: u8,
}

/// Stake as JSON gives it: a number of rao (held by the neuron's coldkey), or the runtime's
/// list of `[coldkey, rao]` pairs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum StakeSpec {
    /// Rao held by the neuron's own coldkey.
    Rao(u64),
    /// `[coldkey, rao]` pairs, as `NeuronInfoLite.stake` lists them.
    Entries(Vec<(AccountId, u64)>),
}

/// A neuron as the state file and the admin API describe it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronSpec {
    /// The uid; when given it must be the neuron's position in the list.
    #[serde(default)]
    pub uid: Option<u16>,
    /// The subnet; when given it must be the subnet the neuron is listed under.
    #[serde(default)]
    pub netuid: Option<u16>,
    /// The neuron's hotkey.
    pub hotkey: AccountId,
    /// Its coldkey (default: the hotkey).
    #[serde(default)]
    pub coldkey: Option<AccountId>,
    /// Active (default true).
    #[serde(default)]
    pub active: Option<bool>,
    /// Holds a validator permit (default false).
    #[serde(default)]
    pub validator_permit: Option<bool>,
    /// Stake in rao (default 0).
    #[serde(default)]
    pub stake: Option<StakeSpec>,
    /// Block of its last weights (or commit) on mechanism 0 (default 0: never).
    #[serde(default)]
    pub last_update: Option<u64>,
    /// Block it registered at (default 0; with a state file, the chain's first block).
    #[serde(default)]
    pub block_at_registration: Option<u64>,
    /// Axon.
    #[serde(default)]
    pub axon_info: Option<AxonInfo>,
    /// Prometheus endpoint.
    #[serde(default)]
    pub prometheus_info: Option<PrometheusInfo>,
    /// Rank (u16 fraction).
    #[serde(default)]
    pub rank: Option<u16>,
    /// Emission in rao.
    #[serde(default)]
    pub emission: Option<u64>,
    /// Incentive (u16 fraction).
    #[serde(default)]
    pub incentive: Option<u16>,
    /// Consensus (u16 fraction).
    #[serde(default)]
    pub consensus: Option<u16>,
    /// Trust (u16 fraction).
    #[serde(default)]
    pub trust: Option<u16>,
    /// Validator trust (u16 fraction).
    #[serde(default)]
    pub validator_trust: Option<u16>,
    /// Dividends (u16 fraction).
    #[serde(default)]
    pub dividends: Option<u16>,
    /// Pruning score (u16).
    #[serde(default)]
    pub pruning_score: Option<u16>,
    /// The SDK's sum of `stake` (accepted and ignored: `stake` is the source).
    #[serde(default, skip_serializing)]
    pub stake_rao: Option<serde_json::Value>,
    /// The SDK's dotted-quad axon IP (accepted and ignored: `axon_info.ip` is the source).
    #[serde(default, skip_serializing)]
    pub axon_ip_sdk: Option<serde_json::Value>,
}

impl NeuronSpec {
    /// A spec with only a hotkey: every other field takes its default.
    pub fn hotkey(hotkey: AccountId) -> Self {
        Self {
            uid: None,
            netuid: None,
            hotkey,
            coldkey: None,
            active: None,
            validator_permit: None,
            stake: None,
            last_update: None,
            block_at_registration: None,
            axon_info: None,
            prometheus_info: None,
            rank: None,
            emission: None,
            incentive: None,
            consensus: None,
            trust: None,
            validator_trust: None,
            dividends: None,
            pruning_score: None,
            stake_rao: None,
            axon_ip_sdk: None,
        }
    }
}

/// A registered neuron (one uid of a subnet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neuron {
    /// Hotkey.
    pub hotkey: AccountId,
    /// Coldkey.
    pub coldkey: AccountId,
    /// Active.
    pub active: bool,
    /// Holds a validator permit.
    pub validator_permit: bool,
    /// `[coldkey, rao]` pairs.
    pub stake: Vec<(AccountId, u64)>,
    /// Registration block.
    pub block_at_registration: u64,
    /// Axon.
    pub axon_info: AxonInfo,
    /// Prometheus endpoint.
    pub prometheus_info: PrometheusInfo,
    /// Rank.
    pub rank: u16,
    /// Emission (rao).
    pub emission: u64,
    /// Incentive.
    pub incentive: u16,
    /// Consensus.
    pub consensus: u16,
    /// Trust.
    pub trust: u16,
    /// Validator trust.
    pub validator_trust: u16,
    /// Dividends.
    pub dividends: u16,
    /// Pruning score.
    pub pruning_score: u16,
}

impl Neuron {
    /// The stake the weights rules weigh: the sum of the neuron's stake entries.
    pub fn total_stake(&self) -> u64 {
        self.stake
            .iter()
            .fold(0u64, |sum, (_, rao)| sum.saturating_add(*rao))
    }

    fn stake_from(spec: Option<&StakeSpec>, coldkey: AccountId) -> Vec<(AccountId, u64)> {
        match spec {
            None => vec![(coldkey, 0)],
            Some(StakeSpec::Rao(rao)) => vec![(coldkey, *rao)],
            Some(StakeSpec::Entries(entries)) => entries.clone(),
        }
    }

    /// A neuron from its spec; `registered_at` stands in for a missing registration block.
    pub fn from_spec(spec: &NeuronSpec, registered_at: u64) -> Self {
        let coldkey = spec.coldkey.unwrap_or(spec.hotkey);
        Self {
            hotkey: spec.hotkey,
            coldkey,
            active: spec.active.unwrap_or(true),
            validator_permit: spec.validator_permit.unwrap_or(false),
            stake: Self::stake_from(spec.stake.as_ref(), coldkey),
            block_at_registration: spec.block_at_registration.unwrap_or(registered_at),
            axon_info: spec.axon_info.clone().unwrap_or_default(),
            prometheus_info: spec.prometheus_info.clone().unwrap_or_default(),
            rank: spec.rank.unwrap_or(0),
            emission: spec.emission.unwrap_or(0),
            incentive: spec.incentive.unwrap_or(0),
            consensus: spec.consensus.unwrap_or(0),
            trust: spec.trust.unwrap_or(0),
            validator_trust: spec.validator_trust.unwrap_or(0),
            dividends: spec.dividends.unwrap_or(0),
            pruning_score: spec.pruning_score.unwrap_or(0),
        }
    }
}

/// A change to one neuron through the admin API; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeuronPatch {
    /// New coldkey.
    pub coldkey: Option<AccountId>,
    /// Active.
    pub active: Option<bool>,
    /// Validator permit.
    pub validator_permit: Option<bool>,
    /// Stake.
    pub stake: Option<StakeSpec>,
    /// Last update on mechanism 0.
    pub last_update: Option<u64>,
    /// Registration block.
    pub block_at_registration: Option<u64>,
    /// Axon.
    pub axon_info: Option<AxonInfo>,
    /// Pruning score.
    pub pruning_score: Option<u16>,
    /// Incentive.
    pub incentive: Option<u16>,
    /// Dividends.
    pub dividends: Option<u16>,
    /// Emission.
    pub emission: Option<u64>,
}

/// A commit of weights' hash waiting for its reveal: `(hash, commit_block, first_reveal_block,
/// last_reveal_block)` as `WeightCommits` stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode)]
pub struct Commit {
    /// blake2b-256 of `(hotkey, netuid_index, uids, values, salt, version_key)`.
    pub hash: H256,
    /// Block of the commit.
    pub commit_block: u64,
    /// First block of its reveal epoch.
    pub first_reveal_block: u64,
    /// Last block of its reveal epoch.
    pub last_reveal_block: u64,
}

/// A timelocked (drand) commit, kept as the chain keeps it; the double does not decrypt it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelockedCommit {
    /// Who committed.
    pub who: AccountId,
    /// Block of the commit.
    pub commit_block: u64,
    /// The ciphertext.
    pub commit: Vec<u8>,
    /// The drand round that decrypts it.
    pub reveal_round: u64,
}

/// Weights in force for one uid (`Weights(netuid_index, uid)`), with the block that set them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightsEntry {
    /// `(uid, weight)` after max-upscaling, as stored.
    pub weights: Vec<(u16, u16)>,
    /// Block of the extrinsic that set them.
    pub block: u64,
}

/// A successful reveal, kept for tests to read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reveal {
    /// Who revealed.
    pub hotkey: AccountId,
    /// Their uid.
    pub uid: u16,
    /// Block of the reveal.
    pub block: u64,
    /// The commit hash it matched.
    pub commit_hash: H256,
    /// Revealed uids.
    pub uids: Vec<u16>,
    /// Revealed values (before max-upscaling).
    pub values: Vec<u16>,
    /// The salt.
    pub salt: Vec<u16>,
    /// The version key.
    pub version_key: u64,
}

/// One mechanism's weight state (storage index `mecid * 4096 + netuid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mechanism {
    /// `LastUpdate`: per uid, the block of its last weights or commit.
    pub last_update: Vec<u64>,
    /// `Weights`: per uid.
    pub weights: BTreeMap<u16, WeightsEntry>,
    /// `WeightCommits`: per hotkey, oldest first.
    pub commits: BTreeMap<AccountId, VecDeque<Commit>>,
    /// `TimelockedWeightCommits`: per epoch.
    pub timelocked: BTreeMap<u64, Vec<TimelockedCommit>>,
    /// Successful reveals, oldest first.
    pub reveals: Vec<Reveal>,
}

/// A subnet: its hyperparameters, its neurons by uid, its mechanisms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// The netuid.
    pub netuid: u16,
    /// Hyperparameters.
    pub hyperparameters: Hyperparameters,
    /// Uids the subnet holds at most; beyond that a registration replaces a neuron.
    pub max_allowed_uids: u16,
    /// Neurons; the index is the uid.
    pub neurons: Vec<Neuron>,
    /// Mechanisms; the index is the mechanism id (at least one).
    pub mechanisms: Vec<Mechanism>,
}

/// The outcome of a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The uid the hotkey got.
    pub uid: u16,
    /// The hotkey that held the uid before, when the subnet was full.
    pub replaced: Option<AccountId>,
}

/// Why a metagraph change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MetagraphError {
    /// The hotkey already holds a uid on the subnet.
    #[error("hotkey {0} is already registered on netuid {1}")]
    AlreadyRegistered(AccountId, u16),
    /// The hotkey holds no uid on the subnet.
    #[error("hotkey {0} is not registered on netuid {1}")]
    NotRegistered(AccountId, u16),
    /// No neuron has this uid.
    #[error("netuid {1} has no uid {0}")]
    NoSuchUid(u16, u16),
    /// The subnet has no neurons to replace.
    #[error("netuid {0} is empty and has no room (max_allowed_uids 0)")]
    NoRoom(u16),
    /// A neuron line disagrees with where it is listed.
    #[error("{0}")]
    Inconsistent(String),
    /// Mechanism count out of range.
    #[error("mechanism count must be 1..={MAX_MECHANISMS}, got {0}")]
    MechanismCount(u8),
}

/// Default `max_allowed_uids` of a subnet the state file does not size.
pub const DEFAULT_MAX_ALLOWED_UIDS: u16 = 256;

impl Subnet {
    /// An empty subnet.
    pub fn new(netuid: u16, hyperparameters: Hyperparameters, max_allowed_uids: u16) -> Self {
        Self {
            netuid,
            hyperparameters,
            max_allowed_uids,
            neurons: Vec::new(),
            mechanisms: vec![Mechanism::default()],
        }
    }

    /// Changes the number of mechanisms (1..=16); new ones start with every uid's last update 0.
    pub fn set_mechanism_count(&mut self, count: u8) -> Result<(), MetagraphError> {
        if count == 0 || count > MAX_MECHANISMS {
            return Err(MetagraphError::MechanismCount(count));
        }
        let n = self.neurons.len();
        self.mechanisms
            .resize_with(usize::from(count), || Mechanism {
                last_update: vec![0; n],
                ..Mechanism::default()
            });
        Ok(())
    }

    /// The uid of `hotkey`, if registered.
    pub fn uid_of(&self, hotkey: &AccountId) -> Option<u16> {
        self.neurons
            .iter()
            .position(|n| &n.hotkey == hotkey)
            .map(|uid| uid as u16)
    }

    /// Number of uids in use (`SubnetworkN`).
    pub fn n(&self) -> u16 {
        self.neurons.len() as u16
    }

    /// The storage index of mechanism `mecid` (`mecid * 4096 + netuid`).
    pub fn storage_index(&self, mecid: u8) -> u16 {
        u16::from(mecid)
            .saturating_mul(MAX_SUBNETS)
            .saturating_add(self.netuid)
    }

    /// Adds a neuron loaded from a file at the end, checking its `uid`/`netuid` if given.
    pub fn push_loaded(
        &mut self,
        spec: &NeuronSpec,
        registered_at: u64,
    ) -> Result<u16, MetagraphError> {
        let uid = self.n();
        if spec.uid.is_some_and(|given| given != uid) {
            return Err(MetagraphError::Inconsistent(format!(
                "neuron {} is listed at uid {uid} of netuid {} but says uid {}",
                spec.hotkey,
                self.netuid,
                spec.uid.unwrap_or_default()
            )));
        }
        if spec.netuid.is_some_and(|given| given != self.netuid) {
            return Err(MetagraphError::Inconsistent(format!(
                "neuron {} is listed under netuid {} but says netuid {}",
                spec.hotkey,
                self.netuid,
                spec.netuid.unwrap_or_default()
            )));
        }
        if self.uid_of(&spec.hotkey).is_some() {
            return Err(MetagraphError::AlreadyRegistered(spec.hotkey, self.netuid));
        }
        self.neurons.push(Neuron::from_spec(spec, registered_at));
        let last_update = spec.last_update.unwrap_or(0);
        for (mecid, mechanism) in self.mechanisms.iter_mut().enumerate() {
            mechanism
                .last_update
                .push(if mecid == 0 { last_update } else { 0 });
        }
        Ok(uid)
    }

    /// Registers `spec.hotkey` at block `block` as subtensor's `register_neuron` does: the next
    /// uid while the subnet has room; otherwise the uid of the neuron to prune (lowest pruning
    /// score among those out of their immunity period, earliest registration on ties; among the
    /// immune ones only when all are immune), whose weights are cleared and whose last update
    /// the newcomer inherits, as on chain.
    pub fn register(
        &mut self,
        spec: &NeuronSpec,
        block: u64,
    ) -> Result<Registered, MetagraphError> {
        if self.uid_of(&spec.hotkey).is_some() {
            return Err(MetagraphError::AlreadyRegistered(spec.hotkey, self.netuid));
        }
        if self.n() < self.max_allowed_uids {
            let mut neuron = Neuron::from_spec(spec, block);
            neuron.block_at_registration = block;
            let uid = self.n();
            self.neurons.push(neuron);
            for mechanism in &mut self.mechanisms {
                // append_neuron stamps the registration block as the last update.
                mechanism.last_update.push(block);
            }
            return Ok(Registered {
                uid,
                replaced: None,
            });
        }
        let uid = self
            .neuron_to_prune(block)
            .ok_or(MetagraphError::NoRoom(self.netuid))?;
        let replaced = self.replace(uid, spec, block);
        Ok(Registered {
            uid,
            replaced: Some(replaced),
        })
    }

    /// Takes `hotkey`'s uid away by giving it to `replacement` (the chain never leaves a uid
    /// empty: a uid changes hands when another hotkey registers into it).
    pub fn deregister(
        &mut self,
        hotkey: &AccountId,
        replacement: &NeuronSpec,
        block: u64,
    ) -> Result<u16, MetagraphError> {
        let uid = self
            .uid_of(hotkey)
            .ok_or(MetagraphError::NotRegistered(*hotkey, self.netuid))?;
        if self.uid_of(&replacement.hotkey).is_some() {
            return Err(MetagraphError::AlreadyRegistered(
                replacement.hotkey,
                self.netuid,
            ));
        }
        self.replace(uid, replacement, block);
        Ok(uid)
    }

    /// `replace_neuron` and `clear_neuron`: the new hotkey takes the uid at `block`, active;
    /// weights set by and for the uid are cleared (the old hotkey's commits stay, as on chain,
    /// but can no longer be revealed). Returns the old hotkey.
    fn replace(&mut self, uid: u16, spec: &NeuronSpec, block: u64) -> AccountId {
        let index = usize::from(uid);
        let old = &self.neurons[index];
        let old_hotkey = old.hotkey;
        let mut neuron = Neuron::from_spec(spec, block);
        neuron.block_at_registration = block;
        neuron.active = true;
        // clear_neuron leaves ValidatorPermit and PruningScores as they are until the next
        // epoch recomputes them, so the newcomer inherits both unless told otherwise.
        neuron.validator_permit = spec.validator_permit.unwrap_or(old.validator_permit);
        neuron.pruning_score = spec.pruning_score.unwrap_or(old.pruning_score);
        self.neurons[index] = neuron;
        for mechanism in &mut self.mechanisms {
            mechanism.weights.remove(&uid);
            for entry in mechanism.weights.values_mut() {
                for (target, weight) in &mut entry.weights {
                    if *target == uid {
                        *weight = 0;
                    }
                }
            }
        }
        old_hotkey
    }

    fn neuron_to_prune(&mut self, block: u64) -> Option<u16> {
        if self.neurons.is_empty() {
            return None;
        }
        let immunity = u64::from(self.hyperparameters.immunity_period);
        let mut best: Option<(bool, u16, u64, u16)> = None;
        for (uid, neuron) in self.neurons.iter().enumerate() {
            let immune = block.saturating_sub(neuron.block_at_registration) < immunity;
            let key = (
                immune,
                neuron.pruning_score,
                neuron.block_at_registration,
                uid as u16,
            );
            // Non-immune first, then lowest score, then earliest registration, then lowest uid.
            if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                best = Some(key);
            }
        }
        let uid = best?.3;
        // get_neuron_to_prune marks the chosen uid with the highest score; the newcomer keeps it.
        self.neurons[usize::from(uid)].pruning_score = u16::MAX;
        Some(uid)
    }

    /// Applies an admin patch to the neuron at `uid`.
    pub fn patch(&mut self, uid: u16, patch: &NeuronPatch) -> Result<(), MetagraphError> {
        let neuron = self
            .neurons
            .get_mut(usize::from(uid))
            .ok_or(MetagraphError::NoSuchUid(uid, self.netuid))?;
        if let Some(coldkey) = patch.coldkey {
            neuron.coldkey = coldkey;
        }
        if let Some(active) = patch.active {
            neuron.active = active;
        }
        if let Some(permit) = patch.validator_permit {
            neuron.validator_permit = permit;
        }
        if let Some(stake) = &patch.stake {
            neuron.stake = Neuron::stake_from(Some(stake), neuron.coldkey);
        }
        if let Some(block) = patch.block_at_registration {
            neuron.block_at_registration = block;
        }
        if let Some(axon) = &patch.axon_info {
            neuron.axon_info = axon.clone();
        }
        if let Some(score) = patch.pruning_score {
            neuron.pruning_score = score;
        }
        if let Some(incentive) = patch.incentive {
            neuron.incentive = incentive;
        }
        if let Some(dividends) = patch.dividends {
            neuron.dividends = dividends;
        }
        if let Some(emission) = patch.emission {
            neuron.emission = emission;
        }
        if let Some(block) = patch.last_update {
            self.mechanisms[0].last_update[usize::from(uid)] = block;
        }
        Ok(())
    }

    /// `NeuronInfoLite` of `uid`, SCALE-encoded.
    pub fn encode_neuron_lite(&self, uid: u16, dest: &mut Vec<u8>) -> bool {
        let Some(neuron) = self.neurons.get(usize::from(uid)) else {
            return false;
        };
        neuron.hotkey.encode_to(dest);
        neuron.coldkey.encode_to(dest);
        Compact(uid).encode_to(dest);
        Compact(self.netuid).encode_to(dest);
        neuron.active.encode_to(dest);
        neuron.axon_info.encode_to(dest);
        neuron.prometheus_info.encode_to(dest);
        Compact(neuron.stake.len() as u32).encode_to(dest);
        for (coldkey, rao) in &neuron.stake {
            coldkey.encode_to(dest);
            Compact(*rao).encode_to(dest);
        }
        Compact(neuron.rank).encode_to(dest);
        Compact(neuron.emission).encode_to(dest);
        Compact(neuron.incentive).encode_to(dest);
        Compact(neuron.consensus).encode_to(dest);
        Compact(neuron.trust).encode_to(dest);
        Compact(neuron.validator_trust).encode_to(dest);
        Compact(neuron.dividends).encode_to(dest);
        let last_update = self.mechanisms[0]
            .last_update
            .get(usize::from(uid))
            .copied()
            .unwrap_or(0);
        Compact(last_update).encode_to(dest);
        neuron.validator_permit.encode_to(dest);
        Compact(neuron.pruning_score).encode_to(dest);
        true
    }

    /// `Vec<NeuronInfoLite>` of every uid, SCALE-encoded (`get_neurons_lite`).
    pub fn encode_neurons_lite(&self) -> Vec<u8> {
        let mut out = Compact(self.neurons.len() as u32).encode();
        for uid in 0..self.n() {
            self.encode_neuron_lite(uid, &mut out);
        }
        out
    }

    /// The neuron at `uid` as the admin API shows it.
    pub fn view(&self, uid: u16) -> Option<NeuronView> {
        let neuron = self.neurons.get(usize::from(uid))?;
        Some(NeuronView {
            uid,
            netuid: self.netuid,
            hotkey: neuron.hotkey,
            coldkey: neuron.coldkey,
            active: neuron.active,
            validator_permit: neuron.validator_permit,
            stake: neuron.stake.clone(),
            total_stake: neuron.total_stake(),
            last_update: self.mechanisms[0].last_update[usize::from(uid)],
            block_at_registration: neuron.block_at_registration,
            pruning_score: neuron.pruning_score,
            axon_info: neuron.axon_info.clone(),
        })
    }
}

/// A neuron as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NeuronView {
    /// Uid.
    pub uid: u16,
    /// Netuid.
    pub netuid: u16,
    /// Hotkey.
    pub hotkey: AccountId,
    /// Coldkey.
    pub coldkey: AccountId,
    /// Active.
    pub active: bool,
    /// Validator permit.
    pub validator_permit: bool,
    /// `[coldkey, rao]` pairs.
    pub stake: Vec<(AccountId, u64)>,
    /// Their sum.
    pub total_stake: u64,
    /// Last update on mechanism 0.
    pub last_update: u64,
    /// Registration block.
    pub block_at_registration: u64,
    /// Pruning score.
    pub pruning_score: u16,
    /// Axon.
    pub axon_info: AxonInfo,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(n: u8) -> AccountId {
        AccountId([n; 32])
    }

    fn full_subnet() -> Subnet {
        let mut subnet = Subnet::new(1, Hyperparameters::default(), 3);
        for n in 1..=3 {
            subnet
                .register(&NeuronSpec::hotkey(account(n)), 100)
                .unwrap();
        }
        subnet
    }

    #[test]
    fn registration_appends_uids_and_stamps_the_block_as_last_update() {
        let subnet = full_subnet();
        assert_eq!(subnet.n(), 3);
        assert_eq!(subnet.uid_of(&account(2)), Some(1));
        assert_eq!(subnet.mechanisms[0].last_update, vec![100, 100, 100]);
    }

    #[test]
    fn a_full_subnet_replaces_the_lowest_pruning_score_outside_immunity() {
        let mut subnet = full_subnet();
        subnet.hyperparameters.immunity_period = 10;
        subnet.neurons[0].pruning_score = 500;
        subnet.neurons[1].pruning_score = 7;
        subnet.neurons[2].pruning_score = 9;
        subnet.mechanisms[0].weights.insert(
            1,
            WeightsEntry {
                weights: vec![(0, 65535)],
                block: 101,
            },
        );
        let got = subnet
            .register(&NeuronSpec::hotkey(account(9)), 200)
            .unwrap();
        assert_eq!(got.uid, 1);
        assert_eq!(got.replaced, Some(account(2)));
        assert_eq!(subnet.uid_of(&account(2)), None);
        assert_eq!(subnet.neurons[1].block_at_registration, 200);
        assert!(!subnet.mechanisms[0].weights.contains_key(&1));
        // The newcomer inherits the uid's last update, as replace_neuron leaves it.
        assert_eq!(subnet.mechanisms[0].last_update[1], 100);
    }

    #[test]
    fn immune_neurons_are_pruned_only_when_all_are_immune() {
        let mut subnet = full_subnet();
        subnet.hyperparameters.immunity_period = 1000;
        subnet.neurons[0].block_at_registration = 0;
        subnet.neurons[0].pruning_score = 900;
        subnet.neurons[2].pruning_score = 1;
        // uid 0 is out of immunity at block 1050; uid 2 (score 1) is still immune.
        let got = subnet
            .register(&NeuronSpec::hotkey(account(9)), 1050)
            .unwrap();
        assert_eq!(got.uid, 0);
    }

    #[test]
    fn deregistering_hands_the_uid_to_the_replacement_and_clears_weights_for_it() {
        let mut subnet = full_subnet();
        subnet.mechanisms[0].weights.insert(
            0,
            WeightsEntry {
                weights: vec![(2, 65535), (1, 100)],
                block: 101,
            },
        );
        let uid = subnet
            .deregister(&account(3), &NeuronSpec::hotkey(account(8)), 300)
            .unwrap();
        assert_eq!(uid, 2);
        assert_eq!(subnet.uid_of(&account(8)), Some(2));
        assert_eq!(
            subnet.mechanisms[0].weights[&0].weights,
            vec![(2, 0), (1, 100)]
        );
        assert!(matches!(
            subnet.deregister(&account(3), &NeuronSpec::hotkey(account(7)), 300),
            Err(MetagraphError::NotRegistered(..))
        ));
    }

    #[test]
    fn a_loaded_neuron_must_sit_at_the_uid_and_netuid_it_names() {
        let mut subnet = Subnet::new(1, Hyperparameters::default(), 8);
        let mut spec = NeuronSpec::hotkey(account(1));
        spec.uid = Some(1);
        assert!(subnet.push_loaded(&spec, 0).is_err());
        spec.uid = Some(0);
        spec.netuid = Some(2);
        assert!(subnet.push_loaded(&spec, 0).is_err());
        spec.netuid = Some(1);
        assert_eq!(subnet.push_loaded(&spec, 0), Ok(0));
    }

    #[test]
    fn hyperparameters_json_fills_missing_fields_with_defaults_and_refuses_unknown_ones() {
        let params: Hyperparameters =
            serde_json::from_str(r#"{"tempo": 10, "commit_reveal_weights_enabled": false}"#)
                .unwrap();
        assert_eq!(params.tempo, 10);
        assert!(!params.commit_reveal_weights_enabled);
        assert_eq!(params.weights_rate_limit, 100);
        assert!(serde_json::from_str::<Hyperparameters>(r#"{"tempoo": 10}"#).is_err());
    }
}
