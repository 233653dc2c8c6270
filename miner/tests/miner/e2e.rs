//! `pulse-miner once`, the real binary, against the real server and the X double, window
//! after window.

use xapi::{MetricsPatch, PostPatch};

use crate::helpers::{
    Api, Identity, XDouble, miner_env, once_json, ranked_dataset, run_miner, stdout_ok,
};

/// The ids of the relevant posts `from..=to` (1-based, best first).
fn ids(x: &XDouble, from: usize, to: usize) -> Vec<String> {
    (from..=to).map(|i| x.id(&format!("r{i:02}"))).collect()
}

#[tokio::test]
async fn once_accepts_five_posts_per_window_and_never_resubmits_after_a_restart() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());

    // Window 10: the five best posts, and nothing more.
    let output = run_miner(&["once"], &env).await;
    let first = stdout_ok(&output);
    print!("{first}");
    assert_eq!(
        first.trim(),
        "window 10 [blocks 1000-1099]: quota 5; scraped 13, skipped 1 (no_subnet 1), eligible 12; \
         submitted 5: accepted 5 (selected for validation 5), duplicates 0, rejected 0; 7 eligible left"
    );
    assert_eq!(api.probe.submits(), ids(&x, 1, 5), "the 6th is never sent");
    assert_eq!(api.stored(miner.ss58()).await, ids(&x, 1, 5));

    // Window 11, a new process with the same state directory: the next five, none again.
    api.set_block(1_150);
    let second = stdout_ok(&run_miner(&["once"], &env).await);
    print!("{second}");
    assert_eq!(
        second.trim(),
        "window 11 [blocks 1100-1199]: quota 5; scraped 13, skipped 6 (seen 5, no_subnet 1), eligible 7; \
         submitted 5: accepted 5 (selected for validation 5), duplicates 0, rejected 0; 2 eligible left"
    );
    assert_eq!(api.probe.submits(), ids(&x, 1, 10));

    // Window 11 again: its quota is used, so nothing is scraped or sent.
    let third = stdout_ok(&run_miner(&["once"], &env).await);
    print!("{third}");
    assert_eq!(
        third.trim(),
        "window 11 [blocks 1100-1199]: quota 0 (5 already used in this window); nothing to do"
    );
    assert_eq!(api.probe.submits().len(), 10);
    assert_eq!(api.stored(miner.ss58()).await, ids(&x, 1, 10));
}

#[tokio::test]
async fn a_429_stops_the_window_and_its_post_is_sent_again_in_the_next() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());

    // Another process with this hotkey uses the quota just before the first post arrives.
    api.probe.exhaust_quota_before_next_submit(miner.ss58());
    let output = run_miner(&["once"], &env).await;
    let line = stdout_ok(&output);
    print!("{line}");
    assert!(
        line.starts_with(
            "window 10 [blocks 1000-1099]: quota 5; scraped 13, skipped 1 (no_subnet 1), eligible 12; \
             submitted 1: accepted 0 (selected for validation 0), duplicates 0, rejected 0; 11 eligible left; \
             stopped: rate limited by the server (429: "
        ),
        "{line}"
    );
    assert!(
        line.trim_end().ends_with("; next window at block 1100"),
        "{line}"
    );
    assert_eq!(
        api.probe.submits(),
        ids(&x, 1, 1),
        "one request, then the window stops"
    );
    assert!(api.stored(miner.ss58()).await.is_empty());

    // The refused post was not marked seen: the next window submits it first.
    api.set_block(1_100);
    let report = once_json(&env).await;
    assert_eq!(report["window"], 11);
    assert_eq!(report["accepted"], 5);
    assert!(report["stopped"].is_null(), "{report}");
    assert_eq!(api.stored(miner.ss58()).await, ids(&x, 1, 5));
}

#[tokio::test]
async fn after_a_lost_state_dir_duplicates_cost_nothing_and_a_conflict_is_never_sent_again() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let lost = tempfile::tempdir().unwrap();
    let report = once_json(&miner_env(&api, &x, &miner, lost.path())).await;
    assert_eq!(report["accepted"], 5);

    // The best post gains likes on X, and the state directory is lost.
    x.app
        .update_post(
            "r01",
            &PostPatch {
                metrics: Some(MetricsPatch {
                    likes: Some(9_000),
                    ..MetricsPatch::default()
                }),
                ..PostPatch::default()
            },
        )
        .unwrap();
    let fresh = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, fresh.path());
    api.set_block(1_150);
    let output = run_miner(&["once"], &env).await;
    let line = stdout_ok(&output);
    print!("{line}");
    assert_eq!(
        line.trim(),
        "window 11 [blocks 1100-1199]: quota 5; scraped 13, skipped 1 (no_subnet 1), eligible 12; \
         submitted 10: accepted 5 (selected for validation 5), duplicates 4, rejected 1 (conflict 1); 2 eligible left"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("conflict (409)") && stderr.contains("likes"),
        "{stderr}"
    );
    let mut expected = ids(&x, 1, 5);
    expected.extend(ids(&x, 1, 10));
    assert_eq!(api.probe.submits(), expected);

    // The conflicting post and the duplicates are marked seen: only the last two go out.
    api.set_block(1_250);
    let report = once_json(&env).await;
    assert_eq!(report["skipped"]["seen"], 10, "{report}");
    assert_eq!(report["accepted"], 2, "{report}");
    assert_eq!(report["left"], 0, "{report}");
    let submits = api.probe.submits();
    assert_eq!(submits[15..], ids(&x, 11, 12));
    assert_eq!(api.stored(miner.ss58()).await, ids(&x, 1, 12));
}

#[tokio::test]
async fn a_refused_signature_stops_the_window_and_once_reports_failure() {
    let api = Api::start().await;
    let x = XDouble::with(&ranked_dataset()).await;
    let miner = Identity::new();
    let state = tempfile::tempdir().unwrap();
    let env = miner_env(&api, &x, &miner, state.path());

    api.probe.spoil_next_signature();
    let output = run_miner(&["once"], &env).await;
    assert_eq!(output.status.code(), Some(1));
    let line = String::from_utf8_lossy(&output.stdout);
    assert!(
        line.contains(
            "submitted 1: accepted 0 (selected for validation 0), duplicates 0, rejected 0; 11 eligible left; \
             stopped: the server refused the signature (401: signature does not match the signer and message); \
             check this machine's clock and the hotkey"
        ),
        "{line}"
    );
    assert_eq!(
        api.probe.submits().len(),
        1,
        "no other post meets the same refusal"
    );
    assert!(api.stored(miner.ss58()).await.is_empty());
}
