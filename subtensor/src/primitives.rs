//! Small chain values: hashes, block references, the runtime version, hex.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 32-byte hash (block, extrinsic, genesis), shown as `0x` and 64 hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct H256(pub [u8; 32]);

impl fmt::Display for H256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for H256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for H256 {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let bytes = from_hex(raw)?;
        let len = bytes.len();
        bytes
            .try_into()
            .map(H256)
            .map_err(|_| format!("expected 32 bytes, got {len}"))
    }
}

impl Serialize for H256 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for H256 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Decodes hex with or without `0x`.
pub fn from_hex(raw: &str) -> Result<Vec<u8>, String> {
    let digits = raw.strip_prefix("0x").unwrap_or(raw);
    hex::decode(digits).map_err(|error| format!("not hex: {error}"))
}

/// `0x` and the hex digits of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode(bytes))
}

/// A block by number and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockRef {
    /// The block number.
    pub number: u64,
    /// The block hash.
    pub hash: H256,
}

/// The runtime version (`state_getRuntimeVersion`), as far as Pulse uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeVersion {
    /// `node-subtensor`.
    pub spec_name: String,
    /// The spec version: changes with every runtime upgrade, and is signed over.
    pub spec_version: u32,
    /// The transaction version: changes when extrinsic encoding changes, and is signed over.
    pub transaction_version: u32,
    /// The implementation version.
    #[serde(default)]
    pub impl_version: u32,
}

/// A block header as `chain_getHeader` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Header {
    pub(crate) parent_hash: H256,
    #[serde(deserialize_with = "number_from_hex")]
    pub(crate) number: u64,
}

// Block numbers arrive as hex strings (`"0x689052"`); some nodes send plain numbers.
fn number_from_hex<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Hex(String),
        Plain(u64),
    }
    match Number::deserialize(deserializer)? {
        Number::Plain(number) => Ok(number),
        Number::Hex(text) => {
            let digits = text.strip_prefix("0x").unwrap_or(&text);
            u64::from_str_radix(digits, 16).map_err(serde::de::Error::custom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_through_text_and_json() {
        let text = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0";
        let hash: H256 = text.parse().unwrap();
        assert_eq!(hash.to_string(), text);
        assert_eq!(serde_json::to_value(hash).unwrap(), text);
        assert!("0x1234".parse::<H256>().unwrap_err().contains("32 bytes"));
    }

    #[test]
    fn header_numbers_read_from_hex_or_plain_numbers() {
        let hex: Header = serde_json::from_str(
            r#"{"parentHash":"0x7348409fe36728fa2ac7f0886346fd35b79804d294046d152ba1baccd9d0be3a","number":"0x689052"}"#,
        )
        .unwrap();
        assert_eq!(hex.number, 6_852_690);
        let plain: Header = serde_json::from_str(
            r#"{"parentHash":"0x7348409fe36728fa2ac7f0886346fd35b79804d294046d152ba1baccd9d0be3a","number":12}"#,
        )
        .unwrap();
        assert_eq!(plain.number, 12);
    }
}
