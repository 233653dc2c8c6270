//! [`Validator`]: the loop behind `run` and `once`.
//!
//! Each step reads the server's window, applies window scores that became available
//! (weights), and leases one batch of tasks. A batch is judged in three moves:
//! 1. every post of the batch is looked up on X in as few requests as X allows;
//! 2. each post is checked ([`crate::check`]) and its verdict written to the outbox
//!    ([`crate::outbox`]) before anything is sent;
//! 3. the outbox is sent; verdicts the server answered for leave it.
//!
//! `once` repeats steps until the queue answers "nothing now"; `run` then waits the poll
//! interval and goes on until shutdown. Verdicts left in the outbox (server unreachable,
//! validator killed) are sent first on the next start.

use std::sync::Arc;
use std::time::Duration;

use analyzer::Analyzer;
use analyzer::scoring::{Engagement, score_post};
use anyhow::Context;
use client::{ApiClient, CallError};
use protocol::api::{
    ItemStatus, ValidationPayload, ValidationResultItem, ValidationResultRequest,
    ValidationResultResponse,
};
use protocol::post_id::parse_canonical_post_id;
use protocol::text::normalize_content;
use reqwest::StatusCode;
use retry::Policy;
use serde_json::json;
use service::{CancellationToken, unix_now, unix_now_ms};

use crate::check::{self, Finding, Judgement, codes};
use crate::lookup::{Found, LookupResults, XClient};
use crate::metrics::Metrics;
use crate::outbox::{self, Outbox, PendingVerdict};
use crate::report::{PassReport, Reporter, Totals, VerdictLine};
use crate::weights::{
    BestPost, Burn, Metagraph, StateFile, WeightSetter, WeightState, WeightsOutcome,
    compute_weights,
};

/// Most verdicts sent in one request (the server takes up to 1000; 200 keeps a request well
/// under its body limit).
pub const SEND_BATCH: usize = 200;

/// Settings of the loop.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Tasks leased per request.
    pub lease_batch: u32,
    /// Wait between polls of an empty queue (`run`).
    pub poll_interval: Duration,
    /// Attempts at reading the status or sending verdicts.
    pub backoff: Policy,
    /// The metagraph file, if any.
    pub metagraph: Option<std::path::PathBuf>,
    /// The burn, if any.
    pub burn: Option<Burn>,
    /// The configured blocks per window (checked against the server's).
    pub blocks_per_window: u64,
}

/// What one step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A batch was leased and judged; there may be more.
    Worked,
    /// The queue had nothing.
    Idle,
    /// X's rate limit is spent until this Unix time; nothing was leased.
    XBlocked(i64),
    /// Shutdown was signalled.
    Stopped,
}

/// Everything the loop needs.
#[derive(Debug)]
pub struct Validator<S: WeightSetter> {
    api: ApiClient,
    x: XClient,
    analyzer: Analyzer,
    outbox: Outbox,
    state_file: StateFile,
    state: WeightState,
    setter: S,
    settings: Settings,
    reporter: Reporter,
    metrics: Arc<Metrics>,
    warned_about_window_size: bool,
}

/// Whether `error` is worth retrying soon: a network error or 5xx from the server.
pub fn is_transient(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<CallError>()
            .is_some_and(CallError::is_transient)
    })
}

impl<S: WeightSetter> Validator<S> {
    /// A validator talking to the server through `api` and to X through `x`, analysing with
    /// `analyzer`, keeping verdicts in `outbox` and averages in `state_file`, publishing
    /// weights with `setter` and printing with `reporter`.
    #[expect(
        clippy::too_many_arguments,
        reason = "each part is built by the caller from its own settings"
    )]
    pub fn new(
        api: ApiClient,
        x: XClient,
        analyzer: Analyzer,
        outbox: Outbox,
        state_file: StateFile,
        setter: S,
        settings: Settings,
        reporter: Reporter,
    ) -> anyhow::Result<Self> {
        let state = state_file.load()?;
        let metrics = Arc::new(Metrics::new());
        let mut setter = setter;
        setter.attach_metrics(Arc::clone(&metrics));
        Ok(Self {
            api,
            x: x.with_metrics(Arc::clone(&metrics)),
            analyzer,
            outbox,
            state_file,
            state,
            setter,
            settings,
            reporter,
            metrics,
            warned_about_window_size: false,
        })
    }

    /// The counters behind the summaries, for the `/metrics` listener.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The moving averages and what was applied.
    pub fn state(&self) -> &WeightState {
        &self.state
    }

    /// Where pending verdicts wait.
    pub fn outbox_dir(&self) -> &std::path::Path {
        self.outbox.dir()
    }

    /// One pass (`pulse-validator once`): send what is pending, apply closed windows, judge
    /// everything queued now, send, and return the totals (also printed).
    pub async fn once(&mut self, shutdown: &CancellationToken) -> anyhow::Result<Totals> {
        let mut totals = Totals::default();
        let mut report = PassReport::default();
        let result = self.once_inner(&mut report, &mut totals, shutdown).await;
        report.pending = self.outbox.len().unwrap_or(0);
        self.metrics.set_pending(report.pending);
        if !report.is_empty() {
            // Counted before the line is printed, so a scrape after the line agrees with it.
            self.metrics.passes.inc();
            self.reporter.pass(&report);
            totals.passes += 1;
        }
        totals.counts.add(&report);
        totals.counts.pending = report.pending;
        self.reporter.total(&totals);
        result?;
        Ok(totals)
    }

    async fn once_inner(
        &mut self,
        report: &mut PassReport,
        totals: &mut Totals,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        self.resend_pending(report, shutdown).await?;
        loop {
            match self.step(report, totals, shutdown).await? {
                Step::Worked => continue,
                Step::Idle | Step::Stopped => break,
                Step::XBlocked(until) => {
                    tracing::warn!(
                        until,
                        "X's rate limit is spent; the remaining tasks stay queued"
                    );
                    break;
                }
            }
        }
        self.flush(report, shutdown).await
    }

    /// Validates until `shutdown` (`pulse-validator run`); returns the totals (also printed).
    /// Network errors and 5xx from the server are waited out; any other error stops it.
    pub async fn run(&mut self, shutdown: &CancellationToken) -> anyhow::Result<Totals> {
        let mut totals = Totals::default();
        let mut report = PassReport::default();
        let result = self.run_inner(&mut report, &mut totals, shutdown).await;
        // After a shutdown signal this makes one attempt: what it cannot send stays on disk.
        if let Err(error) = self.flush(&mut report, shutdown).await {
            tracing::warn!(
                error = format!("{error:#}"),
                "cannot send the last verdicts; they stay on disk"
            );
        }
        self.close_pass(&mut report, &mut totals);
        self.reporter.total(&totals);
        result.map(|()| totals)
    }

    async fn run_inner(
        &mut self,
        report: &mut PassReport,
        totals: &mut Totals,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let mut wait = Duration::ZERO;
        let mut first = true;
        let mut announced_block = None;
        while service::shutdown::sleep(shutdown, wait).await {
            let step = if first {
                self.resend_pending(report, shutdown)
                    .await
                    .map(|()| Step::Worked)
            } else {
                self.step(report, totals, shutdown).await
            };
            wait = match step {
                Ok(Step::Worked) => {
                    first = false;
                    Duration::ZERO
                }
                Ok(Step::Idle) => {
                    self.close_pass(report, totals);
                    self.settings.poll_interval
                }
                Ok(Step::XBlocked(until)) => {
                    self.close_pass(report, totals);
                    if announced_block.replace(until) != Some(until) {
                        tracing::info!(
                            until,
                            "X's rate limit is spent; leasing resumes when it resets"
                        );
                    }
                    self.settings.poll_interval
                }
                Ok(Step::Stopped) => break,
                Err(error) if is_transient(&error) => {
                    tracing::warn!(error = format!("{error:#}"), retry_in = ?self.settings.poll_interval, "server unavailable; waiting");
                    self.settings.poll_interval
                }
                Err(error) => return Err(error),
            };
        }
        Ok(())
    }

    /// Prints and counts the pass in `report` (if it did anything) and starts a new one.
    fn close_pass(&mut self, report: &mut PassReport, totals: &mut Totals) {
        report.pending = self.outbox.len().unwrap_or(0);
        self.metrics.set_pending(report.pending);
        if !report.is_empty() {
            self.metrics.passes.inc();
            self.reporter.pass(report);
            totals.passes += 1;
            totals.counts.add(report);
        }
        totals.counts.pending = report.pending;
        *report = PassReport::default();
    }

    /// Sends the verdicts an earlier run left on disk.
    async fn resend_pending(
        &mut self,
        report: &mut PassReport,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let pending = self.outbox.len().context("reading the outbox")?;
        if pending > 0 {
            tracing::info!(pending, outbox = %self.outbox.dir().display(), "sending verdicts left from an earlier run");
            report.resent += pending as u32;
            self.metrics.resent.inc_by(pending as u64);
        }
        self.flush(report, shutdown).await
    }

    /// One step: read the window, apply closed windows, lease and judge one batch.
    pub async fn step(
        &mut self,
        report: &mut PassReport,
        totals: &mut Totals,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<Step> {
        if shutdown.is_cancelled() {
            return Ok(Step::Stopped);
        }
        let window = self.current_window(shutdown).await?;
        // A pass that runs into a new window is summarised per window.
        if report.window.is_some_and(|w| w != window) {
            self.close_pass(report, totals);
        }
        report.window.get_or_insert(window);
        totals.windows_applied += self.update_weights(window).await?;
        if let Some(until) = self.x.blocked_until(unix_now()) {
            return Ok(Step::XBlocked(until));
        }
        let batch = match self.api.lease_tasks(self.settings.lease_batch).await {
            Ok(batch) => batch,
            // The reference treats a 404 as "nothing now" (docs/protocol.md#leasing-validation-tasks).
            Err(error) if error.status() == Some(StatusCode::NOT_FOUND) => return Ok(Step::Idle),
            Err(error) => return Err(error).context("leasing validation tasks"),
        };
        if !batch.available || batch.payloads.is_empty() {
            return Ok(Step::Idle);
        }
        let stopped = self
            .judge_batch(&batch.payloads, window, report, shutdown)
            .await?;
        self.flush(report, shutdown).await?;
        Ok(if stopped { Step::Stopped } else { Step::Worked })
    }

    /// The server's current window, retrying network errors and 5xx.
    async fn current_window(&mut self, shutdown: &CancellationToken) -> anyhow::Result<u64> {
        let api = &self.api;
        let status = self
            .settings
            .backoff
            .run(
                "reading the server's status",
                shutdown,
                CallError::failure,
                || api.status(),
            )
            .await
            .map_err(|gave_up| gave_up.error)
            .context("reading the server's status")?;
        self.metrics
            .current_window
            .set(i64::try_from(status.window.current_window).unwrap_or(i64::MAX));
        let server = status.window.blocks_per_window;
        if server != self.settings.blocks_per_window && !self.warned_about_window_size {
            self.warned_about_window_size = true;
            tracing::warn!(
                server,
                configured = self.settings.blocks_per_window,
                "the server counts a different number of blocks per window than BLOCKS_PER_WINDOW; following the server"
            );
        }
        Ok(status.window.current_window)
    }

    /// Judges `payloads`, writing each verdict to the outbox; true when shutdown stopped it.
    async fn judge_batch(
        &mut self,
        payloads: &[ValidationPayload],
        window: u64,
        report: &mut PassReport,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<bool> {
        report.leased += payloads.len() as u32;
        self.metrics.leased.inc_by(payloads.len() as u64);
        tracing::info!(leased = payloads.len(), window, "validation tasks leased");
        let ids: Vec<u64> = payloads
            .iter()
            .filter_map(|p| parse_canonical_post_id(&p.post.post_id).ok())
            .collect();
        let lookups = tokio::select! {
            lookups = self.x.lookup(&ids) => lookups,
            () = shutdown.cancelled() => {
                report.abandoned += payloads.len() as u32;
                self.metrics.abandoned.inc_by(payloads.len() as u64);
                return Ok(true);
            }
        };
        if let Some(error) = lookups.values().find_map(|r| {
            r.as_ref()
                .err()
                .filter(|e| matches!(e.status(), Some(401 | 403)))
        }) {
            // Every verdict will be inconclusive until the token is fixed: say so loudly.
            tracing::error!(%error, "X refuses this validator's bearer token (X_BEARER_TOKEN)");
        }
        let mut best_changed = false;
        let hotkey = self.api.hotkey().ss58().to_owned();
        for (index, payload) in payloads.iter().enumerate() {
            let judgement = tokio::select! {
                judgement = judge_payload(&self.analyzer, payload, &lookups) => judgement,
                () = shutdown.cancelled() => {
                    report.abandoned += (payloads.len() - index) as u32;
                    self.metrics.abandoned.inc_by((payloads.len() - index) as u64);
                    break;
                }
            };
            let item =
                check::verdict_item(&hotkey, &payload.validation_id, &payload.post, &judgement);
            self.outbox.write(&PendingVerdict {
                version: outbox::FORMAT_VERSION,
                item: item.clone(),
                post_id: payload.post.post_id.clone(),
                window,
                written_at_ms: unix_now_ms(),
            })?;
            report.count(judgement.outcome, judgement.code());
            self.metrics.verdict(judgement.outcome, judgement.code());
            let reason = item.failure_reason.as_ref();
            tracing::info!(
                validation.id = %payload.validation_id,
                post.id = %payload.post.post_id,
                miner.hotkey = %payload.miner_hotkey,
                outcome = ?judgement.outcome,
                code = judgement.code().unwrap_or(""),
                "verdict"
            );
            self.reporter.verdict(&VerdictLine {
                validation_id: payload.validation_id.clone(),
                post_id: payload.post.post_id.clone(),
                miner_hotkey: payload.miner_hotkey.clone(),
                outcome: judgement.outcome,
                code: reason.map(|r| r.code.clone()),
                message: reason.map(|r| r.message.clone()),
                details: reason.and_then(|r| r.details.clone()),
            });
            if judgement.outcome == protocol::api::VerdictOutcome::Pass {
                self.state
                    .offer_best_post(window, best_post_candidate(payload));
                best_changed = true;
            }
        }
        if best_changed {
            self.state_file.save(&self.state)?;
        }
        Ok(shutdown.is_cancelled())
    }

    /// Sends every pending verdict; verdicts the server answered for leave the outbox.
    /// Network errors and 5xx are retried with the backoff, then left pending (sent again
    /// later). A batch the server refuses as a whole for its content (413, too large; 422,
    /// unreadable) is split in halves and each sent on its own, down to single verdicts; a
    /// single verdict still refused can never be accepted and is set aside
    /// ([`Outbox::set_aside`]), so no verdict holds back another. Other errors (401, 403:
    /// the validator's identity or clock) are returned.
    pub async fn flush(
        &mut self,
        report: &mut PassReport,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        let pending = self.outbox.pending()?;
        let mut queue: std::collections::VecDeque<&[PendingVerdict]> =
            pending.chunks(SEND_BATCH).collect();
        while let Some(chunk) = queue.pop_front() {
            let request = ValidationResultRequest {
                validator_hotkey: self.api.hotkey().ss58().to_owned(),
                // Bounded again: verdicts written by an older release may not be.
                results: chunk.iter().map(|p| bounded(&p.item)).collect(),
            };
            match self.send(&request, shutdown).await {
                Ok(response) => self.settle(chunk, &response, report)?,
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, pending = pending.len(), outbox = %self.outbox.dir().display(),
                        "cannot send verdicts now; they stay on disk and are sent later");
                    break;
                }
                Err(error) if refuses_the_content(&error) && chunk.len() > 1 => {
                    let (first, second) = chunk.split_at(chunk.len() / 2);
                    tracing::warn!(%error, verdicts = chunk.len(),
                        "the server refused a batch of verdicts; sending it in halves");
                    queue.push_front(second);
                    queue.push_front(first);
                }
                Err(error) if refuses_the_content(&error) => {
                    let verdict = &chunk[0];
                    let refused = outbox::RefusedVerdict {
                        refused_at_ms: unix_now_ms(),
                        status: error.status().map_or(0, |s| s.as_u16()),
                        reason: error.to_string(),
                        verdict: verdict.clone(),
                    };
                    let path = self.outbox.set_aside(&refused)?;
                    report.refused += 1;
                    tracing::error!(%error, validation.id = %verdict.item.validation_id,
                        post.id = %verdict.post_id, set_aside = %path.display(),
                        "the server refuses this verdict on its own; it can never be accepted and is set aside");
                }
                Err(error) => return Err(error).context("sending verdicts"),
            }
        }
        report.pending = self.outbox.len().context("reading the outbox")?;
        self.metrics.set_pending(report.pending);
        Ok(())
    }

    async fn send(
        &self,
        request: &ValidationResultRequest,
        shutdown: &CancellationToken,
    ) -> Result<ValidationResultResponse, CallError> {
        self.settings
            .backoff
            .run("sending verdicts", shutdown, CallError::failure, || {
                self.api.send_verdicts(request)
            })
            .await
            .map_err(|gave_up| gave_up.error)
    }

    /// Removes from the outbox every verdict the server answered for.
    fn settle(
        &self,
        sent: &[PendingVerdict],
        response: &ValidationResultResponse,
        report: &mut PassReport,
    ) -> anyhow::Result<()> {
        let mut answers: Vec<Option<&protocol::api::ItemResult>> =
            response.results.iter().map(Some).collect();
        for verdict in sent {
            let id = &verdict.item.validation_id;
            // Results come in order; matching by id guards against a server that reorders.
            let Some(answer) = answers
                .iter_mut()
                .find(|a| a.is_some_and(|a| &a.validation_id == id))
                .and_then(Option::take)
            else {
                tracing::warn!(validation.id = %id, "the server's reply does not mention this verdict; it stays pending");
                continue;
            };
            self.metrics.sent(answer.status);
            match answer.status {
                ItemStatus::Recorded => report.recorded += 1,
                ItemStatus::Duplicate => report.duplicates += 1,
                ItemStatus::Rejected => {
                    report.rejected += 1;
                    tracing::warn!(
                        validation.id = %id,
                        post.id = %verdict.post_id,
                        reason = answer.reason.as_deref().unwrap_or(""),
                        detail = answer.detail.as_deref().unwrap_or(""),
                        "the server rejected a verdict; dropping it"
                    );
                }
            }
            self.outbox.remove(id)?;
        }
        Ok(())
    }

    /// Applies every window that closed since the last one applied, then hands the new
    /// weights to the setter. Returns how many windows were applied. Scores not available
    /// yet (404 before the first window completes, 422 for a window still open) are left
    /// for a later step.
    pub async fn update_weights(&mut self, current_window: u64) -> anyhow::Result<u32> {
        let applied = self.apply_windows(current_window).await?;
        // Weights still on their way (a retry after the rate limit, a pending reveal) move
        // at every step, not only when a window closes.
        if let Some(outcome) = self.setter.tick().await.context("setting weights")? {
            self.report_outcome(&outcome);
        }
        Ok(applied)
    }

    fn report_outcome(&mut self, outcome: &WeightsOutcome) {
        let window = match outcome {
            WeightsOutcome::Set { window, .. }
            | WeightsOutcome::Committed { window, .. }
            | WeightsOutcome::Revealed { window, .. }
            | WeightsOutcome::TimelockCommitted { window, .. } => Some(*window),
            WeightsOutcome::Written { .. } | WeightsOutcome::NotSet { .. } => {
                self.state.weights_set_for
            }
        };
        match outcome {
            WeightsOutcome::NotSet { .. } => {
                tracing::warn!(window, outcome = %outcome.describe(), "weights");
            }
            _ => tracing::info!(window, outcome = %outcome.describe(), "weights"),
        }
        match outcome {
            WeightsOutcome::Set { .. } | WeightsOutcome::Revealed { .. } => {
                self.metrics.weights_on_chain.inc();
            }
            WeightsOutcome::Committed { .. } | WeightsOutcome::TimelockCommitted { .. } => {
                self.metrics.weights_committed.inc();
            }
            _ => {}
        }
        self.reporter.weights_outcome(window, outcome);
    }

    async fn apply_windows(&mut self, current_window: u64) -> anyhow::Result<u32> {
        let mut applied = 0;
        let mut best = None;
        for window in self.state.windows_to_apply(current_window) {
            let scores = match self.api.scores(Some(window)).await {
                Ok(scores) => scores,
                Err(error)
                    if matches!(
                        error.status(),
                        Some(StatusCode::NOT_FOUND | StatusCode::UNPROCESSABLE_ENTITY)
                    ) =>
                {
                    tracing::info!(window, %error, "scores not available yet");
                    break;
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("reading the scores of window {window}"));
                }
            };
            if !self.state.apply(window, &scores.scores) {
                continue;
            }
            applied += 1;
            self.metrics.windows_applied.inc();
            best = self.state.take_best_post(window);
            tracing::info!(
                window,
                miners = scores.scores.len(),
                published_block = scores.published_block,
                scores = %serde_json::to_string(&scores.scores).unwrap_or_default(),
                "window scores applied"
            );
            if let Some(best) = &best {
                tracing::info!(window, post.id = %best.post_id, miner.hotkey = %best.miner_hotkey,
                    score = best.score, excerpt = %best.excerpt, "best post of the window");
            }
            // Saved before the weights are set: a crash in between never applies the window
            // twice, and the weights are set on the next start (`weights_set_for`).
            self.state_file.save(&self.state)?;
        }
        let Some(last) = self.state.last_window else {
            return Ok(applied);
        };
        if self.state.weights_set_for == Some(last) {
            return Ok(applied);
        }
        // A metagraph file caught mid-rewrite (or broken) must not stop validation: the
        // weights wait for a readable one, and the next step tries again.
        let from_setter = match self.setter.metagraph().await {
            Ok(metagraph) => metagraph,
            Err(error) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    window = last,
                    "cannot read the metagraph from the chain; weights are set once it is readable"
                );
                return Ok(applied);
            }
        };
        let metagraph = match from_setter
            .map(Ok)
            .or_else(|| self.settings.metagraph.as_deref().map(Metagraph::load))
        {
            None => None,
            Some(Ok(metagraph)) => Some(metagraph),
            Some(Err(error)) => {
                tracing::error!(
                    error = format!("{error:#}"),
                    window = last,
                    "cannot read the metagraph; weights are set once it is readable"
                );
                return Ok(applied);
            }
        };
        let mut vector = compute_weights(
            last,
            &self.state.ema,
            metagraph.as_ref(),
            self.settings.burn,
        );
        vector.best_post = best;
        self.metrics.weights_updates.inc();
        self.reporter.weights(&vector);
        for entry in &vector.weights {
            tracing::info!(window = last, uid = ?entry.uid, hotkey = entry.hotkey.as_deref().unwrap_or("(burn)"),
                weight = entry.weight, "weight");
        }
        for unmapped in &vector.unmapped {
            tracing::warn!(hotkey = %unmapped.hotkey, ema = unmapped.ema,
                "hotkey has no uid in the metagraph; left out of the weights");
        }
        if vector.is_zero() {
            tracing::info!(window = last, "no miner has a score yet; no weights to set");
        } else {
            let outcome = self
                .setter
                .set_weights(&vector)
                .await
                .context("setting weights")?;
            // Marked before the line is printed: the outcome belongs to this window.
            self.state.weights_set_for = Some(last);
            self.report_outcome(&outcome);
        }
        self.state.weights_set_for = Some(last);
        self.state_file.save(&self.state)?;
        Ok(applied)
    }
}

/// `item` within the bounds of [`protocol::verdict`].
fn bounded(item: &ValidationResultItem) -> ValidationResultItem {
    ValidationResultItem {
        failure_reason: item
            .failure_reason
            .as_ref()
            .map(protocol::verdict::bound_failure_reason),
        ..item.clone()
    }
}

/// Whether the server refused a request for what it carries (413: too large; 422:
/// unreadable), which sending the same bytes again cannot change.
fn refuses_the_content(error: &CallError) -> bool {
    matches!(
        error.status(),
        Some(StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNPROCESSABLE_ENTITY)
    )
}

/// The checks of one payload, given the batch's X lookups.
///
/// The analysis runs on the stored (normalised) content, as the miner's did. When a check
/// has already failed, the sentiment engine is not asked: the verdict is decided, and an LLM
/// call costs money.
pub async fn judge_payload(
    analyzer: &Analyzer,
    payload: &ValidationPayload,
    lookups: &LookupResults,
) -> Judgement {
    let post = &payload.post;
    let mut failures: Vec<Finding> = Vec::new();
    let mut troubles: Vec<Finding> = Vec::new();
    let content = normalize_content(&post.content);
    if content.is_empty() {
        failures.push(Finding {
            code: codes::EMPTY_CONTENT,
            message: "the content is empty".into(),
            expected: json!("text"),
            found: json!(post.content),
        });
    }
    match parse_canonical_post_id(&post.post_id) {
        Err(error) => failures.push(Finding {
            code: codes::MISSING_POST_ID,
            message: format!("post_id {:?} {error}", post.post_id),
            expected: json!("a canonical X post id"),
            found: json!(post.post_id),
        }),
        Ok(id) => {
            failures.extend(check::check_snowflake(id, post.date));
            match lookups.get(&id) {
                Some(Ok(Found::Live(live))) => {
                    failures.extend(check::check_x_facts(post, live, unix_now()));
                    failures.extend(check::check_against_x(post, live));
                    troubles.extend(check::unreported(live));
                }
                Some(Ok(Found::Missing { not_found, detail })) => failures.push(Finding {
                    code: if *not_found {
                        codes::POST_NOT_FOUND
                    } else {
                        codes::POST_UNAVAILABLE
                    },
                    message: format!("X does not show post {id}: {detail}"),
                    expected: json!({"x": detail}),
                    found: json!(post.post_id),
                }),
                Some(Ok(Found::Incomplete(why))) => troubles.push(Finding::trouble(
                    codes::X_API_ERROR,
                    format!("X's answer for post {id} is incomplete: {why}"),
                    json!({"error": why}),
                )),
                Some(Err(error)) => troubles.push(Finding::trouble(
                    codes::X_API_ERROR,
                    error.to_string(),
                    json!({"error": error.to_string(), "status": error.status()}),
                )),
                None => troubles.push(Finding::trouble(
                    codes::X_API_ERROR,
                    format!("post {id} was not looked up"),
                    json!({"error": "not looked up"}),
                )),
            }
        }
    }
    let tokens = analyzer.relevance(&content).tokens();
    failures.extend(check::compare_tokens(&post.tokens, &tokens));
    if failures.is_empty() {
        match analyzer.sentiment_engine().classify(&content).await {
            Ok(sentiment) => {
                failures.extend(check::compare_sentiment(post.sentiment, sentiment.value()))
            }
            Err(error) => {
                let mut message = error.to_string();
                if let Some(cause) = std::error::Error::source(&error) {
                    message = format!("{message}: {cause}");
                }
                troubles.push(Finding::trouble(
                    codes::ANALYZER_ERROR,
                    format!("the sentiment engine failed: {message}"),
                    json!({"error": message, "engine": analyzer.sentiment_engine().kind()}),
                ));
            }
        }
    }
    check::judge(failures, troubles)
}

/// A passed post as a best-post candidate, scored as the server scores it: the submitted
/// tokens and counts (quotes are not submitted, so 0), recency as of its selection (the
/// moment it was accepted).
pub fn best_post_candidate(payload: &ValidationPayload) -> BestPost {
    let post = &payload.post;
    let accepted = chrono::DateTime::parse_from_rfc3339(&payload.selected_at)
        .map(|t| t.timestamp())
        .unwrap_or_else(|_| unix_now());
    let engagement = Engagement {
        likes: post.likes,
        retweets: post.retweets,
        quotes: 0,
        replies: post.responses,
        followers: post.followers,
    };
    let score = score_post(
        post.tokens.values().copied(),
        &engagement,
        post.date,
        accepted,
    )
    .total;
    BestPost {
        post_id: post.post_id.clone(),
        miner_hotkey: payload.miner_hotkey.clone(),
        validation_id: payload.validation_id.clone(),
        score,
        excerpt: normalize_content(&post.content).chars().take(80).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use analyzer::sentiment::{LlmClassifier, LlmConfig};
    use analyzer::{Registry, SentimentEngine};
    use protocol::api::{SubmitRequest, VerdictOutcome};

    use super::*;
    use crate::lookup::{LivePost, LookupError};

    const DATE: i64 = 1_764_115_200;
    const TEXT: &str = "SN64 chutes to the moon 🚀";

    fn id() -> u64 {
        ((DATE as u64 * 1000 - protocol::post_id::SNOWFLAKE_EPOCH_MS) << 22) | 9
    }

    async fn payload() -> ValidationPayload {
        let analyzer = Analyzer::default();
        let sentiment = analyzer
            .sentiment_engine()
            .classify(TEXT)
            .await
            .unwrap()
            .value();
        ValidationPayload {
            validation_id: "0b6f5f8e-8d1a-4a43-9a40-3f8f2a0e2f61".into(),
            miner_hotkey: "5Miner".into(),
            post: SubmitRequest {
                miner_hotkey: "5Miner".into(),
                post_id: id().to_string(),
                content: TEXT.into(),
                date: DATE,
                author: "alice".into(),
                account_age: 10,
                retweets: 1,
                likes: 2,
                responses: 3,
                followers: 4,
                tokens: analyzer.relevance(TEXT).tokens(),
                sentiment,
                score: 0.5,
            },
            selected_at: "2025-11-26T00:10:00.000Z".into(),
            lease_expires_at: "2025-11-26T00:15:00.000Z".into(),
        }
    }

    fn live() -> LookupResults {
        BTreeMap::from([(
            id(),
            Ok(Found::Live(LivePost {
                id: id(),
                text: TEXT.into(),
                author: "Alice".into(),
                created_at: DATE,
                likes: Some(2),
                retweets: Some(1),
                replies: Some(3),
                followers: Some(4),
                lang: Some("en".into()),
                retweet_of: None,
                author_created_at: Some(DATE - 10 * 86_400),
            })),
        )])
    }

    fn x_down() -> LookupResults {
        BTreeMap::from([(
            id(),
            Err(LookupError::Transport("connection refused".into())),
        )])
    }

    #[tokio::test]
    async fn an_honest_post_passes() {
        let judgement = judge_payload(&Analyzer::default(), &payload().await, &live()).await;
        assert_eq!(judgement.outcome, VerdictOutcome::Pass, "{judgement:?}");
    }

    #[tokio::test]
    async fn a_post_x_does_not_have_fails() {
        let missing = BTreeMap::from([(
            id(),
            Ok(Found::Missing {
                not_found: true,
                detail: "Not Found Error".into(),
            }),
        )]);
        let judgement = judge_payload(&Analyzer::default(), &payload().await, &missing).await;
        assert_eq!(judgement.outcome, VerdictOutcome::Fail);
        assert_eq!(judgement.code(), Some("post_not_found"));
    }

    #[tokio::test]
    async fn x_trouble_is_inconclusive_unless_a_check_without_x_fails() {
        let analyzer = Analyzer::default();
        let judgement = judge_payload(&analyzer, &payload().await, &x_down()).await;
        assert_eq!(judgement.outcome, VerdictOutcome::Inconclusive);
        assert_eq!(judgement.code(), Some("x_api_error"));

        let mut wrong_tokens = payload().await;
        wrong_tokens.post.tokens = BTreeMap::from([("apex".into(), 1.0)]);
        let judgement = judge_payload(&analyzer, &wrong_tokens, &x_down()).await;
        assert_eq!(judgement.outcome, VerdictOutcome::Fail);
        assert_eq!(judgement.code(), Some("tokens_mismatch"));

        let mut wrong_date = payload().await;
        wrong_date.post.date = DATE - 3600;
        let judgement = judge_payload(&analyzer, &wrong_date, &x_down()).await;
        assert_eq!(judgement.code(), Some("snowflake_time_mismatch"));

        let mut wrong_sentiment = payload().await;
        wrong_sentiment.post.sentiment = -1.0;
        let judgement = judge_payload(&analyzer, &wrong_sentiment, &live()).await;
        assert_eq!(judgement.code(), Some("sentiment_mismatch"));
    }

    #[tokio::test]
    async fn a_failing_sentiment_engine_is_inconclusive_never_a_fail() {
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut config = LlmConfig::new(format!("http://127.0.0.1:{port}/v1"), "m", "k");
        config.max_attempts = 1;
        config.timeout = Duration::from_secs(2);
        let analyzer = Analyzer::new(
            Registry::embedded(),
            SentimentEngine::Llm(LlmClassifier::new(config).unwrap()),
        );
        let judgement = judge_payload(&analyzer, &payload().await, &live()).await;
        assert_eq!(judgement.outcome, VerdictOutcome::Inconclusive);
        assert_eq!(judgement.code(), Some("analyzer_error"));
    }

    #[tokio::test]
    async fn the_best_post_is_scored_as_the_server_scores_it() {
        let payload = payload().await;
        let best = best_post_candidate(&payload);
        // Accepted ten minutes after creation: relevance 1, tiny value, recency 1 - 1/144.
        let expected = score_post(
            [1.0],
            &Engagement {
                likes: 2,
                retweets: 1,
                quotes: 0,
                replies: 3,
                followers: 4,
            },
            DATE,
            DATE + 600,
        )
        .total;
        assert_eq!(best.score, expected);
        assert_eq!(best.post_id, id().to_string());
        assert_eq!(best.excerpt, TEXT);
    }
}
