//! sr25519 hotkeys as Substrate and the Bittensor wallet use them.
//!
//! Keys come from a 32-byte seed expanded in Ed25519 mode (as Substrate does), and every
//! signature uses the signing context `substrate`, so signatures made here verify in the
//! Python wallet library and the other way round.

use rand::RngCore;
use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey, PublicKey, SecretKey, Signature};
use thiserror::Error;

use crate::ss58;

/// The schnorrkel signing context Substrate uses for account signatures.
pub const SIGNING_CONTEXT: &[u8] = b"substrate";

/// Why key material could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Not hexadecimal, with or without `0x`.
    #[error("not hexadecimal")]
    NotHex,
    /// The decoded bytes have the wrong length.
    #[error("expected {expected} bytes, got {actual}")]
    WrongLength {
        /// Bytes required.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// Bytes of the right length that are not a valid key or signature.
    #[error("not a valid sr25519 {0}")]
    Invalid(&'static str),
}

/// Decodes hex with an optional `0x` prefix into exactly `N` bytes.
pub fn decode_hex_array<const N: usize>(raw: &str) -> Result<[u8; N], KeyError> {
    let digits = raw
        .strip_prefix("0x")
        .or_else(|| raw.strip_prefix("0X"))
        .unwrap_or(raw);
    let bytes = hex::decode(digits).map_err(|_| KeyError::NotHex)?;
    let actual = bytes.len();
    bytes.try_into().map_err(|_| KeyError::WrongLength {
        expected: N,
        actual,
    })
}

/// An sr25519 signing key with its SS58 address.
#[derive(Clone)]
pub struct Hotkey {
    pair: Keypair,
    seed: Option<[u8; 32]>,
    ss58: String,
}

impl std::fmt::Debug for Hotkey {
    // The secret never reaches logs: only the public address is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hotkey")
            .field("ss58", &self.ss58)
            .finish_non_exhaustive()
    }
}

impl Hotkey {
    /// The hotkey Substrate derives from a 32-byte seed (mini secret key, Ed25519 expansion).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let mini = MiniSecretKey::from_bytes(&seed).expect("any 32 bytes are a mini secret key");
        Self::from_pair(mini.expand_to_keypair(ExpansionMode::Ed25519), Some(seed))
    }

    /// [`Hotkey::from_seed`] from hex, with or without `0x`.
    pub fn from_seed_hex(raw: &str) -> Result<Self, KeyError> {
        Ok(Self::from_seed(decode_hex_array::<32>(raw.trim())?))
    }

    /// A hotkey from the 64-byte expanded secret (scalar and nonce, schnorrkel's canonical
    /// layout) that wallet files store as `privateKey`; used when a file has no seed.
    pub fn from_expanded_secret(bytes: &[u8; 64]) -> Result<Self, KeyError> {
        let secret = SecretKey::from_bytes(bytes).map_err(|_| KeyError::Invalid("secret key"))?;
        Ok(Self::from_pair(secret.to_keypair(), None))
    }

    /// A new hotkey from the operating system's random source.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    fn from_pair(pair: Keypair, seed: Option<[u8; 32]>) -> Self {
        let ss58 = ss58::encode(&pair.public.to_bytes());
        Self { pair, seed, ss58 }
    }

    /// The SS58 address (prefix 42).
    pub fn ss58(&self) -> &str {
        &self.ss58
    }

    /// The 32-byte public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.pair.public.to_bytes()
    }

    /// The seed this key was made from, when known.
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.seed
    }

    /// The 64-byte expanded secret in the layout wallet files store as `privateKey`.
    pub fn expanded_secret(&self) -> [u8; 64] {
        self.pair.secret.to_bytes()
    }

    /// Signs `message` under the `substrate` context.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.pair.sign_simple(SIGNING_CONTEXT, message).to_bytes()
    }
}

/// Checks an sr25519 signature over `message` under the `substrate` context.
pub fn verify(public_key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
    let Ok(public) = PublicKey::from_bytes(public_key) else {
        return false;
    };
    let Ok(signature) = Signature::from_bytes(signature) else {
        return false;
    };
    public
        .verify_simple(SIGNING_CONTEXT, message, &signature)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_for_its_key_and_message_only() {
        let key = Hotkey::from_seed([7; 32]);
        let other = Hotkey::from_seed([8; 32]);
        let sig = key.sign(b"talisman-ai-auth:1764120123");
        assert!(verify(
            &key.public_key(),
            b"talisman-ai-auth:1764120123",
            &sig
        ));
        assert!(!verify(
            &key.public_key(),
            b"talisman-ai-auth:1764120124",
            &sig
        ));
        assert!(!verify(
            &other.public_key(),
            b"talisman-ai-auth:1764120123",
            &sig
        ));
    }

    #[test]
    fn expanded_secret_round_trips_to_the_same_key() {
        let key = Hotkey::from_seed([9; 32]);
        let again = Hotkey::from_expanded_secret(&key.expanded_secret()).unwrap();
        assert_eq!(again.ss58(), key.ss58());
        assert_eq!(again.seed(), None);
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(Hotkey::generate().ss58(), Hotkey::generate().ss58());
    }

    #[test]
    fn hex_accepts_an_optional_0x_and_checks_length() {
        assert_eq!(decode_hex_array::<2>("0xabcd"), Ok([0xab, 0xcd]));
        assert_eq!(decode_hex_array::<2>("ABCD"), Ok([0xab, 0xcd]));
        assert_eq!(
            decode_hex_array::<2>("abcdef"),
            Err(KeyError::WrongLength {
                expected: 2,
                actual: 3
            })
        );
        assert_eq!(decode_hex_array::<2>("xyz0"), Err(KeyError::NotHex));
    }

    #[test]
    fn debug_output_shows_the_address_but_no_secret() {
        let key = Hotkey::from_seed([0x11; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(key.ss58()));
        assert!(!shown.contains("1111"));
    }
}
