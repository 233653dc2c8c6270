//! The hotkey registry: who may act as miner or validator.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

use crate::config::Role;

/// One registry row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredHotkey {
    /// SS58 address.
    pub hotkey: String,
    /// The role.
    pub role: Role,
    /// When it was added.
    pub added_at: DateTime<Utc>,
}

/// The roles `hotkey` is registered in (empty when unknown).
pub async fn roles(db: impl PgExecutor<'_>, hotkey: &str) -> sqlx::Result<Vec<Role>> {
    let rows = sqlx::query_scalar!(r#"select role from hotkeys where hotkey = $1"#, hotkey)
        .fetch_all(db)
        .await?;
    Ok(rows.iter().filter_map(|r| Role::from_db(r)).collect())
}

/// Registers `hotkey` in `role`; false when it already was.
pub async fn add(db: impl PgExecutor<'_>, hotkey: &str, role: Role) -> sqlx::Result<bool> {
    let result = sqlx::query!(
        r#"insert into hotkeys (hotkey, role) values ($1, $2) on conflict do nothing"#,
        hotkey,
        role.as_str()
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes `hotkey` from `role`, or from every role; returns how many roles were removed.
pub async fn remove(
    db: impl PgExecutor<'_>,
    hotkey: &str,
    role: Option<Role>,
) -> sqlx::Result<u64> {
    let result = sqlx::query!(
        r#"delete from hotkeys where hotkey = $1 and ($2::text is null or role = $2)"#,
        hotkey,
        role.map(Role::as_str)
    )
    .execute(db)
    .await?;
    Ok(result.rows_affected())
}

/// Every registered hotkey and role, oldest first.
pub async fn list(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<RegisteredHotkey>> {
    let rows = sqlx::query!(
        r#"select hotkey, role, added_at from hotkeys order by added_at, hotkey, role"#
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(RegisteredHotkey {
                role: Role::from_db(&r.role)?,
                hotkey: r.hotkey,
                added_at: r.added_at,
            })
        })
        .collect())
}
