//! Schema-driven fuzzing of the whole API with schemathesis (from PyPI): generated from
//! `/openapi.json`, every response must be a documented status with the documented
//! content type, headers and body schema, and nothing may be a 5xx.
//!
//! Operations come from the document, so every route is fuzzed, the signal's answer route
//! included (without an LLM: its LLM paths are tested against a double in `answer`).
//! Requests are signed with one X-Auth header set (reusable while fresh, as reference
//! clients reuse theirs), from a hotkey registered as miner and validator, so every
//! operation is exercised past authentication.

use std::time::SystemTime;

use server::config::{Role, Settings};
use testkit::{AuthForm, Signer};

use crate::helpers::App;

/// The schemathesis command: `PULSE_SCHEMATHESIS` when set, else `schemathesis` on PATH.
fn schemathesis() -> String {
    std::env::var("PULSE_SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_undocumented_response() {
    // The per-IP limits off: with them, one client's 600 requests a minute end in 429 for
    // most of the public routes, and the fuzzing would test the limiter instead of the
    // routes (the limits have their own tests in `signal`).
    let app = App::with_settings(Settings {
        public_rate_limit_per_minute: 0,
        ..testkit::test_settings()
    })
    .await;
    let signer = Signer::new(AuthForm::XAuth);
    for role in [Role::Miner, Role::Validator] {
        server::db::hotkeys::add(&app.server.state.db, signer.ss58(), role)
            .await
            .unwrap();
    }
    let headers = signer.headers_at(b"", SystemTime::now());
    let mut command = tokio::process::Command::new(schemathesis());
    command
        .arg("run")
        .arg(app.url("/openapi.json"))
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance",
            "--max-time",
            "40",
            "--workers",
            "1",
            "--phases",
            "examples,fuzzing",
            "--suppress-health-check",
            "all",
        ])
        .current_dir(std::env::temp_dir())
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    for (name, value) in &headers {
        command
            .arg("-H")
            .arg(format!("{}: {}", name.as_str(), value.to_str().unwrap()));
    }
    let output = command.output().await.unwrap_or_else(|e| {
        panic!(
            "cannot run {} ({e}): install it with `python3 -m pip install schemathesis==4.32.5`",
            schemathesis()
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let summary: Vec<&str> = stdout.lines().rev().take(25).collect();
    eprintln!(
        "{}",
        summary.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("passed"), "{stdout}");

    // The answer route was reached past its validation, not only refused: the server's own
    // request counts say which statuses it gave.
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let answered: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("pulse_http_requests_total") && l.contains("route=\"/v2/signal/answer\"")
        })
        .collect();
    eprintln!("{}", answered.join("\n"));
    assert!(
        answered.iter().any(|l| l.contains("status=\"200\"")),
        "schemathesis never got a 200 from the answer route:\n{}",
        answered.join("\n")
    );
}
