//! `GET /2/tweets/search/recent`.

use std::collections::HashSet;

use chrono::DateTime;
use protocol::post_id::snowflake_time_ms;
use serde_json::{Value, json};

use crate::helpers::{TestApp, hours_before_anchor};

/// Keys matched by `query` within the miner's 72-hour window.
async fn keys_72h(app: &TestApp, query: &str) -> Vec<String> {
    let start = hours_before_anchor(72);
    let body = app
        .search_ok(&[
            ("query", query),
            ("start_time", &start),
            ("max_results", "100"),
        ])
        .await;
    app.keys(&body)
}

#[tokio::test]
async fn search_returns_matches_newest_first_in_xs_envelope() {
    let app = TestApp::spawn().await;
    let body = app
        .search_ok(&[
            ("query", "chutes OR targon"),
            ("tweet.fields", "created_at"),
        ])
        .await;
    assert_eq!(
        app.keys(&body),
        [
            "chutes-rt",
            "chutes-new",
            "chutes-es",
            "targon-1",
            "chutes-old"
        ]
    );
    let data = body["data"].as_array().unwrap();
    let times: Vec<&str> = data
        .iter()
        .map(|t| t["created_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted);
    assert_eq!(body["meta"]["result_count"], 5);
    assert_eq!(body["meta"]["newest_id"], data[0]["id"]);
    assert_eq!(body["meta"]["oldest_id"], data[4]["id"]);
    assert!(body["meta"].get("next_token").is_none());
}

#[tokio::test]
async fn keywords_match_whole_words_case_insensitively() {
    let app = TestApp::spawn().await;
    assert_eq!(keys_72h(&app, "TARGON").await, ["targon-1"]);
    assert_eq!(keys_72h(&app, "sn64").await, ["chutes-rt", "chutes-new"]);
    assert!(keys_72h(&app, "sn6").await.is_empty());
    assert!(keys_72h(&app, "chute").await.is_empty());
}

#[tokio::test]
async fn minus_is_retweet_and_lang_en_drop_retweets_and_other_languages() {
    let app = TestApp::spawn().await;
    assert_eq!(
        keys_72h(&app, "chutes").await,
        ["chutes-rt", "chutes-new", "chutes-es"]
    );
    assert_eq!(
        keys_72h(&app, "chutes -is:retweet").await,
        ["chutes-new", "chutes-es"]
    );
    assert_eq!(
        keys_72h(&app, "chutes lang:en").await,
        ["chutes-rt", "chutes-new"]
    );
    assert_eq!(keys_72h(&app, "chutes lang:es").await, ["chutes-es"]);
    assert_eq!(
        keys_72h(&app, "chutes -is:retweet lang:en").await,
        ["chutes-new"]
    );
}

#[tokio::test]
async fn an_unparenthesised_or_list_filters_only_its_last_term_as_on_x() {
    // X applies AND before OR: `a OR b -is:retweet` is `a OR (b -is:retweet)`.
    let app = TestApp::spawn().await;
    assert_eq!(
        keys_72h(&app, "SN64 OR targon -is:retweet lang:en").await,
        ["chutes-rt", "chutes-new", "targon-1"]
    );
    assert_eq!(
        keys_72h(&app, "(SN64 OR targon) -is:retweet lang:en").await,
        ["chutes-new", "targon-1"]
    );
}

#[tokio::test]
async fn phrases_negations_and_entities_are_honoured() {
    let app = TestApp::spawn().await;
    assert_eq!(
        keys_72h(&app, "\"to the moon\"").await,
        ["chutes-rt", "chutes-new"]
    );
    assert!(keys_72h(&app, "\"moon the to\"").await.is_empty());
    assert_eq!(keys_72h(&app, "chutes -moon").await, ["chutes-es"]);
    assert_eq!(keys_72h(&app, "@alice").await, ["chutes-rt"]);
    assert_eq!(keys_72h(&app, "from:alice chutes").await, ["chutes-new"]);
    assert_eq!(keys_72h(&app, "🚀 -is:retweet").await, ["chutes-new"]);
}

#[tokio::test]
async fn start_time_bounds_the_window_and_the_horizon_is_seven_days() {
    let app = TestApp::spawn().await;
    // chutes-old is 80 h old: outside 72 h, inside the default 7 days.
    assert!(
        !keys_72h(&app, "chutes")
            .await
            .contains(&"chutes-old".to_owned())
    );
    let all = app.keys(&app.search_ok(&[("query", "chutes")]).await);
    assert!(all.contains(&"chutes-old".to_owned()));
    // week-old (8 days) is beyond recent search altogether.
    assert!(!all.contains(&"week-old".to_owned()));
    let eight_days = hours_before_anchor(8 * 24);
    let response = app
        .search(&[("query", "chutes"), ("start_time", &eight_days)])
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("'start_time' must be on or after"),
        "{message}"
    );
}

#[tokio::test]
async fn end_time_is_exclusive_and_must_be_ten_seconds_old() {
    let app = TestApp::spawn().await;
    // chutes-new is exactly 10 minutes before the anchor; an end_time then excludes it.
    let ten_min = (crate::helpers::anchor() - chrono::Duration::minutes(10))
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let body = app
        .search_ok(&[
            ("query", "chutes"),
            ("start_time", &hours_before_anchor(72)),
            ("end_time", &ten_min),
        ])
        .await;
    assert_eq!(app.keys(&body), ["chutes-es"]);
    let future = hours_before_anchor(-1);
    let response = app
        .search(&[("query", "chutes"), ("end_time", &future)])
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("minimum of 10 seconds prior to the request time")
    );
    let response = app
        .search(&[("query", "chutes"), ("start_time", "yesterday")])
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn max_results_outside_10_to_100_gets_xs_invalid_request() {
    let app = TestApp::spawn().await;
    for bad in ["9", "101", "0", "ten", "-5"] {
        let response = app
            .search(&[("query", "chutes"), ("max_results", bad)])
            .await;
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({
                "errors": [{
                    "parameters": {"max_results": [bad]},
                    "message": format!("The `max_results` query parameter value [{bad}] is not between 10 and 100"),
                }],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            })
        );
    }
    for good in ["10", "100"] {
        let response = app
            .search(&[("query", "chutes"), ("max_results", good)])
            .await;
        assert_eq!(response.status(), 200, "{good}");
    }
}

#[tokio::test]
async fn several_invalid_parameters_are_reported_together() {
    let app = TestApp::spawn().await;
    let response = app
        .search(&[
            ("query", "(chutes"),
            ("max_results", "5"),
            ("tweet.fields", "text,bogus"),
        ])
        .await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    let params: HashSet<String> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["parameters"].as_object().unwrap().keys().cloned())
        .collect();
    assert_eq!(
        params,
        HashSet::from(["query".into(), "max_results".into(), "tweet.fields".into()])
    );
}

#[tokio::test]
async fn max_results_caps_a_page_and_next_token_walks_the_rest() {
    let app = TestApp::spawn().await;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut params = vec![("query", "bulk"), ("max_results", "10")];
        if let Some(token) = &token {
            params.push(("next_token", token.as_str()));
        }
        let body = app.search_ok(&params).await;
        pages += 1;
        let keys = app.keys(&body);
        assert_eq!(body["meta"]["result_count"], keys.len());
        seen.extend(keys);
        match body["meta"]["next_token"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|n| format!("bulk-{n:02}")).collect();
    assert_eq!(
        seen, expected,
        "newest (youngest) first, no repeats, none missed"
    );
    let response = app
        .search(&[("query", "bulk"), ("next_token", "garbage")])
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn no_match_returns_only_a_zero_count() {
    let app = TestApp::spawn().await;
    let body = app
        .search_ok(&[("query", "nothingmatchesthis"), ("expansions", "author_id")])
        .await;
    assert_eq!(body, json!({"meta": {"result_count": 0}}));
}

#[tokio::test]
async fn only_requested_fields_appear_besides_id_text_and_edit_history() {
    let app = TestApp::spawn().await;
    let body = app.search_ok(&[("query", "targon")]).await;
    let tweet = body["data"][0].as_object().unwrap();
    let mut keys: Vec<&str> = tweet.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["edit_history_tweet_ids", "id", "text"]);
    assert_eq!(tweet["edit_history_tweet_ids"], json!([tweet["id"]]));
    assert!(body.get("includes").is_none());
}

#[tokio::test]
async fn the_miners_fields_and_author_expansion_match_xs_shapes() {
    let app = TestApp::spawn().await;
    let body = app
        .search_ok(&[
            ("query", "targon"),
            ("expansions", "author_id"),
            (
                "tweet.fields",
                "created_at,public_metrics,text,author_id,lang",
            ),
            ("user.fields", "username,name,created_at,public_metrics"),
        ])
        .await;
    let tweet = &body["data"][0];
    assert_eq!(tweet["text"], "Targon latency down");
    assert_eq!(tweet["lang"], "en");
    assert_eq!(tweet["created_at"], "2025-11-25T23:00:00.000Z");
    assert_eq!(
        tweet["public_metrics"],
        json!({"retweet_count": 3, "reply_count": 2, "like_count": 10, "quote_count": 1,
               "bookmark_count": 0, "impression_count": 500})
    );
    let user = &body["includes"]["users"][0];
    assert_eq!(tweet["author_id"], user["id"]);
    assert_eq!(user["username"], "alice");
    assert_eq!(user["name"], "alice (test)");
    // account_age_days = 105 before the anchor
    assert_eq!(user["created_at"], "2025-08-13T00:00:00.000Z");
    assert_eq!(
        user["public_metrics"],
        json!({"followers_count": 5000, "following_count": 7, "tweet_count": 70, "listed_count": 1})
    );
}

#[tokio::test]
async fn each_author_is_included_once() {
    let app = TestApp::spawn().await;
    let body = app
        .search_ok(&[
            ("query", "bulk"),
            ("max_results", "20"),
            ("expansions", "author_id"),
        ])
        .await;
    assert_eq!(body["data"].as_array().unwrap().len(), 20);
    assert_eq!(body["includes"]["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn minted_ids_encode_created_at() {
    let app = TestApp::spawn().await;
    let body = app
        .search_ok(&[
            ("query", "bulk OR chutes OR targon"),
            ("max_results", "100"),
            ("tweet.fields", "created_at"),
        ])
        .await;
    for tweet in body["data"].as_array().unwrap() {
        let id: u64 = tweet["id"].as_str().unwrap().parse().unwrap();
        let created = DateTime::parse_from_rfc3339(tweet["created_at"].as_str().unwrap()).unwrap();
        assert_eq!(
            snowflake_time_ms(id),
            created.timestamp_millis() as u64,
            "{tweet}"
        );
    }
}

#[tokio::test]
async fn unknown_parameters_fields_and_malformed_queries_are_refused() {
    let app = TestApp::spawn().await;
    let cases: &[&[(&str, &str)]] = &[
        &[("query", "chutes"), ("foo", "bar")],
        &[("query", "chutes"), ("tweet.fields", "bogus")],
        &[("query", "chutes"), ("user.fields", "bogus")],
        &[("query", "chutes"), ("expansions", "bogus")],
        &[("query", "chutes"), ("sort_order", "oldest")],
        &[("query", "chutes"), ("since_id", "12x")],
        &[("query", "(chutes")],
        &[("query", "-is:retweet lang:en")],
        &[("query", "chutes url:x.com")],
        &[("query", "")],
        &[("max_results", "10")],
        &[("query", "chutes"), ("query", "targon")],
    ];
    for params in cases {
        let response = app.search(params).await;
        assert_eq!(response.status(), 400, "{params:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["title"], "Invalid Request", "{params:?}");
        assert!(body["errors"][0]["message"].is_string(), "{params:?}");
    }
}

#[tokio::test]
async fn queries_longer_than_the_limit_are_refused() {
    let app = TestApp::spawn().await;
    let long = vec!["chutes"; 80].join(" OR ");
    assert!(long.len() > 512);
    let response = app.search(&[("query", &long)]).await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most 512")
    );
}

#[tokio::test]
async fn since_id_and_until_id_bound_ids_exclusively() {
    let app = TestApp::spawn().await;
    let new = app.id("chutes-new");
    let body = app
        .search_ok(&[("query", "chutes"), ("since_id", &new)])
        .await;
    assert_eq!(app.keys(&body), ["chutes-rt"]);
    let body = app
        .search_ok(&[("query", "chutes"), ("until_id", &new)])
        .await;
    assert_eq!(app.keys(&body), ["chutes-es", "chutes-old"]);
}
