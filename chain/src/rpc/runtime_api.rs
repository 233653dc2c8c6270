//! `state_call`: the runtime API functions the double answers, encoded as the metadata
//! declares their outputs.

use parity_scale_codec::{Compact, Decode, Encode};

use crate::chain::{Chain, decode_args, runtime_version_scale};
use crate::events::DispatchClass;
use crate::extrinsic::Extrinsic;
use crate::metadata::{METADATA_V14, METADATA_V15, metadata};
use crate::rpc::error::RpcError;
use crate::scale::{AccountId, H256};
use crate::weights::Call;

/// The runtime API functions `state_call` answers.
pub const SERVED: &[&str] = &[
    "Core_version",
    "Metadata_metadata",
    "Metadata_metadata_at_version",
    "Metadata_metadata_versions",
    "AccountNonceApi_account_nonce",
    "NeuronInfoRuntimeApi_get_neurons_lite",
    "NeuronInfoRuntimeApi_get_neuron_lite",
    "SubnetInfoRuntimeApi_get_subnet_hyperparams",
    "SubnetInfoRuntimeApi_get_subnet_hyperparams_v2",
    "TransactionPaymentApi_query_info",
];

fn opaque(bytes: &[u8]) -> Vec<u8> {
    let mut out = Compact(bytes.len() as u32).encode();
    out.extend_from_slice(bytes);
    out
}

/// Runs runtime API function `name` with SCALE `args` at block `at` (best when `None`).
pub fn call(chain: &Chain, name: &str, args: &[u8], at: Option<H256>) -> Result<Vec<u8>, RpcError> {
    if !SERVED.contains(&name) {
        return Err(if metadata().has_runtime_api(name) {
            RpcError::state_client(format!(
                "Execution failed: Other: pulse-chain does not model runtime API {name}"
            ))
        } else {
            RpcError::state_client(format!(
                "Execution failed: Other: Exported method {name} is not found"
            ))
        });
    }
    let function = name.split_once('_').map_or(name, |(_, f)| f);
    chain.with_state(at, |state, _ctx, runtime| match name {
        "Core_version" => {
            decode_args::<()>(function, args)?;
            Ok(runtime_version_scale(runtime))
        }
        "Metadata_metadata" => {
            decode_args::<()>(function, args)?;
            Ok(opaque(METADATA_V14))
        }
        "Metadata_metadata_at_version" => {
            let version: u32 = decode_args(function, args)?;
            Ok(match version {
                14 => Some(opaque(METADATA_V14)),
                15 => Some(opaque(METADATA_V15)),
                _ => None,
            }
            .map_or_else(|| vec![0], |bytes| [vec![1], bytes].concat()))
        }
        "Metadata_metadata_versions" => {
            decode_args::<()>(function, args)?;
            Ok(vec![14u32, 15].encode())
        }
        "AccountNonceApi_account_nonce" => {
            let who: AccountId = decode_args(function, args)?;
            Ok(state.nonce(&who).encode())
        }
        "NeuronInfoRuntimeApi_get_neurons_lite" => {
            let netuid: u16 = decode_args(function, args)?;
            // An unknown netuid answers an empty list, as the runtime does.
            Ok(state
                .subnets
                .get(&netuid)
                .map_or_else(|| vec![0], |s| s.encode_neurons_lite()))
        }
        "NeuronInfoRuntimeApi_get_neuron_lite" => {
            let (netuid, uid): (u16, u16) = decode_args(function, args)?;
            let mut out = vec![1u8];
            match state.subnets.get(&netuid) {
                Some(subnet) if subnet.encode_neuron_lite(uid, &mut out) => Ok(out),
                _ => Ok(vec![0]),
            }
        }
        "SubnetInfoRuntimeApi_get_subnet_hyperparams" => {
            let netuid: u16 = decode_args(function, args)?;
            Ok(state.subnets.get(&netuid).map_or_else(
                || vec![0],
                |s| [vec![1], s.hyperparameters.encode_v1()].concat(),
            ))
        }
        "SubnetInfoRuntimeApi_get_subnet_hyperparams_v2" => {
            let netuid: u16 = decode_args(function, args)?;
            Ok(state.subnets.get(&netuid).map_or_else(
                || vec![0],
                |s| [vec![1], s.hyperparameters.encode()].concat(),
            ))
        }
        "TransactionPaymentApi_query_info" => query_info(args),
        _ => unreachable!("every served name has an arm"),
    })?
}

/// `TransactionPaymentApi_query_info(uxt, len)`: the weights calls' declared weight, normal
/// class, and no fee (they are `Pays::No`). Other calls' fees are not modelled.
fn query_info(args: &[u8]) -> Result<Vec<u8>, RpcError> {
    let bad = |why: String| {
        RpcError::state_client(format!(
            "Execution failed: Runtime panicked: Bad input data provided to query_info: {why}"
        ))
    };
    let mut input = args;
    let len = Compact::<u32>::decode(&mut input)
        .map_err(|e| bad(e.to_string()))?
        .0 as usize;
    let prefix = args.len() - input.len();
    let Some(extrinsic) = args.get(..prefix + len) else {
        return Err(bad("Not enough data to fill buffer".to_owned()));
    };
    let (_, rest) = args.split_at(prefix + len);
    decode_args::<u32>("query_info", rest)?;
    let xt = Extrinsic::decode_bytes(extrinsic).map_err(|e| bad(e.0))?;
    let call = match xt {
        Extrinsic::Signed(signed) => signed.call,
        Extrinsic::Unsigned { call } => call,
    };
    match Call::decode(&call).map_err(|e| bad(e.0))? {
        Call::Weights(call) => {
            let mut out = Vec::new();
            Compact(call.weight()).encode_to(&mut out);
            Compact(0u64).encode_to(&mut out);
            DispatchClass::Normal.encode_to(&mut out);
            0u64.encode_to(&mut out);
            Ok(out)
        }
        Call::Unmodelled { pallet, call } => Err(RpcError::state_client(format!(
            "Execution failed: Other: pulse-chain does not model fees of {pallet}.{call}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_served_function_is_in_the_metadata() {
        for name in SERVED {
            assert!(metadata().has_runtime_api(name), "{name}");
        }
    }
}
