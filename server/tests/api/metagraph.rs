//! REGISTRATION=metagraph against `pulse-chain`, the subtensor double whose neuron encoding is
//! pinned by recorded finney bytes: who may submit and validate, the 403 reasons, the node
//! going away and coming back, and three server processes on one database.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use server::AppState;
use server::chain::BlockSource;
use server::config::{Registration, Role, Settings};
use server::metagraph::{self, Metagraph, MetagraphConfig, RAO_PER_TAO};
use subtensor::{Endpoint, RpcOptions};
use testkit::{AuthForm, ServerProcess, Signer, TestDb, TestServer, sample_submission};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::{START_BLOCK, json, unique_post_id};

pub const NETUID: u16 = 3;

/// `pulse-chain` in this process, with netuid [`NETUID`] and an admin API; stoppable and
/// restartable on the same port with the same chain.
pub struct Node {
    chain: chain::Chain,
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    client: Client,
}

impl Node {
    pub async fn start() -> Self {
        let config = chain::Config {
            state: serde_json::from_value(
                json!({"subnets": [{"netuid": NETUID, "max_allowed_uids": 64}]}),
            )
            .unwrap(),
            ..chain::Config::manual()
        };
        let chain = chain::Chain::new(config).unwrap();
        chain.produce_blocks(5);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut node = Self {
            chain,
            address,
            stop: None,
            client: Client::new(),
        };
        node.serve(listener);
        node
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(chain::serve(listener, self.chain.clone(), async {
            stopped.await.ok();
        }));
        self.stop = Some(stop);
    }

    pub fn url(&self) -> String {
        format!("ws://{}", self.address)
    }

    /// The HTTP form: every request a new exchange, so a halted node is unreachable at once
    /// (an upgraded WebSocket outlives the listener's graceful shutdown).
    fn http_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Stops answering: the port is closed.
    fn halt(&mut self) {
        self.stop.take().map(|stop| stop.send(()));
    }

    /// Answers again on the same port.
    async fn resume(&mut self) {
        let listener = TcpListener::bind(self.address).await.unwrap();
        self.serve(listener);
    }

    async fn admin(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let response = self
            .client
            .request(method, format!("http://{}{path}", self.address))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    /// Registers `hotkey` on the subnet with `stake_rao` and a permit or not; its uid.
    pub async fn register(&self, hotkey: &str, stake_rao: u64, permit: bool) -> u64 {
        let body = self
            .admin(
                reqwest::Method::POST,
                &format!("/admin/subnets/{NETUID}/neurons"),
                json!({"hotkey": hotkey, "stake": stake_rao, "validator_permit": permit}),
            )
            .await;
        self.chain.produce_blocks(1);
        body["uid"].as_u64().unwrap()
    }

    async fn deregister(&self, hotkey: &str) {
        self.admin(
            reqwest::Method::POST,
            &format!("/admin/subnets/{NETUID}/deregister"),
            json!({"hotkey": hotkey}),
        )
        .await;
        self.chain.produce_blocks(1);
    }
}

pub fn config(url: &str, tick: Duration, max_age: Duration) -> MetagraphConfig {
    MetagraphConfig {
        netuid: NETUID,
        endpoint: Endpoint::parse(url).unwrap(),
        sync_interval: tick,
        tick,
        max_age,
        min_validator_stake_rao: 1_000 * RAO_PER_TAO,
        rpc: RpcOptions {
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
        },
    }
}

/// An in-process server deciding by `metagraph`, at a manual block.
pub async fn server(db: &TestDb, metagraph: Metagraph) -> TestServer {
    let settings = Settings {
        registration: Registration::Metagraph,
        ..Settings::default()
    };
    let state = AppState::new(db.pool().await, settings, BlockSource::manual(START_BLOCK))
        .with_metagraph(metagraph);
    TestServer::start_with_state(state).await
}

/// Syncs now (the interval is zero in these tests) and loads the result.
pub async fn sync(server: &TestServer) {
    let metagraph = server.state.metagraph.as_ref().unwrap();
    metagraph.sync_if_due(&server.state.db).await.unwrap();
    metagraph.reload(&server.state.db).await.unwrap();
}

async fn submit(client: &Client, url: &str, miner: &Signer) -> (StatusCode, Value) {
    json(
        miner
            .post_json(
                client,
                &format!("{url}/v2/submit"),
                &sample_submission(miner.ss58(), unique_post_id()),
            )
            .await,
    )
    .await
}

/// Polls `check` every 50 ms until it returns true, failing after `limit`.
async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_registered_miner_is_accepted_and_an_unregistered_one_is_told_to_register() {
    let node = Node::start().await;
    let registered = Signer::new(AuthForm::Epistula);
    let stranger = Signer::new(AuthForm::XAuth);
    node.register(registered.ss58(), 0, false).await;
    let db = TestDb::new().await;
    let server = server(
        &db,
        Metagraph::new(config(
            &node.url(),
            Duration::ZERO,
            Duration::from_secs(600),
        )),
    )
    .await;
    sync(&server).await;
    let client = Client::new();
    let base = server.url("");
    let block = server
        .state
        .metagraph
        .as_ref()
        .unwrap()
        .snapshot()
        .unwrap()
        .block;

    let (status, body) = submit(&client, &base, &registered).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "new");

    let (status, body) = submit(&client, &base, &stranger).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let expected = format!(
        "hotkey {} has no UID on netuid {NETUID} at block {block}: register it with `btcli subnet register --netuid {NETUID}`",
        stranger.ss58()
    );
    assert!(
        body["detail"].as_str().unwrap().starts_with(&expected),
        "{body}"
    );

    // `hotkeys add` overrides: a listed miner may submit without a UID, and a hotkey listed
    // only as a validator may not submit even with one.
    server::db::hotkeys::add(&server.state.db, stranger.ss58(), Role::Miner)
        .await
        .unwrap();
    let (status, body) = submit(&client, &base, &stranger).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    server::db::hotkeys::add(&server.state.db, registered.ss58(), Role::Validator)
        .await
        .unwrap();
    let (status, body) = submit(&client, &base, &registered).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("is registered as validator"),
        "{body}"
    );

    // The public view of what the server decides with.
    let (status, body) = json(
        client
            .get(server.url("/v2/metagraph"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["netuid"], NETUID);
    assert_eq!(body["block"], block);
    assert_eq!(body["stale"], false);
    assert_eq!(body["neurons"].as_array().unwrap().len(), 1);
    assert_eq!(body["neurons"][0]["hotkey"], registered.ss58());
    assert_eq!(body["neurons"][0]["uid"], 0);
}

#[tokio::test]
async fn validators_need_a_permit_and_the_minimum_stake() {
    let node = Node::start().await;
    let good = Signer::new(AuthForm::Epistula);
    let permitless = Signer::new(AuthForm::Epistula);
    let poor = Signer::new(AuthForm::Epistula);
    let good_uid = node.register(good.ss58(), 5_000 * RAO_PER_TAO, true).await;
    let permitless_uid = node
        .register(permitless.ss58(), 9_000 * RAO_PER_TAO, false)
        .await;
    let poor_uid = node.register(poor.ss58(), 999 * RAO_PER_TAO, true).await;
    let db = TestDb::new().await;
    let server = server(
        &db,
        Metagraph::new(config(
            &node.url(),
            Duration::ZERO,
            Duration::from_secs(600),
        )),
    )
    .await;
    sync(&server).await;
    let client = Client::new();
    let lease = |signer: &Signer| {
        let client = client.clone();
        let url = server.url("/v2/validation?limit=5");
        let signer = signer.clone();
        async move { json(signer.get(&client, &url).await).await }
    };

    let (status, body) = lease(&good).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = lease(&permitless).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with(&format!(
            "hotkey {} (uid {permitless_uid} on netuid {NETUID} at block",
            permitless.ss58()
        )),
        "{detail}"
    );
    assert!(detail.contains("has no validator permit"), "{detail}");
    assert!(detail.contains("btcli stake add --netuid 3"), "{detail}");

    let (status, body) = lease(&poor).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("(uid {poor_uid} on netuid {NETUID} at block"))
            && detail.contains("has 999 of stake on the subnet, below MIN_VALIDATOR_STAKE (1000)"),
        "{detail}"
    );

    // Scores, verdicts and other miners' reports are behind the same check.
    let (status, _) = json(poor.get(&client, &server.url("/v2/scores")).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let report = server.url(&format!("/v2/miners/{}", permitless.ss58()));
    let (status, body) = json(good.get(&client, &report).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = server.url(&format!("/v2/miners/{}", good.ss58()));
    let (status, _) = json(poor.get(&client, &report).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // A validator listed with `hotkeys add` needs neither.
    server::db::hotkeys::add(&server.state.db, poor.ss58(), Role::Validator)
        .await
        .unwrap();
    let (status, body) = lease(&poor).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(good_uid, poor_uid);
}

#[tokio::test]
async fn with_the_node_away_the_last_metagraph_serves_until_too_old_then_ready_fails_until_it_returns()
 {
    let mut node = Node::start().await;
    let miner = Signer::new(AuthForm::Epistula);
    node.register(miner.ss58(), 0, false).await;
    let db = TestDb::new().await;
    let tick = Duration::from_millis(100);
    let max_age = Duration::from_millis(1_500);
    let metagraph = Metagraph::new(config(&node.http_url(), tick, max_age));
    let server = server(&db, metagraph.clone()).await;
    let sync_task = metagraph::spawn(
        metagraph.clone(),
        server.state.db.clone(),
        server.state.metrics.clone(),
    );
    let client = Client::new();
    let ready_url = server.url("/ready");
    let ready = || {
        let client = client.clone();
        let url = ready_url.clone();
        async move { json(client.get(&url).send().await.unwrap()).await }
    };
    let ready = &ready;
    let db = &server.state.db;
    eventually("the first sync", Duration::from_secs(10), || async move {
        ready().await.0 == StatusCode::OK
    })
    .await;

    node.halt();
    // The failures are recorded while the last metagraph still serves.
    eventually(
        "a failed attempt is recorded",
        Duration::from_secs(10),
        || async move {
            server::db::metagraph::sync_row(db, NETUID)
                .await
                .unwrap()
                .is_some_and(|row| row.failures > 0 && row.last_error.is_some())
        },
    )
    .await;
    let fresh = metagraph.fresh();
    if fresh.is_ok() {
        let (status, body) = submit(&client, &server.url(""), &miner).await;
        assert_eq!(status, StatusCode::OK, "stale but within the limit: {body}");
    }

    eventually(
        "the metagraph is too old",
        Duration::from_secs(10),
        || async move { ready().await.0 == StatusCode::SERVICE_UNAVAILABLE },
    )
    .await;
    let (_, body) = ready().await;
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("more than METAGRAPH_MAX_AGE_SECS"),
        "{detail}"
    );
    assert!(detail.contains("unreachable"), "{detail}");
    let response = miner
        .post_json(
            &client,
            &server.url("/v2/submit"),
            &sample_submission(miner.ss58(), unique_post_id()),
        )
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().contains_key("retry-after"));
    let (_, body) = json(response).await;
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("last synced at block"),
        "{body}"
    );
    let metrics = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(testkit::metrics::value(&metrics, "pulse_metagraph_sync_errors_total") > 0);
    assert!(testkit::metrics::value(&metrics, "pulse_metagraph_sync_failures") > 0);
    assert_eq!(
        testkit::metrics::value(&metrics, "pulse_metagraph_neurons"),
        1
    );

    node.resume().await;
    eventually("the node is back", Duration::from_secs(10), || async move {
        ready().await.0 == StatusCode::OK
    })
    .await;
    let (status, body) = submit(&client, &server.url(""), &miner).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sync_task.abort();
}

#[tokio::test]
async fn a_deregistered_miner_is_refused_by_three_server_processes_after_the_next_sync() {
    let node = Node::start().await;
    let miner = Signer::new(AuthForm::Epistula);
    let other = Signer::new(AuthForm::Epistula);
    node.register(miner.ss58(), 0, false).await;
    node.register(other.ss58(), 0, false).await;
    let db = TestDb::new().await;
    let netuid = NETUID.to_string();
    let url = node.url();
    let env = [
        ("DATABASE_URL", db.url.as_str()),
        ("REGISTRATION", "metagraph"),
        ("SUBTENSOR_URL", url.as_str()),
        ("NETUID", netuid.as_str()),
        ("BLOCK_TIME_SECS", "0.2"),
        ("METAGRAPH_SYNC_BLOCKS", "1"),
        ("MAX_SUBMISSION_RATE", "1000"),
    ];
    let binary = Path::new(env!("CARGO_BIN_EXE_pulse-server"));
    let (a, b, c) = tokio::join!(
        ServerProcess::spawn(binary, &env),
        ServerProcess::spawn(binary, &env),
        ServerProcess::spawn(binary, &env)
    );
    let servers = [a.unwrap(), b.unwrap(), c.unwrap()];
    let client = Client::new();
    for server in &servers {
        let client = &client;
        eventually(
            "every process has the metagraph",
            Duration::from_secs(20),
            || async move {
                client
                    .get(server.url("/ready"))
                    .send()
                    .await
                    .unwrap()
                    .status()
                    == StatusCode::OK
            },
        )
        .await;
        let (status, body) = submit(client, &server.url(""), &miner).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    node.deregister(miner.ss58()).await;
    let after = u64::from(node.chain.best_header().number);
    for server in &servers {
        let base = server.url("");
        // The process's next sync after the deregistration (it polls its public metagraph,
        // so no request is spent on the quota while waiting).
        let client = &client;
        let url = server.url("/v2/metagraph");
        let url = &url;
        eventually(
            "a sync after the deregistration",
            Duration::from_secs(20),
            || async move {
                let body: Value = client.get(url).send().await.unwrap().json().await.unwrap();
                body["block"].as_u64().is_some_and(|block| block >= after)
            },
        )
        .await;
        let (status, body) = submit(client, &base, &miner).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        let detail = body["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!(
                "hotkey {} has no UID on netuid {NETUID} at block",
                miner.ss58()
            )),
            "{detail}"
        );
        let block: u64 = detail
            .split(" at block ")
            .nth(1)
            .and_then(|rest| rest.split(':').next())
            .and_then(|b| b.parse().ok())
            .unwrap_or_else(|| panic!("no block in {detail}"));
        assert!(block >= after, "{detail}");
        // The others keep their UIDs.
        let (status, body) = submit(client, &base, &other).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    // One record per subnet, written by whichever process held the lock.
    let pool = db.pool().await;
    let row = server::db::metagraph::sync_row(&pool, NETUID)
        .await
        .unwrap()
        .unwrap();
    assert!(row.block.unwrap() >= after);
    let stored: i64 = sqlx::query_scalar("select count(*) from metagraph_neurons")
        .fetch_one(&pool)
        .await
        .unwrap();
    // The deregistered uid went to a fresh hotkey: still two neurons.
    assert_eq!(stored, 2);
    pool.close().await;
    for server in servers {
        assert!(server.terminate().await.unwrap());
    }
}
