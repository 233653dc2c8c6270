//! `POST /v2/submit`: acceptance, idempotency, quota and validation.

use reqwest::{Response, StatusCode};
use serde_json::json;
use server::config::{Role, Settings};
use testkit::sample_submission;

use crate::helpers::{App, START_BLOCK, assert_window_fields, json, miner, unique_post_id};

#[tokio::test]
async fn a_new_post_is_accepted_with_a_receipt_and_the_window_fields() {
    let app = App::start().await;
    let miner = miner();
    let post = sample_submission(miner.ss58(), unique_post_id());
    let response = app.submit(&miner, &post).await;
    let headers = response.headers().clone();
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "new");
    assert_eq!(body["post_id"], post.post_id);
    assert!(body["selected_for_validation"].is_boolean());
    assert!(uuid::Uuid::parse_str(body["validation_id"].as_str().unwrap()).is_ok());
    assert!(body["x_validation_passed"].is_null());
    assert!(body["x_validation_error"].is_null());
    assert_eq!(body["submissions_in_window"], 1);
    assert_eq!(body["remaining_in_window"], 4);
    assert_window_fields(&body, START_BLOCK);
    assert_eq!(headers["x-ratelimit-limit"], "5");
    assert_eq!(headers["x-ratelimit-remaining"], "4");
    assert_eq!(headers["x-ratelimit-reset-block"], "1100");
    assert_eq!(headers["x-ratelimit-reset-seconds"], "600.0");
    assert_eq!(app.count("select count(*) from submissions").await, 1);
}

#[tokio::test]
async fn content_is_stored_normalised() {
    let app = App::start().await;
    let miner = miner();
    let mut post = sample_submission(miner.ss58(), unique_post_id());
    post.content = "  SN45\r\n\r\nto the\u{1f}moon \u{a0}🚀 cafe\u{301}\r".into();
    let (status, _) = json(app.submit(&miner, &post).await).await;
    assert_eq!(status, StatusCode::OK);
    let stored: String = sqlx::query_scalar("select content from submissions")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(stored, "SN45 to the moon 🚀 caf\u{e9}");
}

#[tokio::test]
async fn the_same_post_again_is_a_duplicate_with_the_original_receipt_and_uses_no_quota() {
    let app = App::with_settings(Settings {
        validation_probability: 1.0,
        ..Settings::default()
    })
    .await;
    let miner = miner();
    let post = sample_submission(miner.ss58(), unique_post_id());
    let (_, first) = json(app.submit(&miner, &post).await).await;
    assert_eq!(first["selected_for_validation"], true);

    // Same data, with content that differs only before normalisation.
    let mut again = post.clone();
    again.content = format!("  {}\r\n", post.content);
    let (status, second) = json(app.submit(&miner, &again).await).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["status"], "duplicate");
    assert_eq!(second["selected_for_validation"], true);
    assert_eq!(second["validation_id"], first["validation_id"]);
    assert_eq!(second["submissions_in_window"], 1);
    assert_eq!(app.count("select count(*) from submissions").await, 1);
    assert_eq!(app.count("select count(*) from validation_tasks").await, 1);
    assert_eq!(
        app.count("select coalesce(sum(used), 0)::bigint from window_quota")
            .await,
        1
    );
}

#[tokio::test]
async fn the_same_post_with_different_data_is_a_conflict_naming_the_fields() {
    let app = App::start().await;
    let miner = miner();
    let post = sample_submission(miner.ss58(), unique_post_id());
    assert_eq!(app.submit(&miner, &post).await.status(), StatusCode::OK);
    let mut changed = post.clone();
    changed.likes += 100;
    changed.score = 0.9;
    let (status, body) = json(app.submit(&miner, &changed).await).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["detail"]["post_id"], post.post_id);
    assert_eq!(
        body["detail"]["differing_fields"],
        json!(["likes", "score"])
    );
    assert!(
        body["detail"]["message"]
            .as_str()
            .unwrap()
            .contains("different data")
    );
    assert_window_fields(&body, START_BLOCK);
    let likes: i64 = sqlx::query_scalar("select likes from submissions")
        .fetch_one(&app.server.state.db)
        .await
        .unwrap();
    assert_eq!(likes, post.likes as i64, "the stored submission stands");
}

#[tokio::test]
async fn the_sixth_new_post_in_a_window_is_refused_with_429() {
    let app = App::start().await;
    let miner = miner();
    for i in 0..5 {
        let (status, body) = json(
            app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
                .await,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "post {i}: {body}");
        assert_eq!(body["submissions_in_window"], i + 1);
    }
    let response = app
        .submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
        .await;
    let headers = response.headers().clone();
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    let limit = &body["detail"]["rate_limit"];
    assert_eq!(limit["current_count"], 5);
    assert_eq!(limit["max_submissions"], 5);
    assert_eq!(limit["current_block"], START_BLOCK);
    assert_eq!(limit["window_start_block"], 1000);
    assert_eq!(limit["window_end_block"], 1099);
    assert_eq!(limit["next_window_start_block"], 1100);
    assert_eq!(limit["blocks_per_window"], 100);
    assert_eq!(limit["estimated_seconds_until_reset"], 600.0);
    assert!(
        body["detail"]["message"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    assert_window_fields(&body, START_BLOCK);
    assert_eq!(headers["retry-after"], "600");
    assert_eq!(headers["x-ratelimit-reset-block"], "1100");
    assert_eq!(headers["x-ratelimit-reset-seconds"], "600.0");
    assert_eq!(headers["x-ratelimit-remaining"], "0");
    assert_eq!(app.count("select count(*) from submissions").await, 5);
}

#[tokio::test]
async fn a_duplicate_is_recognised_even_when_the_window_is_full() {
    let app = App::start().await;
    let miner = miner();
    let posts: Vec<_> = (0..5)
        .map(|_| sample_submission(miner.ss58(), unique_post_id()))
        .collect();
    for post in &posts {
        assert_eq!(app.submit(&miner, post).await.status(), StatusCode::OK);
    }
    let (status, body) = json(app.submit(&miner, &posts[2]).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "duplicate");
    assert_eq!(body["remaining_in_window"], 0);
}

#[tokio::test]
async fn the_quota_resets_in_the_next_window() {
    let app = App::start().await;
    let miner = miner();
    for _ in 0..5 {
        app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
            .await;
    }
    let over = app
        .submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
        .await;
    assert_eq!(over.status(), StatusCode::TOO_MANY_REQUESTS);
    app.server.blocks().set(1_100);
    let (status, body) = json(
        app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["current_window"], 11);
    assert_eq!(body["submissions_in_window"], 1);
    let windows: Vec<(i64, i32)> =
        sqlx::query_as("select window_index, used from window_quota order by window_index")
            .fetch_all(&app.server.state.db)
            .await
            .unwrap();
    assert_eq!(windows, [(10, 5), (11, 1)]);
}

#[tokio::test]
async fn quotas_are_per_hotkey_and_two_miners_may_submit_the_same_post() {
    let app = App::start().await;
    let (alice, bob) = (miner(), miner());
    let post_id = unique_post_id();
    for _ in 0..5 {
        app.submit(&alice, &sample_submission(alice.ss58(), unique_post_id()))
            .await;
    }
    let (status, body) = json(
        app.submit(&bob, &sample_submission(bob.ss58(), post_id))
            .await,
    )
    .await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("new"))
    );
    let (status, body) = json(
        app.submit(&alice, &sample_submission(alice.ss58(), post_id))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn an_invalid_body_is_422_naming_every_invalid_field() {
    let app = App::start().await;
    let miner = miner();
    let mut body = serde_json::to_value(sample_submission(miner.ss58(), unique_post_id())).unwrap();
    body["post_id"] = json!("000123");
    body["likes"] = json!(-5);
    body["tokens"] = json!({"apex": 0});
    body["sentiment"] = json!("bullish");
    body.as_object_mut().unwrap().remove("author");
    let (status, reply) = json(app.submit(&miner, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let fields: Vec<&str> = reply["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        ["post_id", "author", "likes", "tokens", "sentiment"]
    );
    for error in reply["detail"].as_array().unwrap() {
        assert_eq!(
            error.as_object().unwrap().len(),
            2,
            "only field and message: {error}"
        );
        assert!(!error["message"].as_str().unwrap().is_empty());
    }
    assert_window_fields(&reply, START_BLOCK);
    assert_eq!(app.count("select count(*) from submissions").await, 0);
}

#[tokio::test]
async fn malformed_json_and_wrong_types_get_the_422_shape_not_plain_text() {
    let app = App::start().await;
    let miner = miner();
    let url = app.url("/v2/submit");
    let (status, reply) = json(
        miner
            .post_bytes(&app.client, &url, b"{\"post_id\": \"1\",".to_vec())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["detail"][0]["field"], "body");
    assert!(
        reply["detail"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );

    let (status, reply) = json(
        miner
            .post_bytes(&app.client, &url, b"\"a string\"".to_vec())
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply["detail"][0]["message"],
        "must be a JSON object, not a string"
    );

    let mut body = serde_json::to_value(sample_submission(miner.ss58(), unique_post_id())).unwrap();
    body["retweets"] = json!("3");
    body["post_id"] = json!(12345);
    let (status, reply) = json(app.submit(&miner, &body).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reply["detail"].as_array().unwrap().len(), 2, "{reply}");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_a_detail() {
    let app = App::with_settings(Settings {
        max_body_bytes: 4096,
        ..Settings::default()
    })
    .await;
    let miner = miner();
    let mut post = sample_submission(miner.ss58(), unique_post_id());
    post.content = "x".repeat(5000);
    let (status, reply) = json(app.submit(&miner, &post).await).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{reply}");
    assert_eq!(reply["detail"], "request body is larger than 4096 bytes");
    assert_window_fields(&reply, START_BLOCK);
}

#[tokio::test]
async fn selected_posts_get_exactly_one_validation_task_in_the_same_transaction() {
    let app = App::with_settings(Settings {
        validation_probability: 1.0,
        max_submissions: 20,
        ..Settings::default()
    })
    .await;
    let miner = miner();
    for _ in 0..10 {
        let (_, body) = json(
            app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
                .await,
        )
        .await;
        assert_eq!(body["selected_for_validation"], true);
    }
    assert_eq!(
        app.count(
            "select count(*) from submissions s join validation_tasks t using (validation_id)"
        )
        .await,
        10
    );
}

/// One `/v2/submit` reply of every kind the handler gives once it has read the window,
/// in this order: new, duplicate, conflict, unsigned, replayed, signed by another key,
/// signed by a validator, invalid, too large, and the sixth new post of the window. Each
/// comes with the `X-RateLimit-Remaining` it must carry: the quota left when the reply read
/// the quota, none otherwise. Needs an app whose body limit is 4096 bytes.
pub async fn one_reply_of_each_kind(
    app: &App,
) -> Vec<(StatusCode, Option<&'static str>, Response)> {
    let signer = miner();
    let validator = miner();
    server::db::hotkeys::add(&app.server.state.db, validator.ss58(), Role::Validator)
        .await
        .unwrap();
    let post = sample_submission(signer.ss58(), unique_post_id());
    let first = serde_json::to_vec(&post).unwrap();
    let first_headers = signer.headers(&first);
    let mut changed = post.clone();
    changed.likes += 1;
    let mut too_large = sample_submission(signer.ss58(), unique_post_id());
    too_large.content = "x".repeat(5000);
    let post_raw = |headers, body: Vec<u8>| {
        app.client
            .post(app.url("/v2/submit"))
            .headers(headers)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };

    let mut replies = vec![
        (
            StatusCode::OK,
            Some("4"),
            post_raw(first_headers.clone(), first.clone())
                .await
                .unwrap(),
        ),
        (StatusCode::OK, Some("4"), app.submit(&signer, &post).await),
        (
            StatusCode::CONFLICT,
            Some("4"),
            app.submit(&signer, &changed).await,
        ),
        (
            StatusCode::UNAUTHORIZED,
            None,
            post_raw(Default::default(), first.clone()).await.unwrap(),
        ),
        (
            StatusCode::UNAUTHORIZED,
            None,
            post_raw(first_headers, first).await.unwrap(),
        ),
        (
            StatusCode::FORBIDDEN,
            None,
            app.submit(&validator, &post).await,
        ),
        (
            StatusCode::FORBIDDEN,
            None,
            app.submit(
                &validator,
                &sample_submission(validator.ss58(), unique_post_id()),
            )
            .await,
        ),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            app.submit(&signer, &json!({"post_id": "1"})).await,
        ),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            app.submit(&signer, &too_large).await,
        ),
    ];
    for _ in 0..4 {
        let reply = app
            .submit(&signer, &sample_submission(signer.ss58(), unique_post_id()))
            .await;
        assert_eq!(reply.status(), StatusCode::OK);
    }
    replies.push((
        StatusCode::TOO_MANY_REQUESTS,
        Some("0"),
        app.submit(&signer, &sample_submission(signer.ss58(), unique_post_id()))
            .await,
    ));
    replies
}

/// An app at [`START_BLOCK`] with a 4096-byte body limit, as [`one_reply_of_each_kind`]
/// needs.
pub async fn app_with_a_small_body_limit() -> App {
    App::with_settings(Settings {
        max_body_bytes: 4096,
        ..Settings::default()
    })
    .await
}

#[tokio::test]
async fn every_reply_carries_the_rate_limit_headers_and_the_quota_left_when_it_was_read() {
    let app = app_with_a_small_body_limit().await;
    for (expected, remaining, response) in one_reply_of_each_kind(&app).await {
        let headers = response.headers().clone();
        let (status, body) = json(response).await;
        assert_eq!(status, expected, "{body}");
        let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            header("x-ratelimit-limit").as_deref(),
            Some("5"),
            "{status}"
        );
        assert_eq!(
            header("x-ratelimit-remaining").as_deref(),
            remaining,
            "{status}: {body}"
        );
        assert_eq!(
            header("x-ratelimit-reset-block").as_deref(),
            Some("1100"),
            "{status}"
        );
        assert_eq!(
            header("x-ratelimit-reset-seconds").as_deref(),
            Some("600.0"),
            "{status}"
        );
        assert_eq!(
            header("retry-after").as_deref(),
            (status == StatusCode::TOO_MANY_REQUESTS).then_some("600"),
            "{status}"
        );
        assert_window_fields(&body, START_BLOCK);
    }
}

#[tokio::test]
async fn a_fault_of_the_database_is_an_opaque_500_with_the_window_and_rate_limit_headers() {
    let app = App::start().await;
    // A function the server relies on, gone: a fault of the server's own, not the miner's.
    sqlx::query("drop function pulse_submit")
        .execute(&app.server.state.db)
        .await
        .unwrap();
    let miner = miner();
    let response = app
        .submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
        .await;
    let headers = response.headers().clone();
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    assert_eq!(body["detail"], "internal server error");
    assert_window_fields(&body, START_BLOCK);
    assert_eq!(headers["x-ratelimit-limit"], "5");
    assert_eq!(headers["x-ratelimit-reset-block"], "1100");
    assert!(!headers.contains_key("x-ratelimit-remaining"));
}
