//! The validator side of the queue: `GET /v2/validation` leases tasks, `POST
//! /v2/validation_result` records verdicts.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use protocol::api::{
    ErrorBody, FieldError, ItemResult, ItemStatus, ValidationBatch, ValidationErrorBody,
    ValidationPayload, ValidationResultItem, ValidationResultRequest, ValidationResultResponse,
    VerdictOutcome,
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::IntoParams;

use super::extract::SignedBody;
use crate::AppState;
use crate::auth;
use crate::config::RouteClass;
use crate::db::validation::{self, VerdictInput};
use crate::error::ApiError;

/// Most tasks one poll may lease.
pub const MAX_LEASE_LIMIT: u32 = 100;
/// Most verdicts one batch may carry.
pub const MAX_RESULTS_PER_BATCH: usize = 1000;

/// Failure codes that describe the validator's own trouble, not the miner's post: without
/// an explicit `outcome`, a verdict carrying one of them is inconclusive.
pub const VALIDATOR_SIDE_CODES: &[&str] = &[
    "analyzer_error",
    "analyzer_unavailable",
    "unknown_error",
    "no_posts",
    "x_api_error",
];

/// Query of `GET /v2/validation`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LeaseQuery {
    /// How many tasks to lease, 1 to 100 (default 10).
    #[param(minimum = 1, maximum = 100, default = 10)]
    pub limit: Option<u32>,
}

/// Lease selected posts to check.
///
/// Hands each task to one validator at a time (two validators polling at once never get
/// the same task) for `VALIDATION_LEASE_SECS`; a task not answered by then returns to the
/// queue. A validator never receives its own posts or a task it already answered.
/// `available: false` means nothing is waiting now.
#[utoipa::path(
    get,
    path = "/v2/validation",
    tag = "validator",
    params(LeaseQuery),
    security(("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "The tasks leased by this call (possibly none)", body = ValidationBatch),
        (status = 401, description = "Missing or invalid signature", body = ErrorBody),
        (status = 403, description = "The signer is not a registered validator", body = ErrorBody),
        (status = 422, description = "Invalid `limit`", body = ValidationErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn next_tasks(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<LeaseQuery>, QueryRejection>,
) -> Result<Json<ValidationBatch>, ApiError> {
    let signer = auth::require_signature(&state, &headers, b"").await?;
    auth::require_form(&state, &signer, RouteClass::Validators)?;
    auth::require_validator(&state, &signer.hotkey).await?;
    let Query(query) = query.map_err(|e| ApiError::invalid_field("limit", e.body_text()))?;
    let limit = query.limit.unwrap_or(10);
    if !(1..=MAX_LEASE_LIMIT).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            format!("must be between 1 and {MAX_LEASE_LIMIT}"),
        ));
    }
    let leased = validation::lease(
        &state.db,
        &signer.hotkey,
        limit,
        state.settings.validation_lease,
    )
    .await?;
    let relet = leased.iter().filter(|t| t.relet).count() as u64;
    tracing::debug!(
        leased = leased.len(),
        relet,
        limit,
        "validation tasks leased"
    );
    state.metrics.leases.inc_by(leased.len() as u64);
    state.metrics.lease_expiries.inc_by(relet);
    let payloads: Vec<ValidationPayload> = leased
        .into_iter()
        .map(|task| ValidationPayload {
            validation_id: task.validation_id.to_string(),
            miner_hotkey: task.post.miner_hotkey.clone(),
            post: task.post,
            selected_at: task
                .selected_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            lease_expires_at: task
                .lease_expires_at
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        })
        .collect();
    Ok(Json(ValidationBatch {
        available: !payloads.is_empty(),
        payloads,
    }))
}

/// What a verdict means when the validator says only `success` (reference clients) or
/// also `outcome` (Pulse's): `None` when the two contradict each other.
pub fn outcome_of(item: &ValidationResultItem) -> Option<VerdictOutcome> {
    match (item.outcome, item.success) {
        (Some(VerdictOutcome::Pass), true) => Some(VerdictOutcome::Pass),
        (Some(VerdictOutcome::Pass), false) | (Some(_), true) => None,
        (Some(outcome), false) => Some(outcome),
        (None, true) => Some(VerdictOutcome::Pass),
        (None, false) => {
            let code = item
                .failure_reason
                .as_ref()
                .map(|r| r.code.as_str())
                .unwrap_or("");
            Some(if VALIDATOR_SIDE_CODES.contains(&code) {
                VerdictOutcome::Inconclusive
            } else {
                VerdictOutcome::Fail
            })
        }
    }
}

fn parse_batch(body: &[u8]) -> Result<ValidationResultRequest, Vec<FieldError>> {
    let error = |field: &str, message: String| {
        vec![FieldError {
            field: field.into(),
            message,
        }]
    };
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| error("body", format!("is not valid JSON: {e}")))?;
    let validator_hotkey = match value.get("validator_hotkey") {
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err(error("validator_hotkey", "must be a string".into())),
        None => return Err(error("validator_hotkey", "field required".into())),
    };
    let Some(items) = value.get("results").and_then(Value::as_array) else {
        return Err(error("results", "must be an array of verdicts".into()));
    };
    if items.is_empty() || items.len() > MAX_RESULTS_PER_BATCH {
        return Err(error(
            "results",
            format!("must hold 1 to {MAX_RESULTS_PER_BATCH} verdicts"),
        ));
    }
    let mut errors = Vec::new();
    let mut results = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match serde_json::from_value::<ValidationResultItem>(item.clone()) {
            Ok(item) => results.push(item),
            Err(e) => errors.push(FieldError {
                field: format!("results[{i}]"),
                message: e.to_string(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(ValidationResultRequest {
            validator_hotkey,
            results,
        })
    } else {
        Err(errors)
    }
}

/// Record verdicts.
///
/// Idempotent per (validation_id, validator): a re-sent verdict is a `duplicate`. Each
/// verdict gets its own result; unknown, foreign or contradictory ones are rejected one
/// by one without failing the batch. Without `outcome`, `success: true` is a pass and
/// `success: false` a fail, except for validator-side failure codes (`analyzer_error`,
/// `analyzer_unavailable`, `unknown_error`, `no_posts`, `x_api_error`), which are
/// inconclusive: the task returns to the queue and the miner is not penalised.
#[utoipa::path(
    post,
    path = "/v2/validation_result",
    tag = "validator",
    request_body(content = ValidationResultRequest, content_type = "application/json"),
    security(("epistula" = []), ("x_auth" = [])),
    responses(
        (status = 200, description = "The batch was read; one result per verdict", body = ValidationResultResponse),
        (status = 401, description = "Missing or invalid signature", body = ErrorBody),
        (status = 403, description = "The signer is not a registered validator, or not `validator_hotkey`", body = ErrorBody),
        (status = 413, description = "Body larger than the configured limit", body = ErrorBody),
        (status = 422, description = "The batch is unreadable", body = ValidationErrorBody),
        (status = 503, description = "Database or block source unavailable", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub async fn record_results(
    State(state): State<AppState>,
    SignedBody { signer, body }: SignedBody,
) -> Result<Json<ValidationResultResponse>, ApiError> {
    auth::require_form(&state, &signer, RouteClass::Validators)?;
    let signer = auth::spend_uuid(&state, signer).await?;
    auth::require_validator(&state, &signer.hotkey).await?;
    let batch = parse_batch(&body).map_err(ApiError::Invalid)?;
    if batch.validator_hotkey != signer.hotkey {
        return Err(ApiError::Forbidden(format!(
            "request is signed by {} but validator_hotkey is {}",
            signer.hotkey, batch.validator_hotkey
        )));
    }
    let window = state.window()?;

    // Verdicts that cannot be recorded whatever the database holds are answered here; the
    // rest go to the database in one transaction, and the answers are merged in order.
    let mut answers: Vec<Option<ItemResult>> = Vec::with_capacity(batch.results.len());
    let mut inputs = Vec::new();
    for item in &batch.results {
        let reject = |reason: &str, detail: String| ItemResult {
            validation_id: item.validation_id.clone(),
            status: ItemStatus::Rejected,
            outcome: item.outcome,
            reason: Some(reason.into()),
            detail: Some(detail),
        };
        if item.validator_hotkey != signer.hotkey {
            answers.push(Some(reject(
                "validator_mismatch",
                format!("validator_hotkey must be {}", signer.hotkey),
            )));
            continue;
        }
        let Some(outcome) = outcome_of(item) else {
            answers.push(Some(reject(
                "invalid_outcome",
                "outcome pass needs success true; fail and inconclusive need success false".into(),
            )));
            continue;
        };
        answers.push(None);
        inputs.push(VerdictInput {
            validation_id_raw: item.validation_id.clone(),
            miner_hotkey: item.miner_hotkey.clone(),
            outcome,
            // Bounded and without NUL, whatever the validator sent: a verdict quoting a
            // hostile submission is stored readably and never outgrows its row
            // (docs/protocol.md#what-a-verdict-carries).
            failure: item
                .failure_reason
                .as_ref()
                .map(protocol::verdict::bound_failure_reason),
        });
    }
    let mut recorded = validation::record(
        &state.db,
        &signer.hotkey,
        &inputs,
        window,
        state.settings.scores_grace_blocks,
    )
    .await?
    .into_iter();
    let results: Vec<ItemResult> = answers
        .into_iter()
        .map(|a| a.unwrap_or_else(|| recorded.next().expect("one result per input")))
        .collect();
    for (item, result) in batch.results.iter().zip(&results) {
        if let (ItemStatus::Recorded, Some(outcome)) = (result.status, result.outcome) {
            // The code as stored (bounded, no NUL), not as sent.
            let code = item
                .failure_reason
                .as_ref()
                .filter(|_| outcome != VerdictOutcome::Pass)
                .map(|r| protocol::verdict::bound_text(&r.code, protocol::verdict::MAX_CODE_CHARS));
            state
                .metrics
                .verdict(validation::outcome_name(outcome), code.as_deref());
        }
    }
    let count = |status: ItemStatus| results.iter().filter(|r| r.status == status).count() as u32;
    let response = ValidationResultResponse {
        status: "ok".into(),
        recorded: count(ItemStatus::Recorded),
        duplicates: count(ItemStatus::Duplicate),
        rejected: count(ItemStatus::Rejected),
        results,
    };
    tracing::debug!(
        recorded = response.recorded,
        duplicates = response.duplicates,
        rejected = response.rejected,
        "verdicts received"
    );
    Ok(Json(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::api::FailureReason;

    fn item(
        success: bool,
        outcome: Option<VerdictOutcome>,
        code: Option<&str>,
    ) -> ValidationResultItem {
        ValidationResultItem {
            validator_hotkey: "v".into(),
            validation_id: "id".into(),
            miner_hotkey: "m".into(),
            success,
            outcome,
            failure_reason: code.map(|c| FailureReason {
                code: c.into(),
                message: String::new(),
                post_id: None,
                details: None,
            }),
        }
    }

    #[test]
    fn reference_verdicts_map_validator_side_codes_to_inconclusive() {
        assert_eq!(
            outcome_of(&item(true, None, None)),
            Some(VerdictOutcome::Pass)
        );
        assert_eq!(
            outcome_of(&item(false, None, Some("tokens_mismatch"))),
            Some(VerdictOutcome::Fail)
        );
        assert_eq!(
            outcome_of(&item(false, None, None)),
            Some(VerdictOutcome::Fail)
        );
        for code in VALIDATOR_SIDE_CODES {
            assert_eq!(
                outcome_of(&item(false, None, Some(code))),
                Some(VerdictOutcome::Inconclusive),
                "{code}"
            );
        }
    }

    #[test]
    fn an_explicit_outcome_must_agree_with_success() {
        assert_eq!(
            outcome_of(&item(
                false,
                Some(VerdictOutcome::Inconclusive),
                Some("text_mismatch")
            )),
            Some(VerdictOutcome::Inconclusive)
        );
        assert_eq!(
            outcome_of(&item(
                false,
                Some(VerdictOutcome::Fail),
                Some("x_api_error")
            )),
            Some(VerdictOutcome::Fail)
        );
        assert_eq!(
            outcome_of(&item(true, Some(VerdictOutcome::Fail), None)),
            None
        );
        assert_eq!(
            outcome_of(&item(false, Some(VerdictOutcome::Pass), None)),
            None
        );
    }

    #[test]
    fn unreadable_batches_name_the_field() {
        assert_eq!(parse_batch(b"{").unwrap_err()[0].field, "body");
        assert_eq!(
            parse_batch(br#"{"validator_hotkey": "v", "results": []}"#).unwrap_err()[0].field,
            "results"
        );
        let errors =
            parse_batch(br#"{"validator_hotkey": "v", "results": [{"validation_id": 1}]}"#)
                .unwrap_err();
        assert_eq!(errors[0].field, "results[0]");
    }
}
