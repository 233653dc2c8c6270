//! The coverage-guided fuzz targets (`fuzz/`, cargo fuzz) run briefly on every test run:
//! each starts from the committed seeds (`fuzz/seeds/`) and must find no crash in its time budget.
//! Longer runs are by hand: `cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run -O submit_body`.
//!
//! Needs `cargo-fuzz` (`cargo install cargo-fuzz`; `.ci/run` installs it). The sanitizer
//! build lives in `PULSE_FUZZ_TARGET_DIR` (default `~/.cache/pulse-fuzz-target`), outside
//! the clone, so only the first run on a machine pays for it.

use std::path::PathBuf;
use std::process::Command;

/// Seconds each target runs.
const BUDGET_SECS: u32 = 20;

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn target_dir() -> PathBuf {
    std::env::var_os("PULSE_FUZZ_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(std::env::temp_dir);
            home.join(".cache/pulse-fuzz-target")
        })
}

fn run_target(name: &str) {
    // The committed seeds stay as they are: new inputs go to a scratch corpus.
    let scratch = std::env::temp_dir().join(format!("pulse-fuzz-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    for entry in std::fs::read_dir(fuzz_dir().join("seeds").join(name)).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, scratch.join(path.file_name().unwrap())).unwrap();
    }
    let artifacts = scratch.join("artifacts/");
    std::fs::create_dir_all(&artifacts).unwrap();
    let output = Command::new("cargo")
        .current_dir(fuzz_dir())
        // cargo fuzz needs nightly-only sanitizer flags; the stable toolchain accepts them
        // with RUSTC_BOOTSTRAP, which is set for this build only.
        .env("RUSTC_BOOTSTRAP", "1")
        .env("CARGO_TARGET_DIR", target_dir())
        .args(["fuzz", "run", "-O", name])
        .arg(&scratch)
        .arg("--")
        .arg(format!("-max_total_time={BUDGET_SECS}"))
        .arg(format!("-artifact_prefix={}", artifacts.display()))
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run cargo fuzz ({e}): install it with `cargo install cargo-fuzz`")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    let summary = stderr
        .lines()
        .rfind(|l| l.starts_with("Done ") || l.contains("cov:"))
        .unwrap_or("");
    eprintln!("{name}: {summary}");
    assert!(
        output.status.success(),
        "fuzz target {name} failed; the crashing input is in {}:\n{}",
        artifacts.display(),
        stderr
            .lines()
            .rev()
            .take(60)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

/// One test, so the two targets run one after the other rather than competing for the
/// machine's cores.
#[test]
fn the_submit_parser_and_request_authentication_survive_coverage_guided_fuzzing() {
    run_target("submit_body");
    run_target("auth_headers");
}
