//! The metadata check: does the node's runtime encode things the way Pulse does?
//!
//! Pulse encodes calls, extrinsics and the runtime API inputs by hand and decodes the
//! neuron list with a fixed layout, so a runtime upgrade that changes an index, an
//! argument, a transaction extension or an output type would make Pulse send garbage or
//! read nonsense. Before signing ([`check_for_signing`]) and before reading
//! ([`check_for_reads`]) the node's metadata is compared with what Pulse encodes; the
//! first difference is refused with one line naming it, such as
//! `metadata mismatch: SubtensorModule.set_mechanism_weights argument 3 (dests) is
//! Vec<u32>, Pulse encodes Vec<u16>; refusing to sign`.
//!
//! Transaction extensions are encoded in the order the metadata lists them, so a
//! reordering is followed rather than refused; an extension Pulse does not know is
//! accepted only when it adds nothing to the extrinsic or the signing payload.

use scale_info::TypeDef;
use thiserror::Error;

use crate::calls::{CALLS, SUBTENSOR_PALLET, SUBTENSOR_PALLET_INDEX};
use crate::metadata::Metadata;
use crate::neuron::NEURON_INFO_LITE_FIELDS;
use crate::value::shape;

/// What Pulse was about to do when the metadata did not match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Sign and submit an extrinsic.
    Sign,
    /// Read neurons or hyperparameters.
    Read,
}

/// The first difference between the node's metadata and what Pulse encodes.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("metadata mismatch: {what}; refusing to {}", match refused { Refused::Sign => "sign", Refused::Read => "read from the chain" })]
pub struct MetadataMismatch {
    /// The difference, e.g. `SubtensorModule.set_weights is call 3, Pulse encodes call 0`.
    pub what: String,
    /// What Pulse refuses to do because of it.
    pub refused: Refused,
}

/// How one transaction extension is encoded, as the check found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionKind {
    /// Adds nothing to either part (CheckNonZeroSender, CheckWeight, unknown empty ones).
    Empty,
    /// `CheckSpecVersion`: the spec version in the payload.
    SpecVersion,
    /// `CheckTxVersion`: the transaction version in the payload.
    TxVersion,
    /// `CheckGenesis`: the genesis hash in the payload.
    Genesis,
    /// `CheckMortality`: the era in the extrinsic, its checkpoint block hash in the payload.
    Mortality,
    /// `CheckNonce`: the compact nonce in the extrinsic.
    Nonce,
    /// `ChargeTransactionPayment`: the compact tip in the extrinsic.
    Tip,
    /// `CheckMetadataHash`: mode `Disabled` in the extrinsic, `None` in the payload.
    MetadataHashDisabled,
}

/// The transaction extensions of a checked runtime, in order: how to encode an
/// extrinsic for it. Made only by [`check_for_signing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningPlan {
    pub(crate) extensions: Vec<(String, ExtensionKind)>,
}

impl SigningPlan {
    /// The extensions, by identifier, in the order they are encoded.
    pub fn extensions(&self) -> impl Iterator<Item = (&str, ExtensionKind)> {
        self.extensions
            .iter()
            .map(|(name, kind)| (name.as_str(), *kind))
    }
}

/// Which runtime API gives the hyperparameters, and its output type. Made only by
/// [`check_for_reads`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// `get_subnet_hyperparams_v2` when the runtime has it, else `get_subnet_hyperparams`.
    pub hyperparams_method: &'static str,
    /// The method's output type id (`Option<SubnetHyperparams…>`).
    pub hyperparams_output_ty: u32,
}

// The extensions Pulse knows: identifier, what it adds to the extrinsic, what it adds to
// the signing payload, whether Pulse needs it present, and how it is encoded.
const EXTENSIONS: [(&str, &str, &str, bool, ExtensionKind); 11] = [
    (
        "CheckNonZeroSender",
        "()",
        "()",
        false,
        ExtensionKind::Empty,
    ),
    (
        "CheckSpecVersion",
        "()",
        "u32",
        true,
        ExtensionKind::SpecVersion,
    ),
    (
        "CheckTxVersion",
        "()",
        "u32",
        true,
        ExtensionKind::TxVersion,
    ),
    (
        "CheckGenesis",
        "()",
        "[u8; 32]",
        true,
        ExtensionKind::Genesis,
    ),
    (
        "CheckMortality",
        "Era",
        "[u8; 32]",
        true,
        ExtensionKind::Mortality,
    ),
    (
        "CheckNonce",
        "Compact<u32>",
        "()",
        true,
        ExtensionKind::Nonce,
    ),
    ("CheckWeight", "()", "()", false, ExtensionKind::Empty),
    (
        "ChargeTransactionPayment",
        "Compact<u64>",
        "()",
        true,
        ExtensionKind::Tip,
    ),
    (
        "SubtensorTransactionExtension",
        "()",
        "()",
        false,
        ExtensionKind::Empty,
    ),
    ("DrandPriority", "()", "()", false, ExtensionKind::Empty),
    (
        "CheckMetadataHash",
        "Mode",
        "Option<[u8; 32]>",
        false,
        ExtensionKind::MetadataHashDisabled,
    ),
];

/// The hyperparameters Pulse reads by name, and whether each is a flag or a number.
pub(crate) const REQUIRED_HYPERPARAMETERS: [(&str, bool); 8] = [
    ("tempo", false),
    ("weights_rate_limit", false),
    ("weights_version", false),
    ("min_allowed_weights", false),
    ("max_weights_limit", false),
    ("commit_reveal_weights_enabled", true),
    ("commit_reveal_period", false),
    ("immunity_period", false),
];

/// The runtime API Pulse reads neurons with.
pub const NEURONS_LITE_API: (&str, &str) = ("NeuronInfoRuntimeApi", "get_neurons_lite");
/// The runtime API Pulse reads hyperparameters with, newest first.
pub const HYPERPARAMS_APIS: (&str, [&str; 2]) = (
    "SubnetInfoRuntimeApi",
    ["get_subnet_hyperparams_v2", "get_subnet_hyperparams"],
);

/// Checks everything an extrinsic of Pulse's depends on: the extrinsic version, address
/// and signature formats, the SubtensorModule pallet and call indices with every
/// argument's shape, the transaction extensions, and the event and error shapes Pulse
/// reads the outcome from.
pub fn check_for_signing(metadata: &Metadata) -> Result<SigningPlan, MetadataMismatch> {
    let refuse = |what: String| MetadataMismatch {
        what,
        refused: Refused::Sign,
    };
    let types = &metadata.types;
    if metadata.extrinsic.version != 4 {
        return Err(refuse(format!(
            "the extrinsic version is {}, Pulse encodes version 4",
            metadata.extrinsic.version
        )));
    }
    if let Some(address) = metadata.extrinsic.address_ty {
        expect_variant(
            metadata,
            address,
            "the address type",
            "Id",
            Some(0),
            "[u8; 32]",
        )
        .map_err(&refuse)?;
    }
    if let Some(signature) = metadata.extrinsic.signature_ty {
        expect_variant(
            metadata,
            signature,
            "the signature type",
            "Sr25519",
            Some(1),
            "[u8; 64]",
        )
        .map_err(&refuse)?;
    }

    let pallet = metadata
        .pallet(SUBTENSOR_PALLET)
        .ok_or_else(|| refuse(format!("the runtime has no {SUBTENSOR_PALLET} pallet")))?;
    if pallet.index != SUBTENSOR_PALLET_INDEX {
        return Err(refuse(format!(
            "{SUBTENSOR_PALLET} is pallet {}, Pulse encodes pallet {SUBTENSOR_PALLET_INDEX}",
            pallet.index
        )));
    }
    if let Some(call_ty) = metadata.extrinsic.call_ty {
        expect_variant_index(
            metadata,
            call_ty,
            "RuntimeCall",
            SUBTENSOR_PALLET,
            SUBTENSOR_PALLET_INDEX,
        )
        .map_err(&refuse)?;
    }
    let calls_ty = pallet
        .calls_ty
        .ok_or_else(|| refuse(format!("{SUBTENSOR_PALLET} has no calls")))?;
    let TypeDef::Variant(calls) = &types
        .resolve(calls_ty)
        .ok_or_else(|| refuse(format!("{SUBTENSOR_PALLET}'s call type is missing")))?
        .type_def
    else {
        return Err(refuse(format!(
            "{SUBTENSOR_PALLET}'s call type is not an enum"
        )));
    };
    for call in CALLS {
        let found = calls
            .variants
            .iter()
            .find(|variant| variant.name == call.name)
            .ok_or_else(|| {
                refuse(format!(
                    "{SUBTENSOR_PALLET}.{} is not a call of this runtime",
                    call.name
                ))
            })?;
        if found.index != call.index {
            return Err(refuse(format!(
                "{SUBTENSOR_PALLET}.{} is call {}, Pulse encodes call {}",
                call.name, found.index, call.index
            )));
        }
        if found.fields.len() != call.args.len() {
            return Err(refuse(format!(
                "{SUBTENSOR_PALLET}.{} takes {} arguments, Pulse encodes {}",
                call.name,
                found.fields.len(),
                call.args.len()
            )));
        }
        for (position, (field, (name, expected))) in found.fields.iter().zip(call.args).enumerate()
        {
            let actual = shape(types, field.ty.id);
            if actual != *expected {
                return Err(refuse(format!(
                    "{SUBTENSOR_PALLET}.{} argument {} ({name}) is {actual}, Pulse encodes {expected}",
                    call.name,
                    position + 1
                )));
            }
            if field.name.as_deref() != Some(*name) {
                return Err(refuse(format!(
                    "{SUBTENSOR_PALLET}.{} argument {} is named {}, Pulse encodes {name}",
                    call.name,
                    position + 1,
                    field.name.as_deref().unwrap_or("(unnamed)")
                )));
            }
        }
    }

    let mut extensions = Vec::new();
    for (position, extension) in metadata.extrinsic.extensions.iter().enumerate() {
        let extra = shape(types, extension.extra_ty);
        let additional = shape(types, extension.additional_ty);
        let label = format!(
            "transaction extension {} ({})",
            position + 1,
            extension.identifier
        );
        let Some((_, expected_extra, expected_additional, _, kind)) = EXTENSIONS
            .iter()
            .find(|known| known.0 == extension.identifier)
        else {
            if extra == "()" && additional == "()" {
                extensions.push((extension.identifier.clone(), ExtensionKind::Empty));
                continue;
            }
            return Err(refuse(format!(
                "{label} adds {extra} to the extrinsic and {additional} to the signing payload, and Pulse does not know it"
            )));
        };
        if extra != *expected_extra {
            return Err(refuse(format!(
                "{label} adds {extra} to the extrinsic, Pulse encodes {expected_extra}"
            )));
        }
        if additional != *expected_additional {
            return Err(refuse(format!(
                "{label} adds {additional} to the signing payload, Pulse encodes {expected_additional}"
            )));
        }
        match kind {
            ExtensionKind::Mortality => check_era(metadata, extension.extra_ty)
                .map_err(|what| refuse(format!("{label}: {what}")))?,
            ExtensionKind::MetadataHashDisabled => expect_variant(
                metadata,
                extension.extra_ty,
                &format!("{label} mode"),
                "Disabled",
                Some(0),
                "()",
            )
            .map_err(&refuse)?,
            _ => {}
        }
        extensions.push((extension.identifier.clone(), *kind));
    }
    for (identifier, _, _, required, _) in EXTENSIONS {
        if required && !extensions.iter().any(|(name, _)| name == identifier) {
            return Err(refuse(format!(
                "the runtime has no {identifier} transaction extension, which Pulse's extrinsics rely on"
            )));
        }
    }

    check_events(metadata).map_err(refuse)?;
    Ok(SigningPlan { extensions })
}

/// Checks the runtime APIs Pulse reads: `get_neurons_lite` (input and every field of the
/// output Pulse decodes) and the hyperparameters call (input, and that every
/// hyperparameter Pulse reads is there with a number or flag shape).
pub fn check_for_reads(metadata: &Metadata) -> Result<ReadPlan, MetadataMismatch> {
    let refuse = |what: String| MetadataMismatch {
        what,
        refused: Refused::Read,
    };
    let types = &metadata.types;
    if metadata.apis.is_empty() {
        return Err(refuse(format!(
            "metadata V{} does not describe runtime APIs, and Pulse checks {}.{} against V15 metadata",
            metadata.version, NEURONS_LITE_API.0, NEURONS_LITE_API.1
        )));
    }
    let (api, method) = NEURONS_LITE_API;
    let neurons = metadata
        .runtime_api_method(api, method)
        .ok_or_else(|| refuse(format!("the runtime has no {api}.{method}")))?;
    check_netuid_input(metadata, api, method, &neurons.inputs).map_err(&refuse)?;
    let TypeDef::Sequence(sequence) = &types
        .resolve(neurons.output_ty)
        .ok_or_else(|| refuse(format!("{api}.{method}'s output type is missing")))?
        .type_def
    else {
        return Err(refuse(format!(
            "{api}.{method} returns {}, Pulse decodes a Vec of NeuronInfoLite",
            shape(types, neurons.output_ty)
        )));
    };
    let neuron_ty = types
        .resolve(sequence.type_param.id)
        .ok_or_else(|| refuse(format!("{api}.{method}'s neuron type is missing")))?;
    let TypeDef::Composite(neuron) = &neuron_ty.type_def else {
        return Err(refuse(format!(
            "{api}.{method}'s neuron type is not a struct"
        )));
    };
    if neuron.fields.len() != NEURON_INFO_LITE_FIELDS.len() {
        return Err(refuse(format!(
            "{api}.{method}'s NeuronInfoLite has {} fields, Pulse decodes {}",
            neuron.fields.len(),
            NEURON_INFO_LITE_FIELDS.len()
        )));
    }
    for (position, (field, (name, expected))) in neuron
        .fields
        .iter()
        .zip(NEURON_INFO_LITE_FIELDS)
        .enumerate()
    {
        let actual = shape(types, field.ty.id);
        let actual_name = field.name.as_deref().unwrap_or("(unnamed)");
        if actual_name != name || actual != expected {
            return Err(refuse(format!(
                "{api}.{method}'s NeuronInfoLite field {} is {actual_name}: {actual}, Pulse decodes {name}: {expected}",
                position + 1
            )));
        }
    }

    let (api, methods) = HYPERPARAMS_APIS;
    let (hyperparams_method, found) = methods
        .iter()
        .find_map(|method| {
            metadata
                .runtime_api_method(api, method)
                .map(|found| (*method, found))
        })
        .ok_or_else(|| {
            refuse(format!(
                "the runtime has neither {api}.{} nor {api}.{}",
                methods[0], methods[1]
            ))
        })?;
    check_netuid_input(metadata, api, hyperparams_method, &found.inputs).map_err(&refuse)?;
    let output = shape(types, found.output_ty);
    let inner = types
        .resolve(found.output_ty)
        .and_then(|ty| match &ty.type_def {
            TypeDef::Variant(variants) if output.starts_with("Option<") => variants
                .variants
                .iter()
                .find(|variant| variant.name == "Some")
                .and_then(|some| some.fields.first())
                .and_then(|field| types.resolve(field.ty.id)),
            _ => None,
        });
    let Some(TypeDef::Composite(params)) = inner.map(|ty| &ty.type_def) else {
        return Err(refuse(format!(
            "{api}.{hyperparams_method} returns {output}, Pulse decodes an Option of a struct"
        )));
    };
    for (name, is_flag) in REQUIRED_HYPERPARAMETERS {
        let field = params
            .fields
            .iter()
            .find(|field| field.name.as_deref() == Some(name))
            .ok_or_else(|| refuse(format!("{api}.{hyperparams_method} has no {name}")))?;
        let actual = shape(types, field.ty.id);
        let fits = if is_flag {
            actual == "bool"
        } else {
            is_unsigned(&actual)
        };
        if !fits {
            return Err(refuse(format!(
                "{api}.{hyperparams_method}'s {name} is {actual}, Pulse reads {}",
                if is_flag {
                    "bool"
                } else {
                    "an unsigned integer"
                }
            )));
        }
    }
    Ok(ReadPlan {
        hyperparams_method,
        hyperparams_output_ty: found.output_ty,
    })
}

fn is_unsigned(shape: &str) -> bool {
    let bare = shape
        .strip_prefix("Compact<")
        .and_then(|inner| inner.strip_suffix('>'))
        .unwrap_or(shape);
    matches!(bare, "u8" | "u16" | "u32" | "u64" | "u128")
}

fn check_netuid_input(
    metadata: &Metadata,
    api: &str,
    method: &str,
    inputs: &[(String, u32)],
) -> Result<(), String> {
    let shapes: Vec<String> = inputs
        .iter()
        .map(|(name, ty)| format!("{name}: {}", shape(&metadata.types, *ty)))
        .collect();
    if shapes != ["netuid: u16"] {
        return Err(format!(
            "{api}.{method} takes ({}), Pulse sends (netuid: u16)",
            shapes.join(", ")
        ));
    }
    Ok(())
}

// The enum `ty` has variant `name` at `index` whose fields have shape `fields`.
fn expect_variant(
    metadata: &Metadata,
    ty: u32,
    what: &str,
    name: &str,
    index: Option<u8>,
    fields: &str,
) -> Result<(), String> {
    let variants = variants_of(metadata, ty).ok_or_else(|| format!("{what} is not an enum"))?;
    let variant = variants
        .iter()
        .find(|variant| variant.name == name)
        .ok_or_else(|| format!("{what} has no {name} variant"))?;
    if let Some(index) = index
        && variant.index != index
    {
        return Err(format!(
            "{what}'s {name} variant is {}, Pulse encodes {index}",
            variant.index
        ));
    }
    let actual = match variant.fields.as_slice() {
        [] => "()".to_string(),
        [only] => shape(&metadata.types, only.ty.id),
        more => format!(
            "({})",
            more.iter()
                .map(|field| shape(&metadata.types, field.ty.id))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    if actual != fields {
        return Err(format!(
            "{what}'s {name} variant holds {actual}, Pulse encodes {fields}"
        ));
    }
    Ok(())
}

fn expect_variant_index(
    metadata: &Metadata,
    ty: u32,
    what: &str,
    name: &str,
    index: u8,
) -> Result<(), String> {
    let variants = variants_of(metadata, ty).ok_or_else(|| format!("{what} is not an enum"))?;
    match variants.iter().find(|variant| variant.name == name) {
        Some(variant) if variant.index == index => Ok(()),
        Some(variant) => Err(format!(
            "{what}'s {name} variant is {}, Pulse encodes {index}",
            variant.index
        )),
        None => Err(format!("{what} has no {name} variant")),
    }
}

fn variants_of(
    metadata: &Metadata,
    ty: u32,
) -> Option<&[scale_info::Variant<scale_info::form::PortableForm>]> {
    let mut resolved = metadata.types.resolve(ty)?;
    // Extension types wrap their value (`CheckMortality(Era)`); look through wrappers.
    loop {
        match &resolved.type_def {
            TypeDef::Variant(variants) => return Some(&variants.variants),
            TypeDef::Composite(composite) if composite.fields.len() == 1 => {
                resolved = metadata.types.resolve(composite.fields[0].ty.id)?;
            }
            _ => return None,
        }
    }
}

// Era: `Immortal` is variant 0 without fields, `MortalN` is variant N holding one u8,
// which is what the two-byte mortal encoding relies on.
fn check_era(metadata: &Metadata, ty: u32) -> Result<(), String> {
    let variants = variants_of(metadata, ty).ok_or("the era is not an enum")?;
    if !variants.iter().any(|variant| {
        variant.index == 0 && variant.name == "Immortal" && variant.fields.is_empty()
    }) {
        return Err("the era has no field-less Immortal variant 0".into());
    }
    for index in 1..=255u8 {
        let fits = variants.iter().any(|variant| {
            variant.index == index
                && variant.fields.len() == 1
                && shape(&metadata.types, variant.fields[0].ty.id) == "u8"
        });
        if !fits {
            return Err(format!(
                "the era's variant {index} is not Mortal{index}(u8)"
            ));
        }
    }
    Ok(())
}

// The events Pulse reads an extrinsic's outcome from.
fn check_events(metadata: &Metadata) -> Result<(), String> {
    let types = &metadata.types;
    let events = metadata
        .storage_entry("System", "Events")
        .ok_or("the runtime has no System.Events storage")?;
    let record = match types.resolve(events.value_ty).map(|ty| &ty.type_def) {
        Some(TypeDef::Sequence(sequence)) => types.resolve(sequence.type_param.id),
        _ => None,
    }
    .ok_or("System.Events is not a Vec of event records")?;
    let TypeDef::Composite(record) = &record.type_def else {
        return Err("System.Events records are not structs".into());
    };
    let field = |name: &str| {
        record
            .fields
            .iter()
            .find(|field| field.name.as_deref() == Some(name))
            .map(|field| field.ty.id)
            .ok_or(format!("System.Events records have no {name} field"))
    };
    expect_variant(
        metadata,
        field("phase")?,
        "the event phase",
        "ApplyExtrinsic",
        None,
        "u32",
    )?;
    let runtime_event = field("event")?;
    let system_event = event_type(metadata, runtime_event, "System")?;
    let failed = find_variant(metadata, system_event, "ExtrinsicFailed")
        .ok_or("System has no ExtrinsicFailed event")?;
    find_variant(metadata, system_event, "ExtrinsicSuccess")
        .ok_or("System has no ExtrinsicSuccess event")?;
    let dispatch_error = failed
        .fields
        .iter()
        .find(|field| field.name.as_deref() == Some("dispatch_error"))
        .ok_or("System.ExtrinsicFailed has no dispatch_error")?
        .ty
        .id;
    expect_variant(
        metadata,
        dispatch_error,
        "DispatchError",
        "Module",
        None,
        "{index: u8, error: [u8; 4]}",
    )?;
    let payment_event = event_type(metadata, runtime_event, "TransactionPayment")?;
    let fee_paid = find_variant(metadata, payment_event, "TransactionFeePaid")
        .ok_or("TransactionPayment has no TransactionFeePaid event")?;
    match fee_paid
        .fields
        .iter()
        .find(|field| field.name.as_deref() == Some("who"))
    {
        Some(who) if shape(types, who.ty.id) == "[u8; 32]" => Ok(()),
        _ => Err("TransactionPayment.TransactionFeePaid has no who: [u8; 32]".into()),
    }
}

fn event_type(metadata: &Metadata, runtime_event: u32, pallet: &str) -> Result<u32, String> {
    let variant = find_variant(metadata, runtime_event, pallet)
        .ok_or(format!("RuntimeEvent has no {pallet} variant"))?;
    match variant.fields.as_slice() {
        [only] => Ok(only.ty.id),
        _ => Err(format!(
            "RuntimeEvent's {pallet} variant does not hold one event"
        )),
    }
}

fn find_variant<'a>(
    metadata: &'a Metadata,
    ty: u32,
    name: &str,
) -> Option<&'a scale_info::Variant<scale_info::form::PortableForm>> {
    variants_of(metadata, ty)?
        .iter()
        .find(|variant| variant.name == name)
}
