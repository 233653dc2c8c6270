//! Connections reserved for the submit path's one statement, kept outside sqlx's pool.
//!
//! sqlx 0.8's pool tests every connection on its way back with a `Sync` round trip, and
//! offers no way to turn that off. A submission is one statement, so through the pool it
//! costs PostgreSQL two wake-ups instead of one (measured: about a tenth of the database's
//! CPU per submission, see bench/README.md). A [`Lane`] hands out plain connections
//! ([deadpool] keeps them) and takes them back without a round trip.
//!
//! What the test on release protects against is handled here instead: a connection whose
//! statement did not finish (its request was cancelled: the client went away or the request
//! timed out) or failed with a connection error is closed rather than reused, because its
//! protocol state is unknown. A statement that failed inside the database (a constraint,
//! say) leaves the connection ready and it is reused. When a session turns out to have
//! ended (PostgreSQL restarted, say), the idle connections are closed too, so the outage
//! costs one failed request rather than one per stale connection.

use std::time::Duration;

use deadpool::managed::{self, Metrics, Object, RecycleError, RecycleResult};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection};

use super::ends_session;

/// Oldest a connection gets before it is replaced, as sqlx's pool does by default: a
/// long-lived backend keeps growing caches (plans, catalog entries).
pub const MAX_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A set of at most `size` connections for one hot statement, acquired within a timeout.
#[derive(Clone)]
pub struct Lane {
    pool: managed::Pool<Connector>,
    acquire_timeout: Duration,
}

impl std::fmt::Debug for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let status = self.pool.status();
        f.debug_struct("Lane")
            .field("max_size", &status.max_size)
            .field("size", &status.size)
            .field("available", &status.available)
            .field("acquire_timeout", &self.acquire_timeout)
            .finish()
    }
}

/// How many connections a [`Lane`] holds, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaneStatus {
    /// Most connections it opens.
    pub max_size: usize,
    /// Connections open now.
    pub size: usize,
    /// Of those, not in use.
    pub idle: usize,
}

impl Lane {
    /// A lane of at most `size` connections made with `options`. Connections are opened
    /// when first needed, so this neither connects nor fails.
    pub fn new(options: PgConnectOptions, size: usize, acquire_timeout: Duration) -> Self {
        let pool = managed::Pool::builder(Connector { options })
            .max_size(size.max(1))
            .build()
            .expect("a pool without timeouts needs no runtime and always builds");
        Self {
            pool,
            acquire_timeout,
        }
    }

    /// A connection, waiting at most the acquire timeout for one to be free or opened:
    /// [`sqlx::Error::PoolTimedOut`] after that, or the error that opening one gave
    /// (PostgreSQL refusing connections is reported at once, not after the timeout).
    pub async fn acquire(&self) -> sqlx::Result<LaneConnection> {
        match tokio::time::timeout(self.acquire_timeout, self.pool.get()).await {
            Ok(Ok(object)) => Ok(LaneConnection {
                object: Some(object),
                state: Use::Ready,
            }),
            Ok(Err(managed::PoolError::Backend(error))) => Err(error),
            Ok(Err(managed::PoolError::Closed)) => Err(sqlx::Error::PoolClosed),
            Ok(Err(_)) | Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// How many connections it holds.
    pub fn status(&self) -> LaneStatus {
        let status = self.pool.status();
        LaneStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
        }
    }
}

/// A connection taken from a [`Lane`]; statements run through [`LaneConnection::run`].
/// Dropped while a statement runs (its request was cancelled), the connection is closed
/// instead of going back to the lane.
pub struct LaneConnection {
    object: Option<Object<Connector>>,
    state: Use,
}

/// Where a lent connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    /// Between statements: it goes back to the lane.
    Ready,
    /// A statement is running, or ended in a way that leaves the wire in an unknown state:
    /// closed when dropped.
    Running,
    /// Its session ended (I/O error, PostgreSQL shut down or restarted): closed, and the
    /// lane's idle connections with it, which are most likely dead too.
    Lost,
}

impl LaneConnection {
    /// Runs `statement` on the connection and records how it ended. After a success, or an
    /// error PostgreSQL raised for the statement (a constraint, say), the connection goes
    /// back to the lane. After anything else (I/O, TLS, protocol, or PostgreSQL ending the
    /// session: see [`super::ends_session`]) its state on the wire is unknown and it is
    /// closed. If this future is dropped before it completes, the connection is closed too.
    pub async fn run<T>(
        &mut self,
        statement: impl AsyncFnOnce(&mut PgConnection) -> sqlx::Result<T>,
    ) -> sqlx::Result<T> {
        self.state = Use::Running;
        let object = self.object.as_mut().expect("present until dropped");
        let result = statement(&mut object.connection).await;
        self.state = match &result {
            Ok(_) => Use::Ready,
            Err(error) if ends_session(error) => Use::Lost,
            Err(sqlx::Error::Database(_) | sqlx::Error::RowNotFound) => Use::Ready,
            Err(_) => Use::Running,
        };
        result
    }
}

impl Drop for LaneConnection {
    fn drop(&mut self) {
        if self.state == Use::Ready {
            return;
        }
        let Some(object) = self.object.take() else {
            return;
        };
        let pool = Object::pool(&object);
        // Taken out of the lane, the connection is dropped here, which closes its socket;
        // PostgreSQL ends the backend (and any transaction it had open).
        drop(Object::take(object));
        if self.state == Use::Lost
            && let Some(pool) = pool
        {
            // A session that ended usually means PostgreSQL restarted: every idle
            // connection would fail its next statement, each failing one request.
            pool.retain(|_, _| false);
        }
    }
}

/// Opens and vets the lane's connections.
struct Connector {
    options: PgConnectOptions,
}

/// One connection of a lane.
struct Slot {
    connection: PgConnection,
}

impl managed::Manager for Connector {
    type Type = Slot;
    type Error = sqlx::Error;

    async fn create(&self) -> Result<Slot, sqlx::Error> {
        Ok(Slot {
            connection: self.options.connect().await?,
        })
    }

    async fn recycle(&self, _: &mut Slot, metrics: &Metrics) -> RecycleResult<sqlx::Error> {
        // Unfinished connections never come back (see `LaneConnection::drop`), so there is
        // nothing to test: a connection that died while idle fails its next statement,
        // which answers 503 and closes it, as with sqlx's pool without
        // `test_before_acquire`.
        if metrics.age() > MAX_LIFETIME {
            return Err(RecycleError::message("older than the maximum lifetime"));
        }
        Ok(())
    }
}
