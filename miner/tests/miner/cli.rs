//! The binary's small subcommands: keygen, config with an env file, --help, sign-request,
//! and the errors an operator meets first.

use std::path::Path;

use protocol::wallet;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::helpers::{Api, Identity, miner_command, run_miner, stdout_ok};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn wallet_args(dir: &Path) -> Vec<String> {
    vec![
        "--wallet.path".into(),
        dir.display().to_string(),
        "--wallet.name".into(),
        "miner".into(),
        "--wallet.hotkey".into(),
        "hot".into(),
    ]
}

#[tokio::test]
async fn keygen_writes_a_loadable_hotkey_prints_its_address_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["keygen".to_owned()];
    args.extend(wallet_args(dir.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    let address = stdout_ok(&run_miner(&args, &[]).await).trim().to_owned();
    let path = dir.path().join("miner/hotkeys/hot");
    assert_eq!(wallet::load_hotkey(&path).unwrap().ss58(), address);
    assert!(
        std::fs::read_to_string(dir.path().join("miner/hotkeys/hotpub.txt"))
            .unwrap()
            .contains(&address)
    );

    let again = run_miner(&args, &[]).await;
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("refusing to overwrite"),
        "{}",
        stderr(&again)
    );
    assert_eq!(wallet::load_hotkey(&path).unwrap().ss58(), address);
}

#[tokio::test]
async fn an_env_file_in_the_reference_format_configures_the_miner_and_real_variables_win() {
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join(".miner_env");
    std::fs::write(
        &env_file,
        "# the reference miner's settings\n\
         MINER_API_URL=http://api.example:8001\n\
         X_BEARER_TOKEN=very-secret-token\n\
         X_API_BASE=http://x.example/2\n\
         BLOCKS_PER_WINDOW=360\n\
         MAX_SUBMISSIONS_PER_WINDOW=3\n\
         BATCH_HTTP_TIMEOUT=12.5\n\
         MODEL=some/model\n\
         LLM_BASE=http://llm.example/v1\n\
         API_KEY=sk-very-secret\n\
         MINER_KEYWORDS=\"bittensor,talisman ai\"\n\
         MINER_MENTIONS=opentensor\n",
    )
    .unwrap();
    let env = vec![
        ("MAX_SUBMISSIONS_PER_WINDOW".to_owned(), "4".to_owned()),
        ("PULSE_AUTH".to_owned(), "x-auth".to_owned()),
        ("PULSE_HOTKEY_SEED".to_owned(), Identity::new().seed_hex),
    ];
    let file = env_file.display().to_string();
    let output = run_miner(&["config", "--env-file", &file, "--sentiment", "llm"], &env).await;
    let config = stdout_ok(&output);
    for expected in [
        "MINER_API_URL: http://api.example:8001",
        "X_API_BASE: http://x.example/2",
        "X_BEARER_TOKEN: set (hidden)",
        "x query: (bittensor OR \"talisman ai\" OR @opentensor) -is:retweet lang:en",
        "BLOCKS_PER_WINDOW: 360",
        "MAX_SUBMISSIONS_PER_WINDOW: 4",
        "auth: x-auth",
        "BATCH_HTTP_TIMEOUT: 12.5 s",
        "sentiment: llm (LLM_BASE http://llm.example/v1, MODEL some/model, API_KEY set (hidden))",
        "(from PULSE_HOTKEY_SEED)",
    ] {
        assert!(
            config.contains(expected),
            "{expected:?} missing from:\n{config}"
        );
    }
    assert!(!config.contains("very-secret"), "{config}");

    let missing = run_miner(&["config", "--env-file", "/nonexistent/.miner_env"], &[]).await;
    assert!(!missing.status.success());
    assert!(
        stderr(&missing).contains("--env-file"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test]
async fn help_lists_the_reference_variables_without_their_secret_values() {
    let env = vec![
        ("X_BEARER_TOKEN".to_owned(), "very-secret-token".to_owned()),
        ("API_KEY".to_owned(), "sk-very-secret".to_owned()),
    ];
    let help = stdout_ok(&run_miner(&["run", "--help"], &env).await);
    for name in [
        "MINER_API_URL",
        "X_BEARER_TOKEN",
        "X_API_BASE",
        "BLOCKS_PER_WINDOW",
        "MAX_SUBMISSIONS_PER_WINDOW",
        "LLM_BASE",
        "MODEL",
        "API_KEY",
        "BATCH_HTTP_TIMEOUT",
        "--wallet.name",
        "--env-file",
    ] {
        assert!(help.contains(name), "{name} missing from --help");
    }
    assert!(!help.contains("very-secret"), "{help}");
}

#[tokio::test]
async fn an_encrypted_hotkey_and_a_missing_bearer_token_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let hotkeys = dir.path().join("miner/hotkeys");
    std::fs::create_dir_all(&hotkeys).unwrap();
    std::fs::write(hotkeys.join("hot"), b"$NACL\x01\x02\x03").unwrap();
    let mut args = vec!["once".to_owned()];
    args.extend(wallet_args(dir.path()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = run_miner(&args, &[]).await;
    assert!(!output.status.success());
    assert!(stderr(&output).contains("encrypted"), "{}", stderr(&output));

    let env = vec![("PULSE_HOTKEY_SEED".to_owned(), Identity::new().seed_hex)];
    let output = run_miner(&["once"], &env).await;
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("X_BEARER_TOKEN"),
        "{}",
        stderr(&output)
    );
}

/// `Name: value` lines as headers.
fn parse_headers(text: &str) -> HeaderMap {
    text.lines()
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn signed_headers_and_curl_commands_are_accepted_by_the_server() {
    let api = Api::start().await;
    let miner = Identity::new();
    let env = vec![
        ("PULSE_HOTKEY_SEED".to_owned(), miner.seed_hex.clone()),
        ("MINER_API_URL".to_owned(), api.server.url("")),
    ];
    let http = reqwest::Client::new();

    for auth in ["epistula", "x-auth"] {
        let headers = stdout_ok(
            &run_miner(&["sign-request", "GET", "/v2/status", "--auth", auth], &env).await,
        );
        let reply: Value = http
            .get(api.server.url("/v2/status"))
            .headers(parse_headers(&headers))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(reply["hotkey"], miner.ss58(), "{auth}: {reply}");
        assert_eq!(reply["remaining_in_window"], 5);
    }

    // A curl command for a submission, its body in a file.
    let dir = tempfile::tempdir().unwrap();
    let body_path = dir.path().join("post.json");
    let post = testkit::sample_submission(miner.ss58(), 1_990_000_000_000_000_001);
    std::fs::write(&body_path, serde_json::to_vec(&post).unwrap()).unwrap();
    let body_arg = body_path.display().to_string();
    let curl = stdout_ok(
        &run_miner(
            &[
                "sign-request",
                "POST",
                "/v2/submit",
                "--body",
                &body_arg,
                "--format",
                "curl",
            ],
            &env,
        )
        .await,
    );
    let url = api.server.url("/v2/submit");
    assert!(
        curl.starts_with(&format!("curl -sS -X POST '{url}' \\\n")),
        "{curl}"
    );
    assert!(
        curl.trim_end()
            .ends_with(&format!("--data-binary @'{body_arg}'")),
        "{curl}"
    );
    let headers: String = curl
        .lines()
        .filter_map(|line| line.trim().strip_prefix("-H '"))
        .map(|header| {
            format!(
                "{}\n",
                header.trim_end_matches(" \\").trim_end_matches('\'')
            )
        })
        .collect();
    let reply = http
        .post(&url)
        .headers(parse_headers(&headers))
        .body(std::fs::read(&body_path).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let reply: Value = reply.json().await.unwrap();
    assert_eq!(reply["status"], "new", "{reply}");

    // The JSON form, body from stdin, against an absolute URL.
    let mut second = post.clone();
    second.post_id = "1990000000000000002".into();
    let mut command = miner_command(
        &[
            "sign-request",
            "post",
            &url,
            "--body",
            "-",
            "--format",
            "json",
        ],
        &env,
    );
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = serde_json::to_vec(&second).unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &bytes)
        .await
        .unwrap();
    drop(stdin);
    let output = child.wait_with_output().await.unwrap();
    let signed: Value = serde_json::from_str(&stdout_ok(&output)).unwrap();
    assert_eq!(signed["method"], "POST");
    let headers: HeaderMap = signed["headers"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| {
            (
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let reply = http
        .post(signed["url"].as_str().unwrap())
        .headers(headers)
        .body(signed["body"].as_str().unwrap().to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert_eq!(api.stored(miner.ss58()).await.len(), 2);
}
