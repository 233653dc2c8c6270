//! `pulse-bench burst` against an in-process server whose chain moves on only when the
//! generator reads the public status, so every burst lands inside the window that opened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bench::burst::BurstReport;
use bench::config::BurstArgs;
use server::AppState;
use server::chain::BlockSource;
use server::config::{Registration, Settings};
use testkit::{TestDb, TestServer};

use crate::helpers::START_BLOCK;

/// A server with `settings` whose block moves on by a third of a window at every public
/// status read (the burst's wait for the next window), and never during a burst.
async fn server(db: &TestDb, settings: Settings) -> (TestServer, Arc<AtomicU64>) {
    let per_read = settings.blocks_per_window / 3 + 1;
    let state = AppState::new(db.pool().await, settings, BlockSource::manual(START_BLOCK));
    let chain = state.blocks.clone();
    let reads = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&reads);
    let server = TestServer::start_with_app(state, move |app| {
        app.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let public_status = request.uri().path() == "/v2/status"
                    && !request.headers().contains_key("Epistula-Signature")
                    && !request.headers().contains_key("X-Auth-Signature");
                if public_status {
                    counted.fetch_add(1, Ordering::Relaxed);
                    chain.advance(per_read);
                }
                next.run(request)
            },
        ))
    })
    .await;
    (server, reads)
}

fn args(server: &TestServer, db: &TestDb, hotkeys: u32, posts: u32, windows: u32) -> BurstArgs {
    let mut args = BurstArgs::new(server.url(""));
    args.hotkeys = hotkeys;
    args.posts = posts;
    args.windows = windows;
    args.check_db = Some(db.url.clone());
    args.quiet = true;
    args
}

async fn burst(args: &BurstArgs) -> BurstReport {
    bench::burst::run(args).await.expect("the burst runs")
}

#[tokio::test]
async fn each_window_counts_exactly_the_quota_of_every_hotkey_and_refuses_the_rest() {
    let db = TestDb::new().await;
    let settings = Settings {
        max_submissions: 5,
        ..Settings::default()
    };
    let (server, _) = server(&db, settings).await;
    let report = burst(&args(&server, &db, 24, 6, 3)).await;
    assert!(report.passed(), "{}", report.to_text());
    assert_eq!(report.windows.len(), 3);
    let windows: Vec<u64> = report.windows.iter().map(|w| w.window).collect();
    assert!(
        windows.windows(2).all(|pair| pair[1] > pair[0]),
        "{windows:?}"
    );
    for window in &report.windows {
        assert_eq!(
            (window.new, window.rate_limited, window.errors),
            (120, 24, 0)
        );
    }
    let check = report.check.as_ref().expect("checked");
    assert_eq!((check.submissions, check.receipts), (360, 432));
    let stored: i64 = sqlx::query_scalar("select count(*) from submissions")
        .fetch_one(&db.pool().await)
        .await
        .unwrap();
    assert_eq!(stored, 360);
}

#[tokio::test]
async fn a_burst_that_does_not_get_its_expected_replies_fails() {
    let db = TestDb::new().await;
    // Closed registration with no miner registered: every post is refused with 403.
    let settings = Settings {
        max_submissions: 5,
        registration: Registration::Closed,
        ..Settings::default()
    };
    let (server, _) = server(&db, settings).await;
    let report = burst(&args(&server, &db, 4, 6, 1)).await;
    assert!(!report.passed(), "{}", report.to_text());
    assert_eq!(report.windows[0].errors, 24, "{}", report.to_text());
    assert_eq!(report.windows[0].new, 0);
    assert!(
        report.windows[0].error_examples[0].contains("403"),
        "{}",
        report.to_text()
    );
    assert!(report.to_text().contains("FAILED"));
}
