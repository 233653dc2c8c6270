//! The chain's rules for the weights calls, driven through the pool and block production as
//! a submitted extrinsic travels: each refusal is the error the runtime reports.

use chain::chain::Included;
use chain::extrinsic::{Era, Extra, MetadataHashMode};
use chain::scale::H256;
use chain::weights::{Action, WeightsCall, commit_hash};
use chain::{Chain, Config, Hyperparameters};
use serde_json::json;

use crate::helpers::{account, key};

/// Netuid 1 with tempo 9 (epochs of 10 blocks), rate limit 5, version key 5; uid 0 is a
/// validator (seed 1), uids 1 and 2 are miners (seeds 2 and 3), uid 3 a validator with too
/// little stake (seed 4). The stake threshold is 1000 rao.
fn chain(commit_reveal: bool) -> Chain {
    let params = Hyperparameters {
        tempo: 9,
        weights_rate_limit: 5,
        weights_version: 5,
        commit_reveal_weights_enabled: commit_reveal,
        commit_reveal_period: 1,
        min_allowed_weights: 2,
        ..Hyperparameters::default()
    };
    let config = Config {
        state: serde_json::from_value(json!({
            "stake_threshold": 1000,
            "subnets": [{"netuid": 1, "hyperparameters": params, "neurons": [
                {"hotkey": account(&key(1)), "stake": 5000, "validator_permit": true},
                {"hotkey": account(&key(2)), "stake": 5000},
                {"hotkey": account(&key(3))},
                {"hotkey": account(&key(4)), "stake": 10, "validator_permit": true},
            ]}]
        }))
        .unwrap(),
        ..Config::manual()
    };
    Chain::new(config).unwrap()
}

fn sign(chain: &Chain, signer: &protocol::Hotkey, call: &WeightsCall) -> Vec<u8> {
    let runtime = chain.runtime_version(None).unwrap();
    let extra = Extra {
        era: Era::Immortal,
        nonce: chain.account_next_index(&account(signer)),
        tip: 0,
        mode: MetadataHashMode::Disabled,
    };
    let additional = chain::extrinsic::Additional {
        spec_version: runtime.spec_version,
        transaction_version: runtime.transaction_version,
        genesis_hash: chain.genesis_hash(),
        checkpoint: chain.genesis_hash(),
        metadata_hash: None,
    };
    chain::extrinsic::sign(signer, &call.encode(), extra, &additional)
}

/// Submits `call` signed by `signer` and makes a block; what the block recorded for it.
fn apply(chain: &Chain, signer: &protocol::Hotkey, call: &WeightsCall) -> Included {
    let hash = chain
        .submit(sign(chain, signer, call), None)
        .unwrap_or_else(|err| panic!("{} refused: {err:?}", call.name));
    chain.produce_blocks(1);
    chain
        .included()
        .into_iter()
        .find(|i| i.hash == hash)
        .expect("the extrinsic was included")
}

fn error(chain: &Chain, signer: &protocol::Hotkey, call: &WeightsCall) -> Option<String> {
    apply(chain, signer, call).error
}

fn set(name: &str, dests: Vec<u16>, weights: Vec<u16>, version_key: u64) -> WeightsCall {
    WeightsCall {
        name: name.to_owned(),
        netuid: 1,
        mecid: 0,
        action: Action::Set {
            dests,
            weights,
            version_key,
        },
    }
}

fn set_mech(dests: Vec<u16>, weights: Vec<u16>) -> WeightsCall {
    set("set_mechanism_weights", dests, weights, 5)
}

fn commit(hash: H256) -> WeightsCall {
    WeightsCall {
        name: "commit_mechanism_weights".to_owned(),
        netuid: 1,
        mecid: 0,
        action: Action::Commit { commit_hash: hash },
    }
}

fn reveal(uids: Vec<u16>, values: Vec<u16>, salt: Vec<u16>) -> WeightsCall {
    WeightsCall {
        name: "reveal_mechanism_weights".to_owned(),
        netuid: 1,
        mecid: 0,
        action: Action::Reveal {
            uids,
            values,
            salt,
            version_key: 5,
        },
    }
}

fn hash_for(signer: &protocol::Hotkey, uids: &[u16], values: &[u16], salt: &[u16]) -> H256 {
    commit_hash(&account(signer), 1, uids, values, salt, 5)
}

fn last_update(chain: &Chain, uid: usize) -> u64 {
    chain
        .with_state(None, |s, _, _| s.subnets[&1].mechanisms[0].last_update[uid])
        .unwrap()
}

#[test]
fn weights_are_recorded_and_last_update_moves() {
    let chain = chain(false);
    let included = apply(&chain, &key(1), &set_mech(vec![1, 2], vec![1, 1]));
    assert_eq!(included.error, None);
    assert_eq!(last_update(&chain, 0), 1);
    let weights = chain
        .with_state(None, |s, _, _| {
            s.subnets[&1].mechanisms[0].weights[&0].clone()
        })
        .unwrap();
    assert_eq!(weights.weights, vec![(1, 65535), (2, 65535)]);
    assert_eq!(weights.block, 1);
}

#[test]
fn a_second_setting_inside_the_rate_limit_is_setting_weights_too_fast() {
    let chain = chain(false);
    assert_eq!(
        error(&chain, &key(1), &set_mech(vec![1, 2], vec![1, 1])),
        None
    );
    chain.produce_blocks(3);
    // Block 5 is four blocks after block 1: under the limit of five.
    assert_eq!(
        error(&chain, &key(1), &set_mech(vec![1, 2], vec![1, 2])).as_deref(),
        Some("SettingWeightsTooFast")
    );
    // Block 6 is five blocks after: allowed.
    assert_eq!(
        error(&chain, &key(1), &set_mech(vec![1, 2], vec![1, 2])),
        None
    );
}

#[test]
fn each_set_weights_rule_fails_with_the_runtimes_error() {
    let chain = chain(false);
    let cases: Vec<(protocol::Hotkey, WeightsCall, &str)> = vec![
        (
            key(1),
            set_mech(vec![1, 2], vec![1]),
            "WeightVecNotEqualSize",
        ),
        (
            key(1),
            set_mech(vec![0, 1, 2, 3, 3], vec![1; 5]),
            "UidsLengthExceedUidsInSubNet",
        ),
        (
            key(9),
            set_mech(vec![1, 2], vec![1, 1]),
            "HotKeyNotRegisteredInSubNet",
        ),
        (
            key(4),
            set_mech(vec![1, 2], vec![1, 1]),
            "NotEnoughStakeToSetWeights",
        ),
        (
            key(1),
            set("set_mechanism_weights", vec![1, 2], vec![1, 1], 4),
            "IncorrectWeightVersionKey",
        ),
        (
            key(2),
            set_mech(vec![0, 2], vec![1, 1]),
            "NeuronNoValidatorPermit",
        ),
        (key(1), set_mech(vec![1, 1], vec![1, 1]), "DuplicateUids"),
        (
            key(1),
            set_mech(vec![1, 9], vec![1, 1]),
            "UidVecContainInvalidOne",
        ),
        (key(1), set_mech(vec![1], vec![1]), "WeightVecLengthIsLow"),
        (
            key(1),
            WeightsCall {
                mecid: 1,
                ..set_mech(vec![1, 2], vec![1, 1])
            },
            "MechanismDoesNotExist",
        ),
        (
            key(1),
            WeightsCall {
                netuid: 0,
                ..set_mech(vec![1, 2], vec![1, 1])
            },
            "CommitRevealEnabled",
        ),
    ];
    for (signer, call, expected) in cases {
        assert_eq!(
            error(&chain, &signer, &call).as_deref(),
            Some(expected),
            "{call:?}"
        );
    }
}

#[test]
fn a_self_weight_needs_no_permit_and_escapes_the_minimum() {
    let chain = chain(false);
    assert_eq!(error(&chain, &key(2), &set_mech(vec![1], vec![7])), None);
}

#[test]
fn the_max_weight_limit_refuses_a_concentrated_weight() {
    let chain = chain(false);
    chain.change_state(|s| {
        s.subnet_mut(1).unwrap().hyperparameters.max_weights_limit = 40_000;
    });
    assert_eq!(
        error(&chain, &key(1), &set_mech(vec![1, 2], vec![9, 1])).as_deref(),
        Some("MaxWeightExceeded")
    );
    assert_eq!(
        error(&chain, &key(1), &set_mech(vec![1, 2], vec![1, 1])),
        None
    );
}

#[test]
fn legacy_set_weights_below_the_stake_threshold_is_refused_by_the_pool() {
    let chain = chain(false);
    let call = set("set_weights", vec![1, 2], vec![1, 1], 5);
    let err = chain
        .submit(sign(&chain, &key(4), &call), None)
        .unwrap_err();
    assert_eq!(err.code, 1010);
    assert_eq!(err.data, Some(json!("Custom error: 1")));
}

#[test]
fn set_weights_is_refused_while_commit_reveal_is_on() {
    let chain = chain(true);
    for name in ["set_weights", "set_mechanism_weights"] {
        assert_eq!(
            error(&chain, &key(1), &set(name, vec![1, 2], vec![1, 1], 5)).as_deref(),
            Some("CommitRevealEnabled")
        );
    }
}

#[test]
fn commit_then_reveal_in_the_next_epoch_sets_the_weights() {
    let chain = chain(true);
    let (uids, values, salt) = (vec![1, 2], vec![10, 30], vec![7, 7, 7]);
    let hash = hash_for(&key(1), &uids, &values, &salt);
    // Block 1 is in epoch (1 + 2) / 10 = 0; the reveal epoch 1 is blocks 8..=17.
    let included = apply(&chain, &key(1), &commit(hash));
    assert_eq!(included.error, None);
    assert_eq!(last_update(&chain, 0), 1);
    assert_eq!(
        error(
            &chain,
            &key(1),
            &reveal(uids.clone(), values.clone(), salt.clone())
        )
        .as_deref(),
        Some("RevealTooEarly")
    );
    chain.produce_blocks(5);
    let revealed = apply(&chain, &key(1), &reveal(uids, values, salt));
    assert_eq!(revealed.block_number, 8);
    assert_eq!(revealed.error, None);
    let names: Vec<&str> = revealed.events.iter().map(|e| e.names().1).collect();
    assert_eq!(
        names,
        vec![
            "WeightsSet",
            "WeightsRevealed",
            "TransactionFeePaid",
            "ExtrinsicSuccess"
        ]
    );
    let stored = chain
        .with_state(None, |s, _, _| {
            let mechanism = &s.subnets[&1].mechanisms[0];
            (
                mechanism.weights[&0].weights.clone(),
                mechanism.commits.len(),
                mechanism.reveals.len(),
            )
        })
        .unwrap();
    assert_eq!(stored, (vec![(1, 21845), (2, 65535)], 0, 1));
    // A reveal does not move LastUpdate: the commit did.
    assert_eq!(last_update(&chain, 0), 1);
}

#[test]
fn a_reveal_that_does_not_match_or_comes_too_late_names_why() {
    let chain = chain(true);
    let (uids, values, salt) = (vec![1, 2], vec![10, 30], vec![7]);
    apply(
        &chain,
        &key(1),
        &commit(hash_for(&key(1), &uids, &values, &salt)),
    );
    chain.produce_blocks(6);
    assert_eq!(
        error(
            &chain,
            &key(1),
            &reveal(uids.clone(), values.clone(), vec![8])
        )
        .as_deref(),
        Some("InvalidRevealCommitHashNotMatch")
    );
    // Epoch 2 starts at block 18: the commit of epoch 0 has expired.
    chain.produce_blocks(10);
    assert_eq!(
        error(&chain, &key(1), &reveal(uids, values, salt)).as_deref(),
        Some("ExpiredWeightCommit")
    );
    assert_eq!(
        error(&chain, &key(2), &reveal(vec![1], vec![1], vec![1])).as_deref(),
        Some("NoWeightsCommitFound")
    );
}

#[test]
fn commits_inside_the_rate_limit_are_committing_weights_too_fast() {
    let chain = chain(true);
    assert_eq!(error(&chain, &key(1), &commit(H256([1; 32]))), None);
    assert_eq!(
        error(&chain, &key(1), &commit(H256([2; 32]))).as_deref(),
        Some("CommittingWeightsTooFast")
    );
}

#[test]
fn commits_are_refused_while_commit_reveal_is_off() {
    let chain = chain(false);
    assert_eq!(
        error(&chain, &key(1), &commit(H256([1; 32]))).as_deref(),
        Some("CommitRevealDisabled")
    );
}

#[test]
fn a_legacy_reveal_without_a_commit_is_refused_by_the_pool() {
    let chain = chain(true);
    let call = WeightsCall {
        name: "reveal_weights".to_owned(),
        ..reveal(vec![1, 2], vec![1, 1], vec![1])
    };
    let err = chain
        .submit(sign(&chain, &key(1), &call), None)
        .unwrap_err();
    assert_eq!(err.data, Some(json!("Custom error: 16")));
}

#[test]
fn a_legacy_reveal_before_its_epoch_is_refused_by_the_pool() {
    let chain = chain(true);
    let (uids, values, salt) = (vec![1, 2], vec![1, 1], vec![1]);
    let call = WeightsCall {
        name: "commit_weights".to_owned(),
        ..commit(hash_for(&key(1), &uids, &values, &salt))
    };
    assert_eq!(error(&chain, &key(1), &call), None);
    let reveal = WeightsCall {
        name: "reveal_weights".to_owned(),
        ..reveal(uids, values, salt)
    };
    let err = chain
        .submit(sign(&chain, &key(1), &reveal), None)
        .unwrap_err();
    assert_eq!(err.data, Some(json!("Custom error: 17")));
    chain.produce_blocks(6);
    chain.submit(sign(&chain, &key(1), &reveal), None).unwrap();
}

#[test]
fn timelocked_commits_are_recorded_with_their_round_and_a_wrong_version_is_named() {
    let chain = chain(true);
    let timelocked = |version| WeightsCall {
        name: "commit_timelocked_mechanism_weights".to_owned(),
        netuid: 1,
        mecid: 0,
        action: Action::CommitTimelocked {
            commit: vec![0xab; 64],
            reveal_round: 1000,
            commit_reveal_version: version,
        },
    };
    assert_eq!(
        error(&chain, &key(1), &timelocked(3)).as_deref(),
        Some("IncorrectCommitRevealVersion")
    );
    assert_eq!(error(&chain, &key(1), &timelocked(4)), None);
    let stored = chain
        .with_state(None, |s, _, _| {
            let timelocked = &s.subnets[&1].mechanisms[0].timelocked;
            timelocked
                .values()
                .flatten()
                .map(|c| c.reveal_round)
                .collect::<Vec<_>>()
        })
        .unwrap();
    assert_eq!(stored, vec![1000]);
}

#[test]
fn a_failed_dispatch_changes_nothing_but_the_nonce() {
    let chain = chain(true);
    let (uids, values, salt) = (vec![1, 2], vec![10, 30], vec![7]);
    apply(
        &chain,
        &key(1),
        &commit(hash_for(&key(1), &uids, &values, &salt)),
    );
    chain.produce_blocks(6);
    // The reveal matches its commit, but the validator lost its permit: set_weights fails
    // inside the reveal, and the commit must still be there afterwards.
    chain.change_state(|s| s.subnet_mut(1).unwrap().neurons[0].validator_permit = false);
    assert_eq!(
        error(
            &chain,
            &key(1),
            &reveal(uids.clone(), values.clone(), salt.clone())
        )
        .as_deref(),
        Some("NeuronNoValidatorPermit")
    );
    let commits = chain
        .with_state(None, |s, _, _| s.subnets[&1].mechanisms[0].commits.len())
        .unwrap();
    assert_eq!(commits, 1);
    assert_eq!(chain.account_next_index(&account(&key(1))), 2);
}

#[test]
fn transactions_of_one_sender_go_in_nonce_order_even_when_submitted_out_of_order() {
    let chain = chain(false);
    let first = set_mech(vec![1, 2], vec![1, 1]);
    let runtime = chain.runtime_version(None).unwrap();
    let additional = chain::extrinsic::Additional {
        spec_version: runtime.spec_version,
        transaction_version: runtime.transaction_version,
        genesis_hash: chain.genesis_hash(),
        checkpoint: chain.genesis_hash(),
        metadata_hash: None,
    };
    let signed = |nonce| {
        chain::extrinsic::sign(
            &key(2),
            &set_mech(vec![1], vec![1]).encode(),
            Extra {
                era: Era::Immortal,
                nonce,
                tip: 0,
                mode: MetadataHashMode::Disabled,
            },
            &additional,
        )
    };
    chain.submit(signed(1), None).unwrap();
    chain.submit(signed(0), None).unwrap();
    assert_eq!(chain.account_next_index(&account(&key(2))), 2);
    chain.submit(sign(&chain, &key(1), &first), None).unwrap();
    chain.produce_blocks(1);
    let nonces: Vec<u32> = chain
        .included()
        .iter()
        .filter(|i| i.signer == account(&key(2)))
        .map(|i| i.nonce)
        .collect();
    assert_eq!(nonces, vec![0, 1]);
    assert_eq!(chain.included().len(), 3);
}

#[test]
fn the_oldest_future_transaction_is_dropped_when_the_future_queue_is_full() {
    let chain = chain(false);
    let runtime = chain.runtime_version(None).unwrap();
    let additional = chain::extrinsic::Additional {
        spec_version: runtime.spec_version,
        transaction_version: runtime.transaction_version,
        genesis_hash: chain.genesis_hash(),
        checkpoint: chain.genesis_hash(),
        metadata_hash: None,
    };
    let call = set_mech(vec![1], vec![1]).encode();
    let signed = |nonce| {
        let extra = Extra {
            era: Era::Immortal,
            nonce,
            tip: 0,
            mode: MetadataHashMode::Disabled,
        };
        chain::extrinsic::sign(&key(2), &call, extra, &additional)
    };
    let (watcher, mut statuses) = tokio::sync::mpsc::unbounded_channel();
    // Nonce 0 is never sent, so every one of these waits as a future transaction.
    chain.submit(signed(1), Some(watcher)).unwrap();
    for nonce in 2..=chain::chain::POOL_FUTURE_LIMIT as u32 {
        chain.submit(signed(nonce), None).unwrap();
    }
    assert_eq!(statuses.try_recv(), Ok(chain::TxStatus::Future));
    assert!(statuses.try_recv().is_err(), "still waiting");
    chain
        .submit(signed(chain::chain::POOL_FUTURE_LIMIT as u32 + 1), None)
        .unwrap();
    assert_eq!(statuses.try_recv(), Ok(chain::TxStatus::Dropped));
    assert_eq!(chain.pool().len(), chain::chain::POOL_FUTURE_LIMIT);
}
