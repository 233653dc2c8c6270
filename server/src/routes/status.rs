//! `GET /v2/status`: the server's block and window, and the signer's quota when signed.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use protocol::api::{ErrorBody, StatusResponse};

use crate::AppState;
use crate::auth;
use crate::db;
use crate::error::ApiError;

/// The server's current block and window.
///
/// Public. When the request is signed (either form, over an empty body), the reply also
/// gives the signer's quota use in the current window.
#[utoipa::path(
    get,
    path = "/v2/status",
    tag = "chain",
    security((), ("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "The current block and window (and the signer's quota when signed)",
            body = StatusResponse),
        (status = 401, description = "The request is signed, but the signature is invalid, stale or replayed",
            body = ErrorBody),
        (status = 503, description = "Block source or database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Json<StatusResponse>, ApiError> {
    let window = state.window()?;
    let signer = auth::authenticate(&state, &headers, b"").await?;
    let max = state.settings.max_submissions;
    let (hotkey, used, remaining) = match signer {
        Some(signer) => {
            let used =
                db::submissions::quota_used(&state.db, &signer.hotkey, window.current_window)
                    .await?;
            (
                Some(signer.hotkey),
                Some(used),
                Some(max.saturating_sub(used)),
            )
        }
        None => (None, None, None),
    };
    Ok(Json(StatusResponse {
        status: "ok".into(),
        max_submissions: max,
        block_time_secs: state.settings.block_time_secs,
        hotkey,
        submissions_in_window: used,
        remaining_in_window: remaining,
        window,
    }))
}
