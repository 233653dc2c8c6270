//! Issue 13's incentive findings against the running server: a window waits for its
//! verdicts (a post sent at a window's end is judged in its own window), asking never makes
//! a window final, a failure lowers the following windows through credibility, a post
//! submitted again in a later window is a copy, and hotkeys that submit a post in the same
//! window share it.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Signer, sample_submission};
use tokio::task::JoinSet;

use crate::helpers::{App, json, miner, unique_post_id};
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

async fn window_row(app: &App, m: &Signer, window: u64) -> Value {
    let (status, report) = json(
        m.get(&app.client, &app.url(&format!("/v2/miners/{}", m.ss58())))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    report["window_scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["window"] == window)
        .unwrap_or_else(|| panic!("no score of window {window}: {report}"))
        .clone()
}

/// Answers every task `v` can lease: `outcome` for `m`'s posts, pass for the others.
async fn judge_all(app: &App, v: &Signer, m: &Signer, outcome: &str) {
    let batch = poll(app, v, 100).await;
    let results = batch["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            if p["miner_hotkey"] == m.ss58() && outcome == "fail" {
                verdict(v, p, "fail", Some("post_not_found"))
            } else {
                verdict(v, p, "pass", None)
            }
        })
        .collect::<Vec<_>>();
    assert!(!results.is_empty(), "nothing to judge");
    send_results(app, v, results).await;
}

#[tokio::test]
async fn a_fabrication_sent_at_a_windows_end_is_judged_in_its_own_window() {
    let app = app_selecting_everything(1).await;
    let (honest, cheat) = (miner(), miner());
    app.server.blocks().set(1_098); // the last blocks of window 10
    submit_posts(&app, &honest, 1).await;
    submit_posts(&app, &cheat, 1).await;
    let v = validator(&app).await;
    app.server.blocks().set(1_101); // window 10 closed, its posts not judged yet

    // Not final: an explicit request is refused and publishes nothing; the default answers
    // the window before, which is final.
    let (status, body) = scores(&app, &v, "?window=10").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["detail"][0]["field"], "window");
    let message = body["detail"][0]["msg"].to_string() + &body.to_string();
    assert!(message.contains("not final"), "{body}");
    assert!(message.contains("1150"), "the deadline is named: {body}");
    let (status, body) = scores(&app, &v, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["window"], 9);
    assert_eq!(
        app.count("select count(*) from window_publications where window_index = 10")
            .await,
        0
    );

    // The verdicts arrive in window 11, within the grace: the failure counts in window 10.
    app.server.blocks().set(1_120);
    judge_all(&app, &v, &cheat, "fail").await;
    let (status, body) = scores(&app, &v, "").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["window"], 10);
    let cheat_row = window_row(&app, &cheat, 10).await;
    assert_eq!(cheat_row["failed_validations"], 1, "{cheat_row}");
    let reward = cheat_row["reward"].as_f64().unwrap();
    let cheat_score = body["scores"][cheat.ss58()].as_f64().unwrap();
    assert!((cheat_score - reward * 0.1).abs() < 1e-12, "{body}");
    assert!(cheat_score < body["scores"][honest.ss58()].as_f64().unwrap() / 2.0);
}

#[tokio::test]
async fn asking_never_freezes_a_window_and_the_deadline_does() {
    let app = app_selecting_everything(1).await;
    let m = miner();
    submit_posts(&app, &m, 2).await;
    let v = validator(&app).await;
    // Many validators asking at once, just after the close, freeze nothing.
    app.server.blocks().set(1_100);
    let app = Arc::new(app);
    let v = Arc::new(v);
    let mut asks = JoinSet::new();
    for query in ["?window=10", "?window=10", "", "?window=0", "?window=10"] {
        let (app, v) = (app.clone(), v.clone());
        asks.spawn(async move { scores(&app, &v, query).await });
    }
    for (status, body) in asks.join_all().await {
        assert_ne!(body["window"], 10, "{status} {body}");
    }
    assert_eq!(
        app.count("select count(*) from window_publications where window_index = 10")
            .await,
        0
    );
    // One block before the deadline it still waits; at the deadline it is final although
    // nobody judged the posts, and a failure decided afterwards counts where it arrives.
    app.server.blocks().set(1_149);
    assert_eq!(
        scores(&app, &v, "?window=10").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.server.blocks().set(1_150);
    let (status, body) = scores(&app, &v, "?window=10").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["published_block"], 1150);
    judge_all(&app, &v, &m, "fail").await;
    let counted: Vec<i64> =
        sqlx::query_scalar("select counted_window from validation_tasks where outcome = 'fail'")
            .fetch_all(&app.server.state.db)
            .await
            .unwrap();
    assert_eq!(counted, vec![11, 11]);
}

#[tokio::test]
async fn a_failure_lowers_the_following_windows_through_credibility() {
    let app = app_selecting_everything(1).await;
    let (m, control) = (miner(), miner());
    let v = validator(&app).await;
    // Window 10: one of m's posts fails.
    submit_posts(&app, &m, 1).await;
    submit_posts(&app, &control, 1).await;
    judge_all(&app, &v, &m, "fail").await;
    // Windows 11 and 13: honest posts, all passed.
    for block in [1_150, 1_350] {
        app.server.blocks().set(block);
        submit_posts(&app, &m, 1).await;
        submit_posts(&app, &control, 1).await;
        judge_all(&app, &v, &m, "pass").await;
    }
    app.server.blocks().set(1_420);
    for (window, credibility) in [(11, 1.0 / 12.0), (13, 3.0 / 12.0)] {
        let (status, body) = scores(&app, &v, &format!("?window={window}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let row = window_row(&app, &m, window).await;
        assert_eq!(
            (&row["failed_validations"], &row["penalty_factor"]),
            (&0.into(), &1.0.into())
        );
        assert!(
            (row["credibility"].as_f64().unwrap() - credibility).abs() < 1e-12,
            "{row}"
        );
        let score = body["scores"][m.ss58()].as_f64().unwrap();
        let reward = row["reward"].as_f64().unwrap();
        assert!((score - reward * credibility).abs() < 1e-12, "{body}");
        assert_eq!(window_row(&app, &control, window).await["credibility"], 1.0);
    }
}

#[tokio::test]
async fn a_post_submitted_again_in_a_later_window_is_a_copy_and_scores_zero() {
    let app = Arc::new(app_selecting_everything(1).await);
    let first = miner();
    let post_id = unique_post_id();
    app.server.blocks().set(950); // window 9
    let (status, body) = json(
        app.submit(&first, &sample_submission(first.ss58(), post_id))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // In window 10, once window 9's posts are public, eight copiers race each other with
    // the same post.
    app.server.blocks().set(1_050);
    let copiers: Vec<Signer> = (0..8).map(|_| miner()).collect();
    let mut racing = JoinSet::new();
    for copier in copiers.clone() {
        let app = app.clone();
        racing.spawn(async move {
            json(
                app.submit(&copier, &sample_submission(copier.ss58(), post_id))
                    .await,
            )
            .await
        });
    }
    for (status, body) in racing.join_all().await {
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let v = validator(&app).await;
    judge_all(&app, &v, &first, "pass").await;
    app.server.blocks().set(1_120);
    let (status, body) = scores(&app, &v, "?window=9").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        body["scores"][first.ss58()].as_f64().unwrap() > 0.3,
        "{body}"
    );
    let (status, body) = scores(&app, &v, "?window=10").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for copier in &copiers {
        assert_eq!(body["scores"][copier.ss58()], 0.0, "{body}");
        let row = window_row(&app, copier, 10).await;
        assert_eq!((&row["posts"], &row["copies"]), (&1.into(), &1.into()));
    }
    let first_row = window_row(&app, &first, 9).await;
    assert_eq!(first_row["copies"], 0);
}

#[tokio::test]
async fn hotkeys_that_submit_a_post_in_the_same_window_share_it_and_a_false_claim_takes_no_share() {
    let app = app_selecting_everything(1).await;
    // a and b find the same post in window 10; cheat claims it too, first, and fails
    // validation; control finds a post of its own with the same fields.
    let (a, b, cheat, control) = (miner(), miner(), miner(), miner());
    let shared = unique_post_id();
    for m in [&cheat, &a, &b] {
        let (status, body) = json(app.submit(m, &sample_submission(m.ss58(), shared)).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let own = unique_post_id();
    let (status, body) = json(
        app.submit(&control, &sample_submission(control.ss58(), own))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v = validator(&app).await;
    judge_all(&app, &v, &cheat, "fail").await;
    app.server.blocks().set(1_120);
    let (status, body) = scores(&app, &v, "?window=10").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let full = window_row(&app, &control, 10).await["reward"]
        .as_f64()
        .unwrap();
    assert!(full > 0.3, "{body}");
    // Two honest finders share the post: half each, not a third (the failed claim takes
    // nothing) and not nothing (being second is no copy).
    for m in [&a, &b] {
        let row = window_row(&app, m, 10).await;
        let reward = row["reward"].as_f64().unwrap();
        assert!((reward - full / 2.0).abs() < 1e-9, "{row} against {full}");
        assert_eq!(row["copies"], 0, "{row}");
    }
    let cheat_row = window_row(&app, &cheat, 10).await;
    assert_eq!(cheat_row["failed_validations"], 1, "{cheat_row}");
}
