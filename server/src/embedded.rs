//! A private PostgreSQL cluster for running without `DATABASE_URL`.
//!
//! The cluster lives in `PULSE_DATA_DIR/postgres`: created with `initdb` on first start,
//! reused afterwards, started with `pg_ctl` on a free loopback port and stopped when the
//! server stops. If a previous server was killed and left the cluster running, it is
//! reused as it is (and left running).
//!
//! PostgreSQL refuses to run as root, which is how containers and CI usually run, so as
//! root its binaries run as an unprivileged user (`PULSE_PG_USER`, default `postgres`)
//! through `runuser`, and the cluster directory belongs to that user.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Output;

use anyhow::{Context, bail};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::process::Command;

use crate::config::DatabaseArgs;

/// Name of the database Pulse uses inside the embedded cluster.
pub const DATABASE_NAME: &str = "pulse";

/// A running embedded cluster.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    cluster_dir: PathBuf,
    bin_dir: PathBuf,
    run_as: Option<String>,
    port: u16,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Creates the cluster if needed, starts it (or finds it running) and makes sure the
    /// `pulse` database exists.
    pub async fn start(args: &DatabaseArgs) -> anyhow::Result<Self> {
        let bin_dir = find_bin_dir(args.pg_bin_dir.as_deref())?;
        let run_as = if effective_uid().await? == 0 {
            Some(args.pg_user.clone())
        } else {
            None
        };
        let data_dir = std::path::absolute(&args.data_dir).with_context(|| {
            format!(
                "PULSE_DATA_DIR {} is not a usable path",
                args.data_dir.display()
            )
        })?;
        let cluster_dir = data_dir.join("postgres");
        let mut pg = Self {
            cluster_dir,
            bin_dir,
            run_as,
            port: 0,
            started_here: false,
        };
        pg.prepare_directory().await?;
        if !pg.cluster_dir.join("PG_VERSION").exists() {
            pg.initdb().await?;
        }
        match pg.running_port().await? {
            Some(port) => {
                pg.port = port;
                tracing::info!(
                    port,
                    "embedded PostgreSQL was already running; reusing it (it stays running)"
                );
            }
            None => {
                pg.port = free_port()?;
                pg.pg_ctl_start().await?;
                pg.started_here = true;
            }
        }
        pg.create_database().await?;
        tracing::info!(
            url = %pg.url(),
            data = %pg.cluster_dir.display(),
            "embedded PostgreSQL ready{}",
            if pg.started_here { " (stopped when pulse-server stops)" } else { "" }
        );
        Ok(pg)
    }

    /// URL of the `pulse` database.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{DATABASE_NAME}",
            self.port
        )
    }

    /// The cluster's directory.
    pub fn cluster_dir(&self) -> &Path {
        &self.cluster_dir
    }

    /// Stops the cluster if this process started it.
    pub async fn stop(self) -> anyhow::Result<()> {
        if !self.started_here {
            return Ok(());
        }
        let dir = self.cluster_dir.to_string_lossy().into_owned();
        let output = self
            .command("pg_ctl")
            .args(["stop", "-D", &dir, "-m", "fast", "-w"])
            .output()
            .await?;
        check(&output, "pg_ctl stop")?;
        tracing::info!("embedded PostgreSQL stopped");
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let binary = self.bin_dir.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(binary);
                c
            }
            None => Command::new(binary),
        };
        command
            .kill_on_drop(true)
            .stdin(std::process::Stdio::null());
        command
    }

    async fn prepare_directory(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.cluster_dir)
            .with_context(|| format!("cannot create {}", self.cluster_dir.display()))?;
        let Some(user) = &self.run_as else {
            return Ok(());
        };
        let uid = id_of(user, "-u").await?;
        let gid = id_of(user, "-g").await?;
        std::os::unix::fs::chown(&self.cluster_dir, Some(uid), Some(gid)).with_context(|| {
            format!("cannot give {} to user {user}", self.cluster_dir.display())
        })?;
        let output = Command::new("runuser")
            .args(["-u", user, "--", "test", "-w"])
            .arg(&self.cluster_dir)
            .output()
            .await
            .context("running as root needs runuser (util-linux) to start PostgreSQL as an unprivileged user")?;
        if !output.status.success() {
            bail!(
                "user {user} cannot write {} (a parent directory is closed to it): set PULSE_DATA_DIR to a directory it can reach, such as /var/lib/pulse",
                self.cluster_dir.display()
            );
        }
        Ok(())
    }

    async fn initdb(&self) -> anyhow::Result<()> {
        tracing::info!(data = %self.cluster_dir.display(), "creating the embedded PostgreSQL cluster");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-locale",
            ])
            .output()
            .await
            .context("cannot run initdb")?;
        check(&output, "initdb")?;
        // Loopback TCP only: the default Unix socket directory (/var/run/postgresql) may
        // not exist or be writable for this user.
        let conf = self.cluster_dir.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).context("cannot read postgresql.conf")?;
        text.push_str(
            "\n# Added by pulse-server: loopback TCP only, no Unix socket.\n\
             listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n",
        );
        std::fs::write(&conf, text).context("cannot write postgresql.conf")?;
        Ok(())
    }

    /// The port of a cluster already running in this directory.
    async fn running_port(&self) -> anyhow::Result<Option<u16>> {
        let output = self
            .command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.cluster_dir)
            .output()
            .await?;
        if !output.status.success() {
            return Ok(None);
        }
        // postmaster.pid: pid, data directory, start time, port, ...
        let pid_file = std::fs::read_to_string(self.cluster_dir.join("postmaster.pid"))
            .context("cannot read postmaster.pid of the running cluster")?;
        let port = pid_file.lines().nth(3).and_then(|l| l.trim().parse().ok());
        Ok(port)
    }

    async fn pg_ctl_start(&self) -> anyhow::Result<()> {
        let log = self.cluster_dir.join("postmaster.log");
        let output = self
            .command("pg_ctl")
            .arg("start")
            .arg("-D")
            .arg(&self.cluster_dir)
            .args(["-w", "-t", "60", "-l"])
            .arg(&log)
            .args(["-o", &format!("-p {}", self.port)])
            .output()
            .await
            .context("cannot run pg_ctl")?;
        if !output.status.success() {
            let tail = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            bail!(
                "embedded PostgreSQL did not start: {} {}",
                String::from_utf8_lossy(&output.stderr).trim(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        Ok(())
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", self.port);
        let mut conn = PgConnection::connect(&admin)
            .await
            .context("cannot connect to the embedded PostgreSQL")?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(DATABASE_NAME)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("create database {DATABASE_NAME}"))
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        Ok(())
    }
}

fn check(output: &Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    bail!(
        "{what} failed ({}): {} {}",
        output.status,
        stderr.trim(),
        stdout.trim()
    )
}

async fn effective_uid() -> anyhow::Result<u32> {
    let output = Command::new("id")
        .arg("-u")
        .output()
        .await
        .context("cannot run `id -u`")?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .context("`id -u` printed no number")
}

async fn id_of(user: &str, flag: &str) -> anyhow::Result<u32> {
    let output = Command::new("id")
        .args([flag, user])
        .output()
        .await
        .context("cannot run `id`")?;
    if !output.status.success() {
        bail!(
            "running as root, PostgreSQL needs an unprivileged user, and user {user:?} does not exist: create it (useradd --system {user}) or set PULSE_PG_USER"
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .context("`id` printed no number")
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

fn has_server_binaries(dir: &Path) -> bool {
    ["initdb", "pg_ctl", "postgres"]
        .iter()
        .all(|b| dir.join(b).is_file())
}

/// Finds the directory of `initdb`, `pg_ctl` and `postgres`.
fn find_bin_dir(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = explicit {
        if has_server_binaries(dir) {
            return Ok(dir.to_path_buf());
        }
        bail!(
            "PG_BIN_DIR {} does not hold initdb, pg_ctl and postgres",
            dir.display()
        );
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(output) = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        && output.status.success()
    {
        candidates.push(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim(),
        ));
    }
    // Debian/Ubuntu install server binaries outside PATH, one directory per version.
    for root in ["/usr/lib/postgresql", "/usr/pgsql"] {
        if let Ok(entries) = std::fs::read_dir(root) {
            let mut versions: Vec<(u32, PathBuf)> = entries
                .filter_map(|e| e.ok())
                .filter_map(|e| {
                    let version = e
                        .file_name()
                        .to_string_lossy()
                        .split('.')
                        .next()?
                        .parse()
                        .ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect();
            versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
            candidates.extend(versions.into_iter().map(|(_, dir)| dir));
        }
    }
    candidates.extend(
        [
            "/usr/local/pgsql/bin",
            "/opt/homebrew/bin",
            "/usr/local/bin",
        ]
        .map(PathBuf::from),
    );
    if let Some(path) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&path));
    }
    first_with_binaries(candidates)
}

fn first_with_binaries(candidates: Vec<PathBuf>) -> anyhow::Result<PathBuf> {
    candidates.into_iter().find(|dir| has_server_binaries(dir)).ok_or_else(|| {
        anyhow::anyhow!(
            "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: install PostgreSQL (Debian/Ubuntu: apt install postgresql; Fedora: dnf install postgresql-server; macOS: brew install postgresql), or set DATABASE_URL to an existing database, or PG_BIN_DIR to the binaries"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_explicit_directory_without_binaries_is_named_in_the_error() {
        let err = find_bin_dir(Some(Path::new("/nonexistent/pg")))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/pg"), "{err}");
    }

    #[test]
    fn no_binaries_anywhere_is_one_line_naming_the_package_and_the_variables() {
        let err = first_with_binaries(vec![PathBuf::from("/nonexistent")])
            .unwrap_err()
            .to_string();
        assert_eq!(err.lines().count(), 1);
        for needle in ["apt install postgresql", "DATABASE_URL", "PG_BIN_DIR"] {
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn free_ports_are_nonzero() {
        assert_ne!(free_port().unwrap(), 0);
    }
}
