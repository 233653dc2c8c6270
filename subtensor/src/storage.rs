//! Storage keys: `twox128(pallet prefix) ‖ twox128(item) ‖ hashed map keys`.

use blake2::Blake2b;
use blake2::digest::{Digest, consts::U16};
use twox_hash::XxHash64;

use crate::metadata::StorageHasher;

/// xxhash-128 as Substrate computes it: two xxhash-64 runs (seeds 0 and 1), little-endian.
pub fn twox_128(bytes: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&XxHash64::oneshot(0, bytes).to_le_bytes());
    out[8..].copy_from_slice(&XxHash64::oneshot(1, bytes).to_le_bytes());
    out
}

/// The key of a plain storage value `prefix`.`item`.
pub fn plain_key(prefix: &str, item: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.extend_from_slice(&twox_128(prefix.as_bytes()));
    key.extend_from_slice(&twox_128(item.as_bytes()));
    key
}

/// The key of the map entry `prefix`.`item`(`encoded_key`), hashed with `hasher`.
pub fn map_key(prefix: &str, item: &str, hasher: StorageHasher, encoded_key: &[u8]) -> Vec<u8> {
    let mut key = plain_key(prefix, item);
    match hasher {
        StorageHasher::Blake2_128 => key.extend_from_slice(&blake2_128(encoded_key)),
        StorageHasher::Blake2_256 => {
            key.extend_from_slice(&crate::extrinsic::blake2_256(encoded_key))
        }
        StorageHasher::Blake2_128Concat => {
            key.extend_from_slice(&blake2_128(encoded_key));
            key.extend_from_slice(encoded_key);
        }
        StorageHasher::Twox128 => key.extend_from_slice(&twox_128(encoded_key)),
        StorageHasher::Twox256 => {
            for seed in 0..4 {
                key.extend_from_slice(&XxHash64::oneshot(seed, encoded_key).to_le_bytes());
            }
        }
        StorageHasher::Twox64Concat => {
            key.extend_from_slice(&XxHash64::oneshot(0, encoded_key).to_le_bytes());
            key.extend_from_slice(encoded_key);
        }
        StorageHasher::Identity => key.extend_from_slice(encoded_key),
    }
    key
}

fn blake2_128(bytes: &[u8]) -> [u8; 16] {
    Blake2b::<U16>::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_the_recorded_subtensor_storage_reads() {
        // The SDK read SubtensorModule.MechanismCountCurrent(1) with this key
        // (shared/chain/metagraph/rpc_replay.json); the map is Twox64Concat over a u16.
        let key = map_key(
            "SubtensorModule",
            "MechanismCountCurrent",
            StorageHasher::Twox64Concat,
            &1u16.to_le_bytes(),
        );
        assert_eq!(
            hex::encode(key),
            "658faa385070e074c85bf6b568cf0555604fb97037feb8522bf37d42d54fa6e9f1577fbf1d628fdd0100"
        );
    }

    #[test]
    fn the_well_known_system_events_key_comes_out() {
        assert_eq!(
            hex::encode(plain_key("System", "Events")),
            "26aa394eea5630e07c48ae0c9558cef780d41e5e16056765bc8461851072c9d7"
        );
    }
}
