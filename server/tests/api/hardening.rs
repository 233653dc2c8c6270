//! Regression tests of issue 13's hardening findings, each reproduced against the real
//! server over HTTP with a real PostgreSQL: unstorable text (NUL), unbounded verdicts, and
//! timeouts that must mean "nothing was written".

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::Settings;
use sqlx::{Connection, PgConnection};
use testkit::{AuthForm, Signer, sample_submission};
use tokio::task::JoinSet;

use crate::helpers::{App, json, miner, unique_post_id};
use crate::validation::{app_selecting_everything, poll, send_results, submit_posts, validator};

#[tokio::test]
async fn nul_in_content_or_a_token_name_is_a_422_naming_the_field_and_nothing_is_stored() {
    let app = App::start().await;
    let miner = miner();
    let mut body = serde_json::to_value(sample_submission(miner.ss58(), unique_post_id())).unwrap();
    body["content"] = json!("SN45 looks \u{0} strong");
    let (status, reply) = json(app.submit(&miner, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["detail"][0]["field"], "content", "{reply}");
    assert!(
        reply["detail"][0]["message"]
            .as_str()
            .unwrap()
            .contains("NUL")
    );

    let mut body = serde_json::to_value(sample_submission(miner.ss58(), unique_post_id())).unwrap();
    body["tokens"] = json!({"talisman_ai": 1.0, "ap\u{0}ex": 0.5});
    let (status, reply) = json(app.submit(&miner, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["detail"][0]["field"], "tokens.ap\\u0000ex", "{reply}");
    assert_eq!(app.count("select count(*) from submissions").await, 0);

    // The same miner's honest post goes through: nothing was spent on the refusals.
    let (status, reply) = json(
        app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["submissions_in_window"], 1);
}

fn verdict_with(validator: &str, payload: &Value, reason: Value) -> Value {
    json!({
        "validator_hotkey": validator,
        "validation_id": payload["validation_id"],
        "miner_hotkey": payload["miner_hotkey"],
        "success": false,
        "outcome": "fail",
        "failure_reason": reason,
    })
}

#[tokio::test]
async fn nul_in_every_text_of_a_verdict_is_stored_replaced_and_the_rest_of_the_batch_is_recorded() {
    let app = app_selecting_everything(1).await;
    let miner = miner();
    submit_posts(&app, &miner, 3).await;
    let validator = validator(&app).await;
    let batch = poll(&app, &validator, 10).await;
    let payloads = batch["payloads"].as_array().unwrap();
    assert_eq!(payloads.len(), 3);
    let v = validator.ss58();
    let nul_everywhere = verdict_with(
        v,
        &payloads[0],
        json!({"code": "text\u{0}mismatch", "message": "found \u{0}", "post_id": "1\u{0}",
               "details": {"fo\u{0}und": "a\u{0}b", "also": [{"code": "\u{0}"}]}}),
    );
    let mut nul_miner = verdict_with(v, &payloads[1], json!({"code": "text_mismatch"}));
    nul_miner["miner_hotkey"] = json!(format!(
        "{}\u{0}",
        payloads[1]["miner_hotkey"].as_str().unwrap()
    ));
    let mut nul_id = verdict_with(v, &payloads[1], json!({"code": "text_mismatch"}));
    nul_id["validation_id"] = json!("\u{0}");
    let honest = verdict_with(
        v,
        &payloads[2],
        json!({"code": "text_mismatch", "message": "m"}),
    );

    let reply = send_results(
        &app,
        &validator,
        vec![nul_everywhere, nul_miner, nul_id, honest],
    )
    .await;
    let statuses: Vec<&str> = reply["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["recorded", "rejected", "rejected", "recorded"],
        "{reply}"
    );
    assert_eq!(reply["results"][1]["reason"], "miner_mismatch");
    assert_eq!(reply["results"][2]["reason"], "unknown_validation_id");

    let (code, message, details): (String, String, Value) = sqlx::query_as(
        "select failure_code, failure_message, failure_details from validation_verdicts where validation_id = $1::uuid",
    )
    .bind(payloads[0]["validation_id"].as_str().unwrap())
    .fetch_one(&app.server.state.db)
    .await
    .unwrap();
    assert_eq!(code, "text\u{FFFD}mismatch");
    assert_eq!(message, "found \u{FFFD}");
    assert_eq!(details["fo\u{FFFD}und"], "a\u{FFFD}b");
    assert_eq!(details["also"][0]["code"], "\u{FFFD}");
}

#[tokio::test]
async fn a_verdict_quoting_25000_control_characters_is_stored_bounded() {
    let app = app_selecting_everything(1).await;
    let miner = miner();
    submit_posts(&app, &miner, 2).await;
    let validator = validator(&app).await;
    let batch = poll(&app, &validator, 10).await;
    let payloads = batch["payloads"].as_array().unwrap();
    let found = "\u{1}".repeat(25_000);
    let huge = verdict_with(
        validator.ss58(),
        &payloads[0],
        json!({"code": "text_mismatch", "message": found, "details": {"expected": "x", "found": found}}),
    );
    let honest = verdict_with(
        validator.ss58(),
        &payloads[1],
        json!({"code": "text_mismatch"}),
    );
    let reply = send_results(&app, &validator, vec![huge, honest]).await;
    assert_eq!(reply["recorded"], 2, "{reply}");
    let (message, details_bytes): (String, i32) = sqlx::query_as(
        "select failure_message, octet_length(failure_details::text) from validation_verdicts where validation_id = $1::uuid",
    )
    .bind(payloads[0]["validation_id"].as_str().unwrap())
    .fetch_one(&app.server.state.db)
    .await
    .unwrap();
    assert_eq!(
        message.chars().count(),
        protocol::verdict::MAX_MESSAGE_CHARS
    );
    assert!(
        (details_bytes as usize) <= protocol::verdict::MAX_DETAILS_BYTES,
        "{details_bytes}"
    );
}

/// Backends of `database` other than `except` waiting for a lock.
async fn lock_waiters(admin: &mut PgConnection, database: &str, except: i32) -> i64 {
    sqlx::query_scalar(
        "select count(*) from pg_stat_activity where datname = $1 and pid <> $2 and wait_event_type = 'Lock'",
    )
    .bind(database)
    .bind(except)
    .fetch_one(admin)
    .await
    .unwrap()
}

#[tokio::test]
async fn behind_a_table_lock_every_submit_answers_503_nothing_is_stored_and_no_backend_keeps_waiting()
 {
    let app = App::with_settings(Settings {
        request_timeout: Duration::from_secs(2),
        ..Settings::default()
    })
    .await;
    // Another session holds the submissions table, as a long migration or a stuck
    // maintenance job would.
    let mut holder = PgConnection::connect(&app._db.url).await.unwrap();
    sqlx::query("begin").execute(&mut holder).await.unwrap();
    sqlx::query("lock table submissions in access exclusive mode")
        .execute(&mut holder)
        .await
        .unwrap();
    let holder_pid: i32 = sqlx::query_scalar("select pg_backend_pid()")
        .fetch_one(&mut holder)
        .await
        .unwrap();

    let mut submits = JoinSet::new();
    for _ in 0..8 {
        let client = app.client.clone();
        let url = app.url("/v2/submit");
        submits.spawn(async move {
            let miner = miner();
            let body = sample_submission(miner.ss58(), unique_post_id());
            let response = miner.post_json(&client, &url, &body).await;
            let status = response.status();
            (status, response.text().await.unwrap())
        });
    }
    while let Some(answer) = submits.join_next().await {
        let (status, body) = answer.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        let body: Value = serde_json::from_str(&body).expect("the JSON error shape");
        assert!(body["detail"].is_string(), "{body}");
    }

    // Every 503 is answered: no backend of the server still waits on the lock, so none can
    // commit once it is released.
    let mut admin = PgConnection::connect(&testkit::admin_url()).await.unwrap();
    assert_eq!(lock_waiters(&mut admin, &app._db.name, holder_pid).await, 0);
    sqlx::query("rollback").execute(&mut holder).await.unwrap();
    assert_eq!(app.count("select count(*) from submissions").await, 0);
    assert_eq!(app.count("select count(*) from window_quota").await, 0);
    assert_eq!(app.count("select count(*) from epistula_nonces").await, 0);

    // And the server serves again at once.
    let miner = miner();
    let (status, reply) = json(
        app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn with_epistula_required_for_miners_x_auth_is_refused_there_and_validators_keep_x_auth() {
    let app = App::with_settings(Settings {
        miner_auth: server::config::AcceptedAuth::Epistula,
        ..Settings::default()
    })
    .await;
    // An observed set of X-Auth headers (they sign only a timestamp) no longer submits.
    let x_auth = Signer::new(AuthForm::XAuth);
    let (status, reply) = json(
        app.submit(&x_auth, &sample_submission(x_auth.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(
        reply["detail"]
            .as_str()
            .unwrap()
            .contains("PULSE_MINER_AUTH"),
        "{reply}"
    );
    let (status, _) = json(
        x_auth
            .get(
                &app.client,
                &app.url(&format!("/v2/miners/{}", x_auth.ss58())),
            )
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.count("select count(*) from submissions").await, 0);

    // Epistula submits; the validators' routes still take X-Auth (their own setting).
    let epistula = miner();
    let (status, reply) = json(
        app.submit(
            &epistula,
            &sample_submission(epistula.ss58(), unique_post_id()),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    let validator = Signer::new(AuthForm::XAuth);
    server::db::hotkeys::add(
        &app.server.state.db,
        validator.ss58(),
        server::config::Role::Validator,
    )
    .await
    .unwrap();
    let (status, reply) = json(
        validator
            .get(&app.client, &app.url("/v2/validation?limit=1"))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn with_epistula_required_for_validators_x_auth_cannot_lease_or_record() {
    let app = App::with_settings(Settings {
        validator_auth: server::config::AcceptedAuth::Epistula,
        validation_probability: 1.0,
        ..Settings::default()
    })
    .await;
    let miner = miner();
    submit_posts(&app, &miner, 1).await;
    let validator = Signer::new(AuthForm::XAuth);
    server::db::hotkeys::add(
        &app.server.state.db,
        validator.ss58(),
        server::config::Role::Validator,
    )
    .await
    .unwrap();
    for path in ["/v2/validation?limit=1", "/v2/scores"] {
        let (status, reply) = json(validator.get(&app.client, &app.url(path)).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {reply}");
    }
    let body = json!({"validator_hotkey": validator.ss58(), "results": [{
        "validator_hotkey": validator.ss58(), "validation_id": uuid::Uuid::new_v4().to_string(),
        "miner_hotkey": miner.ss58(), "success": false, "outcome": "fail",
        "failure_reason": {"code": "post_not_found"}}]});
    let (status, reply) = json(
        validator
            .post_json(&app.client, &app.url("/v2/validation_result"), &body)
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert_eq!(
        app.count("select count(*) from validation_slots where leased_by is not null")
            .await,
        0
    );
    // Miners keep X-Auth by default.
    let x_auth = Signer::new(AuthForm::XAuth);
    let (status, reply) = json(
        app.submit(&x_auth, &sample_submission(x_auth.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

#[tokio::test]
async fn with_an_identity_set_epistula_must_be_signed_for_this_server() {
    const IDENTITY: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let app = App::with_settings(Settings {
        server_identity: Some(IDENTITY.to_owned()),
        ..Settings::default()
    })
    .await;
    let miner = miner();
    let send = |signed_for: Option<&'static str>| {
        let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
        let headers = protocol::auth::sign_epistula(
            &miner.hotkey,
            &body,
            signed_for,
            std::time::SystemTime::now(),
        );
        app.client
            .post(app.url("/v2/submit"))
            .headers(headers)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for wrong in [
        None,
        Some("5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"),
    ] {
        let (status, reply) = json(send(wrong).await.unwrap()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{wrong:?}: {reply}");
        assert!(
            reply["detail"]
                .as_str()
                .unwrap()
                .contains("Epistula-Signed-For"),
            "{reply}"
        );
    }
    let (status, reply) = json(send(Some(IDENTITY)).await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(app.count("select count(*) from submissions").await, 1);

    // Without an identity, Signed-For is whatever the client signed (the reference sends
    // none): unchanged.
    let open = App::start().await;
    let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
    let headers = protocol::auth::sign_epistula(
        &miner.hotkey,
        &body,
        Some("anyone"),
        std::time::SystemTime::now(),
    );
    let response = open
        .client
        .post(open.url("/v2/submit"))
        .headers(headers)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_path_parameter_that_does_not_decode_gets_the_json_error_shape() {
    let app = App::start().await;
    let miner = miner();
    for path in ["/v2/miners/%00%ff", "/v2/miners/%ff", "/v2/miners/%00"] {
        let response = miner.get(&app.client, &app.url(path)).await;
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let (_, body) = json(response).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(content_type.as_deref(), Some("application/json"), "{path}");
        assert_eq!(body["detail"][0]["field"], "hotkey", "{path}: {body}");
    }
}
