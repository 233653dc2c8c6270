//! What the validator prints on stdout: one line per verdict, a summary per pass, the weight
//! vector per window, and a total at exit; as text or as JSON lines (`--output json`, each
//! object with a `type`). Logs go to stderr.

use std::collections::BTreeMap;
use std::io::Write;

use protocol::api::VerdictOutcome;
use serde::Serialize;
use serde_json::json;

use crate::weights::{WeightVector, WeightsOutcome};
use service::cli::OutputFormat;

/// One verdict, as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictLine {
    /// The task.
    pub validation_id: String,
    /// The post.
    pub post_id: String,
    /// Its miner.
    pub miner_hotkey: String,
    /// Pass, fail or inconclusive.
    pub outcome: VerdictOutcome,
    /// The reason code (fail and inconclusive).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The reason, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Expected and found values.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The counts of one pass over the queue (leasing until it answers "nothing now").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PassReport {
    /// The server's window when the pass started.
    pub window: Option<u64>,
    /// Tasks leased.
    pub leased: u32,
    /// Verdicts: pass.
    pub passed: u32,
    /// Verdicts: fail, by reason code.
    pub failed: BTreeMap<String, u32>,
    /// Verdicts: inconclusive, by reason code.
    pub inconclusive: BTreeMap<String, u32>,
    /// Leased tasks left unjudged (shutdown): they return to the queue when their lease ends.
    pub abandoned: u32,
    /// Verdicts from earlier runs found pending and sent again.
    pub resent: u32,
    /// Verdicts the server recorded now.
    pub recorded: u32,
    /// Verdicts the server already had.
    pub duplicates: u32,
    /// Verdicts the server refused (logged with its reason).
    pub rejected: u32,
    /// Verdicts the server refuses on their own (413, 422), set aside in the state
    /// directory's `refused/`.
    pub refused: u32,
    /// Verdicts still waiting on disk for the server's acknowledgement.
    pub pending: usize,
}

impl PassReport {
    /// Counts a verdict.
    pub fn count(&mut self, outcome: VerdictOutcome, code: Option<&str>) {
        let code = code.unwrap_or("unknown_error").to_owned();
        match outcome {
            VerdictOutcome::Pass => self.passed += 1,
            VerdictOutcome::Fail => *self.failed.entry(code).or_default() += 1,
            VerdictOutcome::Inconclusive => *self.inconclusive.entry(code).or_default() += 1,
        }
    }

    /// Verdicts that failed.
    pub fn failed_total(&self) -> u32 {
        self.failed.values().sum()
    }

    /// Inconclusive verdicts.
    pub fn inconclusive_total(&self) -> u32 {
        self.inconclusive.values().sum()
    }

    /// Verdicts the server answered for.
    pub fn sent(&self) -> u32 {
        self.recorded + self.duplicates + self.rejected
    }

    /// Whether the pass did anything worth a line.
    pub fn is_empty(&self) -> bool {
        self.leased == 0
            && self.resent == 0
            && self.sent() == 0
            && self.pending == 0
            && self.refused == 0
    }

    /// Adds `other`'s counts (its window and pending count replace this one's).
    pub fn add(&mut self, other: &PassReport) {
        self.window = other.window.or(self.window);
        self.leased += other.leased;
        self.passed += other.passed;
        for (code, n) in &other.failed {
            *self.failed.entry(code.clone()).or_default() += n;
        }
        for (code, n) in &other.inconclusive {
            *self.inconclusive.entry(code.clone()).or_default() += n;
        }
        self.abandoned += other.abandoned;
        self.resent += other.resent;
        self.recorded += other.recorded;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.refused += other.refused;
        self.pending = other.pending;
    }

    fn text(&self, label: &str) -> String {
        let by_code = |map: &BTreeMap<String, u32>| {
            if map.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    map.iter()
                        .map(|(code, n)| format!("{code} {n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        };
        let mut line = format!(
            "{label}: leased {}, passed {}, failed {}{}, inconclusive {}{}, sent {} (recorded {}, duplicate {}, rejected {}), pending {}",
            self.leased,
            self.passed,
            self.failed_total(),
            by_code(&self.failed),
            self.inconclusive_total(),
            by_code(&self.inconclusive),
            self.sent(),
            self.recorded,
            self.duplicates,
            self.rejected,
            self.pending
        );
        if self.resent > 0 {
            line.push_str(&format!(", re-sent from disk {}", self.resent));
        }
        if self.abandoned > 0 {
            line.push_str(&format!(", left to their lease {}", self.abandoned));
        }
        if self.refused > 0 {
            line.push_str(&format!(", set aside as refused {}", self.refused));
        }
        line
    }
}

/// Everything a run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Totals {
    /// Passes with something in them.
    pub passes: u32,
    /// Windows whose scores were applied.
    pub windows_applied: u32,
    /// The sum of the passes.
    #[serde(flatten)]
    pub counts: PassReport,
}

/// Writes the stdout lines.
pub struct Reporter {
    format: OutputFormat,
    out: Box<dyn Write + Send>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter")
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Reporter {
    /// A reporter writing `format` lines to `out`.
    pub fn new(format: OutputFormat, out: Box<dyn Write + Send>) -> Self {
        Self { format, out }
    }

    /// A reporter writing to stdout.
    pub fn stdout(format: OutputFormat) -> Self {
        Self::new(format, Box::new(std::io::stdout()))
    }

    fn line(&mut self, text: String, json: serde_json::Value) {
        let line = match self.format {
            OutputFormat::Text => text,
            OutputFormat::Json => json.to_string(),
        };
        // stdout going away (a closed pipe) must not stop the validator: its verdicts are
        // on disk and in the server, and the log says the rest.
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// What became of a window's weights (`window N: weights set at block B (0x...)`, or
    /// why not).
    pub fn weights_outcome(&mut self, window: Option<u64>, outcome: &WeightsOutcome) {
        let text = match window {
            Some(window) => format!("window {window}: {}", outcome.describe()),
            None => outcome.describe(),
        };
        let mut json = serde_json::to_value(outcome).expect("an outcome serialises");
        json["type"] = json!("weights_outcome");
        json["text"] = json!(outcome.describe());
        if json.get("window").is_none() {
            json["window"] = json!(window);
        }
        self.line(text, json);
    }

    /// One verdict.
    pub fn verdict(&mut self, verdict: &VerdictLine) {
        let outcome = match verdict.outcome {
            VerdictOutcome::Pass => "pass",
            VerdictOutcome::Fail => "fail",
            VerdictOutcome::Inconclusive => "inconclusive",
        };
        let mut text = format!("verdict {outcome}");
        if let Some(code) = &verdict.code {
            text.push_str(&format!(" {code}"));
        }
        text.push_str(&format!(
            " post {} miner {} validation {}",
            verdict.post_id, verdict.miner_hotkey, verdict.validation_id
        ));
        if let Some(message) = &verdict.message {
            text.push_str(&format!(": {message}"));
        }
        let mut json = serde_json::to_value(verdict).expect("a verdict line serialises");
        json["type"] = json!("verdict");
        self.line(text, json);
    }

    /// One pass.
    pub fn pass(&mut self, pass: &PassReport) {
        let label = match pass.window {
            Some(window) => format!("pass in window {window}"),
            None => "pass".to_owned(),
        };
        let mut json = serde_json::to_value(pass).expect("a pass serialises");
        json["type"] = json!("pass");
        self.line(pass.text(&label), json);
    }

    /// One window's weights.
    pub fn weights(&mut self, vector: &WeightVector) {
        let entries: Vec<String> = vector
            .weights
            .iter()
            .map(|w| {
                let uid = w.uid.map_or("-".to_owned(), |u| u.to_string());
                let hotkey = w.hotkey.as_deref().unwrap_or("(burn)");
                format!("uid {uid} {hotkey} {:.6}", w.weight)
            })
            .collect();
        let mut text = format!(
            "weights after window {}: {}",
            vector.window,
            if entries.is_empty() {
                "none".to_owned()
            } else {
                entries.join(", ")
            }
        );
        if !vector.unmapped.is_empty() {
            text.push_str(&format!(
                "; without a uid: {}",
                vector
                    .unmapped
                    .iter()
                    .map(|u| format!("{} (average {:.6})", u.hotkey, u.ema))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        match &vector.best_post {
            Some(best) => text.push_str(&format!(
                "; best post {} by {} score {:.4}: {:?}",
                best.post_id, best.miner_hotkey, best.score, best.excerpt
            )),
            None => text.push_str("; no post passed here in that window"),
        }
        let mut json = serde_json::to_value(vector).expect("a vector serialises");
        json["type"] = json!("weights");
        self.line(text, json);
    }

    /// The totals at exit.
    pub fn total(&mut self, totals: &Totals) {
        let text = format!(
            "{}, windows applied {}",
            totals
                .counts
                .text(&format!("total over {} passes", totals.passes)),
            totals.windows_applied
        );
        let mut json = serde_json::to_value(totals).expect("totals serialise");
        json["type"] = json!("total");
        self.line(text, json);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().write(buf)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn sample() -> PassReport {
        let mut pass = PassReport {
            window: Some(12),
            leased: 4,
            recorded: 3,
            duplicates: 1,
            ..PassReport::default()
        };
        pass.count(VerdictOutcome::Pass, None);
        pass.count(VerdictOutcome::Fail, Some("text_mismatch"));
        pass.count(VerdictOutcome::Fail, Some("metric_inflation_likes"));
        pass.count(VerdictOutcome::Inconclusive, Some("x_api_error"));
        pass
    }

    #[test]
    fn a_pass_line_counts_by_code() {
        let sink = Sink::default();
        let mut reporter = Reporter::new(OutputFormat::Text, Box::new(sink.clone()));
        reporter.pass(&sample());
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(
            text,
            "pass in window 12: leased 4, passed 1, failed 2 (metric_inflation_likes 1, text_mismatch 1), inconclusive 1 (x_api_error 1), sent 4 (recorded 3, duplicate 1, rejected 0), pending 0\n"
        );
    }

    #[test]
    fn json_lines_carry_a_type() {
        let sink = Sink::default();
        let mut reporter = Reporter::new(OutputFormat::Json, Box::new(sink.clone()));
        let mut totals = Totals::default();
        totals.counts.add(&sample());
        totals.counts.add(&sample());
        totals.passes = 2;
        reporter.total(&totals);
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        let value: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(value["type"], "total");
        assert_eq!(value["passes"], 2);
        assert_eq!(value["failed"]["text_mismatch"], 2);
        assert_eq!(value["recorded"], 6);
    }
}
