//! `REGISTRATION=metagraph`: who may submit and who may validate, from the subnet's
//! metagraph on chain.
//!
//! - A miner may submit while its hotkey holds a UID on `NETUID`.
//! - A validator may lease tasks, send verdicts and read scores while its hotkey holds a UID
//!   with a validator permit and at least `MIN_VALIDATOR_STAKE` of stake: the hotkey's alpha
//!   stake on the subnet (`NeuronInfoLite.stake` summed, [`subtensor::Neuron::stake_rao`]),
//!   given in TAO units (1 = 10^9 rao).
//! - `pulse-server hotkeys add` stays an explicit override: a hotkey listed as a miner may
//!   submit without a UID, one listed as a validator may validate without a permit or stake,
//!   and one listed only as a validator may not submit even with a UID.
//!
//! # Sync
//! Every server process runs [`spawn`]'s loop, once per block time:
//! 1. It reads the `metagraph_syncs` row. When the last success is older than
//!    `METAGRAPH_SYNC_BLOCKS` block times (and the last attempt older than one block time,
//!    which paces retries while the node is away), a sync is due.
//! 2. A due sync runs in a transaction holding `pg_try_advisory_xact_lock`: one process at a
//!    time reads the neurons at the node's best block and replaces the stored ones; the
//!    others find the lock taken and carry on. A failure is recorded in the row (error,
//!    count) and the last good neurons stay.
//! 3. Every process loads the stored neurons into memory when the row names a new sync.
//!
//! Requests read only the in-memory [`Snapshot`]: the request path never waits on the node or
//! on these tables. When the last successful sync is older than `METAGRAPH_MAX_AGE_SECS`, the
//! metagraph is too old to decide with: requests that need it get 503 with `Retry-After` and
//! the reason, and `/ready` answers 503.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use subtensor::{Endpoint, RpcOptions, Subtensor};
use tokio::task::JoinHandle;

use crate::db;
use crate::db::metagraph::{StoredNeuron, SyncRow};
use crate::error::ApiError;
use crate::metrics::Metrics;

pub use service::registration::{RAO_PER_TAO, tao};

/// What [`Metagraph`] syncs and how it judges.
#[derive(Debug, Clone)]
pub struct MetagraphConfig {
    /// The subnet.
    pub netuid: u16,
    /// The subtensor node.
    pub endpoint: Endpoint,
    /// How old the last sync may get before the next is due (`METAGRAPH_SYNC_BLOCKS` block
    /// times).
    pub sync_interval: Duration,
    /// How often the loop looks at the sync record, and the least time between two
    /// attempts (a block time).
    pub tick: Duration,
    /// Oldest metagraph the server decides with (`METAGRAPH_MAX_AGE_SECS`).
    pub max_age: Duration,
    /// Least alpha stake of a validator, in rao.
    pub min_validator_stake_rao: u64,
    /// Limits of one request to the node.
    pub rpc: RpcOptions,
}

/// The neurons of one successful sync, as every process holds them.
#[derive(Debug)]
pub struct Snapshot {
    /// The subnet.
    pub netuid: u16,
    /// The block the neurons were read at.
    pub block: u64,
    /// Its hash.
    pub block_hash: String,
    /// When the sync was written (database clock).
    pub synced_at: DateTime<Utc>,
    /// The neurons, by uid.
    pub neurons: Vec<StoredNeuron>,
    by_hotkey: HashMap<String, usize>,
    age_when_loaded: Duration,
    loaded_at: Instant,
}

impl Snapshot {
    fn new(row: &SyncRow, neurons: Vec<StoredNeuron>) -> Option<Self> {
        let by_hotkey = neurons
            .iter()
            .enumerate()
            .map(|(at, neuron)| (neuron.hotkey.clone(), at))
            .collect();
        Some(Self {
            netuid: row.netuid,
            block: row.block?,
            block_hash: row.block_hash.clone().unwrap_or_default(),
            synced_at: row.synced_at?,
            neurons,
            by_hotkey,
            age_when_loaded: Duration::from_secs_f64(row.secs_since_sync?.max(0.0)),
            loaded_at: Instant::now(),
        })
    }

    /// The neuron `hotkey` holds, if any.
    pub fn neuron(&self, hotkey: &str) -> Option<&StoredNeuron> {
        self.by_hotkey.get(hotkey).map(|at| &self.neurons[*at])
    }

    /// Time since the sync was written.
    pub fn age(&self) -> Duration {
        self.age_when_loaded + self.loaded_at.elapsed()
    }
}

/// The state of syncing, for `/ready`, `/metrics` and 503 bodies.
#[derive(Debug, Default, Clone)]
struct SyncState {
    /// The latest attempt's error (any process's), if it failed.
    last_error: Option<String>,
    /// Failed attempts since the last success (any process's).
    failures: u64,
    /// Why this process could not read the sync record, if it could not.
    read_error: Option<String>,
}

/// Why a validator may not validate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValidatorRefusal {
    /// No UID on the subnet.
    NoUid,
    /// A UID without a validator permit.
    NoPermit {
        /// Its uid.
        uid: u16,
    },
    /// A permit, but less stake than required.
    LowStake {
        /// Its uid.
        uid: u16,
        /// Its alpha stake, in rao.
        stake_rao: u64,
    },
}

/// The metagraph this process decides with. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Metagraph {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: MetagraphConfig,
    snapshot: RwLock<Option<Arc<Snapshot>>>,
    state: Mutex<SyncState>,
    client: tokio::sync::Mutex<Option<Subtensor>>,
}

impl Metagraph {
    /// A metagraph not yet loaded.
    pub fn new(config: MetagraphConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                snapshot: RwLock::default(),
                state: Mutex::default(),
                client: tokio::sync::Mutex::default(),
            }),
        }
    }

    /// Its settings.
    pub fn config(&self) -> &MetagraphConfig {
        &self.inner.config
    }

    /// The last loaded snapshot, however old.
    pub fn snapshot(&self) -> Option<Arc<Snapshot>> {
        self.inner.snapshot.read().expect("snapshot lock").clone()
    }

    /// The snapshot to decide with, or why there is none: never synced, or older than
    /// `METAGRAPH_MAX_AGE_SECS` (with the last error, which says why).
    pub fn fresh(&self) -> Result<Arc<Snapshot>, String> {
        let config = &self.inner.config;
        let state = self.inner.state.lock().expect("state lock").clone();
        let cause = || {
            let mut cause = String::new();
            if let Some(error) = &state.last_error {
                cause.push_str(&format!(
                    "; last attempt ({} failed since the last success): {error}",
                    state.failures
                ));
            }
            if let Some(error) = &state.read_error {
                cause.push_str(&format!("; reading the sync record: {error}"));
            }
            cause
        };
        match self.snapshot() {
            None => Err(format!(
                "the metagraph of netuid {} has not been synced from {} yet{}",
                config.netuid,
                config.endpoint,
                cause()
            )),
            Some(snapshot) if snapshot.age() > config.max_age => Err(format!(
                "the metagraph of netuid {} was last synced at block {}, {} s ago, more than METAGRAPH_MAX_AGE_SECS ({} s){}",
                config.netuid,
                snapshot.block,
                snapshot.age().as_secs(),
                config.max_age.as_secs(),
                cause()
            )),
            Some(snapshot) => Ok(snapshot),
        }
    }

    /// [`Metagraph::fresh`] as the 503 a request gets.
    pub fn fresh_or_503(&self) -> Result<Arc<Snapshot>, ApiError> {
        self.fresh().map_err(|reason| {
            tracing::warn!(%reason, "metagraph unavailable");
            ApiError::Unavailable(reason)
        })
    }

    /// Whether `neuron` may validate under the configured stake.
    pub fn judge_validator(&self, neuron: Option<&StoredNeuron>) -> Result<(), ValidatorRefusal> {
        let neuron = neuron.ok_or(ValidatorRefusal::NoUid)?;
        if !neuron.validator_permit {
            return Err(ValidatorRefusal::NoPermit { uid: neuron.uid });
        }
        if neuron.stake_rao < self.inner.config.min_validator_stake_rao {
            return Err(ValidatorRefusal::LowStake {
                uid: neuron.uid,
                stake_rao: neuron.stake_rao,
            });
        }
        Ok(())
    }

    /// Reads the sync record and loads the neurons when it names a sync this process has not
    /// loaded.
    pub async fn reload(&self, pool: &PgPool) -> Result<(), sqlx::Error> {
        let netuid = self.inner.config.netuid;
        let row = match db::metagraph::sync_row(pool, netuid).await {
            Ok(row) => row,
            Err(error) => {
                self.inner.state.lock().expect("state lock").read_error = Some(error.to_string());
                return Err(error);
            }
        };
        let Some(row) = row else {
            return Ok(());
        };
        {
            let mut state = self.inner.state.lock().expect("state lock");
            state.read_error = None;
            state.last_error = row.last_error.clone();
            state.failures = row.failures;
        }
        let current = self.snapshot();
        let unchanged = current
            .as_ref()
            .is_some_and(|s| Some(s.synced_at) == row.synced_at && Some(s.block) == row.block);
        if unchanged || row.synced_at.is_none() {
            return Ok(());
        }
        let neurons = db::metagraph::neurons(pool, netuid).await?;
        if let Some(snapshot) = Snapshot::new(&row, neurons) {
            tracing::info!(
                netuid,
                block = snapshot.block,
                neurons = snapshot.neurons.len(),
                "metagraph loaded"
            );
            *self.inner.snapshot.write().expect("snapshot lock") = Some(Arc::new(snapshot));
        }
        Ok(())
    }

    /// Syncs from the node if a sync is due and no other process is syncing. Returns whether
    /// this process wrote a new metagraph; a node failure is recorded and returned.
    pub async fn sync_if_due(&self, pool: &PgPool) -> anyhow::Result<bool> {
        let config = &self.inner.config;
        let row = db::metagraph::sync_row(pool, config.netuid).await?;
        if !is_due(row.as_ref(), config) {
            return Ok(false);
        }
        let mut tx = pool.begin().await?;
        if !db::metagraph::try_lock(&mut tx, config.netuid).await? {
            return Ok(false);
        }
        // Another process may have synced between the first read and the lock.
        let row = db::metagraph::sync_row(&mut *tx, config.netuid).await?;
        if !is_due(row.as_ref(), config) {
            return Ok(false);
        }
        let started = Instant::now();
        match self.read_chain().await {
            Ok((block, hash, neurons)) => {
                db::metagraph::store(&mut tx, config.netuid, block, &hash, &neurons).await?;
                tx.commit().await?;
                tracing::info!(
                    netuid = config.netuid,
                    block,
                    neurons = neurons.len(),
                    took_ms = started.elapsed().as_millis() as u64,
                    "metagraph synced"
                );
                if neurons.is_empty() {
                    tracing::warn!(
                        netuid = config.netuid,
                        "the subnet has no neurons on chain: is NETUID right?"
                    );
                }
                Ok(true)
            }
            Err(error) => {
                let message = format!("{error:#}");
                db::metagraph::record_failure(&mut *tx, config.netuid, &message).await?;
                tx.commit().await?;
                // The connection may be broken: connect afresh next time.
                *self.inner.client.lock().await = None;
                Err(error)
            }
        }
    }

    /// The neurons at the node's best block.
    async fn read_chain(&self) -> anyhow::Result<(u64, String, Vec<StoredNeuron>)> {
        let client = self.client().await?;
        let head = client.head().await?;
        let neurons = client.neurons(self.inner.config.netuid, head.hash).await?;
        let neurons = neurons
            .into_iter()
            .map(|n| StoredNeuron {
                uid: n.uid,
                hotkey: n.hotkey,
                coldkey: n.coldkey,
                active: n.active,
                validator_permit: n.validator_permit,
                stake_rao: n.stake_rao,
                last_update: n.last_update,
            })
            .collect();
        Ok((head.number, head.hash.to_string(), neurons))
    }

    async fn client(&self) -> anyhow::Result<Subtensor> {
        let mut slot = self.inner.client.lock().await;
        if let Some(client) = &*slot {
            return Ok(client.clone());
        }
        let config = &self.inner.config;
        let client = Subtensor::connect(&config.endpoint, config.rpc).await?;
        *slot = Some(client.clone());
        Ok(client)
    }

    /// Updates the metagraph gauges of `metrics` (at scrape time).
    pub fn observe(&self, metrics: &Metrics) {
        if let Some(snapshot) = self.snapshot() {
            metrics.metagraph_sync_age.set(snapshot.age().as_secs_f64());
            metrics.metagraph_neurons.set(snapshot.neurons.len() as i64);
            metrics.metagraph_block.set(snapshot.block as i64);
        }
        let failures = self.inner.state.lock().expect("state lock").failures;
        metrics.metagraph_failures.set(failures as i64);
    }
}

/// Whether a sync is due given the record `row`.
fn is_due(row: Option<&SyncRow>, config: &MetagraphConfig) -> bool {
    let Some(row) = row else {
        return true;
    };
    let attempt_ok = row.secs_since_attempt >= config.tick.as_secs_f64() * 0.9;
    let sync_old = row
        .secs_since_sync
        .is_none_or(|age| age >= config.sync_interval.as_secs_f64() * 0.9);
    // A 10% margin: the loop's ticks and the interval are the same length, and a tick that
    // lands a hair early should not wait a whole tick more.
    attempt_ok && sync_old
}

/// Runs the sync loop of this process until the task is aborted: every block time, sync if
/// due (one process at a time), then load what the database holds.
pub fn spawn(metagraph: Metagraph, pool: PgPool, metrics: Arc<Metrics>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(metagraph.config().tick);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            if let Err(error) = metagraph.sync_if_due(&pool).await {
                metrics.metagraph_sync_errors.inc();
                tracing::warn!(
                    error = format!("{error:#}"),
                    netuid = metagraph.config().netuid,
                    "metagraph sync failed; the last synced metagraph stays in use"
                );
            }
            if let Err(error) = metagraph.reload(&pool).await {
                tracing::warn!(%error, "reading the synced metagraph failed");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MetagraphConfig {
        MetagraphConfig {
            netuid: 7,
            endpoint: Endpoint::parse("local").unwrap(),
            sync_interval: Duration::from_secs(120),
            tick: Duration::from_secs(12),
            max_age: Duration::from_secs(1800),
            min_validator_stake_rao: 1_000 * RAO_PER_TAO,
            rpc: RpcOptions::default(),
        }
    }

    fn row(since_attempt: f64, since_sync: Option<f64>) -> SyncRow {
        SyncRow {
            netuid: 7,
            block: since_sync.map(|_| 100),
            block_hash: None,
            synced_at: since_sync.map(|_| Utc::now()),
            neurons: 0,
            last_attempt_at: Utc::now(),
            last_error: None,
            failures: 0,
            secs_since_attempt: since_attempt,
            secs_since_sync: since_sync,
        }
    }

    #[test]
    fn a_sync_is_due_when_the_last_is_old_and_attempts_are_paced() {
        let config = config();
        assert!(is_due(None, &config));
        assert!(!is_due(Some(&row(30.0, Some(30.0))), &config));
        assert!(is_due(Some(&row(120.0, Some(120.0))), &config));
        // Failing: retried every block time, not more often.
        assert!(!is_due(Some(&row(5.0, Some(500.0))), &config));
        assert!(is_due(Some(&row(12.0, Some(500.0))), &config));
        assert!(is_due(Some(&row(12.0, None)), &config));
    }

    #[test]
    fn validators_need_a_uid_a_permit_and_the_stake() {
        let metagraph = Metagraph::new(config());
        let neuron = |permit, stake_rao| StoredNeuron {
            uid: 3,
            hotkey: "5H".into(),
            coldkey: "5C".into(),
            active: true,
            validator_permit: permit,
            stake_rao,
            last_update: 0,
        };
        assert_eq!(
            metagraph.judge_validator(None),
            Err(ValidatorRefusal::NoUid)
        );
        assert_eq!(
            metagraph.judge_validator(Some(&neuron(false, u64::MAX))),
            Err(ValidatorRefusal::NoPermit { uid: 3 })
        );
        assert_eq!(
            metagraph.judge_validator(Some(&neuron(true, 999 * RAO_PER_TAO))),
            Err(ValidatorRefusal::LowStake {
                uid: 3,
                stake_rao: 999 * RAO_PER_TAO
            })
        );
        assert_eq!(
            metagraph.judge_validator(Some(&neuron(true, 1_000 * RAO_PER_TAO))),
            Ok(())
        );
    }

    #[test]
    fn never_synced_is_unavailable_with_the_endpoint_named() {
        let metagraph = Metagraph::new(config());
        let reason = metagraph.fresh().unwrap_err();
        assert!(
            reason.starts_with(
                "the metagraph of netuid 7 has not been synced from ws://127.0.0.1:9944/"
            ),
            "{reason}"
        );
    }
}
