//! `pulse-miner sign-request`: the signature headers for one request, to try the API with
//! curl or another HTTP tool.
//!
//! Epistula headers sign the exact body bytes and their uuid is accepted once, so a printed
//! request works once, within 300 s, with the body unchanged. X-Auth headers sign only the
//! time and may be reused while fresh.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::Context;
use protocol::Hotkey;
use protocol::auth::{self, AuthForm};
use serde_json::{Map, Value};

use crate::config::SignFormat;

/// A signed request, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    /// The method, upper case.
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// Headers to send, in order, with their conventional spelling.
    pub headers: Vec<(String, String)>,
    /// The body that was signed.
    pub body: Vec<u8>,
}

/// Where the body came from (curl reads a file itself; other bodies are inlined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySource {
    /// No body.
    None,
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

/// `target` as an absolute URL: a full URL as it is, a path joined to `base`.
pub fn resolve_url(base: &str, target: &str) -> anyhow::Result<String> {
    if target.starts_with("http://") || target.starts_with("https://") {
        return Ok(target.to_owned());
    }
    anyhow::ensure!(
        target.starts_with('/'),
        "{target:?} is neither a URL nor a path starting with '/'"
    );
    Ok(format!("{}{target}", base.trim_end_matches('/')))
}

/// The conventional spelling of a header name (`x-auth-ss58address` ->
/// `X-Auth-SS58Address`).
pub fn display_name(name: &str) -> String {
    name.split('-')
        .map(|part| match part {
            "ss58address" => "SS58Address".to_owned(),
            _ => {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_uppercase().chain(chars).collect()
                })
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// A request to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsigned {
    /// The method (any case).
    pub method: String,
    /// The absolute URL.
    pub url: String,
    /// The body.
    pub body: Vec<u8>,
    /// Epistula's `Signed-For`, if any.
    pub signed_for: Option<String>,
}

/// Signs `request` as `hotkey` in `form` (X-Auth with `message_prefix`) at `now`.
pub fn sign(
    hotkey: &Hotkey,
    form: AuthForm,
    message_prefix: &str,
    request: Unsigned,
    now: SystemTime,
) -> anyhow::Result<SignedRequest> {
    let Unsigned {
        method,
        url,
        body,
        signed_for,
    } = request;
    let method = method.to_ascii_uppercase();
    reqwest::Method::from_bytes(method.as_bytes())
        .with_context(|| format!("{method:?} is not an HTTP method"))?;
    let map = match form {
        AuthForm::Epistula => auth::sign_epistula(hotkey, &body, signed_for.as_deref(), now),
        AuthForm::XAuth => auth::sign_x_auth(hotkey, message_prefix, now),
    };
    let mut headers: Vec<(String, String)> = map
        .iter()
        .map(|(name, value)| {
            (
                display_name(name.as_str()),
                value
                    .to_str()
                    .expect("signature headers are ASCII")
                    .to_owned(),
            )
        })
        .collect();
    if !body.is_empty() {
        headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
    }
    Ok(SignedRequest {
        method,
        url,
        headers,
        body,
    })
}

/// `text` in single quotes for a POSIX shell.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn inline_body(request: &SignedRequest) -> anyhow::Result<&str> {
    std::str::from_utf8(&request.body)
        .context("the body is not UTF-8; pass it with --body <file> to print a curl command")
}

/// The request as `format` prints it.
pub fn render(
    request: &SignedRequest,
    format: SignFormat,
    source: &BodySource,
) -> anyhow::Result<String> {
    match format {
        SignFormat::Headers => Ok(request
            .headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect()),
        SignFormat::Curl => {
            let mut parts = vec![format!(
                "curl -sS -X {} {}",
                request.method,
                shell_quote(&request.url)
            )];
            for (name, value) in &request.headers {
                parts.push(format!("-H {}", shell_quote(&format!("{name}: {value}"))));
            }
            match source {
                BodySource::None => {}
                BodySource::File(path) => parts.push(format!(
                    "--data-binary @{}",
                    shell_quote(&path.display().to_string())
                )),
                BodySource::Stdin => parts.push(format!(
                    "--data-binary {}",
                    shell_quote(inline_body(request)?)
                )),
            }
            Ok(format!("{}\n", parts.join(" \\\n  ")))
        }
        SignFormat::Json => {
            let headers: Map<String, Value> = request
                .headers
                .iter()
                .map(|(name, value)| (name.clone(), Value::String(value.clone())))
                .collect();
            let mut object = Map::new();
            object.insert("method".into(), request.method.clone().into());
            object.insert("url".into(), request.url.clone().into());
            object.insert("headers".into(), Value::Object(headers));
            object.insert("body".into(), inline_body(request)?.into());
            Ok(format!("{}\n", Value::Object(object)))
        }
    }
}

/// Reads the body `--body` names: a file, `-` for stdin, or nothing.
pub fn read_body(path: Option<&Path>) -> anyhow::Result<(Vec<u8>, BodySource)> {
    match path {
        None => Ok((Vec::new(), BodySource::None)),
        Some(path) if path == Path::new("-") => {
            let mut body = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut body)
                .context("reading the body from stdin")?;
            Ok((body, BodySource::Stdin))
        }
        Some(path) => {
            let body = std::fs::read(path)
                .with_context(|| format!("reading the body from {}", path.display()))?;
            Ok((body, BodySource::File(path.to_path_buf())))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn header_names_get_their_conventional_spelling() {
        assert_eq!(display_name("x-auth-ss58address"), "X-Auth-SS58Address");
        assert_eq!(
            display_name("epistula-request-signature"),
            "Epistula-Request-Signature"
        );
    }

    #[test]
    fn paths_join_the_api_url_and_urls_stay() {
        assert_eq!(
            resolve_url("http://h:8001/", "/v2/status").unwrap(),
            "http://h:8001/v2/status"
        );
        assert_eq!(
            resolve_url("http://h:8001", "https://other/v2/submit").unwrap(),
            "https://other/v2/submit"
        );
        assert!(resolve_url("http://h", "v2/status").is_err());
    }

    #[test]
    fn single_quotes_survive_shell_quoting() {
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn a_curl_command_carries_every_header_and_the_body() {
        let hotkey = Hotkey::from_seed([7; 32]);
        let now = UNIX_EPOCH + Duration::from_secs(1_764_115_200);
        let unsigned = Unsigned {
            method: "post".into(),
            url: "http://h/v2/submit".into(),
            body: b"{\"a\": \"it's\"}".to_vec(),
            signed_for: None,
        };
        let request = sign(&hotkey, AuthForm::Epistula, "p", unsigned, now).unwrap();
        assert_eq!(request.method, "POST");
        let curl = render(&request, SignFormat::Curl, &BodySource::Stdin).unwrap();
        assert!(curl.starts_with("curl -sS -X POST 'http://h/v2/submit' \\\n"));
        assert!(curl.contains("-H 'Epistula-Timestamp: 1764115200000'"));
        assert!(curl.contains(&format!("-H 'Epistula-Signed-By: {}'", hotkey.ss58())));
        assert!(curl.contains("-H 'Content-Type: application/json'"));
        assert!(
            curl.ends_with("--data-binary '{\"a\": \"it'\\''s\"}'\n"),
            "{curl}"
        );
        let file = render(
            &request,
            SignFormat::Curl,
            &BodySource::File("body.json".into()),
        )
        .unwrap();
        assert!(file.ends_with("--data-binary @'body.json'\n"), "{file}");
    }

    #[test]
    fn x_auth_headers_are_printed_without_a_body() {
        let hotkey = Hotkey::from_seed([7; 32]);
        let now = UNIX_EPOCH + Duration::from_secs(1_764_115_200);
        let get = |method: &str| Unsigned {
            method: method.into(),
            url: "http://h/v2/status".into(),
            body: Vec::new(),
            signed_for: None,
        };
        let request = sign(
            &hotkey,
            AuthForm::XAuth,
            "talisman-ai-auth",
            get("GET"),
            now,
        )
        .unwrap();
        let text = render(&request, SignFormat::Headers, &BodySource::None).unwrap();
        assert!(
            text.contains("X-Auth-Message: talisman-ai-auth:1764115200\n"),
            "{text}"
        );
        assert!(!text.contains("Content-Type"));
        assert!(sign(&hotkey, AuthForm::XAuth, "p", get("GE T"), now).is_err());
    }
}
