//! Faults under load: a replica killed with SIGKILL, PostgreSQL stopped, three replicas
//! racing on one database.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::{Client, StatusCode};
use testkit::{AuthForm, ServerProcess, Signer, TestDb, now_unix, sample_submission};
use tokio::sync::Mutex;
use tokio::task::JoinSet;

use crate::helpers::unique_post_id;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pulse-server"))
}

/// What a load worker saw: acknowledged submissions and failures per server.
#[derive(Default)]
struct Tally {
    acknowledged: Vec<(String, String, String)>, // (hotkey, post_id, validation_id)
    ok_per_server: BTreeMap<usize, u64>,
    failures_per_server: BTreeMap<usize, u64>,
}

/// Submits new posts from `miners` to the servers in `urls` (round robin) until `stop`.
async fn load(
    urls: Arc<Mutex<Vec<String>>>,
    miners: Arc<Vec<Signer>>,
    stop: Arc<AtomicBool>,
    tally: Arc<Mutex<Tally>>,
    worker: usize,
) {
    let client = Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut i = worker;
    while !stop.load(Ordering::SeqCst) {
        let server = i % 2;
        let url = urls.lock().await[server].clone();
        let miner = &miners[i % miners.len()];
        let post = sample_submission(miner.ss58(), unique_post_id());
        let body = serde_json::to_vec(&post).unwrap();
        let sent = client
            .post(format!("{url}/v2/submit"))
            .headers(miner.headers(&body))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        let mut tally = tally.lock().await;
        match sent {
            Ok(response) if response.status() == StatusCode::OK => {
                let reply: serde_json::Value = response.json().await.unwrap();
                assert_eq!(reply["status"], "new");
                tally.acknowledged.push((
                    miner.ss58().to_string(),
                    post.post_id,
                    reply["validation_id"].as_str().unwrap().to_string(),
                ));
                *tally.ok_per_server.entry(server).or_default() += 1;
            }
            Ok(response) => {
                let status = response.status();
                assert!(
                    status.is_server_error(),
                    "unexpected {status}: {}",
                    response.text().await.unwrap_or_default()
                );
                *tally.failures_per_server.entry(server).or_default() += 1;
            }
            Err(_) => *tally.failures_per_server.entry(server).or_default() += 1,
        }
        i += 1;
    }
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replica_killed_under_load_loses_no_acknowledged_submission_and_the_other_keeps_serving()
{
    let db = TestDb::new().await;
    let genesis = (now_unix() - 1).to_string();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("GENESIS_UNIX", genesis.as_str()),
        ("MAX_SUBMISSION_RATE", "100000"),
    ];
    let a = ServerProcess::spawn(binary(), &env).await.unwrap();
    let b = ServerProcess::spawn(binary(), &env).await.unwrap();
    let urls = Arc::new(Mutex::new(vec![a.url(""), b.url("")]));
    let miners = Arc::new(
        (0..8)
            .map(|_| Signer::new(AuthForm::Epistula))
            .collect::<Vec<_>>(),
    );
    let (stop, tally) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(Mutex::new(Tally::default())),
    );
    let mut workers = JoinSet::new();
    for worker in 0..6 {
        workers.spawn(load(
            urls.clone(),
            miners.clone(),
            stop.clone(),
            tally.clone(),
            worker,
        ));
    }
    wait_for("100 submissions are acknowledged", async || {
        tally.lock().await.acknowledged.len() >= 100
    })
    .await;
    a.kill().await;
    let b_before = tally
        .lock()
        .await
        .ok_per_server
        .get(&1)
        .copied()
        .unwrap_or(0);
    wait_for("the survivor serves 100 more", async || {
        tally
            .lock()
            .await
            .ok_per_server
            .get(&1)
            .copied()
            .unwrap_or(0)
            >= b_before + 100
    })
    .await;
    // The killed replica restarts and continues.
    let restarted = ServerProcess::spawn(binary(), &env).await.unwrap();
    let a_before = tally
        .lock()
        .await
        .ok_per_server
        .get(&0)
        .copied()
        .unwrap_or(0);
    urls.lock().await[0] = restarted.url("");
    wait_for("the restarted replica serves 50", async || {
        tally
            .lock()
            .await
            .ok_per_server
            .get(&0)
            .copied()
            .unwrap_or(0)
            >= a_before + 50
    })
    .await;
    stop.store(true, Ordering::SeqCst);
    workers.join_all().await;

    let tally = tally.lock().await;
    assert_eq!(
        tally.failures_per_server.get(&1).copied().unwrap_or(0),
        0,
        "the survivor never failed"
    );
    let pool = db.pool().await;
    let stored: BTreeSet<(String, String, String)> =
        sqlx::query_as::<_, (String, String, uuid::Uuid)>(
            "select miner_hotkey, post_id, validation_id from submissions",
        )
        .fetch_all(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|(h, p, v)| (h, p, v.to_string()))
        .collect();
    let missing: Vec<_> = tally
        .acknowledged
        .iter()
        .filter(|a| !stored.contains(*a))
        .collect();
    assert!(
        missing.is_empty(),
        "{} acknowledged submissions are missing: {missing:?}",
        missing.len()
    );
    eprintln!(
        "kill -9 under load: {} acknowledged, {} stored, failures while down {:?}",
        tally.acknowledged.len(),
        stored.len(),
        tally.failures_per_server
    );
    pool.close().await;
    assert!(b.terminate().await.unwrap() && restarted.terminate().await.unwrap());
}

fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|token| token.strip_prefix(name))
}

/// Runs `pg_ctl` of the embedded cluster as its owner (PostgreSQL refuses root).
async fn pg_ctl(args: &[&str]) {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin/pg_ctl"))
        .find(|p| p.exists())
        .expect("pg_ctl");
    let as_root = String::from_utf8(
        std::process::Command::new("id")
            .arg("-u")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
        == "0";
    let mut command = if as_root {
        let mut c = tokio::process::Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&bin);
        c
    } else {
        tokio::process::Command::new(&bin)
    };
    let output = command.args(args).output().await.unwrap();
    assert!(
        output.status.success(),
        "pg_ctl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_postgres_stopped_requests_get_503_and_the_server_recovers_by_itself() {
    let dir = std::env::temp_dir().join(format!("pulse-pgstop-{}", uuid::Uuid::new_v4().simple()));
    let data_dir = dir.to_string_lossy().into_owned();
    let server = ServerProcess::spawn(binary(), &[("PULSE_DATA_DIR", data_dir.as_str())])
        .await
        .unwrap();
    let ready_line = server
        .log()
        .into_iter()
        .find(|l| l.contains("embedded PostgreSQL ready"))
        .unwrap();
    let url = field(&ready_line, "url=").unwrap().to_string();
    let cluster = field(&ready_line, "data=").unwrap().to_string();
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let miner = Signer::new(AuthForm::Epistula);
    let submit = async |client: &Client| {
        let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
        client
            .post(server.url("/v2/submit"))
            .headers(miner.headers(&body))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    };
    assert_eq!(submit(&client).await.status(), StatusCode::OK);

    pg_ctl(&["stop", "-D", &cluster, "-m", "immediate", "-w"]).await;
    let started = std::time::Instant::now();
    let down = submit(&client).await;
    let waited = started.elapsed();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(down.headers().contains_key("retry-after"));
    assert!(waited < Duration::from_secs(6), "answered after {waited:?}");
    let body: serde_json::Value = down.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    let ready = client.get(server.url("/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        client
            .get(server.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let log = format!("{cluster}/postmaster.log");
    let port_option = format!("-p {port}");
    pg_ctl(&[
        "start",
        "-D",
        &cluster,
        "-w",
        "-l",
        &log,
        "-o",
        &port_option,
    ])
    .await;
    wait_for("the server is ready again", async || {
        client
            .get(server.url("/ready"))
            .send()
            .await
            .map(|r| r.status() == StatusCode::OK)
            .unwrap_or(false)
    })
    .await;
    assert_eq!(
        submit(&client).await.status(),
        StatusCode::OK,
        "submissions work again without a restart"
    );
    eprintln!("postgres stopped: 503 after {waited:?}; recovered without restart");
    assert!(server.terminate().await.unwrap());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_replicas_hold_quota_idempotency_and_replay_exactly() {
    let db = TestDb::new().await;
    let genesis = (now_unix() - 1).to_string();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("GENESIS_UNIX", genesis.as_str()),
    ];
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(ServerProcess::spawn(binary(), &env).await.unwrap());
    }
    let urls: Vec<String> = replicas.iter().map(|r| r.url("/v2/submit")).collect();
    let miners: Vec<Signer> = (0..6).map(|_| Signer::new(AuthForm::Epistula)).collect();
    // Per miner: 9 distinct posts, each sent twice (fresh uuids), and one request replayed
    // three times: 9 x 2 + 3 = 21 requests per miner, all at once across the replicas.
    let mut requests = Vec::new();
    for miner in &miners {
        for _ in 0..9 {
            let body =
                serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
            requests.push((miner.ss58().to_string(), miner.headers(&body), body.clone()));
            requests.push((miner.ss58().to_string(), miner.headers(&body), body));
        }
        let body = serde_json::to_vec(&sample_submission(miner.ss58(), unique_post_id())).unwrap();
        let headers = miner.headers(&body);
        for _ in 0..3 {
            requests.push((miner.ss58().to_string(), headers.clone(), body.clone()));
        }
    }
    let client = Client::new();
    let barrier = Arc::new(tokio::sync::Barrier::new(requests.len()));
    let mut tasks = JoinSet::new();
    for (i, (hotkey, headers, body)) in requests.into_iter().enumerate() {
        let (client, barrier, url) = (client.clone(), barrier.clone(), urls[i % 3].clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let response = client
                .post(url)
                .headers(headers)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status();
            let reply: serde_json::Value = response.json().await.unwrap();
            (
                hotkey,
                status,
                reply["status"].as_str().unwrap_or("").to_string(),
            )
        });
    }
    let replies = tasks.join_all().await;
    assert!(
        replies.iter().all(|(_, s, _)| !s.is_server_error()),
        "no 5xx"
    );
    let pool = db.pool().await;
    for miner in &miners {
        let mine: Vec<_> = replies
            .iter()
            .filter(|(h, _, _)| h == miner.ss58())
            .collect();
        let new = mine
            .iter()
            .filter(|(_, s, o)| *s == StatusCode::OK && o == "new")
            .count();
        let replays_refused = mine
            .iter()
            .filter(|(_, s, _)| *s == StatusCode::UNAUTHORIZED)
            .count();
        assert_eq!(new, 5, "exactly the quota is new for {}", miner.ss58());
        assert!(
            replays_refused >= 2,
            "a replayed request is accepted at most once"
        );
        let (stored, used): (i64, i32) = sqlx::query_as(
            "select (select count(*) from submissions where miner_hotkey = $1), (select used from window_quota where miner_hotkey = $1)",
        )
        .bind(miner.ss58())
        .fetch_one(&pool)
        .await
        .unwrap();
        assert_eq!((stored, used), (5, 5));
    }
    let duplicates: i64 = sqlx::query_scalar(
        "select count(*) - count(distinct (miner_hotkey, post_id)) from submissions",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(duplicates, 0);
    pool.close().await;
    for replica in replicas {
        assert!(replica.terminate().await.unwrap());
    }
}
