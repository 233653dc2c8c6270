//! The validator's counters in Prometheus text format, and the `--metrics-bind` listener
//! that serves them at `/metrics`.
//!
//! The counters are the pass summaries' counts summed over the life of the process (leased,
//! verdicts by outcome and code, sent by the server's answer, ...), updated as each task is
//! handled; the pending gauge is the outbox as last counted. X lookups count requests to X
//! (retries included) rather than posts, which the summaries do not show.

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
use protocol::api::{ItemStatus, VerdictOutcome};
use tokio::net::TcpListener;

use crate::lookup::LookupError;

/// A verdict's outcome and code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// `pass`, `fail` or `inconclusive`.
    pub outcome: String,
    /// The reason code (`none` for a pass), as in the summaries.
    pub code: String,
}

/// What the server said about a verdict sent.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    /// `recorded`, `duplicate` or `rejected`.
    pub status: String,
}

/// Why a request to X failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// `transport`, `rate_limited`, `status` or `unreadable`.
    pub kind: String,
}

/// Every metric of a validator process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Passes with something in them (one summary line each).
    pub passes: Counter,
    /// Tasks leased.
    pub leased: Counter,
    /// Verdicts written, by outcome and code.
    pub verdicts: Family<VerdictLabels, Counter>,
    /// Leased tasks left unjudged at shutdown.
    pub abandoned: Counter,
    /// Verdicts found on disk from an earlier run and sent again.
    pub resent: Counter,
    /// Verdicts the server answered for, by its answer.
    pub sent: Family<StatusLabel, Counter>,
    /// Verdicts waiting on disk for the server's acknowledgement.
    pub pending: Gauge,
    /// Lookup requests to X, retries included.
    pub x_lookups: Counter,
    /// Lookup requests to X that failed, by kind.
    pub x_lookup_errors: Family<KindLabel, Counter>,
    /// Windows whose scores were applied to the moving averages.
    pub windows_applied: Counter,
    /// Weight vectors computed (one `weights` line each; handed to the weight setter unless
    /// all zero).
    pub weights_updates: Counter,
    /// The server's current window, as last read.
    pub current_window: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `pulse_validator` prefix.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pulse_validator");
        let metrics = Self {
            passes: Counter::default(),
            leased: Counter::default(),
            verdicts: Family::default(),
            abandoned: Counter::default(),
            resent: Counter::default(),
            sent: Family::default(),
            pending: Gauge::default(),
            x_lookups: Counter::default(),
            x_lookup_errors: Family::default(),
            windows_applied: Counter::default(),
            weights_updates: Counter::default(),
            current_window: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "passes",
            "Passes over the queue with something in them (one summary line each)",
            metrics.passes.clone(),
        );
        registry.register("tasks_leased", "Tasks leased", metrics.leased.clone());
        registry.register(
            "verdicts",
            "Verdicts written, by outcome and code",
            metrics.verdicts.clone(),
        );
        registry.register(
            "tasks_abandoned",
            "Leased tasks left unjudged at shutdown (they return to the queue when the lease ends)",
            metrics.abandoned.clone(),
        );
        registry.register(
            "verdicts_resent",
            "Verdicts found on disk from an earlier run and sent again",
            metrics.resent.clone(),
        );
        registry.register(
            "verdicts_sent",
            "Verdicts the server answered for, by its answer",
            metrics.sent.clone(),
        );
        registry.register(
            "pending_verdicts",
            "Verdicts waiting on disk for the server's acknowledgement",
            metrics.pending.clone(),
        );
        registry.register(
            "x_lookups",
            "Lookup requests to X, retries included",
            metrics.x_lookups.clone(),
        );
        registry.register(
            "x_lookup_errors",
            "Lookup requests to X that failed, by kind",
            metrics.x_lookup_errors.clone(),
        );
        registry.register(
            "windows_applied",
            "Windows whose scores were applied to the moving averages",
            metrics.windows_applied.clone(),
        );
        registry.register(
            "weights_updates",
            "Weight vectors computed (set unless all zero)",
            metrics.weights_updates.clone(),
        );
        registry.register(
            "current_window",
            "The server's current window, as last read",
            metrics.current_window.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// Counts a verdict; `code` is the reason code of a fail or an inconclusive verdict.
    pub fn verdict(&self, outcome: VerdictOutcome, code: Option<&str>) {
        let (outcome, code) = match outcome {
            VerdictOutcome::Pass => ("pass", "none"),
            // The summaries name a verdict without a code the same way.
            VerdictOutcome::Fail => ("fail", code.unwrap_or("unknown_error")),
            VerdictOutcome::Inconclusive => ("inconclusive", code.unwrap_or("unknown_error")),
        };
        self.verdicts
            .get_or_create(&VerdictLabels {
                outcome: outcome.to_owned(),
                code: code.to_owned(),
            })
            .inc();
    }

    /// Counts a verdict the server answered for.
    pub fn sent(&self, status: ItemStatus) {
        let status = match status {
            ItemStatus::Recorded => "recorded",
            ItemStatus::Duplicate => "duplicate",
            ItemStatus::Rejected => "rejected",
        };
        self.sent
            .get_or_create(&StatusLabel {
                status: status.to_owned(),
            })
            .inc();
    }

    /// Counts a failed lookup request.
    pub fn x_lookup_error(&self, error: &LookupError) {
        let kind = match error {
            LookupError::Transport(_) => "transport",
            LookupError::RateLimited { .. } => "rate_limited",
            LookupError::Status { .. } => "status",
            LookupError::Unreadable(_) => "unreadable",
        };
        self.x_lookup_errors
            .get_or_create(&KindLabel {
                kind: kind.to_owned(),
            })
            .inc();
    }

    /// Sets the pending gauge.
    pub fn set_pending(&self, pending: usize) {
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
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
/// The log line `pulse-validator metrics listening on http://ADDR/metrics` is what
/// supervisors (such as `pulse-devnet`) wait for.
pub async fn spawn_listener(
    address: SocketAddr,
    metrics: Arc<Metrics>,
) -> anyhow::Result<SocketAddr> {
    let listener = TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen for metrics on {address}"))?;
    let bound = listener.local_addr()?;
    tracing::info!("pulse-validator metrics listening on http://{bound}/metrics");
    tokio::spawn(async move {
        if let Err(error) = serve(listener, metrics).await {
            // Validation goes on without metrics; the operator learns why they stopped.
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_text_has_the_prefixed_counters_and_their_labels() {
        let metrics = Metrics::new();
        metrics.leased.inc_by(4);
        metrics.verdict(VerdictOutcome::Pass, None);
        metrics.verdict(VerdictOutcome::Fail, Some("text_mismatch"));
        metrics.sent(ItemStatus::Duplicate);
        metrics.x_lookup_error(&LookupError::RateLimited { reset_unix: None });
        metrics.set_pending(3);
        let text = metrics.render();
        for needle in [
            "pulse_validator_tasks_leased_total 4",
            r#"pulse_validator_verdicts_total{outcome="pass",code="none"} 1"#,
            r#"pulse_validator_verdicts_total{outcome="fail",code="text_mismatch"} 1"#,
            r#"pulse_validator_verdicts_sent_total{status="duplicate"} 1"#,
            r#"pulse_validator_x_lookup_errors_total{kind="rate_limited"} 1"#,
            "pulse_validator_pending_verdicts 3",
            "# TYPE pulse_validator_weights_updates counter",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
