//! [`Observer`]: each window's numbers, from where they are kept.
//!
//! | number | source |
//! |---|---|
//! | accepted, selected | `GET /v2/miners/{hotkey}` of every miner (the devnet's, and any other with a score in the window), signed by the validator: its submissions whose `window` is this one |
//! | verdicts | the same submissions' `verdicts`, by outcome: verdicts on the window's posts |
//! | pending | the same submissions that are selected and still `pending` |
//! | duplicates, 429s | the server's `/metrics`: `pulse_submissions_total{outcome="duplicate"}` and `{outcome="rate_limited"}`, read as each window closes, minus the previous reading |
//! | scores | `GET /v2/scores?window=N`, signed by the validator |
//! | weights | the validator's `weights.json`, once its `weights_state.json` says the window was applied |
//! | on chain | `pulse-chain`'s admin API: the validator's stored weights (block, `u16` values as shares) and its commits awaiting reveal |
//!
//! Accepted, selected, verdicts and scores are what the database holds, so they can be
//! checked against it. Duplicates and 429s are not stored; the server counts them, and a
//! submission in the moment between a window's end and the reading counts in the earlier
//! window.
//!
//! A window's line waits, after the window closed, until every sampled post of the window
//! has a verdict and the validator has applied the window, or until a deadline (half a
//! window, between 10 and 60 s) passes; then what is missing is printed as pending.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use client::{ApiClient, CallError};
use protocol::api::{ScoresResponse, VerdictOutcome};
use reqwest::StatusCode;
use tokio::time::Instant;
use validator::weights::{StateFile, WEIGHTS_FILE, WeightFile};

use crate::config::BLOCKS_PER_WINDOW;
use crate::layout::Clock;
use crate::prom;
use crate::summary::{ChainWeights, MinerCounts, Verdicts, Weights, WindowSummary};

/// How often a number that is not there yet is looked for again.
const POLL: Duration = Duration::from_millis(250);

/// The server's counters of outcomes no table keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Counters {
    duplicates: f64,
    rate_limited: f64,
}

/// Where the devnet's chain double is, and whose weights to read on it.
#[derive(Debug, Clone)]
pub struct ChainView {
    /// The double's HTTP address (its admin API).
    pub admin: String,
    /// The devnet's subnet.
    pub netuid: u16,
    /// The validator's hotkey.
    pub validator: String,
}

/// Gathers the numbers of each window.
#[derive(Debug)]
pub struct Observer {
    chain: Option<ChainView>,
    /// The block of the validator's weights and of its newest commit on the chain when the
    /// last line was printed.
    chain_seen: Option<(u64, u64)>,
    api: ApiClient,
    http: reqwest::Client,
    metrics_url: String,
    clock: Clock,
    miners: Vec<String>,
    validator_state: PathBuf,
    last: Counters,
}

impl Observer {
    /// An observer of the server behind `api` (signed by the validator, whose state is in
    /// `validator_state`), whose clock is `clock`, with the devnet's `miners`. Reads the
    /// server's counters now: the first window's duplicates and 429s count from here.
    pub async fn new(
        api: ApiClient,
        clock: Clock,
        miners: Vec<String>,
        validator_state: PathBuf,
        chain: Option<ChainView>,
    ) -> anyhow::Result<Self> {
        let metrics_url = format!("{}/metrics", api.base_url());
        let mut observer = Self {
            chain,
            chain_seen: None,
            api,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            metrics_url,
            clock,
            miners,
            validator_state,
            last: Counters::default(),
        };
        observer.last = observer.counters().await?;
        Ok(observer)
    }

    /// How long a window's line may wait for missing numbers after the window closed.
    pub fn settle_time(&self) -> Duration {
        Duration::from_secs_f64((self.clock.window_secs() / 2.0).clamp(10.0, 60.0))
    }

    /// The server's current window.
    pub async fn current_window(&self) -> anyhow::Result<u64> {
        let status = self
            .api
            .status()
            .await
            .context("reading the server's status")?;
        Ok(status.window.current_window)
    }

    /// Waits until the server has moved past `window`.
    pub async fn wait_for_close(&self, window: u64) -> anyhow::Result<()> {
        let end = self.clock.window_start(window + 1);
        let wait = end - service::time::unix_time().as_secs_f64();
        if wait > 0.0 {
            // The server's clock is this machine's: the window ends then, to the millisecond.
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.current_window().await {
                Ok(current) if current > window => return Ok(()),
                Ok(_) => {}
                Err(error) if Instant::now() >= deadline => return Err(error),
                Err(_) => {}
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "the server is still in window {window} 30 s after it should have ended"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The numbers of `window`, which has closed.
    pub async fn summarise(&mut self, window: u64) -> anyhow::Result<WindowSummary> {
        let counters = self.counters().await?;
        let duplicates = counters.duplicates - self.last.duplicates;
        let rate_limited = counters.rate_limited - self.last.rate_limited;
        self.last = counters;
        let deadline = Instant::now() + self.settle_time();
        let scores = self.scores(window, deadline).await?;
        let mut hotkeys: BTreeSet<String> = self.miners.iter().cloned().collect();
        hotkeys.extend(scores.scores.keys().cloned());
        let posts = loop {
            let posts = self.posts(window, &hotkeys).await?;
            if posts.pending == 0 || Instant::now() >= deadline {
                break posts;
            }
            tokio::time::sleep(POLL).await;
        };
        let weights = loop {
            let weights = self.weights(window)?;
            if weights.is_some() || Instant::now() >= deadline {
                break weights;
            }
            tokio::time::sleep(POLL).await;
        };
        // The validator sends its weights once the window's scores are final: they land (or
        // are committed, to be revealed a tempo later) a few blocks after the window closed,
        // after whatever the previous line showed.
        let chain = loop {
            let Some((weights, newest_commit)) = self.chain_weights().await? else {
                break None;
            };
            let seen = self.chain_seen;
            let landed = weights.block.is_some_and(|b| seen.is_none_or(|s| b > s.0));
            let committed = newest_commit.is_some_and(|c| seen.is_none_or(|s| c > s.1));
            if landed || committed || Instant::now() >= deadline {
                self.chain_seen = Some((weights.block.unwrap_or(0), newest_commit.unwrap_or(0)));
                break Some(weights);
            }
            tokio::time::sleep(POLL).await;
        };
        Ok(WindowSummary {
            window,
            first_block: window * BLOCKS_PER_WINDOW,
            last_block: window * BLOCKS_PER_WINDOW + BLOCKS_PER_WINDOW - 1,
            accepted: posts.by_miner.values().map(|m| m.accepted).sum(),
            selected: posts.by_miner.values().map(|m| m.selected).sum(),
            duplicates: duplicates.max(0.0) as u64,
            rate_limited: rate_limited.max(0.0) as u64,
            verdicts: posts.verdicts,
            pending: posts.pending,
            miners: posts.by_miner,
            scores: scores.scores,
            weights,
            chain,
        })
    }

    /// The validator's weights on the chain double, and the block of its newest commit
    /// awaiting reveal (`None` without a chain).
    async fn chain_weights(&self) -> anyhow::Result<Option<(ChainWeights, Option<u64>)>> {
        let Some(chain) = &self.chain else {
            return Ok(None);
        };
        let base = format!("{}/admin/subnets/{}", chain.admin, chain.netuid);
        let stored = self.admin_get(&format!("{base}/weights")).await?;
        let mine = stored["mechanisms"][0]["weights"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|entry| entry["hotkey"] == chain.validator.as_str());
        let (block, weights) = match mine {
            None => (None, BTreeMap::new()),
            Some(entry) => {
                // The uids' hotkeys, read only when there are weights to name (this is
                // polled until the weights land).
                let neurons = self.admin_get(&format!("{base}/neurons")).await?;
                let hotkey_of: BTreeMap<u64, String> = neurons
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|n| Some((n["uid"].as_u64()?, n["hotkey"].as_str()?.to_owned())))
                    .collect();
                let pairs: Vec<(u64, f64)> = entry["weights"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|pair| Some((pair[0].as_u64()?, pair[1].as_f64()?)))
                    .collect();
                let sum: f64 = pairs.iter().map(|(_, w)| w).sum();
                let weights = pairs
                    .into_iter()
                    .map(|(uid, w)| {
                        let key = hotkey_of
                            .get(&uid)
                            .cloned()
                            .unwrap_or_else(|| format!("uid {uid}"));
                        (key, if sum > 0.0 { w / sum } else { 0.0 })
                    })
                    .collect();
                (entry["block"].as_u64(), weights)
            }
        };
        let commits = self.admin_get(&format!("{base}/commits")).await?;
        let mechanism = &commits["mechanisms"][0];
        let pending: Vec<u64> = ["commits", "timelocked"]
            .iter()
            .flat_map(|kind| mechanism[*kind].as_array().into_iter().flatten())
            .filter(|c| c["hotkey"] == chain.validator.as_str())
            .filter_map(|c| c["commit_block"].as_u64())
            .collect();
        Ok(Some((
            ChainWeights {
                block,
                weights,
                pending_commits: pending.len(),
            },
            pending.iter().copied().max(),
        )))
    }

    async fn admin_get(&self, url: &str) -> anyhow::Result<serde_json::Value> {
        self.http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("reading {url} of pulse-chain"))?
            .json()
            .await
            .with_context(|| format!("reading {url} of pulse-chain"))
    }

    async fn counters(&self) -> anyhow::Result<Counters> {
        let text = self
            .http
            .get(&self.metrics_url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .with_context(|| format!("reading {}", self.metrics_url))?
            .text()
            .await?;
        let outcome = |name| prom::sum(&text, "pulse_submissions_total", &[("outcome", name)]);
        Ok(Counters {
            duplicates: outcome("duplicate"),
            rate_limited: outcome("rate_limited"),
        })
    }

    /// The scores of `window`, which the first reader after its end publishes (and freezes).
    async fn scores(&self, window: u64, deadline: Instant) -> anyhow::Result<ScoresResponse> {
        loop {
            match self.api.scores(Some(window)).await {
                Ok(scores) => return Ok(scores),
                // 422: the server's clock has not quite reached the end; 5xx and network
                // errors: a loaded machine. Both pass.
                Err(error) if Instant::now() < deadline && retryable(&error) => {}
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("reading the scores of window {window}"));
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn posts(&self, window: u64, hotkeys: &BTreeSet<String>) -> anyhow::Result<Posts> {
        let mut posts = Posts::default();
        for hotkey in hotkeys {
            let report = self
                .api
                .miner_report(hotkey)
                .await
                .with_context(|| format!("reading the report of miner {hotkey}"))?;
            let mut counts = MinerCounts::default();
            for submission in report.submissions.iter().filter(|s| s.window == window) {
                counts.accepted += 1;
                if submission.selected_for_validation {
                    counts.selected += 1;
                    if submission.validation == "pending" {
                        posts.pending += 1;
                    }
                }
                for verdict in &submission.verdicts {
                    match verdict.outcome {
                        VerdictOutcome::Pass => posts.verdicts.pass += 1,
                        VerdictOutcome::Fail => posts.verdicts.fail += 1,
                        VerdictOutcome::Inconclusive => posts.verdicts.inconclusive += 1,
                    }
                }
            }
            if counts != MinerCounts::default() || self.miners.contains(hotkey) {
                posts.by_miner.insert(hotkey.clone(), counts);
            }
        }
        Ok(posts)
    }

    /// The validator's weights, once it has applied `window` (it records that, and only
    /// then writes the weights, unless they are all zero).
    fn weights(&self, window: u64) -> anyhow::Result<Option<Weights>> {
        let state = StateFile::new(&self.validator_state)
            .load()
            .context("reading the validator's weight state")?;
        if state.weights_set_for.is_none_or(|set| set < window) {
            return Ok(None);
        }
        let path = self.validator_state.join(WEIGHTS_FILE);
        let file: WeightFile = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("reading {}", path.display()))?,
            // Every weight so far was zero: nothing was written.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(Weights {
                    window,
                    weights: BTreeMap::new(),
                }));
            }
            Err(error) => return Err(error).with_context(|| format!("reading {}", path.display())),
        };
        let weights = file
            .vector
            .weights
            .iter()
            .map(|entry| {
                let key = match (&entry.hotkey, entry.uid) {
                    (Some(hotkey), _) => hotkey.clone(),
                    (None, Some(uid)) => format!("uid {uid}"),
                    (None, None) => "burn".to_owned(),
                };
                (key, entry.weight)
            })
            .collect();
        Ok(Some(Weights {
            window: file.vector.window,
            weights,
        }))
    }
}

#[derive(Debug, Default)]
struct Posts {
    by_miner: BTreeMap<String, MinerCounts>,
    verdicts: Verdicts,
    pending: u32,
}

fn retryable(error: &CallError) -> bool {
    error.is_transient() || error.status() == Some(StatusCode::UNPROCESSABLE_ENTITY)
}
