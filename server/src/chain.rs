//! Where the current block comes from.
//!
//! The server is its clients' source of truth for the block, so every window decision
//! reads [`BlockSource::current_block`]. Three sources sit behind that one call:
//! - the clock: `(now - genesis) / block_time`, stable across restarts and identical on
//!   every process that shares the settings (the default);
//! - a subtensor node's chain head, read with the Substrate JSON-RPC `chain_getHeader`,
//!   cached and refreshed every block time by a background task;
//! - a manual counter that tests advance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;
use thiserror::Error;
use tokio::task::JoinHandle;

/// Why the current block is not known.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockSourceError {
    /// The subtensor node has not answered yet.
    #[error("the block source has not reported a block yet")]
    NotYetKnown,
    /// The subtensor node stopped answering.
    #[error("the block source has not answered for {0} s")]
    Stale(u64),
    /// The clock is before genesis.
    #[error("the clock is before GENESIS_UNIX")]
    BeforeGenesis,
}

/// The current block, from one of the sources above. Cheap to clone.
#[derive(Clone)]
pub struct BlockSource {
    inner: Arc<Source>,
}

impl std::fmt::Debug for BlockSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &*self.inner {
            Source::Clock { .. } => "clock",
            Source::Subtensor(_) => "subtensor",
            Source::Manual(_) => "manual",
        };
        f.debug_struct("BlockSource")
            .field("kind", &kind)
            .finish_non_exhaustive()
    }
}

enum Source {
    Clock { genesis_unix: i64, block_time: f64 },
    Subtensor(SubtensorHead),
    Manual(AtomicU64),
}

impl BlockSource {
    /// Blocks counted from `genesis_unix`, one every `block_time_secs`.
    pub fn clock(genesis_unix: i64, block_time_secs: f64) -> Self {
        Self {
            inner: Arc::new(Source::Clock {
                genesis_unix,
                block_time: block_time_secs,
            }),
        }
    }

    /// A counter that starts at `block` and moves only when told to (for tests).
    pub fn manual(block: u64) -> Self {
        Self {
            inner: Arc::new(Source::Manual(AtomicU64::new(block))),
        }
    }

    /// The chain head of the subtensor node at `url`, refreshed every `block_time`.
    ///
    /// Waits up to `first_wait` for the first answer, so a server usually starts with a
    /// known block; if the node is down it starts anyway and keeps trying (until then,
    /// requests that need the block get 503 and `/ready` says why).
    pub async fn subtensor(
        url: &str,
        block_time: Duration,
        first_wait: Duration,
    ) -> anyhow::Result<Self> {
        let head = SubtensorHead::new(url, block_time)?;
        if let Err(error) = tokio::time::timeout(first_wait, head.state.refresh())
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {} s",
                    first_wait.as_secs()
                ))
            })
        {
            tracing::warn!(%error, url = %head.state.url, "subtensor node not reachable yet; retrying every block");
        }
        head.start_refreshing();
        Ok(Self {
            inner: Arc::new(Source::Subtensor(head)),
        })
    }

    /// The current block.
    pub fn current_block(&self) -> Result<u64, BlockSourceError> {
        match &*self.inner {
            Source::Clock {
                genesis_unix,
                block_time,
            } => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs_f64();
                let elapsed = now - *genesis_unix as f64;
                if elapsed < 0.0 {
                    return Err(BlockSourceError::BeforeGenesis);
                }
                Ok((elapsed / block_time).floor() as u64)
            }
            Source::Subtensor(head) => head.current(),
            Source::Manual(block) => Ok(block.load(Ordering::SeqCst)),
        }
    }

    /// Sets a manual source's block; other sources ignore it.
    pub fn set(&self, block: u64) {
        if let Source::Manual(current) = &*self.inner {
            current.store(block, Ordering::SeqCst);
        }
    }

    /// Advances a manual source by `blocks`; other sources ignore it.
    pub fn advance(&self, blocks: u64) {
        if let Source::Manual(current) = &*self.inner {
            current.fetch_add(blocks, Ordering::SeqCst);
        }
    }
}

/// The cached chain head of a subtensor node.
struct SubtensorHead {
    state: Arc<HeadState>,
    refresher: Mutex<Option<JoinHandle<()>>>,
}

struct HeadState {
    url: String,
    client: reqwest::Client,
    block_time: Duration,
    last: Mutex<Option<(u64, Instant)>>,
}

impl Drop for SubtensorHead {
    fn drop(&mut self) {
        if let Some(task) = self.refresher.lock().expect("refresher lock").take() {
            task.abort();
        }
    }
}

/// A node that has not answered for this many block times is treated as down: windows
/// computed from a head that old would be wrong.
const STALE_AFTER_BLOCKS: u32 = 10;

impl SubtensorHead {
    fn new(url: &str, block_time: Duration) -> anyhow::Result<Self> {
        let http_url = http_url_of(url)?;
        let client = reqwest::Client::builder()
            .timeout(block_time.max(Duration::from_secs(2)))
            .build()?;
        Ok(Self {
            state: Arc::new(HeadState {
                url: http_url,
                client,
                block_time,
                last: Mutex::new(None),
            }),
            refresher: Mutex::new(None),
        })
    }

    fn start_refreshing(&self) {
        let state = Arc::clone(&self.state);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(state.block_time);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = state.refresh().await {
                    tracing::warn!(%error, url = %state.url, "subtensor head refresh failed");
                }
            }
        });
        *self.refresher.lock().expect("refresher lock") = Some(task);
    }

    fn current(&self) -> Result<u64, BlockSourceError> {
        let last = *self.state.last.lock().expect("head lock");
        let (block, at) = last.ok_or(BlockSourceError::NotYetKnown)?;
        let age = at.elapsed();
        if age > self.state.block_time * STALE_AFTER_BLOCKS {
            return Err(BlockSourceError::Stale(age.as_secs()));
        }
        Ok(block)
    }
}

#[derive(Deserialize)]
struct RpcReply {
    result: Option<Header>,
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Header {
    number: String,
}

impl HeadState {
    async fn refresh(&self) -> anyhow::Result<u64> {
        let block = fetch_head(&self.client, &self.url).await?;
        *self.last.lock().expect("head lock") = Some((block, Instant::now()));
        Ok(block)
    }
}

/// Reads the chain head's block number with `chain_getHeader`.
pub async fn fetch_head(client: &reqwest::Client, url: &str) -> anyhow::Result<u64> {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "chain_getHeader", "params": []});
    let reply = client
        .post(url)
        .json(&request)
        .send()
        .await?
        .error_for_status()?;
    let reply: RpcReply = reply.json().await?;
    if let Some(error) = reply.error {
        anyhow::bail!("chain_getHeader failed: {error}");
    }
    let header = reply
        .result
        .ok_or_else(|| anyhow::anyhow!("chain_getHeader returned no header"))?;
    let digits = header.number.trim_start_matches("0x");
    u64::from_str_radix(digits, 16)
        .map_err(|_| anyhow::anyhow!("chain_getHeader returned block number {:?}", header.number))
}

/// Substrate nodes serve JSON-RPC over HTTP and WebSocket on the same port; the server
/// uses plain HTTP requests, so `ws(s)://` URLs are read as `http(s)://`.
fn http_url_of(url: &str) -> anyhow::Result<String> {
    let mapped = if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if url.starts_with("http://") || url.starts_with("https://") {
        url.to_string()
    } else {
        anyhow::bail!("SUBTENSOR_URL {url:?} must start with http://, https://, ws:// or wss://");
    };
    Ok(mapped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_blocks_count_block_times_since_genesis() {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let source = BlockSource::clock(now - 1_200, 12.0);
        let block = source.current_block().unwrap();
        assert!((100..=101).contains(&block), "{block}");
    }

    #[test]
    fn clock_before_genesis_is_an_error() {
        let source = BlockSource::clock(i64::MAX / 2, 12.0);
        assert_eq!(source.current_block(), Err(BlockSourceError::BeforeGenesis));
    }

    #[test]
    fn manual_source_moves_only_when_told() {
        let source = BlockSource::manual(150);
        assert_eq!(source.current_block(), Ok(150));
        source.advance(60);
        assert_eq!(source.current_block(), Ok(210));
        source.set(5);
        assert_eq!(source.clone().current_block(), Ok(5));
    }

    #[test]
    fn websocket_urls_are_read_over_http() {
        assert_eq!(
            http_url_of("ws://127.0.0.1:9944").unwrap(),
            "http://127.0.0.1:9944"
        );
        assert_eq!(
            http_url_of("wss://entrypoint-finney.opentensor.ai:443").unwrap(),
            "https://entrypoint-finney.opentensor.ai:443"
        );
        assert_eq!(http_url_of("https://node").unwrap(), "https://node");
        assert!(http_url_of("127.0.0.1:9944").is_err());
    }
}
