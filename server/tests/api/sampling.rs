//! Validation sampling: the selected share follows the configured probability and every
//! selected post has exactly one task.

use std::sync::Arc;

use reqwest::StatusCode;
use server::config::Settings;
use testkit::sample_submission;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::helpers::{App, json, miner, unique_post_id};

/// Submits `n` posts from one miner (quota raised to fit) and returns how many replies
/// said "selected".
async fn submit_many(app: &Arc<App>, n: usize) -> usize {
    let miner = Arc::new(miner());
    let permits = Arc::new(Semaphore::new(16));
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        let (app, miner, permits) = (Arc::clone(app), Arc::clone(&miner), Arc::clone(&permits));
        tasks.spawn(async move {
            let _permit = permits.acquire().await.unwrap();
            let (status, body) = json(
                app.submit(&miner, &sample_submission(miner.ss58(), unique_post_id()))
                    .await,
            )
            .await;
            assert_eq!(status, StatusCode::OK, "{body}");
            body["selected_for_validation"].as_bool().unwrap()
        });
    }
    tasks
        .join_all()
        .await
        .into_iter()
        .filter(|selected| *selected)
        .count()
}

async fn check_tasks_match_selection(app: &App, expected_selected: usize) {
    let selected = app
        .count("select count(*) from submissions where selected_for_validation")
        .await;
    let tasks = app.count("select count(*) from validation_tasks").await;
    let matched = app
        .count("select count(*) from validation_tasks t join submissions s using (validation_id) where s.selected_for_validation")
        .await;
    assert_eq!(selected as usize, expected_selected);
    assert_eq!(
        (tasks, matched),
        (selected, selected),
        "exactly one task per selected post, none for others"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selected_share_of_three_thousand_posts_is_within_binomial_bounds() {
    let n = 3_000;
    let p = 0.2;
    let app = Arc::new(
        App::with_settings(Settings {
            max_submissions: n as u32,
            ..Settings::default()
        })
        .await,
    );
    let selected = submit_many(&app, n).await;
    // Mean 600, standard deviation sqrt(n p (1 - p)) = 21.9; five deviations either side
    // fail by chance less than once in a million runs.
    let (mean, sd) = (n as f64 * p, (n as f64 * p * (1.0 - p)).sqrt());
    let bounds = ((mean - 5.0 * sd) as usize, (mean + 5.0 * sd) as usize);
    assert!(
        bounds.0 <= selected && selected <= bounds.1,
        "{selected} selected, outside {bounds:?}"
    );
    check_tasks_match_selection(&app, selected).await;
    assert_eq!(
        app.count("select count(*) from submissions").await,
        n as i64
    );
}

#[tokio::test]
async fn probability_zero_selects_nothing_and_one_selects_everything() {
    for (p, expected) in [(0.0, 0), (1.0, 30)] {
        let app = Arc::new(
            App::with_settings(Settings {
                validation_probability: p,
                max_submissions: 30,
                ..Settings::default()
            })
            .await,
        );
        assert_eq!(submit_many(&app, 30).await, expected, "p = {p}");
        check_tasks_match_selection(&app, expected).await;
    }
}
