//! A validator killed (SIGKILL) between writing its verdicts and the server's answer loses
//! none: the restart sends them, and each is recorded exactly once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::{self, Next};
use tokio::sync::{Notify, watch};

use crate::helpers::{
    Coordinator, Finished, ValidatorEnv, XDouble, dataset, mine_once, post, selecting_everything,
    x_config,
};

/// Where the first `POST /v2/validation_result` is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hold {
    /// Before the server reads it: nothing is recorded.
    Request,
    /// After the server recorded it, before the answer leaves: the answer is lost.
    Answer,
}

/// Holds the first `POST /v2/validation_result` until released.
#[derive(Clone)]
struct Gate {
    hold: Hold,
    armed: Arc<AtomicBool>,
    arrived: Arc<Notify>,
    release: watch::Receiver<bool>,
    finished: Arc<Notify>,
}

/// Notifies when the held request is over, answered or dropped with its connection.
struct OnEnd(Arc<Notify>);

impl Drop for OnEnd {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

#[tokio::test]
async fn verdicts_written_before_a_kill_are_sent_on_restart_and_recorded_once() {
    // Whether hyper drops the held request with its closed connection (0 recorded, as
    // observed) or runs it once released (3) is hyper's business; the invariant holds either way.
    kill_while_held(Hold::Request).await;
}

#[tokio::test]
async fn verdicts_recorded_before_a_kill_but_never_acknowledged_come_back_as_duplicates() {
    let before_restart = kill_while_held(Hold::Answer).await;
    assert_eq!(before_restart, 3);
}

/// Kills a validator while its first verdict batch is held at `hold`, restarts it, and
/// checks that each verdict ends up recorded once; returns how many the killed validator's
/// request had recorded.
async fn kill_while_held(hold: Hold) -> i64 {
    let dir = tempfile::tempdir().unwrap();
    let (release_tx, release_rx) = watch::channel(false);
    let gate = Gate {
        hold,
        armed: Arc::new(AtomicBool::new(true)),
        arrived: Arc::new(Notify::new()),
        release: release_rx,
        finished: Arc::new(Notify::new()),
    };
    let layer_gate = gate.clone();
    let coordinator = Coordinator::start_with(selecting_everything(), move |router| {
        router.layer(middleware::from_fn(move |request: Request, next: Next| {
            let gate = layer_gate.clone();
            async move {
                let hold = request.uri().path() == "/v2/validation_result"
                    && gate.armed.swap(false, Ordering::SeqCst);
                if !hold {
                    return next.run(request).await;
                }
                let _finished = OnEnd(Arc::clone(&gate.finished));
                let mut release = gate.release.clone();
                if gate.hold == Hold::Request {
                    gate.arrived.notify_one();
                    let _ = release.wait_for(|released| *released).await;
                    return next.run(request).await;
                }
                let response = next.run(request).await;
                gate.arrived.notify_one();
                let _ = release.wait_for(|released| *released).await;
                response
            }
        }))
    })
    .await;
    let x = XDouble::start(
        &dataset(vec![
            post("a", 20, "kim", "SN64 chutes is serving more models", 50),
            post("b", 25, "kim", "chutes inference keeps getting cheaper", 70),
            post("c", 40, "kim", "chutes weekly update is out", 20),
        ]),
        x_config(),
    )
    .await;
    let (_, accepted) = mine_once(&coordinator.url(), &x, "chutes", dir.path()).await;
    assert_eq!(accepted, 3);

    let env = ValidatorEnv::new(&coordinator, &x.base, dir.path());
    let outbox = env.hotkey_dir(coordinator.validator.ss58()).join("outbox");
    let mut child = env.command(&["once"]).spawn().unwrap();
    tokio::time::timeout(Duration::from_secs(60), gate.arrived.notified())
        .await
        .expect("the validator posts its verdicts within 60 s");
    // Verdicts are on disk before they are posted.
    let files = std::fs::read_dir(&outbox).unwrap().count();
    assert_eq!(files, 3);
    child.kill().await.unwrap();
    let killed = Finished::new(child.wait_with_output().await.unwrap());
    assert!(!killed.success);
    assert_eq!(killed.of_type("verdict").len(), 3, "{}", killed.stderr);

    // The server lets the held request go on. Held before the handler, it is dropped with
    // its closed connection (or, were it not, recorded); held after, it was recorded. Either
    // way the restart must end with each verdict recorded once.
    release_tx.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(30), gate.finished.notified())
        .await
        .expect("the held request ends");
    let before_restart = coordinator
        .count("select count(*) from validation_verdicts where validator_hotkey = $validator")
        .await;
    eprintln!(
        "held at {hold:?}: verdicts recorded from the killed validator's request: {before_restart}"
    );
    assert!(
        before_restart == 0 || before_restart == 3,
        "{before_restart}"
    );

    let restart = env.once().await;
    assert!(restart.success, "{}", restart.stderr);
    let total = restart.total();
    eprintln!("restart: {total}");
    assert_eq!(total["resent"], 3);
    assert_eq!(
        total["leased"], 0,
        "the tasks are still leased to it; nothing new"
    );
    assert_eq!(
        total["recorded"].as_i64().unwrap() + total["duplicates"].as_i64().unwrap(),
        3
    );
    assert_eq!(total["recorded"].as_i64().unwrap(), 3 - before_restart);
    assert_eq!(total["rejected"], 0);
    assert_eq!(total["pending"], 0);
    assert_eq!(std::fs::read_dir(&outbox).unwrap().count(), 0);
    assert_eq!(
        coordinator
            .count("select count(*) from validation_verdicts where validator_hotkey = $validator and outcome = 'pass'")
            .await,
        3
    );
    assert_eq!(
        coordinator
            .count("select count(*) from validation_tasks where outcome = 'pass'")
            .await,
        3
    );
    before_restart
}
