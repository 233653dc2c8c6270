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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_file_is_found_in_either_spelling_and_a_missing_one_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".miner_env");
        std::fs::write(&path, "PULSE_SERVICE_ENV_FILE_TEST=from_the_file\n").unwrap();
        let file = path.display().to_string();

        let loaded = load_from_args(&args(&["pulse-miner", "run", "--env-file", &file])).unwrap();
        assert_eq!(loaded, Some(path.clone()));
        assert_eq!(
            std::env::var("PULSE_SERVICE_ENV_FILE_TEST").as_deref(),
            Ok("from_the_file")
        );
        let joined = format!("--env-file={file}");
        assert_eq!(
            load_from_args(&args(&["pulse-miner", &joined])).unwrap(),
            Some(path)
        );
        assert_eq!(
            load_from_args(&args(&["pulse-miner", "run"])).unwrap(),
            None
        );

        let missing = load_from_args(&args(&["x", "--env-file", "/nonexistent/.env"]));
        let error = format!("{:#}", missing.unwrap_err());
        assert!(error.contains("--env-file /nonexistent/.env"), "{error}");
    }
}
