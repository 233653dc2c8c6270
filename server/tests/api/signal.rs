//! The signal: each subnet's pulse per published window, kept in step with late verdicts,
//! and the public read API over it.

use reqwest::StatusCode;
use serde_json::Value;
use testkit::{Signer, sample_submission};

use crate::helpers::{App, json, miner, unique_post_id};
use crate::validation::{app_selecting_everything, poll, send_results, validator, verdict};

/// Submits post `post_id` from `miner` about `subnet` with `sentiment` and `likes`.
async fn submit(app: &App, miner: &Signer, post_id: u64, subnet: &str, sentiment: f64, likes: u64) {
    let mut body = sample_submission(miner.ss58(), post_id);
    body.tokens = [(subnet.to_string(), 1.0)].into_iter().collect();
    body.sentiment = sentiment;
    body.likes = likes;
    body.author = format!("author{}", post_id % 3);
    let (status, reply) = json(app.submit(miner, &body).await).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

/// Publishes window 10 by asking for its scores at its deadline (the grace of 50 blocks
/// after it ends), when it is final whatever is still undecided.
async fn publish(app: &App, v: &Signer) {
    app.server.blocks().set(1_150);
    let (status, body) = json(v.get(&app.client, &app.url("/v2/scores?window=10")).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn row(app: &App, window: i64, subnet: &str) -> Value {
    sqlx::query_scalar::<_, Value>(
        "select to_jsonb(s) from signal_windows s where window_index = $1 and subnet = $2",
    )
    .bind(window)
    .bind(subnet)
    .fetch_one(&app.server.state.db)
    .await
    .unwrap_or_else(|e| panic!("no signal row for {subnet} in window {window}: {e}"))
}

#[tokio::test]
async fn a_published_window_counts_each_post_once_and_leaves_out_failed_posts_and_penalised_miners()
{
    let app = app_selecting_everything(1).await;
    let (a, b, cheat) = (miner(), miner(), miner());
    let shared = unique_post_id();
    // One X post sent by two miners with different claims: one post, the median claim.
    submit(&app, &a, shared, "talisman_ai", 1.0, 10).await;
    submit(&app, &b, shared, "talisman_ai", 0.5, 30).await;
    submit(&app, &b, unique_post_id(), "talisman_ai", -0.5, 4).await;
    // The cheat's first post fails; its other post does not count either (penalised).
    submit(&app, &cheat, unique_post_id(), "talisman_ai", 1.0, 900).await;
    submit(&app, &cheat, unique_post_id(), "talisman_ai", 1.0, 900).await;
    // A made-up subnet name never becomes a subnet.
    submit(&app, &a, unique_post_id(), "no_such_subnet", 1.0, 1).await;
    submit(&app, &a, unique_post_id(), "apex", -1.0, 2).await;

    let v = validator(&app).await;
    let batch = poll(&app, &v, 100).await;
    let mut failed = false;
    let mut results = Vec::new();
    for payload in batch["payloads"].as_array().unwrap() {
        if !failed && payload["miner_hotkey"] == cheat.ss58() {
            failed = true;
            results.push(verdict(&v, payload, "fail", Some("metric_inflation_likes")));
        } else if payload["miner_hotkey"] == a.ss58() {
            results.push(verdict(&v, payload, "pass", None));
        }
        // b's posts stay undecided.
    }
    send_results(&app, &v, results).await;
    publish(&app, &v).await;

    let talisman = row(&app, 10, "talisman_ai").await;
    assert_eq!(talisman["submissions"], 5, "{talisman}");
    assert_eq!(talisman["counted_submissions"], 3, "{talisman}");
    assert_eq!(talisman["excluded_failed"], 1, "{talisman}");
    assert_eq!(talisman["excluded_penalised"], 1, "{talisman}");
    assert_eq!(talisman["posts"], 2, "{talisman}");
    assert_eq!(talisman["miners"], 2, "{talisman}");
    // Shared post: median of 1.0 and 0.5 is 0.75 (very bullish by nearest class), likes 20.
    assert_eq!(talisman["mean_sentiment"], (0.75 - 0.5) / 2.0, "{talisman}");
    assert_eq!(talisman["very_bullish"], 1, "{talisman}");
    assert_eq!(talisman["bearish"], 1, "{talisman}");
    assert_eq!(talisman["likes"], 24, "{talisman}");
    assert_eq!(talisman["selected"], 5, "{talisman}");
    assert_eq!(talisman["passed"], 1, "{talisman}");
    assert_eq!(talisman["failed"], 1, "{talisman}");
    assert_eq!(talisman["pending"], 3, "{talisman}");
    assert_eq!(
        talisman["failed_by_code"],
        serde_json::json!({"metric_inflation_likes": 1})
    );
    assert_eq!(talisman["checked"], 2.0 / 5.0, "{talisman}");
    assert_eq!(talisman["held"], 0.5, "{talisman}");
    let confidence = talisman["confidence"].as_f64().unwrap();
    assert!(confidence > 0.0 && confidence < 0.5, "{talisman}");

    let apex = row(&app, 10, "apex").await;
    assert_eq!(
        (apex["posts"].as_i64(), apex["very_bearish"].as_i64()),
        (Some(1), Some(1))
    );
    let rows = app.count("select count(*) from signal_windows").await;
    assert_eq!(rows, 2, "only registry subnets get a row");
}

#[tokio::test]
async fn a_post_x_reports_missing_leaves_out_that_post_only_not_its_miners_others() {
    let app = app_selecting_everything(1).await;
    // Both miners lose one post each: `deleted`'s is missing on X (its author may have
    // deleted it), `cheat`'s has inflated likes.
    let (deleted, cheat) = (miner(), miner());
    let lost = unique_post_id();
    submit(&app, &deleted, lost, "talisman_ai", 1.0, 10).await;
    submit(&app, &deleted, unique_post_id(), "talisman_ai", 0.5, 10).await;
    let inflated = unique_post_id();
    submit(&app, &cheat, inflated, "talisman_ai", 1.0, 900).await;
    submit(&app, &cheat, unique_post_id(), "talisman_ai", 0.5, 10).await;
    let v = validator(&app).await;
    let batch = poll(&app, &v, 100).await;
    let results: Vec<_> = batch["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|payload| {
            let post_id = payload["post"]["post_id"].as_str().unwrap();
            if post_id == lost.to_string() {
                verdict(&v, payload, "fail", Some("post_not_found"))
            } else if post_id == inflated.to_string() {
                verdict(&v, payload, "fail", Some("metric_inflation_likes"))
            } else {
                verdict(&v, payload, "pass", None)
            }
        })
        .collect();
    assert_eq!(results.len(), 4);
    send_results(&app, &v, results).await;
    publish(&app, &v).await;

    let talisman = row(&app, 10, "talisman_ai").await;
    assert_eq!(talisman["submissions"], 4, "{talisman}");
    assert_eq!(talisman["excluded_failed"], 2, "{talisman}");
    // The cheat's passing post is left out with it; the deleted post's miner keeps its other.
    assert_eq!(talisman["excluded_penalised"], 1, "{talisman}");
    assert_eq!(talisman["counted_submissions"], 1, "{talisman}");
    assert_eq!(talisman["miners"], 1, "{talisman}");
}

#[tokio::test]
async fn a_verdict_after_publication_updates_the_window_in_the_same_commit() {
    let app = app_selecting_everything(1).await;
    let (honest, cheat) = (miner(), miner());
    submit(&app, &honest, unique_post_id(), "talisman_ai", 0.5, 10).await;
    submit(&app, &cheat, unique_post_id(), "talisman_ai", 1.0, 500).await;
    let v = validator(&app).await;
    publish(&app, &v).await;
    let before = row(&app, 10, "talisman_ai").await;
    assert_eq!(
        (
            before["posts"].as_i64(),
            before["pending"].as_i64(),
            before["confidence"].as_f64()
        ),
        (Some(2), Some(2), Some(0.0))
    );

    let batch = poll(&app, &v, 100).await;
    let results = batch["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            if p["miner_hotkey"] == cheat.ss58() {
                verdict(&v, p, "fail", Some("content_mismatch"))
            } else {
                verdict(&v, p, "pass", None)
            }
        })
        .collect();
    send_results(&app, &v, results).await;

    let after = row(&app, 10, "talisman_ai").await;
    assert_eq!(after["posts"], 1, "{after}");
    assert_eq!(after["excluded_failed"], 1, "{after}");
    assert_eq!(after["mean_sentiment"], 0.5, "{after}");
    assert_eq!(
        (
            after["passed"].as_i64(),
            after["failed"].as_i64(),
            after["pending"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(
        after["failed_by_code"],
        serde_json::json!({"content_mismatch": 1})
    );
    // The late failure counts in the window of its verdict for the scores, so the cheat is
    // penalised there, not retroactively in window 10: its post is out as failed, no more.
    assert_eq!(after["excluded_penalised"], 0, "{after}");
}

async fn get(app: &App, path: &str, etag: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(etag) = etag {
        request = request.header("If-None-Match", etag);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_read_api_shows_a_published_window_with_etags_keyset_pages_and_exports() {
    let app = app_selecting_everything(1).await;
    let m = miner();
    for i in 0..5 {
        submit(
            &app,
            &m,
            unique_post_id(),
            "talisman_ai",
            if i % 2 == 0 { 0.5 } else { -0.5 },
            10,
        )
        .await;
    }
    let v = validator(&app).await;
    let batch = poll(&app, &v, 100).await;
    let results = batch["payloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| verdict(&v, p, "pass", None))
        .collect();
    send_results(&app, &v, results).await;
    publish(&app, &v).await;

    let (status, subnets) = json(get(&app, "/v2/signal/subnets", None).await).await;
    assert_eq!(status, StatusCode::OK);
    let talisman = subnets["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["netuid"] == 45)
        .unwrap();
    assert_eq!(talisman["latest"]["posts"], 5, "{talisman}");
    assert_eq!(talisman["latest"]["passed"], 5, "{talisman}");

    // Settled (every sampled post decided): cached for a year; the ETag revalidates.
    let reply = get(&app, "/v2/signal/windows/10", None).await;
    assert_eq!(reply.status(), StatusCode::OK);
    assert_eq!(
        reply.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = reply.headers()["etag"].to_str().unwrap().to_string();
    let summary: Value = reply.json().await.unwrap();
    assert_eq!(summary["settled"], true);
    assert_eq!(summary["subnets"][0]["name"], "talisman_ai");
    assert_eq!(summary["subnets"][0]["mean_sentiment"], 0.1, "{summary}");
    assert_eq!(summary["miners"][0]["miner_hotkey"], m.ss58());
    let again = get(&app, "/v2/signal/windows/10", Some(&etag)).await;
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(
        get(&app, "/v2/signal/windows/11", None).await.status(),
        StatusCode::NOT_FOUND
    );

    // Keyset pages of 2: every post once, newest first, text withheld by default.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v2/signal/posts?subnet=45&limit=2&cursor={c}"),
            None => "/v2/signal/posts?subnet=45&limit=2".to_string(),
        };
        let (status, page) = json(get(&app, &path, None).await).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        for post in page["posts"].as_array().unwrap() {
            assert!(post["content"].is_null(), "{post}");
            assert_eq!(post["validation"], "passed");
            seen.push(post["post_id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 5);
    let (_, bearish) = json(
        get(
            &app,
            "/v2/signal/posts?subnet=talisman_ai&sentiment=bearish",
            None,
        )
        .await,
    )
    .await;
    assert_eq!(bearish["posts"].as_array().unwrap().len(), 2, "{bearish}");
    let (status, _) =
        json(get(&app, "/v2/signal/posts?subnet=45&cursor=nonsense", None).await).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let csv = get(&app, "/v2/signal/windows/10/export.csv", None).await;
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["etag"].to_str().unwrap().starts_with('"'));
    let text = csv.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 6, "{text}");
    assert!(lines[0].starts_with("validation_id,post_id,miner_hotkey,netuid,subnet,window"));
    let jsonl = get(&app, "/v2/signal/windows/10/export.jsonl", None)
        .await
        .text()
        .await
        .unwrap();
    let items: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(items.len(), 5);
    assert!(items.iter().all(|i| i["netuid"] == 45 && i["window"] == 10));

    let (status, found) = json(get(&app, "/v2/signal/search?q=strong&subnet=45", None).await).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert_eq!(found["posts"].as_array().unwrap().len(), 5, "{found}");
    assert!(found["posts"][0]["rank"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn public_requests_beyond_the_per_ip_limit_are_429_with_retry_after() {
    let app = App::with_settings(server::config::Settings {
        public_rate_limit_per_minute: 3,
        ..testkit::test_settings()
    })
    .await;
    for _ in 0..3 {
        assert_eq!(
            get(&app, "/v2/signal/subnets", None).await.status(),
            StatusCode::OK
        );
    }
    let refused = get(&app, "/v2/signal/subnets", None).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Other routes are not public-limited; three failed authentications are.
    assert_eq!(get(&app, "/v2/status", None).await.status(), StatusCode::OK);
    for _ in 0..3 {
        let reply = app.client.get(app.url("/v2/scores")).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    let reply = app.client.get(app.url("/v2/status")).send().await.unwrap();
    assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
}
