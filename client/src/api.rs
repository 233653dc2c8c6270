//! [`ApiClient`]: typed, signed calls to the coordination API.
//!
//! Each method makes one attempt and returns either the success body or a [`CallError`]
//! that keeps what the server said (status, detail, window fields, `Retry-After`), so the
//! caller can decide: retry, wait for a window, give up on a post, or stop.
//! [`CallError::failure`] is what it means to the `retry` policy.

use std::time::{Duration, SystemTime};

use protocol::api::{
    ConflictBody, MinerReport, RateLimitBody, ScoresResponse, StatusResponse, SubmitReceipt,
    ValidationBatch, ValidationErrorBody, ValidationResultRequest, ValidationResultResponse,
};
use protocol::auth::{self, AuthForm};
use protocol::{Hotkey, WindowInfo};
use reqwest::{Method, StatusCode};
use retry::Failure;
use serde::de::DeserializeOwned;
use serde_json::Value;
use thiserror::Error;

/// Why a call did not succeed.
#[derive(Debug, Error)]
pub enum CallError {
    /// No reply: connection refused, reset, timed out.
    #[error("{method} {url}: {source}")]
    Transport {
        /// The method.
        method: Method,
        /// The URL.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// 409: the post is stored with other data.
    #[error("{url}: 409 conflict: {}", .body.detail.message)]
    Conflict {
        /// The URL.
        url: String,
        /// The reply.
        body: ConflictBody,
    },
    /// 429: the window's quota is used.
    #[error("{url}: 429 rate limited: {}", .body.detail.message)]
    RateLimited {
        /// The URL.
        url: String,
        /// The reply.
        body: RateLimitBody,
        /// How long `Retry-After` asked to wait.
        retry_after: Option<Duration>,
    },
    /// 422: invalid fields.
    #[error("{url}: 422 invalid: {}", describe_fields(.body))]
    Invalid {
        /// The URL.
        url: String,
        /// The reply.
        body: ValidationErrorBody,
    },
    /// Any other non-2xx reply (401, 403, 404, 413, 5xx...).
    #[error("{url}: {status}: {detail}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The reply's `detail` (or its whole body when it has none).
        detail: String,
        /// The window fields, when the reply carried them.
        window: Option<WindowInfo>,
        /// How long `Retry-After` asked to wait.
        retry_after: Option<Duration>,
    },
    /// A 2xx reply whose body is not what the endpoint promises.
    #[error("{url}: unreadable reply: {reason}")]
    Unreadable {
        /// The URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
}

fn describe_fields(body: &ValidationErrorBody) -> String {
    body.detail
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl CallError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallError::Transport { .. } | CallError::Unreadable { .. } => None,
            CallError::Conflict { .. } => Some(StatusCode::CONFLICT),
            CallError::RateLimited { .. } => Some(StatusCode::TOO_MANY_REQUESTS),
            CallError::Invalid { .. } => Some(StatusCode::UNPROCESSABLE_ENTITY),
            CallError::Status { status, .. } => Some(*status),
        }
    }

    /// Whether trying again soon may succeed: no reply at all, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Transport { .. } => true,
            CallError::Status { status, .. } => status.is_server_error(),
            _ => false,
        }
    }

    /// How long the server asked to wait (`Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            CallError::RateLimited { retry_after, .. } | CallError::Status { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// What this error means to the retry policy: network errors and 5xx are transient
    /// (with the server's `Retry-After`); anything else, 429 included, is the caller's to
    /// handle (a 429 from the coordination API is about the window's quota, which waiting
    /// a few seconds does not restore).
    pub fn failure(&self) -> Failure {
        if self.is_transient() {
            Failure::Transient {
                retry_after: self.retry_after(),
            }
        } else {
            Failure::Permanent
        }
    }

    /// The window fields the server sent with the error, if any.
    pub fn window(&self) -> Option<WindowInfo> {
        match self {
            CallError::Conflict { body, .. } => Some(body.window),
            CallError::RateLimited { body, .. } => Some(body.window),
            CallError::Invalid { body, .. } => body.window,
            CallError::Status { window, .. } => *window,
            CallError::Transport { .. } | CallError::Unreadable { .. } => None,
        }
    }
}

/// A signed client of one coordination server.
#[derive(Debug, Clone)]
pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    hotkey: Hotkey,
    form: AuthForm,
    message_prefix: String,
    signed_for: Option<String>,
}

impl ApiClient {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8001`) signing as `hotkey`
    /// with `form`, each request limited to `timeout`.
    pub fn new(
        base: &str,
        hotkey: Hotkey,
        form: AuthForm,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .user_agent(concat!("pulse/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            hotkey,
            form,
            message_prefix: auth::DEFAULT_MESSAGE_PREFIX.to_string(),
            signed_for: None,
        })
    }

    /// Signs X-Auth messages with `prefix` instead of the reference's.
    pub fn with_message_prefix(mut self, prefix: &str) -> Self {
        self.message_prefix = prefix.to_string();
        self
    }

    /// Names `signed_for` (the server's identity) in `Epistula-Signed-For` of every
    /// Epistula request; `None` (the default) sends none.
    pub fn with_signed_for(mut self, signed_for: Option<String>) -> Self {
        self.signed_for = signed_for.filter(|s| !s.trim().is_empty());
        self
    }

    /// The signing hotkey.
    pub fn hotkey(&self) -> &Hotkey {
        &self.hotkey
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /v2/status`, signed, so the reply includes this hotkey's quota.
    pub async fn status(&self) -> Result<StatusResponse, CallError> {
        self.call(Method::GET, "/v2/status", None).await
    }

    /// `POST /v2/submit` of one post.
    pub async fn submit(
        &self,
        post: &protocol::api::SubmitRequest,
    ) -> Result<SubmitReceipt, CallError> {
        let body = serde_json::to_vec(post).expect("a submission serialises");
        self.call(Method::POST, "/v2/submit", Some(body)).await
    }

    /// `GET /v2/validation`: lease up to `limit` tasks (validators only).
    pub async fn lease_tasks(&self, limit: u32) -> Result<ValidationBatch, CallError> {
        self.call(Method::GET, &format!("/v2/validation?limit={limit}"), None)
            .await
    }

    /// `POST /v2/validation_result`: send a batch of verdicts (validators only).
    pub async fn send_verdicts(
        &self,
        batch: &ValidationResultRequest,
    ) -> Result<ValidationResultResponse, CallError> {
        let body = serde_json::to_vec(batch).expect("a verdict batch serialises");
        self.call(Method::POST, "/v2/validation_result", Some(body))
            .await
    }

    /// `GET /v2/scores`: the scores of `window`, or of the previous window (validators only).
    pub async fn scores(&self, window: Option<u64>) -> Result<ScoresResponse, CallError> {
        let path = match window {
            Some(w) => format!("/v2/scores?window={w}"),
            None => "/v2/scores".to_string(),
        };
        self.call(Method::GET, &path, None).await
    }

    /// `GET /v2/miners/{hotkey}`: a miner's report (that miner or a validator).
    pub async fn miner_report(&self, hotkey: &str) -> Result<MinerReport, CallError> {
        self.call(Method::GET, &format!("/v2/miners/{hotkey}"), None)
            .await
    }

    /// Sends a signed request with a JSON body (or none) and reads a JSON reply of type `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CallError> {
        let url = format!("{}{path}", self.base);
        let bytes = body.unwrap_or_default();
        let headers = match self.form {
            AuthForm::Epistula => auth::sign_epistula(
                &self.hotkey,
                &bytes,
                self.signed_for.as_deref(),
                SystemTime::now(),
            ),
            AuthForm::XAuth => {
                auth::sign_x_auth(&self.hotkey, &self.message_prefix, SystemTime::now())
            }
        };
        let mut request = self.http.request(method.clone(), &url).headers(headers);
        if !bytes.is_empty() {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|source| CallError::Transport {
                method: method.clone(),
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers(), SystemTime::now());
        let text = response
            .text()
            .await
            .map_err(|source| CallError::Transport {
                method,
                url: url.clone(),
                source,
            })?;
        if status.is_success() {
            return serde_json::from_str(&text).map_err(|e| CallError::Unreadable {
                url,
                reason: format!("{e}: {}", excerpt(&text)),
            });
        }
        Err(error_from(url, status, &text, retry_after))
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(300).collect()
}

fn error_from(
    url: String,
    status: StatusCode,
    text: &str,
    retry_after: Option<Duration>,
) -> CallError {
    let parsed: Option<Value> = serde_json::from_str(text).ok();
    let typed = |value: &Value| -> Option<CallError> {
        match status {
            StatusCode::CONFLICT => {
                serde_json::from_value(value.clone())
                    .ok()
                    .map(|body| CallError::Conflict {
                        url: url.clone(),
                        body,
                    })
            }
            StatusCode::TOO_MANY_REQUESTS => {
                serde_json::from_value(value.clone())
                    .ok()
                    .map(|body| CallError::RateLimited {
                        url: url.clone(),
                        body,
                        retry_after,
                    })
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                serde_json::from_value(value.clone())
                    .ok()
                    .map(|body| CallError::Invalid {
                        url: url.clone(),
                        body,
                    })
            }
            _ => None,
        }
    };
    if let Some(error) = parsed.as_ref().and_then(typed) {
        return error;
    }
    let detail = match parsed.as_ref().map(|v| &v["detail"]) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => excerpt(text),
        Some(Value::Object(o)) if o.get("message").is_some_and(Value::is_string) => {
            o["message"].as_str().unwrap_or_default().to_string()
        }
        Some(other) => other.to_string(),
    };
    let window = parsed.and_then(|v| serde_json::from_value::<WindowInfo>(v).ok());
    CallError::Status {
        url,
        status,
        detail,
        window,
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_409_reply_becomes_a_typed_conflict() {
        let text = r#"{"detail": {"message": "m", "post_id": "1", "differing_fields": ["likes"]},
            "current_block": 150, "current_window": 1, "window_start_block": 100, "window_end_block": 199,
            "next_window_start_block": 200, "blocks_per_window": 100, "blocks_until_next_window": 50}"#;
        let error = error_from("u".into(), StatusCode::CONFLICT, text, None);
        assert!(
            matches!(&error, CallError::Conflict { body, .. } if body.detail.differing_fields == ["likes"])
        );
        assert_eq!(error.window().unwrap().current_window, 1);
        assert!(!error.is_transient());
    }

    #[test]
    fn other_replies_keep_their_detail_and_window() {
        let error = error_from(
            "u".into(),
            StatusCode::UNAUTHORIZED,
            r#"{"detail": "stale"}"#,
            None,
        );
        assert_eq!(error.to_string(), "u: 401 Unauthorized: stale");
        assert!(error.window().is_none());
        let error = error_from(
            "u".into(),
            StatusCode::BAD_GATEWAY,
            "<html>bad gateway</html>",
            Some(Duration::from_secs(3)),
        );
        assert!(error.is_transient());
        assert_eq!(
            error.failure(),
            Failure::Transient {
                retry_after: Some(Duration::from_secs(3))
            }
        );
    }
}
