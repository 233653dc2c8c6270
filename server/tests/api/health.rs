//! `/health` and `/ready`.

use reqwest::StatusCode;
use server::AppState;
use server::chain::BlockSource;
use sqlx::postgres::PgPoolOptions;
use testkit::TestServer;

use crate::helpers::{App, json};

#[tokio::test]
async fn health_and_readiness_are_ok_with_a_database() {
    let app = App::start().await;
    for path in ["/health", "/ready"] {
        let (status, body) = json(app.client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(
            (status, body["status"].as_str()),
            (StatusCode::OK, Some("ok")),
            "{path}"
        );
    }
}

#[tokio::test]
async fn readiness_is_503_and_health_200_when_the_database_is_unreachable() {
    // A pool on a port where nothing listens.
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pool = PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy(&format!("postgres://postgres@127.0.0.1:{unused}/none"))
        .unwrap();
    let state = AppState::new(pool, testkit::test_settings(), BlockSource::manual(1));
    let server = TestServer::start_with_state(state).await;
    let (status, body) = json(reqwest::get(server.url("/ready")).await.unwrap()).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["status"], "unavailable");
    assert!(
        body["detail"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert_eq!(
        reqwest::get(server.url("/health")).await.unwrap().status(),
        StatusCode::OK
    );
    // A request that needs the database gets 503 with Retry-After, not 500.
    let signer = testkit::Signer::new(testkit::AuthForm::Epistula);
    let response = signer
        .get(&reqwest::Client::new(), &server.url("/v2/status"))
        .await;
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap()),
        Some("5")
    );
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
}
