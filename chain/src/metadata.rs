//! The runtime metadata the double serves, and the indices it reads from it.
//!
//! The bytes are finney's spec-343 metadata as a node returned them (`data/chain/`): V14 is
//! the answer to `state_getMetadata`, V15 the answer to `Metadata_metadata_at_version(15)`
//! without its `Option` wrapper. They are embedded at build time so the binary needs no files.
//! Pallet, call, event and error indices, storage hashers and storage defaults are looked up
//! here by name, so the double encodes what this runtime declares rather than numbers typed by
//! hand.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use frame_metadata::v15::{RuntimeMetadataV15, StorageEntryType, StorageHasher};
use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use parity_scale_codec::Decode;
use scale_info::{PortableRegistry, TypeDef};

use crate::scale::twox_128;

/// `state_getMetadata`'s answer: `"meta"`, version 14, the metadata.
pub static METADATA_V14: &[u8] = include_bytes!("../../data/chain/metadata_v14.scale");
/// `Metadata_metadata_at_version(15)`'s answer without its `Option<OpaqueMetadata>` wrapper.
pub static METADATA_V15: &[u8] = include_bytes!("../../data/chain/metadata_v15.scale");

/// How a storage map hashes one key part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hasher {
    /// blake2b-128 of the key, then the key.
    Blake2_128Concat,
    /// twox-64 of the key, then the key.
    Twox64Concat,
    /// The key as it is.
    Identity,
    /// A hasher that hides the key (blake2 or twox without the key after it).
    Opaque,
}

/// A storage item of the runtime.
#[derive(Debug, Clone)]
pub struct StorageItem {
    /// Pallet name, e.g. `System`.
    pub pallet: String,
    /// Item name, e.g. `Events`.
    pub name: String,
    /// One hasher per key part; empty for a plain value.
    pub hashers: Vec<Hasher>,
    /// The encoded value the item reads as when nothing is stored.
    pub default: Vec<u8>,
    /// Whether the item reads as its default (rather than `None`) when nothing is stored.
    pub value_query: bool,
    /// Type id of the value in the registry.
    pub value_type: u32,
}

/// One pallet's indices.
#[derive(Debug, Clone, Default)]
struct Pallet {
    index: u8,
    calls: HashMap<String, u8>,
    call_names: HashMap<u8, String>,
    events: HashMap<String, u8>,
    errors: HashMap<String, u8>,
}

/// The decoded V15 metadata with lookups by name.
pub struct Metadata {
    v15: RuntimeMetadataV15,
    pallets: HashMap<String, Pallet>,
    pallet_names: HashMap<u8, String>,
    storage: HashMap<[u8; 32], StorageItem>,
    apis: HashSet<String>,
}

impl std::fmt::Debug for Metadata {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metadata")
            .field("pallets", &self.pallets.len())
            .finish_non_exhaustive()
    }
}

static METADATA: LazyLock<Metadata> = LazyLock::new(|| {
    Metadata::decode(METADATA_V15).expect("the embedded V15 metadata decodes (a test checks it)")
});

/// The embedded runtime's metadata.
pub fn metadata() -> &'static Metadata {
    &METADATA
}

fn variants(registry: &PortableRegistry, id: u32) -> Vec<(String, u8)> {
    match registry.resolve(id).map(|ty| &ty.type_def) {
        Some(TypeDef::Variant(def)) => def
            .variants
            .iter()
            .map(|v| (v.name.clone(), v.index))
            .collect(),
        _ => Vec::new(),
    }
}

impl Metadata {
    /// Decodes `"meta"`-prefixed V15 bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let prefixed = RuntimeMetadataPrefixed::decode(&mut &bytes[..])
            .map_err(|err| format!("metadata does not decode: {err}"))?;
        let RuntimeMetadata::V15(v15) = prefixed.1 else {
            return Err("metadata is not version 15".to_owned());
        };
        let registry = &v15.types;
        let mut pallets = HashMap::new();
        let mut pallet_names = HashMap::new();
        let mut storage = HashMap::new();
        for pallet in &v15.pallets {
            let calls: HashMap<String, u8> = pallet
                .calls
                .as_ref()
                .map(|c| variants(registry, c.ty.id).into_iter().collect())
                .unwrap_or_default();
            let call_names = calls.iter().map(|(n, i)| (*i, n.clone())).collect();
            let events = pallet
                .event
                .as_ref()
                .map(|e| variants(registry, e.ty.id).into_iter().collect())
                .unwrap_or_default();
            let errors = pallet
                .error
                .as_ref()
                .map(|e| variants(registry, e.ty.id).into_iter().collect())
                .unwrap_or_default();
            if let Some(pallet_storage) = &pallet.storage {
                for entry in &pallet_storage.entries {
                    let (hashers, value_type) = match &entry.ty {
                        StorageEntryType::Plain(ty) => (Vec::new(), ty.id),
                        StorageEntryType::Map { hashers, value, .. } => (
                            hashers
                                .iter()
                                .map(|h| match h {
                                    StorageHasher::Blake2_128Concat => Hasher::Blake2_128Concat,
                                    StorageHasher::Twox64Concat => Hasher::Twox64Concat,
                                    StorageHasher::Identity => Hasher::Identity,
                                    _ => Hasher::Opaque,
                                })
                                .collect(),
                            value.id,
                        ),
                    };
                    let mut prefix = [0u8; 32];
                    prefix[..16].copy_from_slice(&twox_128(pallet_storage.prefix.as_bytes()));
                    prefix[16..].copy_from_slice(&twox_128(entry.name.as_bytes()));
                    storage.insert(
                        prefix,
                        StorageItem {
                            pallet: pallet_storage.prefix.clone(),
                            name: entry.name.clone(),
                            hashers,
                            default: entry.default.clone(),
                            value_query: matches!(
                                entry.modifier,
                                frame_metadata::v14::StorageEntryModifier::Default
                            ),
                            value_type,
                        },
                    );
                }
            }
            pallet_names.insert(pallet.index, pallet.name.clone());
            pallets.insert(
                pallet.name.clone(),
                Pallet {
                    index: pallet.index,
                    calls,
                    call_names,
                    events,
                    errors,
                },
            );
        }
        let apis = v15
            .apis
            .iter()
            .flat_map(|api| {
                api.methods
                    .iter()
                    .map(move |m| format!("{}_{}", api.name, m.name))
            })
            .collect();
        Ok(Self {
            v15,
            pallets,
            pallet_names,
            storage,
            apis,
        })
    }

    /// The decoded V15 metadata (its type registry pins every shape the double encodes).
    pub fn v15(&self) -> &RuntimeMetadataV15 {
        &self.v15
    }

    /// A pallet's index.
    pub fn pallet_index(&self, pallet: &str) -> Option<u8> {
        self.pallets.get(pallet).map(|p| p.index)
    }

    /// A call's index within its pallet.
    pub fn call_index(&self, pallet: &str, call: &str) -> Option<u8> {
        self.pallets.get(pallet)?.calls.get(call).copied()
    }

    /// The pallet and call names of `[pallet index, call index]`.
    pub fn call_name(&self, pallet: u8, call: u8) -> Option<(&str, &str)> {
        let pallet_name = self.pallet_names.get(&pallet)?;
        let call_name = self.pallets.get(pallet_name)?.call_names.get(&call)?;
        Some((pallet_name.as_str(), call_name.as_str()))
    }

    /// An event's index within its pallet.
    pub fn event_index(&self, pallet: &str, event: &str) -> Option<u8> {
        self.pallets.get(pallet)?.events.get(event).copied()
    }

    /// An error's index within its pallet's `Error` enum.
    pub fn error_index(&self, pallet: &str, error: &str) -> Option<u8> {
        self.pallets.get(pallet)?.errors.get(error).copied()
    }

    /// The name of a pallet's error by index.
    pub fn error_name(&self, pallet: u8, error: u8) -> Option<&str> {
        let pallet_name = self.pallet_names.get(&pallet)?;
        self.pallets
            .get(pallet_name)?
            .errors
            .iter()
            .find(|(_, index)| **index == error)
            .map(|(name, _)| name.as_str())
    }

    /// The storage item whose 32-byte prefix (`twox128(pallet) ‖ twox128(item)`) opens `key`.
    pub fn storage_item(&self, key: &[u8]) -> Option<&StorageItem> {
        let prefix: [u8; 32] = key.get(..32)?.try_into().ok()?;
        self.storage.get(&prefix)
    }

    /// A storage item by pallet and name, with its prefix.
    pub fn storage_item_named(&self, pallet: &str, name: &str) -> Option<([u8; 32], &StorageItem)> {
        self.storage
            .iter()
            .find(|(_, item)| item.pallet == pallet && item.name == name)
            .map(|(prefix, item)| (*prefix, item))
    }

    /// Whether the runtime offers `Api_method` (as `state_call` names it).
    pub fn has_runtime_api(&self, name: &str) -> bool {
        self.apis.contains(name)
    }

    /// The output type id of runtime API `Api_method`.
    pub fn runtime_api_output(&self, name: &str) -> Option<u32> {
        self.v15.apis.iter().find_map(|api| {
            api.methods
                .iter()
                .find(|m| format!("{}_{}", api.name, m.name) == name)
                .map(|m| m.output.id)
        })
    }
}

/// The full storage key of `pallet.item` with its key parts (each already SCALE-encoded),
/// hashed as the metadata declares. `None` if the item does not exist or the parts do not
/// match its hashers.
pub fn storage_key(pallet: &str, item: &str, parts: &[&[u8]]) -> Option<Vec<u8>> {
    let (prefix, entry) = metadata().storage_item_named(pallet, item)?;
    if entry.hashers.len() != parts.len() {
        return None;
    }
    let mut key = prefix.to_vec();
    for (hasher, part) in entry.hashers.iter().zip(parts) {
        match hasher {
            Hasher::Blake2_128Concat => {
                key.extend_from_slice(&crate::scale::blake2_128(part));
                key.extend_from_slice(part);
            }
            Hasher::Twox64Concat => {
                key.extend_from_slice(&crate::scale::twox_64(part));
                key.extend_from_slice(part);
            }
            Hasher::Identity => key.extend_from_slice(part),
            Hasher::Opaque => return None,
        }
    }
    Some(key)
}

/// Splits the key parts of a map key after its 32-byte prefix, given each part's encoded
/// length. `None` if the bytes do not have exactly that shape.
pub fn split_key<'k>(
    item: &StorageItem,
    key: &'k [u8],
    part_lens: &[usize],
) -> Option<Vec<&'k [u8]>> {
    if item.hashers.len() != part_lens.len() {
        return None;
    }
    let mut rest = key.get(32..)?;
    let mut parts = Vec::with_capacity(part_lens.len());
    for (hasher, len) in item.hashers.iter().zip(part_lens) {
        let skip = match hasher {
            Hasher::Blake2_128Concat => 16,
            Hasher::Twox64Concat => 8,
            Hasher::Identity => 0,
            Hasher::Opaque => return None,
        };
        let part = rest.get(skip..skip + len)?;
        let hashed = &rest[..skip];
        let expected: Vec<u8> = match hasher {
            Hasher::Blake2_128Concat => crate::scale::blake2_128(part).to_vec(),
            Hasher::Twox64Concat => crate::scale::twox_64(part).to_vec(),
            _ => Vec::new(),
        };
        if hashed != expected.as_slice() {
            return None;
        }
        parts.push(part);
        rest = &rest[skip + len..];
    }
    rest.is_empty().then_some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_metadata_names_subtensors_pallets_and_weights_calls() {
        let m = metadata();
        assert_eq!(m.pallet_index("System"), Some(0));
        assert_eq!(m.pallet_index("SubtensorModule"), Some(7));
        assert_eq!(m.call_index("SubtensorModule", "set_weights"), Some(0));
        assert_eq!(m.call_index("SubtensorModule", "commit_weights"), Some(96));
        assert_eq!(m.call_index("SubtensorModule", "reveal_weights"), Some(97));
        assert_eq!(
            m.call_index("SubtensorModule", "commit_mechanism_weights"),
            Some(115)
        );
        assert_eq!(
            m.call_index("SubtensorModule", "set_mechanism_weights"),
            Some(119)
        );
        assert_eq!(
            m.call_name(7, 118),
            Some(("SubtensorModule", "commit_timelocked_mechanism_weights"))
        );
        assert_eq!(
            m.error_index("SubtensorModule", "SettingWeightsTooFast"),
            Some(28)
        );
        assert_eq!(m.error_name(7, 52), Some("CommitRevealEnabled"));
        assert!(m.has_runtime_api("NeuronInfoRuntimeApi_get_neurons_lite"));
        assert!(m.has_runtime_api("SubnetInfoRuntimeApi_get_subnet_hyperparams_v2"));
    }

    #[test]
    fn the_v14_bytes_are_version_14_of_the_same_runtime() {
        let prefixed = RuntimeMetadataPrefixed::decode(&mut &METADATA_V14[..]).unwrap();
        let RuntimeMetadata::V14(v14) = prefixed.1 else {
            panic!("V14 expected")
        };
        let subtensor = v14
            .pallets
            .iter()
            .find(|p| p.name == "SubtensorModule")
            .unwrap();
        assert_eq!(subtensor.index, 7);
    }

    #[test]
    fn storage_keys_follow_the_declared_hashers_and_split_back() {
        let key = storage_key("System", "Events", &[]).unwrap();
        assert_eq!(
            hex::encode(&key),
            "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7"
        );
        // The recording read SubtensorModule.MechanismCountCurrent(1) under this key.
        let key = storage_key("SubtensorModule", "MechanismCountCurrent", &[&[1, 0]]).unwrap();
        assert_eq!(
            hex::encode(&key),
            "658faa385070e074c85bf6b568cf0555604fb97037feb8522bf37d42d54fa6e9f1577fbf1d628fdd0100"
        );
        let account = [7u8; 32];
        let key = storage_key("SubtensorModule", "Uids", &[&[1, 0], &account]).unwrap();
        let item = metadata().storage_item(&key).unwrap();
        assert_eq!(item.name, "Uids");
        let parts = split_key(item, &key, &[2, 32]).unwrap();
        assert_eq!(parts, vec![&[1u8, 0][..], &account[..]]);
        assert!(split_key(item, &key, &[2, 31]).is_none());
    }
}
