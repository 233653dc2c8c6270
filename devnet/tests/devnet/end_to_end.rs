//! Three windows of 20 s (0.2 s blocks): every number of every window line is what the
//! database holds; then SIGTERM stops every process, PostgreSQL included.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use devnet::procfs;
use serde_json::Value;
use sqlx::{Connection, PgConnection, Row};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A directory under the system's temporary directory, removed afterwards. Readable by
/// others, unlike `tempfile`'s: as root, the server runs PostgreSQL as `postgres`, which
/// must reach the cluster directory.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("pulse-devnet-e2e-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `pulse-devnet` and the binaries it runs, which must all be there: a missing one fails
/// the test (it never passes without running the stack).
fn devnet_binary() -> &'static Path {
    let devnet = Path::new(env!("CARGO_BIN_EXE_pulse-devnet"));
    let dir = devnet.parent().expect("a directory");
    for name in [
        "pulse-server",
        "pulse-xapi",
        "pulse-miner",
        "pulse-validator",
    ] {
        assert!(
            dir.join(name).is_file(),
            "{name} is missing from {}: this test runs the real binaries; build them with \
             `cargo build --workspace` (`cargo test --workspace` does)",
            dir.display()
        );
    }
    devnet
}

/// The devnet's stdout lines as JSON, and its stderr kept for failure messages.
struct Devnet {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Devnet {
    async fn next(&mut self, kind: &str, limit: Duration) -> Value {
        let line = tokio::time::timeout(limit, self.lines.next_line())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no {kind} line within {} s; stderr:\n{}",
                    limit.as_secs(),
                    self.stderr.lock().unwrap().join("\n")
                )
            })
            .expect("readable stdout")
            .unwrap_or_else(|| {
                panic!(
                    "pulse-devnet ended before its {kind} line; stderr:\n{}",
                    self.stderr.lock().unwrap().join("\n")
                )
            });
        let value: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(value["type"], kind, "{line}");
        value
    }
}

async fn count(db: &mut PgConnection, sql: &str, window: u64) -> u32 {
    let n: i64 = sqlx::query_scalar(sql)
        .bind(window as i64)
        .fetch_one(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    n as u32
}

async fn check_window_against_the_database(db: &mut PgConnection, line: &Value) {
    let window = line["window"].as_u64().unwrap();
    assert_eq!(
        line["pending"], 0,
        "every sampled post has its verdict: {line}"
    );
    assert_eq!(
        line["accepted"].as_u64().unwrap() as u32,
        count(
            db,
            "select count(*) from submissions where window_index = $1",
            window
        )
        .await,
        "accepted in window {window}: {line}"
    );
    assert_eq!(
        line["selected"].as_u64().unwrap() as u32,
        count(
            db,
            "select count(*) from submissions where window_index = $1 and selected_for_validation",
            window
        )
        .await,
        "selected in window {window}: {line}"
    );
    let per_miner: BTreeMap<String, i64> = sqlx::query(
        "select miner_hotkey, count(*) from submissions where window_index = $1 group by miner_hotkey",
    )
    .bind(window as i64)
    .fetch_all(&mut *db)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect();
    for (hotkey, counts) in line["miners"].as_object().unwrap() {
        assert_eq!(
            counts["accepted"].as_i64().unwrap(),
            per_miner.get(hotkey).copied().unwrap_or(0),
            "{hotkey} in window {window}: {line}"
        );
    }
    let verdicts: BTreeMap<String, i64> = sqlx::query(
        "select v.outcome, count(*) from validation_verdicts v \
         join submissions s on s.validation_id = v.validation_id \
         where s.window_index = $1 group by v.outcome",
    )
    .bind(window as i64)
    .fetch_all(&mut *db)
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1)))
    .collect();
    for outcome in ["pass", "fail", "inconclusive"] {
        assert_eq!(
            line["verdicts"][outcome].as_i64().unwrap(),
            verdicts.get(outcome).copied().unwrap_or(0),
            "{outcome} verdicts on window {window}'s posts: {line}"
        );
    }
    let scores: BTreeMap<String, f64> =
        sqlx::query("select miner_hotkey, score from window_scores where window_index = $1")
            .bind(window as i64)
            .fetch_all(&mut *db)
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
    let printed: BTreeMap<String, f64> = line["scores"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(hotkey, score)| (hotkey.clone(), score.as_f64().unwrap()))
        .collect();
    assert_eq!(printed, scores, "scores of window {window}: {line}");
    assert_eq!(
        line["weights"]["window"], window,
        "the validator's weights after window {window}: {line}"
    );
}

#[tokio::test]
async fn three_windows_match_the_database_and_sigterm_leaves_no_process_behind() {
    let devnet = devnet_binary();
    let dir = TempDir::new();
    let mut child = Command::new(devnet)
        .arg("--dir")
        .arg(&dir.0)
        .args([
            "--block-time-secs",
            "0.2",
            "--port",
            "0",
            "--output",
            "json",
            "--dataset",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../data/posts.jsonl"),
        ])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("pulse-devnet starts");
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
    let sink = Arc::clone(&stderr);
    tokio::spawn(async move {
        while let Ok(Some(line)) = errors.next_line().await {
            sink.lock().unwrap().push(line);
        }
    });
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut devnet = Devnet {
        child,
        lines,
        stderr,
    };

    // A first start creates the PostgreSQL cluster: minutes on a loaded machine at worst.
    let ready = devnet.next("ready", Duration::from_secs(300)).await;
    let pids: Vec<(String, u32)> = ready["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["pid"].as_u64().unwrap() as u32,
            )
        })
        .collect();
    let names: Vec<&str> = pids.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        ["chain", "server", "xapi", "validator", "miner-1", "miner-2"]
    );
    // Roles come from the chain double: the validator with a permit and stake, the miners
    // with UIDs, and the server decides by that metagraph.
    assert_eq!(ready["netuid"], 1, "{ready}");
    let registered: Vec<(&str, bool)> = ready["registered"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap(),
                r["validator_permit"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        registered,
        [("validator", true), ("miner-1", false), ("miner-2", false)]
    );
    let api = ready["api"].as_str().unwrap();
    let metagraph: serde_json::Value = reqwest::get(format!("{api}/v2/metagraph"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        metagraph["neurons"].as_array().unwrap().len(),
        3,
        "{metagraph}"
    );
    let cluster_dir = PathBuf::from(ready["cluster_dir"].as_str().unwrap());
    let postmaster: u32 = std::fs::read_to_string(cluster_dir.join("postmaster.pid"))
        .expect("the embedded cluster runs")
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(procfs::is_running(postmaster));

    // A window is 20 s; its line follows within the settle time (10 s) of its end.
    let mut windows = Vec::new();
    for _ in 0..3 {
        windows.push(devnet.next("window", Duration::from_secs(120)).await);
    }
    let first = ready["window"].as_u64().unwrap();
    let numbers: Vec<u64> = windows
        .iter()
        .map(|w| w["window"].as_u64().unwrap())
        .collect();
    assert_eq!(numbers, [first, first + 1, first + 2]);

    let mut db = PgConnection::connect(ready["database_url"].as_str().unwrap())
        .await
        .expect("the devnet's database");
    for line in &windows {
        check_window_against_the_database(&mut db, line).await;
    }
    db.close().await.unwrap();
    let total = |field: &str| -> u64 { windows.iter().map(|w| w[field].as_u64().unwrap()).sum() };
    assert!(total("accepted") > 0, "posts were accepted: {windows:?}");
    assert!(total("selected") > 0, "posts were sampled: {windows:?}");
    assert!(
        windows
            .iter()
            .any(|w| !w["scores"].as_object().unwrap().is_empty()),
        "windows were scored: {windows:?}"
    );
    // The validator's weights land on the chain double, and a line shows them as the chain
    // holds them: the shares of the stored u16 values, equal to the validator's weights to
    // u16 precision, for the devnet's hotkeys.
    let on_chain = windows
        .iter()
        .rev()
        .find(|w| !w["chain"]["block"].is_null())
        .unwrap_or_else(|| panic!("no line shows weights on chain: {windows:?}"));
    let chain_weights = on_chain["chain"]["weights"].as_object().unwrap();
    let sum: f64 = chain_weights.values().map(|w| w.as_f64().unwrap()).sum();
    assert!((sum - 1.0).abs() < 1e-9, "{on_chain}");
    let written = windows
        .iter()
        .filter_map(|w| w["weights"]["weights"].as_object())
        .collect::<Vec<_>>();
    for (hotkey, weight) in chain_weights {
        let weight = weight.as_f64().unwrap();
        assert!(
            written.iter().any(|file| file
                .get(hotkey)
                .and_then(serde_json::Value::as_f64)
                .is_some_and(|w| (w - weight).abs() < 1e-3)),
            "{hotkey} holds {weight} on chain, a weight the validator never wrote: {windows:?}"
        );
    }

    let pid = devnet.child.id().expect("running").to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .unwrap();
    assert!(killed.success());
    let stopped = devnet.next("stopped", Duration::from_secs(120)).await;
    let status = tokio::time::timeout(Duration::from_secs(30), devnet.child.wait())
        .await
        .expect("pulse-devnet exits after its last line")
        .unwrap();
    assert!(status.success(), "{status}: {stopped}");
    assert_eq!(stopped["reason"], "SIGTERM");
    assert_eq!(stopped["leftovers"], serde_json::json!([]), "{stopped}");
    for process in stopped["processes"].as_array().unwrap() {
        assert_eq!(process["exit"]["success"], true, "{stopped}");
    }
    assert_eq!(
        stopped["postgres"]["state"], "not_running",
        "the server stopped its own cluster: {stopped}"
    );
    for (name, pid) in &pids {
        assert!(!procfs::is_running(*pid), "{name} (pid {pid}) still runs");
    }
    assert!(
        procfs::running_in_groups(&pids.iter().map(|(_, pid)| *pid).collect::<Vec<_>>()).is_empty(),
        "a helper of a child still runs"
    );
    assert!(!procfs::is_running(postmaster), "PostgreSQL still runs");
    assert!(!cluster_dir.join("postmaster.pid").exists());
}
