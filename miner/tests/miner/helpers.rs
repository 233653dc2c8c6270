//! What the miner's tests start from: the X double on a free port with a dataset whose
//! ranking is known, the coordination server with a probe in front of `/v2/submit`, and the
//! `pulse-miner` binary.

use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use protocol::Hotkey;
use protocol::submission::NewSubmission;
use serde_json::Value;
use server::AppState;
use server::chain::BlockSource;
use server::config::Settings;
use server::db::submissions::{self, Admission, Placement, SubmitOutcome};
use testkit::{TestDb, TestServer};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::oneshot;
use xapi::{AuthorLine, Config, Dataset, Metrics, PostLine, XApi};

/// Bearer token of every X double here.
pub const TOKEN: &str = "miner-test-bearer";
/// Block the server starts at: window 10, 50 blocks in.
pub const START_BLOCK: u64 = 1_050;
/// The pulse-miner binary.
pub const MINER: &str = env!("CARGO_BIN_EXE_pulse-miner");

/// A dataset line by `username` in English, `age_minutes` old, with `likes`.
pub fn line(key: &str, age_minutes: u64, username: &str, text: &str, likes: u64) -> PostLine {
    PostLine {
        key: key.to_owned(),
        id: None,
        age_minutes: Some(age_minutes),
        lang: "en".to_owned(),
        text: text.to_owned(),
        retweet_of: None,
        author: AuthorLine {
            username: username.to_owned(),
            name: username.to_owned(),
            account_age_days: 400,
            followers: 2_000,
            following: 10,
            tweets: 100,
            listed: 0,
        },
        metrics: Metrics {
            likes,
            retweets: 5,
            replies: 2,
            quotes: 1,
            bookmarks: 0,
            impressions: 1_000,
        },
        intent: None,
    }
}

/// Keys of the twelve relevant posts, best score first.
pub fn relevant_keys() -> Vec<String> {
    (1..=12).map(|i| format!("r{i:02}")).collect()
}

/// Twelve relevant posts whose scores fall strictly with their number (likes 4800, 4400,
/// ...), all 25 to 36 hours old so recency adds nothing and a score computed later is the
/// same (which makes a resubmission a true duplicate); plus posts the query or screening
/// must leave out: off-topic, a retweet, Spanish, older than 72 hours.
pub fn ranked_dataset() -> Dataset {
    let subnets = ["SN45", "SN64", "SN19", "subnet 8"];
    let mut posts: Vec<PostLine> = relevant_keys()
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let text = format!(
                "Bittensor {} shipped update {} this week, steady progress",
                subnets[i % subnets.len()],
                i + 1
            );
            line(
                key,
                25 * 60 + 60 * i as u64,
                &format!("author{}", i % 5),
                &text,
                4_800 - 400 * i as u64,
            )
        })
        .collect();
    posts.push(line(
        "offtopic",
        26 * 60,
        "chatter",
        "Bittensor community call tonight, bring questions",
        50_000,
    ));
    let mut retweet = line(
        "retweet",
        24 * 60,
        "echo",
        "RT @author0: Bittensor SN45 shipped update 1 this week, steady progress",
        0,
    );
    retweet.retweet_of = Some("r01".into());
    posts.push(retweet);
    let mut spanish = line(
        "spanish",
        27 * 60,
        "hola",
        "Bittensor SN45 subió mucho esta semana",
        40_000,
    );
    spanish.lang = "es".into();
    posts.push(spanish);
    posts.push(line(
        "too-old",
        80 * 60,
        "author1",
        "Bittensor SN45 shipped an old update",
        45_000,
    ));
    Dataset::from_posts(posts).expect("a valid dataset")
}

/// The X double in this process on a free port.
pub struct XDouble {
    /// Its state (change posts with `app.update_post`).
    pub app: XApi,
    /// Base URL for clients (`http://127.0.0.1:<port>/2`).
    pub base: String,
    _stop: oneshot::Sender<()>,
}

impl XDouble {
    /// Serves `dataset` with `config`.
    pub async fn start(dataset: &Dataset, config: Config) -> Self {
        let app = XApi::new(dataset, config).expect("the double builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
        let base = format!("http://{}/2", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(xapi::serve(listener, app.clone(), async {
            let _ = stopped.await;
        }));
        Self {
            app,
            base,
            _stop: stop,
        }
    }

    /// Serves `dataset` with the default limits and [`TOKEN`], dated from now.
    pub async fn with(dataset: &Dataset) -> Self {
        Self::start(dataset, Config::new(TOKEN)).await
    }

    /// The id the double gave the post `key`.
    pub fn id(&self, key: &str) -> String {
        self.app.post(key).expect("a known key").id.to_string()
    }
}

/// What the probe saw and what it should do next.
#[derive(Debug, Default)]
struct ProbeState {
    /// `post_id` of every `/v2/submit` request, in arrival order.
    submits: Vec<String>,
    /// Use up this hotkey's quota before passing the next submit on.
    exhaust_before_next_submit: Option<String>,
    /// `post_id`s stored by another process of the hotkey to use up its quota.
    out_of_band: Vec<String>,
    /// Answer this many submits with this status instead of passing them on.
    canned: Option<(StatusCode, u32)>,
    /// Spoil the signature of the next submit.
    spoil_next_signature: bool,
}

/// Watches (and can interfere with) `/v2/submit` requests on their way to the server.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    state: Arc<Mutex<ProbeState>>,
}

impl Probe {
    /// Every submitted `post_id` so far, in order.
    pub fn submits(&self) -> Vec<String> {
        self.state.lock().unwrap().submits.clone()
    }

    /// Before the next submission is processed, use up `hotkey`'s quota in the current
    /// window out of band, as another process with the same hotkey would.
    pub fn exhaust_quota_before_next_submit(&self, hotkey: &str) {
        self.state.lock().unwrap().exhaust_before_next_submit = Some(hotkey.to_owned());
    }

    /// Answer the next `count` submits with `status`, as a failing proxy would.
    pub fn answer_next_submits(&self, status: StatusCode, count: u32) {
        self.state.lock().unwrap().canned = Some((status, count));
    }

    /// Replace the next submit's Epistula signature with zeros.
    pub fn spoil_next_signature(&self) {
        self.state.lock().unwrap().spoil_next_signature = true;
    }
}

async fn probe(
    State((probe, state)): State<(Probe, AppState)>,
    request: Request,
    next: Next,
) -> Response {
    if request.uri().path() != "/v2/submit" {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .expect("a readable body");
    let post_id = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["post_id"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let (exhaust, canned, spoil) = {
        let mut seen = probe.state.lock().unwrap();
        seen.submits.push(post_id);
        let canned = match &mut seen.canned {
            Some((status, left)) if *left > 0 => {
                *left -= 1;
                Some(*status)
            }
            _ => None,
        };
        (
            seen.exhaust_before_next_submit.take(),
            canned,
            std::mem::take(&mut seen.spoil_next_signature),
        )
    };
    if let Some(status) = canned {
        return (status, "canned by the test probe").into_response();
    }
    if spoil {
        let zeros = format!("0x{}", "00".repeat(64));
        parts.headers.insert(
            "epistula-request-signature",
            axum::http::HeaderValue::from_str(&zeros).unwrap(),
        );
    }
    if let Some(hotkey) = exhaust {
        let posts = use_up_quota(&state, &hotkey).await;
        probe.state.lock().unwrap().out_of_band.extend(posts);
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Submits new posts of `hotkey` through the server's own statement until the current
/// window's quota is used, as another process with that hotkey would; returns their ids.
async fn use_up_quota(state: &AppState, hotkey: &str) -> Vec<String> {
    let window = state.window().expect("a window");
    let mut posts = Vec::new();
    loop {
        let post_id = OUT_OF_BAND_POST_IDS + posts.len() as u64;
        let request = testkit::sample_submission(hotkey, post_id);
        let body = serde_json::to_vec(&request).expect("a body");
        let post = NewSubmission::parse(&body, i64::MAX).expect("a valid post");
        let placement = Placement {
            block: window.current_block,
            window_index: window.current_window,
            selected: false,
            validation_id: sqlx::types::Uuid::new_v4(),
            quota: state.settings.max_submissions,
            verdicts: state.settings.validation_verdicts,
        };
        let admission = Admission {
            nonce: None,
            signed_by: hotkey,
            closed_registration: false,
        };
        match submissions::submit(&state.submit_db, &post, placement, admission)
            .await
            .expect("pulse_submit answers")
        {
            SubmitOutcome::New { .. } => posts.push(post.post_id),
            SubmitOutcome::RateLimited { .. } => return posts,
            other => panic!("filling the quota of {hotkey}: {other:?}"),
        }
    }
}

/// Where the ids of posts sent by [`Probe::exhaust_quota_before_next_submit`] start: far
/// from the X double's, so they never meet the miner's own.
const OUT_OF_BAND_POST_IDS: u64 = 9_000_000_000_000_000_000;

/// The coordination server with a [`Probe`] in front, on its own database.
pub struct Api {
    /// The server.
    pub server: TestServer,
    /// What reached `/v2/submit`.
    pub probe: Probe,
    // Dropped last: the server's pool must close before the database is dropped.
    _db: TestDb,
}

impl Api {
    /// A server at [`START_BLOCK`] that samples every new post for validation (so summaries
    /// are deterministic).
    pub async fn start() -> Self {
        Self::with_settings(Settings {
            validation_probability: 1.0,
            ..Settings::default()
        })
        .await
    }

    /// A server at [`START_BLOCK`] with `settings`.
    pub async fn with_settings(settings: Settings) -> Self {
        let db = TestDb::new().await;
        let state = AppState::new(db.pool().await, settings, BlockSource::manual(START_BLOCK));
        let probe = Probe::default();
        let layer_state = (probe.clone(), state.clone());
        let server = TestServer::start_with_app(state, |router| {
            router.layer(from_fn_with_state(layer_state, self::probe))
        })
        .await;
        Self {
            server,
            probe,
            _db: db,
        }
    }

    /// Moves the server's chain to `block`.
    pub fn set_block(&self, block: u64) {
        self.server.blocks().set(block);
    }

    /// The `post_id`s the server stored for `hotkey` from the miner under test (not those
    /// another process stored to use up its quota; see
    /// [`Probe::exhaust_quota_before_next_submit`]).
    pub async fn stored(&self, hotkey: &str) -> Vec<String> {
        let out_of_band = self.probe.state.lock().unwrap().out_of_band.clone();
        sqlx::query_scalar::<_, String>(
            "select post_id from submissions where miner_hotkey = $1 and post_id <> all($2)
             order by id",
        )
        .bind(hotkey)
        .bind(out_of_band)
        .fetch_all(&self.server.state.db)
        .await
        .expect("stored submissions")
    }
}

/// A miner identity: a seed the binary gets through `PULSE_HOTKEY_SEED`.
pub struct Identity {
    /// The seed, hex.
    pub seed_hex: String,
    /// Its hotkey.
    pub hotkey: Hotkey,
}

impl Identity {
    /// A new random identity.
    pub fn new() -> Self {
        let seed = Hotkey::generate()
            .seed()
            .expect("a generated key has a seed");
        Self {
            seed_hex: hex_encode(&seed),
            hotkey: Hotkey::from_seed(seed),
        }
    }

    /// Its SS58 address.
    pub fn ss58(&self) -> &str {
        self.hotkey.ss58()
    }
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The environment a miner needs to run against `api` and `x` as `identity`, keeping its
/// state in `state_dir`.
pub fn miner_env(
    api: &Api,
    x: &XDouble,
    identity: &Identity,
    state_dir: &std::path::Path,
) -> Vec<(String, String)> {
    vec![
        ("MINER_API_URL".into(), api.server.url("")),
        ("X_API_BASE".into(), x.base.clone()),
        ("X_BEARER_TOKEN".into(), TOKEN.into()),
        ("PULSE_HOTKEY_SEED".into(), identity.seed_hex.clone()),
        (
            "PULSE_MINER_STATE_DIR".into(),
            state_dir.display().to_string(),
        ),
        ("PULSE_MINER_SUBMIT_BACKOFF_MS".into(), "10,20".into()),
    ]
}

/// A `pulse-miner` command with only `env` (and `PATH`) in its environment.
pub fn miner_command(args: &[&str], env: &[(String, String)]) -> Command {
    let mut command = Command::new(MINER);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true);
    command
}

/// Runs `pulse-miner args` to completion (at most a minute).
pub async fn run_miner(args: &[&str], env: &[(String, String)]) -> Output {
    tokio::time::timeout(Duration::from_secs(60), miner_command(args, env).output())
        .await
        .expect("pulse-miner finished within a minute")
        .expect("pulse-miner ran")
}

/// Stdout of `output`, which must have exited successfully.
pub fn stdout_ok(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "pulse-miner failed ({}):\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `pulse-miner once` in JSON output: its window report.
pub async fn once_json(env: &[(String, String)]) -> Value {
    let output = run_miner(&["once", "--output", "json"], env).await;
    let stdout = stdout_ok(&output);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}
