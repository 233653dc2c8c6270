//! Timelocked (drand) weight commits: commit-reveal version 4.
//!
//! With commit-reveal on, SDK 10 sends `commit_timelocked_mechanism_weights`: the weights
//! (`WeightsTlockPayload`: hotkey, uids, values, version key, SCALE-encoded) encrypted to
//! a future round of drand's quicknet beacon, so the chain itself decrypts and applies
//! them once that round's signature is on chain; there is no reveal extrinsic.
//!
//! The encryption is Ideal Labs' timelock scheme (Boneh-Franklin IBE on BLS12-381 with
//! the identity `sha256(round as big-endian u64)`, AES-GCM for the body), serialised
//! compressed with ark-serialize. The `timelock` crate 0.0.1 from crates.io is the
//! published form of the `tle` code at the revision subtensor and the SDK's
//! bittensor-drand build on; it reads the SDK's commit in `shared/chain/timelock_commit.json`
//! (decrypting it with the real round-1000 signature gives the SDK's plaintext) and its
//! own commits decrypt with that signature to the plaintext put in (the tests).
//!
//! A runtime whose `CommitRevealWeightsVersion` is not 4 is refused with
//! [`check_commit_reveal_version`].

use ark_serialize::{CanonicalDeserialize, CanonicalSerialize};
use parity_scale_codec::{Decode, Encode};
use sha2::{Digest, Sha256};
use thiserror::Error;
use timelock::curves::drand::TinyBLS381;
use timelock::ibe::fullident::Identity;
use timelock::stream_ciphers::AESGCMStreamCipherProvider;
use timelock::tlock::{TLECiphertext, tld, tle};
use w3f_bls::EngineBLS;

/// drand quicknet's public key (G2, compressed), which every commit is encrypted to.
pub const QUICKNET_PUBLIC_KEY: &str = "83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a";
/// quicknet's genesis, Unix seconds.
pub const QUICKNET_GENESIS_TIME: u64 = 1_692_803_367;
/// quicknet's round period, seconds.
pub const QUICKNET_PERIOD_SECS: u64 = 3;
/// The blocks after the reveal epoch's first block at which the SDK aims the round, so
/// the pulse is on chain when the chain reveals.
pub const SECURITY_BLOCK_OFFSET: u64 = 3;
/// The commit-reveal version whose commits Pulse builds.
pub const COMMIT_REVEAL_VERSION: u16 = 4;

/// Why a timelocked commit could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TimelockError {
    /// The encryption failed.
    #[error("timelock encryption failed: {0}")]
    Encrypt(String),
    /// The bytes are not a serialised timelock ciphertext.
    #[error("not a timelock ciphertext: {0}")]
    NotACiphertext(String),
    /// The bytes are not a compressed BLS12-381 G1 signature.
    #[error("not a drand round signature: {0}")]
    NotASignature(String),
    /// The signature does not open the ciphertext (wrong round, or tampered bytes).
    #[error("the round signature does not decrypt this commit: {0}")]
    Decrypt(String),
    /// The plaintext is not a `WeightsTlockPayload`.
    #[error("the decrypted commit is not a weights payload: {0}")]
    NotAPayload(String),
}

/// A commit-reveal scheme Pulse cannot use on this subnet, with what the owner would change.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "the chain's commit-reveal version is {chain}, and Pulse builds version {COMMIT_REVEAL_VERSION} timelocked commits; \
     refusing to commit weights (the subnet owner can turn commit_reveal_weights_enabled off, or Pulse must learn version {chain})"
)]
pub struct UnsupportedCommitReveal {
    /// The chain's `CommitRevealWeightsVersion`.
    pub chain: u16,
}

/// Accepts the chain's `CommitRevealWeightsVersion` only when it is the version whose
/// commits Pulse builds.
pub fn check_commit_reveal_version(chain: u16) -> Result<(), UnsupportedCommitReveal> {
    if chain == COMMIT_REVEAL_VERSION {
        Ok(())
    } else {
        Err(UnsupportedCommitReveal { chain })
    }
}

/// What a timelocked commit encrypts (subtensor's `WeightsTlockPayload`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct TlockPayload {
    /// The committing hotkey's public key, SCALE `Vec<u8>`; the chain checks it is the signer.
    pub hotkey: Vec<u8>,
    /// The uids.
    pub uids: Vec<u16>,
    /// Their u16 weights.
    pub values: Vec<u16>,
    /// The weights version key.
    pub version_key: u64,
}

/// The drand round the SDK's `get_encrypted_commit` encrypts to: the round whose pulse
/// is due `SECURITY_BLOCK_OFFSET` blocks into the reveal epoch, rounded down.
///
/// `netuid_index` is the mechanism storage index (mecid × 4096 + netuid), as the SDK passes
/// it; `now_unix_secs` is the wall clock.
pub fn reveal_round(
    current_block: u64,
    netuid_index: u16,
    tempo: u64,
    reveal_period_epochs: u64,
    block_time_secs: f64,
    now_unix_secs: f64,
) -> u64 {
    let tempo_plus_one = tempo.saturating_add(1);
    let netuid_plus_one = u64::from(netuid_index) + 1;
    let current_epoch = (current_block + netuid_plus_one) / tempo_plus_one;
    let reveal_epoch = current_epoch + reveal_period_epochs;
    let first_reveal_block = reveal_epoch
        .saturating_mul(tempo_plus_one)
        .saturating_sub(netuid_plus_one);
    let target_block = first_reveal_block.saturating_add(SECURITY_BLOCK_OFFSET);
    let blocks_until = target_block.saturating_sub(current_block);
    let target_secs = now_unix_secs + blocks_until as f64 * block_time_secs;
    let round =
        ((target_secs - QUICKNET_GENESIS_TIME as f64) / QUICKNET_PERIOD_SECS as f64).floor();
    if round < 1.0 { 1 } else { round as u64 }
}

/// Encrypts `plaintext` to drand quicknet round `round`.
pub fn encrypt(plaintext: &[u8], round: u64) -> Result<Vec<u8>, TimelockError> {
    let public_key_bytes = hex::decode(QUICKNET_PUBLIC_KEY).expect("the quicknet key is hex");
    let public_key = <TinyBLS381 as EngineBLS>::PublicKeyGroup::deserialize_compressed(
        public_key_bytes.as_slice(),
    )
    .map_err(|error| TimelockError::Encrypt(format!("quicknet public key: {error}")))?;
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let ciphertext = tle::<TinyBLS381, AESGCMStreamCipherProvider, _>(
        public_key,
        secret,
        plaintext,
        round_identity(round),
        rand_core::OsRng,
    )
    .map_err(|error| TimelockError::Encrypt(format!("{error:?}")))?;
    let mut bytes = Vec::new();
    ciphertext
        .serialize_compressed(&mut bytes)
        .map_err(|error| TimelockError::Encrypt(error.to_string()))?;
    Ok(bytes)
}

/// Decrypts a timelock ciphertext with the round's drand signature (48 bytes, compressed G1).
pub fn decrypt(ciphertext: &[u8], round_signature: &[u8]) -> Result<Vec<u8>, TimelockError> {
    let ciphertext = TLECiphertext::<TinyBLS381>::deserialize_compressed(ciphertext)
        .map_err(|error| TimelockError::NotACiphertext(error.to_string()))?;
    let signature =
        <TinyBLS381 as EngineBLS>::SignatureGroup::deserialize_compressed(round_signature)
            .map_err(|error| TimelockError::NotASignature(error.to_string()))?;
    tld::<TinyBLS381, AESGCMStreamCipherProvider>(ciphertext, signature)
        .map_err(|error| TimelockError::Decrypt(format!("{error:?}")))
}

/// The timelocked commit of `payload` for `round`: what `commit_timelocked_mechanism_weights`
/// carries as `commit`.
pub fn encrypt_payload(payload: &TlockPayload, round: u64) -> Result<Vec<u8>, TimelockError> {
    encrypt(&payload.encode(), round)
}

/// Decrypts a timelocked commit and reads its payload.
pub fn decrypt_payload(
    commit: &[u8],
    round_signature: &[u8],
) -> Result<TlockPayload, TimelockError> {
    let plaintext = decrypt(commit, round_signature)?;
    let mut input = plaintext.as_slice();
    let payload = TlockPayload::decode(&mut input)
        .map_err(|error| TimelockError::NotAPayload(error.to_string()))?;
    if !input.is_empty() {
        return Err(TimelockError::NotAPayload(format!(
            "{} bytes left over",
            input.len()
        )));
    }
    Ok(payload)
}

/// A timelocked commit and the drand round that opens it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelockedCommit {
    /// The ciphertext, for `commit_timelocked_mechanism_weights`' `commit`.
    pub commit: Vec<u8>,
    /// The round, for its `reveal_round`.
    pub reveal_round: u64,
}

/// What a timelocked commit is made from.
#[derive(Debug, Clone, PartialEq)]
pub struct CommitInputs<'a> {
    /// The committing hotkey's public key (the extrinsic's signer).
    pub hotkey: [u8; 32],
    /// The subnet.
    pub netuid: u16,
    /// The mechanism (0 for the main one).
    pub mecid: u8,
    /// The uids.
    pub uids: &'a [u16],
    /// Their u16 weights, as they are to be applied.
    pub values: &'a [u16],
    /// The weights version key.
    pub version_key: u64,
    /// The subnet's `tempo` hyperparameter.
    pub tempo: u16,
    /// The subnet's `commit_reveal_period` hyperparameter (epochs).
    pub reveal_period_epochs: u64,
    /// The best block when committing.
    pub current_block: u64,
    /// Seconds per block (12 on finney).
    pub block_time_secs: f64,
    /// The wall clock, Unix seconds.
    pub now_unix_secs: f64,
}

/// The SDK's `get_encrypted_commit`: the payload of `inputs` encrypted to the round
/// [`reveal_round`] picks for them.
pub fn timelocked_commit(inputs: &CommitInputs<'_>) -> Result<TimelockedCommit, TimelockError> {
    let reveal_round = reveal_round(
        inputs.current_block,
        crate::weights::mechanism_storage_index(inputs.netuid, inputs.mecid),
        u64::from(inputs.tempo),
        inputs.reveal_period_epochs,
        inputs.block_time_secs,
        inputs.now_unix_secs,
    );
    let payload = TlockPayload {
        hotkey: inputs.hotkey.to_vec(),
        uids: inputs.uids.to_vec(),
        values: inputs.values.to_vec(),
        version_key: inputs.version_key,
    };
    Ok(TimelockedCommit {
        commit: encrypt_payload(&payload, reveal_round)?,
        reveal_round,
    })
}

fn round_identity(round: u64) -> Identity {
    Identity::new(b"", vec![Sha256::digest(round.to_be_bytes()).to_vec()])
}
