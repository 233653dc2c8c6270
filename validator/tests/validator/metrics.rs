//! `pulse-validator run --metrics-bind`: the listener on a free port shows the counts of the
//! pass summaries, the X lookups behind them and the windows applied.

use std::time::Duration;

use serde_json::Value;
use testkit::metrics::{assert_build_info, listening_url, scrape, value};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout};
use xapi::PostPatch;

use crate::helpers::{
    Coordinator, START_BLOCK, ValidatorEnv, XDouble, dataset, mine_once, post, x_config,
};

/// The next stdout line of `kind`, skipping others.
async fn next_of(lines: &mut Lines<BufReader<ChildStdout>>, kind: &str) -> Value {
    tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let line = lines
                .next_line()
                .await
                .expect("readable stdout")
                .expect("pulse-validator still running");
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if value["type"] == kind {
                return value;
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("a {kind} line within 60 s"))
}

/// `pulse-validator run` with a metrics listener on a free port, and the listener's URL.
async fn run_with_metrics(env: &ValidatorEnv) -> (Child, String) {
    let mut child = env
        .command(&["run", "--poll-secs", "1", "--metrics-bind", "127.0.0.1:0"])
        .spawn()
        .expect("pulse-validator starts");
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = listening_url("pulse-validator", stderr).await;
    (child, url)
}

#[tokio::test]
async fn the_metrics_listener_shows_the_pass_counts_lookups_and_windows_applied() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let x = XDouble::start(
        &dataset(vec![
            post(
                "m-1",
                30,
                "meter_mo",
                "SN64 chutes shipped faster inference this week",
                900,
            ),
            post(
                "m-2",
                45,
                "meter_mo",
                "chutes keeps growing, more miners serving models",
                400,
            ),
            post(
                "m-3",
                60,
                "meter_mo",
                "Chutes usage doubled this month, great work",
                250,
            ),
        ]),
        x_config(),
    )
    .await;
    let (_, accepted) = mine_once(&coordinator.url(), &x, "chutes", dir.path()).await;
    assert_eq!(accepted, 3);
    // X now shows another text for one post: a fail.
    x.app
        .update_post(
            "m-2",
            &PostPatch {
                text: Some("chutes is shrinking".into()),
                ..PostPatch::default()
            },
        )
        .unwrap();

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let (mut child, url) = run_with_metrics(&env).await;
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();

    // On start it applies the previous window (9, empty), then judges the three posts.
    let first_weights = next_of(&mut lines, "weights").await;
    assert_eq!(first_weights["window"], 9);
    let pass = next_of(&mut lines, "pass").await;
    assert_eq!(
        (pass["leased"].as_u64(), pass["passed"].as_u64()),
        (Some(3), Some(2))
    );
    let text = scrape(&url).await;
    assert_eq!(value(&text, "pulse_validator_passes_total"), 1);
    assert_eq!(value(&text, "pulse_validator_tasks_leased_total"), 3);
    assert_eq!(
        value(
            &text,
            r#"pulse_validator_verdicts_total{outcome="pass",code="none"}"#
        ),
        2
    );
    assert_eq!(
        value(
            &text,
            r#"pulse_validator_verdicts_total{outcome="fail",code="text_mismatch"}"#
        ),
        pass["failed"]["text_mismatch"].as_u64().unwrap()
    );
    assert_eq!(
        value(
            &text,
            r#"pulse_validator_verdicts_sent_total{status="recorded"}"#
        ),
        pass["recorded"].as_u64().unwrap()
    );
    assert_eq!(value(&text, "pulse_validator_pending_verdicts"), 0);
    assert_eq!(
        value(&text, "pulse_validator_x_lookups_total"),
        x.lookups().len() as u64
    );
    assert_eq!(x.lookups(), [3], "one request for the three ids");
    assert!(
        !text.contains("pulse_validator_x_lookup_errors_total{"),
        "{text}"
    );
    assert_eq!(value(&text, "pulse_validator_windows_applied_total"), 1);
    assert_eq!(value(&text, "pulse_validator_weights_updates_total"), 1);
    assert_eq!(value(&text, "pulse_validator_current_window"), 10);

    // The next window: window 10's scores are applied and its weights computed.
    coordinator.server.blocks().set(START_BLOCK + 100);
    let weights = next_of(&mut lines, "weights").await;
    assert_eq!(weights["window"], 10);
    let text = scrape(&url).await;
    assert_eq!(value(&text, "pulse_validator_windows_applied_total"), 2);
    assert_eq!(value(&text, "pulse_validator_weights_updates_total"), 2);
    assert_eq!(value(&text, "pulse_validator_current_window"), 11);

    let (status, total) = tokio::join!(testkit::terminate(child), next_of(&mut lines, "total"));
    let status = status.unwrap();
    assert!(status.success(), "{status}");
    assert_eq!(total["windows_applied"], 2);
    assert_eq!(total["leased"], 3);
}

#[tokio::test]
async fn the_metrics_are_openmetrics_text_with_the_build_info_even_before_the_server_answers() {
    let dir = tempfile::tempdir().unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nowhere = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let env = ValidatorEnv {
        seed_hex: "11".repeat(32),
        api_url: nowhere.clone(),
        x_base: nowhere,
        state_dir: dir.path().join("validator-state"),
    };
    let (child, url) = run_with_metrics(&env).await;
    let text = scrape(&url).await;
    assert_build_info(&text, "pulse_validator_build_info");
    assert!(text.ends_with("# EOF\n"), "{text}");
    let status = testkit::terminate(child).await.unwrap();
    assert!(status.success(), "{status}");
}
