//! [`Outbox`]: verdicts written to disk before they are sent, removed once the server has
//! answered for them.
//!
//! One file per verdict, `<state dir>/<hotkey>/outbox/<validation_id>.json`, written
//! atomically and synced ([`crate::durable`]) before the verdict goes on the wire. A verdict
//! leaves the outbox only when the server's reply accounts for it: `recorded`, `duplicate`
//! (already recorded, say by a request whose reply was lost), or `rejected` (logged with the
//! server's reason; sending it again would change nothing). A validator killed at any point
//! finds its unacknowledged verdicts here on restart and sends them first; the server's
//! idempotency per (validation_id, validator) makes a second delivery harmless.
//!
//! A verdict the server can never accept (it refuses it alone as too large, 413, or
//! unreadable, 422) is set aside rather than sent forever: it moves to
//! `<state dir>/<hotkey>/refused/<validation_id>.json` with the server's status and reason
//! ([`RefusedVerdict`]), and an error is logged. Nothing else waits on it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use anyhow::Context;
use protocol::api::ValidationResultItem;
use serde::{Deserialize, Serialize};

use crate::durable;

/// The file format's version.
pub const FORMAT_VERSION: u32 = 1;
/// The outbox directory's name inside the hotkey's state directory.
pub const DIR_NAME: &str = "outbox";
/// Where verdicts the server can never accept are set aside, beside the outbox.
pub const REFUSED_DIR_NAME: &str = "refused";

/// A verdict set aside because the server refused it on its own, with why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefusedVerdict {
    /// When it was set aside, Unix milliseconds.
    pub refused_at_ms: i64,
    /// The server's status (413, 422).
    pub status: u16,
    /// The server's reason.
    pub reason: String,
    /// The verdict as it waited in the outbox.
    pub verdict: PendingVerdict,
}

/// A verdict waiting for the server's acknowledgement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingVerdict {
    /// The file format's version.
    pub version: u32,
    /// The verdict as it is sent.
    pub item: ValidationResultItem,
    /// The post it judges.
    pub post_id: String,
    /// The window the verdict was reached in.
    pub window: u64,
    /// When it was written, Unix milliseconds (the order verdicts are sent in).
    pub written_at_ms: i64,
}

/// The directory of pending verdicts.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

/// The file name of a verdict: its validation id where that is a safe file name (the server
/// hands out UUIDs), else the id with unsafe characters replaced.
fn file_name(validation_id: &str) -> String {
    let safe: String = validation_id
        .chars()
        .take(120)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.json")
}

impl Outbox {
    /// Opens the outbox in `state_dir` (creating it), removing temporary files a crash left.
    pub fn open(state_dir: &Path) -> anyhow::Result<Self> {
        let dir = state_dir.join(DIR_NAME);
        fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create the outbox {}", dir.display()))?;
        for entry in fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let entry = entry?;
            if durable::is_temporary(&entry.file_name().to_string_lossy()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `verdict` durably; when this returns, a crash cannot lose it.
    pub fn write(&self, verdict: &PendingVerdict) -> anyhow::Result<()> {
        let path = self.dir.join(file_name(&verdict.item.validation_id));
        let bytes = serde_json::to_vec_pretty(verdict).expect("a verdict serialises");
        durable::write_atomically(&path, &bytes)
            .with_context(|| format!("cannot write the verdict {}", path.display()))
    }

    /// Every pending verdict, oldest first. A file that cannot be read is moved aside (to
    /// `<name>.unreadable`) with a warning rather than blocking the others.
    pub fn pending(&self) -> anyhow::Result<Vec<PendingVerdict>> {
        let mut verdicts = Vec::new();
        for entry in fs::read_dir(&self.dir)
            .with_context(|| format!("cannot read the outbox {}", self.dir.display()))?
        {
            let path = entry?.path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let read = fs::read(&path)
                .map_err(anyhow::Error::from)
                .and_then(|bytes| {
                    let verdict: PendingVerdict = serde_json::from_slice(&bytes)?;
                    anyhow::ensure!(
                        verdict.version == FORMAT_VERSION,
                        "format version {} (this build reads {FORMAT_VERSION})",
                        verdict.version
                    );
                    Ok(verdict)
                });
            match read {
                Ok(verdict) => verdicts.push(verdict),
                Err(error) => {
                    let aside = path.with_extension("json.unreadable");
                    tracing::warn!(file = %path.display(), %error, moved_to = %aside.display(),
                        "unreadable pending verdict set aside");
                    fs::rename(&path, &aside)
                        .with_context(|| format!("cannot move {} aside", path.display()))?;
                }
            }
        }
        verdicts.sort_by(|a, b| {
            (a.written_at_ms, &a.item.validation_id).cmp(&(b.written_at_ms, &b.item.validation_id))
        });
        Ok(verdicts)
    }

    /// How many verdicts are pending.
    pub fn len(&self) -> io::Result<usize> {
        Ok(fs::read_dir(&self.dir)?
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count())
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The directory of verdicts set aside ([`RefusedVerdict`]).
    pub fn refused_dir(&self) -> PathBuf {
        self.dir.parent().map_or_else(
            || self.dir.join(REFUSED_DIR_NAME),
            |p| p.join(REFUSED_DIR_NAME),
        )
    }

    /// Moves `refused.verdict` out of the outbox into [`Outbox::refused_dir`], durably
    /// written there before it leaves the outbox; returns where it went.
    pub fn set_aside(&self, refused: &RefusedVerdict) -> anyhow::Result<PathBuf> {
        let dir = self.refused_dir();
        fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(file_name(&refused.verdict.item.validation_id));
        let bytes = serde_json::to_vec_pretty(refused).expect("a refused verdict serialises");
        durable::write_atomically(&path, &bytes)
            .with_context(|| format!("cannot write {}", path.display()))?;
        self.remove(&refused.verdict.item.validation_id)?;
        Ok(path)
    }

    /// Removes the verdict of `validation_id` (the server has answered for it).
    pub fn remove(&self, validation_id: &str) -> anyhow::Result<()> {
        let path = self.dir.join(file_name(validation_id));
        durable::remove(&path).with_context(|| format!("cannot remove {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::api::VerdictOutcome;

    fn verdict(id: &str, at: i64) -> PendingVerdict {
        PendingVerdict {
            version: FORMAT_VERSION,
            item: ValidationResultItem {
                validator_hotkey: "5Val".into(),
                validation_id: id.into(),
                miner_hotkey: "5Miner".into(),
                success: true,
                outcome: Some(VerdictOutcome::Pass),
                failure_reason: None,
            },
            post_id: "1".into(),
            window: 7,
            written_at_ms: at,
        }
    }

    #[test]
    fn verdicts_survive_a_reopen_in_the_order_they_were_written() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        assert!(outbox.is_empty().unwrap());
        let b = verdict("0b6f5f8e-8d1a-4a43-9a40-3f8f2a0e2f61", 2);
        let a = verdict("f0000000-0000-4000-8000-000000000000", 1);
        outbox.write(&b).unwrap();
        outbox.write(&a).unwrap();
        // Rewriting a verdict replaces it.
        outbox.write(&a).unwrap();
        // A crash mid-write leaves a temporary file; reopening clears it.
        fs::write(outbox.dir().join(".x.json.1.tmp"), b"{").unwrap();

        let reopened = Outbox::open(dir.path()).unwrap();
        assert_eq!(reopened.pending().unwrap(), [a.clone(), b.clone()]);
        assert_eq!(reopened.len().unwrap(), 2);
        assert!(!reopened.dir().join(".x.json.1.tmp").exists());

        reopened.remove(&a.item.validation_id).unwrap();
        assert_eq!(reopened.pending().unwrap(), [b]);
    }

    #[test]
    fn an_unreadable_file_is_set_aside_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        outbox.write(&verdict("good", 1)).unwrap();
        fs::write(outbox.dir().join("bad.json"), b"not json").unwrap();
        let pending = outbox.pending().unwrap();
        assert_eq!(pending.len(), 1);
        assert!(outbox.dir().join("bad.json.unreadable").exists());
        assert_eq!(outbox.len().unwrap(), 1);
    }

    #[test]
    fn a_refused_verdict_leaves_the_outbox_for_the_refused_directory() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::open(dir.path()).unwrap();
        let kept = verdict("kept", 1);
        let bad = verdict("bad", 2);
        outbox.write(&kept).unwrap();
        outbox.write(&bad).unwrap();
        let path = outbox
            .set_aside(&RefusedVerdict {
                refused_at_ms: 3,
                status: 413,
                reason: "too large".into(),
                verdict: bad.clone(),
            })
            .unwrap();
        assert_eq!(path, dir.path().join("refused").join("bad.json"));
        assert_eq!(outbox.pending().unwrap(), [kept]);
        let stored: RefusedVerdict = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
        assert_eq!((stored.status, stored.verdict), (413, bad));
    }

    #[test]
    fn odd_validation_ids_still_make_safe_file_names() {
        assert_eq!(file_name("../../etc/passwd"), "______etc_passwd.json");
        assert_eq!(file_name("abc-1"), "abc-1.json");
    }
}
