//! Signed extrinsics: era, signing payload, signature, bytes.
//!
//! The layout is Substrate's extrinsic format version 4, as subtensor's runtime takes it:
//! `Compact(len) ‖ 0x84 ‖ 0x00 ‖ public key ‖ 0x01 ‖ sr25519 signature ‖ extra ‖ call`,
//! where 0x84 is "signed, version 4", 0x00 the `MultiAddress::Id` variant and 0x01 the
//! `MultiSignature::Sr25519` variant. "extra" is what each transaction extension adds
//! to the extrinsic; the signature covers `call ‖ extra ‖ additional`, where
//! "additional" is what the extensions add only to the signing payload. A payload over
//! 256 bytes is signed as its blake2b-256 hash.

use blake2::Blake2b;
use blake2::digest::{Digest, consts::U32};
use parity_scale_codec::{Compact, Encode};
use protocol::Hotkey;

use crate::H256;
use crate::check::{ExtensionKind, SigningPlan};

/// The SDK's default mortality period (`DEFAULT_PERIOD`), in blocks.
pub const DEFAULT_ERA_PERIOD: u64 = 128;

/// blake2b-256, the hash Substrate uses for extrinsics, payloads and commits.
pub fn blake2_256(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// How long an extrinsic stays valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Valid forever (its checkpoint is the genesis hash).
    Immortal,
    /// Valid for `period` blocks from the block whose number is `phase` modulo `period`.
    Mortal {
        /// A power of two from 4 to 65536.
        period: u64,
        /// The birth block's position within the period.
        phase: u64,
    },
}

impl Era {
    /// A mortal era of (at least) `period` blocks starting at `current`, as Substrate
    /// builds it: the period is rounded up to a power of two within 4..=65536 and the
    /// phase quantised so that it fits the two-byte encoding.
    pub fn mortal(period: u64, current: u64) -> Self {
        let period = period
            .checked_next_power_of_two()
            .unwrap_or(1 << 16)
            .clamp(4, 1 << 16);
        let phase = current % period;
        let quantize = (period >> 12).max(1);
        Era::Mortal {
            period,
            phase: phase / quantize * quantize,
        }
    }

    /// The SCALE bytes: `0x00` for immortal, two bytes for mortal.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            Era::Immortal => vec![0],
            Era::Mortal { period, phase } => {
                let quantize = (period >> 12).max(1);
                let low = u64::from(period.trailing_zeros().saturating_sub(1).clamp(1, 15));
                let encoded = (low | ((phase / quantize) << 4)) as u16;
                encoded.to_le_bytes().to_vec()
            }
        }
    }

    /// The block the era starts at, for an extrinsic built at block `current`: its hash
    /// is the mortal checkpoint. Immortal eras start at genesis.
    pub fn birth(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => 0,
            Era::Mortal { period, phase } => (current.max(phase) - phase) / period * period + phase,
        }
    }

    /// The first block at which the extrinsic is no longer valid (`u64::MAX` if immortal).
    pub fn death(&self, current: u64) -> u64 {
        match *self {
            Era::Immortal => u64::MAX,
            Era::Mortal { period, .. } => self.birth(current) + period,
        }
    }
}

/// Everything besides the call that goes into a signed extrinsic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxParams {
    /// The runtime's spec version (`state_getRuntimeVersion`).
    pub spec_version: u32,
    /// The runtime's transaction version.
    pub transaction_version: u32,
    /// The chain's genesis hash.
    pub genesis_hash: H256,
    /// The era.
    pub era: Era,
    /// The hash of the era's birth block (the genesis hash for an immortal era).
    pub checkpoint: H256,
    /// The signer's account nonce (`system_accountNextIndex`).
    pub nonce: u32,
    /// The tip, in rao.
    pub tip: u64,
}

/// A signed extrinsic, ready to submit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedExtrinsic {
    /// The extrinsic, length prefix included: what `author_submitExtrinsic` takes.
    pub bytes: Vec<u8>,
    /// blake2b-256 of `bytes`: the hash the node reports for it.
    pub hash: H256,
    /// `call ‖ extra ‖ additional`.
    pub payload_preimage: Vec<u8>,
    /// What was signed: the preimage, or its blake2b-256 when over 256 bytes.
    pub signing_payload: Vec<u8>,
    /// The sr25519 signature.
    pub signature: [u8; 64],
    /// Offset of the signature within `bytes`.
    pub signature_offset: usize,
}

/// What the extensions add to the extrinsic ("extra"), in the plan's order.
pub fn extra(plan: &SigningPlan, params: &TxParams) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, kind) in plan.extensions() {
        match kind {
            ExtensionKind::Mortality => out.extend(params.era.encode()),
            ExtensionKind::Nonce => Compact(params.nonce).encode_to(&mut out),
            ExtensionKind::Tip => Compact(params.tip).encode_to(&mut out),
            // Mode::Disabled: no metadata hash is committed to.
            ExtensionKind::MetadataHashDisabled => out.push(0),
            ExtensionKind::Empty
            | ExtensionKind::SpecVersion
            | ExtensionKind::TxVersion
            | ExtensionKind::Genesis => {}
        }
    }
    out
}

/// What the extensions add only to the signing payload ("additional"), in the plan's order.
pub fn additional(plan: &SigningPlan, params: &TxParams) -> Vec<u8> {
    let mut out = Vec::new();
    for (_, kind) in plan.extensions() {
        match kind {
            ExtensionKind::SpecVersion => params.spec_version.encode_to(&mut out),
            ExtensionKind::TxVersion => params.transaction_version.encode_to(&mut out),
            ExtensionKind::Genesis => out.extend_from_slice(&params.genesis_hash.0),
            ExtensionKind::Mortality => out.extend_from_slice(&params.checkpoint.0),
            // Option<[u8; 32]>::None: no metadata hash.
            ExtensionKind::MetadataHashDisabled => out.push(0),
            ExtensionKind::Empty | ExtensionKind::Nonce | ExtensionKind::Tip => {}
        }
    }
    out
}

/// The bytes an extrinsic's signature covers: `call ‖ extra ‖ additional`, hashed with
/// blake2b-256 when longer than 256 bytes.
pub fn signing_payload(preimage: &[u8]) -> Vec<u8> {
    if preimage.len() > 256 {
        blake2_256(preimage).to_vec()
    } else {
        preimage.to_vec()
    }
}

/// Builds and signs the extrinsic for `call` (SCALE-encoded) with `hotkey`.
pub fn sign(
    call: &[u8],
    hotkey: &Hotkey,
    plan: &SigningPlan,
    params: &TxParams,
) -> SignedExtrinsic {
    let extra = extra(plan, params);
    let mut preimage = Vec::with_capacity(call.len() + extra.len() + 128);
    preimage.extend_from_slice(call);
    preimage.extend_from_slice(&extra);
    preimage.extend(additional(plan, params));
    let payload = signing_payload(&preimage);
    let signature = hotkey.sign(&payload);

    let mut body = Vec::with_capacity(1 + 1 + 32 + 1 + 64 + extra.len() + call.len());
    body.push(0x84); // signed, extrinsic format version 4
    body.push(0x00); // MultiAddress::Id
    body.extend_from_slice(&hotkey.public_key());
    body.push(0x01); // MultiSignature::Sr25519
    let signature_at = body.len();
    body.extend_from_slice(&signature);
    body.extend_from_slice(&extra);
    body.extend_from_slice(call);

    let mut bytes = Compact(body.len() as u32).encode();
    let signature_offset = bytes.len() + signature_at;
    bytes.extend(body);
    SignedExtrinsic {
        hash: H256(blake2_256(&bytes)),
        bytes,
        payload_preimage: preimage,
        signing_payload: payload,
        signature,
        signature_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_default_mortal_era_encodes_as_recorded() {
        // The SDK's vector: period 128 at block 6852690 is era 0x2605, born at that block.
        let era = Era::mortal(DEFAULT_ERA_PERIOD, 6_852_690);
        assert_eq!(
            era,
            Era::Mortal {
                period: 128,
                phase: 82
            }
        );
        assert_eq!(era.encode(), vec![0x26, 0x05]);
        assert_eq!(era.birth(6_852_690), 6_852_690);
        assert_eq!(era.birth(6_852_700), 6_852_690);
        assert_eq!(era.death(6_852_690), 6_852_818);
        assert_eq!(Era::Immortal.encode(), vec![0]);
    }

    #[test]
    fn mortal_periods_round_up_to_a_power_of_two_within_bounds() {
        assert!(matches!(
            Era::mortal(100, 1000),
            Era::Mortal { period: 128, .. }
        ));
        assert!(matches!(
            Era::mortal(1, 1000),
            Era::Mortal { period: 4, .. }
        ));
        assert!(matches!(
            Era::mortal(1 << 20, 1000),
            Era::Mortal { period: 65536, .. }
        ));
        // Long periods quantise the phase so it fits in 12 bits.
        let era = Era::mortal(65536, 70_001);
        let Era::Mortal { phase, .. } = era else {
            unreachable!()
        };
        assert_eq!(phase % 16, 0);
        assert!(era.birth(70_001) <= 70_001);
    }

    #[test]
    fn long_payloads_are_signed_as_their_hash() {
        assert_eq!(signing_payload(&[1; 256]), vec![1; 256]);
        assert_eq!(signing_payload(&[1; 257]), blake2_256(&[1; 257]).to_vec());
    }
}
