//! Test support shared by Pulse's integration tests (a dev-dependency only).
//!
//! # Layout
//! - [`TestDb`]: a fresh, migrated database per test, dropped afterwards.
//! - [`TestServer`]: the server in-process on port 0 with a manual block source.
//! - [`ServerProcess`]: the real `pulse-server` binary as a child process.
//! - [`Signer`]: a hotkey that signs requests in either header form.
//! - [`sample_submission`]: a valid submission body.
//! - [`metrics`]: reading a process's `/metrics`: where it listens, the reply, a series.
//!
//! Tests need a PostgreSQL server: `PULSE_TEST_DATABASE_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) names a database of a user that may
//! create databases. Without it tests fail; they never pass without the database.

#![warn(missing_docs)]

pub mod metrics;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context;
use protocol::Hotkey;
use protocol::api::SubmitRequest;
use protocol::auth;
use server::chain::BlockSource;
use server::config::Settings;
use server::{AppState, db};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Admin connection URL for creating test databases.
pub fn admin_url() -> String {
    std::env::var("PULSE_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Current Unix time in seconds.
pub use service::unix_now as now_unix;

/// A database of its own for one test: created and migrated on [`TestDb::new`], dropped
/// when the value is dropped.
#[derive(Debug)]
pub struct TestDb {
    /// The database's name.
    pub name: String,
    /// URL of the database.
    pub url: String,
}

impl TestDb {
    /// Creates and migrates a new database.
    pub async fn new() -> Self {
        let admin = admin_url();
        let name = format!("pulse_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("tests need PostgreSQL at {admin} (PULSE_TEST_DATABASE_URL): {e}")
        });
        sqlx::query(&format!("create database {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let url = replace_database(&admin, &name);
        let pool = PgPool::connect(&url)
            .await
            .expect("connect to test database");
        db::migrate(&pool).await.expect("migrate test database");
        pool.close().await;
        Self { name, url }
    }

    /// A pool on this database.
    pub async fn pool(&self) -> PgPool {
        db::connect(&self.url, 20)
            .await
            .expect("connect to test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let admin = admin_url();
        let name = self.name.clone();
        // Drop runs outside async context (or inside a runtime that is shutting down), so
        // the database is dropped from a thread with a runtime of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = PgConnection::connect(&admin).await.ok()?;
                sqlx::query(&format!("drop database if exists {name} with (force)"))
                    .execute(&mut conn)
                    .await
                    .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
    }
}

fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let base = match base.rfind('/') {
        Some(i) if i > "postgres://".len() => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Settings for tests: the reference defaults.
pub fn test_settings() -> Settings {
    Settings::default()
}

/// The server running in this process on 127.0.0.1:0.
pub struct TestServer {
    /// Where it listens.
    pub address: SocketAddr,
    /// Its state (database pool, settings, block source).
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Starts a server on `db` with `settings`, at block `block` of a manual source.
    pub async fn start(db: &TestDb, settings: Settings, block: u64) -> Self {
        let state = AppState::new(db.pool().await, settings, BlockSource::manual(block));
        Self::start_with_state(state).await
    }

    /// Starts a server with a state of the caller's making.
    pub async fn start_with_state(state: AppState) -> Self {
        Self::start_with_app(state, |app| app).await
    }

    /// Starts a server whose application is `wrap(server::router(state))`: tests add layers
    /// that watch or interpose on requests (say, to use a hotkey's quota from elsewhere
    /// between two of its requests).
    pub async fn start_with_app(
        state: AppState,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Self {
        let app = wrap(server::router(state.clone()));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let address = listener.local_addr().expect("local address");
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(server::serve_app(listener, app, state.clone(), async {
            let _ = stop.await;
        }));
        Self {
            address,
            state,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// The manual block source (advance it to move through windows).
    pub fn blocks(&self) -> &BlockSource {
        &self.state.blocks
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The `pulse-server` binary running as a child process.
pub struct ServerProcess {
    /// Where it listens.
    pub address: SocketAddr,
    child: Child,
    log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `binary` with `env` (plus `PULSE_BIND=127.0.0.1:0`) and waits until it says
    /// where it listens. Fails if it exits first.
    pub async fn spawn(binary: &Path, env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("PULSE_BIND", "127.0.0.1:0")
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let address = loop {
            let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
                .await
                .context("pulse-server did not report its address within 60 s")??;
            let Some(line) = line else {
                let seen = log.lock().expect("log").join("\n");
                anyhow::bail!("pulse-server exited before listening:\n{seen}");
            };
            log.lock().expect("log").push(line.clone());
            if let Some(rest) = line.split("listening on http://").nth(1) {
                let address = rest.split_whitespace().next().unwrap_or_default();
                break address
                    .parse::<SocketAddr>()
                    .with_context(|| format!("bad address in {line:?}"))?;
            }
        };
        // Keep draining stderr so the child never blocks on a full pipe.
        let sink = Arc::clone(&log);
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                sink.lock().expect("log").push(line);
            }
        });
        Ok(Self {
            address,
            child,
            log,
        })
    }

    /// Absolute URL of `path` on this process.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Everything the process logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().expect("log").clone()
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub async fn kill(mut self) {
        let _ = self.child.kill().await;
    }

    /// Sends SIGTERM and waits for the process to exit; returns whether it exited cleanly.
    pub async fn terminate(self) -> anyhow::Result<bool> {
        Ok(terminate(self.child).await?.success())
    }
}

/// Sends SIGTERM to `child` and waits for it to exit, at most 30 s.
pub async fn terminate(mut child: Child) -> anyhow::Result<std::process::ExitStatus> {
    if let Some(pid) = child.id() {
        Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status()
            .await?;
    }
    tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .context("the process did not exit within 30 s of SIGTERM")?
        .context("waiting for the process")
}

/// Which header form a [`Signer`] uses.
pub use protocol::auth::AuthForm;

/// A hotkey that signs requests.
#[derive(Debug, Clone)]
pub struct Signer {
    /// The key.
    pub hotkey: Hotkey,
    /// The header form.
    pub form: AuthForm,
}

impl Signer {
    /// A new random hotkey signing with `form`.
    pub fn new(form: AuthForm) -> Self {
        Self {
            hotkey: Hotkey::generate(),
            form,
        }
    }

    /// The hotkey's SS58 address.
    pub fn ss58(&self) -> &str {
        self.hotkey.ss58()
    }

    /// Signing headers for `body`, as of `at`.
    pub fn headers_at(&self, body: &[u8], at: SystemTime) -> reqwest::header::HeaderMap {
        match self.form {
            AuthForm::Epistula => auth::sign_epistula(&self.hotkey, body, None, at),
            AuthForm::XAuth => auth::sign_x_auth(&self.hotkey, auth::DEFAULT_MESSAGE_PREFIX, at),
        }
    }

    /// Signing headers for `body`, as of now.
    pub fn headers(&self, body: &[u8]) -> reqwest::header::HeaderMap {
        self.headers_at(body, SystemTime::now())
    }

    /// Posts `body` as JSON to `url`, signed now.
    pub async fn post_json(
        &self,
        client: &reqwest::Client,
        url: &str,
        body: &impl serde::Serialize,
    ) -> reqwest::Response {
        let bytes = serde_json::to_vec(body).expect("serialisable body");
        self.post_bytes(client, url, bytes).await
    }

    /// Posts raw bytes to `url` with a JSON content type, signed now.
    pub async fn post_bytes(
        &self,
        client: &reqwest::Client,
        url: &str,
        bytes: Vec<u8>,
    ) -> reqwest::Response {
        let headers = self.headers(&bytes);
        client
            .post(url)
            .headers(headers)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .expect("request sent")
    }

    /// GETs `url`, signed now over an empty body.
    pub async fn get(&self, client: &reqwest::Client, url: &str) -> reqwest::Response {
        client
            .get(url)
            .headers(self.headers(b""))
            .send()
            .await
            .expect("request sent")
    }
}

/// A valid submission of post `post_id` by `miner`, dated a minute ago.
pub fn sample_submission(miner: &str, post_id: u64) -> SubmitRequest {
    SubmitRequest {
        miner_hotkey: miner.to_string(),
        post_id: post_id.to_string(),
        content: format!("SN45 looks strong this week, post {post_id}"),
        date: now_unix() - 60,
        author: "alice".into(),
        account_age: 365,
        retweets: 3,
        likes: 10,
        responses: 1,
        followers: 1200,
        tokens: [("talisman_ai".to_string(), 1.0)].into_iter().collect(),
        sentiment: 0.5,
        score: 0.55,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_replace_the_admin_database() {
        assert_eq!(
            replace_database("postgres://u@h:5432/postgres", "t1"),
            "postgres://u@h:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u@h/postgres?sslmode=disable", "t1"),
            "postgres://u@h/t1?sslmode=disable"
        );
        assert_eq!(
            replace_database("postgres://u@h:5432", "t1"),
            "postgres://u@h:5432/t1"
        );
    }
}
