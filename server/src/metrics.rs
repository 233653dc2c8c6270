//! Prometheus metrics, served at `/metrics` in OpenMetrics text ([`CONTENT_TYPE`]).
//!
//! Counters and histograms are updated where things happen (request middleware, auth,
//! submissions, leases, verdicts); gauges that describe shared state (queue depth, the
//! database pool, the block) are read when `/metrics` is scraped. Every server process
//! keeps its own numbers: scrape each process.

use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use service::metrics::CONTENT_TYPE;

/// Method, route template and status of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route template (`/v2/miners/{hotkey}`), or `unmatched`.
    pub route: String,
    /// Response status code.
    pub status: u16,
}

/// Method and route template of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// HTTP method.
    pub method: String,
    /// Matched route template.
    pub route: String,
}

/// One label: an outcome or a reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// The outcome.
    pub outcome: String,
}

/// Why authentication was refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason code (`stale`, `bad_signature`, `replay`, `wrong_role`, ...).
    pub reason: String,
}

/// A verdict's outcome and failure code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerdictLabels {
    /// pass, fail or inconclusive.
    pub outcome: String,
    /// The failure code (`none` for a pass).
    pub code: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// Every metric of a server process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Requests by method, route and status.
    pub requests: Family<RequestLabels, Counter>,
    /// Request latency by method and route, in seconds.
    pub latency: HistogramFamily,
    /// Submissions by outcome: new, duplicate, conflict, rate_limited, invalid, forbidden.
    pub submissions: Family<OutcomeLabel, Counter>,
    /// New posts selected for validation.
    pub selections: Counter,
    /// Refused authentications by reason.
    pub auth_failures: Family<ReasonLabel, Counter>,
    /// Task slots leased to validators.
    pub leases: Counter,
    /// Leases that expired unanswered (counted when their slot is leased again).
    pub lease_expiries: Counter,
    /// Verdicts recorded, by outcome and code.
    pub verdicts: Family<VerdictLabels, Counter>,
    /// Window score publications.
    pub publications: Counter,
    /// Task slots waiting for a verdict (read at scrape).
    pub queue_depth: Gauge,
    /// Open database connections (read at scrape).
    pub db_connections: Gauge,
    /// Idle database connections (read at scrape).
    pub db_idle_connections: Gauge,
    /// Largest number of database connections allowed.
    pub db_max_connections: Gauge,
    /// Connections closed at once because the connection cap was reached.
    pub connections_rejected: Counter,
    /// Connections open now.
    pub open_connections: Gauge,
    /// The current block (read at scrape).
    pub current_block: Gauge,
    /// Seconds since the metagraph in use was synced (read at scrape; REGISTRATION=metagraph).
    pub metagraph_sync_age: Gauge<f64, AtomicU64>,
    /// Neurons in the metagraph in use (read at scrape).
    pub metagraph_neurons: Gauge,
    /// The block the metagraph in use was read at (read at scrape).
    pub metagraph_block: Gauge,
    /// Failed sync attempts since the last success, by any process (read at scrape).
    pub metagraph_failures: Gauge,
    /// Sync attempts of this process that failed (node or database).
    pub metagraph_sync_errors: Counter,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms to about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric under the `pulse` prefix, with `pulse_server_build_info`.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("pulse");
        service::metrics::register_build_info(
            &mut registry,
            "server_build_info",
            env!("CARGO_PKG_VERSION"),
        );
        let metrics = Self {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            submissions: Family::default(),
            selections: Counter::default(),
            auth_failures: Family::default(),
            leases: Counter::default(),
            lease_expiries: Counter::default(),
            verdicts: Family::default(),
            publications: Counter::default(),
            queue_depth: Gauge::default(),
            db_connections: Gauge::default(),
            db_idle_connections: Gauge::default(),
            db_max_connections: Gauge::default(),
            current_block: Gauge::default(),
            metagraph_sync_age: Gauge::default(),
            metagraph_neurons: Gauge::default(),
            metagraph_block: Gauge::default(),
            metagraph_failures: Gauge::default(),
            metagraph_sync_errors: Counter::default(),
            connections_rejected: Counter::default(),
            open_connections: Gauge::default(),
            registry: Registry::default(),
        };
        registry.register(
            "http_requests",
            "HTTP requests by method, route and status",
            metrics.requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by method and route",
            metrics.latency.clone(),
        );
        registry.register(
            "submissions",
            "Submissions by outcome",
            metrics.submissions.clone(),
        );
        registry.register(
            "validation_selections",
            "New posts selected for validation",
            metrics.selections.clone(),
        );
        registry.register(
            "auth_failures",
            "Refused authentications by reason",
            metrics.auth_failures.clone(),
        );
        registry.register(
            "validation_leases",
            "Task slots leased to validators",
            metrics.leases.clone(),
        );
        registry.register(
            "validation_lease_expiries",
            "Leases that expired unanswered (counted when leased again)",
            metrics.lease_expiries.clone(),
        );
        registry.register(
            "validation_verdicts",
            "Verdicts recorded by outcome and code",
            metrics.verdicts.clone(),
        );
        registry.register(
            "score_publications",
            "Window score publications",
            metrics.publications.clone(),
        );
        registry.register(
            "validation_queue_depth",
            "Task slots waiting for a verdict",
            metrics.queue_depth.clone(),
        );
        registry.register(
            "db_connections",
            "Open database connections",
            metrics.db_connections.clone(),
        );
        registry.register(
            "db_idle_connections",
            "Idle database connections",
            metrics.db_idle_connections.clone(),
        );
        registry.register(
            "db_max_connections",
            "Database connections allowed",
            metrics.db_max_connections.clone(),
        );
        registry.register(
            "current_block",
            "The server's current block",
            metrics.current_block.clone(),
        );
        registry.register(
            "connections_rejected",
            "Connections closed at once because the connection cap was reached",
            metrics.connections_rejected.clone(),
        );
        registry.register(
            "open_connections",
            "Connections open now",
            metrics.open_connections.clone(),
        );
        registry.register(
            "metagraph_sync_age_seconds",
            "Seconds since the metagraph in use was synced from the chain",
            metrics.metagraph_sync_age.clone(),
        );
        registry.register(
            "metagraph_neurons",
            "Neurons in the metagraph in use",
            metrics.metagraph_neurons.clone(),
        );
        registry.register(
            "metagraph_block",
            "Block the metagraph in use was read at",
            metrics.metagraph_block.clone(),
        );
        registry.register(
            "metagraph_sync_failures",
            "Failed metagraph sync attempts since the last success, by any server process",
            metrics.metagraph_failures.clone(),
        );
        registry.register(
            "metagraph_sync_errors",
            "Metagraph sync attempts of this process that failed",
            metrics.metagraph_sync_errors.clone(),
        );
        Self {
            registry,
            ..metrics
        }
    }

    /// Counts one request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, latency: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.into(),
                route: route.into(),
            })
            .observe(latency.as_secs_f64());
    }

    /// Counts one submission outcome.
    pub fn submission(&self, outcome: &str) {
        self.submissions
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts one refused authentication.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }

    /// Counts one recorded verdict.
    pub fn verdict(&self, outcome: &str, code: Option<&str>) {
        self.verdicts
            .get_or_create(&VerdictLabels {
                outcome: outcome.into(),
                code: code.unwrap_or("none").into(),
            })
            .inc();
    }

    /// The registry in OpenMetrics text.
    pub fn render(&self) -> String {
        service::metrics::encode(&self.registry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_text_has_the_prefixed_metrics_and_their_labels() {
        let metrics = Metrics::new();
        metrics.observe_request("POST", "/v2/submit", 429, Duration::from_millis(3));
        metrics.submission("rate_limited");
        metrics.auth_failure("stale");
        metrics.verdict("fail", Some("text_mismatch"));
        let text = metrics.render();
        for needle in [
            r#"pulse_http_requests_total{method="POST",route="/v2/submit",status="429"} 1"#,
            r#"pulse_http_request_duration_seconds_bucket{le="0.004",method="POST",route="/v2/submit"} 1"#,
            r#"pulse_submissions_total{outcome="rate_limited"} 1"#,
            r#"pulse_auth_failures_total{reason="stale"} 1"#,
            r#"pulse_validation_verdicts_total{outcome="fail",code="text_mismatch"} 1"#,
            "# TYPE pulse_validation_queue_depth gauge",
            "# TYPE pulse_server_build_info gauge",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
