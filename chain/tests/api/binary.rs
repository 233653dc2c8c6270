//! The `pulse-chain` binary: its flags, the address line, blocks on a timer, SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn help_documents_every_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_pulse-chain"))
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--bind",
        "--block-time-ms",
        "--finality-lag",
        "--preset",
        "--genesis",
        "--first-block",
        "--spec-version",
        "--transaction-version",
        "--state",
        "--netuid",
        "--tempo",
        "--weights-rate-limit",
        "--weights-version",
        "--commit-reveal",
        "--commit-reveal-period",
        "--min-allowed-weights",
        "--max-weights-limit",
        "--immunity-period",
        "--max-allowed-uids",
        "--stake-threshold",
        "--admin-token",
        "/admin/blocks",
        "/admin/subnets/{netuid}/neurons",
    ] {
        assert!(help.contains(flag), "--help does not mention {flag}");
    }
}

#[tokio::test]
async fn the_binary_prints_its_address_makes_blocks_and_stops_cleanly_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pulse-chain"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--block-time-ms",
            "100",
            "--netuid",
            "1",
            "--tempo",
            "10",
        ])
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
    let ws = line
        .strip_prefix("pulse-chain listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"));
    let http = ws.replacen("ws://", "http://", 1);
    let client = reqwest::Client::new();
    let call = |method: &'static str| {
        let client = client.clone();
        let http = http.clone();
        async move {
            let answer: Value = client
                .post(&http)
                .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            answer["result"].clone()
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let head = call("chain_getHeader").await;
        if head["number"] != "0x0" {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no block within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let subnets: Value = client
        .get(format!("{http}/admin/subnets"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(subnets[0]["netuid"], 1);
    assert_eq!(subnets[0]["hyperparameters"]["tempo"], 10);

    // A subscriber still connected must not hold the shutdown up.
    let (mut ws, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
    ws.send(tokio_tungstenite::tungstenite::Message::text(
        json!({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeNewHeads", "params": []})
            .to_string(),
    ))
    .await
    .unwrap();
    let answer = ws.next().await.unwrap().unwrap();
    assert!(answer.to_text().unwrap().contains("\"result\""), "{answer}");

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
async fn a_bad_state_file_stops_the_binary_with_its_path() {
    let output = Command::new(env!("CARGO_BIN_EXE_pulse-chain"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--state",
            "/nonexistent/state.json",
        ])
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/state.json"));
}
