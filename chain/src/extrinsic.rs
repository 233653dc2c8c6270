//! Signed extrinsics in the v4 format the SDK sends, taken apart and put together.
//!
//! Layout: `Compact(len) ‖ 0x84 ‖ MultiAddress ‖ MultiSignature ‖ extra ‖ call`, where `extra` is
//! what the runtime's eleven transaction extensions add to the extrinsic, in order:
//! `CheckMortality` an [`Era`], `CheckNonce` a `Compact<u32>`, `ChargeTransactionPayment` a
//! `Compact<u64>` tip and `CheckMetadataHash` a mode byte (the other eight add nothing). The
//! signature covers `call ‖ extra ‖ additional`, or its blake2b-256 when that is over 256 bytes;
//! `additional` is spec version, transaction version, genesis hash, the era's checkpoint block
//! hash and the metadata-hash option, which the signer and the node each compute on their side.

use parity_scale_codec::{Compact, Decode, Encode, Input};

use crate::scale::{AccountId, H256, blake2_256};

/// The version byte of a signed v4 extrinsic: bit 7 set (signed), format 4.
pub const SIGNED_V4: u8 = 0x84;
/// The version byte of an unsigned (bare) v4 extrinsic, such as an inherent.
pub const UNSIGNED_V4: u8 = 0x04;

/// A transaction's mortality (`sp_runtime::generic::Era`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Era {
    /// Valid forever; the checkpoint is the genesis hash.
    Immortal,
    /// Valid for `period` blocks from the block whose number is `phase` modulo `period`.
    Mortal {
        /// A power of two from 4 to 65536.
        period: u64,
        /// The birth block's number modulo `period` (quantised for periods over 4096).
        phase: u64,
    },
}

impl Era {
    /// The era the SDK and subxt build for "valid for about `period` blocks from `current`":
    /// the period rounds up to a power of two within 4..=65536.
    pub fn mortal(period: u64, current: u64) -> Self {
        let period = period
            .checked_next_power_of_two()
            .unwrap_or(1 << 16)
            .clamp(4, 1 << 16);
        let phase = current % period;
        let quantize_factor = (period >> 12).max(1);
        Self::Mortal {
            period,
            phase: phase / quantize_factor * quantize_factor,
        }
    }

    /// The block the era was born in, seen from block `current`: the latest block at or before
    /// `current` whose number is the phase modulo the period. Immortal eras are born at genesis.
    pub fn birth(self, current: u64) -> u64 {
        match self {
            Self::Immortal => 0,
            Self::Mortal { period, phase } => {
                (current.max(phase) - phase) / period * period + phase
            }
        }
    }

    /// The first block at which the transaction is no longer valid, seen from `current`.
    pub fn death(self, current: u64) -> u64 {
        match self {
            Self::Immortal => u64::MAX,
            Self::Mortal { period, .. } => self.birth(current).saturating_add(period),
        }
    }
}

impl Encode for Era {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        match *self {
            Self::Immortal => dest.push_byte(0),
            Self::Mortal { period, phase } => {
                let quantize_factor = (period >> 12).max(1);
                let low = (period.trailing_zeros().saturating_sub(1)).clamp(1, 15) as u16;
                let encoded = low | (((phase / quantize_factor) as u16) << 4);
                encoded.encode_to(dest);
            }
        }
    }
}

impl Decode for Era {
    fn decode<I: Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        let first = input.read_byte()?;
        if first == 0 {
            return Ok(Self::Immortal);
        }
        let encoded = u64::from(first) + (u64::from(input.read_byte()?) << 8);
        let period = 2u64 << (encoded % (1 << 4));
        let quantize_factor = (period >> 12).max(1);
        let phase = (encoded >> 4) * quantize_factor;
        if period >= 4 && phase < period {
            Ok(Self::Mortal { period, phase })
        } else {
            Err("Invalid period and phase".into())
        }
    }
}

/// `CheckMetadataHash`'s mode byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum MetadataHashMode {
    /// No metadata hash in the signed payload (what the SDK sends).
    Disabled,
    /// The signer included the runtime's metadata hash.
    Enabled,
}

/// What the transaction extensions add to the extrinsic itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extra {
    /// `CheckMortality`.
    pub era: Era,
    /// `CheckNonce`: the sender's account nonce this transaction uses.
    pub nonce: u32,
    /// `ChargeTransactionPayment`: the tip, in rao.
    pub tip: u64,
    /// `CheckMetadataHash`.
    pub mode: MetadataHashMode,
}

impl Encode for Extra {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.era.encode_to(dest);
        Compact(self.nonce).encode_to(dest);
        Compact(self.tip).encode_to(dest);
        self.mode.encode_to(dest);
    }
}

impl Decode for Extra {
    fn decode<I: Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        Ok(Self {
            era: Era::decode(input)?,
            nonce: Compact::<u32>::decode(input)?.0,
            tip: Compact::<u64>::decode(input)?.0,
            mode: MetadataHashMode::decode(input)?,
        })
    }
}

/// What the transaction extensions add only to the signed payload; the node computes it from
/// its own state, so a mismatch shows up as a bad signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Additional {
    /// `CheckSpecVersion`.
    pub spec_version: u32,
    /// `CheckTxVersion`.
    pub transaction_version: u32,
    /// `CheckGenesis`.
    pub genesis_hash: H256,
    /// `CheckMortality`: the hash of the era's birth block (the genesis hash when immortal).
    pub checkpoint: H256,
    /// `CheckMetadataHash`: the metadata hash when the mode is enabled.
    pub metadata_hash: Option<[u8; 32]>,
}

impl Encode for Additional {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.spec_version.encode_to(dest);
        self.transaction_version.encode_to(dest);
        self.genesis_hash.encode_to(dest);
        self.checkpoint.encode_to(dest);
        self.metadata_hash.encode_to(dest);
    }
}

/// `sp_runtime::MultiAddress<AccountId32, ()>`; the runtime's lookup resolves only `Id`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum MultiAddress {
    /// An account id.
    Id(AccountId),
    /// An account index (unsupported by the runtime's lookup).
    Index(#[codec(compact)] u32),
    /// Raw bytes (unsupported by the runtime's lookup).
    Raw(Vec<u8>),
    /// A 32-byte address (unsupported by the runtime's lookup).
    Address32([u8; 32]),
    /// A 20-byte address (unsupported by the runtime's lookup).
    Address20([u8; 20]),
}

/// `sp_runtime::MultiSignature`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum MultiSignature {
    /// An ed25519 signature.
    Ed25519([u8; 64]),
    /// An sr25519 signature (what Bittensor hotkeys make).
    Sr25519([u8; 64]),
    /// A secp256k1 ECDSA signature with its recovery byte.
    Ecdsa([u8; 65]),
}

/// A signed v4 extrinsic, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedExtrinsic {
    /// Who signed.
    pub address: MultiAddress,
    /// The signature.
    pub signature: MultiSignature,
    /// The extensions' own bytes.
    pub extra: Extra,
    /// The encoded call: pallet index, call index, arguments.
    pub call: Vec<u8>,
}

/// An extrinsic as the double takes it apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extrinsic {
    /// A signed transaction.
    Signed(SignedExtrinsic),
    /// A bare extrinsic: an inherent, or an unsigned transaction.
    Unsigned {
        /// The encoded call.
        call: Vec<u8>,
    },
}

/// Why bytes are not an extrinsic, in the words of the node's codec errors (they become the
/// message of JSON-RPC error 1001).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FormatError(pub String);

impl From<parity_scale_codec::Error> for FormatError {
    fn from(err: parity_scale_codec::Error) -> Self {
        Self(err.to_string())
    }
}

impl Extrinsic {
    /// Decodes `Compact(len) ‖ body`, requiring the length prefix to match and no bytes left.
    pub fn decode_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut input = bytes;
        let len = Compact::<u32>::decode(&mut input)?.0 as usize;
        if input.len() != len {
            return Err(FormatError(
                "Could not decode `UncheckedExtrinsic`: the length prefix does not match the body"
                    .to_owned(),
            ));
        }
        let version = input.read_byte()?;
        match version {
            SIGNED_V4 => {
                let address = MultiAddress::decode(&mut input)?;
                let signature = MultiSignature::decode(&mut input)?;
                let extra = Extra::decode(&mut input)?;
                if input.is_empty() {
                    return Err(FormatError("Not enough data to fill buffer".to_owned()));
                }
                Ok(Self::Signed(SignedExtrinsic {
                    address,
                    signature,
                    extra,
                    call: input.to_vec(),
                }))
            }
            UNSIGNED_V4 => {
                if input.is_empty() {
                    return Err(FormatError("Not enough data to fill buffer".to_owned()));
                }
                Ok(Self::Unsigned {
                    call: input.to_vec(),
                })
            }
            _ => Err(FormatError("Invalid transaction version".to_owned())),
        }
    }
}

/// The bytes a signer signs: `call ‖ extra ‖ additional`, hashed with blake2b-256 when longer
/// than 256 bytes.
pub fn signing_payload(call: &[u8], extra: &Extra, additional: &Additional) -> Vec<u8> {
    let mut payload = call.to_vec();
    extra.encode_to(&mut payload);
    additional.encode_to(&mut payload);
    if payload.len() > 256 {
        blake2_256(&payload).to_vec()
    } else {
        payload
    }
}

/// Whether `signature` is `signer`'s signature over the payload of `call`, `extra` and
/// `additional`. Only sr25519 is checked: Bittensor keys are sr25519, and the double has no
/// ed25519 or ECDSA verifier, so it reports those as bad signatures.
pub fn verify(
    signer: &AccountId,
    signature: &MultiSignature,
    call: &[u8],
    extra: &Extra,
    additional: &Additional,
) -> bool {
    match signature {
        MultiSignature::Sr25519(sig) => {
            protocol::keys::verify(&signer.0, &signing_payload(call, extra, additional), sig)
        }
        MultiSignature::Ed25519(_) | MultiSignature::Ecdsa(_) => false,
    }
}

/// Builds and signs a v4 extrinsic with an sr25519 hotkey, as the SDK does: for tests, the
/// devnet and anyone driving the double by hand.
pub fn sign(
    signer: &protocol::Hotkey,
    call: &[u8],
    extra: Extra,
    additional: &Additional,
) -> Vec<u8> {
    let signature = signer.sign(&signing_payload(call, &extra, additional));
    let mut body = vec![SIGNED_V4];
    MultiAddress::Id(AccountId(signer.public_key())).encode_to(&mut body);
    MultiSignature::Sr25519(signature).encode_to(&mut body);
    extra.encode_to(&mut body);
    body.extend_from_slice(call);
    let mut out = Compact(body.len() as u32).encode();
    out.extend_from_slice(&body);
    out
}

/// An unsigned v4 extrinsic carrying `call` (how inherents travel).
pub fn unsigned(call: &[u8]) -> Vec<u8> {
    let mut body = vec![UNSIGNED_V4];
    body.extend_from_slice(call);
    let mut out = Compact(body.len() as u32).encode();
    out.extend_from_slice(&body);
    out
}

/// The extrinsic's hash as nodes and clients name it: blake2b-256 of all its bytes, length
/// prefix included.
pub fn hash(bytes: &[u8]) -> H256 {
    H256::hash_of(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdk_default_era_for_block_6852690_encodes_as_2605() {
        let era = Era::mortal(128, 6_852_690);
        assert_eq!(
            era,
            Era::Mortal {
                period: 128,
                phase: 82
            }
        );
        assert_eq!(era.encode(), vec![0x26, 0x05]);
        assert_eq!(Era::decode(&mut &[0x26u8, 0x05][..]).unwrap(), era);
        assert_eq!(era.birth(6_852_691), 6_852_690);
        assert_eq!(era.death(6_852_691), 6_852_818);
    }

    #[test]
    fn immortal_eras_are_one_zero_byte_born_at_genesis() {
        assert_eq!(Era::Immortal.encode(), vec![0]);
        assert_eq!(Era::Immortal.birth(1_000), 0);
        assert_eq!(Era::Immortal.death(1_000), u64::MAX);
    }

    #[test]
    fn a_mortal_era_moves_its_birth_forward_once_it_has_expired() {
        let era = Era::mortal(64, 1_000);
        let born = era.birth(1_001);
        assert_eq!(born, 1_000);
        assert_eq!(era.birth(1_000 + 64), 1_064);
    }

    #[test]
    fn long_periods_quantise_the_phase_and_round_trip() {
        let era = Era::mortal(10_000, 123_457);
        let Era::Mortal { period, phase } = era else {
            panic!("mortal expected")
        };
        assert_eq!(period, 16_384);
        assert_eq!(phase % 4, 0);
        assert_eq!(Era::decode(&mut &era.encode()[..]).unwrap(), era);
    }

    #[test]
    fn signing_then_decoding_gives_back_the_parts_and_the_signature_verifies() {
        let key = protocol::Hotkey::from_seed([3; 32]);
        let extra = Extra {
            era: Era::Immortal,
            nonce: 7,
            tip: 0,
            mode: MetadataHashMode::Disabled,
        };
        let additional = Additional {
            spec_version: 343,
            transaction_version: 1,
            genesis_hash: H256([9; 32]),
            checkpoint: H256([9; 32]),
            metadata_hash: None,
        };
        let call = vec![7, 96, 1, 0, 5, 5, 5];
        let bytes = sign(&key, &call, extra, &additional);
        let Extrinsic::Signed(signed) = Extrinsic::decode_bytes(&bytes).unwrap() else {
            panic!("signed expected")
        };
        assert_eq!(signed.call, call);
        assert_eq!(signed.extra, extra);
        let signer = AccountId(key.public_key());
        assert_eq!(signed.address, MultiAddress::Id(signer));
        assert!(verify(
            &signer,
            &signed.signature,
            &call,
            &extra,
            &additional
        ));
        let other_genesis = Additional {
            genesis_hash: H256([8; 32]),
            ..additional
        };
        assert!(!verify(
            &signer,
            &signed.signature,
            &call,
            &extra,
            &other_genesis
        ));
    }

    #[test]
    fn truncated_or_unknown_versions_are_format_errors() {
        assert!(Extrinsic::decode_bytes(&[0x08, 0x84, 0x00]).is_err());
        assert_eq!(
            Extrinsic::decode_bytes(&[0x08, 0x05, 0x07]).unwrap_err(),
            FormatError("Invalid transaction version".to_owned())
        );
        assert!(Extrinsic::decode_bytes(&[0x0c, 0x04, 0x07]).is_err());
    }
}
