//! What a miner may see of itself: recent submissions, verdicts and window scores.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use protocol::api::{
    FailureReason, MinerSubmission, MinerVerdict, MinerWindowScore, VerdictOutcome,
};
use sqlx::PgPool;
use uuid::Uuid;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn outcome_of(name: &str) -> VerdictOutcome {
    match name {
        "pass" => VerdictOutcome::Pass,
        "fail" => VerdictOutcome::Fail,
        _ => VerdictOutcome::Inconclusive,
    }
}

/// The miner's `limit` newest submissions, with their validation state and verdicts.
pub async fn recent_submissions(
    pool: &PgPool,
    hotkey: &str,
    limit: i64,
) -> sqlx::Result<Vec<MinerSubmission>> {
    let rows = sqlx::query!(
        r#"select s.post_id, s.window_index, s.accepted_at, s.score, s.selected_for_validation, s.validation_id,
                  t.validation_id as "task?", t.outcome as "outcome?", t.counted_window as "counted_window?"
           from submissions s left join validation_tasks t using (validation_id)
           where s.miner_hotkey = $1
           order by s.id desc
           limit $2"#,
        hotkey,
        limit
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<Uuid> = rows
        .iter()
        .filter(|r| r.task.is_some())
        .map(|r| r.validation_id)
        .collect();
    let mut verdicts: BTreeMap<Uuid, Vec<MinerVerdict>> = BTreeMap::new();
    for v in sqlx::query!(
        r#"select validation_id, validator_hotkey, outcome, failure_code, failure_message, failure_details, received_at
           from validation_verdicts where validation_id = any($1)
           order by received_at, validator_hotkey"#,
        &ids
    )
    .fetch_all(pool)
    .await?
    {
        let failure_reason = v.failure_code.map(|code| FailureReason {
            code,
            message: v.failure_message.unwrap_or_default(),
            post_id: None,
            details: v.failure_details,
        });
        verdicts.entry(v.validation_id).or_default().push(MinerVerdict {
            validator_hotkey: v.validator_hotkey,
            outcome: outcome_of(&v.outcome),
            failure_reason,
            received_at: rfc3339(v.received_at),
        });
    }
    Ok(rows
        .into_iter()
        .map(|r| {
            let validation = match (&r.task, r.outcome.as_deref()) {
                (None, _) => "not_selected",
                (Some(_), None) => "pending",
                (Some(_), Some(outcome)) => outcome,
            };
            MinerSubmission {
                post_id: r.post_id,
                window: r.window_index as u64,
                accepted_at: rfc3339(r.accepted_at),
                score: r.score,
                selected_for_validation: r.selected_for_validation,
                validation_id: r.validation_id.to_string(),
                validation: validation.to_string(),
                counted_in_window: r.counted_window.map(|w| w as u64),
                verdicts: verdicts.remove(&r.validation_id).unwrap_or_default(),
            }
        })
        .collect())
}

/// The miner's `limit` newest published window scores.
pub async fn window_scores(
    pool: &PgPool,
    hotkey: &str,
    limit: i64,
) -> sqlx::Result<Vec<MinerWindowScore>> {
    use sqlx::Row;
    let rows = sqlx::query(
        "select window_index, score, reward, posts, failed_validations, penalty_factor,
                credibility, copies
         from window_scores where miner_hotkey = $1
         order by window_index desc limit $2",
    )
    .bind(hotkey)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(MinerWindowScore {
                window: r.try_get::<i64, _>("window_index")? as u64,
                score: r.try_get("score")?,
                reward: r.try_get("reward")?,
                posts: r.try_get::<i32, _>("posts")? as u32,
                failed_validations: r.try_get::<i32, _>("failed_validations")? as u32,
                penalty_factor: r.try_get("penalty_factor")?,
                credibility: r.try_get("credibility")?,
                copies: r.try_get::<i32, _>("copies")? as u32,
            })
        })
        .collect()
}
