//! The checks, as pure functions: a submitted post against X's live copy, against the
//! creation time its id encodes, and against a re-run of the analysis; and the verdict they
//! add up to.
//!
//! Each failed check is a [`Finding`] with a reason code, what the validator expected (X's
//! live value, the id's time, or its own analysis) and what it found in the submission. The
//! verdict ([`judge`]) is:
//! - **fail** when any check failed, whatever else happened: the first finding in
//!   [`CODE_ORDER`] names the failure and the others are listed in its details;
//! - else **inconclusive** when the validator could not run a check (X or the analyser failed
//!   on its side: `x_api_error`, `analyzer_error`), which never counts against the miner;
//! - else **pass**.
//!
//! Checks that need no X (the id's time, tokens, sentiment) still decide a fail while X is
//! unreachable.

use std::collections::{BTreeMap, BTreeSet};

use protocol::api::{FailureReason, SubmitRequest, ValidationResultItem, VerdictOutcome};
use protocol::post_id::snowflake_time_ms;
use protocol::text::normalize_content;
use serde_json::{Value, json};

use crate::lookup::LivePost;

/// Token and sentiment values differing by more than this fail (docs/protocol.md#tolerances: 0.05 plus 1e-9,
/// so that a difference of exactly 0.05 passes despite floating-point error).
pub const TOLERANCE: f64 = 0.05 + 1e-9;
/// Token values below this are ignored on both sides (docs/protocol.md#tolerances).
pub const IGNORE_TOKENS_BELOW: f64 = 0.05;
/// How far (seconds) `date` may be from the creation time the id encodes. X derives
/// `created_at` from the id itself, truncated to the second, so an honest `date` is exactly
/// that time; one second absorbs clients that round the milliseconds instead.
pub const SNOWFLAKE_TOLERANCE_SECS: i64 = 1;
/// Ids up to this were handed out sequentially before X switched to snowflake ids
/// (2010-11-04; the last sequential ids were about 29.7 billion). They encode no time, so the
/// snowflake check skips them.
pub const LAST_SEQUENTIAL_ID: u64 = 29_999_999_999;

/// Reason codes, one per check.
pub mod codes {
    /// X does not have the post (deleted, or never existed).
    pub const POST_NOT_FOUND: &str = "post_not_found";
    /// X has the post but withholds it (protected or suspended author).
    pub const POST_UNAVAILABLE: &str = "post_unavailable";
    /// The post id is not a canonical id.
    pub const MISSING_POST_ID: &str = "missing_post_id";
    /// The content is empty after normalisation.
    pub const EMPTY_CONTENT: &str = "empty_content";
    /// The text differs from X's after normalisation.
    pub const TEXT_MISMATCH: &str = "text_mismatch";
    /// The author differs from X's (compared case-insensitively).
    pub const AUTHOR_MISMATCH: &str = "author_mismatch";
    /// `date` differs from X's `created_at`.
    pub const TIMESTAMP_MISMATCH: &str = "timestamp_mismatch";
    /// `date` differs from the time the post id encodes.
    pub const SNOWFLAKE_MISMATCH: &str = "snowflake_time_mismatch";
    /// Likes above the tolerance.
    pub const METRIC_INFLATION_LIKES: &str = "metric_inflation_likes";
    /// Retweets above the tolerance.
    pub const METRIC_INFLATION_RETWEETS: &str = "metric_inflation_retweets";
    /// Replies (`responses`) above the tolerance.
    pub const METRIC_INFLATION_REPLIES: &str = "metric_inflation_replies";
    /// Followers above the tolerance.
    pub const METRIC_INFLATION_FOLLOWERS: &str = "metric_inflation_followers";
    /// The tokens differ from the validator's analysis.
    pub const TOKENS_MISMATCH: &str = "tokens_mismatch";
    /// The sentiment differs from the validator's analysis.
    pub const SENTIMENT_MISMATCH: &str = "sentiment_mismatch";
    /// X says the post is a retweet (`referenced_tweets` of type `retweeted`), or its text
    /// is a text retweet (`RT @...`): it carries another post's counts.
    pub const RETWEET: &str = "retweet";
    /// X's `lang` for the post is not `en` (miners search `lang:en`).
    pub const NOT_ENGLISH: &str = "not_english";
    /// `account_age` does not fit the author's account creation date on X.
    pub const ACCOUNT_AGE_MISMATCH: &str = "account_age_mismatch";
    /// The validator could not read the post from X (inconclusive).
    pub const X_API_ERROR: &str = "x_api_error";
    /// The validator's analyser failed (inconclusive).
    pub const ANALYZER_ERROR: &str = "analyzer_error";
}

/// Failure codes from the most to the least basic: a verdict is named after the first of its
/// findings in this order.
pub const CODE_ORDER: &[&str] = &[
    codes::MISSING_POST_ID,
    codes::EMPTY_CONTENT,
    codes::POST_NOT_FOUND,
    codes::POST_UNAVAILABLE,
    codes::RETWEET,
    codes::NOT_ENGLISH,
    codes::TEXT_MISMATCH,
    codes::AUTHOR_MISMATCH,
    codes::ACCOUNT_AGE_MISMATCH,
    codes::TIMESTAMP_MISMATCH,
    codes::SNOWFLAKE_MISMATCH,
    codes::METRIC_INFLATION_LIKES,
    codes::METRIC_INFLATION_RETWEETS,
    codes::METRIC_INFLATION_REPLIES,
    codes::METRIC_INFLATION_FOLLOWERS,
    codes::TOKENS_MISMATCH,
    codes::SENTIMENT_MISMATCH,
];

/// One failed check (or, for `x_api_error` and `analyzer_error`, one check that could not
/// run).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The reason code.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
    /// What the validator expected (X's value, the id's time, its own analysis).
    pub expected: Value,
    /// What the submission says.
    pub found: Value,
}

impl Finding {
    fn new(code: &'static str, message: String, expected: Value, found: Value) -> Self {
        Self {
            code,
            message,
            expected,
            found,
        }
    }

    /// A check that could not run: `code` is `x_api_error` or `analyzer_error`.
    pub fn trouble(code: &'static str, message: String, details: Value) -> Self {
        Self::new(code, message, details, Value::Null)
    }

    fn rank(&self) -> usize {
        CODE_ORDER
            .iter()
            .position(|c| *c == self.code)
            .unwrap_or(CODE_ORDER.len())
    }
}

/// The most a submitted count may be when X shows `live`: `live + max(1, ceil(10% of live))`
/// (docs/protocol.md#tolerances), so counts that grew a little between the miner's scrape and the check pass.
pub fn allowed_count(live: u64) -> u64 {
    live.saturating_add(live.div_ceil(10).max(1))
}

/// How many days `account_age` may be off the age X's `created_at` gives, either way: the
/// miner counts whole days at its scrape, the validator brackets that moment.
pub const ACCOUNT_AGE_TOLERANCE_DAYS: u64 = 1;

/// Whole days from `since` to `until` (Unix seconds), as miners count an account's age.
pub fn whole_days(since: i64, until: i64) -> u64 {
    u64::try_from(until.saturating_sub(since).max(0) / 86_400).unwrap_or(0)
}

/// What X says about the post itself, beyond its text and counts: a retweet fails
/// (`retweet`), a post X does not tag `en` fails (`not_english`), and `account_age` must lie
/// between the author's account age on the post's date and on `now` (Unix seconds, when the
/// validator checks), each widened by [`ACCOUNT_AGE_TOLERANCE_DAYS`]
/// (`account_age_mismatch`). A field X did not report is not checked here
/// ([`unreported`] makes the verdict inconclusive instead).
pub fn check_x_facts(post: &SubmitRequest, live: &LivePost, now: i64) -> Vec<Finding> {
    let mut findings = Vec::new();
    if live.retweet_of.is_some() || live.text.starts_with("RT @") {
        findings.push(Finding::new(
            codes::RETWEET,
            match &live.retweet_of {
                Some(original) => {
                    format!("the post is a retweet of {original}; submit the original")
                }
                None => "the post is a text retweet (RT @...); submit the original".into(),
            },
            json!({"retweet_of": live.retweet_of}),
            json!(post.post_id),
        ));
    }
    if let Some(lang) = &live.lang
        && lang != "en"
    {
        findings.push(Finding::new(
            codes::NOT_ENGLISH,
            format!("X tags the post's language {lang:?}, not \"en\""),
            json!("en"),
            json!(lang),
        ));
    }
    if let Some(created) = live.author_created_at {
        let earliest = whole_days(created, post.date).saturating_sub(ACCOUNT_AGE_TOLERANCE_DAYS);
        let latest = whole_days(created, now) + ACCOUNT_AGE_TOLERANCE_DAYS;
        if !(earliest..=latest).contains(&post.account_age) {
            findings.push(Finding::new(
                codes::ACCOUNT_AGE_MISMATCH,
                format!(
                    "account_age is {} days, but the account was created at {created} (between {earliest} and {latest} days accepted)",
                    post.account_age
                ),
                json!({"min": earliest, "max": latest}),
                json!(post.account_age),
            ));
        }
    }
    findings
}

/// What the checks needed and X did not report (a count, the language, the author's
/// creation date): the check cannot run, so the verdict is at best inconclusive
/// (`x_api_error`). An absent count is never read as 0, which would fail an honest miner's
/// post as inflated.
pub fn unreported(live: &LivePost) -> Option<Finding> {
    let missing: Vec<&str> = [
        ("like_count", live.likes.is_none()),
        ("retweet_count", live.retweets.is_none()),
        ("reply_count", live.replies.is_none()),
        ("followers_count", live.followers.is_none()),
        ("lang", live.lang.is_none()),
        ("author created_at", live.author_created_at.is_none()),
    ]
    .into_iter()
    .filter_map(|(name, absent)| absent.then_some(name))
    .collect();
    (!missing.is_empty()).then(|| {
        Finding::trouble(
            codes::X_API_ERROR,
            format!(
                "X did not report {} for post {}",
                missing.join(", "),
                live.id
            ),
            json!({"unreported": missing}),
        )
    })
}

/// The inflation check of one count (`live` is `None` when X did not report it: nothing
/// to check against).
pub fn check_count(
    code: &'static str,
    name: &str,
    submitted: u64,
    live: Option<u64>,
) -> Option<Finding> {
    let live = live?;
    let allowed = allowed_count(live);
    (submitted > allowed).then(|| {
        Finding::new(
            code,
            format!("{name}: submitted {submitted}, X shows {live} (at most {allowed} accepted)"),
            json!(live),
            json!(submitted),
        )
    })
}

/// Every check of `post` against X's live copy, in [`CODE_ORDER`].
pub fn check_against_x(post: &SubmitRequest, live: &LivePost) -> Vec<Finding> {
    let mut findings = Vec::new();
    let live_text = normalize_content(&live.text);
    let submitted_text = normalize_content(&post.content);
    if live_text != submitted_text {
        findings.push(Finding::new(
            codes::TEXT_MISMATCH,
            "the text differs from the post on X (after normalisation)".into(),
            json!(live_text),
            json!(submitted_text),
        ));
    }
    let submitted_author = post.author.trim().trim_start_matches('@');
    if live.author.to_lowercase() != submitted_author.to_lowercase() {
        findings.push(Finding::new(
            codes::AUTHOR_MISMATCH,
            format!(
                "the author is @{} on X, not @{submitted_author}",
                live.author
            ),
            json!(live.author),
            json!(post.author),
        ));
    }
    if live.created_at != post.date {
        findings.push(Finding::new(
            codes::TIMESTAMP_MISMATCH,
            format!(
                "date is {} but X says the post was created at {}",
                post.date, live.created_at
            ),
            json!(live.created_at),
            json!(post.date),
        ));
    }
    let counts = [
        (
            codes::METRIC_INFLATION_LIKES,
            "likes",
            post.likes,
            live.likes,
        ),
        (
            codes::METRIC_INFLATION_RETWEETS,
            "retweets",
            post.retweets,
            live.retweets,
        ),
        (
            codes::METRIC_INFLATION_REPLIES,
            "responses",
            post.responses,
            live.replies,
        ),
        (
            codes::METRIC_INFLATION_FOLLOWERS,
            "followers",
            post.followers,
            live.followers,
        ),
    ];
    findings.extend(
        counts
            .into_iter()
            .filter_map(|(code, name, submitted, live)| check_count(code, name, submitted, live)),
    );
    findings
}

/// `date` against the creation time the id encodes (`(id >> 22) + 1288834974657` ms).
pub fn check_snowflake(post_id: u64, date: i64) -> Option<Finding> {
    if post_id <= LAST_SEQUENTIAL_ID {
        return None;
    }
    let encoded = (snowflake_time_ms(post_id) / 1000) as i64;
    ((date - encoded).abs() > SNOWFLAKE_TOLERANCE_SECS).then(|| {
        Finding::new(
            codes::SNOWFLAKE_MISMATCH,
            format!(
                "date is {date} but the post id encodes {encoded} (at most {SNOWFLAKE_TOLERANCE_SECS} s apart)"
            ),
            json!(encoded),
            json!(date),
        )
    })
}

/// Tokens as compared: keys lowercased and trimmed (the larger value kept when two keys
/// become one), values below [`IGNORE_TOKENS_BELOW`] dropped (non-finite ones too).
pub fn normalize_tokens(tokens: &BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let mut normalized: BTreeMap<String, f64> = BTreeMap::new();
    for (key, value) in tokens {
        if !value.is_finite() || *value < IGNORE_TOKENS_BELOW {
            continue;
        }
        let slot = normalized
            .entry(key.trim().to_lowercase())
            .or_insert(*value);
        *slot = slot.max(*value);
    }
    normalized
}

/// Submitted tokens against the validator's: each key of either side, absent counting as 0,
/// fails when the two values differ by more than [`TOLERANCE`].
pub fn compare_tokens(
    submitted: &BTreeMap<String, f64>,
    recomputed: &BTreeMap<String, f64>,
) -> Option<Finding> {
    let submitted_n = normalize_tokens(submitted);
    let recomputed_n = normalize_tokens(recomputed);
    let differing: BTreeSet<&String> = submitted_n
        .keys()
        .chain(recomputed_n.keys())
        .filter(|key| {
            let a = submitted_n.get(*key).copied().unwrap_or(0.0);
            let b = recomputed_n.get(*key).copied().unwrap_or(0.0);
            (a - b).abs() > TOLERANCE
        })
        .collect();
    (!differing.is_empty()).then(|| {
        Finding::new(
            codes::TOKENS_MISMATCH,
            format!(
                "tokens differ from the validator's analysis on {}",
                differing
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            json!(recomputed_n),
            json!(submitted_n),
        )
    })
}

/// Submitted sentiment against the validator's.
pub fn compare_sentiment(submitted: f64, recomputed: f64) -> Option<Finding> {
    let differs = !submitted.is_finite() || (submitted - recomputed).abs() > TOLERANCE;
    differs.then(|| {
        Finding::new(
            codes::SENTIMENT_MISMATCH,
            format!(
                "sentiment {submitted} differs from the validator's {recomputed} by more than 0.05"
            ),
            json!(recomputed),
            json!(if submitted.is_finite() {
                json!(submitted)
            } else {
                json!(submitted.to_string())
            }),
        )
    })
}

/// What the checks add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    /// Pass, fail or inconclusive.
    pub outcome: VerdictOutcome,
    /// For a fail: the findings, the naming one first. For an inconclusive verdict: what
    /// could not be checked. Empty for a pass.
    pub findings: Vec<Finding>,
}

impl Judgement {
    /// The reason code of a fail or an inconclusive verdict.
    pub fn code(&self) -> Option<&'static str> {
        self.findings.first().map(|f| f.code)
    }
}

/// The verdict of `failures` (checks that failed) and `troubles` (checks that could not
/// run on the validator's side).
pub fn judge(mut failures: Vec<Finding>, troubles: Vec<Finding>) -> Judgement {
    if !failures.is_empty() {
        failures.sort_by_key(Finding::rank);
        return Judgement {
            outcome: VerdictOutcome::Fail,
            findings: failures,
        };
    }
    if !troubles.is_empty() {
        return Judgement {
            outcome: VerdictOutcome::Inconclusive,
            findings: troubles,
        };
    }
    Judgement {
        outcome: VerdictOutcome::Pass,
        findings: Vec::new(),
    }
}

/// The verdict as sent: `success` is true only for a pass, `outcome` is explicit, and
/// `failure_reason.details` holds `expected` and `found` of the naming finding, plus `also`
/// (the other findings) when there are several; everything within the bounds of
/// [`protocol::verdict`].
pub fn verdict_item(
    validator_hotkey: &str,
    validation_id: &str,
    post: &SubmitRequest,
    judgement: &Judgement,
) -> ValidationResultItem {
    let failure_reason = judgement.findings.first().map(|first| {
        let mut details = json!({"expected": first.expected, "found": first.found});
        if judgement.findings.len() > 1 {
            details["also"] = judgement.findings[1..]
                .iter()
                .map(|f| json!({"code": f.code, "message": f.message, "expected": f.expected, "found": f.found}))
                .collect();
        }
        // Bounded as the server bounds it (docs/protocol.md#what-a-verdict-carries): `found`
        // quotes the miner's submission, which the miner chose to be as large as it could.
        protocol::verdict::bound_failure_reason(&FailureReason {
            code: first.code.to_owned(),
            message: first.message.clone(),
            post_id: Some(post.post_id.clone()),
            details: Some(details),
        })
    });
    ValidationResultItem {
        validator_hotkey: validator_hotkey.to_owned(),
        validation_id: validation_id.to_owned(),
        miner_hotkey: post.miner_hotkey.clone(),
        success: judgement.outcome == VerdictOutcome::Pass,
        outcome: Some(judgement.outcome),
        failure_reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: i64 = 1_764_115_200;

    fn snowflake(unix: i64) -> u64 {
        ((unix as u64 * 1000 - protocol::post_id::SNOWFLAKE_EPOCH_MS) << 22) | 5
    }

    fn post() -> SubmitRequest {
        SubmitRequest {
            miner_hotkey: "5Miner".into(),
            post_id: snowflake(DATE).to_string(),
            content: "SN45 &amp; friends to the moon".into(),
            date: DATE,
            author: "Mira_Builds".into(),
            account_age: 400,
            retweets: 3,
            likes: 10,
            responses: 1,
            followers: 1200,
            tokens: BTreeMap::from([("talisman_ai".into(), 1.0)]),
            sentiment: 1.0,
            score: 0.6,
        }
    }

    fn live() -> LivePost {
        LivePost {
            id: snowflake(DATE),
            text: "SN45 &amp; friends\r\n to the moon ".into(),
            author: "mira_builds".into(),
            created_at: DATE,
            likes: Some(10),
            retweets: Some(3),
            replies: Some(1),
            followers: Some(1200),
            lang: Some("en".into()),
            retweet_of: None,
            author_created_at: Some(DATE - 400 * 86_400 - 3600),
        }
    }

    fn codes_of(findings: &[Finding]) -> Vec<&str> {
        findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn an_honest_post_passes_every_x_check() {
        assert_eq!(check_against_x(&post(), &live()), []);
    }

    #[test]
    fn the_tolerance_is_max_of_one_and_ten_percent_rounded_up() {
        assert_eq!(allowed_count(0), 1);
        assert_eq!(allowed_count(5), 6);
        assert_eq!(allowed_count(10), 11);
        assert_eq!(allowed_count(11), 13, "ceil(1.1) = 2");
        assert_eq!(allowed_count(100), 110);
        assert_eq!(allowed_count(101), 112);
        assert_eq!(allowed_count(u64::MAX), u64::MAX);
    }

    #[test]
    fn a_count_at_the_limit_passes_and_one_more_fails() {
        for live in [0u64, 1, 9, 10, 11, 95, 1000, 48_200] {
            let limit = live + std::cmp::max(1, (live as f64 * 0.1).ceil() as u64);
            assert_eq!(
                check_count(codes::METRIC_INFLATION_LIKES, "likes", limit, Some(live)),
                None,
                "{live}"
            );
            let finding = check_count(
                codes::METRIC_INFLATION_LIKES,
                "likes",
                limit + 1,
                Some(live),
            )
            .unwrap();
            assert_eq!(finding.code, "metric_inflation_likes");
            assert_eq!(
                (finding.expected.clone(), finding.found.clone()),
                (json!(live), json!(limit + 1))
            );
        }
    }

    #[test]
    fn each_count_has_its_own_code() {
        let mut submitted = post();
        submitted.likes = 12;
        submitted.retweets = 5;
        submitted.responses = 3;
        submitted.followers = 1321;
        assert_eq!(
            codes_of(&check_against_x(&submitted, &live())),
            [
                "metric_inflation_likes",
                "metric_inflation_retweets",
                "metric_inflation_replies",
                "metric_inflation_followers"
            ]
        );
        submitted.followers = 1320;
        assert_eq!(check_against_x(&submitted, &live()).len(), 3);
    }

    #[test]
    fn text_author_and_date_are_compared_as_the_brief_says() {
        let mut submitted = post();
        submitted.content = "SN45 & friends to the moon".into();
        submitted.author = "MIRA_BUILDS".into();
        let findings = check_against_x(&submitted, &live());
        assert_eq!(
            codes_of(&findings),
            ["text_mismatch"],
            "author case is ignored"
        );
        assert_eq!(
            findings[0].expected,
            json!("SN45 &amp; friends to the moon")
        );

        let mut submitted = post();
        submitted.author = "mira_build".into();
        submitted.date = DATE + 1;
        assert_eq!(
            codes_of(&check_against_x(&submitted, &live())),
            ["author_mismatch", "timestamp_mismatch"]
        );
    }

    #[test]
    fn retweets_non_english_posts_and_false_account_ages_fail() {
        let now = DATE + 86_400;
        assert_eq!(check_x_facts(&post(), &live(), now), []);

        let retweet = LivePost {
            retweet_of: Some("5".into()),
            ..live()
        };
        assert_eq!(
            codes_of(&check_x_facts(&post(), &retweet, now)),
            ["retweet"]
        );
        let text_retweet = LivePost {
            text: "RT @kim: SN45 to the moon".into(),
            ..live()
        };
        assert_eq!(
            codes_of(&check_x_facts(&post(), &text_retweet, now)),
            ["retweet"]
        );

        let portuguese = LivePost {
            lang: Some("pt".into()),
            ..live()
        };
        assert_eq!(
            codes_of(&check_x_facts(&post(), &portuguese, now)),
            ["not_english"]
        );

        // The account is 400 days old on the post's date and 401 a day later.
        for age in [399, 400, 401, 402] {
            let submitted = SubmitRequest {
                account_age: age,
                ..post()
            };
            assert_eq!(check_x_facts(&submitted, &live(), now), [], "{age}");
        }
        for age in [0, 398, 403, 99_999] {
            let submitted = SubmitRequest {
                account_age: age,
                ..post()
            };
            assert_eq!(
                codes_of(&check_x_facts(&submitted, &live(), now)),
                ["account_age_mismatch"],
                "{age}"
            );
        }
    }

    #[test]
    fn what_x_did_not_report_is_unchecked_and_inconclusive_never_zero() {
        assert_eq!(unreported(&live()), None);
        let sparse = LivePost {
            retweets: None,
            followers: None,
            ..live()
        };
        // Submitted counts far above anything: nothing to compare with, so no inflation.
        let submitted = SubmitRequest {
            retweets: 1_000_000,
            followers: 1_000_000,
            ..post()
        };
        assert_eq!(check_against_x(&submitted, &sparse), []);
        let trouble = unreported(&sparse).unwrap();
        assert_eq!(trouble.code, "x_api_error");
        assert!(
            trouble.message.contains("retweet_count, followers_count"),
            "{}",
            trouble.message
        );
        let judgement = judge(vec![], vec![trouble]);
        assert_eq!(judgement.outcome, VerdictOutcome::Inconclusive);
    }

    #[test]
    fn the_snowflake_check_allows_one_second() {
        let id = snowflake(DATE);
        assert_eq!(check_snowflake(id, DATE), None);
        assert_eq!(check_snowflake(id, DATE + 1), None);
        assert_eq!(check_snowflake(id, DATE - 1), None);
        let finding = check_snowflake(id, DATE + 2).unwrap();
        assert_eq!(finding.code, "snowflake_time_mismatch");
        assert_eq!(finding.expected, json!(DATE));
        assert!(check_snowflake(id, DATE - 3600).is_some());
        // The brief's formula on a real-looking id: 1860000000000000001 encodes
        // 1732293531785 ms, 2024-11-22T16:38:51.785Z.
        assert_eq!(
            check_snowflake(1_860_000_000_000_000_001, 1_732_293_531),
            None
        );
        assert!(check_snowflake(1_860_000_000_000_000_001, 1_732_293_529).is_some());
        // Sequential ids from before snowflakes encode no time.
        assert_eq!(check_snowflake(20, 1_142_974_214), None);
    }

    #[test]
    fn token_keys_are_lowercased_and_trimmed_and_small_values_ignored() {
        let map = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
            pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
        };
        assert_eq!(
            normalize_tokens(&map(&[
                (" Apex ", 0.3),
                ("apex", 0.5),
                ("tiny", 0.049),
                ("nan", f64::NAN)
            ])),
            map(&[("apex", 0.5)])
        );
        let ours = map(&[("talisman_ai", 1.0)]);
        assert_eq!(compare_tokens(&map(&[(" Talisman_AI", 1.0)]), &ours), None);
        assert_eq!(
            compare_tokens(&map(&[("talisman_ai", 1.0), ("chutes", 0.049)]), &ours),
            None,
            "values under 0.05 are ignored"
        );
        assert_eq!(
            compare_tokens(&map(&[("talisman_ai", 1.0), ("chutes", 0.05)]), &ours),
            None,
            "0.05 is kept but differs from the absent 0 by exactly the tolerance"
        );
        let finding =
            compare_tokens(&map(&[("talisman_ai", 1.0), ("chutes", 0.06)]), &ours).unwrap();
        assert_eq!(finding.code, "tokens_mismatch");
        assert!(finding.message.contains("chutes"), "{}", finding.message);
        assert!(compare_tokens(&map(&[("chutes", 1.0)]), &ours).is_some());
        assert!(compare_tokens(&map(&[]), &ours).is_some());
    }

    #[test]
    fn the_tolerance_edges_are_point_zero_five_plus_one_e_minus_nine() {
        let one = |v: f64| BTreeMap::from([("a".to_string(), v)]);
        assert_eq!(compare_tokens(&one(0.95), &one(1.0)), None);
        assert_eq!(compare_tokens(&one(0.5 + 0.05 + 0.9e-9), &one(0.5)), None);
        assert!(compare_tokens(&one(0.5 + 0.05 + 2e-9), &one(0.5)).is_some());
        assert_eq!(compare_sentiment(0.55, 0.5), None);
        assert_eq!(compare_sentiment(-0.45, -0.5), None);
        assert_eq!(compare_sentiment(0.5 + 0.05 + 0.9e-9, 0.5), None);
        assert!(compare_sentiment(0.5 + 0.05 + 2e-9, 0.5).is_some());
        assert!(compare_sentiment(0.0, 0.5).is_some());
        assert!(compare_sentiment(f64::NAN, 0.5).is_some());
    }

    #[test]
    fn a_fail_outranks_trouble_and_is_named_after_its_most_basic_finding() {
        let token = compare_tokens(&BTreeMap::new(), &BTreeMap::from([("a".into(), 1.0)])).unwrap();
        let text = check_against_x(
            &SubmitRequest {
                content: "other".into(),
                ..post()
            },
            &live(),
        )
        .remove(0);
        let trouble = Finding::trouble(
            codes::X_API_ERROR,
            "X answered 503".into(),
            json!({"status": 503}),
        );

        let judgement = judge(vec![token.clone(), text], vec![trouble.clone()]);
        assert_eq!(judgement.outcome, VerdictOutcome::Fail);
        assert_eq!(judgement.code(), Some("text_mismatch"));
        let item = verdict_item("5Val", "vid", &post(), &judgement);
        assert!(!item.success);
        assert_eq!(item.outcome, Some(VerdictOutcome::Fail));
        let reason = item.failure_reason.unwrap();
        assert_eq!(reason.post_id.as_deref(), Some(post().post_id.as_str()));
        let details = reason.details.unwrap();
        assert_eq!(details["expected"], "SN45 &amp; friends to the moon");
        assert_eq!(details["found"], "other");
        assert_eq!(details["also"][0]["code"], "tokens_mismatch");

        let judgement = judge(vec![], vec![trouble]);
        assert_eq!(judgement.outcome, VerdictOutcome::Inconclusive);
        let item = verdict_item("5Val", "vid", &post(), &judgement);
        assert!(!item.success);
        assert_eq!(item.failure_reason.unwrap().code, "x_api_error");

        let judgement = judge(vec![], vec![]);
        let item = verdict_item("5Val", "vid", &post(), &judgement);
        assert!(item.success && item.failure_reason.is_none());
        assert_eq!(item.outcome, Some(VerdictOutcome::Pass));
        assert_eq!(item.miner_hotkey, "5Miner");
    }
}
