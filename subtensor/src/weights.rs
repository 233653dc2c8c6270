//! Weights as the chain takes them: the SDK's float-to-u16 conversion, the commit hash,
//! and the chain's rules on count and size.
//!
//! [`convert_weights`] is the SDK's `convert_and_normalize_weights_and_uids`: inputs
//! become float32 (numpy's cast), then each is divided by the largest in float64 and
//! rounded with Python's `round` (half to even) after scaling by 65535; zeros are dropped
//! and the input order kept. [`commit_hash`] is `generate_weight_hash` (and the chain's
//! `get_commit_hash`). [`check_weight_rules`] applies the checks of subtensor's
//! `internal_set_weights` that depend only on the weights and the subnet's parameters.

use parity_scale_codec::Encode;
use rand::Rng;
use thiserror::Error;

use crate::extrinsic::blake2_256;

/// The chain's fixed-point one: weights are u16 with `u16::MAX` the largest.
pub const U16_MAX: u16 = u16::MAX;

/// Why weights cannot be converted.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightsError {
    /// A negative weight (the SDK's "Passed weight is negative cannot exist on chain").
    #[error("weight {0} is negative; weights on chain are not")]
    NegativeWeight(f64),
    /// A weight that is NaN or infinite.
    #[error("weight {0} is not a finite number")]
    NotFinite(f64),
    /// A negative uid (the SDK's "Passed uid is negative cannot exist on chain").
    #[error("uid {0} is negative; uids on chain are not")]
    NegativeUid(i64),
    /// A uid past `u16::MAX`.
    #[error("uid {0} does not fit in u16")]
    UidTooLarge(i64),
    /// Different numbers of uids and weights.
    #[error("weights and uids must have the same length, got {uids} and {weights}")]
    LengthMismatch {
        /// How many uids.
        uids: usize,
        /// How many weights.
        weights: usize,
    },
}

/// The SDK's conversion of float weights for `uids` into the u16 weights sent on chain.
///
/// Each weight is first cast to float32, as the SDK's numpy arrays do, then scaled
/// so the largest is 65535 and rounded half to even. Zero results are dropped with their
/// uid; input order is kept; all-zero (or empty) input gives two empty lists.
pub fn convert_weights(
    uids: &[i64],
    weights: &[f64],
) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    let weights: Vec<f64> = weights
        .iter()
        .map(|weight| f64::from(*weight as f32))
        .collect();
    // The SDK checks in this order: negative weight, negative uid, then lengths.
    if let Some(bad) = weights.iter().find(|weight| !weight.is_finite()) {
        return Err(WeightsError::NotFinite(*bad));
    }
    if let Some(negative) = weights.iter().find(|weight| **weight < 0.0) {
        return Err(WeightsError::NegativeWeight(*negative));
    }
    if let Some(negative) = uids.iter().find(|uid| **uid < 0) {
        return Err(WeightsError::NegativeUid(*negative));
    }
    if let Some(large) = uids.iter().find(|uid| **uid > i64::from(u16::MAX)) {
        return Err(WeightsError::UidTooLarge(*large));
    }
    if uids.len() != weights.len() {
        return Err(WeightsError::LengthMismatch {
            uids: uids.len(),
            weights: weights.len(),
        });
    }
    let sum: f64 = weights.iter().sum();
    if sum == 0.0 {
        return Ok((Vec::new(), Vec::new()));
    }
    let max = weights.iter().copied().fold(f64::MIN, f64::max);
    let mut out_uids = Vec::with_capacity(uids.len());
    let mut out_weights = Vec::with_capacity(uids.len());
    for (uid, weight) in uids.iter().zip(&weights) {
        let scaled = (weight / max * f64::from(U16_MAX)).round_ties_even();
        if scaled != 0.0 {
            out_uids.push(*uid as u16);
            out_weights.push(scaled as u16);
        }
    }
    Ok((out_uids, out_weights))
}

/// The storage index of a subnet's mechanism: `mecid × 4096 + netuid`, which is what
/// commit hashes and timelocked commits are bound to.
pub fn mechanism_storage_index(netuid: u16, mecid: u8) -> u16 {
    (u16::from(mecid) << 12).wrapping_add(netuid)
}

/// The epoch `block` is in for a subnet: `(block + netuid + 1) / (tempo + 1)`, as the chain
/// counts them for commit-reveal.
pub fn epoch_index(netuid: u16, tempo: u16, block: u64) -> u64 {
    block
        .saturating_add(u64::from(netuid) + 1)
        .checked_div(u64::from(tempo) + 1)
        .unwrap_or(0)
}

/// The first and last block in which a hash commit made in `commit_block` may be revealed:
/// the whole epoch `commit_reveal_period` epochs after the commit's (the chain's
/// `is_reveal_block_range`). Before it a reveal is `RevealTooEarly`, after it the commit has
/// expired (`ExpiredWeightCommit`).
pub fn reveal_window(
    netuid: u16,
    tempo: u16,
    commit_reveal_period: u64,
    commit_block: u64,
) -> (u64, u64) {
    let reveal_epoch =
        epoch_index(netuid, tempo, commit_block).saturating_add(commit_reveal_period);
    let first = reveal_epoch
        .saturating_mul(u64::from(tempo) + 1)
        .saturating_sub(u64::from(netuid) + 1);
    (first, first.saturating_add(u64::from(tempo)))
}

/// The commit hash of a hash commit: blake2b-256 of the SCALE tuple
/// `(hotkey public key, netuid_index, uids, values, salt, version_key)`.
///
/// `values` must be the final u16 weights, exactly as they will be revealed (max-upscaled,
/// as [`convert_weights`] makes them): the chain recomputes this hash from the reveal.
pub fn commit_hash(
    hotkey: &[u8; 32],
    netuid_index: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    blake2_256(&commit_preimage(
        hotkey,
        netuid_index,
        uids,
        values,
        salt,
        version_key,
    ))
}

/// The bytes [`commit_hash`] hashes.
pub fn commit_preimage(
    hotkey: &[u8; 32],
    netuid_index: u16,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Vec<u8> {
    (hotkey, netuid_index, uids, values, salt, version_key).encode()
}

/// A fresh random salt of `len` u16 values (the SDK uses 8).
pub fn random_salt(len: usize) -> Vec<u16> {
    let mut rng = rand::rng();
    (0..len).map(|_| rng.random()).collect()
}

/// What the chain knows when it checks a validator's weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightRules {
    /// The validator's own uid.
    pub own_uid: u16,
    /// How many neurons the subnet has (`SubnetworkN`).
    pub subnet_n: u16,
    /// The `min_allowed_weights` hyperparameter.
    pub min_allowed_weights: u16,
    /// The `max_weights_limit` hyperparameter (65535: no limit).
    pub max_weights_limit: u16,
}

/// A rule of `internal_set_weights` the weights break, named as the chain's error.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum WeightRuleError {
    /// `WeightVecNotEqualSize`.
    #[error("WeightVecNotEqualSize: {uids} uids but {values} weights")]
    WeightVecNotEqualSize {
        /// How many uids.
        uids: usize,
        /// How many weights.
        values: usize,
    },
    /// `UidsLengthExceedUidsInSubNet`.
    #[error("UidsLengthExceedUidsInSubNet: {count} uids on a subnet of {subnet_n}")]
    UidsLengthExceedUidsInSubNet {
        /// How many uids.
        count: usize,
        /// The subnet's size.
        subnet_n: u16,
    },
    /// `DuplicateUids`.
    #[error("DuplicateUids: uid {0} appears more than once")]
    DuplicateUids(u16),
    /// `UidVecContainInvalidOne`.
    #[error("UidVecContainInvalidOne: uid {uid} is not on a subnet of {subnet_n}")]
    UidVecContainInvalidOne {
        /// The uid.
        uid: u16,
        /// The subnet's size.
        subnet_n: u16,
    },
    /// `WeightVecLengthIsLow`.
    #[error("WeightVecLengthIsLow: {count} weights, the subnet requires at least {min}")]
    WeightVecLengthIsLow {
        /// How many weights.
        count: usize,
        /// The required minimum.
        min: usize,
    },
    /// `MaxWeightExceeded`.
    #[error("MaxWeightExceeded: one weight takes {share:.6} of the total, the limit is {limit:.6}")]
    MaxWeightExceeded {
        /// The largest weight's share of the sum.
        share: f64,
        /// `max_weights_limit / 65535`.
        limit: f64,
    },
}

/// Checks weights as subtensor's `internal_set_weights` does, for the rules that need
/// only the weights and the subnet's parameters (registration, stake, version key and
/// rate limit need chain state and are the node's to judge).
///
/// Uids count as valid when below `subnet_n` (uids on a subnet are dense). A single
/// weight on the validator's own uid is a self-weight, which the chain exempts from the
/// length and size rules. The size rule compares each weight's share of the sum, after
/// max-upscaling, with `max_weights_limit / 65535`, in the chain's I32F32 arithmetic.
pub fn check_weight_rules(
    uids: &[u16],
    values: &[u16],
    rules: &WeightRules,
) -> Result<(), WeightRuleError> {
    if uids.len() != values.len() {
        return Err(WeightRuleError::WeightVecNotEqualSize {
            uids: uids.len(),
            values: values.len(),
        });
    }
    if uids.len() > usize::from(rules.subnet_n) {
        return Err(WeightRuleError::UidsLengthExceedUidsInSubNet {
            count: uids.len(),
            subnet_n: rules.subnet_n,
        });
    }
    for (position, uid) in uids.iter().enumerate() {
        if uids[..position].contains(uid) {
            return Err(WeightRuleError::DuplicateUids(*uid));
        }
    }
    if let Some(uid) = uids.iter().find(|uid| **uid >= rules.subnet_n) {
        return Err(WeightRuleError::UidVecContainInvalidOne {
            uid: *uid,
            subnet_n: rules.subnet_n,
        });
    }
    let self_weight = values.len() == 1 && uids.first() == Some(&rules.own_uid);
    if self_weight {
        return Ok(());
    }
    let min = usize::from(rules.min_allowed_weights.min(rules.subnet_n));
    if values.len() < min {
        return Err(WeightRuleError::WeightVecLengthIsLow {
            count: values.len(),
            min,
        });
    }
    if rules.max_weights_limit == u16::MAX || values.is_empty() {
        return Ok(());
    }
    let upscaled = max_upscale(values);
    let limit = fixed_div(
        i64::from(rules.max_weights_limit) << 32,
        i64::from(u16::MAX) << 32,
    );
    let sum: i64 = upscaled.iter().map(|value| i64::from(*value) << 32).sum();
    if sum == 0 {
        return Ok(());
    }
    let largest = upscaled
        .iter()
        .map(|value| fixed_div(i64::from(*value) << 32, sum))
        .max()
        .unwrap_or(0);
    if largest > limit {
        return Err(WeightRuleError::MaxWeightExceeded {
            share: largest as f64 / 4_294_967_296.0,
            limit: limit as f64 / 4_294_967_296.0,
        });
    }
    Ok(())
}

/// The chain's `vec_u16_max_upscale_to_u16`: scales u16 weights so the largest is
/// 65535, in I32F32 arithmetic as the chain does it.
pub fn max_upscale(values: &[u16]) -> Vec<u16> {
    let Some(&max) = values.iter().max() else {
        return Vec::new();
    };
    if max == 0 {
        return values.to_vec();
    }
    let u16_max = i64::from(u16::MAX) << 32;
    let max = i64::from(max) << 32;
    let threshold = 32768i64 << 32;
    values
        .iter()
        .map(|value| {
            let value = i64::from(*value) << 32;
            let scaled = if max > threshold {
                fixed_mul(value, fixed_div(u16_max, max))
            } else {
                fixed_div(fixed_mul(value, u16_max), max)
            };
            fixed_round_to_u16(scaled)
        })
        .collect()
}

// I32F32 multiplication and division (32 fractional bits), truncating like
// substrate-fixed.
fn fixed_mul(left: i64, right: i64) -> i64 {
    ((i128::from(left) * i128::from(right)) >> 32) as i64
}

fn fixed_div(numerator: i64, denominator: i64) -> i64 {
    ((i128::from(numerator) << 32) / i128::from(denominator)) as i64
}

// `round()` (half away from zero) then `saturating_to_num::<u16>()`.
fn fixed_round_to_u16(value: i64) -> u16 {
    let rounded = (value + (1 << 31)) >> 32;
    rounded.clamp(0, i64::from(u16::MAX)) as u16
}

/// The SDK's `normalize_max_weight`: rescales non-negative weights to sum to 1 with no
/// single weight above `limit`, by capping the largest at a common cutoff (float32
/// arithmetic as numpy does it). Use it to bring weights under `max_weights_limit / 65535`
/// before [`convert_weights`].
pub fn normalize_max_weight(weights: &[f32], limit: f32) -> Vec<f32> {
    const EPSILON: f32 = 1e-7;
    let n = weights.len();
    if n == 0 {
        return Vec::new();
    }
    let total: f32 = weights.iter().sum();
    if total == 0.0 || n as f32 * limit <= 1.0 {
        return vec![1.0 / n as f32; n];
    }
    let mut sorted = weights.to_vec();
    sorted.sort_by(f32::total_cmp);
    let sorted_sum: f32 = sorted.iter().sum();
    let estimation: Vec<f32> = sorted.iter().map(|value| value / sorted_sum).collect();
    if estimation.iter().copied().fold(f32::MIN, f32::max) <= limit {
        return weights.iter().map(|weight| weight / total).collect();
    }
    let mut cumsum = Vec::with_capacity(n);
    let mut running = 0.0f32;
    for value in &estimation {
        running += value;
        cumsum.push(running);
    }
    let n_values = (0..n)
        .filter(|&i| {
            let estimation_sum = (n - i - 1) as f32 * estimation[i];
            estimation[i] / (estimation_sum + cumsum[i] + EPSILON) < limit
        })
        .count();
    let cutoff_scale = (limit * cumsum[n_values.saturating_sub(1)] - EPSILON)
        / (1.0 - limit * (n - n_values) as f32);
    let cutoff = cutoff_scale * sorted_sum;
    let capped: Vec<f32> = weights.iter().map(|weight| weight.min(cutoff)).collect();
    let capped_sum: f32 = capped.iter().sum();
    capped.iter().map(|weight| weight / capped_sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(
        own_uid: u16,
        subnet_n: u16,
        min_allowed_weights: u16,
        max_weights_limit: u16,
    ) -> WeightRules {
        WeightRules {
            own_uid,
            subnet_n,
            min_allowed_weights,
            max_weights_limit,
        }
    }

    #[test]
    fn the_reveal_window_is_the_epoch_after_the_commits() {
        // tempo 9, netuid 1: epochs start where (block + 2) % 10 == 0, so 8, 18, 28, ...
        assert_eq!(epoch_index(1, 9, 7), 0);
        assert_eq!(epoch_index(1, 9, 8), 1);
        assert_eq!(reveal_window(1, 9, 1, 8), (18, 27));
        assert_eq!(reveal_window(1, 9, 1, 17), (18, 27));
        assert_eq!(reveal_window(1, 9, 2, 17), (28, 37));
        // finney-like: tempo 360, netuid 45.
        let (first, last) = reveal_window(45, 360, 1, 1000);
        assert_eq!((first + 46) % 361, 0);
        assert_eq!(last - first, 360);
        assert!(first > 1000);
    }

    #[test]
    fn too_few_weights_are_refused_unless_the_subnet_is_smaller_or_it_is_a_self_weight() {
        let sixteen = rules(0, 256, 16, u16::MAX);
        assert_eq!(
            check_weight_rules(&[1, 2], &[1, 2], &sixteen),
            Err(WeightRuleError::WeightVecLengthIsLow { count: 2, min: 16 })
        );
        // A subnet of 3 can only ever need 3.
        assert_eq!(
            check_weight_rules(&[0, 1, 2], &[1, 2, 3], &rules(0, 3, 16, u16::MAX)),
            Ok(())
        );
        // One weight on one's own uid is always allowed.
        assert_eq!(check_weight_rules(&[0], &[65535], &sixteen), Ok(()));
        assert!(check_weight_rules(&[1], &[65535], &sixteen).is_err());
    }

    #[test]
    fn a_weight_over_the_max_weight_limit_is_refused() {
        // Limit 0.5: [65535, 65535] is 0.5 each and passes; [65535, 32768] gives 2/3.
        let half = rules(9, 256, 1, 32768);
        assert_eq!(check_weight_rules(&[0, 1], &[65535, 65535], &half), Ok(()));
        assert!(matches!(
            check_weight_rules(&[0, 1], &[65535, 32768], &half),
            Err(WeightRuleError::MaxWeightExceeded { .. })
        ));
        // 65535 means no limit at all.
        assert_eq!(
            check_weight_rules(&[0, 1], &[65535, 1], &rules(9, 256, 1, u16::MAX)),
            Ok(())
        );
    }

    #[test]
    fn duplicate_and_unknown_uids_are_refused_by_the_chains_names() {
        let any = rules(0, 4, 1, u16::MAX);
        assert_eq!(
            check_weight_rules(&[1, 1], &[1, 2], &any),
            Err(WeightRuleError::DuplicateUids(1))
        );
        assert_eq!(
            check_weight_rules(&[1, 4], &[1, 2], &any),
            Err(WeightRuleError::UidVecContainInvalidOne {
                uid: 4,
                subnet_n: 4
            })
        );
        assert!(matches!(
            check_weight_rules(&[0, 1, 2, 3, 0], &[1; 5], &any),
            Err(WeightRuleError::UidsLengthExceedUidsInSubNet { .. })
        ));
        assert!(matches!(
            check_weight_rules(&[0, 1], &[1], &any),
            Err(WeightRuleError::WeightVecNotEqualSize { .. })
        ));
    }

    #[test]
    fn normalize_max_weight_caps_the_largest_share_and_sums_to_one() {
        let weights = [0.0, 0.1, 0.2, 0.7];
        let capped = normalize_max_weight(&weights, 0.4);
        let sum: f32 = capped.iter().sum();
        assert!((sum - 1.0).abs() < 1e-5);
        assert!(
            capped.iter().all(|weight| *weight <= 0.4 + 1e-5),
            "{capped:?}"
        );
        // Order and zeros stay where they were.
        assert_eq!(capped[0], 0.0);
        assert!(capped[1] < capped[2]);
        // Already under the limit: only normalised.
        assert_eq!(normalize_max_weight(&[1.0, 1.0], 0.6), vec![0.5, 0.5]);
        // A limit that n weights cannot meet spreads evenly.
        assert_eq!(normalize_max_weight(&[1.0, 0.0], 0.4), vec![0.5, 0.5]);
    }

    #[test]
    fn max_upscale_makes_the_largest_weight_65535() {
        assert_eq!(max_upscale(&[1, 2]), vec![32768, 65535]);
        assert_eq!(max_upscale(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale(&[]), Vec::<u16>::new());
    }

    #[test]
    fn the_mechanism_storage_index_puts_the_mechanism_above_the_netuid() {
        assert_eq!(mechanism_storage_index(1, 0), 1);
        assert_eq!(mechanism_storage_index(1, 1), 4097);
    }
}
