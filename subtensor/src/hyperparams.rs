//! A subnet's hyperparameters, from `SubnetInfoRuntimeApi_get_subnet_hyperparams_v2`
//! (or `get_subnet_hyperparams` on runtimes without it).
//!
//! The output struct grows with the runtime, so it is decoded by the type the metadata
//! declares and read by field name: the ones Pulse acts on become typed fields, and every
//! field, known or not, is kept in [`Hyperparameters::values`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::check::{REQUIRED_HYPERPARAMETERS, ReadPlan};
use crate::metadata::Metadata;
use crate::value::{Value, ValueError, decode_all};
use scale_info::TypeDef;

/// Why hyperparameters could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HyperparamsError {
    /// The output did not decode as the metadata's type.
    #[error("{method} output does not decode: {error}")]
    Undecodable {
        /// The runtime API method.
        method: &'static str,
        /// The decoding error.
        error: ValueError,
    },
    /// The runtime answered `None`: the subnet does not exist.
    #[error("netuid {0} does not exist on this chain")]
    NoSuchSubnet(u16),
    /// A field Pulse needs is missing or not a number/flag.
    #[error("{method} output has no usable {field}")]
    MissingField {
        /// The runtime API method.
        method: &'static str,
        /// The field.
        field: &'static str,
    },
}

/// One hyperparameter's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Hyperparameter {
    /// A flag.
    Bool(bool),
    /// An unsigned integer (compact or not).
    Unsigned(u128),
    /// A signed integer.
    Signed(i128),
    /// A fixed-point number (`I32F32`, `U64F64`), as its value.
    Fixed(f64),
    /// Anything else, as text.
    Other(String),
}

/// A subnet's hyperparameters at one block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hyperparameters {
    /// Blocks per epoch, less one (an epoch runs every `tempo + 1` blocks).
    pub tempo: u16,
    /// Blocks a neuron must wait between two `set_weights`.
    pub weights_rate_limit: u64,
    /// The lowest weights version key the chain accepts (0: any).
    pub weights_version: u64,
    /// The fewest weights a validator may set (capped by the subnet's size).
    pub min_allowed_weights: u16,
    /// The largest share one weight may take, as u16 (65535 = no limit).
    pub max_weights_limit: u16,
    /// Whether weights must be committed and revealed.
    pub commit_reveal_weights_enabled: bool,
    /// Epochs between a commit and its reveal.
    pub commit_reveal_period: u64,
    /// Blocks a new registration is protected from pruning.
    pub immunity_period: u16,
    /// Every field of the output by name, including the ones above.
    pub values: BTreeMap<String, Hyperparameter>,
}

/// Decodes the output of the hyperparameters runtime API (`plan` says which one) for
/// `netuid`, by the output type `metadata` declares.
pub fn decode_hyperparameters(
    metadata: &Metadata,
    plan: &ReadPlan,
    netuid: u16,
    bytes: &[u8],
) -> Result<Hyperparameters, HyperparamsError> {
    let method = plan.hyperparams_method;
    let value = decode_all(&metadata.types, plan.hyperparams_output_ty, bytes)
        .map_err(|error| HyperparamsError::Undecodable { method, error })?;
    let params = match value.as_variant() {
        Some(("Some", [(_, params)])) => params,
        Some(("None", [])) => return Err(HyperparamsError::NoSuchSubnet(netuid)),
        _ => {
            return Err(HyperparamsError::Undecodable {
                method,
                error: ValueError::Codec("the output is not an Option".into()),
            });
        }
    };
    let fractions = fixed_point_fields(metadata, plan.hyperparams_output_ty);
    let values: BTreeMap<String, Hyperparameter> = params
        .fields()
        .unwrap_or_default()
        .iter()
        .filter_map(|(name, value)| {
            let name = name.clone()?;
            let fraction = fractions.get(&name).copied();
            Some((name, hyperparameter(value, fraction)))
        })
        .collect();
    for (field, is_flag) in REQUIRED_HYPERPARAMETERS {
        let usable = match values.get(field) {
            Some(Hyperparameter::Bool(_)) => is_flag,
            Some(Hyperparameter::Unsigned(_)) => !is_flag,
            _ => false,
        };
        if !usable {
            return Err(HyperparamsError::MissingField { method, field });
        }
    }
    let number = |field: &'static str| match values.get(field) {
        Some(Hyperparameter::Unsigned(number)) => Ok(*number),
        _ => Err(HyperparamsError::MissingField { method, field }),
    };
    let narrow = |field: &'static str, max: u128| {
        number(field).and_then(|number| {
            if number <= max {
                Ok(number)
            } else {
                Err(HyperparamsError::MissingField { method, field })
            }
        })
    };
    Ok(Hyperparameters {
        tempo: narrow("tempo", u16::MAX.into())? as u16,
        weights_rate_limit: narrow("weights_rate_limit", u64::MAX.into())? as u64,
        weights_version: narrow("weights_version", u64::MAX.into())? as u64,
        min_allowed_weights: narrow("min_allowed_weights", u16::MAX.into())? as u16,
        max_weights_limit: narrow("max_weights_limit", u16::MAX.into())? as u16,
        commit_reveal_weights_enabled: matches!(
            values.get("commit_reveal_weights_enabled"),
            Some(Hyperparameter::Bool(true))
        ),
        commit_reveal_period: narrow("commit_reveal_period", u64::MAX.into())? as u64,
        immunity_period: narrow("immunity_period", u16::MAX.into())? as u16,
        values,
    })
}

fn hyperparameter(value: &Value, fractional_bits: Option<u32>) -> Hyperparameter {
    if let Some(bits) = fractional_bits {
        let scale = 2f64.powi(bits as i32);
        match value.unwrapped() {
            Value::Signed(raw) => return Hyperparameter::Fixed(*raw as f64 / scale),
            Value::Unsigned(raw) => return Hyperparameter::Fixed(*raw as f64 / scale),
            _ => {}
        }
    }
    match value.unwrapped() {
        Value::Bool(flag) => Hyperparameter::Bool(*flag),
        Value::Unsigned(number) => Hyperparameter::Unsigned(*number),
        Value::Signed(number) => Hyperparameter::Signed(*number),
        other => Hyperparameter::Other(format!("{other:?}")),
    }
}

// The fields of the `Some` struct of an `Option<struct>` output that are substrate-fixed
// numbers (`FixedI64<Frac>`, the `I32F32` of the runtime's source), with their
// fractional bits. `Frac` is a typenum: `UInt<UInt<UTerm, B1>, B0>` is binary 10.
fn fixed_point_fields(metadata: &Metadata, output_ty: u32) -> BTreeMap<String, u32> {
    let types = &metadata.types;
    let inner = types.resolve(output_ty).and_then(|ty| match &ty.type_def {
        TypeDef::Variant(variants) => variants
            .variants
            .iter()
            .find(|variant| variant.name == "Some")
            .and_then(|some| some.fields.first())
            .and_then(|field| types.resolve(field.ty.id)),
        _ => None,
    });
    let Some(TypeDef::Composite(params)) = inner.map(|ty| &ty.type_def) else {
        return BTreeMap::new();
    };
    params
        .fields
        .iter()
        .filter_map(|field| {
            let name = field.name.clone()?;
            let ty = types.resolve(field.ty.id)?;
            if ty.path.segments.first().map(String::as_str) != Some("substrate_fixed") {
                return None;
            }
            let frac = ty
                .type_params
                .iter()
                .find(|param| param.name == "Frac")?
                .ty?;
            Some((name, typenum(types, frac.id, 0)?))
        })
        .collect()
}

fn typenum(types: &scale_info::PortableRegistry, id: u32, depth: u32) -> Option<u32> {
    if depth > 16 {
        return None;
    }
    let ty = types.resolve(id)?;
    let param = |name: &str| {
        ty.type_params
            .iter()
            .find(|param| param.name == name)?
            .ty
            .map(|ty| ty.id)
    };
    match ty.path.segments.last()?.as_str() {
        "UTerm" | "B0" => Some(0),
        "B1" => Some(1),
        "UInt" => Some(
            2 * typenum(types, param("U")?, depth + 1)? + typenum(types, param("B")?, depth + 1)?,
        ),
        _ => None,
    }
}
