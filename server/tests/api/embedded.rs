//! `pulse-server` without DATABASE_URL: its own PostgreSQL cluster, created on first
//! start, reused after, stopped with the server.

use std::path::{Path, PathBuf};

use testkit::{AuthForm, ServerProcess, Signer, sample_submission};

use crate::helpers::unique_post_id;

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_pulse-server"))
}

#[tokio::test]
async fn without_database_url_the_server_runs_its_own_cluster_and_keeps_its_data() {
    let dir = TempDir(
        std::env::temp_dir().join(format!("pulse-embedded-{}", uuid::Uuid::new_v4().simple())),
    );
    let data_dir = dir.0.to_string_lossy().into_owned();
    let env = [("PULSE_DATA_DIR", data_dir.as_str())];
    let miner = Signer::new(AuthForm::Epistula);
    let post = sample_submission(miner.ss58(), unique_post_id());
    let client = reqwest::Client::new();

    let first = ServerProcess::spawn(binary(), &env).await.unwrap();
    assert!(
        first
            .log()
            .iter()
            .any(|l| l.contains("embedded PostgreSQL ready") && l.contains(&data_dir)),
        "{:?}",
        first.log()
    );
    let reply: serde_json::Value = miner
        .post_json(&client, &first.url("/v2/submit"), &post)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["status"], "new", "{reply}");
    assert!(first.terminate().await.unwrap());
    assert!(
        !dir.0.join("postgres/postmaster.pid").exists(),
        "the cluster stops with the server"
    );

    let second = ServerProcess::spawn(binary(), &env).await.unwrap();
    assert!(
        !second
            .log()
            .iter()
            .any(|l| l.contains("creating the embedded")),
        "the cluster is reused"
    );
    let reply: serde_json::Value = miner
        .post_json(&client, &second.url("/v2/submit"), &post)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        reply["status"], "duplicate",
        "the first run's data is still there: {reply}"
    );
    assert!(second.terminate().await.unwrap());
}

#[tokio::test]
async fn missing_postgres_binaries_fail_with_one_line_naming_the_fix() {
    let empty =
        TempDir(std::env::temp_dir().join(format!("pulse-nopg-{}", uuid::Uuid::new_v4().simple())));
    std::fs::create_dir_all(&empty.0).unwrap();
    let output = tokio::process::Command::new(binary())
        .env_remove("DATABASE_URL")
        .env("PG_BIN_DIR", &empty.0)
        .env("PULSE_DATA_DIR", empty.0.join("data"))
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("PG_BIN_DIR") && stderr.contains("initdb"),
        "{stderr}"
    );
}
