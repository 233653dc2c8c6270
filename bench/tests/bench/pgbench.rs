//! `bench/submit.pgbench`, the database ceiling's script, still runs the submit path's
//! statement against the current migrations and stores what the server would.

use std::path::{Path, PathBuf};

use sqlx::PgPool;
use testkit::TestDb;

fn pgbench() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("pgbench"))
            .find(|p| p.is_file())
    });
    on_path
        .or_else(|| {
            let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
                .ok()?
                .filter_map(|e| e.ok())
                .map(|e| e.path().join("bin/pgbench"))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            found.pop()
        })
        .expect("pgbench (PostgreSQL's client tools) is installed")
}

#[tokio::test]
async fn the_pgbench_script_stores_posts_tasks_and_uuids_as_the_server_does() {
    let db = TestDb::new().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("submit.pgbench");
    let now_ms = testkit::now_unix() * 1000;
    let output = tokio::process::Command::new(pgbench())
        .args(["-n", "-M", "prepared", "-c", "4", "-j", "2", "-t", "50"])
        .arg("-f")
        .arg(&script)
        .args([
            "-D",
            "hotkeys=10",
            "-D",
            "quota=1000000000",
            "-D",
            "window=7",
        ])
        .args([
            "-D",
            "epistula_pct=50",
            "-D",
            "select_pct=20",
            "-D",
            "verdicts=2",
        ])
        .arg("-D")
        .arg(format!("now_ms={now_ms}"))
        .arg(&db.url)
        .output()
        .await
        .expect("pgbench runs");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{log}");
    assert!(
        log.contains("number of transactions actually processed: 200/200"),
        "{log}"
    );

    let pool = PgPool::connect(&db.url).await.unwrap();
    let count =
        async |sql: &str| -> i64 { sqlx::query_scalar(sql).fetch_one(&pool).await.unwrap() };
    assert_eq!(
        count("select count(*) from submissions where window_index = 7").await,
        200
    );
    assert_eq!(
        count("select coalesce(sum(used), 0)::bigint from window_quota").await,
        200
    );
    let selected = count("select count(*) from submissions where selected_for_validation").await;
    assert_eq!(
        count("select count(*) from validation_tasks").await,
        selected
    );
    assert_eq!(
        count("select count(*) from validation_slots").await,
        2 * selected
    );
    // About 20% selected and half the requests spending an Epistula uuid, as asked.
    assert!((10..=80).contains(&selected), "{selected} of 200 selected");
    let uuids = count("select count(*) from epistula_nonces").await;
    assert!((60..=140).contains(&uuids), "{uuids} of 200 spent a uuid");
    pool.close().await;
}
