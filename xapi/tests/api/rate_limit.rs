//! X's rate limits: fixed windows per endpoint, `x-rate-limit-*` headers, 429.

use std::time::Duration;

use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{ANCHOR_UNIX, TestApp, config, fixture};

fn header(response: &Response, name: &str) -> i64 {
    response.headers()[name].to_str().unwrap().parse().unwrap()
}

async fn limited_app(search_limit: u32) -> TestApp {
    TestApp::spawn_with(
        &fixture(),
        xapi::Config {
            search_limit,
            ..config()
        },
    )
    .await
}

#[tokio::test]
async fn search_answers_429_with_headers_once_the_window_is_spent() {
    let app = limited_app(2).await;
    let first = app.search(&[("query", "chutes")]).await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-rate-limit-limit"), 2);
    assert_eq!(header(&first, "x-rate-limit-remaining"), 1);
    let reset = header(&first, "x-rate-limit-reset");
    // the window opened at the first request, 15 minutes long
    assert!(
        (ANCHOR_UNIX + 900..ANCHOR_UNIX + 905).contains(&reset),
        "{reset}"
    );

    let second = app.search(&[("query", "chutes")]).await;
    assert_eq!(second.status(), 200);
    assert_eq!(header(&second, "x-rate-limit-remaining"), 0);

    let third = app.search(&[("query", "chutes")]).await;
    assert_eq!(third.status(), 429);
    assert_eq!(header(&third, "x-rate-limit-limit"), 2);
    assert_eq!(header(&third, "x-rate-limit-remaining"), 0);
    assert_eq!(header(&third, "x-rate-limit-reset"), reset);
    assert_eq!(
        third.json::<Value>().await.unwrap(),
        json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})
    );

    // lookups have their own window
    let lookup = app.lookup(&[("ids", "1")]).await;
    assert_eq!(lookup.status(), 200);
    assert_eq!(header(&lookup, "x-rate-limit-limit"), 450);
}

#[tokio::test]
async fn a_new_window_opens_once_the_reset_time_passes() {
    let app = limited_app(1).await;
    assert_eq!(app.search(&[("query", "chutes")]).await.status(), 200);
    assert_eq!(app.search(&[("query", "chutes")]).await.status(), 429);
    app.app.advance_clock(Duration::from_secs(15 * 60 + 1));
    let again = app.search(&[("query", "chutes")]).await;
    assert_eq!(again.status(), 200);
    assert_eq!(header(&again, "x-rate-limit-remaining"), 0);
}

#[tokio::test]
async fn invalid_requests_count_and_carry_the_headers_too() {
    let app = limited_app(5).await;
    let bad = app
        .search(&[("query", "chutes"), ("max_results", "5")])
        .await;
    assert_eq!(bad.status(), 400);
    assert_eq!(header(&bad, "x-rate-limit-remaining"), 4);
}
