//! `GET /v2/scores` and `GET /v2/miners/{hotkey}`: window scores, failure costs,
//! stability once published, and what a miner sees.

use reqwest::StatusCode;
use serde_json::Value;
use testkit::Signer;

use crate::helpers::{App, json, miner};
use crate::validation::{
    app_selecting_everything, poll, send_results, submit_posts, validator, verdict,
};

async fn scores(app: &App, v: &Signer, query: &str) -> (StatusCode, Value) {
    json(
        v.get(&app.client, &app.url(&format!("/v2/scores{query}")))
            .await,
    )
    .await
}

async fn report(app: &App, signer: &Signer, hotkey: &str) -> (StatusCode, Value) {
    json(
        signer
            .get(&app.client, &app.url(&format!("/v2/miners/{hotkey}")))
            .await,
    )
    .await
}

/// Fails the first of `miner`'s posts that `v` can lease, passes the rest.
async fn judge(app: &App, v: &Signer, fail_miner: &str) {
    let batch = poll(app, v, 100).await;
    let mut failed = false;
    let mut results = Vec::new();
    for payload in batch["payloads"].as_array().unwrap() {
        if !failed && payload["miner_hotkey"] == fail_miner {
            failed = true;
            results.push(verdict(v, payload, "fail", Some("metric_inflation_likes")));
        } else {
            results.push(verdict(v, payload, "pass", None));
        }
    }
    send_results(app, v, results).await;
}

#[tokio::test]
async fn scores_are_for_the_previous_window_and_a_failure_costs_the_miner_its_credits() {
    let app = app_selecting_everything(1).await;
    let (honest, cheat) = (miner(), miner());
    submit_posts(&app, &honest, 3).await;
    submit_posts(&app, &cheat, 3).await;
    let v = validator(&app).await;
    judge(&app, &v, cheat.ss58()).await;
    app.server.blocks().set(1_120); // window 11

    let (status, body) = scores(&app, &v, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (
            body["window"].as_u64(),
            body["block_window_start"].as_u64(),
            body["block_window_end"].as_u64()
        ),
        (Some(10), Some(1000), Some(1099))
    );
    assert_eq!(body["current_block"], 1120);
    assert_eq!(body["blocks_per_window"], 100);
    let honest_score = body["scores"][honest.ss58()].as_f64().unwrap();
    let cheat_score = body["scores"][cheat.ss58()].as_f64().unwrap();
    let (_, honest_seen) = report(&app, &honest, honest.ss58()).await;
    let (_, seen) = report(&app, &cheat, cheat.ss58()).await;
    let honest_reward = honest_seen["window_scores"][0]["reward"].as_f64().unwrap();
    let cheat_reward = seen["window_scores"][0]["reward"].as_f64().unwrap();
    // The honest miner's score is its reward. The failed post earns the cheat nothing, and
    // the failure's 20 post credits, over its 3 posts, take the rest of its window.
    assert!(honest_score > 0.5 && honest_score <= 1.0, "{honest_score}");
    assert_eq!(honest_score, honest_reward);
    assert_eq!(cheat_score, 0.0);
    // Both submitted the same kind of posts a moment apart: 2 of the cheat's 3 earn.
    assert!((honest_reward * 2.0 / 3.0 - cheat_reward).abs() < 1e-3);

    let window = &seen["window_scores"][0];
    assert_eq!(
        (
            window["window"].as_u64(),
            window["posts"].as_u64(),
            window["failed_validations"].as_u64()
        ),
        (Some(10), Some(3), Some(1))
    );
    assert_eq!(
        (&window["penalty_factor"], &window["credibility"]),
        (&0.0.into(), &0.0.into())
    );
    let failed: Vec<&Value> = seen["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["validation"] == "fail")
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(
        failed[0]["verdicts"][0]["failure_reason"]["code"],
        "metric_inflation_likes"
    );
    assert_eq!(
        failed[0]["verdicts"][0]["failure_reason"]["details"]["found"],
        2
    );
    assert_eq!(failed[0]["counted_in_window"], 10);
}

#[tokio::test]
async fn published_scores_never_change_and_a_late_failure_counts_in_the_window_it_arrives() {
    let app = app_selecting_everything(1).await;
    let late = miner();
    submit_posts(&app, &late, 2).await;
    let v = validator(&app).await;
    app.server.blocks().set(1_150); // window 11
    let (_, first) = scores(&app, &v, "?window=10").await;
    assert_eq!(first["published_block"], 1150);

    // The verdict arrives after window 10 was published.
    judge(&app, &v, late.ss58()).await;
    let (_, again) = scores(&app, &v, "?window=10").await;
    assert_eq!(
        again,
        {
            let mut f = first.clone();
            f["current_block"] = again["current_block"].clone();
            f
        },
        "published scores are frozen"
    );

    app.server.blocks().set(1_250); // window 12
    let (_, eleven) = scores(&app, &v, "").await;
    assert_eq!(eleven["window"], 11);
    assert_eq!(
        eleven["scores"][late.ss58()],
        0.0,
        "the failure counts in window 11, where the miner has no posts"
    );
    let (_, seen) = report(&app, &late, late.ss58()).await;
    let failed = seen["submissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["validation"] == "fail")
        .unwrap();
    assert_eq!(failed["window"], 10);
    assert_eq!(failed["counted_in_window"], 11);
}

#[tokio::test]
async fn a_failure_decided_before_publication_counts_in_its_posts_window() {
    let app = app_selecting_everything(1).await;
    let m = miner();
    submit_posts(&app, &m, 1).await;
    let v = validator(&app).await;
    app.server.blocks().set(1_120); // window 11: validated after its window closed, before publication
    judge(&app, &v, m.ss58()).await;
    let (_, body) = scores(&app, &v, "").await;
    let (_, seen) = report(&app, &m, m.ss58()).await;
    let reward = seen["window_scores"][0]["reward"].as_f64().unwrap();
    assert!((body["scores"][m.ss58()].as_f64().unwrap() - reward * 0.1).abs() < 1e-9);
}

#[tokio::test]
async fn inconclusive_verdicts_never_lower_a_score() {
    let app = app_selecting_everything(1).await;
    let m = miner();
    submit_posts(&app, &m, 1).await;
    let v = validator(&app).await;
    let batch = poll(&app, &v, 10).await;
    send_results(
        &app,
        &v,
        vec![verdict(
            &v,
            &batch["payloads"][0],
            "inconclusive",
            Some("analyzer_error"),
        )],
    )
    .await;
    // Undecided, window 10 is final at its deadline, 50 blocks after its end.
    app.server.blocks().set(1_150);
    let (_, body) = scores(&app, &v, "").await;
    assert_eq!(body["window"], 10);
    let (_, seen) = report(&app, &m, m.ss58()).await;
    assert_eq!(seen["window_scores"][0]["penalty_factor"], 1.0);
    assert_eq!(body["scores"][m.ss58()], seen["window_scores"][0]["reward"]);
}

#[tokio::test]
async fn concurrent_first_requests_publish_once_and_agree() {
    let app = std::sync::Arc::new(app_selecting_everything(1).await);
    submit_posts(&app, &miner(), 2).await;
    let v = std::sync::Arc::new(validator(&app).await);
    app.server.blocks().set(1_150);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (app, v) = (app.clone(), v.clone());
        tasks.spawn(async move { scores(&app, &v, "").await.1 });
    }
    let replies = tasks.join_all().await;
    assert!(replies.windows(2).all(|w| w[0] == w[1]), "{replies:?}");
    assert_eq!(replies[0]["window"], 10);
    assert_eq!(
        app.count("select count(*) from window_publications").await,
        1
    );
}

#[tokio::test]
async fn open_windows_and_windows_before_the_first_are_refused() {
    let app = app_selecting_everything(1).await;
    let v = validator(&app).await;
    for query in ["?window=10", "?window=11", "?window=x"] {
        let (status, body) = scores(&app, &v, query).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["detail"][0]["field"], "window");
    }
    app.server.blocks().set(42);
    let (status, _) = scores(&app, &v, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_miners_report_is_for_that_miner_and_validators_only() {
    let app = App::start().await;
    let (m, stranger) = (miner(), miner());
    let (status, body) = report(&app, &m, m.ss58()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["hotkey"], m.ss58());
    assert_eq!(body["remaining_in_window"], 5);
    let (status, _) = report(&app, &stranger, m.ss58()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let v = validator(&app).await;
    assert_eq!(report(&app, &v, m.ss58()).await.0, StatusCode::OK);
    assert_eq!(
        report(&app, &m, "not-an-address").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}
