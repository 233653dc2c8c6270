//! A database, a server at a known block, and run settings aimed at it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bench::config::RunArgs;
use bench::mix::Mix;
use bench::report::Report;
use server::AppState;
use server::chain::BlockSource;
use server::config::Settings;
use testkit::{TestDb, TestServer};

/// Block the manual source starts at: window 10, 50 blocks into it.
pub const START_BLOCK: u64 = 1_050;

pub struct Bench {
    pub server: TestServer,
    // Dropped last: the server's pool must close before the database is dropped.
    pub db: TestDb,
}

impl Bench {
    /// A server with a quota of `quota` new posts per hotkey per window.
    pub async fn with_quota(quota: u32) -> Self {
        let db = TestDb::new().await;
        let settings = Settings {
            max_submissions: quota,
            ..Settings::default()
        };
        let server = TestServer::start(&db, settings, START_BLOCK).await;
        Self { server, db }
    }

    /// A server whose block moves on by `blocks` every `every` requests, so a run crosses
    /// windows at a pace set by its requests rather than by the clock.
    pub async fn with_moving_chain(quota: u32, every: u64, blocks: u64) -> Self {
        let db = TestDb::new().await;
        let settings = Settings {
            max_submissions: quota,
            ..Settings::default()
        };
        let state = AppState::new(db.pool().await, settings, BlockSource::manual(START_BLOCK));
        let chain = state.blocks.clone();
        let requests = Arc::new(AtomicU64::new(0));
        let server = TestServer::start_with_app(state, move |app| {
            app.layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    if requests.fetch_add(1, Ordering::Relaxed) % every == every - 1 {
                        chain.advance(blocks);
                    }
                    next.run(request)
                },
            ))
        })
        .await;
        Self { server, db }
    }

    /// Run settings against this server: `requests` measured requests of `mix` from
    /// `hotkeys` hotkeys (half of them Epistula) over `concurrency` connections, no
    /// warm-up, database check on.
    pub fn args(&self, mix: &str, hotkeys: u32, concurrency: u32, requests: u64) -> RunArgs {
        let mut args = RunArgs::new(self.server.url(""));
        args.mix = Mix::parse(mix).expect("a valid mix");
        args.hotkeys = hotkeys;
        args.concurrency = concurrency;
        args.requests = Some(requests);
        args.warmup = std::time::Duration::ZERO;
        args.check_db = Some(self.db.url.clone());
        args.quiet = true;
        args
    }
}

/// Runs `args`, failing the test on a setup error.
pub async fn run(args: &RunArgs) -> Report {
    bench::run::run(args).await.expect("the run completes")
}

/// The measured count of each outcome.
pub fn counts(report: &Report) -> Vec<(String, u64)> {
    report
        .outcomes
        .iter()
        .map(|(name, o)| (name.clone(), o.count))
        .collect()
}

/// Pairs for comparing with [`counts`].
pub fn expected(pairs: &[(&str, u64)]) -> Vec<(String, u64)> {
    let mut pairs: Vec<(String, u64)> = pairs.iter().map(|(n, c)| (n.to_string(), *c)).collect();
    pairs.sort();
    pairs
}

/// Asserts that the run had no error and that every database invariant held.
pub fn assert_clean(report: &Report) {
    assert_eq!(report.errors.total, 0, "{}", report.to_text());
    let check = report.check.as_ref().expect("the database was checked");
    assert!(check.passed(), "{}", report.to_text());
    assert!(report.passed());
}
