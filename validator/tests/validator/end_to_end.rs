//! Server + X double + the real miner + the real `pulse-validator` binary, on port 0.

use std::collections::BTreeMap;

use serde_json::Value;
use server::config::Role;
use testkit::{AuthForm, Signer};
use xapi::{MetricsPatch, PostPatch};

use crate::helpers::{
    Coordinator, START_BLOCK, ValidatorEnv, XDouble, dataset, mine_once, post, x_config,
};

/// Two miners' posts: the honest one's mention chutes, the cheat's targon, so each miner's
/// search finds only its own.
fn two_miners_posts() -> Vec<xapi::PostLine> {
    vec![
        post(
            "honest-1",
            30,
            "honest_hal",
            "SN64 chutes shipped faster inference this week, solid progress",
            900,
        ),
        post(
            "honest-2",
            45,
            "honest_hal",
            "chutes keeps growing, more miners serving models every day",
            400,
        ),
        post(
            "honest-3",
            60,
            "honest_hal",
            "Chutes usage doubled this month, great work by the team",
            250,
        ),
        post(
            "cheat-1",
            35,
            "sly_sam",
            "targon confidential compute rollout is going well",
            1200,
        ),
        post(
            "cheat-2",
            50,
            "sly_sam",
            "targon is steady, more compute coming online",
            800,
        ),
        post(
            "cheat-3",
            70,
            "sly_sam",
            "targon update: new partners announced today",
            300,
        ),
    ]
}

fn by_post(verdicts: &[&Value]) -> BTreeMap<String, (String, Option<String>)> {
    verdicts
        .iter()
        .map(|v| {
            (
                v["post_id"].as_str().unwrap().to_owned(),
                (
                    v["outcome"].as_str().unwrap().to_owned(),
                    v["code"].as_str().map(str::to_owned),
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn edited_and_inflated_posts_fail_and_their_cost_takes_the_cheats_whole_window_score() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let x = XDouble::start(&dataset(two_miners_posts()), x_config()).await;
    let id_of = |key: &str| x.app.post(key).unwrap().id.to_string();

    let (honest, honest_accepted) =
        mine_once(&coordinator.url(), &x, "chutes", &dir.path().join("honest")).await;
    let (cheat, cheat_accepted) =
        mine_once(&coordinator.url(), &x, "targon", &dir.path().join("cheat")).await;
    assert_eq!((honest_accepted, cheat_accepted), (3, 3));

    // After submission, X no longer shows what the cheat claimed: one post's text changed,
    // and another has far fewer likes than the 800 it submitted.
    x.app
        .update_post(
            "cheat-1",
            &PostPatch {
                text: Some("targon rollout was delayed again".into()),
                ..PostPatch::default()
            },
        )
        .unwrap();
    x.app
        .update_post(
            "cheat-2",
            &PostPatch {
                metrics: Some(MetricsPatch {
                    likes: Some(100),
                    ..MetricsPatch::default()
                }),
                ..PostPatch::default()
            },
        )
        .unwrap();

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let first = env.once().await;
    assert!(first.success, "{}", first.stderr);
    let verdicts = first.of_type("verdict");
    for verdict in &verdicts {
        eprintln!("verdict: {verdict}");
    }
    let verdicts = by_post(&verdicts);
    let pass = ("pass".to_owned(), None);
    let expected = BTreeMap::from([
        (id_of("honest-1"), pass.clone()),
        (id_of("honest-2"), pass.clone()),
        (id_of("honest-3"), pass.clone()),
        (
            id_of("cheat-1"),
            ("fail".to_owned(), Some("text_mismatch".to_owned())),
        ),
        (
            id_of("cheat-2"),
            ("fail".to_owned(), Some("metric_inflation_likes".to_owned())),
        ),
        (id_of("cheat-3"), pass),
    ]);
    assert_eq!(verdicts, expected);
    let total = first.total();
    eprintln!("first pass: {total}");
    assert_eq!(
        (&total["leased"], &total["recorded"], &total["pending"]),
        (&6.into(), &6.into(), &0.into())
    );
    let inflation = first
        .of_type("verdict")
        .into_iter()
        .find(|v| v["code"] == "metric_inflation_likes")
        .unwrap();
    assert_eq!(inflation["details"]["expected"], 100);
    assert_eq!(inflation["details"]["found"], 800);

    // The next window: the server publishes window 10's scores.
    coordinator.server.blocks().set(START_BLOCK + 100);
    let (status, scores) = coordinator.get("/v2/scores").await;
    assert_eq!(status, 200, "{scores}");
    eprintln!("scores of window 10: {scores}");
    assert_eq!(scores["window"], 10);
    let score = |hotkey: &str| scores["scores"][hotkey].as_f64().unwrap();
    let report_score = |report: &Value| report["window_scores"][0].clone();
    let (_, honest_report) = coordinator.get(&format!("/v2/miners/{honest}")).await;
    let (_, cheat_report) = coordinator.get(&format!("/v2/miners/{cheat}")).await;
    let honest_window = report_score(&honest_report);
    let cheat_window = report_score(&cheat_report);
    eprintln!("honest miner, window 10: {honest_window}");
    eprintln!("cheating miner, window 10: {cheat_window}");
    assert_eq!(honest_window["window"], 10);
    assert_eq!(honest_window["failed_validations"], 0);
    assert_eq!(honest_window["penalty_factor"], 1.0);
    assert_eq!(score(&honest), honest_window["reward"].as_f64().unwrap());
    assert_eq!(cheat_window["failed_validations"], 2);
    // Its passing post still earns a reward, but two failures X tells apart from honest
    // mining cost 2 x FAILURE_COST (20) post credits over its 3 posts: more than any reward.
    let cheat_reward = cheat_window["reward"].as_f64().unwrap();
    assert!(cheat_reward > 0.0, "{cheat_window}");
    assert_eq!(cheat_window["credibility"], 0.0, "{cheat_window}");
    assert_eq!(score(&cheat), 0.0, "{scores}");
    assert!(score(&honest) > 0.0, "{scores}");

    // The validator applies window 10 and writes its weights.
    let second = env.once().await;
    assert!(second.success, "{}", second.stderr);
    let weights_line = second.of_type("weights").pop().expect("a weights line");
    eprintln!("weights: {weights_line}");
    let file: Value = serde_json::from_slice(
        &std::fs::read(
            env.hotkey_dir(coordinator.validator.ss58())
                .join("weights.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(file["window"], 10);
    let weight = |hotkey: &str| {
        file["weights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["hotkey"] == hotkey)
            .and_then(|w| w["weight"].as_f64())
    };
    // A miner whose average is 0 gets no entry: zero weights are not set.
    assert_eq!(weight(&cheat), None, "{file}");
    let weight = |hotkey: &str| weight(hotkey).unwrap_or(0.0);
    // Both averages are 0.1 x the window score, so the weights keep the scores' ratio.
    let (h, c) = (score(&honest), score(&cheat));
    assert!((weight(&honest) - h / (h + c)).abs() < 1e-9, "{file}");
    assert!((weight(&cheat) - c / (h + c)).abs() < 1e-9, "{file}");
    let best = &file["best_post"];
    assert!(
        [
            id_of("honest-1"),
            id_of("honest-2"),
            id_of("honest-3"),
            id_of("cheat-3")
        ]
        .contains(&best["post_id"].as_str().unwrap().to_owned()),
        "{best}"
    );
    assert_eq!(second.total()["leased"], 0);
}

#[tokio::test]
async fn when_x_refuses_the_lookup_verdicts_are_inconclusive_and_the_tasks_go_back_to_the_queue() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let x = XDouble::start(
        &dataset(two_miners_posts()),
        xapi::Config {
            lookup_limit: 0,
            ..x_config()
        },
    )
    .await;
    let (miner, accepted) = mine_once(&coordinator.url(), &x, "chutes", dir.path()).await;
    assert_eq!(accepted, 3);

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let run = env.once().await;
    assert!(run.success, "{}", run.stderr);
    let verdicts = run.of_type("verdict");
    assert_eq!(verdicts.len(), 3);
    for verdict in &verdicts {
        eprintln!("verdict: {verdict}");
        assert_eq!(verdict["outcome"], "inconclusive", "{verdict}");
        assert_eq!(verdict["code"], "x_api_error", "{verdict}");
        assert_eq!(verdict["details"]["expected"]["status"], 429, "{verdict}");
    }
    assert_eq!(x.lookups().len(), 1, "no lookups after X's 429");
    assert_eq!(
        coordinator
            .count("select count(*) from validation_verdicts where validator_hotkey = $validator and outcome = 'inconclusive'")
            .await,
        3
    );
    let (_, report) = coordinator.get(&format!("/v2/miners/{miner}")).await;
    for submission in report["submissions"].as_array().unwrap() {
        assert_eq!(submission["validation"], "pending", "{submission}");
    }
    // Another validator gets the tasks at once.
    let other = Signer::new(AuthForm::Epistula);
    server::db::hotkeys::add(&coordinator.server.state.db, other.ss58(), Role::Validator)
        .await
        .unwrap();
    let batch: Value = other
        .get(
            &reqwest::Client::new(),
            &coordinator.server.url("/v2/validation?limit=10"),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(batch["payloads"].as_array().unwrap().len(), 3, "{batch}");
}

#[tokio::test]
async fn run_works_the_queue_until_sigterm_then_prints_its_totals_and_exits_cleanly() {
    use tokio::io::{AsyncBufReadExt, BufReader};

    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let x = XDouble::start(&dataset(two_miners_posts()), x_config()).await;
    let (_, accepted) = mine_once(&coordinator.url(), &x, "targon", dir.path()).await;
    assert_eq!(accepted, 3);

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let mut child = env.command(&["run", "--poll-secs", "1"]).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The queue is worked, then the pass is summarised once the queue is empty.
    let pass: Value = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(60), lines.next_line())
            .await
            .expect("a line within 60 s")
            .unwrap()
            .expect("the validator is still running");
        let value: Value = serde_json::from_str(&line).unwrap();
        if value["type"] == "pass" {
            break value;
        }
    };
    assert_eq!(
        (&pass["leased"], &pass["passed"], &pass["recorded"]),
        (&3.into(), &3.into(), &3.into())
    );

    let pid = child.id().unwrap().to_string();
    let status = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let mut rest = Vec::new();
    while let Some(line) = lines.next_line().await.unwrap() {
        rest.push(serde_json::from_str::<Value>(&line).unwrap());
    }
    let exit = child.wait().await.unwrap();
    assert!(exit.success(), "{exit:?}");
    let total = rest
        .iter()
        .find(|l| l["type"] == "total")
        .expect("a total line");
    assert_eq!(
        (&total["passes"], &total["recorded"], &total["pending"]),
        (&1.into(), &3.into(), &0.into())
    );
}

#[tokio::test]
async fn weights_follow_the_metagraph_and_the_burn_and_a_window_is_applied_once() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let x = XDouble::start(&dataset(two_miners_posts()), x_config()).await;
    let (registered, _) = mine_once(&coordinator.url(), &x, "chutes", &dir.path().join("a")).await;
    let (unregistered, _) =
        mine_once(&coordinator.url(), &x, "targon", &dir.path().join("b")).await;
    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    assert!(env.once().await.success);
    coordinator.server.blocks().set(START_BLOCK + 100);

    let owner = Signer::new(AuthForm::Epistula);
    let idle = Signer::new(AuthForm::Epistula);
    let metagraph = dir.path().join("metagraph.json");
    std::fs::write(
        &metagraph,
        serde_json::json!({"netuid": 45, "neurons": [
            {"uid": 2, "hotkey": idle.ss58()},
            {"uid": 0, "hotkey": owner.ss58()},
            {"uid": 1, "hotkey": registered},
        ]})
        .to_string(),
    )
    .unwrap();
    let settings = [
        ("VALIDATOR_METAGRAPH", metagraph.to_str().unwrap()),
        ("VALIDATOR_BURN_SHARE", "0.25"),
        ("VALIDATOR_BURN_UID", "0"),
    ];
    let second = env.once_with(&settings).await;
    assert!(second.success, "{}", second.stderr);
    let weights_path = env
        .hotkey_dir(coordinator.validator.ss58())
        .join("weights.json");
    let file: Value = serde_json::from_slice(&std::fs::read(&weights_path).unwrap()).unwrap();
    eprintln!("weights with a metagraph and a burn: {file}");
    let entries: Vec<(u64, String, f64)> = file["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["uid"].as_u64().unwrap(),
                w["hotkey"].as_str().unwrap().to_owned(),
                w["weight"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        entries,
        [
            (0, owner.ss58().to_owned(), 0.25),
            (1, registered.clone(), 0.75),
            (2, idle.ss58().to_owned(), 0.0),
        ],
        "the unregistered miner's share goes to the registered one"
    );
    assert_eq!(file["unmapped"][0]["hotkey"], unregistered.as_str());
    assert_eq!(file["burn"]["share"], 0.25);

    // Once applied, window 10 is never applied again, by this process or the next.
    let state_path = env
        .hotkey_dir(coordinator.validator.ss58())
        .join("weights_state.json");
    let state_before = std::fs::read(&state_path).unwrap();
    let third = env.once_with(&settings).await;
    assert!(third.success, "{}", third.stderr);
    assert_eq!(third.total()["windows_applied"], 0);
    assert!(third.of_type("weights").is_empty());
    assert_eq!(std::fs::read(&state_path).unwrap(), state_before);
    let state: Value = serde_json::from_slice(&state_before).unwrap();
    assert_eq!(
        (&state["last_window"], &state["weights_set_for"]),
        (&10.into(), &10.into())
    );
}
