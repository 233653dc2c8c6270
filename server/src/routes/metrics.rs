//! `GET /metrics`: OpenMetrics text.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::AppState;

/// Prometheus metrics of this server process.
///
/// Requests by route and status, latency histograms, submissions by outcome, selections,
/// leases and lease expiries, verdicts by outcome and code, authentication failures by
/// reason, and at scrape time: validation queue depth, database pool use, current block,
/// and with REGISTRATION=metagraph the metagraph's sync age, neurons, block and failures.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "OpenMetrics text exposition format", content_type = "application/openmetrics-text", body = String))
)]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let m = &state.metrics;
    // The gauges describe shared state; a database that does not answer leaves the last
    // value rather than failing the scrape.
    if let Ok(Ok(depth)) = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        sqlx::query_scalar!(
            r#"select count(*) as "depth!" from validation_slots where answered_by is null"#
        )
        .fetch_one(&state.db),
    )
    .await
    {
        m.queue_depth.set(depth);
    }
    // Both sets of connections: the shared pool and the submit lane.
    let lane = state.submit_db.status();
    m.db_connections
        .set(i64::from(state.db.size()) + lane.size as i64);
    m.db_idle_connections
        .set(state.db.num_idle() as i64 + lane.idle as i64);
    m.db_max_connections
        .set(i64::from(state.db.options().get_max_connections()) + lane.max_size as i64);
    if let Ok(block) = state.blocks.current_block() {
        m.current_block.set(block as i64);
    }
    if let Some(metagraph) = &state.metagraph {
        metagraph.observe(m);
    }
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        m.render(),
    )
}
