//! [`Submitter`]: one post per `POST /v2/submit`, with the reference's retry policy, and the
//! meaning of every reply for the miner ([`SubmitOutcome`]).
//!
//! - Each attempt has 10 s ([`SUBMIT_TIMEOUT`]) and is signed afresh (a new Epistula uuid).
//! - Network errors and 5xx are tried 3 times in all, waiting 3 s and 6 s between, or as
//!   long as the server's `Retry-After` asks ([`Policy::reference`]; tests inject shorter
//!   waits). A retry of a post the server did store before the reply was lost comes back
//!   `duplicate`, which is success.
//! - `new` and `duplicate` are success; a duplicate used no quota.
//! - 409 and 422 (and 413) are permanent: the post is never sent again.
//! - 429 ends the window's submissions; 401 and 403 end them too, with the server's reason,
//!   because every other post would meet the same answer.

use std::sync::Arc;
use std::time::Duration;

use client::{ApiClient, CallError};
use protocol::WindowInfo;
use protocol::api::{ConflictDetail, FieldError, SubmitReceipt, SubmitRequest, SubmitStatus};
use reqwest::StatusCode;
use retry::Policy;
use service::CancellationToken;
use tracing::Instrument;

use crate::metrics::Metrics;

/// Time limit of one submission attempt (docs/protocol.md#submission-retries).
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// What became of one submission.
#[derive(Debug, Clone)]
pub enum SubmitOutcome {
    /// Stored now; one unit of quota used.
    Accepted(Box<SubmitReceipt>),
    /// Stored before with the same data; no quota used.
    Duplicate(Box<SubmitReceipt>),
    /// 409: stored before with other data. Permanent.
    Conflict {
        /// The server's explanation and the fields that differ.
        detail: ConflictDetail,
        /// The window fields of the reply.
        window: WindowInfo,
    },
    /// 422: the server refused fields. Permanent.
    Invalid {
        /// Each refused field and why.
        fields: Vec<FieldError>,
        /// The window fields of the reply, if any.
        window: Option<WindowInfo>,
    },
    /// 413: the body is too large. Permanent.
    TooLarge {
        /// The server's explanation.
        detail: String,
    },
    /// 429: this window's quota is used.
    RateLimited {
        /// The server's explanation.
        message: String,
        /// First block of the window in which the quota resets, when the server said.
        next_window_start_block: Option<u64>,
        /// The window fields of the reply, if any.
        window: Option<WindowInfo>,
    },
    /// 401: the signature was refused (clock skew, wrong key, replay).
    Unauthorized {
        /// The server's explanation.
        detail: String,
    },
    /// 403: this hotkey may not submit (not a registered miner, or a validator).
    Forbidden {
        /// The server's explanation.
        detail: String,
    },
    /// No success after every attempt (network errors, 5xx).
    Unavailable {
        /// The last error.
        error: String,
        /// Attempts made.
        attempts: usize,
    },
    /// A reply the miner has no plan for (404, 400, an unreadable body...).
    Unexpected {
        /// The error.
        error: String,
    },
    /// The shutdown signal came during a wait between attempts.
    Interrupted,
}

impl SubmitOutcome {
    /// The window fields the reply carried, to stay in step with the server.
    pub fn window(&self) -> Option<WindowInfo> {
        match self {
            SubmitOutcome::Accepted(receipt) | SubmitOutcome::Duplicate(receipt) => {
                Some(receipt.window)
            }
            SubmitOutcome::Conflict { window, .. } => Some(*window),
            SubmitOutcome::Invalid { window, .. } => *window,
            SubmitOutcome::RateLimited { window, .. } => *window,
            _ => None,
        }
    }
}

/// Submits posts through an [`ApiClient`].
#[derive(Debug, Clone)]
pub struct Submitter {
    api: ApiClient,
    policy: Policy,
    metrics: Arc<Metrics>,
}

impl Submitter {
    /// Submits with `api` (whose timeout should be [`SUBMIT_TIMEOUT`]), retrying with
    /// `policy`.
    pub fn new(api: ApiClient, policy: Policy) -> Self {
        Self {
            api,
            policy,
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Counts attempts and their errors in `metrics` (the miner's, rather than a private
    /// set nobody reads).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        Self { metrics, ..self }
    }

    /// The signing hotkey's address.
    pub fn hotkey(&self) -> &str {
        self.api.hotkey().ss58()
    }

    /// Submits `post`; waits between attempts give way to `shutdown`, the request in flight
    /// does not.
    pub async fn submit(
        &self,
        post: &SubmitRequest,
        shutdown: &CancellationToken,
    ) -> SubmitOutcome {
        let attempt = || async move {
            self.metrics.submit_attempts.inc();
            let result = self.api.submit(post).await;
            if result.as_ref().is_err_and(CallError::is_transient) {
                self.metrics.submit_errors.inc();
            }
            result
        };
        let result = self
            .policy
            .run("submission", shutdown, CallError::failure, attempt)
            .instrument(tracing::info_span!("submit", post.id = %post.post_id))
            .await;
        match result {
            Ok(receipt) => match receipt.status {
                SubmitStatus::New => SubmitOutcome::Accepted(Box::new(receipt)),
                SubmitStatus::Duplicate => SubmitOutcome::Duplicate(Box::new(receipt)),
            },
            Err(gave_up) if gave_up.cancelled => SubmitOutcome::Interrupted,
            Err(gave_up) if gave_up.error.is_transient() => SubmitOutcome::Unavailable {
                error: gave_up.error.to_string(),
                attempts: gave_up.attempts as usize,
            },
            Err(gave_up) => classify(gave_up.error),
        }
    }
}

fn classify(error: CallError) -> SubmitOutcome {
    match error {
        CallError::Conflict { body, .. } => SubmitOutcome::Conflict {
            detail: body.detail,
            window: body.window,
        },
        CallError::Invalid { body, .. } => SubmitOutcome::Invalid {
            fields: body.detail,
            window: body.window,
        },
        CallError::RateLimited { body, .. } => SubmitOutcome::RateLimited {
            message: body.detail.message,
            next_window_start_block: Some(body.detail.rate_limit.next_window_start_block),
            window: Some(body.window),
        },
        // A 429 whose body is not Pulse's shape (a reference server) still ends the window.
        CallError::Status {
            status,
            detail,
            window,
            ..
        } if status == StatusCode::TOO_MANY_REQUESTS => SubmitOutcome::RateLimited {
            message: detail,
            next_window_start_block: window.map(|w| w.next_window_start_block),
            window,
        },
        CallError::Status { status, detail, .. } if status == StatusCode::UNAUTHORIZED => {
            SubmitOutcome::Unauthorized { detail }
        }
        CallError::Status { status, detail, .. } if status == StatusCode::FORBIDDEN => {
            SubmitOutcome::Forbidden { detail }
        }
        CallError::Status { status, detail, .. } if status == StatusCode::PAYLOAD_TOO_LARGE => {
            SubmitOutcome::TooLarge { detail }
        }
        other => SubmitOutcome::Unexpected {
            error: other.to_string(),
        },
    }
}
