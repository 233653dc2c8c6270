//! Answers from validated posts: what the answer route (`GET /v2/signal/answer`) does
//! besides reading the database.
//!
//! - [`Question::parse`]: a question becomes a query: the subnets the analyzer recognises in
//!   it (mentions like `sn45`, registry names and identifiers, by the same rules as posts),
//!   its keywords (stop words and the words that named a subnet left out), `#hashtags` and
//!   `@mentions`; [`Question::text_query`] joins the terms with `or` for the full-text search.
//! - [`Breakdown`]: the sentiment of the posts gathered, the answer without an LLM.
//! - [`ask`]: with an LLM, the prompt and the reading of its reply. The model gets the posts'
//!   ids and derived labels (and their text only where the server publishes post text),
//!   must reply with JSON citing the post ids it used, and [`read_reply`] refuses an answer
//!   that cites a post it was not given or none at all: the server never passes on an
//!   answer it cannot tie to the posts.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use analyzer::chat::{ChatClient, ChatMessage, strip_code_fence};
use analyzer::relevance::Evidence;
use analyzer::{Sentiment, SubnetMatcher};
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use crate::db::signal::{PostItem, REGISTRY};

/// Subnets one question may name; the first ones (best match first) are kept.
pub const MAX_SUBNETS: usize = 3;
/// Keywords, hashtags and mentions one question may contribute to the search.
pub const MAX_TERMS: usize = 12;
/// Shortest keyword kept, in characters.
const MIN_KEYWORD_CHARS: usize = 3;

/// The matcher posts are tagged with, so a question names subnets the way posts do.
static MATCHER: LazyLock<SubnetMatcher> = LazyLock::new(|| SubnetMatcher::new(&REGISTRY));

/// Words a question is made of that say nothing about which posts answer it: question
/// words, the commonest English words, and words about posts and opinions themselves
/// (every post is one, and the breakdown answers "how do people feel").
const STOP_WORDS: &[&str] = &[
    "a",
    "about",
    "after",
    "again",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "anyone",
    "anything",
    "are",
    "as",
    "at",
    "be",
    "been",
    "before",
    "being",
    "but",
    "by",
    "can",
    "could",
    "did",
    "do",
    "does",
    "doing",
    "for",
    "from",
    "get",
    "give",
    "going",
    "had",
    "has",
    "have",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "just",
    "latest",
    "lately",
    "me",
    "more",
    "most",
    "much",
    "my",
    "now",
    "of",
    "on",
    "or",
    "our",
    "over",
    "people",
    "please",
    "recent",
    "recently",
    "say",
    "saying",
    "says",
    "should",
    "so",
    "some",
    "tell",
    "than",
    "that",
    "the",
    "their",
    "them",
    "then",
    "there",
    "these",
    "they",
    "think",
    "this",
    "those",
    "to",
    "today",
    "too",
    "tweet",
    "tweets",
    "twitter",
    "us",
    "very",
    "vibe",
    "vibes",
    "was",
    "we",
    "were",
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "why",
    "will",
    "with",
    "would",
    "you",
    "your",
    "feel",
    "feeling",
    "feelings",
    "mood",
    "opinion",
    "opinions",
    "sentiment",
    "post",
    "posts",
    "news",
    "happening",
    // Every post is about the ecosystem; these words select nothing.
    "bittensor",
    "opentensor",
    "tao",
    "subnet",
    "subnets",
];

/// A subnet the question names.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecognisedSubnet {
    /// Its netuid.
    pub netuid: u16,
    /// Its registry name.
    pub name: String,
    /// How strongly the question names it: 1 for a mention (`sn45`), 0.9 for a name or
    /// identifier, less for a near spelling (the analyzer's relevance).
    pub relevance: f64,
}

/// What a question asks for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Question {
    /// Subnets it names, best match first (at most three).
    pub subnets: Vec<RecognisedSubnet>,
    /// Its words that are searched for, lowercased.
    pub keywords: Vec<String>,
    /// Its `#hashtags`, without `#`, lowercased.
    pub hashtags: Vec<String>,
    /// Its `@mentions`, without `@`, lowercased.
    pub mentions: Vec<String>,
}

impl Question {
    /// Reads a question.
    pub fn parse(text: &str) -> Self {
        let relevance = MATCHER.match_text(text);
        // The words that named a subnet select it already; searched as text they would
        // only narrow the search to posts that spell the name out.
        let mut naming: BTreeSet<String> = BTreeSet::new();
        let subnets = relevance
            .matches
            .iter()
            .filter(|m| REGISTRY.get(m.id).is_some_and(|s| !s.placeholder))
            .take(MAX_SUBNETS)
            .map(|m| {
                match &m.evidence {
                    Evidence::ExactWord { word } | Evidence::FuzzyWord { word, .. } => {
                        naming.insert(word.clone());
                    }
                    Evidence::Mention => {}
                }
                RecognisedSubnet {
                    netuid: m.id,
                    name: m.name.clone(),
                    relevance: m.relevance,
                }
            })
            .collect();
        let mut question = Question {
            subnets,
            ..Question::default()
        };
        let mut seen = BTreeSet::new();
        for token in tokens(text) {
            if seen.len() >= MAX_TERMS {
                break;
            }
            let (list, word) = if let Some(tag) = token.strip_prefix('#') {
                (&mut question.hashtags, tag)
            } else if let Some(handle) = token.strip_prefix('@') {
                (&mut question.mentions, handle)
            } else {
                if token.chars().count() < MIN_KEYWORD_CHARS
                    || STOP_WORDS.contains(&token.as_str())
                    || naming.contains(&token)
                    || is_subnet_number(&token)
                {
                    continue;
                }
                (&mut question.keywords, token.as_str())
            };
            if !word.is_empty() && seen.insert(word.to_string()) {
                list.push(word.to_string());
            }
        }
        question
    }

    /// The full-text query (websearch syntax) of its keywords, hashtags and mentions joined
    /// by `or`, so a post matching more terms ranks higher rather than a post having to
    /// match them all; `None` without any.
    pub fn text_query(&self) -> Option<String> {
        let terms: Vec<&str> = self
            .keywords
            .iter()
            .chain(&self.hashtags)
            .chain(&self.mentions)
            .map(String::as_str)
            .collect();
        (!terms.is_empty()).then(|| terms.join(" or "))
    }
}

/// The question's words, lowercased: runs of letters, digits and `_`, each keeping a `#` or
/// `@` right before it.
fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let word_char = |c: char| c.is_alphanumeric() || c == '_';
    for c in text.chars() {
        if word_char(c) || ((c == '#' || c == '@') && current.is_empty()) {
            current.extend(c.to_lowercase());
        } else {
            if current.chars().any(word_char) {
                out.push(std::mem::take(&mut current));
            }
            current.clear();
            if c == '#' || c == '@' {
                current.push(c);
            }
        }
    }
    if current.chars().any(word_char) {
        out.push(current);
    }
    out
}

/// `45`, `sn45`: numbers that name subnets (the matcher reads them), not words to search.
fn is_subnet_number(word: &str) -> bool {
    let digits = word.strip_prefix("sn").unwrap_or(word);
    !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
}

/// The sentiment of the posts an answer gathered.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Breakdown {
    /// Distinct X posts.
    pub posts: i64,
    /// Mean sentiment, in [-1, 1]; null without posts.
    pub mean_sentiment: Option<f64>,
    /// Sentiment weighted by the posts' scores; null without posts or scores.
    pub weighted_sentiment: Option<f64>,
    /// Posts per sentiment class (nearest class to the post's sentiment).
    pub very_bullish: i64,
    /// See `very_bullish`.
    pub bullish: i64,
    /// See `very_bullish`.
    pub neutral: i64,
    /// See `very_bullish`.
    pub bearish: i64,
    /// See `very_bullish`.
    pub very_bearish: i64,
}

/// The class a sentiment value is nearest to (ties away from zero, as the posts filter
/// rounds).
pub fn class_of(sentiment: f64) -> Sentiment {
    let value = ((sentiment.clamp(-1.0, 1.0) * 2.0).round() / 2.0).clamp(-1.0, 1.0);
    Sentiment::from_value(value).unwrap_or(Sentiment::Neutral)
}

impl Breakdown {
    /// The breakdown of `posts` (one item per X post).
    pub fn of(posts: &[PostItem]) -> Self {
        let mut b = Breakdown {
            posts: posts.len() as i64,
            ..Breakdown::default()
        };
        if posts.is_empty() {
            return b;
        }
        for post in posts {
            *match class_of(post.sentiment) {
                Sentiment::VeryBullish => &mut b.very_bullish,
                Sentiment::Bullish => &mut b.bullish,
                Sentiment::Neutral => &mut b.neutral,
                Sentiment::Bearish => &mut b.bearish,
                Sentiment::VeryBearish => &mut b.very_bearish,
            } += 1;
        }
        b.mean_sentiment =
            Some(posts.iter().map(|p| p.sentiment).sum::<f64>() / posts.len() as f64);
        let weight: f64 = posts.iter().map(|p| p.score).sum();
        if weight > 0.0 {
            b.weighted_sentiment =
                Some(posts.iter().map(|p| p.sentiment * p.score).sum::<f64>() / weight);
        }
        b
    }
}

/// What the model was told to do.
const INSTRUCTIONS: &str = "\
You answer questions about Bittensor subnets from social media posts that validators checked.
Use only the posts you are given: no outside knowledge, no guesses.
Reply with a JSON object and nothing else: {\"answer\": \"<at most three sentences>\", \"citations\": [\"<post_id>\", ...]}.
In the answer, cite every post you rely on by its post_id in square brackets, like [1234567890], and list those ids in citations.
Some posts have no text: judge them by their labels (subnet, sentiment, score, engagement) only.
If the posts do not answer the question, reply {\"answer\": null, \"citations\": []}.";

/// What the LLM made of the posts.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// An answer whose citations are all among the posts given, at least one.
    Answered {
        /// The answer.
        answer: String,
        /// The post ids it cites, in order of first citation.
        citations: Vec<String>,
    },
    /// The model said the posts do not answer the question.
    Declined,
    /// The model's reply cannot be passed on; the message says why.
    Unusable {
        /// Why.
        reason: String,
        /// Ids it cited that it was not given.
        rejected_citations: Vec<String>,
    },
}

/// The user message: the question and one JSON object per post (its text only when
/// `with_text`).
pub fn prompt(question: &str, posts: &[PostItem], with_text: bool) -> String {
    let mut out = format!("Question: {question}\n\nPosts (one JSON object per line):\n");
    for post in posts {
        let mut item = json!({
            "post_id": post.post_id,
            "subnet": post.subnet,
            "netuid": post.netuid,
            "author": post.author,
            "date": chrono::DateTime::from_timestamp(post.date, 0).map(|d| d.to_rfc3339()),
            "sentiment": class_of(post.sentiment).label(),
            "score": post.score,
            "likes": post.likes,
            "retweets": post.retweets,
            "replies": post.responses,
        });
        if with_text && let Some(text) = &post.content {
            item["text"] = Value::String(text.clone());
        }
        out.push_str(&item.to_string());
        out.push('\n');
    }
    out
}

/// Asks the model about `posts` and reads its reply; `Err` is the LLM call's failure.
pub async fn ask(
    client: &ChatClient,
    question: &str,
    posts: &[PostItem],
    with_text: bool,
) -> Result<Reply, analyzer::chat::LlmError> {
    let user = prompt(question, posts, with_text);
    let messages = [ChatMessage::system(INSTRUCTIONS), ChatMessage::user(&user)];
    let content = client
        .complete("LLM answer request", &messages, true)
        .await?;
    let given: BTreeSet<&str> = posts.iter().map(|p| p.post_id.as_str()).collect();
    Ok(read_reply(&content, &given))
}

/// `[digits]` citations written in an answer's text.
fn inline_citations(answer: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = answer;
    while let Some(open) = rest.find('[') {
        rest = &rest[open + 1..];
        let Some(close) = rest.find(']') else { break };
        // `[1, 2]` and `[1][2]` both cite two posts.
        for part in rest[..close].split(',') {
            let id = part.trim();
            if !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) {
                out.push(id.to_string());
            }
        }
        rest = &rest[close + 1..];
    }
    out
}

/// Reads the model's reply against the post ids it was `given`.
pub fn read_reply(content: &str, given: &BTreeSet<&str>) -> Reply {
    let unusable = |reason: &str| Reply::Unusable {
        reason: reason.to_string(),
        rejected_citations: Vec::new(),
    };
    let inner = strip_code_fence(content.trim());
    let value = serde_json::from_str::<Value>(inner).ok().or_else(|| {
        let (start, end) = (inner.find('{')?, inner.rfind('}')?);
        (start < end)
            .then(|| serde_json::from_str::<Value>(&inner[start..=end]).ok())
            .flatten()
    });
    let Some(Value::Object(map)) = value else {
        return unusable("the model's reply is not a JSON object");
    };
    let answer = match map.get("answer") {
        None | Some(Value::Null) => return Reply::Declined,
        Some(Value::String(a)) if a.trim().is_empty() => return Reply::Declined,
        Some(Value::String(a)) => a.trim().to_string(),
        Some(_) => return unusable("the model's answer is not a string"),
    };
    let mut cited: Vec<String> = Vec::new();
    if let Some(list) = map.get("citations") {
        let Value::Array(items) = list else {
            return unusable("the model's citations are not a list");
        };
        for item in items {
            match item {
                Value::String(s) => cited.push(s.trim().to_string()),
                Value::Number(n) => cited.push(n.to_string()),
                _ => return unusable("a citation is neither a string nor a number"),
            }
        }
    }
    cited.extend(inline_citations(&answer));
    let mut citations: Vec<String> = Vec::new();
    let mut rejected: Vec<String> = Vec::new();
    for id in cited {
        let list = if given.contains(id.as_str()) {
            &mut citations
        } else {
            &mut rejected
        };
        if !list.contains(&id) {
            list.push(id);
        }
    }
    // A citation of a post the model was not given means part of the answer comes from
    // somewhere else: the whole answer is refused, not just that citation.
    if !rejected.is_empty() {
        return Reply::Unusable {
            reason: format!(
                "the model cited posts it was not given ({}); its answer was withheld",
                rejected.join(", ")
            ),
            rejected_citations: rejected,
        };
    }
    if citations.is_empty() {
        return unusable("the model's answer cites none of the posts; it was withheld");
    }
    Reply::Answered { answer, citations }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_question_names_its_subnet_and_keeps_its_search_words() {
        let q =
            Question::parse("What do people think about targon's #dTAO emissions, @opentensor?");
        assert_eq!(q.subnets.len(), 1, "{q:?}");
        assert_eq!(
            (q.subnets[0].netuid, q.subnets[0].name.as_str()),
            (4, "targon")
        );
        assert_eq!(q.keywords, ["emissions"], "{q:?}");
        assert_eq!(q.hashtags, ["dtao"]);
        assert_eq!(q.mentions, ["opentensor"]);
        assert_eq!(q.text_query().unwrap(), "emissions or dtao or opentensor");
    }

    #[test]
    fn a_mention_by_number_names_the_subnet_and_is_not_a_keyword() {
        let q = Question::parse("Is SN45 validator uptime improving?");
        assert_eq!(q.subnets[0].netuid, 45, "{q:?}");
        assert_eq!(q.keywords, ["validator", "uptime", "improving"]);
        let q = Question::parse("how is subnet 13 doing");
        assert_eq!(q.subnets[0].netuid, 13, "{q:?}");
        assert!(q.keywords.is_empty() && q.text_query().is_none(), "{q:?}");
    }

    #[test]
    fn an_identifier_names_its_subnet_by_its_registry_name() {
        let q = Question::parse("Any news on templar training runs?");
        assert_eq!(q.subnets[0].netuid, 3, "{q:?}");
        assert_eq!(q.subnets[0].name, "τemplar");
        assert_eq!(q.keywords, ["training", "runs"]);
    }

    #[test]
    fn a_question_without_subnet_or_words_asks_nothing() {
        let q = Question::parse("what is it?");
        assert!(q.subnets.is_empty() && q.text_query().is_none(), "{q:?}");
    }

    #[test]
    fn terms_are_capped_and_not_repeated() {
        let words: Vec<String> = (0..30).map(|i| format!("word{i:02} word{i:02}")).collect();
        let q = Question::parse(&words.join(" "));
        assert_eq!(q.keywords.len(), MAX_TERMS);
        assert_eq!(q.keywords[1], "word01");
    }

    fn given() -> BTreeSet<&'static str> {
        ["111", "222"].into_iter().collect()
    }

    #[test]
    fn an_answer_citing_given_posts_is_kept_with_its_citations() {
        let reply = read_reply(
            "```json\n{\"answer\": \"Upbeat [111], one worry [222].\", \"citations\": [\"111\"]}\n```",
            &given(),
        );
        assert_eq!(
            reply,
            Reply::Answered {
                answer: "Upbeat [111], one worry [222].".into(),
                citations: vec!["111".into(), "222".into()],
            }
        );
    }

    #[test]
    fn an_answer_citing_a_post_it_was_not_given_is_withheld() {
        let reply = read_reply(
            r#"{"answer": "Moon [111] [999].", "citations": [111]}"#,
            &given(),
        );
        match reply {
            Reply::Unusable {
                rejected_citations, ..
            } => assert_eq!(rejected_citations, ["999"]),
            other => panic!("{other:?}"),
        }
        let reply = read_reply(r#"{"answer": "Moon.", "citations": ["333"]}"#, &given());
        assert!(matches!(reply, Reply::Unusable { .. }), "{reply:?}");
    }

    #[test]
    fn an_uncited_answer_or_prose_is_unusable_and_null_is_a_decline() {
        let reply = read_reply(r#"{"answer": "Moon.", "citations": []}"#, &given());
        assert!(matches!(reply, Reply::Unusable { .. }), "{reply:?}");
        let reply = read_reply("The market is fine.", &given());
        assert!(matches!(reply, Reply::Unusable { .. }), "{reply:?}");
        let reply = read_reply(r#"{"answer": null, "citations": []}"#, &given());
        assert_eq!(reply, Reply::Declined);
    }

    #[test]
    fn sentiments_fall_in_their_nearest_class() {
        assert_eq!(class_of(0.75), Sentiment::VeryBullish);
        assert_eq!(class_of(0.6), Sentiment::Bullish);
        assert_eq!(class_of(-0.2), Sentiment::Neutral);
        assert_eq!(class_of(-1.0), Sentiment::VeryBearish);
    }
}
