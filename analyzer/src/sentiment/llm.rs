//! The LLM sentiment engine: one chat completion per post.
//!
//! One request per post through the shared [`ChatClient`] (temperature 0,
//! `response_format: {"type": "json_object"}`, the HTTP and retry rules of [`crate::chat`]),
//! asking for `{"sentiment": "<class>"}`. The answer is read from the message content,
//! forgiving the ways models dress JSON up (code fences, prose around the object, a bare
//! label), but an answer that names no class is an error, never a default, and is not
//! retried: the same prompt at temperature 0 would get the same answer.

use serde_json::Value;

use super::{Sentiment, SentimentError};
use crate::chat::{ChatClient, ChatMessage, LlmConfig, strip_code_fence};

/// The reference miner's default `LLM_BASE`.
pub const DEFAULT_LLM_BASE: &str = "https://llm.chutes.ai/v1";
/// The reference miner's default `MODEL`.
pub const DEFAULT_MODEL: &str = "deepseek-ai/DeepSeek-V3-0324";

/// The instructions sent with every post. The cue lists follow the reference's class
/// descriptions; the JSON shape is what [`parse_answer`] reads first.
const INSTRUCTIONS: &str = "\
You classify the market sentiment of one social media post about the Bittensor ecosystem.
Reply with a JSON object and nothing else, of the form {\"sentiment\": \"<class>\"}, where <class> is exactly one of:
- very_bullish: euphoric; rocket emoji, moon, ATH, pump, explosive growth, massive gains
- bullish: positive or optimistic; good news, growth potential, upward trend
- neutral: factual, informational or balanced; no clear view
- bearish: concerns, scepticism, negative outlook, downward trend, issues mentioned
- very_bearish: crash, exploit, failure, major problems, severe concerns
Judge the author's tone about what the post discusses, not the topic itself.";

/// Classifies posts with an OpenAI-compatible chat-completions API.
#[derive(Debug, Clone)]
pub struct LlmClassifier {
    client: ChatClient,
}

impl LlmClassifier {
    /// Builds the client. Fails only if the HTTP client cannot be set up.
    pub fn new(config: LlmConfig) -> Result<Self, SentimentError> {
        Ok(Self {
            client: ChatClient::new(config)?,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &LlmConfig {
        self.client.config()
    }

    /// Classifies one text, retrying transient failures.
    pub async fn classify(&self, text: &str) -> Result<Sentiment, SentimentError> {
        let messages = [ChatMessage::system(INSTRUCTIONS), ChatMessage::user(text)];
        let content = self
            .client
            .complete("LLM sentiment request", &messages, true)
            .await?;
        parse_answer(&content).ok_or(SentimentError::UnrecognisedAnswer(content))
    }
}

/// Reads the class out of a model's answer.
///
/// Accepted, in order: a JSON object (optionally inside a Markdown code fence, optionally with
/// prose around it) whose `sentiment` field is a class label or one of the five values; a JSON
/// string; a bare label. Anything else, including an object without a usable `sentiment`, is
/// `None`.
fn parse_answer(content: &str) -> Option<Sentiment> {
    let inner = strip_code_fence(content.trim());
    if let Ok(value) = serde_json::from_str::<Value>(inner) {
        return from_json(&value);
    }
    if let (Some(start), Some(end)) = (inner.find('{'), inner.rfind('}'))
        && start < end
        && let Ok(value) = serde_json::from_str::<Value>(&inner[start..=end])
    {
        return from_json(&value);
    }
    inner
        .trim_matches(|c: char| c == '"' || c == '\'' || c == '`' || c == '.')
        .parse()
        .ok()
}

/// The class named by a parsed answer.
fn from_json(value: &Value) -> Option<Sentiment> {
    match value {
        Value::Object(map) => match map.get("sentiment")? {
            Value::String(label) => label.parse().ok(),
            Value::Number(n) => Sentiment::from_value(n.as_f64()?),
            _ => None,
        },
        Value::String(label) => label.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use axum::Json;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::post;
    use serde_json::json;

    use super::*;
    use crate::chat::LlmError;

    const KEY: &str = "test-key";

    /// What the double does for one request.
    #[derive(Clone)]
    enum Step {
        /// 200 with a chat completion whose message content is this.
        Answer(&'static str),
        /// This status with a small JSON error body.
        Fail(u16),
        /// This status with a `Retry-After` header of this value.
        FailAsking(u16, &'static str),
        /// 200 with this exact body.
        Raw(&'static str),
        /// Never answer.
        Hang,
    }

    /// A stand-in for an OpenAI-compatible API: scripted replies, recorded requests.
    #[derive(Default)]
    struct Double {
        steps: Mutex<VecDeque<Step>>,
        requests: Mutex<Vec<Value>>,
    }

    impl Double {
        fn request_count(&self) -> usize {
            self.requests.lock().unwrap().len()
        }
    }

    async fn chat_completions(
        State(double): State<Arc<Double>>,
        headers: HeaderMap,
        Json(body): Json<Value>,
    ) -> Response {
        double.requests.lock().unwrap().push(body);
        let authorised = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {KEY}"));
        if !authorised {
            let error = json!({"error": {"message": "invalid api key", "type": "auth"}});
            return (StatusCode::UNAUTHORIZED, Json(error)).into_response();
        }
        let step = double.steps.lock().unwrap().pop_front();
        match step.expect("the test scripted fewer replies than requests") {
            Step::Answer(content) => Json(json!({
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": "test-model",
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop"
                }]
            }))
            .into_response(),
            Step::Fail(status) => (
                StatusCode::from_u16(status).unwrap(),
                Json(json!({"error": {"message": "scripted failure"}})),
            )
                .into_response(),
            Step::FailAsking(status, retry_after) => (
                StatusCode::from_u16(status).unwrap(),
                [("retry-after", retry_after)],
                Json(json!({"error": {"message": "slow down"}})),
            )
                .into_response(),
            Step::Raw(body) => body.into_response(),
            Step::Hang => std::future::pending().await,
        }
    }

    /// Serves the double on an ephemeral port. The listener is bound before the server task
    /// starts, so requests can be sent at once.
    async fn serve(steps: Vec<Step>) -> (String, Arc<Double>) {
        let double = Arc::new(Double {
            steps: Mutex::new(steps.into()),
            ..Double::default()
        });
        let app = axum::Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .with_state(double.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (format!("http://{addr}/v1"), double)
    }

    fn classifier(base: &str, key: &str) -> LlmClassifier {
        let mut config = LlmConfig::new(base, "test-model", key);
        config.timeout = Duration::from_secs(5);
        config.initial_backoff = Duration::from_millis(5);
        LlmClassifier::new(config).unwrap()
    }

    #[tokio::test]
    async fn a_json_answer_is_read_and_the_request_has_the_reference_shape() {
        let (base, double) = serve(vec![Step::Answer(r#"{"sentiment": "bullish"}"#)]).await;
        let sentiment = classifier(&base, KEY).classify("sn45 looks good").await;
        assert_eq!(sentiment.unwrap(), Sentiment::Bullish);

        let requests = double.requests.lock().unwrap();
        let request = &requests[0];
        assert_eq!(request["model"], "test-model");
        assert_eq!(request["temperature"], 0.0);
        assert_eq!(request["response_format"], json!({"type": "json_object"}));
        assert_eq!(request["messages"][0]["role"], "system");
        assert_eq!(
            request["messages"][1],
            json!({"role": "user", "content": "sn45 looks good"})
        );
    }

    #[tokio::test]
    async fn an_answer_in_a_code_fence_is_read() {
        let (base, _) = serve(vec![Step::Answer(
            "```json\n{\"sentiment\": \"very_bearish\"}\n```",
        )])
        .await;
        let sentiment = classifier(&base, KEY).classify("exploit").await;
        assert_eq!(sentiment.unwrap(), Sentiment::VeryBearish);
    }

    #[tokio::test]
    async fn a_garbage_answer_is_an_error_not_neutral() {
        let (base, double) = serve(vec![Step::Answer("I think the market is fine.")]).await;
        let err = classifier(&base, KEY).classify("gm").await.unwrap_err();
        assert!(
            matches!(err, SentimentError::UnrecognisedAnswer(_)),
            "{err}"
        );
        // Not retried: the same prompt at temperature 0 would get the same answer.
        assert_eq!(double.request_count(), 1);
    }

    #[tokio::test]
    async fn a_reply_that_is_not_a_chat_completion_is_an_error() {
        let (base, _) = serve(vec![Step::Raw("<html>gateway</html>")]).await;
        let err = classifier(&base, KEY).classify("gm").await.unwrap_err();
        assert!(
            matches!(err, SentimentError::Llm(LlmError::MalformedReply(_))),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_server_error_is_retried_until_an_answer_comes() {
        let (base, double) = serve(vec![
            Step::Fail(500),
            Step::Fail(429),
            Step::Answer(r#"{"sentiment":"neutral"}"#),
        ])
        .await;
        let sentiment = classifier(&base, KEY).classify("release notes").await;
        assert_eq!(sentiment.unwrap(), Sentiment::Neutral);
        assert_eq!(double.request_count(), 3);
    }

    #[tokio::test]
    async fn retry_after_is_read_and_too_long_a_wait_ends_the_retries() {
        let (base, double) = serve(vec![
            Step::FailAsking(429, "0"),
            Step::Answer(r#"{"sentiment":"bearish"}"#),
        ])
        .await;
        let sentiment = classifier(&base, KEY).classify("fud").await;
        assert_eq!(sentiment.unwrap(), Sentiment::Bearish);
        assert_eq!(double.request_count(), 2);

        // An endpoint that wants more than a minute is not waited for.
        let (base, double) = serve(vec![Step::FailAsking(503, "120")]).await;
        let err = classifier(&base, KEY).classify("gm").await.unwrap_err();
        assert!(
            matches!(
                err,
                SentimentError::Llm(LlmError::Status {
                    status: 503,
                    retry_after: Some(wait),
                    ..
                }) if wait == Duration::from_secs(120)
            ),
            "{err}"
        );
        assert_eq!(double.request_count(), 1);
    }

    #[tokio::test]
    async fn server_errors_past_the_last_attempt_are_reported() {
        let (base, double) = serve(vec![Step::Fail(503); 3]).await;
        let err = classifier(&base, KEY).classify("gm").await.unwrap_err();
        assert!(
            matches!(
                err,
                SentimentError::Llm(LlmError::Status { status: 503, .. })
            ),
            "{err}"
        );
        assert_eq!(double.request_count(), 3);
    }

    #[tokio::test]
    async fn unauthorised_is_an_error_without_retry() {
        let (base, double) = serve(vec![]).await;
        let err = classifier(&base, "wrong-key")
            .classify("gm")
            .await
            .unwrap_err();
        match err {
            SentimentError::Llm(LlmError::Status { status, body, .. }) => {
                assert_eq!(status, 401);
                assert!(body.contains("invalid api key"), "{body}");
            }
            other => panic!("expected a 401, got {other}"),
        }
        assert_eq!(double.request_count(), 1);
    }

    #[tokio::test]
    async fn a_hanging_server_times_out_on_every_attempt() {
        let (base, double) = serve(vec![Step::Hang, Step::Hang]).await;
        let mut config = LlmConfig::new(&base, "test-model", KEY);
        config.timeout = Duration::from_millis(200);
        config.max_attempts = 2;
        config.initial_backoff = Duration::from_millis(5);
        let err = LlmClassifier::new(config)
            .unwrap()
            .classify("gm")
            .await
            .unwrap_err();
        assert!(
            matches!(err, SentimentError::Llm(LlmError::Timeout { .. })),
            "{err}"
        );
        assert_eq!(double.request_count(), 2);
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_transport_error() {
        // Bind and drop a listener to get a port nothing listens on.
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut config = LlmConfig::new(format!("http://127.0.0.1:{port}/v1"), "m", KEY);
        config.max_attempts = 2;
        config.initial_backoff = Duration::from_millis(1);
        let err = LlmClassifier::new(config)
            .unwrap()
            .classify("gm")
            .await
            .unwrap_err();
        assert!(
            matches!(err, SentimentError::Llm(LlmError::Transport { .. })),
            "{err}"
        );
    }

    #[test]
    fn answers_are_read_in_the_forms_models_write_them() {
        let cases = [
            (
                r#"{"sentiment": "very_bullish"}"#,
                Some(Sentiment::VeryBullish),
            ),
            (
                "```\n{\"sentiment\": \"bearish\"}\n```",
                Some(Sentiment::Bearish),
            ),
            (
                "```JSON\n{\"sentiment\":\"Very Bearish\"}```",
                Some(Sentiment::VeryBearish),
            ),
            (
                "Sure! Here it is: {\"sentiment\": \"bullish\"} Hope this helps.",
                Some(Sentiment::Bullish),
            ),
            (r#"{"sentiment": -0.5}"#, Some(Sentiment::Bearish)),
            (r#""neutral""#, Some(Sentiment::Neutral)),
            ("very_bullish", Some(Sentiment::VeryBullish)),
            ("Bullish.", Some(Sentiment::Bullish)),
            (r#"{"sentiment": "positive"}"#, None),
            (r#"{"sentiment": 0.3}"#, None),
            (r#"{"label": "bullish"}"#, None),
            ("", None),
            ("bullish or bearish, hard to say", None),
        ];
        for (answer, expected) in cases {
            assert_eq!(parse_answer(answer), expected, "{answer:?}");
        }
    }
}
