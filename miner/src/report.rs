//! What the miner prints: one [`WindowReport`] per window and [`Totals`] at exit, as a line
//! of text or of JSON.
//!
//! ```text
//! window 10 [blocks 1000-1099]: quota 5; scraped 14, skipped 2 (no_subnet 2), eligible 12; submitted 5: accepted 5 (selected for validation 1), duplicates 0, rejected 0; 7 eligible left
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::select::SkipReason;
use service::cli::OutputFormat;

/// Why the server refused a post for good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// 409: stored before with other data.
    Conflict,
    /// 422: invalid fields.
    Invalid,
    /// 413: too large.
    TooLarge,
}

impl RejectReason {
    /// The reason's name in summaries.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Conflict => "conflict",
            RejectReason::Invalid => "invalid",
            RejectReason::TooLarge => "too_large",
        }
    }
}

/// Why a window's work ended before its quota was used or its candidates ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// 429: the server says the quota of this window is used.
    RateLimited {
        /// The server's explanation.
        message: String,
        /// Where the quota resets, when the server said.
        next_window_start_block: Option<u64>,
    },
    /// 401: the server refused the signature.
    Unauthorized {
        /// The server's explanation.
        detail: String,
    },
    /// 403: the server refused this hotkey.
    Forbidden {
        /// The server's explanation.
        detail: String,
    },
    /// `/v2/submit` or `/v2/status` failed after every attempt.
    ServerUnavailable {
        /// The last error.
        error: String,
    },
    /// The server answered something the miner has no plan for.
    UnexpectedReply {
        /// The error.
        error: String,
    },
    /// X did not answer (network, 5xx) after every attempt.
    XUnavailable {
        /// The last error.
        error: String,
    },
    /// X refused the request (bad token, bad query) or its rate limit outlasts the window.
    XRefused {
        /// The error.
        error: String,
    },
    /// A receipt said the window's quota is used before this miner used it (another
    /// process with the same hotkey).
    QuotaUsed,
    /// The server moved to another window while this one was worked.
    WindowEnded {
        /// The server's window now.
        current_window: u64,
    },
    /// Ctrl-C or SIGTERM.
    Shutdown,
}

impl StopReason {
    /// Whether the same window is worth trying again at the next block sync: the failure
    /// was transient and the quota is still there.
    pub fn retry_in_window(&self) -> bool {
        matches!(
            self,
            StopReason::ServerUnavailable { .. } | StopReason::XUnavailable { .. }
        )
    }

    /// Whether the work failed (as opposed to ending as the protocol says it should).
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            StopReason::RateLimited { .. }
                | StopReason::QuotaUsed
                | StopReason::WindowEnded { .. }
                | StopReason::Shutdown
        )
    }

    /// A sentence for the summary line.
    pub fn describe(&self) -> String {
        match self {
            StopReason::RateLimited {
                message,
                next_window_start_block,
            } => {
                let next = next_window_start_block
                    .map(|b| format!("; next window at block {b}"))
                    .unwrap_or_default();
                format!("rate limited by the server (429: {message}){next}")
            }
            StopReason::Unauthorized { detail } => format!(
                "the server refused the signature (401: {detail}); check this machine's clock and the hotkey"
            ),
            StopReason::Forbidden { detail } => {
                format!("the server refused this hotkey (403: {detail})")
            }
            StopReason::ServerUnavailable { error } => {
                format!("the coordination server is unavailable: {error}")
            }
            StopReason::UnexpectedReply { error } => {
                format!("unexpected reply from the coordination server: {error}")
            }
            StopReason::XUnavailable { error } => format!("X is unavailable: {error}"),
            StopReason::XRefused { error } => format!("X refused the search: {error}"),
            StopReason::QuotaUsed => {
                "the server reports this window's quota used (another process with this hotkey?)"
                    .to_owned()
            }
            StopReason::WindowEnded { current_window } => {
                format!("the server moved on to window {current_window}")
            }
            StopReason::Shutdown => "shutting down".to_owned(),
        }
    }
}

/// One window's work.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WindowReport {
    /// The window index.
    pub window: u64,
    /// Its first block.
    pub first_block: u64,
    /// Its last block.
    pub last_block: u64,
    /// New posts the miner set out to submit: the server's remaining quota, capped so the
    /// window's total stays within MAX_SUBMISSIONS_PER_WINDOW.
    pub quota: u32,
    /// New posts this hotkey had already stored in the window when the work began.
    pub used_before: u32,
    /// Posts X returned.
    pub scraped: u32,
    /// Posts not submitted, by reason.
    pub skipped: BTreeMap<SkipReason, u32>,
    /// Posts that passed screening.
    pub eligible: u32,
    /// Posts sent to the server.
    pub submitted: u32,
    /// Posts the server stored as new.
    pub accepted: u32,
    /// Of those, how many it sampled for validation.
    pub selected_for_validation: u32,
    /// Posts the server already had with the same data (no quota used).
    pub duplicates: u32,
    /// Posts the server refused for good, by reason.
    pub rejected: BTreeMap<RejectReason, u32>,
    /// Eligible posts not sent because the quota was filled (or the work stopped); later
    /// windows may submit them.
    pub left: u32,
    /// Why the work stopped early, if it did.
    pub stopped: Option<StopReason>,
    /// Times the window's work was started: more than 1 when a transient failure (X or the
    /// server unavailable) made the miner try again; the counts add up over the attempts.
    pub attempts: u32,
}

fn counts<K: Copy>(map: &BTreeMap<K, u32>, name: impl Fn(K) -> &'static str) -> String {
    let total: u32 = map.values().sum();
    if total == 0 {
        return "0".to_owned();
    }
    let parts: Vec<String> = map
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(k, n)| format!("{} {n}", name(*k)))
        .collect();
    format!("{total} ({})", parts.join(", "))
}

impl WindowReport {
    /// An empty report of the window `info` describes.
    pub fn new(info: &protocol::WindowInfo) -> Self {
        Self {
            window: info.current_window,
            first_block: info.window_start_block,
            last_block: info.window_end_block,
            ..Self::default()
        }
    }

    /// Counts a skipped post.
    pub fn skip(&mut self, reason: SkipReason) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Counts a refused post.
    pub fn reject(&mut self, reason: RejectReason) {
        *self.rejected.entry(reason).or_default() += 1;
    }

    /// The summary line.
    pub fn text(&self) -> String {
        let mut line = format!(
            "window {} [blocks {}-{}]: ",
            self.window, self.first_block, self.last_block
        );
        if self.quota == 0 && self.scraped == 0 && self.stopped.is_none() {
            let _ = write!(
                line,
                "quota 0 ({} already used in this window); nothing to do",
                self.used_before
            );
            return line;
        }
        let _ = write!(
            line,
            "quota {}; scraped {}, skipped {}, eligible {}; submitted {}: accepted {} (selected for validation {}), duplicates {}, rejected {}; {} eligible left",
            self.quota,
            self.scraped,
            counts(&self.skipped, SkipReason::as_str),
            self.eligible,
            self.submitted,
            self.accepted,
            self.selected_for_validation,
            self.duplicates,
            counts(&self.rejected, RejectReason::as_str),
            self.left,
        );
        if self.attempts > 1 {
            let _ = write!(line, "; {} attempts", self.attempts);
        }
        if let Some(stop) = &self.stopped {
            let _ = write!(line, "; stopped: {}", stop.describe());
        }
        line
    }
}

/// Sums over every window of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Windows reported.
    pub windows: u32,
    /// Posts X returned.
    pub scraped: u32,
    /// Posts not submitted, by reason.
    pub skipped: BTreeMap<SkipReason, u32>,
    /// Posts sent.
    pub submitted: u32,
    /// Posts stored as new.
    pub accepted: u32,
    /// Of those, sampled for validation.
    pub selected_for_validation: u32,
    /// Duplicates.
    pub duplicates: u32,
    /// Posts refused for good, by reason.
    pub rejected: BTreeMap<RejectReason, u32>,
}

impl Totals {
    /// Adds one window.
    pub fn add(&mut self, report: &WindowReport) {
        self.windows += 1;
        self.scraped += report.scraped;
        for (reason, n) in &report.skipped {
            *self.skipped.entry(*reason).or_default() += n;
        }
        self.submitted += report.submitted;
        self.accepted += report.accepted;
        self.selected_for_validation += report.selected_for_validation;
        self.duplicates += report.duplicates;
        for (reason, n) in &report.rejected {
            *self.rejected.entry(*reason).or_default() += n;
        }
    }

    /// The total line.
    pub fn text(&self) -> String {
        format!(
            "total: {} window{}; scraped {}, skipped {}; submitted {}: accepted {} (selected for validation {}), duplicates {}, rejected {}",
            self.windows,
            if self.windows == 1 { "" } else { "s" },
            self.scraped,
            counts(&self.skipped, SkipReason::as_str),
            self.submitted,
            self.accepted,
            self.selected_for_validation,
            self.duplicates,
            counts(&self.rejected, RejectReason::as_str),
        )
    }
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    Window(&'a WindowReport),
    Total(&'a Totals),
}

/// A window's line in `format`.
pub fn window_line(report: &WindowReport, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => report.text(),
        OutputFormat::Json => {
            serde_json::to_string(&Line::Window(report)).expect("a report serialises")
        }
    }
}

/// The total line in `format`.
pub fn total_line(totals: &Totals, format: OutputFormat) -> String {
    match format {
        OutputFormat::Text => totals.text(),
        OutputFormat::Json => {
            serde_json::to_string(&Line::Total(totals)).expect("totals serialise")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> WindowReport {
        let mut report = WindowReport::new(&protocol::WindowInfo::at(1250, 100));
        report.quota = 5;
        report.scraped = 14;
        report.skip(SkipReason::NoSubnet);
        report.skip(SkipReason::NoSubnet);
        report.skip(SkipReason::Seen);
        report.eligible = 11;
        report.submitted = 6;
        report.accepted = 4;
        report.selected_for_validation = 1;
        report.duplicates = 1;
        report.reject(RejectReason::Conflict);
        report.left = 5;
        report.stopped = Some(StopReason::RateLimited {
            message: "rate limit exceeded".into(),
            next_window_start_block: Some(1300),
        });
        report
    }

    #[test]
    fn the_text_line_names_every_count_and_reason() {
        assert_eq!(
            sample().text(),
            "window 12 [blocks 1200-1299]: quota 5; scraped 14, skipped 3 (seen 1, no_subnet 2), eligible 11; submitted 6: accepted 4 (selected for validation 1), duplicates 1, rejected 1 (conflict 1); 5 eligible left; stopped: rate limited by the server (429: rate limit exceeded); next window at block 1300"
        );
    }

    #[test]
    fn a_window_tried_again_says_how_often() {
        let mut report = sample();
        report.attempts = 2;
        report.stopped = Some(StopReason::QuotaUsed);
        assert!(
            report
                .text()
                .ends_with("5 eligible left; 2 attempts; stopped: the server reports this window's quota used (another process with this hotkey?)"),
            "{}",
            report.text()
        );
        assert!(!StopReason::QuotaUsed.is_failure());
    }

    #[test]
    fn a_window_without_quota_says_so() {
        let mut report = WindowReport::new(&protocol::WindowInfo::at(1250, 100));
        report.used_before = 5;
        assert_eq!(
            report.text(),
            "window 12 [blocks 1200-1299]: quota 0 (5 already used in this window); nothing to do"
        );
    }

    #[test]
    fn the_json_line_is_tagged_and_keyed_by_reason() {
        let json: serde_json::Value =
            serde_json::from_str(&window_line(&sample(), OutputFormat::Json)).unwrap();
        assert_eq!(json["type"], "window");
        assert_eq!(json["skipped"]["no_subnet"], 2);
        assert_eq!(json["rejected"]["conflict"], 1);
        assert_eq!(json["stopped"]["reason"], "rate_limited");
        assert_eq!(json["stopped"]["next_window_start_block"], 1300);
    }

    #[test]
    fn totals_add_up_windows() {
        let mut totals = Totals::default();
        totals.add(&sample());
        totals.add(&sample());
        assert_eq!(totals.accepted, 8);
        assert_eq!(totals.skipped[&SkipReason::NoSubnet], 4);
        assert_eq!(
            totals.text(),
            "total: 2 windows; scraped 28, skipped 6 (seen 2, no_subnet 4); submitted 12: accepted 8 (selected for validation 2), duplicates 2, rejected 2 (conflict 2)"
        );
        let json: serde_json::Value =
            serde_json::from_str(&total_line(&totals, OutputFormat::Json)).unwrap();
        assert_eq!(json["type"], "total");
        assert_eq!(json["windows"], 2);
    }

    #[test]
    fn only_transient_failures_are_retried_in_the_window() {
        assert!(StopReason::XUnavailable { error: "e".into() }.retry_in_window());
        assert!(!StopReason::Shutdown.retry_in_window());
        assert!(!StopReason::Shutdown.is_failure());
        assert!(
            StopReason::Unauthorized {
                detail: "stale".into()
            }
            .is_failure()
        );
    }
}
