//! Window scores: published once a closed window is final, then frozen.
//!
//! A window is **final** when every post sampled in it has a decided verdict, or at the
//! latest [`deadline`] (`SCORES_GRACE_BLOCKS` after its last block), whichever comes first.
//! From then on nothing can count in it any more (a failure decided later counts in the
//! window the server is in), so its scores are the same whoever asks and whenever: the
//! first request after it is final publishes them, in [`publish_window`].

use std::collections::BTreeMap;

use protocol::WindowInfo;
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool, Row};

use crate::db::validation::PUBLICATION_LOCK;
use crate::scoring::{PostForScore, ScoringRules, WindowScore, window_scores};

/// A window's published scores.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// Block at which they were published.
    pub published_block: u64,
    /// One row per miner.
    pub scores: Vec<WindowScore>,
    /// Whether this call published them.
    pub newly_published: bool,
}

/// A closed window whose scores are not final yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotFinal {
    /// Sampled posts of the window without a decided verdict.
    pub undecided: u64,
    /// The block from which the window is final whatever verdicts are missing.
    pub final_by_block: u64,
}

/// The first block at which `window` is final even with undecided posts: `grace_blocks`
/// after its last block.
pub fn deadline(window: u64, blocks_per_window: u64, grace_blocks: u64) -> u64 {
    (window + 1)
        .saturating_mul(blocks_per_window)
        .saturating_add(grace_blocks)
}

/// Whether the closed `window` is final at `at`: `Ok(())`, or what it still waits for.
pub async fn finality(
    pool: &PgPool,
    window: u64,
    at: &WindowInfo,
    grace_blocks: u64,
) -> sqlx::Result<Result<(), NotFinal>> {
    let final_by_block = deadline(window, at.blocks_per_window, grace_blocks);
    if at.current_block >= final_by_block {
        return Ok(Ok(()));
    }
    let undecided: i64 = sqlx::query_scalar(
        "select count(*) from validation_tasks t join submissions s using (validation_id)
         where s.window_index = $1 and t.outcome is null",
    )
    .bind(window as i64)
    .fetch_one(pool)
    .await?;
    Ok(if undecided == 0 {
        Ok(())
    } else {
        Err(NotFinal {
            undecided: undecided as u64,
            final_by_block,
        })
    })
}

/// The scores of the closed `window`: those published, or published now (with the current
/// block) if the window is final; [`NotFinal`] otherwise, and nothing is stored.
///
/// Publication happens once: under an exclusive advisory lock that verdict writers take in
/// shared mode, the first caller records the publication and the scores in one
/// transaction; later callers, on any process, read what it stored.
pub async fn publish_or_get(
    pool: &PgPool,
    window: u64,
    at: &WindowInfo,
    rules: &ScoringRules,
    grace_blocks: u64,
) -> sqlx::Result<Result<Publication, NotFinal>> {
    if let Some(published) = get(pool, window).await? {
        return Ok(Ok(published));
    }
    if let Err(pending) = finality(pool, window, at, grace_blocks).await? {
        return Ok(Err(pending));
    }
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(PUBLICATION_LOCK)
        .execute(&mut *tx)
        .await?;
    let inserted: Option<i64> = sqlx::query_scalar(
        "insert into window_publications (window_index, published_block) values ($1, $2)
         on conflict (window_index) do nothing
         returning published_block",
    )
    .bind(window as i64)
    .bind(at.current_block as i64)
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        tx.commit().await?;
        return get(pool, window)
            .await
            .map(|p| Ok(p.expect("a publication row was found")));
    }
    let scores = publish_window(&mut tx, window, rules).await?;
    crate::db::signal::aggregate_window(&mut tx, window).await?;
    tx.commit().await?;
    tracing::info!(window, miners = scores.len(), "window scores published");
    Ok(Ok(Publication {
        published_block: at.current_block,
        scores,
        newly_published: true,
    }))
}

/// Computes and stores the scores of the final `window`, inside the transaction that
/// records its publication (and holds the publication lock): everything that must happen
/// exactly once when a window is published belongs here.
pub async fn publish_window(
    conn: &mut PgConnection,
    window: u64,
    rules: &ScoringRules,
) -> sqlx::Result<Vec<WindowScore>> {
    // A post's credit share (see `scoring`): 0 when another hotkey submitted it in an earlier
    // window, else 1 / (1 + the other hotkeys that submitted it in this window). Submissions
    // whose validation failed are not among the others: a cheater's false claim on a post
    // neither takes a share of it nor makes an honest submission a copy.
    let posts = sqlx::query(
        r#"select s.miner_hotkey, s.post_date, s.likes, s.retweets, s.responses, s.followers, s.tokens,
                  extract(epoch from s.accepted_at)::bigint as accepted_unix,
                  case when o.earlier > 0 then 0.0
                       else 1.0 / (1 + o.alongside) end::float8 as credit_share
           from submissions s
           cross join lateral (
               select count(distinct x.miner_hotkey) filter (where x.window_index < s.window_index) as earlier,
                      count(distinct x.miner_hotkey) filter (where x.window_index = s.window_index) as alongside
               from submissions x
               left join validation_tasks t on t.validation_id = x.validation_id
               where x.post_id = s.post_id and x.miner_hotkey <> s.miner_hotkey
                 and x.window_index <= s.window_index
                 and t.outcome is distinct from 'fail') o
           where s.window_index = $1"#,
    )
    .bind(window as i64)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|r| {
        Ok(PostForScore {
            miner_hotkey: r.try_get("miner_hotkey")?,
            date: r.try_get("post_date")?,
            likes: r.try_get("likes")?,
            retweets: r.try_get("retweets")?,
            replies: r.try_get("responses")?,
            followers: r.try_get("followers")?,
            tokens: r.try_get::<Json<BTreeMap<String, f64>>, _>("tokens")?.0,
            accepted_unix: r.try_get("accepted_unix")?,
            credit_share: r.try_get("credit_share")?,
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    let mut failures: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let counted: Vec<(String, i64)> = sqlx::query_as(
        "select s.miner_hotkey, t.counted_window
         from validation_tasks t join submissions s using (validation_id)
         where t.outcome = 'fail' and t.counted_window between $1 and $2",
    )
    .bind(rules.first_window_weighing_on(window) as i64)
    .bind(window as i64)
    .fetch_all(&mut *conn)
    .await?;
    for (miner, counted_window) in counted {
        failures
            .entry(miner)
            .or_default()
            .push(counted_window as u64);
    }
    let scores = window_scores(window, &posts, &failures, rules);
    for row in &scores {
        sqlx::query(
            "insert into window_scores
                 (window_index, miner_hotkey, score, reward, posts, failed_validations, penalty_factor,
                  credibility, copies)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(window as i64)
        .bind(&row.miner_hotkey)
        .bind(row.score)
        .bind(row.reward)
        .bind(row.posts as i32)
        .bind(row.failed_validations as i32)
        .bind(row.penalty_factor)
        .bind(row.credibility)
        .bind(row.copies as i32)
        .execute(&mut *conn)
        .await?;
    }
    Ok(scores)
}

/// The published scores of `window`, if published.
pub async fn get(pool: &PgPool, window: u64) -> sqlx::Result<Option<Publication>> {
    let Some(published_block) = sqlx::query_scalar!(
        r#"select published_block from window_publications where window_index = $1"#,
        window as i64
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let scores = sqlx::query(
        "select miner_hotkey, score, reward, posts, failed_validations, penalty_factor,
                credibility, copies
         from window_scores where window_index = $1 order by miner_hotkey",
    )
    .bind(window as i64)
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| {
        Ok(WindowScore {
            miner_hotkey: r.try_get("miner_hotkey")?,
            score: r.try_get("score")?,
            reward: r.try_get("reward")?,
            posts: i64::from(r.try_get::<i32, _>("posts")?),
            failed_validations: i64::from(r.try_get::<i32, _>("failed_validations")?),
            penalty_factor: r.try_get("penalty_factor")?,
            credibility: r.try_get("credibility")?,
            copies: i64::from(r.try_get::<i32, _>("copies")?),
        })
    })
    .collect::<sqlx::Result<Vec<_>>>()?;
    Ok(Some(Publication {
        published_block: published_block as u64,
        scores,
        newly_published: false,
    }))
}
