//! The devnet directory, the hotkey seeds kept in it, and the clock the server runs on.
//!
//! ```text
//! <dir>/devnet.json          the next window number (windows only ever move forward)
//! <dir>/devnet.pids.json     the running devnet and its children (for a killed devnet's leftovers)
//! <dir>/keys/<name>.seed     hex seeds of miner-1..N and the validator (owner-only)
//! <dir>/server/postgres/     the embedded PostgreSQL cluster
//! <dir>/miner-1/ ...         each miner's state (PULSE_MINER_STATE_DIR)
//! <dir>/validator/           the validator's state (outbox, weights) per hotkey
//! <dir>/logs/<name>.log      each process's stdout and stderr
//! ```

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::Context;
use protocol::Hotkey;
use serde::{Deserialize, Serialize};

use crate::config::BLOCKS_PER_WINDOW;

/// The lowest window the devnet's clock starts at: window 0 has no previous window, which
/// some tools treat specially, and small numbers read well in summaries.
pub const FIRST_WINDOW: u64 = 1;

/// Where each file of the devnet lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    /// The devnet in `root`, made absolute (children run with absolute paths).
    pub fn new(root: &Path) -> anyhow::Result<Self> {
        let root = std::path::absolute(root)
            .with_context(|| format!("{} is not a usable path", root.display()))?;
        Ok(Self { root })
    }

    /// The devnet directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of the log files.
    pub fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// The log file of the process `name`.
    pub fn log(&self, name: &str) -> PathBuf {
        self.logs().join(format!("{name}.log"))
    }

    /// The server's `PULSE_DATA_DIR`.
    pub fn server_data(&self) -> PathBuf {
        self.root.join("server")
    }

    /// The embedded PostgreSQL cluster (the server puts it in `<data>/postgres`).
    pub fn cluster_dir(&self) -> PathBuf {
        self.server_data().join("postgres")
    }

    /// The state directory of the miner or validator `name`.
    pub fn state_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// The hotkey seed file of `name`.
    pub fn seed_file(&self, name: &str) -> PathBuf {
        self.root.join("keys").join(format!("{name}.seed"))
    }

    /// The file naming the running devnet's processes.
    pub fn pids_file(&self) -> PathBuf {
        self.root.join("devnet.pids.json")
    }

    /// The file keeping the next window number.
    pub fn clock_file(&self) -> PathBuf {
        self.root.join("devnet.json")
    }

    /// Creates the directories every process expects.
    pub fn create(&self) -> anyhow::Result<()> {
        for dir in [self.logs(), self.root.join("keys"), self.server_data()] {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        Ok(())
    }
}

/// A named hotkey whose seed is kept in the devnet directory.
#[derive(Debug, Clone)]
pub struct Identity {
    /// `miner-1`, ..., `validator`.
    pub name: String,
    /// The seed in hex, for `PULSE_HOTKEY_SEED`.
    pub seed_hex: String,
    /// The key.
    pub hotkey: Hotkey,
}

impl Identity {
    /// The identity `name` of `layout`: its seed file is read, or written with a new seed.
    pub fn load_or_create(layout: &Layout, name: &str) -> anyhow::Result<Self> {
        let path = layout.seed_file(name);
        let seed_hex = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().to_owned(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let seed = Hotkey::generate()
                    .seed()
                    .expect("a generated key has a seed");
                let seed_hex = hex::encode(seed);
                // Owner-only, and never over an existing file: the seed is the identity.
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .with_context(|| format!("cannot create {}", path.display()))?;
                writeln!(file, "{seed_hex}")
                    .and_then(|()| file.sync_all())
                    .with_context(|| format!("cannot write {}", path.display()))?;
                seed_hex
            }
            Err(error) => {
                return Err(error).with_context(|| format!("cannot read {}", path.display()));
            }
        };
        let hotkey = Hotkey::from_seed_hex(&seed_hex)
            .with_context(|| format!("{} does not hold a hex seed", path.display()))?;
        Ok(Self {
            name: name.to_owned(),
            seed_hex,
            hotkey,
        })
    }

    /// The SS58 address.
    pub fn ss58(&self) -> &str {
        self.hotkey.ss58()
    }
}

/// The server's clock: `block = (now - genesis) / block_time`, 100 blocks per window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clock {
    /// `GENESIS_UNIX`.
    pub genesis_unix: i64,
    /// `BLOCK_TIME_SECS`.
    pub block_time_secs: f64,
}

impl Clock {
    /// A clock on which `window` starts at `now` (Unix seconds), give or take the second
    /// that a whole-second genesis allows: so the devnet's first window is a fresh one.
    pub fn starting(window: u64, block_time_secs: f64, now: f64) -> Self {
        let window_secs = block_time_secs * BLOCKS_PER_WINDOW as f64;
        Self {
            // Rounded down, the window starts up to a second before `now`, never after.
            genesis_unix: (now - window as f64 * window_secs).floor() as i64,
            block_time_secs,
        }
    }

    /// Seconds per window.
    pub fn window_secs(&self) -> f64 {
        self.block_time_secs * BLOCKS_PER_WINDOW as f64
    }

    /// When `window` starts, in Unix seconds.
    pub fn window_start(&self, window: u64) -> f64 {
        self.genesis_unix as f64 + window as f64 * self.window_secs()
    }

    /// The window at `unix` (as the server computes it).
    pub fn window_at(&self, unix: f64) -> u64 {
        self.block_at(unix) / BLOCKS_PER_WINDOW
    }

    /// The server's block at Unix time `unix`.
    pub fn block_at(&self, unix: f64) -> u64 {
        let blocks = ((unix - self.genesis_unix as f64) / self.block_time_secs).floor();
        blocks.max(0.0) as u64
    }
}

/// What the devnet remembers between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockState {
    /// A window after every window a previous run reached. The clock restarts there, so
    /// window numbers never go back: the database, the miners' and the validator's state
    /// all assume they only move forward.
    pub next_window: u64,
}

impl ClockState {
    /// The state in `layout`, or the first run's.
    pub fn load(layout: &Layout) -> anyhow::Result<Self> {
        let path = layout.clock_file();
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice::<Self>(&bytes)
                .map(|state| Self {
                    next_window: state.next_window.max(FIRST_WINDOW),
                })
                .with_context(|| {
                    format!("{} is damaged; delete it (or use --reset)", path.display())
                }),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(Self {
                next_window: FIRST_WINDOW,
            }),
            Err(error) => Err(error).with_context(|| format!("cannot read {}", path.display())),
        }
    }

    /// Writes the state atomically (temporary file, rename).
    pub fn save(&self, layout: &Layout) -> anyhow::Result<()> {
        write_atomically(&layout.clock_file(), &serde_json::to_vec(self)?)
    }
}

/// Writes `bytes` to `path` through a temporary file and a rename, so a reader never sees
/// half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temporary = path.with_extension("tmp");
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The dataset: `explicit`, else `data/posts.jsonl` in the working directory, else in the
/// repository this program was built from.
pub fn find_dataset(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = explicit {
        anyhow::ensure!(
            path.is_file(),
            "the dataset {} does not exist",
            path.display()
        );
        return Ok(std::path::absolute(path)?);
    }
    let candidates = [
        PathBuf::from("data/posts.jsonl"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/posts.jsonl"),
    ];
    for candidate in &candidates {
        if candidate.is_file() {
            return Ok(std::path::absolute(candidate)?);
        }
    }
    anyhow::bail!(
        "no dataset for the X double: data/posts.jsonl is neither in the working directory nor in {}; run from the repository root or pass --dataset",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_starts_the_given_window_within_a_second_before_now() {
        let now = 1_764_120_123.75;
        for block_time in [1.0, 0.2, 0.123, 12.0] {
            let clock = Clock::starting(7, block_time, now);
            let start = clock.window_start(7);
            assert!(start <= now && now - start < 1.0, "{block_time}: {start}");
            assert_eq!(clock.window_at(now), 7, "{block_time}");
            // A microsecond later: fractional block times make the float boundary inexact, for
            // the server's clock as for this one (hence the devnet polls the server too).
            assert_eq!(clock.window_at(start + clock.window_secs() + 1e-6), 8);
        }
    }

    #[test]
    fn identities_are_kept_and_windows_remembered() {
        let dir = std::env::temp_dir().join(format!("pulse-devnet-layout-{}", std::process::id()));
        let layout = Layout::new(&dir).unwrap();
        layout.create().unwrap();
        let first = Identity::load_or_create(&layout, "miner-1").unwrap();
        let again = Identity::load_or_create(&layout, "miner-1").unwrap();
        let other = Identity::load_or_create(&layout, "miner-2").unwrap();
        assert_eq!(first.ss58(), again.ss58());
        assert_ne!(first.ss58(), other.ss58());
        let mode = std::fs::metadata(layout.seed_file("miner-1"))
            .unwrap()
            .permissions();
        assert_eq!(
            std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
            0o600
        );

        assert_eq!(ClockState::load(&layout).unwrap().next_window, FIRST_WINDOW);
        ClockState { next_window: 42 }.save(&layout).unwrap();
        assert_eq!(ClockState::load(&layout).unwrap().next_window, 42);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
