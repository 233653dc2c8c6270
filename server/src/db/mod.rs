//! Database access: one module per table group, plain functions over sqlx.
//!
//! Functions take `impl PgExecutor` or `&mut PgConnection`, so a handler composes them in
//! one transaction and reads as begin, check, write, commit.

pub mod hotkeys;
pub mod lane;
pub mod metagraph;
pub mod miners;
pub mod nonces;
pub mod overview;
pub mod scores;
pub mod signal;
pub mod submissions;
pub mod validation;

use std::time::Duration;

use anyhow::Context;
use sqlx::PgPool;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// The migrations in `migrations/`, embedded at build time.
pub static MIGRATOR: Migrator = sqlx::migrate!("../migrations");

/// How long a request waits for a database connection by default before it is answered
/// 503: long enough to ride out a burst, short enough that clients hear of an outage fast.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connections of the shared pool (every endpoint but `/v2/submit`) for a server whose
/// submit lane holds `submit_connections` (DATABASE_MAX_CONNECTIONS): a quarter as many,
/// at least 2. Submissions are nearly all of a subnet's traffic; the rest (status, the
/// validators' endpoints, pruning) is light.
pub fn shared_pool_size(submit_connections: u32) -> u32 {
    (submit_connections / 4).max(2)
}

/// Whether `error` means the connection's session is over: an I/O or TLS failure, or
/// PostgreSQL ending the session (SQLSTATE class 08, connection exception; 57P01 admin
/// shutdown, 57P02 crash shutdown, 57P03 cannot connect now). Such a connection cannot be
/// used again, and the request that met it should be retried (503).
pub fn ends_session(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::Database(error) => error.code().is_some_and(|code| {
            code.starts_with("08") || matches!(&*code, "57P01" | "57P02" | "57P03")
        }),
        _ => false,
    }
}

/// How long one statement may run, and wait for a lock, in every session the server
/// opens to answer requests: below the request timeout, so that PostgreSQL ends abandoned
/// work before the server answers 503 for it (docs/operations.md#timeouts).
///
/// Without them a request that timed out (503) leaves its backend waiting on its lock, and
/// the statement commits later: a 503 would mean "perhaps stored", and backends waiting
/// behind one long lock would pile up until `max_connections` is spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTimeouts {
    /// `statement_timeout`: 80% of the request timeout.
    pub statement: Duration,
    /// `lock_timeout`: half the request timeout, so a statement stuck behind a lock gives
    /// up well before the request does.
    pub lock: Duration,
}

impl SessionTimeouts {
    /// The timeouts for requests limited to `request_timeout` (at least 1 ms each: 0 would
    /// mean "no limit" to PostgreSQL).
    pub fn for_requests(request_timeout: Duration) -> Self {
        let at_least_1ms = |d: Duration| d.max(Duration::from_millis(1));
        Self {
            statement: at_least_1ms(request_timeout.mul_f64(0.8)),
            lock: at_least_1ms(request_timeout / 2),
        }
    }

    /// `options` with these timeouts set as session parameters (sent when each connection
    /// starts, so they cost no round trip).
    pub fn apply(&self, options: PgConnectOptions) -> PgConnectOptions {
        options.options([
            ("statement_timeout", self.statement.as_millis().to_string()),
            ("lock_timeout", self.lock.as_millis().to_string()),
        ])
    }
}

/// Whether `error` is PostgreSQL ending a statement for a timeout: 57014 (query canceled,
/// which `statement_timeout` raises) or 55P03 (lock not available, from `lock_timeout`).
/// The statement wrote nothing; the request is answered 503.
pub fn is_timeout(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if matches!(e.code().as_deref(), Some("57014" | "55P03")))
}

/// Opens a pool on `url` with the default acquire timeout.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<PgPool> {
    connect_with(url, max_connections, DEFAULT_ACQUIRE_TIMEOUT).await
}

/// Opens a pool on `url`; a request waits at most `acquire_timeout` for a connection.
pub async fn connect_with(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> anyhow::Result<PgPool> {
    let options: PgConnectOptions = url
        .parse()
        .context("DATABASE_URL is not a PostgreSQL URL")?;
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        // A ping before every checkout would cost a round trip per statement; a connection
        // that died is found by the statement that uses it (503, and the pool replaces it).
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .with_context(|| format!("cannot connect to the database at {}", redact(url)))
}

/// Applies pending migrations. Safe to run from several processes at once: sqlx holds an
/// advisory lock while migrating.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("applying database migrations failed")
}

/// A database URL with its password replaced, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}
