//! `pulse-bench burst`: a whole subnet submitting at the moment a window opens.
//!
//! Real miners do not spread their posts over a window: they send their quota as soon as a
//! window opens, all of them at once. A burst run reproduces that: `--hotkeys` miners each
//! send `--posts` new posts back to back over a fresh connection of their own, the moment
//! the server's window changes, for `--windows` windows. With the quota `q` (read from the
//! server), each hotkey's first `q` posts must be answered `200 new` in the window just
//! opened and the rest `429`, so a window must count exactly `hotkeys × q` new posts and
//! `hotkeys × (posts − q)` refusals; anything else is an error. Afterwards the database is
//! checked (the invariants of [`crate::check`], the receipts, and the stored posts per
//! window).
//!
//! With `--register-on`, the hotkeys are first registered on a `pulse-chain` double's
//! subnet, so the same burst measures a server with `REGISTRATION=metagraph` against one
//! with open registration: the difference is the cost of the registration check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http::{HeaderMap, Method};
use protocol::api::StatusResponse;
use protocol::auth::{self, AuthForm};
use serde::{Deserialize, Serialize};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::check::{self, CheckReport};
use crate::config::BurstArgs;
use crate::conn::{Connection, Endpoint};
use crate::keys::{self, BenchKey, PostFactory};
use crate::plan::{Reply, Request};
use crate::receipts::{Fate, Receipt};
use crate::report::histogram;

/// How often the server's status is read while waiting for the next window. A window is
/// at least one block (a second with `BLOCK_TIME_SECS=1`), so 10 ms puts the burst within
/// 1% of a block of the window's start.
const POLL_EVERY: Duration = Duration::from_millis(10);
/// Error messages kept per window.
const EXAMPLES: usize = 5;

/// The whole burst run's result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BurstReport {
    /// The server.
    pub url: String,
    /// Hotkeys submitting.
    pub hotkeys: u32,
    /// Posts each hotkey sends per window.
    pub posts_per_hotkey: u32,
    /// The server's quota (new posts per hotkey per window).
    pub quota: u32,
    /// Whether the hotkeys were registered on a chain double first.
    pub registered_on_chain: bool,
    /// One entry per burst.
    pub windows: Vec<WindowBurst>,
    /// Latency of every reply of every burst, in milliseconds.
    pub latency_ms: Percentiles,
    /// The database check, when asked for.
    pub check: Option<CheckReport>,
    /// Windows whose stored submissions of the run's hotkeys differ from the new replies.
    pub stored_mismatches: Vec<String>,
}

/// What one burst got back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WindowBurst {
    /// The window that opened.
    pub window: u64,
    /// `200 new` replies.
    pub new: u64,
    /// `429` replies.
    pub rate_limited: u64,
    /// Replies that were neither as expected (wrong status, wrong window, wrong position).
    pub errors: u64,
    /// Examples of the errors.
    pub error_examples: Vec<String>,
    /// Time from the window's first request to its last reply, in milliseconds.
    pub wall_ms: f64,
    /// Replies per second over that time.
    pub per_sec: f64,
    /// Latency of this burst's replies, in milliseconds.
    pub latency_ms: Percentiles,
}

/// A latency summary.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Slowest.
    pub max: f64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1e3;
        Self {
            p50: ms(histogram.value_at_quantile(0.50)),
            p99: ms(histogram.value_at_quantile(0.99)),
            max: ms(histogram.max()),
        }
    }
}

impl BurstReport {
    /// Expected new posts per window.
    pub fn expected_new(&self) -> u64 {
        u64::from(self.hotkeys) * u64::from(self.quota.min(self.posts_per_hotkey))
    }

    /// Expected 429s per window.
    pub fn expected_rate_limited(&self) -> u64 {
        u64::from(self.hotkeys) * u64::from(self.posts_per_hotkey.saturating_sub(self.quota))
    }

    /// Every window had exactly the expected replies, and the database holds them.
    pub fn passed(&self) -> bool {
        self.windows.iter().all(|w| {
            w.errors == 0
                && w.new == self.expected_new()
                && w.rate_limited == self.expected_rate_limited()
        }) && self.stored_mismatches.is_empty()
            && self.check.as_ref().is_none_or(CheckReport::passed)
    }

    /// The human-readable report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "pulse-bench burst {}: {} hotkeys x {} posts at each window's start (quota {}){}",
            self.url,
            self.hotkeys,
            self.posts_per_hotkey,
            self.quota,
            if self.registered_on_chain {
                ", hotkeys registered on the chain double"
            } else {
                ""
            }
        );
        let _ = writeln!(
            out,
            "expected per window: {} new, {} rate_limited",
            self.expected_new(),
            self.expected_rate_limited()
        );
        let _ = writeln!(
            out,
            "{:>8} {:>6} {:>6} {:>6} {:>9} {:>8} {:>8} {:>8} {:>8}",
            "window", "new", "429", "errors", "wall ms", "req/s", "p50 ms", "p99 ms", "max ms"
        );
        for w in &self.windows {
            let _ = writeln!(
                out,
                "{:>8} {:>6} {:>6} {:>6} {:>9.1} {:>8.0} {:>8.1} {:>8.1} {:>8.1}",
                w.window,
                w.new,
                w.rate_limited,
                w.errors,
                w.wall_ms,
                w.per_sec,
                w.latency_ms.p50,
                w.latency_ms.p99,
                w.latency_ms.max
            );
            for example in &w.error_examples {
                let _ = writeln!(out, "         error: {example}");
            }
        }
        let _ = writeln!(
            out,
            "all replies: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.latency_ms.p50, self.latency_ms.p99, self.latency_ms.max
        );
        for mismatch in &self.stored_mismatches {
            let _ = writeln!(out, "stored: {mismatch}");
        }
        if let Some(check) = &self.check {
            out.push_str(&check.to_text());
        }
        let _ = writeln!(out, "{}", if self.passed() { "PASSED" } else { "FAILED" });
        out
    }
}

/// One hotkey's requests for one burst, signed before the window opens.
struct Batch {
    key: u32,
    posts: Vec<(u64, Request)>,
}

/// What one request of a burst came back as.
struct Answer {
    key: u32,
    position: u32,
    post_id: u64,
    latency: Duration,
    reply: Reply,
    done: Instant,
}

/// Runs the burst `args` describes.
pub async fn run(args: &BurstArgs) -> anyhow::Result<BurstReport> {
    let base = args.url.trim_end_matches('/');
    let endpoint = Endpoint::parse(base, args.timeout)?;
    let status_url = reqwest::Url::parse(&format!("{base}/v2/status"))?;
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .tcp_nodelay(true)
        .build()
        .context("cannot build the HTTP client")?;
    let server = crate::run::fetch_status(&client, &status_url, HeaderMap::new())
        .await
        .with_context(|| format!("cannot read the server's status at {status_url}"))?;
    let quota = server.max_submissions;
    let keys = keys::derive(args.seed, args.hotkeys, args.epistula_share);
    if let Some(chain) = &args.register_on {
        register(&client, chain, args, &keys).await?;
        progress(
            args,
            &format!(
                "registered {} hotkeys on netuid {} at {chain}",
                keys.len(),
                args.netuid
            ),
        );
        // The server admits a hotkey once its metagraph sync has seen it (every
        // METAGRAPH_SYNC_BLOCKS): a burst before that would measure 403s.
        wait_until_admitted(&client, &status_url, args, &keys).await?;
    }
    progress(
        args,
        &format!(
            "server: block {}, window {} ({} blocks of {} s), quota {quota}",
            server.window.current_block,
            server.window.current_window,
            server.window.blocks_per_window,
            server.block_time_secs
        ),
    );

    let posts = PostFactory::new(SystemTime::now());
    let mut receipts = Vec::new();
    let mut windows = Vec::new();
    let mut all = histogram();
    let mut last_window = current_window(&client, &status_url).await?;
    for round in 0..args.windows {
        let batches = sign(&keys, &posts, args);
        let window = wait_for_next_window(&client, &status_url, last_window).await?;
        last_window = window;
        progress(
            args,
            &format!(
                "window {window} opened: burst {} of {}",
                round + 1,
                args.windows
            ),
        );
        let (answers, started) = fire(&endpoint, batches).await;
        let burst = tally(
            window,
            quota,
            &keys,
            answers,
            started,
            &mut receipts,
            &mut all,
        );
        progress(
            args,
            &format!(
                "window {window}: {} new, {} rate_limited, {} errors, p99 {:.1} ms",
                burst.new, burst.rate_limited, burst.errors, burst.latency_ms.p99
            ),
        );
        windows.push(burst);
    }

    let (check, stored_mismatches) = match &args.check_db {
        Some(url) => {
            let pool = check::connect(url).await?;
            let result = check::check(&pool, quota, Some(&receipts)).await;
            let stored = stored_per_window(&pool, &keys, &windows).await;
            pool.close().await;
            (Some(result?), stored?)
        }
        None => (None, Vec::new()),
    };
    Ok(BurstReport {
        url: base.to_string(),
        hotkeys: args.hotkeys,
        posts_per_hotkey: args.posts,
        quota,
        registered_on_chain: args.register_on.is_some(),
        windows,
        latency_ms: Percentiles::of(&all),
        check,
        stored_mismatches,
    })
}

fn progress(args: &BurstArgs, line: &str) {
    if !args.quiet {
        eprintln!("pulse-bench: {line}");
    }
}

/// Registers every hotkey as a miner (no permit, no stake) on the chain double's subnet.
async fn register(
    client: &reqwest::Client,
    chain: &str,
    args: &BurstArgs,
    keys: &[BenchKey],
) -> anyhow::Result<()> {
    let url = format!(
        "{}/admin/subnets/{}/neurons",
        chain.trim_end_matches('/'),
        args.netuid
    );
    for key in keys {
        let mut request = client.post(&url).json(&serde_json::json!({
            "hotkey": key.hotkey.ss58(),
            "stake": 0,
            "validator_permit": false,
        }));
        if let Some(token) = &args.chain_admin_token {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("cannot reach the chain double at {url}"))?;
        let status = response.status();
        // 409: registered by an earlier run with the same seed, which is what is wanted.
        if !status.is_success() && status.as_u16() != 409 {
            let body = response.text().await.unwrap_or_default();
            bail!(
                "the chain double refused to register {}: {status} {body}",
                key.hotkey.ss58()
            );
        }
    }
    Ok(())
}

/// Waits until the server admits every hotkey (a signed status read answers 200 rather
/// than 403), i.e. until its metagraph sync has picked the registrations up.
async fn wait_until_admitted(
    client: &reqwest::Client,
    status_url: &reqwest::Url,
    args: &BurstArgs,
    keys: &[BenchKey],
) -> anyhow::Result<()> {
    let deadline = Instant::now() + args.admission_timeout;
    let mut pending: Vec<&BenchKey> = keys.iter().collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for key in pending {
            let headers = auth::sign_epistula_with(
                &key.hotkey,
                b"",
                &Uuid::new_v4().to_string(),
                unix_ms(SystemTime::now()),
                "",
            );
            let response = client
                .get(status_url.clone())
                .headers(headers)
                .send()
                .await?;
            if !response.status().is_success() {
                still.push(key);
            }
        }
        pending = still;
        if pending.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            bail!(
                "the server still refuses {} of the registered hotkeys after {} s (is it \
                 running with REGISTRATION=metagraph on netuid {} of this chain?)",
                pending.len(),
                args.admission_timeout.as_secs(),
                args.netuid
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

fn unix_ms(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64
}

async fn current_window(client: &reqwest::Client, url: &reqwest::Url) -> anyhow::Result<u64> {
    let status: StatusResponse = crate::run::fetch_status(client, url, HeaderMap::new()).await?;
    Ok(status.window.current_window)
}

/// Polls the public status until the server's window is later than `after`.
async fn wait_for_next_window(
    client: &reqwest::Client,
    url: &reqwest::Url,
    after: u64,
) -> anyhow::Result<u64> {
    loop {
        let window = current_window(client, url).await?;
        if window > after {
            return Ok(window);
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Signs every hotkey's posts for the next burst, so no signing happens while it runs.
/// X-Auth hotkeys sign once and reuse the headers for all their posts, as the reference
/// miner does; Epistula hotkeys sign each body.
fn sign(keys: &[BenchKey], posts: &PostFactory, args: &BurstArgs) -> Vec<Batch> {
    let now = SystemTime::now();
    keys.iter()
        .enumerate()
        .map(|(i, key)| {
            let xauth = (key.form == AuthForm::XAuth)
                .then(|| auth::sign_x_auth(&key.hotkey, &args.auth_message_prefix, now));
            let posts = (0..args.posts)
                .map(|_| {
                    let post = posts.next(key.hotkey.ss58());
                    let headers = match &xauth {
                        Some(headers) => headers.clone(),
                        None => auth::sign_epistula_with(
                            &key.hotkey,
                            &post.body,
                            &Uuid::new_v4().to_string(),
                            unix_ms(now),
                            "",
                        ),
                    };
                    let request = Request {
                        method: Method::POST,
                        path: "/v2/submit",
                        headers,
                        body: Bytes::clone(&post.body),
                    };
                    (post.post_id, request)
                })
                .collect();
            Batch {
                key: i as u32,
                posts,
            }
        })
        .collect()
}

/// Sends every batch at once: one task and one fresh connection per hotkey, its posts one
/// after another, as a miner sends its quota when a window opens.
async fn fire(endpoint: &Endpoint, batches: Vec<Batch>) -> (Vec<Answer>, Instant) {
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for batch in batches {
        let mut connection = Connection::new(endpoint.clone());
        tasks.spawn(async move {
            let mut answers = Vec::with_capacity(batch.posts.len());
            for (position, (post_id, request)) in batch.posts.into_iter().enumerate() {
                let sent = Instant::now();
                let reply = connection.send(request).await;
                let done = Instant::now();
                answers.push(Answer {
                    key: batch.key,
                    position: position as u32,
                    post_id,
                    latency: done - sent,
                    reply,
                    done,
                });
            }
            answers
        });
    }
    let mut answers = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        answers.extend(joined.expect("a burst task does not panic"));
    }
    (answers, started)
}

/// Checks every answer of the burst in `window`: position `< quota` must be `200 new`,
/// the rest `429`, all in `window`. Records receipts and latencies.
fn tally(
    window: u64,
    quota: u32,
    keys: &[BenchKey],
    answers: Vec<Answer>,
    started: Instant,
    receipts: &mut Vec<Receipt>,
    all: &mut Histogram<u64>,
) -> WindowBurst {
    let mut latency = histogram();
    let (mut new, mut rate_limited, mut errors) = (0, 0, 0);
    let mut examples = Vec::new();
    let mut last = started;
    for answer in answers {
        last = last.max(answer.done);
        let micros = (answer.latency.as_micros() as u64).clamp(1, 600_000_000);
        latency.record(micros).expect("clamped into range");
        all.record(micros).expect("clamped into range");
        let hotkey = keys[answer.key as usize].hotkey.ss58().to_string();
        let expect_new = answer.position < quota;
        let (fate, problem) = judge(window, expect_new, &answer.reply);
        match fate {
            Fate::New { .. } if problem.is_none() => new += 1,
            Fate::Refused if problem.is_none() => rate_limited += 1,
            _ => {}
        }
        if let Some(problem) = problem {
            errors += 1;
            if examples.len() < EXAMPLES {
                examples.push(format!(
                    "{hotkey} post {} (#{} of its burst): {problem}",
                    answer.post_id,
                    answer.position + 1
                ));
            }
        }
        receipts.push(Receipt {
            hotkey,
            post_id: answer.post_id.to_string(),
            fate,
        });
    }
    let wall = last - started;
    let count = latency.len();
    WindowBurst {
        window,
        new,
        rate_limited,
        errors,
        error_examples: examples,
        wall_ms: wall.as_secs_f64() * 1e3,
        per_sec: count as f64 / wall.as_secs_f64().max(1e-9),
        latency_ms: Percentiles::of(&latency),
    }
}

/// What a reply means for the post's fate, and what was wrong with it, if anything.
fn judge(window: u64, expect_new: bool, reply: &Reply) -> (Fate, Option<String>) {
    let (status, body) = match reply {
        Reply::Transport(error) => return (Fate::Unknown, Some(format!("no reply: {error}"))),
        Reply::Http { status, body } => (*status, body),
    };
    let text = String::from_utf8_lossy(body);
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let replied_window = json["current_window"].as_u64();
    let fate = match status {
        200 if json["status"] == "new" => {
            let validation_id = json["validation_id"]
                .as_str()
                .and_then(|id| Uuid::parse_str(id).ok());
            let selected = json["selected_for_validation"].as_bool();
            match (validation_id, selected, replied_window) {
                (Some(validation_id), Some(selected), Some(window)) => Fate::New {
                    validation_id,
                    selected,
                    window,
                },
                _ => {
                    return (
                        Fate::Unknown,
                        Some(format!("200 without a receipt: {text}")),
                    );
                }
            }
        }
        429 => Fate::Refused,
        _ => return (Fate::Unknown, Some(format!("{status}: {text}"))),
    };
    let problem = if replied_window != Some(window) {
        Some(format!(
            "answered in window {replied_window:?}, not in the window {window} that opened"
        ))
    } else if expect_new != matches!(fate, Fate::New { .. }) {
        Some(format!(
            "expected {}, got {status}: {text}",
            if expect_new { "200 new" } else { "429" }
        ))
    } else {
        None
    };
    (fate, problem)
}

/// Compares the stored submissions of the run's hotkeys per window with the bursts' new
/// replies.
async fn stored_per_window(
    pool: &sqlx::PgPool,
    keys: &[BenchKey],
    windows: &[WindowBurst],
) -> anyhow::Result<Vec<String>> {
    let hotkeys: Vec<String> = keys.iter().map(|k| k.hotkey.ss58().to_string()).collect();
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "select window_index, count(*) from submissions \
         where miner_hotkey = any($1) and window_index = any($2) group by window_index",
    )
    .bind(&hotkeys)
    .bind(windows.iter().map(|w| w.window as i64).collect::<Vec<_>>())
    .fetch_all(pool)
    .await
    .context("counting the stored posts per window")?;
    let stored: BTreeMap<u64, u64> = rows
        .into_iter()
        .map(|(window, count)| (window as u64, count as u64))
        .collect();
    Ok(windows
        .iter()
        .filter_map(|w| {
            let count = stored.get(&w.window).copied().unwrap_or(0);
            (count != w.new).then(|| {
                format!(
                    "window {}: {count} stored for {} new replies",
                    w.window, w.new
                )
            })
        })
        .collect())
}
