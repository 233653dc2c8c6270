//! The offline sentiment engine: cue words and emoji with fixed weights.
//!
//! The cues follow the classes the reference describes to its LLM: rockets, moon, ATH and pumps
//! are very bullish; crashes, exploits and failures very bearish; optimism and concern sit in
//! between. The rules, in full:
//!
//! 1. The text is lowercased, curly apostrophes become `'`, and it is cut into clauses at
//!    `.`, `!`, `?`, `;`, `,` and line breaks. Each clause is cut into words (letters, digits,
//!    `_` and inner apostrophes), so `all-time` is two words.
//! 2. Phrases are tried before single words at each position (`all time high`, `rug pull`), and
//!    the words a phrase uses are not counted again.
//! 3. Strong cues weigh ±2, ordinary cues ±1. Emoji cues count each time they occur; a
//!    variation selector after an emoji changes nothing.
//! 4. **Negation**: a negator (`not`, `no`, `never`, `don't`, `isn't`, `without`, ...) applies to
//!    the first word cue among the next three words of its clause, and turns it into an
//!    ordinary cue of the opposite sign: `not bullish` is -1, `not a crash` is +1. Negation
//!    weakens as it flips, because "not a crash" is relief, not euphoria. It never crosses a
//!    clause boundary and never applies to emoji.
//! 5. The weights are summed. A positive sum is bullish, and very bullish when it reaches 2 and
//!    at least one strong positive cue counted; negative sums mirror this. Zero is neutral, so
//!    a post with no cues, or with cues that cancel, is neutral.
//!
//! Integer weights and fixed tables keep the result identical on every machine.

use serde::Serialize;

use super::Sentiment;

/// Weight of a strong cue.
const STRONG: i32 = 2;
/// Weight of an ordinary cue.
const ORDINARY: i32 = 1;
/// How many words after a negator it reaches.
const NEGATION_REACH: usize = 3;

/// Single-word cues and their weights.
const WORD_CUES: &[(&str, i32)] = &[
    // very bullish
    ("moon", STRONG),
    ("mooning", STRONG),
    ("moonshot", STRONG),
    ("ath", STRONG),
    ("aths", STRONG),
    ("pump", STRONG),
    ("pumps", STRONG),
    ("pumping", STRONG),
    ("pumped", STRONG),
    ("parabolic", STRONG),
    ("skyrocket", STRONG),
    ("skyrocketing", STRONG),
    ("skyrocketed", STRONG),
    ("explosive", STRONG),
    ("soaring", STRONG),
    ("soared", STRONG),
    ("surge", STRONG),
    ("surging", STRONG),
    ("surged", STRONG),
    ("lfg", STRONG),
    ("10x", STRONG),
    ("100x", STRONG),
    ("1000x", STRONG),
    // bullish
    ("bullish", ORDINARY),
    ("bull", ORDINARY),
    ("bulls", ORDINARY),
    ("optimistic", ORDINARY),
    ("promising", ORDINARY),
    ("strong", ORDINARY),
    ("stronger", ORDINARY),
    ("growth", ORDINARY),
    ("growing", ORDINARY),
    ("gain", ORDINARY),
    ("gains", ORDINARY),
    ("rally", ORDINARY),
    ("rallying", ORDINARY),
    ("uptrend", ORDINARY),
    ("breakout", ORDINARY),
    ("undervalued", ORDINARY),
    ("accumulate", ORDINARY),
    ("accumulating", ORDINARY),
    ("buy", ORDINARY),
    ("buying", ORDINARY),
    ("launch", ORDINARY),
    ("launched", ORDINARY),
    ("launching", ORDINARY),
    ("partnership", ORDINARY),
    ("upgrade", ORDINARY),
    ("upgraded", ORDINARY),
    ("milestone", ORDINARY),
    ("excited", ORDINARY),
    ("exciting", ORDINARY),
    ("impressive", ORDINARY),
    ("amazing", ORDINARY),
    ("great", ORDINARY),
    ("love", ORDINARY),
    ("loving", ORDINARY),
    ("good", ORDINARY),
    ("nice", ORDINARY),
    ("solid", ORDINARY),
    ("healthy", ORDINARY),
    ("steady", ORDINARY),
    ("stable", ORDINARY),
    ("consistent", ORDINARY),
    ("smooth", ORDINARY),
    ("improving", ORDINARY),
    ("improved", ORDINARY),
    ("improvement", ORDINARY),
    ("progress", ORDINARY),
    ("encouraging", ORDINARY),
    ("impressed", ORDINARY),
    ("winning", ORDINARY),
    // bearish
    ("bearish", -ORDINARY),
    ("bear", -ORDINARY),
    ("bears", -ORDINARY),
    ("concern", -ORDINARY),
    ("concerns", -ORDINARY),
    ("concerned", -ORDINARY),
    ("concerning", -ORDINARY),
    ("worried", -ORDINARY),
    ("worrying", -ORDINARY),
    ("risk", -ORDINARY),
    ("risky", -ORDINARY),
    ("drop", -ORDINARY),
    ("dropped", -ORDINARY),
    ("dropping", -ORDINARY),
    ("dip", -ORDINARY),
    ("decline", -ORDINARY),
    ("declining", -ORDINARY),
    ("downtrend", -ORDINARY),
    ("sell", -ORDINARY),
    ("selling", -ORDINARY),
    ("weak", -ORDINARY),
    ("weaker", -ORDINARY),
    ("weakness", -ORDINARY),
    ("overvalued", -ORDINARY),
    ("bug", -ORDINARY),
    ("bugs", -ORDINARY),
    ("issue", -ORDINARY),
    ("issues", -ORDINARY),
    ("problem", -ORDINARY),
    ("problems", -ORDINARY),
    ("delay", -ORDINARY),
    ("delayed", -ORDINARY),
    ("outage", -ORDINARY),
    ("loss", -ORDINARY),
    ("losses", -ORDINARY),
    ("fud", -ORDINARY),
    ("disappointing", -ORDINARY),
    ("disappointed", -ORDINARY),
    ("struggling", -ORDINARY),
    ("bad", -ORDINARY),
    ("wrong", -ORDINARY),
    ("offline", -ORDINARY),
    ("stalled", -ORDINARY),
    ("slipped", -ORDINARY),
    ("shrinking", -ORDINARY),
    ("overhyped", -ORDINARY),
    ("complaining", -ORDINARY),
    ("complaints", -ORDINARY),
    ("disappointment", -ORDINARY),
    ("draining", -ORDINARY),
    // very bearish
    ("crash", -STRONG),
    ("crashes", -STRONG),
    ("crashed", -STRONG),
    ("crashing", -STRONG),
    ("exploit", -STRONG),
    ("exploits", -STRONG),
    ("exploited", -STRONG),
    ("hack", -STRONG),
    ("hacked", -STRONG),
    ("failure", -STRONG),
    ("failures", -STRONG),
    ("failed", -STRONG),
    ("rug", -STRONG),
    ("rugged", -STRONG),
    ("rugpull", -STRONG),
    ("scam", -STRONG),
    ("collapse", -STRONG),
    ("collapsed", -STRONG),
    ("collapsing", -STRONG),
    ("plummet", -STRONG),
    ("plummeted", -STRONG),
    ("plummeting", -STRONG),
    ("plunge", -STRONG),
    ("plunged", -STRONG),
    ("dump", -STRONG),
    ("dumping", -STRONG),
    ("dumped", -STRONG),
    ("disaster", -STRONG),
    ("drained", -STRONG),
    ("insolvent", -STRONG),
    ("bankrupt", -STRONG),
    ("capitulation", -STRONG),
    ("atl", -STRONG),
];

/// Multi-word cues, tried before single words.
const PHRASE_CUES: &[(&[&str], i32)] = &[
    (&["all", "time", "high"], STRONG),
    (&["massive", "gains"], STRONG),
    (&["to", "the", "moon"], STRONG),
    (&["all", "time", "low"], -STRONG),
    (&["rug", "pull"], -STRONG),
    (&["major", "problem"], -STRONG),
    (&["major", "problems"], -STRONG),
    (&["severe", "concerns"], -STRONG),
];

/// Emoji cues (matched per code point, so presentation selectors do not matter).
const EMOJI_CUES: &[(char, i32)] = &[
    ('\u{1F680}', STRONG),    // rocket
    ('\u{1F315}', STRONG),    // full moon
    ('\u{1F4C8}', ORDINARY),  // chart increasing
    ('\u{1F525}', ORDINARY),  // fire
    ('\u{1F48E}', ORDINARY),  // gem stone
    ('\u{1F4AA}', ORDINARY),  // flexed biceps
    ('\u{1F64C}', ORDINARY),  // raising hands
    ('\u{1F402}', ORDINARY),  // ox
    ('\u{1F7E2}', ORDINARY),  // green circle
    ('\u{1F4C9}', -ORDINARY), // chart decreasing
    ('\u{1F43B}', -ORDINARY), // bear
    ('\u{1F534}', -ORDINARY), // red circle
    ('\u{26A0}', -ORDINARY),  // warning
    ('\u{1F62C}', -ORDINARY), // grimacing face
    ('\u{1F480}', -STRONG),   // skull
    ('\u{1FA78}', -STRONG),   // drop of blood
    ('\u{1F631}', -STRONG),   // face screaming in fear
    ('\u{1FAA6}', -STRONG),   // headstone
];

/// Words that negate the next cue.
const NEGATORS: &[&str] = &[
    "not",
    "no",
    "never",
    "nothing",
    "none",
    "nobody",
    "neither",
    "nor",
    "without",
    "hardly",
    "cannot",
    "don't",
    "dont",
    "doesn't",
    "doesnt",
    "didn't",
    "didnt",
    "isn't",
    "isnt",
    "aren't",
    "arent",
    "wasn't",
    "wasnt",
    "weren't",
    "werent",
    "won't",
    "wont",
    "can't",
    "cant",
    "couldn't",
    "couldnt",
    "shouldn't",
    "shouldnt",
    "wouldn't",
    "wouldnt",
    "ain't",
    "aint",
];

/// The offline cue-word sentiment classifier.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Lexicon;

/// One cue found in a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CueHit {
    /// The cue as matched (a word, a phrase joined by spaces, or an emoji).
    pub cue: String,
    /// Its contribution after negation.
    pub weight: i32,
    /// Whether a negator flipped it.
    pub negated: bool,
}

/// The lexicon's reading of a text, with its reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LexiconVerdict {
    /// The class.
    pub sentiment: Sentiment,
    /// The sum of the cue weights.
    pub score: i32,
    /// The cues counted, in text order (emoji after words).
    pub cues: Vec<CueHit>,
}

impl Lexicon {
    /// The class of a text.
    pub fn classify(&self, text: &str) -> Sentiment {
        self.assess(text).sentiment
    }

    /// The class of a text, with the cues that decided it.
    pub fn assess(&self, text: &str) -> LexiconVerdict {
        let lower = text.to_lowercase().replace(['\u{2019}', '\u{2018}'], "'");
        let mut cues = Vec::new();
        for clause in lower.split(['.', '!', '?', ';', ',', '\n']) {
            let words = clause_words(clause);
            scan_clause(&words, &mut cues);
        }
        for c in lower.chars() {
            if let Some(&(_, weight)) = EMOJI_CUES.iter().find(|(e, _)| *e == c) {
                cues.push(CueHit {
                    cue: c.to_string(),
                    weight,
                    negated: false,
                });
            }
        }
        let score: i32 = cues.iter().map(|c| c.weight).sum();
        let strong_positive = cues.iter().any(|c| c.weight >= STRONG);
        let strong_negative = cues.iter().any(|c| c.weight <= -STRONG);
        let sentiment = match score {
            s if s >= STRONG && strong_positive => Sentiment::VeryBullish,
            s if s > 0 => Sentiment::Bullish,
            s if s <= -STRONG && strong_negative => Sentiment::VeryBearish,
            s if s < 0 => Sentiment::Bearish,
            _ => Sentiment::Neutral,
        };
        LexiconVerdict {
            sentiment,
            score,
            cues,
        }
    }
}

/// The words of one clause: runs of letters, digits, `_` and `'`, trimmed of apostrophes.
fn clause_words(clause: &str) -> Vec<&str> {
    clause
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\''))
        .map(|w| w.trim_matches('\''))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Adds the cues of one clause, applying negation.
fn scan_clause(words: &[&str], cues: &mut Vec<CueHit>) {
    // Position up to which a pending negator reaches (exclusive), if one is pending.
    let mut negation_until: Option<usize> = None;
    let mut i = 0;
    while i < words.len() {
        if negation_until.is_some_and(|end| i >= end) {
            negation_until = None;
        }
        let phrase = PHRASE_CUES
            .iter()
            .find(|(phrase, _)| words[i..].starts_with(phrase));
        let (cue, weight, len) = if let Some(&(phrase, weight)) = phrase {
            (phrase.join(" "), weight, phrase.len())
        } else if let Some(&(word, weight)) = WORD_CUES.iter().find(|(w, _)| *w == words[i]) {
            (word.to_owned(), weight, 1)
        } else {
            if NEGATORS.contains(&words[i]) {
                negation_until = Some(i + 1 + NEGATION_REACH);
            }
            i += 1;
            continue;
        };
        let negated = negation_until.take().is_some();
        let weight = if negated {
            -weight.signum() * ORDINARY
        } else {
            weight
        };
        cues.push(CueHit {
            cue,
            weight,
            negated,
        });
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classify(text: &str) -> Sentiment {
        Lexicon.classify(text)
    }

    #[test]
    fn reference_cues_land_in_the_reference_classes() {
        assert_eq!(classify("SN45 to the moon 🚀"), Sentiment::VeryBullish);
        assert_eq!(classify("new ATH for tao"), Sentiment::VeryBullish);
        assert_eq!(
            classify("subnet alpha pumping hard"),
            Sentiment::VeryBullish
        );
        assert_eq!(
            classify("another exploit on the bridge"),
            Sentiment::VeryBearish
        );
        assert_eq!(
            classify("the validator crash was a failure"),
            Sentiment::VeryBearish
        );
    }

    #[test]
    fn ordinary_cues_give_the_milder_classes() {
        assert_eq!(classify("quite bullish on templar"), Sentiment::Bullish);
        assert_eq!(
            classify("some concerns about emissions"),
            Sentiment::Bearish
        );
        // Two ordinary cues add up but stay "bullish": very bullish needs a strong cue.
        assert_eq!(classify("strong growth for chutes"), Sentiment::Bullish);
    }

    #[test]
    fn no_cues_or_cancelling_cues_are_neutral() {
        assert_eq!(classify("Templar released v2.1 today."), Sentiment::Neutral);
        assert_eq!(classify(""), Sentiment::Neutral);
        let verdict = Lexicon.assess("bullish on sn3, bearish on sn4");
        assert_eq!((verdict.sentiment, verdict.score), (Sentiment::Neutral, 0));
    }

    #[test]
    fn negation_flips_and_weakens_the_next_cue() {
        let verdict = Lexicon.assess("not bullish on this");
        assert_eq!(verdict.sentiment, Sentiment::Bearish);
        assert_eq!(
            verdict.cues,
            [CueHit {
                cue: "bullish".into(),
                weight: -1,
                negated: true
            }]
        );
        // A negated strong cue is an ordinary cue of the other sign.
        assert_eq!(classify("this is not a crash"), Sentiment::Bullish);
        assert_eq!(classify("don\u{2019}t see it pumping"), Sentiment::Bearish);
    }

    #[test]
    fn negation_reaches_three_words_and_one_cue_only() {
        // "bullish" is the fifth word after "not": out of reach.
        assert_eq!(classify("not sure that i am bullish"), Sentiment::Bullish);
        // Within reach, only the first cue flips.
        let verdict = Lexicon.assess("no crash and strong");
        assert_eq!(verdict.score, 1 + 1);
    }

    #[test]
    fn negation_stops_at_a_clause_boundary_and_ignores_emoji() {
        assert_eq!(classify("not today. bullish"), Sentiment::Bullish);
        assert_eq!(classify("not what we hoped, bullish"), Sentiment::Bullish);
        assert_eq!(classify("no 🚀"), Sentiment::VeryBullish);
    }

    #[test]
    fn phrases_count_once() {
        let verdict = Lexicon.assess("rug pull confirmed");
        assert_eq!(verdict.score, -2);
        assert_eq!(verdict.cues.len(), 1);
        assert_eq!(classify("all-time high!"), Sentiment::VeryBullish);
        assert_eq!(classify("new all time low"), Sentiment::VeryBearish);
    }

    #[test]
    fn emoji_count_with_or_without_a_variation_selector() {
        assert_eq!(Lexicon.assess("🚀🚀").score, 4);
        assert_eq!(
            classify("\u{26a0}\u{fe0f} upgrade issues"),
            Sentiment::Bearish
        );
        assert_eq!(classify("📉💀"), Sentiment::VeryBearish);
    }

    #[test]
    fn the_same_text_always_gets_the_same_verdict() {
        let text = "SN64 chutes: not a crash, strong 📈 but some concerns";
        let first = Lexicon.assess(text);
        for _ in 0..10 {
            assert_eq!(Lexicon.assess(text), first);
        }
    }
}
