//! The X client against the X double: parameters, mapping, grouping, rate limits, tokens.

use std::time::{Duration, Instant};

use miner::scrape::query::{SearchTerms, build_query};
use miner::scrape::{XClient, XError};
use retry::Policy;
use service::{CancellationToken, Secret, unix_now};
use xapi::{Config, Dataset};

use crate::helpers::{TOKEN, XDouble, line};

fn client(x: &XDouble, query: &str) -> XClient {
    XClient::new(
        &x.base,
        Secret::new(TOKEN),
        query.to_owned(),
        100,
        Duration::from_secs(10),
    )
    .unwrap()
    .with_backoff(Policy::new(vec![Duration::from_millis(10)]))
}

fn far() -> i64 {
    unix_now() + 3600
}

fn small_dataset() -> Dataset {
    let mut spanish = line("es", 30, "hola", "dtao sube mucho hoy", 5);
    spanish.lang = "es".into();
    let mut retweet = line("rt", 10, "echo", "RT @alice: Bittensor SN45 ships", 0);
    retweet.retweet_of = Some("sn45".into());
    Dataset::from_posts(vec![
        line("sn45", 120, "alice", "Bittensor SN45 ships", 10),
        line("chutes", 60, "bob", "dtao: chutes is fast", 20),
        spanish,
        retweet,
        line("other", 90, "carol", "nothing to see here", 30),
    ])
    .unwrap()
}

#[tokio::test]
async fn a_search_maps_posts_and_authors_and_the_filters_apply_to_every_keyword() {
    let x = XDouble::with(&small_dataset()).await;
    let terms = SearchTerms {
        keywords: vec!["dtao".into(), "bittensor".into()],
        ..SearchTerms::default()
    };
    let query = build_query(&terms, 512).unwrap();
    let page = client(&x, &query)
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap();
    let posts: Vec<_> = page.posts.into_iter().map(Result::unwrap).collect();
    let ids: Vec<&str> = posts.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        [x.id("chutes"), x.id("sn45")],
        "newest first; no retweet, no Spanish"
    );
    let view = x.app.post("sn45").unwrap();
    let post = &posts[1];
    assert_eq!(post.text, view.text);
    assert_eq!(post.author, "alice");
    assert_eq!(post.created_at, view.created_at.timestamp());
    assert_eq!(post.account_age_days, 400);
    assert_eq!(post.followers, 2_000);
    assert_eq!(
        (post.likes, post.retweets, post.replies, post.quotes),
        (10, 5, 2, 1)
    );
    assert_eq!(post.lang.as_deref(), Some("en"));
    assert!(!post.is_retweet);
    assert_eq!(page.next_token, None);

    // The reference's ungrouped query lets the Spanish post in through its first keyword.
    let ungrouped = client(&x, "dtao OR bittensor -is:retweet lang:en")
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        ungrouped
            .posts
            .iter()
            .any(|p| p.as_ref().unwrap().id == x.id("es"))
    );
}

#[tokio::test]
async fn a_429_is_waited_out_until_x_rate_limit_reset_then_retried() {
    let config = Config {
        search_limit: 1,
        rate_limit_window: Duration::from_secs(2),
        ..Config::new(TOKEN)
    };
    let x = XDouble::start(&small_dataset(), config).await;
    let query = "bittensor -is:retweet lang:en";
    // Another client spends the limit; this one learns of it from a 429.
    client(&x, query)
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .get(format!("{}/tweets/search/recent", x.base))
        .bearer_auth(TOKEN)
        .query(&[("query", query)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let reset: i64 = response.headers()["x-rate-limit-reset"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let page = client(&x, query)
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap();
    assert!(
        unix_now() >= reset,
        "the search went through before the reset at {reset}"
    );
    assert_eq!(page.posts.len(), 1);
}

#[tokio::test]
async fn a_reset_after_the_deadline_or_a_shutdown_ends_the_wait_at_once() {
    let config = Config {
        search_limit: 1,
        rate_limit_window: Duration::from_secs(600),
        ..Config::new(TOKEN)
    };
    let x = XDouble::start(&small_dataset(), config).await;
    let query = "bittensor -is:retweet lang:en";
    client(&x, query)
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap();

    let started = Instant::now();
    let error = client(&x, query)
        .search(None, unix_now() + 5, &CancellationToken::new())
        .await
        .unwrap_err();
    match error {
        XError::RateLimited { reset: Some(reset) } => assert!(reset >= unix_now() + 590),
        other => panic!("expected a rate limit, got {other}"),
    }

    let shutdown = CancellationToken::new();
    shutdown.cancel();
    let error = client(&x, query)
        .search(None, far(), &shutdown)
        .await
        .unwrap_err();
    assert!(matches!(error, XError::Interrupted), "{error}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_wrong_token_and_a_bad_query_are_reported_not_retried() {
    let x = XDouble::with(&small_dataset()).await;
    let wrong = XClient::new(
        &x.base,
        Secret::new("not-the-token"),
        "bittensor".into(),
        10,
        Duration::from_secs(10),
    )
    .unwrap();
    let error = wrong
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, XError::Unauthorized { status: 401, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("X_BEARER_TOKEN"));

    let error = client(&x, "-is:retweet lang:en")
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(
        matches!(error, XError::Status { status: 400, .. }),
        "{error}"
    );
}

#[tokio::test]
async fn an_unreachable_x_is_retried_then_reported_as_transient() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let x = XClient::new(
        &format!("http://127.0.0.1:{port}/2"),
        Secret::new(TOKEN),
        "bittensor".into(),
        10,
        Duration::from_secs(5),
    )
    .unwrap()
    .with_backoff(Policy::new(vec![Duration::from_millis(1)]));
    let error = x
        .search(None, far(), &CancellationToken::new())
        .await
        .unwrap_err();
    assert!(error.is_transient(), "{error}");
}
