//! The OpenAPI document: generated from the routes, served at `/openapi.json`, rendered
//! at `/docs`, and pinned by a snapshot.

use reqwest::StatusCode;

use crate::helpers::App;

#[test]
fn the_openapi_document_matches_its_snapshot() {
    let document = server::openapi().to_pretty_json().unwrap();
    insta::assert_snapshot!("openapi", document);
}

#[test]
fn every_route_and_error_status_is_documented() {
    let document: serde_json::Value = serde_json::to_value(server::openapi()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    let mut names: Vec<&str> = paths.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "/health",
            "/metrics",
            "/ready",
            "/v2/metagraph",
            "/v2/miners/{hotkey}",
            "/v2/scores",
            "/v2/signal/answer",
            "/v2/signal/posts",
            "/v2/signal/search",
            "/v2/signal/subnets",
            "/v2/signal/subnets/{subnet}/series",
            "/v2/signal/windows/{window}",
            "/v2/signal/windows/{window}/export.csv",
            "/v2/signal/windows/{window}/export.jsonl",
            "/v2/status",
            "/v2/submit",
            "/v2/validation",
            "/v2/validation_result"
        ]
    );
    for path in ["/v2/validation", "/v2/scores", "/v2/miners/{hotkey}"] {
        let responses = &document["paths"][path]["get"]["responses"];
        for status in ["200", "401", "403", "422", "503"] {
            assert!(responses.get(status).is_some(), "{path} lacks {status}");
        }
    }
    let submit = &document["paths"]["/v2/submit"]["post"]["responses"];
    for status in [
        "200", "401", "403", "409", "413", "422", "429", "500", "503",
    ] {
        assert!(submit.get(status).is_some(), "submit lacks {status}");
    }
    assert!(submit["429"]["headers"].get("Retry-After").is_some());
    let schemes = document["components"]["securitySchemes"]
        .as_object()
        .unwrap();
    assert!(schemes.contains_key("epistula") && schemes.contains_key("x_auth"));
}

#[tokio::test]
async fn the_server_serves_the_document_and_the_swagger_ui_offline() {
    let app = App::start().await;
    let served: serde_json::Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(served, serde_json::to_value(server::openapi()).unwrap());
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("swagger-ui"));
    let bundle = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        bundle.status(),
        StatusCode::OK,
        "the UI's assets are vendored in the binary"
    );
}
