//! Liveness and readiness probes.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use protocol::api::HealthResponse;

use crate::AppState;

/// How long readiness waits for the database before answering "unavailable".
const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// The process is up.
#[utoipa::path(
    get,
    path = "/health",
    tag = "operations",
    responses((status = 200, description = "The process is serving requests", body = HealthResponse))
)]
pub async fn health() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
        detail: None,
    })
}

/// The server can do its work: the database answers, the block is known and, with
/// REGISTRATION=metagraph, the metagraph is younger than METAGRAPH_MAX_AGE_SECS.
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses(
        (status = 200, description = "Database reachable, block known, metagraph (if used) fresh", body = HealthResponse),
        (status = 503, description = "Not ready, with the reason", body = HealthResponse)
    )
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<HealthResponse>) {
    let unavailable = |detail: String| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(HealthResponse {
                status: "unavailable".into(),
                detail: Some(detail),
            }),
        )
    };
    match tokio::time::timeout(READY_TIMEOUT, sqlx::query("select 1").execute(&state.db)).await {
        Err(_) => return unavailable("database did not answer within 2 s".into()),
        Ok(Err(error)) => return unavailable(format!("database unreachable: {error}")),
        Ok(Ok(_)) => {}
    }
    if let Err(error) = state.blocks.current_block() {
        return unavailable(error.to_string());
    }
    if let Some(metagraph) = &state.metagraph
        && let Err(reason) = metagraph.fresh()
    {
        return unavailable(reason);
    }
    (
        StatusCode::OK,
        Json(HealthResponse {
            status: "ok".into(),
            detail: None,
        }),
    )
}
