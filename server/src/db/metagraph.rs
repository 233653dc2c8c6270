//! The synced metagraph (`metagraph_syncs`, `metagraph_neurons`, migration 0005): written by
//! the one process that holds the sync lock, read by every process into memory.
//!
//! Runtime-checked queries (`sqlx::query`): the neurons are written with `unnest` over
//! arrays, and reading them back is one flat row type.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor, Row};

/// A subnet's sync record.
#[derive(Debug, Clone, PartialEq)]
pub struct SyncRow {
    /// The subnet.
    pub netuid: u16,
    /// The block of the last successful sync, if any.
    pub block: Option<u64>,
    /// Its hash.
    pub block_hash: Option<String>,
    /// When the last successful sync was written.
    pub synced_at: Option<DateTime<Utc>>,
    /// Neurons written by it.
    pub neurons: u32,
    /// The latest attempt.
    pub last_attempt_at: DateTime<Utc>,
    /// The latest attempt's error, if it failed.
    pub last_error: Option<String>,
    /// Failed attempts since the last success.
    pub failures: u64,
    /// Seconds since the last attempt, by the database's clock.
    pub secs_since_attempt: f64,
    /// Seconds since the last success, by the database's clock.
    pub secs_since_sync: Option<f64>,
}

/// One neuron as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredNeuron {
    /// Its uid.
    pub uid: u16,
    /// SS58 hotkey.
    pub hotkey: String,
    /// SS58 coldkey.
    pub coldkey: String,
    /// Active within the subnet's activity cutoff.
    pub active: bool,
    /// Holds a validator permit.
    pub validator_permit: bool,
    /// Alpha stake on the subnet, in rao.
    pub stake_rao: u64,
    /// Block of its last update.
    pub last_update: u64,
}

/// The sync record of `netuid`, if a sync was ever attempted.
pub async fn sync_row(db: impl PgExecutor<'_>, netuid: u16) -> sqlx::Result<Option<SyncRow>> {
    let row = sqlx::query(
        r#"select netuid, block, block_hash, synced_at, neurons, last_attempt_at, last_error,
                  failures,
                  extract(epoch from now() - last_attempt_at)::float8 as since_attempt,
                  extract(epoch from now() - synced_at)::float8 as since_sync
           from metagraph_syncs where netuid = $1"#,
    )
    .bind(i32::from(netuid))
    .fetch_optional(db)
    .await?;
    row.map(|row| {
        Ok(SyncRow {
            netuid,
            block: row.try_get::<Option<i64>, _>("block")?.map(|b| b as u64),
            block_hash: row.try_get("block_hash")?,
            synced_at: row.try_get("synced_at")?,
            neurons: row.try_get::<i32, _>("neurons")? as u32,
            last_attempt_at: row.try_get("last_attempt_at")?,
            last_error: row.try_get("last_error")?,
            failures: row.try_get::<i64, _>("failures")? as u64,
            secs_since_attempt: row.try_get("since_attempt")?,
            secs_since_sync: row.try_get("since_sync")?,
        })
    })
    .transpose()
}

/// The stored neurons of `netuid`, by uid.
pub async fn neurons(db: impl PgExecutor<'_>, netuid: u16) -> sqlx::Result<Vec<StoredNeuron>> {
    let rows = sqlx::query(
        r#"select uid, hotkey, coldkey, active, validator_permit, stake_rao, last_update
           from metagraph_neurons where netuid = $1 order by uid"#,
    )
    .bind(i32::from(netuid))
    .fetch_all(db)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(StoredNeuron {
                uid: row.try_get::<i32, _>("uid")? as u16,
                hotkey: row.try_get("hotkey")?,
                coldkey: row.try_get("coldkey")?,
                active: row.try_get("active")?,
                validator_permit: row.try_get("validator_permit")?,
                stake_rao: row.try_get::<i64, _>("stake_rao")? as u64,
                last_update: row.try_get::<i64, _>("last_update")? as u64,
            })
        })
        .collect()
}

/// Takes the sync lock of `netuid` for the rest of `tx`'s transaction, if no other session
/// holds it: false means another process is syncing now.
pub async fn try_lock(tx: &mut PgConnection, netuid: u16) -> sqlx::Result<bool> {
    // Two-key form: the first key names the lock's purpose, so no other advisory lock of
    // the application can collide with it.
    sqlx::query_scalar("select pg_try_advisory_xact_lock($1, $2)")
        .bind(METAGRAPH_LOCK_CLASS)
        .bind(i32::from(netuid))
        .fetch_one(tx)
        .await
}

/// The first key of the sync lock (`pg_try_advisory_xact_lock(int, int)`): "MGRF".
const METAGRAPH_LOCK_CLASS: i32 = 0x4d47_5246;

/// Replaces the stored neurons of `netuid` with `neurons`, read at `block` (`hash`), and
/// records the success.
pub async fn store(
    tx: &mut PgConnection,
    netuid: u16,
    block: u64,
    hash: &str,
    neurons: &[StoredNeuron],
) -> sqlx::Result<()> {
    sqlx::query(
        r#"insert into metagraph_syncs (netuid, block, block_hash, synced_at, neurons,
                                        last_attempt_at, last_error, failures)
           values ($1, $2, $3, now(), $4, now(), null, 0)
           on conflict (netuid) do update set
               block = excluded.block, block_hash = excluded.block_hash,
               synced_at = excluded.synced_at, neurons = excluded.neurons,
               last_attempt_at = excluded.last_attempt_at, last_error = null, failures = 0"#,
    )
    .bind(i32::from(netuid))
    .bind(block.min(i64::MAX as u64) as i64)
    .bind(hash)
    .bind(neurons.len() as i32)
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from metagraph_neurons where netuid = $1")
        .bind(i32::from(netuid))
        .execute(&mut *tx)
        .await?;
    let saturate = |v: u64| v.min(i64::MAX as u64) as i64;
    sqlx::query(
        r#"insert into metagraph_neurons (netuid, uid, hotkey, coldkey, active,
                                          validator_permit, stake_rao, last_update)
           select $1, * from unnest($2::int[], $3::text[], $4::text[], $5::bool[], $6::bool[],
                                    $7::int8[], $8::int8[])"#,
    )
    .bind(i32::from(netuid))
    .bind(neurons.iter().map(|n| i32::from(n.uid)).collect::<Vec<_>>())
    .bind(neurons.iter().map(|n| n.hotkey.clone()).collect::<Vec<_>>())
    .bind(
        neurons
            .iter()
            .map(|n| n.coldkey.clone())
            .collect::<Vec<_>>(),
    )
    .bind(neurons.iter().map(|n| n.active).collect::<Vec<_>>())
    .bind(
        neurons
            .iter()
            .map(|n| n.validator_permit)
            .collect::<Vec<_>>(),
    )
    .bind(
        neurons
            .iter()
            .map(|n| saturate(n.stake_rao))
            .collect::<Vec<_>>(),
    )
    .bind(
        neurons
            .iter()
            .map(|n| saturate(n.last_update))
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Records a failed attempt for `netuid`, keeping the last good neurons.
pub async fn record_failure(db: impl PgExecutor<'_>, netuid: u16, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        r#"insert into metagraph_syncs (netuid, last_attempt_at, last_error, failures)
           values ($1, now(), $2, 1)
           on conflict (netuid) do update set
               last_attempt_at = now(), last_error = excluded.last_error,
               failures = metagraph_syncs.failures + 1"#,
    )
    .bind(i32::from(netuid))
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}
