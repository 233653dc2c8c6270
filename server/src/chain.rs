//! Where the current block comes from.
//!
//! The server is its clients' source of truth for the block, so every window decision
//! reads [`BlockSource::current_block`]. Three sources sit behind that one call:
//! - the clock: `(now - genesis) / block_time`, stable across restarts and identical on
//!   every process that shares the settings (the default);
//! - a subtensor node's best block, read with the `subtensor` client (over HTTP or
//!   WebSocket, as the URL says), cached and refreshed every block time by a background task;
//! - a manual counter that tests advance.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use subtensor::{Endpoint, RpcOptions, Subtensor};
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

    /// The best block of the subtensor node at `url` (a network name or URL, as
    /// [`Endpoint::parse`] reads it), through the subtensor client, refreshed every
    /// `block_time`.
    ///
    /// Waits up to `first_wait` for the first answer, so a server usually starts with a
    /// known block; if the node is down it starts anyway and keeps trying (until then,
    /// requests that need the block get 503 and `/ready` says why).
    pub async fn subtensor(
        url: &str,
        block_time: Duration,
        first_wait: Duration,
    ) -> anyhow::Result<Self> {
        let endpoint = Endpoint::parse(url).context("SUBTENSOR_URL")?;
        let head = SubtensorHead::new(endpoint, block_time);
        if let Err(error) = tokio::time::timeout(first_wait, head.state.refresh())
            .await
            .unwrap_or_else(|_| {
                Err(anyhow::anyhow!(
                    "no answer within {} s",
                    first_wait.as_secs()
                ))
            })
        {
            tracing::warn!(error = format!("{error:#}"), endpoint = %head.state.endpoint, "subtensor node not reachable yet; retrying every block");
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
    endpoint: Endpoint,
    options: RpcOptions,
    block_time: Duration,
    // Connected on first use and again after a failure, so a node down at start (or a
    // dropped WebSocket) is picked up when it returns.
    client: tokio::sync::Mutex<Option<Subtensor>>,
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
    fn new(endpoint: Endpoint, block_time: Duration) -> Self {
        let limit = block_time.max(Duration::from_secs(2));
        Self {
            state: Arc::new(HeadState {
                endpoint,
                options: RpcOptions {
                    connect_timeout: limit,
                    request_timeout: limit,
                },
                block_time,
                client: tokio::sync::Mutex::default(),
                last: Mutex::new(None),
            }),
            refresher: Mutex::new(None),
        }
    }

    fn start_refreshing(&self) {
        let state = Arc::clone(&self.state);
        let task = tokio::spawn(async move {
            let mut ticker = tokio::time::interval(state.block_time);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticker.tick().await;
                if let Err(error) = state.refresh().await {
                    tracing::warn!(error = format!("{error:#}"), endpoint = %state.endpoint, "subtensor head refresh failed");
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

impl HeadState {
    async fn refresh(&self) -> anyhow::Result<u64> {
        let mut slot = self.client.lock().await;
        let client = match &*slot {
            Some(client) => client.clone(),
            None => {
                let client = Subtensor::connect(&self.endpoint, self.options).await?;
                *slot = Some(client.clone());
                client
            }
        };
        match client.head().await {
            Ok(head) => {
                *self.last.lock().expect("head lock") = Some((head.number, Instant::now()));
                Ok(head.number)
            }
            Err(error) => {
                *slot = None;
                Err(error.into())
            }
        }
    }
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
}
