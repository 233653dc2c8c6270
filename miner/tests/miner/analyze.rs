//! `pulse-miner analyze` over the sample dataset: what the miner would claim for each post,
//! pinned by a snapshot at a fixed present.

use std::process::Stdio;

use serde_json::Value;

use crate::helpers::{miner_command, stdout_ok};

/// The fixed present: 2025-11-26T00:00:00Z.
const NOW: &str = "1764115200";

#[tokio::test]
async fn the_analysis_of_the_sample_dataset_is_stable() {
    let dataset = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/posts.jsonl"))
        .expect("the sample dataset");
    let mut child = miner_command(&["analyze", "--now", NOW], &[])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pulse-miner starts");
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &dataset)
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let stdout = stdout_ok(&output);

    let lines: Vec<Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let posts = dataset
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .count();
    assert_eq!(lines.len(), posts, "one output line per post");
    // The miner's rules hold on every line, whatever the snapshot says.
    for line in &lines {
        match line["decision"].as_str().unwrap() {
            "submit" => {
                assert!(line["reason"].is_null(), "{line}");
                assert_eq!(line["tokens"].as_object().unwrap().len(), 1, "{line}");
                assert!(line["rank"].as_u64().unwrap() >= 1, "{line}");
                assert!(
                    line["score"]["age_secs"].as_i64().unwrap() <= 72 * 3600,
                    "{line}"
                );
            }
            "skip" => assert!(line["reason"].is_string(), "{line}"),
            other => panic!("unexpected decision {other}: {line}"),
        }
    }
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(summary.contains("analysed 307 lines"), "{summary}");
    insta::assert_snapshot!("sample_dataset", stdout);
}
