//! Runtime metadata (V14 or V15), reduced to what Pulse reads from it.
//!
//! The node's metadata says how every call, event, error, storage item and runtime API
//! is encoded. Pulse decodes it with `frame-metadata` and keeps one version-neutral view:
//! the type registry, the pallets with their indices and type ids, the extrinsic format
//! with its transaction extensions in order, and (V15 only) the runtime APIs.

use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use parity_scale_codec::Decode;
use scale_info::PortableRegistry;
use thiserror::Error;

/// Why metadata bytes could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetadataError {
    /// The bytes are not SCALE-encoded `RuntimeMetadataPrefixed`.
    #[error("metadata does not decode: {0}")]
    Undecodable(String),
    /// A metadata version Pulse does not read.
    #[error("metadata version {0} is not supported; Pulse reads V14 and V15")]
    UnsupportedVersion(u32),
}

/// How the keys of a storage map are hashed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageHasher {
    /// blake2b-128.
    Blake2_128,
    /// blake2b-256.
    Blake2_256,
    /// blake2b-128 followed by the key itself.
    Blake2_128Concat,
    /// xxhash-128.
    Twox128,
    /// xxhash-256.
    Twox256,
    /// xxhash-64 followed by the key itself.
    Twox64Concat,
    /// The key itself.
    Identity,
}

/// One storage item of a pallet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageEntry {
    /// The item's name (`Events`, `Account`, ...).
    pub name: String,
    /// For a map: the hashers and the key type; `None` for a plain value.
    pub key: Option<(Vec<StorageHasher>, u32)>,
    /// The value's type id.
    pub value_ty: u32,
    /// The SCALE value read when the key holds nothing.
    pub default: Vec<u8>,
}

/// One pallet: its index and the type ids of its calls, events and errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pallet {
    /// The pallet's name in the runtime (`SubtensorModule`, `System`, ...).
    pub name: String,
    /// The pallet index, the first byte of its calls and of its module errors.
    pub index: u8,
    /// The type id of its call enum.
    pub calls_ty: Option<u32>,
    /// The type id of its event enum.
    pub events_ty: Option<u32>,
    /// The type id of its error enum.
    pub errors_ty: Option<u32>,
    /// The storage prefix (usually the pallet name).
    pub storage_prefix: Option<String>,
    /// Its storage items.
    pub storage: Vec<StorageEntry>,
}

/// A transaction extension (V15: "signed extension") in the order the runtime applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension's identifier (`CheckNonce`, `CheckMetadataHash`, ...).
    pub identifier: String,
    /// The type id of what it adds to the extrinsic ("extra").
    pub extra_ty: u32,
    /// The type id of what it adds only to the signing payload ("additional").
    pub additional_ty: u32,
}

/// The extrinsic format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtrinsicFormat {
    /// The extrinsic version (4 on subtensor).
    pub version: u8,
    /// The address type (`MultiAddress`), when the metadata names it.
    pub address_ty: Option<u32>,
    /// The outer call type (`RuntimeCall`), when the metadata names it.
    pub call_ty: Option<u32>,
    /// The signature type (`MultiSignature`), when the metadata names it.
    pub signature_ty: Option<u32>,
    /// The transaction extensions, in order.
    pub extensions: Vec<Extension>,
}

/// One runtime API method (V15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeApiMethod {
    /// The method's name (`get_neurons_lite`).
    pub name: String,
    /// Its inputs: names and type ids, SCALE-encoded one after another as `state_call` data.
    pub inputs: Vec<(String, u32)>,
    /// The type id of its output.
    pub output_ty: u32,
}

/// One runtime API (V15).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeApi {
    /// The API's name (`NeuronInfoRuntimeApi`).
    pub name: String,
    /// Its methods.
    pub methods: Vec<RuntimeApiMethod>,
}

/// Decoded runtime metadata, version-neutral.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The metadata version the node gave (14 or 15).
    pub version: u32,
    /// Every type the other fields refer to by id.
    pub types: PortableRegistry,
    /// The pallets, in metadata order.
    pub pallets: Vec<Pallet>,
    /// The extrinsic format.
    pub extrinsic: ExtrinsicFormat,
    /// The runtime APIs (empty for V14, which does not describe them).
    pub apis: Vec<RuntimeApi>,
}

impl Metadata {
    /// Decodes `RuntimeMetadataPrefixed` bytes (they start with `meta`).
    pub fn decode(bytes: &[u8]) -> Result<Self, MetadataError> {
        let mut input = bytes;
        let prefixed = RuntimeMetadataPrefixed::decode(&mut input)
            .map_err(|error| MetadataError::Undecodable(error.to_string()))?;
        if prefixed.0 != frame_metadata::META_RESERVED {
            return Err(MetadataError::Undecodable(
                "the bytes do not start with the metadata magic \"meta\"".into(),
            ));
        }
        Self::from_runtime_metadata(prefixed.1)
    }

    /// The version-neutral view of decoded `frame-metadata`.
    pub fn from_runtime_metadata(metadata: RuntimeMetadata) -> Result<Self, MetadataError> {
        match metadata {
            RuntimeMetadata::V14(v14) => {
                let extrinsic = &v14.extrinsic;
                // V14 names the address, call and signature types only as type
                // parameters of the UncheckedExtrinsic type.
                let param = |name: &str| {
                    v14.types.resolve(extrinsic.ty.id).and_then(|ty| {
                        ty.type_params
                            .iter()
                            .find(|param| param.name == name)
                            .and_then(|param| param.ty.map(|ty| ty.id))
                    })
                };
                let format = ExtrinsicFormat {
                    version: extrinsic.version,
                    address_ty: param("Address"),
                    call_ty: param("Call"),
                    signature_ty: param("Signature"),
                    extensions: extrinsic
                        .signed_extensions
                        .iter()
                        .map(|ext| Extension {
                            identifier: ext.identifier.clone(),
                            extra_ty: ext.ty.id,
                            additional_ty: ext.additional_signed.id,
                        })
                        .collect(),
                };
                Ok(Self {
                    version: 14,
                    pallets: v14.pallets.iter().map(pallet_v14).collect(),
                    types: v14.types,
                    extrinsic: format,
                    apis: Vec::new(),
                })
            }
            RuntimeMetadata::V15(v15) => {
                let extrinsic = &v15.extrinsic;
                let format = ExtrinsicFormat {
                    version: extrinsic.version,
                    address_ty: Some(extrinsic.address_ty.id),
                    call_ty: Some(extrinsic.call_ty.id),
                    signature_ty: Some(extrinsic.signature_ty.id),
                    extensions: extrinsic
                        .signed_extensions
                        .iter()
                        .map(|ext| Extension {
                            identifier: ext.identifier.clone(),
                            extra_ty: ext.ty.id,
                            additional_ty: ext.additional_signed.id,
                        })
                        .collect(),
                };
                let pallets = v15
                    .pallets
                    .iter()
                    .map(|pallet| {
                        pallet_parts(
                            &pallet.name,
                            pallet.index,
                            pallet.calls.as_ref().map(|calls| calls.ty.id),
                            pallet.event.as_ref().map(|event| event.ty.id),
                            pallet.error.as_ref().map(|error| error.ty.id),
                            pallet.storage.as_ref(),
                        )
                    })
                    .collect();
                let apis = v15
                    .apis
                    .iter()
                    .map(|api| RuntimeApi {
                        name: api.name.clone(),
                        methods: api
                            .methods
                            .iter()
                            .map(|method| RuntimeApiMethod {
                                name: method.name.clone(),
                                inputs: method
                                    .inputs
                                    .iter()
                                    .map(|input| (input.name.clone(), input.ty.id))
                                    .collect(),
                                output_ty: method.output.id,
                            })
                            .collect(),
                    })
                    .collect();
                Ok(Self {
                    version: 15,
                    types: v15.types,
                    pallets,
                    extrinsic: format,
                    apis,
                })
            }
            other => Err(MetadataError::UnsupportedVersion(other.version())),
        }
    }

    /// The pallet named `name`.
    pub fn pallet(&self, name: &str) -> Option<&Pallet> {
        self.pallets.iter().find(|pallet| pallet.name == name)
    }

    /// The pallet with index `index`.
    pub fn pallet_by_index(&self, index: u8) -> Option<&Pallet> {
        self.pallets.iter().find(|pallet| pallet.index == index)
    }

    /// The runtime API method `api`.`method` (V15 only).
    pub fn runtime_api_method(&self, api: &str, method: &str) -> Option<&RuntimeApiMethod> {
        self.apis
            .iter()
            .find(|candidate| candidate.name == api)
            .and_then(|api| {
                api.methods
                    .iter()
                    .find(|candidate| candidate.name == method)
            })
    }

    /// The storage item `pallet`.`name`.
    pub fn storage_entry(&self, pallet: &str, name: &str) -> Option<&StorageEntry> {
        self.pallet(pallet)
            .and_then(|pallet| pallet.storage.iter().find(|entry| entry.name == name))
    }
}

fn pallet_v14(
    pallet: &frame_metadata::v14::PalletMetadata<scale_info::form::PortableForm>,
) -> Pallet {
    pallet_parts(
        &pallet.name,
        pallet.index,
        pallet.calls.as_ref().map(|calls| calls.ty.id),
        pallet.event.as_ref().map(|event| event.ty.id),
        pallet.error.as_ref().map(|error| error.ty.id),
        pallet.storage.as_ref(),
    )
}

fn pallet_parts(
    name: &str,
    index: u8,
    calls_ty: Option<u32>,
    events_ty: Option<u32>,
    errors_ty: Option<u32>,
    storage: Option<&frame_metadata::v14::PalletStorageMetadata<scale_info::form::PortableForm>>,
) -> Pallet {
    use frame_metadata::v14::StorageEntryType;
    let entries = storage
        .map(|storage| {
            storage
                .entries
                .iter()
                .map(|entry| match &entry.ty {
                    StorageEntryType::Plain(ty) => StorageEntry {
                        name: entry.name.clone(),
                        key: None,
                        value_ty: ty.id,
                        default: entry.default.clone(),
                    },
                    StorageEntryType::Map {
                        hashers,
                        key,
                        value,
                    } => StorageEntry {
                        name: entry.name.clone(),
                        key: Some((hashers.iter().map(hasher).collect(), key.id)),
                        value_ty: value.id,
                        default: entry.default.clone(),
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    Pallet {
        name: name.to_string(),
        index,
        calls_ty,
        events_ty,
        errors_ty,
        storage_prefix: storage.map(|storage| storage.prefix.clone()),
        storage: entries,
    }
}

fn hasher(hasher: &frame_metadata::v14::StorageHasher) -> StorageHasher {
    use frame_metadata::v14::StorageHasher as H;
    match hasher {
        H::Blake2_128 => StorageHasher::Blake2_128,
        H::Blake2_256 => StorageHasher::Blake2_256,
        H::Blake2_128Concat => StorageHasher::Blake2_128Concat,
        H::Twox128 => StorageHasher::Twox128,
        H::Twox256 => StorageHasher::Twox256,
        H::Twox64Concat => StorageHasher::Twox64Concat,
        H::Identity => StorageHasher::Identity,
    }
}
