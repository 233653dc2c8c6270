//! The invariant checker on databases built row by row, consistent and then broken on
//! purpose in one way each.

use bench::check::{CheckReport, Invariant, check};
use bench::receipts::{Fate, Receipt};
use sqlx::PgPool;
use testkit::TestDb;
use uuid::Uuid;

const QUOTA: u32 = 5;
const ALICE: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
const BOB: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

/// What the server writes for one new post: the row, a unit of quota, and the task and
/// its slot when selected. Returns the validation id.
async fn store(pool: &PgPool, hotkey: &str, post_id: u64, window: i64, selected: bool) -> Uuid {
    let validation_id = Uuid::new_v4();
    insert_row(pool, validation_id, hotkey, post_id, window, selected).await;
    sqlx::query(
        r#"insert into window_quota (miner_hotkey, window_index, used) values ($1, $2, 1)
           on conflict (miner_hotkey, window_index) do update set used = window_quota.used + 1"#,
    )
    .bind(hotkey)
    .bind(window)
    .execute(pool)
    .await
    .unwrap();
    if selected {
        add_task(pool, validation_id).await;
    }
    validation_id
}

/// The submission row alone.
async fn insert_row(
    pool: &PgPool,
    validation_id: Uuid,
    hotkey: &str,
    post_id: u64,
    window: i64,
    selected: bool,
) {
    sqlx::query(
        r#"insert into submissions (
               validation_id, miner_hotkey, post_id, content, post_date, author, account_age,
               retweets, likes, responses, followers, tokens, sentiment, score,
               accepted_block, window_index, selected_for_validation)
           values ($1, $2, $3, 'SN45 looks strong', 1764120000, 'alice', 365, 1, 2, 3, 4,
                   '{"talisman_ai": 1.0}', 0.5, 0.5, $4 * 100, $4, $5)"#,
    )
    .bind(validation_id)
    .bind(hotkey)
    .bind(post_id.to_string())
    .bind(window)
    .bind(selected)
    .execute(pool)
    .await
    .unwrap();
}

async fn add_task(pool: &PgPool, validation_id: Uuid) {
    sqlx::query("insert into validation_tasks (validation_id) values ($1)")
        .bind(validation_id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("insert into validation_slots (validation_id, slot) values ($1, 1)")
        .bind(validation_id)
        .execute(pool)
        .await
        .unwrap();
}

async fn exec(pool: &PgPool, sql: &str) {
    sqlx::query(sql).execute(pool).await.expect(sql);
}

fn acknowledged(hotkey: &str, post_id: u64, validation_id: Uuid, selected: bool) -> Receipt {
    Receipt {
        hotkey: hotkey.into(),
        post_id: post_id.to_string(),
        fate: Fate::New {
            validation_id,
            selected,
            window: 7,
        },
    }
}

/// A consistent database: Alice's full window 7 (posts 1-5, post 2 selected), Bob's one
/// post in window 7 (selected) and one in window 8; and the receipts of a run that made
/// them, plus one refused post of Alice.
async fn consistent() -> (TestDb, PgPool, Vec<Receipt>) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let mut receipts = Vec::new();
    for post_id in 1..=5 {
        let selected = post_id == 2;
        let id = store(&pool, ALICE, post_id, 7, selected).await;
        receipts.push(acknowledged(ALICE, post_id, id, selected));
    }
    let id = store(&pool, BOB, 10, 7, true).await;
    receipts.push(acknowledged(BOB, 10, id, true));
    store(&pool, BOB, 11, 8, false).await;
    receipts.push(Receipt {
        hotkey: ALICE.into(),
        post_id: "6".into(),
        fate: Fate::Refused,
    });
    receipts.push(Receipt {
        hotkey: BOB.into(),
        post_id: "12".into(),
        fate: Fate::Unknown,
    });
    (db, pool, receipts)
}

async fn checked(pool: &PgPool, receipts: &[Receipt]) -> CheckReport {
    check(pool, QUOTA, Some(receipts))
        .await
        .expect("the check runs")
}

#[tokio::test]
async fn a_consistent_database_holds_every_invariant() {
    let (_db, pool, receipts) = consistent().await;
    let report = checked(&pool, &receipts).await;
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.results.len(), 9);
    assert_eq!(
        (report.submissions, report.receipts, report.unknown_receipts),
        (7, 8, 1)
    );
    let without_receipts = check(&pool, QUOTA, None).await.unwrap();
    assert!(without_receipts.passed());
    assert_eq!(without_receipts.results.len(), 7);
    pool.close().await;
}

#[tokio::test]
async fn a_submission_row_beyond_the_quota_is_found() {
    let (_db, pool, receipts) = consistent().await;
    insert_row(&pool, Uuid::new_v4(), ALICE, 99, 7, false).await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [
            Invariant::StoredWithinQuota,
            Invariant::QuotaRowMatchesStored
        ],
        "{}",
        report.to_text()
    );
    let text = report.to_text();
    assert!(
        text.contains(&format!("{ALICE} window 7: 6 stored")),
        "{text}"
    );
    pool.close().await;
}

#[tokio::test]
async fn a_quota_row_above_the_quota_is_found() {
    let (_db, pool, receipts) = consistent().await;
    exec(
        &pool,
        "update window_quota set used = 6 where window_index = 7 and used = 5",
    )
    .await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [
            Invariant::QuotaRowWithinLimit,
            Invariant::QuotaRowMatchesStored
        ],
        "{}",
        report.to_text()
    );
    pool.close().await;
}

#[tokio::test]
async fn two_rows_of_one_hotkey_and_post_id_are_found() {
    let (_db, pool, receipts) = consistent().await;
    exec(
        &pool,
        "alter table submissions drop constraint submissions_miner_post_key",
    )
    .await;
    store(&pool, BOB, 11, 8, false).await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::OneRowPerKey],
        "{}",
        report.to_text()
    );
    pool.close().await;
}

#[tokio::test]
async fn a_selected_post_without_a_task_is_found() {
    let (_db, pool, receipts) = consistent().await;
    store(&pool, BOB, 13, 8, false).await;
    exec(
        &pool,
        "update submissions set selected_for_validation = true where post_id = '13'",
    )
    .await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::SelectedHaveTasks],
        "{}",
        report.to_text()
    );
    assert_eq!(report.results[4].violations, 1);
    pool.close().await;
}

#[tokio::test]
async fn a_task_of_a_post_not_selected_is_found() {
    let (_db, pool, receipts) = consistent().await;
    let id = store(&pool, BOB, 13, 8, false).await;
    add_task(&pool, id).await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::TasksBelongToSelectedPosts],
        "{}",
        report.to_text()
    );
    pool.close().await;
}

#[tokio::test]
async fn a_task_without_a_verdict_slot_is_found() {
    let (_db, pool, receipts) = consistent().await;
    exec(
        &pool,
        "delete from validation_slots where validation_id = \
         (select validation_id from submissions where post_id = '10')",
    )
    .await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::TasksHaveSlots],
        "{}",
        report.to_text()
    );
    pool.close().await;
}

#[tokio::test]
async fn acknowledged_posts_missing_or_stored_otherwise_are_found() {
    let (_db, pool, mut receipts) = consistent().await;
    // A `new` reply for a post that is not stored, and one whose stored validation id
    // differs from the reply's.
    receipts.push(acknowledged(BOB, 77, Uuid::new_v4(), false));
    if let Fate::New { validation_id, .. } = &mut receipts[0].fate {
        *validation_id = Uuid::new_v4();
    }
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::AcknowledgedAreStored],
        "{}",
        report.to_text()
    );
    assert_eq!(report.results[7].violations, 2);
    let text = report.to_text();
    assert!(
        text.contains("post 77: answered new but not stored"),
        "{text}"
    );
    pool.close().await;
}

#[tokio::test]
async fn a_stored_post_that_was_answered_429_is_found() {
    let (_db, pool, receipts) = consistent().await;
    store(&pool, ALICE, 6, 8, false).await;
    let report = checked(&pool, &receipts).await;
    assert_eq!(
        report.violated(),
        [Invariant::RefusedAreAbsent],
        "{}",
        report.to_text()
    );
    pool.close().await;
}
