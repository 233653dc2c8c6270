//! The subtensor block source against a local double of a node's JSON-RPC.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use serde_json::{Value, json};
use server::chain::{BlockSource, BlockSourceError};
use testkit::{ServerProcess, TestDb};
use tokio::sync::oneshot;

/// A subtensor node as far as `chain_getHeader` goes: answers over HTTP POST with the
/// Substrate JSON-RPC shape (block number as a hex string).
struct NodeDouble {
    url: String,
    head: Arc<AtomicU64>,
    stop: Option<oneshot::Sender<()>>,
}

async fn rpc(State(head): State<Arc<AtomicU64>>, Json(request): Json<Value>) -> Json<Value> {
    let id = request["id"].clone();
    if request["method"] == "chain_getHeader" {
        let number = format!("0x{:x}", head.load(Ordering::SeqCst));
        Json(json!({"jsonrpc": "2.0", "id": id, "result": {
            "parentHash": format!("0x{}", "11".repeat(32)), "number": number,
            "stateRoot": format!("0x{}", "22".repeat(32)), "extrinsicsRoot": format!("0x{}", "33".repeat(32)),
            "digest": {"logs": []}
        }}))
    } else {
        Json(
            json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "Method not found"}}),
        )
    }
}

impl NodeDouble {
    async fn start(block: u64) -> Self {
        let head = Arc::new(AtomicU64::new(block));
        let app = axum::Router::new()
            .route("/", post(rpc))
            .with_state(Arc::clone(&head));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    stopped.await.ok();
                })
                .await
                .unwrap();
        });
        Self {
            url,
            head,
            stop: Some(stop),
        }
    }

    fn set(&self, block: u64) {
        self.head.store(block, Ordering::SeqCst);
    }

    fn stop(&mut self) {
        self.stop.take().map(|s| s.send(()));
    }
}

/// Polls `check` until it holds, failing after 10 s (the source refreshes every 50 ms).
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_subtensor_source_reads_the_chain_head_and_follows_it() {
    let node = NodeDouble::start(4_500_000).await;
    let source =
        BlockSource::subtensor(&node.url, Duration::from_millis(50), Duration::from_secs(5))
            .await
            .unwrap();
    assert_eq!(source.current_block(), Ok(4_500_000));
    node.set(4_500_007);
    eventually("the new head is read", || {
        source.current_block() == Ok(4_500_007)
    })
    .await;
}

#[tokio::test]
async fn a_node_that_stops_answering_makes_the_source_stale() {
    let mut node = NodeDouble::start(10).await;
    let source =
        BlockSource::subtensor(&node.url, Duration::from_millis(50), Duration::from_secs(5))
            .await
            .unwrap();
    assert_eq!(source.current_block(), Ok(10));
    node.stop();
    eventually("the head is stale", || {
        matches!(source.current_block(), Err(BlockSourceError::Stale(_)))
    })
    .await;
}

#[tokio::test]
async fn a_node_down_at_start_leaves_the_block_unknown() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{unused}");
    let source =
        BlockSource::subtensor(&url, Duration::from_millis(50), Duration::from_millis(300))
            .await
            .unwrap();
    assert_eq!(source.current_block(), Err(BlockSourceError::NotYetKnown));
}

#[tokio::test]
async fn a_server_process_serves_the_node_head_given_a_websocket_url() {
    let node = NodeDouble::start(0x44_aa_20).await;
    let db = TestDb::new().await;
    let ws_url = node.url.replace("http://", "ws://");
    let server = ServerProcess::spawn(
        std::path::Path::new(env!("CARGO_BIN_EXE_pulse-server")),
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("BLOCK_SOURCE", "subtensor"),
            ("SUBTENSOR_URL", ws_url.as_str()),
        ],
    )
    .await
    .unwrap();
    let body: Value = reqwest::get(server.url("/v2/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["current_block"], 4_500_000);
    assert_eq!(body["current_window"], 45_000);
    assert!(server.terminate().await.unwrap());
}
