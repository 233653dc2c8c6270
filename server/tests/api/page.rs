//! The status page at `/`, loaded in headless Chromium (Debian's `chromium` and
//! `chromium-driver`, driven over WebDriver) against a server with known data: what the
//! page shows equals what the database holds, the console stays clean, no request leaves
//! the origin, and the layout holds at phone and desktop widths.

use std::process::Stdio;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::Settings;
use server::db::overview;
use testkit::Signer;
use tokio::process::{Child, Command};

use crate::helpers::{App, START_BLOCK, miner};
use crate::validation::{poll, send_results, submit_posts, validator, verdict};

/// Quota in these tests: small, so a hotkey reaches it.
const QUOTA: u32 = 3;

/// A server in window 10 whose window 9 was judged and published, with posts, a 429 and
/// verdicts in window 10 too.
async fn app_with_history() -> (App, Vec<Signer>, Signer) {
    let app = App::with_settings(Settings {
        validation_probability: 1.0,
        max_submissions: QUOTA,
        validation_verdicts: 1,
        ..Settings::default()
    })
    .await;
    let miners = vec![miner(), miner(), miner()];
    let v = validator(&app).await;

    // Window 9: three miners, the second one's first post fails validation.
    app.server.blocks().set(START_BLOCK - 100);
    for m in &miners {
        submit_posts(&app, m, 2).await;
    }
    judge(&app, &v, miners[1].ss58(), "post_not_found").await;

    // Window 10: publish window 9 (the validators' score read does), then fill a quota and
    // have one more refused.
    app.server.blocks().set(START_BLOCK);
    let published = v.get(&app.client, &app.url("/v2/scores?window=9")).await;
    assert_eq!(published.status(), StatusCode::OK);
    submit_posts(&app, &miners[0], QUOTA as usize).await;
    let refused = app
        .submit(
            &miners[0],
            &testkit::sample_submission(miners[0].ss58(), crate::helpers::unique_post_id()),
        )
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    submit_posts(&app, &miners[2], 1).await;
    judge(&app, &v, miners[2].ss58(), "content_mismatch").await;
    (app, miners, v)
}

/// Passes every post `v` can lease except the first of `fail_miner`'s, failed with `code`.
async fn judge(app: &App, v: &Signer, fail_miner: &str, code: &str) {
    let batch = poll(app, v, 100).await;
    let mut failed = false;
    let mut results = Vec::new();
    for payload in batch["payloads"].as_array().unwrap() {
        if !failed && payload["miner_hotkey"] == fail_miner {
            failed = true;
            results.push(verdict(v, payload, "fail", Some(code)));
        } else {
            results.push(verdict(v, payload, "pass", None));
        }
    }
    assert!(failed, "no post of {fail_miner} was leased");
    send_results(app, v, results).await;
}

#[tokio::test]
async fn the_page_is_served_with_a_strict_policy_and_its_assets_from_the_binary() {
    let app = App::start().await;
    let page = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("No window has been published yet"), "{html}");
    for (path, kind) in [
        ("/assets/pulse.css", "text/css"),
        ("/assets/favicon.svg", "image/svg+xml"),
    ] {
        let asset = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(asset.status(), StatusCode::OK, "{path}");
        assert!(
            asset.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        let body = asset.text().await.unwrap();
        assert!(!body.contains("http://") || path.ends_with(".svg"));
        assert!(!body.contains("url("), "{path} refers to nothing else");
    }
}

#[tokio::test]
async fn chromium_shows_what_the_database_holds() {
    let (app, miners, v) = app_with_history().await;
    let db = &app.server.state.db;
    let fill = overview::window_fill(db, 10, QUOTA).await.unwrap();
    let validation = overview::validation_by_window(db, 0, 10).await.unwrap();
    let standings = overview::standings(db, 9, 50).await.unwrap();
    let validators = overview::validator_activity(db, 0).await.unwrap();
    // The data is what the test made, so a page showing these numbers shows the history.
    assert_eq!(
        (
            fill.submissions,
            fill.miners,
            fill.miners_at_quota,
            fill.refused
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(validation.len(), 2);
    assert_eq!(standings.len(), 3);

    let browser = Browser::start().await;
    let page = &browser.client;
    page.set_window_size(1280, 900).await.unwrap();
    page.goto(&app.url("/")).await.unwrap();

    // The current window's table.
    for (field, value) in [
        ("submissions", fill.submissions),
        ("miners", fill.miners),
        ("miners_at_quota", fill.miners_at_quota),
        ("selected", fill.selected),
        ("refused", fill.refused),
    ] {
        let shown = text(page, &format!("#window-table td[data-field='{field}']")).await;
        assert_eq!(shown, value.to_string(), "{field}");
    }

    // Validation: the table and the chart both hold each window's numbers.
    for w in &validation {
        for (field, value) in [
            ("selected", w.selected),
            ("passed", w.passed),
            ("failed", w.failed),
            ("inconclusive", w.inconclusive),
            ("pending", w.pending),
        ] {
            let cell = format!(
                "#validation-table tr[data-window='{}'] td[data-field='{field}']",
                w.window_index
            );
            assert_eq!(text(page, &cell).await, value.to_string(), "{cell}");
        }
        let drawn: Value = page
            .execute(
                "const g = document.querySelector(`#validation-chart g[data-label='${arguments[0]}']`);
                 return Object.fromEntries([...g.querySelectorAll('rect')]
                     .map(r => [r.dataset.series, Number(r.dataset.value)]));",
                vec![json!(w.window_index.to_string())],
            )
            .await
            .unwrap();
        for (series, value) in [("passed", w.passed), ("failed", w.failed)] {
            let expected = if value == 0 {
                Value::Null
            } else {
                json!(value)
            };
            assert_eq!(
                drawn[series], expected,
                "window {} {series}",
                w.window_index
            );
        }
    }
    let codes = text(
        page,
        "#validation-table tr[data-window='9'] td[data-field='codes']",
    )
    .await;
    assert_eq!(codes, "post_not_found x1");

    // The leaderboard of window 9, in the database's order, with the failure and its code.
    let hotkeys: Value = page
        .execute(
            "return [...document.querySelectorAll('#miners-table tbody tr')].map(r => r.dataset.hotkey);",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<&str> = standings.iter().map(|s| s.miner_hotkey.as_str()).collect();
    assert_eq!(hotkeys, json!(expected));
    for s in &standings {
        let row = format!("#miners-table tr[data-hotkey='{}']", s.miner_hotkey);
        assert_eq!(
            text(page, &format!("{row} td[data-field='score'] .num")).await,
            format!("{:.4}", s.score)
        );
        assert_eq!(
            text(page, &format!("{row} td[data-field='failed_validations']")).await,
            s.failed_validations.to_string()
        );
        assert_eq!(
            text(page, &format!("{row} td[data-field='reasons']")).await,
            s.reasons.clone().unwrap_or_default()
        );
    }
    let cheat = format!("#miners-table tr[data-hotkey='{}']", miners[1].ss58());
    assert_eq!(
        text(page, &format!("{cheat} td[data-field='reasons']")).await,
        "post_not_found x1"
    );

    // The validator's activity.
    assert_eq!(validators.len(), 1);
    let row = format!("#validators-table tr[data-hotkey='{}']", v.ss58());
    assert_eq!(
        text(page, &format!("{row} td[data-field='verdicts']")).await,
        validators[0].verdicts.to_string()
    );
    assert_eq!(
        text(page, &format!("{row} td[data-field='failed']")).await,
        validators[0].failed.to_string()
    );

    browser.assert_clean(&app.url("/")).await;

    // A phone: nothing wider than the screen, every section still there.
    for (width, height) in [(390, 844), (1280, 900)] {
        page.set_window_size(width, height).await.unwrap();
        page.goto(&app.url("/")).await.unwrap();
        let layout: Value = page
            .execute(
                "return { page: document.documentElement.scrollWidth, view: window.innerWidth,
                          sections: [...document.querySelectorAll('main > section')]
                              .filter(s => s.getBoundingClientRect().width > 0).length };",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            layout["page"].as_f64().unwrap() <= layout["view"].as_f64().unwrap(),
            "wider than the screen at {width} px: {layout}"
        );
        assert_eq!(layout["sections"], 4, "{layout}");
        // Kept for a person to look at (target/tmp/status-page-<width>.png).
        let png = page.screenshot().await.unwrap();
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("status-page-{width}.png"));
        std::fs::write(&path, png).unwrap();
    }
    browser.close().await;
}

/// The trimmed text of the element `selector` selects.
async fn text(page: &Client, selector: &str) -> String {
    page.find(fantoccini::Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned()
}

/// Headless Chromium behind a chromedriver of this test's own.
struct Browser {
    client: Client,
    _driver: Child,
}

impl Browser {
    async fn start() -> Self {
        let mut driver = Command::new("chromedriver")
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect(
                "chromedriver is not installed: `apt-get install chromium chromium-driver` \
                 (.ci/run installs them)",
            );
        let port = wait_until_listening(&mut driver).await;
        let url = format!("http://127.0.0.1:{port}");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                            "--disable-dev-shm-usage"]}),
        );
        caps.insert("goog:loggingPrefs".into(), json!({"browser": "ALL"}));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&url)
            .await
            .expect("a Chromium session");
        Self {
            client,
            _driver: driver,
        }
    }

    /// The console has no error or warning, and every resource the page at `origin` loaded
    /// came from its own origin.
    async fn assert_clean(&self, page_url: &str) {
        let logs = self.client.issue_cmd(BrowserLog).await.unwrap();
        let problems: Vec<&Value> = logs
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["level"] != "INFO" && entry["level"] != "DEBUG")
            .collect();
        assert!(problems.is_empty(), "console: {problems:?}");
        let origin = url::Url::parse(page_url)
            .unwrap()
            .origin()
            .ascii_serialization();
        let loaded: Value = self
            .client
            .execute(
                "return performance.getEntriesByType('resource').map(e => e.name);",
                vec![],
            )
            .await
            .unwrap();
        let loaded = loaded.as_array().unwrap();
        assert!(!loaded.is_empty(), "the style sheet and icon load");
        for name in loaded {
            assert!(
                name.as_str().unwrap().starts_with(&origin),
                "{name} leaves {origin}"
            );
        }
    }

    async fn close(self) {
        self.client.close().await.unwrap();
    }
}

/// chromedriver's log endpoint (`POST /session/{id}/se/log`), which the W3C protocol lacks
/// and fantoccini therefore has no method for.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({"type": "browser"}).to_string()),
        )
    }
}

/// Waits for chromedriver to say on its standard output that it listens ("ChromeDriver was
/// started successfully on port N."), and returns that port (`--port=0` lets it choose).
async fn wait_until_listening(driver: &mut Child) -> u16 {
    use tokio::io::AsyncBufReadExt;
    let stdout = driver.stdout.take().expect("piped");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.expect("chromedriver's output") {
        if let Some(rest) = line.split("started successfully on port ").nth(1) {
            let port = rest.trim_end_matches('.').parse().expect("a port number");
            // Keep draining its output so chromedriver never blocks on a full pipe.
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return port;
        }
    }
    panic!("chromedriver exited before it listened");
}
