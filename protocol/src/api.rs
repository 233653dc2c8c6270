//! Request and response bodies of the coordination API (`/v2/*`).
//!
//! These are plain data with serde and OpenAPI schemas and no business logic: the server
//! validates and answers with them, and Pulse's clients build and read them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::window::WindowInfo;

/// One analysed post, as a miner submits it to `POST /v2/submit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "miner_hotkey": "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi",
    "post_id": "1860000000000000001",
    "content": "SN45 looks strong this week",
    "date": 1_764_120_000,
    "author": "alice",
    "account_age": 365,
    "retweets": 3,
    "likes": 10,
    "responses": 1,
    "followers": 1200,
    "tokens": {"talisman_ai": 1.0},
    "sentiment": 0.5,
    "score": 0.55
}))]
pub struct SubmitRequest {
    /// SS58 address of the miner; must be the request's signer.
    pub miner_hotkey: String,
    /// The X post id in canonical form: decimal digits, no leading zero, at most 2^64-1.
    pub post_id: String,
    /// The post's text. The server stores it normalised (NFC, whitespace runs collapsed to
    /// one space, trimmed); at most 25,000 characters after normalisation and not empty.
    pub content: String,
    /// When the post was created, in Unix seconds.
    pub date: i64,
    /// The author's X username, without `@`.
    pub author: String,
    /// Age of the author's account in days.
    pub account_age: u64,
    /// Retweet count.
    pub retweets: u64,
    /// Like count.
    pub likes: u64,
    /// Reply count (named `responses` on the wire).
    pub responses: u64,
    /// The author's follower count.
    pub followers: u64,
    /// Subnet name -> relevance in [0, 1]; at least one value above 0.
    #[schema(example = json!({"talisman_ai": 1.0}))]
    pub tokens: BTreeMap<String, f64>,
    /// Sentiment in [-1, 1]: 1 very bullish, 0.5 bullish, 0 neutral, -0.5 bearish, -1 very
    /// bearish.
    pub sentiment: f64,
    /// The miner's score of the post, in [0, 1].
    pub score: f64,
}

/// Outcome of a submission the server accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubmitStatus {
    /// Stored now; it used one unit of the window's quota.
    New,
    /// Already stored with the same data; nothing changed and no quota was used.
    Duplicate,
}

/// Why the server's own X check failed (kept for wire compatibility; the server does not
/// check X at submission time, so it is always null).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct XValidationError {
    /// Machine-readable reason.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
}

/// The receipt for an accepted submission (HTTP 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "status": "new", "message": "post 1860000000000000001 accepted",
    "post_id": "1860000000000000001", "selected_for_validation": true,
    "validation_id": "0b6f5f8e-8d1a-4a43-9a40-3f8f2a0e2f61",
    "x_validation_passed": null, "x_validation_error": null,
    "submissions_in_window": 1, "remaining_in_window": 4, "max_submissions": 5,
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct SubmitReceipt {
    /// `new` or `duplicate`; both mean success.
    pub status: SubmitStatus,
    /// Human-readable summary.
    pub message: String,
    /// The canonical post id.
    pub post_id: String,
    /// Whether the post was sampled for validation (for a duplicate: the original decision).
    pub selected_for_validation: bool,
    /// Identifier of the accepted post; validators receive selected posts under it.
    pub validation_id: String,
    /// Always null: X checks happen in validation, not at submission.
    pub x_validation_passed: Option<bool>,
    /// Always null, for the same reason.
    pub x_validation_error: Option<XValidationError>,
    /// New posts this hotkey has stored in the current window.
    pub submissions_in_window: u32,
    /// New posts this hotkey may still submit in the current window.
    pub remaining_in_window: u32,
    /// The per-window quota.
    pub max_submissions: u32,
    /// Where the server's chain is now.
    #[serde(flatten)]
    pub window: WindowInfo,
}

fn default_max_submissions() -> u32 {
    crate::window::DEFAULT_MAX_SUBMISSIONS
}

fn default_block_time_secs() -> f64 {
    crate::window::DEFAULT_BLOCK_TIME_SECS
}

/// `GET /v2/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "status": "ok", "max_submissions": 5, "block_time_secs": 12.0,
    "hotkey": "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi",
    "submissions_in_window": 2, "remaining_in_window": 3,
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct StatusResponse {
    /// Always `ok` when the server can read its block source.
    pub status: String,
    /// The per-window quota of new posts per miner hotkey.
    // Reference servers send neither this nor `block_time_secs`; Pulse's clients reading
    // one assume the reference values (5 posts, 12 s).
    #[serde(default = "default_max_submissions")]
    #[schema(required = true)]
    pub max_submissions: u32,
    /// Seconds per block the server assumes (for estimating window ends).
    #[serde(default = "default_block_time_secs")]
    #[schema(required = true)]
    pub block_time_secs: f64,
    /// The signer, when the request was signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<String>,
    /// New posts the signer stored in the current window (signed requests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submissions_in_window: Option<u32>,
    /// New posts the signer may still submit in the current window (signed requests only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining_in_window: Option<u32>,
    /// Where the server's chain is now.
    #[serde(flatten)]
    pub window: WindowInfo,
}

/// One invalid field of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    /// The field's name (`body` when the body as a whole is unreadable).
    pub field: String,
    /// What is wrong and what is expected.
    pub message: String,
}

/// The window fields as error bodies carry them: present whenever the server knows its
/// block (always on `/v2/submit`, except on 503). Only describes the JSON; Rust code uses
/// `Option<WindowInfo>`.
#[derive(ToSchema)]
#[expect(dead_code, reason = "an OpenAPI schema only, never built")]
pub struct WindowFieldsWhenKnown {
    /// The server's current block.
    #[schema(required = false)]
    current_block: u64,
    /// `current_block / blocks_per_window`.
    #[schema(required = false)]
    current_window: u64,
    /// First block of the current window.
    #[schema(required = false)]
    window_start_block: u64,
    /// Last block of the current window (inclusive).
    #[schema(required = false)]
    window_end_block: u64,
    /// First block of the next window.
    #[schema(required = false)]
    next_window_start_block: u64,
    /// Blocks per window.
    #[schema(required = false)]
    blocks_per_window: u64,
    /// Blocks left until the next window starts (at least 1).
    #[schema(required = false)]
    blocks_until_next_window: u64,
}

/// HTTP 422: every invalid field of the body at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "detail": [{"field": "likes", "message": "must be an integer >= 0"},
               {"field": "post_id", "message": "must not start with 0 (write the id without leading zeros)"}],
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct ValidationErrorBody {
    /// The invalid fields.
    pub detail: Vec<FieldError>,
    /// Where the server's chain is now (absent only when the block source is unavailable).
    #[serde(flatten)]
    #[schema(value_type = WindowFieldsWhenKnown)]
    pub window: Option<WindowInfo>,
}

/// The `detail` of a 409: the post is stored with other data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ConflictDetail {
    /// Human-readable explanation.
    pub message: String,
    /// The canonical post id.
    pub post_id: String,
    /// Submitted fields whose values differ from the stored ones.
    pub differing_fields: Vec<String>,
}

/// HTTP 409: this (miner_hotkey, post_id) is already stored with different data.
/// Permanent: resubmitting will not change it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "detail": {"message": "post 1860000000000000001 was already submitted by this hotkey with different data (likes, score)",
               "post_id": "1860000000000000001", "differing_fields": ["likes", "score"]},
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct ConflictBody {
    /// What conflicts.
    pub detail: ConflictDetail,
    /// Where the server's chain is now.
    #[serde(flatten)]
    pub window: WindowInfo,
}

/// The quota state reported with a 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateLimitInfo {
    /// New posts this hotkey stored in the current window.
    pub current_count: u32,
    /// The per-window quota.
    pub max_submissions: u32,
    /// The server's current block.
    pub current_block: u64,
    /// First block of the current window.
    pub window_start_block: u64,
    /// Last block of the current window (inclusive).
    pub window_end_block: u64,
    /// First block of the next window, when the quota resets.
    pub next_window_start_block: u64,
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// Estimated seconds until the next window (blocks left x block time).
    pub estimated_seconds_until_reset: f64,
}

/// The `detail` of a 429.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct RateLimitDetail {
    /// Human-readable explanation.
    pub message: String,
    /// The quota and when it resets.
    pub rate_limit: RateLimitInfo,
}

/// HTTP 429: the hotkey used its quota for this window. Retry in the next window
/// (see `Retry-After` and `X-RateLimit-Reset-Block`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "detail": {"message": "rate limit exceeded: 5 of 5 new posts used in window 45123; next window starts at block 4512400",
               "rate_limit": {"current_count": 5, "max_submissions": 5, "current_block": 4_512_345,
                              "window_start_block": 4_512_300, "window_end_block": 4_512_399,
                              "next_window_start_block": 4_512_400, "blocks_per_window": 100,
                              "estimated_seconds_until_reset": 660.0}},
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct RateLimitBody {
    /// The quota and when it resets.
    pub detail: RateLimitDetail,
    /// Where the server's chain is now.
    #[serde(flatten)]
    pub window: WindowInfo,
}

/// Any other error (401, 403, 413, 500, 503): a human-readable `detail`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "detail": "signature is 412 s old; at most 300 s is accepted (check the clock)",
    "current_block": 4_512_345, "current_window": 45_123, "window_start_block": 4_512_300,
    "window_end_block": 4_512_399, "next_window_start_block": 4_512_400,
    "blocks_per_window": 100, "blocks_until_next_window": 55
}))]
pub struct ErrorBody {
    /// What went wrong.
    pub detail: String,
    /// Where the server's chain is now (absent when it is not known, e.g. on 503).
    #[serde(flatten)]
    #[schema(value_type = WindowFieldsWhenKnown)]
    pub window: Option<WindowInfo>,
}

/// `GET /health` and `GET /ready`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    /// `ok` when healthy or ready, `unavailable` otherwise.
    pub status: String,
    /// Why the server is not ready, when it is not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A selected post leased to a validator by `GET /v2/validation`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationPayload {
    /// The task's id; send it back with the verdict.
    pub validation_id: String,
    /// The miner that submitted the post.
    pub miner_hotkey: String,
    /// The post as stored (content normalised).
    pub post: SubmitRequest,
    /// When the post was selected (RFC 3339).
    pub selected_at: String,
    /// When this lease ends (RFC 3339); unanswered, the task returns to the queue then.
    pub lease_expires_at: String,
}

/// `GET /v2/validation`: the tasks leased to the caller by this request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationBatch {
    /// Whether any task was leased (`false` means "nothing now").
    pub available: bool,
    /// The leased tasks, oldest selection first.
    pub payloads: Vec<ValidationPayload>,
}

/// Why a validator judged a post as it did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FailureReason {
    /// Machine-readable reason, e.g. `text_mismatch`, `metric_inflation_likes`,
    /// `tokens_mismatch`, `sentiment_mismatch`, `x_api_error`, `analyzer_error`.
    pub code: String,
    /// Human-readable explanation.
    #[serde(default)]
    pub message: String,
    /// The post concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_id: Option<String>,
    /// Anything that helps the miner see why (expected and found values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// A validator's verdict on a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictOutcome {
    /// The post checks out.
    Pass,
    /// The post does not match X or its analysis: counts against the miner.
    Fail,
    /// The validator could not decide (its X fetch or analyser failed): never counts against
    /// the miner; the task returns to the queue.
    Inconclusive,
}

/// One verdict in `POST /v2/validation_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationResultItem {
    /// The validator sending it (must be the signer).
    pub validator_hotkey: String,
    /// The task.
    pub validation_id: String,
    /// The miner whose post was checked (must match the task).
    pub miner_hotkey: String,
    /// `true` for a pass. Reference clients send only this.
    pub success: bool,
    /// Pulse's finer verdict; when absent it is derived from `success` and the failure code
    /// (validator-side codes such as `analyzer_error` are inconclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<VerdictOutcome>,
    /// Why it failed; null for a pass.
    #[serde(default)]
    pub failure_reason: Option<FailureReason>,
}

/// `POST /v2/validation_result`: a batch of verdicts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationResultRequest {
    /// The validator sending the batch (must be the signer).
    pub validator_hotkey: String,
    /// The verdicts.
    pub results: Vec<ValidationResultItem>,
}

/// What became of one verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Recorded now.
    Recorded,
    /// Already recorded with the same outcome; nothing changed.
    Duplicate,
    /// Not recorded; `detail` says why.
    Rejected,
}

/// The server's answer for one verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ItemResult {
    /// The task, as sent.
    pub validation_id: String,
    /// What became of the verdict.
    pub status: ItemStatus,
    /// The outcome recorded (or that would have been).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<VerdictOutcome>,
    /// Why it was rejected: `unknown_validation_id`, `miner_mismatch`, `validator_mismatch`,
    /// `not_leased`, `already_answered`, `invalid_outcome`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Human-readable explanation of a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `POST /v2/validation_result`: one result per verdict, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValidationResultResponse {
    /// `ok` whenever the batch was read; per-verdict outcomes are in `results`.
    pub status: String,
    /// Verdicts recorded now.
    pub recorded: u32,
    /// Verdicts already recorded.
    pub duplicates: u32,
    /// Verdicts not recorded.
    pub rejected: u32,
    /// One entry per verdict, in order.
    pub results: Vec<ItemResult>,
}

/// `GET /v2/scores`: miners' scores of one completed window, stable once published.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "scores": {"5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi": 0.41, "5FnoWRL4FYzd29q8zXoY3JWio9PtBPgrAFu2RcgQazRQsiCs": 0.043},
    "block_window_start": 4_512_200, "block_window_end": 4_512_299, "window": 45_122,
    "current_block": 4_512_345, "blocks_per_window": 100, "published_block": 4_512_301
}))]
pub struct ScoresResponse {
    /// Miner hotkey -> window score in [0, 1].
    pub scores: BTreeMap<String, f64>,
    /// First block of the scored window.
    pub block_window_start: u64,
    /// Last block of the scored window (inclusive).
    pub block_window_end: u64,
    /// The scored window.
    pub window: u64,
    /// The server's current block.
    pub current_block: u64,
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// Block at which these scores were first published (and frozen).
    pub published_block: u64,
}

/// One submission in a miner's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MinerSubmission {
    /// The post.
    pub post_id: String,
    /// Window of acceptance.
    pub window: u64,
    /// When it was accepted (RFC 3339).
    pub accepted_at: String,
    /// The miner's claimed score.
    pub score: f64,
    /// Whether it was sampled for validation.
    pub selected_for_validation: bool,
    /// Its validation id.
    pub validation_id: String,
    /// `not_selected`, `pending`, `pass` or `fail`.
    pub validation: String,
    /// The window whose score its validation outcome counts in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_in_window: Option<u64>,
    /// The verdicts received, with reason codes.
    pub verdicts: Vec<MinerVerdict>,
}

/// One validator's verdict as a miner sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MinerVerdict {
    /// The validator.
    pub validator_hotkey: String,
    /// Its verdict.
    pub outcome: VerdictOutcome,
    /// Why, when it did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<FailureReason>,
    /// When it arrived (RFC 3339).
    pub received_at: String,
}

/// A miner's published score in one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MinerWindowScore {
    /// The window.
    pub window: u64,
    /// The window score in [0, 1].
    pub score: f64,
    /// The reward part: mean server-recomputed score of the window's posts.
    pub reward: f64,
    /// Posts accepted in the window.
    pub posts: u32,
    /// Validation failures counted in the window.
    pub failed_validations: u32,
    /// The factor the failures applied (1 when none).
    pub penalty_factor: f64,
    /// The factor earlier failures still applied, in (0, 1] (1 when none weighs on the window).
    #[serde(default = "one")]
    pub credibility: f64,
    /// Posts another hotkey had submitted in an earlier window: they scored 0.
    #[serde(default)]
    pub copies: u32,
}

fn one() -> f64 {
    1.0
}

/// `GET /v2/miners/{hotkey}`: what a miner needs to see why it scores as it does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MinerReport {
    /// The miner.
    pub hotkey: String,
    /// New posts stored in the current window.
    pub submissions_in_window: u32,
    /// New posts it may still submit in the current window.
    pub remaining_in_window: u32,
    /// Its most recent submissions, newest first.
    pub submissions: Vec<MinerSubmission>,
    /// Its published window scores, newest first.
    pub window_scores: Vec<MinerWindowScore>,
    /// Where the server's chain is now.
    #[serde(flatten)]
    pub window: WindowInfo,
}

/// One neuron of `GET /v2/metagraph`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MetagraphNeuron {
    /// Its uid on the subnet.
    pub uid: u16,
    /// SS58 hotkey (what requests are signed by).
    pub hotkey: String,
    /// SS58 coldkey that owns the hotkey.
    pub coldkey: String,
    /// Active within the subnet's activity cutoff.
    pub active: bool,
    /// Holds a validator permit.
    pub validator_permit: bool,
    /// The hotkey's alpha stake on the subnet, in rao (10^-9; `NeuronInfoLite.stake`
    /// summed), which `MIN_VALIDATOR_STAKE` is compared with.
    pub stake_rao: u64,
    /// Block of its last weights or activity update.
    pub last_update: u64,
}

/// `GET /v2/metagraph`: the subnet's metagraph as the server last synced it, the one it
/// decides roles with (REGISTRATION=metagraph).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "netuid": 45, "block": 4_512_345,
    "block_hash": "0x9a4ef2d9b6a5f24b6f4c2a3d6f0e2b1c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a",
    "synced_at": "2026-12-07T21:00:00Z", "age_secs": 42.5, "stale": false,
    "neurons": [{"uid": 0, "hotkey": "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi",
                 "coldkey": "5FnoWRL4FYzd29q8zXoY3JWio9PtBPgrAFu2RcgQazRQsiCs", "active": true,
                 "validator_permit": true, "stake_rao": 1_250_000_000_000u64, "last_update": 4_512_300}]
}))]
pub struct MetagraphResponse {
    /// The subnet.
    pub netuid: u16,
    /// The block the neurons were read at.
    pub block: u64,
    /// Its hash.
    pub block_hash: String,
    /// When the sync was written (RFC 3339).
    pub synced_at: String,
    /// Seconds since then.
    pub age_secs: f64,
    /// Whether it is older than the server's METAGRAPH_MAX_AGE_SECS (roles are then not
    /// decided: 503).
    pub stale: bool,
    /// The neurons, by uid.
    pub neurons: Vec<MetagraphNeuron>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_carries_window_fields_at_the_top_level() {
        let receipt = SubmitReceipt {
            status: SubmitStatus::Duplicate,
            message: "m".into(),
            post_id: "1".into(),
            selected_for_validation: true,
            validation_id: "v".into(),
            x_validation_passed: None,
            x_validation_error: None,
            submissions_in_window: 1,
            remaining_in_window: 4,
            max_submissions: 5,
            window: WindowInfo::at(150, 100),
        };
        let json = serde_json::to_value(&receipt).unwrap();
        assert_eq!(json["status"], "duplicate");
        assert_eq!(json["current_window"], 1);
        assert_eq!(json["next_window_start_block"], 200);
        assert!(json["x_validation_error"].is_null());
        assert_eq!(
            serde_json::from_value::<SubmitReceipt>(json).unwrap(),
            receipt
        );
    }

    #[test]
    fn a_reference_servers_status_reply_parses_with_the_reference_quota() {
        let reply = serde_json::json!({
            "status": "ok", "current_block": 150, "current_window": 1, "window_start_block": 100,
            "window_end_block": 199, "next_window_start_block": 200, "blocks_per_window": 100,
            "blocks_until_next_window": 50
        });
        let status: StatusResponse = serde_json::from_value(reply).unwrap();
        assert_eq!((status.max_submissions, status.block_time_secs), (5, 12.0));
        assert_eq!(status.window.current_window, 1);
    }

    #[test]
    fn error_without_window_has_only_detail() {
        let body = ErrorBody {
            detail: "down".into(),
            window: None,
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            serde_json::json!({"detail": "down"})
        );
    }
}
