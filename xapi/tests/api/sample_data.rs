//! The committed sample dataset, `data/posts.jsonl`: it loads, it has the variety promised in
//! `data/README.md`, and a miner-style search over it behaves.

use std::collections::{HashMap, HashSet};

use chrono::DateTime;
use protocol::post_id::snowflake_time_ms;
use xapi::{Dataset, PostLine, XApi};

use crate::helpers::{TestApp, config, hours_before_anchor};

fn sample() -> Dataset {
    Dataset::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/posts.jsonl")).unwrap()
}

fn count(posts: &[PostLine], pred: impl Fn(&PostLine) -> bool) -> usize {
    posts.iter().filter(|p| pred(p)).count()
}

fn age(post: &PostLine) -> u64 {
    post.age_minutes.unwrap_or(0)
}

#[test]
fn the_sample_dataset_has_at_least_300_varied_posts() {
    let dataset = sample();
    let posts = dataset.posts();
    assert!(posts.len() >= 300, "{}", posts.len());

    let retweets: Vec<&PostLine> = posts.iter().filter(|p| p.retweet_of.is_some()).collect();
    assert!(retweets.len() >= 20, "retweets: {}", retweets.len());
    assert!(retweets.iter().all(|p| p.text.starts_with("RT @")));

    let languages: HashSet<&str> = posts.iter().map(|p| p.lang.as_str()).collect();
    assert!(count(posts, |p| p.lang != "en") >= 25);
    assert!(languages.len() >= 10, "{languages:?}");

    let hour = 60;
    assert!(count(posts, |p| p.id.is_none() && age(p) > 72 * hour) >= 30);
    assert!(count(posts, |p| p.id.is_none() && age(p) > 10 * 24 * hour) >= 15);
    assert!(count(posts, |p| p.id.is_none() && age(p) < 72 * hour) >= 200);
    assert!(count(posts, |p| p.id.is_some()) >= 2);

    assert!(count(posts, |p| p.metrics.likes > 5000) >= 5);
    assert!(count(posts, |p| p.metrics.likes == 0) >= 10);
    assert!(count(posts, |p| p.author.followers > 200_000) >= 5);
    assert!(count(posts, |p| p.author.followers < 10) >= 5);

    let mut per_author: HashMap<&str, usize> = HashMap::new();
    for post in posts {
        *per_author.entry(&post.author.username).or_default() += 1;
    }
    assert!(per_author.values().filter(|&&n| n >= 5).count() >= 10);

    let has = |pred: &dyn Fn(&str) -> bool| posts.iter().any(|p| pred(&p.text));
    assert!(has(&|t| t.contains("\r\n")), "CRLF");
    assert!(
        has(&|t| t
            .match_indices('\r')
            .any(|(i, _)| !t[i + 1..].starts_with('\n'))),
        "lone CR"
    );
    assert!(has(&|t| t.contains('\u{200b}')), "zero-width space");
    for separator in ['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}'] {
        assert!(has(&|t| t.contains(separator)), "{separator:?}");
    }
    assert!(has(&|t| t.contains('\u{a0}')), "no-break space");
    assert!(has(&|t| t != t.trim()), "padded text");
    assert!(has(&|t| t.chars().count() > 1000), "very long text");
    assert!(has(&|t| t.chars().count() == 280), "exactly 280");
    assert!(has(&|t| t.contains("$TAO")), "cashtag");
    assert!(has(&|t| t.contains("#Bittensor")), "hashtag");
    assert!(has(&|t| t.contains(" @")), "mention");
    assert!(has(&|t| t.contains('🚀')), "rocket");
    assert!(has(&|t| t.contains("&amp;")), "X's HTML escaping");
    assert!(has(&|t| t.contains("e\u{301}")), "decomposed accent");
    assert!(has(&|t| t.contains("sportstensr")), "fuzzy misspelling");
    assert!(has(&|t| t.contains("subnet 19")), "subnet by number");
    assert!(has(&|t| t.contains("talisman_ai")), "subnet by name");
    for cue in ["moon", "ATH", "pump", "crash", "exploit", "rug"] {
        assert!(has(&|t| t.contains(cue)), "{cue}");
    }

    let intent = |field: &str, value: Option<&str>| {
        count(posts, |p| {
            let v = &p.intent.as_ref().unwrap()[field];
            match value {
                None => v.is_null(),
                Some(value) => v.as_str() == Some(value),
            }
        })
    };
    assert!(intent("subnet", None) >= 40, "posts without a subnet");
    for tone in [
        "very_bullish",
        "bullish",
        "neutral",
        "bearish",
        "very_bearish",
    ] {
        assert!(intent("tone", Some(tone)) >= 20, "{tone}");
    }
    let subnets: HashSet<u64> = posts
        .iter()
        .filter_map(|p| p.intent.as_ref().unwrap()["subnet"].as_u64())
        .collect();
    assert!(subnets.len() >= 30, "{}", subnets.len());
}

#[test]
fn every_sample_post_gets_a_unique_id_that_encodes_its_date() {
    let app = XApi::new(&sample(), config()).unwrap();
    let posts = app.posts();
    let ids: HashSet<u64> = posts.iter().map(|p| p.id).collect();
    assert_eq!(ids.len(), posts.len());
    for post in &posts {
        let encoded = snowflake_time_ms(post.id) as i64;
        assert_eq!(encoded, post.created_at.timestamp_millis(), "{}", post.key);
        // Minted ids fall on whole seconds, the precision of X's created_at.
        if !post.key.starts_with("fixed-") {
            assert_eq!(encoded % 1000, 0, "{}", post.key);
        }
    }
}

#[tokio::test]
async fn a_miner_style_search_over_the_sample_returns_fresh_english_originals() {
    let app = TestApp::spawn_with(&sample(), config()).await;
    let start = hours_before_anchor(72);
    let body = app
        .search_ok(&[
            (
                "query",
                "(SN45 OR talisman_ai OR chutes OR SN64 OR sportstensor) -is:retweet lang:en",
            ),
            ("start_time", &start),
            ("max_results", "100"),
            ("expansions", "author_id"),
            (
                "tweet.fields",
                "created_at,public_metrics,text,author_id,lang",
            ),
            ("user.fields", "username,name,created_at,public_metrics"),
        ])
        .await;
    let data = body["data"].as_array().unwrap();
    assert!(data.len() >= 20, "{}", data.len());
    let start_ms = DateTime::parse_from_rfc3339(&start)
        .unwrap()
        .timestamp_millis();
    let users = body["includes"]["users"].as_array().unwrap();
    for tweet in data {
        assert_eq!(tweet["lang"], "en");
        assert!(
            !tweet["text"].as_str().unwrap().starts_with("RT @"),
            "{tweet}"
        );
        let created = DateTime::parse_from_rfc3339(tweet["created_at"].as_str().unwrap()).unwrap();
        assert!(created.timestamp_millis() >= start_ms);
        let id: u64 = tweet["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(snowflake_time_ms(id) as i64, created.timestamp_millis());
        assert!(users.iter().any(|u| u["id"] == tweet["author_id"]));
    }
}
