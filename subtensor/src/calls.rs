//! The SubtensorModule calls Pulse sends, SCALE-encoded by hand.
//!
//! A call is `pallet index ‖ call index ‖ arguments`, each argument in its SCALE form.
//! The indices and argument shapes are those of finney's runtime (spec 343); the
//! metadata check ([`crate::check`]) holds them against the node's runtime before
//! anything is signed, using the table [`CALLS`] below.

use parity_scale_codec::{Compact, Encode};

/// The pallet that holds the weights calls.
pub const SUBTENSOR_PALLET: &str = "SubtensorModule";
/// Its index in finney's runtime.
pub const SUBTENSOR_PALLET_INDEX: u8 = 7;

/// One call as Pulse encodes it: name, call index, and each argument's name and shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallSpec {
    /// The call's name in the runtime.
    pub name: &'static str,
    /// Its index within the pallet.
    pub index: u8,
    /// Argument names and wire shapes, in order (shapes as [`crate::value::shape`] names them).
    pub args: &'static [(&'static str, &'static str)],
}

/// Every call Pulse encodes.
pub const CALLS: [CallSpec; 7] = [
    CallSpec {
        name: "set_weights",
        index: 0,
        args: &[
            ("netuid", "u16"),
            ("dests", "Vec<u16>"),
            ("weights", "Vec<u16>"),
            ("version_key", "u64"),
        ],
    },
    CallSpec {
        name: "commit_weights",
        index: 96,
        args: &[("netuid", "u16"), ("commit_hash", "[u8; 32]")],
    },
    CallSpec {
        name: "reveal_weights",
        index: 97,
        args: &[
            ("netuid", "u16"),
            ("uids", "Vec<u16>"),
            ("values", "Vec<u16>"),
            ("salt", "Vec<u16>"),
            ("version_key", "u64"),
        ],
    },
    CallSpec {
        name: "commit_mechanism_weights",
        index: 115,
        args: &[
            ("netuid", "u16"),
            ("mecid", "u8"),
            ("commit_hash", "[u8; 32]"),
        ],
    },
    CallSpec {
        name: "reveal_mechanism_weights",
        index: 116,
        args: &[
            ("netuid", "u16"),
            ("mecid", "u8"),
            ("uids", "Vec<u16>"),
            ("values", "Vec<u16>"),
            ("salt", "Vec<u16>"),
            ("version_key", "u64"),
        ],
    },
    CallSpec {
        name: "commit_timelocked_mechanism_weights",
        index: 118,
        args: &[
            ("netuid", "u16"),
            ("mecid", "u8"),
            ("commit", "Vec<u8>"),
            ("reveal_round", "u64"),
            ("commit_reveal_version", "u16"),
        ],
    },
    CallSpec {
        name: "set_mechanism_weights",
        index: 119,
        args: &[
            ("netuid", "u16"),
            ("mecid", "u8"),
            ("dests", "Vec<u16>"),
            ("weights", "Vec<u16>"),
            ("version_key", "u64"),
        ],
    },
];

/// A weights call to send. The `*_mechanism_*` forms are what SDK 10 sends (mecid 0 is
/// a subnet's main mechanism); the plain forms are the older calls, still accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsCall {
    /// `set_weights(netuid, dests, weights, version_key)`.
    SetWeights {
        /// The subnet.
        netuid: u16,
        /// Destination uids.
        dests: Vec<u16>,
        /// Their u16 weights.
        weights: Vec<u16>,
        /// The validator's weights version key.
        version_key: u64,
    },
    /// `set_mechanism_weights(netuid, mecid, dests, weights, version_key)`.
    SetMechanismWeights {
        /// The subnet.
        netuid: u16,
        /// The mechanism (0 is the main one).
        mecid: u8,
        /// Destination uids.
        dests: Vec<u16>,
        /// Their u16 weights.
        weights: Vec<u16>,
        /// The validator's weights version key.
        version_key: u64,
    },
    /// `commit_weights(netuid, commit_hash)`.
    CommitWeights {
        /// The subnet.
        netuid: u16,
        /// blake2b-256 of the reveal (see [`crate::weights::commit_hash`]).
        commit_hash: [u8; 32],
    },
    /// `commit_mechanism_weights(netuid, mecid, commit_hash)`.
    CommitMechanismWeights {
        /// The subnet.
        netuid: u16,
        /// The mechanism.
        mecid: u8,
        /// blake2b-256 of the reveal (see [`crate::weights::commit_hash`]).
        commit_hash: [u8; 32],
    },
    /// `reveal_weights(netuid, uids, values, salt, version_key)`.
    RevealWeights {
        /// The subnet.
        netuid: u16,
        /// The committed uids.
        uids: Vec<u16>,
        /// The committed u16 weights.
        values: Vec<u16>,
        /// The commit's salt.
        salt: Vec<u16>,
        /// The committed version key.
        version_key: u64,
    },
    /// `reveal_mechanism_weights(netuid, mecid, uids, values, salt, version_key)`.
    RevealMechanismWeights {
        /// The subnet.
        netuid: u16,
        /// The mechanism.
        mecid: u8,
        /// The committed uids.
        uids: Vec<u16>,
        /// The committed u16 weights.
        values: Vec<u16>,
        /// The commit's salt.
        salt: Vec<u16>,
        /// The committed version key.
        version_key: u64,
    },
    /// `commit_timelocked_mechanism_weights(netuid, mecid, commit, reveal_round, commit_reveal_version)`.
    CommitTimelockedMechanismWeights {
        /// The subnet.
        netuid: u16,
        /// The mechanism.
        mecid: u8,
        /// The drand timelock ciphertext.
        commit: Vec<u8>,
        /// The drand round that unlocks it.
        reveal_round: u64,
        /// The chain's commit-reveal version (`CommitRevealWeightsVersion`).
        commit_reveal_version: u16,
    },
}

impl WeightsCall {
    /// The call's name in the runtime.
    pub fn name(&self) -> &'static str {
        self.spec().name
    }

    /// Its entry in [`CALLS`].
    pub fn spec(&self) -> &'static CallSpec {
        let name = match self {
            WeightsCall::SetWeights { .. } => "set_weights",
            WeightsCall::SetMechanismWeights { .. } => "set_mechanism_weights",
            WeightsCall::CommitWeights { .. } => "commit_weights",
            WeightsCall::CommitMechanismWeights { .. } => "commit_mechanism_weights",
            WeightsCall::RevealWeights { .. } => "reveal_weights",
            WeightsCall::RevealMechanismWeights { .. } => "reveal_mechanism_weights",
            WeightsCall::CommitTimelockedMechanismWeights { .. } => {
                "commit_timelocked_mechanism_weights"
            }
        };
        CALLS
            .iter()
            .find(|spec| spec.name == name)
            .expect("every call has an entry in CALLS")
    }

    /// The SCALE encoding: pallet index, call index, arguments.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![SUBTENSOR_PALLET_INDEX, self.spec().index];
        match self {
            WeightsCall::SetWeights {
                netuid,
                dests,
                weights,
                version_key,
            } => (netuid, dests, weights, version_key).encode_to(&mut out),
            WeightsCall::SetMechanismWeights {
                netuid,
                mecid,
                dests,
                weights,
                version_key,
            } => (netuid, mecid, dests, weights, version_key).encode_to(&mut out),
            WeightsCall::CommitWeights {
                netuid,
                commit_hash,
            } => (netuid, commit_hash).encode_to(&mut out),
            WeightsCall::CommitMechanismWeights {
                netuid,
                mecid,
                commit_hash,
            } => (netuid, mecid, commit_hash).encode_to(&mut out),
            WeightsCall::RevealWeights {
                netuid,
                uids,
                values,
                salt,
                version_key,
            } => (netuid, uids, values, salt, version_key).encode_to(&mut out),
            WeightsCall::RevealMechanismWeights {
                netuid,
                mecid,
                uids,
                values,
                salt,
                version_key,
            } => (netuid, mecid, uids, values, salt, version_key).encode_to(&mut out),
            WeightsCall::CommitTimelockedMechanismWeights {
                netuid,
                mecid,
                commit,
                reveal_round,
                commit_reveal_version,
            } => {
                (netuid, mecid).encode_to(&mut out);
                // BoundedVec<u8> encodes as Vec<u8>: a compact length, then the bytes.
                Compact(commit.len() as u32).encode_to(&mut out);
                out.extend_from_slice(commit);
                (reveal_round, commit_reveal_version).encode_to(&mut out);
            }
        }
        out
    }
}
