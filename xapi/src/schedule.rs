//! Scripted changes: a JSON file of mutations applied at set times after the double starts.
//!
//! The file is a JSON array; each entry has `after_secs` (seconds after start, fractions
//! allowed) and either `post` (an id or key) with `set` (a [`PostPatch`], as the admin API
//! takes), or `add` (a dataset line):
//!
//! ```json
//! [
//!   {"after_secs": 30, "post": "sn45-bull-001", "set": {"metrics": {"likes": 99999}}},
//!   {"after_secs": 45, "post": "edge-crlf", "set": {"text": "edited after submission"}},
//!   {"after_secs": 60, "post": "sn64-vbull-002", "set": {"delete": true}},
//!   {"after_secs": 90, "add": {"key": "late-1", "lang": "en", "text": "SN45 fresh post",
//!     "author": {"username": "late_poster", "name": "Late", "account_age_days": 30, "followers": 10}}}
//! ]
//! ```
//!
//! Times are real (tokio) time since [`run`] was called, not the double's clock, so a
//! schedule plays out the same whatever the anchor.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use thiserror::Error;

use crate::app::{Mutation, XApi};
use crate::dataset::PostLine;
use crate::store::PostPatch;

/// One mutation and when to apply it.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    /// Delay after [`run`] starts.
    pub after: Duration,
    /// The change.
    pub mutation: Mutation,
}

/// A list of timed mutations, in the order they will be applied.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Schedule {
    entries: Vec<Scheduled>,
}

/// Why a schedule file could not be loaded.
#[derive(Debug, Error)]
pub enum ScheduleError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// Not a JSON array of entries.
    #[error("schedule is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// An entry breaks a rule.
    #[error("schedule entry {index}: {reason}")]
    Invalid {
        /// 0-based position in the array.
        index: usize,
        /// What is wrong.
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    after_secs: f64,
    #[serde(default)]
    post: Option<String>,
    #[serde(default)]
    set: Option<PostPatch>,
    #[serde(default)]
    add: Option<PostLine>,
}

impl Schedule {
    /// A schedule of these entries (sorted by time; ties keep their order).
    pub fn new(mut entries: Vec<Scheduled>) -> Self {
        entries.sort_by_key(|e| e.after);
        Self { entries }
    }

    /// Reads a schedule file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ScheduleError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ScheduleError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Parses a schedule from JSON text.
    pub fn parse(json: &str) -> Result<Self, ScheduleError> {
        let raw: Vec<Entry> = serde_json::from_str(json)?;
        let mut entries = Vec::with_capacity(raw.len());
        for (index, entry) in raw.into_iter().enumerate() {
            let invalid = |reason: &str| ScheduleError::Invalid {
                index,
                reason: reason.to_owned(),
            };
            let after = Duration::try_from_secs_f64(entry.after_secs)
                .map_err(|_| invalid("after_secs must be a non-negative number of seconds"))?;
            let mutation = match (entry.post, entry.set, entry.add) {
                (Some(post), Some(patch), None) => Mutation::Update { post, patch },
                (None, None, Some(line)) => Mutation::Add(line),
                _ => return Err(invalid("give either `post` with `set`, or `add`")),
            };
            entries.push(Scheduled { after, mutation });
        }
        Ok(Self::new(entries))
    }

    /// The entries, in order of application.
    pub fn entries(&self) -> &[Scheduled] {
        &self.entries
    }
}

/// Applies each entry when its time comes, counting from now. A mutation that fails (say, an
/// unknown key) is logged and skipped; the rest still run.
pub async fn run(app: XApi, schedule: Schedule) {
    let start = tokio::time::Instant::now();
    for entry in schedule.entries {
        tokio::time::sleep_until(start + entry.after).await;
        match app.apply(&entry.mutation) {
            Ok(post) => {
                tracing::info!(post.id = post.id, post.key = %post.key, after = ?entry.after, "scheduled change applied");
            }
            Err(err) => {
                tracing::warn!(error = %err, after = ?entry.after, "scheduled change skipped");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_are_ordered_by_time() {
        let schedule = Schedule::parse(
            r#"[
                {"after_secs": 60, "post": "b", "set": {"delete": true}},
                {"after_secs": 0.5, "post": "a", "set": {"metrics": {"likes": 5}}}
            ]"#,
        )
        .unwrap();
        let entries = schedule.entries();
        assert_eq!(entries[0].after, Duration::from_millis(500));
        assert!(matches!(&entries[1].mutation, Mutation::Update { post, .. } if post == "b"));
    }

    #[test]
    fn an_entry_needs_exactly_one_kind_of_change() {
        for bad in [
            r#"[{"after_secs": 1, "post": "a"}]"#,
            r#"[{"after_secs": 1, "set": {"delete": true}}]"#,
            r#"[{"after_secs": -1, "post": "a", "set": {}}]"#,
        ] {
            assert!(
                matches!(
                    Schedule::parse(bad),
                    Err(ScheduleError::Invalid { index: 0, .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Schedule::parse(r#"[{"after_secs": 1, "post": "a", "set": {"likes": 1}}]"#),
            Err(ScheduleError::Json(_))
        ));
    }
}
