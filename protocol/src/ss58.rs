//! SS58 addresses with the generic Substrate prefix 42 (the `5...` form Bittensor uses).

use blake2::{Blake2b512, Digest};
use thiserror::Error;

/// The address-format prefix of the generic Substrate network, used by Bittensor.
pub const SUBSTRATE_PREFIX: u8 = 42;

const CHECKSUM_PREIMAGE: &[u8] = b"SS58PRE";
// One prefix byte, a 32-byte public key and two checksum bytes.
const DECODED_LEN: usize = 1 + 32 + 2;

/// Why a string is not an SS58 address of a 32-byte key under prefix 42.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Ss58Error {
    /// The string is empty.
    #[error("address is empty")]
    Empty,
    /// A character outside the base58 alphabet.
    #[error("address is not base58")]
    NotBase58,
    /// Decodes to the wrong number of bytes (truncated, or not a 32-byte key).
    #[error("address has the wrong length for a 32-byte key")]
    WrongLength,
    /// A valid address of another network.
    #[error("address has network prefix {0}, expected {SUBSTRATE_PREFIX}")]
    WrongPrefix(u8),
    /// The two checksum bytes do not match.
    #[error("address checksum does not match")]
    BadChecksum,
}

fn checksum(prefix_and_key: &[u8]) -> [u8; 2] {
    let mut hasher = Blake2b512::new();
    hasher.update(CHECKSUM_PREIMAGE);
    hasher.update(prefix_and_key);
    let hash = hasher.finalize();
    [hash[0], hash[1]]
}

/// Encodes a public key as an SS58 address with prefix 42.
pub fn encode(public_key: &[u8; 32]) -> String {
    let mut bytes = Vec::with_capacity(DECODED_LEN);
    bytes.push(SUBSTRATE_PREFIX);
    bytes.extend_from_slice(public_key);
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    bs58::encode(bytes).into_string()
}

/// Decodes an SS58 address with prefix 42 to its public key, checking the checksum.
pub fn decode(address: &str) -> Result<[u8; 32], Ss58Error> {
    if address.is_empty() {
        return Err(Ss58Error::Empty);
    }
    let bytes = bs58::decode(address)
        .into_vec()
        .map_err(|_| Ss58Error::NotBase58)?;
    if bytes.len() != DECODED_LEN {
        return Err(Ss58Error::WrongLength);
    }
    if bytes[0] != SUBSTRATE_PREFIX {
        return Err(Ss58Error::WrongPrefix(bytes[0]));
    }
    if checksum(&bytes[..33]) != bytes[33..] {
        return Err(Ss58Error::BadChecksum);
    }
    let mut key = [0u8; 32];
    key.copy_from_slice(&bytes[1..33]);
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const ALICE_KEY: &str = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";

    #[test]
    fn well_known_alice_address_round_trips() {
        let key = decode(ALICE).unwrap();
        assert_eq!(hex::encode(key), ALICE_KEY);
        assert_eq!(encode(&key), ALICE);
    }

    #[test]
    fn any_key_round_trips() {
        for fill in [0u8, 1, 0x7f, 0xff] {
            let key = [fill; 32];
            assert_eq!(decode(&encode(&key)), Ok(key));
        }
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let mut broken = ALICE.to_string();
        broken.replace_range(47..48, "R");
        assert_eq!(decode(&broken), Err(Ss58Error::BadChecksum));
    }

    #[test]
    fn another_network_prefix_is_rejected() {
        // Polkadot (prefix 0) address of the same key.
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(&hex::decode(ALICE_KEY).unwrap());
        let sum = checksum(&bytes);
        bytes.extend_from_slice(&sum);
        let polkadot = bs58::encode(bytes).into_string();
        assert_eq!(decode(&polkadot), Err(Ss58Error::WrongPrefix(0)));
    }

    #[test]
    fn malformed_strings_are_rejected_with_their_reason() {
        assert_eq!(decode(""), Err(Ss58Error::Empty));
        assert_eq!(decode("0GrwvaEF5zX"), Err(Ss58Error::NotBase58));
        assert_eq!(decode(&ALICE[..20]), Err(Ss58Error::WrongLength));
    }
}
