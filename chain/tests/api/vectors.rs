//! The extrinsics the official Python SDK built and signed (`shared/chain/extrinsics.json`):
//! the double decodes each, checks its signature as the runtime does, accepts it on a double
//! set to finney (genesis, spec 343, nonce 7, the recorded block for mortal eras), and refuses
//! tampered ones with the node's errors.

use chain::extrinsic::{Extrinsic, MultiSignature};
use chain::scale::{H256, from_hex, to_hex};
use chain::weights::{Action, Call};
use chain::{Config, RuntimeVersion};
use parity_scale_codec::Encode;
use serde_json::{Value, json};

use crate::helpers::{TestChain, VECTOR_SIGNER, vectors};

/// A double looking like finney at block 6852690, with the vectors' signer at nonce `nonce`.
fn finney(nonce: u32) -> Config {
    Config {
        state: serde_json::from_value(json!({
            "accounts": [{"address": VECTOR_SIGNER, "nonce": nonce}],
            "subnets": [{"netuid": 1}]
        }))
        .unwrap(),
        ..Config::manual().finney_fork()
    }
}

/// Every signed vector: (vector, signed entry).
fn signed_vectors(file: &Value) -> Vec<(Value, Value)> {
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| {
            v["signed"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |s| (v.clone(), s.clone()))
        })
        .collect()
}

fn bytes(value: &Value) -> Vec<u8> {
    from_hex(value.as_str().unwrap()).unwrap()
}

fn u16s(value: &Value) -> Vec<u16> {
    serde_json::from_value(value.clone()).unwrap()
}

#[test]
fn every_sdk_extrinsic_decodes_to_the_call_the_vector_names() {
    let Some(file) = vectors() else {
        return;
    };
    let all = signed_vectors(&file);
    assert_eq!(all.len(), 16);
    for (vector, signed) in all {
        let name = vector["name"].as_str().unwrap();
        let Extrinsic::Signed(xt) =
            Extrinsic::decode_bytes(&bytes(&signed["extrinsic_hex"])).unwrap()
        else {
            panic!("{name}: signed expected")
        };
        assert_eq!(xt.call, bytes(&vector["call_hex"]), "{name}");
        assert_eq!(xt.extra.nonce, 7);
        assert_eq!(xt.extra.tip, 0);
        assert_eq!(to_hex(xt.extra.era.encode()), signed["era_hex"]);
        let MultiSignature::Sr25519(sig) = xt.signature else {
            panic!("{name}: sr25519 expected")
        };
        assert_eq!(to_hex(sig), signed["signature_hex"], "{name}");
        let Call::Weights(call) = Call::decode(&xt.call).unwrap() else {
            panic!("{name}: a weights call expected")
        };
        let args = &vector["call_args"];
        assert_eq!(call.name, vector["call_function"], "{name}");
        assert_eq!(u64::from(call.netuid), args["netuid"].as_u64().unwrap());
        assert_eq!(u64::from(call.mecid), args["mecid"].as_u64().unwrap_or(0));
        match &call.action {
            Action::Set {
                dests,
                weights,
                version_key,
            } => {
                assert_eq!(dests, &u16s(&args["dests"]));
                assert_eq!(weights, &u16s(&args["weights"]));
                assert_eq!(*version_key, args["version_key"].as_u64().unwrap());
            }
            Action::Commit { commit_hash } => {
                assert_eq!(
                    commit_hash.to_string(),
                    args["commit_hash"].as_str().unwrap()
                );
            }
            Action::Reveal {
                uids,
                values,
                salt,
                version_key,
            } => {
                assert_eq!(uids, &u16s(&args["uids"]));
                assert_eq!(values, &u16s(&args["values"]));
                assert_eq!(salt, &u16s(&args["salt"]));
                assert_eq!(*version_key, args["version_key"].as_u64().unwrap());
            }
            Action::CommitTimelocked {
                commit,
                reveal_round,
                commit_reveal_version,
            } => {
                assert_eq!(to_hex(commit), args["commit"].as_str().unwrap());
                assert_eq!(*reveal_round, args["reveal_round"].as_u64().unwrap());
                assert_eq!(
                    u64::from(*commit_reveal_version),
                    args["commit_reveal_version"].as_u64().unwrap()
                );
            }
        }
        // The double's own encoder builds the SDK's call bytes.
        assert_eq!(call.encode(), xt.call, "{name}");
    }
}

#[test]
fn the_doubles_signing_payload_and_extrinsic_equal_the_sdks_but_for_the_signature() {
    let Some(file) = vectors() else {
        return;
    };
    let key = pulse_test_key();
    for (vector, signed) in signed_vectors(&file) {
        let name = vector["name"].as_str().unwrap();
        let original = bytes(&signed["extrinsic_hex"]);
        let Extrinsic::Signed(xt) = Extrinsic::decode_bytes(&original).unwrap() else {
            panic!("{name}: signed expected")
        };
        let additional = chain::extrinsic::Additional {
            spec_version: 343,
            transaction_version: 1,
            genesis_hash: signed["genesis_hash"].as_str().unwrap().parse().unwrap(),
            checkpoint: signed["checkpoint_block_hash"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap(),
            metadata_hash: None,
        };
        let payload = chain::extrinsic::signing_payload(&xt.call, &xt.extra, &additional);
        assert_eq!(to_hex(&payload), signed["signing_payload_hex"], "{name}");
        let Some(key) = &key else {
            continue;
        };
        let ours = chain::extrinsic::sign(key, &xt.call, xt.extra, &additional);
        let offset = signed["signature_offset"].as_u64().unwrap() as usize;
        assert_eq!(ours.len(), original.len(), "{name}");
        assert_eq!(ours[..offset], original[..offset], "{name}");
        assert_eq!(ours[offset + 64..], original[offset + 64..], "{name}");
        assert_eq!(
            chain::extrinsic::hash(&original).to_string(),
            signed["decoded_by_sdk"]["extrinsic_hash"].as_str().unwrap(),
            "{name}"
        );
    }
}

/// The pulse-test wallet's hotkey, from its file's seed, when the vectors are present.
fn pulse_test_key() -> Option<protocol::Hotkey> {
    let dir = crate::helpers::shared_dir()?;
    let file = dir.join("vectors/wallets/pulse-test/hotkeys/default");
    let text = std::fs::read_to_string(file).ok()?;
    let json: Value = serde_json::from_str(&text).ok()?;
    let key = protocol::Hotkey::from_seed_hex(json["secretSeed"].as_str()?).ok()?;
    assert_eq!(key.ss58(), VECTOR_SIGNER);
    Some(key)
}

#[tokio::test]
async fn every_sdk_extrinsic_is_accepted_by_a_double_set_to_finney() {
    let Some(file) = vectors() else {
        return;
    };
    for (vector, signed) in signed_vectors(&file) {
        let name = format!("{} ({})", vector["name"], signed["era"]);
        let double = TestChain::spawn(finney(7)).await;
        if vector["call_function"] == "reveal_weights" {
            pending_commit(&double, &vector);
        }
        let hash = double
            .rpc("author_submitExtrinsic", json!([signed["extrinsic_hex"]]))
            .await;
        assert_eq!(hash, signed["decoded_by_sdk"]["extrinsic_hash"], "{name}");
        let pending = double.rpc("author_pendingExtrinsics", json!([])).await;
        assert_eq!(pending, json!([signed["extrinsic_hex"]]), "{name}");
    }
}

/// The pool refuses a legacy `reveal_weights` with no matching commit (subtensor's
/// transaction extension): give the signer the commit the SDK's reveal matches, made in the
/// epoch before block 6852691's (tempo 99: blocks 6852498..=6852597).
fn pending_commit(double: &TestChain, vector: &Value) {
    let args = &vector["call_args"];
    let signer: chain::scale::AccountId = VECTOR_SIGNER.parse().unwrap();
    let hash = chain::weights::commit_hash(
        &signer,
        1,
        &u16s(&args["uids"]),
        &u16s(&args["values"]),
        &u16s(&args["salt"]),
        args["version_key"].as_u64().unwrap(),
    );
    double.chain.change_state(|state| {
        let subnet = state.subnet_mut(1).unwrap();
        let (first, last) = chain::weights::reveal_blocks(subnet, 6_852_597);
        subnet.mechanisms[0]
            .commits
            .entry(signer)
            .or_default()
            .push_back(chain::metagraph::Commit {
                hash,
                commit_block: 6_852_597,
                first_reveal_block: first,
                last_reveal_block: last,
            });
    });
}

async fn refused(double: &TestChain, extrinsic: &str) -> Value {
    double
        .rpc_error("author_submitExtrinsic", json!([extrinsic]))
        .await
}

fn mortal_set_weights(file: &Value) -> Value {
    file["vectors"][0]["signed"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["era"] == "mortal")
        .unwrap()
        .clone()
}

fn bad_signature() -> Value {
    json!({"code": 1010, "message": "Invalid Transaction", "data": "Transaction has a bad signature"})
}

#[tokio::test]
async fn a_tampered_signature_is_refused_as_a_bad_signature() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let mut xt = bytes(&signed["extrinsic_hex"]);
    let offset = signed["signature_offset"].as_u64().unwrap() as usize;
    xt[offset + 10] ^= 0x01;
    let double = TestChain::spawn(finney(7)).await;
    assert_eq!(refused(&double, &to_hex(&xt)).await, bad_signature());
}

#[tokio::test]
async fn a_used_nonce_is_refused_as_outdated() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let double = TestChain::spawn(finney(8)).await;
    assert_eq!(
        refused(&double, signed["extrinsic_hex"].as_str().unwrap()).await,
        json!({"code": 1010, "message": "Invalid Transaction", "data": "Transaction is outdated"})
    );
}

#[tokio::test]
async fn a_future_nonce_waits_in_the_pool_and_the_next_index_counts_it() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let double = TestChain::spawn(finney(6)).await;
    double
        .rpc("author_submitExtrinsic", json!([signed["extrinsic_hex"]]))
        .await;
    let next = double
        .rpc("system_accountNextIndex", json!([VECTOR_SIGNER]))
        .await;
    assert_eq!(
        next,
        json!(6),
        "nonce 6 is still missing before the pooled 7"
    );
    let info = double.admin_get("/admin/chain").await;
    assert_eq!(info["pool"][0]["ready"], json!(false));
}

#[tokio::test]
async fn another_genesis_is_refused_as_a_bad_signature() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = &file["vectors"][0]["signed"][0];
    assert_eq!(signed["era"], "immortal");
    let config = Config {
        genesis: chain::Genesis::Local,
        ..finney(7)
    };
    let double = TestChain::spawn(config).await;
    assert_eq!(
        refused(&double, signed["extrinsic_hex"].as_str().unwrap()).await,
        bad_signature()
    );
}

#[tokio::test]
async fn another_spec_version_is_refused_as_a_bad_signature() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = &file["vectors"][0]["signed"][0];
    let config = Config {
        runtime: RuntimeVersion {
            spec_version: 344,
            transaction_version: 1,
        },
        ..finney(7)
    };
    let double = TestChain::spawn(config).await;
    assert_eq!(
        refused(&double, signed["extrinsic_hex"].as_str().unwrap()).await,
        bad_signature()
    );
}

#[tokio::test]
async fn an_expired_era_is_refused_once_its_period_has_passed() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let extrinsic = signed["extrinsic_hex"].as_str().unwrap();
    // Period 128 from block 6852690: it may go into blocks up to 6852817.
    let double = TestChain::spawn(finney(7)).await;
    double.blocks(126).await;
    let accepted = double
        .rpc_raw("author_submitExtrinsic", json!([extrinsic]))
        .await;
    assert!(
        accepted.get("result").is_some(),
        "still valid for block 6852817: {accepted}"
    );
    // For block 6852818 the era's birth moves to 6852818 itself, whose hash nobody has yet.
    let double = TestChain::spawn(finney(7)).await;
    double.blocks(127).await;
    let err = refused(&double, extrinsic).await;
    assert_eq!(err["data"], "Transaction has an ancient birth block");
    // Later the birth is a known block with another hash: the signature no longer matches.
    let double = TestChain::spawn(finney(7)).await;
    double.blocks(200).await;
    assert_eq!(refused(&double, extrinsic).await, bad_signature());
}

#[tokio::test]
async fn a_mortal_extrinsic_from_a_block_the_double_never_had_is_an_ancient_birth_block() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    // A finney-genesis chain starting at genesis has no block 6852690.
    let config = Config {
        start: chain::Start::Genesis,
        ..finney(7)
    };
    let double = TestChain::spawn(config).await;
    double.blocks(1).await;
    let err = refused(&double, signed["extrinsic_hex"].as_str().unwrap()).await;
    // Seen from block 2, the era (period 128, phase 82) is born at block 82, which does not
    // exist yet: the runtime has no hash for it.
    assert_eq!(err["code"], 1010);
    assert_eq!(err["data"], "Transaction has an ancient birth block");
}

#[tokio::test]
async fn the_same_extrinsic_twice_is_already_imported() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let double = TestChain::spawn(finney(7)).await;
    let hash = double
        .rpc("author_submitExtrinsic", json!([signed["extrinsic_hex"]]))
        .await;
    let err = refused(&double, signed["extrinsic_hex"].as_str().unwrap()).await;
    assert_eq!(err["code"], 1013);
    assert_eq!(err["data"], hash);
}

#[tokio::test]
async fn an_sdk_set_weights_on_a_commit_reveal_subnet_is_included_and_fails_by_name() {
    let Some(file) = vectors() else {
        return;
    };
    let signed = mortal_set_weights(&file);
    let double = TestChain::spawn(finney(7)).await;
    let hash: H256 = crate::helpers::hash(
        &double
            .rpc("author_submitExtrinsic", json!([signed["extrinsic_hex"]]))
            .await,
    );
    double.blocks(1).await;
    let included = double.admin_get("/admin/extrinsics").await;
    assert_eq!(included[0]["hash"], json!(hash));
    assert_eq!(included[0]["block_number"], 6_852_691);
    // Netuid 1 keeps commit-reveal on (the chain's default), so set_mechanism_weights fails.
    assert_eq!(included[0]["error"], "CommitRevealEnabled");
    let account = double
        .admin_get(&format!("/admin/accounts/{VECTOR_SIGNER}"))
        .await;
    assert_eq!(
        account["nonce"], 8,
        "a failed dispatch still uses the nonce"
    );
}
