//! What the tests start from: an X API double on port 0 that records its lookups, the
//! coordination server (testkit) with a validator registered, the real miner run in-process,
//! and the real `pulse-validator` binary.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use clap::Parser;
use protocol::Hotkey;
use serde_json::Value;
use server::config::{Role, Settings};
use testkit::{AuthForm, Signer, TestDb, TestServer};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use xapi::{AuthorLine, Dataset, Metrics, PostLine, XApi};

/// Bearer token of every X double.
pub const TOKEN: &str = "validator-test-token";
/// Where the manual block source starts: window 10, 50 blocks in.
pub const START_BLOCK: u64 = 1_050;

/// The X double running on 127.0.0.1:0.
pub struct XDouble {
    /// The in-process handle (edit posts with `update_post`).
    pub app: XApi,
    /// Base URL, `http://127.0.0.1:<port>/2`.
    pub base: String,
    /// The number of ids of each `GET /2/tweets` request that reached it, in order.
    pub lookups: Arc<Mutex<Vec<usize>>>,
    task: JoinHandle<()>,
}

impl XDouble {
    /// Serves `dataset` with `config` (its bearer token should be [`TOKEN`]).
    pub async fn start(dataset: &Dataset, config: xapi::Config) -> Self {
        let app = XApi::new(dataset, config).expect("the dataset builds");
        let lookups: Arc<Mutex<Vec<usize>>> = Arc::default();
        let seen = Arc::clone(&lookups);
        let router = xapi::router(app.clone()).layer(middleware::from_fn(
            move |request: Request, next: Next| {
                let seen = Arc::clone(&seen);
                async move {
                    if request.uri().path() == "/2/tweets" {
                        let ids = request
                            .uri()
                            .query()
                            .unwrap_or("")
                            .split('&')
                            .find_map(|pair| pair.strip_prefix("ids="))
                            .map_or(0, |ids| ids.split("%2C").flat_map(|s| s.split(',')).count());
                        seen.lock().unwrap().push(ids);
                    }
                    next.run(request).await
                }
            },
        ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/2", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.unwrap();
        });
        Self {
            app,
            base,
            lookups,
            task,
        }
    }

    /// The lookups so far.
    pub fn lookups(&self) -> Vec<usize> {
        self.lookups.lock().unwrap().clone()
    }
}

impl Drop for XDouble {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The double's configuration with [`TOKEN`] and the anchor at the current time (the server
/// refuses posts dated in its future, and the miner skips posts older than 72 hours).
pub fn x_config() -> xapi::Config {
    xapi::Config::new(TOKEN)
}

/// A dataset line by `username`, `age_minutes` old, with the given likes.
pub fn post(key: &str, age_minutes: u64, username: &str, text: &str, likes: u64) -> PostLine {
    PostLine {
        key: key.to_owned(),
        id: None,
        age_minutes: Some(age_minutes),
        lang: "en".to_owned(),
        text: text.to_owned(),
        retweet_of: None,
        author: AuthorLine {
            username: username.to_owned(),
            name: format!("{username} (test)"),
            account_age_days: 400,
            followers: 20_000,
            following: 10,
            tweets: 100,
            listed: 0,
        },
        metrics: Metrics {
            likes,
            retweets: 40,
            replies: 12,
            quotes: 3,
            bookmarks: 0,
            impressions: 0,
        },
        intent: None,
    }
}

/// The coordination server with its own database, at [`START_BLOCK`] of a manual source.
pub struct Coordinator {
    /// The server.
    pub server: TestServer,
    /// The registered validator.
    pub validator: Signer,
    /// Dropped last: the server's pool closes before the database is dropped.
    pub _db: TestDb,
}

/// Settings of the end-to-end tests: every post selected for validation.
pub fn selecting_everything() -> Settings {
    Settings {
        validation_probability: 1.0,
        ..Settings::default()
    }
}

impl Coordinator {
    /// A server with `settings`, its application wrapped by `wrap`, and one registered
    /// validator.
    pub async fn start_with(
        settings: Settings,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let db = TestDb::new().await;
        let state = server::AppState::new(
            db.pool().await,
            settings,
            server::chain::BlockSource::manual(START_BLOCK),
        );
        let server = TestServer::start_with_app(state, wrap).await;
        let validator = Signer::new(AuthForm::Epistula);
        server::db::hotkeys::add(&server.state.db, validator.ss58(), Role::Validator)
            .await
            .unwrap();
        Self {
            server,
            validator,
            _db: db,
        }
    }

    /// A server that selects every post.
    pub async fn start() -> Self {
        Self::start_with(selecting_everything(), |router| router).await
    }

    /// Base URL.
    pub fn url(&self) -> String {
        self.server.url("")
    }

    /// A signed GET by the validator, as JSON.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let response = self
            .validator
            .get(&reqwest::Client::new(), &self.server.url(path))
            .await;
        let status = response.status().as_u16();
        (status, response.json().await.expect("a JSON reply"))
    }

    /// One integer from SQL; `$validator` stands for the validator's quoted hotkey.
    pub async fn count(&self, sql: &str) -> i64 {
        let sql = sql.replace("$validator", &format!("'{}'", self.validator.ss58()));
        sqlx::query_scalar::<_, i64>(&sql)
            .fetch_one(&self.server.state.db)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// The real miner (library), one window's work: searches `keywords` on the double and
/// submits to the server. Returns its hotkey and how many posts the server accepted.
pub async fn mine_once(server_url: &str, x: &XDouble, keywords: &str, dir: &Path) -> (String, u32) {
    let hotkey = Hotkey::generate();
    let wallets = dir.join("wallets");
    protocol::wallet::write_hotkey(
        &protocol::wallet::hotkey_path(&wallets, "miner", "default"),
        &hotkey,
    )
    .unwrap();
    let cli = miner::config::Cli::try_parse_from([
        "pulse-miner",
        "once",
        "--wallet.path",
        wallets.to_str().unwrap(),
        "--wallet.name",
        "miner",
        "--wallet.hotkey",
        "default",
        "--miner-api-url",
        server_url,
        "--x-bearer-token",
        TOKEN,
        "--x-api-base",
        &x.base,
        "--keywords",
        keywords,
        "--state-dir",
        dir.join("miner-state").to_str().unwrap(),
    ])
    .unwrap();
    let miner::config::Command::Once(args) = cli.command else {
        unreachable!("parsed as once")
    };
    let mut miner = miner::app::build_miner(&args).unwrap();
    let report = miner
        .once(&service::CancellationToken::new())
        .await
        .unwrap();
    (hotkey.ss58().to_owned(), report.accepted)
}

/// How a `pulse-validator` process is configured.
#[derive(Debug, Clone)]
pub struct ValidatorEnv {
    /// Hex seed of its hotkey (`PULSE_HOTKEY_SEED`).
    pub seed_hex: String,
    /// The server.
    pub api_url: String,
    /// The X double.
    pub x_base: String,
    /// `PULSE_VALIDATOR_STATE_DIR`.
    pub state_dir: PathBuf,
}

impl ValidatorEnv {
    /// The validator of `coordinator`, checking against `x`, keeping state in `dir`.
    pub fn new(coordinator: &Coordinator, x_base: &str, dir: &Path) -> Self {
        let seed = coordinator
            .validator
            .hotkey
            .seed()
            .expect("a generated key has a seed");
        Self {
            seed_hex: seed.iter().map(|b| format!("{b:02x}")).collect(),
            api_url: coordinator.url(),
            x_base: x_base.to_owned(),
            state_dir: dir.join("validator-state"),
        }
    }

    /// The hotkey's state directory.
    pub fn hotkey_dir(&self, ss58: &str) -> PathBuf {
        self.state_dir.join(ss58)
    }

    /// `pulse-validator <args>` with this environment only (stdout and stderr piped).
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_pulse-validator"));
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .env("PULSE_HOTKEY_SEED", &self.seed_hex)
            .env("VALIDATOR_API_URL", &self.api_url)
            .env("X_BEARER_TOKEN", TOKEN)
            .env("X_API_BASE", &self.x_base)
            .env("PULSE_VALIDATOR_STATE_DIR", &self.state_dir)
            .env("PULSE_VALIDATOR_OUTPUT", "json")
            .env("PULSE_VALIDATOR_BACKOFF_MS", "50,100")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs `pulse-validator once` to completion.
    pub async fn once(&self) -> Finished {
        self.once_with(&[]).await
    }

    /// Runs `pulse-validator once` with more environment variables.
    pub async fn once_with(&self, env: &[(&str, &str)]) -> Finished {
        let mut command = self.command(&["once"]);
        command.envs(env.iter().copied());
        let output = tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .expect("pulse-validator once finishes within 120 s")
            .expect("pulse-validator runs");
        Finished::new(output)
    }
}

/// A finished validator process.
#[derive(Debug)]
pub struct Finished {
    /// Whether it exited with 0.
    pub success: bool,
    /// Its stdout, one JSON object per line.
    pub lines: Vec<Value>,
    /// Its stderr (logs).
    pub stderr: String,
}

impl Finished {
    /// Reads a process's output.
    pub fn new(output: std::process::Output) -> Self {
        let stdout = String::from_utf8_lossy(&output.stdout);
        Self {
            success: output.status.success(),
            lines: stdout
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
                .collect(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The lines of one `type`.
    pub fn of_type(&self, kind: &str) -> Vec<&Value> {
        self.lines.iter().filter(|l| l["type"] == kind).collect()
    }

    /// The `total` line.
    pub fn total(&self) -> &Value {
        self.of_type("total")
            .pop()
            .unwrap_or_else(|| panic!("no total line; stderr:\n{}", self.stderr))
    }
}

/// The dataset as the double will serve it.
pub fn dataset(posts: Vec<PostLine>) -> Dataset {
    Dataset::from_posts(posts).expect("a valid dataset")
}
