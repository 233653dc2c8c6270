//! A local double of the X API v2 for Pulse's tests and demos: recent search and post lookup
//! over a dataset of sample posts, with X's wire format, errors and rate-limit headers, plus an
//! admin API to edit, inflate or delete posts while a miner or validator runs against it.
//!
//! Start it in-process (tests) or as the `pulse-xapi` binary:
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let dataset = xapi::Dataset::load("data/posts.jsonl")?;
//! let app = xapi::XApi::new(&dataset, xapi::Config::new("test-token"))?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let base = format!("http://{}/2", listener.local_addr()?);
//! tokio::spawn(xapi::serve(listener, app.clone(), std::future::pending()));
//! // ... point the client at `base`; change posts with `app.update_post(...)`.
//! # Ok(()) }
//! ```
//!
//! # What it serves
//! - `GET /2/tweets/search/recent`: `query` ([`query`] documents the supported language),
//!   `start_time`/`end_time` (last 7 days, end at least 10 s ago), `since_id`/`until_id`,
//!   `max_results` 10..=100, `next_token`, `sort_order`, `expansions`, `tweet.fields`,
//!   `user.fields`. Newest first; `{"meta":{"result_count":0}}` when nothing matches.
//! - `GET /2/tweets?ids=...`: up to 100 ids; missing or deleted ones come back as X's
//!   "Not Found Error" entries in `errors`.
//! - Both require `Authorization: Bearer <token>` (401 otherwise) and count against a
//!   per-endpoint fixed window (429 when spent); replies carry `x-rate-limit-limit`,
//!   `x-rate-limit-remaining` and `x-rate-limit-reset`.
//! - `/_admin` (bearer admin token if one is configured, open otherwise):
//!   `GET /_admin/posts`, `POST /_admin/posts` (a dataset line, 201),
//!   `GET|POST /_admin/posts/{id or key}` (read; apply a [`PostPatch`]),
//!   `GET|POST /_admin/clock` (`{"advance_secs": n}` moves time forward).
//! - `GET /_health`.
//!
//! Posts are dated from an anchor time (start time by default): a dataset line `age_minutes`
//! old gets `created_at = anchor - age` and a minted snowflake id whose high bits encode that
//! time and whose low 22 bits are the line's position, so `(id >> 22) + 1288834974657` is the
//! creation time in milliseconds, as validators check.
//!
//! # Where it differs from X
//! - Edits change a post in place, keeping its id; X gives each edit a new id and lists them
//!   in `edit_history_tweet_ids`. The in-place form is what validator tests need (same id,
//!   different text).
//! - Keyword matching approximates X's tokenizer ([`query`] lists what is not modelled).
//! - Only `author_id` expands; X's other expansions and `media.fields`, `place.fields` and
//!   `poll.fields` are accepted and produce nothing (the dataset has no media, places, polls
//!   or replies). `sort_order=relevancy` is answered newest first.
//! - One app bearer token, no OAuth user context, no monthly post cap, no 5xx.
//! - `next_token` values are the double's own (opaque to clients, as X's are).
//!
//! # Layout
//! - [`dataset`]: the JSON Lines format of sample posts ([`Dataset`], [`PostLine`]).
//! - [`app`]: [`XApi`], the shared state and the in-process handle for changing posts.
//! - [`store`]: the served posts and users; its public items are the admin API's types
//!   ([`PostView`], [`PostPatch`], [`AdminError`]).
//! - [`query`]: X's search query language, parsed and matched against posts.
//! - [`wire`]: X API v2 response bodies and field selection.
//! - [`error`]: error replies in X's shapes.
//! - [`schedule`]: timed mutations from a file (`--schedule`).
//! - [`config`]: [`Config`] and the binary's command line ([`Cli`]).
//! - `ids`: snowflake minting; `clock`: the movable clock; `ratelimit`: fixed windows;
//!   `routes`: HTTP handlers.

#![warn(missing_docs)]

pub mod app;
mod clock;
pub mod config;
pub mod dataset;
pub mod error;
mod ids;
pub mod query;
mod ratelimit;
mod routes;
pub mod schedule;
pub mod store;
pub mod wire;

use std::future::Future;
use std::process::ExitCode;

use anyhow::Context;
use service::Program;
use service::shutdown::{OnSignal, on_signal};
use tokio::net::TcpListener;

pub use app::{Mutation, XApi};
pub use config::{Cli, Config};
pub use dataset::{AuthorLine, Dataset, DatasetError, Metrics, PostLine};
pub use ids::{mint_post_id, post_time_ms, user_id};
pub use routes::router;
pub use schedule::Schedule;
pub use store::{AdminError, AuthorPatch, MetricsPatch, PostPatch, PostView, UserView};

/// Serves the double on `listener` until `shutdown` completes, then finishes the requests in
/// flight.
pub async fn serve(
    listener: TcpListener,
    app: XApi,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The `pulse-xapi` binary after argument parsing and logging set-up: loads the dataset (and
/// schedule), binds, prints `pulse-xapi listening on http://<addr>` on stdout (a line scripts
/// and tests can wait for), and serves until `shutdown`.
pub async fn run(
    cli: Cli,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let dataset = Dataset::load(&cli.dataset)
        .with_context(|| format!("loading the dataset {}", cli.dataset.display()))?;
    let schedule = cli
        .schedule
        .as_ref()
        .map(|path| {
            Schedule::load(path).with_context(|| format!("loading the schedule {}", path.display()))
        })
        .transpose()?;
    let app = XApi::new(&dataset, cli.config()?).context("building the posts")?;
    let listener = TcpListener::bind(cli.bind)
        .await
        .with_context(|| format!("binding {}", cli.bind))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    tracing::info!(
        %addr,
        posts = dataset.len(),
        anchor = %app.anchor(),
        "pulse-xapi ready"
    );
    println!("pulse-xapi listening on http://{addr}");
    if let Some(schedule) = schedule {
        tokio::spawn(schedule::run(app.clone(), schedule));
    }
    serve(listener, app, shutdown).await.context("serving")
}

/// `pulse-xapi` through `service::main`: [`run`] until SIGINT or SIGTERM (`docker stop`).
impl Program for Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        let shutdown = on_signal(OnSignal {
            first: "shutting down",
            second: None,
        });
        run(self, shutdown.cancelled_owned()).await?;
        Ok(ExitCode::SUCCESS)
    }
}
