//! Neurons as `NeuronInfoRuntimeApi_get_neurons_lite` returns them.
//!
//! The output is `Vec<NeuronInfoLite<AccountId32>>` (subtensor's
//! `pallets/subtensor/src/rpc_info/neuron_info.rs`). It is decoded with a fixed layout,
//! [`NEURON_INFO_LITE_FIELDS`], which the metadata check holds against the node's
//! runtime before any neuron is read.

use std::net::IpAddr;

use parity_scale_codec::{Compact, Decode};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// NeuronInfoLite's fields as Pulse decodes them: names and wire shapes, in order.
pub const NEURON_INFO_LITE_FIELDS: [(&str, &str); 18] = [
    ("hotkey", "[u8; 32]"),
    ("coldkey", "[u8; 32]"),
    ("uid", "Compact<u16>"),
    ("netuid", "Compact<u16>"),
    ("active", "bool"),
    (
        "axon_info",
        "{block: u64, version: u32, ip: u128, port: u16, ip_type: u8, protocol: u8, placeholder1: u8, placeholder2: u8}",
    ),
    (
        "prometheus_info",
        "{block: u64, version: u32, ip: u128, port: u16, ip_type: u8}",
    ),
    ("stake", "Vec<([u8; 32], Compact<u64>)>"),
    ("rank", "Compact<u16>"),
    ("emission", "Compact<u64>"),
    ("incentive", "Compact<u16>"),
    ("consensus", "Compact<u16>"),
    ("trust", "Compact<u16>"),
    ("validator_trust", "Compact<u16>"),
    ("dividends", "Compact<u16>"),
    ("last_update", "Compact<u64>"),
    ("validator_permit", "bool"),
    ("pruning_score", "Compact<u16>"),
];

/// Why a neuron list did not decode.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NeuronDecodeError {
    /// The bytes are not a `Vec<NeuronInfoLite>`.
    #[error("get_neurons_lite output does not decode: {0}")]
    Codec(String),
    /// Bytes left after the list.
    #[error("get_neurons_lite output has {0} bytes after the last neuron")]
    TrailingBytes(usize),
    /// A neuron's stakes add up past `u64`.
    #[error("neuron {0}'s stake does not fit in u64 rao")]
    StakeOverflow(u16),
}

/// A neuron's axon (where it serves), as the chain stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Decode)]
pub struct AxonInfo {
    /// The block it was last served at.
    pub block: u64,
    /// The version it announced.
    pub version: u32,
    /// The IP address as an integer (see [`AxonInfo::ip_addr`]).
    pub ip: u128,
    /// The port.
    pub port: u16,
    /// 4 or 6 (0 when never served).
    pub ip_type: u8,
    /// The protocol number.
    pub protocol: u8,
    /// Reserved.
    pub placeholder1: u8,
    /// Reserved.
    pub placeholder2: u8,
}

impl AxonInfo {
    /// The IP address as the SDK shows it (`netaddr.IPAddress(int)`): IPv4 when the
    /// integer fits in 32 bits, IPv6 otherwise.
    pub fn ip_addr(&self) -> IpAddr {
        match u32::try_from(self.ip) {
            Ok(v4) => IpAddr::from(v4.to_be_bytes()),
            Err(_) => IpAddr::from(self.ip.to_be_bytes()),
        }
    }
}

/// A neuron's Prometheus endpoint, as the chain stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Decode)]
pub struct PrometheusInfo {
    /// The block it was last served at.
    pub block: u64,
    /// The version it announced.
    pub version: u32,
    /// The IP address as an integer.
    pub ip: u128,
    /// The port.
    pub port: u16,
    /// 4 or 6 (0 when never served).
    pub ip_type: u8,
}

/// One neuron of a subnet, as Pulse keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Neuron {
    /// The neuron's uid on the subnet.
    pub uid: u16,
    /// The subnet.
    pub netuid: u16,
    /// The hotkey, SS58 with prefix 42.
    pub hotkey: String,
    /// The coldkey that owns the hotkey, SS58 with prefix 42.
    pub coldkey: String,
    /// Whether the neuron set weights or was otherwise active within the activity cutoff.
    pub active: bool,
    /// Whether the neuron may set weights as a validator.
    pub validator_permit: bool,
    /// Stake on the hotkey in rao of the subnet's alpha, summed as the SDK's
    /// `NeuronInfoLite.stake` sums it: one entry per coldkey, the last entry winning when a
    /// coldkey repeats. This is not the SDK's `Metagraph.S`, which comes from
    /// `get_subnet_state`'s `total_stake` and also counts root (TAO) stake: the two differ
    /// for validators with TAO stake (11 of finney netuid 1's 1,024 uids at the recording).
    pub stake_rao: u64,
    /// The stake entries as the chain lists them: coldkey (SS58) and rao.
    pub stake: Vec<(String, u64)>,
    /// The block of the neuron's last weights or activity update.
    pub last_update: u64,
    /// Rank, as the chain's raw u16 (65535 = 1.0).
    pub rank: u16,
    /// Emission per tempo, in rao.
    pub emission: u64,
    /// Incentive, raw u16.
    pub incentive: u16,
    /// Consensus, raw u16.
    pub consensus: u16,
    /// Trust, raw u16.
    pub trust: u16,
    /// Validator trust, raw u16.
    pub validator_trust: u16,
    /// Dividends, raw u16.
    pub dividends: u16,
    /// Pruning score, raw u16.
    pub pruning_score: u16,
    /// The axon.
    pub axon_info: AxonInfo,
    /// The Prometheus endpoint.
    pub prometheus_info: PrometheusInfo,
}

#[derive(Decode)]
struct NeuronInfoLiteWire {
    hotkey: [u8; 32],
    coldkey: [u8; 32],
    uid: Compact<u16>,
    netuid: Compact<u16>,
    active: bool,
    axon_info: AxonInfo,
    prometheus_info: PrometheusInfo,
    stake: Vec<([u8; 32], Compact<u64>)>,
    rank: Compact<u16>,
    emission: Compact<u64>,
    incentive: Compact<u16>,
    consensus: Compact<u16>,
    trust: Compact<u16>,
    validator_trust: Compact<u16>,
    dividends: Compact<u16>,
    last_update: Compact<u64>,
    validator_permit: bool,
    pruning_score: Compact<u16>,
}

/// Decodes the SCALE output of `get_neurons_lite` into neurons, in the chain's order.
pub fn decode_neurons(bytes: &[u8]) -> Result<Vec<Neuron>, NeuronDecodeError> {
    let mut input = bytes;
    let wire = Vec::<NeuronInfoLiteWire>::decode(&mut input)
        .map_err(|error| NeuronDecodeError::Codec(error.to_string()))?;
    if !input.is_empty() {
        return Err(NeuronDecodeError::TrailingBytes(input.len()));
    }
    wire.into_iter().map(Neuron::try_from).collect()
}

impl TryFrom<NeuronInfoLiteWire> for Neuron {
    type Error = NeuronDecodeError;

    fn try_from(wire: NeuronInfoLiteWire) -> Result<Self, Self::Error> {
        let uid = wire.uid.0;
        let stake: Vec<(String, u64)> = wire
            .stake
            .iter()
            .map(|(coldkey, rao)| (protocol::ss58::encode(coldkey), rao.0))
            .collect();
        // The SDK builds a {coldkey: stake} dict, so a repeated coldkey keeps its last
        // entry, and sums the dict.
        let mut per_coldkey: Vec<(&str, u64)> = Vec::with_capacity(stake.len());
        for (coldkey, rao) in &stake {
            match per_coldkey.iter_mut().find(|(seen, _)| seen == coldkey) {
                Some(entry) => entry.1 = *rao,
                None => per_coldkey.push((coldkey, *rao)),
            }
        }
        let stake_rao = per_coldkey
            .iter()
            .try_fold(0u64, |sum, (_, rao)| sum.checked_add(*rao))
            .ok_or(NeuronDecodeError::StakeOverflow(uid))?;
        Ok(Neuron {
            uid,
            netuid: wire.netuid.0,
            hotkey: protocol::ss58::encode(&wire.hotkey),
            coldkey: protocol::ss58::encode(&wire.coldkey),
            active: wire.active,
            validator_permit: wire.validator_permit,
            stake_rao,
            stake,
            last_update: wire.last_update.0,
            rank: wire.rank.0,
            emission: wire.emission.0,
            incentive: wire.incentive.0,
            consensus: wire.consensus.0,
            trust: wire.trust.0,
            validator_trust: wire.validator_trust.0,
            dividends: wire.dividends.0,
            pruning_score: wire.pruning_score.0,
            axon_info: wire.axon_info,
            prometheus_info: wire.prometheus_info,
        })
    }
}
