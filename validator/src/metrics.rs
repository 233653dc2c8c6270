//! The validator's counters, which the `--metrics-bind` listener (`service::metrics`) serves
//! at `/metrics`.
//!
//! The counters are the pass summaries' counts summed over the life of the process (leased,
//! verdicts by outcome and code, sent by the server's answer, ...), updated as each task is
//! handled; the pending gauge is the outbox as last counted. X lookups count requests to X
//! (retries included) rather than posts, which the summaries do not show.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use protocol::api::{ItemStatus, VerdictOutcome};

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

/// A weights extrinsic and what came of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ExtrinsicLabels {
    /// The call (`set_mechanism_weights`, `commit_mechanism_weights`, ...).
    pub call: String,
    /// `submitted`, `included`, or the dispatch error's or pool refusal's name
    /// (`SettingWeightsTooFast`, `IncorrectWeightVersionKey`, ...), `transport` or
    /// `not_included`.
    pub outcome: String,
}

/// Why a request to X failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    /// The lookup error's code: `transport`, `rate_limited`, `status` or `unreadable`.
    pub kind: String,
}

service::metrics! {
    /// Every metric of a validator process, under the `pulse_validator` prefix; each doc
    /// comment is its help text.
    pub struct Metrics in "pulse_validator" {
        /// Passes over the queue with something in them (one summary line each).
        pub passes: Counter = "passes",
        /// Tasks leased.
        pub leased: Counter = "tasks_leased",
        /// Verdicts written, by outcome and code.
        pub verdicts: Family<VerdictLabels, Counter> = "verdicts",
        /// Leased tasks left unjudged at shutdown (they return to the queue when the lease
        /// ends).
        pub abandoned: Counter = "tasks_abandoned",
        /// Verdicts found on disk from an earlier run and sent again.
        pub resent: Counter = "verdicts_resent",
        /// Verdicts the server answered for, by its answer.
        pub sent: Family<StatusLabel, Counter> = "verdicts_sent",
        /// Verdicts waiting on disk for the server's acknowledgement.
        pub pending: Gauge = "pending_verdicts",
        /// Lookup requests to X, retries included.
        pub x_lookups: Counter = "x_lookups",
        /// Lookup requests to X that failed, by kind.
        pub x_lookup_errors: Family<KindLabel, Counter> = "x_lookup_errors",
        /// Windows whose scores were applied to the moving averages.
        pub windows_applied: Counter = "windows_applied",
        /// Weight vectors computed (one `weights` line each; set unless all zero).
        pub weights_updates: Counter = "weights_updates",
        /// The server's current window, as last read.
        pub current_window: Gauge = "current_window",
        /// Weights extrinsics by call and outcome: each one `submitted`, then `included` or
        /// failed by the dispatch error's name (or the pool's refusal, `transport`,
        /// `not_included`).
        pub weights_extrinsics: Family<ExtrinsicLabels, Counter> = "weights_extrinsics",
        /// Weight vectors set on chain (a set, or a revealed commit).
        pub weights_on_chain: Counter = "weights_set_on_chain",
        /// Weight vectors committed on chain (hash or timelocked).
        pub weights_committed: Counter = "weights_committed",
    }
}

impl Metrics {
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

    /// Counts a failed lookup request by its error's code (`LookupError::code`).
    pub fn x_lookup_error(&self, code: &str) {
        self.x_lookup_errors
            .get_or_create(&KindLabel {
                kind: code.to_owned(),
            })
            .inc();
    }

    /// Counts a weights extrinsic's step: `outcome` is `submitted`, `included` or why it
    /// failed. `_what` is Pulse's name for the step (set, commit, reveal).
    pub fn weights_extrinsic(&self, _what: &str, call: &str, outcome: &str) {
        self.weights_extrinsics
            .get_or_create(&ExtrinsicLabels {
                call: call.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Sets the pending gauge.
    pub fn set_pending(&self, pending: usize) {
        self.pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
    }
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
        metrics.x_lookup_error("rate_limited");
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
            "# TYPE pulse_validator_build_info gauge",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
