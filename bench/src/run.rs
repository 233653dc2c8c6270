//! A load run: setup (server settings, hotkeys, signatures ahead, each hotkey's quota),
//! the connections' request loops, and the report.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use http::HeaderMap;
use protocol::api::StatusResponse;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::check;
use crate::config::RunArgs;
use crate::conn::{Connection, Endpoint};
use crate::keys::{self, PostFactory};
use crate::mix::Op;
use crate::plan::{Plan, Planner, PlannerConfig};
use crate::receipts;
use crate::report::{GeneratorReport, Recorder, Report, ServerInfo};
use crate::sign::Signers;

/// Longest a connection sleeps when it has nothing to send before looking again (it is
/// normally woken sooner, by a reply or a signature).
const IDLE_POLL: Duration = Duration::from_millis(50);
/// Interval of the progress lines.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// What the connections share.
struct Shared {
    endpoint: Endpoint,
    planner: Arc<Mutex<Planner>>,
    /// Woken when a hotkey becomes idle or a signature arrives.
    notify: Arc<Notify>,
    start: Instant,
    measure_from: Instant,
    measure_until: Option<Instant>,
    measure_requests: Option<u64>,
    rate: Option<f64>,
    /// Requests started (for the rate's schedule).
    slots: AtomicU64,
    /// Measured requests started.
    measured_started: AtomicU64,
    /// Replies and errors so far, for progress lines.
    replies: AtomicU64,
    errors: AtomicU64,
    /// Set when no request with a known outcome can be sent any more.
    exhausted: AtomicBool,
    done: AtomicBool,
}

impl Shared {
    fn planner(&self) -> MutexGuard<'_, Planner> {
        self.planner.lock().expect("planner lock")
    }

    fn finished(&self, now: Instant) -> bool {
        self.exhausted.load(Ordering::Relaxed)
            || self.measure_until.is_some_and(|until| now >= until)
            || self
                .measure_requests
                .is_some_and(|n| self.measured_started.load(Ordering::Relaxed) >= n)
    }
}

/// Stops the signer threads however the run ends.
struct SignerGuard {
    signers: Arc<Signers>,
    planner: Arc<Mutex<Planner>>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Drop for SignerGuard {
    fn drop(&mut self) {
        self.signers.stopping.store(true, Ordering::Relaxed);
        if let Ok(mut planner) = self.planner.lock() {
            planner.stop_signers(self.threads.len());
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

/// Runs the load `args` describe and reports it (checking the database too when asked).
pub async fn run(args: &RunArgs) -> anyhow::Result<Report> {
    let base = args.url.trim_end_matches('/');
    let endpoint = Endpoint::parse(base, args.timeout)?;
    let status_url = reqwest::Url::parse(&format!("{base}/v2/status"))?;
    let client = reqwest::Client::builder()
        .timeout(args.timeout)
        .tcp_nodelay(true)
        .pool_max_idle_per_host(args.concurrency as usize)
        .build()
        .context("cannot build the HTTP client")?;
    let server = fetch_status(&client, &status_url, HeaderMap::new())
        .await
        .with_context(|| format!("cannot read the server's status at {status_url}"))?;
    let quota = server.max_submissions;
    progress(
        args,
        &format!(
            "server: block {}, window {} ({} blocks of {} s), quota {quota} new posts per hotkey per window",
            server.window.current_block,
            server.window.current_window,
            server.window.blocks_per_window,
            server.block_time_secs
        ),
    );

    let setup = Instant::now();
    let keys: Arc<[keys::BenchKey]> =
        keys::derive(args.seed, args.hotkeys, args.epistula_share).into();
    let (jobs, job_queue) = std::sync::mpsc::channel();
    let planner = Planner::new(
        PlannerConfig {
            quota,
            mix: args.mix.clone(),
            seed: args.seed,
            sign_ahead: args.sign_ahead,
            presign: args.presign,
            signature_max_age: args.signature_max_age,
            xauth_reuse: args.xauth_reuse,
            keep_receipts: args.check_db.is_some() || args.receipts.is_some(),
        },
        Arc::clone(&keys),
        jobs,
        server.window.current_window,
    );
    let signers = Arc::new(Signers {
        keys: Arc::clone(&keys),
        posts: PostFactory::new(SystemTime::now()),
        message_prefix: args.auth_message_prefix.clone(),
        duplicates: planner.signs_duplicates(),
        conflicts: planner.signs_conflicts(),
        signatures: AtomicU64::new(0),
        stopping: AtomicBool::new(false),
    });
    let planner = Arc::new(Mutex::new(planner));
    let notify = Arc::new(Notify::new());
    let _signers = SignerGuard {
        threads: signers.spawn(
            args.signers,
            job_queue,
            Arc::clone(&planner),
            Arc::clone(&notify),
        ),
        planner: Arc::clone(&planner),
        signers: Arc::clone(&signers),
    };
    planner
        .lock()
        .expect("planner lock")
        .request_initial_supply();
    loop {
        let notified = notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if planner.lock().expect("planner lock").pending_jobs() == 0 {
            break;
        }
        let _ = tokio::time::timeout(IDLE_POLL, notified).await;
    }
    progress(
        args,
        &format!(
            "signed ahead for {} hotkeys in {:.1} s ({} signatures)",
            keys.len(),
            setup.elapsed().as_secs_f64(),
            signers.signatures.load(Ordering::Relaxed)
        ),
    );
    read_quotas(
        &client,
        &status_url,
        &planner,
        keys.len() as u32,
        args.concurrency,
    )
    .await?;
    planner.lock().expect("planner lock").start();

    let start = Instant::now();
    let measure_from = start + args.warmup;
    let measure_until = match args.requests {
        Some(_) => None,
        None => Some(measure_from + args.duration.unwrap_or(RunArgs::DEFAULT_DURATION)),
    };
    let shared = Arc::new(Shared {
        endpoint,
        planner: Arc::clone(&planner),
        notify: Arc::clone(&notify),
        start,
        measure_from,
        measure_until,
        measure_requests: args.requests,
        rate: args.rate,
        slots: AtomicU64::new(0),
        measured_started: AtomicU64::new(0),
        replies: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        exhausted: AtomicBool::new(false),
        done: AtomicBool::new(false),
    });
    let progress_task = (!args.quiet).then(|| tokio::spawn(report_progress(Arc::clone(&shared))));
    let mut workers = JoinSet::new();
    for _ in 0..args.concurrency {
        workers.spawn(worker(Arc::clone(&shared)));
    }
    let mut recorder = Recorder::default();
    while let Some(worker) = workers.join_next().await {
        recorder.merge(worker.context("a connection task failed")?);
    }
    shared.done.store(true, Ordering::Relaxed);
    if let Some(task) = progress_task {
        task.abort();
    }
    if shared.exhausted.load(Ordering::Relaxed) {
        eprintln!(
            "pulse-bench: stopped early: every hotkey's state was lost to errors (see the errors below)"
        );
    }

    let elapsed = recorder
        .last_measured
        .map(|t| t.saturating_duration_since(measure_from))
        .unwrap_or_default();
    let (stats, receipts) = {
        let planner = planner.lock().expect("planner lock");
        (planner.stats().clone(), planner.receipts())
    };
    if let Some(path) = &args.receipts {
        receipts::write(path, &receipts)?;
    }
    let name = |op: Op| op.as_str().to_string();
    let report = Report {
        url: args.url.clone(),
        concurrency: args.concurrency,
        rate: args.rate,
        hotkeys: args.hotkeys,
        epistula_share: args.epistula_share,
        mix: args.mix.to_string(),
        server: ServerInfo {
            max_submissions: quota,
            blocks_per_window: server.window.blocks_per_window,
            block_time_secs: server.block_time_secs,
            first_window: stats.first_window,
            last_window: stats.last_window,
        },
        warmup_secs: args.warmup.as_secs_f64(),
        warmup_requests: recorder.warmup,
        elapsed_secs: elapsed.as_secs_f64(),
        requests: recorder.measured,
        throughput: recorder.measured as f64 / elapsed.as_secs_f64().max(1e-9),
        latency_ms: recorder.overall(),
        outcomes: recorder.outcomes(elapsed),
        errors: recorder.error_report(),
        generator: GeneratorReport {
            chosen: stats.chosen.iter().map(|(op, n)| (name(*op), *n)).collect(),
            sent: stats.sent.iter().map(|(op, n)| (name(*op), *n)).collect(),
            substituted: stats
                .substituted
                .iter()
                .map(|((a, b), n)| (format!("{a}->{b}"), *n))
                .collect(),
            waits: recorder.waits,
            wait_ms: recorder.waited.as_secs_f64() * 1e3,
            signatures: signers.signatures.load(Ordering::Relaxed),
            tainted_hotkeys: stats.tainted,
            selected_share: (stats.new_replies > 0)
                .then(|| stats.selected as f64 / stats.new_replies as f64),
        },
        check: match &args.check_db {
            Some(url) => {
                let pool = check::connect(url).await?;
                let result = check::check(&pool, quota, Some(&receipts)).await;
                pool.close().await;
                Some(result?)
            }
            None => None,
        },
    };
    Ok(report)
}

fn progress(args: &RunArgs, line: &str) {
    if !args.quiet {
        eprintln!("pulse-bench: {line}");
    }
}

async fn report_progress(shared: Arc<Shared>) {
    let mut ticker = tokio::time::interval(PROGRESS_EVERY);
    ticker.tick().await;
    let mut last = (Instant::now(), 0);
    loop {
        ticker.tick().await;
        if shared.done.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let replies = shared.replies.load(Ordering::Relaxed);
        let rate = (replies - last.1) as f64 / now.duration_since(last.0).as_secs_f64();
        last = (now, replies);
        let phase = if now < shared.measure_from {
            "warm-up"
        } else {
            "measuring"
        };
        eprintln!(
            "pulse-bench: {:>6.1} s {phase}: {replies} replies, {rate:.0} req/s, {} errors",
            now.duration_since(shared.start).as_secs_f64(),
            shared.errors.load(Ordering::Relaxed)
        );
    }
}

/// One connection's loop: choose, wait for a ready hotkey if need be, send, check.
async fn worker(shared: Arc<Shared>) -> Recorder {
    let mut recorder = Recorder::default();
    let mut connection = Connection::new(shared.endpoint.clone());
    loop {
        let scheduled = match shared.rate {
            Some(rate) => {
                let slot = shared.slots.fetch_add(1, Ordering::Relaxed);
                let at = shared.start + Duration::from_secs_f64(slot as f64 / rate);
                tokio::time::sleep_until(at.into()).await;
                Some(at)
            }
            None => None,
        };
        let began = scheduled.unwrap_or_else(Instant::now);
        if shared.finished(began) {
            break;
        }
        let measured = began >= shared.measure_from;
        if measured
            && let Some(limit) = shared.measure_requests
            && shared.measured_started.fetch_add(1, Ordering::Relaxed) >= limit
        {
            break;
        }
        let chosen = shared.planner().choose();
        let (request, ticket) = loop {
            let notified = shared.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let plan = shared.planner().plan(chosen, Instant::now());
            match plan {
                Plan::Send(request, ticket) => break (request, ticket),
                Plan::Wait => {
                    let waiting = Instant::now();
                    recorder.waits += 1;
                    let _ = tokio::time::timeout(IDLE_POLL, notified).await;
                    recorder.waited += waiting.elapsed();
                    if shared
                        .measure_until
                        .is_some_and(|until| Instant::now() >= until)
                    {
                        return recorder;
                    }
                }
                Plan::Exhausted => {
                    shared.exhausted.store(true, Ordering::Relaxed);
                    return recorder;
                }
            }
        };
        let sent = Instant::now();
        let reply = connection.send(*request).await;
        let done = Instant::now();
        let settled = shared.planner().settle(ticket, reply);
        shared.notify.notify_waiters();
        shared.replies.fetch_add(1, Ordering::Relaxed);
        if settled.failure.is_some() {
            shared.errors.fetch_add(1, Ordering::Relaxed);
        }
        let latency = done.saturating_duration_since(scheduled.unwrap_or(sent));
        recorder.record(&settled, measured.then_some(latency), done);
    }
    recorder
}

pub(crate) async fn fetch_status(
    client: &reqwest::Client,
    url: &reqwest::Url,
    headers: HeaderMap,
) -> anyhow::Result<StatusResponse> {
    let response = client.get(url.clone()).headers(headers).send().await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        bail!("{status}: {text}");
    }
    serde_json::from_str(&text).with_context(|| format!("not a status reply: {text}"))
}

/// Reads every hotkey's quota use in the current window through signed `/v2/status`, so
/// the model starts from what earlier runs left.
async fn read_quotas(
    client: &reqwest::Client,
    url: &reqwest::Url,
    planner: &Arc<Mutex<Planner>>,
    hotkeys: u32,
    concurrency: u32,
) -> anyhow::Result<()> {
    let permits = Arc::new(Semaphore::new(concurrency as usize));
    let mut reads = JoinSet::new();
    let mut failures = Vec::new();
    let mut apply = |result: (u32, anyhow::Result<StatusResponse>)| {
        let (id, status) = result;
        let quota = match status {
            Ok(status) => match status.submissions_in_window {
                Some(used) => Some((status.window.current_window, used)),
                None => {
                    failures.push(format!("hotkey {id}: the reply has no quota use"));
                    None
                }
            },
            Err(error) => {
                failures.push(format!("hotkey {id}: {error:#}"));
                None
            }
        };
        planner
            .lock()
            .expect("planner lock")
            .set_initial_quota(id, quota);
    };
    for id in 0..hotkeys {
        let headers = planner
            .lock()
            .expect("planner lock")
            .xauth_headers(id)
            .unwrap_or_default();
        let permit = Arc::clone(&permits).acquire_owned().await?;
        let (client, url) = (client.clone(), url.clone());
        reads.spawn(async move {
            let _permit = permit;
            (id, fetch_status(&client, &url, headers).await)
        });
        while let Some(done) = reads.try_join_next() {
            apply(done?);
        }
    }
    while let Some(done) = reads.join_next().await {
        apply(done?);
    }
    if !failures.is_empty() {
        if failures.len() as u32 == hotkeys {
            bail!(
                "no hotkey's quota could be read through signed /v2/status (is --auth-message-prefix the server's?): {}",
                failures[0]
            );
        }
        eprintln!(
            "pulse-bench: {} of {hotkeys} hotkeys left out: their quota could not be read (first: {})",
            failures.len(),
            failures[0]
        );
    }
    Ok(())
}
