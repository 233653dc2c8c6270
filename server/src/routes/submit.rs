//! `POST /v2/submit`: a miner submits one analysed post.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::WindowInfo;
use protocol::api::{
    ConflictBody, ConflictDetail, ErrorBody, FieldError, RateLimitBody, RateLimitDetail,
    RateLimitInfo, SubmitReceipt, SubmitRequest, SubmitStatus, ValidationErrorBody,
};
use rand::Rng;
use uuid::Uuid;

use crate::AppState;
use crate::auth;
use crate::config::Registration;
use crate::db::submissions::{self, Admission, Placement, SubmitOutcome};
use crate::error::ApiError;
use protocol::submission::NewSubmission;

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
            registered as a miner (closed registration) or is registered in another role", body = ErrorBody),
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
        (status = 503, description = "Database or block source unavailable; retry after `Retry-After` \
            seconds", body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let window = match state.window() {
        Ok(window) => window,
        Err(error) => return error.into_response(),
    };
    let (result, used) = match accept(&state, &headers, body, window).await {
        Ok((response, used)) => (response, Some(used)),
        Err((error, used)) => {
            state.metrics.submission(match &error {
                ApiError::Conflict(_) => "conflict",
                ApiError::RateLimited { .. } => "rate_limited",
                ApiError::Invalid(_) => "invalid",
                ApiError::PayloadTooLarge(_) => "too_large",
                ApiError::Unauthorized(_) => "unauthorized",
                ApiError::Forbidden(_) => "forbidden",
                _ => "error",
            });
            (error.with_window(Some(window)).into_response(), used)
        }
    };
    let mut response = result;
    rate_limit_headers(response.headers_mut(), &state, &window, used);
    response
}

type Rejection = (ApiError, Option<u32>);

async fn accept(
    state: &AppState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    window: WindowInfo,
) -> Result<(Response, u32), Rejection> {
    let settings = &state.settings;
    let body = body.map_err(|rejection| {
        let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(settings.max_body_bytes)
        } else {
            ApiError::Invalid(vec![FieldError {
                field: "body".into(),
                message: rejection.body_text(),
            }])
        };
        (error, None)
    })?;
    // The signature is checked here; its uuid, the signer's role, the post and the quota
    // are settled by the database in one statement below.
    let signer = auth::verify_signed(state, headers, &body).map_err(|e| (e, None))?;

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs() as i64;
    let latest_date = now + settings.auth.max_future.as_secs() as i64;
    let new = NewSubmission::parse(&body, latest_date)
        .map_err(|fields| (ApiError::Invalid(fields), None))?;
    if new.miner_hotkey != signer.hotkey {
        state.metrics.auth_failure("signer_not_miner");
        return Err((
            ApiError::Forbidden(format!(
                "request is signed by {} but miner_hotkey is {}; a miner may submit only as itself",
                signer.hotkey, new.miner_hotkey
            )),
            None,
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
    let admission = Admission {
        nonce: signer.epistula_uuid.map(|uuid| (uuid, signer.signed_at_ms)),
        signed_by: &signer.hotkey,
        closed_registration: settings.registration == Registration::Closed,
    };
    let outcome = submissions::submit(&state.submit_db, &new, placement, admission)
        .await
        .map_err(|e| (e.into(), None))?;
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
            tracing::Span::current().record(
                "outcome",
                if placement.selected {
                    "new_selected"
                } else {
                    "new"
                },
            );
            state.metrics.submission("new");
            if placement.selected {
                state.metrics.selections.inc();
            }
            let message = if placement.selected {
                format!("post {} accepted and selected for validation", new.post_id)
            } else {
                format!("post {} accepted", new.post_id)
            };
            let body = receipt(
                SubmitStatus::New,
                message,
                placement.selected,
                placement.validation_id,
                used,
            );
            Ok((Json(body).into_response(), used))
        }
        SubmitOutcome::Duplicate { stored, used } => {
            tracing::Span::current().record("outcome", "duplicate");
            state.metrics.submission("duplicate");
            let message = format!(
                "post {} was already accepted from this hotkey in window {}; nothing changed",
                new.post_id, stored.window_index
            );
            let body = receipt(
                SubmitStatus::Duplicate,
                message,
                stored.selected_for_validation,
                stored.validation_id,
                used,
            );
            Ok((Json(body).into_response(), used))
        }
        SubmitOutcome::Conflict {
            differing_fields,
            used,
        } => {
            tracing::Span::current().record("outcome", "conflict");
            tracing::debug!(fields = ?differing_fields, "submission conflicts");
            let message = format!(
                "post {} was already submitted by this hotkey with different data ({}); the stored \
                 submission stands",
                new.post_id,
                differing_fields.join(", ")
            );
            let detail = ConflictDetail {
                message,
                post_id: new.post_id.clone(),
                differing_fields,
            };
            Err((ApiError::Conflict(detail), Some(used)))
        }
        SubmitOutcome::Replay => Err((auth::replayed(state, signer.epistula_uuid), None)),
        SubmitOutcome::Forbidden { roles } => {
            Err((auth::not_a_miner(state, &signer.hotkey, &roles), None))
        }
        SubmitOutcome::RateLimited { used } => {
            tracing::Span::current().record("outcome", "rate_limited");
            let seconds = window.seconds_until_next_window(settings.block_time_secs);
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
            Err((
                ApiError::RateLimited {
                    detail,
                    retry_after_secs: seconds.ceil() as u64,
                },
                Some(used),
            ))
        }
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

fn rate_limit_headers(
    headers: &mut HeaderMap,
    state: &AppState,
    window: &WindowInfo,
    used: Option<u32>,
) {
    let max = state.settings.max_submissions;
    let seconds = window.seconds_until_next_window(state.settings.block_time_secs);
    headers.insert("x-ratelimit-limit", HeaderValue::from(max));
    if let Some(used) = used {
        headers.insert(
            "x-ratelimit-remaining",
            HeaderValue::from(max.saturating_sub(used)),
        );
    }
    headers.insert(
        "x-ratelimit-reset-block",
        HeaderValue::from(window.next_window_start_block),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("{seconds:.1}")) {
        headers.insert("x-ratelimit-reset-seconds", value);
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
