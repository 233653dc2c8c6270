//! Authentication (401) and authorisation (403) of submissions.

use std::time::{Duration, SystemTime};

use protocol::Hotkey;
use protocol::auth::{self, header};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};
use server::config::{Registration, Role, Settings};
use testkit::{AuthForm, Signer, sample_submission};

use crate::helpers::{App, START_BLOCK, assert_window_fields, json, miner, unique_post_id};

async fn send(app: &App, headers: HeaderMap, body: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let response = app
        .client
        .post(app.url("/v2/submit"))
        .headers(headers)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    json(response).await
}

fn body_of(signer: &Signer) -> Vec<u8> {
    serde_json::to_vec(&sample_submission(signer.ss58(), unique_post_id())).unwrap()
}

#[tokio::test]
async fn an_unsigned_submission_is_401() {
    let app = App::start().await;
    let signer = miner();
    let (status, body) = send(&app, HeaderMap::new(), body_of(&signer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("missing authentication"),
        "{body}"
    );
    assert_window_fields(&body, START_BLOCK);
}

#[tokio::test]
async fn the_reference_x_auth_headers_are_accepted_and_may_be_reused_while_fresh() {
    let app = App::start().await;
    let signer = Signer::new(AuthForm::XAuth);
    let headers = signer.headers(b"");
    // The reference client reuses one signature across its retries.
    for _ in 0..2 {
        let (status, body) = send(&app, headers.clone(), body_of(&signer)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}

#[tokio::test]
async fn an_x_auth_signature_with_a_0x_prefix_is_accepted() {
    let app = App::start().await;
    let signer = Signer::new(AuthForm::XAuth);
    let mut headers = signer.headers(b"");
    let sig = headers[header::X_AUTH_SIGNATURE]
        .to_str()
        .unwrap()
        .to_string();
    headers.insert(
        header::X_AUTH_SIGNATURE,
        HeaderValue::from_str(&format!("0x{sig}")).unwrap(),
    );
    assert_eq!(
        send(&app, headers, body_of(&signer)).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn stale_and_future_signatures_are_401_in_both_forms() {
    let app = App::start().await;
    for form in [AuthForm::Epistula, AuthForm::XAuth] {
        let signer = Signer::new(form);
        let body = body_of(&signer);
        let old = signer.headers_at(&body, SystemTime::now() - Duration::from_secs(301));
        let (status, reply) = send(&app, old, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form:?}");
        assert!(reply["detail"].as_str().unwrap().contains("old"), "{reply}");

        let ahead = signer.headers_at(&body, SystemTime::now() + Duration::from_secs(65));
        let (status, reply) = send(&app, ahead, body.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{form:?}");
        assert!(
            reply["detail"].as_str().unwrap().contains("future"),
            "{reply}"
        );

        let slightly_old = signer.headers_at(&body, SystemTime::now() - Duration::from_secs(250));
        assert_eq!(
            send(&app, slightly_old, body).await.0,
            StatusCode::OK,
            "{form:?}"
        );
    }
    assert_eq!(app.count("select count(*) from submissions").await, 2);
}

#[tokio::test]
async fn a_replayed_epistula_request_is_401() {
    let app = App::start().await;
    let signer = miner();
    let body = body_of(&signer);
    let headers = signer.headers(&body);
    assert_eq!(
        send(&app, headers.clone(), body.clone()).await.0,
        StatusCode::OK
    );
    let (status, reply) = send(&app, headers, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply["detail"].as_str().unwrap().contains("already used"),
        "{reply}"
    );
}

#[tokio::test]
async fn an_epistula_signature_over_another_body_is_401() {
    let app = App::start().await;
    let signer = miner();
    let headers = signer.headers(&body_of(&signer));
    let (status, reply) = send(&app, headers, body_of(&signer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply["detail"],
        "signature does not match the signer and message"
    );
}

#[tokio::test]
async fn a_signature_by_another_key_or_an_invalid_address_is_401() {
    let app = App::start().await;
    let signer = Signer::new(AuthForm::XAuth);
    let impostor = Hotkey::generate();
    let mut headers = auth::sign_x_auth(&impostor, auth::DEFAULT_MESSAGE_PREFIX, SystemTime::now());
    headers.insert(
        header::X_AUTH_SS58_ADDRESS,
        HeaderValue::from_str(signer.ss58()).unwrap(),
    );
    assert_eq!(
        send(&app, headers.clone(), body_of(&signer)).await.0,
        StatusCode::UNAUTHORIZED
    );

    headers.insert(
        header::X_AUTH_SS58_ADDRESS,
        HeaderValue::from_static("5NotAnAddress"),
    );
    let (status, reply) = send(&app, headers, body_of(&signer)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        reply["detail"].as_str().unwrap().contains("address"),
        "{reply}"
    );
}

#[tokio::test]
async fn a_signer_that_is_not_the_miner_hotkey_is_403() {
    let app = App::start().await;
    let (signer, victim) = (miner(), miner());
    let post = sample_submission(victim.ss58(), unique_post_id());
    let (status, reply) = json(app.submit(&signer, &post).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        reply["detail"]
            .as_str()
            .unwrap()
            .contains("may submit only as itself"),
        "{reply}"
    );
    assert_window_fields(&reply, START_BLOCK);
    assert_eq!(app.count("select count(*) from submissions").await, 0);
}

#[tokio::test]
async fn with_closed_registration_only_registered_miners_may_submit() {
    let app = App::with_settings(Settings {
        registration: Registration::Closed,
        ..Settings::default()
    })
    .await;
    let (known, unknown) = (miner(), miner());
    server::db::hotkeys::add(&app.server.state.db, known.ss58(), Role::Miner)
        .await
        .unwrap();
    let (status, reply) = json(
        app.submit(
            &unknown,
            &sample_submission(unknown.ss58(), unique_post_id()),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        reply["detail"]
            .as_str()
            .unwrap()
            .contains("not registered as a miner"),
        "{reply}"
    );
    let (status, _) = json(
        app.submit(&known, &sample_submission(known.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_validator_hotkey_may_not_submit_even_with_open_registration() {
    let app = App::start().await;
    let validator = miner();
    server::db::hotkeys::add(&app.server.state.db, validator.ss58(), Role::Validator)
        .await
        .unwrap();
    let (status, reply) = json(
        app.submit(
            &validator,
            &sample_submission(validator.ss58(), unique_post_id()),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        reply["detail"]
            .as_str()
            .unwrap()
            .contains("registered as validator"),
        "{reply}"
    );

    // Registered in both roles, it may.
    server::db::hotkeys::add(&app.server.state.db, validator.ss58(), Role::Miner)
        .await
        .unwrap();
    let (status, _) = json(
        app.submit(
            &validator,
            &sample_submission(validator.ss58(), unique_post_id()),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn authentication_is_checked_before_the_body() {
    let app = App::start().await;
    let (status, _) = send(&app, HeaderMap::new(), b"not json".to_vec()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
