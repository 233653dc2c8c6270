//! HTTP routes and the OpenAPI document generated from them.
//!
//! Routes are registered through `utoipa_axum`'s `routes!`, so the router and the
//! document cannot drift apart.
//!
//! # Layout
//! - [`submit`]: `POST /v2/submit`.
//! - [`status`]: `GET /v2/status`.
//! - [`miners`]: `GET /v2/miners/{hotkey}`.
//! - [`validation`]: `GET /v2/validation` and `POST /v2/validation_result`.
//! - [`scores`]: `GET /v2/scores`.
//! - [`metagraph`]: `GET /v2/metagraph`.
//! - [`signal`]: the public read API, `GET /v2/signal/...`.
//! - [`health`]: `GET /health` and `GET /ready`.
//! - [`metrics`]: `GET /metrics`.
//! - [`extract`]: what the handlers share: the signed body of every route that takes one,
//!   and the current window.

pub mod extract;
pub mod health;
pub mod metagraph;
pub mod metrics;
pub mod miners;
pub mod scores;
pub mod signal;
pub mod status;
pub mod submit;
pub mod validation;

use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// Security schemes: both header forms, documented in full.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "epistula",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Epistula-Request-Signature",
                "Epistula v2, which Pulse's own clients use. Headers: `Epistula-Version: 2`, \
                 `Epistula-Timestamp` (Unix ms), `Epistula-Uuid` (a new uuid per request; each is \
                 accepted once), `Epistula-Signed-By` (SS58 hotkey), optional `Epistula-Signed-For`, \
                 and `Epistula-Request-Signature`: `0x` + hex sr25519 signature (context `substrate`) \
                 of `\"{sha256 hex of the exact body}.{uuid}.{timestamp_ms}.{signed_for}\"`. \
                 Signatures older than 300 s or more than 60 s ahead are refused.",
            ))),
        );
        components.add_security_scheme(
            "x_auth",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Auth-Signature",
                "The reference clients' headers: `X-Auth-SS58Address` (SS58 hotkey), \
                 `X-Auth-Message: talisman-ai-auth:<unix seconds>`, `X-Auth-Timestamp` (the same \
                 instant as decimal seconds) and `X-Auth-Signature`: 128 hex digits (optional `0x`) \
                 of the sr25519 signature (context `substrate`) of the message's UTF-8 bytes (or of \
                 `<Bytes>message</Bytes>`). It does not cover the body and may be reused until it \
                 is 300 s old.",
            ))),
        );
    }
}

/// The OpenAPI document's fixed parts; paths come from the routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Pulse coordination API",
        description = "Miners submit analysed X posts about Bittensor subnets; the server \
                       rate-limits each hotkey per window of blocks, keeps submissions idempotent \
                       per (miner_hotkey, post_id) and samples posts for validators. Compatible \
                       with the reference v2 Python clients.",
        license(name = "MIT")
    ),
    tags(
        (name = "miner", description = "Submitting posts"),
        (name = "validator", description = "Checking sampled posts and reading window scores (registered validators only)"),
        (name = "chain", description = "Blocks, windows and quota"),
        (name = "signal", description = "The signal, public: each subnet's pulse per window, posts, exports, search, answers (no authentication; rate-limited per IP address, 429 with Retry-After)"),
        (name = "operations", description = "Health and readiness probes")
    ),
    modifiers(&SecuritySchemes)
)]
struct ApiDoc;

/// Every route with its OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(submit::submit))
        .routes(routes!(status::status))
        .routes(routes!(miners::miner_report))
        .routes(routes!(validation::next_tasks))
        .routes(routes!(validation::record_results))
        .routes(routes!(scores::window_scores))
        .routes(routes!(metagraph::metagraph))
        .routes(routes!(signal::subnets))
        .routes(routes!(signal::series))
        .routes(routes!(signal::window_summary))
        .routes(routes!(signal::export_jsonl))
        .routes(routes!(signal::export_csv))
        .routes(routes!(signal::posts))
        .routes(routes!(signal::search))
        .routes(routes!(signal::answer))
        .routes(routes!(health::health))
        .routes(routes!(health::ready))
        .routes(routes!(metrics::metrics))
}
