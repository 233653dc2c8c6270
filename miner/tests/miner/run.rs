//! `pulse-miner run`: the long-running loop follows the server into the next window and
//! stops cleanly on SIGTERM with a total.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use crate::helpers::{Api, Identity, XDouble, miner_command, miner_env, ranked_dataset};

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30 s")
        .expect("readable stdout")
        .expect("pulse-miner still running");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[tokio::test]
async fn run_works_each_new_window_and_stops_cleanly_on_sigterm() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());
    let mut child = miner_command(&["run", "--output", "json", "--sync-secs", "1"], &env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("pulse-miner starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let first = next_json(&mut lines).await;
    assert_eq!(
        (first["type"].as_str(), first["window"].as_u64()),
        (Some("window"), Some(10))
    );
    assert_eq!(first["accepted"], 5);

    // The chain moves on; the loop notices at its next sync.
    api.set_block(1_100);
    let second = next_json(&mut lines).await;
    assert_eq!(second["window"], 11);
    assert_eq!(second["accepted"], 5);
    assert_eq!(second["skipped"]["seen"], 5);

    let pid = child.id().expect("running").to_string();
    let killed = tokio::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let total = next_json(&mut lines).await;
    assert_eq!(total["type"], "total");
    assert_eq!(total["windows"], 2);
    assert_eq!(total["accepted"], 10);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("exits within 30 s of SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(api.probe.submits().len(), 10);
}

#[tokio::test]
async fn run_tries_a_window_again_after_the_server_was_unavailable() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());
    // Three attempts of the first post fail; the window's work stops and resumes a second
    // later, at the next sync.
    api.probe
        .answer_next_submits(axum::http::StatusCode::SERVICE_UNAVAILABLE, 3);
    let mut child = miner_command(&["run", "--output", "json", "--sync-secs", "1"], &env)
        .stdout(Stdio::piped())
        .spawn()
        .expect("pulse-miner starts");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let report = next_json(&mut lines).await;
    assert_eq!(report["window"], 10);
    assert_eq!(report["attempts"], 2, "{report}");
    assert_eq!(report["accepted"], 5, "{report}");
    assert!(report["stopped"].is_null(), "{report}");
    let first = x.id("r01");
    let submits = api.probe.submits();
    assert_eq!(
        submits[..4],
        [first.clone(), first.clone(), first.clone(), first]
    );
    assert_eq!(submits.len(), 8);
    assert_eq!(api.stored(miner.ss58()).await.len(), 5);
    child.kill().await.unwrap();
}
