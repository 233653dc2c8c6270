//! `GET /2/tweets?ids=...`.

use serde_json::{Value, json};

use crate::helpers::TestApp;

fn not_found(id: &str) -> Value {
    json!({
        "value": id,
        "detail": format!("Could not find tweet with ids: [{id}]."),
        "title": "Not Found Error",
        "resource_type": "tweet",
        "parameter": "ids",
        "resource_id": id,
        "type": "https://api.twitter.com/2/problems/resource-not-found",
    })
}

#[tokio::test]
async fn found_ids_come_back_in_order_and_missing_ones_as_x_errors() {
    let app = TestApp::spawn().await;
    let (a, b) = (app.id("targon-1"), app.id("chutes-new"));
    let ids = format!("{a},42,{b}");
    let response = app
        .lookup(&[
            ("ids", &ids),
            ("expansions", "author_id"),
            ("tweet.fields", "author_id"),
        ])
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(app.keys(&body), ["targon-1", "chutes-new"]);
    assert_eq!(body["errors"], json!([not_found("42")]));
    // both posts are alice's
    assert_eq!(body["includes"]["users"].as_array().unwrap().len(), 1);
    assert!(body.get("meta").is_none());
}

#[tokio::test]
async fn only_missing_ids_give_errors_and_no_data() {
    let app = TestApp::spawn().await;
    let body: Value = app.lookup(&[("ids", "1,2")]).await.json().await.unwrap();
    assert_eq!(body, json!({"errors": [not_found("1"), not_found("2")]}));
}

#[tokio::test]
async fn posts_outside_the_search_window_are_still_found_by_id() {
    let app = TestApp::spawn().await;
    let ids = format!("{},{}", app.id("week-old"), "1860000000000000001");
    let body: Value = app
        .lookup(&[("ids", &ids), ("tweet.fields", "created_at")])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(app.keys(&body), ["week-old", "fixed-1"]);
    // the fixed id's time has milliseconds; X prints whole seconds
    assert_eq!(body["data"][1]["created_at"], "2024-11-22T16:38:51.000Z");
}

#[tokio::test]
async fn retweets_reference_their_original_when_asked() {
    let app = TestApp::spawn().await;
    let ids = app.id("chutes-rt");
    let body: Value = app
        .lookup(&[
            ("ids", &ids),
            ("tweet.fields", "referenced_tweets,public_metrics"),
        ])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["data"][0]["referenced_tweets"],
        json!([{"type": "retweeted", "id": app.id("chutes-new")}])
    );
    assert_eq!(body["data"][0]["public_metrics"]["like_count"], 0);
}

#[tokio::test]
async fn repeated_ids_are_answered_once() {
    let app = TestApp::spawn().await;
    let id = app.id("targon-1");
    let ids = format!("{id},{id}");
    let body: Value = app.lookup(&[("ids", &ids)]).await.json().await.unwrap();
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn more_than_100_ids_malformed_ids_and_no_ids_are_400s() {
    let app = TestApp::spawn().await;
    let many: Vec<String> = (1..=101).map(|n| n.to_string()).collect();
    let many = many.join(",");
    let response = app.lookup(&[("ids", &many)]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "The number of values in the `ids` query parameter list [101] is not between 1 and 100"
    );
    let hundred: Vec<String> = (1..=100).map(|n| n.to_string()).collect();
    assert_eq!(
        app.lookup(&[("ids", &hundred.join(","))]).await.status(),
        200
    );

    for bad in ["abc", "1,,2", "12345678901234567890", ""] {
        let response = app.lookup(&[("ids", bad)]).await;
        assert_eq!(response.status(), 400, "{bad:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body["type"],
            "https://api.twitter.com/2/problems/invalid-request"
        );
    }
    assert_eq!(app.get("/2/tweets").send().await.unwrap().status(), 400);
}
