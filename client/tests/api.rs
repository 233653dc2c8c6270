//! The client against a real server: typed successes and failures in both auth forms.

use std::time::Duration;

use client::{ApiClient, AuthForm, CallError};
use protocol::Hotkey;
use protocol::api::SubmitStatus;
use testkit::{TestDb, TestServer, sample_submission, test_settings};

#[tokio::test]
async fn status_and_submit_replies_are_typed_in_both_auth_forms() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db, test_settings(), 250).await;
    for form in [AuthForm::Epistula, AuthForm::XAuth] {
        let client = ApiClient::new(
            &server.url(""),
            Hotkey::generate(),
            form,
            Duration::from_secs(10),
        )
        .unwrap();
        let status = client.status().await.unwrap();
        assert_eq!(status.window.current_window, 2);
        assert_eq!(status.remaining_in_window, Some(5));

        let post = sample_submission(
            client.hotkey().ss58(),
            1_860_000_000_000_000_000 + form as u64,
        );
        assert_eq!(
            client.submit(&post).await.unwrap().status,
            SubmitStatus::New
        );
        assert_eq!(
            client.submit(&post).await.unwrap().status,
            SubmitStatus::Duplicate
        );

        let mut changed = post.clone();
        changed.likes += 1;
        let conflict = client.submit(&changed).await.unwrap_err();
        assert!(
            matches!(&conflict, CallError::Conflict { body, .. } if body.detail.differing_fields == ["likes"]),
            "{conflict}"
        );

        for i in 0..4 {
            client
                .submit(&sample_submission(
                    client.hotkey().ss58(),
                    1_870_000_000_000_000_000 + i + 10 * form as u64,
                ))
                .await
                .unwrap();
        }
        let limited = client
            .submit(&sample_submission(
                client.hotkey().ss58(),
                1_880_000_000_000_000_000 + form as u64,
            ))
            .await
            .unwrap_err();
        match limited {
            CallError::RateLimited {
                body, retry_after, ..
            } => {
                assert_eq!(body.detail.rate_limit.next_window_start_block, 300);
                assert_eq!(retry_after, Some(Duration::from_secs(600)));
            }
            other => panic!("expected a 429, got {other}"),
        }
    }
}

#[tokio::test]
async fn invalid_posts_and_foreign_hotkeys_are_reported_with_the_servers_words() {
    let db = TestDb::new().await;
    let server = TestServer::start(&db, test_settings(), 250).await;
    let client = ApiClient::new(
        &server.url(""),
        Hotkey::generate(),
        AuthForm::Epistula,
        Duration::from_secs(10),
    )
    .unwrap();
    let mut post = sample_submission(client.hotkey().ss58(), 1_860_000_000_000_000_001);
    post.post_id = "0186".into();
    let error = client.submit(&post).await.unwrap_err();
    assert!(
        matches!(&error, CallError::Invalid { body, .. } if body.detail[0].field == "post_id"),
        "{error}"
    );
    assert!(
        error.to_string().contains("post_id: must not start with 0"),
        "{error}"
    );

    let foreign = sample_submission(Hotkey::generate().ss58(), 1_860_000_000_000_000_002);
    let error = client.submit(&foreign).await.unwrap_err();
    assert_eq!(error.status(), Some(reqwest::StatusCode::FORBIDDEN));
    assert!(error.window().is_some());
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_transient_transport_error() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = ApiClient::new(
        &format!("http://127.0.0.1:{unused}"),
        Hotkey::generate(),
        AuthForm::Epistula,
        Duration::from_secs(2),
    )
    .unwrap();
    let error = client.status().await.unwrap_err();
    assert!(
        matches!(error, CallError::Transport { .. }) && error.is_transient(),
        "{error}"
    );
}

#[tokio::test]
async fn a_validator_leases_judges_and_reads_scores_through_the_client() {
    use protocol::api::{ValidationResultItem, ValidationResultRequest, VerdictOutcome};
    use server::config::{Role, Settings};

    let db = TestDb::new().await;
    let settings = Settings {
        validation_probability: 1.0,
        ..test_settings()
    };
    let server = TestServer::start(&db, settings, 250).await;
    let timeout = Duration::from_secs(10);
    let miner = ApiClient::new(
        &server.url(""),
        Hotkey::generate(),
        AuthForm::Epistula,
        timeout,
    )
    .unwrap();
    let validator = ApiClient::new(
        &server.url(""),
        Hotkey::generate(),
        AuthForm::XAuth,
        timeout,
    )
    .unwrap();
    server::db::hotkeys::add(&server.state.db, validator.hotkey().ss58(), Role::Validator)
        .await
        .unwrap();
    miner
        .submit(&sample_submission(
            miner.hotkey().ss58(),
            1_860_000_000_000_000_123,
        ))
        .await
        .unwrap();

    let batch = validator.lease_tasks(5).await.unwrap();
    assert!(batch.available);
    let task = &batch.payloads[0];
    let verdicts = ValidationResultRequest {
        validator_hotkey: validator.hotkey().ss58().to_string(),
        results: vec![ValidationResultItem {
            validator_hotkey: validator.hotkey().ss58().to_string(),
            validation_id: task.validation_id.clone(),
            miner_hotkey: task.miner_hotkey.clone(),
            success: true,
            outcome: Some(VerdictOutcome::Pass),
            failure_reason: None,
        }],
    };
    assert_eq!(
        validator.send_verdicts(&verdicts).await.unwrap().recorded,
        1
    );
    assert_eq!(
        validator.send_verdicts(&verdicts).await.unwrap().duplicates,
        1
    );

    server.blocks().set(300);
    let scores = validator.scores(None).await.unwrap();
    assert_eq!(scores.window, 2);
    assert!(scores.scores[miner.hotkey().ss58()] > 0.0);
    let report = miner.miner_report(miner.hotkey().ss58()).await.unwrap();
    assert_eq!(report.submissions[0].validation, "pass");
    assert_eq!(report.window_scores[0].window, 2);
    let refused = miner.lease_tasks(1).await.unwrap_err();
    assert_eq!(refused.status(), Some(reqwest::StatusCode::FORBIDDEN));
}
