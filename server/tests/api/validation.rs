//! The validation queue: leases, verdicts, idempotency, requeueing.

use std::collections::BTreeSet;
use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::{Role, Settings};
use testkit::{AuthForm, Signer, sample_submission};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::helpers::{App, json, miner, unique_post_id};

/// A server that selects every post, with `verdicts` verdicts per task.
pub async fn app_selecting_everything(verdicts: u16) -> App {
    App::with_settings(Settings {
        validation_probability: 1.0,
        max_submissions: 1_000,
        validation_verdicts: verdicts,
        ..Settings::default()
    })
    .await
}

pub async fn validator(app: &App) -> Signer {
    let signer = Signer::new(AuthForm::Epistula);
    server::db::hotkeys::add(&app.server.state.db, signer.ss58(), Role::Validator)
        .await
        .unwrap();
    signer
}

/// Submits `n` posts from `miner`; returns their validation ids.
pub async fn submit_posts(app: &App, miner: &Signer, n: usize) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let (status, body) = json(
            app.submit(miner, &sample_submission(miner.ss58(), unique_post_id()))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        ids.push(body["validation_id"].as_str().unwrap().to_string());
    }
    ids
}

pub async fn poll(app: &App, validator: &Signer, limit: u32) -> Value {
    let (status, body) = json(
        validator
            .get(
                &app.client,
                &app.url(&format!("/v2/validation?limit={limit}")),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub fn leased_ids(batch: &Value) -> Vec<String> {
    batch["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["validation_id"].as_str().unwrap().to_string())
        .collect()
}

pub fn verdict(validator: &Signer, payload: &Value, outcome: &str, code: Option<&str>) -> Value {
    let mut item = json!({
        "validator_hotkey": validator.ss58(),
        "validation_id": payload["validation_id"],
        "miner_hotkey": payload["miner_hotkey"],
        "success": outcome == "pass",
        "outcome": outcome,
        "failure_reason": null,
    });
    if let Some(code) = code {
        item["failure_reason"] = json!({"code": code, "message": format!("{code} seen"), "post_id": payload["post"]["post_id"], "details": {"expected": 1, "found": 2}});
    }
    item
}

pub async fn send_results(app: &App, validator: &Signer, results: Vec<Value>) -> Value {
    let body = json!({"validator_hotkey": validator.ss58(), "results": results});
    let (status, reply) = json(
        validator
            .post_json(&app.client, &app.url("/v2/validation_result"), &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    reply
}

#[tokio::test]
async fn a_lease_hands_out_the_stored_post_oldest_first() {
    let app = app_selecting_everything(1).await;
    let miner = miner();
    let ids = submit_posts(&app, &miner, 3).await;
    let v = validator(&app).await;
    let batch = poll(&app, &v, 2).await;
    assert_eq!(batch["available"], true);
    assert_eq!(leased_ids(&batch), ids[..2]);
    let payload = &batch["payloads"][0];
    assert_eq!(payload["miner_hotkey"], miner.ss58());
    assert_eq!(payload["post"]["miner_hotkey"], miner.ss58());
    assert!(
        payload["post"]["content"]
            .as_str()
            .unwrap()
            .starts_with("SN45 looks strong")
    );
    for field in [
        "date",
        "author",
        "account_age",
        "retweets",
        "likes",
        "responses",
        "followers",
        "tokens",
        "sentiment",
        "score",
    ] {
        assert!(
            payload["post"].get(field).is_some(),
            "payload lacks {field}"
        );
    }
    assert!(chrono::DateTime::parse_from_rfc3339(payload["selected_at"].as_str().unwrap()).is_ok());
    assert_eq!(leased_ids(&poll(&app, &v, 10).await), ids[2..]);
    let empty = poll(&app, &v, 10).await;
    assert_eq!(empty, json!({"available": false, "payloads": []}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validators_polling_at_once_never_receive_the_same_task() {
    let app = Arc::new(app_selecting_everything(1).await);
    let miner = miner();
    let ids: BTreeSet<String> = submit_posts(&app, &miner, 60).await.into_iter().collect();
    let validators: Vec<Signer> = futures_validators(&app, 6).await;
    let barrier = Arc::new(Barrier::new(validators.len()));
    let mut tasks = JoinSet::new();
    for v in validators {
        let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
        tasks.spawn(async move {
            let mut mine = Vec::new();
            barrier.wait().await;
            loop {
                let batch = poll(&app, &v, 4).await;
                if batch["available"] == false {
                    break mine;
                }
                mine.extend(leased_ids(&batch));
            }
        });
    }
    let per_validator = tasks.join_all().await;
    let all: Vec<String> = per_validator.iter().flatten().cloned().collect();
    let distinct: BTreeSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), distinct.len(), "a task was leased twice");
    assert_eq!(distinct, ids, "every task was leased once");
    assert!(
        per_validator.iter().filter(|m| !m.is_empty()).count() > 1,
        "the work was shared"
    );
}

async fn futures_validators(app: &App, n: usize) -> Vec<Signer> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(validator(app).await);
    }
    out
}

#[tokio::test]
async fn an_expired_lease_returns_the_task_to_the_queue() {
    let app = app_selecting_everything(1).await;
    let ids = submit_posts(&app, &miner(), 1).await;
    let (a, b) = (validator(&app).await, validator(&app).await);
    assert_eq!(leased_ids(&poll(&app, &a, 10).await), ids);
    assert_eq!(
        leased_ids(&poll(&app, &b, 10).await),
        Vec::<String>::new(),
        "leased to a"
    );
    // The lease runs out (moved into the past rather than waited for).
    sqlx::query("update validation_slots set lease_expires_at = now() - interval '1 second'")
        .execute(&app.server.state.db)
        .await
        .unwrap();
    let batch = poll(&app, &b, 10).await;
    assert_eq!(leased_ids(&batch), ids);
    // a's late answer is refused: the task went to b.
    let reply = send_results(
        &app,
        &a,
        vec![verdict(&a, &batch["payloads"][0], "pass", None)],
    )
    .await;
    assert_eq!(reply["results"][0]["status"], "rejected");
    assert_eq!(reply["results"][0]["reason"], "not_leased");
    let reply = send_results(
        &app,
        &b,
        vec![verdict(&b, &batch["payloads"][0], "pass", None)],
    )
    .await;
    assert_eq!(reply["recorded"], 1);
}

#[tokio::test]
async fn a_late_answer_is_accepted_while_nobody_else_took_the_task() {
    let app = app_selecting_everything(1).await;
    submit_posts(&app, &miner(), 1).await;
    let a = validator(&app).await;
    let batch = poll(&app, &a, 10).await;
    sqlx::query("update validation_slots set lease_expires_at = now() - interval '1 second'")
        .execute(&app.server.state.db)
        .await
        .unwrap();
    let reply = send_results(
        &app,
        &a,
        vec![verdict(
            &a,
            &batch["payloads"][0],
            "fail",
            Some("text_mismatch"),
        )],
    )
    .await;
    assert_eq!(reply["recorded"], 1, "{reply}");
}

#[tokio::test]
async fn repeated_results_are_idempotent() {
    let app = app_selecting_everything(1).await;
    submit_posts(&app, &miner(), 2).await;
    let v = validator(&app).await;
    let batch = poll(&app, &v, 10).await;
    let results = vec![
        verdict(&v, &batch["payloads"][0], "pass", None),
        verdict(
            &v,
            &batch["payloads"][1],
            "fail",
            Some("metric_inflation_likes"),
        ),
    ];
    let first = send_results(&app, &v, results.clone()).await;
    assert_eq!(
        (first["recorded"].as_u64(), first["duplicates"].as_u64()),
        (Some(2), Some(0))
    );
    let again = send_results(&app, &v, results).await;
    assert_eq!(
        (again["recorded"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2)),
        "{again}"
    );
    assert_eq!(
        app.count("select count(*) from validation_verdicts").await,
        2
    );
    // Changing a decisive verdict afterwards is refused.
    let flip = send_results(
        &app,
        &v,
        vec![verdict(
            &v,
            &batch["payloads"][0],
            "fail",
            Some("text_mismatch"),
        )],
    )
    .await;
    assert_eq!(flip["results"][0]["reason"], "already_answered");
    let outcomes: Vec<(String,)> =
        sqlx::query_as("select outcome from validation_tasks order by selected_at")
            .fetch_all(&app.server.state.db)
            .await
            .unwrap();
    assert_eq!(outcomes, [("pass".to_string(),), ("fail".to_string(),)]);
}

#[tokio::test]
async fn an_inconclusive_verdict_requeues_the_task_for_another_validator_and_costs_the_miner_nothing()
 {
    let app = app_selecting_everything(1).await;
    submit_posts(&app, &miner(), 1).await;
    let (a, b) = (validator(&app).await, validator(&app).await);
    let batch = poll(&app, &a, 10).await;
    let reply = send_results(
        &app,
        &a,
        vec![verdict(
            &a,
            &batch["payloads"][0],
            "inconclusive",
            Some("x_api_error"),
        )],
    )
    .await;
    assert_eq!(reply["recorded"], 1);
    assert_eq!(
        poll(&app, &a, 10).await["available"],
        false,
        "a gets other validators' chance first"
    );
    let again = poll(&app, &b, 10).await;
    assert_eq!(leased_ids(&again), leased_ids(&batch));
    let outcome: Option<String> = sqlx::query_scalar("select outcome from validation_tasks")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(outcome, None, "inconclusive decides nothing");
    send_results(
        &app,
        &b,
        vec![verdict(&b, &again["payloads"][0], "pass", None)],
    )
    .await;
    let outcome: Option<String> = sqlx::query_scalar("select outcome from validation_tasks")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(outcome.as_deref(), Some("pass"));
}

#[tokio::test]
async fn reference_verdicts_with_validator_side_codes_are_inconclusive() {
    let app = app_selecting_everything(1).await;
    submit_posts(&app, &miner(), 1).await;
    let v = validator(&app).await;
    let batch = poll(&app, &v, 10).await;
    let mut item = verdict(
        &v,
        &batch["payloads"][0],
        "fail",
        Some("analyzer_unavailable"),
    );
    item.as_object_mut().unwrap().remove("outcome");
    let reply = send_results(&app, &v, vec![item]).await;
    assert_eq!(reply["results"][0]["outcome"], "inconclusive", "{reply}");
}

#[tokio::test]
async fn unknown_foreign_and_contradictory_verdicts_are_rejected_one_by_one() {
    let app = app_selecting_everything(1).await;
    let miner = miner();
    submit_posts(&app, &miner, 3).await;
    let (a, b) = (validator(&app).await, validator(&app).await);
    let mine = poll(&app, &a, 2).await;
    let theirs = poll(&app, &b, 1).await;
    let mut wrong_miner = verdict(&a, &mine["payloads"][1], "pass", None);
    wrong_miner["miner_hotkey"] = json!(b.ss58());
    let mut wrong_validator = verdict(&a, &mine["payloads"][1], "pass", None);
    wrong_validator["validator_hotkey"] = json!(b.ss58());
    let mut contradictory = verdict(&a, &mine["payloads"][1], "fail", Some("text_mismatch"));
    contradictory["success"] = json!(true);
    let mut unknown = verdict(&a, &mine["payloads"][0], "pass", None);
    unknown["validation_id"] = json!(uuid::Uuid::new_v4().to_string());
    let mut not_uuid = unknown.clone();
    not_uuid["validation_id"] = json!("42");
    let reply = send_results(
        &app,
        &a,
        vec![
            verdict(&a, &mine["payloads"][0], "pass", None),
            unknown,
            not_uuid,
            verdict(&a, &theirs["payloads"][0], "pass", None),
            wrong_miner,
            wrong_validator,
            contradictory,
        ],
    )
    .await;
    let reasons: Vec<&str> = reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        reasons,
        [
            "-",
            "unknown_validation_id",
            "unknown_validation_id",
            "not_leased",
            "miner_mismatch",
            "validator_mismatch",
            "invalid_outcome"
        ]
    );
    assert_eq!(
        (reply["recorded"].as_u64(), reply["rejected"].as_u64()),
        (Some(1), Some(6))
    );
}

#[tokio::test]
async fn a_validator_never_receives_its_own_posts() {
    let app = app_selecting_everything(1).await;
    let both = validator(&app).await;
    server::db::hotkeys::add(&app.server.state.db, both.ss58(), Role::Miner)
        .await
        .unwrap();
    submit_posts(&app, &both, 2).await;
    assert_eq!(poll(&app, &both, 10).await["available"], false);
    let other = validator(&app).await;
    assert_eq!(leased_ids(&poll(&app, &other, 10).await).len(), 2);
}

#[tokio::test]
async fn with_three_verdicts_per_task_three_validators_each_get_it_once_and_the_majority_decides() {
    let app = app_selecting_everything(3).await;
    let ids = submit_posts(&app, &miner(), 1).await;
    let validators = futures_validators(&app, 4).await;
    let mut batches = Vec::new();
    for v in &validators[..3] {
        let batch = poll(&app, v, 10).await;
        assert_eq!(leased_ids(&batch), ids);
        assert_eq!(
            poll(&app, v, 10).await["available"],
            false,
            "one slot per validator"
        );
        batches.push(batch);
    }
    assert_eq!(
        poll(&app, &validators[3], 10).await["available"],
        false,
        "all three slots are out"
    );
    send_results(
        &app,
        &validators[0],
        vec![verdict(
            &validators[0],
            &batches[0]["payloads"][0],
            "fail",
            Some("text_mismatch"),
        )],
    )
    .await;
    send_results(
        &app,
        &validators[1],
        vec![verdict(
            &validators[1],
            &batches[1]["payloads"][0],
            "pass",
            None,
        )],
    )
    .await;
    let undecided: Option<String> = sqlx::query_scalar("select outcome from validation_tasks")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(undecided, None, "one each way decides nothing");
    send_results(
        &app,
        &validators[2],
        vec![verdict(
            &validators[2],
            &batches[2]["payloads"][0],
            "fail",
            Some("text_mismatch"),
        )],
    )
    .await;
    let decided: Option<String> = sqlx::query_scalar("select outcome from validation_tasks")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(decided.as_deref(), Some("fail"));
}

#[tokio::test]
async fn only_registered_validators_may_use_the_validator_endpoints() {
    let app = app_selecting_everything(1).await;
    let not_validator = miner();
    let response = not_validator
        .get(&app.client, &app.url("/v2/validation"))
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let response = not_validator.get(&app.client, &app.url("/v2/scores")).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let body = json!({"validator_hotkey": not_validator.ss58(), "results": []});
    let response = not_validator
        .post_json(&app.client, &app.url("/v2/validation_result"), &body)
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let unsigned = app
        .client
        .get(app.url("/v2/validation"))
        .send()
        .await
        .unwrap();
    assert_eq!(unsigned.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn bad_limits_and_unreadable_batches_are_422() {
    let app = app_selecting_everything(1).await;
    let v = validator(&app).await;
    for query in ["limit=0", "limit=101", "limit=ten"] {
        let (status, body) = json(
            v.get(&app.client, &app.url(&format!("/v2/validation?{query}")))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(body["detail"][0]["field"], "limit");
    }
    let body = json!({"validator_hotkey": v.ss58(), "results": [{"validation_id": "x"}]});
    let (status, reply) = json(
        v.post_json(&app.client, &app.url("/v2/validation_result"), &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["detail"][0]["field"], "results[0]");
    let other = json!({"validator_hotkey": miner().ss58(), "results": [json!({})]});
    let response = v
        .post_json(&app.client, &app.url("/v2/validation_result"), &other)
        .await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the items are read before the signer check"
    );
}
