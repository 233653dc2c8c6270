//! The binary's command line and its failures: what an operator sees.

use crate::helpers::{Coordinator, Finished, ValidatorEnv};

#[tokio::test]
async fn help_lists_the_subcommands_and_settings() {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulse-validator"))
        .arg("--help")
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for word in ["run", "once", "config"] {
        assert!(help.contains(word), "{help}");
    }
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulse-validator"))
        .args(["once", "--help"])
        .output()
        .await
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    for setting in [
        "--wallet.name",
        "--auth",
        "VALIDATOR_API_URL",
        "X_BEARER_TOKEN",
        "X_API_BASE",
        "VALIDATOR_SENTIMENT",
        "PULSE_VALIDATOR_STATE_DIR",
        "VALIDATOR_LEASE_BATCH",
        "VALIDATOR_METAGRAPH",
        "VALIDATOR_BURN_SHARE",
        "--env-file",
    ] {
        assert!(help.contains(setting), "{setting} missing from:\n{help}");
    }
}

#[tokio::test]
async fn a_hotkey_that_is_not_a_registered_validator_is_told_so() {
    let dir = tempfile::tempdir().unwrap();
    let coordinator = Coordinator::start().await;
    let mut env = ValidatorEnv::new(&coordinator, "http://127.0.0.1:9/2", dir.path());
    // Another key: not registered.
    env.seed_hex = "11".repeat(32);
    let run = env.once().await;
    assert!(!run.success);
    assert!(run.stderr.contains("403"), "{}", run.stderr);
    assert!(run.stderr.contains("validator"), "{}", run.stderr);
}

#[tokio::test]
async fn without_an_x_token_it_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulse-validator"))
        .arg("once")
        .env_clear()
        .env("PULSE_HOTKEY_SEED", "22".repeat(32))
        .env("PULSE_VALIDATOR_STATE_DIR", dir.path())
        .output()
        .await
        .unwrap();
    let run = Finished::new(output);
    assert!(!run.success);
    assert!(run.stderr.contains("X_BEARER_TOKEN"), "{}", run.stderr);
}
