//! Changing posts while clients run: the admin API and the in-process handle.

use std::time::Duration;

use chrono::DateTime;
use protocol::post_id::snowflake_time_ms;
use serde_json::{Value, json};
use xapi::{MetricsPatch, PostPatch};

use crate::helpers::TestApp;

impl TestApp {
    async fn admin_post(&self, path: &str, body: Value) -> reqwest::Response {
        self.client
            .post(format!("{}/_admin{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    async fn lookup_one(&self, key: &str) -> Value {
        let id = self.id(key);
        self.lookup(&[
            ("ids", id.as_str()),
            ("tweet.fields", "public_metrics"),
            ("expansions", "author_id"),
            ("user.fields", "public_metrics"),
        ])
        .await
        .json()
        .await
        .unwrap()
    }
}

#[tokio::test]
async fn edited_text_and_inflated_metrics_show_in_later_lookups() {
    let app = TestApp::spawn().await;
    let before = app.lookup_one("targon-1").await;
    assert_eq!(before["data"][0]["public_metrics"]["like_count"], 10);

    let response = app
        .admin_post(
            "/posts/targon-1",
            json!({"text": "Targon latency up, edited", "metrics": {"likes": 99999}}),
        )
        .await;
    assert_eq!(response.status(), 200);
    let view: Value = response.json().await.unwrap();
    assert_eq!(view["key"], "targon-1");
    assert_eq!(view["metrics"]["likes"], 99999);

    let after = app.lookup_one("targon-1").await;
    assert_eq!(after["data"][0]["text"], "Targon latency up, edited");
    assert_eq!(after["data"][0]["public_metrics"]["like_count"], 99999);
    assert_eq!(
        after["data"][0]["public_metrics"]["retweet_count"], 3,
        "untouched"
    );
    assert_eq!(after["data"][0]["id"], before["data"][0]["id"]);
}

#[tokio::test]
async fn author_changes_show_on_every_post_of_the_author() {
    let app = TestApp::spawn().await;
    let id = app.id("targon-1");
    let response = app
        .admin_post(&format!("/posts/{id}"), json!({"author": {"followers": 1}}))
        .await;
    assert_eq!(response.status(), 200);
    let other = app.lookup_one("chutes-new").await;
    assert_eq!(
        other["includes"]["users"][0]["public_metrics"]["followers_count"],
        1
    );
}

#[tokio::test]
async fn deleted_posts_are_not_found_and_leave_search_until_restored() {
    let app = TestApp::spawn().await;
    let id = app.id("targon-1");
    let response = app
        .admin_post("/posts/targon-1", json!({"delete": true}))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = app.lookup(&[("ids", &id)]).await.json().await.unwrap();
    assert!(body.get("data").is_none());
    assert_eq!(body["errors"][0]["resource_id"], id.as_str());
    let search = app.search_ok(&[("query", "targon")]).await;
    assert_eq!(search["meta"]["result_count"], 0);
    // still listed for the admin, marked deleted
    assert!(app.app.post("targon-1").unwrap().deleted);

    app.admin_post("/posts/targon-1", json!({"delete": false}))
        .await;
    let search = app.search_ok(&[("query", "targon")]).await;
    assert_eq!(search["meta"]["result_count"], 1);
}

#[tokio::test]
async fn in_process_changes_are_visible_over_http() {
    let app = TestApp::spawn().await;
    app.app
        .update_post(
            "chutes-new",
            &PostPatch {
                metrics: Some(MetricsPatch {
                    replies: Some(600),
                    ..MetricsPatch::default()
                }),
                ..PostPatch::default()
            },
        )
        .unwrap();
    let body = app.lookup_one("chutes-new").await;
    assert_eq!(body["data"][0]["public_metrics"]["reply_count"], 600);
}

#[tokio::test]
async fn added_posts_are_dated_from_the_clock_and_searchable() {
    let app = TestApp::spawn().await;
    let response = app
        .admin_post(
            "/posts",
            json!({
                "key": "late-1",
                "lang": "en",
                "text": "SN45 fresh from the admin API",
                "author": {"username": "newcomer", "name": "New", "account_age_days": 3, "followers": 12}
            }),
        )
        .await;
    assert_eq!(response.status(), 201);
    let view: Value = response.json().await.unwrap();
    let id: u64 = view["id"].as_str().unwrap().parse().unwrap();
    let created = DateTime::parse_from_rfc3339(view["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(snowflake_time_ms(id), created.timestamp_millis() as u64);
    assert!((created.timestamp() - app.app.now().timestamp()).abs() <= 1);

    let body = app
        .search_ok(&[("query", "fresh"), ("expansions", "author_id")])
        .await;
    assert_eq!(body["data"][0]["id"], view["id"]);
    assert_eq!(body["includes"]["users"][0]["username"], "newcomer");
}

#[tokio::test]
async fn admin_errors_say_what_is_wrong() {
    let app = TestApp::spawn().await;
    let missing = app
        .admin_post("/posts/no-such-key", json!({"delete": true}))
        .await;
    assert_eq!(missing.status(), 404);
    let body: Value = missing.json().await.unwrap();
    assert_eq!(body["title"], "Not Found");
    assert!(body["detail"].as_str().unwrap().contains("no-such-key"));

    let taken = app
        .admin_post(
            "/posts",
            json!({"key": "targon-1", "lang": "en", "text": "dup",
                   "author": {"username": "x", "name": "X", "account_age_days": 1, "followers": 0}}),
        )
        .await;
    assert_eq!(taken.status(), 409);

    let typo = app
        .admin_post("/posts/targon-1", json!({"metrics": {"like": 5}}))
        .await;
    assert_eq!(typo.status(), 422);
    let body: Value = typo.json().await.unwrap();
    assert!(body["detail"].as_str().unwrap().contains("like"), "{body}");

    let no_post = app
        .client
        .get(format!("{}/_admin/posts/123", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(no_post.status(), 404);
}

#[tokio::test]
async fn the_admin_list_holds_every_post_with_its_id_and_dates() {
    let app = TestApp::spawn().await;
    let body: Value = app
        .client
        .get(format!("{}/_admin/posts", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let posts = body["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 33);
    assert_eq!(posts[0]["key"], "chutes-new");
    assert_eq!(posts[0]["created_at"], "2025-11-25T23:50:00Z");
    assert_eq!(posts[0]["author"]["username"], "alice");
    let single: Value = app
        .client
        .get(format!(
            "{}/_admin/posts/{}",
            app.base,
            posts[0]["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(single, posts[0]);
}

#[tokio::test]
async fn advancing_the_clock_ages_posts_out_of_the_window() {
    let app = TestApp::spawn().await;
    let response = app
        .admin_post("/clock", json!({"advance_secs": 72 * 3600}))
        .await;
    assert_eq!(response.status(), 200);
    let clock: Value = response.json().await.unwrap();
    let now = DateTime::parse_from_rfc3339(clock["now"].as_str().unwrap()).unwrap();
    assert!(now.timestamp() >= crate::helpers::ANCHOR_UNIX + 72 * 3600);
    let start =
        (now - chrono::Duration::hours(72)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    // targon-1 was an hour old, now 73 hours
    let body = app
        .search_ok(&[("query", "targon"), ("start_time", &start)])
        .await;
    assert_eq!(body["meta"]["result_count"], 0);
    app.app.advance_clock(Duration::from_secs(1));
    assert!(app.app.now() > now);
}
