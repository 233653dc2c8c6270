//! Extractors shared by the handlers: a signed request body and the current window.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use protocol::WindowInfo;
use protocol::auth::Verified;

use crate::AppState;
use crate::auth;
use crate::error::ApiError;

/// The body of a request and the signature over it: the extractor of every route that
/// takes a body.
///
/// Refuses a body over the configured limit (413) or one that cannot be read (422), then
/// an unsigned request or one whose signature is malformed, stale or wrong (401), in that
/// order. The signature is checked without the database: whether its Epistula uuid was
/// spent before is the handler's question (`/v2/submit` settles it in its one statement,
/// other routes with [`auth::spend_uuid`]).
#[derive(Debug)]
pub struct SignedBody {
    /// Who signed the request.
    pub signer: Verified,
    /// The exact bytes that were signed.
    pub body: Bytes,
}

impl FromRequest<AppState> for SignedBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let headers = request.headers().clone();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(state.settings.max_body_bytes)
                } else {
                    ApiError::invalid_field("body", rejection.body_text())
                }
            })?;
        let signer = auth::verify_signed(state, &headers, &body)?;
        Ok(Self { signer, body })
    }
}

/// The current window, read before anything else about the request, so that a handler
/// answers every outcome with the same window; 503 when the block source is unavailable.
#[derive(Debug, Clone, Copy)]
pub struct CurrentWindow(pub WindowInfo);

impl FromRequestParts<AppState> for CurrentWindow {
    type Rejection = ApiError;

    async fn from_request_parts(_: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        state.window().map(CurrentWindow)
    }
}
