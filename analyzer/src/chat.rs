//! An OpenAI-compatible chat-completions client: the HTTP and retry part that the LLM
//! sentiment engine ([`crate::sentiment::LlmClassifier`]) and the server's answer route share.
//!
//! One call is `POST {base}/chat/completions` with a bearer key (when one is set), the
//! messages, temperature 0 and optionally `response_format: {"type": "json_object"}`; its
//! result is the text of `choices[0].message.content`. Reading that text is the caller's
//! business: each caller knows what it asked for.
//!
//! Network errors, timeouts, 5xx and 429 are retried by the `retry` policy with exponential
//! backoff (the first wait is [`LlmConfig::initial_backoff`], doubling after each failure),
//! or as long as the endpoint's `Retry-After` asks, up to a minute (a gateway asking for more
//! is down for longer than a caller is worth waiting). Other statuses (401, 400, ...) and
//! replies that are not chat completions fail at once: repeating the same request at
//! temperature 0 would get the same reply.

use std::fmt;
use std::time::{Duration, SystemTime};

use retry::{CancellationToken, Policy};
use serde::{Deserialize, Serialize};

/// How much of an error body is kept in [`LlmError::Status`].
const ERROR_BODY_CHARS: usize = 200;

/// Where and how to reach the LLM. The miner and validator fill it from `LLM_BASE`, `MODEL`
/// and `API_KEY`; the server from `ANSWER_LLM_BASE`, `ANSWER_MODEL` and `ANSWER_API_KEY`.
#[derive(Clone)]
pub struct LlmConfig {
    /// Base URL of the API, up to and including the version segment (e.g.
    /// `https://llm.chutes.ai/v1`); `/chat/completions` is appended.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Bearer key; empty sends no `Authorization` header (local models often need none).
    /// Redacted in `Debug`.
    pub api_key: String,
    /// Limit for one request, from connecting to the last byte of the reply.
    pub timeout: Duration,
    /// Attempts per call, the first included; 0 counts as 1.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubled after each further failure.
    pub initial_backoff: Duration,
}

impl LlmConfig {
    /// A configuration with the default timeout (30 s), attempts (3) and first backoff (1 s).
    pub fn new(
        base_url: impl Into<String>,
        model: impl Into<String>,
        api_key: impl Into<String>,
    ) -> Self {
        Self {
            base_url: base_url.into(),
            model: model.into(),
            api_key: api_key.into(),
            timeout: Duration::from_secs(30),
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
        }
    }
}

impl fmt::Debug for LlmConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LlmConfig")
            .field("base_url", &self.base_url)
            .field("model", &self.model)
            .field("api_key", &"<redacted>")
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .finish()
    }
}

/// Why a chat completion could not be had.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The HTTP client could not be built (bad TLS setup, for instance).
    #[error("cannot build the LLM HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The request failed on the network (connection refused, reset, unreadable body).
    #[error("LLM request to {url} failed: {source}")]
    Transport {
        /// The endpoint called.
        url: String,
        /// The underlying error.
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint did not answer within the configured timeout.
    #[error("LLM request to {url} timed out")]
    Timeout {
        /// The endpoint called.
        url: String,
    },
    /// The endpoint answered with a non-success status.
    #[error("LLM endpoint {url} answered {status}: {body}")]
    Status {
        /// The endpoint called.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The start of the response body, for the operator.
        body: String,
        /// How long the endpoint asked to wait (`Retry-After`), if it did.
        retry_after: Option<Duration>,
    },
    /// The reply was not a chat completion with a message.
    #[error("LLM reply is not a chat completion: {0}")]
    MalformedReply(String),
}

impl LlmError {
    /// Whether trying again may help: network failures, timeouts, 5xx and 429.
    pub fn is_transient(&self) -> bool {
        match self {
            LlmError::Transport { .. } | LlmError::Timeout { .. } => true,
            LlmError::Status { status, .. } => *status == 429 || *status >= 500,
            LlmError::Client(_) | LlmError::MalformedReply(_) => false,
        }
    }

    /// What this error means to the retry policy: a transient failure (a 429 included, as
    /// LLM gateways use it for short bursts) with the endpoint's `Retry-After`, or a
    /// permanent one.
    pub fn failure(&self) -> retry::Failure {
        match self {
            LlmError::Status { retry_after, .. } if self.is_transient() => {
                retry::Failure::Transient {
                    retry_after: *retry_after,
                }
            }
            _ if self.is_transient() => retry::Failure::Transient { retry_after: None },
            _ => retry::Failure::Permanent,
        }
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChatMessage<'a> {
    /// `system`, `user` or `assistant`.
    pub role: &'static str,
    /// The message's text.
    pub content: &'a str,
}

impl<'a> ChatMessage<'a> {
    /// A `system` message: the instructions.
    pub fn system(content: &'a str) -> Self {
        Self {
            role: "system",
            content,
        }
    }

    /// A `user` message.
    pub fn user(content: &'a str) -> Self {
        Self {
            role: "user",
            content,
        }
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage<'a>],
    temperature: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<ResponseFormat>,
}

#[derive(Serialize)]
struct ResponseFormat {
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: ChoiceMessage,
}

#[derive(Deserialize)]
struct ChoiceMessage {
    content: Option<String>,
}

/// A chat-completions endpoint, ready to call.
#[derive(Debug, Clone)]
pub struct ChatClient {
    config: LlmConfig,
    url: String,
    http: reqwest::Client,
}

impl ChatClient {
    /// Builds the client. Fails only if the HTTP client cannot be set up.
    pub fn new(config: LlmConfig) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(LlmError::Client)?;
        let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
        Ok(Self { config, url, http })
    }

    /// The configuration in use.
    pub fn config(&self) -> &LlmConfig {
        &self.config
    }

    /// The endpoint called: the base URL with `/chat/completions`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends `messages` at temperature 0, asking for a JSON object when `json_object`, and
    /// returns the message content of the first choice, retrying transient failures.
    /// `what` names the call in retry logs.
    pub async fn complete(
        &self,
        what: &str,
        messages: &[ChatMessage<'_>],
        json_object: bool,
    ) -> Result<String, LlmError> {
        // Callers race their call against shutdown or a deadline themselves, when it matters.
        let never = CancellationToken::new();
        Policy::exponential(self.config.initial_backoff, self.config.max_attempts)
            .run(what, &never, LlmError::failure, || {
                self.attempt(messages, json_object)
            })
            .await
            .map_err(|gave_up| gave_up.error)
    }

    /// One request and the reading of its reply.
    async fn attempt(
        &self,
        messages: &[ChatMessage<'_>],
        json_object: bool,
    ) -> Result<String, LlmError> {
        let request = ChatRequest {
            model: &self.config.model,
            messages,
            temperature: 0.0,
            response_format: json_object.then_some(ResponseFormat {
                kind: "json_object",
            }),
        };
        let mut builder = self.http.post(&self.url).json(&request);
        if !self.config.api_key.is_empty() {
            builder = builder.bearer_auth(&self.config.api_key);
        }
        let response = builder.send().await.map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let retry_after = retry::retry_after(response.headers(), SystemTime::now());
        let body = response.text().await.map_err(|e| self.transport_error(e))?;
        if !status.is_success() {
            return Err(LlmError::Status {
                url: self.url.clone(),
                status: status.as_u16(),
                body: body.chars().take(ERROR_BODY_CHARS).collect(),
                retry_after,
            });
        }
        let reply: ChatResponse =
            serde_json::from_str(&body).map_err(|e| LlmError::MalformedReply(e.to_string()))?;
        reply
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| LlmError::MalformedReply("no choices".into()))?
            .message
            .content
            .ok_or_else(|| LlmError::MalformedReply("message has no content".into()))
    }

    fn transport_error(&self, source: reqwest::Error) -> LlmError {
        if source.is_timeout() {
            LlmError::Timeout {
                url: self.url.clone(),
            }
        } else {
            LlmError::Transport {
                url: self.url.clone(),
                source,
            }
        }
    }
}

/// The body of a Markdown code fence (```` ```json ... ``` ````), or the text unchanged.
/// Models dress JSON up this way even when asked for a bare object.
pub fn strip_code_fence(text: &str) -> &str {
    let Some(rest) = text.strip_prefix("```") else {
        return text;
    };
    // Drop the info string (`json`) up to the end of the opening line.
    let body = rest.split_once('\n').map_or("", |(_, body)| body);
    body.trim_end().strip_suffix("```").unwrap_or(body).trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_network_timeouts_5xx_and_429_are_transient() {
        let status = |status| LlmError::Status {
            url: "u".into(),
            status,
            body: String::new(),
            retry_after: None,
        };
        assert!(status(500).is_transient());
        assert!(status(503).is_transient());
        assert!(status(429).is_transient());
        assert!(!status(401).is_transient());
        assert!(!status(400).is_transient());
        assert!(LlmError::Timeout { url: "u".into() }.is_transient());
        assert!(!LlmError::MalformedReply("html".into()).is_transient());
        assert_eq!(
            status(429).failure(),
            retry::Failure::Transient { retry_after: None }
        );
        assert_eq!(status(401).failure(), retry::Failure::Permanent);
    }

    #[test]
    fn the_api_key_is_not_printed() {
        let config = LlmConfig::new("http://x/v1", "m", "sk-secret");
        assert!(!format!("{config:?}").contains("sk-secret"));
    }

    #[test]
    fn a_trailing_slash_on_the_base_url_is_tolerated() {
        let client = ChatClient::new(LlmConfig::new("http://x/v1/", "m", "k")).unwrap();
        assert_eq!(client.url(), "http://x/v1/chat/completions");
    }

    #[test]
    fn code_fences_are_stripped() {
        assert_eq!(strip_code_fence("```json\n{\"a\": 1}\n```"), "{\"a\": 1}");
        assert_eq!(strip_code_fence("{\"a\": 1}"), "{\"a\": 1}");
    }
}
