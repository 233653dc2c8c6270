//! SCALE building blocks shared by the double: account ids, 32-byte hashes, the hashers
//! Substrate uses for block hashes and storage keys, and `0x` hex as the node's JSON carries it.

use std::fmt;
use std::str::FromStr;

use blake2::digest::consts::{U16, U32};
use blake2::{Blake2b, Digest};
use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use twox_hash::XxHash64;

/// blake2b-256, Substrate's `BlakeTwo256`: block hashes, extrinsic hashes, commit hashes.
pub fn blake2_256(data: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(data).into()
}

/// blake2b-128, the hash inside the `Blake2_128Concat` storage hasher.
pub fn blake2_128(data: &[u8]) -> [u8; 16] {
    Blake2b::<U16>::digest(data).into()
}

/// twox-128: xxHash64 with seeds 0 and 1, little-endian, side by side. Storage prefixes are
/// `twox128(pallet) ‖ twox128(item)`.
pub fn twox_128(data: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&XxHash64::oneshot(0, data).to_le_bytes());
    out[8..].copy_from_slice(&XxHash64::oneshot(1, data).to_le_bytes());
    out
}

/// twox-64: xxHash64 with seed 0, the hash inside the `Twox64Concat` storage hasher.
pub fn twox_64(data: &[u8]) -> [u8; 8] {
    XxHash64::oneshot(0, data).to_le_bytes()
}

/// `0x`-prefixed lowercase hex, the form every byte string takes in the node's JSON.
pub fn to_hex(bytes: impl AsRef<[u8]>) -> String {
    format!("0x{}", hex::encode(bytes.as_ref()))
}

/// Bytes from hex with or without `0x` (the node accepts both).
pub fn from_hex(raw: &str) -> Result<Vec<u8>, hex::FromHexError> {
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    hex::decode(digits)
}

/// A 32-byte hash (`H256`): block hashes, state roots, commit hashes. JSON: `0x` + 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Encode, Decode)]
pub struct H256(pub [u8; 32]);

impl H256 {
    /// The hash of `data` under blake2b-256.
    pub fn hash_of(data: &[u8]) -> Self {
        Self(blake2_256(data))
    }
}

impl fmt::Debug for H256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(self.0))
    }
}

impl fmt::Display for H256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&to_hex(self.0))
    }
}

/// Why a string is not a 32-byte hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 0x and 64 hex digits, got {0:?}")]
pub struct BadHash(pub String);

impl FromStr for H256 {
    type Err = BadHash;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = from_hex(s).map_err(|_| BadHash(s.to_owned()))?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| BadHash(s.to_owned()))?;
        Ok(Self(array))
    }
}

impl Serialize for H256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&to_hex(self.0))
    }
}

impl<'de> Deserialize<'de> for H256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

/// A 32-byte account id (an sr25519 public key). JSON: its SS58 address (prefix 42); the
/// `0x` hex form of the public key is accepted on input too.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Encode, Decode)]
pub struct AccountId(pub [u8; 32]);

impl AccountId {
    /// The SS58 address (prefix 42).
    pub fn ss58(&self) -> String {
        protocol::ss58::encode(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ss58())
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.ss58())
    }
}

/// Why a string is not an account id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is neither an SS58 address (prefix 42) nor 0x and 64 hex digits")]
pub struct BadAccount(pub String);

impl FromStr for AccountId {
    type Err = BadAccount;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.starts_with("0x") {
            let hash: H256 = s.parse().map_err(|_| BadAccount(s.to_owned()))?;
            return Ok(Self(hash.0));
        }
        protocol::ss58::decode(s)
            .map(Self)
            .map_err(|_| BadAccount(s.to_owned()))
    }
}

impl Serialize for AccountId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.ss58())
    }
}

impl<'de> Deserialize<'de> for AccountId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        raw.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twox_128_gives_the_well_known_system_prefix() {
        // twox128("System") opens every System storage key on every Substrate chain.
        assert_eq!(
            hex::encode(twox_128(b"System")),
            "26aa394eea5630e07c48ae0c9558cef7"
        );
        assert_eq!(
            hex::encode(twox_128(b"Events")),
            "80d41e5e16056765bc8461851072c9d7"
        );
    }

    #[test]
    fn accounts_read_ss58_and_hex_and_print_ss58() {
        let address = "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV";
        let account: AccountId = address.parse().unwrap();
        assert_eq!(
            hex::encode(account.0),
            "46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
        );
        let from_hex: AccountId =
            "0x46ebddef8cd9bb167dc30878d7113b7e168e6f0646beffd77d69d39bad76b47a"
                .parse()
                .unwrap();
        assert_eq!(from_hex, account);
        assert_eq!(
            serde_json::to_string(&account).unwrap(),
            format!("\"{address}\"")
        );
        assert!("5Dfh".parse::<AccountId>().is_err());
    }

    #[test]
    fn hashes_round_trip_through_json_and_refuse_wrong_lengths() {
        let hash = H256::hash_of(b"pulse");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(serde_json::from_str::<H256>(&json).unwrap(), hash);
        assert!("0x1234".parse::<H256>().is_err());
    }
}
