//! `/metrics` counts what happened.

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use testkit::sample_submission;

use crate::helpers::{App, miner, unique_post_id};
use crate::submit::{app_with_a_small_body_limit, one_reply_of_each_kind};
use crate::validation::{
    app_selecting_everything, poll, send_results, submit_posts, validator, verdict,
};

fn value_of(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no series {series} in\n{text}"))
}

#[tokio::test]
async fn metrics_count_submissions_auth_failures_and_requests() {
    let app = App::start().await;
    let m = miner();
    let post = sample_submission(m.ss58(), unique_post_id());
    app.submit(&m, &post).await;
    app.submit(&m, &post).await;
    for _ in 0..5 {
        app.submit(&m, &sample_submission(m.ss58(), unique_post_id()))
            .await;
    }
    let stale = m.headers_at(b"", SystemTime::now() - Duration::from_secs(900));
    app.client
        .get(app.url("/v2/status"))
        .headers(stale)
        .send()
        .await
        .unwrap();

    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        server::metrics::CONTENT_TYPE
    );
    let text = response.text().await.unwrap();
    assert_eq!(
        value_of(&text, r#"pulse_submissions_total{outcome="new"}"#),
        5.0
    );
    assert_eq!(
        value_of(&text, r#"pulse_submissions_total{outcome="duplicate"}"#),
        1.0
    );
    assert_eq!(
        value_of(&text, r#"pulse_submissions_total{outcome="rate_limited"}"#),
        1.0
    );
    assert_eq!(
        value_of(&text, r#"pulse_auth_failures_total{reason="stale"}"#),
        1.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"pulse_http_requests_total{method="POST",route="/v2/submit",status="200"}"#
        ),
        6.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"pulse_http_requests_total{method="POST",route="/v2/submit",status="429"}"#
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"pulse_http_request_duration_seconds_count{method="POST",route="/v2/submit"}"#
        ),
        7.0
    );
    assert_eq!(value_of(&text, "pulse_current_block"), 1050.0);
    assert!(value_of(&text, "pulse_db_connections") >= 1.0);
}

#[tokio::test]
async fn metrics_count_the_validation_queue_leases_expiries_and_verdicts() {
    let app = app_selecting_everything(1).await;
    submit_posts(&app, &miner(), 3).await;
    let v = validator(&app).await;
    assert_eq!(
        poll(&app, &v, 2).await["payloads"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    sqlx::query("update validation_slots set lease_expires_at = now() - interval '1 second' where leased_by is not null")
        .execute(&app.server.state.db)
        .await
        .unwrap();
    let other = validator(&app).await;
    let relet = poll(&app, &other, 10).await;
    assert_eq!(relet["payloads"].as_array().unwrap().len(), 3);
    send_results(
        &app,
        &other,
        vec![
            verdict(&other, &relet["payloads"][0], "pass", None),
            verdict(&other, &relet["payloads"][1], "fail", Some("text_mismatch")),
        ],
    )
    .await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(value_of(&text, "pulse_validation_selections_total"), 3.0);
    assert_eq!(value_of(&text, "pulse_validation_leases_total"), 5.0);
    assert_eq!(
        value_of(&text, "pulse_validation_lease_expiries_total"),
        2.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"pulse_validation_verdicts_total{outcome="pass",code="none"}"#
        ),
        1.0
    );
    assert_eq!(
        value_of(
            &text,
            r#"pulse_validation_verdicts_total{outcome="fail",code="text_mismatch"}"#
        ),
        1.0
    );
    assert_eq!(value_of(&text, "pulse_validation_queue_depth"), 1.0);
}

#[tokio::test]
async fn every_submission_is_counted_under_its_outcome_and_every_refused_signer_under_its_reason() {
    let app = app_with_a_small_body_limit().await;
    one_reply_of_each_kind(&app).await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for (outcome, count) in [
        ("new", 5.0),
        ("duplicate", 1.0),
        ("conflict", 1.0),
        ("unauthorized", 2.0),
        ("forbidden", 2.0),
        ("invalid", 1.0),
        ("too_large", 1.0),
        ("rate_limited", 1.0),
    ] {
        let series = format!(r#"pulse_submissions_total{{outcome="{outcome}"}}"#);
        assert_eq!(value_of(&text, &series), count, "{series}");
    }
    for reason in ["missing", "replay", "signer_not_miner", "wrong_role"] {
        let series = format!(r#"pulse_auth_failures_total{{reason="{reason}"}}"#);
        assert_eq!(value_of(&text, &series), 1.0, "{series}");
    }
    assert!(!text.contains(r#"outcome="error""#), "{text}");
}

#[tokio::test]
async fn a_submission_refused_by_a_fault_of_the_server_is_counted_as_error() {
    let app = App::start().await;
    sqlx::query("drop function pulse_submit")
        .execute(&app.server.state.db)
        .await
        .unwrap();
    let m = miner();
    let response = app
        .submit(&m, &sample_submission(m.ss58(), unique_post_id()))
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        value_of(&text, r#"pulse_submissions_total{outcome="error"}"#),
        1.0
    );
}

#[tokio::test]
async fn metrics_are_openmetrics_text_with_the_build_info() {
    let app = App::start().await;
    let text = testkit::metrics::scrape(&app.url("/metrics")).await;
    testkit::metrics::assert_build_info(&text, "pulse_server_build_info");
    assert!(text.ends_with("# EOF\n"), "{text}");
}
