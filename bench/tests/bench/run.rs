//! Runs against an in-process server: the outcome counts follow from the mix and the
//! quota, and the database holds its invariants afterwards.

use std::time::Duration;

use crate::helpers::{Bench, START_BLOCK, assert_clean, counts, expected, run};

#[tokio::test]
async fn a_sequential_run_sends_the_mix_in_exact_proportions_with_the_expected_replies() {
    let bench = Bench::with_quota(1_000).await;
    let args = bench.args(
        "new=50,duplicate=20,conflict=20,status=5,quota-status=5",
        4,
        1,
        200,
    );
    let report = run(&args).await;
    assert_clean(&report);
    assert_eq!(
        counts(&report),
        expected(&[
            ("new", 100),
            ("duplicate", 40),
            ("conflict", 40),
            ("status", 10),
            ("quota_status", 10),
        ]),
        "{}",
        report.to_text()
    );
    assert!(
        report.generator.substituted.is_empty(),
        "{}",
        report.to_text()
    );
    let check = report.check.as_ref().unwrap();
    assert_eq!((check.submissions, check.receipts), (100, 100));
}

#[tokio::test]
async fn new_posts_beyond_the_quota_become_over_quota_posts_answered_429() {
    let bench = Bench::with_quota(5).await;
    let args = bench.args("new=1", 4, 8, 30);
    let report = run(&args).await;
    assert_clean(&report);
    assert_eq!(
        counts(&report),
        expected(&[("new", 20), ("rate_limited", 10)]),
        "{}",
        report.to_text()
    );
    assert_eq!(report.generator.substituted["new->over-quota"], 10);
    assert_eq!(report.check.as_ref().unwrap().receipts, 30);
}

#[tokio::test]
async fn a_rerun_with_the_same_seed_starts_from_the_quota_its_hotkeys_already_used() {
    let bench = Bench::with_quota(5).await;
    let args = bench.args("new=1", 3, 4, 10);
    let first = run(&args).await;
    assert_eq!(counts(&first), expected(&[("new", 10)]));
    // The same three hotkeys have 5 left of 15: five new, then refusals.
    let second = run(&args).await;
    assert_clean(&second);
    assert_eq!(
        counts(&second),
        expected(&[("new", 5), ("rate_limited", 5)]),
        "{}",
        second.to_text()
    );
    // In the next window the quota is whole again.
    bench.server.blocks().set(START_BLOCK + 100);
    let third = run(&args).await;
    assert_clean(&third);
    assert_eq!(counts(&third), expected(&[("new", 10)]));
    assert_eq!(third.server.first_window, START_BLOCK / 100 + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_concurrent_mixed_run_across_window_changes_has_no_unexpected_reply() {
    // A new window every 60 requests or so: requests planned in one window are answered
    // in the next, hotkeys fill up and start again.
    let bench = Bench::with_moving_chain(5, 3, 5).await;
    let mut args = bench.args(
        "new=50,over-quota=20,duplicate=15,conflict=10,status=3,quota-status=2",
        6,
        6,
        400,
    );
    args.warmup = Duration::from_millis(100);
    let report = run(&args).await;
    assert_clean(&report);
    assert!(
        report.server.last_window > report.server.first_window + 3,
        "{}",
        report.to_text()
    );
    let total: u64 = report.outcomes.values().map(|o| o.count).sum();
    assert_eq!(total, 400);
    for outcome in [
        "new",
        "rate_limited",
        "duplicate",
        "conflict",
        "quota_status",
    ] {
        assert!(
            report.outcomes.contains_key(outcome),
            "no {outcome}: {}",
            report.to_text()
        );
    }
}

#[tokio::test]
async fn a_timed_run_stops_after_its_duration_and_reports_its_rate() {
    let bench = Bench::with_quota(1_000_000).await;
    let mut args = bench.args("new=9,status=1", 16, 4, 1);
    args.requests = None;
    args.duration = Some(Duration::from_millis(500));
    args.warmup = Duration::from_millis(200);
    let report = run(&args).await;
    assert_clean(&report);
    assert!(report.warmup_requests > 0, "{}", report.to_text());
    assert!(report.requests > 0 && report.throughput > 0.0);
    assert!(
        (0.4..2.0).contains(&report.elapsed_secs),
        "{}",
        report.to_text()
    );
    let json: serde_json::Value = serde_json::to_value(&report).unwrap();
    assert!(
        json["outcomes"]["new"]["latency_ms"]["p99"]
            .as_f64()
            .unwrap()
            > 0.0
    );
}

#[tokio::test]
async fn presigned_posts_cover_a_run_so_nothing_is_signed_while_it_runs() {
    let bench = Bench::with_quota(1_000).await;
    let (hotkeys, presign) = (10, 20);
    let mut args = bench.args("new=1", hotkeys, 4, 50);
    args.epistula_share = 1.0;
    args.presign = presign;
    let report = run(&args).await;
    assert_clean(&report);
    assert_eq!(
        counts(&report),
        expected(&[("new", 50)]),
        "{}",
        report.to_text()
    );
    // One X-Auth signature per hotkey (to read its quota before the run) and its presigned
    // posts; 50 posts over 10 hotkeys never bring one of them below --sign-ahead (2), so
    // no post is signed after the start. Without --presign the count would be
    // 10 + 10 x 2 ahead + 50 replacements.
    assert_eq!(
        report.generator.signatures,
        u64::from(hotkeys + hotkeys * presign),
        "{}",
        report.to_text()
    );
}
