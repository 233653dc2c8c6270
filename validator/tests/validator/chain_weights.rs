//! The chain weight setter against `pulse-chain` in-process: weights land, the rate limit
//! holds, refusals are named and not resent early, commits are revealed (across a restart),
//! timelocked commits name an unsupported version, and a runtime whose metadata differs is
//! refused before anything is signed.

use std::collections::BTreeMap;
use std::time::Duration;

use chain::scale::AccountId;
use chain::{Chain, Config, Hyperparameters};
use serde_json::{Value, json};
use subtensor::{Endpoint, RpcOptions, Subtensor, TxOptions};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use validator::chain_weights::{ChainSettings, ChainWeightSetter, CommitReveal};
use validator::metrics::Metrics;
use validator::weights::{WeightSetter, WeightsOutcome, compute_weights};

fn key(seed: u8) -> protocol::Hotkey {
    protocol::Hotkey::from_seed([seed; 32])
}

/// The validator's hotkey (uid 0); miners are seeds 2, 3, 4 (uids 1, 2, 3).
fn validator_key() -> protocol::Hotkey {
    key(1)
}

/// A double serving netuid 1 (tempo 9, rate limit 5, version key 5, at least 2 weights),
/// sealing a block whenever a transaction waits in the pool, so a submission lands in the
/// block after the best one.
struct Double {
    chain: Chain,
    url: String,
    _stop: oneshot::Sender<()>,
}

impl Double {
    async fn start(commit_reveal: bool) -> Self {
        Self::start_at(commit_reveal, None).await
    }

    async fn start_at(commit_reveal: bool, url_override: Option<&str>) -> Self {
        let params = Hyperparameters {
            tempo: 9,
            weights_rate_limit: 5,
            weights_version: 5,
            commit_reveal_weights_enabled: commit_reveal,
            commit_reveal_period: 1,
            min_allowed_weights: 2,
            ..Hyperparameters::default()
        };
        let neuron = |seed: u8, permit: bool| json!({"hotkey": AccountId(key(seed).public_key()), "stake": 5000, "validator_permit": permit});
        let config = Config {
            state: serde_json::from_value(json!({
                "stake_threshold": 1000,
                "subnets": [{"netuid": 1, "hyperparameters": params, "neurons": [
                    neuron(1, true), neuron(2, false), neuron(3, false), neuron(4, false),
                ]}]
            }))
            .unwrap(),
            ..Config::manual()
        };
        let chain = Chain::new(config).unwrap();
        chain.produce_blocks(1);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = url_override
            .map(str::to_owned)
            .unwrap_or_else(|| format!("ws://{}", listener.local_addr().unwrap()));
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
        Self {
            chain,
            url,
            _stop: stop,
        }
    }

    fn best(&self) -> u64 {
        u64::from(self.chain.best_header().number)
    }

    /// Makes blocks until the best one is `number`.
    fn advance_to(&self, number: u64) {
        let best = self.best();
        if number > best {
            self.chain
                .produce_blocks(u32::try_from(number - best).unwrap());
        }
    }

    /// Extrinsics the chain included, as `(block, call, error)`.
    fn extrinsics(&self) -> Vec<(u64, String, Option<String>)> {
        self.chain
            .included()
            .into_iter()
            .map(|i| {
                (
                    u64::from(i.block_number),
                    i.call.name.clone(),
                    i.error.clone(),
                )
            })
            .collect()
    }

    /// The weights the chain holds for uid 0 on netuid 1, as `(uid, weight)`.
    async fn weights_of_uid0(&self) -> Option<(u64, Vec<(u16, u16)>)> {
        let http = self.url.replacen("ws", "http", 1);
        let answer: Value = reqwest::get(format!("{http}/admin/subnets/1/weights"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let entry = answer["mechanisms"][0]["weights"]
            .as_array()
            .or_else(|| answer[0]["weights"].as_array())?
            .iter()
            .find(|w| w["uid"] == 0)?
            .clone();
        let weights = entry["weights"]
            .as_array()?
            .iter()
            .map(|pair| {
                (
                    pair[0].as_u64().unwrap() as u16,
                    pair[1].as_u64().unwrap() as u16,
                )
            })
            .collect();
        Some((entry["block"].as_u64().unwrap(), weights))
    }
}

fn settings(commit_reveal: CommitReveal, version_key: Option<u64>) -> ChainSettings {
    ChainSettings {
        netuid: 1,
        mecid: 0,
        commit_reveal,
        version_key,
        block_time_secs: 12.0,
        tx: TxOptions {
            watch_timeout: Duration::from_secs(20),
            poll_interval: Duration::from_millis(20),
            ..TxOptions::default()
        },
    }
}

async fn setter(
    url: &str,
    dir: &std::path::Path,
    commit_reveal: CommitReveal,
    version_key: Option<u64>,
) -> anyhow::Result<ChainWeightSetter> {
    let subtensor = Subtensor::connect(&Endpoint::parse(url).unwrap(), RpcOptions::default())
        .await
        .unwrap();
    ChainWeightSetter::new(
        subtensor,
        validator_key(),
        settings(commit_reveal, version_key),
        dir,
    )
    .await
}

/// The weight vector of `window` as the validator computes it, with the chain's uids.
async fn vector(setter: &mut ChainWeightSetter, window: u64) -> validator::weights::WeightVector {
    let metagraph = setter.metagraph().await.unwrap().unwrap();
    let ema: BTreeMap<String, f64> = [(key(2), 0.4), (key(3), 0.2), (key(4), 0.2)]
        .into_iter()
        .map(|(k, v)| (k.ss58().to_owned(), v))
        .collect();
    compute_weights(window, &ema, Some(&metagraph), None)
}

/// Hands `window`'s vector to the setter.
async fn set(setter: &mut ChainWeightSetter, window: u64) -> WeightsOutcome {
    let vector = vector(setter, window).await;
    setter.set_weights(&vector).await.unwrap()
}

fn block_and_hash(outcome: &WeightsOutcome) -> (u64, String) {
    match outcome {
        WeightsOutcome::Set {
            block,
            extrinsic_hash,
            ..
        }
        | WeightsOutcome::Revealed {
            block,
            extrinsic_hash,
            ..
        }
        | WeightsOutcome::Committed {
            block,
            extrinsic_hash,
            ..
        }
        | WeightsOutcome::TimelockCommitted {
            block,
            extrinsic_hash,
            ..
        } => (*block, extrinsic_hash.clone()),
        other => panic!("expected weights on chain, got {other:?}"),
    }
}

#[tokio::test]
async fn weights_land_after_a_window_with_the_sdks_values_and_the_window_line_says_where() {
    let double = Double::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let mut setter = setter(&double.url, dir.path(), CommitReveal::Timelock, None)
        .await
        .unwrap();
    let metrics = std::sync::Arc::new(Metrics::new());
    setter.attach_metrics(metrics.clone());
    let vector = vector(&mut setter, 7).await;
    let outcome = setter.set_weights(&vector).await.unwrap();
    let (block, hash) = block_and_hash(&outcome);
    assert!(matches!(outcome, WeightsOutcome::Set { window: 7, .. }));
    assert_eq!(
        outcome.describe(),
        format!("weights set at block {block} ({hash})")
    );
    assert!(hash.starts_with("0x") && hash.len() == 66, "{hash}");
    assert_eq!(
        double.extrinsics(),
        [(block, "set_mechanism_weights".to_owned(), None)]
    );
    // 0.5, 0.25, 0.25 max-upscaled: 32767.5 rounds to 32768, as the SDK rounds it.
    let (set_at, weights) = double.weights_of_uid0().await.unwrap();
    assert_eq!(set_at, block);
    assert_eq!(weights, [(1, 65535), (2, 32768), (3, 32768)]);
    assert!(setter.state().pending.is_none());
    let record: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("weights.json")).unwrap()).unwrap();
    assert_eq!(
        record["window"], 7,
        "weights.json keeps the vector: {record}"
    );
    let text = metrics.render();
    for needle in [
        r#"pulse_validator_weights_extrinsics_total{call="set_mechanism_weights",outcome="submitted"} 1"#,
        r#"pulse_validator_weights_extrinsics_total{call="set_mechanism_weights",outcome="included"} 1"#,
    ] {
        assert!(text.contains(needle), "missing {needle} in\n{text}");
    }
}

#[tokio::test]
async fn no_extrinsic_is_sent_inside_the_rate_limit() {
    let double = Double::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    let mut setter = setter(&double.url, dir.path(), CommitReveal::Timelock, None)
        .await
        .unwrap();
    let first = set(&mut setter, 1).await;
    let (landed, _) = block_and_hash(&first);
    // The next window's weights come at once: nothing is sent until the block that would
    // include them is `rate limit` (5) blocks after the last update.
    let second = set(&mut setter, 2).await;
    assert!(
        matches!(
            &second,
            WeightsOutcome::NotSet {
                retry_at: Some(_),
                ..
            }
        ),
        "{second:?}"
    );
    for _ in 0..3 {
        double.chain.produce_blocks(1);
        assert_eq!(setter.tick().await.unwrap(), None);
    }
    assert_eq!(double.extrinsics().len(), 1, "{:?}", double.extrinsics());
    assert_eq!(double.best(), landed + 3);
    double.chain.produce_blocks(1);
    let outcome = setter.tick().await.unwrap().expect("sent once allowed");
    let (block, _) = block_and_hash(&outcome);
    assert_eq!(block, landed + 5, "the first block the rate limit allows");
    assert!(matches!(outcome, WeightsOutcome::Set { window: 2, .. }));
    assert!(
        double
            .extrinsics()
            .iter()
            .all(|(_, _, error)| error.is_none())
    );
}

#[tokio::test]
async fn a_refused_extrinsic_is_named_and_not_resent_before_the_next_allowed_block() {
    let double = Double::start(false).await;
    let dir = tempfile::tempdir().unwrap();
    // Version key 4 where the subnet requires 5.
    let mut setter = setter(&double.url, dir.path(), CommitReveal::Timelock, Some(4))
        .await
        .unwrap();
    let metrics = std::sync::Arc::new(Metrics::new());
    setter.attach_metrics(metrics.clone());
    let outcome = set(&mut setter, 3).await;
    let WeightsOutcome::NotSet { reason, retry_at } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(
        reason.contains("SubtensorModule.IncorrectWeightVersionKey"),
        "{reason}"
    );
    let refused_at = double.extrinsics()[0].0;
    assert_eq!(
        double.extrinsics()[0].2.as_deref(),
        Some("IncorrectWeightVersionKey")
    );
    assert_eq!(*retry_at, Some(refused_at + 5));
    assert!(
        metrics.render().contains(
            r#"pulse_validator_weights_extrinsics_total{call="set_mechanism_weights",outcome="IncorrectWeightVersionKey"} 1"#
        ),
        "{}",
        metrics.render()
    );
    // Every block until the next allowed one: no new extrinsic.
    while double.best() < refused_at + 5 {
        assert_eq!(setter.tick().await.unwrap(), None);
        assert_eq!(double.extrinsics().len(), 1);
        double.chain.produce_blocks(1);
    }
    // From the next allowed block, it is tried again (and refused again, by name).
    let again = setter.tick().await.unwrap().expect("tried again");
    assert!(
        again.describe().contains("IncorrectWeightVersionKey"),
        "{again:?}"
    );
    assert_eq!(double.extrinsics().len(), 2);
    assert_eq!(double.extrinsics()[1].0, refused_at + 6);
}

#[tokio::test]
async fn a_hash_commit_is_revealed_in_its_window_even_across_a_restart() {
    for restart in [false, true] {
        let double = Double::start(true).await;
        let dir = tempfile::tempdir().unwrap();
        let mut first = setter(&double.url, dir.path(), CommitReveal::Hash, None)
            .await
            .unwrap();
        let outcome = set(&mut first, 4).await;
        let WeightsOutcome::Committed {
            block,
            reveal_from,
            reveal_until,
            ..
        } = outcome.clone()
        else {
            panic!("{outcome:?}");
        };
        // tempo 9, netuid 1: the epoch after the commit's.
        assert_eq!(reveal_from, (block + 2) / 10 * 10 + 8);
        assert_eq!(reveal_until, reveal_from + 9);
        let saved: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("chain_weights.json")).unwrap())
                .unwrap();
        assert_eq!(
            saved["pending"]["commit"]["salt"].as_array().unwrap().len(),
            8
        );
        let mut setter = if restart {
            drop(first);
            setter(&double.url, dir.path(), CommitReveal::Hash, None)
                .await
                .unwrap()
        } else {
            first
        };
        // Nothing before the reveal window.
        double.advance_to(reveal_from - 2);
        assert_eq!(setter.tick().await.unwrap(), None);
        assert_eq!(double.extrinsics().len(), 1);
        double.advance_to(reveal_from - 1);
        let revealed = setter.tick().await.unwrap().expect("revealed");
        let (at, hash) = block_and_hash(&revealed);
        assert!(
            matches!(revealed, WeightsOutcome::Revealed { window: 4, .. }),
            "{revealed:?}"
        );
        assert_eq!(at, reveal_from, "restart {restart}");
        assert!(
            revealed
                .describe()
                .starts_with(&format!("weights set at block {at} ({hash})"))
        );
        let calls: Vec<_> = double
            .extrinsics()
            .into_iter()
            .map(|(_, call, error)| (call, error))
            .collect();
        assert_eq!(
            calls,
            [
                ("commit_mechanism_weights".to_owned(), None),
                ("reveal_mechanism_weights".to_owned(), None)
            ]
        );
        let (_, weights) = double.weights_of_uid0().await.unwrap();
        assert_eq!(weights, [(1, 65535), (2, 32768), (3, 32768)]);
        assert!(setter.state().pending.is_none());
    }
}

#[tokio::test]
async fn a_timelocked_commit_lands_and_an_unsupported_version_is_refused_in_one_line() {
    let double = Double::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let mut setter = setter(&double.url, dir.path(), CommitReveal::Timelock, None)
        .await
        .unwrap();
    let outcome = set(&mut setter, 5).await;
    assert!(
        matches!(outcome, WeightsOutcome::TimelockCommitted { window: 5, .. }),
        "{outcome:?}"
    );
    assert_eq!(
        double.extrinsics()[0],
        (
            block_and_hash(&outcome).0,
            "commit_timelocked_mechanism_weights".to_owned(),
            None
        )
    );

    // The chain moves to a commit-reveal version Pulse does not build.
    double
        .chain
        .change_state(|state| state.commit_reveal_version = 5);
    double.advance_to(double.best() + 10);
    let outcome = set(&mut setter, 6).await;
    let WeightsOutcome::NotSet { reason, .. } = &outcome else {
        panic!("{outcome:?}");
    };
    assert!(!reason.contains('\n'));
    assert!(reason.contains("commit_reveal_weights_enabled"), "{reason}");
    assert!(reason.contains("version is 5"), "{reason}");
    assert_eq!(double.extrinsics().len(), 1, "nothing sent");
}

/// A JSON-RPC proxy in front of the double that renames one SubtensorModule call in the
/// metadata it passes on: a runtime upgrade Pulse does not know.
async fn renaming_proxy(target: String) -> String {
    use axum::routing::post;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let client = reqwest::Client::new();
    let app = axum::Router::new().route(
        "/",
        post(move |body: String| {
            let client = client.clone();
            let target = target.clone();
            async move {
                let answer: Value = client
                    .post(&target)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let mut answer = answer;
                if let Some(hex) = answer["result"].as_str()
                    && hex.len() > 100_000
                {
                    let mut bytes = ::hex::decode(&hex[2..]).unwrap();
                    let from = b"set_mechanism_weights";
                    let to = b"set_mechanism_weightz";
                    // Every mention (docs too), so the call's own name is among them.
                    let mut renamed = 0;
                    for at in 0..bytes.len() - from.len() {
                        if &bytes[at..at + from.len()] == from {
                            bytes[at..at + from.len()].copy_from_slice(to);
                            renamed += 1;
                        }
                    }
                    assert!(renamed > 0, "the metadata names the call");
                    answer["result"] = json!(format!("0x{}", ::hex::encode(bytes)));
                }
                axum::Json(answer)
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn a_runtime_whose_metadata_differs_is_refused_before_anything_is_signed() {
    let double = Double::start(false).await;
    let proxy = renaming_proxy(double.url.replacen("ws", "http", 1)).await;
    let dir = tempfile::tempdir().unwrap();
    let error = setter(&proxy, dir.path(), CommitReveal::Timelock, None)
        .await
        .unwrap_err();
    let line = format!("{error:#}");
    assert!(!line.contains('\n'), "{line}");
    assert!(
        line.starts_with("refusing to sign weights for spec version"),
        "{line}"
    );
    assert!(line.contains("set_mechanism_weights"), "{line}");
    assert!(double.extrinsics().is_empty());
    assert!(double.chain.pool().is_empty());
    // The same double without the proxy is accepted.
    setter(&double.url, dir.path(), CommitReveal::Timelock, None)
        .await
        .unwrap();
}
