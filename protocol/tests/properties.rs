//! Property tests: normalisation, canonical post ids, SS58 and request authentication hold
//! their promises for arbitrary input, not only the cases someone thought of.

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;
use protocol::auth::{self, AuthPolicy};
use protocol::post_id::{PostIdError, parse_canonical_post_id};
use protocol::text::{is_python_whitespace, normalize_content};
use protocol::{Hotkey, ss58};
use unicode_normalization::UnicodeNormalization;

/// Text that favours the characters normalisation cares about.
fn tricky_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just(" ".to_string()),
        Just("\r\n".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just("\u{1c}".to_string()),
        Just("\u{1f}".to_string()),
        Just("\u{a0}".to_string()),
        Just("\u{200b}".to_string()),
        Just("\u{3000}".to_string()),
        Just("e\u{301}".to_string()),
        Just("🚀".to_string()),
        "[a-zA-Z0-9$#@]{1,6}",
        any::<char>().prop_map(String::from),
    ];
    proptest::collection::vec(pieces, 0..40).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn normalised_text_is_a_fixed_point_without_edge_or_double_spaces(raw in tricky_text()) {
        let once = normalize_content(&raw);
        prop_assert_eq!(normalize_content(&once), once.clone());
        prop_assert!(!once.starts_with(' ') && !once.ends_with(' '));
        prop_assert!(!once.contains("  "));
        prop_assert!(once.chars().all(|c| c == ' ' || !is_python_whitespace(c)));
        prop_assert_eq!(once.nfc().collect::<String>(), once.clone());
    }

    #[test]
    fn normalisation_keeps_every_non_space_character_in_order(raw in tricky_text()) {
        let strip = |s: &str| s.nfc().filter(|c| !is_python_whitespace(*c)).collect::<String>();
        prop_assert_eq!(strip(&normalize_content(&raw)), strip(&raw));
    }

    #[test]
    fn every_positive_u64_has_exactly_one_accepted_spelling(id in 1u64.., zeros in 1usize..4) {
        prop_assert_eq!(parse_canonical_post_id(&id.to_string()), Ok(id));
        let padded = format!("{}{id}", "0".repeat(zeros));
        prop_assert_eq!(parse_canonical_post_id(&padded), Err(PostIdError::LeadingZero));
    }

    #[test]
    fn post_id_parsing_accepts_only_canonical_digits(raw in ".{0,30}") {
        if let Ok(id) = parse_canonical_post_id(&raw) {
            prop_assert_eq!(id.to_string(), raw);
        }
    }

    #[test]
    fn ss58_round_trips_any_key_and_rejects_any_single_change(key in any::<[u8; 32]>(), at in 0usize..48, to in 0usize..58) {
        let address = ss58::encode(&key);
        prop_assert_eq!(ss58::decode(&address), Ok(key));
        let alphabet: Vec<char> = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".chars().collect();
        let mut changed: Vec<char> = address.chars().collect();
        let position = at % changed.len();
        if changed[position] != alphabet[to] {
            changed[position] = alphabet[to];
            let changed: String = changed.into_iter().collect();
            prop_assert_ne!(ss58::decode(&changed), Ok(key));
        }
    }

    #[test]
    fn ss58_decoding_never_panics(raw in ".{0,60}") {
        let _ = ss58::decode(&raw);
    }

    #[test]
    fn signature_and_header_parsing_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        auth::check_verify_invariants(&data);
    }

    #[test]
    fn a_signed_request_verifies_and_any_changed_byte_of_its_body_does_not(
        body in proptest::collection::vec(any::<u8>(), 1..200), flip in any::<usize>(), seed in any::<[u8; 32]>(),
    ) {
        let key = Hotkey::from_seed(seed);
        let now = UNIX_EPOCH + Duration::from_secs(1_764_120_123);
        let headers = auth::sign_epistula(&key, &body, None, now);
        let verified = auth::verify_request(&headers, &body, &AuthPolicy::default(), now).unwrap().unwrap();
        prop_assert_eq!(verified.hotkey.as_str(), key.ss58());
        let mut tampered = body.clone();
        let i = flip % tampered.len();
        tampered[i] ^= 0x01;
        prop_assert!(auth::verify_request(&headers, &tampered, &AuthPolicy::default(), now).is_err());
    }

    #[test]
    fn any_header_value_is_refused_or_accepted_without_panicking(value in proptest::collection::vec(any::<u8>(), 0..140)) {
        let now = UNIX_EPOCH + Duration::from_secs(1_764_120_123);
        let signed = auth::sign_x_auth(&Hotkey::from_seed([7; 32]), auth::DEFAULT_MESSAGE_PREFIX, now);
        for name in [auth::header::X_AUTH_SIGNATURE, auth::header::X_AUTH_TIMESTAMP, auth::header::X_AUTH_MESSAGE, auth::header::X_AUTH_SS58_ADDRESS] {
            let mut headers: HeaderMap = signed.clone();
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                headers.insert(name, v);
                let _ = auth::verify_request(&headers, b"", &AuthPolicy::default(), now);
            }
        }
    }
}

#[test]
fn every_committed_fuzz_input_keeps_the_invariants() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/auth_headers");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        auth::check_verify_invariants(&std::fs::read(entry.unwrap().path()).unwrap());
        replayed += 1;
    }
    assert!(replayed >= 3, "the corpus at {} is missing", dir.display());
}
