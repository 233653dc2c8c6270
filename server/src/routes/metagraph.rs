//! `GET /v2/metagraph`: the metagraph the server decides roles with.

use axum::Json;
use axum::extract::State;
use protocol::api::{ErrorBody, MetagraphNeuron, MetagraphResponse};

use crate::AppState;
use crate::error::ApiError;
use crate::metagraph::Metagraph;

/// The subnet's metagraph as this server last synced it from the chain.
///
/// Public: the same facts are on chain. With REGISTRATION=metagraph, miners need a UID in
/// it to submit, validators a validator permit and `MIN_VALIDATOR_STAKE` of `stake_rao`.
/// A metagraph older than `METAGRAPH_MAX_AGE_SECS` is still shown, marked `stale`.
#[utoipa::path(
    get,
    path = "/v2/metagraph",
    tag = "chain",
    responses(
        (status = 200, description = "The last synced metagraph", body = MetagraphResponse),
        (status = 404, description = "The server does not read a metagraph (REGISTRATION is not metagraph)", body = ErrorBody),
        (status = 503, description = "Not synced yet; the reason says why", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn metagraph(State(state): State<AppState>) -> Result<Json<MetagraphResponse>, ApiError> {
    let Some(metagraph) = &state.metagraph else {
        return Err(ApiError::NotFound(
            "this server does not read a metagraph (REGISTRATION is not metagraph)".into(),
        ));
    };
    view(metagraph).map(Json).map_err(ApiError::Unavailable)
}

/// The reply of `GET /v2/metagraph` from the in-memory snapshot, or why there is none yet.
/// The status page shows the same view, so the two cannot disagree.
pub fn view(metagraph: &Metagraph) -> Result<MetagraphResponse, String> {
    let fresh = metagraph.fresh();
    let Some(snapshot) = metagraph.snapshot() else {
        return Err(fresh.err().unwrap_or_else(|| "not synced yet".into()));
    };
    Ok(MetagraphResponse {
        netuid: snapshot.netuid,
        block: snapshot.block,
        block_hash: snapshot.block_hash.clone(),
        synced_at: snapshot.synced_at.to_rfc3339(),
        age_secs: snapshot.age().as_secs_f64(),
        stale: fresh.is_err(),
        neurons: snapshot
            .neurons
            .iter()
            .map(|n| MetagraphNeuron {
                uid: n.uid,
                hotkey: n.hotkey.clone(),
                coldkey: n.coldkey.clone(),
                active: n.active,
                validator_permit: n.validator_permit,
                stake_rao: n.stake_rao,
                last_update: n.last_update,
            })
            .collect(),
    })
}
