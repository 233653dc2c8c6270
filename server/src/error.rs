//! The one error type of the API and how each variant looks on the wire.
//!
//! Every error body has a `detail` (docs/protocol.md#errors); replies of `/v2/submit` also carry the
//! window fields at the top level, so a client can stay in step whatever the outcome.
//! Server faults are logged once here with their cause chain and answered with an opaque
//! body. Every error has a stable [`ApiError::code`], recorded as the request's `outcome`
//! in the log and used for metric labels.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use protocol::WindowInfo;
use protocol::api::{
    ConflictBody, ConflictDetail, ErrorBody, FieldError, RateLimitBody, RateLimitDetail,
    ValidationErrorBody,
};
use thiserror::Error;

use crate::chain::BlockSourceError;

/// Seconds a client should wait before retrying when the server is unavailable.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Everything a request can fail with.
#[derive(Debug, Error)]
pub enum ApiError {
    /// 401: missing, malformed, stale or wrongly signed authentication.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: a valid signer that may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing there.
    #[error("{0}")]
    NotFound(String),
    /// 413: the body exceeds the configured limit.
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// 422: invalid fields.
    #[error("invalid request body")]
    Invalid(Vec<FieldError>),
    /// 409: the idempotency key is stored with different data.
    #[error("{}", .detail.message)]
    Conflict {
        /// The 409 body's detail.
        detail: ConflictDetail,
        /// The hotkey's quota used in the window, for `X-RateLimit-Remaining`.
        used: u32,
    },
    /// 429: the hotkey's quota for this window is used.
    #[error("{}", .detail.message)]
    RateLimited {
        /// The 429 body's detail.
        detail: RateLimitDetail,
        /// Whole seconds until the next window, for `Retry-After`.
        retry_after_secs: u64,
    },
    /// 503: the database or the block source cannot be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// 500: a fault of the server's own.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        // Connection trouble is the database being away (or restarting), which clients
        // should retry; any other database error is a fault of ours.
        let unavailable = match &error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => true,
            // 53300: too many connections, refused when connecting.
            sqlx::Error::Database(e) if e.code().as_deref() == Some("53300") => true,
            // A statement or lock timeout: the statement was ended and wrote nothing.
            other if crate::db::is_timeout(other) => true,
            other => crate::db::ends_session(other),
        };
        if unavailable {
            tracing::warn!(error = %error, "database unavailable");
            ApiError::Unavailable("database unavailable".into())
        } else {
            ApiError::Internal(anyhow::Error::new(error).context("database query failed"))
        }
    }
}

impl From<BlockSourceError> for ApiError {
    fn from(error: BlockSourceError) -> Self {
        tracing::warn!(%error, "block source unavailable");
        ApiError::Unavailable(error.to_string())
    }
}

impl ApiError {
    /// A 422 naming one invalid field.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        ApiError::Invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    /// A short stable name of the error, for logs and metric labels
    /// (`pulse_submissions_total` counts a refused submission under it, and the server's own
    /// faults, 5xx, together under `error`).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::PayloadTooLarge(_) => "too_large",
            ApiError::Invalid(_) => "invalid",
            ApiError::Conflict { .. } => "conflict",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The hotkey's quota used in the window, when the error was decided after reading it
    /// (a conflict or a refusal for quota).
    pub fn quota_used(&self) -> Option<u32> {
        match self {
            ApiError::Conflict { used, .. } => Some(*used),
            ApiError::RateLimited { detail, .. } => Some(detail.rate_limit.current_count),
            _ => None,
        }
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Attaches the window fields to the error's body.
    pub fn with_window(self, window: Option<WindowInfo>) -> WindowedError {
        WindowedError {
            error: self,
            window,
        }
    }

    /// The response for this error, with `window` flattened into the body when given.
    fn into_response_with(self, window: Option<WindowInfo>) -> Response {
        tracing::Span::current().record("outcome", self.code());
        let status = self.status();
        let mut headers = HeaderMap::new();
        let body = match self {
            ApiError::Invalid(detail) => {
                Json(ValidationErrorBody { detail, window }).into_response()
            }
            ApiError::Conflict { detail, .. } => match window {
                Some(window) => Json(ConflictBody { detail, window }).into_response(),
                None => Json(serde_json::json!({ "detail": detail })).into_response(),
            },
            ApiError::RateLimited {
                detail,
                retry_after_secs,
            } => {
                headers.insert("retry-after", HeaderValue::from(retry_after_secs));
                match window {
                    Some(window) => Json(RateLimitBody { detail, window }).into_response(),
                    None => Json(serde_json::json!({ "detail": detail })).into_response(),
                }
            }
            ApiError::Unavailable(reason) => {
                headers.insert(
                    "retry-after",
                    HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS),
                );
                Json(ErrorBody {
                    detail: reason,
                    window,
                })
                .into_response()
            }
            ApiError::Internal(error) => {
                tracing::error!(error = format!("{error:#}"), "request failed");
                Json(ErrorBody {
                    detail: "internal server error".into(),
                    window,
                })
                .into_response()
            }
            other => Json(ErrorBody {
                detail: other.to_string(),
                window,
            })
            .into_response(),
        };
        (status, headers, body).into_response()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.into_response_with(None)
    }
}

/// An [`ApiError`] whose body carries the window fields.
#[derive(Debug)]
pub struct WindowedError {
    error: ApiError,
    window: Option<WindowInfo>,
}

impl IntoResponse for WindowedError {
    fn into_response(self) -> Response {
        self.error.into_response_with(self.window)
    }
}
