//! `pulse_submit` meets the server by parameter name, not by position.
//!
//! The statement under test is the one `server::db::submissions::submit` runs, read from
//! the query metadata sqlx keeps in `.sqlx/` (the build refuses metadata that does not
//! match the source, so it is the server's exact text).

use std::path::Path;

use serde_json::Value;
use sqlx::postgres::PgDatabaseError;
use sqlx::types::Json;
use sqlx::{Executor, PgPool};
use testkit::TestDb;
use uuid::Uuid;

/// The SQL of the server's one call of `pulse_submit`.
fn submit_statement() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.sqlx");
    let calls: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .filter_map(|text| {
            let metadata: Value = serde_json::from_str(&text).unwrap();
            metadata["query"].as_str().map(str::to_owned)
        })
        .filter(|query| query.contains("from pulse_submit("))
        .collect();
    assert_eq!(calls.len(), 1, "one call of pulse_submit: {calls:#?}");
    calls.into_iter().next().unwrap()
}

/// `statement` with the arguments of its `pulse_submit(...)` call in reverse order.
fn with_arguments_reversed(statement: &str) -> String {
    let open = statement.find("pulse_submit(").unwrap() + "pulse_submit(".len();
    let close = statement.rfind(')').unwrap();
    let arguments: Vec<&str> = statement[open..close].split(',').map(str::trim).collect();
    assert_eq!(arguments.len(), 23);
    assert!(
        arguments
            .iter()
            .all(|a| a.starts_with("p_") && a.contains("=>")),
        "every argument is named: {arguments:?}"
    );
    let reversed: Vec<&str> = arguments.into_iter().rev().collect();
    format!(
        "{}{}{}",
        &statement[..open],
        reversed.join(", "),
        &statement[close..]
    )
}

/// The bigint columns of a stored submission, each bound from a different argument.
#[derive(Debug, PartialEq, sqlx::FromRow)]
struct StoredCounts {
    miner_hotkey: String,
    post_date: i64,
    account_age: i64,
    retweets: i64,
    likes: i64,
    responses: i64,
    followers: i64,
    accepted_block: i64,
    window_index: i64,
}

/// Runs `statement` for one new post of `miner` whose counts all differ, binding the
/// values in the order of the server's `$n`.
async fn submit_one(pool: &PgPool, statement: &str, miner: &str) -> String {
    let tokens: std::collections::BTreeMap<String, f64> =
        [("talisman_ai".to_owned(), 1.0)].into_iter().collect();
    let (outcome, _, _): (String, i32, Vec<String>) = sqlx::query_as(statement)
        .bind(Some(Uuid::new_v4()))
        .bind(miner)
        .bind(1_764_120_000_000.0_f64)
        .bind(false)
        .bind(Uuid::new_v4())
        .bind(miner)
        .bind("1860000000000000001")
        .bind("SN45 looks strong")
        .bind(1_764_119_000_i64)
        .bind("alice")
        .bind(365_i64)
        .bind(3_i64)
        .bind(10_i64)
        .bind(1_i64)
        .bind(1_200_i64)
        .bind(Json(&tokens))
        .bind(0.5_f64)
        .bind(0.55_f64)
        .bind(1_050_i64)
        .bind(10_i64)
        .bind(5_i32)
        .bind(false)
        .bind(1_i32)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    outcome
}

#[tokio::test]
async fn the_servers_call_of_pulse_submit_stores_the_same_row_whatever_the_order_of_its_named_arguments()
 {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let statement = submit_statement();
    let reversed = with_arguments_reversed(&statement);
    assert_ne!(reversed, statement);
    assert_eq!(submit_one(&pool, &statement, "5As").await, "new");
    assert_eq!(submit_one(&pool, &reversed, "5Reversed").await, "new");

    let rows: Vec<StoredCounts> = sqlx::query_as(
        "select miner_hotkey, post_date, account_age, retweets, likes, responses, followers,
                accepted_block, window_index
         from submissions order by miner_hotkey",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected = |miner: &str| StoredCounts {
        miner_hotkey: miner.to_owned(),
        post_date: 1_764_119_000,
        account_age: 365,
        retweets: 3,
        likes: 10,
        responses: 1,
        followers: 1_200,
        accepted_block: 1_050,
        window_index: 10,
    };
    assert_eq!(rows, [expected("5As"), expected("5Reversed")]);
    let quota: Vec<(String, i32)> =
        sqlx::query_as("select miner_hotkey, used from window_quota order by miner_hotkey")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(quota, [("5As".to_owned(), 1), ("5Reversed".to_owned(), 1)]);
}

#[tokio::test]
async fn a_call_of_pulse_submit_that_misspells_a_parameter_name_fails_to_prepare() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let statement = submit_statement();
    pool.prepare(statement.as_str())
        .await
        .expect("the server's statement prepares");

    let misspelt = statement.replacen("p_likes", "p_like", 1);
    assert_ne!(misspelt, statement);
    let error = pool
        .prepare(misspelt.as_str())
        .await
        .expect_err("no parameter is called p_like");
    let error = error
        .as_database_error()
        .expect("refused by PostgreSQL")
        .downcast_ref::<PgDatabaseError>();
    // 42883: undefined_function; no pulse_submit has a parameter of that name.
    assert_eq!(error.code(), "42883", "{error}");
    assert!(error.message().contains("pulse_submit"), "{error}");
}
