//! The database invariants the API promises, checked on the rows themselves.
//!
//! Queries are plain `sqlx::query` (checked when they run, not when the crate builds), so
//! the tool needs no prepared query cache and reads any database migrated by the server.
//! Each invariant is one query that returns the offending rows; its count and a few
//! examples go into the report.

use std::fmt::Write as _;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::receipts::{Fate, Receipt};

/// Offending rows shown per invariant.
const EXAMPLES: i64 = 5;
/// Receipts sent to the database per query.
const CHUNK: usize = 10_000;

/// One promise of the API about what is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Invariant {
    /// No `window_quota` row counts more than the quota.
    QuotaRowWithinLimit,
    /// No (hotkey, window) has more stored submissions than the quota.
    StoredWithinQuota,
    /// Each (hotkey, window)'s `window_quota.used` equals its stored submissions (the post
    /// and its unit of quota are written in one transaction).
    QuotaRowMatchesStored,
    /// One submission per (hotkey, post_id).
    OneRowPerKey,
    /// Every post selected for validation has its validation task.
    SelectedHaveTasks,
    /// Every validation task belongs to a stored, selected post.
    TasksBelongToSelectedPosts,
    /// Every validation task has at least one verdict slot.
    TasksHaveSlots,
    /// Every `200 new` reply is stored as answered (same validation id, selection, window).
    AcknowledgedAreStored,
    /// No post answered `429` is stored.
    RefusedAreAbsent,
}

impl Invariant {
    /// The name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Invariant::QuotaRowWithinLimit => "quota_row_within_limit",
            Invariant::StoredWithinQuota => "stored_within_quota",
            Invariant::QuotaRowMatchesStored => "quota_row_matches_stored",
            Invariant::OneRowPerKey => "one_row_per_key",
            Invariant::SelectedHaveTasks => "selected_have_tasks",
            Invariant::TasksBelongToSelectedPosts => "tasks_belong_to_selected_posts",
            Invariant::TasksHaveSlots => "tasks_have_slots",
            Invariant::AcknowledgedAreStored => "acknowledged_are_stored",
            Invariant::RefusedAreAbsent => "refused_are_absent",
        }
    }
}

/// The checks of the whole database, each a query returning one text line per offence;
/// `$1`, where used, is the quota.
const TABLE_CHECKS: [(Invariant, &str); 7] = [
    (
        Invariant::QuotaRowWithinLimit,
        r#"select format('%s window %s: used %s', miner_hotkey, window_index, used)
           from window_quota where used > $1"#,
    ),
    (
        Invariant::StoredWithinQuota,
        r#"select format('%s window %s: %s stored', miner_hotkey, window_index, count(*))
           from submissions group by miner_hotkey, window_index having count(*) > $1"#,
    ),
    (
        Invariant::QuotaRowMatchesStored,
        r#"select format('%s window %s: %s stored, window_quota.used %s',
                         miner_hotkey, window_index, coalesce(s.stored, 0), coalesce(q.used, 0))
           from (select miner_hotkey, window_index, count(*) as stored
                 from submissions group by miner_hotkey, window_index) s
           full join window_quota q using (miner_hotkey, window_index)
           where coalesce(s.stored, 0) <> coalesce(q.used, 0)"#,
    ),
    (
        Invariant::OneRowPerKey,
        r#"select format('%s post %s: %s rows', miner_hotkey, post_id, count(*))
           from submissions group by miner_hotkey, post_id having count(*) > 1
               "#,
    ),
    (
        Invariant::SelectedHaveTasks,
        r#"select format('%s post %s (validation id %s) is selected but has no task',
                         s.miner_hotkey, s.post_id, s.validation_id)
           from submissions s
           where s.selected_for_validation
             and not exists (select 1 from validation_tasks t where t.validation_id = s.validation_id)"#,
    ),
    (
        Invariant::TasksBelongToSelectedPosts,
        r#"select format('task %s: %s', t.validation_id,
                         case when s.id is null then 'no such submission' else 'post not selected' end)
           from validation_tasks t left join submissions s using (validation_id)
           where (s.id is null or not s.selected_for_validation)"#,
    ),
    (
        Invariant::TasksHaveSlots,
        r#"select format('task %s has no verdict slot', t.validation_id)
           from validation_tasks t
           where not exists (select 1 from validation_slots v where v.validation_id = t.validation_id)
            "#,
    ),
];

/// Acknowledged posts (`$1..$5`: hotkeys, post ids, validation ids, selections, windows)
/// that are missing or stored otherwise than answered.
const ACKNOWLEDGED: &str = r#"
    select format('%s post %s: %s', r.hotkey, r.post_id,
                  case when s.id is null then 'answered new but not stored'
                       else format('stored with validation id %s, selected %s, window %s; answered %s, %s, %s',
                                   s.validation_id, s.selected_for_validation, s.window_index,
                                   r.validation_id, r.selected, r.window_index) end)
    from unnest($1::text[], $2::text[], $3::uuid[], $4::bool[], $5::int8[])
         as r(hotkey, post_id, validation_id, selected, window_index)
    left join submissions s on s.miner_hotkey = r.hotkey and s.post_id = r.post_id
    where s.id is null or s.validation_id <> r.validation_id
       or s.selected_for_validation <> r.selected or s.window_index <> r.window_index"#;

/// Refused posts (`$1`, `$2`: hotkeys, post ids) that are stored.
const REFUSED: &str = r#"
    select format('%s post %s: answered 429 but stored (validation id %s)',
                  s.miner_hotkey, s.post_id, s.validation_id)
    from unnest($1::text[], $2::text[]) as r(hotkey, post_id)
    join submissions s on s.miner_hotkey = r.hotkey and s.post_id = r.post_id"#;

/// One invariant's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvariantResult {
    /// Which.
    pub invariant: Invariant,
    /// Offending rows (0: it holds).
    pub violations: u64,
    /// A few of them.
    pub examples: Vec<String>,
}

/// The result of a check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckReport {
    /// The quota checked against.
    pub quota: u32,
    /// Receipts checked.
    pub receipts: u64,
    /// Receipts whose post's fate is unknown (not checked).
    pub unknown_receipts: u64,
    /// Submissions stored.
    pub submissions: u64,
    /// Every invariant checked.
    pub results: Vec<InvariantResult>,
}

impl CheckReport {
    /// Whether every invariant holds.
    pub fn passed(&self) -> bool {
        self.results.iter().all(|r| r.violations == 0)
    }

    /// The invariants that do not hold.
    pub fn violated(&self) -> Vec<Invariant> {
        self.results
            .iter()
            .filter(|r| r.violations > 0)
            .map(|r| r.invariant)
            .collect()
    }

    /// The human-readable result.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let holding = self.results.iter().filter(|r| r.violations == 0).count();
        let _ = writeln!(
            out,
            "database check: {holding} of {} invariants hold ({} submissions stored; {} receipts checked, {} of unknown fate skipped; quota {})",
            self.results.len(),
            self.submissions,
            self.receipts,
            self.unknown_receipts,
            self.quota
        );
        for r in &self.results {
            if r.violations == 0 {
                let _ = writeln!(out, "  ok    {}", r.invariant.as_str());
            } else {
                let _ = writeln!(
                    out,
                    "  FAIL  {}: {} violations",
                    r.invariant.as_str(),
                    r.violations
                );
                for example in &r.examples {
                    let _ = writeln!(out, "          {example}");
                }
            }
        }
        out
    }
}

/// Connects to `url` with a small pool.
pub async fn connect(url: &str) -> anyhow::Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(2)
        .connect(url)
        .await
        .context("cannot connect to the database to check it")
}

/// Checks every invariant on `pool` against `quota`, and the receipts when given.
pub async fn check(
    pool: &PgPool,
    quota: u32,
    receipts: Option<&[Receipt]>,
) -> anyhow::Result<CheckReport> {
    let quota_param = i32::try_from(quota).unwrap_or(i32::MAX);
    let mut results = Vec::new();
    for (invariant, sql) in TABLE_CHECKS {
        let uses_quota = sql.contains("$1");
        let count_sql = format!("select count(*) from ({sql}) offences");
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        let examples_sql = format!("{sql} limit {EXAMPLES}");
        let mut examples = sqlx::query_scalar::<_, String>(&examples_sql);
        if uses_quota {
            count = count.bind(quota_param);
            examples = examples.bind(quota_param);
        }
        let context = || format!("checking {}", invariant.as_str());
        let count = count.fetch_one(pool).await.with_context(context)?;
        let examples = examples.fetch_all(pool).await.with_context(context)?;
        results.push(InvariantResult {
            invariant,
            violations: count as u64,
            examples,
        });
    }
    let submissions: i64 = sqlx::query_scalar("select count(*) from submissions")
        .fetch_one(pool)
        .await
        .context("counting submissions")?;
    let (mut checked, mut unknown) = (0, 0);
    if let Some(receipts) = receipts {
        let mut acknowledged = InvariantResult {
            invariant: Invariant::AcknowledgedAreStored,
            violations: 0,
            examples: Vec::new(),
        };
        let mut refused = InvariantResult {
            invariant: Invariant::RefusedAreAbsent,
            violations: 0,
            examples: Vec::new(),
        };
        for chunk in receipts.chunks(CHUNK) {
            let mut new = NewColumns::default();
            let (mut refused_keys, mut refused_posts) = (Vec::new(), Vec::new());
            for receipt in chunk {
                match receipt.fate {
                    Fate::New {
                        validation_id,
                        selected,
                        window,
                    } => new.push(receipt, validation_id, selected, window),
                    Fate::Refused => {
                        refused_keys.push(receipt.hotkey.clone());
                        refused_posts.push(receipt.post_id.clone());
                    }
                    Fate::Unknown => unknown += 1,
                }
            }
            checked += chunk.len() as u64;
            let rows = sqlx::query(ACKNOWLEDGED)
                .bind(new.hotkeys)
                .bind(new.post_ids)
                .bind(new.validation_ids)
                .bind(new.selected)
                .bind(new.windows)
                .fetch_all(pool)
                .await
                .context("checking acknowledged posts")?;
            collect(&mut acknowledged, rows)?;
            let rows = sqlx::query(REFUSED)
                .bind(refused_keys)
                .bind(refused_posts)
                .fetch_all(pool)
                .await
                .context("checking refused posts")?;
            collect(&mut refused, rows)?;
        }
        results.push(acknowledged);
        results.push(refused);
    }
    Ok(CheckReport {
        quota,
        receipts: checked,
        unknown_receipts: unknown,
        submissions: submissions as u64,
        results,
    })
}

#[derive(Default)]
struct NewColumns {
    hotkeys: Vec<String>,
    post_ids: Vec<String>,
    validation_ids: Vec<Uuid>,
    selected: Vec<bool>,
    windows: Vec<i64>,
}

impl NewColumns {
    fn push(&mut self, receipt: &Receipt, validation_id: Uuid, selected: bool, window: u64) {
        self.hotkeys.push(receipt.hotkey.clone());
        self.post_ids.push(receipt.post_id.clone());
        self.validation_ids.push(validation_id);
        self.selected.push(selected);
        self.windows.push(window as i64);
    }
}

fn collect(result: &mut InvariantResult, rows: Vec<sqlx::postgres::PgRow>) -> anyhow::Result<()> {
    result.violations += rows.len() as u64;
    for row in rows {
        if result.examples.len() < EXAMPLES as usize {
            result.examples.push(row.try_get(0)?);
        }
    }
    Ok(())
}
