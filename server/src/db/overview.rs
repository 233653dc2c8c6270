//! What the status page shows about the loop itself: the window filling up, validation
//! outcomes per window, the miners' standing in the newest published window, and the
//! validators' recent activity. Each function is one query; the page renders its rows as
//! they come, so the page and the database cannot disagree.

use sqlx::PgExecutor;

/// How far the current window has filled.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowFill {
    /// Posts accepted in the window.
    pub submissions: i64,
    /// Hotkeys with at least one accepted post in the window.
    pub miners: i64,
    /// Hotkeys that used their whole quota.
    pub miners_at_quota: i64,
    /// Accepted posts sampled for validation.
    pub selected: i64,
    /// Submissions refused with 429 because the hotkey's quota was used.
    pub refused: i64,
}

/// The fill of `window` for a quota of `quota` new posts per hotkey.
pub async fn window_fill(
    db: impl PgExecutor<'_>,
    window: u64,
    quota: u32,
) -> sqlx::Result<WindowFill> {
    sqlx::query_as(
        r#"select
               coalesce(sum(used), 0)::bigint as submissions,
               count(*) filter (where used > 0) as miners,
               count(*) filter (where used >= $2) as miners_at_quota,
               (select count(*) from submissions
                 where window_index = $1 and selected_for_validation) as selected,
               coalesce(sum(refused), 0)::bigint as refused
             from window_quota
            where window_index = $1"#,
    )
    .bind(window as i64)
    .bind(quota as i32)
    .fetch_one(db)
    .await
}

/// Validation of the posts accepted in one window, by the outcome of their tasks.
#[derive(Clone, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct WindowValidation {
    /// The posts' window.
    pub window_index: i64,
    /// Posts sampled for validation.
    pub selected: i64,
    /// Tasks decided as passed.
    pub passed: i64,
    /// Tasks decided as failed.
    pub failed: i64,
    /// Undecided tasks whose verdicts so far were all inconclusive.
    pub inconclusive: i64,
    /// Undecided tasks with no verdict yet.
    pub pending: i64,
}

/// Validation outcomes of the posts accepted in windows `from..=to`, oldest first; windows
/// with no sampled post are absent.
pub async fn validation_by_window(
    db: impl PgExecutor<'_>,
    from: u64,
    to: u64,
) -> sqlx::Result<Vec<WindowValidation>> {
    sqlx::query_as(
        r#"select s.window_index,
                  count(*) as selected,
                  count(*) filter (where t.outcome = 'pass') as passed,
                  count(*) filter (where t.outcome = 'fail') as failed,
                  count(*) filter (where t.outcome is null and exists (
                      select 1 from validation_verdicts v
                       where v.validation_id = t.validation_id)) as inconclusive,
                  count(*) filter (where t.outcome is null and not exists (
                      select 1 from validation_verdicts v
                       where v.validation_id = t.validation_id)) as pending
             from submissions s
             join validation_tasks t on t.validation_id = s.validation_id
            where s.window_index between $1 and $2
            group by s.window_index
            order by s.window_index"#,
    )
    .bind(from as i64)
    .bind(to as i64)
    .fetch_all(db)
    .await
}

/// Failed tasks of one window's posts with one failure code.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct FailureCount {
    /// The posts' window.
    pub window_index: i64,
    /// The validation code of the failing verdict (`post_not_found`, ...).
    pub failure_code: String,
    /// Failed tasks with that code.
    pub tasks: i64,
}

/// Failed tasks of the posts accepted in windows `from..=to`, by failure code. A task
/// failed by several validators with different codes counts once under each code.
pub async fn failures_by_window(
    db: impl PgExecutor<'_>,
    from: u64,
    to: u64,
) -> sqlx::Result<Vec<FailureCount>> {
    sqlx::query_as(
        r#"select s.window_index,
                  coalesce(v.failure_code, 'unspecified') as failure_code,
                  count(distinct t.validation_id) as tasks
             from submissions s
             join validation_tasks t on t.validation_id = s.validation_id and t.outcome = 'fail'
             join validation_verdicts v on v.validation_id = t.validation_id and v.outcome = 'fail'
            where s.window_index between $1 and $2
            group by 1, 2
            order by 1, 2"#,
    )
    .bind(from as i64)
    .bind(to as i64)
    .fetch_all(db)
    .await
}

/// One miner's standing in a published window.
#[derive(Clone, Debug, PartialEq, sqlx::FromRow)]
pub struct Standing {
    /// The miner.
    pub miner_hotkey: String,
    /// The window score.
    pub score: f64,
    /// The reward before the penalty.
    pub reward: f64,
    /// Posts the score was computed from.
    pub posts: i32,
    /// Failed validations counted in the window.
    pub failed_validations: i32,
    /// The factor the failures multiplied the reward by.
    pub penalty_factor: f64,
    /// Why: the failure codes counted in the window, `code x count`, comma-separated.
    pub reasons: Option<String>,
}

/// The `limit` best miners of published `window`, best first.
pub async fn standings(
    db: impl PgExecutor<'_>,
    window: u64,
    limit: i64,
) -> sqlx::Result<Vec<Standing>> {
    sqlx::query_as(
        r#"select w.miner_hotkey, w.score, w.reward, w.posts, w.failed_validations,
                  w.penalty_factor, r.reasons
             from window_scores w
             left join lateral (
                 select string_agg(code || ' x' || n, ', ' order by code) as reasons
                   from (select coalesce(v.failure_code, 'unspecified') as code,
                                count(distinct t.validation_id) as n
                           from validation_tasks t
                           join submissions s on s.validation_id = t.validation_id
                           join validation_verdicts v
                             on v.validation_id = t.validation_id and v.outcome = 'fail'
                          where t.counted_window = w.window_index and t.outcome = 'fail'
                            and s.miner_hotkey = w.miner_hotkey
                          group by 1) codes
             ) r on true
            where w.window_index = $1
            order by w.score desc, w.miner_hotkey
            limit $2"#,
    )
    .bind(window as i64)
    .bind(limit)
    .fetch_all(db)
    .await
}

/// One validator's recent verdicts.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ValidatorActivity {
    /// The validator.
    pub validator_hotkey: String,
    /// Verdicts received.
    pub verdicts: i64,
    /// Of which passes.
    pub passed: i64,
    /// Of which failures.
    pub failed: i64,
    /// Of which inconclusive.
    pub inconclusive: i64,
    /// The block of its newest verdict.
    pub last_block: i64,
}

/// Verdicts received in windows `from` and later, per validator, most recently active
/// first.
pub async fn validator_activity(
    db: impl PgExecutor<'_>,
    from: u64,
) -> sqlx::Result<Vec<ValidatorActivity>> {
    sqlx::query_as(
        r#"select validator_hotkey,
                  count(*) as verdicts,
                  count(*) filter (where outcome = 'pass') as passed,
                  count(*) filter (where outcome = 'fail') as failed,
                  count(*) filter (where outcome = 'inconclusive') as inconclusive,
                  max(received_block) as last_block
             from validation_verdicts
            where received_window >= $1
            group by validator_hotkey
            order by last_block desc, validator_hotkey"#,
    )
    .bind(from as i64)
    .fetch_all(db)
    .await
}
