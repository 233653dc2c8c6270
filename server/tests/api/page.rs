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

    // Validation: the table and the chart both hold each window's numbers. Window 9 is
    // published: its numbers are the read API's window summary total; window 10 is still
    // filling: live counts.
    let (status, summary) = crate::helpers::json(
        app.client
            .get(app.url("/v2/signal/windows/9"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{summary}");
    let total = &summary["total"];
    let mut expected_rows = vec![(
        9,
        "published",
        ["selected", "passed", "failed", "inconclusive", "pending"]
            .map(|field| (field, total[field].as_i64().unwrap())),
    )];
    let live = validation.iter().find(|w| w.window_index == 10).unwrap();
    expected_rows.push((
        10,
        "live",
        [
            ("selected", live.selected),
            ("passed", live.passed),
            ("failed", live.failed),
            ("inconclusive", live.inconclusive),
            ("pending", live.pending),
        ],
    ));
    // The data is what the test made: window 9's six posts were all sampled and judged.
    assert_eq!(total["selected"], 6, "{total}");
    assert_eq!(total["failed"], 1, "{total}");
    for (window, source, fields) in expected_rows {
        let row = format!("#validation-table tr[data-window='{window}']");
        let shown_source: Value = page
            .execute(
                "return document.querySelector(arguments[0]).dataset.source;",
                vec![json!(row)],
            )
            .await
            .unwrap();
        assert_eq!(shown_source, source, "{row}");
        for (field, value) in fields {
            let cell = format!("{row} td[data-field='{field}']");
            assert_eq!(text(page, &cell).await, value.to_string(), "{cell}");
        }
        let drawn: Value = page
            .execute(
                "const g = document.querySelector(`#validation-chart g[data-label='${arguments[0]}']`);
                 return Object.fromEntries([...g.querySelectorAll('rect')]
                     .map(r => [r.dataset.series, Number(r.dataset.value)]));",
                vec![json!(window.to_string())],
            )
            .await
            .unwrap();
        for (series, value) in fields {
            if series == "selected" {
                continue;
            }
            let expected = if value == 0 {
                Value::Null
            } else {
                json!(value)
            };
            assert_eq!(drawn[series], expected, "window {window} {series}");
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

    // This server lets any signed hotkey submit, and says so.
    assert_eq!(
        attribute(page, "#registration p.lede", "data-mode").await,
        "open"
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
        assert_eq!(layout["sections"], 6, "{layout}");
        // Kept for a person to look at (target/tmp/status-page-<width>.png).
        let png = page.screenshot().await.unwrap();
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("status-page-{width}.png"));
        std::fs::write(&path, png).unwrap();
    }
    browser.close().await;
}

/// The attribute `name` of the element `selector` selects.
async fn attribute(page: &Client, selector: &str, name: &str) -> String {
    page.find(fantoccini::Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{selector} has no {name}"))
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

/// A post about `subnet` (a registry name) with `sentiment`.
fn post_about(miner: &Signer, subnet: &str, sentiment: f64) -> protocol::api::SubmitRequest {
    let mut post = testkit::sample_submission(miner.ss58(), crate::helpers::unique_post_id());
    post.content = format!("{subnet} this week, post {}", post.post_id);
    post.tokens = [(subnet.to_string(), 1.0)].into_iter().collect();
    post.sentiment = sentiment;
    post
}

async fn submit_about(app: &App, miner: &Signer, subnet: &str, sentiment: f64, n: usize) {
    for _ in 0..n {
        let response = app
            .submit(miner, &post_about(miner, subnet, sentiment))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
    }
}

/// Passes every post `v` can lease but the first of `fail_miner`'s, which fails; the
/// failed validation ids.
async fn judge_failing(app: &App, v: &Signer, fail_miner: Option<&str>) -> Vec<String> {
    let batch = poll(app, v, 100).await;
    let mut failed = Vec::new();
    let mut results = Vec::new();
    for payload in batch["payloads"].as_array().unwrap() {
        if failed.is_empty() && Some(payload["miner_hotkey"].as_str().unwrap()) == fail_miner {
            failed.push(payload["validation_id"].as_str().unwrap().to_owned());
            results.push(verdict(v, payload, "fail", Some("content_mismatch")));
        } else {
            results.push(verdict(v, payload, "pass", None));
        }
    }
    send_results(app, v, results).await;
    failed
}

/// Windows 8 and 9 published with posts about two subnets: talisman_ai (45) bullish, apex
/// (1) bearish then neutral; in window 9 one of a third miner's posts fails. Post text is
/// published. Returns the app and the failed post's validation id.
async fn app_with_signal() -> (App, String) {
    let app = App::with_settings(Settings {
        validation_probability: 1.0,
        max_submissions: 20,
        validation_verdicts: 1,
        publish_post_text: true,
        ..Settings::default()
    })
    .await;
    let (a, b, c) = (miner(), miner(), miner());
    let v = validator(&app).await;

    app.server.blocks().set(START_BLOCK - 200);
    submit_about(&app, &a, "talisman_ai", 0.5, 3).await;
    submit_about(&app, &b, "apex", -0.5, 2).await;
    judge_failing(&app, &v, None).await;

    app.server.blocks().set(START_BLOCK - 100);
    let published = v.get(&app.client, &app.url("/v2/scores?window=8")).await;
    assert_eq!(published.status(), StatusCode::OK);
    submit_about(&app, &a, "talisman_ai", 1.0, 12).await;
    submit_about(&app, &c, "talisman_ai", 0.5, 12).await;
    submit_about(&app, &b, "apex", 0.0, 2).await;
    let failed = judge_failing(&app, &v, Some(c.ss58())).await;

    app.server.blocks().set(START_BLOCK);
    let published = v.get(&app.client, &app.url("/v2/scores?window=9")).await;
    assert_eq!(published.status(), StatusCode::OK);
    (app, failed.into_iter().next().expect("one post failed"))
}

async fn get_json(app: &App, path: &str) -> Value {
    let (status, body) =
        crate::helpers::json(app.client.get(app.url(path)).send().await.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// `{:.3}` of a JSON number, `-` for null (how the page prints sentiments).
fn three(value: &Value) -> String {
    value
        .as_f64()
        .map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"))
}

#[tokio::test]
async fn the_subnets_chart_and_table_show_the_read_apis_series() {
    let (app, _) = app_with_signal().await;
    let summary = get_json(&app, "/v2/signal/windows/9").await;
    let netuids: Vec<u64> = summary["subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["netuid"].as_u64().unwrap())
        .collect();
    // Known data: talisman_ai has the most posts in window 9, then apex.
    assert_eq!(netuids, [45, 1]);

    let browser = Browser::start().await;
    let page = &browser.client;
    page.set_window_size(1280, 900).await.unwrap();
    page.goto(&app.url("/")).await.unwrap();

    let shown: Value = page
        .execute(
            "return [...document.querySelectorAll('#subnets-table thead th[data-netuid]')]
                 .map(th => Number(th.dataset.netuid));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(shown, json!(netuids));

    let mut cells = 0;
    for netuid in &netuids {
        let series = get_json(
            &app,
            &format!("/v2/signal/subnets/{netuid}/series?from_window=0&to_window=9"),
        )
        .await;
        let name = format!("SN{netuid} {}", series["name"].as_str().unwrap());
        let points = series["points"].as_array().unwrap();
        assert_eq!(points.len(), 2, "windows 8 and 9: {series}");
        for point in points {
            let window = point["first_window"].as_i64().unwrap();
            let cell =
                format!("#subnets-table tr[data-window='{window}'] td[data-netuid='{netuid}']");
            assert_eq!(
                text(page, &format!("{cell} [data-field='sentiment']")).await,
                three(&point["mean_sentiment"]),
                "{cell}"
            );
            assert_eq!(
                text(page, &format!("{cell} [data-field='posts']")).await,
                point["posts"].to_string(),
                "{cell}"
            );
            assert_eq!(
                text(page, &format!("{cell} [data-field='confidence']")).await,
                three(&point["confidence"]),
                "{cell}"
            );
            let drawn = attribute(
                page,
                &format!("#subnets-chart g[data-series='{name}'] circle[data-label='{window}']"),
                "data-value",
            )
            .await;
            assert_eq!(drawn, three(&point["mean_sentiment"]), "{name} {window}");
            cells += 1;
        }
    }
    assert_eq!(cells, 4);
    // The failed post's miner is penalised in window 9: its posts leave the signal.
    let talisman_9 = get_json(
        &app,
        "/v2/signal/subnets/45/series?from_window=9&to_window=9",
    )
    .await;
    assert_eq!(talisman_9["points"][0]["posts"], 12, "{talisman_9}");

    browser.assert_clean(&app.url("/")).await;

    // Each subnet links to its page.
    page.find(fantoccini::Locator::Css(
        "#subnets-table th[data-netuid='1'] a",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    assert_eq!(
        page.current_url().await.unwrap().as_str(),
        app.url("/subnets/1")
    );
    assert_eq!(text(page, "#series h2").await, "SN1 apex");
    browser.close().await;
}

#[tokio::test]
async fn a_subnet_page_shows_its_series_and_only_its_validated_posts_page_by_page() {
    let (app, failed) = app_with_signal().await;
    let series = get_json(
        &app,
        "/v2/signal/subnets/45/series?from_window=0&to_window=9",
    )
    .await;
    let expected = get_json(
        &app,
        "/v2/signal/posts?subnet=45&validation=passed&limit=500",
    )
    .await;
    let expected: Vec<&Value> = expected["posts"].as_array().unwrap().iter().collect();
    // Known data: 3 + 12 + 12 posts about talisman_ai, all judged, one failed.
    assert_eq!(expected.len(), 26);
    let passed_in_db = app
        .count(
            "select count(*) from submissions s join validation_tasks t using (validation_id)
             where s.subnet = 'talisman_ai' and t.outcome = 'pass'",
        )
        .await;
    assert_eq!(passed_in_db, 26);

    let browser = Browser::start().await;
    let page = &browser.client;
    for (width, height) in [(390, 844), (1280, 900)] {
        page.set_window_size(width, height).await.unwrap();
        page.goto(&app.url("/subnets/talisman_ai")).await.unwrap();
        assert_eq!(text(page, "#series h2").await, "SN45 talisman_ai");

        // The series: one row and two chart points (mean and weighted) per window.
        let points = series["points"].as_array().unwrap();
        let rows: Value = page
            .execute(
                "return [...document.querySelectorAll('#series-table tbody tr')].map(r => Number(r.dataset.window));",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(rows, json!([9, 8]));
        for point in points {
            let window = point["first_window"].as_i64().unwrap();
            let row = format!("#series-table tr[data-window='{window}']");
            for field in ["posts", "counted_submissions", "passed", "failed"] {
                assert_eq!(
                    text(page, &format!("{row} td[data-field='{field}']")).await,
                    point[field].to_string(),
                    "{row} {field}"
                );
            }
            for field in [
                "mean_sentiment",
                "weighted_sentiment",
                "confidence",
                "checked",
            ] {
                assert_eq!(
                    text(page, &format!("{row} td[data-field='{field}']")).await,
                    three(&point[field]),
                    "{row} {field}"
                );
            }
            assert_eq!(
                attribute(
                    page,
                    &format!("#series-chart g[data-series='mean'] circle[data-label='{window}']"),
                    "data-value"
                )
                .await,
                three(&point["mean_sentiment"])
            );
        }

        // The validated posts, newest first, following "Older posts" to the end: exactly
        // the read API's passed posts, in its order, with their text.
        let mut shown: Vec<Value> = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            let rows: Value = page
                .execute(
                    "return [...document.querySelectorAll('#posts-table tbody tr')].map(r => ({
                         id: r.dataset.validationId, validation: r.dataset.validation,
                         content: r.querySelector('[data-field=content]').textContent.trim() }));",
                    vec![],
                )
                .await
                .unwrap();
            shown.extend(rows.as_array().unwrap().iter().cloned());
            match page.find(fantoccini::Locator::Css("#older")).await {
                Ok(link) => link.click().await.unwrap(),
                Err(_) => break,
            }
        }
        assert_eq!(pages, 2, "20 posts a page");
        assert_eq!(shown.len(), expected.len());
        for (shown, expected) in shown.iter().zip(&expected) {
            assert_eq!(shown["id"], expected["validation_id"]);
            assert_eq!(shown["validation"], "passed");
            assert_eq!(shown["content"], expected["content"]);
        }
        assert!(shown.iter().all(|p| p["id"] != failed.as_str()));
        // Back to the newest page from a later one.
        page.find(fantoccini::Locator::Css("#newest"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        assert_eq!(
            page.current_url().await.unwrap().as_str(),
            app.url("/subnets/45")
        );

        let layout: Value = page
            .execute(
                "return { page: document.documentElement.scrollWidth, view: window.innerWidth };",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            layout["page"].as_f64().unwrap() <= layout["view"].as_f64().unwrap(),
            "wider than the screen at {width} px: {layout}"
        );
        // Kept for a person to look at (target/tmp/subnet-page-<width>.png).
        let png = page.screenshot().await.unwrap();
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("subnet-page-{width}.png"));
        std::fs::write(&path, png).unwrap();
    }
    browser.assert_clean(&app.url("/subnets/45")).await;
    browser.close().await;
}

#[tokio::test]
async fn an_unknown_subnet_is_a_404_page_and_post_text_stays_private_by_default() {
    let app = App::with_settings(Settings {
        validation_probability: 1.0,
        validation_verdicts: 1,
        ..Settings::default()
    })
    .await;
    for (path, status, says) in [
        (
            "/subnets/nosuchsubnet",
            StatusCode::NOT_FOUND,
            "No such subnet",
        ),
        ("/subnets/9999", StatusCode::NOT_FOUND, "No such subnet"),
        (
            "/subnets/45?before=nonsense",
            StatusCode::BAD_REQUEST,
            "Not a page of posts",
        ),
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), status, "{path}");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            response.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .starts_with("default-src 'none'")
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(says), "{path}: {html}");
        assert!(html.contains(r#"href="/assets/pulse.css""#), "same layout");
    }

    // PUBLISH_POST_TEXT is off: the page, like the API, shows no text.
    let m = miner();
    app.server.blocks().set(START_BLOCK - 100);
    let post = post_about(&m, "talisman_ai", 0.5);
    assert_eq!(app.submit(&m, &post).await.status(), StatusCode::OK);
    let v = validator(&app).await;
    judge_failing(&app, &v, None).await;
    let html = app
        .client
        .get(app.url("/subnets/45"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains(&post.post_id), "the validated post is listed");
    assert!(!html.contains(&post.content), "{html}");
    assert!(html.contains("does not publish post text"));
}

#[tokio::test]
async fn the_metagraphs_sync_state_is_on_the_page() {
    use crate::metagraph::{Node, config, server as metagraph_server, sync};
    use std::time::Duration;

    let node = Node::start().await;
    node.register(miner().ss58(), 0, false).await;
    node.register(miner().ss58(), 2_000 * server::metagraph::RAO_PER_TAO, true)
        .await;
    let db = testkit::TestDb::new().await;
    let server = metagraph_server(
        &db,
        server::metagraph::Metagraph::new(config(
            &node.url(),
            Duration::ZERO,
            Duration::from_secs(600),
        )),
    )
    .await;
    let client = reqwest::Client::new();

    // Before the first sync: the page says why there is no metagraph, as the API does.
    let (status, reply) = crate::helpers::json(
        client
            .get(server.url("/v2/metagraph"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&server.url("/")).await.unwrap();
    assert_eq!(
        attribute(page, "#registration p.lede", "data-mode").await,
        "metagraph"
    );
    assert_eq!(
        text(page, "#registration [data-field='reason']").await,
        reply["detail"].as_str().unwrap()
    );

    sync(&server).await;
    let metagraph = crate::helpers::json(
        client
            .get(server.url("/v2/metagraph"))
            .send()
            .await
            .unwrap(),
    )
    .await
    .1;
    for width in [390, 1280] {
        page.set_window_size(width, 900).await.unwrap();
        page.goto(&server.url("/")).await.unwrap();
        assert_eq!(
            text(page, "#metagraph-table td[data-field='netuid']").await,
            metagraph["netuid"].to_string()
        );
        assert_eq!(
            text(page, "#metagraph-table td[data-field='block']").await,
            metagraph["block"].to_string()
        );
        let neurons = metagraph["neurons"].as_array().unwrap();
        assert_eq!(neurons.len(), 2);
        assert_eq!(
            text(page, "#metagraph-table td[data-field='neurons']").await,
            neurons.len().to_string()
        );
        assert_eq!(
            text(page, "#metagraph-table td[data-field='permits']").await,
            "1"
        );
        assert_eq!(
            attribute(
                page,
                "#metagraph-table td[data-field='stale']",
                "data-stale"
            )
            .await,
            metagraph["stale"].to_string()
        );
        // The page was rendered after the reply: its age is at least the reply's, and the
        // sync is fresh (max age 600 s).
        let age: f64 = attribute(page, "#metagraph-table td[data-field='age']", "data-secs")
            .await
            .parse()
            .unwrap();
        assert!(age + 0.5 >= metagraph["age_secs"].as_f64().unwrap());
        assert!(age < 600.0);
        let layout: Value = page
            .execute(
                "return { page: document.documentElement.scrollWidth, view: window.innerWidth };",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            layout["page"].as_f64().unwrap() <= layout["view"].as_f64().unwrap(),
            "wider than the screen at {width} px: {layout}"
        );
    }
    browser.assert_clean(&server.url("/")).await;
    browser.close().await;
}
