//! The programs the devnet runs, found next to `pulse-devnet` (`target/<profile>/`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The server.
pub const SERVER: &str = "pulse-server";
/// The X API double.
pub const XAPI: &str = "pulse-xapi";
/// The miner.
pub const MINER: &str = "pulse-miner";
/// The validator.
pub const VALIDATOR: &str = "pulse-validator";
/// The subtensor double.
pub const CHAIN: &str = "pulse-chain";

/// Paths of the four programs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binaries {
    /// `pulse-server`.
    pub server: PathBuf,
    /// `pulse-xapi`.
    pub xapi: PathBuf,
    /// `pulse-miner`.
    pub miner: PathBuf,
    /// `pulse-validator`.
    pub validator: PathBuf,
    /// `pulse-chain`.
    pub chain: PathBuf,
}

impl Binaries {
    /// The programs in `dir`, or in the directory of the running executable.
    pub fn locate(dir: Option<&Path>) -> anyhow::Result<Self> {
        let dir = match dir {
            Some(dir) => dir.to_path_buf(),
            None => std::env::current_exe()
                .context("cannot tell where pulse-devnet is")?
                .parent()
                .context("pulse-devnet has no directory")?
                .to_path_buf(),
        };
        Self::in_dir(&dir)
    }

    /// The programs in `dir`; an error naming the build command when any is missing.
    pub fn in_dir(dir: &Path) -> anyhow::Result<Self> {
        let path = |name: &str| dir.join(name);
        let binaries = Self {
            server: path(SERVER),
            xapi: path(XAPI),
            miner: path(MINER),
            validator: path(VALIDATOR),
            chain: path(CHAIN),
        };
        let missing: Vec<&str> = [SERVER, XAPI, MINER, VALIDATOR, CHAIN]
            .into_iter()
            .filter(|name| !path(name).is_file())
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} not found in {}: build every binary of the workspace first, with `{}`",
                missing.join(", "),
                dir.display(),
                build_command(dir)
            );
        }
        Ok(binaries)
    }
}

/// The cargo command that puts the binaries in `dir`: `target/debug` is the dev profile's.
pub fn build_command(dir: &Path) -> &'static str {
    if dir.file_name().is_some_and(|name| name == "debug") {
        "cargo build --workspace"
    } else {
        "cargo build --release --workspace"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_binary_is_named_with_the_command_that_builds_it() {
        let dir = std::env::temp_dir().join(format!("pulse-devnet-bins-{}", std::process::id()));
        let release = dir.join("release");
        std::fs::create_dir_all(&release).unwrap();
        for name in [SERVER, XAPI, MINER, CHAIN] {
            std::fs::write(release.join(name), b"").unwrap();
        }
        let error = Binaries::in_dir(&release).unwrap_err().to_string();
        assert!(
            error.starts_with("pulse-validator not found in")
                && error.ends_with("with `cargo build --release --workspace`"),
            "{error}"
        );
        std::fs::write(release.join(VALIDATOR), b"").unwrap();
        assert_eq!(
            Binaries::in_dir(&release).unwrap().validator,
            release.join(VALIDATOR)
        );
        assert_eq!(build_command(&dir.join("debug")), "cargo build --workspace");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
