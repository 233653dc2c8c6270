//! The bounds of what a verdict carries, shared by the validator (which bounds a verdict
//! before it writes it) and the server (which bounds whatever it is sent before it stores
//! it).
//!
//! A failed verdict quotes the submission (`failure_reason.details.found`), and a miner
//! controls the submission: 25,000 control characters are 150 KB of JSON once escaped. Left
//! unbounded, a handful of such verdicts make a batch larger than the server's body limit,
//! and every verdict queued with them waits forever. So every text of a verdict is cut to a
//! documented length (docs/protocol.md#what-a-verdict-carries), and its `details` to a
//! documented size as JSON.
//!
//! PostgreSQL `text` and `jsonb` cannot hold U+0000 (NUL); a verdict quoting a submission
//! that carried one could never be stored. Every NUL in a verdict's text (keys of `details`
//! included) becomes U+FFFD, the replacement character: the verdict stays readable and
//! storable, and a NUL is never what a validator meant to say.

use serde_json::{Map, Value};

use crate::api::FailureReason;

/// Longest `failure_reason.code`, in characters.
pub const MAX_CODE_CHARS: usize = 64;
/// Longest `failure_reason.message`, in characters.
pub const MAX_MESSAGE_CHARS: usize = 1_000;
/// Longest `failure_reason.post_id`, in characters (a canonical id has at most 20 digits).
pub const MAX_POST_ID_CHARS: usize = 32;
/// Longest string anywhere in `failure_reason.details` (keys included), in characters.
pub const MAX_DETAIL_STRING_CHARS: usize = 1_000;
/// Most entries of one array or object in `details`.
pub const MAX_DETAIL_ENTRIES: usize = 64;
/// Deepest nesting of `details`.
pub const MAX_DETAIL_DEPTH: usize = 8;
/// Largest `details` as compact JSON, in bytes. A bounded verdict is at most about
/// 24 KiB on the wire, so even a full batch of 1,000 stays far from a megabyte and the
/// validator's batches of 200 stay under the server's default 512 KiB body limit.
pub const MAX_DETAILS_BYTES: usize = 16 * 1024;
/// What a cut string ends with.
pub const ELLIPSIS: char = '…';
/// What replaces U+0000.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// `text` without NUL and at most `max` characters: a longer text keeps its first
/// `max - 1` characters and ends with [`ELLIPSIS`].
pub fn bound_text(text: &str, max: usize) -> String {
    let clean = || {
        text.chars()
            .map(|c| if c == '\0' { NUL_REPLACEMENT } else { c })
    };
    if text.chars().count() <= max {
        return clean().collect();
    }
    let mut out: String = clean().take(max.saturating_sub(1)).collect();
    out.push(ELLIPSIS);
    out
}

/// `details` within the bounds: strings (and keys) cut to [`MAX_DETAIL_STRING_CHARS`],
/// arrays and objects to [`MAX_DETAIL_ENTRIES`] entries (a cut array ends with a string
/// saying how many were left out; a cut object gets a `"…"` key saying so), nesting below
/// [`MAX_DETAIL_DEPTH`] replaced by a string; and when the result is still larger than
/// [`MAX_DETAILS_BYTES`], `{"truncated": true, "bytes": <its size>, "excerpt": <the start of
/// its JSON text>}`.
pub fn bound_details(details: &Value) -> Value {
    let bounded = bound_value(details, 0);
    let size = serde_json::to_vec(&bounded).map_or(usize::MAX, |v| v.len());
    if size <= MAX_DETAILS_BYTES {
        return bounded;
    }
    let text = bounded.to_string();
    serde_json::json!({
        "truncated": true,
        "bytes": size,
        "excerpt": bound_text(&text, MAX_DETAIL_STRING_CHARS),
    })
}

fn bound_value(value: &Value, depth: usize) -> Value {
    match value {
        Value::String(text) => Value::String(bound_text(text, MAX_DETAIL_STRING_CHARS)),
        Value::Array(_) | Value::Object(_) if depth >= MAX_DETAIL_DEPTH => {
            Value::String(bound_text(&value.to_string(), MAX_DETAIL_STRING_CHARS))
        }
        Value::Array(items) => {
            let mut out: Vec<Value> = items
                .iter()
                .take(MAX_DETAIL_ENTRIES)
                .map(|v| bound_value(v, depth + 1))
                .collect();
            if items.len() > MAX_DETAIL_ENTRIES {
                out.push(Value::String(format!(
                    "{ELLIPSIS} {} more left out",
                    items.len() - MAX_DETAIL_ENTRIES
                )));
            }
            Value::Array(out)
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map.iter().take(MAX_DETAIL_ENTRIES) {
                out.insert(
                    bound_text(key, MAX_DETAIL_STRING_CHARS),
                    bound_value(v, depth + 1),
                );
            }
            if map.len() > MAX_DETAIL_ENTRIES {
                out.insert(
                    ELLIPSIS.to_string(),
                    Value::String(format!("{} more left out", map.len() - MAX_DETAIL_ENTRIES)),
                );
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// `reason` within every bound of this module, NUL replaced everywhere.
pub fn bound_failure_reason(reason: &FailureReason) -> FailureReason {
    FailureReason {
        code: bound_text(&reason.code, MAX_CODE_CHARS),
        message: bound_text(&reason.message, MAX_MESSAGE_CHARS),
        post_id: reason
            .post_id
            .as_deref()
            .map(|id| bound_text(id, MAX_POST_ID_CHARS)),
        details: reason.details.as_ref().map(bound_details),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn short_text_is_kept_and_long_text_is_cut_with_an_ellipsis() {
        assert_eq!(bound_text("abc", 3), "abc");
        assert_eq!(bound_text("abcd", 3), "ab…");
        assert_eq!(bound_text("🚀🚀🚀🚀", 2).chars().count(), 2);
        assert_eq!(bound_text("a\0b", 10), "a\u{FFFD}b");
    }

    #[test]
    fn a_submission_of_control_characters_makes_a_small_verdict() {
        // The probe's verdict: `found` quoting 25,000 control characters.
        let found = "\u{1}".repeat(25_000);
        let details = json!({"expected": "text", "found": found,
            "also": [{"code": "tokens_mismatch", "found": found}]});
        assert!(serde_json::to_vec(&details).unwrap().len() > 250_000);
        let bounded = bound_details(&details);
        let size = serde_json::to_vec(&bounded).unwrap().len();
        assert!(size <= MAX_DETAILS_BYTES, "{size}");
        assert_eq!(
            bounded["found"].as_str().unwrap().chars().count(),
            MAX_DETAIL_STRING_CHARS
        );
        assert!(bounded["found"].as_str().unwrap().ends_with(ELLIPSIS));
        assert_eq!(bounded["expected"], "text");
    }

    #[test]
    fn wide_deep_or_large_details_are_bounded_too() {
        let wide = Value::Array((0..1000).map(|i| json!(i)).collect());
        let bounded = bound_details(&wide);
        assert_eq!(bounded.as_array().unwrap().len(), MAX_DETAIL_ENTRIES + 1);

        let mut deep = json!("bottom");
        for _ in 0..100 {
            deep = json!({ "d": deep });
        }
        let bounded = bound_details(&deep);
        let mut level = &bounded;
        let mut depth = 0;
        while let Some(inner) = level.get("d") {
            level = inner;
            depth += 1;
        }
        assert_eq!(depth, MAX_DETAIL_DEPTH);
        assert!(level.is_string());

        // 64 keys of 64 strings of 1,000 characters: every piece within its bound, the
        // whole far above the size bound.
        let big: Map<String, Value> = (0..64)
            .map(|i| {
                (
                    format!("k{i}"),
                    Value::Array((0..64).map(|_| json!("x".repeat(1000))).collect()),
                )
            })
            .collect();
        let bounded = bound_details(&Value::Object(big));
        assert_eq!(bounded["truncated"], true);
        assert!(bounded["bytes"].as_u64().unwrap() > MAX_DETAILS_BYTES as u64);
        assert!(serde_json::to_vec(&bounded).unwrap().len() <= MAX_DETAILS_BYTES);
    }

    #[test]
    fn nul_is_replaced_in_every_text_of_a_reason_keys_included() {
        let reason = FailureReason {
            code: "text\0mismatch".into(),
            message: "m\0".into(),
            post_id: Some("1\0".into()),
            details: Some(json!({"fo\0und": ["a\0", {"k": "\0"}], "n": 1})),
        };
        let bounded = bound_failure_reason(&reason);
        let text = serde_json::to_string(&bounded).unwrap();
        assert!(!text.contains("\\u0000"), "{text}");
        assert_eq!(bounded.code, "text\u{FFFD}mismatch");
        assert_eq!(
            bounded.details.unwrap()["fo\u{FFFD}und"][1]["k"],
            "\u{FFFD}"
        );
    }
}
