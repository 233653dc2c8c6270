//! `--env-file`: settings from a `.miner_env`-style file (`KEY=value` lines).
//!
//! The file is read before the command line is parsed, so its values act as environment
//! variables: flags and variables already set in the real environment win over it.

use std::ffi::OsString;
use std::path::PathBuf;

use anyhow::Context;

/// Loads the file named by `--env-file <path>` (or `--env-file=<path>`) in `args`, if any.
pub fn load_from_args(args: &[OsString]) -> anyhow::Result<Option<PathBuf>> {
    let mut path = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        let arg = arg.to_string_lossy();
        if arg == "--env-file" {
            path = iter.next().map(PathBuf::from);
        } else if let Some(value) = arg.strip_prefix("--env-file=") {
            path = Some(PathBuf::from(value));
        }
    }
    let Some(path) = path else {
        return Ok(None);
    };
    dotenvy::from_path(&path)
        .with_context(|| format!("cannot read --env-file {}", path.display()))?;
    Ok(Some(path))
}
