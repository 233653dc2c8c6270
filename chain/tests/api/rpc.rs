//! JSON-RPC over real HTTP and WebSocket: the node's methods and shapes, subscriptions, and
//! extrinsics watched from the pool to finality.

use std::time::Duration;

use chain::metadata::{metadata, storage_key};
use chain::scale::{AccountId, from_hex, to_hex};
use chain::weights::{Action, WeightsCall};
use chain::{Config, Hyperparameters};
use parity_scale_codec::Encode;
use scale_value::{Composite, Value as ScaleValue, ValueDef};
use serde_json::{Value, json};

use crate::helpers::{TestChain, account, hash, key};

/// A local chain with netuid 1 (commit-reveal off, rate limit 10), a validator (seed 1, permit,
/// stake) and two miners (seeds 2 and 3).
pub fn local(mut params: Hyperparameters) -> Config {
    params.commit_reveal_weights_enabled = false;
    params.weights_rate_limit = 10;
    params.weights_version = 5;
    Config {
        state: serde_json::from_value(json!({
            "subnets": [{"netuid": 1, "hyperparameters": params, "neurons": [
                {"hotkey": account(&key(1)), "stake": 1_000_000_000_000u64, "validator_permit": true},
                {"hotkey": account(&key(2))},
                {"hotkey": account(&key(3))},
            ]}]
        }))
        .unwrap(),
        ..Config::manual()
    }
}

/// `set_mechanism_weights` on netuid 1 with version key `version_key`.
pub fn set_weights(version_key: u64) -> Vec<u8> {
    WeightsCall {
        name: "set_mechanism_weights".to_owned(),
        netuid: 1,
        mecid: 0,
        action: Action::Set {
            dests: vec![1, 2],
            weights: vec![100, 300],
            version_key,
        },
    }
    .encode()
}

/// The block's events as (pallet, event, fields), decoded with the runtime's declared
/// `System.Events` type.
pub async fn events(double: &TestChain, block: &Value) -> Vec<(String, String, ScaleValue<u32>)> {
    let key = storage_key("System", "Events", &[]).unwrap();
    let raw = double
        .rpc("state_getStorage", json!([to_hex(&key), block]))
        .await;
    let bytes = from_hex(raw.as_str().unwrap()).unwrap();
    let (_, item) = metadata().storage_item_named("System", "Events").unwrap();
    let mut input = &bytes[..];
    let value =
        scale_value::scale::decode_as_type(&mut input, item.value_type, &metadata().v15().types)
            .unwrap();
    assert!(input.is_empty());
    let ValueDef::Composite(Composite::Unnamed(records)) = value.value else {
        panic!("a list of records expected")
    };
    records
        .into_iter()
        .map(|record| {
            let ValueDef::Composite(Composite::Named(fields)) = record.value else {
                panic!("a record expected")
            };
            let event = fields.into_iter().find(|(n, _)| n == "event").unwrap().1;
            let ValueDef::Variant(pallet) = event.value else {
                panic!("a RuntimeEvent expected")
            };
            let Composite::Unnamed(mut inner) = pallet.values else {
                panic!("a pallet event expected")
            };
            let ValueDef::Variant(pallet_event) = inner.remove(0).value else {
                panic!("a pallet event variant expected")
            };
            (
                pallet.name,
                pallet_event.name,
                ScaleValue {
                    value: ValueDef::Composite(pallet_event.values),
                    context: 0,
                },
            )
        })
        .collect()
}

/// The `SubtensorModule` error an `ExtrinsicFailed` names, read through the metadata.
pub fn failure_name(fields: &ScaleValue<u32>) -> String {
    let ValueDef::Composite(Composite::Named(fields)) = &fields.value else {
        panic!("ExtrinsicFailed has named fields")
    };
    let error = &fields
        .iter()
        .find(|(n, _)| n == "dispatch_error")
        .unwrap()
        .1;
    let ValueDef::Variant(variant) = &error.value else {
        panic!("a DispatchError expected")
    };
    assert_eq!(variant.name, "Module");
    // `Module(ModuleError)`: one unnamed field holding `{ index, error }`.
    let Composite::Unnamed(inner) = &variant.values else {
        panic!("Module wraps one ModuleError")
    };
    let ValueDef::Composite(Composite::Named(module)) = &inner[0].value else {
        panic!("ModuleError has named fields")
    };
    let index = module
        .iter()
        .find(|(n, _)| n == "index")
        .unwrap()
        .1
        .as_u128()
        .unwrap() as u8;
    let ValueDef::Composite(Composite::Unnamed(bytes)) =
        &module.iter().find(|(n, _)| n == "error").unwrap().1.value
    else {
        panic!("four error bytes expected")
    };
    let error = bytes[0].as_u128().unwrap() as u8;
    assert_eq!(index, 7, "the error comes from SubtensorModule");
    metadata().error_name(index, error).unwrap().to_owned()
}

#[tokio::test]
async fn system_and_chain_methods_answer_in_the_nodes_shapes() {
    let double = TestChain::spawn(Config::manual()).await;
    double.blocks(2).await;
    assert_eq!(
        double.rpc("system_properties", json!([])).await,
        json!({"ss58Format": 42, "tokenDecimals": 9, "tokenSymbol": "TAO"})
    );
    assert_eq!(
        double.rpc("system_health", json!([])).await,
        json!({"peers": 0, "isSyncing": false, "shouldHavePeers": false})
    );
    let methods = double.rpc("rpc_methods", json!([])).await;
    assert!(
        methods["methods"]
            .as_array()
            .unwrap()
            .contains(&json!("author_submitAndWatchExtrinsic"))
    );
    let genesis = double.rpc("chain_getBlockHash", json!([0])).await;
    assert_eq!(hash(&genesis), double.chain.genesis_hash());
    let head = double.rpc("chain_getHeader", json!([null])).await;
    assert_eq!(head["number"], "0x2");
    let by_hash = double
        .rpc("chain_getHeader", json!([head["parentHash"]]))
        .await;
    assert_eq!(by_hash["number"], "0x1");
    let block = double.rpc("chain_getBlock", json!([])).await;
    assert_eq!(block["block"]["header"], head);
    // The timestamp inherent: unsigned v4, Timestamp (2) set (0), Compact<u64>.
    let inherent = from_hex(block["block"]["extrinsics"][0].as_str().unwrap()).unwrap();
    assert_eq!(&inherent[1..4], &[0x04, 0x02, 0x00]);
    assert_eq!(
        double.rpc("chain_getHead", json!([])).await,
        double.rpc("chain_getBlockHash", json!([])).await
    );
    let finalized = double.rpc("chain_getFinalizedHead", json!([])).await;
    assert_eq!(
        finalized, genesis,
        "two blocks with a lag of two finalize nothing new"
    );
    let version = double.rpc("state_getRuntimeVersion", json!([])).await;
    assert_eq!(version["specVersion"], 343);
    assert_eq!(version["transactionVersion"], 1);
    assert_eq!(version["specName"], "node-subtensor");
    let unknown = double
        .rpc(
            "chain_getHeader",
            json!(["0x".to_owned() + &"ab".repeat(32)]),
        )
        .await;
    assert_eq!(unknown, Value::Null);
    let response = double
        .client
        .get(format!("{}/health", double.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn unknown_methods_and_bad_params_get_the_standard_errors_on_both_transports() {
    let double = TestChain::spawn(Config::manual()).await;
    let err = double.rpc_error("chain_getNothing", json!([])).await;
    assert_eq!(err, json!({"code": -32601, "message": "Method not found"}));
    let err = double.rpc_error("chain_getHeader", json!(["0x12"])).await;
    assert_eq!(err["code"], -32602);
    let err = double.rpc_error("chain_subscribeNewHeads", json!([])).await;
    assert_eq!(err["code"], -32601, "subscriptions need a WebSocket");
    let mut ws = double.connect().await;
    let answer = ws.call("chain_getNothing", json!([])).await;
    assert_eq!(answer["error"]["code"], -32601);
    let err = double
        .rpc_error("state_call", json!(["Foo_bar", "0x"]))
        .await;
    assert_eq!(err["code"], 4003);
    assert!(err["message"].as_str().unwrap().contains("Foo_bar"));
}

#[tokio::test]
async fn a_batch_over_http_gets_one_answer_per_request() {
    let double = TestChain::spawn(Config::manual()).await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "system_chain"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        {"jsonrpc": "2.0", "method": "system_chain"},
    ]);
    let answer: Value = double
        .client
        .post(&double.http)
        .json(&batch)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let answers = answer.as_array().unwrap();
    assert_eq!(answers.len(), 2, "the notification gets no answer");
    assert_eq!(answers[0]["result"], "pulse-chain");
    assert_eq!(answers[1]["error"]["code"], -32601);
}

#[tokio::test]
async fn new_heads_arrive_by_subscription_in_increasing_order() {
    let config = Config {
        block_time: Some(Duration::from_millis(50)),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    let mut ws = double.connect().await;
    let id = ws.subscribe("chain_subscribeNewHeads", json!([])).await;
    let first = ws.notification("chain_newHead", &id).await;
    let mut previous = u32::from_str_radix(
        first["number"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap();
    for _ in 0..3 {
        let header = ws.notification("chain_newHead", &id).await;
        let number = u32::from_str_radix(
            header["number"].as_str().unwrap().trim_start_matches("0x"),
            16,
        )
        .unwrap();
        assert_eq!(number, previous + 1);
        previous = number;
    }
    let answer = ws.call("chain_unsubscribeNewHeads", json!([id])).await;
    // Notifications already queued may come first; the answer says the subscription existed.
    let answer = if answer.get("id").is_some() {
        answer
    } else {
        ws.next().await
    };
    assert!(answer["result"] == json!(true) || answer["method"] == "chain_newHead");
}

#[tokio::test]
async fn finalized_heads_follow_the_best_block_by_the_lag() {
    let double = TestChain::spawn(Config::manual()).await;
    let mut ws = double.connect().await;
    let id = ws
        .subscribe("chain_subscribeFinalizedHeads", json!([]))
        .await;
    let first = ws.notification("chain_finalizedHead", &id).await;
    assert_eq!(first["number"], "0x0");
    double.blocks(4).await;
    for expected in ["0x1", "0x2"] {
        let header = ws.notification("chain_finalizedHead", &id).await;
        assert_eq!(header["number"], expected);
    }
    let finalized = double.rpc("chain_getFinalizedHead", json!([])).await;
    let header = double.rpc("chain_getHeader", json!([finalized])).await;
    assert_eq!(header["number"], "0x2");
}

#[tokio::test]
async fn submit_and_watch_reports_ready_in_block_and_finalized_and_the_events_say_weights_set() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let xt = double.sign(&key(1), &set_weights(5), 0);
    let mut ws = double.connect().await;
    let id = ws
        .subscribe("author_submitAndWatchExtrinsic", json!([to_hex(&xt)]))
        .await;
    assert_eq!(
        ws.notification("author_extrinsicUpdate", &id).await,
        "ready"
    );
    double.blocks(1).await;
    let in_block = ws.notification("author_extrinsicUpdate", &id).await;
    let block = in_block["inBlock"].clone();
    assert!(block.is_string(), "{in_block}");
    double.blocks(2).await;
    let finalized = ws.notification("author_extrinsicUpdate", &id).await;
    assert_eq!(finalized, json!({"finalized": block}));
    let body = double.rpc("chain_getBlock", json!([block])).await;
    assert_eq!(body["block"]["extrinsics"][1], json!(to_hex(&xt)));
    let events = events(&double, &block).await;
    let names: Vec<(&str, &str)> = events
        .iter()
        .map(|(p, e, _)| (p.as_str(), e.as_str()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("System", "ExtrinsicSuccess"),
            ("SubtensorModule", "WeightsSet"),
            ("TransactionPayment", "TransactionFeePaid"),
            ("System", "ExtrinsicSuccess"),
        ]
    );
    let weights = double.admin_get("/admin/subnets/1/weights").await;
    let set = &weights["mechanisms"][0]["weights"][0];
    assert_eq!(set["uid"], 0);
    assert_eq!(set["block"], 1);
    // Max-upscaled as the runtime stores them.
    assert_eq!(set["weights"], json!([[1, 21845], [2, 65535]]));
    assert_eq!(weights["mechanisms"][0]["last_update"][0], 1);
}

#[tokio::test]
async fn a_rule_violation_is_included_with_the_named_dispatch_error() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let xt = double.sign(&key(1), &set_weights(4), 0);
    let mut ws = double.connect().await;
    let id = ws
        .subscribe("author_submitAndWatchExtrinsic", json!([to_hex(&xt)]))
        .await;
    assert_eq!(
        ws.notification("author_extrinsicUpdate", &id).await,
        "ready"
    );
    double.blocks(1).await;
    let in_block = ws.notification("author_extrinsicUpdate", &id).await;
    let events = events(&double, &in_block["inBlock"]).await;
    let (pallet, event, fields) = events.last().unwrap();
    assert_eq!(
        (pallet.as_str(), event.as_str()),
        ("System", "ExtrinsicFailed")
    );
    assert_eq!(failure_name(fields), "IncorrectWeightVersionKey");
    let weights = double.admin_get("/admin/subnets/1/weights").await;
    assert_eq!(weights["mechanisms"][0]["weights"], json!([]));
}

#[tokio::test]
async fn an_invalid_extrinsic_is_refused_over_websocket_without_a_subscription() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let mut xt = double.sign(&key(1), &set_weights(5), 0);
    let last = xt.len() - 1;
    xt[last] ^= 0xff;
    let mut ws = double.connect().await;
    let answer = ws
        .call("author_submitAndWatchExtrinsic", json!([to_hex(&xt)]))
        .await;
    assert_eq!(
        answer["error"],
        json!({"code": 1010, "message": "Invalid Transaction", "data": "Transaction has a bad signature"})
    );
    let answer = ws.call("author_submitExtrinsic", json!(["0x0102"])).await;
    assert_eq!(answer["error"]["code"], 1001);
}

#[tokio::test]
async fn a_runtime_upgrade_is_announced_and_changes_what_signatures_must_commit_to() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let mut ws = double.connect().await;
    let id = ws
        .subscribe("state_subscribeRuntimeVersion", json!([]))
        .await;
    let first = ws.notification("state_runtimeVersion", &id).await;
    assert_eq!(first["specVersion"], 343);
    let signed_for_343 = double.sign(&key(1), &set_weights(5), 0);
    let (status, _) = double
        .admin(
            reqwest::Method::POST,
            "/admin/runtime",
            json!({"spec_version": 344}),
        )
        .await;
    assert_eq!(status, 202);
    double.blocks(1).await;
    let upgraded = ws.notification("state_runtimeVersion", &id).await;
    assert_eq!(upgraded["specVersion"], 344);
    let err = double
        .rpc_error("author_submitExtrinsic", json!([to_hex(&signed_for_343)]))
        .await;
    assert_eq!(err["data"], "Transaction has a bad signature");
    let signed_for_344 = double.sign(&key(1), &set_weights(5), 0);
    double
        .rpc("author_submitExtrinsic", json!([to_hex(&signed_for_344)]))
        .await;
}

#[tokio::test]
async fn a_pooled_transaction_signed_for_the_old_runtime_becomes_invalid_at_the_upgrade() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let xt = double.sign(&key(1), &set_weights(5), 0);
    let mut ws = double.connect().await;
    let id = ws
        .subscribe("author_submitAndWatchExtrinsic", json!([to_hex(&xt)]))
        .await;
    assert_eq!(
        ws.notification("author_extrinsicUpdate", &id).await,
        "ready"
    );
    double
        .admin(
            reqwest::Method::POST,
            "/admin/runtime",
            json!({"spec_version": 344}),
        )
        .await;
    double.blocks(1).await;
    assert_eq!(
        ws.notification("author_extrinsicUpdate", &id).await,
        "invalid"
    );
}

#[tokio::test]
async fn storage_reads_serve_accounts_registration_and_several_keys_at_once() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let validator = account(&key(1));
    double.blocks(1).await;
    let xt = double.sign(&key(1), &set_weights(5), 0);
    double
        .rpc("author_submitExtrinsic", json!([to_hex(&xt)]))
        .await;
    double.blocks(1).await;
    let account_key = storage_key("System", "Account", &[&validator.0]).unwrap();
    let info = double
        .rpc("state_getStorage", json!([to_hex(&account_key)]))
        .await;
    let info = from_hex(info.as_str().unwrap()).unwrap();
    assert_eq!(&info[..4], &1u32.to_le_bytes(), "the nonce moved to 1");
    let next = double
        .rpc("system_accountNextIndex", json!([validator.ss58()]))
        .await;
    assert_eq!(next, 1);
    let uid_key = storage_key(
        "SubtensorModule",
        "Uids",
        &[&1u16.encode(), &account(&key(3)).0],
    )
    .unwrap();
    let last_update = storage_key("SubtensorModule", "LastUpdate", &[&1u16.encode()]).unwrap();
    let answer = double
        .rpc(
            "state_queryStorageAt",
            json!([[to_hex(&uid_key), to_hex(&last_update)]]),
        )
        .await;
    let changes = &answer[0]["changes"];
    assert_eq!(changes[0][1], json!(to_hex(2u16.encode())));
    assert_eq!(changes[1][1], json!(to_hex(vec![2u64, 0, 0].encode())));
    let keys = double
        .rpc("state_getKeysPaged", json!([to_hex(&uid_key[..32]), 10]))
        .await;
    assert_eq!(
        keys.as_array().unwrap().len(),
        3,
        "three hotkeys hold uids on netuid 1"
    );
    let nobody = AccountId([0x55; 32]);
    let missing = storage_key("System", "Account", &[&nobody.0]).unwrap();
    assert_eq!(
        double
            .rpc("state_getStorage", json!([to_hex(&missing)]))
            .await,
        Value::Null
    );
}

#[tokio::test]
async fn every_event_the_double_deposits_decodes_with_the_runtimes_event_type() {
    let params = Hyperparameters {
        tempo: 9,
        ..Hyperparameters::default()
    };
    let mut config = local(params);
    config.state.subnets[0]
        .hyperparameters
        .commit_reveal_weights_enabled = true;
    let double = TestChain::spawn(config).await;
    let (uids, values, salt) = (vec![1u16, 2], vec![1u16, 2], vec![3u16]);
    let hash = chain::weights::commit_hash(&account(&key(1)), 1, &uids, &values, &salt, 5);
    let call = |name: &str, action| {
        WeightsCall {
            name: name.to_owned(),
            netuid: 1,
            mecid: 0,
            action,
        }
        .encode()
    };
    let submit = |xt: Vec<u8>| {
        let double = &double;
        async move {
            double
                .rpc("author_submitExtrinsic", json!([to_hex(&xt)]))
                .await
        }
    };
    // Block 1: a commit and a refused set_weights (commit-reveal is on).
    submit(double.sign(
        &key(1),
        &call(
            "commit_mechanism_weights",
            Action::Commit { commit_hash: hash },
        ),
        0,
    ))
    .await;
    submit(double.sign(&key(2), &set_weights(5), 0)).await;
    double.blocks(1).await;
    // Block 8 (epoch 1): the reveal, and a timelocked commit by a miner (commits need no permit).
    double.blocks(6).await;
    submit(double.sign(
        &key(1),
        &call(
            "reveal_mechanism_weights",
            Action::Reveal {
                uids,
                values,
                salt,
                version_key: 5,
            },
        ),
        1,
    ))
    .await;
    submit(double.sign(
        &key(3),
        &call(
            "commit_timelocked_mechanism_weights",
            Action::CommitTimelocked {
                commit: vec![1, 2, 3],
                reveal_round: 77,
                commit_reveal_version: 4,
            },
        ),
        0,
    ))
    .await;
    double.blocks(1).await;
    let mut seen = Vec::new();
    for number in [1, 8] {
        let block = double.rpc("chain_getBlockHash", json!([number])).await;
        for (pallet, event, fields) in events(&double, &block).await {
            if event == "ExtrinsicFailed" {
                assert_eq!(failure_name(&fields), "CommitRevealEnabled");
            }
            seen.push(format!("{pallet}.{event}"));
        }
    }
    for expected in [
        "SubtensorModule.WeightsCommitted",
        "System.ExtrinsicFailed",
        "SubtensorModule.WeightsSet",
        "SubtensorModule.WeightsRevealed",
        "SubtensorModule.TimelockedWeightsCommitted",
        "TransactionPayment.TransactionFeePaid",
        "System.ExtrinsicSuccess",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} missing from {seen:?}"
        );
    }
    let commits = double.admin_get("/admin/subnets/1/commits").await;
    assert_eq!(
        commits["mechanisms"][0]["timelocked"][0]["reveal_round"],
        77
    );
    let reveals = double.admin_get("/admin/subnets/1/reveals").await;
    assert_eq!(reveals[0]["block"], 8);
}

#[tokio::test]
async fn fee_queries_for_weights_calls_answer_their_weight_and_no_fee() {
    let double = TestChain::spawn(local(Hyperparameters::default())).await;
    let xt = double.sign(&key(1), &set_weights(5), 0);
    let mut args = xt.clone();
    args.extend_from_slice(&(xt.len() as u32).encode());
    let bytes = double
        .state_call("TransactionPaymentApi_query_info", &args)
        .await;
    let ty = metadata()
        .runtime_api_output("TransactionPaymentApi_query_info")
        .unwrap();
    let mut input = &bytes[..];
    let value =
        scale_value::scale::decode_as_type(&mut input, ty, &metadata().v15().types).unwrap();
    assert!(input.is_empty());
    let ValueDef::Composite(Composite::Named(fields)) = value.value else {
        panic!("RuntimeDispatchInfo expected")
    };
    let fee = &fields.iter().find(|(n, _)| n == "partial_fee").unwrap().1;
    assert_eq!(fee.as_u128(), Some(0));
}
