//! Checks of Pulse's deployment files and documents.
//!
//! # Layout
//! - `tests/compose.rs`: `docker-compose.yml`, the `Dockerfile` and `.env.example` agree
//!   with each other and with the settings the binaries accept.
//! - `tests/docs.rs`: `docs/configuration.md` lists exactly the settings each binary's
//!   `--help` documents, with the same defaults, and every link between the documents (and
//!   every reference to `docs/protocol.md#...` in the repository) names a heading that
//!   exists.
//!
//! The library holds what both test files need: where the repository and the built binaries
//! are.

#![warn(missing_docs)]

use std::path::PathBuf;

/// The repository's root directory.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A workspace binary, built by `cargo test --workspace` beside the running test's executable.
///
/// # Panics
/// If the binary has not been built, with a message saying how to build it.
pub fn binary(name: &str) -> PathBuf {
    let dir = std::env::current_exe()
        .expect("the test knows its own path")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps")
        .to_path_buf();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --workspace` (cargo test --workspace does)",
        path.display()
    );
    path
}
