//! Subtensor endpoints as Bittensor users type them.
//!
//! The names and URLs are those of the Python SDK's `bittensor/core/settings.py`
//! (`NETWORK_MAP`), so `--subtensor.network finney` means the same node here as in
//! `btcli`. A URL may also be given directly; unlike the SDK, which only accepts
//! `ws://` and `wss://`, plain JSON-RPC over `http://` and `https://` works too.

use std::fmt;

use thiserror::Error;
use url::Url;

/// The networks the SDK knows by name, with the endpoint it connects to for each.
pub const NETWORKS: [(&str, &str); 5] = [
    ("finney", "wss://entrypoint-finney.opentensor.ai:443"),
    ("test", "wss://test.finney.opentensor.ai:443"),
    ("archive", "wss://archive.chain.opentensor.ai:443"),
    ("local", "ws://127.0.0.1:9944"),
    ("latent-lite", "wss://lite.sub.latent.to:443"),
];

/// Why a network name or URL is not a usable endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EndpointError {
    /// Nothing was given.
    #[error(
        "no subtensor network or endpoint given: use finney, test, archive, local, latent-lite or a ws://, wss://, http:// or https:// URL"
    )]
    Empty,
    /// A word that is neither a known network name nor a URL.
    #[error(
        "unknown subtensor network {0:?}: use finney, test, archive, local, latent-lite or a ws://, wss://, http:// or https:// URL"
    )]
    UnknownNetwork(String),
    /// A URL whose scheme is not one of ws, wss, http, https.
    #[error(
        "subtensor endpoint {url:?} has scheme {scheme:?}: use ws://, wss://, http:// or https://"
    )]
    UnsupportedScheme {
        /// The URL as given.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// Text that looks like a URL but does not parse as one, or has no host.
    #[error("subtensor endpoint {url:?} is not a valid URL: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// How the JSON-RPC transport talks to the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// One HTTP POST per request; no subscriptions.
    Http,
    /// One WebSocket connection; requests and subscriptions share it.
    WebSocket,
}

/// A subtensor node to talk to: the network name (when known) and the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The SDK's name for the network (`finney`, `test`, `archive`, `local`,
    /// `latent-lite`), or `unknown` for a URL that is none of them.
    pub network: String,
    /// The JSON-RPC URL.
    pub url: Url,
}

impl Endpoint {
    /// Parses a network name or URL the way `--subtensor.network` and
    /// `--subtensor.chain_endpoint` are read: surrounding whitespace is ignored and
    /// names are matched without regard to case.
    pub fn parse(raw: &str) -> Result<Self, EndpointError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(EndpointError::Empty);
        }
        let lower = trimmed.to_ascii_lowercase();
        if let Some((name, url)) = NETWORKS.iter().find(|(name, _)| *name == lower) {
            let url = Url::parse(url).expect("the built-in network URLs parse");
            return Ok(Self {
                network: (*name).to_string(),
                url,
            });
        }
        if !trimmed.contains("://") {
            return Err(EndpointError::UnknownNetwork(trimmed.to_string()));
        }
        let url = Url::parse(trimmed).map_err(|error| EndpointError::InvalidUrl {
            url: trimmed.to_string(),
            reason: error.to_string(),
        })?;
        if !matches!(url.scheme(), "ws" | "wss" | "http" | "https") {
            return Err(EndpointError::UnsupportedScheme {
                url: trimmed.to_string(),
                scheme: url.scheme().to_string(),
            });
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(EndpointError::InvalidUrl {
                url: trimmed.to_string(),
                reason: "it has no host".to_string(),
            });
        }
        Ok(Self {
            network: network_of_url(&url).to_string(),
            url,
        })
    }

    /// Whether requests go over HTTP or WebSocket.
    pub fn transport(&self) -> Transport {
        match self.url.scheme() {
            "ws" | "wss" => Transport::WebSocket,
            _ => Transport::Http,
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.url, self.network)
    }
}

impl std::str::FromStr for Endpoint {
    type Err = EndpointError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

/// The SDK's `determine_chain_endpoint_and_network`: a URL on a known host names its
/// network; a loopback URL is `local`; anything else is `unknown`.
fn network_of_url(url: &Url) -> &'static str {
    let host = url.host_str().unwrap_or_default();
    match host {
        "entrypoint-finney.opentensor.ai" => "finney",
        "test.finney.opentensor.ai" => "test",
        "archive.chain.opentensor.ai" => "archive",
        "lite.sub.latent.to" => "latent-lite",
        "127.0.0.1" | "localhost" => "local",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_names_resolve_to_the_sdk_urls() {
        let finney = Endpoint::parse("finney").unwrap();
        assert_eq!(
            finney.url.as_str(),
            "wss://entrypoint-finney.opentensor.ai/"
        );
        assert_eq!(finney.url.port_or_known_default(), Some(443));
        assert_eq!(finney.network, "finney");
        assert_eq!(finney.transport(), Transport::WebSocket);
        assert_eq!(
            Endpoint::parse("test").unwrap().url.host_str(),
            Some("test.finney.opentensor.ai")
        );
        assert_eq!(
            Endpoint::parse("archive").unwrap().url.host_str(),
            Some("archive.chain.opentensor.ai")
        );
        assert_eq!(
            Endpoint::parse(" Local ").unwrap().url.as_str(),
            "ws://127.0.0.1:9944/"
        );
        assert_eq!(
            Endpoint::parse("latent-lite").unwrap().url.host_str(),
            Some("lite.sub.latent.to")
        );
    }

    #[test]
    fn urls_of_the_four_schemes_are_accepted_and_name_their_network() {
        let ws = Endpoint::parse("ws://127.0.0.1:9945").unwrap();
        assert_eq!(ws.network, "local");
        assert_eq!(ws.transport(), Transport::WebSocket);
        let https = Endpoint::parse("https://node.example.org/rpc").unwrap();
        assert_eq!(https.network, "unknown");
        assert_eq!(https.transport(), Transport::Http);
        let http = Endpoint::parse("http://localhost:9933").unwrap();
        assert_eq!(http.network, "local");
        assert_eq!(http.transport(), Transport::Http);
        let finney = Endpoint::parse("wss://entrypoint-finney.opentensor.ai:443").unwrap();
        assert_eq!(finney.network, "finney");
    }

    #[test]
    fn bad_input_gets_an_error_that_says_what_to_type() {
        assert_eq!(Endpoint::parse("  "), Err(EndpointError::Empty));
        let unknown = Endpoint::parse("fenney").unwrap_err();
        assert_eq!(unknown, EndpointError::UnknownNetwork("fenney".into()));
        assert!(unknown.to_string().contains("use finney, test"));
        assert!(matches!(
            Endpoint::parse("ftp://127.0.0.1:9944"),
            Err(EndpointError::UnsupportedScheme { scheme, .. }) if scheme == "ftp"
        ));
        assert!(matches!(
            Endpoint::parse("ws://:9944"),
            Err(EndpointError::InvalidUrl { .. })
        ));
    }
}
