//! Records the git commit the binaries are built from, for their `pulse_*_build_info`
//! metric, as the compile-time variable `PULSE_COMMIT`.
//!
//! `PULSE_BUILD_COMMIT`, when set at build time, wins: a Docker build has no `.git`. Otherwise
//! the commit is read from the repository's own files, without the `git` program: `HEAD`,
//! then the branch it names, as a loose ref or in `packed-refs`. A worktree's `.git` is a
//! file naming its git directory, whose `commondir` names where the refs live. `unknown` when
//! none of this is there.
//!
//! Cargo reruns this script when `HEAD` or the branch's ref file changes (a checkout, a
//! commit), and only then: every crate of the workspace depends on this one, so watching
//! more (say, every branch's ref) would rebuild the workspace whenever any branch moves.

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-env-changed=PULSE_BUILD_COMMIT");
    let commit = match std::env::var("PULSE_BUILD_COMMIT") {
        Ok(commit) if !commit.trim().is_empty() => commit.trim().to_owned(),
        _ => from_git().unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=PULSE_COMMIT={commit}");
}

fn watch(path: &Path) {
    println!("cargo:rerun-if-changed={}", path.display());
}

fn is_commit(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn from_git() -> Option<String> {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR")?);
    let dot_git = manifest
        .ancestors()
        .map(|dir| dir.join(".git"))
        .find(|path| path.exists())?;
    let git_dir = if dot_git.is_file() {
        watch(&dot_git);
        let text = fs::read_to_string(&dot_git).ok()?;
        let path = PathBuf::from(text.trim().strip_prefix("gitdir:")?.trim());
        if path.is_relative() {
            dot_git.parent()?.join(path)
        } else {
            path
        }
    } else {
        dot_git
    };
    let common = match fs::read_to_string(git_dir.join("commondir")) {
        Ok(relative) => git_dir.join(relative.trim()),
        Err(_) => git_dir.clone(),
    };
    let head_file = git_dir.join("HEAD");
    watch(&head_file);
    let head = fs::read_to_string(&head_file).ok()?;
    let head = head.trim();
    let Some(name) = head.strip_prefix("ref:").map(str::trim) else {
        // A detached HEAD holds the commit itself.
        return is_commit(head).then(|| head.to_owned());
    };
    let loose = common.join(name);
    if loose.is_file() {
        watch(&loose);
        let commit = fs::read_to_string(&loose).ok()?;
        let commit = commit.trim();
        return is_commit(commit).then(|| commit.to_owned());
    }
    // A packed ref: the next commit on the branch writes its loose file in this directory.
    if let Some(dir) = loose.parent().filter(|dir| dir.is_dir()) {
        watch(dir);
    }
    let packed_file = common.join("packed-refs");
    let packed = fs::read_to_string(&packed_file).ok()?;
    watch(&packed_file);
    packed.lines().find_map(|line| {
        let (commit, reference) = line.split_once(' ')?;
        (reference.trim() == name && is_commit(commit)).then(|| commit.to_owned())
    })
}
