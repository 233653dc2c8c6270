//! The submitter against the real server, with faults injected in front of it: every reply
//! of `/v2/submit` gets the meaning the brief gives it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use client::{ApiClient, AuthForm};
use miner::submit::{SUBMIT_TIMEOUT, SubmitOutcome, Submitter};
use protocol::Hotkey;
use retry::Policy;
use server::AppState;
use server::chain::BlockSource;
use server::config::{Registration, Settings};
use service::CancellationToken;
use testkit::{TestDb, TestServer, sample_submission};

/// What the fault layer does to the next `/v2/submit` requests.
#[derive(Debug, Default)]
struct Faults {
    /// Requests that reached the layer.
    seen: AtomicU32,
    /// Answer this many with 503 without passing them on.
    refuse: AtomicU32,
    /// Pass this many on, then answer 502 as if the reply were lost.
    lose_reply: AtomicU32,
    /// Spoil the signature of this many.
    spoil_signature: AtomicU32,
}

fn take(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

async fn faulty(State(faults): State<Arc<Faults>>, mut request: Request, next: Next) -> Response {
    if request.uri().path() != "/v2/submit" {
        return next.run(request).await;
    }
    faults.seen.fetch_add(1, Ordering::SeqCst);
    if take(&faults.refuse) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down for a moment").into_response();
    }
    if take(&faults.spoil_signature) {
        let zeros = format!("0x{}", "00".repeat(64));
        request.headers_mut().insert(
            "epistula-request-signature",
            HeaderValue::from_str(&zeros).unwrap(),
        );
    }
    let response = next.run(request).await;
    if take(&faults.lose_reply) {
        return (StatusCode::BAD_GATEWAY, "reply lost").into_response();
    }
    response
}

struct Rig {
    server: TestServer,
    faults: Arc<Faults>,
    submitter: Submitter,
    hotkey: Hotkey,
    _db: TestDb,
}

impl Rig {
    async fn start(settings: Settings) -> Self {
        let db = TestDb::new().await;
        let state = AppState::new(db.pool().await, settings, BlockSource::manual(1_050));
        let faults = Arc::new(Faults::default());
        let layer = Arc::clone(&faults);
        let server = TestServer::start_with_app(state, |router| {
            router.layer(from_fn_with_state(layer, faulty))
        })
        .await;
        let hotkey = Hotkey::generate();
        let api = ApiClient::new(
            &server.url(""),
            hotkey.clone(),
            AuthForm::Epistula,
            SUBMIT_TIMEOUT,
        )
        .unwrap();
        let backoff = Policy::new(vec![Duration::from_millis(10), Duration::from_millis(20)]);
        Self {
            server,
            faults,
            submitter: Submitter::new(api, backoff),
            hotkey,
            _db: db,
        }
    }

    fn requests(&self) -> u32 {
        self.faults.seen.load(Ordering::SeqCst)
    }
}

fn post_id(n: u64) -> u64 {
    1_990_000_000_000_000_000 + n
}

#[tokio::test]
async fn network_failures_and_5xx_are_retried_three_times_and_a_lost_reply_comes_back_a_duplicate()
{
    let rig = Rig::start(Settings::default()).await;
    let never = CancellationToken::new();

    rig.faults.refuse.store(2, Ordering::SeqCst);
    let post = sample_submission(rig.hotkey.ss58(), post_id(1));
    let outcome = rig.submitter.submit(&post, &never).await;
    assert!(matches!(outcome, SubmitOutcome::Accepted(_)), "{outcome:?}");
    assert_eq!(rig.requests(), 3);

    // Stored, but the reply is lost: the retry is told it is a duplicate, which is success.
    rig.faults.lose_reply.store(1, Ordering::SeqCst);
    let post = sample_submission(rig.hotkey.ss58(), post_id(2));
    let outcome = rig.submitter.submit(&post, &never).await;
    assert!(
        matches!(outcome, SubmitOutcome::Duplicate(_)),
        "{outcome:?}"
    );
    assert_eq!(rig.requests(), 5);

    rig.faults.refuse.store(3, Ordering::SeqCst);
    let post = sample_submission(rig.hotkey.ss58(), post_id(3));
    match rig.submitter.submit(&post, &never).await {
        SubmitOutcome::Unavailable { attempts, error } => {
            assert_eq!(attempts, 3);
            assert!(error.contains("503"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.requests(), 8);

    // A shutdown during the wait between attempts ends the submission there.
    let shutdown = CancellationToken::new();
    shutdown.cancel();
    rig.faults.refuse.store(1, Ordering::SeqCst);
    let outcome = rig.submitter.submit(&post, &shutdown).await;
    assert!(matches!(outcome, SubmitOutcome::Interrupted), "{outcome:?}");
    assert_eq!(rig.requests(), 9);
}

#[tokio::test]
async fn conflicts_invalid_fields_rate_limits_and_refused_signatures_are_told_apart() {
    let rig = Rig::start(Settings::default()).await;
    let never = CancellationToken::new();
    let hotkey = rig.hotkey.ss58();

    let post = sample_submission(hotkey, post_id(1));
    assert!(matches!(
        rig.submitter.submit(&post, &never).await,
        SubmitOutcome::Accepted(_)
    ));
    let mut changed = post.clone();
    changed.likes += 1;
    match rig.submitter.submit(&changed, &never).await {
        SubmitOutcome::Conflict { detail, window } => {
            assert_eq!(detail.differing_fields, ["likes"]);
            assert_eq!(window.current_window, 10);
        }
        other => panic!("{other:?}"),
    }

    let mut invalid = sample_submission(hotkey, post_id(2));
    invalid.post_id = "0123".into();
    invalid.sentiment = 3.0;
    match rig.submitter.submit(&invalid, &never).await {
        SubmitOutcome::Invalid { fields, .. } => {
            let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
            assert_eq!(names, ["post_id", "sentiment"]);
            assert!(fields.iter().all(|f| !f.message.is_empty()));
        }
        other => panic!("{other:?}"),
    }

    rig.faults.spoil_signature.store(1, Ordering::SeqCst);
    let post = sample_submission(hotkey, post_id(3));
    match rig.submitter.submit(&post, &never).await {
        SubmitOutcome::Unauthorized { detail } => {
            assert!(detail.contains("signature"), "{detail}")
        }
        other => panic!("{other:?}"),
    }

    for n in 4..8 {
        let post = sample_submission(hotkey, post_id(n));
        assert!(matches!(
            rig.submitter.submit(&post, &never).await,
            SubmitOutcome::Accepted(_)
        ));
    }
    let before = rig.requests();
    match rig
        .submitter
        .submit(&sample_submission(hotkey, post_id(9)), &never)
        .await
    {
        SubmitOutcome::RateLimited {
            next_window_start_block,
            window,
            ..
        } => {
            assert_eq!(next_window_start_block, Some(1_100));
            assert_eq!(window.unwrap().current_block, 1_050);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.requests(), before + 1, "a 429 is not retried");
    rig.server.stop().await;
}

#[tokio::test]
async fn a_hotkey_the_server_does_not_accept_is_forbidden() {
    let rig = Rig::start(Settings {
        registration: Registration::Closed,
        ..Settings::default()
    })
    .await;
    let post = sample_submission(rig.hotkey.ss58(), post_id(1));
    match rig.submitter.submit(&post, &CancellationToken::new()).await {
        SubmitOutcome::Forbidden { detail } => assert!(!detail.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(rig.requests(), 1);
}
