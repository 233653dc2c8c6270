//! The `pulse-bench` binary: a run that writes receipts and JSON, and `check` reading
//! them, with exit codes that say whether anything was wrong.

use std::process::Output;

use tokio::process::Command;

use crate::helpers::Bench;

async fn pulse_bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pulse-bench"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("MAX_SUBMISSION_RATE")
        .output()
        .await
        .expect("pulse-bench runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_writes_receipts_that_check_finds_wanting_once_a_post_is_lost() {
    let bench = Bench::with_quota(5).await;
    let dir = std::env::temp_dir().join(format!("pulse-bench-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let receipts = dir.join("receipts.jsonl");
    let json = dir.join("report.json");
    let url = bench.server.url("");
    let run = pulse_bench(&[
        "run",
        "--url",
        &url,
        "--requests",
        "25",
        "--warmup",
        "0s",
        "--hotkeys",
        "4",
        "--concurrency",
        "4",
        "--mix",
        "new=4,duplicate=1",
        "--receipts",
        receipts.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
        "--quiet",
    ])
    .await;
    assert!(run.status.success(), "{}", text(&run));
    assert!(text(&run).contains("errors: none"), "{}", text(&run));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["requests"], 25);
    assert_eq!(report["errors"]["total"], 0);

    let check_args = [
        "check",
        "--database-url",
        &bench.db.url,
        "--quota",
        "5",
        "--receipts",
        receipts.to_str().unwrap(),
    ];
    let check = pulse_bench(&check_args).await;
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        text(&check).contains("9 of 9 invariants hold"),
        "{}",
        text(&check)
    );

    let pool = bench.db.pool().await;
    sqlx::query(
        "delete from submissions where id = \
         (select min(id) from submissions where not selected_for_validation)",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let check = pulse_bench(&check_args).await;
    assert_eq!(check.status.code(), Some(1), "{}", text(&check));
    assert!(
        text(&check).contains("FAIL  acknowledged_are_stored: 1 violations"),
        "{}",
        text(&check)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_server_that_is_not_there_is_a_setup_error_with_exit_code_2() {
    let run = pulse_bench(&["run", "--url", "http://127.0.0.1:9", "-n", "1", "-q"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(
        text(&run).contains("cannot read the server's status"),
        "{}",
        text(&run)
    );
}

#[tokio::test]
async fn an_https_url_is_refused_with_a_reason_and_exit_code_2() {
    let run = pulse_bench(&["run", "--url", "https://127.0.0.1:9", "-n", "1", "-q"]).await;
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
    assert!(text(&run).contains("plain http"), "{}", text(&run));
}
