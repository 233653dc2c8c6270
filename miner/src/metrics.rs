//! The miner's counters in Prometheus text format, and the `--metrics-bind` listener that
//! serves them at `/metrics`.
//!
//! The counters are the window summaries' counts summed over the life of the process
//! (`scraped`, `skipped` by reason, `accepted`, ...), updated as each post is handled, so a
//! scrape after a window's summary line shows that line's counts added in. Submission
//! attempts and their errors come from the submitter, which retries; the summaries show only
//! what each post became.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::report::RejectReason;
use crate::select::SkipReason;

/// Why a post was skipped or refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason, as the summaries name it (`seen`, `no_subnet`, `conflict`, ...).
    pub reason: String,
}

/// Every metric of a miner process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Windows whose work finished (one summary line each).
    pub windows: Counter,
    /// Posts X returned.
    pub scraped: Counter,
    /// Posts not submitted, by reason.
    pub skipped: Family<ReasonLabel, Counter>,
    /// Posts that passed screening.
    pub eligible: Counter,
    /// Posts sent to the server (once each, however many attempts it took).
    pub submitted: Counter,
    /// Posts the server stored as new.
    pub accepted: Counter,
    /// Of those, posts it sampled for validation.
    pub selected: Counter,
    /// Posts the server already had with the same data.
    pub duplicates: Counter,
    /// Posts the server refused for good, by reason.
    pub rejected: Family<ReasonLabel, Counter>,
    /// Windows whose work the server's 429 ended.
    pub rate_limited_windows: Counter,
    /// Requests to `/v2/submit`, retries included.
    pub submit_attempts: Counter,
    /// Of those, requests that failed with a network error or a 5xx.
    pub submit_errors: Counter,
    /// The server's current window, as last synced.
    pub current_window: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `pulse_miner` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pulse_miner");
        let metrics = Self {
            windows: Counter::default(),
            scraped: Counter::default(),
            skipped: Family::default(),
            eligible: Counter::default(),
            submitted: Counter::default(),
            accepted: Counter::default(),
            selected: Counter::default(),
            duplicates: Counter::default(),
            rejected: Family::default(),
            rate_limited_windows: Counter::default(),
            submit_attempts: Counter::default(),
            submit_errors: Counter::default(),
            current_window: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "windows",
            "Windows whose work finished (one summary line each)",
            metrics.windows.clone(),
        );
        registry.register("posts_scraped", "Posts X returned", metrics.scraped.clone());
        registry.register(
            "posts_skipped",
            "Posts not submitted, by reason",
            metrics.skipped.clone(),
        );
        registry.register(
            "posts_eligible",
            "Posts that passed screening",
            metrics.eligible.clone(),
        );
        registry.register(
            "posts_submitted",
            "Posts sent to the server, once each however many attempts it took",
            metrics.submitted.clone(),
        );
        registry.register(
            "posts_accepted",
            "Posts the server stored as new",
            metrics.accepted.clone(),
        );
        registry.register(
            "posts_selected",
            "Accepted posts the server sampled for validation",
            metrics.selected.clone(),
        );
        registry.register(
            "posts_duplicate",
            "Posts the server already had with the same data (no quota used)",
            metrics.duplicates.clone(),
        );
        registry.register(
            "posts_rejected",
            "Posts the server refused for good, by reason",
            metrics.rejected.clone(),
        );
        registry.register(
            "rate_limited_windows",
            "Windows whose work the server's 429 ended",
            metrics.rate_limited_windows.clone(),
        );
        registry.register(
            "submit_attempts",
            "Requests to /v2/submit, retries included",
            metrics.submit_attempts.clone(),
        );
        registry.register(
            "submit_errors",
            "Requests to /v2/submit that failed with a network error or a 5xx",
            metrics.submit_errors.clone(),
        );
        registry.register(
            "current_window",
            "The server's current window, as last synced",
            metrics.current_window.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// Counts a skipped post.
    pub fn skip(&self, reason: SkipReason) {
        self.skipped
            .get_or_create(&ReasonLabel {
                reason: reason.as_str().to_owned(),
            })
            .inc();
    }

    /// Counts a refused post.
    pub fn reject(&self, reason: RejectReason) {
        self.rejected
            .get_or_create(&ReasonLabel {
                reason: reason.as_str().to_owned(),
            })
            .inc();
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// The listener's routes: `GET /metrics`.
pub fn router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(metrics)
}

async fn render(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
}

/// Serves `/metrics` on `listener` until the task is dropped (the process ends).
pub async fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> std::io::Result<()> {
    axum::serve(listener, router(metrics)).await
}

/// Binds `address`, logs where the metrics are, and serves them in the background for as
/// long as the runtime runs. Returns the bound address (port 0 picks a free one).
///
/// The log line `pulse-miner metrics listening on http://ADDR/metrics` is what supervisors
/// (such as `pulse-devnet`) wait for.
pub async fn spawn_listener(
    address: SocketAddr,
    metrics: Arc<Metrics>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("pulse-miner metrics listening on http://{bound}/metrics");
    tokio::spawn(async move {
        if let Err(error) = serve(listener, metrics).await {
            // Mining goes on without metrics; the operator learns why they stopped.
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_text_has_the_prefixed_counters_and_their_reasons() {
        let metrics = Metrics::new();
        metrics.scraped.inc_by(14);
        metrics.skip(SkipReason::NoSubnet);
        metrics.skip(SkipReason::NoSubnet);
        metrics.reject(RejectReason::Conflict);
        metrics.current_window.set(12);
        let text = metrics.render();
        for needle in [
            "pulse_miner_posts_scraped_total 14",
            r#"pulse_miner_posts_skipped_total{reason="no_subnet"} 2"#,
            r#"pulse_miner_posts_rejected_total{reason="conflict"} 1"#,
            "pulse_miner_rate_limited_windows_total 0",
            "pulse_miner_current_window 12",
            "# TYPE pulse_miner_submit_attempts counter",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
