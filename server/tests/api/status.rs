//! `GET /v2/status`.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use server::AppState;
use server::chain::BlockSource;
use testkit::{AuthForm, Signer, TestDb, TestServer, sample_submission};

use crate::helpers::{App, START_BLOCK, assert_window_fields, json, miner, unique_post_id};

#[tokio::test]
async fn public_status_gives_the_window_fields_and_no_quota() {
    let app = App::start().await;
    let (status, body) = json(app.client.get(app.url("/v2/status")).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["max_submissions"], 5);
    assert_window_fields(&body, START_BLOCK);
    assert!(body.get("submissions_in_window").is_none());
}

#[tokio::test]
async fn status_follows_the_block_source() {
    let app = App::start().await;
    app.server.blocks().set(123_456);
    let (_, body) = json(app.client.get(app.url("/v2/status")).send().await.unwrap()).await;
    assert_window_fields(&body, 123_456);
}

#[tokio::test]
async fn signed_status_gives_the_signers_quota_in_both_forms() {
    let app = App::start().await;
    for form in [AuthForm::Epistula, AuthForm::XAuth] {
        let signer = Signer::new(form);
        for _ in 0..2 {
            app.submit(&signer, &sample_submission(signer.ss58(), unique_post_id()))
                .await;
        }
        let (status, body) = json(signer.get(&app.client, &app.url("/v2/status")).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["hotkey"], signer.ss58());
        assert_eq!(body["submissions_in_window"], 2);
        assert_eq!(body["remaining_in_window"], 3);
    }
}

#[tokio::test]
async fn status_with_a_bad_signature_is_401() {
    let app = App::start().await;
    let signer = miner();
    let headers = signer.headers_at(b"", SystemTime::now() - Duration::from_secs(1000));
    let response = app
        .client
        .get(app.url("/v2/status"))
        .headers(headers)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn status_is_503_with_retry_after_when_the_block_is_unknown() {
    let db = TestDb::new().await;
    // A clock whose genesis is in the future has no current block.
    let state = AppState::new(
        db.pool().await,
        testkit::test_settings(),
        BlockSource::clock(i64::MAX / 4, 12.0),
    );
    let server = TestServer::start_with_state(state).await;
    let response = reqwest::get(server.url("/v2/status")).await.unwrap();
    assert_eq!(response.headers()["retry-after"], "5");
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["detail"].as_str().unwrap().contains("GENESIS_UNIX"),
        "{body}"
    );
}
