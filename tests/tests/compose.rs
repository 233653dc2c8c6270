//! `docker-compose.yml` is valid for docker-compose 1.29 (`docker-compose config`), runs the
//! services the README describes, passes only settings the binaries know, and the
//! Dockerfile builds every binary it runs. No Docker engine is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A workspace binary, built by `cargo test --workspace` beside this test's executable.
fn binary(name: &str) -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build --workspace` (cargo test --workspace does)",
        path.display()
    );
    path
}

fn compose(env_file: &Path, args: &[&str]) -> std::process::Output {
    Command::new("docker-compose")
        .current_dir(repo())
        .args(["--env-file"])
        .arg(env_file)
        .args(["-f", "docker-compose.yml"])
        .args(args)
        .output()
        .expect("docker-compose is needed for this test (Debian package docker-compose; .ci/run installs it)")
}

fn env_example() -> PathBuf {
    repo().join(".env.example")
}

/// The normalised configuration, parsed as far as this test needs: per service, its
/// command and environment keys. (`docker-compose config` prints YAML with two-space
/// indentation; the services' blocks are read by indentation.)
fn services() -> BTreeMap<String, (Vec<String>, BTreeMap<String, String>)> {
    let output = compose(&env_example(), &["config"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut services = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut section = String::new();
    let mut in_services = false;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if indent == 0 {
            in_services = trimmed == "services:";
            current = None;
            continue;
        }
        if !in_services {
            continue;
        }
        if indent == 2 {
            let name = trimmed.trim_end_matches(':').to_string();
            services.insert(name.clone(), (Vec::new(), BTreeMap::new()));
            current = Some(name);
        } else if indent == 4 && !trimmed.starts_with("- ") {
            section = trimmed.trim_end_matches(':').to_string();
        } else if let Some(name) = &current {
            let entry = services.get_mut(name).unwrap();
            match section.as_str() {
                "command" => entry.0.push(trimmed.trim_start_matches("- ").to_string()),
                "environment" if indent == 6 => {
                    let (key, value) = trimmed
                        .split_once(": ")
                        .unwrap_or((trimmed.trim_end_matches(':'), ""));
                    entry
                        .1
                        .insert(key.to_string(), value.trim_matches('\'').to_string());
                }
                _ => {}
            }
        }
    }
    services
}

#[test]
fn the_compose_file_is_valid_and_runs_the_documented_services() {
    let output = compose(&env_example(), &["config", "--services"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut names: Vec<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "miner-1",
            "miner-2",
            "postgres",
            "server",
            "validator",
            "x-api"
        ]
    );
    let volumes =
        String::from_utf8(compose(&env_example(), &["config", "--volumes"]).stdout).unwrap();
    let mut volumes: Vec<&str> = volumes.lines().collect();
    volumes.sort();
    assert_eq!(
        volumes,
        [
            "miner-1-state",
            "miner-2-state",
            "pgdata",
            "validator-state"
        ]
    );

    let text = String::from_utf8(compose(&env_example(), &["config"]).stdout).unwrap();
    assert!(text.contains("pg_isready"), "postgres has a healthcheck");
    assert!(
        text.contains("- pulse-server\n      - healthcheck"),
        "the server's healthcheck probes /ready"
    );
    assert_eq!(
        text.matches("condition: service_healthy").count(),
        4,
        "server waits for postgres; miners and validator for server"
    );
    assert!(
        text.contains("published: 8001") || text.contains("8001:8001"),
        "the API is published on 8001"
    );
}

#[test]
fn missing_required_settings_are_named() {
    let empty = std::env::temp_dir().join(format!("pulse-empty-env-{}", std::process::id()));
    std::fs::write(&empty, "").unwrap();
    let output = compose(&empty, &["config", "-q"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("set ") && stderr.contains("in .env"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(empty);
}

#[test]
fn every_setting_compose_passes_is_one_the_binary_documents() {
    let help = |args: &[&str]| -> String {
        let output = Command::new(binary(args[0]))
            .args(&args[1..])
            .arg("--help")
            .output()
            .unwrap();
        assert!(output.status.success(), "{args:?} --help failed");
        String::from_utf8(output.stdout).unwrap()
    };
    let helps: BTreeMap<&str, String> = [
        ("pulse-server", help(&["pulse-server"])),
        ("pulse-miner", help(&["pulse-miner", "run"])),
        ("pulse-validator", help(&["pulse-validator", "run"])),
        ("pulse-xapi", help(&["pulse-xapi"])),
    ]
    .into_iter()
    .collect();
    let services = services();
    let mut checked = 0;
    for (name, (command, environment)) in &services {
        let Some(program) = command.first() else {
            continue;
        };
        let help = helps
            .get(program.as_str())
            .unwrap_or_else(|| panic!("{name} runs unknown program {program}"));
        for key in environment.keys() {
            // Read by the programs from the environment only, never flags (see their docs).
            if key == "PULSE_HOTKEY_SEED" {
                continue;
            }
            assert!(
                help.contains(&format!("[env: {key}")),
                "{name} sets {key}, which {program} --help does not document"
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} settings checked: the parser lost its way"
    );
    assert_eq!(services["miner-1"].1["MINER_API_URL"], "http://server:8001");
    assert!(services["server"].1["DATABASE_URL"].contains("@postgres:5432/pulse"));
}

#[test]
fn the_example_validator_address_matches_its_seed() {
    let env = std::fs::read_to_string(env_example()).unwrap();
    let value = |key: &str| {
        env.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} missing"))
            .trim()
            .to_string()
    };
    let key = protocol::Hotkey::from_seed_hex(&value("VALIDATOR_SEED")).unwrap();
    assert_eq!(key.ss58(), value("VALIDATOR_HOTKEY"));
    let miners = [value("MINER_1_SEED"), value("MINER_2_SEED")];
    assert!(
        miners
            .iter()
            .all(|s| protocol::Hotkey::from_seed_hex(s).is_ok())
            && miners[0] != miners[1]
    );
}

#[test]
fn the_dockerfile_builds_every_program_compose_runs_and_runs_them_unprivileged() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for (name, (command, _)) in services() {
        if let Some(program) = command.first().filter(|p| p.starts_with("pulse-")) {
            assert!(
                dockerfile.contains(&format!("target/release/{program}")),
                "{name} runs {program}, which the image lacks"
            );
        }
    }
    assert!(
        dockerfile.contains("SQLX_OFFLINE=true"),
        "builds without a database"
    );
    assert!(
        dockerfile.contains("--locked"),
        "builds what Cargo.lock pins"
    );
    assert!(
        dockerfile.contains("\nUSER pulse\n"),
        "runs as a non-root user"
    );
    assert!(
        dockerfile.contains("COPY data/"),
        "ships the dataset the X double serves"
    );
}
