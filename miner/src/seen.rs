//! [`SeenSet`]: the posts this hotkey has submitted, kept on disk so a restart does not
//! resubmit them.
//!
//! One JSON file per hotkey, `<state dir>/<ss58>/seen.json`:
//!
//! ```json
//! {"version": 1, "hotkey": "5F...", "posts": {"1860000000000000001": {"date": 1764120000, "outcome": "new", "marked_at": 1764121000}}}
//! ```
//!
//! A post is marked when the server has it (`new`, `duplicate`) or refused it for good
//! (`conflict`, `invalid`, `too_large`); a post that was skipped, rate limited or could not be
//! delivered stays unmarked and may be tried again.
//!
//! Writes are atomic (a temporary file in the same directory, synced, then renamed over the
//! old one), so a crash leaves the old file or the new one, never half of one. Each write
//! first merges what is on disk, so two processes sharing a state directory lose nothing but
//! a race between their last two writes. Entries are dropped once their post is older than
//! X's seven-day search horizon plus a day: such a post can no longer be found, so it can no
//! longer be resubmitted.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

/// How long an entry is kept after its post's creation: recent search reaches back seven
/// days; one more day covers clock differences with X.
pub const RETENTION_SECS: i64 = 8 * 86_400;
/// The file format's version.
pub const FORMAT_VERSION: u32 = 1;
/// The file's name inside the hotkey's directory.
pub const FILE_NAME: &str = "seen.json";

/// What became of a marked post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeenOutcome {
    /// Accepted as new.
    New,
    /// The server already had it with the same data.
    Duplicate,
    /// The server has it with other data (409).
    Conflict,
    /// The server refused its fields (422).
    Invalid,
    /// The server refused its size (413).
    TooLarge,
}

/// One marked post.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenEntry {
    /// The post's creation time, Unix seconds (what pruning goes by).
    pub date: i64,
    /// What the server said.
    pub outcome: SeenOutcome,
    /// When it was marked, Unix seconds.
    pub marked_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
struct SeenFile {
    version: u32,
    hotkey: String,
    posts: BTreeMap<String, SeenEntry>,
}

/// The persisted set of posts not to submit again.
#[derive(Debug)]
pub struct SeenSet {
    path: PathBuf,
    hotkey: String,
    posts: BTreeMap<String, SeenEntry>,
}

/// The default state directory: `$XDG_STATE_HOME/pulse-miner`, else
/// `~/.local/state/pulse-miner`.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir).join("pulse-miner"),
        None => protocol::wallet::expand_home(Path::new("~/.local/state/pulse-miner")),
    }
}

/// The seen file of `hotkey` under `state_dir`.
pub fn seen_path(state_dir: &Path, hotkey: &str) -> PathBuf {
    state_dir.join(hotkey).join(FILE_NAME)
}

fn read(path: &Path) -> anyhow::Result<Option<SeenFile>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let file: SeenFile = serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{} is not a seen-posts file; move it away to start afresh (the server will answer \
             posts it already has as duplicates or conflicts)",
            path.display()
        )
    })?;
    if file.version != FORMAT_VERSION {
        anyhow::bail!(
            "{} has format version {}; this pulse-miner reads version {FORMAT_VERSION}",
            path.display(),
            file.version
        );
    }
    Ok(Some(file))
}

impl SeenSet {
    /// Opens (or starts) the set of `hotkey` in `state_dir`, creating the directory, and
    /// prunes entries older than the retention at `now` (Unix seconds).
    ///
    /// A file that cannot be read is an error rather than an empty set: starting empty would
    /// quietly resubmit everything.
    pub fn open(state_dir: &Path, hotkey: &str, now: i64) -> anyhow::Result<Self> {
        let path = seen_path(state_dir, hotkey);
        let dir = path.parent().expect("the seen file has a directory");
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        let mut posts = BTreeMap::new();
        if let Some(file) = read(&path)? {
            if file.hotkey != hotkey {
                anyhow::bail!(
                    "{} belongs to hotkey {}, not {hotkey}",
                    path.display(),
                    file.hotkey
                );
            }
            posts = file.posts;
        }
        let mut set = Self {
            path,
            hotkey: hotkey.to_owned(),
            posts,
        };
        set.prune(now);
        Ok(set)
    }

    /// Where the set is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `post_id` is marked.
    pub fn contains(&self, post_id: &str) -> bool {
        self.posts.contains_key(post_id)
    }

    /// The entry of `post_id`.
    pub fn get(&self, post_id: &str) -> Option<&SeenEntry> {
        self.posts.get(post_id)
    }

    /// Marked posts.
    pub fn len(&self) -> usize {
        self.posts.len()
    }

    /// Whether no post is marked.
    pub fn is_empty(&self) -> bool {
        self.posts.is_empty()
    }

    /// Drops entries whose post is older than the retention at `now`.
    pub fn prune(&mut self, now: i64) {
        self.posts
            .retain(|_, entry| entry.date >= now.saturating_sub(RETENTION_SECS));
    }

    /// Marks `post_id` and writes the set (merged with the file) to disk.
    pub fn mark(&mut self, post_id: &str, entry: SeenEntry, now: i64) -> anyhow::Result<()> {
        self.posts.insert(post_id.to_owned(), entry);
        self.save(now)
    }

    /// Writes the set, merged with what is on disk, atomically.
    pub fn save(&mut self, now: i64) -> anyhow::Result<()> {
        if let Some(file) = read(&self.path)? {
            for (id, entry) in file.posts {
                self.posts.entry(id).or_insert(entry);
            }
        }
        self.prune(now);
        let file = SeenFile {
            version: FORMAT_VERSION,
            hotkey: self.hotkey.clone(),
            posts: self.posts.clone(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("the seen file serialises");
        write_atomically(&self.path, &bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("the seen file has a directory");
    let temporary = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)?;
        // The rename is durable once the directory is synced (where the platform allows it).
        #[cfg(unix)]
        fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_115_200;
    const HOTKEY: &str = "5DtDLm5rQHShDqojQpsvcN8tRXHVFaecfDoRet1SU6BFD9Fi";

    fn entry(date: i64, outcome: SeenOutcome) -> SeenEntry {
        SeenEntry {
            date,
            outcome,
            marked_at: NOW,
        }
    }

    #[test]
    fn marked_posts_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        assert!(seen.is_empty());
        seen.mark("11", entry(NOW - 60, SeenOutcome::New), NOW)
            .unwrap();
        seen.mark("12", entry(NOW - 60, SeenOutcome::Conflict), NOW)
            .unwrap();
        assert_eq!(seen.path(), dir.path().join(HOTKEY).join("seen.json"));

        let reopened = SeenSet::open(dir.path(), HOTKEY, NOW + 10).unwrap();
        assert!(reopened.contains("11") && reopened.contains("12"));
        assert_eq!(
            reopened.get("12").map(|e| e.outcome),
            Some(SeenOutcome::Conflict)
        );
        assert!(!reopened.contains("13"));
        // No temporary file is left behind.
        let names: Vec<_> = fs::read_dir(dir.path().join(HOTKEY))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["seen.json"]);
    }

    #[test]
    fn entries_past_the_search_horizon_and_a_day_are_pruned() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        seen.mark(
            "old",
            entry(NOW - RETENTION_SECS - 1, SeenOutcome::New),
            NOW,
        )
        .unwrap();
        seen.mark("edge", entry(NOW - RETENTION_SECS, SeenOutcome::New), NOW)
            .unwrap();
        seen.mark("fresh", entry(NOW - 3600, SeenOutcome::New), NOW)
            .unwrap();
        assert!(!seen.contains("old"));
        assert!(seen.contains("edge") && seen.contains("fresh"));
        let later = SeenSet::open(dir.path(), HOTKEY, NOW + 2 * 86_400).unwrap();
        assert_eq!(later.len(), 1);
        assert!(later.contains("fresh"));
    }

    #[test]
    fn two_processes_sharing_a_directory_keep_each_others_marks() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        let mut second = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        first.mark("1", entry(NOW, SeenOutcome::New), NOW).unwrap();
        second.mark("2", entry(NOW, SeenOutcome::New), NOW).unwrap();
        let reopened = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        assert!(reopened.contains("1") && reopened.contains("2"));
    }

    #[test]
    fn a_damaged_file_is_an_error_not_an_empty_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = seen_path(dir.path(), HOTKEY);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"{\"version\": 1, \"posts\": ").unwrap();
        let err = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap_err();
        assert!(
            format!("{err:#}").contains("not a seen-posts file"),
            "{err:#}"
        );
    }

    #[test]
    fn another_hotkeys_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut seen = SeenSet::open(dir.path(), HOTKEY, NOW).unwrap();
        seen.mark("1", entry(NOW, SeenOutcome::New), NOW).unwrap();
        let other = dir.path().join("other");
        fs::create_dir_all(&other).unwrap();
        fs::copy(seen.path(), other.join("seen.json")).unwrap();
        let err = SeenSet::open(dir.path(), "other", NOW).unwrap_err();
        assert!(err.to_string().contains("belongs to hotkey"), "{err}");
    }

    #[test]
    fn the_default_directory_is_under_the_users_state_home() {
        let dir = default_state_dir();
        assert!(dir.ends_with("pulse-miner"), "{}", dir.display());
        assert!(!dir.starts_with("~"), "{}", dir.display());
    }
}
