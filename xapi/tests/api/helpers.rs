//! A test double on a free port, a small dataset whose every post is known, and request helpers.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::{RequestBuilder, Response};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use xapi::{AuthorLine, Config, Dataset, Metrics, PostLine, XApi};

/// Bearer token the test doubles expect.
pub const TOKEN: &str = "test-bearer-token";

/// Anchor of every test double: 2025-11-26T00:00:00Z.
pub const ANCHOR_UNIX: i64 = 1_764_115_200;

/// The fixed anchor as a date.
pub fn anchor() -> DateTime<Utc> {
    DateTime::from_timestamp(ANCHOR_UNIX, 0).unwrap()
}

/// RFC 3339 (seconds, `Z`) of `anchor - hours`.
pub fn hours_before_anchor(hours: i64) -> String {
    (anchor() - Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Defaults with the test token and the fixed anchor.
pub fn config() -> Config {
    Config {
        anchor: Some(anchor()),
        ..Config::new(TOKEN)
    }
}

/// A dataset line by `username` (whose other author fields derive from the name so that every
/// line by one author agrees).
pub fn post(key: &str, age_minutes: u64, username: &str, text: &str) -> PostLine {
    PostLine {
        key: key.to_owned(),
        id: None,
        age_minutes: Some(age_minutes),
        lang: "en".to_owned(),
        text: text.to_owned(),
        retweet_of: None,
        author: AuthorLine {
            username: username.to_owned(),
            name: format!("{username} (test)"),
            account_age_days: 100 + username.len() as u64,
            followers: 1000 * username.len() as u64,
            following: 7,
            tweets: 70,
            listed: 1,
        },
        metrics: Metrics {
            likes: 10,
            retweets: 3,
            replies: 2,
            quotes: 1,
            bookmarks: 0,
            impressions: 500,
        },
        intent: None,
    }
}

/// The small dataset most tests use. Ages are minutes before the anchor.
pub fn fixture() -> Dataset {
    let mut posts = vec![
        post("chutes-new", 10, "alice", "SN64 chutes to the moon 🚀"),
        post("chutes-old", 80 * 60, "bob", "chutes old news"),
        PostLine {
            lang: "es".to_owned(),
            ..post("chutes-es", 30, "carol", "chutes está volando")
        },
        PostLine {
            retweet_of: Some("chutes-new".to_owned()),
            metrics: Metrics {
                retweets: 3,
                ..Metrics::default()
            },
            ..post(
                "chutes-rt",
                5,
                "dave",
                "RT @alice: SN64 chutes to the moon 🚀",
            )
        },
        post("targon-1", 60, "alice", "Targon latency down"),
        post("nosub-1", 20, "erin", "sourdough day"),
        PostLine {
            id: Some("1860000000000000001".to_owned()),
            age_minutes: None,
            ..post("fixed-1", 0, "alice", "SN45 launch day")
        },
        post("week-old", 8 * 24 * 60, "bob", "chutes from last week"),
    ];
    for n in 0..25 {
        posts.push(post(
            &format!("bulk-{n:02}"),
            100 + n,
            "bulker",
            &format!("SN45 bulk post number {n}"),
        ));
    }
    Dataset::from_posts(posts).unwrap()
}

/// A double serving over HTTP until dropped.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// In-process handle sharing the served state.
    pub app: XApi,
    /// HTTP client.
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    /// Serves `dataset` with `config`. The listener is bound before the server task starts, so
    /// requests can be made at once.
    pub async fn spawn_with(dataset: &Dataset, config: Config) -> Self {
        let app = XApi::new(dataset, config).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(xapi::serve(listener, app.clone(), async {
            stopped.await.ok();
        }));
        Self {
            base,
            app,
            client: reqwest::Client::new(),
            _shutdown: shutdown,
        }
    }

    /// Serves the fixture with the default test configuration.
    pub async fn spawn() -> Self {
        Self::spawn_with(&fixture(), config()).await
    }

    /// A GET with the bearer token.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client
            .get(format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
    }

    /// A recent search with these parameters.
    pub async fn search(&self, params: &[(&str, &str)]) -> Response {
        self.get("/2/tweets/search/recent")
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// A recent search that must succeed; its JSON body.
    pub async fn search_ok(&self, params: &[(&str, &str)]) -> Value {
        let response = self.search(params).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    /// A post lookup with these parameters.
    pub async fn lookup(&self, params: &[(&str, &str)]) -> Response {
        self.get("/2/tweets").query(params).send().await.unwrap()
    }

    /// Id of a fixture post, by key.
    pub fn id(&self, key: &str) -> String {
        self.app.post(key).unwrap().id.to_string()
    }

    /// Keys of the posts in a search or lookup body, in order.
    pub fn keys(&self, body: &Value) -> Vec<String> {
        let posts = self.app.posts();
        body["data"]
            .as_array()
            .map(|data| {
                data.iter()
                    .map(|tweet| {
                        let id: u64 = tweet["id"].as_str().unwrap().parse().unwrap();
                        posts.iter().find(|p| p.id == id).unwrap().key.clone()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}
