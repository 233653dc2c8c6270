//! The subtensor block source, through the `subtensor` client, against `pulse-chain` (the
//! node double whose answers are pinned by recorded finney bytes).

use std::time::Duration;

use server::chain::{BlockSource, BlockSourceError};
use testkit::{ServerProcess, TestDb};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// `pulse-chain` in this process, making blocks only when told.
struct Node {
    chain: chain::Chain,
    http: String,
    ws: String,
    stop: Option<oneshot::Sender<()>>,
}

impl Node {
    async fn start(blocks: u32) -> Self {
        let chain = chain::Chain::new(chain::Config::manual()).unwrap();
        chain.produce_blocks(blocks);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(chain::serve(listener, chain.clone(), async {
            stopped.await.ok();
        }));
        Self {
            chain,
            http: format!("http://{address}"),
            ws: format!("ws://{address}"),
            stop: Some(stop),
        }
    }

    fn best(&self) -> u64 {
        u64::from(self.chain.best_header().number)
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
    let node = Node::start(40).await;
    for url in [&node.http, &node.ws] {
        let source = BlockSource::subtensor(url, Duration::from_millis(50), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(source.current_block(), Ok(node.best()));
        node.chain.produce_blocks(7);
        let best = node.best();
        eventually("the new head is read", || {
            source.current_block() == Ok(best)
        })
        .await;
    }
}

#[tokio::test]
async fn a_node_that_stops_answering_makes_the_source_stale() {
    let mut node = Node::start(10).await;
    // Over HTTP, so the stop closes every connection.
    let source = BlockSource::subtensor(
        &node.http,
        Duration::from_millis(50),
        Duration::from_secs(5),
    )
    .await
    .unwrap();
    assert_eq!(source.current_block(), Ok(node.best()));
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
    for url in [
        format!("http://127.0.0.1:{unused}"),
        format!("ws://127.0.0.1:{unused}"),
    ] {
        let source =
            BlockSource::subtensor(&url, Duration::from_millis(50), Duration::from_millis(300))
                .await
                .unwrap();
        assert_eq!(source.current_block(), Err(BlockSourceError::NotYetKnown));
    }
    assert!(
        BlockSource::subtensor(
            "fenney",
            Duration::from_millis(50),
            Duration::from_millis(300)
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn a_server_process_serves_the_node_head_given_a_websocket_url() {
    let node = Node::start(0).await;
    // Block 4,500,000 would take a while to make: the window arithmetic is the same at 250.
    node.chain.produce_blocks(250);
    let db = TestDb::new().await;
    let server = ServerProcess::spawn(
        std::path::Path::new(env!("CARGO_BIN_EXE_pulse-server")),
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("BLOCK_SOURCE", "subtensor"),
            ("SUBTENSOR_URL", node.ws.as_str()),
        ],
    )
    .await
    .unwrap();
    let best = node.best();
    let body: serde_json::Value = reqwest::get(server.url("/v2/status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["current_block"], best);
    assert_eq!(body["current_window"], best / 100);
    assert!(server.terminate().await.unwrap());
}
