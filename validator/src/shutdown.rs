//! Stopping cleanly: a [`Shutdown`] signal that the work races against, and the Ctrl-C /
//! SIGTERM listener that raises it.
//!
//! The validator stops between verdicts: a verdict whose checks are done is written to disk
//! (and then sent, once) before it exits. Work that produced no verdict yet (an X lookup, an
//! LLM call, a wait) is dropped; its tasks return to the queue when their lease ends.

use std::time::Duration;

use tokio::sync::watch;

/// Raises the shutdown signal.
#[derive(Debug)]
pub struct ShutdownTrigger {
    sender: watch::Sender<bool>,
}

/// A cheap, cloneable view of the shutdown signal.
#[derive(Debug, Clone)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

/// A new signal, not raised.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (sender, receiver) = watch::channel(false);
    (ShutdownTrigger { sender }, Shutdown { receiver })
}

impl ShutdownTrigger {
    /// Raises the signal; every [`Shutdown`] sees it.
    pub fn trigger(&self) {
        self.sender.send_replace(true);
    }
}

impl Shutdown {
    /// A signal that is never raised (for tests that run to completion).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        // Without a sender the receiver reports "closed", which `triggered` treats as never.
        drop(sender);
        Self { receiver }
    }

    /// Whether the signal has been raised.
    pub fn is_triggered(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Completes when the signal is raised (never, if its trigger is gone unraised).
    pub async fn triggered(&self) {
        let mut receiver = self.receiver.clone();
        if receiver.wait_for(|raised| *raised).await.is_err() {
            std::future::pending::<()>().await;
        }
    }

    /// Sleeps for `duration` unless the signal comes first; true when the whole time passed.
    pub async fn sleep(&self, duration: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(duration) => true,
            () = self.triggered() => false,
        }
    }
}

/// Raises `trigger` on the first Ctrl-C or SIGTERM and exits the process at once on the
/// second (verdicts already written stay on disk and are sent on the next start).
pub fn listen_for_signals(trigger: ShutdownTrigger) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!(
            "stopping after the verdicts in flight are written (press Ctrl-C again to stop now)"
        );
        trigger.trigger();
        wait_for_signal().await;
        tracing::warn!("second signal: stopping now; pending verdicts are sent on the next start");
        std::process::exit(130);
    });
}

async fn wait_for_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_raised_signal_cuts_a_sleep_short() {
        let (trigger, shutdown) = channel();
        assert!(shutdown.sleep(Duration::from_millis(1)).await);
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        assert!(shutdown.is_triggered());
        assert!(!shutdown.sleep(Duration::from_secs(3600)).await);
        assert!(Shutdown::never().sleep(Duration::from_millis(1)).await);
    }
}
