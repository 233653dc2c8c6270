//! The `pulse-xapi` binary: flags and environment, the address line, SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

use crate::helpers::TOKEN;

#[tokio::test]
async fn the_binary_prints_its_address_serves_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulse-xapi"))
        .args(["--bind", "127.0.0.1:0", "--search-rate-limit", "7"])
        .arg("--dataset")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/posts.jsonl"))
        .env("X_BEARER_TOKEN", TOKEN)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
        .await
        .expect("the binary printed no address in time")
        .unwrap()
        .unwrap();
    let base = line
        .strip_prefix("pulse-xapi listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));

    let response = reqwest::Client::new()
        .get(format!("{base}/2/tweets/search/recent"))
        .query(&[("query", "SN45")])
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-rate-limit-limit"], "7");

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .expect("the binary did not stop on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn the_binary_refuses_to_start_without_a_bearer_token_or_with_a_bad_dataset() {
    let missing_token = Command::new(env!("CARGO_BIN_EXE_pulse-xapi"))
        .env_remove("X_BEARER_TOKEN")
        .output()
        .await
        .unwrap();
    assert!(!missing_token.status.success());
    assert!(String::from_utf8_lossy(&missing_token.stderr).contains("--bearer-token"));

    let bad_dataset = Command::new(env!("CARGO_BIN_EXE_pulse-xapi"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--dataset",
            "/nonexistent/posts.jsonl",
        ])
        .env("X_BEARER_TOKEN", TOKEN)
        .output()
        .await
        .unwrap();
    assert!(!bad_dataset.status.success());
    assert!(String::from_utf8_lossy(&bad_dataset.stderr).contains("/nonexistent/posts.jsonl"));
}
