//! The limits hold exactly when many requests for one hotkey arrive at once on two server
//! processes sharing one database.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Client, StatusCode};
use testkit::{AuthForm, ServerProcess, Signer, TestDb, now_unix, sample_submission};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::helpers::unique_post_id;

/// Two `pulse-server` processes on `db`, both in the first block of window 0 of a clock
/// that started a second ago (so a test never straddles a window boundary).
async fn two_servers(db: &TestDb) -> (ServerProcess, ServerProcess) {
    let genesis = (now_unix() - 1).to_string();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("GENESIS_UNIX", genesis.as_str()),
    ];
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_pulse-server"));
    let a = ServerProcess::spawn(binary, &env)
        .await
        .expect("first server");
    let b = ServerProcess::spawn(binary, &env)
        .await
        .expect("second server");
    (a, b)
}

/// Sends every prepared request at once (released together by a barrier), alternating
/// between the two servers; returns each reply's status and body.
async fn fire(
    urls: [String; 2],
    requests: Vec<(reqwest::header::HeaderMap, Vec<u8>)>,
) -> Vec<(StatusCode, serde_json::Value)> {
    let client = Client::builder().pool_max_idle_per_host(0).build().unwrap();
    let barrier = Arc::new(Barrier::new(requests.len()));
    let mut tasks = JoinSet::new();
    for (i, (headers, body)) in requests.into_iter().enumerate() {
        let (client, barrier, url) = (client.clone(), Arc::clone(&barrier), urls[i % 2].clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let response = client
                .post(url)
                .headers(headers)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("request sent");
            let status = response.status();
            (
                status,
                response
                    .json::<serde_json::Value>()
                    .await
                    .expect("JSON reply"),
            )
        });
    }
    tasks.join_all().await
}

fn tally(replies: &[(StatusCode, serde_json::Value)]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for (status, body) in replies {
        let key = match body["status"].as_str() {
            Some(outcome) => format!("{} {outcome}", status.as_u16()),
            None => status.as_u16().to_string(),
        };
        *counts.entry(key).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_simultaneous_posts_of_one_hotkey_on_two_servers_store_exactly_five() {
    let db = TestDb::new().await;
    let (a, b) = two_servers(&db).await;
    let miner = Signer::new(AuthForm::Epistula);
    let requests = (0..100)
        .map(|_| {
            let body =
                serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
            (miner.headers(&body), body)
        })
        .collect();
    let replies = fire([a.url("/v2/submit"), b.url("/v2/submit")], requests).await;
    let counts = tally(&replies);
    assert_eq!(
        counts,
        BTreeMap::from([("200 new".to_string(), 5), ("429".to_string(), 95)]),
        "{replies:?}"
    );
    for (status, body) in &replies {
        if *status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(body["detail"]["rate_limit"]["current_count"], 5, "{body}");
        }
    }
    let pool = db.pool().await;
    let stored: i64 = sqlx::query_scalar("select count(*) from submissions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let used: i32 = sqlx::query_scalar("select used from window_quota")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((stored, used), (5, 5));
    pool.close().await;
    assert!(
        a.terminate().await.unwrap() && b.terminate().await.unwrap(),
        "both servers exit cleanly"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_simultaneous_identical_posts_on_two_servers_are_one_new_and_the_rest_duplicates() {
    let db = TestDb::new().await;
    let (a, b) = two_servers(&db).await;
    let miner = Signer::new(AuthForm::Epistula);
    let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
    // Each request is signed anew (its own Epistula uuid) over the same body.
    let requests = (0..50)
        .map(|_| (miner.headers(&body), body.clone()))
        .collect();
    let replies = fire([a.url("/v2/submit"), b.url("/v2/submit")], requests).await;
    let counts = tally(&replies);
    assert_eq!(
        counts,
        BTreeMap::from([
            ("200 duplicate".to_string(), 49),
            ("200 new".to_string(), 1)
        ]),
        "{replies:?}"
    );
    let ids: std::collections::BTreeSet<_> = replies
        .iter()
        .map(|(_, b)| b["validation_id"].to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every reply names the one stored post");
    let pool = db.pool().await;
    let stored: i64 = sqlx::query_scalar("select count(*) from submissions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let used: i32 = sqlx::query_scalar("select used from window_quota")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((stored, used), (1, 1));
    pool.close().await;
    a.terminate().await.unwrap();
    b.terminate().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_epistula_request_replayed_at_once_on_two_servers_is_accepted_once() {
    let db = TestDb::new().await;
    let (a, b) = two_servers(&db).await;
    let miner = Signer::new(AuthForm::Epistula);
    let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
    let headers = miner.headers(&body);
    let requests = (0..20).map(|_| (headers.clone(), body.clone())).collect();
    let replies = fire([a.url("/v2/submit"), b.url("/v2/submit")], requests).await;
    assert_eq!(
        tally(&replies),
        BTreeMap::from([("200 new".to_string(), 1), ("401".to_string(), 19)])
    );
    a.terminate().await.unwrap();
    b.terminate().await.unwrap();
}
