//! Epistula request uuids, each accepted once across every server process.

use std::time::Duration;

use sqlx::PgExecutor;
use uuid::Uuid;

/// Records `uuid` as used; false when it was used before (a replay).
pub async fn consume(
    db: impl PgExecutor<'_>,
    uuid: Uuid,
    signed_by: &str,
    signed_at_ms: u64,
) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        r#"insert into epistula_nonces (uuid, signed_by, signed_at)
           values ($1, $2, to_timestamp($3::double precision / 1000))
           on conflict (uuid) do nothing"#,
        uuid,
        signed_by,
        signed_at_ms as f64
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Deletes uuids signed more than `older_than` ago; returns how many.
pub async fn prune(db: impl PgExecutor<'_>, older_than: Duration) -> sqlx::Result<u64> {
    let result = sqlx::query!(
        r#"delete from epistula_nonces where signed_at < now() - make_interval(secs => $1)"#,
        older_than.as_secs_f64()
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}
