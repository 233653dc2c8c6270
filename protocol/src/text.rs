//! Content normalisation: the one form in which post text is stored, compared and analysed.

use unicode_normalization::UnicodeNormalization;

/// Whitespace as Python's `str.isspace` sees it: Unicode `White_Space` plus the four
/// information separators U+001C..U+001F, which Python counts and Rust does not.
///
/// Matching Python here keeps the stored text identical to what reference validators
/// compute from the same post.
pub fn is_python_whitespace(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Normalises post text: Unicode NFC, `\r\n` then lone `\r` to `\n`, every run of whitespace
/// to one space, then trim.
///
/// The line-ending step is kept although the whitespace step subsumes it, so the function
/// reads as the reference's steps do and stays correct if the whitespace rule narrows.
pub fn normalize_content(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let unified = nfc.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len());
    let mut pending_space = false;
    for c in unified.chars() {
        if is_python_whitespace(c) {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_of_whitespace_become_one_space_and_ends_are_trimmed() {
        assert_eq!(
            normalize_content("  SN45\t\t looks\n\nstrong  "),
            "SN45 looks strong"
        );
    }

    #[test]
    fn crlf_and_lone_cr_are_line_breaks_and_collapse() {
        assert_eq!(normalize_content("a\r\nb\rc\n\rd"), "a b c d");
    }

    #[test]
    fn information_separators_count_as_whitespace_as_in_python() {
        for sep in ['\u{1c}', '\u{1d}', '\u{1e}', '\u{1f}'] {
            assert_eq!(normalize_content(&format!("tao{sep}{sep}moon")), "tao moon");
        }
    }

    #[test]
    fn unicode_spaces_collapse_too() {
        // no-break space, em space, ideographic space, line separator, next line
        assert_eq!(
            normalize_content("a\u{a0}b\u{2003}c\u{3000}d\u{2028}e\u{85}f"),
            "a b c d e f"
        );
    }

    #[test]
    fn zero_width_space_is_not_whitespace_in_python_and_is_kept() {
        assert_eq!(normalize_content("a\u{200b}b"), "a\u{200b}b");
    }

    #[test]
    fn decomposed_letters_are_composed_to_nfc() {
        assert_eq!(normalize_content("cafe\u{301}"), "caf\u{e9}");
    }

    #[test]
    fn emoji_and_non_latin_text_pass_through() {
        assert_eq!(normalize_content(" 🚀  TAO  到月球 "), "🚀 TAO 到月球");
    }

    #[test]
    fn whitespace_only_text_becomes_empty() {
        assert_eq!(normalize_content(" \t\r\n\u{1f} "), "");
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        let once = normalize_content("x\r\n\u{1c} y\u{a0}\u{a0}z cafe\u{301} ");
        assert_eq!(normalize_content(&once), once);
    }
}
