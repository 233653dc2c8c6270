//! Issue 13, finding 1: a verdict the server can never accept must not stop the validator
//! or hold back the verdicts queued with it.

use protocol::api::{FailureReason, ValidationResultItem, VerdictOutcome};
use serde_json::{Value, json};
use server::config::Settings;
use validator::outbox::{FORMAT_VERSION, Outbox, PendingVerdict, RefusedVerdict};

use crate::helpers::{Coordinator, ValidatorEnv, XDouble, dataset, mine_once, post, x_config};

/// A verdict left in the outbox (by an older release, or for a task the server no longer
/// knows), written `at` milliseconds, with `details`.
fn left_over(validator: &str, id: &str, at: i64, details: Value) -> PendingVerdict {
    PendingVerdict {
        version: FORMAT_VERSION,
        item: ValidationResultItem {
            validator_hotkey: validator.to_owned(),
            validation_id: id.to_owned(),
            miner_hotkey: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY".to_owned(),
            success: false,
            outcome: Some(VerdictOutcome::Fail),
            failure_reason: Some(FailureReason {
                code: "text_mismatch".into(),
                message: "the text differs".into(),
                post_id: Some("1860000000000000001".into()),
                details: Some(details),
            }),
        },
        post_id: "1860000000000000001".into(),
        window: 9,
        written_at_ms: at,
    }
}

#[tokio::test]
async fn a_verdict_the_server_refuses_alone_is_set_aside_and_every_other_verdict_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    // A body limit that a batch of the large verdict and two small ones exceeds, and the
    // large one alone still does: everything else fits.
    let coordinator = Coordinator::start_with(
        Settings {
            validation_probability: 1.0,
            max_body_bytes: 8 * 1024,
            ..Settings::default()
        },
        |router| router,
    )
    .await;
    let x = XDouble::start(
        &dataset(vec![
            post("a", 20, "kim", "SN64 chutes is serving more models", 50),
            post("b", 25, "kim", "chutes inference keeps getting cheaper", 70),
            post("c", 40, "kim", "chutes weekly update is out", 20),
        ]),
        x_config(),
    )
    .await;
    let (_, accepted) = mine_once(&coordinator.url(), &x, "chutes", dir.path()).await;
    assert_eq!(accepted, 3);

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let validator = coordinator.validator.ss58();
    let hotkey_dir = env.hotkey_dir(validator);
    let outbox = Outbox::open(&hotkey_dir).unwrap();
    // Within every bound (64 strings of 200 characters), yet about 13 KB on the wire.
    let large =
        json!({"found": (0..64).map(|i| format!("{i}{}", "x".repeat(199))).collect::<Vec<_>>()});
    let unknown = |n: u8| format!("00000000-0000-4000-8000-0000000000{n:02}");
    outbox
        .write(&left_over(validator, &unknown(1), 1, large))
        .unwrap();
    outbox
        .write(&left_over(validator, &unknown(2), 2, json!({"found": "y"})))
        .unwrap();
    outbox
        .write(&left_over(validator, &unknown(3), 3, json!({"found": "z"})))
        .unwrap();

    let finished = env.once().await;
    assert!(finished.success, "{}", finished.stderr);
    let total = finished.total();
    assert_eq!(total["refused"], 1, "{total}");
    assert_eq!(
        total["rejected"], 2,
        "the small left-overs are answered: {total}"
    );
    assert_eq!(total["recorded"], 3, "{total}");
    assert_eq!(total["pending"], 0, "{total}");
    assert!(finished.stderr.contains("set aside"), "{}", finished.stderr);
    assert_eq!(outbox.len().unwrap(), 0);

    let refused: RefusedVerdict = serde_json::from_slice(
        &std::fs::read(
            hotkey_dir
                .join("refused")
                .join(format!("{}.json", unknown(1))),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(refused.status, 413);
    assert_eq!(refused.verdict.item.validation_id, unknown(1));
    assert_eq!(
        coordinator
            .count("select count(*) from validation_verdicts where validator_hotkey = $validator")
            .await,
        3
    );
}

/// Issue 13, finding 6: what X says about a post (a retweet, its language, its author's
/// creation date) decides a verdict; the X double serves those fields as X does.
#[tokio::test]
async fn a_retweet_a_non_english_post_and_a_false_account_age_fail_on_what_x_reports() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let mut retweet = post(
        "rt",
        10,
        "sam",
        "RT @kim: SN64 chutes is serving more models",
        0,
    );
    retweet.retweet_of = Some("orig".into());
    let mut portuguese = post(
        "pt",
        12,
        "ana",
        "chutes SN64 está servindo mais modelos",
        30,
    );
    portuguese.lang = "pt".into();
    let x = XDouble::start(
        &dataset(vec![
            post("orig", 20, "kim", "SN64 chutes is serving more models", 500),
            retweet,
            portuguese,
            post(
                "honest",
                25,
                "kim",
                "chutes inference keeps getting cheaper",
                70,
            ),
        ]),
        x_config(),
    )
    .await;

    // A cheat submits what the real miner would skip, each post with X's own counts.
    let analyzer = analyzer::Analyzer::default();
    let cheat = testkit::Signer::new(testkit::AuthForm::Epistula);
    let client = reqwest::Client::new();
    let submit = async |key: &str, account_age: u64| {
        let view = x.app.post(key).unwrap();
        let sentiment = analyzer
            .sentiment_engine()
            .classify(&protocol::text::normalize_content(&view.text))
            .await
            .unwrap()
            .value();
        let body = protocol::api::SubmitRequest {
            miner_hotkey: cheat.ss58().to_owned(),
            post_id: view.id.to_string(),
            content: view.text.clone(),
            date: view.created_at.timestamp(),
            author: view.author.username.clone(),
            account_age,
            retweets: view.metrics.retweets,
            likes: view.metrics.likes,
            responses: view.metrics.replies,
            followers: view.author.followers,
            tokens: analyzer
                .relevance(&protocol::text::normalize_content(&view.text))
                .tokens(),
            sentiment,
            score: 0.5,
        };
        let response = cheat
            .post_json(&client, &coordinator.server.url("/v2/submit"), &body)
            .await;
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
        view.id.to_string()
    };
    let rt_id = submit("rt", 400).await;
    let pt_id = submit("pt", 400).await;
    let aged_id = submit("honest", 99_999).await;
    let honest_id = submit("orig", 400).await;

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let finished = env.once().await;
    assert!(finished.success, "{}", finished.stderr);
    let code_of = |id: &str| {
        finished
            .of_type("verdict")
            .into_iter()
            .find(|v| v["post_id"] == id)
            .map(|v| (v["outcome"].as_str().unwrap().to_owned(), v["code"].clone()))
            .unwrap_or_else(|| panic!("no verdict for {id}: {:?}", finished.lines))
    };
    assert_eq!(code_of(&rt_id), ("fail".to_owned(), json!("retweet")));
    assert_eq!(code_of(&pt_id), ("fail".to_owned(), json!("not_english")));
    assert_eq!(
        code_of(&aged_id),
        ("fail".to_owned(), json!("account_age_mismatch"))
    );
    assert_eq!(code_of(&honest_id), ("pass".to_owned(), Value::Null));
}
