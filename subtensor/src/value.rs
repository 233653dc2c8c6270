//! Reading SCALE bytes by the metadata's type registry, and naming type shapes.
//!
//! Two jobs need the registry rather than a fixed Rust type: decoding what the runtime
//! declares but Pulse does not pin (the hyperparameter struct, the whole `System.Events`
//! vector with every pallet's events in it), and describing a type's wire shape so the
//! metadata check can compare it with what Pulse encodes.
//!
//! This is written here rather than taken from `scale-value`/`scale-decode`: Pulse needs
//! numbers, booleans, names and a skip over everything else, which is a page of code,
//! where those crates bring their own family of type-resolver and encoding crates.

use parity_scale_codec::{Compact, Decode};
use scale_info::form::PortableForm;
use scale_info::{PortableRegistry, Type, TypeDef, TypeDefPrimitive};
use thiserror::Error;

// Registries are finite, but a malformed or hostile one could make a type contain
// itself without an enum in between; no real runtime type nests this deep.
const MAX_DEPTH: usize = 64;

/// Why bytes did not decode as the registry's type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// A type id the registry does not hold.
    #[error("type {0} is not in the metadata's registry")]
    UnknownType(u32),
    /// The bytes ended early or hold an impossible value.
    #[error("{0}")]
    Codec(String),
    /// An enum discriminant the type does not declare.
    #[error("variant index {index} is not a variant of {ty}")]
    UnknownVariant {
        /// The discriminant read.
        index: u8,
        /// The enum's path.
        ty: String,
    },
    /// Types nested past any real runtime's depth.
    #[error("types nest deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// Bytes left over after the value.
    #[error("{0} bytes left over after the value")]
    TrailingBytes(usize),
}

impl From<parity_scale_codec::Error> for ValueError {
    fn from(error: parity_scale_codec::Error) -> Self {
        Self::Codec(error.to_string())
    }
}

/// A field of a composite or variant: its name (when the type names it) and value.
pub type Field = (Option<String>, Value);

/// A decoded value, shaped like its type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `bool`.
    Bool(bool),
    /// `char`.
    Char(char),
    /// `str`.
    Str(String),
    /// Any unsigned integer up to `u128`, compact or not.
    Unsigned(u128),
    /// Any signed integer up to `i128`.
    Signed(i128),
    /// `u256` or `i256`, little-endian.
    Wide([u8; 32]),
    /// A sequence or array of `u8`.
    Bytes(Vec<u8>),
    /// A struct or tuple: fields in order, with their names when the type names them.
    Composite(Vec<Field>),
    /// An enum value.
    Variant {
        /// The variant's name.
        name: String,
        /// Its discriminant.
        index: u8,
        /// Its fields.
        fields: Vec<Field>,
    },
    /// A sequence or array of anything but `u8`.
    Sequence(Vec<Value>),
    /// A bit sequence, as its raw store bytes.
    Bits(Vec<u8>),
}

impl Value {
    /// The field named `name` of a composite or variant.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields()?
            .iter()
            .find(|(field, _)| field.as_deref() == Some(name))
            .map(|(_, value)| value)
    }

    /// The fields of a composite or variant.
    pub fn fields(&self) -> Option<&[Field]> {
        match self {
            Value::Composite(fields) | Value::Variant { fields, .. } => Some(fields),
            _ => None,
        }
    }

    /// The value inside single-field wrappers (`NetUid(u16)`, `I32F32 { bits }`, ...).
    pub fn unwrapped(&self) -> &Value {
        match self {
            Value::Composite(fields) if fields.len() == 1 => fields[0].1.unwrapped(),
            other => other,
        }
    }

    /// The number, for an unsigned integer or a wrapper around one.
    pub fn as_u128(&self) -> Option<u128> {
        match self.unwrapped() {
            Value::Unsigned(number) => Some(*number),
            _ => None,
        }
    }

    /// The boolean, for `bool` or a wrapper around one.
    pub fn as_bool(&self) -> Option<bool> {
        match self.unwrapped() {
            Value::Bool(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The variant's name and fields.
    pub fn as_variant(&self) -> Option<(&str, &[Field])> {
        match self.unwrapped() {
            Value::Variant { name, fields, .. } => Some((name, fields)),
            _ => None,
        }
    }

    /// The bytes, for `Vec<u8>`, `[u8; N]` or a wrapper around one.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self.unwrapped() {
            Value::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// Decodes exactly one value of type `ty` from `bytes`; leftover bytes are an error.
pub fn decode_all(types: &PortableRegistry, ty: u32, bytes: &[u8]) -> Result<Value, ValueError> {
    let mut input = bytes;
    let value = decode(types, ty, &mut input)?;
    if !input.is_empty() {
        return Err(ValueError::TrailingBytes(input.len()));
    }
    Ok(value)
}

/// Decodes one value of type `ty` from the front of `input`, advancing it.
pub fn decode(types: &PortableRegistry, ty: u32, input: &mut &[u8]) -> Result<Value, ValueError> {
    decode_at(types, ty, input, 0)
}

fn resolve(types: &PortableRegistry, ty: u32) -> Result<&Type<PortableForm>, ValueError> {
    types.resolve(ty).ok_or(ValueError::UnknownType(ty))
}

fn decode_at(
    types: &PortableRegistry,
    ty: u32,
    input: &mut &[u8],
    depth: usize,
) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep);
    }
    let resolved = resolve(types, ty)?;
    let fields_of = |fields: &[scale_info::Field<PortableForm>], input: &mut &[u8]| {
        fields
            .iter()
            .map(|field| {
                let value = decode_at(types, field.ty.id, input, depth + 1)?;
                Ok((field.name.clone(), value))
            })
            .collect::<Result<Vec<_>, ValueError>>()
    };
    match &resolved.type_def {
        TypeDef::Composite(composite) => Ok(Value::Composite(fields_of(&composite.fields, input)?)),
        TypeDef::Variant(variants) => {
            let index = u8::decode(input)?;
            let variant = variants
                .variants
                .iter()
                .find(|variant| variant.index == index)
                .ok_or_else(|| ValueError::UnknownVariant {
                    index,
                    ty: resolved.path.segments.join("::"),
                })?;
            Ok(Value::Variant {
                name: variant.name.clone(),
                index,
                fields: fields_of(&variant.fields, input)?,
            })
        }
        TypeDef::Sequence(sequence) => {
            let len = Compact::<u32>::decode(input)?.0 as usize;
            decode_items(types, sequence.type_param.id, len, input, depth)
        }
        TypeDef::Array(array) => {
            decode_items(types, array.type_param.id, array.len as usize, input, depth)
        }
        TypeDef::Tuple(tuple) => {
            let values = tuple
                .fields
                .iter()
                .map(|field| Ok((None, decode_at(types, field.id, input, depth + 1)?)))
                .collect::<Result<Vec<_>, ValueError>>()?;
            Ok(Value::Composite(values))
        }
        TypeDef::Primitive(primitive) => decode_primitive(primitive, input),
        TypeDef::Compact(compact) => decode_compact(types, compact.type_param.id, input, depth),
        TypeDef::BitSequence(bits) => {
            let store_bits = match &resolve(types, bits.bit_store_type.id)?.type_def {
                TypeDef::Primitive(TypeDefPrimitive::U8) => 8,
                TypeDef::Primitive(TypeDefPrimitive::U16) => 16,
                TypeDef::Primitive(TypeDefPrimitive::U32) => 32,
                TypeDef::Primitive(TypeDefPrimitive::U64) => 64,
                _ => {
                    return Err(ValueError::Codec(
                        "bit sequence store is not u8..u64".into(),
                    ));
                }
            };
            let bit_len = Compact::<u32>::decode(input)?.0 as usize;
            let byte_len = bit_len.div_ceil(store_bits) * (store_bits / 8);
            Ok(Value::Bits(take(input, byte_len)?.to_vec()))
        }
    }
}

fn decode_items(
    types: &PortableRegistry,
    item_ty: u32,
    len: usize,
    input: &mut &[u8],
    depth: usize,
) -> Result<Value, ValueError> {
    if matches!(
        resolve(types, item_ty)?.type_def,
        TypeDef::Primitive(TypeDefPrimitive::U8)
    ) {
        return Ok(Value::Bytes(take(input, len)?.to_vec()));
    }
    // Every item takes at least one byte, so a length past the input is garbage and
    // must not size an allocation.
    let mut items = Vec::with_capacity(len.min(input.len()));
    for _ in 0..len {
        items.push(decode_at(types, item_ty, input, depth + 1)?);
    }
    Ok(Value::Sequence(items))
}

fn take<'a>(input: &mut &'a [u8], len: usize) -> Result<&'a [u8], ValueError> {
    if input.len() < len {
        return Err(ValueError::Codec(format!(
            "needed {len} bytes, {} left",
            input.len()
        )));
    }
    let (head, rest) = input.split_at(len);
    *input = rest;
    Ok(head)
}

fn decode_primitive(primitive: &TypeDefPrimitive, input: &mut &[u8]) -> Result<Value, ValueError> {
    use TypeDefPrimitive as P;
    Ok(match primitive {
        P::Bool => Value::Bool(bool::decode(input)?),
        P::Char => {
            let code = u32::decode(input)?;
            Value::Char(
                char::from_u32(code)
                    .ok_or_else(|| ValueError::Codec(format!("{code} is not a char")))?,
            )
        }
        P::Str => Value::Str(String::decode(input)?),
        P::U8 => Value::Unsigned(u8::decode(input)?.into()),
        P::U16 => Value::Unsigned(u16::decode(input)?.into()),
        P::U32 => Value::Unsigned(u32::decode(input)?.into()),
        P::U64 => Value::Unsigned(u64::decode(input)?.into()),
        P::U128 => Value::Unsigned(u128::decode(input)?),
        P::I8 => Value::Signed(i8::decode(input)?.into()),
        P::I16 => Value::Signed(i16::decode(input)?.into()),
        P::I32 => Value::Signed(i32::decode(input)?.into()),
        P::I64 => Value::Signed(i64::decode(input)?.into()),
        P::I128 => Value::Signed(i128::decode(input)?),
        P::U256 | P::I256 => Value::Wide(<[u8; 32]>::decode(input)?),
    })
}

// A compact of a wrapper (`Compact<NetUid>`) encodes the wrapped integer.
fn decode_compact(
    types: &PortableRegistry,
    inner: u32,
    input: &mut &[u8],
    depth: usize,
) -> Result<Value, ValueError> {
    if depth > MAX_DEPTH {
        return Err(ValueError::TooDeep);
    }
    match &resolve(types, inner)?.type_def {
        TypeDef::Primitive(TypeDefPrimitive::U8) => {
            Ok(Value::Unsigned(Compact::<u8>::decode(input)?.0.into()))
        }
        TypeDef::Primitive(TypeDefPrimitive::U16) => {
            Ok(Value::Unsigned(Compact::<u16>::decode(input)?.0.into()))
        }
        TypeDef::Primitive(TypeDefPrimitive::U32) => {
            Ok(Value::Unsigned(Compact::<u32>::decode(input)?.0.into()))
        }
        TypeDef::Primitive(TypeDefPrimitive::U64) => {
            Ok(Value::Unsigned(Compact::<u64>::decode(input)?.0.into()))
        }
        TypeDef::Primitive(TypeDefPrimitive::U128) => {
            Ok(Value::Unsigned(Compact::<u128>::decode(input)?.0))
        }
        TypeDef::Composite(composite) if composite.fields.len() == 1 => {
            let field = &composite.fields[0];
            let value = decode_compact(types, field.ty.id, input, depth + 1)?;
            Ok(Value::Composite(vec![(field.name.clone(), value)]))
        }
        TypeDef::Composite(composite) if composite.fields.is_empty() => {
            Ok(Value::Composite(Vec::new()))
        }
        TypeDef::Tuple(tuple) if tuple.fields.is_empty() => Ok(Value::Composite(Vec::new())),
        _ => Err(ValueError::Codec(format!(
            "type {inner} cannot be compact-encoded"
        ))),
    }
}

/// The wire shape of type `ty`, as Pulse names shapes in the metadata check:
/// `u16`, `Vec<u16>`, `[u8; 32]`, `Compact<u64>`, `(A, B)`, `()`, `Option<T>`,
/// `{name: T, ...}` for structs, and the enum's own name (`Era`, `Mode`) for other enums.
/// Single-field wrappers are transparent, as they are on the wire: `NetUid` is `u16`,
/// `H256` is `[u8; 32]`, `BoundedVec<u8>` is `Vec<u8>`.
pub fn shape(types: &PortableRegistry, ty: u32) -> String {
    shape_at(types, ty, 0)
}

fn shape_at(types: &PortableRegistry, ty: u32, depth: usize) -> String {
    if depth > MAX_DEPTH {
        return "…".into();
    }
    let Some(resolved) = types.resolve(ty) else {
        return format!("<unknown type {ty}>");
    };
    let inner = |id: u32| shape_at(types, id, depth + 1);
    match &resolved.type_def {
        TypeDef::Composite(composite) => match composite.fields.as_slice() {
            [] => "()".into(),
            [only] => inner(only.ty.id),
            fields if fields.iter().all(|field| field.name.is_some()) => {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|field| {
                        format!(
                            "{}: {}",
                            field.name.as_deref().unwrap_or_default(),
                            inner(field.ty.id)
                        )
                    })
                    .collect();
                format!("{{{}}}", parts.join(", "))
            }
            fields => {
                let parts: Vec<String> = fields.iter().map(|field| inner(field.ty.id)).collect();
                format!("({})", parts.join(", "))
            }
        },
        TypeDef::Variant(variants) => {
            let name = resolved
                .path
                .segments
                .last()
                .cloned()
                .unwrap_or_else(|| "enum".into());
            let is_option = name == "Option"
                && variants.variants.len() == 2
                && variants
                    .variants
                    .iter()
                    .any(|v| v.name == "None" && v.index == 0 && v.fields.is_empty())
                && variants
                    .variants
                    .iter()
                    .any(|v| v.name == "Some" && v.index == 1 && v.fields.len() == 1);
            if is_option {
                let some = variants
                    .variants
                    .iter()
                    .find(|v| v.name == "Some")
                    .expect("checked above");
                format!("Option<{}>", inner(some.fields[0].ty.id))
            } else {
                name
            }
        }
        TypeDef::Sequence(sequence) => format!("Vec<{}>", inner(sequence.type_param.id)),
        TypeDef::Array(array) => format!("[{}; {}]", inner(array.type_param.id), array.len),
        TypeDef::Tuple(tuple) => match tuple.fields.as_slice() {
            [] => "()".into(),
            [only] => format!("({},)", inner(only.id)),
            fields => {
                let parts: Vec<String> = fields.iter().map(|field| inner(field.id)).collect();
                format!("({})", parts.join(", "))
            }
        },
        TypeDef::Primitive(primitive) => primitive_name(primitive).into(),
        TypeDef::Compact(compact) => format!("Compact<{}>", inner(compact.type_param.id)),
        TypeDef::BitSequence(_) => "BitVec".into(),
    }
}

fn primitive_name(primitive: &TypeDefPrimitive) -> &'static str {
    use TypeDefPrimitive as P;
    match primitive {
        P::Bool => "bool",
        P::Char => "char",
        P::Str => "str",
        P::U8 => "u8",
        P::U16 => "u16",
        P::U32 => "u32",
        P::U64 => "u64",
        P::U128 => "u128",
        P::U256 => "u256",
        P::I8 => "i8",
        P::I16 => "i16",
        P::I32 => "i32",
        P::I64 => "i64",
        P::I128 => "i128",
        P::I256 => "i256",
    }
}
