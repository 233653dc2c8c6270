//! The validation queue: leasing tasks to validators and recording their verdicts.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use protocol::WindowInfo;
use protocol::api::{FailureReason, ItemResult, ItemStatus, SubmitRequest, VerdictOutcome};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

/// Advisory lock key shared by verdict writers (shared mode) and score publication
/// (exclusive mode): publishing a window's scores waits for verdicts in flight, and no
/// verdict is recorded while a window is being published, so each failure counts exactly
/// once, in the window its `counted_window` names.
pub const PUBLICATION_LOCK: i64 = 0x5055_4c53_4531; // "PULSE1"

/// A task leased to a validator, with the post to check.
#[derive(Debug, Clone, PartialEq)]
pub struct LeasedTask {
    /// The task's id.
    pub validation_id: Uuid,
    /// The post as stored.
    pub post: SubmitRequest,
    /// When it was selected.
    pub selected_at: DateTime<Utc>,
    /// When the lease ends.
    pub lease_expires_at: DateTime<Utc>,
    /// Whether the slot had been leased before and the lease ran out unanswered.
    pub relet: bool,
}

/// Leases up to `limit` tasks to `validator` for `lease`, oldest selection first.
///
/// A slot is leasable when it is unanswered and not under an unexpired lease, and it is
/// the first such slot of its task (so one poll never takes two slots of a task). The
/// validator never receives its own posts, a task it already answered or holds, or a task
/// it found inconclusive less than one lease period ago (so another validator gets the
/// first try). `for update skip locked` plus updating the slot row means two validators
/// polling at once never receive the same slot: a poller that meets a row changed by a
/// concurrent lease re-checks it and sees it taken.
pub async fn lease(
    pool: &PgPool,
    validator: &str,
    limit: u32,
    lease: Duration,
) -> sqlx::Result<Vec<LeasedTask>> {
    let rows = sqlx::query!(
        r#"with picked as (
               select c.validation_id, c.slot, c.leased_by is not null as relet
               from validation_slots c
               join validation_tasks t on t.validation_id = c.validation_id
               join submissions s on s.validation_id = c.validation_id
               where c.answered_by is null
                 and (c.lease_expires_at is null or c.lease_expires_at <= now())
                 and s.miner_hotkey <> $1
                 and not exists (
                     select 1 from validation_slots e
                     where e.validation_id = c.validation_id and e.slot < c.slot and e.answered_by is null
                       and (e.lease_expires_at is null or e.lease_expires_at <= now()))
                 and not exists (
                     select 1 from validation_slots m
                     where m.validation_id = c.validation_id and m.slot <> c.slot
                       and (m.answered_by = $1 or (m.leased_by = $1 and m.lease_expires_at > now())))
                 and not exists (
                     select 1 from validation_verdicts v
                     where v.validation_id = c.validation_id and v.validator_hotkey = $1
                       and (v.outcome <> 'inconclusive' or v.received_at > now() - make_interval(secs => $2)))
               order by t.selected_at, c.validation_id, c.slot
               limit $3
               for update of c skip locked
           ),
           leased as (
               update validation_slots u
               set leased_by = $1, lease_expires_at = now() + make_interval(secs => $2)
               from picked
               where u.validation_id = picked.validation_id and u.slot = picked.slot
               returning u.validation_id, u.lease_expires_at, picked.relet
           )
           select l.validation_id, l.lease_expires_at as "lease_expires_at!", l.relet as "relet!", t.selected_at,
                  s.miner_hotkey, s.post_id, s.content, s.post_date, s.author, s.account_age,
                  s.retweets, s.likes, s.responses, s.followers,
                  s.tokens as "tokens: Json<BTreeMap<String, f64>>", s.sentiment, s.score
           from leased l
           join validation_tasks t on t.validation_id = l.validation_id
           join submissions s on s.validation_id = l.validation_id
           order by t.selected_at, l.validation_id"#,
        validator,
        lease.as_secs_f64(),
        i64::from(limit),
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LeasedTask {
            validation_id: r.validation_id,
            selected_at: r.selected_at,
            lease_expires_at: r.lease_expires_at,
            relet: r.relet,
            post: SubmitRequest {
                miner_hotkey: r.miner_hotkey,
                post_id: r.post_id,
                content: r.content,
                date: r.post_date,
                author: r.author,
                account_age: r.account_age as u64,
                retweets: r.retweets as u64,
                likes: r.likes as u64,
                responses: r.responses as u64,
                followers: r.followers as u64,
                tokens: r.tokens.0,
                sentiment: r.sentiment,
                score: r.score,
            },
        })
        .collect())
}

/// A verdict as the server records it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerdictInput {
    /// The task, as sent.
    pub validation_id_raw: String,
    /// The miner the validator believes it judged.
    pub miner_hotkey: String,
    /// The verdict.
    pub outcome: VerdictOutcome,
    /// Why, for fail and inconclusive.
    pub failure: Option<FailureReason>,
}

/// The name an outcome is stored under.
pub fn outcome_name(outcome: VerdictOutcome) -> &'static str {
    match outcome {
        VerdictOutcome::Pass => "pass",
        VerdictOutcome::Fail => "fail",
        VerdictOutcome::Inconclusive => "inconclusive",
    }
}

fn rejected(input: &VerdictInput, reason: &str, detail: String) -> ItemResult {
    ItemResult {
        validation_id: input.validation_id_raw.clone(),
        status: ItemStatus::Rejected,
        outcome: Some(input.outcome),
        reason: Some(reason.to_string()),
        detail: Some(detail),
    }
}

fn accepted(input: &VerdictInput, status: ItemStatus) -> ItemResult {
    ItemResult {
        validation_id: input.validation_id_raw.clone(),
        status,
        outcome: Some(input.outcome),
        reason: None,
        detail: None,
    }
}

/// Records a batch of `validator`'s verdicts at window `at`, in one transaction; one result
/// per verdict, in order. Re-sending a verdict already recorded changes nothing. A failure
/// decided `grace_blocks` or more after its post's window ended counts in the window `at`.
///
/// Each verdict is recorded under a savepoint of its own: one the database refuses for
/// its data (SQLSTATE classes 22, data exception, 23, integrity constraint, and 54, program
/// limit exceeded) is rejected as `unstorable` and the others are recorded, so no verdict
/// can hold back the rest of its batch. Any other error (the connection, a timeout) fails
/// the batch, which the validator sends again.
pub async fn record(
    pool: &PgPool,
    validator: &str,
    inputs: &[VerdictInput],
    at: WindowInfo,
    grace_blocks: u64,
) -> sqlx::Result<Vec<ItemResult>> {
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock_shared($1)")
        .bind(PUBLICATION_LOCK)
        .execute(&mut *tx)
        .await?;
    let mut results = Vec::with_capacity(inputs.len());
    let mut recorded = Vec::new();
    for input in inputs {
        let mut savepoint = sqlx::Connection::begin(&mut *tx).await?;
        match record_one(&mut savepoint, validator, input, at, grace_blocks).await {
            Ok(result) => {
                savepoint.commit().await?;
                if result.status == ItemStatus::Recorded
                    && let Ok(id) = Uuid::try_parse(&input.validation_id_raw)
                {
                    recorded.push(id);
                }
                results.push(result);
            }
            Err(sqlx::Error::Database(error)) if is_data_error(error.code().as_deref()) => {
                savepoint.rollback().await?;
                tracing::warn!(validation.id = %input.validation_id_raw, %error,
                    "a verdict the database cannot store was rejected");
                results.push(rejected(
                    input,
                    "unstorable",
                    format!("the database cannot store this verdict: {error}"),
                ));
            }
            Err(error) => return Err(error),
        }
    }
    crate::db::signal::refresh_after_verdicts(&mut tx, &recorded).await?;
    tx.commit().await?;
    Ok(results)
}

/// Whether SQLSTATE `code` says the data of a statement was refused, rather than that the
/// database or the connection is in trouble.
fn is_data_error(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.starts_with("22") || c.starts_with("23") || c.starts_with("54"))
}

async fn record_one(
    conn: &mut PgConnection,
    validator: &str,
    input: &VerdictInput,
    at: WindowInfo,
    grace_blocks: u64,
) -> sqlx::Result<ItemResult> {
    let Ok(validation_id) = Uuid::try_parse(&input.validation_id_raw) else {
        return Ok(rejected(
            input,
            "unknown_validation_id",
            "validation_id is not a uuid".into(),
        ));
    };
    // Locking the task serialises verdicts on it, so its outcome is decided once.
    let task = sqlx::query!(
        r#"select t.outcome, s.miner_hotkey, s.window_index
           from validation_tasks t join submissions s using (validation_id)
           where t.validation_id = $1
           for update of t"#,
        validation_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(task) = task else {
        return Ok(rejected(
            input,
            "unknown_validation_id",
            format!("no validation task {validation_id}"),
        ));
    };
    if task.miner_hotkey != input.miner_hotkey {
        return Ok(rejected(
            input,
            "miner_mismatch",
            format!(
                "task {validation_id} is a post of {}, not of {}",
                task.miner_hotkey, input.miner_hotkey
            ),
        ));
    }
    let previous = sqlx::query!(
        r#"select outcome from validation_verdicts where validation_id = $1 and validator_hotkey = $2"#,
        validation_id,
        validator
    )
    .fetch_optional(&mut *conn)
    .await?;
    let new_outcome = outcome_name(input.outcome);
    if let Some(previous) = &previous {
        if previous.outcome == new_outcome {
            return Ok(accepted(input, ItemStatus::Duplicate));
        }
        if previous.outcome != "inconclusive" {
            return Ok(rejected(
                input,
                "already_answered",
                format!(
                    "you already answered {validation_id} with {}; a decisive verdict is final",
                    previous.outcome
                ),
            ));
        }
    }
    let slot = sqlx::query_scalar!(
        r#"select slot from validation_slots
           where validation_id = $1 and leased_by = $2 and answered_by is null
           order by slot limit 1
           for update"#,
        validation_id,
        validator
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(slot) = slot else {
        return Ok(rejected(
            input,
            "not_leased",
            format!(
                "task {validation_id} is not leased to you (its lease expired and went to another validator, it has all its verdicts, or it was never yours)"
            ),
        ));
    };

    let failure = input.failure.as_ref();
    sqlx::query!(
        r#"insert into validation_verdicts
               (validation_id, validator_hotkey, outcome, failure_code, failure_message, failure_details,
                received_block, received_window)
           values ($1, $2, $3, $4, $5, $6, $7, $8)
           on conflict (validation_id, validator_hotkey) do update
           set outcome = excluded.outcome, failure_code = excluded.failure_code,
               failure_message = excluded.failure_message, failure_details = excluded.failure_details,
               received_block = excluded.received_block, received_window = excluded.received_window,
               received_at = now()"#,
        validation_id,
        validator,
        new_outcome,
        failure.map(|f| f.code.as_str()),
        failure.map(|f| f.message.as_str()),
        failure.and_then(|f| f.details.clone()),
        at.current_block as i64,
        at.current_window as i64,
    )
    .execute(&mut *conn)
    .await?;

    if input.outcome == VerdictOutcome::Inconclusive {
        // Back to the queue for another validator; this one may take it again after a
        // lease period.
        sqlx::query!(
            r#"update validation_slots set leased_by = null, lease_expires_at = null
               where validation_id = $1 and slot = $2"#,
            validation_id,
            slot
        )
        .execute(&mut *conn)
        .await?;
        return Ok(accepted(input, ItemStatus::Recorded));
    }

    sqlx::query!(
        r#"update validation_slots set answered_by = $3, lease_expires_at = null
           where validation_id = $1 and slot = $2"#,
        validation_id,
        slot,
        validator
    )
    .execute(&mut *conn)
    .await?;
    if task.outcome.is_none() {
        decide(conn, validation_id, task.window_index, at, grace_blocks).await?;
    }
    Ok(accepted(input, ItemStatus::Recorded))
}

/// Decides the task's outcome once a majority of its slots agree (or all are answered,
/// when a tie goes to the miner), and the window its outcome counts in: the post's own
/// window until that window is final by its deadline (or published), else the window the
/// server is in. The window's finality waits for this decision until the deadline, so a
/// failure can no longer be pushed into a later window by sending the post at a window's
/// end.
async fn decide(
    conn: &mut PgConnection,
    validation_id: Uuid,
    post_window: i64,
    at: WindowInfo,
    grace_blocks: u64,
) -> sqlx::Result<()> {
    let tally = sqlx::query!(
        r#"select
               (select count(*) from validation_slots where validation_id = $1) as "slots!",
               (select count(*) from validation_slots where validation_id = $1 and answered_by is not null) as "answered!",
               (select count(*) from validation_verdicts where validation_id = $1 and outcome = 'pass') as "passes!",
               (select count(*) from validation_verdicts where validation_id = $1 and outcome = 'fail') as "fails!""#,
        validation_id
    )
    .fetch_one(&mut *conn)
    .await?;
    let majority = tally.slots / 2 + 1;
    let outcome = if tally.fails >= majority {
        "fail"
    } else if tally.passes >= majority || tally.answered >= tally.slots {
        "pass"
    } else {
        return Ok(());
    };
    let past_deadline = at.current_block
        >= crate::db::scores::deadline(post_window as u64, at.blocks_per_window, grace_blocks);
    sqlx::query(
        "update validation_tasks
         set outcome = $2, decided_at = now(),
             counted_window = case
                 when $5 or exists (select 1 from window_publications where window_index = $3) then $4
                 else $3 end
         where validation_id = $1",
    )
    .bind(validation_id)
    .bind(outcome)
    .bind(post_window)
    .bind(at.current_window as i64)
    .bind(past_deadline)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
