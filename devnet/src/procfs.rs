//! What Linux's `/proc` says about processes: whether one still runs (a zombie does not),
//! which process group it is in, and which executable it runs.
//!
//! Signalling a pid tells whether it exists, not whether it runs: a child that exited but was
//! not reaped by its parent (say, PostgreSQL's postmaster under a container's init that reaps
//! nothing) still answers. `/proc/<pid>/stat` tells the difference.

use std::path::PathBuf;

/// One line of `/proc/<pid>/stat`, the parts the devnet reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// The process.
    pub pid: u32,
    /// Its command name (at most 15 bytes, as the kernel keeps it).
    pub comm: String,
    /// `R`, `S`, `D`, ... ; `Z` (zombie) and `X` (dead) no longer run.
    pub state: char,
    /// Its process group.
    pub pgid: u32,
}

impl Stat {
    /// Whether the process still runs (it is neither a zombie nor dead).
    pub fn is_running(&self) -> bool {
        !matches!(self.state, 'Z' | 'X')
    }
}

/// Parses a `/proc/<pid>/stat` line: `pid (comm) state ppid pgrp ...`. The command name may
/// hold spaces and parentheses, so the fields after it are found from the last `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let (head, tail) = line.rsplit_once(')')?;
    let (pid, comm) = head.split_once(" (")?;
    let mut fields = tail.split_whitespace();
    let state = fields.next()?.chars().next()?;
    let _ppid = fields.next()?;
    let pgid = fields.next()?.parse().ok()?;
    Some(Stat {
        pid: pid.trim().parse().ok()?,
        comm: comm.to_owned(),
        state,
        pgid,
    })
}

/// The process `pid`, if it exists.
pub fn stat(pid: u32) -> Option<Stat> {
    let line = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&line)
}

/// Whether `pid` exists and runs.
pub fn is_running(pid: u32) -> bool {
    stat(pid).is_some_and(|s| s.is_running())
}

/// Every running process whose process group is one of `groups`.
pub fn running_in_groups(groups: &[u32]) -> Vec<Stat> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(stat)
        .filter(|s| s.is_running() && groups.contains(&s.pgid))
        .collect()
}

/// The executable `pid` runs (without the ` (deleted)` the kernel appends once the file was
/// replaced, as a rebuild does), if this user may see it.
pub fn exe(pid: u32) -> Option<PathBuf> {
    let path = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let text = path.to_string_lossy();
    Some(PathBuf::from(
        text.strip_suffix(" (deleted)").unwrap_or(&text),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_parses_even_with_parentheses_in_the_name() {
        let stat = parse_stat("4242 (postgres: (x) ) S 1 4240 4240 0 -1 4194560 ...").unwrap();
        assert_eq!(stat.pid, 4242);
        assert_eq!(stat.comm, "postgres: (x) ");
        assert_eq!((stat.state, stat.pgid), ('S', 4240));
        assert!(stat.is_running());
        let zombie = parse_stat("7 (pulse-miner) Z 1 7 7 0").unwrap();
        assert!(!zombie.is_running());
    }

    #[test]
    fn this_process_runs_and_is_found_in_its_group() {
        let me = std::process::id();
        assert!(is_running(me));
        let group = stat(me).unwrap().pgid;
        assert!(running_in_groups(&[group]).iter().any(|s| s.pid == me));
        assert_eq!(exe(me).unwrap(), std::env::current_exe().unwrap());
    }
}
