//! Settings: [`Config`] for the library, [`Cli`] for the `pulse-xapi` binary (every flag also
//! an environment variable; `pulse-xapi --help` lists them with their defaults).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Parser;
pub use service::Secret;
use service::cli::LogArgs;

/// X's app-auth limit for recent search per 15 minutes on its higher tiers.
pub const DEFAULT_SEARCH_LIMIT: u32 = 450;
/// Lookup limit per window; as generous as search so validators rarely meet it by accident.
pub const DEFAULT_LOOKUP_LIMIT: u32 = 450;
/// X counts requests in 15-minute windows.
pub const DEFAULT_RATE_LIMIT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Longest recent-search query X accepts from self-serve projects (enterprise: 4096).
pub const DEFAULT_MAX_QUERY_LEN: usize = 512;

/// How the double behaves.
#[derive(Debug, Clone)]
pub struct Config {
    /// The bearer token clients must send (`Authorization: Bearer <token>`).
    pub bearer_token: Secret,
    /// Token for the `/_admin` API; without one the admin API is open to anyone who can reach
    /// the port (the binary listens on 127.0.0.1 by default).
    pub admin_token: Option<Secret>,
    /// The time dataset ages count back from; `None` means the moment the double starts.
    pub anchor: Option<DateTime<Utc>>,
    /// Recent-search requests allowed per window.
    pub search_limit: u32,
    /// Post-lookup requests allowed per window.
    pub lookup_limit: u32,
    /// Length of a rate-limit window.
    pub rate_limit_window: Duration,
    /// Longest accepted `query`, in characters.
    pub max_query_len: usize,
}

impl Config {
    /// Defaults with the given bearer token.
    pub fn new(bearer_token: impl Into<String>) -> Self {
        Self {
            bearer_token: Secret::new(bearer_token),
            admin_token: None,
            anchor: None,
            search_limit: DEFAULT_SEARCH_LIMIT,
            lookup_limit: DEFAULT_LOOKUP_LIMIT,
            rate_limit_window: DEFAULT_RATE_LIMIT_WINDOW,
            max_query_len: DEFAULT_MAX_QUERY_LEN,
        }
    }
}

/// `pulse-xapi`: a local double of the X API v2 (recent search, post lookup) serving the
/// sample posts of a JSON Lines dataset.
#[derive(Debug, Parser)]
#[command(name = "pulse-xapi", version, about, long_about = None)]
pub struct Cli {
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    #[arg(long, env = "XAPI_BIND", default_value = "127.0.0.1:8002")]
    pub bind: SocketAddr,
    /// Dataset of posts (JSON Lines, see data/README.md).
    #[arg(long, env = "XAPI_DATASET", default_value = "data/posts.jsonl")]
    pub dataset: PathBuf,
    /// Bearer token clients must send.
    #[arg(long, env = "X_BEARER_TOKEN", hide_env_values = true)]
    pub bearer_token: Secret,
    /// Bearer token for the /_admin API; without it the admin API is open.
    #[arg(long, env = "XAPI_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<Secret>,
    /// Unix time (seconds) that dataset ages count back from; default: start time.
    #[arg(long, env = "XAPI_ANCHOR_UNIX")]
    pub anchor_unix: Option<i64>,
    /// Recent-search requests allowed per rate-limit window.
    #[arg(long, env = "XAPI_SEARCH_RATE_LIMIT", default_value_t = DEFAULT_SEARCH_LIMIT)]
    pub search_rate_limit: u32,
    /// Post-lookup requests allowed per rate-limit window.
    #[arg(long, env = "XAPI_LOOKUP_RATE_LIMIT", default_value_t = DEFAULT_LOOKUP_LIMIT)]
    pub lookup_rate_limit: u32,
    /// Length of a rate-limit window, in seconds.
    #[arg(long, env = "XAPI_RATE_LIMIT_WINDOW_SECS", default_value_t = DEFAULT_RATE_LIMIT_WINDOW.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_secs: u64,
    /// Longest accepted search query in characters (X: 512 self-serve, 4096 enterprise).
    #[arg(long, env = "XAPI_MAX_QUERY_LEN", default_value_t = DEFAULT_MAX_QUERY_LEN)]
    pub max_query_len: usize,
    /// JSON file of timed changes to apply after start (see the `schedule` module docs).
    #[arg(long, env = "XAPI_SCHEDULE")]
    pub schedule: Option<PathBuf>,
    /// `--log-format`.
    #[command(flatten)]
    pub log: LogArgs,
}

impl Cli {
    /// The library configuration these flags describe.
    pub fn config(&self) -> anyhow::Result<Config> {
        let anchor = match self.anchor_unix {
            None => None,
            Some(secs) => Some(
                DateTime::from_timestamp(secs, 0)
                    .ok_or_else(|| anyhow::anyhow!("--anchor-unix {secs} is out of range"))?,
            ),
        };
        Ok(Config {
            bearer_token: self.bearer_token.clone(),
            admin_token: self.admin_token.clone(),
            anchor,
            search_limit: self.search_rate_limit,
            lookup_limit: self.lookup_rate_limit,
            rate_limit_window: Duration::from_secs(self.rate_limit_window_secs),
            max_query_len: self.max_query_len,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use service::cli::parse;

    #[test]
    fn defaults_match_the_documented_ones() {
        let cli: Cli = parse(["pulse-xapi", "--bearer-token", "t"]);
        assert_eq!(cli.bind.to_string(), "127.0.0.1:8002");
        assert_eq!(cli.dataset, PathBuf::from("data/posts.jsonl"));
        let config = cli.config().unwrap();
        assert_eq!(config.search_limit, 450);
        assert_eq!(config.rate_limit_window, Duration::from_secs(900));
        assert_eq!(config.max_query_len, 512);
        assert_eq!(config.anchor, None);
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let cli = Cli::try_parse_from([
            "pulse-xapi",
            "--bearer-token",
            "hunter2",
            "--admin-token",
            "s3",
        ])
        .unwrap();
        let debug = format!("{cli:?} {:?}", cli.config().unwrap());
        assert!(
            !debug.contains("hunter2") && !debug.contains("s3\""),
            "{debug}"
        );
    }

    #[test]
    fn the_anchor_flag_sets_a_fixed_anchor() {
        let cli = Cli::try_parse_from([
            "pulse-xapi",
            "--bearer-token",
            "t",
            "--anchor-unix",
            "1764120123",
        ])
        .unwrap();
        assert_eq!(
            cli.config().unwrap().anchor.unwrap().timestamp(),
            1_764_120_123
        );
    }
}
