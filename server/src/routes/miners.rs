//! `GET /v2/miners/{hotkey}`: what a miner needs to see why it scores as it does.

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use protocol::api::{ErrorBody, MinerReport, ValidationErrorBody};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth;
use crate::config::RouteClass;
use crate::db;
use crate::error::ApiError;

/// Query of `GET /v2/miners/{hotkey}`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ReportQuery {
    /// How many recent submissions to list, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, default = 50)]
    pub limit: Option<i64>,
}

/// How many published window scores a report lists.
const REPORT_WINDOWS: i64 = 20;

/// A miner's submissions, verdicts and window scores.
///
/// Its recent submissions with their selection and validation verdicts (with reason
/// codes), and its published window scores, so a miner can see why it scores as it does.
/// Signed by that miner, or by a validator.
#[utoipa::path(
    get,
    path = "/v2/miners/{hotkey}",
    tag = "miner",
    params(("hotkey" = String, Path, description = "The miner's SS58 address"), ReportQuery),
    security(("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "The miner's report", body = MinerReport),
        (status = 401, description = "Missing or invalid signature", body = ErrorBody),
        (status = 403, description = "Signed by neither this miner nor a validator", body = ErrorBody),
        (status = 422, description = "Not an SS58 address, or invalid `limit`", body = ValidationErrorBody),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn miner_report(
    State(state): State<AppState>,
    headers: HeaderMap,
    hotkey: Result<Path<String>, PathRejection>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<MinerReport>, ApiError> {
    // A path that does not decode (`%00%ff` is not UTF-8) gets the 422 shape like any other
    // bad field, rather than axum's plain-text rejection.
    let Path(hotkey) = hotkey.map_err(|e| {
        ApiError::invalid_field(
            "hotkey",
            format!("must be an SS58 address: {}", e.body_text()),
        )
    })?;
    let signer = auth::require_signature(&state, &headers, b"").await?;
    auth::require_form(&state, &signer, RouteClass::Miners)?;
    protocol::ss58::decode(&hotkey)
        .map_err(|e| ApiError::invalid_field("hotkey", format!("must be an SS58 address: {e}")))?;
    if signer.hotkey != hotkey
        && auth::validator_refusal(&state, &signer.hotkey)
            .await?
            .is_some()
    {
        return Err(ApiError::Forbidden(format!(
            "only {hotkey} itself or a validator may read this report (signed by {})",
            signer.hotkey
        )));
    }
    let Query(query) = query.map_err(|e| ApiError::invalid_field("limit", e.body_text()))?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "must be between 1 and 500",
        ));
    }
    let window = state.window()?;
    let used = db::submissions::quota_used(&state.db, &hotkey, window.current_window).await?;
    let max = state.settings.max_submissions;
    Ok(Json(MinerReport {
        submissions_in_window: used,
        remaining_in_window: max.saturating_sub(used),
        submissions: db::miners::recent_submissions(&state.db, &hotkey, limit).await?,
        window_scores: db::miners::window_scores(&state.db, &hotkey, REPORT_WINDOWS).await?,
        hotkey,
        window,
    }))
}
