//! What every request handler shares: [`AppState`].

use std::sync::Arc;

use analyzer::chat::ChatClient;
use protocol::WindowInfo;
use sqlx::PgPool;

use crate::auth::XAuthMemo;
use crate::chain::BlockSource;
use crate::config::Settings;
use crate::db::SessionTimeouts;
use crate::db::lane::Lane;
use crate::error::ApiError;
use crate::metagraph::Metagraph;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;

/// What every request handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The database.
    pub db: PgPool,
    /// Connections of the database reserved for `/v2/submit` (see [`crate::db::lane`]).
    pub submit_db: Lane,
    /// Settings read by handlers.
    pub settings: Arc<Settings>,
    /// The current block.
    pub blocks: BlockSource,
    /// This process's metrics.
    pub metrics: Arc<Metrics>,
    /// X-Auth signatures this process has verified (reference clients reuse one X-Auth
    /// header for many requests).
    pub x_auth_memo: Arc<XAuthMemo>,
    /// The subnet's metagraph, with REGISTRATION=metagraph.
    pub metagraph: Option<Metagraph>,
    /// Per-IP counters of public requests and failed authentications.
    pub rate_limits: Arc<RateLimits>,
    /// The answer route's LLM client, when one is configured (`ANSWER_LLM_BASE`).
    pub answer_llm: Option<ChatClient>,
}

/// Most X-Auth signatures remembered: a subnet's 256 miners reusing a header for 40 s of
/// a 300 s freshness window make about 2,000; each entry takes about 200 bytes.
const X_AUTH_MEMO_CAPACITY: usize = 16_384;

impl AppState {
    /// A state with fresh metrics, whose submit lane holds as many connections as `db`
    /// at most (see [`AppState::with_submit_connections`]).
    ///
    /// `db` names the database and sizes the pool: the state opens its own connections,
    /// like `db`'s but with the statement and lock timeouts that keep database work
    /// within the request timeout ([`SessionTimeouts`]). Connections `db` already holds
    /// are left to its owner.
    pub fn new(db: PgPool, settings: Settings, blocks: BlockSource) -> Self {
        let size = db.options().get_max_connections() as usize;
        let options = SessionTimeouts::for_requests(settings.request_timeout)
            .apply((*db.connect_options()).clone());
        let db = db.options().clone().connect_lazy_with(options);
        // Building a reqwest client fails only when no TLS backend can start, which the
        // server's own HTTPS clients would hit first; startup builds it once before this.
        let answer_llm = settings
            .answer_llm
            .clone()
            .map(|config| ChatClient::new(config).expect("the answer LLM's HTTP client builds"));
        Self {
            submit_db: submit_lane(&db, size),
            db,
            settings: Arc::new(settings),
            blocks,
            metrics: Arc::new(Metrics::new()),
            x_auth_memo: Arc::new(XAuthMemo::new(X_AUTH_MEMO_CAPACITY)),
            metagraph: None,
            rate_limits: Arc::new(RateLimits::default()),
            answer_llm,
        }
    }

    /// This state deciding roles by `metagraph` (REGISTRATION=metagraph).
    pub fn with_metagraph(mut self, metagraph: Metagraph) -> Self {
        self.metagraph = Some(metagraph);
        self
    }

    /// This state with a submit lane of at most `size` connections.
    pub fn with_submit_connections(mut self, size: usize) -> Self {
        self.submit_db = submit_lane(&self.db, size);
        self
    }

    /// The current window, or 503 when the block source is unavailable.
    pub fn window(&self) -> Result<WindowInfo, ApiError> {
        let block = self.blocks.current_block()?;
        Ok(WindowInfo::at(block, self.settings.blocks_per_window))
    }
}

/// A lane to `pool`'s database with its acquire timeout.
fn submit_lane(pool: &PgPool, size: usize) -> Lane {
    Lane::new(
        (*pool.connect_options()).clone(),
        size,
        pool.options().get_acquire_timeout(),
    )
}
