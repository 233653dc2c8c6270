//! The admin API changes the metagraph the runtime API serves, and reads back what the
//! chain recorded.

use chain::Config;
use chain::config::Secret;
use chain::metadata::storage_key;
use chain::scale::{AccountId, to_hex};
use parity_scale_codec::{Decode, Encode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{TestChain, account, key};

fn subnet_config(max_allowed_uids: u16) -> Config {
    Config {
        state: serde_json::from_value(json!({"subnets": [{
            "netuid": 1,
            "max_allowed_uids": max_allowed_uids,
            "hyperparameters": {"immunity_period": 0},
            "neurons": [
                {"hotkey": account(&key(1)), "stake": 100, "validator_permit": true, "pruning_score": 50},
                {"hotkey": account(&key(2)), "pruning_score": 10},
            ]
        }]}))
        .unwrap(),
        ..Config::manual()
    }
}

/// The hotkeys `get_neurons_lite` serves for netuid 1, in uid order.
async fn served_hotkeys(double: &TestChain) -> Vec<AccountId> {
    let bytes = double
        .state_call("NeuronInfoRuntimeApi_get_neurons_lite", &1u16.encode())
        .await;
    // Each NeuronInfoLite opens with its hotkey; walking the list needs the full layout, so
    // read the count and ask one neuron at a time instead.
    let count = parity_scale_codec::Compact::<u32>::decode(&mut &bytes[..])
        .unwrap()
        .0;
    let mut hotkeys = Vec::new();
    for uid in 0..count as u16 {
        let one = double
            .state_call(
                "NeuronInfoRuntimeApi_get_neuron_lite",
                &(1u16, uid).encode(),
            )
            .await;
        hotkeys.push(AccountId(one[1..33].try_into().unwrap()));
    }
    hotkeys
}

async fn uid_storage(double: &TestChain, hotkey: &AccountId) -> Value {
    let key = storage_key("SubtensorModule", "Uids", &[&1u16.encode(), &hotkey.0]).unwrap();
    double.rpc("state_getStorage", json!([to_hex(&key)])).await
}

#[tokio::test]
async fn registering_appends_a_uid_that_the_runtime_api_serves_at_once() {
    let double = TestChain::spawn(subnet_config(8)).await;
    double.blocks(3).await;
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/neurons",
            json!({"hotkey": account(&key(3)), "stake": 7}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["uid"], 2);
    assert_eq!(body["replaced"], Value::Null);
    assert_eq!(body["neuron"]["block_at_registration"], 3);
    assert_eq!(body["neuron"]["last_update"], 3);
    assert_eq!(
        served_hotkeys(&double).await,
        vec![account(&key(1)), account(&key(2)), account(&key(3))]
    );
    assert_eq!(
        uid_storage(&double, &account(&key(3))).await,
        json!(to_hex(2u16.encode()))
    );
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/neurons",
            json!({"hotkey": account(&key(3))}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
}

#[tokio::test]
async fn registering_into_a_full_subnet_replaces_the_lowest_pruning_score() {
    let double = TestChain::spawn(subnet_config(2)).await;
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/neurons",
            json!({"hotkey": account(&key(3))}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["uid"], 1);
    assert_eq!(body["replaced"], json!(account(&key(2))));
    assert_eq!(
        served_hotkeys(&double).await,
        vec![account(&key(1)), account(&key(3))]
    );
    assert_eq!(uid_storage(&double, &account(&key(2))).await, Value::Null);
}

#[tokio::test]
async fn deregistering_gives_the_uid_to_a_replacement_and_the_old_hotkey_loses_it() {
    let double = TestChain::spawn(subnet_config(8)).await;
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/deregister",
            json!({"hotkey": account(&key(1)), "replacement": {"hotkey": account(&key(5))}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["uid"], 0);
    assert_eq!(
        served_hotkeys(&double).await,
        vec![account(&key(5)), account(&key(2))]
    );
    assert_eq!(uid_storage(&double, &account(&key(1))).await, Value::Null);
    let (status, _) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/deregister",
            json!({"hotkey": account(&key(1))}),
        )
        .await;
    assert_eq!(status, 404);
    // Without a replacement the uid goes to a fresh hotkey.
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets/1/deregister",
            json!({"hotkey": account(&key(2))}),
        )
        .await;
    assert_eq!(status, 200);
    assert_ne!(body["replacement"], json!(account(&key(2))));
    assert_eq!(served_hotkeys(&double).await.len(), 2);
}

#[tokio::test]
async fn permit_and_stake_changes_show_in_the_neurons_the_runtime_api_serves() {
    let double = TestChain::spawn(subnet_config(8)).await;
    let (status, body) = double
        .admin(
            Method::PATCH,
            &format!("/admin/subnets/1/neurons/{}", account(&key(2))),
            json!({"validator_permit": true, "stake": 123_456}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["validator_permit"], true);
    assert_eq!(body["total_stake"], 123_456);
    let one = double
        .state_call(
            "NeuronInfoRuntimeApi_get_neuron_lite",
            &(1u16, 1u16).encode(),
        )
        .await;
    // The stake list (one entry: coldkey, Compact rao) sits after the fixed axon and
    // prometheus fields; its rao is there as a compact integer.
    let rao = parity_scale_codec::Compact(123_456u64).encode();
    assert!(one.windows(rao.len()).any(|w| w == rao.as_slice()));
    let neuron = double.admin_get("/admin/subnets/1/neurons/1").await;
    assert_eq!(neuron["hotkey"], json!(account(&key(2))));
    assert_eq!(neuron["validator_permit"], true);
}

#[tokio::test]
async fn subnets_and_hyperparameters_change_through_the_admin_api() {
    let double = TestChain::spawn(Config::manual()).await;
    let (status, body) = double
        .admin(
            Method::POST,
            "/admin/subnets",
            json!({"netuid": 12, "hyperparameters": {"tempo": 20}}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["hyperparameters"]["tempo"], 20);
    let (status, body) = double
        .admin(
            Method::PATCH,
            "/admin/subnets/12",
            json!({"hyperparameters": {"commit_reveal_weights_enabled": false, "weights_version": 9}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["hyperparameters"]["tempo"], 20);
    assert_eq!(body["hyperparameters"]["weights_version"], 9);
    let key = storage_key("SubtensorModule", "WeightsVersionKey", &[&12u16.encode()]).unwrap();
    let served = double.rpc("state_getStorage", json!([to_hex(&key)])).await;
    assert_eq!(served, json!(to_hex(9u64.encode())));
    let (status, body) = double
        .admin(
            Method::PATCH,
            "/admin/subnets/12",
            json!({"hyperparameters": {"tempoo": 1}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"].as_str().unwrap().contains("tempoo"));
    let (status, _) = double
        .admin(Method::GET, "/admin/subnets/13", json!({}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn account_nonces_set_through_the_admin_api_are_what_the_pool_checks() {
    let double = TestChain::spawn(subnet_config(8)).await;
    let who = account(&key(1));
    let (status, body) = double
        .admin(
            Method::PUT,
            &format!("/admin/accounts/{who}"),
            json!({"nonce": 7, "free": 1_000_000_000}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        double
            .rpc("system_accountNextIndex", json!([who.ss58()]))
            .await,
        7
    );
    let nonce = double
        .state_call("AccountNonceApi_account_nonce", &who.0.encode())
        .await;
    assert_eq!(nonce, 7u32.encode());
}

#[tokio::test]
async fn with_an_admin_token_the_admin_api_wants_it() {
    let config = Config {
        admin_token: Some(Secret::new("s3cret")),
        ..Config::manual()
    };
    let double = TestChain::spawn(config).await;
    let response = double
        .client
        .get(format!("{}/admin/chain", double.http))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = double
        .client
        .get(format!("{}/admin/chain", double.http))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // JSON-RPC stays open, as a node's is.
    assert_eq!(double.rpc("system_name", json!([])).await, "pulse-chain");
}
