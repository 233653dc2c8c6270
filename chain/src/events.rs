//! The runtime events the double deposits, encoded as `System.Events` holds them:
//! `Vec<EventRecord { phase, event: RuntimeEvent, topics }>`, where `RuntimeEvent` is the
//! pallet's index then the pallet event's index (both read from the metadata) then its fields.

use parity_scale_codec::{Compact, Encode};
use serde::Serialize;

use crate::metadata::metadata;
use crate::scale::{AccountId, H256};

/// When in the block an event happened (`frame_system::Phase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Serialize)]
pub enum Phase {
    /// While applying the extrinsic at this index.
    ApplyExtrinsic(u32),
    /// After the last extrinsic.
    Finalization,
    /// Before the first extrinsic.
    Initialization,
}

/// `frame_support::dispatch::DispatchClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Serialize)]
pub enum DispatchClass {
    /// Ordinary transactions.
    Normal,
    /// Operational transactions.
    Operational,
    /// Inherents.
    Mandatory,
}

/// `frame_support::dispatch::Pays`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Serialize)]
pub enum Pays {
    /// The sender pays the fee.
    Yes,
    /// No fee (the weights calls).
    No,
}

/// `frame_system::DispatchEventInfo`: the extrinsic's weight, class and fee mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DispatchInfo {
    /// Weight's reference time.
    pub ref_time: u64,
    /// Weight's proof size.
    pub proof_size: u64,
    /// Class.
    pub class: DispatchClass,
    /// Fee mode.
    pub pays_fee: Pays,
}

impl Encode for DispatchInfo {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        Compact(self.ref_time).encode_to(dest);
        Compact(self.proof_size).encode_to(dest);
        self.class.encode_to(dest);
        self.pays_fee.encode_to(dest);
    }
}

/// Why a dispatch failed (`sp_runtime::DispatchError`); the double only fails in pallets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum DispatchError {
    /// `Module { index, error }`: the pallet's index and its `Error` variant's index as the
    /// first of four bytes, with the name for humans and logs.
    Module {
        /// Pallet index.
        index: u8,
        /// Error index within the pallet.
        error: u8,
        /// The error's name in the metadata.
        name: String,
    },
}

impl DispatchError {
    /// The `SubtensorModule` error called `name`, with its index from the metadata.
    ///
    /// # Panics
    /// If the metadata has no such error: every name the double uses is checked by a test.
    pub fn subtensor(name: &str) -> Self {
        let m = metadata();
        let index = m
            .pallet_index("SubtensorModule")
            .expect("the metadata has SubtensorModule");
        let error = m
            .error_index("SubtensorModule", name)
            .unwrap_or_else(|| panic!("SubtensorModule has no error {name}"));
        Self::Module {
            index,
            error,
            name: name.to_owned(),
        }
    }

    /// The error's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Module { name, .. } => name,
        }
    }
}

impl Encode for DispatchError {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        match self {
            Self::Module { index, error, .. } => {
                // `Module` is variant 3 of `DispatchError`; `error` is `[u8; 4]` whose first
                // byte is the pallet error's index.
                dest.push_byte(3);
                dest.push_byte(*index);
                dest.write(&[*error, 0, 0, 0]);
            }
        }
    }
}

/// An event the double deposits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event")]
pub enum Event {
    /// `System.ExtrinsicSuccess`.
    ExtrinsicSuccess {
        /// Weight, class, fee mode.
        dispatch_info: DispatchInfo,
    },
    /// `System.ExtrinsicFailed`.
    ExtrinsicFailed {
        /// Why.
        dispatch_error: DispatchError,
        /// Weight, class, fee mode.
        dispatch_info: DispatchInfo,
    },
    /// `TransactionPayment.TransactionFeePaid`.
    TransactionFeePaid {
        /// The payer.
        who: AccountId,
        /// Fee in rao.
        actual_fee: u64,
        /// Tip in rao.
        tip: u64,
    },
    /// `SubtensorModule.WeightsSet(netuid_index, uid)`.
    WeightsSet {
        /// `mecid * 4096 + netuid`.
        netuid_index: u16,
        /// Who set them.
        uid: u16,
    },
    /// `SubtensorModule.WeightsCommitted(who, netuid_index, hash)`.
    WeightsCommitted {
        /// Hotkey.
        who: AccountId,
        /// `mecid * 4096 + netuid`.
        netuid_index: u16,
        /// Commit hash.
        hash: H256,
    },
    /// `SubtensorModule.WeightsRevealed(who, netuid_index, hash)`.
    WeightsRevealed {
        /// Hotkey.
        who: AccountId,
        /// `mecid * 4096 + netuid`.
        netuid_index: u16,
        /// The revealed commit's hash.
        hash: H256,
    },
    /// `SubtensorModule.TimelockedWeightsCommitted(who, netuid_index, hash, reveal_round)`.
    TimelockedWeightsCommitted {
        /// Hotkey.
        who: AccountId,
        /// `mecid * 4096 + netuid`.
        netuid_index: u16,
        /// blake2b-256 of the ciphertext.
        hash: H256,
        /// The drand round.
        reveal_round: u64,
    },
}

impl Event {
    /// `(pallet, event)` names as the metadata spells them.
    pub fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::ExtrinsicSuccess { .. } => ("System", "ExtrinsicSuccess"),
            Self::ExtrinsicFailed { .. } => ("System", "ExtrinsicFailed"),
            Self::TransactionFeePaid { .. } => ("TransactionPayment", "TransactionFeePaid"),
            Self::WeightsSet { .. } => ("SubtensorModule", "WeightsSet"),
            Self::WeightsCommitted { .. } => ("SubtensorModule", "WeightsCommitted"),
            Self::WeightsRevealed { .. } => ("SubtensorModule", "WeightsRevealed"),
            Self::TimelockedWeightsCommitted { .. } => {
                ("SubtensorModule", "TimelockedWeightsCommitted")
            }
        }
    }
}

impl Encode for Event {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        let (pallet, event) = self.names();
        let m = metadata();
        dest.push_byte(
            m.pallet_index(pallet)
                .expect("the double only deposits events of pallets in its metadata"),
        );
        dest.push_byte(
            m.event_index(pallet, event)
                .expect("the double only deposits events in its metadata"),
        );
        match self {
            Self::ExtrinsicSuccess { dispatch_info } => dispatch_info.encode_to(dest),
            Self::ExtrinsicFailed {
                dispatch_error,
                dispatch_info,
            } => {
                dispatch_error.encode_to(dest);
                dispatch_info.encode_to(dest);
            }
            Self::TransactionFeePaid {
                who,
                actual_fee,
                tip,
            } => {
                who.encode_to(dest);
                actual_fee.encode_to(dest);
                tip.encode_to(dest);
            }
            Self::WeightsSet { netuid_index, uid } => {
                netuid_index.encode_to(dest);
                uid.encode_to(dest);
            }
            Self::WeightsCommitted {
                who,
                netuid_index,
                hash,
            }
            | Self::WeightsRevealed {
                who,
                netuid_index,
                hash,
            } => {
                who.encode_to(dest);
                netuid_index.encode_to(dest);
                hash.encode_to(dest);
            }
            Self::TimelockedWeightsCommitted {
                who,
                netuid_index,
                hash,
                reveal_round,
            } => {
                who.encode_to(dest);
                netuid_index.encode_to(dest);
                hash.encode_to(dest);
                reveal_round.encode_to(dest);
            }
        }
    }
}

/// `frame_system::EventRecord`: when, what, and topics (none here).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventRecord {
    /// When.
    pub phase: Phase,
    /// What.
    pub event: Event,
}

impl Encode for EventRecord {
    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.phase.encode_to(dest);
        self.event.encode_to(dest);
        Vec::<H256>::new().encode_to(dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_error_encodes_as_variant_3_with_four_error_bytes() {
        let err = DispatchError::subtensor("SettingWeightsTooFast");
        assert_eq!(err.encode(), vec![3, 7, 28, 0, 0, 0]);
    }

    #[test]
    fn events_open_with_the_pallet_and_event_indices_of_the_metadata() {
        let event = Event::WeightsSet {
            netuid_index: 1,
            uid: 5,
        };
        assert_eq!(event.encode(), vec![7, 5, 1, 0, 5, 0]);
    }
}
