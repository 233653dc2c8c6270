//! `docker-compose.yml` is valid for docker-compose 1.29 (`docker-compose config`), runs the
//! services the README describes, passes only settings the binaries know, and the
//! Dockerfile builds every binary it runs: its dependencies in a cached layer of their own,
//! into an image with OCI labels and a healthcheck of the server that only the server's
//! containers run. No Docker engine is needed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{binary, repo};

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

/// One service of the normalised configuration, as far as these tests need it.
#[derive(Debug, Default)]
struct Service {
    /// Its command, one item per element.
    command: Vec<String>,
    /// Its environment.
    environment: BTreeMap<String, String>,
    /// The lines of its healthcheck block, trimmed (`- NONE` when disabled).
    healthcheck: Vec<String>,
}

/// The normalised configuration, parsed as far as these tests need: per service, its
/// command, environment and healthcheck. (`docker-compose config` prints YAML with
/// two-space indentation; the services' blocks are read by indentation.)
fn services() -> BTreeMap<String, Service> {
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
            services.insert(name.clone(), Service::default());
            current = Some(name);
        } else if indent == 4 && !trimmed.starts_with("- ") {
            section = trimmed.trim_end_matches(':').to_string();
        } else if let Some(name) = &current {
            let entry: &mut Service = services.get_mut(name).unwrap();
            match section.as_str() {
                "command" => entry
                    .command
                    .push(trimmed.trim_start_matches("- ").to_string()),
                "environment" if indent == 6 => {
                    let (key, value) = trimmed
                        .split_once(": ")
                        .unwrap_or((trimmed.trim_end_matches(':'), ""));
                    entry
                        .environment
                        .insert(key.to_string(), value.trim_matches('\'').to_string());
                }
                "healthcheck" => entry.healthcheck.push(trimmed.to_string()),
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
            "chain",
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
        ("pulse-chain", help(&["pulse-chain"])),
    ]
    .into_iter()
    .collect();
    let services = services();
    let mut checked = 0;
    for (name, service) in &services {
        let Some(program) = service.command.first() else {
            continue;
        };
        let help = helps
            .get(program.as_str())
            .unwrap_or_else(|| panic!("{name} runs unknown program {program}"));
        for key in service.environment.keys() {
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
    assert_eq!(
        services["miner-1"].environment["MINER_API_URL"],
        "http://server:8001"
    );
    assert!(services["server"].environment["DATABASE_URL"].contains("@postgres:5432/pulse"));
    assert_eq!(
        services["server"].environment["SUBTENSOR_URL"],
        "ws://chain:9944"
    );
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
    for (name, service) in services() {
        if let Some(program) = service.command.first().filter(|p| p.starts_with("pulse-")) {
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

/// The Dockerfile's instructions, continuation lines joined and comments left out, grouped
/// by stage: (the stage's `FROM` line, its instructions).
fn dockerfile_stages() -> Vec<(String, Vec<String>)> {
    let text = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                instructions.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
                current.clear();
            }
        }
    }
    let mut stages: Vec<(String, Vec<String>)> = Vec::new();
    for instruction in instructions {
        if instruction.starts_with("FROM ") {
            stages.push((instruction, Vec::new()));
        } else if let Some((_, body)) = stages.last_mut() {
            body.push(instruction);
        }
    }
    stages
}

#[test]
fn the_dockerfile_builds_the_dependencies_in_a_layer_of_their_own_before_the_sources() {
    let stages = dockerfile_stages();
    let (_, skeleton) = stages
        .iter()
        .find(|(from, _)| from.ends_with(" AS skeleton"))
        .expect("a skeleton stage");
    assert!(
        skeleton
            .iter()
            .any(|i| i.starts_with("RUN ") && i.contains("cargo metadata")),
        "the skeleton's members and targets come from cargo metadata, not a hand-kept list"
    );
    let (_, build) = stages
        .iter()
        .find(|(from, _)| from.ends_with(" AS build"))
        .expect("a build stage");
    let position = |what: &str, test: &dyn Fn(&String) -> bool| {
        build
            .iter()
            .position(test)
            .unwrap_or_else(|| panic!("the build stage has no {what}"))
    };
    let manifests = position("copy of the skeleton", &|i| {
        i.starts_with("COPY --from=skeleton ")
    });
    let dependencies = position("dependency build", &|i| {
        i.starts_with("RUN ") && i.contains("cargo build") && !i.contains("touch")
    });
    let sources = position("COPY . .", &|i| i == "COPY . .");
    let real_build = position("build of the sources", &|i| {
        i.starts_with("RUN ") && i.contains("touch") && i.contains("cargo build")
    });
    assert!(
        manifests < dependencies && dependencies < sources && sources < real_build,
        "expected: skeleton copy, dependency build, COPY . ., touch and build; got {build:#?}"
    );
    assert!(
        build[real_build].find("touch") < build[real_build].find("cargo build"),
        "the sources' times are refreshed before the build, or cargo keeps the stubs"
    );
    assert_eq!(
        build[dependencies]
            .trim_start_matches("RUN ")
            .split("&&")
            .next()
            .map(str::trim),
        build[real_build].split("&&").nth(1).map(str::trim),
        "the dependency build builds what the real build builds, with the same flags"
    );
}

#[test]
fn the_image_carries_the_oci_labels_with_the_workspace_version() {
    let stages = dockerfile_stages();
    let (_, runtime) = stages.last().unwrap();
    let labels = runtime
        .iter()
        .filter(|i| i.starts_with("LABEL "))
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    for key in [
        "title",
        "description",
        "source",
        "licenses",
        "version",
        "revision",
    ] {
        assert!(
            labels.contains(&format!("org.opencontainers.image.{key}=")),
            "no org.opencontainers.image.{key} label in {labels}"
        );
    }
    assert!(labels.contains("org.opencontainers.image.licenses=\"MIT\""));
    assert!(labels.contains("org.opencontainers.image.revision=\"${REVISION}\""));
    assert!(runtime.iter().any(|i| i.starts_with("ARG REVISION")));

    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    let version = manifest
        .split_once("[workspace.package]")
        .and_then(|(_, rest)| rest.lines().find_map(|l| l.strip_prefix("version = ")))
        .expect("the workspace has a version")
        .trim_matches('"');
    assert!(
        runtime.contains(&format!("ARG VERSION={version}")),
        "the image's default version is the workspace's ({version})"
    );
    assert!(labels.contains("org.opencontainers.image.version=\"${VERSION}\""));
}

#[test]
fn the_image_probes_the_server_and_compose_probes_only_the_server() {
    let stages = dockerfile_stages();
    let (_, runtime) = stages.last().unwrap();
    let healthcheck = runtime
        .iter()
        .find(|i| i.starts_with("HEALTHCHECK "))
        .expect("the image has a HEALTHCHECK");
    assert!(
        healthcheck.contains(r#"CMD ["pulse-server", "healthcheck"]"#),
        "{healthcheck}"
    );
    assert_eq!(
        runtime.last().map(String::as_str),
        Some(r#"CMD ["pulse-server"]"#),
        "the image's default command is the server its healthcheck probes"
    );

    let services = services();
    let mut others = 0;
    for (name, service) in &services {
        match service.command.first().map(String::as_str) {
            Some("pulse-server") => assert!(
                service.healthcheck.iter().any(|l| l == "- healthcheck"),
                "{name} probes /ready: {:?}",
                service.healthcheck
            ),
            Some(program) if program.starts_with("pulse-") => {
                assert!(
                    service.healthcheck.iter().any(|l| l == "- NONE"),
                    "{name} runs {program}, where the image's server healthcheck would fail: {:?}",
                    service.healthcheck
                );
                others += 1;
            }
            _ => {}
        }
    }
    assert_eq!(others, 5, "chain, x-api, two miners and the validator");
}
