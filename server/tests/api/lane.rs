//! The submit lane: connections reused without a round trip, closed when their state on
//! the wire is unknown, a bounded wait for one, and PostgreSQL's absence reported at once.

use std::time::Duration;

use server::db::lane::{Lane, LaneConnection};
use sqlx::postgres::PgConnectOptions;
use testkit::TestDb;

use crate::helpers::{App, json, miner};

/// A fresh database and a lane of `size` connections to it.
async fn lane_on_new_db(size: usize, acquire_timeout: Duration) -> (TestDb, Lane) {
    let db = TestDb::new().await;
    let options: PgConnectOptions = db.url.parse().expect("a PostgreSQL URL");
    (db, Lane::new(options, size, acquire_timeout))
}

/// Runs `sql`, which answers one row of one value, on `conn`.
async fn scalar<T>(conn: &mut LaneConnection, sql: &'static str) -> sqlx::Result<T>
where
    T: Send + Unpin + for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    conn.run(async |c| sqlx::query_scalar(sql).fetch_one(c).await)
        .await
}

async fn backend_pid(lane: &Lane) -> i32 {
    let mut conn = lane.acquire().await.expect("a connection");
    scalar(&mut conn, "select pg_backend_pid()")
        .await
        .expect("pg_backend_pid")
}

#[tokio::test]
async fn one_connection_serves_statement_after_statement() {
    let (_db, lane) = lane_on_new_db(4, Duration::from_secs(3)).await;
    let first = backend_pid(&lane).await;
    for _ in 0..10 {
        assert_eq!(backend_pid(&lane).await, first);
    }
    assert_eq!(lane.status().size, 1);
    assert_eq!(lane.status().idle, 1);
}

#[tokio::test]
async fn an_error_raised_by_the_database_keeps_the_connection() {
    let (_db, lane) = lane_on_new_db(4, Duration::from_secs(3)).await;
    let before = backend_pid(&lane).await;
    let mut conn = lane.acquire().await.unwrap();
    let result = scalar::<i32>(&mut conn, "select 1 / 0").await;
    let error = result.expect_err("division by zero");
    assert!(matches!(error, sqlx::Error::Database(_)), "{error:?}");
    drop(conn);
    assert_eq!(backend_pid(&lane).await, before);
}

#[tokio::test]
async fn a_statement_abandoned_midway_closes_its_connection() {
    let (_db, lane) = lane_on_new_db(4, Duration::from_secs(3)).await;
    let abandoned = backend_pid(&lane).await;

    // A request cancelled while its statement runs (its client left, or it timed out):
    // the reply is still on its way, so the connection must not serve anyone else.
    let mut conn = lane.acquire().await.unwrap();
    let statement = scalar::<()>(&mut conn, "select pg_sleep(2)");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), statement)
            .await
            .is_err(),
        "pg_sleep(2) cannot finish in 200 ms"
    );
    drop(conn);
    assert_eq!(lane.status().size, 0, "the connection was closed");

    // The next statement runs on a new backend and reads its own answer.
    let mut conn = lane.acquire().await.unwrap();
    let (pid, answer) = conn
        .run(async |c| {
            sqlx::query_as::<_, (i32, i32)>("select pg_backend_pid(), 42")
                .fetch_one(c)
                .await
        })
        .await
        .unwrap();
    assert_ne!(pid, abandoned);
    assert_eq!(answer, 42);

    // The socket was closed, not leaked: PostgreSQL ends the abandoned backend when its
    // sleep is over and it finds no client to answer.
    let mut gone = false;
    for _ in 0..600 {
        let alive: i64 = conn
            .run(async |c| {
                sqlx::query_scalar("select count(*) from pg_stat_activity where pid = $1")
                    .bind(abandoned)
                    .fetch_one(c)
                    .await
            })
            .await
            .unwrap();
        if alive == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        gone,
        "backend {abandoned} still runs 30 s after its client left"
    );
}

#[tokio::test]
async fn a_full_lane_refuses_after_the_acquire_timeout() {
    let (_db, lane) = lane_on_new_db(1, Duration::from_millis(200)).await;
    let held = lane.acquire().await.unwrap();
    let error = lane.acquire().await.err().expect("no connection is free");
    assert!(matches!(error, sqlx::Error::PoolTimedOut), "{error:?}");
    drop(held);
    lane.acquire().await.expect("free again");
}

#[tokio::test]
async fn an_unreachable_database_is_reported_at_once_as_unavailable() {
    // A port nothing listens on: connecting is refused, which is an I/O error (503 for
    // the client), not a wait until the acquire timeout.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let options: PgConnectOptions = format!("postgres://postgres@127.0.0.1:{port}/postgres")
        .parse()
        .unwrap();
    let lane = Lane::new(options, 2, Duration::from_secs(30));
    let started = std::time::Instant::now();
    let error = lane.acquire().await.err().expect("nothing listens");
    assert!(matches!(error, sqlx::Error::Io(_)), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(lane.status().size, 0);
}

#[tokio::test]
async fn sequential_submissions_share_one_connection_of_the_lane() {
    let app = App::start().await;
    let signer = miner();
    for i in 0..5 {
        let body = testkit::sample_submission(signer.ss58(), 1_000 + i);
        let (status, reply) = json(app.submit(&signer, &body).await).await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["status"], "new");
    }
    let lane = app.server.state.submit_db.status();
    assert_eq!((lane.size, lane.idle), (1, 1), "{lane:?}");
}

async fn terminate(db: &TestDb, pids: &[i32]) {
    let admin = sqlx::PgPool::connect(&db.url).await.unwrap();
    for pid in pids {
        let ended: bool = sqlx::query_scalar("select pg_terminate_backend($1, 10000)")
            .bind(pid)
            .fetch_one(&admin)
            .await
            .unwrap();
        assert!(ended, "backend {pid} ended");
    }
    admin.close().await;
}

#[tokio::test]
async fn a_session_ended_by_postgres_closes_the_connection_and_the_idle_ones() {
    let (db, lane) = lane_on_new_db(4, Duration::from_secs(3)).await;
    // Two connections, both idle afterwards.
    let (mut a, mut b) = (lane.acquire().await.unwrap(), lane.acquire().await.unwrap());
    let mut pids = Vec::new();
    for conn in [&mut a, &mut b] {
        pids.push(scalar(conn, "select pg_backend_pid()").await.unwrap());
    }
    drop((a, b));
    assert_eq!(lane.status().idle, 2);

    // As a restart of PostgreSQL does to every session.
    terminate(&db, &pids).await;
    let mut conn = lane.acquire().await.unwrap();
    let failed = scalar::<i32>(&mut conn, "select 1").await;
    let error = failed.expect_err("the session was terminated");
    assert!(server::db::ends_session(&error), "{error:?}");
    drop(conn);
    assert_eq!(lane.status().size, 0, "the other idle connection went too");

    let pid = backend_pid(&lane).await;
    assert!(!pids.contains(&pid));
}

#[tokio::test]
async fn a_submission_on_a_session_postgres_ended_is_503_and_the_next_one_succeeds() {
    let app = App::start().await;
    let signer = miner();
    let submit = async |post_id: u64| {
        let body = testkit::sample_submission(signer.ss58(), post_id);
        app.submit(&signer, &body).await
    };
    assert_eq!(submit(1).await.status(), 200);
    let pids: Vec<i32> = sqlx::query_scalar(
        "select pid from pg_stat_activity where datname = current_database() \
         and pid <> pg_backend_pid() and backend_type = 'client backend'",
    )
    .fetch_all(&app.server.state.db)
    .await
    .unwrap();
    assert!(!pids.is_empty());
    terminate(&app._db, &pids).await;

    // The server cannot know the session ended until it uses it: that request is told to
    // retry (503, Retry-After), not given a 500.
    let failed = submit(2).await;
    assert_eq!(failed.status(), 503);
    assert!(failed.headers().contains_key("retry-after"));
    let (status, reply) = json(submit(3).await).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["status"], "new");
}
