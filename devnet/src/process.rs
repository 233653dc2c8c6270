//! [`Supervisor`]: the devnet's child processes, from spawn to a verified stop.
//!
//! - Each child runs in a process group of its own, so the terminal's Ctrl-C reaches only
//!   the devnet, which then stops the children in order (miners and validator first, while
//!   the server can still take their last requests; the server last, as it stops
//!   PostgreSQL).
//! - Its environment is cleared but for a few variables (`PATH`, `HOME`, locale,
//!   `PG_BIN_DIR`, `PULSE_PG_USER`, `RUST_LOG`, ...) and what the devnet sets: a
//!   `DATABASE_URL` or `MINER_API_URL` in the user's shell must not point a devnet process
//!   elsewhere.
//! - Its stdout and stderr are copied, line by line, to its log file and, until the devnet
//!   stops listening, to the devnet, which waits for the line announcing an address.
//! - A stop is SIGTERM, then SIGKILL to the whole group after a timeout (or at once after a
//!   second Ctrl-C).
//! - The pids are written to a file in the devnet directory, so that the next devnet can
//!   stop what a killed one left running.

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

pub use service::shutdown::Signals;

use crate::layout::write_atomically;
use crate::procfs;

/// Variables a child may inherit from the devnet's environment.
const INHERITED: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "PG_BIN_DIR",
    "PULSE_PG_USER",
    "RUST_LOG",
    "RUST_BACKTRACE",
];

/// How long a child gets to exit after SIGKILL (the kernel needs no more than a moment, but
/// a loaded machine may take a while to schedule the reaping).
const AFTER_KILL: Duration = Duration::from_secs(10);

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Exit {
    /// `exit code 0`, `killed by signal 9`, ...
    pub description: String,
    /// Whether it exited with code 0.
    pub success: bool,
}

impl Exit {
    fn from_status(status: std::process::ExitStatus) -> Self {
        let description = match (status.code(), status.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => status.to_string(),
        };
        Self {
            description,
            success: status.success(),
        }
    }
}

/// A process to start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Its name in the devnet (`server`, `miner-1`, ...).
    pub name: String,
    /// The program.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Its environment, on top of the inherited variables.
    pub env: Vec<(String, String)>,
    /// Where its output goes.
    pub log: PathBuf,
}

/// A started child.
#[derive(Debug)]
pub struct Child {
    /// Its name.
    pub name: String,
    /// Its pid, which is also its process group.
    pub pid: u32,
    /// The program.
    pub program: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    exit: watch::Receiver<Option<Exit>>,
    lines: Option<mpsc::UnboundedReceiver<String>>,
}

impl Child {
    /// How it ended, if it has.
    pub fn exit(&self) -> Option<Exit> {
        self.exit.borrow().clone()
    }

    /// Sends `signal` to the child itself, unless it has already been reaped (its pid may
    /// then belong to another process).
    fn signal(&self, signal: Signal) {
        if self.exit.borrow().is_none()
            && let Some(pid) = Pid::from_raw(self.pid as i32)
        {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// Sends SIGKILL to the child's whole process group: the child and any helper it
    /// started and left behind.
    fn kill_group(&self) {
        if let Some(pid) = Pid::from_raw(self.pid as i32) {
            // ESRCH (nobody left in the group) is the outcome wanted.
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
        }
    }

    /// Waits until the child has exited, at most `limit`; whether it did.
    async fn exited_within(&self, limit: Duration) -> bool {
        let mut exit = self.exit.clone();
        tokio::time::timeout(limit, exit.wait_for(Option::is_some))
            .await
            .is_ok()
    }
}

/// Where the running devnet's processes are written down.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PidsFile {
    devnet_pid: u32,
    devnet_exe: PathBuf,
    children: Vec<PidEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PidEntry {
    name: String,
    pid: u32,
    exe: PathBuf,
}

/// The devnet's children.
#[derive(Debug)]
pub struct Supervisor {
    children: Vec<Child>,
    exits_tx: mpsc::UnboundedSender<(String, Exit)>,
    exits: mpsc::UnboundedReceiver<(String, Exit)>,
    pids_file: PathBuf,
}

impl Supervisor {
    /// A supervisor that writes its children's pids to `pids_file`.
    pub fn new(pids_file: PathBuf) -> Self {
        let (exits_tx, exits) = mpsc::unbounded_channel();
        Self {
            children: Vec::new(),
            exits_tx,
            exits,
            pids_file,
        }
    }

    /// The children, in the order they were started.
    pub fn children(&self) -> &[Child] {
        &self.children
    }

    /// The child called `name`.
    pub fn child(&self, name: &str) -> Option<&Child> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Starts `spec`. Its output goes to its log file (appended, after a line saying when
    /// and what was started).
    pub fn spawn(&mut self, spec: Spec) -> anyhow::Result<&Child> {
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .with_context(|| format!("cannot open {}", spec.log.display()))?;
        writeln!(
            log,
            "{LOG_HEADER}{} at {}: {} {}",
            spec.name,
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            spec.program.display(),
            spec.args.join(" ")
        )?;
        let mut command = Command::new(&spec.program);
        command.args(&spec.args).env_clear();
        for name in INHERITED {
            if let Some(value) = std::env::var_os(name) {
                command.env(name, value);
            }
        }
        command
            .env("NO_COLOR", "1")
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            // Only if the devnet itself fails without stopping its children (a panic):
            // nothing must outlive it.
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {}", spec.program.display()))?;
        let pid = child.id().context("a child just started has a pid")?;
        let log = Arc::new(Mutex::new(log));
        let (lines_tx, lines) = mpsc::unbounded_channel();
        let stdout = child.stdout.take().context("piped stdout")?;
        let stderr = child.stderr.take().context("piped stderr")?;
        tokio::spawn(tee(stdout, Arc::clone(&log), lines_tx.clone()));
        tokio::spawn(tee(stderr, log, lines_tx));
        let (exit_tx, exit) = watch::channel(None);
        let exits = self.exits_tx.clone();
        let name = spec.name.clone();
        tokio::spawn(async move {
            let exit = match child.wait().await {
                Ok(status) => Exit::from_status(status),
                Err(error) => Exit {
                    description: format!("cannot be waited for: {error}"),
                    success: false,
                },
            };
            exit_tx.send_replace(Some(exit.clone()));
            let _ = exits.send((name, exit));
        });
        self.children.push(Child {
            name: spec.name,
            pid,
            program: spec.program,
            log: spec.log,
            exit,
            lines: Some(lines),
        });
        self.write_pids()?;
        Ok(self.children.last().expect("just pushed"))
    }

    fn write_pids(&self) -> anyhow::Result<()> {
        let file = PidsFile {
            devnet_pid: std::process::id(),
            devnet_exe: std::env::current_exe().unwrap_or_default(),
            children: self
                .children
                .iter()
                .map(|c| PidEntry {
                    name: c.name.clone(),
                    pid: c.pid,
                    exe: c.program.clone(),
                })
                .collect(),
        };
        write_atomically(&self.pids_file, &serde_json::to_vec_pretty(&file)?)
    }

    /// Reads `name`'s output until `find` returns something for a line, and returns that.
    /// Fails, with the end of its log, if the child exits first or says nothing that
    /// `find` wants within `limit`.
    pub async fn wait_for_line<T>(
        &mut self,
        name: &str,
        limit: Duration,
        mut find: impl FnMut(&str) -> Option<T>,
    ) -> anyhow::Result<T> {
        let child = self
            .children
            .iter_mut()
            .find(|c| c.name == name)
            .with_context(|| format!("no process called {name}"))?;
        let lines = child
            .lines
            .as_mut()
            .with_context(|| format!("the output of {name} is no longer watched"))?;
        let mut exit = child.exit.clone();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            tokio::select! {
                line = lines.recv() => match line {
                    Some(line) => {
                        if let Some(found) = find(&line) {
                            return Ok(found);
                        }
                    }
                    // Both streams closed: the child is exiting.
                    None => break,
                },
                _ = exit.wait_for(Option::is_some) => break,
                () = tokio::time::sleep_until(deadline) => bail!(
                    "{name} did not report that it was ready within {} s; its log {} ends with:\n{}",
                    limit.as_secs(),
                    child.log.display(),
                    tail(&child.log, 20)
                ),
            }
        }
        let _ = tokio::time::timeout(AFTER_KILL, exit.wait_for(Option::is_some)).await;
        let how = child
            .exit()
            .map_or_else(|| "closed its output".to_owned(), |e| e.description);
        bail!(
            "{name} stopped before it was ready ({how}); its log {} ends with:\n{}",
            child.log.display(),
            tail(&child.log, 20)
        )
    }

    /// Stops copying `name`'s output to the devnet (the log file still gets it).
    pub fn stop_watching(&mut self, name: &str) {
        if let Some(child) = self.children.iter_mut().find(|c| c.name == name) {
            child.lines = None;
        }
    }

    /// The next child to exit, and how.
    pub async fn next_exit(&mut self) -> (String, Exit) {
        match self.exits.recv().await {
            Some(exit) => exit,
            // The supervisor holds a sender, so the channel never closes.
            None => std::future::pending().await,
        }
    }

    /// Stops the children called `names` together: each gets SIGTERM, then SIGKILL (to its
    /// whole group) if it is still running after `timeout`. A signal meanwhile (a second
    /// Ctrl-C) sets `hurry`, and with `hurry` set they are killed at once.
    pub async fn stop(
        &self,
        names: &[&str],
        timeout: Duration,
        signals: &mut Signals,
        hurry: &mut bool,
        mut report: impl FnMut(&str),
    ) {
        let children: Vec<&Child> = names
            .iter()
            .filter_map(|name| self.child(name))
            .filter(|c| c.exit().is_none())
            .collect();
        if children.is_empty() {
            return;
        }
        if !*hurry {
            for child in &children {
                child.signal(Signal::TERM);
            }
            let all = async {
                for child in &children {
                    child.exited_within(timeout).await;
                }
            };
            tokio::select! {
                () = all => {}
                name = signals.recv() => {
                    report(&format!("{name} again: killing what is left"));
                    *hurry = true;
                }
            }
        }
        for child in children.iter().filter(|c| c.exit().is_none()) {
            if !*hurry {
                report(&format!(
                    "{} did not stop within {} s of SIGTERM; killing it",
                    child.name,
                    timeout.as_secs()
                ));
            }
            child.kill_group();
        }
        for child in &children {
            if !child.exited_within(AFTER_KILL).await {
                report(&format!("{} (pid {}) does not exit", child.name, child.pid));
            }
            // A helper the child started in its group and left behind goes too, and stop
            // returns only once the kernel has ended it (SIGKILL is delivered, not awaited).
            child.kill_group();
            if !group_gone_within(child.pid, AFTER_KILL).await {
                report(&format!(
                    "a process of {}'s group (pid {}) does not exit",
                    child.name, child.pid
                ));
            }
        }
    }

    /// Each child's name, pid and exit (none while it runs).
    pub fn exits(&self) -> Vec<(String, u32, Option<Exit>)> {
        self.children
            .iter()
            .map(|c| (c.name.clone(), c.pid, c.exit()))
            .collect()
    }

    /// Every process still running in a child's process group (none after [`Self::stop`]).
    pub fn leftovers(&self) -> Vec<procfs::Stat> {
        let groups: Vec<u32> = self.children.iter().map(|c| c.pid).collect();
        procfs::running_in_groups(&groups)
    }

    /// Forgets the pids file (after every child was stopped).
    pub fn remove_pids_file(&self) {
        let _ = std::fs::remove_file(&self.pids_file);
    }
}

/// Copies `stream` line by line to `log` and to `lines` (while anyone listens).
async fn tee(
    stream: impl AsyncRead + Unpin,
    log: Arc<Mutex<std::fs::File>>,
    lines: mpsc::UnboundedSender<String>,
) {
    let mut reader = BufReader::new(stream);
    let mut buffer = Vec::new();
    loop {
        buffer.clear();
        match reader.read_until(b'\n', &mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                if let Ok(mut file) = log.lock() {
                    // A full disk must not stop the child: its output is dropped instead.
                    let _ = file.write_all(&buffer);
                }
                let line = String::from_utf8_lossy(&buffer);
                let _ = lines.send(line.trim_end().to_owned());
            }
        }
    }
}

/// The start of each run in a log file (the devnet appends).
const LOG_HEADER: &str = "==== pulse-devnet starts ";

/// The last `count` lines that the latest run wrote to the log at `path`.
pub fn tail(path: &Path, count: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let run = lines
        .iter()
        .rposition(|line| line.starts_with(LOG_HEADER))
        .map_or(0, |header| header + 1);
    lines[run.max(lines.len().saturating_sub(count))..].join("\n")
}

/// Stops the processes a previous devnet in the same directory left running (it was killed
/// before it could stop them), as named by its pids file; refuses to go on while that devnet
/// still runs. Returns what was stopped.
pub async fn stop_leftovers(pids_file: &Path, timeout: Duration) -> anyhow::Result<Vec<String>> {
    let Ok(bytes) = std::fs::read(pids_file) else {
        return Ok(Vec::new());
    };
    let Ok(previous) = serde_json::from_slice::<PidsFile>(&bytes) else {
        // Not ours to understand: a damaged file names nothing that can be checked.
        let _ = std::fs::remove_file(pids_file);
        return Ok(Vec::new());
    };
    // A pid is only trusted while it still runs the program recorded for it: pids are reused.
    let runs = |pid: u32, exe: &Path| {
        pid != std::process::id()
            && procfs::is_running(pid)
            && procfs::exe(pid).is_some_and(|e| e == exe)
    };
    if runs(previous.devnet_pid, &previous.devnet_exe) {
        bail!(
            "another pulse-devnet (pid {}) is running in this directory; stop it first (Ctrl-C in its terminal, or kill {})",
            previous.devnet_pid,
            previous.devnet_pid
        );
    }
    let mut stopped = Vec::new();
    for entry in previous
        .children
        .iter()
        .filter(|entry| runs(entry.pid, &entry.exe))
    {
        let pid = Pid::from_raw(entry.pid as i32).context("a valid pid")?;
        let _ = rustix::process::kill_process(pid, Signal::TERM);
        if !gone_within(entry.pid, timeout).await {
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            gone_within(entry.pid, AFTER_KILL).await;
        }
        stopped.push(format!("{} (pid {})", entry.name, entry.pid));
    }
    let _ = std::fs::remove_file(pids_file);
    Ok(stopped)
}

/// Waits until `pid` no longer runs, at most `limit`: it is not the devnet's child, so
/// there is no exit to wait for, only `/proc` to look at.
async fn gone_within(pid: u32, limit: Duration) -> bool {
    gone_while(|| procfs::is_running(pid), limit).await
}

/// Waits until no process of the process group `pgid` runs, at most `limit`; whether none
/// does.
async fn group_gone_within(pgid: u32, limit: Duration) -> bool {
    gone_while(|| !procfs::running_in_groups(&[pgid]).is_empty(), limit).await
}

/// Polls `running` until it is false, at most `limit`; whether it became false.
async fn gone_while(running: impl Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while running() {
        if start.elapsed() >= limit {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// What became of the embedded PostgreSQL after the server stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PostgresStop {
    /// Not running: the server stopped it (or it never ran).
    NotRunning,
    /// It was still running (the server was killed, or found it running and left it so);
    /// the devnet stopped it.
    Stopped {
        /// The postmaster's pid.
        pid: u32,
    },
    /// It did not stop in time and was killed.
    Killed {
        /// The postmaster's pid.
        pid: u32,
    },
}

/// The postmaster of the cluster in `cluster_dir`, if one runs.
pub fn postmaster(cluster_dir: &Path) -> Option<u32> {
    let text = std::fs::read_to_string(cluster_dir.join("postmaster.pid")).ok()?;
    let pid = text.lines().next()?.trim().parse().ok()?;
    procfs::stat(pid)
        .filter(|s| s.is_running() && s.comm.starts_with("postgres"))
        .map(|s| s.pid)
}

/// Makes sure no PostgreSQL of `cluster_dir` is left: a running postmaster gets SIGINT
/// (PostgreSQL's fast shutdown, what the server's `pg_ctl stop -m fast` asks for), then
/// SIGKILL after `timeout`.
pub async fn stop_postmaster(cluster_dir: &Path, timeout: Duration) -> PostgresStop {
    let Some(pid) = postmaster(cluster_dir) else {
        return PostgresStop::NotRunning;
    };
    let Some(raw) = Pid::from_raw(pid as i32) else {
        return PostgresStop::NotRunning;
    };
    let _ = rustix::process::kill_process(raw, Signal::INT);
    if gone_within(pid, timeout).await {
        return PostgresStop::Stopped { pid };
    }
    let _ = rustix::process::kill_process(raw, Signal::KILL);
    gone_within(pid, AFTER_KILL).await;
    PostgresStop::Killed { pid }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, name: &str, script: &str) -> Spec {
        Spec {
            name: name.to_owned(),
            program: PathBuf::from("/bin/sh"),
            args: vec!["-c".to_owned(), script.to_owned()],
            env: vec![("DEVNET_TEST".to_owned(), "x".to_owned())],
            log: dir.join(format!("{name}.log")),
        }
    }

    fn temp_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "pulse-devnet-{label}-{}-{}",
            std::process::id(),
            chrono::Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn an_announced_line_is_found_and_the_output_reaches_the_log() {
        let dir = temp_dir("announce");
        let mut supervisor = Supervisor::new(dir.join("pids.json"));
        supervisor
            .spawn(spec(
                &dir,
                "talker",
                "echo starting; echo \"listening on http://127.0.0.1:$DEVNET_TEST\" >&2; exec sleep 60",
            ))
            .unwrap();
        let address = supervisor
            .wait_for_line("talker", Duration::from_secs(30), |line| {
                line.split("listening on ").nth(1).map(str::to_owned)
            })
            .await
            .unwrap();
        assert_eq!(address, "http://127.0.0.1:x");
        let pids: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("pids.json")).unwrap()).unwrap();
        assert_eq!(pids["children"][0]["name"], "talker");

        let mut signals = Signals::listen().unwrap();
        let mut hurry = false;
        supervisor
            .stop(
                &["talker"],
                Duration::from_secs(10),
                &mut signals,
                &mut hurry,
                |_| {},
            )
            .await;
        let exits = supervisor.exits();
        assert_eq!(
            exits[0].2.as_ref().unwrap().description,
            "killed by signal 15"
        );
        assert!(supervisor.leftovers().is_empty());
        let log = std::fs::read_to_string(dir.join("talker.log")).unwrap();
        assert!(
            log.contains("starting\n") && log.contains("listening on"),
            "{log}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_child_that_exits_before_it_is_ready_is_reported_with_its_log() {
        let dir = temp_dir("early");
        let mut supervisor = Supervisor::new(dir.join("pids.json"));
        supervisor
            .spawn(spec(&dir, "quitter", "echo 'no database' >&2; exit 3"))
            .unwrap();
        let error = supervisor
            .wait_for_line("quitter", Duration::from_secs(30), |_| None::<()>)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("quitter stopped before it was ready (exit code 3)")
                && error.ends_with("no database"),
            "{error}"
        );
        assert_eq!(supervisor.next_exit().await.0, "quitter");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_child_that_ignores_sigterm_is_killed_with_its_group() {
        let dir = temp_dir("stubborn");
        let mut supervisor = Supervisor::new(dir.join("pids.json"));
        // The shell ignores SIGTERM and leaves a grandchild in its group.
        supervisor
            .spawn(spec(
                &dir,
                "stubborn",
                "trap '' TERM; sleep 60 & echo ready; wait",
            ))
            .unwrap();
        supervisor
            .wait_for_line("stubborn", Duration::from_secs(30), |l| {
                (l == "ready").then_some(())
            })
            .await
            .unwrap();
        let mut signals = Signals::listen().unwrap();
        let mut said = Vec::new();
        let mut hurry = false;
        supervisor
            .stop(
                &["stubborn"],
                Duration::from_secs(1),
                &mut signals,
                &mut hurry,
                |m| said.push(m.to_owned()),
            )
            .await;
        let exits = supervisor.exits();
        assert_eq!(
            exits[0].2.as_ref().unwrap().description,
            "killed by signal 9"
        );
        assert!(said[0].contains("did not stop within 1 s"), "{said:?}");
        assert!(
            supervisor.leftovers().is_empty(),
            "{:?}",
            supervisor.leftovers()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
