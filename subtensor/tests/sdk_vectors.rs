//! Pulse's weights calls, extrinsics, u16 conversion, commit hashes and timelocked commits
//! against what the official Python SDK made (`shared/chain/`).

mod support;

use protocol::keys::verify;
use serde_json::Value as Json;
use subtensor::H256;
use subtensor::calls::WeightsCall;
use subtensor::check::check_for_signing;
use subtensor::extrinsic::{Era, TxParams, additional, blake2_256, extra, sign};
use subtensor::metadata::Metadata;
use subtensor::timelock::{self, TlockPayload};
use subtensor::weights::{
    WeightsError, commit_hash, commit_preimage, convert_weights, mechanism_storage_index,
};
use support::{read, read_json, unhex};

fn u16s(value: &Json) -> Vec<u16> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as u16)
        .collect()
}

fn call_of(vector: &Json) -> WeightsCall {
    let args = &vector["call_args"];
    let netuid = args["netuid"].as_u64().unwrap() as u16;
    let mecid = || args["mecid"].as_u64().unwrap() as u8;
    let version_key = || args["version_key"].as_u64().unwrap();
    let hash = || -> [u8; 32] {
        unhex(args["commit_hash"].as_str().unwrap())
            .try_into()
            .unwrap()
    };
    match vector["call_function"].as_str().unwrap() {
        "set_mechanism_weights" => WeightsCall::SetMechanismWeights {
            netuid,
            mecid: mecid(),
            dests: u16s(&args["dests"]),
            weights: u16s(&args["weights"]),
            version_key: version_key(),
        },
        "set_weights" => WeightsCall::SetWeights {
            netuid,
            dests: u16s(&args["dests"]),
            weights: u16s(&args["weights"]),
            version_key: version_key(),
        },
        "commit_mechanism_weights" => WeightsCall::CommitMechanismWeights {
            netuid,
            mecid: mecid(),
            commit_hash: hash(),
        },
        "commit_weights" => WeightsCall::CommitWeights {
            netuid,
            commit_hash: hash(),
        },
        "reveal_mechanism_weights" => WeightsCall::RevealMechanismWeights {
            netuid,
            mecid: mecid(),
            uids: u16s(&args["uids"]),
            values: u16s(&args["values"]),
            salt: u16s(&args["salt"]),
            version_key: version_key(),
        },
        "reveal_weights" => WeightsCall::RevealWeights {
            netuid,
            uids: u16s(&args["uids"]),
            values: u16s(&args["values"]),
            salt: u16s(&args["salt"]),
            version_key: version_key(),
        },
        "commit_timelocked_mechanism_weights" => WeightsCall::CommitTimelockedMechanismWeights {
            netuid,
            mecid: mecid(),
            commit: unhex(args["commit"].as_str().unwrap()),
            reveal_round: args["reveal_round"].as_u64().unwrap(),
            commit_reveal_version: args["commit_reveal_version"].as_u64().unwrap() as u16,
        },
        other => panic!("no vector mapping for {other}"),
    }
}

fn hash(value: &Json) -> H256 {
    value.as_str().unwrap().parse().unwrap()
}

#[test]
fn every_sdk_extrinsic_equals_pulses_but_for_the_signature_and_both_signatures_verify() {
    let dir = chain_dir_or_skip!();
    let vectors = read_json(&dir, "extrinsics.json");
    let metadata = Metadata::decode(&read(&dir, "metadata_v15.scale")).unwrap();
    let plan = check_for_signing(&metadata).unwrap();
    let wallet = dir.join("../vectors/wallets/pulse-test/hotkeys/default");
    let hotkey = protocol::wallet::load_hotkey(&wallet).unwrap();
    assert_eq!(hotkey.ss58(), vectors["signer"]["ss58"].as_str().unwrap());
    let public = hotkey.public_key();

    let mut checked = 0;
    for vector in vectors["vectors"].as_array().unwrap() {
        let name = vector["name"].as_str().unwrap();
        let call = call_of(vector);
        assert_eq!(call.name(), vector["call_function"].as_str().unwrap());
        let call_bytes = call.encode();
        assert_eq!(
            call_bytes,
            unhex(vector["call_hex"].as_str().unwrap()),
            "{name}: call"
        );
        for signed in vector["signed"].as_array().unwrap() {
            let label = format!("{name} ({})", signed["era"].as_str().unwrap());
            let era = match signed["era_input"].as_object() {
                None => Era::Immortal,
                Some(input) => Era::mortal(
                    input["period"].as_u64().unwrap(),
                    input["current"].as_u64().unwrap(),
                ),
            };
            assert_eq!(
                era.encode(),
                unhex(signed["era_hex"].as_str().unwrap()),
                "{label}: era"
            );
            let params = TxParams {
                spec_version: signed["spec_version"].as_u64().unwrap() as u32,
                transaction_version: signed["transaction_version"].as_u64().unwrap() as u32,
                genesis_hash: hash(&signed["genesis_hash"]),
                era,
                checkpoint: hash(&signed["checkpoint_block_hash"]),
                nonce: signed["nonce"].as_u64().unwrap() as u32,
                tip: signed["tip"].as_u64().unwrap(),
            };
            assert_eq!(
                extra(&plan, &params),
                unhex(signed["extra_hex"].as_str().unwrap()),
                "{label}: extra"
            );
            assert_eq!(
                additional(&plan, &params),
                unhex(signed["additional_signed_hex"].as_str().unwrap()),
                "{label}: additional"
            );
            let ours = sign(&call_bytes, &hotkey, &plan, &params);
            assert_eq!(
                ours.payload_preimage,
                unhex(signed["signing_payload_preimage_hex"].as_str().unwrap()),
                "{label}: preimage"
            );
            assert_eq!(
                ours.signing_payload,
                unhex(signed["signing_payload_hex"].as_str().unwrap()),
                "{label}: signing payload"
            );
            assert_eq!(
                ours.signing_payload.len() == 32,
                signed["signing_payload_hashed"].as_bool().unwrap(),
                "{label}"
            );

            let theirs = unhex(signed["extrinsic_hex"].as_str().unwrap());
            let offset = signed["signature_offset"].as_u64().unwrap() as usize;
            assert_eq!(ours.signature_offset, offset, "{label}: signature offset");
            assert_eq!(ours.bytes.len(), theirs.len(), "{label}: length");
            assert_eq!(
                ours.bytes[..offset],
                theirs[..offset],
                "{label}: bytes before the signature"
            );
            assert_eq!(
                ours.bytes[offset + 64..],
                theirs[offset + 64..],
                "{label}: bytes after the signature"
            );
            assert_ne!(
                ours.signature.as_slice(),
                &theirs[offset..offset + 64],
                "{label}: sr25519 is randomised"
            );

            assert!(
                verify(&public, &ours.signing_payload, &ours.signature),
                "{label}: our signature"
            );
            let sdk_signature: [u8; 64] = unhex(signed["signature_hex"].as_str().unwrap())
                .try_into()
                .unwrap();
            assert_eq!(&theirs[offset..offset + 64], sdk_signature.as_slice());
            assert!(
                verify(&public, &ours.signing_payload, &sdk_signature),
                "{label}: the SDK's signature over our payload"
            );
            // The extrinsic hash is blake2b-256 of the whole extrinsic, as the SDK reports it.
            assert_eq!(
                H256(blake2_256(&theirs)),
                hash(&signed["decoded_by_sdk"]["extrinsic_hash"]),
                "{label}: extrinsic hash"
            );
            assert_eq!(ours.hash, H256(blake2_256(&ours.bytes)));
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
}

#[test]
fn the_sdk_commit_in_the_vectors_is_the_hash_of_its_inputs() {
    let dir = chain_dir_or_skip!();
    let vectors = read_json(&dir, "extrinsics.json");
    let commit = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "commit_mechanism_weights")
        .unwrap();
    let inputs = &commit["commit_hash_inputs"];
    let public: [u8; 32] = unhex(vectors["signer"]["public_key"].as_str().unwrap())
        .try_into()
        .unwrap();
    let ours = commit_hash(
        &public,
        inputs["netuid_index"].as_u64().unwrap() as u16,
        &u16s(&inputs["uids"]),
        &u16s(&inputs["values"]),
        &u16s(&inputs["salt"]),
        inputs["version_key"].as_u64().unwrap(),
    );
    assert_eq!(
        ours.to_vec(),
        unhex(commit["call_args"]["commit_hash"].as_str().unwrap())
    );
}

#[test]
fn every_sdk_weight_conversion_case_comes_out_the_same() {
    let dir = chain_dir_or_skip!();
    let cases = read_json(&dir, "weights_conversion.json");
    let mut checked = 0;
    for case in cases["cases"]
        .as_array()
        .unwrap()
        .iter()
        .chain(cases["float64_inputs_cases"]["cases"].as_array().unwrap())
    {
        let name = case["name"].as_str().unwrap();
        let uids: Vec<i64> = case["uids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let weights: Vec<f64> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        if let Some(as_f32) = case.get("weights_as_float32") {
            let ours: Vec<f64> = weights.iter().map(|w| f64::from(*w as f32)).collect();
            let theirs: Vec<f64> = as_f32
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            assert_eq!(ours, theirs, "{name}: float32 cast");
        }
        let (out_uids, out_weights) = convert_weights(&uids, &weights).unwrap();
        assert_eq!(out_uids, u16s(&case["out_uids"]), "{name}: uids");
        assert_eq!(out_weights, u16s(&case["out_weights"]), "{name}: weights");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
    // Rounding half up would give [65535, 1, 3, 2] for this input.
    assert_eq!(
        convert_weights(&[0, 1, 2, 3], &[131070.0, 1.0, 5.0, 3.0])
            .unwrap()
            .1,
        vec![65535, 2, 2]
    );
}

#[test]
fn the_sdks_conversion_errors_are_errors_here_in_the_same_order() {
    let dir = chain_dir_or_skip!();
    let cases = read_json(&dir, "weights_conversion.json");
    for case in cases["errors"].as_array().unwrap() {
        let uids: Vec<i64> = case["uids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        let weights: Vec<f64> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let error = convert_weights(&uids, &weights).unwrap_err();
        let sdk = case["error"].as_str().unwrap();
        match case["name"].as_str().unwrap() {
            "negative_weight" => {
                assert!(matches!(error, WeightsError::NegativeWeight(_)), "{error}");
                assert!(sdk.contains("weight is negative"));
            }
            "negative_uid" => {
                assert_eq!(error, WeightsError::NegativeUid(-1));
                assert!(sdk.contains("uid is negative"));
            }
            "length_mismatch" => {
                assert_eq!(
                    error,
                    WeightsError::LengthMismatch {
                        uids: 3,
                        weights: 2
                    }
                );
                assert!(sdk.ends_with("got 3 and 2"));
            }
            other => panic!("unknown error case {other}"),
        }
    }
    assert_eq!(
        convert_weights(&[70000], &[1.0]).unwrap_err(),
        WeightsError::UidTooLarge(70000)
    );
    assert!(matches!(
        convert_weights(&[0], &[f64::NAN]).unwrap_err(),
        WeightsError::NotFinite(_)
    ));
}

#[test]
fn every_sdk_commit_hash_and_preimage_comes_out_the_same() {
    let dir = chain_dir_or_skip!();
    let cases = read_json(&dir, "commit_hash.json");
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let hotkey = protocol::ss58::decode(case["hotkey_ss58"].as_str().unwrap()).unwrap();
        let netuid_index = mechanism_storage_index(
            case["netuid"].as_u64().unwrap() as u16,
            case["mechid"].as_u64().unwrap() as u8,
        );
        assert_eq!(
            u64::from(netuid_index),
            case["netuid_index"].as_u64().unwrap(),
            "{name}"
        );
        let args = (
            u16s(&case["uids"]),
            u16s(&case["values"]),
            u16s(&case["salt"]),
            case["version_key"].as_u64().unwrap(),
        );
        let preimage = commit_preimage(&hotkey, netuid_index, &args.0, &args.1, &args.2, args.3);
        assert_eq!(
            preimage,
            unhex(case["preimage_hex"].as_str().unwrap()),
            "{name}: preimage"
        );
        let hash = commit_hash(&hotkey, netuid_index, &args.0, &args.1, &args.2, args.3);
        assert_eq!(
            hash.to_vec(),
            unhex(case["commit_hash"].as_str().unwrap()),
            "{name}: hash"
        );
        checked += 1;
    }
    assert_eq!(checked, 5);
}

#[test]
fn the_sdks_timelocked_commit_decrypts_with_the_recorded_round_signature_to_its_payload() {
    let dir = chain_dir_or_skip!();
    let vector = &read_json(&dir, "timelock_commit.json")["decryptable"];
    assert_eq!(vector["reveal_round"], 1000);
    let commit = unhex(vector["commit_hex"].as_str().unwrap());
    let signature = unhex(vector["drand_round_signature_hex"].as_str().unwrap());
    let plaintext = timelock::decrypt(&commit, &signature).unwrap();
    assert_eq!(
        plaintext,
        unhex(vector["decrypted_payload_hex"].as_str().unwrap())
    );
    let payload = timelock::decrypt_payload(&commit, &signature).unwrap();
    let expected = &vector["decrypted_payload"];
    assert_eq!(payload.hotkey, unhex(expected["hotkey"].as_str().unwrap()));
    assert_eq!(payload.uids, u16s(&expected["uids"]));
    assert_eq!(payload.values, u16s(&expected["values"]));
    assert_eq!(
        payload.version_key,
        expected["version_key"].as_u64().unwrap()
    );

    // A tampered commit or another round's signature does not open it.
    let mut tampered = commit.clone();
    let last_body_byte = tampered.len() - 40;
    tampered[last_body_byte] ^= 1;
    assert!(timelock::decrypt(&tampered, &signature).is_err());
    let live = unhex(
        read_json(&dir, "timelock_commit.json")["live"]["commit_hex"]
            .as_str()
            .unwrap(),
    );
    assert!(matches!(
        timelock::decrypt(&live, &signature),
        Err(timelock::TimelockError::Decrypt(_))
    ));
}

#[test]
fn pulses_timelocked_commit_decrypts_with_the_round_signature_to_the_payload_put_in() {
    let dir = chain_dir_or_skip!();
    let vector = &read_json(&dir, "timelock_commit.json")["decryptable"];
    let inputs = &vector["inputs"];
    let payload = TlockPayload {
        hotkey: unhex(inputs["hotkey_hex"].as_str().unwrap()),
        uids: u16s(&inputs["uids"]),
        values: u16s(&inputs["weights"]),
        version_key: inputs["version_key"].as_u64().unwrap(),
    };
    let commit = timelock::encrypt_payload(&payload, 1000).unwrap();
    // Same layout as the SDK's: same length, ark-serialised cipher suite at the end.
    let sdk_commit = unhex(vector["commit_hex"].as_str().unwrap());
    assert_eq!(commit.len(), sdk_commit.len());
    assert_eq!(
        commit[commit.len() - 16..],
        sdk_commit[sdk_commit.len() - 16..]
    );
    assert_ne!(commit, sdk_commit, "encryption is randomised");
    let signature = unhex(vector["drand_round_signature_hex"].as_str().unwrap());
    assert_eq!(
        timelock::decrypt_payload(&commit, &signature).unwrap(),
        payload
    );
    assert_eq!(
        timelock::decrypt(&commit, &signature).unwrap(),
        unhex(vector["decrypted_payload_hex"].as_str().unwrap())
    );
    // Encrypted to another round, the round-1000 signature does not open it.
    let other = timelock::encrypt_payload(&payload, 1001).unwrap();
    assert!(timelock::decrypt(&other, &signature).is_err());
}

#[test]
fn the_reveal_round_follows_the_sdks_formula_for_both_recorded_commits() {
    let dir = chain_dir_or_skip!();
    let vectors = read_json(&dir, "timelock_commit.json");
    let inputs = &vectors["decryptable"]["inputs"];
    let round = |now: f64| {
        timelock::reveal_round(
            inputs["current_block"].as_u64().unwrap(),
            inputs["netuid"].as_u64().unwrap() as u16,
            inputs["tempo"].as_u64().unwrap(),
            inputs["subnet_reveal_period_epochs"].as_u64().unwrap(),
            inputs["block_time"].as_f64().unwrap(),
            now,
        )
    };
    assert_eq!(
        round(vectors["decryptable"]["faked_unix_time"].as_f64().unwrap()),
        1000
    );
    let [start, end] = [0, 1].map(|i| {
        vectors["live"]["wall_clock_unix_between"][i]
            .as_f64()
            .unwrap()
    });
    let live = vectors["live"]["reveal_round"].as_u64().unwrap();
    assert!(
        round(start) <= live && live <= round(end),
        "{} {} {live}",
        round(start),
        round(end)
    );
}

#[test]
fn a_commit_made_at_the_sdks_faked_clock_targets_round_1000_and_opens_with_its_signature() {
    let dir = chain_dir_or_skip!();
    let vector = &read_json(&dir, "timelock_commit.json")["decryptable"];
    let inputs = &vector["inputs"];
    let hotkey: [u8; 32] = unhex(inputs["hotkey_hex"].as_str().unwrap())
        .try_into()
        .unwrap();
    let uids = u16s(&inputs["uids"]);
    let values = u16s(&inputs["weights"]);
    let made = timelock::timelocked_commit(&timelock::CommitInputs {
        hotkey,
        netuid: inputs["netuid"].as_u64().unwrap() as u16,
        mecid: 0,
        uids: &uids,
        values: &values,
        version_key: inputs["version_key"].as_u64().unwrap(),
        tempo: inputs["tempo"].as_u64().unwrap() as u16,
        reveal_period_epochs: inputs["subnet_reveal_period_epochs"].as_u64().unwrap(),
        current_block: inputs["current_block"].as_u64().unwrap(),
        block_time_secs: inputs["block_time"].as_f64().unwrap(),
        now_unix_secs: vector["faked_unix_time"].as_f64().unwrap(),
    })
    .unwrap();
    assert_eq!(made.reveal_round, 1000);
    let signature = unhex(vector["drand_round_signature_hex"].as_str().unwrap());
    let opened = timelock::decrypt_payload(&made.commit, &signature).unwrap();
    assert_eq!(
        (opened.hotkey.as_slice(), opened.uids, opened.values),
        (hotkey.as_slice(), uids, values)
    );
    assert_eq!(timelock::check_commit_reveal_version(4), Ok(()));
    let refused = timelock::check_commit_reveal_version(5)
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("commit_reveal_weights_enabled") && refused.contains("version is 5"),
        "{refused}"
    );
}
