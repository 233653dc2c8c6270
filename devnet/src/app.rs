//! The program: start every process, watch the windows go by, stop everything.
//!
//! 1. Leftovers of a devnet that was killed (its children, a PostgreSQL its server left
//!    running) are stopped first, so this run starts from a clean slate with the same data.
//! 2. The server and the X double start side by side; the devnet waits for the server's
//!    database URL, its address and `/ready`, and for the double's address.
//! 3. The validator and the miners start, each with `--metrics-bind 127.0.0.1:0`; each is
//!    ready when it says where its metrics are.
//! 4. Each window's line is printed once it closed and its numbers settled
//!    ([`crate::observe`]).
//! 5. On Ctrl-C, SIGTERM, SIGHUP, `--windows` reached, or a child's death: miners and
//!    validator are stopped first, then the double, then the server (which stops its
//!    PostgreSQL); then the devnet checks that nothing is left.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use client::{ApiClient, AuthForm};
use miner::cheat::Cheat;
use service::Program;

use crate::binaries::Binaries;
use crate::config::{BLOCKS_PER_WINDOW, Cli, OutputFormat};
use crate::layout::{Clock, ClockState, Identity, Layout, find_dataset};
use crate::observe::{ChainView, Observer};
use crate::process::{self, Signals, Spec, Supervisor};
use crate::prom;
use crate::summary::{Names, ProcessExit, ProcessInfo, Ready, Registered, Stopped, json_line};

/// The bearer token the X double asks of the miners and the validator.
const X_TOKEN: &str = "pulse-devnet";
/// Longest wait for the server's database: a first start runs `initdb`.
const DATABASE_LIMIT: Duration = Duration::from_secs(180);
/// Longest wait for any other announcement.
const ANNOUNCE_LIMIT: Duration = Duration::from_secs(60);
/// Longest wait, at stop, for the validator to judge what the miners left in the queue.
const DRAIN_LIMIT: Duration = Duration::from_secs(15);

/// `pulse-devnet` through `service::main`. It has no `--log-format` and so no logging: its
/// stderr carries its own progress lines, and each child's log is in its own file.
impl Program for Cli {
    async fn run(self) -> anyhow::Result<ExitCode> {
        run(self).await
    }
}

/// A progress or problem message, on stderr (stdout is for the summary lines).
fn say(message: &str) {
    eprintln!("pulse-devnet: {message}");
}

fn print_line(line: &str) {
    let mut stdout = std::io::stdout().lock();
    // A closed stdout (a pipe whose reader left) must not keep the devnet from stopping
    // its children cleanly.
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// Why the devnet stops.
#[derive(Debug)]
enum Stop {
    Signal(&'static str),
    Windows(u32),
    ChildExited(String, process::Exit),
    Failed(anyhow::Error),
}

impl Stop {
    fn reason(&self) -> String {
        match self {
            Stop::Signal(name) => name.to_string(),
            Stop::Windows(n) => format!("{n} windows summarised, as --windows asked"),
            Stop::ChildExited(name, exit) => format!("{name} exited ({})", exit.description),
            // The whole error is printed once when it happens; its first line names it.
            Stop::Failed(error) => format!("{error:#}")
                .lines()
                .next()
                .unwrap_or_default()
                .trim_end_matches(':')
                .to_owned(),
        }
    }

    fn is_failure(&self) -> bool {
        matches!(self, Stop::ChildExited(..) | Stop::Failed(_))
    }
}

/// Everything [`start`] hands to the watch.
struct Started {
    ready: Ready,
    observer: Observer,
    names: Names,
}

/// Runs the devnet until it is stopped.
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let started_at = Instant::now();
    let start_unix = service::time::unix_time().as_secs_f64();
    // From here on, Ctrl-C is the devnet's to handle: nothing is started without it.
    let mut signals = Signals::listen()
        .and_then(Signals::with_hangup)
        .context("cannot listen for Ctrl-C, SIGTERM and SIGHUP")?;
    let binaries = Binaries::locate(cli.bin_dir.as_deref())?;
    let dataset = find_dataset(cli.dataset.as_deref())?;
    let layout = Layout::new(&cli.dir)?;

    for leftover in process::stop_leftovers(&layout.pids_file(), cli.stop_timeout()).await? {
        say(&format!(
            "stopped {leftover}, left running by a pulse-devnet that was killed"
        ));
    }
    // The server would reuse a running cluster and leave it running at exit; stopped now,
    // it is started (and stopped) by this run's server.
    if let process::PostgresStop::Stopped { pid } | process::PostgresStop::Killed { pid } =
        process::stop_postmaster(&layout.cluster_dir(), cli.stop_timeout()).await
    {
        say(&format!(
            "stopped PostgreSQL (pid {pid}) of {}, left running by a server that was killed",
            layout.cluster_dir().display()
        ));
    }
    if cli.reset && layout.root().exists() {
        std::fs::remove_dir_all(layout.root())
            .with_context(|| format!("cannot delete {} (--reset)", layout.root().display()))?;
    }
    layout.create()?;

    let validator = Identity::load_or_create(&layout, "validator")?;
    let dishonest: Vec<(String, Cheat)> = (1..=cli.dishonest)
        .map(|i| (format!("cheat-{i}"), Cheat::cycle(i as usize - 1)))
        .collect();
    let miners = (1..=cli.miners)
        .map(|i| format!("miner-{i}"))
        .chain(dishonest.iter().map(|(name, _)| name.clone()))
        .map(|name| Identity::load_or_create(&layout, &name))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut clock_state = ClockState::load(&layout)?;
    let clock = Clock::starting(clock_state.next_window, cli.block_time_secs, start_unix);
    // Saved before anything runs: even a devnet killed at once leaves the next run a
    // window after this one.
    clock_state.next_window += 1;
    clock_state.save(&layout)?;

    let mut supervisor = Supervisor::new(layout.pids_file());
    let context = StartContext {
        cli: &cli,
        layout: &layout,
        binaries: &binaries,
        dataset: &dataset,
        validator: &validator,
        miners: &miners,
        dishonest: &dishonest,
        clock,
        start_unix,
    };
    let start = tokio::select! {
        started = start(&context, &mut supervisor) => started.map_err(Stop::Failed),
        name = signals.recv() => Err(Stop::Signal(name)),
    };
    let mut api = None;
    let stop = match start {
        Err(stop) => stop,
        Ok(Started {
            mut ready,
            mut observer,
            names,
        }) => {
            api = Some(ready.api.clone());
            ready.startup_secs = started_at.elapsed().as_secs_f64();
            match cli.output {
                OutputFormat::Text => print_line(&ready.text()),
                OutputFormat::Json => print_line(&json_line("ready", &ready)),
            }
            watch(
                &cli,
                &layout,
                &mut clock_state,
                ready.window,
                &mut observer,
                &names,
                &mut supervisor,
                &mut signals,
            )
            .await
        }
    };

    if let Stop::ChildExited(name, exit) = &stop
        && let Some(child) = supervisor.child(name)
    {
        say(&format!(
            "{name} exited unexpectedly ({}); its log {} ends with:\n{}",
            exit.description,
            child.log.display(),
            process::tail(&child.log, 20)
        ));
    }
    if let Stop::Failed(error) = &stop {
        say(&format!("{error:#}"));
    }
    say(&format!("stopping ({})", stop.reason()));
    let timeout = cli.stop_timeout();
    let mut hurry = false;
    let miners: Vec<&str> = miners.iter().map(|m| m.name.as_str()).collect();
    supervisor
        .stop(&miners, timeout, &mut signals, &mut hurry, say)
        .await;
    // The validator first judges what the miners left in the queue: a task still open at
    // the next start would meet a post the X double no longer has (it dates its posts from
    // its own start) and fail the miner for it.
    if let Some(api) = api.as_deref().filter(|_| !hurry) {
        let running = |name| supervisor.child(name).is_some_and(|c| c.exit().is_none());
        let validating = running("validator") && running("server");
        if validating {
            tokio::select! {
                drained = drain(api, DRAIN_LIMIT) => if !drained {
                    say(&format!(
                        "the validator did not empty the queue within {} s; open tasks stay for the next run",
                        DRAIN_LIMIT.as_secs()
                    ));
                },
                name = signals.recv() => {
                    say(&format!("{name} again: killing what is left"));
                    hurry = true;
                }
            }
        }
    }
    for stage in [&["validator"][..], &["xapi"], &["server"], &["chain"]] {
        supervisor
            .stop(stage, timeout, &mut signals, &mut hurry, say)
            .await;
    }
    let exits = supervisor.exits();
    let postgres = process::stop_postmaster(&layout.cluster_dir(), cli.stop_timeout()).await;
    let mut leftovers: Vec<String> = supervisor
        .leftovers()
        .iter()
        .map(|s| format!("{} {}", s.pid, s.comm))
        .collect();
    if let Some(pid) = process::postmaster(&layout.cluster_dir()) {
        leftovers.push(format!("{pid} postgres"));
    }
    let stopped = Stopped {
        reason: stop.reason(),
        processes: exits
            .into_iter()
            .map(|(name, pid, exit)| ProcessExit { name, pid, exit })
            .collect(),
        postgres,
        leftovers,
    };
    match cli.output {
        OutputFormat::Text => print_line(&stopped.text()),
        OutputFormat::Json => print_line(&json_line("stopped", &stopped)),
    }
    let clean = stopped.leftovers.is_empty() && stopped.processes.iter().all(|p| p.exit.is_some());
    if clean {
        supervisor.remove_pids_file();
    }
    Ok(if clean && !stop.is_failure() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// What [`start`] needs.
struct StartContext<'a> {
    cli: &'a Cli,
    layout: &'a Layout,
    binaries: &'a Binaries,
    dataset: &'a std::path::Path,
    validator: &'a Identity,
    miners: &'a [Identity],
    /// The miners among `miners` that cheat, and how.
    dishonest: &'a [(String, Cheat)],
    clock: Clock,
    start_unix: f64,
}

fn env(pairs: &[(&str, String)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

/// The address after `marker` in `line` (up to the next space), without a trailing path.
fn address_after(line: &str, marker: &str) -> Option<String> {
    let rest = line.split(marker).nth(1)?;
    let url = rest.split_whitespace().next()?;
    Some(url.trim_end_matches("/metrics").to_owned())
}

/// Starts every process and waits until each is ready.
async fn start(context: &StartContext<'_>, supervisor: &mut Supervisor) -> anyhow::Result<Started> {
    let StartContext {
        cli,
        layout,
        binaries,
        ..
    } = *context;
    let (chain, registered) = start_chain(context, supervisor).await?;
    say(&format!(
        "starting pulse-server (embedded PostgreSQL in {}, REGISTRATION=metagraph on netuid {NETUID}) and pulse-xapi",
        layout.cluster_dir().display()
    ));
    supervisor.spawn(Spec {
        name: "server".into(),
        program: binaries.server.clone(),
        args: Vec::new(),
        env: env(&[
            ("PULSE_DATA_DIR", layout.server_data().display().to_string()),
            ("PULSE_BIND", format!("127.0.0.1:{}", cli.port)),
            ("BLOCK_SOURCE", "clock".into()),
            ("BLOCK_TIME_SECS", cli.block_time_secs.to_string()),
            ("GENESIS_UNIX", context.clock.genesis_unix.to_string()),
            ("BLOCKS_PER_WINDOW", BLOCKS_PER_WINDOW.to_string()),
            (
                "VALIDATION_PROBABILITY",
                cli.validation_probability.to_string(),
            ),
            // Roles come from the chain: the miners' UIDs, the validator's permit and stake.
            ("REGISTRATION", "metagraph".into()),
            ("SUBTENSOR_URL", chain.clone()),
            ("NETUID", NETUID.to_string()),
            ("METAGRAPH_SYNC_BLOCKS", METAGRAPH_SYNC_BLOCKS.to_string()),
            (
                "MIN_VALIDATOR_STAKE",
                service::registration::tao(VALIDATOR_STAKE_RAO / 2),
            ),
            ("LOG_FORMAT", "text".into()),
        ]),
        log: layout.log("server"),
    })?;
    supervisor.spawn(Spec {
        name: "xapi".into(),
        program: binaries.xapi.clone(),
        args: Vec::new(),
        env: env(&[
            ("X_BEARER_TOKEN", X_TOKEN.into()),
            ("XAPI_BIND", "127.0.0.1:0".into()),
            ("XAPI_DATASET", context.dataset.display().to_string()),
            // The sample posts' ages count back from now, inside the miners' 72-hour search.
            ("XAPI_ANCHOR_UNIX", (context.start_unix as i64).to_string()),
            ("LOG_FORMAT", "text".into()),
        ]),
        log: layout.log("xapi"),
    })?;

    let database_url = supervisor
        .wait_for_line("server", DATABASE_LIMIT, |line| {
            line.contains("embedded PostgreSQL ready")
                .then(|| address_after(line, "url="))
                .flatten()
        })
        .await?;
    let api = supervisor
        .wait_for_line("server", ANNOUNCE_LIMIT, |line| {
            address_after(line, "pulse-server listening on ")
        })
        .await?;
    supervisor.stop_watching("server");
    wait_until_ready(&api).await?;
    let x_base = supervisor
        .wait_for_line("xapi", ANNOUNCE_LIMIT, |line| {
            address_after(line, "pulse-xapi listening on ")
        })
        .await?;
    supervisor.stop_watching("xapi");
    let x_api = format!("{x_base}/2");

    let validator_api = ApiClient::new(
        &api,
        context.validator.hotkey.clone(),
        AuthForm::Epistula,
        Duration::from_secs(10),
    )?;
    let validator_state = layout.state_dir("validator");
    let observer = Observer::new(
        validator_api,
        context.clock,
        context.miners.iter().map(|m| m.ss58().to_owned()).collect(),
        validator_state.join(context.validator.ss58()),
        Some(ChainView {
            admin: chain.replacen("ws://", "http://", 1),
            netuid: NETUID,
            validator: context.validator.ss58().to_owned(),
        }),
    )
    .await?;

    say(&format!(
        "starting pulse-validator and {} pulse-miner processes",
        context.miners.len()
    ));
    for (name, cheat) in context.dishonest {
        say(&format!(
            "{name} cheats on purpose (--dishonest): {}",
            cheat.name()
        ));
    }
    let common = |seed: &str| {
        env(&[
            ("X_API_BASE", x_api.clone()),
            ("X_BEARER_TOKEN", X_TOKEN.into()),
            ("PULSE_HOTKEY_SEED", seed.to_owned()),
            ("BLOCKS_PER_WINDOW", BLOCKS_PER_WINDOW.to_string()),
            ("LOG_FORMAT", "text".into()),
            // The start-up check: each hotkey's UID (and the validator's permit and stake).
            ("BT_SUBTENSOR_CHAIN_ENDPOINT", chain.clone()),
            ("NETUID", NETUID.to_string()),
        ])
    };
    let mut validator_env = common(&context.validator.seed_hex);
    validator_env.extend(env(&[
        ("VALIDATOR_API_URL", api.clone()),
        (
            "PULSE_VALIDATOR_STATE_DIR",
            validator_state.display().to_string(),
        ),
        // The shortest poll: verdicts follow submissions within a second or two.
        ("VALIDATOR_POLL_SECS", "1".into()),
        // The double cannot decrypt drand timelocks: hash commits are what it reveals.
        ("VALIDATOR_COMMIT_REVEAL", "hash".into()),
    ]));
    supervisor.spawn(Spec {
        name: "validator".into(),
        program: binaries.validator.clone(),
        args: vec!["run".into(), "--metrics-bind".into(), "127.0.0.1:0".into()],
        env: validator_env,
        log: layout.log("validator"),
    })?;
    // Miners sync at least ten times a window (and always just after it ends).
    let sync_secs = (cli.window_secs() / 10.0).round().clamp(1.0, 60.0) as u64;
    for miner in context.miners {
        let mut miner_env = common(&miner.seed_hex);
        miner_env.extend(env(&[
            ("MINER_API_URL", api.clone()),
            (
                "PULSE_MINER_STATE_DIR",
                layout.state_dir(&miner.name).display().to_string(),
            ),
            ("PULSE_MINER_SYNC_SECS", sync_secs.to_string()),
        ]));
        if let Some((_, cheat)) = context
            .dishonest
            .iter()
            .find(|(name, _)| *name == miner.name)
        {
            miner_env.extend(env(&[("PULSE_MINER_DISHONEST", cheat.name().to_owned())]));
        }
        supervisor.spawn(Spec {
            name: miner.name.clone(),
            program: binaries.miner.clone(),
            args: vec!["run".into(), "--metrics-bind".into(), "127.0.0.1:0".into()],
            env: miner_env,
            log: layout.log(&miner.name),
        })?;
    }
    let mut names = Names::default();
    let mut metrics = Vec::new();
    for identity in std::iter::once(context.validator).chain(context.miners) {
        let marker = if identity.name == "validator" {
            "pulse-validator metrics listening on "
        } else {
            "pulse-miner metrics listening on "
        };
        let address = supervisor
            .wait_for_line(&identity.name, ANNOUNCE_LIMIT, |line| {
                address_after(line, marker)
            })
            .await?;
        supervisor.stop_watching(&identity.name);
        metrics.push((identity.name.clone(), format!("{address}/metrics")));
        names.insert(identity.ss58(), &identity.name);
    }

    let window = observer.current_window().await?;
    let hotkey_of = |name: &str| {
        std::iter::once(context.validator)
            .chain(context.miners)
            .find(|i| i.name == name)
            .map(|i| i.ss58().to_owned())
    };
    let processes = supervisor
        .children()
        .iter()
        .map(|child| ProcessInfo {
            name: child.name.clone(),
            pid: child.pid,
            log: child.log.display().to_string(),
            hotkey: hotkey_of(&child.name),
            metrics: if child.name == "server" {
                Some(format!("{api}/metrics"))
            } else {
                metrics
                    .iter()
                    .find(|(name, _)| *name == child.name)
                    .map(|(_, url)| url.clone())
            },
        })
        .collect();
    let ready = Ready {
        dir: layout.root().display().to_string(),
        page: format!("{api}/"),
        docs: format!("{api}/docs"),
        metrics: format!("{api}/metrics"),
        api,
        database_url,
        cluster_dir: layout.cluster_dir().display().to_string(),
        x_api,
        chain,
        netuid: NETUID,
        registered,
        block_time_secs: cli.block_time_secs,
        blocks_per_window: BLOCKS_PER_WINDOW,
        genesis_unix: context.clock.genesis_unix,
        window,
        startup_secs: 0.0,
        processes,
    };
    Ok(Started {
        ready,
        observer,
        names,
    })
}

/// The subnet the devnet's chain holds and its server decides roles with.
const NETUID: u16 = 1;
/// Blocks between the server's metagraph syncs: a registration shows within a few seconds.
const METAGRAPH_SYNC_BLOCKS: u64 = 2;
/// The validator's stake on the devnet's chain (1,000 TAO); the server asks half of it.
const VALIDATOR_STAKE_RAO: u64 = 1_000 * service::registration::RAO_PER_TAO;

/// Starts `pulse-chain` with netuid [`NETUID`], blocks at the devnet's pace, and registers
/// the validator (permit, stake) and the miners on it; returns its URL and what was
/// registered.
async fn start_chain(
    context: &StartContext<'_>,
    supervisor: &mut Supervisor,
) -> anyhow::Result<(String, Vec<Registered>)> {
    say(&format!(
        "starting pulse-chain (netuid {NETUID}) and registering the validator and {} miners on it",
        context.miners.len()
    ));
    supervisor.spawn(Spec {
        name: "chain".into(),
        program: context.binaries.chain.clone(),
        args: Vec::new(),
        env: env(&[
            ("CHAIN_BIND", "127.0.0.1:0".into()),
            (
                "CHAIN_BLOCK_TIME_MS",
                ((context.cli.block_time_secs * 1000.0).round().max(1.0) as u64).to_string(),
            ),
            ("CHAIN_NETUIDS", NETUID.to_string()),
            // The double numbers its blocks from the server's clock block, so a block named
            // in a window line or a validator log means the same moment on both.
            (
                "CHAIN_FIRST_BLOCK",
                context
                    .clock
                    .block_at(service::time::unix_time().as_secs_f64())
                    .to_string(),
            ),
            // Without commit-reveal, weights set in one extrinsic land each tempo (99 + 1
            // blocks, one window); with it (--commit-reveal) the validator commits a hash each
            // tempo and reveals it in the next.
            ("CHAIN_COMMIT_REVEAL", context.cli.commit_reveal.to_string()),
            ("LOG_FORMAT", "text".into()),
        ]),
        log: context.layout.log("chain"),
    })?;
    let chain = supervisor
        .wait_for_line("chain", ANNOUNCE_LIMIT, |line| {
            address_after(line, "pulse-chain listening on ")
        })
        .await?;
    supervisor.stop_watching("chain");
    let admin = chain.replacen("ws://", "http://", 1);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    let mut registered = Vec::new();
    let members = std::iter::once((context.validator, true, VALIDATOR_STAKE_RAO))
        .chain(context.miners.iter().map(|miner| (miner, false, 0)));
    for (identity, validator_permit, stake_rao) in members {
        let response = http
            .post(format!("{admin}/admin/subnets/{NETUID}/neurons"))
            .json(&serde_json::json!({
                "hotkey": identity.ss58(),
                "stake": stake_rao,
                "validator_permit": validator_permit,
            }))
            .send()
            .await
            .with_context(|| format!("registering {} on pulse-chain", identity.name))?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.unwrap_or_default();
        anyhow::ensure!(
            status.is_success(),
            "pulse-chain refused to register {}: {status} {body}",
            identity.name
        );
        let uid = body["uid"]
            .as_u64()
            .and_then(|uid| u16::try_from(uid).ok())
            .with_context(|| format!("pulse-chain gave {} no uid: {body}", identity.name))?;
        registered.push(Registered {
            name: identity.name.clone(),
            uid,
            validator_permit,
            stake_rao,
        });
    }
    Ok((chain, registered))
}

/// Waits until the server's `/ready` answers 200 (its database is reachable and its block
/// known).
async fn wait_until_ready(api: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let url = format!("{api}/ready");
    let deadline = Instant::now() + ANNOUNCE_LIMIT;
    loop {
        let answer = http.get(&url).send().await;
        match answer {
            Ok(response) if response.status().is_success() => return Ok(()),
            _ if Instant::now() >= deadline => {
                anyhow::bail!(
                    "{url} did not answer 200 within {} s",
                    ANNOUNCE_LIMIT.as_secs()
                )
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// Waits until the server's validation queue is empty (`pulse_validation_queue_depth` 0),
/// at most `limit`; whether it emptied.
async fn drain(api: &str, limit: Duration) -> bool {
    let Ok(http) = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    else {
        return false;
    };
    let url = format!("{api}/metrics");
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let depth = match http.get(&url).send().await {
            Ok(response) => response
                .text()
                .await
                .map(|text| prom::sum(&text, "pulse_validation_queue_depth", &[])),
            Err(error) => Err(error),
        };
        if depth.is_ok_and(|depth| depth == 0.0) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    false
}

/// Prints each window's line until something stops the devnet.
#[expect(
    clippy::too_many_arguments,
    reason = "the watch borrows each part of the running devnet separately, so that a signal or a child's exit can interrupt it"
)]
async fn watch(
    cli: &Cli,
    layout: &Layout,
    clock_state: &mut ClockState,
    first_window: u64,
    observer: &mut Observer,
    names: &Names,
    supervisor: &mut Supervisor,
    signals: &mut Signals,
) -> Stop {
    let mut window = first_window;
    let mut printed = 0;
    loop {
        clock_state.next_window = clock_state.next_window.max(window + 1);
        if let Err(error) = clock_state.save(layout) {
            say(&format!("{error:#}"));
        }
        let next = async {
            observer.wait_for_close(window).await?;
            observer.summarise(window).await
        };
        tokio::select! {
            name = signals.recv() => return Stop::Signal(name),
            (name, exit) = supervisor.next_exit() => return Stop::ChildExited(name, exit),
            summary = next => {
                match summary {
                    Ok(summary) => {
                        match cli.output {
                            OutputFormat::Text => print_line(&summary.text(names)),
                            OutputFormat::Json => print_line(&json_line("window", &summary)),
                        }
                        printed += 1;
                        if cli.windows == Some(printed) {
                            return Stop::Windows(printed);
                        }
                    }
                    // A server too busy to answer for a while costs one line, not the devnet.
                    Err(error) => say(&format!("no summary for window {window}: {error:#}")),
                }
                window += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_addresses_are_read_from_log_lines() {
        assert_eq!(
            address_after(
                "2025-11-22T05:43:00Z  INFO server::startup: pulse-server listening on http://127.0.0.1:8001 (API docs at http://127.0.0.1:8001/docs) block_source=Clock",
                "pulse-server listening on "
            )
            .as_deref(),
            Some("http://127.0.0.1:8001")
        );
        assert_eq!(
            address_after(
                "INFO server::embedded: embedded PostgreSQL ready (stopped when pulse-server stops) url=postgres://postgres@127.0.0.1:40121/pulse data=/x/postgres",
                "url="
            )
            .as_deref(),
            Some("postgres://postgres@127.0.0.1:40121/pulse")
        );
        assert_eq!(
            address_after(
                "INFO miner::metrics: pulse-miner metrics listening on http://127.0.0.1:41234/metrics",
                "pulse-miner metrics listening on "
            )
            .as_deref(),
            Some("http://127.0.0.1:41234")
        );
    }
}
