//! The bearer token on X's endpoints and the admin token on `/_admin`.

use serde_json::{Value, json};
use xapi::config::Secret;

use crate::helpers::{TOKEN, TestApp, config, fixture};

fn unauthorized() -> Value {
    json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})
}

#[tokio::test]
async fn a_missing_or_wrong_bearer_token_gets_xs_401() {
    let app = TestApp::spawn().await;
    for path in ["/2/tweets/search/recent?query=chutes", "/2/tweets?ids=1"] {
        let url = format!("{}{path}", app.base);
        let requests = [
            app.client.get(&url),
            app.client.get(&url).bearer_auth("wrong"),
            app.client.get(&url).basic_auth("user", Some(TOKEN)),
            app.client.get(&url).header("authorization", TOKEN),
        ];
        for request in requests {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path}");
            assert!(response.headers().get("x-rate-limit-remaining").is_none());
            assert_eq!(response.json::<Value>().await.unwrap(), unauthorized());
        }
    }
    let ok = app.search(&[("query", "chutes")]).await;
    assert_eq!(ok.status(), 200);
    // refused requests did not count against the window
    assert_eq!(ok.headers()["x-rate-limit-remaining"], "449");
}

#[tokio::test]
async fn the_admin_api_is_open_without_an_admin_token() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/_admin/posts", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_admin_api_needs_the_admin_token_when_one_is_set() {
    let app = TestApp::spawn_with(
        &fixture(),
        xapi::Config {
            admin_token: Some(Secret::new("admin-secret")),
            ..config()
        },
    )
    .await;
    let url = format!("{}/_admin/posts", app.base);
    for request in [
        app.client.get(&url),
        app.client.get(&url).bearer_auth(TOKEN),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.json::<Value>().await.unwrap(), unauthorized());
    }
    let response = app
        .client
        .get(&url)
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // and the admin token is no key to X's endpoints
    let response = app
        .client
        .get(format!("{}/2/tweets?ids=1", app.base))
        .bearer_auth("admin-secret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
}

#[tokio::test]
async fn unknown_paths_get_xs_not_found_body_and_health_is_open() {
    let app = TestApp::spawn().await;
    let response = app.get("/2/users/me").send().await.unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"errors": [{"message": "Sorry, that page does not exist", "code": 34}]})
    );
    let health = app
        .client
        .get(format!("{}/_health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}
