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
    /// The window to score (default: the most recent final window). It must be final.
    pub window: Option<u64>,
}

/// Miners' scores of a final window.
///
/// A miner's window score is the mean of the server's own score of each of its posts
/// accepted in the window (hotkeys that submit a post in the same window share its score;
/// a post another hotkey submitted in an earlier window scores 0), multiplied by
/// `FAILED_VALIDATION_FACTOR` (0.1) when a validation failure counts in the window, and by
/// its credibility: a failure counted `k` windows earlier multiplies the score by
/// `k / 12` until `k` reaches 12. A window is final once every post sampled in it has a
/// decided verdict, or `SCORES_GRACE_BLOCKS` after its last block at the latest; a failure
/// counts in its post's window when decided by then, otherwise in the window in which it
/// is decided. Scores are stored when first asked for once final and never change.
/// Without `window`, the most recent final window: the previous one, or the one before it
/// while the previous one waits for verdicts.
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
        (status = 404, description = "No window is final yet", body = ErrorBody),
        (status = 422, description = "The window has not closed or is not final yet, or `window` is not a number", body = ValidationErrorBody),
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
    let rules = state.settings.scoring_rules();
    let grace = state.settings.scores_grace_blocks;
    let (window, publication) = match query.window {
        Some(w) if w >= now.current_window => {
            return Err(invalid(format!(
                "window {w} has not closed yet (the current window is {})",
                now.current_window
            )));
        }
        Some(w) => match scores::publish_or_get(&state.db, w, &now, &rules, grace).await? {
            Ok(publication) => (w, publication),
            Err(pending) => {
                return Err(invalid(format!(
                    "window {w} is not final yet: {} sampled posts await a verdict; it is final once they are decided, or at block {} at the latest",
                    pending.undecided, pending.final_by_block
                )));
            }
        },
        None => {
            // The previous window, or while it waits for verdicts the one before it, which
            // is final: its grace ended by the time the previous window closed.
            let mut found = None;
            for w in (now.current_window.saturating_sub(2)..now.current_window).rev() {
                if let Ok(publication) =
                    scores::publish_or_get(&state.db, w, &now, &rules, grace).await?
                {
                    found = Some((w, publication));
                    break;
                }
            }
            found.ok_or_else(|| ApiError::NotFound("no window is final yet".into()))?
        }
    };
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
