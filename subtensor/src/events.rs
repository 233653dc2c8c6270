//! A block's events (`System.Events`) and what they say about one extrinsic.
//!
//! The events are decoded by the metadata's types. An extrinsic is found among them by
//! its signer: every signed extrinsic that pays (even nothing) leaves a
//! `TransactionPayment.TransactionFeePaid { who, .. }` in its own `ApplyExtrinsic(i)`
//! phase, next to `System.ExtrinsicSuccess` or `System.ExtrinsicFailed`. Reading the
//! block body would need `chain_getBlock`, which Pulse does not rely on.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::metadata::Metadata;
use crate::value::{Value, ValueError, decode_all};

/// When in the block an event happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// While applying the extrinsic at this index.
    ApplyExtrinsic(u32),
    /// In `on_finalize`.
    Finalization,
    /// In `on_initialize`.
    Initialization,
}

/// One event of a block.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened.
    pub phase: Phase,
    /// The pallet that emitted it (`System`, `SubtensorModule`, ...).
    pub pallet: String,
    /// The event's name (`ExtrinsicFailed`, `WeightsSet`, ...).
    pub name: String,
    /// Its fields.
    pub fields: Value,
}

/// Why a block's events could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EventsError {
    /// The metadata has no `System.Events` storage.
    #[error("the runtime has no System.Events storage")]
    NoEventsStorage,
    /// The bytes do not decode as the metadata's event records.
    #[error("System.Events does not decode: {0}")]
    Undecodable(ValueError),
    /// A record that is not shaped like an event record.
    #[error("System.Events holds a record without {0}")]
    Malformed(&'static str),
}

/// Decodes `System.Events` storage bytes into events, in order.
pub fn decode_events(metadata: &Metadata, bytes: &[u8]) -> Result<Vec<Event>, EventsError> {
    let entry = metadata
        .storage_entry("System", "Events")
        .ok_or(EventsError::NoEventsStorage)?;
    let records =
        decode_all(&metadata.types, entry.value_ty, bytes).map_err(EventsError::Undecodable)?;
    let records: Vec<&Value> = match &records {
        Value::Sequence(records) => records.iter().collect(),
        Value::Bytes(bytes) if bytes.is_empty() => Vec::new(),
        _ => return Err(EventsError::Malformed("a list of records")),
    };
    records
        .into_iter()
        .map(|record| {
            let phase = match record.field("phase").and_then(Value::as_variant) {
                Some(("ApplyExtrinsic", [(_, index)])) => Phase::ApplyExtrinsic(
                    index
                        .as_u128()
                        .and_then(|index| u32::try_from(index).ok())
                        .ok_or(EventsError::Malformed("an extrinsic index"))?,
                ),
                Some(("Finalization", _)) => Phase::Finalization,
                Some(("Initialization", _)) => Phase::Initialization,
                _ => return Err(EventsError::Malformed("a phase")),
            };
            let (pallet, inner) = match record.field("event").and_then(Value::as_variant) {
                Some((pallet, [(_, inner)])) => (pallet.to_string(), inner),
                _ => return Err(EventsError::Malformed("a pallet event")),
            };
            let Value::Variant { name, .. } = inner.unwrapped() else {
                return Err(EventsError::Malformed("an event variant"));
            };
            Ok(Event {
                phase,
                pallet,
                name: name.clone(),
                fields: inner.unwrapped().clone(),
            })
        })
        .collect()
}

/// A dispatch error by name: `SubtensorModule.SettingWeightsTooFast`, `BadOrigin`, ...
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispatchFailure {
    /// The pallet whose error it is, for module errors.
    pub pallet: Option<String>,
    /// The error's name (`SettingWeightsTooFast`) or the DispatchError variant
    /// (`BadOrigin`, `Token::FundsUnavailable`).
    pub name: String,
    /// The error's documentation from the metadata, joined into one line.
    pub docs: String,
}

impl fmt::Display for DispatchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.pallet {
            Some(pallet) => write!(f, "{pallet}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Names a `DispatchError` value by the metadata: a module error becomes its pallet's
/// error variant, anything else the DispatchError variant (and its inner variant).
pub fn dispatch_failure(metadata: &Metadata, error: &Value) -> DispatchFailure {
    let Some((variant, fields)) = error.as_variant() else {
        return DispatchFailure {
            pallet: None,
            name: format!("{error:?}"),
            docs: String::new(),
        };
    };
    if variant == "Module"
        && let [(_, module_error)] = fields
        && let (Some(index), Some(code)) = (
            module_error.field("index").and_then(Value::as_u128),
            module_error.field("error").and_then(Value::as_bytes),
        )
        && let (Ok(index), Some(&code)) = (u8::try_from(index), code.first())
    {
        return module_error_name(metadata, index, code);
    }
    let name = match fields {
        [(_, inner)] => match inner.as_variant() {
            Some((inner, _)) => format!("{variant}::{inner}"),
            None => variant.to_string(),
        },
        _ => variant.to_string(),
    };
    DispatchFailure {
        pallet: None,
        name,
        docs: String::new(),
    }
}

/// The error `code` of the pallet with index `pallet_index`, by the metadata.
pub fn module_error_name(metadata: &Metadata, pallet_index: u8, code: u8) -> DispatchFailure {
    let pallet = metadata.pallet_by_index(pallet_index);
    let variant = pallet
        .and_then(|pallet| pallet.errors_ty)
        .and_then(|ty| metadata.types.resolve(ty))
        .and_then(|ty| match &ty.type_def {
            scale_info::TypeDef::Variant(variants) => variants
                .variants
                .iter()
                .find(|variant| variant.index == code),
            _ => None,
        });
    DispatchFailure {
        pallet: Some(
            pallet
                .map(|pallet| pallet.name.clone())
                .unwrap_or_else(|| format!("pallet {pallet_index}")),
        ),
        name: variant
            .map(|variant| variant.name.clone())
            .unwrap_or_else(|| format!("error {code}")),
        docs: variant
            .map(|variant| variant.docs.join(" ").trim().to_string())
            .unwrap_or_default(),
    }
}

/// What a block's events say about the extrinsic signed by `signer`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtrinsicOutcome {
    /// `System.ExtrinsicSuccess` at this extrinsic index.
    Success {
        /// The extrinsic's index in the block.
        index: u32,
    },
    /// `System.ExtrinsicFailed` at this extrinsic index, with the named error.
    Failed {
        /// The extrinsic's index in the block.
        index: u32,
        /// The dispatch error.
        error: DispatchFailure,
    },
    /// No extrinsic of the signer's is in the block.
    NotFound,
    /// More than one extrinsic of the signer's is in the block, so which is which
    /// cannot be told from events alone.
    Ambiguous(Vec<u32>),
}

/// Finds the outcome of `signer`'s extrinsic among a block's events.
pub fn outcome_for_signer(
    metadata: &Metadata,
    events: &[Event],
    signer: &[u8; 32],
) -> ExtrinsicOutcome {
    let mut indices: Vec<u32> = events
        .iter()
        .filter(|event| event.pallet == "TransactionPayment" && event.name == "TransactionFeePaid")
        .filter(|event| {
            event.fields.field("who").and_then(Value::as_bytes) == Some(signer.as_slice())
        })
        .filter_map(|event| match event.phase {
            Phase::ApplyExtrinsic(index) => Some(index),
            _ => None,
        })
        .collect();
    indices.dedup();
    let index = match indices.as_slice() {
        [] => return ExtrinsicOutcome::NotFound,
        [index] => *index,
        _ => return ExtrinsicOutcome::Ambiguous(indices),
    };
    for event in events
        .iter()
        .filter(|event| event.phase == Phase::ApplyExtrinsic(index))
    {
        if event.pallet != "System" {
            continue;
        }
        match event.name.as_str() {
            "ExtrinsicSuccess" => return ExtrinsicOutcome::Success { index },
            "ExtrinsicFailed" => {
                let error = event
                    .fields
                    .field("dispatch_error")
                    .map(|error| dispatch_failure(metadata, error))
                    .unwrap_or_else(|| DispatchFailure {
                        pallet: None,
                        name: "ExtrinsicFailed without a dispatch_error".into(),
                        docs: String::new(),
                    });
                return ExtrinsicOutcome::Failed { index, error };
            }
            _ => {}
        }
    }
    ExtrinsicOutcome::NotFound
}

/// subtensor's `CustomTransactionError` codes, which the transaction pool returns as
/// `Custom error: N` when its transaction extension turns an extrinsic away before it
/// reaches a block (`common/src/transaction_error.rs` at opentensor/subtensor@14bc6f9;
/// the runtime's metadata does not describe them).
pub fn custom_transaction_error(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "ColdkeyInSwapSchedule",
        1 => "StakeAmountTooLow",
        2 => "BalanceTooLow",
        3 => "SubnetNotExists",
        4 => "HotkeyAccountDoesntExist",
        5 => "NotEnoughStakeToWithdraw",
        6 => "RateLimitExceeded",
        7 => "InsufficientLiquidity",
        8 => "SlippageTooHigh",
        9 => "TransferDisallowed",
        10 => "HotKeyNotRegisteredInNetwork",
        11 => "InvalidIpAddress",
        12 => "ServingRateLimitExceeded",
        13 => "InvalidPort",
        14 => "ZeroMaxAmount",
        15 => "InvalidRevealRound",
        16 => "CommitNotFound",
        17 => "CommitBlockNotInRevealRange",
        18 => "InputLengthsUnequal",
        19 => "UidNotFound",
        20 => "EvmKeyAssociateRateLimitExceeded",
        21 => "ColdkeySwapDisputed",
        22 => "InvalidRealAccount",
        23 => "FailedShieldedTxParsing",
        24 => "InvalidShieldedTxPubKeyHash",
        25 => "NonAssociatedColdKey",
        26 => "DelegateTakeTooLow",
        27 => "DelegateTakeTooHigh",
        255 => "BadRequest",
        _ => return None,
    })
}
