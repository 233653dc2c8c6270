//! Counting replies while a run lasts, and the report made of them (text and JSON).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::check::CheckReport;
use crate::plan::{FailureKind, Outcome, Settled};

/// Error messages kept as examples.
const EXAMPLES: usize = 10;

/// A latency histogram in microseconds (the burst's too).
pub(crate) fn histogram() -> Histogram<u64> {
    // Microseconds from 1 µs to 10 minutes at 3 significant digits: every reply fits,
    // and recording never fails.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

/// One worker's counts; merged into the report at the end.
#[derive(Debug, Clone)]
pub struct Recorder {
    latency: BTreeMap<Outcome, Histogram<u64>>,
    failures: BTreeMap<FailureKind, u64>,
    statuses: BTreeMap<u16, u64>,
    examples: Vec<String>,
    /// Requests answered during the warm-up.
    pub warmup: u64,
    /// Requests measured.
    pub measured: u64,
    /// Times a worker found nothing to send and waited.
    pub waits: u64,
    /// Time workers spent waiting so.
    pub waited: Duration,
    /// When the last measured request was answered.
    pub last_measured: Option<Instant>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            latency: BTreeMap::new(),
            failures: BTreeMap::new(),
            statuses: BTreeMap::new(),
            examples: Vec::new(),
            warmup: 0,
            measured: 0,
            waits: 0,
            waited: Duration::ZERO,
            last_measured: None,
        }
    }
}

impl Recorder {
    /// Counts one reply; `latency` only when it is measured (after the warm-up).
    pub fn record(&mut self, settled: &Settled, latency: Option<Duration>, done: Instant) {
        match latency {
            Some(latency) => {
                self.measured += 1;
                self.last_measured = Some(self.last_measured.map_or(done, |t| t.max(done)));
                let micros = (latency.as_micros() as u64).clamp(1, 600_000_000);
                self.latency
                    .entry(settled.outcome)
                    .or_insert_with(histogram)
                    .record(micros)
                    .expect("clamped into the histogram's range");
            }
            None => self.warmup += 1,
        }
        if let Some(failure) = &settled.failure {
            *self.failures.entry(failure.kind).or_default() += 1;
            if let Some(status) = settled.status {
                *self.statuses.entry(status).or_default() += 1;
            }
            if self.examples.len() < EXAMPLES {
                self.examples
                    .push(format!("{}: {}", failure.kind.as_str(), failure.message));
            }
        }
    }

    /// Errors counted so far.
    pub fn errors(&self) -> u64 {
        self.failures.values().sum()
    }

    /// Adds `other`'s counts to these.
    pub fn merge(&mut self, other: Recorder) {
        for (outcome, histogram) in other.latency {
            self.latency
                .entry(outcome)
                .or_insert_with(self::histogram)
                .add(histogram)
                .expect("histograms of equal bounds");
        }
        for (kind, n) in other.failures {
            *self.failures.entry(kind).or_default() += n;
        }
        for (status, n) in other.statuses {
            *self.statuses.entry(status).or_default() += n;
        }
        let room = EXAMPLES.saturating_sub(self.examples.len());
        self.examples.extend(other.examples.into_iter().take(room));
        self.warmup += other.warmup;
        self.measured += other.measured;
        self.waits += other.waits;
        self.waited += other.waited;
        self.last_measured = match (self.last_measured, other.last_measured) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Per-outcome counts, rates and latencies over `elapsed`.
    pub fn outcomes(&self, elapsed: Duration) -> BTreeMap<String, OutcomeReport> {
        let secs = elapsed.as_secs_f64().max(1e-9);
        Outcome::ALL
            .iter()
            .filter_map(|outcome| {
                let h = self.latency.get(outcome)?;
                let ms = |micros: u64| micros as f64 / 1e3;
                Some((
                    outcome.as_str().to_string(),
                    OutcomeReport {
                        count: h.len(),
                        per_sec: h.len() as f64 / secs,
                        latency_ms: Latency {
                            p50: ms(h.value_at_quantile(0.50)),
                            p90: ms(h.value_at_quantile(0.90)),
                            p99: ms(h.value_at_quantile(0.99)),
                            max: ms(h.max()),
                            mean: h.mean() / 1e3,
                        },
                    },
                ))
            })
            .collect()
    }

    /// All measured requests as one latency distribution.
    pub fn overall(&self) -> Option<Latency> {
        let mut all = histogram();
        for h in self.latency.values() {
            all.add(h).expect("histograms of equal bounds");
        }
        (!all.is_empty()).then(|| Latency {
            p50: all.value_at_quantile(0.50) as f64 / 1e3,
            p90: all.value_at_quantile(0.90) as f64 / 1e3,
            p99: all.value_at_quantile(0.99) as f64 / 1e3,
            max: all.max() as f64 / 1e3,
            mean: all.mean() / 1e3,
        })
    }

    /// The error counts.
    pub fn error_report(&self) -> ErrorReport {
        let get = |kind| self.failures.get(&kind).copied().unwrap_or(0);
        ErrorReport {
            total: self.errors(),
            transport: get(FailureKind::Transport),
            server_error: get(FailureKind::ServerError),
            unexpected_status: get(FailureKind::UnexpectedStatus),
            wrong_body: get(FailureKind::WrongBody),
            statuses: self
                .statuses
                .iter()
                .map(|(s, n)| (s.to_string(), *n))
                .collect(),
            examples: self.examples.clone(),
        }
    }
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

/// One outcome's share of the measured requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutcomeReport {
    /// Replies.
    pub count: u64,
    /// Replies per second of the measured time.
    pub per_sec: f64,
    /// Their latency.
    pub latency_ms: Latency,
}

/// Replies that were not what the model expected, over the whole run (warm-up included).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorReport {
    /// All errors.
    pub total: u64,
    /// No HTTP reply (refused, reset, timed out).
    pub transport: u64,
    /// 5xx replies.
    pub server_error: u64,
    /// Other statuses than the expected one.
    pub unexpected_status: u64,
    /// The expected status with a body that disagrees with the model.
    pub wrong_body: u64,
    /// HTTP status of each erroneous reply -> count.
    pub statuses: BTreeMap<String, u64>,
    /// The first few error messages.
    pub examples: Vec<String>,
}

/// What the server said of itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// New posts per hotkey per window.
    pub max_submissions: u32,
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// Seconds per block.
    pub block_time_secs: f64,
    /// First window seen.
    pub first_window: u64,
    /// Last window seen.
    pub last_window: u64,
}

/// How the generator itself fared: whether it asked for what it meant to.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GeneratorReport {
    /// Requests per kind the mix asked for (warm-up included).
    pub chosen: BTreeMap<String, u64>,
    /// Requests per kind sent.
    pub sent: BTreeMap<String, u64>,
    /// `asked->sent` when the asked kind was impossible.
    pub substituted: BTreeMap<String, u64>,
    /// Times a connection had nothing to send (every hotkey busy, or signatures not
    /// ready) and waited.
    pub waits: u64,
    /// Milliseconds spent waiting so, summed over connections.
    pub wait_ms: f64,
    /// Signatures made (setup included).
    pub signatures: u64,
    /// Hotkeys whose state was lost and that were left out afterwards.
    pub tainted_hotkeys: u64,
    /// Share of `new` replies selected for validation.
    pub selected_share: Option<f64>,
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The server.
    pub url: String,
    /// Requests in flight at once.
    pub concurrency: u32,
    /// Arrival rate (open loop), if one was set.
    pub rate: Option<f64>,
    /// Hotkeys.
    pub hotkeys: u32,
    /// Share of Epistula hotkeys.
    pub epistula_share: f64,
    /// The mix asked for.
    pub mix: String,
    /// The server's settings as it reported them.
    pub server: ServerInfo,
    /// Warm-up length.
    pub warmup_secs: f64,
    /// Requests answered in the warm-up.
    pub warmup_requests: u64,
    /// Measured time: from the end of the warm-up to the last measured reply.
    pub elapsed_secs: f64,
    /// Measured requests.
    pub requests: u64,
    /// Measured requests per second.
    pub throughput: f64,
    /// All measured requests' latency.
    pub latency_ms: Option<Latency>,
    /// Per outcome.
    pub outcomes: BTreeMap<String, OutcomeReport>,
    /// Errors.
    pub errors: ErrorReport,
    /// The generator's own figures.
    pub generator: GeneratorReport,
    /// The database check, if one was asked for.
    pub check: Option<CheckReport>,
}

impl Report {
    /// Whether the run found nothing wrong: no error, and no violated invariant.
    pub fn passed(&self) -> bool {
        self.errors.total == 0 && self.check.as_ref().is_none_or(CheckReport::passed)
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let load = match self.rate {
            Some(rate) => format!(
                "{rate} req/s open loop over {} connections",
                self.concurrency
            ),
            None => format!("{} connections, closed loop", self.concurrency),
        };
        let _ = writeln!(
            out,
            "pulse-bench {} ({load}), {} hotkeys ({:.0}% Epistula), mix {}",
            self.url,
            self.hotkeys,
            self.epistula_share * 100.0,
            self.mix
        );
        let s = &self.server;
        let _ = writeln!(
            out,
            "server: quota {} per window of {} blocks x {} s; windows {}..={}",
            s.max_submissions,
            s.blocks_per_window,
            s.block_time_secs,
            s.first_window,
            s.last_window
        );
        let _ = writeln!(
            out,
            "\n{} requests in {:.2} s = {:.1} req/s (after a {:.1} s warm-up of {} requests); {} errors",
            self.requests,
            self.elapsed_secs,
            self.throughput,
            self.warmup_secs,
            self.warmup_requests,
            self.errors.total
        );
        let _ = writeln!(
            out,
            "\n{:<16}{:>9}{:>10}{:>10}{:>10}{:>10}{:>10}",
            "outcome", "count", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms"
        );
        let mut row = |name: &str, count: u64, per_sec: f64, l: &Latency| {
            let _ = writeln!(
                out,
                "{name:<16}{count:>9}{per_sec:>10.1}{:>10.2}{:>10.2}{:>10.2}{:>10.2}",
                l.p50, l.p90, l.p99, l.max
            );
        };
        for (name, o) in &self.outcomes {
            row(name, o.count, o.per_sec, &o.latency_ms);
        }
        if let Some(all) = &self.latency_ms {
            row("all", self.requests, self.throughput, all);
        }
        let e = &self.errors;
        if e.total == 0 {
            let _ = writeln!(out, "\nerrors: none");
        } else {
            let _ = writeln!(
                out,
                "\nerrors: {} (transport {}, 5xx {}, unexpected status {}, wrong body {}); statuses {:?}",
                e.total, e.transport, e.server_error, e.unexpected_status, e.wrong_body, e.statuses
            );
            for example in &e.examples {
                let _ = writeln!(out, "  {example}");
            }
        }
        let g = &self.generator;
        let _ = writeln!(
            out,
            "\ngenerator: sent {:?}; {} signatures; waited {} times ({:.0} ms in all); {} hotkeys tainted",
            g.sent, g.signatures, g.waits, g.wait_ms, g.tainted_hotkeys
        );
        if let Some(share) = g.selected_share {
            let _ = writeln!(
                out,
                "           {:.1}% of new posts selected for validation",
                share * 100.0
            );
        }
        if !g.substituted.is_empty() {
            let _ = writeln!(
                out,
                "           substituted (asked->sent): {:?}; for more `new` throughput use more \
                 hotkeys, a larger MAX_SUBMISSION_RATE or a shorter BLOCK_TIME_SECS on the server",
                g.substituted
            );
        }
        if let Some(check) = &self.check {
            out.push('\n');
            out.push_str(&check.to_text());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Failure;

    fn settled(outcome: Outcome, failure: Option<FailureKind>) -> Settled {
        Settled {
            outcome,
            status: Some(500),
            failure: failure.map(|kind| Failure {
                kind,
                message: "boom".into(),
            }),
        }
    }

    #[test]
    fn recorders_merge_counts_latencies_and_errors() {
        let now = Instant::now();
        let mut a = Recorder::default();
        let mut b = Recorder::default();
        for ms in 1..=100 {
            a.record(
                &settled(Outcome::New, None),
                Some(Duration::from_millis(ms)),
                now,
            );
        }
        b.record(
            &settled(Outcome::OtherStatus, Some(FailureKind::ServerError)),
            Some(Duration::from_millis(5)),
            now,
        );
        b.record(&settled(Outcome::New, None), None, now);
        a.merge(b);
        assert_eq!((a.measured, a.warmup, a.errors()), (101, 1, 1));
        let outcomes = a.outcomes(Duration::from_secs(2));
        let new = &outcomes["new"];
        assert_eq!(new.count, 100);
        assert!((new.per_sec - 50.0).abs() < 1e-9);
        assert!(
            (new.latency_ms.p50 - 50.0).abs() < 0.1,
            "{:?}",
            new.latency_ms
        );
        assert!(
            (new.latency_ms.p99 - 99.0).abs() < 0.1,
            "{:?}",
            new.latency_ms
        );
        assert!(
            (new.latency_ms.max - 100.0).abs() < 0.1,
            "{:?}",
            new.latency_ms
        );
        let errors = a.error_report();
        assert_eq!((errors.total, errors.server_error), (1, 1));
        assert_eq!(errors.statuses["500"], 1);
    }
}
