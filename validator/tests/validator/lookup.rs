//! The validator's X client against the X API double: batching, missing posts, 429.

use std::time::Duration;

use retry::Policy;
use service::Secret;
use validator::lookup::{Found, LookupError, XClient};
use xapi::PostPatch;

use crate::helpers::{TOKEN, XDouble, dataset, post, x_config};

fn client(x: &XDouble) -> XClient {
    XClient::new(
        &x.base,
        Secret::new(TOKEN),
        Duration::from_secs(10),
        Policy::new(vec![Duration::from_millis(10)]),
    )
    .unwrap()
}

fn many_posts(n: usize) -> Vec<xapi::PostLine> {
    (0..n)
        .map(|i| {
            post(
                &format!("p{i}"),
                10 + i as u64,
                &format!("author_{}", i % 7),
                &format!("SN64 chutes note {i}"),
                i as u64,
            )
        })
        .collect()
}

#[tokio::test]
async fn more_than_a_hundred_ids_are_split_into_requests_of_at_most_a_hundred() {
    let x = XDouble::start(&dataset(many_posts(230)), x_config()).await;
    let mut ids: Vec<u64> = x.app.posts().iter().map(|p| p.id).collect();
    // Duplicates are asked once.
    ids.extend_from_slice(&ids.clone()[..5]);
    let results = client(&x).lookup(&ids).await;

    assert_eq!(x.lookups(), [100, 100, 30]);
    assert_eq!(results.len(), 230);
    for view in x.app.posts() {
        let Ok(Found::Live(live)) = &results[&view.id] else {
            panic!("{:?}", results[&view.id])
        };
        assert_eq!(live.text, view.text);
        assert_eq!(live.author, view.author.username);
        assert_eq!(live.created_at, view.created_at.timestamp());
        assert_eq!(live.likes, Some(view.metrics.likes));
        assert_eq!(
            (live.retweets, live.replies, live.followers),
            (Some(40), Some(12), Some(20_000))
        );
    }
}

#[tokio::test]
async fn deleted_and_unknown_ids_come_back_missing() {
    let x = XDouble::start(&dataset(many_posts(3)), x_config()).await;
    let posts = x.app.posts();
    x.app
        .update_post(
            "p1",
            &PostPatch {
                delete: Some(true),
                ..PostPatch::default()
            },
        )
        .unwrap();
    let unknown = posts[2].id + 1;
    let results = client(&x)
        .lookup(&[posts[0].id, posts[1].id, unknown])
        .await;
    assert_eq!(x.lookups(), [3]);
    assert!(matches!(results[&posts[0].id], Ok(Found::Live(_))));
    for id in [posts[1].id, unknown] {
        assert!(
            matches!(&results[&id], Ok(Found::Missing { not_found: true, detail }) if detail.starts_with("Not Found Error")),
            "{:?}",
            results[&id]
        );
    }
}

#[tokio::test]
async fn a_429_fails_the_batch_and_stops_lookups_until_the_reset() {
    let config = xapi::Config {
        lookup_limit: 1,
        ..x_config()
    };
    let x = XDouble::start(&dataset(many_posts(150)), config).await;
    let ids: Vec<u64> = x.app.posts().iter().map(|p| p.id).collect();
    let mut client = client(&x);

    let results = client.lookup(&ids).await;
    // The first request is answered; the second gets 429 and is not retried.
    assert_eq!(x.lookups(), [100, 50]);
    let live = results
        .values()
        .filter(|r| matches!(r, Ok(Found::Live(_))))
        .count();
    assert_eq!(live, 100);
    let limited: Vec<_> = results
        .values()
        .filter_map(|r| match r {
            Err(LookupError::RateLimited { reset_unix }) => Some(*reset_unix),
            _ => None,
        })
        .collect();
    assert_eq!(limited.len(), 50);
    let reset = limited[0].expect("X sends x-rate-limit-reset");
    let now = chrono::Utc::now().timestamp();
    assert!(
        (now..=now + 15 * 60 + 5).contains(&reset),
        "{reset} vs {now}"
    );
    assert_eq!(client.blocked_until(now), Some(reset));

    // Until the reset, nothing more is asked of X.
    let again = client.lookup(&ids[..3]).await;
    assert_eq!(x.lookups().len(), 2);
    assert!(
        again
            .values()
            .all(|r| matches!(r, Err(LookupError::RateLimited { .. })))
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_status_error_not_a_missing_post() {
    let x = XDouble::start(&dataset(many_posts(1)), x_config()).await;
    let mut wrong = XClient::new(
        &x.base,
        Secret::new("nope"),
        Duration::from_secs(5),
        Policy::new(vec![]),
    )
    .unwrap();
    let id = x.app.posts()[0].id;
    let results = wrong.lookup(&[id]).await;
    assert!(
        matches!(&results[&id], Err(LookupError::Status { status: 401, .. })),
        "{:?}",
        results[&id]
    );
}
