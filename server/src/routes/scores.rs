//! `GET /v2/scores`: miners' scores of a completed window.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use protocol::api::{ErrorBody, ScoresResponse, ValidationErrorBody};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::AppState;
use crate::auth;
use crate::config::RouteClass;
use crate::db::scores;
use crate::error::ApiError;

/// Query of `GET /v2/scores`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ScoresQuery {
    /// The window to score (default: the previous, most recently completed window). It
    /// must have closed.
    pub window: Option<u64>,
}

/// Miners' scores of a completed window.
///
/// A miner's window score is the mean of the server's own score of each of its posts
/// accepted in the window, multiplied by `FAILED_VALIDATION_FACTOR` (0.1) when a
/// validation failure counts in the window. A failure counts in its post's window when it
/// is decided before that window's scores are first published, otherwise in the window in
/// which it is decided. Inconclusive verdicts never count. Scores are computed when a
/// window is first asked for after it closed, stored, and never change afterwards.
#[utoipa::path(
    get,
    path = "/v2/scores",
    tag = "validator",
    params(ScoresQuery),
    security(("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "The window's scores", body = ScoresResponse),
        (status = 401, description = "Missing or invalid signature", body = ErrorBody),
        (status = 403, description = "The signer is not a registered validator", body = ErrorBody),
        (status = 404, description = "No window has completed yet", body = ErrorBody),
        (status = 422, description = "The window has not closed, or `window` is not a number", body = ValidationErrorBody),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn window_scores(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ScoresQuery>, QueryRejection>,
) -> Result<Json<ScoresResponse>, ApiError> {
    let signer = auth::require_signature(&state, &headers, b"").await?;
    auth::require_form(&state, &signer, RouteClass::Validators)?;
    auth::require_validator(&state, &signer.hotkey).await?;
    let invalid = |message: String| ApiError::invalid_field("window", message);
    let Query(query) = query.map_err(|e| invalid(e.body_text()))?;
    let now = state.window()?;
    let window = match query.window {
        Some(w) if w >= now.current_window => {
            return Err(invalid(format!(
                "window {w} has not closed yet (the current window is {})",
                now.current_window
            )));
        }
        Some(w) => w,
        None if now.current_window == 0 => {
            return Err(ApiError::NotFound("no window has completed yet".into()));
        }
        None => now.current_window - 1,
    };
    let publication = scores::publish_or_get(
        &state.db,
        window,
        now.current_block,
        state.settings.failed_validation_factor,
    )
    .await?;
    if publication.newly_published {
        state.metrics.publications.inc();
    }
    let bpw = now.blocks_per_window;
    Ok(Json(ScoresResponse {
        scores: publication
            .scores
            .into_iter()
            .map(|s| (s.miner_hotkey, s.score))
            .collect(),
        block_window_start: window * bpw,
        block_window_end: window * bpw + bpw - 1,
        window,
        current_block: now.current_block,
        blocks_per_window: bpw,
        published_block: publication.published_block,
    }))
}
