//! The weights calls of `SubtensorModule` and the chain's rules for them, as runtime spec 343
//! applies them (`subnets/weights.rs`, `macros/dispatches.rs` and the
//! `SubtensorTransactionExtension` of opentensor/subtensor at that version).
//!
//! Two layers, as on chain:
//! - [`validate`]: the transaction extension's pool checks, which only cover the legacy calls
//!   (`set_weights`, `commit_weights`, `reveal_weights`, `commit_timelocked_weights`); a failure
//!   refuses the transaction with error 1010 and a custom code, and it is never included.
//! - [`dispatch`]: the call itself; a failure is a `DispatchError::Module` of `SubtensorModule`,
//!   the extrinsic is included and `System.ExtrinsicFailed` names the error. Dispatch is
//!   transactional: a failure leaves the subnet as it was.

use std::sync::Arc;

use parity_scale_codec::{Compact, Decode, Encode, Input};
use serde::Serialize;

use crate::events::{DispatchError, Event};
use crate::extrinsic::FormatError;
use crate::metadata::metadata;
use crate::metagraph::{Commit, Reveal, Subnet, TimelockedCommit, WeightsEntry};

use crate::rpc::error::{InvalidTransaction, custom};
use crate::scale::{AccountId, H256, blake2_256};
use crate::state::State;

/// Longest timelocked commit the runtime accepts (`MAX_CRV3_COMMIT_SIZE_BYTES`).
pub const MAX_TIMELOCKED_COMMIT_BYTES: usize = 5000;
/// Unrevealed commits one hotkey may hold per subnet mechanism.
pub const MAX_UNREVEALED_COMMITS: usize = 10;
/// The `commit_reveal_version` the runtime expects by default (`CommitRevealWeightsVersion`).
pub const DEFAULT_COMMIT_REVEAL_VERSION: u16 = 4;

/// What a weights call asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// `set_weights` / `set_mechanism_weights`.
    Set {
        /// Target uids.
        dests: Vec<u16>,
        /// Weights, one per uid.
        weights: Vec<u16>,
        /// The validator's version key.
        version_key: u64,
    },
    /// `commit_weights` / `commit_mechanism_weights`.
    Commit {
        /// blake2b-256 of the weights to reveal later.
        commit_hash: H256,
    },
    /// `reveal_weights` / `reveal_mechanism_weights`.
    Reveal {
        /// Uids.
        uids: Vec<u16>,
        /// Weights.
        values: Vec<u16>,
        /// The commit's salt.
        salt: Vec<u16>,
        /// Version key.
        version_key: u64,
    },
    /// `commit_timelocked_weights`, `commit_timelocked_mechanism_weights`,
    /// `commit_crv3_mechanism_weights` (whose version is fixed at 4).
    CommitTimelocked {
        /// The drand-timelocked ciphertext.
        #[serde(serialize_with = "serialize_hex")]
        commit: Vec<u8>,
        /// The drand round that decrypts it.
        reveal_round: u64,
        /// The commit-reveal scheme version the committer speaks.
        commit_reveal_version: u16,
    },
}

fn serialize_hex<S: serde::Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&crate::scale::to_hex(bytes))
}

/// A decoded weights call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WeightsCall {
    /// The call's name in the metadata.
    pub name: String,
    /// The subnet.
    pub netuid: u16,
    /// The mechanism (0 for the calls without `mecid`).
    pub mecid: u8,
    /// What it asks for.
    pub action: Action,
}

impl WeightsCall {
    /// Whether this is one of the calls the transaction extension checks in the pool.
    fn legacy(&self) -> bool {
        matches!(
            self.name.as_str(),
            "set_weights" | "commit_weights" | "reveal_weights" | "commit_timelocked_weights"
        )
    }

    /// The storage index of the call's mechanism: `mecid * 4096 + netuid`.
    pub fn netuid_index(&self) -> u16 {
        u16::from(self.mecid)
            .saturating_mul(crate::metagraph::MAX_SUBNETS)
            .saturating_add(self.netuid)
    }

    /// The encoded call (pallet index, call index, arguments), as the SDK builds it.
    ///
    /// # Panics
    /// If `name` is not a weights call of the metadata, or does not fit `action`.
    pub fn encode(&self) -> Vec<u8> {
        let m = metadata();
        let mut out = vec![
            m.pallet_index("SubtensorModule")
                .expect("the metadata has SubtensorModule"),
            m.call_index("SubtensorModule", &self.name)
                .unwrap_or_else(|| panic!("SubtensorModule has no call {}", self.name)),
        ];
        self.netuid.encode_to(&mut out);
        let with_mecid = self.name.contains("mechanism");
        if with_mecid {
            self.mecid.encode_to(&mut out);
        }
        match &self.action {
            Action::Set {
                dests,
                weights,
                version_key,
            } => (dests, weights, version_key).encode_to(&mut out),
            Action::Commit { commit_hash } => commit_hash.encode_to(&mut out),
            Action::Reveal {
                uids,
                values,
                salt,
                version_key,
            } => (uids, values, salt, version_key).encode_to(&mut out),
            Action::CommitTimelocked {
                commit,
                reveal_round,
                commit_reveal_version,
            } => {
                (commit, reveal_round).encode_to(&mut out);
                if self.name != "commit_crv3_mechanism_weights" {
                    commit_reveal_version.encode_to(&mut out);
                }
            }
        }
        out
    }

    /// The call's declared dispatch weight (reference time) with RocksDB read and write
    /// costs, as the extrinsic's events report it.
    pub fn weight(&self) -> u64 {
        const READ: u64 = 25_000_000;
        const WRITE: u64 = 100_000_000;
        let (base, reads) = match self.name.as_str() {
            "set_weights" | "set_mechanism_weights" => (15_540_000_000, 4111),
            "commit_weights" => (67_770_000, 10),
            "commit_mechanism_weights" => (55_130_000, 7),
            "reveal_weights" => (122_000_000, 17),
            "reveal_mechanism_weights" => (122_000_000, 16),
            "commit_timelocked_weights" => (63_160_000, 10),
            "commit_timelocked_mechanism_weights" => (84_020_000, 9),
            _ => (77_750_000, 7),
        };
        base + reads * READ + 2 * WRITE
    }
}

/// A call the double understood, or one it has no model for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    /// A weights call.
    Weights(WeightsCall),
    /// A call the runtime has and the double does not model.
    Unmodelled {
        /// Pallet name.
        pallet: String,
        /// Call name.
        call: String,
    },
}

fn decode_all<T: Decode>(input: &mut &[u8]) -> Result<T, parity_scale_codec::Error> {
    T::decode(input)
}

fn bounded_commit(input: &mut &[u8]) -> Result<Vec<u8>, FormatError> {
    let len = Compact::<u32>::decode(input)?.0 as usize;
    if len > MAX_TIMELOCKED_COMMIT_BYTES {
        return Err(FormatError("BoundedVec exceeds its limit".to_owned()));
    }
    let mut commit = vec![0u8; len];
    input.read(&mut commit)?;
    Ok(commit)
}

impl Call {
    /// Decodes an encoded call (pallet index, call index, arguments), requiring every byte to
    /// be used, as the runtime's decoder does.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let [pallet_index, call_index, ..] = bytes else {
            return Err(FormatError("Not enough data to fill buffer".to_owned()));
        };
        let Some((pallet, call)) = metadata().call_name(*pallet_index, *call_index) else {
            return Err(FormatError(
                "Could not decode `RuntimeCall`, variant doesn't exist".to_owned(),
            ));
        };
        if pallet != "SubtensorModule" {
            return Ok(Self::Unmodelled {
                pallet: pallet.to_owned(),
                call: call.to_owned(),
            });
        }
        let input = &mut &bytes[2..];
        let (netuid, mecid, action) = match call {
            "set_weights" | "set_mechanism_weights" => {
                let netuid: u16 = decode_all(input)?;
                let mecid: u8 = if call == "set_weights" {
                    0
                } else {
                    decode_all(input)?
                };
                let action = Action::Set {
                    dests: decode_all(input)?,
                    weights: decode_all(input)?,
                    version_key: decode_all(input)?,
                };
                (netuid, mecid, action)
            }
            "commit_weights" | "commit_mechanism_weights" => {
                let netuid: u16 = decode_all(input)?;
                let mecid: u8 = if call == "commit_weights" {
                    0
                } else {
                    decode_all(input)?
                };
                let action = Action::Commit {
                    commit_hash: decode_all(input)?,
                };
                (netuid, mecid, action)
            }
            "reveal_weights" | "reveal_mechanism_weights" => {
                let netuid: u16 = decode_all(input)?;
                let mecid: u8 = if call == "reveal_weights" {
                    0
                } else {
                    decode_all(input)?
                };
                let action = Action::Reveal {
                    uids: decode_all(input)?,
                    values: decode_all(input)?,
                    salt: decode_all(input)?,
                    version_key: decode_all(input)?,
                };
                (netuid, mecid, action)
            }
            "commit_timelocked_weights"
            | "commit_timelocked_mechanism_weights"
            | "commit_crv3_mechanism_weights" => {
                let netuid: u16 = decode_all(input)?;
                let mecid: u8 = if call == "commit_timelocked_weights" {
                    0
                } else {
                    decode_all(input)?
                };
                let commit = bounded_commit(input)?;
                let reveal_round: u64 = decode_all(input)?;
                let commit_reveal_version: u16 = if call == "commit_crv3_mechanism_weights" {
                    DEFAULT_COMMIT_REVEAL_VERSION
                } else {
                    decode_all(input)?
                };
                let action = Action::CommitTimelocked {
                    commit,
                    reveal_round,
                    commit_reveal_version,
                };
                (netuid, mecid, action)
            }
            _ => {
                return Ok(Self::Unmodelled {
                    pallet: pallet.to_owned(),
                    call: call.to_owned(),
                });
            }
        };
        if !input.is_empty() {
            return Err(FormatError(
                "Could not decode `RuntimeCall`: input too long".to_owned(),
            ));
        }
        Ok(Self::Weights(WeightsCall {
            name: call.to_owned(),
            netuid,
            mecid,
            action,
        }))
    }
}

/// The commit hash subtensor compares a reveal against: blake2b-256 of the SCALE tuple
/// `(hotkey, netuid_index, uids, values, salt, version_key)`.
pub fn commit_hash(
    who: &AccountId,
    netuid_index: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> H256 {
    let preimage = (who, netuid_index, uids, values, salt, version_key).encode();
    H256(blake2_256(&preimage))
}

/// The epoch a block belongs to: `(block + netuid + 1) / (tempo + 1)`.
pub fn epoch_index(netuid: u16, tempo: u16, block: u64) -> u64 {
    block
        .saturating_add(u64::from(netuid) + 1)
        .checked_div(u64::from(tempo) + 1)
        .unwrap_or(0)
}

/// Whether the subnet's epoch runs at `block` (`(block + netuid + 1) % (tempo + 1) == 0`).
pub fn epoch_runs_at(netuid: u16, tempo: u16, block: u64) -> bool {
    if tempo == 0 {
        return false;
    }
    let remainder = block.wrapping_add(u64::from(netuid) + 1) % (u64::from(tempo) + 1);
    u64::from(tempo).saturating_sub(remainder) == 0
}

/// The first and last block of the epoch in which a commit made at `commit_block` must be
/// revealed (`commit epoch + commit_reveal_period`).
pub fn reveal_blocks(subnet: &Subnet, commit_block: u64) -> (u64, u64) {
    let tempo = subnet.hyperparameters.tempo;
    let reveal_epoch = epoch_index(subnet.netuid, tempo, commit_block)
        .saturating_add(subnet.hyperparameters.commit_reveal_period);
    let first = reveal_epoch
        .saturating_mul(u64::from(tempo) + 1)
        .saturating_sub(u64::from(subnet.netuid) + 1);
    (first, first.saturating_add(u64::from(tempo)))
}

fn is_reveal_block_range(subnet: &Subnet, commit_block: u64, current: u64) -> bool {
    let tempo = subnet.hyperparameters.tempo;
    epoch_index(subnet.netuid, tempo, current)
        == epoch_index(subnet.netuid, tempo, commit_block)
            .saturating_add(subnet.hyperparameters.commit_reveal_period)
}

fn is_commit_expired(subnet: &Subnet, commit_block: u64, current: u64) -> bool {
    let tempo = subnet.hyperparameters.tempo;
    epoch_index(subnet.netuid, tempo, current)
        > epoch_index(subnet.netuid, tempo, commit_block)
            .saturating_add(subnet.hyperparameters.commit_reveal_period)
}

/// subtensor's `I32F32` arithmetic for the two weight formulas that use it, on the raw bits
/// (32 fractional bits) so results match the runtime's to the unit. Written out rather than
/// pulling in a fixed-point crate for two functions whose inputs are all non-negative.
mod fixed {
    const ONE: i128 = 1 << 32;
    const U16_MAX: i128 = 65_535 * ONE;

    fn from_u16(value: u16) -> i128 {
        i128::from(value) * ONE
    }

    fn mul(a: i128, b: i128) -> i128 {
        (a * b) >> 32
    }

    fn div(a: i128, b: i128) -> i128 {
        if b == 0 { 0 } else { (a << 32) / b }
    }

    /// Round half away from zero, then saturate into a u16.
    fn round_to_u16(value: i128) -> u16 {
        let rounded = (value + (ONE / 2)) >> 32;
        rounded.clamp(0, i128::from(u16::MAX)) as u16
    }

    /// `vec_u16_max_upscale_to_u16`: scale so the largest weight becomes 65535.
    pub fn max_upscale(values: &[u16]) -> Vec<u16> {
        let Some(max) = values.iter().copied().max().map(from_u16) else {
            return Vec::new();
        };
        if max == 0 {
            return vec![0; values.len()];
        }
        if max > from_u16(32_768) {
            let factor = div(U16_MAX, max);
            return values
                .iter()
                .map(|v| round_to_u16(mul(from_u16(*v), factor)))
                .collect();
        }
        values
            .iter()
            .map(|v| round_to_u16(div(mul(from_u16(*v), U16_MAX), max)))
            .collect()
    }

    /// `check_vec_max_limited`: whether the largest weight, normalised to sum 1, is at most
    /// `limit / 65535`.
    pub fn max_limited(values: &[u16], limit: u16) -> bool {
        let limit = div(from_u16(limit), U16_MAX);
        let sum: i128 = values.iter().map(|v| from_u16(*v)).sum();
        if sum == 0 {
            return values.iter().all(|v| from_u16(*v) <= limit);
        }
        values.iter().all(|v| div(from_u16(*v), sum) <= limit)
    }
}

pub use fixed::{max_limited, max_upscale};

fn is_self_weight(uid: u16, uids: &[u16], weights: &[u16]) -> bool {
    weights.len() == 1 && uids.first() == Some(&uid)
}

fn commit_reveal_enabled(state: &State, netuid: u16) -> bool {
    // CommitRevealWeightsEnabled defaults to true for a netuid with no value, even one with no
    // subnet: set_weights on an unknown netuid fails with CommitRevealEnabled, as on chain.
    state
        .subnets
        .get(&netuid)
        .is_none_or(|s| s.hyperparameters.commit_reveal_weights_enabled)
}

fn stake_of(state: &State, netuid: u16, who: &AccountId) -> u64 {
    state
        .subnets
        .get(&netuid)
        .and_then(|s| {
            s.uid_of(who)
                .map(|uid| s.neurons[usize::from(uid)].total_stake())
        })
        .unwrap_or(0)
}

fn has_min_stake(state: &State, netuid: u16, who: &AccountId) -> bool {
    stake_of(state, netuid, who) >= state.stake_threshold
}

/// The transaction extension's pool-level checks (`SubtensorTransactionExtension::validate`)
/// at block `current`.
pub fn validate(
    state: &State,
    who: &AccountId,
    call: &WeightsCall,
    current: u64,
) -> Result<(), InvalidTransaction> {
    if !call.legacy() {
        return Ok(());
    }
    if !has_min_stake(state, call.netuid, who) {
        return Err(InvalidTransaction::Custom(custom::STAKE_AMOUNT_TOO_LOW));
    }
    if let Action::Reveal {
        uids,
        values,
        salt,
        version_key,
    } = &call.action
    {
        // The extension hashes with the plain netuid and searches every stored commit.
        let hash = commit_hash(who, call.netuid, uids, values, salt, *version_key);
        let found = state.subnets.values().find_map(|subnet| {
            subnet.mechanisms.iter().find_map(|mechanism| {
                mechanism.commits.values().find_map(|queue| {
                    queue
                        .iter()
                        .find(|c| c.hash == hash)
                        .map(|c| c.commit_block)
                })
            })
        });
        let Some(commit_block) = found else {
            return Err(InvalidTransaction::Custom(custom::COMMIT_NOT_FOUND));
        };
        let in_range = state
            .subnets
            .get(&call.netuid)
            .is_some_and(|subnet| is_reveal_block_range(subnet, commit_block, current));
        if !in_range {
            return Err(InvalidTransaction::Custom(
                custom::COMMIT_BLOCK_NOT_IN_REVEAL_RANGE,
            ));
        }
    }
    Ok(())
}

type Dispatched = Result<Vec<Event>, DispatchError>;

fn fail<T>(name: &str) -> Result<T, DispatchError> {
    Err(DispatchError::subtensor(name))
}

/// The subnet and mechanism index if the mechanism exists (`ensure_mechanism_exists`).
fn mechanism_exists(state: &State, netuid: u16, mecid: u8) -> Result<(), DispatchError> {
    match state.subnets.get(&netuid) {
        Some(subnet) if usize::from(mecid) < subnet.mechanisms.len() => Ok(()),
        _ => fail("MechanismDoesNotExist"),
    }
}

/// `check_rate_limit`: never set, or at least the rate limit of blocks since the last update.
fn rate_limit_passes(subnet: &Subnet, mecid: u8, uid: u16, current: u64) -> bool {
    let Some(mechanism) = subnet.mechanisms.get(usize::from(mecid)) else {
        return false;
    };
    if uid >= subnet.n() {
        return false;
    }
    let last = mechanism
        .last_update
        .get(usize::from(uid))
        .copied()
        .unwrap_or(0);
    last == 0 || current.saturating_sub(last) >= subnet.hyperparameters.weights_rate_limit
}

/// Applies a weights call signed by `who` in block `current` to `state`. On success the
/// call's pallet events are returned and `state` holds the change; on failure `state` is
/// untouched.
pub fn dispatch(
    state: &mut State,
    who: &AccountId,
    call: &WeightsCall,
    current: u64,
) -> Dispatched {
    match &call.action {
        Action::Set {
            dests,
            weights,
            version_key,
        } => {
            if commit_reveal_enabled(state, call.netuid) {
                return fail("CommitRevealEnabled");
            }
            let mut subnet = subnet_copy(state, call.netuid);
            let events = set_weights(
                state.stake_threshold,
                subnet.as_mut(),
                who,
                call.netuid,
                call.mecid,
                dests,
                weights,
                *version_key,
                current,
            )?;
            commit(state, subnet);
            Ok(events)
        }
        Action::Commit { commit_hash } => {
            mechanism_exists(state, call.netuid, call.mecid)?;
            if !commit_reveal_enabled(state, call.netuid) {
                return fail("CommitRevealDisabled");
            }
            let mut subnet = subnet_copy(state, call.netuid).expect("the mechanism exists");
            let Some(uid) = subnet.uid_of(who) else {
                return fail("HotKeyNotRegisteredInSubNet");
            };
            if !rate_limit_passes(&subnet, call.mecid, uid, current) {
                return fail("CommittingWeightsTooFast");
            }
            let (first, last) = reveal_blocks(&subnet, current);
            let expired: Vec<bool> = subnet.mechanisms[usize::from(call.mecid)]
                .commits
                .get(who)
                .map(|q| {
                    q.iter()
                        .map(|c| is_commit_expired(&subnet, c.commit_block, current))
                        .collect()
                })
                .unwrap_or_default();
            let mechanism = &mut subnet.mechanisms[usize::from(call.mecid)];
            let queue = mechanism.commits.entry(*who).or_default();
            for gone in expired {
                if !gone {
                    break;
                }
                queue.pop_front();
            }
            if queue.len() >= MAX_UNREVEALED_COMMITS {
                return fail("TooManyUnrevealedCommits");
            }
            queue.push_back(Commit {
                hash: *commit_hash,
                commit_block: current,
                first_reveal_block: first,
                last_reveal_block: last,
            });
            mechanism.last_update[usize::from(uid)] = current;
            commit(state, Some(subnet));
            Ok(vec![Event::WeightsCommitted {
                who: *who,
                netuid_index: call.netuid_index(),
                hash: *commit_hash,
            }])
        }
        Action::Reveal {
            uids,
            values,
            salt,
            version_key,
        } => {
            if !commit_reveal_enabled(state, call.netuid) {
                return fail("CommitRevealDisabled");
            }
            let mut subnet = subnet_copy(state, call.netuid);
            let events = reveal(
                state.stake_threshold,
                subnet.as_mut(),
                who,
                call,
                (uids, values, salt, *version_key),
                current,
            )?;
            commit(state, subnet);
            Ok(events)
        }
        Action::CommitTimelocked {
            commit: ciphertext,
            reveal_round,
            commit_reveal_version,
        } => {
            mechanism_exists(state, call.netuid, call.mecid)?;
            if !commit_reveal_enabled(state, call.netuid) {
                return fail("CommitRevealDisabled");
            }
            if *commit_reveal_version != state.commit_reveal_version {
                return fail("IncorrectCommitRevealVersion");
            }
            let mut subnet = subnet_copy(state, call.netuid).expect("the mechanism exists");
            let Some(uid) = subnet.uid_of(who) else {
                return fail("HotKeyNotRegisteredInSubNet");
            };
            if !rate_limit_passes(&subnet, call.mecid, uid, current) {
                return fail("CommittingWeightsTooFast");
            }
            let tempo = subnet.hyperparameters.tempo;
            let mut epoch = epoch_index(call.netuid, tempo, current);
            if epoch_runs_at(call.netuid, tempo, current) {
                epoch += 1;
            }
            let mechanism = &mut subnet.mechanisms[usize::from(call.mecid)];
            let commits = mechanism.timelocked.entry(epoch).or_default();
            if commits.iter().filter(|c| &c.who == who).count() >= MAX_UNREVEALED_COMMITS {
                return fail("TooManyUnrevealedCommits");
            }
            commits.push(TimelockedCommit {
                who: *who,
                commit_block: current,
                commit: ciphertext.clone(),
                reveal_round: *reveal_round,
            });
            mechanism.last_update[usize::from(uid)] = current;
            commit(state, Some(subnet));
            Ok(vec![Event::TimelockedWeightsCommitted {
                who: *who,
                netuid_index: call.netuid_index(),
                hash: H256(blake2_256(ciphertext)),
                reveal_round: *reveal_round,
            }])
        }
    }
}

fn subnet_copy(state: &State, netuid: u16) -> Option<Subnet> {
    state.subnets.get(&netuid).map(|s| Subnet::clone(s))
}

fn commit(state: &mut State, subnet: Option<Subnet>) {
    if let Some(subnet) = subnet {
        state.subnets.insert(subnet.netuid, Arc::new(subnet));
    }
}

type RevealArgs<'a> = (&'a [u16], &'a [u16], &'a [u16], u64);

fn reveal(
    stake_threshold: u64,
    subnet: Option<&mut Subnet>,
    who: &AccountId,
    call: &WeightsCall,
    (uids, values, salt, version_key): RevealArgs<'_>,
    current: u64,
) -> Dispatched {
    let Some(subnet) = subnet else {
        return fail("NoWeightsCommitFound");
    };
    let mecid = usize::from(call.mecid);
    let Some(mut queue) = subnet
        .mechanisms
        .get(mecid)
        .and_then(|m| m.commits.get(who))
        .cloned()
    else {
        return fail("NoWeightsCommitFound");
    };
    let mut expired = Vec::new();
    while let Some(front) = queue.front() {
        if !is_commit_expired(subnet, front.commit_block, current) {
            break;
        }
        expired.push(front.hash);
        queue.pop_front();
    }
    let hash = commit_hash(who, call.netuid_index(), uids, values, salt, version_key);
    if queue.is_empty() {
        return if expired.contains(&hash) {
            fail("ExpiredWeightCommit")
        } else {
            fail("NoWeightsCommitFound")
        };
    }
    let Some(position) = queue.iter().position(|c| c.hash == hash) else {
        return if expired.contains(&hash) {
            fail("ExpiredWeightCommit")
        } else {
            fail("InvalidRevealCommitHashNotMatch")
        };
    };
    if !is_reveal_block_range(subnet, queue[position].commit_block, current) {
        return fail("RevealTooEarly");
    }
    queue.drain(..=position);
    let commits = &mut subnet.mechanisms[mecid].commits;
    if queue.is_empty() {
        commits.remove(who);
    } else {
        commits.insert(*who, queue);
    }
    let mut events = set_weights(
        stake_threshold,
        Some(&mut *subnet),
        who,
        call.netuid,
        call.mecid,
        uids,
        values,
        version_key,
        current,
    )?;
    let uid = subnet
        .uid_of(who)
        .expect("set_weights passed its registration check");
    subnet.mechanisms[mecid].reveals.push(Reveal {
        hotkey: *who,
        uid,
        block: current,
        commit_hash: hash,
        uids: uids.to_vec(),
        values: values.to_vec(),
        salt: salt.to_vec(),
        version_key,
    });
    events.push(Event::WeightsRevealed {
        who: *who,
        netuid_index: call.netuid_index(),
        hash,
    });
    Ok(events)
}

/// `internal_set_weights`, checks in the runtime's order, on `subnet` (the caller's copy).
#[expect(
    clippy::too_many_arguments,
    reason = "mirrors the runtime function's arguments one for one"
)]
fn set_weights(
    stake_threshold: u64,
    subnet: Option<&mut Subnet>,
    who: &AccountId,
    netuid: u16,
    mecid: u8,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
    current: u64,
) -> Dispatched {
    if netuid == 0 {
        return fail("CanNotSetRootNetworkWeights");
    }
    if uids.len() != values.len() {
        return fail("WeightVecNotEqualSize");
    }
    let Some(subnet) = subnet.filter(|s| usize::from(mecid) < s.mechanisms.len()) else {
        return fail("MechanismDoesNotExist");
    };
    if uids.len() > usize::from(subnet.n()) {
        return fail("UidsLengthExceedUidsInSubNet");
    }
    let Some(uid) = subnet.uid_of(who) else {
        return fail("HotKeyNotRegisteredInSubNet");
    };
    if subnet.neurons[usize::from(uid)].total_stake() < stake_threshold {
        return fail("NotEnoughStakeToSetWeights");
    }
    let params = &subnet.hyperparameters;
    if params.weights_version != 0 && version_key < params.weights_version {
        return fail("IncorrectWeightVersionKey");
    }
    let commit_reveal = params.commit_reveal_weights_enabled;
    if !commit_reveal && !rate_limit_passes(subnet, mecid, uid, current) {
        return fail("SettingWeightsTooFast");
    }
    let self_weight = is_self_weight(uid, uids, values);
    if !self_weight && !subnet.neurons[usize::from(uid)].validator_permit {
        return fail("NeuronNoValidatorPermit");
    }
    let mut seen = std::collections::HashSet::new();
    if !uids.iter().all(|u| seen.insert(*u)) {
        return fail("DuplicateUids");
    }
    if uids.iter().any(|u| *u >= subnet.n()) {
        return fail("UidVecContainInvalidOne");
    }
    let min_allowed = usize::from(params.min_allowed_weights.min(subnet.n()));
    if !self_weight && values.len() < min_allowed {
        return fail("WeightVecLengthIsLow");
    }
    let upscaled = max_upscale(values);
    if !self_weight
        && params.max_weights_limit != u16::MAX
        && !max_limited(&upscaled, params.max_weights_limit)
    {
        return fail("MaxWeightExceeded");
    }
    let mechanism = &mut subnet.mechanisms[usize::from(mecid)];
    mechanism.weights.insert(
        uid,
        WeightsEntry {
            weights: uids.iter().copied().zip(upscaled).collect(),
            block: current,
        },
    );
    if !commit_reveal {
        mechanism.last_update[usize::from(uid)] = current;
    }
    Ok(vec![Event::WeightsSet {
        netuid_index: u16::from(mecid)
            .saturating_mul(crate::metagraph::MAX_SUBNETS)
            .saturating_add(netuid),
        uid,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_upscale_matches_the_runtimes_fixed_point_results() {
        // The SDK's [0.1, 0.4, 0.3, 0.2] already max-normalised: unchanged.
        assert_eq!(
            max_upscale(&[16384, 65535, 49151, 32768]),
            vec![16384, 65535, 49151, 32768]
        );
        // Small values scale up so the largest is 65535.
        assert_eq!(max_upscale(&[1, 2, 4]), vec![16384, 32768, 65535]);
        assert_eq!(max_upscale(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale(&[]), Vec::<u16>::new());
        assert_eq!(max_upscale(&[3]), vec![65535]);
    }

    #[test]
    fn the_max_weight_limit_compares_the_normalised_largest_weight() {
        // 65535 of a total 131070 is one half.
        assert!(max_limited(&[65535, 65535], 32768));
        assert!(!max_limited(&[65535, 65535], 32767));
        assert!(!max_limited(&[65535], 60000));
    }

    #[test]
    fn epochs_follow_the_netuid_offset() {
        // tempo 99, netuid 1: blocks 98..=197 are epoch 1.
        assert_eq!(epoch_index(1, 99, 97), 0);
        assert_eq!(epoch_index(1, 99, 98), 1);
        assert_eq!(epoch_index(1, 99, 197), 1);
        assert_eq!(epoch_index(1, 99, 198), 2);
        // The epoch runs in the last block of an epoch, when blocks_until_next_epoch is 0.
        assert!(epoch_runs_at(1, 99, 97));
        assert!(!epoch_runs_at(1, 99, 98));
        assert!(!epoch_runs_at(1, 0, 97));
    }
}
