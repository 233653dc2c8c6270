//! Window scores: computed once when a closed window is first asked for, then frozen.

use std::collections::BTreeMap;

use sqlx::PgPool;
use sqlx::types::Json;

use crate::db::validation::PUBLICATION_LOCK;
use crate::scoring::{PostForScore, WindowScore, window_scores};

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

/// The scores of `window`, published now (with the current block) if they never were.
///
/// Publication happens once: under an exclusive advisory lock that verdict writers take in
/// shared mode, the first caller records the publication and the scores in one
/// transaction; later callers, on any process, read what it stored.
pub async fn publish_or_get(
    pool: &PgPool,
    window: u64,
    current_block: u64,
    failed_factor: f64,
) -> sqlx::Result<Publication> {
    if let Some(published) = get(pool, window).await? {
        return Ok(published);
    }
    let mut tx = pool.begin().await?;
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(PUBLICATION_LOCK)
        .execute(&mut *tx)
        .await?;
    let inserted = sqlx::query_scalar!(
        r#"insert into window_publications (window_index, published_block) values ($1, $2)
           on conflict (window_index) do nothing
           returning published_block"#,
        window as i64,
        current_block as i64
    )
    .fetch_optional(&mut *tx)
    .await?;
    if inserted.is_none() {
        tx.commit().await?;
        return get(pool, window)
            .await
            .map(|p| p.expect("a publication row was found"));
    }
    let posts = sqlx::query!(
        r#"select miner_hotkey, post_date, likes, retweets, responses, followers,
                  tokens as "tokens: Json<BTreeMap<String, f64>>",
                  extract(epoch from accepted_at)::bigint as "accepted_unix!"
           from submissions where window_index = $1"#,
        window as i64
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| PostForScore {
        miner_hotkey: r.miner_hotkey,
        date: r.post_date,
        likes: r.likes,
        retweets: r.retweets,
        replies: r.responses,
        followers: r.followers,
        tokens: r.tokens.0,
        accepted_unix: r.accepted_unix,
    })
    .collect::<Vec<_>>();
    let failures: BTreeMap<String, u32> = sqlx::query!(
        r#"select s.miner_hotkey, count(*) as "failed!"
           from validation_tasks t join submissions s using (validation_id)
           where t.outcome = 'fail' and t.counted_window = $1
           group by s.miner_hotkey"#,
        window as i64
    )
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.miner_hotkey, r.failed as u32))
    .collect();
    let scores = window_scores(&posts, &failures, failed_factor);
    for row in &scores {
        sqlx::query!(
            r#"insert into window_scores
                   (window_index, miner_hotkey, score, reward, posts, failed_validations, penalty_factor)
               values ($1, $2, $3, $4, $5, $6, $7)"#,
            window as i64,
            row.miner_hotkey,
            row.score,
            row.reward,
            row.posts as i32,
            row.failed_validations as i32,
            row.penalty_factor
        )
        .execute(&mut *tx)
        .await?;
    }
    crate::db::signal::aggregate_window(&mut tx, window).await?;
    tx.commit().await?;
    tracing::info!(window, miners = scores.len(), "window scores published");
    Ok(Publication {
        published_block: current_block,
        scores,
        newly_published: true,
    })
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
    let scores = sqlx::query_as!(
        WindowScore,
        r#"select miner_hotkey, score, reward, posts::bigint as "posts!", failed_validations::bigint as "failed_validations!",
                  penalty_factor
           from window_scores where window_index = $1 order by miner_hotkey"#,
        window as i64
    )
    .fetch_all(pool)
    .await?;
    Ok(Some(Publication {
        published_block: published_block as u64,
        scores,
        newly_published: false,
    }))
}
