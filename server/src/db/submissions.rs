//! Accepted posts, the per-window quota and the validation queue.

use std::collections::BTreeMap;

use sqlx::PgExecutor;
use sqlx::types::Json;
use uuid::Uuid;

use super::lane::Lane;

use crate::config::Role;
use protocol::submission::NewSubmission;

/// A stored submission and the server's decisions about it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSubmission {
    /// The data as stored.
    pub data: NewSubmission,
    /// Public id of the accepted post.
    pub validation_id: Uuid,
    /// Whether it was sampled for validation.
    pub selected_for_validation: bool,
    /// Window in which it was accepted.
    pub window_index: i64,
}

/// Where a new post is stored and what was decided about it.
#[derive(Debug, Clone, Copy)]
pub struct Placement {
    /// Block at acceptance.
    pub block: u64,
    /// Window at acceptance.
    pub window_index: u64,
    /// Sampled for validation.
    pub selected: bool,
    /// Id for the post (and its validation task).
    pub validation_id: Uuid,
    /// The per-window quota.
    pub quota: u32,
    /// Verdicts a selected post needs.
    pub verdicts: u16,
}

/// Who is submitting: what `pulse_submit` checks before it stores anything.
#[derive(Debug, Clone, Copy)]
pub struct Admission<'a> {
    /// The Epistula uuid to spend, with its signing time in Unix ms (none for X-Auth).
    pub nonce: Option<(Uuid, u64)>,
    /// The signer (already checked to be the miner).
    pub signed_by: &'a str,
    /// Whether only registered miners may submit.
    pub closed_registration: bool,
}

/// What became of a submission.
#[derive(Debug, Clone, PartialEq)]
pub enum SubmitOutcome {
    /// Stored; `used` new posts of this hotkey are in the window now.
    New {
        /// Quota used in the window, this post included.
        used: u32,
    },
    /// Stored earlier with the same data; nothing changed.
    Duplicate {
        /// The original.
        stored: StoredSubmission,
        /// Quota used in the current window.
        used: u32,
    },
    /// Stored earlier with different data.
    Conflict {
        /// Fields that differ.
        differing_fields: Vec<String>,
        /// Quota used in the current window.
        used: u32,
    },
    /// The quota of the window is used; nothing was stored.
    RateLimited {
        /// Quota used in the current window.
        used: u32,
    },
    /// The Epistula uuid was spent before: a replayed request.
    Replay,
    /// The signer may not submit (registration mode and its roles).
    Forbidden {
        /// Its registered roles.
        roles: Vec<Role>,
    },
}

/// Stores `new` unless its Epistula uuid was spent, the miner may not submit, its
/// (miner_hotkey, post_id) exists or the window's quota is used: the whole decision in one
/// statement (`pulse_submit`, migrations/0003), so one round trip and one commit.
///
/// The idempotency check comes before the quota, so a duplicate is recognised (and uses no
/// quota) even when the window is full. Concurrent submissions of one key wait on the
/// unique index for each other; concurrent submissions of one hotkey wait on its quota
/// row. Both locks are taken in the same order by every call, so they cannot deadlock.
/// Telling a duplicate from a conflict reads the stored post: a second round trip, on
/// that path only.
///
/// Runs on a connection of the submit [`Lane`], which takes it back without sqlx's
/// test round trip.
pub async fn submit(
    lane: &Lane,
    new: &NewSubmission,
    at: Placement,
    admission: Admission<'_>,
) -> sqlx::Result<SubmitOutcome> {
    let (nonce, signed_at_ms) = match admission.nonce {
        Some((uuid, ms)) => (Some(uuid), Some(ms as f64)),
        None => (None, None),
    };
    // The call names each parameter of `pulse_submit`, so it does not depend on the order
    // in which a migration declares them: many share a type (eight bigints, five texts), and a
    // call by position would store a swapped pair silently, while a name that matches no
    // parameter fails to prepare (`cargo sqlx prepare` and the tests catch it). The `$n`
    // follow the Rust arguments below line by line.
    let query = sqlx::query!(
        r#"select r_outcome as "outcome!", r_used as "used!", r_roles as "roles!"
           from pulse_submit(
               p_nonce               => $1,
               p_signed_by           => $2,
               p_signed_at_ms        => $3,
               p_closed_registration => $4,
               p_validation_id       => $5,
               p_miner               => $6,
               p_post_id             => $7,
               p_content             => $8,
               p_date                => $9,
               p_author              => $10,
               p_account_age         => $11,
               p_retweets            => $12,
               p_likes               => $13,
               p_responses           => $14,
               p_followers           => $15,
               p_tokens              => $16,
               p_sentiment           => $17,
               p_score               => $18,
               p_block               => $19,
               p_window              => $20,
               p_quota               => $21,
               p_selected            => $22,
               p_verdicts            => $23)"#,
        nonce,
        admission.signed_by,
        signed_at_ms,
        admission.closed_registration,
        at.validation_id,
        new.miner_hotkey,
        new.post_id,
        new.content,
        new.date,
        new.author,
        new.account_age,
        new.retweets,
        new.likes,
        new.responses,
        new.followers,
        Json(&new.tokens) as _,
        new.sentiment,
        new.score,
        at.block as i64,
        at.window_index as i64,
        at.quota as i32,
        at.selected,
        i32::from(at.verdicts),
    );
    let mut conn = lane.acquire().await?;
    let row = conn.run(async |c| query.fetch_one(c).await).await?;
    let used = row.used.max(0) as u32;
    Ok(match row.outcome.as_str() {
        "new" => SubmitOutcome::New { used },
        // pulse_submit has counted the refusal (window_quota.refused) for the status page.
        "rate_limited" => SubmitOutcome::RateLimited { used },
        "replay" => SubmitOutcome::Replay,
        "forbidden" => SubmitOutcome::Forbidden {
            roles: row.roles.iter().filter_map(|r| Role::from_db(r)).collect(),
        },
        "exists" => {
            let stored = conn
                .run(async |c| find(c, &new.miner_hotkey, &new.post_id).await)
                .await?
                .ok_or(sqlx::Error::RowNotFound)?;
            let differing_fields = new.differing_fields(&stored.data);
            if differing_fields.is_empty() {
                SubmitOutcome::Duplicate { stored, used }
            } else {
                SubmitOutcome::Conflict {
                    differing_fields,
                    used,
                }
            }
        }
        other => {
            return Err(sqlx::Error::Protocol(format!(
                "pulse_submit answered {other:?}"
            )));
        }
    })
}

/// New posts `hotkey` stored in `window`.
pub async fn quota_used(db: impl PgExecutor<'_>, hotkey: &str, window: u64) -> sqlx::Result<u32> {
    let used = sqlx::query_scalar!(
        r#"select used from window_quota where miner_hotkey = $1 and window_index = $2"#,
        hotkey,
        window as i64
    )
    .fetch_optional(db)
    .await?;
    Ok(used.unwrap_or(0) as u32)
}

/// The stored submission of (`hotkey`, `post_id`).
pub async fn find(
    db: impl PgExecutor<'_>,
    hotkey: &str,
    post_id: &str,
) -> sqlx::Result<Option<StoredSubmission>> {
    let row = sqlx::query!(
        r#"select validation_id, miner_hotkey, post_id, content, post_date, author, account_age,
                  retweets, likes, responses, followers,
                  tokens as "tokens: Json<BTreeMap<String, f64>>",
                  sentiment, score, window_index, selected_for_validation
           from submissions where miner_hotkey = $1 and post_id = $2"#,
        hotkey,
        post_id
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| StoredSubmission {
        data: NewSubmission {
            miner_hotkey: r.miner_hotkey,
            post_id: r.post_id,
            content: r.content,
            date: r.post_date,
            author: r.author,
            account_age: r.account_age,
            retweets: r.retweets,
            likes: r.likes,
            responses: r.responses,
            followers: r.followers,
            tokens: r.tokens.0,
            sentiment: r.sentiment,
            score: r.score,
        },
        validation_id: r.validation_id,
        selected_for_validation: r.selected_for_validation,
        window_index: r.window_index,
    }))
}
