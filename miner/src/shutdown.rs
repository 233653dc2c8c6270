//! Stopping cleanly: a [`Shutdown`] signal that long waits race against, and the Ctrl-C /
//! SIGTERM listener that raises it.
//!
//! The miner never abandons a submission that is on the wire: it checks the signal between
//! posts and races it only against waits (backoff, X's rate limit, the next window) and X
//! fetches, whose loss costs nothing.

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

    /// Another view of this signal.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            receiver: self.sender.subscribe(),
        }
    }
}

impl Shutdown {
    /// A signal that is never raised (for tools and tests that run to completion).
    pub fn never() -> Self {
        let (sender, receiver) = watch::channel(false);
        // Without a sender the receiver reports "closed", which `triggered` treats as never;
        // dropping it here is therefore safe.
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
/// second, for an operator who does not want to wait for the post in flight.
pub fn listen_for_signals(trigger: ShutdownTrigger) {
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping after the post in flight (press Ctrl-C again to stop now)");
        trigger.trigger();
        wait_for_signal().await;
        tracing::warn!("second signal: stopping now");
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
        assert!(!shutdown.is_triggered());
        trigger.trigger();
        assert!(shutdown.is_triggered());
        assert!(!shutdown.sleep(Duration::from_secs(3600)).await);
        assert!(trigger.subscribe().is_triggered());
    }

    #[tokio::test]
    async fn a_signal_that_is_never_raised_lets_sleeps_finish() {
        let shutdown = Shutdown::never();
        assert!(!shutdown.is_triggered());
        assert!(shutdown.sleep(Duration::from_millis(5)).await);
    }
}
