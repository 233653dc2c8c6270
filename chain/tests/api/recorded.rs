//! The double against bytes recorded from finney (`shared/chain/`): metadata, the
//! `get_neurons_lite` answer, commit hashes, and the shapes the runtime's type registry declares.

use chain::metadata::{METADATA_V14, METADATA_V15, metadata, storage_key};
use chain::scale::{AccountId, from_hex};
use chain::{Config, NeuronSpec, StateFile};
use parity_scale_codec::Encode;
use scale_value::{Composite, Value as ScaleValue, ValueDef};
use serde_json::{Value, json};

use crate::helpers::{TestChain, recorded, shared_dir};

/// Decodes `bytes` as type `ty` of the recorded V15 registry, requiring every byte to be used.
fn decode(ty: u32, bytes: &[u8]) -> ScaleValue<u32> {
    let registry = &metadata().v15().types;
    let mut input = bytes;
    let value = scale_value::scale::decode_as_type(&mut input, ty, registry)
        .unwrap_or_else(|err| panic!("type {ty} does not decode: {err}"));
    assert!(
        input.is_empty(),
        "{} bytes left over decoding type {ty}",
        input.len()
    );
    value
}

fn field<'a>(value: &'a ScaleValue<u32>, name: &str) -> &'a ScaleValue<u32> {
    let ValueDef::Composite(Composite::Named(fields)) = &value.value else {
        panic!("not a struct: {value:?}")
    };
    fields
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn number(value: &ScaleValue<u32>) -> u128 {
    value
        .as_u128()
        .unwrap_or_else(|| panic!("not a number: {value:?}"))
}

fn recorded_neurons() -> Option<(Vec<NeuronSpec>, Vec<u8>)> {
    let decoded = recorded("metagraph/neurons_lite.netuid1.block6852690.decoded.json")?;
    let bytes = recorded("metagraph/neurons_lite.netuid1.block6852690.response.scale")?;
    Some((serde_json::from_slice(&decoded).unwrap(), bytes))
}

fn state_with_recorded_neurons(neurons: Vec<NeuronSpec>) -> StateFile {
    serde_json::from_value(json!({
        "subnets": [{"netuid": 1, "max_allowed_uids": 1024, "neurons": neurons}]
    }))
    .unwrap()
}

#[test]
fn the_repository_copies_of_the_metadata_equal_the_recorded_files() {
    let (Some(v14), Some(v15)) = (
        recorded("metadata_v14.scale"),
        recorded("metadata_v15.scale"),
    ) else {
        return;
    };
    assert_eq!(METADATA_V14, v14.as_slice());
    assert_eq!(METADATA_V15, v15.as_slice());
}

#[tokio::test]
async fn the_recorded_neurons_loaded_into_the_double_encode_to_the_recorded_bytes() {
    let Some((neurons, bytes)) = recorded_neurons() else {
        return;
    };
    assert_eq!(neurons.len(), 1024);
    let config = Config {
        state: state_with_recorded_neurons(neurons),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    let served = double
        .state_call("NeuronInfoRuntimeApi_get_neurons_lite", &1u16.encode())
        .await;
    assert_eq!(served.len(), bytes.len());
    assert!(
        served == bytes,
        "the encoding differs from the recorded answer"
    );
}

#[test]
fn the_recorded_neurons_file_loads_as_a_state_files_neurons_file() {
    let Some(dir) = shared_dir() else {
        return;
    };
    let scratch = std::env::temp_dir().join(format!("pulse-chain-state-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let state_path = scratch.join("state.json");
    let neurons = dir.join("chain/metagraph/neurons_lite.netuid1.block6852690.decoded.json");
    std::fs::write(
        &state_path,
        json!({"subnets": [{"netuid": 1, "max_allowed_uids": 1024, "neurons_file": neurons}]})
            .to_string(),
    )
    .unwrap();
    let state = StateFile::load(&state_path).unwrap().build(0).unwrap();
    std::fs::remove_dir_all(&scratch).unwrap();
    let recorded_bytes =
        recorded("metagraph/neurons_lite.netuid1.block6852690.response.scale").unwrap();
    assert!(state.subnets[&1].encode_neurons_lite() == recorded_bytes);
}

#[tokio::test]
async fn one_neuron_is_the_recorded_neuron_wrapped_in_an_option_and_a_missing_uid_is_none() {
    let Some((neurons, _)) = recorded_neurons() else {
        return;
    };
    let expected_hotkey: AccountId = neurons[42].hotkey;
    let config = Config {
        state: state_with_recorded_neurons(neurons),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    let one = double
        .state_call(
            "NeuronInfoRuntimeApi_get_neuron_lite",
            &(1u16, 42u16).encode(),
        )
        .await;
    let ty = metadata()
        .runtime_api_output("NeuronInfoRuntimeApi_get_neuron_lite")
        .unwrap();
    let value = decode(ty, &one);
    let ValueDef::Variant(variant) = &value.value else {
        panic!("an Option expected")
    };
    assert_eq!(variant.name, "Some");
    let missing = double
        .state_call(
            "NeuronInfoRuntimeApi_get_neuron_lite",
            &(1u16, 5000u16).encode(),
        )
        .await;
    assert_eq!(missing, vec![0]);
    assert_eq!(&one[1..33], &expected_hotkey.0);
}

#[tokio::test]
async fn the_hyperparameters_decode_with_the_runtimes_declared_type_field_by_field() {
    let config = Config {
        state: serde_json::from_value(json!({"subnets": [{"netuid": 3, "hyperparameters": {
            "tempo": 360, "weights_rate_limit": 50, "weights_version": 7,
            "commit_reveal_weights_enabled": false, "commit_reveal_period": 2,
            "min_allowed_weights": 8, "max_weights_limit": 1000, "immunity_period": 4096,
            "alpha_sigmoid_steepness": 1000}}]}))
        .unwrap(),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    let name = "SubnetInfoRuntimeApi_get_subnet_hyperparams_v2";
    let bytes = double.state_call(name, &3u16.encode()).await;
    let value = decode(metadata().runtime_api_output(name).unwrap(), &bytes);
    let ValueDef::Variant(some) = &value.value else {
        panic!("an Option expected")
    };
    assert_eq!(some.name, "Some");
    let Composite::Unnamed(inner) = &some.values else {
        panic!("Some(..) expected")
    };
    let params = &inner[0];
    assert_eq!(number(field(params, "tempo")), 360);
    assert_eq!(number(field(params, "weights_rate_limit")), 50);
    assert_eq!(number(field(params, "weights_version")), 7);
    assert_eq!(number(field(params, "commit_reveal_period")), 2);
    assert_eq!(number(field(params, "min_allowed_weights")), 8);
    assert_eq!(number(field(params, "max_weights_limit")), 1000);
    assert_eq!(number(field(params, "immunity_period")), 4096);
    assert_eq!(
        field(params, "commit_reveal_weights_enabled").as_bool(),
        Some(false)
    );
    let steepness = field(field(params, "alpha_sigmoid_steepness"), "bits");
    assert_eq!(steepness.as_i128(), Some(1000i128 << 32));
    // The first version of the call answers the same fields up to liquid alpha.
    let v1 = "SubnetInfoRuntimeApi_get_subnet_hyperparams";
    let bytes = double.state_call(v1, &3u16.encode()).await;
    decode(metadata().runtime_api_output(v1).unwrap(), &bytes);
    assert_eq!(
        double.state_call(name, &99u16.encode()).await,
        vec![0],
        "an unknown netuid is None"
    );
}

#[tokio::test]
async fn metadata_is_served_as_a_node_serves_it() {
    let double = TestChain::spawn(Config::manual()).await;
    let v14 = double.rpc("state_getMetadata", json!([])).await;
    assert_eq!(from_hex(v14.as_str().unwrap()).unwrap(), METADATA_V14);
    let v15 = double
        .state_call("Metadata_metadata_at_version", &15u32.encode())
        .await;
    // The recorded wrapper: Some, then the compact length 296315.
    assert_eq!(&v15[..5], &[0x01, 0xee, 0x15, 0x12, 0x00]);
    assert_eq!(&v15[5..], METADATA_V15);
    let versions = double.state_call("Metadata_metadata_versions", &[]).await;
    assert_eq!(versions, vec![14u32, 15].encode());
    assert_eq!(
        double
            .state_call("Metadata_metadata_at_version", &16u32.encode())
            .await,
        vec![0]
    );
}

#[tokio::test]
async fn core_version_decodes_with_the_runtimes_declared_type() {
    let double = TestChain::spawn(Config::manual()).await;
    let bytes = double.state_call("Core_version", &[]).await;
    let value = decode(
        metadata().runtime_api_output("Core_version").unwrap(),
        &bytes,
    );
    assert_eq!(number(field(&value, "spec_version")), 343);
    assert_eq!(number(field(&value, "transaction_version")), 1);
}

#[test]
fn commit_hashes_equal_the_sdks_for_every_recorded_case() {
    let Some(bytes) = recorded("commit_hash.json") else {
        return;
    };
    let file: Value = serde_json::from_slice(&bytes).unwrap();
    let cases = file["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let who: AccountId = case["hotkey_ss58"].as_str().unwrap().parse().unwrap();
        let list = |name: &str| -> Vec<u16> { serde_json::from_value(case[name].clone()).unwrap() };
        let hash = chain::weights::commit_hash(
            &who,
            case["netuid_index"].as_u64().unwrap() as u16,
            &list("uids"),
            &list("values"),
            &list("salt"),
            case["version_key"].as_u64().unwrap(),
        );
        assert_eq!(
            hash.to_string(),
            case["commit_hash"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn storage_keys_the_sdk_read_are_the_keys_the_double_builds() {
    let Some(bytes) = recorded("metagraph/rpc_replay.json") else {
        return;
    };
    let replay: Value = serde_json::from_slice(&bytes).unwrap();
    let keys: Vec<&str> = replay["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["method"] == "state_getStorageAt")
        .map(|row| row["params"][0].as_str().unwrap())
        .collect();
    let ours = [
        storage_key(
            "SubtensorModule",
            "MechanismCountCurrent",
            &[&1u16.encode()],
        )
        .unwrap(),
        storage_key(
            "SubtensorModule",
            "MechanismEmissionSplit",
            &[&1u16.encode()],
        )
        .unwrap(),
    ];
    for (recorded_key, our_key) in keys.iter().zip(&ours) {
        assert_eq!(*recorded_key, chain::scale::to_hex(our_key));
    }
}

#[tokio::test]
async fn an_unset_item_reads_as_null_like_the_recorded_answer() {
    let config = Config {
        state: serde_json::from_value(json!({"subnets": [{"netuid": 1}]})).unwrap(),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    // The recording answered null for MechanismCountCurrent(1): one mechanism, the default.
    let key = storage_key(
        "SubtensorModule",
        "MechanismCountCurrent",
        &[&1u16.encode()],
    )
    .unwrap();
    let value = double
        .rpc("state_getStorageAt", json!([chain::scale::to_hex(&key)]))
        .await;
    assert_eq!(value, Value::Null);
}
