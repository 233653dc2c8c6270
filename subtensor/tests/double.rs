//! The client against `pulse-chain` running in-process: extrinsics signed by the client are
//! decoded, verified and dispatched by the double, and the client reads the outcome back by
//! the block's events. Both sides are pinned separately by the SDK's bytes in
//! `shared/chain/` (`sdk_vectors.rs` here, `vectors.rs` in the chain crate); this test holds
//! them against each other over the wire, WebSocket and HTTP.

use std::time::Duration;

use chain::scale::AccountId;
use chain::{Chain, Config, Hyperparameters};
use serde_json::json;
use subtensor::{Endpoint, RpcOptions, SubmitError, Subtensor, TxOptions, WeightsCall};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn key(seed: u8) -> protocol::Hotkey {
    protocol::Hotkey::from_seed([seed; 32])
}

/// A double whose blocks come when a transaction waits in the pool (and on request), so each
/// submission lands in the next block and block numbers are known to the test.
struct Double {
    chain: Chain,
    url: String,
    _stop: oneshot::Sender<()>,
}

async fn double(params: Hyperparameters) -> Double {
    let config = Config {
        state: serde_json::from_value(json!({
            "stake_threshold": 1000,
            "subnets": [{"netuid": 1, "hyperparameters": params, "neurons": [
                {"hotkey": AccountId(key(1).public_key()), "stake": 5000, "validator_permit": true},
                {"hotkey": AccountId(key(2).public_key()), "stake": 5000},
                {"hotkey": AccountId(key(3).public_key())},
            ]}]
        }))
        .unwrap(),
        ..Config::manual()
    };
    let chain = Chain::new(config).unwrap();
    chain.produce_blocks(1);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(chain::serve(listener, chain.clone(), async {
        stopped.await.ok();
    }));
    let sealer = chain.clone();
    tokio::spawn(async move {
        loop {
            if !sealer.pool().is_empty() {
                sealer.produce_blocks(1);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    Double {
        chain,
        url,
        _stop: stop,
    }
}

fn params() -> Hyperparameters {
    Hyperparameters {
        tempo: 9,
        weights_rate_limit: 5,
        weights_version: 5,
        commit_reveal_weights_enabled: false,
        min_allowed_weights: 2,
        ..Hyperparameters::default()
    }
}

async fn client(url: &str) -> Subtensor {
    Subtensor::connect(&Endpoint::parse(url).unwrap(), RpcOptions::default())
        .await
        .unwrap()
}

fn options() -> TxOptions {
    TxOptions {
        watch_timeout: Duration::from_secs(20),
        poll_interval: Duration::from_millis(20),
        ..TxOptions::default()
    }
}

fn set(version_key: u64) -> WeightsCall {
    WeightsCall::SetMechanismWeights {
        netuid: 1,
        mecid: 0,
        dests: vec![1, 2],
        weights: vec![65535, 32768],
        version_key,
    }
}

#[tokio::test]
async fn weights_land_and_each_refusal_is_named_over_websocket_and_http() {
    for transport in ["ws", "http"] {
        let double = double(params()).await;
        let url = double.url.replacen("ws", transport, 1);
        let subtensor = client(&url).await;
        let hotkey = key(1);
        let head = subtensor.head().await.unwrap();
        let runtime = subtensor.runtime_at(head.hash).await.unwrap();
        assert!(
            runtime.signing.is_ok(),
            "{transport}: the double's runtime passes the signing check: {:?}",
            runtime.signing
        );

        // A wrong version key is included and fails by name; the nonce still moves.
        let included = subtensor
            .sign_and_submit(&hotkey, &set(4), &options())
            .await
            .unwrap();
        let failure = included.failure.expect("a version key under 5 fails");
        assert_eq!(
            failure.to_string(),
            "SubtensorModule.IncorrectWeightVersionKey",
            "{transport}"
        );
        assert_eq!(
            subtensor
                .account_nonce_at(&hotkey.public_key(), included.block.hash)
                .await
                .unwrap(),
            1,
            "{transport}: System.Account's nonce after one extrinsic"
        );

        // set_mechanism_weights with the right key lands in the next block.
        let landed = subtensor
            .sign_and_submit(&hotkey, &set(5), &options())
            .await
            .unwrap();
        assert_eq!(landed.failure, None, "{transport}");
        assert_eq!(landed.block.number, included.block.number + 1);
        let on_chain = double.chain.included();
        let last = on_chain.last().unwrap();
        assert_eq!(last.hash.0, landed.extrinsic_hash.0, "{transport}");
        assert_eq!(last.nonce, 1);
        // The fee event is how the client found its extrinsic: the double wrote it at the
        // index the client reports.
        assert_eq!(last.index, landed.index);
        assert!(
            last.events
                .iter()
                .any(|event| format!("{event:?}").contains("TransactionFeePaid")),
            "{:?}",
            last.events
        );
        let neurons = subtensor.neurons(1, landed.block.hash).await.unwrap();
        assert_eq!(neurons[0].last_update, landed.block.number);

        // Inside the rate limit: SettingWeightsTooFast, with the legacy call too.
        let legacy = WeightsCall::SetWeights {
            netuid: 1,
            dests: vec![1, 2],
            weights: vec![65535, 32768],
            version_key: 5,
        };
        let too_fast = subtensor
            .sign_and_submit(&hotkey, &legacy, &options())
            .await
            .unwrap();
        assert_eq!(
            too_fast.failure.unwrap().to_string(),
            "SubtensorModule.SettingWeightsTooFast",
            "{transport}"
        );

        // After the rate limit the legacy call lands too.
        double.chain.produce_blocks(5);
        let legacy_landed = subtensor
            .sign_and_submit(&hotkey, &legacy, &options())
            .await
            .unwrap();
        assert_eq!(legacy_landed.failure, None, "{transport}");
        assert_eq!(
            subtensor
                .account_nonce_at(&hotkey.public_key(), legacy_landed.block.hash)
                .await
                .unwrap(),
            4
        );
    }
}

#[tokio::test]
async fn a_pool_refusal_is_named_and_nothing_is_included() {
    let double = double(params()).await;
    let subtensor = client(&double.url).await;
    // A legacy call from a hotkey under the stake threshold: the transaction extension
    // refuses it in the pool with subtensor's custom code.
    let error = subtensor
        .sign_and_submit(&key(3), &set_legacy(), &options())
        .await
        .unwrap_err();
    match &error {
        SubmitError::Rejected { code, custom, .. } => {
            assert_eq!(*code, 1010);
            assert_eq!(*custom, Some("StakeAmountTooLow"), "{error}");
        }
        other => panic!("expected a pool rejection, got {other}"),
    }
    assert!(double.chain.included().is_empty());
}

fn set_legacy() -> WeightsCall {
    WeightsCall::SetWeights {
        netuid: 1,
        dests: vec![1, 2],
        weights: vec![65535, 32768],
        version_key: 5,
    }
}

#[tokio::test]
async fn commit_then_reveal_through_the_double() {
    let double = double(Hyperparameters {
        commit_reveal_weights_enabled: true,
        commit_reveal_period: 1,
        ..params()
    })
    .await;
    let subtensor = client(&double.url).await;
    let hotkey = key(1);
    let (uids, values, salt) = (vec![1u16, 2], vec![65535u16, 32768], vec![7u16; 8]);
    let hash = subtensor::weights::commit_hash(&hotkey.public_key(), 1, &uids, &values, &salt, 5);
    let committed = subtensor
        .sign_and_submit(
            &hotkey,
            &WeightsCall::CommitMechanismWeights {
                netuid: 1,
                mecid: 0,
                commit_hash: hash,
            },
            &options(),
        )
        .await
        .unwrap();
    assert_eq!(committed.failure, None);
    let reveal = WeightsCall::RevealMechanismWeights {
        netuid: 1,
        mecid: 0,
        uids: uids.clone(),
        values: values.clone(),
        salt: salt.clone(),
        version_key: 5,
    };
    // Too early: named.
    let early = subtensor
        .sign_and_submit(&hotkey, &reveal, &options())
        .await
        .unwrap();
    assert_eq!(
        early.failure.unwrap().to_string(),
        "SubtensorModule.RevealTooEarly"
    );
    // In the next epoch (tempo 9, netuid 1: epochs start where (block + 2) % 10 == 0).
    let next_epoch = (committed.block.number + 2) / 10 * 10 + 10 - 2;
    let best = u64::from(double.chain.best_header().number);
    double
        .chain
        .produce_blocks(u32::try_from(next_epoch - best - 1).unwrap());
    let revealed = subtensor
        .sign_and_submit(&hotkey, &reveal, &options())
        .await
        .unwrap();
    assert_eq!(revealed.failure, None);
    assert_eq!(revealed.block.number, next_epoch);
}
