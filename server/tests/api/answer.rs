//! The answer route: a question becomes a query, validated posts answer it, and an LLM (a
//! local chat-completions double speaking OpenAI's wire format) may write a short answer
//! whose citations the server checks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use analyzer::chat::LlmConfig;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode as AxumStatus;
use axum::response::{IntoResponse, Response};
use reqwest::StatusCode;
use serde_json::{Value, json};
use server::config::Settings;
use testkit::{Signer, sample_submission};

use crate::helpers::{App, json, miner, unique_post_id};
use crate::validation::{poll, send_results, validator, verdict};

/// What the double does for one request.
enum Step {
    /// 200 with a chat completion whose message content is this.
    Answer(String),
    /// This status.
    Fail(u16),
    /// Never answer.
    Hang,
}

/// A stand-in for an OpenAI-compatible API: scripted replies, recorded requests.
#[derive(Default)]
struct Double {
    steps: Mutex<VecDeque<Step>>,
    requests: Mutex<Vec<Value>>,
}

async fn chat_completions(State(double): State<Arc<Double>>, Json(body): Json<Value>) -> Response {
    double.requests.lock().unwrap().push(body);
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
            AxumStatus::from_u16(status).unwrap(),
            Json(json!({"error": {"message": "scripted failure"}})),
        )
            .into_response(),
        Step::Hang => std::future::pending().await,
    }
}

/// Serves the double on an ephemeral port (bound before the task starts, so it answers at
/// once); returns its base URL.
async fn serve_double(steps: Vec<Step>) -> (String, Arc<Double>) {
    let double = Arc::new(Double {
        steps: Mutex::new(steps.into()),
        ..Double::default()
    });
    let app = axum::Router::new()
        .route(
            "/v1/chat/completions",
            axum::routing::post(chat_completions),
        )
        .with_state(double.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), double)
}

/// A server that samples every post, publishing post text or not, asking the LLM at
/// `llm` if any.
async fn app(publish_post_text: bool, llm: Option<&str>) -> App {
    let answer_llm = llm.map(|base| {
        let mut config = LlmConfig::new(base, "test-model", "test-key");
        config.timeout = Duration::from_millis(500);
        config.max_attempts = 2;
        config.initial_backoff = Duration::from_millis(10);
        config
    });
    App::with_settings(Settings {
        validation_probability: 1.0,
        max_submissions: 1_000,
        publish_post_text,
        answer_llm,
        ..testkit::test_settings()
    })
    .await
}

/// The posts every test starts from, by their X post ids.
struct Posts {
    /// sn45, about emissions, passed.
    passed: String,
    /// sn45, about emissions, passed, from a second miner too (one X post, two rows).
    shared: String,
    /// sn45, about emissions, failed validation.
    failed: String,
    /// sn45, about emissions, never judged.
    pending: String,
    /// apex (sn1), about emissions, passed.
    apex: String,
}

const PASSED_TEXT: &str = "Talisman emissions look strong after the upgrade";

async fn submit(app: &App, miner: &Signer, post_id: &str, subnet: &str, text: &str, s: f64) {
    let mut body = sample_submission(miner.ss58(), post_id.parse().unwrap());
    body.tokens = [(subnet.to_string(), 1.0)].into_iter().collect();
    body.content = text.to_string();
    body.sentiment = s;
    let (status, reply) = json(app.submit(miner, &body).await).await;
    assert_eq!(status, StatusCode::OK, "{reply}");
}

/// Submits the posts and has a validator pass or fail them.
async fn posts(app: &App) -> Posts {
    let id = || unique_post_id().to_string();
    let posts = Posts {
        passed: id(),
        shared: id(),
        failed: id(),
        pending: id(),
        apex: id(),
    };
    let (m, other, cheat) = (miner(), miner(), miner());
    submit(app, &m, &posts.passed, "talisman_ai", PASSED_TEXT, 1.0).await;
    let shared = "Validators on talisman report emissions steady";
    submit(app, &m, &posts.shared, "talisman_ai", shared, 0.5).await;
    submit(app, &other, &posts.shared, "talisman_ai", shared, 0.5).await;
    let fake = "Talisman emissions to the moon, a fake post";
    submit(app, &cheat, &posts.failed, "talisman_ai", fake, 1.0).await;
    let unjudged = "Talisman emissions are falling";
    submit(app, &m, &posts.pending, "talisman_ai", unjudged, -1.0).await;
    let apex = "Apex emissions are down this week";
    submit(app, &m, &posts.apex, "apex", apex, -0.5).await;

    let v = validator(app).await;
    let batch = poll(app, &v, 100).await;
    let mut results = Vec::new();
    for payload in batch["payloads"].as_array().unwrap() {
        let post_id = payload["post"]["post_id"].as_str().unwrap();
        if post_id == posts.failed {
            results.push(verdict(&v, payload, "fail", Some("content_mismatch")));
        } else if post_id != posts.pending {
            results.push(verdict(&v, payload, "pass", None));
        }
    }
    send_results(app, &v, results).await;
    posts
}

async fn ask(app: &App, query: &str) -> (StatusCode, Value) {
    let url = reqwest::Url::parse_with_params(
        &app.url("/v2/signal/answer"),
        query
            .split('&')
            .map(|kv| kv.split_once('=').unwrap_or((kv, ""))),
    )
    .unwrap();
    json(app.client.get(url).send().await.unwrap()).await
}

fn post_ids(reply: &Value) -> Vec<&str> {
    reply["posts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["post_id"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn without_an_llm_a_question_about_a_subnet_gets_its_validated_posts_and_their_breakdown() {
    let app = app(false, None).await;
    let posts = posts(&app).await;

    let (status, reply) = ask(&app, "q=What are people saying about SN45 #emissions?").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["query"]["subnets"][0]["netuid"], 45, "{reply}");
    assert_eq!(reply["query"]["subnets"][0]["name"], "talisman_ai");
    assert_eq!(reply["query"]["hashtags"], json!(["emissions"]));
    assert_eq!(reply["matched_by"], "text");
    // Passed posts only, one per X post: not the failed one, not the unjudged one, not
    // apex's.
    let mut ids = post_ids(&reply);
    ids.sort();
    let mut expected = vec![posts.passed.as_str(), posts.shared.as_str()];
    expected.sort();
    assert_eq!(ids, expected, "{reply}");
    assert!(
        reply["posts"].as_array().unwrap().iter().all(|p| {
            p["validation"] == "passed" && p["netuid"] == 45 && p["content"].is_null()
        })
    );
    let breakdown = &reply["breakdown"];
    assert_eq!(breakdown["posts"], 2, "{breakdown}");
    assert_eq!(breakdown["mean_sentiment"], 0.75, "{breakdown}");
    let weighted = breakdown["weighted_sentiment"].as_f64().unwrap();
    assert!((0.5..=1.0).contains(&weighted), "{breakdown}");
    let classes = [
        "very_bullish",
        "bullish",
        "neutral",
        "bearish",
        "very_bearish",
    ]
    .map(|c| breakdown[c].as_i64().unwrap());
    assert_eq!(classes, [1, 1, 0, 0, 0], "{breakdown}");
    assert_eq!(reply["llm"], "not_configured");
    assert!(
        reply["answer"].is_null() && reply["llm_error"].is_null(),
        "{reply}"
    );

    // A subnet by name, a question with no word that matches: the subnet's newest
    // validated posts.
    let (status, reply) = ask(&app, "q=how is talisman_ai doing lately?").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["query"]["subnets"][0]["netuid"], 45, "{reply}");
    // The name selects the subnet; it is not searched for as a word.
    assert_eq!(reply["query"]["keywords"], json!([]), "{reply}");
    assert!(reply["text_query"].is_null(), "{reply}");
    assert_eq!(reply["matched_by"], "subnet");
    assert_eq!(reply["posts"].as_array().unwrap().len(), 2, "{reply}");

    // The subnet parameter wins over the question's; words still rank.
    let (status, reply) = ask(&app, "q=emissions on sn45&subnet=apex").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(post_ids(&reply), [posts.apex.as_str()], "{reply}");
    assert_eq!(reply["breakdown"]["bearish"], 1);

    // Without a subnet, words alone search the last day of windows.
    let (status, reply) = ask(&app, "q=emissions steady").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert!(reply["query"]["subnets"].as_array().unwrap().is_empty());
    assert_eq!(post_ids(&reply)[0], posts.shared, "{reply}");

    // A range before the posts' window leaves nothing.
    let (status, reply) = ask(&app, "q=sn45 emissions&to_window=9").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["matched_by"], "none", "{reply}");
    assert_eq!(reply["breakdown"]["posts"], 0, "{reply}");
    let (_, reply) = ask(&app, "q=sn45 emissions&from_window=10&to_window=10").await;
    assert_eq!(reply["posts"].as_array().unwrap().len(), 2, "{reply}");

    let (status, reply) = ask(&app, "q=what is it?").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    let (status, _) = ask(&app, "q=sn45&limit=0").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = ask(&app, "q=sn45&subnet=nosuchsubnet").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn with_an_llm_the_answer_cites_posts_it_was_given_with_their_text_when_published() {
    let (base, double) = serve_double(vec![]).await;
    let app = app(true, Some(&base)).await;
    let posts = posts(&app).await;
    let content = json!({
        "answer": format!("Emissions look strong [{}] and steady [{}].", posts.passed, posts.shared),
        "citations": [posts.passed],
    });
    double
        .steps
        .lock()
        .unwrap()
        .push_back(Step::Answer(content.to_string()));

    let (status, reply) = ask(&app, "q=How are sn45 emissions?").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["llm"], "answered", "{reply}");
    assert!(
        reply["answer"]
            .as_str()
            .unwrap()
            .starts_with("Emissions look strong"),
        "{reply}"
    );
    assert_eq!(reply["citations"], json!([posts.passed, posts.shared]));
    assert!(reply["llm_error"].is_null());
    // Text published: in the reply, and given to the model.
    assert!(
        reply["posts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["content"] == PASSED_TEXT),
        "{reply}"
    );
    let requests = double.requests.lock().unwrap();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request["model"], "test-model");
    assert_eq!(request["response_format"], json!({"type": "json_object"}));
    let user = request["messages"][1]["content"].as_str().unwrap();
    assert!(user.contains("How are sn45 emissions?"), "{user}");
    assert!(
        user.contains(&posts.passed) && user.contains(PASSED_TEXT),
        "{user}"
    );
    // Only validated posts reach the model.
    for other in [&posts.failed, &posts.pending, &posts.apex] {
        assert!(!user.contains(other.as_str()), "{other} was given: {user}");
    }
}

#[tokio::test]
async fn an_llm_citing_a_post_it_was_not_given_has_its_answer_withheld() {
    let (base, double) = serve_double(vec![]).await;
    let app = app(false, Some(&base)).await;
    let posts = posts(&app).await;
    // The failed post exists, but the model was not given it.
    let content = json!({
        "answer": format!("To the moon [{}] [{}].", posts.passed, posts.failed),
        "citations": [posts.passed, posts.failed],
    });
    double
        .steps
        .lock()
        .unwrap()
        .push_back(Step::Answer(content.to_string()));

    let (status, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["llm"], "failed", "{reply}");
    assert!(reply["answer"].is_null(), "{reply}");
    assert_eq!(reply["rejected_citations"], json!([posts.failed]));
    assert!(
        reply["llm_error"].as_str().unwrap().contains("not given"),
        "{reply}"
    );
    assert_eq!(reply["posts"].as_array().unwrap().len(), 2, "{reply}");
    assert_eq!(reply["breakdown"]["posts"], 2);
}

#[tokio::test]
async fn an_llm_that_fails_or_hangs_is_reported_and_the_posts_still_come() {
    let (base, double) = serve_double(vec![Step::Fail(500), Step::Fail(500)]).await;
    let app = app(false, Some(&base)).await;
    posts(&app).await;

    let (status, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["llm"], "failed", "{reply}");
    assert!(reply["answer"].is_null());
    assert_eq!(reply["llm_error"], "the LLM answered HTTP 500", "{reply}");
    assert_eq!(reply["posts"].as_array().unwrap().len(), 2, "{reply}");
    // A 5xx is retried once.
    assert_eq!(double.requests.lock().unwrap().len(), 2);

    double
        .steps
        .lock()
        .unwrap()
        .extend([Step::Hang, Step::Hang]);
    let (status, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["llm"], "failed", "{reply}");
    assert_eq!(reply["llm_error"], "the LLM request timed out", "{reply}");
    assert_eq!(reply["posts"].as_array().unwrap().len(), 2, "{reply}");

    // A prose reply is no answer either.
    double
        .steps
        .lock()
        .unwrap()
        .push_back(Step::Answer("Emissions are great.".into()));
    let (_, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(reply["llm"], "failed", "{reply}");
    assert!(reply["answer"].is_null());
}

#[tokio::test]
async fn unpublished_text_reaches_neither_the_reply_nor_the_llm() {
    let (base, double) = serve_double(vec![]).await;
    let app = app(false, Some(&base)).await;
    let posts = posts(&app).await;
    double.steps.lock().unwrap().push_back(Step::Answer(
        json!({"answer": null, "citations": []}).to_string(),
    ));

    let (status, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["llm"], "declined", "{reply}");
    assert!(reply["answer"].is_null() && reply["llm_error"].is_null());
    assert!(
        reply["posts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["content"].is_null()),
        "{reply}"
    );
    let requests = double.requests.lock().unwrap();
    let user = requests[0]["messages"][1]["content"].as_str().unwrap();
    // Ids and labels only.
    assert!(user.contains(&posts.passed), "{user}");
    assert!(user.contains("very_bullish"), "{user}");
    assert!(!user.contains(PASSED_TEXT), "{user}");
    assert!(!user.contains("steady"), "{user}");
}

#[tokio::test]
async fn with_no_validated_post_the_llm_is_not_asked() {
    let (base, double) = serve_double(vec![]).await;
    let app = app(false, Some(&base)).await;
    let (status, reply) = ask(&app, "q=sn45 emissions").await;
    assert_eq!(status, StatusCode::OK, "{reply}");
    assert_eq!(reply["matched_by"], "none");
    assert_eq!(reply["llm"], "no_posts");
    assert_eq!(reply["breakdown"]["posts"], 0);
    assert!(reply["breakdown"]["mean_sentiment"].is_null());
    assert!(double.requests.lock().unwrap().is_empty());
}
