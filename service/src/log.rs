//! Logging: a `tracing` subscriber on stderr, filtered by `RUST_LOG`, as text or JSON.
//!
//! Logs go to stderr so that stdout stays the program's own output (summary lines, reports,
//! the printed OpenAPI document). Colours only for a person at a terminal: logs captured to
//! files stay plain text.

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The filter `RUST_LOG` sets, or `default` (such as `info,sqlx=warn`) when it is unset or
/// unreadable.
pub fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default))
}

/// Installs the process's subscriber: `format` on stderr, filtered by [`filter`].
pub fn init(format: LogFormat, default_filter: &str) {
    install(format, filter(default_filter));
}

/// Installs the process's subscriber with `directives` as the filter, whatever `RUST_LOG`
/// says (`--logging.debug` and `--logging.trace`).
pub fn init_with_filter(format: LogFormat, directives: &str) {
    install(format, EnvFilter::new(directives));
}

fn install(format: LogFormat, filter: EnvFilter) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}
