//! Subnet relevance: which subnet a post is about, by the reference's deterministic rules.
//!
//! Validators re-run this on the stored text and compare `tokens` with what the miner sent
//! (docs/protocol.md#tolerances), so a Pulse miner and a reference validator, or a reference miner and a Pulse
//! validator, must reach the same subnet. The rules (docs/protocol.md#subnet-matching), on the lowercased text:
//!
//! 1. **Mentions.** `sn<id>`, `sn <id>` (any whitespace, including none) and `subnet <id>` (at
//!    least one whitespace) name subnet `<id>` with relevance 1.0, provided no further digit
//!    follows the id: `sn 450` names 450, never 45, and `sn045` names nothing. `sn` and `subnet`
//!    must start a word (`bitsn45` mentions nothing).
//! 2. **Words.** The text's words are its runs of at least four word characters, minus the
//!    ecosystem words (`bittensor`, `opentensor`, `tao`, `subnet`, `subnets`, `sn<digits>`).
//!    Each subnet's name and identifiers, lowercased, are compared with every word, skipping
//!    those shorter than four code points (measured before lowercasing, as the reference does)
//!    and ecosystem words: a word equal to one scores 0.9; otherwise a word whose
//!    [`difflib`](crate::difflib) ratio against it is at least 0.85 scores `ratio × 0.9`.
//! 3. A subnet is kept when its best score is at least 0.75; the highest score wins, ties to
//!    the lower id. Subnet 0 (root) is never a candidate.
//!
//! Decisions where the brief leaves room, each taken to agree with the reference:
//!
//! - **Anchors do not gate.** The text is checked for an ecosystem "anchor" (`sn<digits>`,
//!   `subnet`, `bittensor`, `tao`, `$tao`, `opentensor`) and the result is reported as
//!   [`Relevance::anchored`], but a subnet matched without an anchor still wins. The reference
//!   uses the anchor only to grade its confidence and returns the best match either way, so
//!   gating on it would make a Pulse validator reject reference miners' unanchored posts.
//! - **Multi-word and punctuated identifiers** (`bounty hunter`, `macrocosm-os`, `lium.io`) are
//!   compared whole against single words, never split and never searched as phrases. They
//!   cannot equal a word, so they match only fuzzily (`bountyhunter` ≈ `bounty hunter`, 0.96).
//!   Splitting would let `labs` or `bounty` alone select a subnet; phrase search would match
//!   posts the reference does not.
//! - **Fuzzy scores are compared scaled.** The reference compares each raw ratio with the best
//!   *scaled* score so far, which makes its result depend on set iteration order. Here every
//!   candidate is compared as `ratio × 0.9`, so the outcome is the maximum, in any order.
//! - **Placeholders** (registry entries flagged `placeholder`, the netuids the reference calls
//!   `unknown`) are matched only by mentions. The reference would let the ordinary word
//!   "unknown" (or "unknowns") select subnet 28; Pulse does not. This is the one place Pulse
//!   knowingly differs, and it is data-driven: clearing the flag in the registry restores the
//!   reference behaviour.
//! - **Word characters are Python's.** `\w` is taken as Python's (letters, numbers, `_`), not
//!   Rust regex's (which adds combining marks and joiners), and `\s` as Python's `str.isspace`.
//!   Otherwise the variation selector after an emoji (`🚀️sn45`) would glue itself to the next
//!   word and hide a mention the reference sees.
//!
//! Everything iterates in a fixed order (subnets by id, words sorted), so the same text and
//! registry always give the same result, evidence included.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use protocol::text::is_python_whitespace;
use regex::Regex;
use serde::Serialize;

use crate::difflib::Target;
use crate::registry::Registry;

/// Relevance of an explicit `sn <id>` / `subnet <id>` mention.
pub const MENTION_RELEVANCE: f64 = 1.0;
/// Relevance of a word equal to a subnet's name or identifier.
pub const EXACT_WORD_RELEVANCE: f64 = 0.9;
/// Lowest difflib ratio that counts as a fuzzy match.
pub const FUZZY_MIN_RATIO: f64 = 0.85;
/// Factor applied to a fuzzy ratio to give its relevance.
pub const FUZZY_SCALE: f64 = 0.9;
/// Lowest relevance that keeps a subnet as a candidate.
pub const MIN_RELEVANCE: f64 = 0.75;
/// Shortest word (and shortest name or identifier) compared, in code points.
pub const MIN_WORD_CHARS: usize = 4;
/// The value the winning subnet gets in `tokens`, whatever its relevance (as the reference
/// sends it).
pub const WINNER_TOKEN_VALUE: f64 = 1.0;

/// A run of Python word characters: `\w` in Python is letters, numbers and `_`.
static WORD_RUN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[\p{L}\p{N}_]+").expect("word-run pattern is valid"));
/// Leading decimal digits (Python's `\d` is Unicode category Nd).
static LEADING_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\p{Nd}+").expect("digit pattern is valid"));
/// A whole string of decimal digits.
static ALL_DIGITS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\A\p{Nd}+\z").expect("digit pattern is valid"));

/// Why a subnet was matched.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The text mentions the subnet by number (`sn45`, `sn 45`, `subnet 45`).
    Mention,
    /// A word of the text equals one of the subnet's names, lowercased.
    ExactWord {
        /// The word.
        word: String,
    },
    /// A word of the text is close to one of the subnet's names.
    FuzzyWord {
        /// The word of the text.
        word: String,
        /// The name or identifier it resembles, lowercased.
        identifier: String,
        /// difflib's ratio of the word against the identifier; relevance is `ratio × 0.9`.
        ratio: f64,
    },
}

/// A subnet the text is about, with how strongly and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubnetMatch {
    /// The subnet's id.
    pub id: u16,
    /// The subnet's registry name (the `tokens` key).
    pub name: String,
    /// 1.0 for a mention, 0.9 for an exact word, `ratio × 0.9` for a fuzzy word.
    pub relevance: f64,
    /// What matched.
    pub evidence: Evidence,
}

/// The outcome of matching one text against the registry.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Relevance {
    /// Whether the text contains an ecosystem anchor. Informational: it does not gate matching
    /// (see the module docs).
    pub anchored: bool,
    /// Every subnet kept (relevance at least [`MIN_RELEVANCE`]), best first: by relevance
    /// descending, then by id ascending.
    pub matches: Vec<SubnetMatch>,
}

impl Relevance {
    /// The winning subnet, if any.
    pub fn best(&self) -> Option<&SubnetMatch> {
        self.matches.first()
    }

    /// The `tokens` object a miner sends: `{name: 1.0}` for the winner, empty when nothing
    /// matched (and then the post is not submitted).
    pub fn tokens(&self) -> BTreeMap<String, f64> {
        self.best()
            .map(|m| (m.name.clone(), WINNER_TOKEN_VALUE))
            .into_iter()
            .collect()
    }
}

/// One name or identifier of a subnet, prepared for comparison.
#[derive(Debug, Clone)]
struct Candidate {
    /// Lowercased.
    lower: String,
    /// Indexed for difflib.
    target: Target,
}

/// One subnet, prepared for matching.
#[derive(Debug, Clone)]
struct Entry {
    id: u16,
    id_digits: String,
    name: String,
    candidates: Vec<Candidate>,
}

/// Matches texts against a registry; build once, use for every post.
#[derive(Debug, Clone)]
pub struct SubnetMatcher {
    entries: Vec<Entry>,
}

impl SubnetMatcher {
    /// Prepares the registry's names for matching.
    pub fn new(registry: &Registry) -> Self {
        let entries = registry
            .subnets()
            .iter()
            .filter(|s| s.id != 0)
            .map(|s| {
                let mut candidates: Vec<Candidate> = Vec::new();
                if !s.placeholder {
                    for raw in std::iter::once(&s.name).chain(&s.identifiers) {
                        if raw.chars().count() < MIN_WORD_CHARS {
                            continue;
                        }
                        let lower = raw.to_lowercase();
                        if is_ecosystem_word(&lower) || candidates.iter().any(|c| c.lower == lower)
                        {
                            continue;
                        }
                        candidates.push(Candidate {
                            target: Target::new(&lower),
                            lower,
                        });
                    }
                }
                Entry {
                    id: s.id,
                    id_digits: s.id.to_string(),
                    name: s.name.clone(),
                    candidates,
                }
            })
            .collect();
        Self { entries }
    }

    /// Matches one text (normally already passed through
    /// [`protocol::text::normalize_content`]).
    pub fn match_text(&self, text: &str) -> Relevance {
        let lower = text.to_lowercase();
        let scan = Scan::new(&lower);
        let words: Vec<(&str, Vec<char>)> = scan
            .words
            .iter()
            .map(|w| (*w, w.chars().collect()))
            .collect();

        let mut matches = Vec::new();
        for entry in &self.entries {
            if scan.mentions.contains(entry.id_digits.as_str()) {
                matches.push(SubnetMatch {
                    id: entry.id,
                    name: entry.name.clone(),
                    relevance: MENTION_RELEVANCE,
                    evidence: Evidence::Mention,
                });
                continue;
            }
            if let Some((relevance, evidence)) = best_word_match(entry, &scan.words, &words)
                && relevance >= MIN_RELEVANCE
            {
                matches.push(SubnetMatch {
                    id: entry.id,
                    name: entry.name.clone(),
                    relevance,
                    evidence,
                });
            }
        }
        matches.sort_by(|x, y| {
            y.relevance
                .total_cmp(&x.relevance)
                .then_with(|| x.id.cmp(&y.id))
        });
        Relevance {
            anchored: scan.anchored,
            matches,
        }
    }
}

/// The best word-based score of one subnet: exact beats any fuzzy score, and fuzzy scores are
/// compared after scaling, so the result is the maximum whatever the iteration order.
fn best_word_match(
    entry: &Entry,
    word_set: &BTreeSet<&str>,
    words: &[(&str, Vec<char>)],
) -> Option<(f64, Evidence)> {
    let mut best: Option<(f64, Evidence)> = None;
    for candidate in &entry.candidates {
        if let Some(word) = word_set.get(candidate.lower.as_str()) {
            return Some((
                EXACT_WORD_RELEVANCE,
                Evidence::ExactWord {
                    word: (*word).to_owned(),
                },
            ));
        }
        for (word, chars) in words {
            if candidate.target.ratio_upper_bound(chars) < FUZZY_MIN_RATIO {
                continue;
            }
            let ratio = candidate.target.ratio(chars);
            if ratio < FUZZY_MIN_RATIO {
                continue;
            }
            let scaled = ratio * FUZZY_SCALE;
            if best.as_ref().is_none_or(|(b, _)| scaled > *b) {
                best = Some((
                    scaled,
                    Evidence::FuzzyWord {
                        word: (*word).to_owned(),
                        identifier: candidate.lower.clone(),
                        ratio,
                    },
                ));
            }
        }
    }
    best
}

/// What one pass over the lowercased text finds.
struct Scan<'t> {
    anchored: bool,
    /// Digit strings following `sn` / `subnet` (compared with ids as text, so `045` is not 45).
    mentions: BTreeSet<&'t str>,
    /// Words of at least [`MIN_WORD_CHARS`] code points that are not ecosystem words, sorted.
    words: BTreeSet<&'t str>,
}

impl<'t> Scan<'t> {
    fn new(lower: &'t str) -> Self {
        let mut anchored = false;
        let mut mentions = BTreeSet::new();
        let mut words = BTreeSet::new();
        for run in WORD_RUN.find_iter(lower) {
            let word = run.as_str();
            // A run is maximal, so it starts and ends on Python word boundaries: `\bsubnet\b`
            // and friends are whole runs.
            if is_anchor_word(word) {
                anchored = true;
            }
            if word.chars().count() >= MIN_WORD_CHARS && !is_ecosystem_word(word) {
                words.insert(word);
            }
            // `\bsn\s*<id>(?!\d)`: digits right after `sn` inside the run, or after whitespace
            // when the run is exactly `sn`. `\bsubnet\s+<id>(?!\d)`: whitespace is required.
            if let Some(rest) = word.strip_prefix("sn") {
                if rest.is_empty() {
                    mentions.extend(digits_after_space(lower, run.end(), 0));
                } else if let Some(digits) = LEADING_DIGITS.find(rest) {
                    mentions.insert(digits.as_str());
                }
            } else if word == "subnet" {
                mentions.extend(digits_after_space(lower, run.end(), 1));
            }
        }
        Self {
            anchored,
            mentions,
            words,
        }
    }
}

/// The maximal run of decimal digits after at least `min_space` whitespace characters
/// starting at byte `from`, if the whitespace is followed directly by a digit.
fn digits_after_space(text: &str, from: usize, min_space: usize) -> Option<&str> {
    let rest = &text[from..];
    let mut spaces = 0;
    let mut start = rest.len();
    for (i, c) in rest.char_indices() {
        if is_python_whitespace(c) {
            spaces += 1;
        } else {
            start = i;
            break;
        }
    }
    if spaces < min_space {
        return None;
    }
    LEADING_DIGITS.find(&rest[start..]).map(|m| m.as_str())
}

/// `^(bittensor|opentensor|tao|subnets?|sn\d+)$`: words that say "Bittensor" but name no
/// subnet.
fn is_ecosystem_word(word: &str) -> bool {
    matches!(
        word,
        "bittensor" | "opentensor" | "tao" | "subnet" | "subnets"
    ) || is_sn_number(word)
}

/// `\bsn\d+\b|\bsubnet\b|\bbittensor\b|\btao\b|\$tao\b|\bopentensor\b`, for one whole run
/// (`$tao` is covered by `tao`: `$` is not a word character).
fn is_anchor_word(word: &str) -> bool {
    matches!(word, "bittensor" | "opentensor" | "tao" | "subnet") || is_sn_number(word)
}

/// `sn` followed only by one or more decimal digits.
fn is_sn_number(word: &str) -> bool {
    word.strip_prefix("sn")
        .is_some_and(|rest| ALL_DIGITS.is_match(rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Subnet;

    fn registry(entries: &[(u16, &str, &[&str])]) -> Registry {
        Registry::new(
            entries
                .iter()
                .map(|&(id, name, identifiers)| Subnet {
                    id,
                    name: name.to_owned(),
                    identifiers: identifiers.iter().map(|s| (*s).to_owned()).collect(),
                    placeholder: false,
                })
                .collect(),
        )
        .unwrap()
    }

    fn embedded() -> SubnetMatcher {
        SubnetMatcher::new(&Registry::embedded())
    }

    fn winner(matcher: &SubnetMatcher, text: &str) -> Option<(u16, f64)> {
        matcher.match_text(text).best().map(|m| (m.id, m.relevance))
    }

    #[test]
    fn sn_with_or_without_space_and_subnet_with_space_name_the_subnet() {
        let m = embedded();
        for text in [
            "SN45 is live",
            "sn 45 is live",
            "Subnet 45 is live",
            "$TAO sn45🚀",
        ] {
            assert_eq!(winner(&m, text), Some((45, 1.0)), "{text}");
        }
    }

    #[test]
    fn a_longer_number_does_not_name_its_prefix() {
        let m = embedded();
        // 450 is not in the registry; 45 must not match through it.
        assert_eq!(winner(&m, "bittensor sn 450 soon"), None);
        assert_eq!(winner(&m, "bittensor subnet 450"), None);
        assert_eq!(winner(&m, "bittensor sn4500"), None);
        // A leading zero is a different string, as in the reference's `sn\s*45`.
        assert_eq!(winner(&m, "bittensor sn045"), None);
    }

    #[test]
    fn mentions_need_sn_or_subnet_to_start_a_word() {
        let m = embedded();
        assert_eq!(winner(&m, "bitsn45 bittensor"), None);
        // `subnet45` is neither `sn\s*45` nor `subnet\s+45` (and `subnet` is not a word).
        assert_eq!(winner(&m, "subnet45 bittensor"), None);
        // Letters after the digits do not stop a mention (`(?!\d)` only refuses digits).
        assert_eq!(winner(&m, "sn45x launch"), Some((45, 1.0)));
    }

    #[test]
    fn a_variation_selector_does_not_hide_a_mention() {
        // U+FE0F is a mark, a word character for Rust's `\w` but not for Python's.
        let m = embedded();
        assert_eq!(winner(&m, "🚀\u{fe0f}sn45 pumping"), Some((45, 1.0)));
    }

    #[test]
    fn several_mentions_tie_at_one_and_the_lower_id_wins() {
        let m = embedded();
        let relevance = m.match_text("sn64 vs sn3 vs subnet 45");
        let ids: Vec<u16> = relevance.matches.iter().map(|m| m.id).collect();
        assert_eq!(ids, [3, 45, 64]);
        assert_eq!(relevance.best().unwrap().name, "\u{3c4}emplar");
    }

    #[test]
    fn subnet_zero_is_never_matched() {
        let m = embedded();
        assert_eq!(winner(&m, "sn0 root network on bittensor"), None);
    }

    #[test]
    fn an_exact_word_scores_0_9() {
        let m = embedded();
        let relevance = m.match_text("Chutes just shipped a new inference api on bittensor");
        let best = relevance.best().unwrap();
        assert_eq!(
            (best.id, best.name.as_str(), best.relevance),
            (64, "chutes", 0.9)
        );
        assert_eq!(
            best.evidence,
            Evidence::ExactWord {
                word: "chutes".into()
            }
        );
        assert_eq!(
            relevance.tokens(),
            BTreeMap::from([("chutes".to_owned(), 1.0)])
        );
    }

    #[test]
    fn a_ratio_of_exactly_0_85_is_kept_at_0_765() {
        // 2 * 17 / 40 = 0.85 (see difflib's tests); 0.85 * 0.9 = 0.765 >= 0.75.
        let m = SubnetMatcher::new(&registry(&[(38, "distributed_training", &[])]));
        let best = m
            .match_text("distributed_trainers wanted")
            .best()
            .cloned()
            .unwrap();
        assert_eq!(best.relevance, 0.85 * 0.9);
        assert!(best.relevance >= MIN_RELEVANCE);
        assert_eq!(
            best.evidence,
            Evidence::FuzzyWord {
                word: "distributed_trainers".into(),
                identifier: "distributed_training".into(),
                ratio: 0.85
            }
        );
    }

    #[test]
    fn a_ratio_just_below_0_85_is_not_a_match() {
        // "superinfinite_games" vs "infinite_games": M = 14, T = 33, 28 / 33 = 0.8484...
        let m = SubnetMatcher::new(&registry(&[(6, "infinite_games", &[])]));
        assert!(m.match_text("superinfinite_games").matches.is_empty());
        // "neuralinterface" vs "neuralinternet": 24 / 29 = 0.8275...
        let m = SubnetMatcher::new(&registry(&[(27, "neural_internet", &["neuralinternet"])]));
        assert!(
            m.match_text("neuralinterface on bittensor")
                .matches
                .is_empty()
        );
    }

    #[test]
    fn equal_scores_tie_to_the_lower_id_whatever_the_registry_order() {
        let m = SubnetMatcher::new(&registry(&[
            (90, "brainstorm", &[]),
            (12, "brainstorm_x", &["brainstorm"]),
        ]));
        assert_eq!(winner(&m, "brainstorm"), Some((12, 0.9)));
    }

    #[test]
    fn the_highest_relevance_wins_over_a_lower_id() {
        // "templer" is fuzzy for 3 (0.857 * 0.9), "omron" exact for 9 (0.9).
        let m = SubnetMatcher::new(&registry(&[(3, "templar", &[]), (9, "omron", &[])]));
        assert_eq!(winner(&m, "templer omron"), Some((9, 0.9)));
    }

    #[test]
    fn the_best_fuzzy_word_is_kept_whatever_order_words_come_in() {
        // Against "chutes": "chute" is 2 * 5 / 11 = 0.909, "chutess" 2 * 6 / 13 = 0.923.
        let m = SubnetMatcher::new(&registry(&[(64, "chutes", &[])]));
        for text in ["chutess chute", "chute chutess"] {
            let best = m.match_text(text).best().cloned().unwrap();
            assert_eq!(best.relevance, (2.0 * 6.0 / 13.0) * 0.9, "{text}");
        }
    }

    #[test]
    fn ecosystem_words_of_the_text_are_not_compared() {
        // "subnets" would be 2 * 6 / 14 = 0.857 of "subnetz", but it is an ecosystem word.
        let m = SubnetMatcher::new(&registry(&[(7, "subnetz", &[])]));
        assert!(m.match_text("subnets").matches.is_empty());
        assert_eq!(winner(&m, "subnetzz"), Some((7, (2.0 * 7.0 / 15.0) * 0.9)));
    }

    #[test]
    fn ecosystem_and_short_identifiers_are_not_compared() {
        // Every name here is an ecosystem word or shorter than four characters.
        let m = SubnetMatcher::new(&registry(&[(7, "Subnets", &["TAO", "SN70", "abc"])]));
        assert!(m.match_text("subnetss taos sn700 abcd").matches.is_empty());
        // The reference measures length before lowercasing; SN8's "PTN" and SN34's "GAS"
        // would otherwise be 2 * 3 / 7 = 0.857 of these words.
        assert_eq!(winner(&embedded(), "ptns gass bittensor"), None);
    }

    #[test]
    fn multi_word_identifiers_match_only_fuzzily_as_a_whole() {
        let m = embedded();
        // "bounty hunter" never equals one word; "bountyhunter" is 0.96 of it.
        let best = m
            .match_text("#bountyhunter on bittensor")
            .best()
            .cloned()
            .unwrap();
        assert_eq!((best.id, best.relevance), (20, 0.96 * 0.9));
        // "omega labs" is not split: "labs" alone selects nothing.
        assert_eq!(winner(&m, "bittensor labs"), None);
    }

    #[test]
    fn no_anchor_is_reported_but_does_not_prevent_a_match() {
        let m = embedded();
        let relevance = m.match_text("templar finished another training run");
        assert!(!relevance.anchored);
        assert_eq!(relevance.best().map(|b| b.id), Some(3));
        assert!(m.match_text("bittensor templar").anchored);
        assert!(m.match_text("buying $tao").anchored);
        assert!(m.match_text("sn45").anchored);
        // "sn 45" is a mention but not an anchor (`\bsn\d+\b` needs the digits attached).
        let spaced = m.match_text("sn 45");
        assert!(!spaced.anchored);
        assert_eq!(spaced.best().map(|b| b.id), Some(45));
        assert!(!m.match_text("taos and subnets").anchored);
    }

    #[test]
    fn placeholders_match_only_by_mention() {
        let m = embedded();
        assert_eq!(winner(&m, "bittensor's future is unknown"), None);
        assert_eq!(winner(&m, "unknowns on bittensor"), None);
        let relevance = m.match_text("sn28 update");
        assert_eq!(relevance.best().map(|b| b.id), Some(28));
        assert_eq!(
            relevance.tokens(),
            BTreeMap::from([("unknown".to_owned(), 1.0)])
        );
    }

    #[test]
    fn no_match_gives_empty_tokens() {
        let m = embedded();
        let relevance = m.match_text("what a lovely day");
        assert!(relevance.best().is_none());
        assert!(relevance.tokens().is_empty());
        assert!(m.match_text("").tokens().is_empty());
    }

    #[test]
    fn matching_is_case_insensitive_and_uses_unicode_names() {
        let m = embedded();
        assert_eq!(winner(&m, "TEMPLAR"), Some((3, 0.9)));
        // The registry name "τemplar" itself is an exact word.
        assert_eq!(winner(&m, "τemplar"), Some((3, 0.9)));
    }
}
