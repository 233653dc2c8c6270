//! What most tests start from: a database, a server at a known block, a miner.

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use server::config::Settings;
use testkit::{AuthForm, Signer, TestDb, TestServer};

/// Block the manual source starts at: window 10, 50 blocks into it.
pub const START_BLOCK: u64 = 1_050;

pub struct App {
    pub server: TestServer,
    pub client: Client,
    // Dropped last: the server's pool must close before the database is dropped.
    pub _db: TestDb,
}

impl App {
    pub async fn start() -> Self {
        Self::with_settings(testkit::test_settings()).await
    }

    pub async fn with_settings(settings: Settings) -> Self {
        let db = TestDb::new().await;
        let server = TestServer::start(&db, settings, START_BLOCK).await;
        Self {
            server,
            client: Client::new(),
            _db: db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub async fn submit(&self, signer: &Signer, body: &impl serde::Serialize) -> Response {
        signer
            .post_json(&self.client, &self.url("/v2/submit"), body)
            .await
    }

    pub async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .fetch_one(&self.server.state.db)
            .await
            .expect(sql)
    }
}

pub fn miner() -> Signer {
    Signer::new(AuthForm::Epistula)
}

pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Asserts that `body` carries the window fields of `block` at the top level.
pub fn assert_window_fields(body: &Value, block: u64) {
    let w = protocol::WindowInfo::at(block, 100);
    assert_eq!(body["current_block"], w.current_block, "{body}");
    assert_eq!(body["current_window"], w.current_window, "{body}");
    assert_eq!(body["window_start_block"], w.window_start_block, "{body}");
    assert_eq!(body["window_end_block"], w.window_end_block, "{body}");
    assert_eq!(
        body["next_window_start_block"], w.next_window_start_block,
        "{body}"
    );
    assert_eq!(body["blocks_per_window"], 100, "{body}");
    assert_eq!(
        body["blocks_until_next_window"], w.blocks_until_next_window,
        "{body}"
    );
}

pub fn unique_post_id() -> u64 {
    // Snowflake-sized ids that never collide across tests.
    let n = u64::from_le_bytes(
        uuid::Uuid::new_v4().as_bytes()[..8]
            .try_into()
            .expect("8 bytes"),
    );
    1_000_000_000_000_000_000 + n % 8_000_000_000_000_000_000
}
