//! Property tests of the submit body parser: any bytes or JSON give a submission or field
//! errors, never a panic, and an accepted submission keeps every promise
//! (`submission::check_parse_invariants`, shared with the `submit_body` fuzz target).

use proptest::prelude::*;
use protocol::submission::check_parse_invariants;
use serde_json::{Value, json};

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |x| x.is_finite())
            .prop_map(|x| json!(x)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(".{0,12}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn valid_body() -> Value {
    json!({
        "miner_hotkey": "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi",
        "post_id": "1860000000000000001", "content": "SN45 looks strong this week",
        "date": 1_764_120_000, "author": "alice", "account_age": 365, "retweets": 3, "likes": 10,
        "responses": 1, "followers": 1200, "tokens": {"talisman_ai": 1.0}, "sentiment": 0.5, "score": 0.55
    })
}

const FIELDS: [&str; 13] = [
    "miner_hotkey",
    "post_id",
    "content",
    "date",
    "author",
    "account_age",
    "retweets",
    "likes",
    "responses",
    "followers",
    "tokens",
    "sentiment",
    "score",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    #[test]
    fn any_bytes_parse_or_are_refused_cleanly(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_parse_invariants(&body);
    }

    #[test]
    fn any_json_parses_or_is_refused_cleanly(value in any_json()) {
        check_parse_invariants(value.to_string().as_bytes());
    }

    #[test]
    fn a_valid_body_with_one_field_replaced_keeps_the_invariants(field in 0usize..13, value in any_json()) {
        let mut body = valid_body();
        body[FIELDS[field]] = value;
        check_parse_invariants(body.to_string().as_bytes());
    }

    #[test]
    fn a_valid_body_with_arbitrary_content_keeps_the_invariants(content in "\\PC{0,80}", ws in "[ \\t\\r\\n\u{1c}-\u{1f}\u{a0}]{0,5}") {
        let mut body = valid_body();
        body["content"] = json!(format!("{ws}{content}{ws}"));
        check_parse_invariants(body.to_string().as_bytes());
    }
}

#[test]
fn the_valid_example_is_accepted() {
    let parsed =
        protocol::submission::NewSubmission::parse(valid_body().to_string().as_bytes(), i64::MAX);
    assert!(parsed.is_ok(), "{parsed:?}");
}

#[test]
fn every_committed_fuzz_input_keeps_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/submit_body");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        check_parse_invariants(&std::fs::read(entry.unwrap().path()).unwrap());
        replayed += 1;
    }
    assert!(replayed >= 3, "the corpus at {} is missing", dir.display());
}

/// Regression: a CI run found a sentiment that read back one ulp off after a
/// serialise/parse round trip, because serde_json's default float parser is not exact, so a
/// stored value could differ from the one the miner sent. With `float_roundtrip` every
/// number parses to the nearest f64, as Rust's own (exact) parser does.
#[test]
fn floats_in_a_body_parse_exactly() {
    for text in [
        "5.1158223215519255e-34",
        "5.115822321551925e-34",
        "0.30000000000000004",
        "2.2250738585072014e-308",
        "0.1",
    ] {
        let body = valid_body()
            .to_string()
            .replace("\"sentiment\":0.5", &format!("\"sentiment\":{text}"));
        assert!(body.contains(text), "{body}");
        let parsed = protocol::submission::NewSubmission::parse(
            body.as_bytes(),
            protocol::submission::FUZZ_LATEST_DATE,
        )
        .expect("a valid body");
        let exact: f64 = text.parse().unwrap();
        assert_eq!(parsed.sentiment.to_bits(), exact.to_bits(), "{text}");
        check_parse_invariants(body.as_bytes());
    }
}
