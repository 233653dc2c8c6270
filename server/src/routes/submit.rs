//! `POST /v2/submit`: a miner submits one analysed post.

use std::convert::Infallible;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponseParts, ResponseParts};
use protocol::WindowInfo;
use protocol::api::{
    ConflictBody, ConflictDetail, ErrorBody, RateLimitBody, RateLimitDetail, RateLimitInfo,
    SubmitReceipt, SubmitRequest, SubmitStatus, ValidationErrorBody,
};
use protocol::submission::NewSubmission;
use rand::Rng;
use uuid::Uuid;

use super::extract::{CurrentWindow, SignedBody};
use crate::AppState;
use crate::auth;
use crate::config::{Registration, RouteClass, Settings};
use crate::db::submissions::{self, Admission, Placement, SubmitOutcome};
use crate::error::{ApiError, WindowedError};

/// Submit one analysed post.
///
/// Authenticates the signer (who must be `miner_hotkey`), validates and normalises the
/// post, then, in one transaction: stores it unless this hotkey already submitted this
/// `post_id` (same data: `duplicate`, no quota used; different data: 409), takes one unit
/// of the hotkey's quota for the current window (none left: 429), and samples it for
/// validation. Every reply carries the window fields at the top level.
#[utoipa::path(
    post,
    path = "/v2/submit",
    tag = "miner",
    request_body(content = SubmitRequest, content_type = "application/json"),
    security(("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "Accepted: `new` (stored now) or `duplicate` (stored earlier with \
            the same data; the original selection and validation id; no quota used)", body = SubmitReceipt,
            headers(
                ("X-RateLimit-Limit" = u32, description = "New posts allowed per window"),
                ("X-RateLimit-Remaining" = u32, description = "New posts still allowed in this window"),
                ("X-RateLimit-Reset-Block" = u64, description = "First block of the next window"),
                ("X-RateLimit-Reset-Seconds" = f64, description = "Estimated seconds until the next window")
            )),
        (status = 401, description = "Missing, malformed, stale, future-dated, replayed or wrongly signed \
            authentication", body = ErrorBody),
        (status = 403, description = "Validly signed, but the signer is not `miner_hotkey`, is not \
            registered as a miner (closed registration), holds no UID on the subnet (REGISTRATION=metagraph; \
            the body names the netuid, the block and the btcli command) or is registered in another role",
            body = ErrorBody),
        (status = 409, description = "This hotkey already submitted this `post_id` with different data; \
            permanent", body = ConflictBody),
        (status = 413, description = "Body larger than the configured limit", body = ErrorBody),
        (status = 422, description = "Invalid body: every invalid field with a message", body = ValidationErrorBody),
        (status = 429, description = "This hotkey's quota for the window is used; retry in the next window",
            body = RateLimitBody,
            headers(
                ("Retry-After" = u64, description = "Whole seconds until the next window (estimated)"),
                ("X-RateLimit-Limit" = u32, description = "New posts allowed per window"),
                ("X-RateLimit-Remaining" = u32, description = "Always 0"),
                ("X-RateLimit-Reset-Block" = u64, description = "First block of the next window"),
                ("X-RateLimit-Reset-Seconds" = f64, description = "Estimated seconds until the next window")
            )),
        (status = 500, description = "Server fault (details are logged, not returned)", body = ErrorBody),
        (status = 503, description = "Database, block source or metagraph (older than \
            METAGRAPH_MAX_AGE_SECS) unavailable; retry after `Retry-After` seconds", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    CurrentWindow(window): CurrentWindow,
    signed: Result<SignedBody, ApiError>,
) -> (RateLimitHeaders, Result<Json<SubmitReceipt>, WindowedError>) {
    let result = accept(&state, signed, window).await;
    state.metrics.submission(match &result {
        Ok(receipt) => match receipt.status {
            SubmitStatus::New => "new",
            SubmitStatus::Duplicate => "duplicate",
        },
        // Dashboards count the server's own faults as one outcome.
        Err(error) if error.status().is_server_error() => "error",
        Err(error) => error.code(),
    });
    let used = match &result {
        Ok(receipt) => Some(receipt.submissions_in_window),
        Err(error) => error.quota_used(),
    };
    (
        RateLimitHeaders::new(&state.settings, &window, used),
        result
            .map(Json)
            .map_err(|error| error.with_window(Some(window))),
    )
}

/// The receipt of a post accepted now or earlier, or why it is refused; [`submit`] adds
/// the window and the rate-limit headers to either.
async fn accept(
    state: &AppState,
    signed: Result<SignedBody, ApiError>,
    window: WindowInfo,
) -> Result<SubmitReceipt, ApiError> {
    // The signature is checked by the extractor; its uuid, the signer's role, the post and
    // the quota are settled by the database in one statement below.
    let SignedBody { signer, body } = signed?;
    auth::require_form(state, &signer, RouteClass::Miners)?;
    let settings = &state.settings;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let latest_date = now + settings.auth.max_future.as_secs() as i64;
    let new = NewSubmission::parse(&body, latest_date).map_err(ApiError::Invalid)?;
    if new.miner_hotkey != signer.hotkey {
        return Err(auth::not_the_miner(
            state,
            &signer.hotkey,
            &new.miner_hotkey,
        ));
    }
    tracing::Span::current().record("post_id", new.post_id.as_str());

    // ThreadRng is a CSPRNG (ChaCha, seeded from the OS), so miners cannot predict which
    // of their posts will be checked.
    let placement = Placement {
        block: window.current_block,
        window_index: window.current_window,
        selected: rand::rng().random_bool(settings.validation_probability),
        validation_id: time_ordered_id(),
        quota: settings.max_submissions,
        verdicts: settings.validation_verdicts,
    };
    // With the metagraph, a UID opens the door as open registration does (a hotkey listed
    // only as a validator stays out); without one, only a `hotkeys add` miner gets in, as
    // under closed registration. The snapshot is in memory: no wait on the node.
    let snapshot = match (&settings.registration, &state.metagraph) {
        (Registration::Metagraph, Some(metagraph)) => Some(metagraph.fresh_or_503()?),
        (Registration::Metagraph, None) => {
            return Err(ApiError::Unavailable(
                "REGISTRATION=metagraph but this server reads no metagraph".into(),
            ));
        }
        _ => None,
    };
    let has_uid = snapshot
        .as_ref()
        .is_some_and(|s| s.neuron(&signer.hotkey).is_some());
    let closed_registration = match settings.registration {
        Registration::Open => false,
        Registration::Closed => true,
        Registration::Metagraph => !has_uid,
    };
    let admission = Admission {
        nonce: signer.epistula_uuid.map(|uuid| (uuid, signer.signed_at_ms)),
        signed_by: &signer.hotkey,
        closed_registration,
    };
    let outcome = submissions::submit(&state.submit_db, &new, placement, admission).await?;
    let max = settings.max_submissions;
    let receipt =
        |status, message: String, selected, validation_id: Uuid, used: u32| SubmitReceipt {
            status,
            message,
            post_id: new.post_id.clone(),
            selected_for_validation: selected,
            validation_id: validation_id.to_string(),
            x_validation_passed: None,
            x_validation_error: None,
            submissions_in_window: used,
            remaining_in_window: max.saturating_sub(used),
            max_submissions: max,
            window,
        };
    match outcome {
        SubmitOutcome::New { used } => {
            let span = tracing::Span::current();
            let message = if placement.selected {
                state.metrics.selections.inc();
                span.record("outcome", "new_selected");
                format!("post {} accepted and selected for validation", new.post_id)
            } else {
                span.record("outcome", "new");
                format!("post {} accepted", new.post_id)
            };
            Ok(receipt(
                SubmitStatus::New,
                message,
                placement.selected,
                placement.validation_id,
                used,
            ))
        }
        SubmitOutcome::Duplicate { stored, used } => {
            tracing::Span::current().record("outcome", "duplicate");
            let message = format!(
                "post {} was already accepted from this hotkey in window {}; nothing changed",
                new.post_id, stored.window_index
            );
            Ok(receipt(
                SubmitStatus::Duplicate,
                message,
                stored.selected_for_validation,
                stored.validation_id,
                used,
            ))
        }
        SubmitOutcome::Conflict {
            differing_fields,
            used,
        } => Err(conflict(&new.post_id, differing_fields, used)),
        SubmitOutcome::Replay => Err(auth::replayed(state, signer.epistula_uuid)),
        SubmitOutcome::Forbidden { roles } => match &snapshot {
            Some(snapshot) if !has_uid && roles.is_empty() => {
                Err(auth::no_uid(state, &signer.hotkey, snapshot))
            }
            _ => Err(auth::not_a_miner(state, &signer.hotkey, &roles)),
        },
        SubmitOutcome::RateLimited { used } => {
            Err(rate_limited(window, used, max, settings.block_time_secs))
        }
    }
}

/// The 409 for a post this hotkey already submitted with other `differing_fields`.
fn conflict(post_id: &str, differing_fields: Vec<String>, used: u32) -> ApiError {
    tracing::debug!(fields = ?differing_fields, "submission conflicts");
    let message = format!(
        "post {post_id} was already submitted by this hotkey with different data ({}); the \
         stored submission stands",
        differing_fields.join(", ")
    );
    let detail = ConflictDetail {
        message,
        post_id: post_id.to_owned(),
        differing_fields,
    };
    ApiError::Conflict { detail, used }
}

/// The 429 for a hotkey that has used `used` of its `max` new posts in `window`.
fn rate_limited(window: WindowInfo, used: u32, max: u32, block_time_secs: f64) -> ApiError {
    let seconds = window.seconds_until_next_window(block_time_secs);
    let detail = RateLimitDetail {
        message: format!(
            "rate limit exceeded: {used} of {max} new posts used in window {}; the next window \
             starts at block {}",
            window.current_window, window.next_window_start_block
        ),
        rate_limit: RateLimitInfo {
            current_count: used,
            max_submissions: max,
            current_block: window.current_block,
            window_start_block: window.window_start_block,
            window_end_block: window.window_end_block,
            next_window_start_block: window.next_window_start_block,
            blocks_per_window: window.blocks_per_window,
            estimated_seconds_until_reset: seconds,
        },
    };
    ApiError::RateLimited {
        detail,
        retry_after_secs: seconds.ceil() as u64,
    }
}

/// A new validation id: a UUIDv7 (Unix milliseconds, then 74 random bits).
///
/// Time-ordered, so new ids land at the right edge of their indexes and the pages an
/// insert touches stay in cache however many posts are stored. The random bits come from
/// the thread's CSPRNG rather than `Uuid::now_v7`'s, which asks the kernel (`getrandom`)
/// one to two times per id: a system call per submission for nothing.
fn time_ordered_id() -> Uuid {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as u64;
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::rng().random()).into_uuid()
}

/// The `X-RateLimit-*` headers of every `/v2/submit` reply: the quota, the next window,
/// and what is left of the quota when the reply read it.
pub struct RateLimitHeaders {
    limit: u32,
    used: Option<u32>,
    reset_block: u64,
    reset_seconds: f64,
}

impl RateLimitHeaders {
    /// The headers for a reply in `window` that found `used` of the quota taken (`None`
    /// when the reply was decided without reading the quota).
    pub fn new(settings: &Settings, window: &WindowInfo, used: Option<u32>) -> Self {
        Self {
            limit: settings.max_submissions,
            used,
            reset_block: window.next_window_start_block,
            reset_seconds: window.seconds_until_next_window(settings.block_time_secs),
        }
    }
}

impl IntoResponseParts for RateLimitHeaders {
    type Error = Infallible;

    fn into_response_parts(self, mut parts: ResponseParts) -> Result<ResponseParts, Infallible> {
        let headers = parts.headers_mut();
        headers.insert("x-ratelimit-limit", HeaderValue::from(self.limit));
        if let Some(used) = self.used {
            headers.insert(
                "x-ratelimit-remaining",
                HeaderValue::from(self.limit.saturating_sub(used)),
            );
        }
        headers.insert(
            "x-ratelimit-reset-block",
            HeaderValue::from(self.reset_block),
        );
        if let Ok(value) = HeaderValue::from_str(&format!("{:.1}", self.reset_seconds)) {
            headers.insert("x-ratelimit-reset-seconds", value);
        }
        Ok(parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64
    }

    #[test]
    fn validation_ids_are_version_7_and_carry_the_time_they_were_made() {
        let before = unix_ms();
        let ids: Vec<Uuid> = (0..1000).map(|_| time_ordered_id()).collect();
        let after = unix_ms();
        for id in &ids {
            assert_eq!(id.get_version_num(), 7, "{id}");
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122, "{id}");
            let (secs, nanos) = id.get_timestamp().expect("v7 has a timestamp").to_unix();
            let ms = secs * 1000 + u64::from(nanos) / 1_000_000;
            assert!(
                (before..=after).contains(&ms),
                "{ms} outside {before}..={after}"
            );
        }
        let distinct: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
