//! What became of every post a run sent, as the server answered: the record the database
//! check holds the stored rows against.

use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One post sent for the first time (a `new` or `over-quota` request) and its fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Receipt {
    /// The miner's SS58 address.
    pub hotkey: String,
    /// The post id.
    pub post_id: String,
    /// What the server answered.
    #[serde(flatten)]
    pub fate: Fate,
}

/// What the server answered to a post's first submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fate", rename_all = "snake_case")]
pub enum Fate {
    /// `200 new`: the server acknowledged storing it, so it must be stored as answered.
    New {
        /// The validation id of the receipt.
        validation_id: Uuid,
        /// Whether the receipt said it was selected for validation.
        selected: bool,
        /// The window of the reply.
        window: u64,
    },
    /// Refused (`429`): it must not be stored.
    Refused,
    /// No usable answer (transport error, 5xx, or a reply the generator did not expect):
    /// it may or may not be stored.
    Unknown,
}

/// Writes `receipts` to `path` as JSON lines.
pub fn write(path: &Path, receipts: &[Receipt]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("cannot create receipts file {}", path.display()))?;
    let mut out = BufWriter::new(file);
    for receipt in receipts {
        serde_json::to_writer(&mut out, receipt)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("cannot write receipts file {}", path.display()))
}

/// Reads receipts written by [`write()`].
pub fn read(path: &Path) -> anyhow::Result<Vec<Receipt>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open receipts file {}", path.display()))?;
    let mut receipts = Vec::new();
    for (number, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        receipts.push(
            serde_json::from_str(&line).with_context(|| {
                format!("{} line {}: not a receipt", path.display(), number + 1)
            })?,
        );
    }
    Ok(receipts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_survive_a_round_trip_through_a_file() {
        let receipts = vec![
            Receipt {
                hotkey: "5Abc".into(),
                post_id: "17".into(),
                fate: Fate::New {
                    validation_id: Uuid::new_v4(),
                    selected: true,
                    window: 9,
                },
            },
            Receipt {
                hotkey: "5Abc".into(),
                post_id: "18".into(),
                fate: Fate::Refused,
            },
        ];
        let dir = std::env::temp_dir().join(format!("pulse-bench-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("receipts.jsonl");
        write(&path, &receipts).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.lines().nth(1).unwrap().contains(r#""fate":"refused""#),
            "{text}"
        );
        assert_eq!(read(&path).unwrap(), receipts);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
