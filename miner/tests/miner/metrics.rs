//! `pulse-miner run --metrics-bind`: the listener on a free port shows the counts of the
//! window summaries, plus the submission attempts behind them.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::Value;
use testkit::metrics::{assert_build_info, listening_url, scrape, value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};

use crate::helpers::{Api, Identity, TOKEN, XDouble, miner_command, miner_env, ranked_dataset};

async fn next_json(lines: &mut Lines<BufReader<ChildStdout>>) -> Value {
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("a line within 30 s")
        .expect("readable stdout")
        .expect("pulse-miner still running");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// Every count of the summary lines `windows`, summed, as the metrics show it.
fn assert_counts_match(text: &str, windows: &[&Value]) {
    let sum = |field: &str| -> u64 { windows.iter().map(|w| w[field].as_u64().unwrap()).sum() };
    for (series, field) in [
        ("pulse_miner_posts_scraped_total", "scraped"),
        ("pulse_miner_posts_eligible_total", "eligible"),
        ("pulse_miner_posts_submitted_total", "submitted"),
        ("pulse_miner_posts_accepted_total", "accepted"),
        (
            "pulse_miner_posts_selected_total",
            "selected_for_validation",
        ),
        ("pulse_miner_posts_duplicate_total", "duplicates"),
    ] {
        assert_eq!(value(text, series), sum(field), "{series}\n{text}");
    }
    for (family, field) in [
        ("pulse_miner_posts_skipped_total", "skipped"),
        ("pulse_miner_posts_rejected_total", "rejected"),
    ] {
        let reasons: BTreeSet<&String> = windows
            .iter()
            .flat_map(|w| w[field].as_object().unwrap().keys())
            .collect();
        for reason in reasons {
            let expected: u64 = windows
                .iter()
                .map(|w| w[field][reason].as_u64().unwrap_or(0))
                .sum();
            let series = format!("{family}{{reason=\"{reason}\"}}");
            assert_eq!(value(text, &series), expected, "{series}\n{text}");
        }
    }
    assert_eq!(
        value(text, "pulse_miner_windows_total"),
        windows.len() as u64
    );
}

/// `pulse-miner run --output json` with a metrics listener on a free port, and the
/// listener's URL.
async fn run_with_metrics(env: &[(String, String)]) -> (Child, String) {
    let args = ["run", "--output", "json", "--sync-secs", "1"];
    let mut child = miner_command(&args, env)
        .args(["--metrics-bind", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pulse-miner starts");
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = listening_url("pulse-miner", stderr).await;
    (child, url)
}

#[tokio::test]
async fn the_metrics_listener_shows_the_summaries_counts_and_the_attempts_behind_them() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());
    // The first attempt meets a failing proxy and is retried (10 ms later, in this test).
    api.probe
        .answer_next_submits(StatusCode::SERVICE_UNAVAILABLE, 1);
    let (mut child, url) = run_with_metrics(&env).await;
    assert!(url.ends_with("/metrics"), "{url}");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    let first = next_json(&mut lines).await;
    assert_eq!(
        (first["window"].as_u64(), first["accepted"].as_u64()),
        (Some(10), Some(5))
    );
    let text = scrape(&url).await;
    assert_counts_match(&text, &[&first]);
    assert_eq!(value(&text, "pulse_miner_submit_attempts_total"), 6);
    assert_eq!(value(&text, "pulse_miner_submit_errors_total"), 1);
    assert_eq!(value(&text, "pulse_miner_rate_limited_windows_total"), 0);
    assert_eq!(value(&text, "pulse_miner_current_window"), 10);

    // In the next window another process uses the quota first: the first submission is
    // answered 429 and the window's work ends there.
    api.probe.exhaust_quota_before_next_submit(miner.ss58());
    api.set_block(1_100);
    let second = next_json(&mut lines).await;
    assert_eq!(second["window"], 11);
    assert_eq!(second["stopped"]["reason"], "rate_limited", "{second}");
    let text = scrape(&url).await;
    assert_counts_match(&text, &[&first, &second]);
    assert_eq!(value(&text, "pulse_miner_submit_attempts_total"), 7);
    assert_eq!(value(&text, "pulse_miner_submit_errors_total"), 1);
    assert_eq!(value(&text, "pulse_miner_rate_limited_windows_total"), 1);
    assert_eq!(value(&text, "pulse_miner_current_window"), 11);
    let status = testkit::terminate(child).await.unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test]
async fn the_metrics_are_openmetrics_text_with_the_build_info_even_before_the_server_answers() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let state = tempfile::tempdir().unwrap();
    let env = [
        ("MINER_API_URL", nowhere.as_str()),
        ("X_API_BASE", nowhere.as_str()),
        ("X_BEARER_TOKEN", TOKEN),
        ("PULSE_HOTKEY_SEED", Identity::new().seed_hex.as_str()),
        ("PULSE_MINER_STATE_DIR", state.path().to_str().unwrap()),
    ]
    .map(|(name, value)| (name.to_owned(), value.to_owned()));
    let (child, url) = run_with_metrics(&env).await;
    let text = scrape(&url).await;
    assert_build_info(&text, "pulse_miner_build_info");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let status = testkit::terminate(child).await.unwrap();
    assert!(status.success(), "{status}");
}
