//! Pulse's sr25519, SS58, auth and wallet code against vectors made by the real Bittensor
//! wallet library (see `fixtures/README.md`).

use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use protocol::auth::{self, AuthError, AuthForm, AuthPolicy, header};
use protocol::{Hotkey, keys, ss58, wallet};
use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn vectors() -> Value {
    let raw = std::fs::read_to_string(fixtures().join("sr25519.json")).unwrap();
    serde_json::from_str(&raw).unwrap()
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} missing in {v}"))
}

#[test]
fn every_keypair_address_decodes_to_its_public_key_and_back() {
    let v = vectors();
    let pairs = v["keypairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 4);
    for pair in pairs {
        let address = str_of(pair, "ss58_address");
        let key = ss58::decode(address).unwrap();
        assert_eq!(
            hex::encode(key),
            str_of(pair, "public_key_hex"),
            "{address}"
        );
        assert_eq!(ss58::encode(&key), address);
    }
}

#[test]
fn keys_from_secret_seeds_match_the_wallet_library() {
    let v = vectors();
    let mut checked = 0;
    for pair in v["keypairs"].as_array().unwrap() {
        if let Some(seed) = pair["secret_seed_hex"].as_str() {
            let key = Hotkey::from_seed_hex(seed).unwrap();
            assert_eq!(key.ss58(), str_of(pair, "ss58_address"));
            assert_eq!(
                hex::encode(key.public_key()),
                str_of(pair, "public_key_hex")
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 2);
}

#[test]
fn every_bad_address_is_rejected() {
    let v = vectors();
    let bad = v["bad_addresses"].as_array().unwrap();
    assert_eq!(bad.len(), 5);
    for case in bad {
        let address = str_of(case, "address");
        assert!(
            ss58::decode(address).is_err(),
            "{address} ({}) was accepted",
            str_of(case, "why")
        );
    }
}

/// The bytes a vector's signature covers.
fn signed_bytes(sig: &Value) -> Vec<u8> {
    sig["signed_bytes"]
        .as_str()
        .unwrap_or_else(|| str_of(sig, "message"))
        .as_bytes()
        .to_vec()
}

#[test]
fn every_signature_vector_verifies_exactly_when_it_is_valid() {
    let v = vectors();
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 17);
    let (mut valid, mut invalid) = (0, 0);
    for sig in sigs {
        let public = ss58::decode(str_of(sig, "ss58_address")).unwrap();
        let signature = keys::decode_hex_array::<64>(str_of(sig, "signature_hex")).unwrap();
        let expected = sig["valid"].as_bool().unwrap();
        assert_eq!(
            keys::verify(&public, &signed_bytes(sig), &signature),
            expected,
            "{}: {}",
            str_of(sig, "kind"),
            str_of(sig, "note")
        );
        if expected { valid += 1 } else { invalid += 1 }
    }
    assert_eq!((valid, invalid), (5, 12));
}

fn x_auth_headers(sig: &Value) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: &str| {
        headers.insert(name, HeaderValue::from_str(value).unwrap());
    };
    set(header::X_AUTH_SS58_ADDRESS, str_of(sig, "ss58_address"));
    set(header::X_AUTH_MESSAGE, str_of(sig, "message"));
    set(header::X_AUTH_TIMESTAMP, str_of(sig, "x_auth_timestamp"));
    set(header::X_AUTH_SIGNATURE, str_of(sig, "signature_hex"));
    headers
}

#[test]
fn x_auth_vectors_authenticate_as_the_server_sees_them() {
    let v = vectors();
    let policy = AuthPolicy::default();
    let mut seen = 0;
    for sig in v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "x-auth")
    {
        seen += 1;
        let headers = x_auth_headers(sig);
        let stamp: f64 = str_of(sig, "x_auth_timestamp").parse().unwrap();
        let now = UNIX_EPOCH + Duration::from_secs_f64(stamp) + Duration::from_secs(40);
        let result = auth::verify_request(&headers, b"any body", &policy, now);
        if sig["valid"].as_bool().unwrap() {
            let verified = result.unwrap().unwrap();
            assert_eq!(verified.hotkey, str_of(sig, "ss58_address"));
            assert_eq!(verified.form, AuthForm::XAuth);
        } else {
            // A changed message no longer matches its timestamp header; the rest fail the
            // signature check.
            let err = result.unwrap_err();
            assert!(
                matches!(err, AuthError::BadSignature | AuthError::Malformed { .. }),
                "{}: {err}",
                str_of(sig, "note")
            );
        }
    }
    assert_eq!(seen, 8);
}

#[test]
fn browser_wallet_bytes_wrapped_x_auth_signature_is_accepted() {
    let v = vectors();
    let sig = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "x-auth-wrapped")
        .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::X_AUTH_SS58_ADDRESS,
        HeaderValue::from_str(str_of(sig, "ss58_address")).unwrap(),
    );
    headers.insert(
        header::X_AUTH_MESSAGE,
        HeaderValue::from_str(str_of(sig, "message")).unwrap(),
    );
    headers.insert(
        header::X_AUTH_TIMESTAMP,
        HeaderValue::from_static("1764120999"),
    );
    headers.insert(
        header::X_AUTH_SIGNATURE,
        HeaderValue::from_str(str_of(sig, "signature_hex")).unwrap(),
    );
    let now = UNIX_EPOCH + Duration::from_secs(1_764_120_999);
    let verified = auth::verify_request(&headers, b"", &AuthPolicy::default(), now)
        .unwrap()
        .unwrap();
    assert_eq!(
        verified.hotkey,
        "5FnoWRL4FYzd29q8zXoY3JWio9PtBPgrAFu2RcgQazRQsiCs"
    );
}

#[test]
fn epistula_vectors_authenticate_exactly_when_valid() {
    let v = vectors();
    let policy = AuthPolicy::default();
    let mut seen = 0;
    for sig in v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "epistula-v2")
    {
        seen += 1;
        let body = str_of(sig, "body").as_bytes();
        let uuid = str_of(sig, "epistula_uuid");
        let ts = sig["epistula_timestamp_ms"].as_u64().unwrap();
        // The vector's message must be exactly what Pulse signs and checks.
        let expected_message =
            auth::epistula_message(body, uuid, ts, str_of(sig, "epistula_signed_for"));
        let message_tampered = sig["note"] == "message changed after signing";
        assert_eq!(
            expected_message == str_of(sig, "message"),
            !message_tampered
        );

        let mut headers = HeaderMap::new();
        headers.insert(header::EPISTULA_VERSION, HeaderValue::from_static("2"));
        headers.insert(
            header::EPISTULA_TIMESTAMP,
            HeaderValue::from_str(&ts.to_string()).unwrap(),
        );
        headers.insert(header::EPISTULA_UUID, HeaderValue::from_str(uuid).unwrap());
        headers.insert(
            header::EPISTULA_SIGNED_BY,
            HeaderValue::from_str(str_of(sig, "ss58_address")).unwrap(),
        );
        headers.insert(
            header::EPISTULA_REQUEST_SIGNATURE,
            HeaderValue::from_str(&format!("0x{}", str_of(sig, "signature_hex"))).unwrap(),
        );
        // The "message changed" vector is checked by signing a different body: the server
        // recomputes the message from the body, so a tampered message means a tampered body.
        let body_sent: Vec<u8> = if message_tampered {
            [body, b" "].concat()
        } else {
            body.to_vec()
        };
        let now = UNIX_EPOCH + Duration::from_millis(ts + 1_000);
        let result = auth::verify_request(&headers, &body_sent, &policy, now);
        if sig["valid"].as_bool().unwrap() {
            let verified = result.unwrap().unwrap();
            assert_eq!(verified.form, AuthForm::Epistula);
            assert_eq!(verified.epistula_uuid.unwrap().to_string(), uuid);
        } else {
            assert_eq!(
                result,
                Err(AuthError::BadSignature),
                "{}",
                str_of(sig, "note")
            );
        }
    }
    assert_eq!(seen, 4);
}

#[test]
fn signatures_made_by_pulse_verify_against_the_vector_keys() {
    // Same seed as the library's `seed_11` pair: Pulse signs, the library's public key verifies.
    let key = Hotkey::from_seed([0x11; 32]);
    assert_eq!(
        key.ss58(),
        "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi"
    );
    let public = ss58::decode("5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi").unwrap();
    let sig = key.sign(b"talisman-ai-auth:1764120123");
    assert!(keys::verify(&public, b"talisman-ai-auth:1764120123", &sig));
}

#[test]
fn the_wallet_library_hotkey_file_loads_as_its_address() {
    let dir = fixtures().join("wallets");
    let path = wallet::hotkey_path(&dir, "pulse-test", "default");
    let key = wallet::load_hotkey(&path).unwrap();
    let v = vectors();
    let dev = v["keypairs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "dev_phrase")
        .unwrap();
    assert_eq!(key.ss58(), str_of(dev, "ss58_address"));
    assert_eq!(
        key.ss58(),
        "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV"
    );

    // The file's privateKey is the same key in expanded form: both load paths agree.
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let private = keys::decode_hex_array::<64>(str_of(&file, "privateKey")).unwrap();
    assert_eq!(
        Hotkey::from_expanded_secret(&private).unwrap().ss58(),
        key.ss58()
    );
    assert_eq!(
        hex::encode(key.expanded_secret()),
        str_of(&file, "privateKey").trim_start_matches("0x")
    );
}

#[test]
fn the_wallet_library_signature_of_the_dev_key_verifies_with_the_loaded_wallet_key() {
    let dir = fixtures().join("wallets");
    let key = wallet::load_hotkey(&wallet::hotkey_path(&dir, "pulse-test", "default")).unwrap();
    let v = vectors();
    let sig = v["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["signer"] == "dev_phrase" && s["valid"] == true)
        .unwrap();
    let signature = keys::decode_hex_array::<64>(str_of(sig, "signature_hex")).unwrap();
    assert!(keys::verify(
        &key.public_key(),
        str_of(sig, "message").as_bytes(),
        &signature
    ));
}
