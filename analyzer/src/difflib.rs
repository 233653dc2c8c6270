//! A port of Python's `difflib.SequenceMatcher(None, a, b).ratio()` over Unicode code points.
//!
//! Fuzzy subnet matching must agree with reference validators to the last bit, so this follows
//! CPython's algorithm step for step rather than using another similarity measure:
//!
//! - `b` is indexed once (`b2j`: element -> positions in `b`), as `set_seq2` does.
//! - **Autojunk**: when `b` has at least 200 elements, every element occurring more than
//!   `len(b) / 100 + 1` times is "popular" and dropped from the index. Popular elements are not
//!   junk: a longest match can still be extended over them on either side, exactly as CPython's
//!   `find_longest_match` does after its main loop. With no `isjunk` function there is no other
//!   junk. Subnet words and identifiers are far shorter than 200 code points, so in matching the
//!   heuristic never triggers; it is ported so the function is faithful for any input.
//! - `find_longest_match` keeps the first longest block (lowest `i`, then lowest `j`), and
//!   matching blocks are found by recursing left and right of it. The ratio only needs the
//!   total size of the blocks, which does not depend on the order the halves are visited.
//! - `ratio = 2.0 * matches / (len(a) + len(b))`, and 1.0 when both are empty, evaluated in the
//!   same floating-point order as CPython so the results are bit-identical.
//!
//! The ratio is not symmetric: `ratio(a, b)` and `ratio(b, a)` can differ, so callers keep the
//! reference's argument order (the post's word first, the subnet identifier second).

use std::collections::BTreeMap;

/// `SequenceMatcher(None, a, b).ratio()` for two strings, element by code point.
pub fn ratio(a: &str, b: &str) -> f64 {
    let a: Vec<char> = a.chars().collect();
    Target::new(b).ratio(&a)
}

/// The second sequence of a comparison, indexed once so it can be compared with many firsts
/// (CPython caches the same index between `set_seq1` calls).
#[derive(Debug, Clone)]
pub struct Target {
    chars: Vec<char>,
    /// Positions of each non-popular element of `chars`, ascending.
    b2j: BTreeMap<char, Vec<usize>>,
}

/// The length from which CPython's autojunk heuristic applies.
const AUTOJUNK_MIN_LEN: usize = 200;

impl Target {
    /// Indexes `b`, applying the autojunk heuristic when it is long enough.
    pub fn new(b: &str) -> Self {
        let chars: Vec<char> = b.chars().collect();
        let mut b2j: BTreeMap<char, Vec<usize>> = BTreeMap::new();
        for (j, &c) in chars.iter().enumerate() {
            b2j.entry(c).or_default().push(j);
        }
        let n = chars.len();
        if n >= AUTOJUNK_MIN_LEN {
            let limit = n / 100 + 1;
            b2j.retain(|_, positions| positions.len() <= limit);
        }
        Self { chars, b2j }
    }

    /// The indexed sequence, as code points.
    pub fn chars(&self) -> &[char] {
        &self.chars
    }

    /// `SequenceMatcher(None, a, self).ratio()`.
    pub fn ratio(&self, a: &[char]) -> f64 {
        let total = a.len() + self.chars.len();
        if total == 0 {
            return 1.0;
        }
        let matches = self.matching_total(a);
        2.0 * matches as f64 / total as f64
    }

    /// An upper bound of [`Target::ratio`] from the lengths alone (CPython's
    /// `real_quick_ratio`): if it is below a threshold, the ratio is too.
    pub fn ratio_upper_bound(&self, a: &[char]) -> f64 {
        let total = a.len() + self.chars.len();
        if total == 0 {
            return 1.0;
        }
        2.0 * a.len().min(self.chars.len()) as f64 / total as f64
    }

    /// The total size of the matching blocks of `a` and `self`.
    fn matching_total(&self, a: &[char]) -> usize {
        let mut total = 0;
        let mut pending = vec![(0, a.len(), 0, self.chars.len())];
        while let Some((alo, ahi, blo, bhi)) = pending.pop() {
            let (i, j, k) = self.find_longest_match(a, alo, ahi, blo, bhi);
            if k > 0 {
                total += k;
                if alo < i && blo < j {
                    pending.push((alo, i, blo, j));
                }
                if i + k < ahi && j + k < bhi {
                    pending.push((i + k, ahi, j + k, bhi));
                }
            }
        }
        total
    }

    /// The longest block `a[i..i+k] == b[j..j+k]` inside `a[alo..ahi]`, `b[blo..bhi]`, ties to
    /// the lowest `i` then the lowest `j`, extended over popular elements as CPython does.
    fn find_longest_match(
        &self,
        a: &[char],
        alo: usize,
        ahi: usize,
        blo: usize,
        bhi: usize,
    ) -> (usize, usize, usize) {
        let b = &self.chars;
        let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0);
        // `prev[j + 1]` is the length of the match ending at (i - 1, j); CPython keeps the same
        // in a dict. Dense rows are reset through the list of entries that were set.
        let mut prev = vec![0usize; b.len() + 1];
        let mut cur = vec![0usize; b.len() + 1];
        let mut prev_set: Vec<usize> = Vec::new();
        let mut cur_set: Vec<usize> = Vec::new();
        for (i, c) in a.iter().enumerate().take(ahi).skip(alo) {
            if let Some(positions) = self.b2j.get(c) {
                for &j in positions {
                    if j < blo {
                        continue;
                    }
                    if j >= bhi {
                        break;
                    }
                    let k = prev[j] + 1;
                    cur[j + 1] = k;
                    cur_set.push(j + 1);
                    if k > bestsize {
                        besti = i + 1 - k;
                        bestj = j + 1 - k;
                        bestsize = k;
                    }
                }
            }
            for &slot in &prev_set {
                prev[slot] = 0;
            }
            prev_set.clear();
            std::mem::swap(&mut prev, &mut cur);
            std::mem::swap(&mut prev_set, &mut cur_set);
        }
        // Popular elements are absent from the index but are not junk, so the block grows over
        // equal neighbours on both sides (CPython's first two extension loops; its junk loops
        // never run without an `isjunk` function).
        while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
            besti -= 1;
            bestj -= 1;
            bestsize += 1;
        }
        while besti + bestsize < ahi
            && bestj + bestsize < bhi
            && a[besti + bestsize] == b[bestj + bestsize]
        {
            bestsize += 1;
        }
        (besti, bestj, bestsize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ratios computed once with CPython 3 (`difflib.SequenceMatcher(None, a, b).ratio()`,
    /// printed with `repr`) and pinned here: the port must reproduce them bit for bit.
    const PYTHON_RATIOS: &[(&str, &str, f64)] = &[
        ("distributed_trainers", "distributed_training", 0.85),
        ("superinfinite_games", "infinite_games", 0.8484848484848485),
        ("neuralinterface", "neuralinternet", 0.8275862068965517),
        ("templer", "templar", 0.8571428571428571),
        ("\u{3c4}emplar", "templar", 0.8571428571428571),
        ("research", "desearch", 0.875),
        ("bountyhunter", "bounty hunter", 0.96),
        ("macrocosm", "macrocosm-os", 0.8571428571428571),
        ("aac", "abcabca", 0.6),
        ("abcabca", "aac", 0.4),
        ("abbcaba", "bbab", 0.36363636363636365),
        ("bbab", "abbcaba", 0.7272727272727273),
        ("", "", 1.0),
        ("abc", "", 0.0),
        ("", "abc", 0.0),
        ("abcd", "bcda", 0.75),
        ("qabxcd", "abycdf", 0.6666666666666666),
        ("到月球", "月球", 0.8),
    ];

    #[test]
    fn ratios_match_cpython_for_word_pairs() {
        for &(a, b, expected) in PYTHON_RATIOS {
            assert_eq!(ratio(a, b), expected, "ratio({a:?}, {b:?})");
        }
    }

    #[test]
    fn ratio_is_not_symmetric_and_argument_order_is_kept() {
        assert_eq!(ratio("aac", "abcabca"), 0.6);
        assert_eq!(ratio("abcabca", "aac"), 0.4);
    }

    #[test]
    fn exactly_085_is_two_times_17_matches_over_40_code_points() {
        // "distributed_train" (17 code points) is common; "ers" and "ing" share nothing, so
        // M = 17 and T = 20 + 20 = 40: 2 * 17 / 40 = 34 / 40 = 0.85, the double nearest 0.85,
        // which is also the literal 0.85.
        assert_eq!(ratio("distributed_trainers", "distributed_training"), 0.85);
    }

    #[test]
    fn autojunk_drops_popular_elements_of_long_seconds_as_cpython_does() {
        // 220 code points; ' ', 'o', 'e', ... occur more than 220 / 100 + 1 = 3 times and are
        // popular, so CPython (autojunk on) finds no match at all; without autojunk it would
        // find 0.1276...
        let long = "the quick brown fox jumps over the lazy dog ".repeat(5);
        assert_eq!(long.chars().count(), 220);
        assert_eq!(ratio("quick brown fox", &long), 0.0);
        // The heuristic looks only at the second sequence.
        assert_eq!(ratio(&long, "quick brown fox"), 0.1276595744680851);
    }

    #[test]
    fn popular_elements_still_extend_a_match_as_cpython_does() {
        // 'a' and 'b' are popular in `long`; the block "xyz" is found through the index and
        // then extended backwards over "ab": M = 5, T = 5 + 203.
        let long = format!("{}xyz", "ab".repeat(100));
        assert_eq!(ratio("xyz", &long), 0.02912621359223301);
        assert_eq!(ratio("abxyz", &long), 0.04807692307692308);
        // When everything is popular the empty match at (0, 0) still grows forwards.
        let all_a = "a".repeat(200);
        assert_eq!(ratio("aaaa", &all_a), 0.0392156862745098);
        assert_eq!(ratio("baaaa", &all_a), 0.0);
        // One element short of the threshold the heuristic is off.
        assert_eq!(ratio("aaaa", &"a".repeat(199)), 0.03940886699507389);
    }

    #[test]
    fn upper_bound_never_undercuts_the_ratio() {
        for &(a, b, expected) in PYTHON_RATIOS {
            let a: Vec<char> = a.chars().collect();
            assert!(Target::new(b).ratio_upper_bound(&a) >= expected);
        }
    }
}
