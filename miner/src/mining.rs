//! [`Miner`]: the window loop. Sync with the server, scrape, screen, rank, analyse, submit.
//!
//! # A window's work ([`Miner::work_window`])
//! 1. The signed `/v2/status` says how many new posts this hotkey may still store in the
//!    window; the miner aims for that many, capped so the window's total stays within
//!    `MAX_SUBMISSIONS_PER_WINDOW`. Nothing to aim for, nothing is scraped.
//! 2. One search page (up to 100 posts) is screened ([`crate::select`]) and the eligible
//!    posts ranked by score. More pages are read, up to `X_MAX_PAGES`, only when the ranked
//!    posts run out before the quota is used.
//! 3. From the top, each post gets its full analysis (sentiment) and is submitted. A
//!    duplicate costs no quota, so the next post follows; 409, 422 and 413 mark the post seen
//!    and the next follows; 429, 401, 403, an unavailable server or a reply with a later
//!    window end the window's work.
//!
//! # The loop ([`Miner::run`])
//! The block is synced from `/v2/status` at start, after each window's work, and at least
//! every `sync_interval` (at most a minute) while waiting; every submit reply also carries
//! the server's window. A window's work runs once, when the server is first seen in it; if
//! it ended on a transient failure (X or the server unavailable), it is tried again at the
//! next sync while the window lasts. Each window's report goes to the caller once its work
//! is over.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use analyzer::Analyzer;
use client::{ApiClient, CallError};
use protocol::api::StatusResponse;
use retry::Policy;
use service::shutdown::sleep;
use service::{CancellationToken, unix_now};

use crate::cheat::Cheat;
use crate::metrics::Metrics;
use crate::report::{RejectReason, StopReason, Totals, WindowReport};
use crate::scrape::{XClient, XError};
use crate::seen::{SeenEntry, SeenOutcome, SeenSet};
use crate::select::{self, Candidate, SkipReason};
use crate::submit::{SubmitOutcome, Submitter};

/// The miner's own limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Most new posts per window (`MAX_SUBMISSIONS_PER_WINDOW`).
    pub max_per_window: u32,
    /// Blocks per window the operator expects (`BLOCKS_PER_WINDOW`); the server's value is
    /// used, a difference is reported.
    pub blocks_per_window: u64,
    /// Search pages per window at most.
    pub max_pages: u32,
    /// Longest wait between block syncs.
    pub sync_interval: Duration,
    /// Attempts at `/v2/status` when `once` starts.
    pub status_backoff: Policy,
}

/// The server's status and when it was read.
#[derive(Debug, Clone)]
pub struct Synced {
    /// The reply.
    pub status: StatusResponse,
    /// When it arrived.
    pub at: Instant,
}

impl Synced {
    /// Estimated time until the next window starts, from the reply's blocks left and block
    /// time, less the time since the reply.
    pub fn until_next_window(&self) -> Duration {
        let estimate = Duration::from_secs_f64(
            self.status
                .window
                .seconds_until_next_window(self.status.block_time_secs)
                .max(0.0),
        );
        estimate.saturating_sub(self.at.elapsed())
    }

    /// The estimated end of the window, in Unix seconds (at least a second from now).
    pub fn window_deadline(&self) -> i64 {
        unix_now() + (self.until_next_window().as_secs() as i64).max(1)
    }
}

/// Everything a window's work needs.
#[derive(Debug)]
pub struct Miner {
    status_api: ApiClient,
    submitter: Submitter,
    x: XClient,
    analyzer: Analyzer,
    seen: SeenSet,
    limits: Limits,
    metrics: Arc<Metrics>,
    warned_about_window_size: bool,
    cheat: Option<Cheat>,
}

impl Miner {
    /// A miner reading `/v2/status` with `status_api`, submitting with `submitter`,
    /// searching with `x`, analysing with `analyzer`, remembering posts in `seen`.
    pub fn new(
        status_api: ApiClient,
        submitter: Submitter,
        x: XClient,
        analyzer: Analyzer,
        seen: SeenSet,
        limits: Limits,
    ) -> Self {
        let metrics = Arc::new(Metrics::new());
        Self {
            status_api,
            submitter: submitter.with_metrics(Arc::clone(&metrics)),
            x,
            analyzer,
            seen,
            limits,
            metrics,
            warned_about_window_size: false,
            cheat: None,
        }
    }

    /// This miner, cheating with `cheat` when one is given (see [`crate::cheat`]).
    pub fn with_cheat(mut self, cheat: Option<Cheat>) -> Self {
        if let Some(cheat) = cheat {
            tracing::warn!(
                strategy = cheat.name(),
                "this miner cheats on purpose (--dishonest)"
            );
        }
        self.cheat = cheat;
        self
    }

    /// The counters behind the summaries, for the `/metrics` listener.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// The seen set.
    pub fn seen(&self) -> &SeenSet {
        &self.seen
    }

    /// Reads the server's block, window and this hotkey's quota.
    pub async fn sync(&mut self) -> Result<Synced, CallError> {
        let status = self.status_api.status().await?;
        Ok(self.synced(status))
    }

    /// Records a status reply: the window gauge, and a warning when the server's window
    /// size is not the configured one.
    fn synced(&mut self, status: StatusResponse) -> Synced {
        self.metrics
            .current_window
            .set(i64::try_from(status.window.current_window).unwrap_or(i64::MAX));
        let server_window = status.window.blocks_per_window;
        if server_window != self.limits.blocks_per_window && !self.warned_about_window_size {
            self.warned_about_window_size = true;
            tracing::warn!(
                server = server_window,
                configured = self.limits.blocks_per_window,
                "the server counts a different number of blocks per window than BLOCKS_PER_WINDOW; following the server"
            );
        }
        Synced {
            status,
            at: Instant::now(),
        }
    }

    /// [`Miner::sync`], retrying network errors and 5xx with the status policy.
    pub async fn sync_retrying(&mut self, shutdown: &CancellationToken) -> anyhow::Result<Synced> {
        let api = &self.status_api;
        let status = self
            .limits
            .status_backoff
            .run(
                "reading the server's status",
                shutdown,
                CallError::failure,
                || api.status(),
            )
            .await;
        match status {
            Ok(status) => Ok(self.synced(status)),
            Err(gave_up) if gave_up.cancelled => anyhow::bail!("interrupted by shutdown"),
            Err(gave_up) => Err(describe_status_error(gave_up.error)),
        }
    }

    /// One window's work as of `synced`, counted into `report` (which may hold an earlier,
    /// interrupted attempt at the same window).
    pub async fn work_window(
        &mut self,
        synced: &Synced,
        report: &mut WindowReport,
        shutdown: &CancellationToken,
    ) {
        report.stopped = None;
        let status = &synced.status;
        let used = status.submissions_in_window.unwrap_or(0);
        let remaining = status
            .remaining_in_window
            .unwrap_or_else(|| status.max_submissions.saturating_sub(used));
        let quota = remaining.min(self.limits.max_per_window.saturating_sub(used));
        report.attempts += 1;
        if report.attempts == 1 {
            report.quota = quota;
            report.used_before = used;
        }
        if quota == 0 {
            tracing::info!(window = report.window, used, "no quota left in this window");
            return;
        }
        let deadline = synced.window_deadline();
        let hotkey = self.submitter.hotkey().to_owned();
        let mut queue: VecDeque<Candidate> = VecDeque::new();
        let mut next_token: Option<String> = None;
        let mut pages = 0;
        let mut accepted = 0;
        while accepted < quota {
            if shutdown.is_cancelled() {
                report.stopped = Some(StopReason::Shutdown);
                break;
            }
            let Some(candidate) = queue.pop_front() else {
                if pages >= self.limits.max_pages || (pages > 0 && next_token.is_none()) {
                    break;
                }
                match self
                    .scrape_page(next_token.as_deref(), deadline, shutdown, report)
                    .await
                {
                    Ok((ranked, token)) => {
                        pages += 1;
                        next_token = token;
                        queue.extend(ranked);
                    }
                    Err(stop) => {
                        report.stopped = Some(stop);
                        break;
                    }
                }
                continue;
            };
            match self.submit_one(candidate, &hotkey, report, shutdown).await {
                Step::Accepted { quota_left } => {
                    accepted += 1;
                    if quota_left == 0 && accepted < quota {
                        report.stopped = Some(StopReason::QuotaUsed);
                        break;
                    }
                }
                Step::Next => {}
                Step::Stop(stop) => {
                    report.stopped = Some(stop);
                    break;
                }
            }
        }
        report.left = queue.len() as u32;
        // A window is rate limited at most once: its work is not tried again after a 429.
        if matches!(report.stopped, Some(StopReason::RateLimited { .. })) {
            self.metrics.rate_limited_windows.inc();
        }
    }

    /// Reads one search page, screens and ranks it.
    async fn scrape_page(
        &mut self,
        next_token: Option<&str>,
        deadline: i64,
        shutdown: &CancellationToken,
        report: &mut WindowReport,
    ) -> Result<(Vec<Candidate>, Option<String>), StopReason> {
        let page = tokio::select! {
            page = self.x.search(next_token, deadline, shutdown) => page,
            () = shutdown.cancelled() => Err(XError::Interrupted),
        };
        let page = page.map_err(|error| match error {
            XError::Interrupted => StopReason::Shutdown,
            error if error.is_transient() => StopReason::XUnavailable {
                error: error.to_string(),
            },
            error => StopReason::XRefused {
                error: error.to_string(),
            },
        })?;
        let now = unix_now();
        let mut ranked = Vec::new();
        for post in page.posts {
            report.scraped += 1;
            self.metrics.scraped.inc();
            let post = match post {
                Ok(post) => post,
                Err(incomplete) => {
                    tracing::debug!(post.id = %incomplete.id, reason = %incomplete.reason, "skipped: incomplete");
                    self.skip(report, SkipReason::Incomplete);
                    continue;
                }
            };
            match select::screen(&self.analyzer, &post, now, Some(&self.seen)) {
                Ok(candidate) => ranked.push(candidate),
                Err(reason) => {
                    tracing::debug!(post.id = %post.id, %reason, "skipped");
                    self.skip(report, reason);
                }
            }
        }
        report.eligible += ranked.len() as u32;
        self.metrics.eligible.inc_by(ranked.len() as u64);
        select::rank(&mut ranked);
        Ok((ranked, page.next_token))
    }

    /// Analyses and submits one candidate, and records what happened.
    async fn submit_one(
        &mut self,
        candidate: Candidate,
        hotkey: &str,
        report: &mut WindowReport,
        shutdown: &CancellationToken,
    ) -> Step {
        let post = candidate.post;
        let analysis = match self.analyzer.analyze(&post.input(), unix_now()).await {
            Ok(analysis) if analysis.is_relevant() => analysis,
            Ok(_) => {
                self.skip(report, SkipReason::NoSubnet);
                return Step::Next;
            }
            Err(error) => {
                tracing::warn!(post.id = %post.id, error = %error_chain(&error), "skipped: analysis failed");
                self.skip(report, SkipReason::AnalysisFailed);
                return Step::Next;
            }
        };
        let mut request = post.submission(hotkey, &analysis);
        if let Some(cheat) = self.cheat {
            cheat.apply(&mut request, self.analyzer.registry(), &mut rand::rng());
        }
        report.submitted += 1;
        self.metrics.submitted.inc();
        let outcome = self.submitter.submit(&request, shutdown).await;
        let moved_on = outcome
            .window()
            .map(|w| w.current_window)
            .filter(|w| *w != report.window);
        let subnet = &candidate.subnet.name;
        let score = analysis.score.total;
        let mark = |seen: &mut SeenSet, outcome: SeenOutcome| {
            let now = unix_now();
            let entry = SeenEntry {
                date: post.created_at,
                outcome,
                marked_at: now,
            };
            if let Err(error) = seen.mark(&post.id, entry, now) {
                // The server's idempotency still guards against a resubmission; losing
                // the mark costs a duplicate or a conflict after a restart, not a post.
                tracing::error!(post.id = %post.id, error = %format!("{error:#}"), "cannot record the post as seen");
            }
        };
        let step = match outcome {
            SubmitOutcome::Accepted(receipt) => {
                report.accepted += 1;
                self.metrics.accepted.inc();
                if receipt.selected_for_validation {
                    report.selected_for_validation += 1;
                    self.metrics.selected.inc();
                }
                mark(&mut self.seen, SeenOutcome::New);
                tracing::info!(
                    post.id = %post.id, %subnet, score,
                    selected = receipt.selected_for_validation,
                    remaining = receipt.remaining_in_window,
                    "accepted"
                );
                Step::Accepted {
                    quota_left: receipt.remaining_in_window,
                }
            }
            SubmitOutcome::Duplicate(_) => {
                report.duplicates += 1;
                self.metrics.duplicates.inc();
                mark(&mut self.seen, SeenOutcome::Duplicate);
                tracing::info!(post.id = %post.id, "duplicate: the server already has it (no quota used)");
                Step::Next
            }
            SubmitOutcome::Conflict { detail, .. } => {
                self.reject(report, RejectReason::Conflict);
                mark(&mut self.seen, SeenOutcome::Conflict);
                tracing::warn!(
                    post.id = %post.id,
                    differing_fields = %detail.differing_fields.join(","),
                    "conflict (409): {}; not sending it again", detail.message
                );
                Step::Next
            }
            SubmitOutcome::Invalid { fields, .. } => {
                self.reject(report, RejectReason::Invalid);
                mark(&mut self.seen, SeenOutcome::Invalid);
                for field in &fields {
                    tracing::warn!(post.id = %post.id, field = %field.field, "invalid (422): {}", field.message);
                }
                Step::Next
            }
            SubmitOutcome::TooLarge { detail } => {
                self.reject(report, RejectReason::TooLarge);
                mark(&mut self.seen, SeenOutcome::TooLarge);
                tracing::warn!(post.id = %post.id, "too large (413): {detail}");
                Step::Next
            }
            SubmitOutcome::RateLimited {
                message,
                next_window_start_block,
                ..
            } => {
                tracing::info!(post.id = %post.id, ?next_window_start_block, "rate limited (429): {message}; waiting for the next window");
                Step::Stop(StopReason::RateLimited {
                    message,
                    next_window_start_block,
                })
            }
            SubmitOutcome::Unauthorized { detail } => {
                tracing::error!(
                    "the server refused the signature (401): {detail}; check this machine's clock (signatures are valid for 300 s) and the hotkey"
                );
                Step::Stop(StopReason::Unauthorized { detail })
            }
            SubmitOutcome::Forbidden { detail } => {
                tracing::error!("the server refused this hotkey (403): {detail}");
                Step::Stop(StopReason::Forbidden { detail })
            }
            SubmitOutcome::Unavailable { error, attempts } => {
                tracing::error!(post.id = %post.id, attempts, "submission failed: {error}");
                Step::Stop(StopReason::ServerUnavailable { error })
            }
            SubmitOutcome::Unexpected { error } => {
                tracing::error!(post.id = %post.id, "submission failed: {error}");
                Step::Stop(StopReason::UnexpectedReply { error })
            }
            SubmitOutcome::Interrupted => Step::Stop(StopReason::Shutdown),
        };
        match (moved_on, step) {
            (Some(current_window), Step::Accepted { .. } | Step::Next) => {
                Step::Stop(StopReason::WindowEnded { current_window })
            }
            (_, step) => step,
        }
    }

    /// Counts a skipped post in the report and the metrics.
    fn skip(&self, report: &mut WindowReport, reason: SkipReason) {
        report.skip(reason);
        self.metrics.skip(reason);
    }

    /// Counts a refused post in the report and the metrics.
    fn reject(&self, report: &mut WindowReport, reason: RejectReason) {
        report.reject(reason);
        self.metrics.reject(reason);
    }

    /// One window's work, then return its report (`pulse-miner once`).
    pub async fn once(&mut self, shutdown: &CancellationToken) -> anyhow::Result<WindowReport> {
        let synced = self.sync_retrying(shutdown).await?;
        let mut report = WindowReport::new(&synced.status.window);
        self.work_window(&synced, &mut report, shutdown).await;
        self.metrics.windows.inc();
        Ok(report)
    }

    /// Works every window until `shutdown`; hands each window's report to `on_report` when
    /// its work is over and returns the totals.
    pub async fn run(
        &mut self,
        shutdown: &CancellationToken,
        mut on_report: impl FnMut(&WindowReport),
    ) -> Totals {
        let mut totals = Totals::default();
        let windows = self.metrics.windows.clone();
        let mut emit = |report: WindowReport, totals: &mut Totals| {
            totals.add(&report);
            windows.inc();
            on_report(&report);
        };
        let interval = self.limits.sync_interval;
        let mut finished: Option<u64> = None;
        let mut pending: Option<WindowReport> = None;
        while !shutdown.is_cancelled() {
            let synced = match self.sync().await {
                Ok(synced) => synced,
                Err(error) => {
                    tracing::warn!(error = %describe_status_error(error), retry_in = ?interval, "cannot read the server's status");
                    if !sleep(shutdown, interval).await {
                        break;
                    }
                    continue;
                }
            };
            let window = synced.status.window.current_window;
            if let Some(report) = pending.take_if(|r| r.window != window) {
                emit(report, &mut totals);
            }
            if finished.is_some_and(|done| done >= window) {
                let wait = interval.min(synced.until_next_window() + Duration::from_secs(1));
                if !sleep(shutdown, wait).await {
                    break;
                }
                continue;
            }
            let mut report = pending
                .take()
                .unwrap_or_else(|| WindowReport::new(&synced.status.window));
            self.work_window(&synced, &mut report, shutdown).await;
            match &report.stopped {
                Some(stop) if stop.retry_in_window() && !shutdown.is_cancelled() => {
                    tracing::warn!(window, retry_in = ?interval, "{}; trying the window again", stop.describe());
                    pending = Some(report);
                    if !sleep(shutdown, interval).await {
                        break;
                    }
                }
                _ => {
                    emit(report, &mut totals);
                    finished = Some(window);
                }
            }
        }
        if let Some(report) = pending {
            emit(report, &mut totals);
        }
        totals
    }
}

enum Step {
    Accepted { quota_left: u32 },
    Next,
    Stop(StopReason),
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A failed `/v2/status` call, explained for an operator.
pub fn describe_status_error(error: CallError) -> anyhow::Error {
    let hint = match error.status().map(|s| s.as_u16()) {
        Some(401) => {
            "; the server refused the signature: check this machine's clock (signatures are valid for 300 s) and the hotkey"
        }
        None if error.is_transient() => "; is MINER_API_URL right and the server running?",
        _ => "",
    };
    anyhow::anyhow!("cannot read the server's status: {error}{hint}")
}
