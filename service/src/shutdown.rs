//! Stopping cleanly: Ctrl-C and SIGTERM as a [`CancellationToken`] that the work races
//! against, and sleeps that give way to it.
//!
//! What a cancelled token means is the program's: the miner finishes the submission on the
//! wire, the validator writes the verdicts whose checks are done, the server and the X
//! double stop accepting connections and finish the requests in flight. Whether a second
//! signal exits at once ([`OnSignal::second`]) is the program's choice too.

use tokio_util::sync::CancellationToken;

pub use retry::sleep;

/// The signals that stop a program, as a stream of their names.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
    #[cfg(unix)]
    hangup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    /// Starts listening for Ctrl-C (SIGINT) and SIGTERM; from now on they no longer end the
    /// process by default. Must be called inside the runtime.
    pub fn listen() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
                hangup: None,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Listens for SIGHUP as well (a closed terminal), for supervisors that must clean up.
    pub fn with_hangup(mut self) -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            self.hangup = Some(signal(SignalKind::hangup())?);
        }
        Ok(self)
    }

    /// The next signal's name (`SIGINT`, `SIGTERM`, `SIGHUP`).
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            let hangup = async {
                match &mut self.hangup {
                    Some(hangup) => hangup.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = self.interrupt.recv() => "SIGINT",
                _ = self.terminate.recv() => "SIGTERM",
                _ = hangup => "SIGHUP",
            }
        }
        #[cfg(not(unix))]
        {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
            "SIGINT"
        }
    }
}

/// What a program logs when signals stop it.
#[derive(Debug, Clone, Copy)]
pub struct OnSignal {
    /// Logged at the first signal, as the token is cancelled.
    pub first: &'static str,
    /// Logged at a second signal, before the process exits at once with code 130 (128 +
    /// SIGINT, as shells report an interrupted program). `None`: later signals are ignored,
    /// for programs whose stop is short and must not be cut (a server draining requests).
    pub second: Option<&'static str>,
}

/// Cancels `token` at the first Ctrl-C or SIGTERM, as `on` says. Listening starts before
/// this returns, so no signal between here and the work is lost; if the signals cannot be
/// listened for, that is logged and the token is never cancelled by a signal.
pub fn cancel_on_signal(token: CancellationToken, on: OnSignal) {
    let mut signals = match Signals::listen() {
        Ok(signals) => signals,
        Err(error) => {
            tracing::error!(%error, "cannot listen for Ctrl-C and SIGTERM; stop this process with SIGKILL");
            return;
        }
    };
    tokio::spawn(async move {
        signals.recv().await;
        tracing::info!("{}", on.first);
        token.cancel();
        let Some(second) = on.second else {
            return;
        };
        signals.recv().await;
        tracing::warn!("{second}");
        std::process::exit(130);
    });
}

/// A token cancelled at the first Ctrl-C or SIGTERM (see [`cancel_on_signal`]).
pub fn on_signal(on: OnSignal) -> CancellationToken {
    let token = CancellationToken::new();
    cancel_on_signal(token.clone(), on);
    token
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn send(signal: &str) {
        let pid = std::process::id().to_string();
        let sent = tokio::process::Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .await
            .unwrap();
        assert!(sent.success());
    }

    // One test sends every signal: tests run in parallel threads of one process, and a
    // signal reaches every listener in it.
    #[tokio::test]
    async fn signals_are_named_and_the_first_cancels_the_token() {
        let mut signals = Signals::listen().unwrap().with_hangup().unwrap();
        let token = on_signal(OnSignal {
            first: "stopping",
            second: None,
        });
        assert!(!token.is_cancelled());
        send("HUP").await;
        assert_eq!(signals.recv().await, "SIGHUP");
        assert!(!token.is_cancelled(), "SIGHUP is not a stop signal here");
        send("TERM").await;
        assert_eq!(signals.recv().await, "SIGTERM");
        tokio::time::timeout(Duration::from_secs(10), token.cancelled())
            .await
            .expect("SIGTERM cancels the token");
        assert!(!sleep(&token, Duration::from_secs(3600)).await);
        send("INT").await;
        assert_eq!(signals.recv().await, "SIGINT");
    }

    /// Set in the environment of `child_whose_work_never_ends`'s process.
    const CHILD: &str = "PULSE_SERVICE_SIGNAL_CHILD";

    /// The program of `a_second_signal_exits_at_once_with_130`'s child process: work that
    /// never ends, stopped by signals.
    #[tokio::test]
    #[ignore = "run in a process of its own by a_second_signal_exits_at_once_with_130"]
    async fn child_whose_work_never_ends() {
        // Only as the parent's child: a run of ignored tests must not wait for signals.
        if std::env::var_os(CHILD).is_none() {
            return;
        }
        let token = on_signal(OnSignal {
            first: "stopping after the work in flight",
            second: Some("second signal: stopping now"),
        });
        println!("listening");
        token.cancelled().await;
        println!("cancelled");
        tokio::time::sleep(Duration::from_secs(60)).await;
        panic!("no second signal within 60 s");
    }

    #[tokio::test]
    async fn a_second_signal_exits_at_once_with_130() {
        use std::process::Stdio;

        use tokio::io::{AsyncBufReadExt, BufReader};

        let mut child = tokio::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "shutdown::tests::child_whose_work_never_ends"])
            .args(["--ignored", "--nocapture", "--test-threads=1"])
            .env(CHILD, "1")
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let pid = child.id().unwrap().to_string();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut wait_for = async |expected: &str| {
            let line = tokio::time::timeout(Duration::from_secs(30), async {
                loop {
                    let line = lines.next_line().await.unwrap().expect("the child runs");
                    // The harness writes the test's name in front of its first line.
                    if line.ends_with(expected) {
                        return line;
                    }
                }
            });
            line.await
                .unwrap_or_else(|_| panic!("no {expected:?} within 30 s"));
        };
        let kill = async || {
            let sent = tokio::process::Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .await
                .unwrap();
            assert!(sent.success());
        };
        wait_for("listening").await;
        kill().await;
        wait_for("cancelled").await;
        kill().await;
        let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .expect("the second signal ends the child")
            .unwrap();
        assert_eq!(status.code(), Some(130));
    }
}
