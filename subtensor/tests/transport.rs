//! The client against a JSON-RPC responder that answers with the recorded finney answers
//! (`shared/chain/metagraph/rpc_replay.json` and the recorded `.scale` files), over HTTP
//! and over WebSocket.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value as Json, json};
use subtensor::value::Value;
use subtensor::{
    ChainError, Endpoint, H256, Metadata, RpcError, RpcOptions, SubmitError, Subtensor, TxOptions,
    WaitFor, WeightsCall,
};
use support::{
    Answer, Responder, composite, event_record, events_bytes, hex0x, num, read, read_json, unhex,
    variant,
};

const HEAD: &str = "0xdb13c066e2c63969f140164fb3bfe7a0aaa7b71407fc0fe525d68e57329ef9d0";
const GENESIS: &str = "0x2f0555cc76fc2840a25a6ea3b9637146806f1f44b090c175ffde2a7e5ab36c03";
// A block after the recorded one, for the extrinsic tests (not a finney hash).
const NEXT: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";

async fn client(url: &str) -> Subtensor {
    Subtensor::connect(&Endpoint::parse(url).unwrap(), RpcOptions::default())
        .await
        .unwrap()
}

async fn both(responder: &Responder) -> [(&'static str, Subtensor); 2] {
    [
        ("http", client(&responder.http_url()).await),
        ("ws", client(&responder.ws_url()).await),
    ]
}

fn v15(dir: &std::path::Path) -> Metadata {
    Metadata::decode(&read(dir, "metadata_v15.scale")).unwrap()
}

#[tokio::test]
async fn reads_over_http_and_websocket_give_the_recorded_chain() {
    let dir = chain_dir_or_skip!();
    let responder = Responder::start().await;
    responder.load_recording(&dir);
    let sdk = read_json(
        &dir,
        "metagraph/neurons_lite.netuid1.block6852690.decoded.json",
    );
    for (transport, chain) in both(&responder).await {
        let head = chain.head().await.unwrap();
        assert_eq!(
            (head.number, head.hash.to_string().as_str()),
            (6_852_690, HEAD),
            "{transport}"
        );
        assert_eq!(chain.finalized_head().await.unwrap(), head, "{transport}");
        assert_eq!(
            chain.genesis_hash().await.unwrap().to_string(),
            GENESIS,
            "{transport}"
        );
        let version = chain.runtime_version(Some(head.hash)).await.unwrap();
        assert_eq!(
            (
                version.spec_name.as_str(),
                version.spec_version,
                version.transaction_version
            ),
            ("node-subtensor", 343, 1)
        );
        let metadata = chain.metadata(Some(head.hash)).await.unwrap();
        assert_eq!(metadata.version, 15, "{transport}");
        let neurons = chain.neurons(1, head.hash).await.unwrap();
        assert_eq!(neurons.len(), 1024, "{transport}");
        for (neuron, expected) in neurons.iter().zip(sdk.as_array().unwrap()) {
            assert_eq!(neuron.hotkey, expected["hotkey"].as_str().unwrap());
            assert_eq!(neuron.stake_rao, expected["stake_rao"].as_u64().unwrap());
        }
    }
    // What went over the wire: the SCALE netuid as 0x-hex, pinned to the block.
    let calls = responder.seen_params("state_call");
    assert!(
        calls.contains(&json!([
            "NeuronInfoRuntimeApi_get_neurons_lite",
            "0x0100",
            HEAD
        ])),
        "{calls:?}"
    );
    assert!(
        calls.contains(&json!(["Metadata_metadata_at_version", "0x0f000000", HEAD])),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_metagraph_is_the_neurons_and_hyperparameters_of_one_block() {
    let dir = chain_dir_or_skip!();
    let responder = Responder::start().await;
    responder.load_recording(&dir);
    // No hyperparameter answer was recorded at spec 343: answer with the V2 type's zero
    // value, tempo 99 and commit-reveal on, encoded by the recorded metadata's types.
    let metadata = v15(&dir);
    let plan = subtensor::check_for_reads(&metadata).unwrap();
    let scale_info::TypeDef::Variant(option) = &metadata
        .types
        .resolve(plan.hyperparams_output_ty)
        .unwrap()
        .type_def
    else {
        panic!()
    };
    let params_ty = option
        .variants
        .iter()
        .find(|v| v.name == "Some")
        .unwrap()
        .fields[0]
        .ty
        .id;
    let mut params = support::default_value(&metadata.types, params_ty);
    params = support::with_field(params, "tempo", num(99));
    params = support::with_field(params, "commit_reveal_weights_enabled", Value::Bool(true));
    let mut bytes = Vec::new();
    support::encode_value(
        &metadata.types,
        plan.hyperparams_output_ty,
        &variant("Some", vec![params]),
        &mut bytes,
    );
    responder.answer(
        "state_call",
        json!([
            "SubnetInfoRuntimeApi_get_subnet_hyperparams_v2",
            "0100",
            HEAD
        ]),
        json!(hex0x(&bytes)),
    );
    for (transport, chain) in both(&responder).await {
        let graph = chain.metagraph(1).await.unwrap();
        assert_eq!(graph.netuid, 1);
        assert_eq!(graph.block.number, 6_852_690, "{transport}");
        assert_eq!(graph.neurons.len(), 1024);
        assert_eq!(graph.hyperparameters.tempo, 99);
        assert!(graph.hyperparameters.commit_reveal_weights_enabled);
        let validator = graph.neuron_by_hotkey(&graph.neurons[24].hotkey).unwrap();
        assert!(validator.validator_permit);
    }
}

#[tokio::test]
async fn metadata_falls_back_to_v14_when_the_node_offers_no_v15() {
    let dir = chain_dir_or_skip!();
    let responder = Responder::start().await;
    responder.rule(|method, params| {
        (method == "state_call" && params[0] == "Metadata_metadata_at_version").then(|| Answer::Error {
            code: -32000,
            message: "Client error: Execution failed: Other: Exported method Metadata_metadata_at_version is not found".into(),
            data: None,
        })
    });
    responder.load_recording(&dir);
    for (transport, chain) in both(&responder).await {
        let metadata = chain.metadata(None).await.unwrap();
        assert_eq!(metadata.version, 14, "{transport}");
    }
    assert_eq!(responder.seen_params("state_getMetadata").len(), 2);
}

#[tokio::test]
async fn an_rpc_error_keeps_its_code_and_message() {
    let responder = Responder::start().await;
    responder.answer_any(
        "chain_getBlockHash",
        Answer::Error {
            code: -32602,
            message: "Invalid params".into(),
            data: Some("expected a block number".into()),
        },
    );
    for (transport, chain) in both(&responder).await {
        match chain.block_hash(5).await.unwrap_err() {
            ChainError::Rpc(RpcError::Rpc {
                code,
                message,
                data,
                method,
                ..
            }) => {
                assert_eq!(
                    (code, message.as_str(), method.as_str()),
                    (-32602, "Invalid params", "chain_getBlockHash")
                );
                assert_eq!(
                    data.as_deref(),
                    Some("expected a block number"),
                    "{transport}"
                );
            }
            other => panic!("{transport}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_unreachable_node_is_named_as_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let ws = Subtensor::connect(
        &Endpoint::parse(&format!("ws://127.0.0.1:{port}")).unwrap(),
        RpcOptions::default(),
    )
    .await;
    let error = ws.unwrap_err();
    assert!(matches!(error, RpcError::Unreachable { .. }), "{error:?}");
    assert!(error.to_string().starts_with(&format!(
        "subtensor node ws://127.0.0.1:{port}/ is unreachable"
    )));
    let http = client(&format!("http://127.0.0.1:{port}")).await;
    let error = http.head().await.unwrap_err();
    assert!(
        matches!(error, ChainError::Rpc(RpcError::Unreachable { .. })),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_node_that_does_not_answer_times_out() {
    let responder = Responder::start().await;
    responder.answer_any("chain_getFinalizedHead", Answer::Silence);
    let options = RpcOptions {
        connect_timeout: Duration::from_secs(5),
        request_timeout: Duration::from_millis(300),
    };
    for url in [responder.http_url(), responder.ws_url()] {
        let chain = Subtensor::connect(&Endpoint::parse(&url).unwrap(), options)
            .await
            .unwrap();
        match chain.finalized_head().await.unwrap_err() {
            ChainError::Rpc(RpcError::Timeout {
                method, timeout_ms, ..
            }) => {
                assert_eq!(
                    (method.as_str(), timeout_ms),
                    ("chain_getFinalizedHead", 300)
                );
            }
            other => panic!("{url}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_answer_of_the_wrong_shape_is_undecodable() {
    let responder = Responder::start().await;
    responder.answer("chain_getBlockHash", json!([]), json!(42));
    for (transport, chain) in both(&responder).await {
        let error = chain.head().await.unwrap_err();
        assert!(
            matches!(&error, ChainError::Rpc(RpcError::Undecodable { method, .. }) if method == "chain_getBlockHash"),
            "{transport}: {error:?}"
        );
    }
}

/// The recording, plus what an extrinsic needs: nonce 7, the runtime at the next block,
/// and that block's header and events.
fn chain_for_extrinsics(dir: &std::path::Path, responder: &Responder, events: Vec<u8>) {
    responder.load_recording(dir);
    responder.answer_any("system_accountNextIndex", Answer::Result(json!(7)));
    let version = read_json(dir, "chain_facts.json")["runtime_version_rpc"]["result"].clone();
    responder.answer("state_getRuntimeVersion", json!([NEXT]), version);
    responder.answer(
        "chain_getHeader",
        json!([NEXT]),
        json!({"parentHash": HEAD, "number": "0x689053", "stateRoot": HEAD, "extrinsicsRoot": HEAD, "digest": {"logs": []}}),
    );
    let events_key = hex0x(&subtensor::storage::plain_key("System", "Events"));
    responder.answer(
        "state_getStorage",
        json!([events_key, NEXT]),
        json!(hex0x(&events)),
    );
}

fn signer(dir: &std::path::Path) -> protocol::Hotkey {
    protocol::wallet::load_hotkey(&dir.join("../vectors/wallets/pulse-test/hotkeys/default"))
        .unwrap()
}

fn fee_paid(metadata: &Metadata, index: u32, who: [u8; 32]) -> Value {
    event_record(
        metadata,
        index,
        "TransactionPayment",
        "TransactionFeePaid",
        vec![("who", Value::Bytes(who.to_vec()))],
    )
}

fn set_weights_call() -> WeightsCall {
    WeightsCall::SetMechanismWeights {
        netuid: 1,
        mecid: 0,
        dests: vec![0, 3, 7, 42],
        weights: vec![16384, 65535, 49151, 32768],
        version_key: 10_002_000,
    }
}

#[tokio::test]
async fn a_watched_extrinsic_reports_its_block_and_its_dispatch_error_by_name() {
    let dir = chain_dir_or_skip!();
    let metadata = v15(&dir);
    let hotkey = signer(&dir);
    let too_fast = support::error_index(&metadata, "SubtensorModule", "SettingWeightsTooFast");
    let failed = event_record(
        &metadata,
        1,
        "System",
        "ExtrinsicFailed",
        vec![(
            "dispatch_error",
            variant(
                "Module",
                vec![composite(vec![
                    ("index", num(7)),
                    ("error", Value::Bytes(vec![too_fast, 0, 0, 0])),
                ])],
            ),
        )],
    );
    // Another signer's extrinsic succeeds at index 2; Pulse's fails at index 1.
    let events = events_bytes(
        &metadata,
        vec![
            event_record(&metadata, 0, "System", "ExtrinsicSuccess", vec![]),
            fee_paid(&metadata, 1, hotkey.public_key()),
            failed,
            fee_paid(&metadata, 2, [9; 32]),
            event_record(&metadata, 2, "System", "ExtrinsicSuccess", vec![]),
        ],
    );
    let responder = Responder::start().await;
    responder.answer_any(
        "author_submitAndWatchExtrinsic",
        Answer::Subscription {
            notification: "author_extrinsicUpdate".into(),
            items: vec![
                json!("ready"),
                json!({"broadcast": ["12D3KooW"]}),
                json!({"inBlock": NEXT}),
            ],
        },
    );
    chain_for_extrinsics(&dir, &responder, events);
    let chain = client(&responder.ws_url()).await;
    let included = chain
        .sign_and_submit(&hotkey, &set_weights_call(), &TxOptions::default())
        .await
        .unwrap();
    assert_eq!(included.block.number, 6_852_691);
    assert_eq!(included.block.hash.to_string(), NEXT);
    assert_eq!(included.index, 1);
    assert!(!included.finalized);
    let failure = included.failure.unwrap();
    assert_eq!(failure.to_string(), "SubtensorModule.SettingWeightsTooFast");
    assert!(!failure.docs.is_empty());

    // The extrinsic the node received is the SDK's mortal vector but for the signature.
    let submitted = responder.seen_params("author_submitAndWatchExtrinsic");
    let bytes = unhex(submitted[0][0].as_str().unwrap());
    let vectors = read_json(&dir, "extrinsics.json");
    let sdk = &vectors["vectors"][0]["signed"][1];
    assert_eq!(sdk["era"], "mortal");
    let expected = unhex(sdk["extrinsic_hex"].as_str().unwrap());
    assert_eq!(bytes.len(), expected.len());
    assert_eq!(bytes[..37], expected[..37]);
    assert_eq!(bytes[101..], expected[101..]);
    assert_eq!(
        included.extrinsic_hash,
        H256(subtensor::extrinsic::blake2_256(&bytes))
    );
}

#[tokio::test]
async fn dropped_invalid_and_finalized_statuses_end_the_watch_as_they_say() {
    let dir = chain_dir_or_skip!();
    let metadata = v15(&dir);
    let hotkey = signer(&dir);
    let events = events_bytes(
        &metadata,
        vec![
            fee_paid(&metadata, 3, hotkey.public_key()),
            event_record(&metadata, 3, "System", "ExtrinsicSuccess", vec![]),
        ],
    );
    let statuses = Arc::new(AtomicUsize::new(0));
    let responder = Responder::start().await;
    let turn = statuses.clone();
    responder.rule(move |method, _| {
        (method == "author_submitAndWatchExtrinsic").then(|| {
            let items = match turn.fetch_add(1, Ordering::SeqCst) {
                0 => vec![json!("ready"), json!("dropped")],
                1 => vec![json!("future"), json!("invalid")],
                _ => vec![json!({"inBlock": NEXT}), json!({"finalized": NEXT})],
            };
            Answer::Subscription {
                notification: "author_extrinsicUpdate".into(),
                items,
            }
        })
    });
    chain_for_extrinsics(&dir, &responder, events);
    let chain = client(&responder.ws_url()).await;
    let options = TxOptions {
        wait_for: WaitFor::Finalized,
        ..TxOptions::default()
    };
    let call = set_weights_call();
    assert_eq!(
        chain
            .sign_and_submit(&hotkey, &call, &options)
            .await
            .unwrap_err(),
        SubmitError::Dropped
    );
    assert_eq!(
        chain
            .sign_and_submit(&hotkey, &call, &options)
            .await
            .unwrap_err(),
        SubmitError::Invalid
    );
    let included = chain
        .sign_and_submit(&hotkey, &call, &options)
        .await
        .unwrap();
    assert!(included.finalized);
    assert_eq!((included.index, included.failure), (3, None));
}

#[tokio::test]
async fn a_pool_rejection_is_reported_with_subtensors_error_name() {
    let dir = chain_dir_or_skip!();
    let responder = Responder::start().await;
    let rejection = Answer::Error {
        code: 1010,
        message: "Invalid Transaction".into(),
        data: Some("Custom error: 6".into()),
    };
    responder.answer_any("author_submitAndWatchExtrinsic", rejection.clone());
    responder.answer_any("author_submitExtrinsic", rejection);
    chain_for_extrinsics(&dir, &responder, Vec::new());
    for (transport, chain) in both(&responder).await {
        let error = chain
            .sign_and_submit(&signer(&dir), &set_weights_call(), &TxOptions::default())
            .await
            .unwrap_err();
        assert!(
            matches!(
                &error,
                SubmitError::Rejected {
                    code: 1010,
                    custom: Some("RateLimitExceeded"),
                    ..
                }
            ),
            "{transport}: {error:?}"
        );
    }
}

#[tokio::test]
async fn a_metadata_mismatch_refuses_to_sign_and_sends_nothing() {
    let dir = chain_dir_or_skip!();
    let responder = Responder::start().await;
    // A runtime whose metadata is the V14 recording with SubtensorModule renamed away.
    let mut v14 = read(&dir, "metadata_v14.scale");
    while let Some(at) = v14.windows(15).position(|w| w == b"SubtensorModule") {
        v14[at..at + 15].copy_from_slice(b"SubtensorModulf");
    }
    responder.rule(|method, params| {
        (method == "state_call" && params[0] == "Metadata_metadata_at_version")
            .then(|| Answer::Result(json!("0x00")))
    });
    responder.answer_any("state_getMetadata", Answer::Result(json!(hex0x(&v14))));
    chain_for_extrinsics(&dir, &responder, Vec::new());
    let chain = client(&responder.ws_url()).await;
    let error = chain
        .sign_and_submit(&signer(&dir), &set_weights_call(), &TxOptions::default())
        .await
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "metadata mismatch: the runtime has no SubtensorModule pallet; refusing to sign"
    );
    assert!(
        responder
            .seen_params("author_submitAndWatchExtrinsic")
            .is_empty()
    );
    assert!(responder.seen_params("system_accountNextIndex").is_empty());
}

#[tokio::test]
async fn over_http_the_extrinsic_is_found_where_the_signers_nonce_moves() {
    let dir = chain_dir_or_skip!();
    let metadata = v15(&dir);
    let hotkey = signer(&dir);
    let events = events_bytes(
        &metadata,
        vec![
            fee_paid(&metadata, 1, hotkey.public_key()),
            event_record(&metadata, 1, "System", "ExtrinsicSuccess", vec![]),
        ],
    );
    let responder = Responder::start().await;
    // The head is the recorded block when the extrinsic is built, the next block after.
    let heads = Arc::new(AtomicUsize::new(0));
    let counter = heads.clone();
    responder.rule(move |method, params| {
        (method == "chain_getBlockHash" && params == &json!([])).then(|| {
            let head = if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                HEAD
            } else {
                NEXT
            };
            Answer::Result(json!(head))
        })
    });
    responder.answer("chain_getBlockHash", json!([6_852_691]), json!(NEXT));
    responder.answer_any("author_submitExtrinsic", Answer::Result(json!(NEXT)));
    // System.Account of the signer at the next block: nonce 8.
    let account = metadata.storage_entry("System", "Account").unwrap();
    let info = support::with_field(
        support::default_value(&metadata.types, account.value_ty),
        "nonce",
        num(8),
    );
    let mut info_bytes = Vec::new();
    support::encode_value(&metadata.types, account.value_ty, &info, &mut info_bytes);
    let key = subtensor::storage::map_key(
        "System",
        "Account",
        subtensor::metadata::StorageHasher::Blake2_128Concat,
        &hotkey.public_key(),
    );
    responder.answer(
        "state_getStorage",
        json!([hex0x(&key), NEXT]),
        json!(hex0x(&info_bytes)),
    );
    chain_for_extrinsics(&dir, &responder, events);
    let chain = client(&responder.http_url()).await;
    let options = TxOptions {
        poll_interval: Duration::from_millis(10),
        ..TxOptions::default()
    };
    let included = chain
        .sign_and_submit(&hotkey, &set_weights_call(), &options)
        .await
        .unwrap();
    assert_eq!(included.block.number, 6_852_691);
    assert_eq!((included.index, included.failure), (1, None));
    assert_eq!(responder.seen_params("author_submitExtrinsic").len(), 1);
}

#[tokio::test]
async fn a_head_subscription_yields_the_announced_block_numbers() {
    let responder = Responder::start().await;
    let header = |number: &str| json!({"parentHash": HEAD, "number": number, "stateRoot": HEAD, "extrinsicsRoot": HEAD, "digest": {"logs": []}});
    responder.answer_any(
        "chain_subscribeNewHeads",
        Answer::Subscription {
            notification: "chain_newHead".into(),
            items: vec![header("0x689052"), header("0x689053")],
        },
    );
    let chain = client(&responder.ws_url()).await;
    let mut heads = chain.subscribe_heads(false).await.unwrap();
    assert_eq!(heads.next().await.unwrap(), 6_852_690);
    assert_eq!(heads.next().await.unwrap(), 6_852_691);
    let http = client(&responder.http_url()).await;
    let error = http.subscribe_heads(false).await.unwrap_err();
    assert!(
        matches!(error, ChainError::Rpc(RpcError::NeedsWebSocket { .. })),
        "{error:?}"
    );
}

#[test]
fn recorded_answers_are_the_ones_the_responder_serves() {
    let dir = chain_dir_or_skip!();
    let rows = support::recorded_rows(&dir);
    let genesis = rows.get("chain_getBlockHash [0]").unwrap();
    assert_eq!(genesis["result"], Json::from(GENESIS));
    assert_eq!(genesis["recorded"], false);
    assert!(rows.contains_key(&format!("chain_getHeader [\"{HEAD}\"]")));
}
