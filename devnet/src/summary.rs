//! What the devnet prints: where everything is when it is ready, one line per window, and
//! how every process ended; as text or as JSON lines (`"type"`: `ready`, `window`,
//! `stopped`).
//!
//! ```text
//! window 12 [blocks 1200-1299]: accepted 10 (selected 5), duplicates 0, 429s 0; verdicts pass 5, fail 0, inconclusive 0; scores miner-1 0.6123, miner-2 0.6012; weights miner-1 0.5046, miner-2 0.4954; on chain at block 1302: miner-1 0.5046, miner-2 0.4954
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::process::{Exit, PostgresStop};

/// Verdicts by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Verdicts {
    /// Passed.
    pub pass: u32,
    /// Failed.
    pub fail: u32,
    /// Inconclusive.
    pub inconclusive: u32,
}

impl Verdicts {
    /// Every verdict.
    pub fn total(&self) -> u32 {
        self.pass + self.fail + self.inconclusive
    }
}

/// One miner's posts in a window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MinerCounts {
    /// Posts accepted.
    pub accepted: u32,
    /// Of those, sampled for validation.
    pub selected: u32,
}

/// The validator's weights as its weight file has them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weights {
    /// The last window whose scores are in them.
    pub window: u64,
    /// Hotkey (or `uid N` for an entry without one) -> weight.
    pub weights: BTreeMap<String, f64>,
}

/// The validator's weights as the chain holds them when the window's line is printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChainWeights {
    /// Block of the extrinsic that set them; `None` while the chain holds none of the
    /// validator's.
    pub block: Option<u64>,
    /// Hotkey (or `uid N` for a uid the chain no longer maps) -> the stored `u16` weight
    /// as a share of the vector's sum.
    pub weights: BTreeMap<String, f64>,
    /// The validator's commits not revealed yet (commit-reveal).
    pub pending_commits: usize,
}

/// One window's numbers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WindowSummary {
    /// The window.
    pub window: u64,
    /// Its first block.
    pub first_block: u64,
    /// Its last block.
    pub last_block: u64,
    /// Posts the server accepted in the window.
    pub accepted: u32,
    /// Of those, posts it sampled for validation.
    pub selected: u32,
    /// Submissions answered `duplicate` while the window was open.
    pub duplicates: u64,
    /// Submissions answered 429 while the window was open.
    pub rate_limited: u64,
    /// Verdicts on the window's posts.
    pub verdicts: Verdicts,
    /// Sampled posts of the window still without a pass or fail when the line was printed.
    pub pending: u32,
    /// Per miner hotkey.
    pub miners: BTreeMap<String, MinerCounts>,
    /// The window's scores, per miner hotkey (`/v2/scores?window=N`).
    pub scores: BTreeMap<String, f64>,
    /// The validator's weights after the window, if it had written them.
    pub weights: Option<Weights>,
    /// The validator's weights on the chain after the window.
    pub chain: Option<ChainWeights>,
}

/// Short names for hotkeys (`miner-1`); others are abbreviated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names(BTreeMap<String, String>);

impl Names {
    /// Names `hotkey` `name`.
    pub fn insert(&mut self, hotkey: &str, name: &str) {
        self.0.insert(hotkey.to_owned(), name.to_owned());
    }

    /// The name of `hotkey`, or its first and last characters.
    pub fn of(&self, hotkey: &str) -> String {
        if let Some(name) = self.0.get(hotkey) {
            return name.clone();
        }
        let chars: Vec<char> = hotkey.chars().collect();
        if chars.len() <= 12 {
            return hotkey.to_owned();
        }
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    }
}

fn list(values: &BTreeMap<String, f64>, names: &Names, digits: usize) -> String {
    if values.is_empty() {
        return "none".to_owned();
    }
    // Named hotkeys (the devnet's miners) first, in name order; then any other miner.
    let mut entries: Vec<(bool, String, f64)> = values
        .iter()
        .map(|(k, v)| (!names.0.contains_key(k), names.of(k), *v))
        .collect();
    entries.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    entries
        .iter()
        .map(|(_, name, value)| format!("{name} {value:.digits$}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl WindowSummary {
    /// The text line.
    pub fn text(&self, names: &Names) -> String {
        let mut line = format!(
            "window {} [blocks {}-{}]: accepted {} (selected {}), duplicates {}, 429s {}; verdicts pass {}, fail {}, inconclusive {}",
            self.window,
            self.first_block,
            self.last_block,
            self.accepted,
            self.selected,
            self.duplicates,
            self.rate_limited,
            self.verdicts.pass,
            self.verdicts.fail,
            self.verdicts.inconclusive,
        );
        if self.pending > 0 {
            let _ = write!(line, " ({} pending)", self.pending);
        }
        let _ = write!(line, "; scores {}", list(&self.scores, names, 4));
        match &self.weights {
            None => line.push_str("; weights not written yet"),
            Some(weights) if weights.window == self.window => {
                let _ = write!(line, "; weights {}", list(&weights.weights, names, 4));
            }
            Some(weights) => {
                let _ = write!(
                    line,
                    "; weights (as of window {}) {}",
                    weights.window,
                    list(&weights.weights, names, 4)
                );
            }
        }
        if let Some(chain) = &self.chain {
            match chain.block {
                Some(block) => {
                    let _ = write!(
                        line,
                        "; on chain at block {block}: {}",
                        list(&chain.weights, names, 4)
                    );
                }
                None => line.push_str("; on chain: none yet"),
            }
            if chain.pending_commits > 0 {
                let _ = write!(
                    line,
                    " ({} commit{} awaiting reveal)",
                    chain.pending_commits,
                    if chain.pending_commits == 1 { "" } else { "s" }
                );
            }
        }
        line
    }
}

/// One process of the devnet, as the ready line lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// `server`, `xapi`, `miner-1`, ..., `validator`.
    pub name: String,
    /// Its pid (and process group).
    pub pid: u32,
    /// Its log file.
    pub log: String,
    /// Its hotkey, for miners and the validator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hotkey: Option<String>,
    /// Its `/metrics`, when it serves one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics: Option<String>,
}

/// Where everything is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ready {
    /// The devnet directory.
    pub dir: String,
    /// The coordination API.
    pub api: String,
    /// The status page.
    pub page: String,
    /// Its interactive documentation.
    pub docs: String,
    /// Its Prometheus metrics.
    pub metrics: String,
    /// The embedded database.
    pub database_url: String,
    /// The embedded cluster's directory.
    pub cluster_dir: String,
    /// The X double's API base.
    pub x_api: String,
    /// The subtensor double (`pulse-chain`).
    pub chain: String,
    /// The subnet on it whose metagraph the server decides roles with.
    pub netuid: u16,
    /// Who was registered on it: name, uid, validator permit, stake in rao.
    pub registered: Vec<Registered>,
    /// Seconds per block.
    pub block_time_secs: f64,
    /// Blocks per window.
    pub blocks_per_window: u64,
    /// The clock's block 0.
    pub genesis_unix: i64,
    /// The window the devnet is in.
    pub window: u64,
    /// Seconds from start to ready.
    pub startup_secs: f64,
    /// Every process.
    pub processes: Vec<ProcessInfo>,
}

impl Ready {
    /// The text block.
    pub fn text(&self) -> String {
        let mut text = format!(
            "pulse devnet ready in {:.1} s; state in {} (Ctrl-C stops everything)\n",
            self.startup_secs, self.dir
        );
        let _ = writeln!(text, "  status page {}", self.page);
        let _ = writeln!(
            text,
            "  API         {}   docs {}   metrics {}",
            self.api, self.docs, self.metrics
        );
        let _ = writeln!(
            text,
            "  database    {}   ({})",
            self.database_url, self.cluster_dir
        );
        let _ = writeln!(text, "  X double    {}", self.x_api);
        let registered: Vec<String> = self
            .registered
            .iter()
            .map(|r| {
                let permit = if r.validator_permit { ", permit" } else { "" };
                format!(
                    "{} uid {}{permit}, stake {}",
                    r.name,
                    r.uid,
                    service::registration::tao(r.stake_rao)
                )
            })
            .collect();
        let _ = writeln!(
            text,
            "  chain       {}   netuid {}, REGISTRATION=metagraph: {}",
            self.chain,
            self.netuid,
            registered.join("; ")
        );
        for process in &self.processes {
            let mut line = format!("  {:<11} pid {:<7}", process.name, process.pid);
            if let Some(hotkey) = &process.hotkey {
                let _ = write!(line, " {hotkey}");
            }
            if let Some(metrics) = &process.metrics {
                let _ = write!(line, "  metrics {metrics}");
            }
            let _ = write!(line, "  log {}", process.log);
            let _ = writeln!(text, "{line}");
        }
        let _ = write!(
            text,
            "  windows     {} blocks of {} s ({} s); window {} has begun; a line follows as each window closes",
            self.blocks_per_window,
            self.block_time_secs,
            self.block_time_secs * self.blocks_per_window as f64,
            self.window
        );
        text
    }
}

/// A hotkey the devnet registered on its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Registered {
    /// The process's name.
    pub name: String,
    /// Its uid.
    pub uid: u16,
    /// Whether it holds a validator permit.
    pub validator_permit: bool,
    /// Its stake, in rao.
    pub stake_rao: u64,
}

/// How one process ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessExit {
    /// Its name.
    pub name: String,
    /// Its pid.
    pub pid: u32,
    /// How it ended (`None`: it had not ended, which the devnet reports as an error).
    pub exit: Option<Exit>,
}

/// How the devnet stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// Why: `SIGINT`, `SIGTERM`, `--windows reached`, `miner-2 exited (exit code 1)`, ...
    pub reason: String,
    /// Every process.
    pub processes: Vec<ProcessExit>,
    /// The embedded PostgreSQL.
    pub postgres: PostgresStop,
    /// Processes still running afterwards (`pid name`); empty unless something is wrong.
    pub leftovers: Vec<String>,
}

impl Stopped {
    /// The text line.
    pub fn text(&self) -> String {
        let processes: Vec<String> = self
            .processes
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p.name,
                    p.exit
                        .as_ref()
                        .map_or("still running", |e| e.description.as_str())
                )
            })
            .collect();
        let postgres = match self.postgres {
            PostgresStop::NotRunning => "PostgreSQL stopped by the server".to_owned(),
            PostgresStop::Stopped { pid } => {
                format!("PostgreSQL (pid {pid}) was left running and is now stopped")
            }
            PostgresStop::Killed { pid } => format!("PostgreSQL (pid {pid}) had to be killed"),
        };
        let left = if self.leftovers.is_empty() {
            "no process left".to_owned()
        } else {
            format!("STILL RUNNING: {}", self.leftovers.join(", "))
        };
        format!(
            "devnet stopped ({}): {}; {postgres}; {left}",
            self.reason,
            processes.join(", ")
        )
    }
}

/// A JSON line: `value` with `"type": kind`.
pub fn json_line(kind: &str, value: &impl Serialize) -> String {
    let mut json = serde_json::to_value(value).expect("devnet lines serialise");
    if let Some(object) = json.as_object_mut() {
        object.insert("type".to_owned(), serde_json::Value::from(kind));
    }
    json.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M1: &str = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
    const M2: &str = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    const OUTSIDER: &str = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

    fn sample() -> WindowSummary {
        WindowSummary {
            window: 12,
            first_block: 1200,
            last_block: 1299,
            accepted: 10,
            selected: 5,
            duplicates: 1,
            rate_limited: 2,
            verdicts: Verdicts {
                pass: 4,
                fail: 1,
                inconclusive: 0,
            },
            pending: 0,
            miners: BTreeMap::new(),
            scores: BTreeMap::from([
                (M1.to_owned(), 0.612_34),
                (M2.to_owned(), 0.060_12),
                (OUTSIDER.to_owned(), 0.5),
            ]),
            weights: Some(Weights {
                window: 12,
                weights: BTreeMap::from([(M1.to_owned(), 0.9), (M2.to_owned(), 0.1)]),
            }),
            chain: None,
        }
    }

    fn names() -> Names {
        let mut names = Names::default();
        names.insert(M1, "miner-1");
        names.insert(M2, "miner-2");
        names
    }

    #[test]
    fn a_window_line_names_every_number() {
        assert_eq!(
            sample().text(&names()),
            "window 12 [blocks 1200-1299]: accepted 10 (selected 5), duplicates 1, 429s 2; verdicts pass 4, fail 1, inconclusive 0; scores miner-1 0.6123, miner-2 0.0601, 5FLSig…S59Y 0.5000; weights miner-1 0.9000, miner-2 0.1000"
        );
    }

    #[test]
    fn pending_verdicts_and_older_weights_are_said_so() {
        let mut summary = sample();
        summary.pending = 2;
        summary.scores.clear();
        summary.weights.as_mut().unwrap().window = 11;
        let text = summary.text(&names());
        assert!(
            text.ends_with("inconclusive 0 (2 pending); scores none; weights (as of window 11) miner-1 0.9000, miner-2 0.1000"),
            "{text}"
        );
        summary.weights = None;
        assert!(
            summary
                .text(&names())
                .ends_with("; weights not written yet")
        );
    }

    #[test]
    fn weights_on_chain_and_pending_commits_are_said() {
        let mut summary = sample();
        summary.chain = Some(ChainWeights {
            block: Some(1302),
            weights: BTreeMap::from([(M1.to_owned(), 0.9), (M2.to_owned(), 0.1)]),
            pending_commits: 0,
        });
        let text = summary.text(&names());
        assert!(
            text.ends_with("; weights miner-1 0.9000, miner-2 0.1000; on chain at block 1302: miner-1 0.9000, miner-2 0.1000"),
            "{text}"
        );
        summary.chain = Some(ChainWeights {
            block: None,
            weights: BTreeMap::new(),
            pending_commits: 1,
        });
        let text = summary.text(&names());
        assert!(
            text.ends_with("; on chain: none yet (1 commit awaiting reveal)"),
            "{text}"
        );
    }

    #[test]
    fn json_lines_carry_their_type_and_every_number() {
        let json: serde_json::Value =
            serde_json::from_str(&json_line("window", &sample())).unwrap();
        assert_eq!(json["type"], "window");
        assert_eq!(json["verdicts"]["fail"], 1);
        assert_eq!(json["rate_limited"], 2);
        assert_eq!(json["scores"][M1], 0.612_34);
        assert_eq!(json["weights"]["window"], 12);
    }
}
