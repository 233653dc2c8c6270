//! The `pulse-server` binary's command line: help, admin subcommands, configuration errors.

use std::process::Command;

use testkit::TestDb;

fn pulse_server() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pulse-server"));
    command.env_remove("DATABASE_URL").env("NO_COLOR", "1");
    command
}

#[test]
fn help_documents_every_setting_by_its_environment_variable() {
    let output = pulse_server().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for variable in [
        "DATABASE_URL",
        "PULSE_BIND",
        "BLOCKS_PER_WINDOW",
        "MAX_SUBMISSION_RATE",
        "VALIDATION_PROBABILITY",
        "AUTH_MESSAGE_PREFIX",
        "AUTH_MAX_AGE_SECS",
        "AUTH_MAX_FUTURE_SECS",
        "BLOCK_SOURCE",
        "BLOCK_TIME_SECS",
        "GENESIS_UNIX",
        "SUBTENSOR_URL",
        "REGISTRATION",
        "PULSE_DATA_DIR",
        "LOG_FORMAT",
    ] {
        assert!(
            help.contains(&format!("[env: {variable}")),
            "--help does not mention {variable}"
        );
    }
}

#[test]
fn an_invalid_setting_fails_with_a_message_naming_it() {
    let output = pulse_server()
        .env("VALIDATION_PROBABILITY", "2")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("validation-probability") && stderr.contains("not a probability"),
        "{stderr}"
    );
}

#[tokio::test]
async fn hotkeys_can_be_added_listed_and_removed() {
    let db = TestDb::new().await;
    let run = |args: &[&str]| {
        let output = pulse_server()
            .env("DATABASE_URL", &db.url)
            .arg("hotkeys")
            .args(args)
            .output()
            .unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    let (ok, out, _) = run(&["add", alice, "--role", "validator"]);
    assert!(ok && out.contains("added"), "{out}");
    let (ok, out, _) = run(&["add", alice]);
    assert!(ok && out.contains("as miner"), "{out}");
    let (_, out, _) = run(&["list"]);
    assert_eq!(
        out.lines().filter(|l| l.starts_with(alice)).count(),
        2,
        "{out}"
    );
    let (ok, _, _) = run(&["remove", alice, "--role", "validator"]);
    assert!(ok);
    let (_, out, _) = run(&["list"]);
    assert!(out.contains("miner") && !out.contains("validator"), "{out}");
    let (ok, _, err) = run(&["remove", alice, "--role", "validator"]);
    assert!(!ok && err.contains("not registered"), "{err}");
    let (ok, _, err) = run(&["add", "5NotAnAddress"]);
    assert!(!ok && err.contains("not an SS58 address"), "{err}");
}

#[test]
fn the_openapi_subcommand_prints_the_served_document() {
    let output = pulse_server().arg("openapi").output().unwrap();
    assert!(output.status.success());
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(printed, serde_json::to_value(server::openapi()).unwrap());
}

#[tokio::test]
async fn healthcheck_exits_zero_for_a_ready_server_and_fails_otherwise() {
    let db = TestDb::new().await;
    let validator = "5FnoWRL4FYzd29q8zXoY3JWio9PtBPgrAFu2RcgQazRQsiCs";
    let server = testkit::ServerProcess::spawn(
        std::path::Path::new(env!("CARGO_BIN_EXE_pulse-server")),
        &[
            ("DATABASE_URL", db.url.as_str()),
            ("VALIDATOR_HOTKEYS", validator),
        ],
    )
    .await
    .unwrap();
    let probe = |url: String| {
        pulse_server()
            .args(["healthcheck", "--url", &url])
            .output()
            .unwrap()
    };
    assert!(probe(server.url("")).status.success());
    let unused = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = probe(format!("http://127.0.0.1:{unused}"));
    assert!(!down.status.success());
    assert!(String::from_utf8_lossy(&down.stderr).contains("is not answering"));

    // VALIDATOR_HOTKEYS registered the validator at start.
    let pool = db.pool().await;
    let roles = server::db::hotkeys::roles(&pool, validator).await.unwrap();
    assert_eq!(roles, [server::config::Role::Validator]);
    pool.close().await;
    assert!(server.terminate().await.unwrap());
}

#[test]
fn an_invalid_validator_hotkey_is_refused_at_start() {
    // Refused while the command line is read, before any database is touched.
    let output = pulse_server()
        .env("VALIDATOR_HOTKEYS", "5NotAnAddress")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("validator-hotkeys") && stderr.contains("not an SS58 address"),
        "{stderr}"
    );
}
