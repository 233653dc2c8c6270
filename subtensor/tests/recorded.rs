//! Pulse's decoders and the metadata check against the recorded finney bytes and the
//! SDK's decoding of them (`shared/chain/`).

mod support;

use std::collections::BTreeMap;

use frame_metadata::{RuntimeMetadata, RuntimeMetadataPrefixed};
use parity_scale_codec::{Decode, Encode};
use serde_json::Value as Json;
use subtensor::check::{ExtensionKind, check_for_reads, check_for_signing};
use subtensor::hyperparams::{Hyperparameter, decode_hyperparameters};
use subtensor::metadata::Metadata;
use subtensor::neuron::decode_neurons;
use subtensor::value::{Value, decode_all, shape};
use support::{composite, encode_value, num, read, read_json};

fn v15(dir: &std::path::Path) -> Metadata {
    Metadata::decode(&read(dir, "metadata_v15.scale")).unwrap()
}

#[test]
fn recorded_neurons_decode_to_the_sdks_values_neuron_for_neuron_field_for_field() {
    let dir = chain_dir_or_skip!();
    let neurons = decode_neurons(&read(
        &dir,
        "metagraph/neurons_lite.netuid1.block6852690.response.scale",
    ))
    .unwrap();
    let expected = read_json(
        &dir,
        "metagraph/neurons_lite.netuid1.block6852690.decoded.json",
    );
    let expected = expected.as_array().unwrap();
    assert_eq!(neurons.len(), 1024);
    assert_eq!(neurons.len(), expected.len());
    for (neuron, sdk) in neurons.iter().zip(expected) {
        let ours = serde_json::to_value(neuron).unwrap();
        let context = format!("uid {}", neuron.uid);
        for field in [
            "uid",
            "netuid",
            "hotkey",
            "coldkey",
            "active",
            "validator_permit",
            "last_update",
            "stake_rao",
            "stake",
            "axon_info",
            "prometheus_info",
            "rank",
            "emission",
            "incentive",
            "consensus",
            "trust",
            "validator_trust",
            "dividends",
            "pruning_score",
        ] {
            assert_eq!(ours[field], sdk[field], "{context}: {field}");
        }
        assert_eq!(
            neuron.axon_info.ip_addr().to_string(),
            sdk["axon_ip_sdk"].as_str().unwrap(),
            "{context}: axon ip"
        );
        // Every SDK field is one Pulse compares (axon_ip_sdk through ip_addr).
        for key in sdk.as_object().unwrap().keys() {
            assert!(
                ours.get(key).is_some() || key == "axon_ip_sdk",
                "{context}: SDK field {key} not kept"
            );
        }
    }
    let permits: Vec<u16> = neurons
        .iter()
        .filter(|n| n.validator_permit)
        .map(|n| n.uid)
        .collect();
    let checks = read_json(&dir, "metagraph/checks.json");
    let expected_permits: Vec<u16> =
        serde_json::from_value(checks["validator_permit_uids"].clone()).unwrap();
    assert_eq!(permits, expected_permits);
}

#[test]
fn truncated_or_padded_neuron_bytes_are_refused() {
    let dir = chain_dir_or_skip!();
    let bytes = read(
        &dir,
        "metagraph/neurons_lite.netuid1.block6852690.response.scale",
    );
    assert!(decode_neurons(&bytes[..bytes.len() - 1]).is_err());
    let mut padded = bytes.clone();
    padded.push(0);
    assert_eq!(
        decode_neurons(&padded).unwrap_err().to_string(),
        "get_neurons_lite output has 1 bytes after the last neuron"
    );
}

#[test]
fn v14_and_v15_metadata_agree_on_what_pulse_encodes() {
    let dir = chain_dir_or_skip!();
    let v15 = v15(&dir);
    let v14 = Metadata::decode(&read(&dir, "metadata_v14.scale")).unwrap();
    assert_eq!((v14.version, v15.version), (14, 15));
    let facts = read_json(&dir, "chain_facts.json");
    for (name, index) in facts["pallets"].as_object().unwrap() {
        assert_eq!(
            v15.pallet(name).unwrap().index,
            index.as_u64().unwrap() as u8,
            "{name}"
        );
        assert_eq!(
            v14.pallet(name).unwrap().index,
            index.as_u64().unwrap() as u8,
            "{name}"
        );
    }
    let plan15 = check_for_signing(&v15).unwrap();
    let plan14 = check_for_signing(&v14).unwrap();
    assert_eq!(plan14, plan15);
    let order: Vec<&str> = plan15.extensions().map(|(name, _)| name).collect();
    let expected: Vec<&str> = facts["signed_extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ext| ext["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(order, expected);
    assert_eq!(
        plan15
            .extensions()
            .map(|(_, kind)| kind)
            .collect::<Vec<_>>(),
        vec![
            ExtensionKind::Empty,
            ExtensionKind::SpecVersion,
            ExtensionKind::TxVersion,
            ExtensionKind::Genesis,
            ExtensionKind::Mortality,
            ExtensionKind::Nonce,
            ExtensionKind::Empty,
            ExtensionKind::Tip,
            ExtensionKind::Empty,
            ExtensionKind::Empty,
            ExtensionKind::MetadataHashDisabled,
        ]
    );
}

#[test]
fn the_recorded_metadata_passes_the_read_check_with_hyperparams_v2() {
    let dir = chain_dir_or_skip!();
    let plan = check_for_reads(&v15(&dir)).unwrap();
    assert_eq!(plan.hyperparams_method, "get_subnet_hyperparams_v2");
    // V14 describes no runtime APIs: reads are refused rather than guessed.
    let v14 = Metadata::decode(&read(&dir, "metadata_v14.scale")).unwrap();
    let refused = check_for_reads(&v14).unwrap_err().to_string();
    assert!(
        refused.starts_with("metadata mismatch: metadata V14 does not describe runtime APIs"),
        "{refused}"
    );
    assert!(
        refused.ends_with("; refusing to read from the chain"),
        "{refused}"
    );
}

#[test]
fn the_call_table_agrees_with_the_recorded_facts() {
    let dir = chain_dir_or_skip!();
    let facts = read_json(&dir, "chain_facts.json");
    let metadata = v15(&dir);
    for call in subtensor::calls::CALLS {
        let fact = &facts["subtensor_module_calls"][call.name];
        assert_eq!(
            fact["index"].as_u64().unwrap() as u8,
            call.index,
            "{}",
            call.name
        );
        let names: Vec<&str> = fact["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a[0].as_str().unwrap())
            .collect();
        let ours: Vec<&str> = call.args.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ours, "{}", call.name);
    }
    // Shapes as the metadata names them, for the message format the check uses.
    let pallet = metadata.pallet("SubtensorModule").unwrap();
    let calls = metadata.types.resolve(pallet.calls_ty.unwrap()).unwrap();
    let scale_info::TypeDef::Variant(calls) = &calls.type_def else {
        panic!()
    };
    let commit = calls
        .variants
        .iter()
        .find(|v| v.name == "commit_mechanism_weights")
        .unwrap();
    assert_eq!(shape(&metadata.types, commit.fields[2].ty.id), "[u8; 32]");
}

/// Re-encodes the recorded V15 metadata after `change`, for the refusal tests.
fn altered(
    dir: &std::path::Path,
    change: impl FnOnce(&mut frame_metadata::v15::RuntimeMetadataV15),
) -> Metadata {
    let prefixed =
        RuntimeMetadataPrefixed::decode(&mut read(dir, "metadata_v15.scale").as_slice()).unwrap();
    let RuntimeMetadata::V15(mut v15) = prefixed.1 else {
        panic!("not V15")
    };
    change(&mut v15);
    let bytes = RuntimeMetadataPrefixed(prefixed.0, RuntimeMetadata::V15(v15)).encode();
    Metadata::decode(&bytes).unwrap()
}

fn type_id_of_shape(types: &scale_info::PortableRegistry, wanted: &str) -> u32 {
    types
        .types
        .iter()
        .find(|ty| shape(types, ty.id) == wanted)
        .map(|ty| ty.id)
        .unwrap_or_else(|| panic!("no {wanted} in the registry"))
}

fn subtensor_calls(
    v15: &mut frame_metadata::v15::RuntimeMetadataV15,
) -> &mut Vec<scale_info::Variant<scale_info::form::PortableForm>> {
    let calls_ty = v15
        .pallets
        .iter()
        .find(|p| p.name == "SubtensorModule")
        .unwrap()
        .calls
        .as_ref()
        .unwrap()
        .ty
        .id;
    let ty = v15
        .types
        .types
        .iter_mut()
        .find(|ty| ty.id == calls_ty)
        .unwrap();
    let scale_info::TypeDef::Variant(variants) = &mut ty.ty.type_def else {
        panic!()
    };
    &mut variants.variants
}

#[test]
fn a_changed_call_index_is_refused_with_one_line_naming_it() {
    let dir = chain_dir_or_skip!();
    let metadata = altered(&dir, |v15| {
        let call = subtensor_calls(v15)
            .iter_mut()
            .find(|v| v.name == "set_mechanism_weights")
            .unwrap();
        call.index = 120;
    });
    assert_eq!(
        check_for_signing(&metadata).unwrap_err().to_string(),
        "metadata mismatch: SubtensorModule.set_mechanism_weights is call 120, Pulse encodes call 119; refusing to sign"
    );
}

#[test]
fn a_changed_argument_type_is_refused_with_one_line_naming_it() {
    let dir = chain_dir_or_skip!();
    let metadata = altered(&dir, |v15| {
        let vec_u32 = type_id_of_shape(&v15.types, "Vec<u32>");
        let call = subtensor_calls(v15)
            .iter_mut()
            .find(|v| v.name == "set_mechanism_weights")
            .unwrap();
        call.fields[2].ty = vec_u32.into();
    });
    let line = check_for_signing(&metadata).unwrap_err().to_string();
    assert_eq!(
        line,
        "metadata mismatch: SubtensorModule.set_mechanism_weights argument 3 (dests) is Vec<u32>, Pulse encodes Vec<u16>; refusing to sign"
    );
    assert!(!line.contains('\n'));
}

#[test]
fn an_unknown_extension_that_adds_bytes_is_refused_and_an_empty_one_is_not() {
    let dir = chain_dir_or_skip!();
    let with = |identifier: &str, extra_shape: &str| {
        let identifier = identifier.to_string();
        let extra_shape = extra_shape.to_string();
        altered(&dir, move |v15| {
            let extra = type_id_of_shape(&v15.types, &extra_shape);
            let unit = type_id_of_shape(&v15.types, "()");
            v15.extrinsic.signed_extensions.insert(
                9,
                frame_metadata::v15::SignedExtensionMetadata {
                    identifier,
                    ty: extra.into(),
                    additional_signed: unit.into(),
                },
            );
        })
    };
    assert_eq!(
        check_for_signing(&with("CheckShieldedSender", "u32"))
            .unwrap_err()
            .to_string(),
        "metadata mismatch: transaction extension 10 (CheckShieldedSender) adds u32 to the extrinsic and () to the signing payload, and Pulse does not know it; refusing to sign"
    );
    let plan = check_for_signing(&with("CheckNothing", "()")).unwrap();
    assert_eq!(
        plan.extensions().nth(9),
        Some(("CheckNothing", ExtensionKind::Empty))
    );
}

#[test]
fn a_changed_extension_type_and_a_missing_one_are_refused() {
    let dir = chain_dir_or_skip!();
    let metadata = altered(&dir, |v15| {
        let u64_ty = type_id_of_shape(&v15.types, "Compact<u64>");
        let nonce = v15
            .extrinsic
            .signed_extensions
            .iter_mut()
            .find(|e| e.identifier == "CheckNonce")
            .unwrap();
        nonce.ty = u64_ty.into();
    });
    assert_eq!(
        check_for_signing(&metadata).unwrap_err().to_string(),
        "metadata mismatch: transaction extension 6 (CheckNonce) adds Compact<u64> to the extrinsic, Pulse encodes Compact<u32>; refusing to sign"
    );
    let metadata = altered(&dir, |v15| {
        v15.extrinsic
            .signed_extensions
            .retain(|e| e.identifier != "CheckGenesis")
    });
    assert_eq!(
        check_for_signing(&metadata).unwrap_err().to_string(),
        "metadata mismatch: the runtime has no CheckGenesis transaction extension, which Pulse's extrinsics rely on; refusing to sign"
    );
}

#[test]
fn a_changed_neuron_field_is_refused_for_reads() {
    let dir = chain_dir_or_skip!();
    let metadata = altered(&dir, |v15| {
        let compact_u128 = type_id_of_shape(&v15.types, "Compact<u128>");
        let api = v15
            .apis
            .iter()
            .find(|a| a.name == "NeuronInfoRuntimeApi")
            .unwrap();
        let output = api
            .methods
            .iter()
            .find(|m| m.name == "get_neurons_lite")
            .unwrap()
            .output
            .id;
        let scale_info::TypeDef::Sequence(seq) = &v15.types.resolve(output).unwrap().type_def
        else {
            panic!()
        };
        let neuron = seq.type_param.id;
        let ty = v15
            .types
            .types
            .iter_mut()
            .find(|ty| ty.id == neuron)
            .unwrap();
        let scale_info::TypeDef::Composite(fields) = &mut ty.ty.type_def else {
            panic!()
        };
        fields.fields[9].ty = compact_u128.into();
    });
    assert_eq!(
        check_for_reads(&metadata).unwrap_err().to_string(),
        "metadata mismatch: NeuronInfoRuntimeApi.get_neurons_lite's NeuronInfoLite field 10 is emission: Compact<u128>, Pulse decodes emission: Compact<u64>; refusing to read from the chain"
    );
}

fn some(value: &Value) -> &Value {
    match value.as_variant() {
        Some(("Some", [(_, inner)])) => inner,
        other => panic!("expected Some, got {other:?}"),
    }
}

#[test]
fn the_type_driven_decoder_reads_the_recorded_mechagraph_as_the_sdk_did() {
    let dir = chain_dir_or_skip!();
    let metadata = v15(&dir);
    let method = metadata
        .runtime_api_method("SubnetInfoRuntimeApi", "get_selective_mechagraph")
        .unwrap();
    let bytes = read(
        &dir,
        "metagraph/selective_mechagraph.netuid1.block6852690.response.scale",
    );
    let value = decode_all(&metadata.types, method.output_ty, &bytes).unwrap();
    let graph = some(&value);
    let sdk = read_json(
        &dir,
        "metagraph/selective_mechagraph.netuid1.block6852690.decoded.json",
    );
    let mut compared = 0;
    for (name, expected) in sdk.as_object().unwrap() {
        let Some(field) = graph.field(name) else {
            continue;
        };
        let field = match field.as_variant() {
            Some(("Some", [(_, inner)])) => inner,
            Some(("None", [])) => {
                assert!(expected.is_null(), "{name}");
                continue;
            }
            _ => field,
        };
        match expected {
            Json::Number(number) if number.is_u64() => {
                assert_eq!(
                    field.as_u128(),
                    Some(u128::from(number.as_u64().unwrap())),
                    "{name}"
                );
                compared += 1;
            }
            Json::Bool(flag) => {
                assert_eq!(field.as_bool(), Some(*flag), "{name}");
                compared += 1;
            }
            Json::Array(items) if items.iter().all(Json::is_u64) && !items.is_empty() => {
                let Value::Sequence(ours) = field.unwrapped() else {
                    panic!("{name} is {field:?}")
                };
                let ours: Vec<u128> = ours.iter().map(|v| v.as_u128().unwrap()).collect();
                let theirs: Vec<u128> = items
                    .iter()
                    .map(|v| u128::from(v.as_u64().unwrap()))
                    .collect();
                assert_eq!(ours, theirs, "{name}");
                compared += 1;
            }
            Json::Array(items) if items.iter().all(Json::is_boolean) && !items.is_empty() => {
                let Value::Sequence(ours) = field.unwrapped() else {
                    panic!("{name}")
                };
                let ours: Vec<bool> = ours.iter().map(|v| v.as_bool().unwrap()).collect();
                let theirs: Vec<bool> = items.iter().map(|v| v.as_bool().unwrap()).collect();
                assert_eq!(ours, theirs, "{name}");
                compared += 1;
            }
            _ => {}
        }
    }
    // tempo, the weights parameters, the per-uid arrays and more.
    assert!(compared >= 40, "compared only {compared} fields");
    assert_eq!(some(graph.field("tempo").unwrap()).as_u128(), Some(99));
}

#[test]
fn hyperparameters_decode_by_the_v2_output_type_and_field_names() {
    let dir = chain_dir_or_skip!();
    let metadata = v15(&dir);
    let plan = check_for_reads(&metadata).unwrap();
    // No hyperparameter call was recorded at spec 343: build its output from the recorded
    // mechagraph's values (netuid 1 at the same block) by the metadata's own V2 type.
    let sdk = read_json(
        &dir,
        "metagraph/selective_mechagraph.netuid1.block6852690.decoded.json",
    );
    let scale_info::TypeDef::Variant(option) = &metadata
        .types
        .resolve(plan.hyperparams_output_ty)
        .unwrap()
        .type_def
    else {
        panic!()
    };
    let struct_ty = option
        .variants
        .iter()
        .find(|v| v.name == "Some")
        .unwrap()
        .fields[0]
        .ty
        .id;
    let scale_info::TypeDef::Composite(params) =
        &metadata.types.resolve(struct_ty).unwrap().type_def
    else {
        panic!()
    };
    let mut fields = Vec::new();
    for field in &params.fields {
        let name = field.name.as_deref().unwrap();
        let value = match (shape(&metadata.types, field.ty.id).as_str(), &sdk[name]) {
            ("bool", Json::Bool(flag)) => Value::Bool(*flag),
            ("bool", _) => Value::Bool(false),
            ("i64", _) => Value::Composite(vec![(Some("bits".into()), Value::Signed(3 << 31))]),
            (_, Json::Number(n)) => num(u128::from(n.as_u64().unwrap())),
            _ => num(7),
        };
        fields.push((name, value));
    }
    let mut bytes = Vec::new();
    encode_value(
        &metadata.types,
        plan.hyperparams_output_ty,
        &support::variant("Some", vec![composite(fields)]),
        &mut bytes,
    );
    let hyper = decode_hyperparameters(&metadata, &plan, 1, &bytes).unwrap();
    assert_eq!(hyper.tempo, 99);
    assert_eq!(hyper.weights_rate_limit, 100);
    assert_eq!(hyper.weights_version, 21706);
    assert_eq!(hyper.min_allowed_weights, 1);
    assert_eq!(hyper.max_weights_limit, 65535);
    assert!(hyper.commit_reveal_weights_enabled);
    assert_eq!(hyper.commit_reveal_period, 1);
    assert_eq!(hyper.immunity_period, 7200);
    assert_eq!(hyper.values.len(), params.fields.len());
    assert_eq!(
        hyper.values["alpha_sigmoid_steepness"],
        Hyperparameter::Fixed(1.5)
    );
    let names: BTreeMap<_, _> = hyper.values.iter().collect();
    assert!(names.contains_key(&"yuma_version".to_string()));

    // A subnet that does not exist answers None.
    let none = decode_hyperparameters(&metadata, &plan, 99, &[0]).unwrap_err();
    assert_eq!(none.to_string(), "netuid 99 does not exist on this chain");
}
