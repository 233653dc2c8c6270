//! The miner's counters, which the `--metrics-bind` listener (`service::metrics`) serves
//! at `/metrics`.
//!
//! The counters are the window summaries' counts summed over the life of the process
//! (`scraped`, `skipped` by reason, `accepted`, ...), updated as each post is handled, so a
//! scrape after a window's summary line shows that line's counts added in. Submission
//! attempts and their errors come from the submitter, which retries; the summaries show only
//! what each post became.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;

use crate::report::RejectReason;
use crate::select::SkipReason;

/// Why a post was skipped or refused.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    /// The reason, as the summaries name it (`seen`, `no_subnet`, `conflict`, ...).
    pub reason: String,
}

service::metrics! {
    /// Every metric of a miner process, under the `pulse_miner` prefix; each doc comment is
    /// its help text.
    pub struct Metrics in "pulse_miner" {
        /// Windows whose work finished (one summary line each).
        pub windows: Counter = "windows",
        /// Posts X returned.
        pub scraped: Counter = "posts_scraped",
        /// Posts not submitted, by reason.
        pub skipped: Family<ReasonLabel, Counter> = "posts_skipped",
        /// Posts that passed screening.
        pub eligible: Counter = "posts_eligible",
        /// Posts sent to the server, once each however many attempts it took.
        pub submitted: Counter = "posts_submitted",
        /// Posts the server stored as new.
        pub accepted: Counter = "posts_accepted",
        /// Accepted posts the server sampled for validation.
        pub selected: Counter = "posts_selected",
        /// Posts the server already had with the same data (no quota used).
        pub duplicates: Counter = "posts_duplicate",
        /// Posts the server refused for good, by reason.
        pub rejected: Family<ReasonLabel, Counter> = "posts_rejected",
        /// Windows whose work the server's 429 ended.
        pub rate_limited_windows: Counter = "rate_limited_windows",
        /// Requests to /v2/submit, retries included.
        pub submit_attempts: Counter = "submit_attempts",
        /// Requests to /v2/submit that failed with a network error or a 5xx.
        pub submit_errors: Counter = "submit_errors",
        /// The server's current window, as last synced.
        pub current_window: Gauge = "current_window",
    }
}

impl Metrics {
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
            "# TYPE pulse_miner_build_info gauge",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
    }
}
