//! The documents say what the code does.
//!
//! - `docs/configuration.md` has a section per binary whose tables list exactly the
//!   environment variables and flags that the binary's `--help` (and its commands' `--help`)
//!   documents, with the defaults `--help` prints.
//! - Every link in the README and in `docs/` that points into `docs/` names a file that
//!   exists, and every `#<anchor>` names a heading of its file (GitHub's anchor rules); so does
//!   every `protocol.md#<anchor>` written anywhere in the repository (code comments cite the
//!   protocol document that way).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use e2e::{binary, repo};

/// Variables the binaries read from the environment only, which `--help` does not list as a
/// flag's `[env: ...]`: the log filter, and the hotkey seed (kept off the command line so it
/// never shows in process listings).
const ENVIRONMENT_ONLY: &[&str] = &["RUST_LOG", "PULSE_HOTKEY_SEED"];

/// The binaries `docs/configuration.md` documents, each in a section of its name.
const BINARIES: &[&str] = &[
    "pulse-server",
    "pulse-miner",
    "pulse-validator",
    "pulse-xapi",
    "pulse-devnet",
    "pulse-bench",
];

/// One option as `--help` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HelpOption {
    /// Its flags, short and long (`-c`, `--concurrency`).
    flags: Vec<String>,
    /// The environment variable it reads, if any.
    env: Option<String>,
    /// Its default value, if `--help` prints one.
    default: Option<String>,
}

impl HelpOption {
    fn long_flag(&self) -> Option<&str> {
        self.flags
            .iter()
            .find(|f| f.starts_with("--"))
            .map(String::as_str)
    }
}

fn help(program: &str, commands: &[String]) -> String {
    let output = Command::new(binary(program))
        .args(commands)
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{program} {commands:?} --help failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The commands a help text lists (`help` left out).
fn commands_of(help: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_commands = false;
    for line in help.lines() {
        if indent(line) == 0 {
            in_commands = line.trim() == "Commands:";
            continue;
        }
        // Command names are indented by two; their wrapped descriptions by more.
        if in_commands && indent(line) == 2 {
            let name = line.split_whitespace().next().unwrap_or_default();
            if name != "help" {
                commands.push(name.to_string());
            }
        }
    }
    commands
}

/// The options a help text lists. An option starts on a line indented by at most six spaces
/// that begins with `-`; its description, `[env: ...]` and `[default: ...]` follow, on that
/// line (short help) or on lines indented further (long help), possibly wrapped.
fn options_of(help: &str) -> Vec<HelpOption> {
    let mut blocks: Vec<(String, String)> = Vec::new();
    let mut in_options = false;
    for line in help.lines() {
        if indent(line) == 0 && !line.trim().is_empty() {
            in_options = line.trim() == "Options:";
            continue;
        }
        if !in_options {
            continue;
        }
        if (1..=6).contains(&indent(line)) && line.trim_start().starts_with('-') {
            blocks.push((line.trim().to_string(), String::new()));
        } else if let Some((_, text)) = blocks.last_mut() {
            text.push(' ');
            text.push_str(line.trim());
        }
    }
    blocks
        .into_iter()
        .map(|(head, text)| {
            let flags = head
                .split([',', ' '])
                .take_while(|token| !token.starts_with('<') && !token.starts_with('['))
                .filter(|token| token.starts_with('-'))
                .map(String::from)
                .collect();
            let all = format!("{head} {text}");
            let all = all.split_whitespace().collect::<Vec<_>>().join(" ");
            let env = all.split_once("[env: ").map(|(_, rest)| {
                rest.chars()
                    .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                    .collect()
            });
            let default = all
                .split_once("[default: ")
                .and_then(|(_, rest)| rest.split_once(']'))
                .map(|(value, _)| value.to_string());
            HelpOption {
                flags,
                env,
                default,
            }
        })
        .filter(|option| {
            !option
                .flags
                .iter()
                .any(|f| f == "--help" || f == "--version")
        })
        .collect()
}

/// Every option of `program` and of each of its commands, recursively.
fn all_options(program: &str) -> Vec<HelpOption> {
    let mut options = Vec::new();
    let mut pending: Vec<Vec<String>> = vec![Vec::new()];
    while let Some(commands) = pending.pop() {
        let text = help(program, &commands);
        options.extend(options_of(&text));
        for command in commands_of(&text) {
            let mut deeper = commands.clone();
            deeper.push(command);
            pending.push(deeper);
        }
    }
    options
}

/// A row of a settings table: `| variable | flag | default | meaning |` (or `command` in the
/// first column), as the backticked names of its first two cells and its default cell.
#[derive(Debug, Clone)]
struct Row {
    variables: Vec<String>,
    flags: Vec<String>,
    default: String,
}

/// The cells of a table line, split at `|` but not at `\|`.
fn cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut chars = line.trim().trim_matches('|').chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                cells.last_mut().unwrap().push('|');
                chars.next();
            }
            '|' => cells.push(String::new()),
            _ => cells.last_mut().unwrap().push(c),
        }
    }
    cells.into_iter().map(|c| c.trim().to_string()).collect()
}

/// The `code spans` of a markdown cell.
fn code_spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(String::from)
        .collect()
}

/// The text of each `## ` section of a markdown document, by heading.
fn sections(markdown: &str) -> BTreeMap<String, String> {
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        if let Some(heading) = line.strip_prefix("## ") {
            if let Some((name, text)) = current.take() {
                sections.insert(name, text);
            }
            current = Some((heading.trim().to_string(), String::new()));
        } else if let Some((_, text)) = current.as_mut() {
            text.push_str(line);
            text.push('\n');
        }
    }
    if let Some((name, text)) = current {
        sections.insert(name, text);
    }
    sections
}

/// The rows of the settings tables in a section.
fn setting_rows(section: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    let mut in_settings_table = false;
    for line in section.lines() {
        if !line.starts_with('|') {
            in_settings_table = false;
            continue;
        }
        let cells = cells(line);
        if cells.len() >= 3
            && (cells[0] == "variable" || cells[0] == "command")
            && cells[1] == "flag"
            && cells[2] == "default"
        {
            in_settings_table = true;
            continue;
        }
        if !in_settings_table || cells[0].starts_with("---") {
            continue;
        }
        let is_variable = |s: &String| {
            s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && s.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        };
        rows.push(Row {
            variables: code_spans(&cells[0])
                .into_iter()
                .filter(is_variable)
                .collect(),
            flags: code_spans(&cells[1])
                .into_iter()
                .filter_map(|f| f.split_whitespace().next().map(String::from))
                .filter(|f| f.starts_with('-'))
                .collect(),
            default: cells[2].clone(),
        });
    }
    rows
}

/// Whether `text` mentions `flag` as a whole flag (`--bind`, not the start of `--bind-x`).
fn mentions_flag(text: &str, flag: &str) -> bool {
    text.match_indices(flag).any(|(at, _)| {
        let next = text[at + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
}

#[test]
fn the_configuration_reference_lists_exactly_the_settings_of_every_binary_with_their_defaults() {
    let document = std::fs::read_to_string(repo().join("docs/configuration.md")).unwrap();
    let sections = sections(&document);
    let mut problems = Vec::new();
    let mut checked = 0;
    for program in BINARIES {
        let Some(section) = sections.get(*program) else {
            problems.push(format!(
                "docs/configuration.md has no section `## {program}`"
            ));
            continue;
        };
        let rows = setting_rows(section);
        let options = all_options(program);
        let help_variables: BTreeSet<&str> =
            options.iter().filter_map(|o| o.env.as_deref()).collect();
        let help_flags: BTreeSet<&str> = options
            .iter()
            .flat_map(|o| o.flags.iter().map(String::as_str))
            .collect();
        let documented_variables: BTreeSet<&str> = rows
            .iter()
            .flat_map(|r| r.variables.iter().map(String::as_str))
            .collect();

        for variable in &help_variables {
            if !documented_variables.contains(variable) {
                problems.push(format!(
                    "{program}: `{variable}` is in --help but in no table of its section"
                ));
            }
        }
        for variable in &documented_variables {
            if !help_variables.contains(variable) && !ENVIRONMENT_ONLY.contains(variable) {
                problems.push(format!(
                    "{program}: the section documents `{variable}`, which --help does not know"
                ));
            }
        }
        for option in &options {
            let Some(flag) = option.long_flag() else {
                continue;
            };
            if !mentions_flag(section, flag) {
                problems.push(format!(
                    "{program}: `{flag}` is in --help but not in its section"
                ));
            }
        }
        for row in &rows {
            for flag in &row.flags {
                if !help_flags.contains(flag.as_str()) {
                    problems.push(format!(
                        "{program}: the section documents `{flag}`, which --help does not know"
                    ));
                }
            }
        }
        for option in &options {
            let Some(default) = &option.default else {
                continue;
            };
            let about: Vec<&Row> = match (&option.env, option.long_flag()) {
                (Some(env), _) => rows.iter().filter(|r| r.variables.contains(env)).collect(),
                (None, Some(flag)) => rows
                    .iter()
                    .filter(|r| r.flags.iter().any(|f| f == flag))
                    .collect(),
                (None, None) => continue,
            };
            let name = option
                .env
                .clone()
                .or(option.long_flag().map(String::from))
                .unwrap_or_default();
            if about.is_empty() {
                problems.push(format!(
                    "{program}: `{name}` has the default `{default}` in --help but no row of its own"
                ));
            } else if !about
                .iter()
                .any(|r| r.default.contains(&format!("`{default}`")))
            {
                problems.push(format!(
                    "{program}: `{name}` defaults to `{default}` in --help, not to what the section says ({})",
                    about[0].default
                ));
            }
            checked += 1;
        }
    }
    assert!(
        problems.is_empty(),
        "docs/configuration.md disagrees with the binaries:\n{}",
        problems.join("\n")
    );
    assert!(
        checked >= 80,
        "only {checked} defaults checked: the help parser lost its way"
    );
}

/// GitHub's anchor for a heading: lowercased, punctuation dropped (`-` and `_` kept),
/// spaces as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a markdown document's headings (outside code blocks), with GitHub's
/// `-1`, `-2` suffixes for repeated headings.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = anchor(heading);
        let count = seen.entry(base.clone()).or_insert(0);
        anchors.insert(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    anchors
}

/// The targets of the inline links of a markdown document, outside code blocks.
fn link_targets(markdown: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_code = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        let mut rest = line;
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let end = after.find(')').unwrap_or(after.len());
            targets.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    targets
}

fn markdown_documents() -> Vec<PathBuf> {
    let mut documents = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    documents.extend(docs);
    documents
}

fn normalised(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn links_into_the_documents_name_files_and_headings_that_exist() {
    let root = normalised(&repo());
    let docs_dir = root.join("docs");
    let mut problems = Vec::new();
    let mut checked = 0;
    for document in markdown_documents() {
        let document = normalised(&document);
        let text = std::fs::read_to_string(&document).unwrap();
        let name = document
            .strip_prefix(&root)
            .unwrap_or(&document)
            .display()
            .to_string();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
            let file = if path.is_empty() {
                document.clone()
            } else {
                normalised(&document.parent().unwrap().join(path))
            };
            // Files outside docs/ (the README, bench/, migrations/) belong to their crates;
            // only links into docs/ and anchors are held to here.
            if file.starts_with(&docs_dir) && !file.exists() {
                problems.push(format!("{name}: link to missing {target}"));
                continue;
            }
            if fragment.is_empty() || !file.exists() || file.extension().is_none_or(|e| e != "md") {
                continue;
            }
            let target_text = std::fs::read_to_string(&file).unwrap();
            if !anchors(&target_text).contains(fragment) {
                problems.push(format!("{name}: link to {target}: no such heading"));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 50, "only {checked} anchors checked");
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                files_under(&path, found);
            }
        } else if path.extension().is_some_and(|e| e == "rs" || e == "md") {
            found.push(path);
        }
    }
}

#[test]
fn every_reference_to_a_protocol_section_names_a_heading_of_the_protocol_document() {
    let protocol = std::fs::read_to_string(repo().join("docs/protocol.md")).unwrap();
    let headings = anchors(&protocol);
    let mut files = Vec::new();
    files_under(&repo(), &mut files);
    let mut problems = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for (at, _) in text.match_indices("protocol.md#") {
            let fragment: String = text[at + "protocol.md#".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
                .collect();
            if !fragment.is_empty() && !headings.contains(&fragment) {
                problems.push(format!("{}: protocol.md#{fragment}", file.display()));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "no such heading:\n{}",
        problems.join("\n")
    );

    // The table at the end of the document lists the anchors code comments may use.
    let table = protocol
        .split_once("\n## Anchors")
        .expect("docs/protocol.md ends with an Anchors section")
        .1;
    let listed: Vec<String> = table
        .lines()
        .filter(|l| l.starts_with("| `#"))
        .map(|l| code_spans(l)[0].trim_start_matches('#').to_string())
        .collect();
    assert!(listed.len() >= 20, "only {} anchors listed", listed.len());
    for anchor in &listed {
        assert!(
            headings.contains(anchor),
            "the Anchors table lists #{anchor}, which is no heading"
        );
    }
}
