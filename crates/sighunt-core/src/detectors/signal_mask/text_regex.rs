//! [`TextRegex`]: a pattern of the inline-code readers, compiled for the text it
//! searches.
//!
//! The patterns are written with Unicode `\w`, `\b`, `\s` and `\d`: identifiers
//! of Python, Perl and JavaScript may hold any letter. Compiling those classes is
//! most of what a hunt spends on the first inline code it reads (about 15 M
//! instructions for the Python patterns, more than reading that code ever
//! costs). Almost all inline code is ASCII, and in ASCII text each of these
//! classes matches exactly what its ASCII form matches: `\w` the ASCII letters,
//! digits and `_`, `\s` tab, line feed, vertical tab, form feed, carriage return
//! and space (the ASCII members of Unicode's White_Space), `\d` the ASCII digits,
//! and `\b` therefore the same boundaries. So ASCII text is searched with the
//! ASCII form, cheap to build, and any other text with the pattern as written.

use std::sync::OnceLock;

use regex::Regex;

/// A pattern, compiled on first use in the form the text searched needs.
pub(super) struct TextRegex {
    pattern: &'static str,
    /// The pattern as written, for text that is not all ASCII.
    unicode: OnceLock<Regex>,
    /// Its ASCII form ([`ascii_classes`]), for ASCII text.
    ascii: OnceLock<Regex>,
}

impl TextRegex {
    pub(super) const fn new(pattern: &'static str) -> Self {
        TextRegex {
            pattern,
            unicode: OnceLock::new(),
            ascii: OnceLock::new(),
        }
    }

    /// The compiled pattern to search `text` with: it finds in `text` exactly
    /// what the pattern as written finds.
    pub(super) fn on(&self, text: &str) -> &Regex {
        if text.is_ascii() {
            self.ascii.get_or_init(|| {
                Regex::new(&ascii_classes(self.pattern)).expect("a pattern of signal_mask")
            })
        } else {
            self.unicode
                .get_or_init(|| Regex::new(self.pattern).expect("a pattern of signal_mask"))
        }
    }
}

/// `pattern` with its `\w`, `\s`, `\d` and `\b` made ASCII-only (inside a class
/// as well: `[\w.]`); everything else as written.
pub(super) fn ascii_classes(pattern: &str) -> String {
    const WORD: &str = "0-9A-Za-z_";
    const SPACE: &str = r"\t\n\x0B\x0C\r ";
    const DIGIT: &str = "0-9";
    let mut out = String::with_capacity(pattern.len() * 2);
    // Nesting of character classes (`[[:alpha:]x]`, `[a[b]]`).
    let mut class_depth = 0usize;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push(c);
                    break;
                };
                let members = match e {
                    'w' => Some(WORD),
                    's' => Some(SPACE),
                    'd' => Some(DIGIT),
                    _ => None,
                };
                match (members, class_depth) {
                    (Some(m), 0) => {
                        out.push('[');
                        out.push_str(m);
                        out.push(']');
                    }
                    (Some(m), _) => out.push_str(m),
                    (None, 0) if e == 'b' => out.push_str(r"(?-u:\b)"),
                    (None, _) => {
                        out.push('\\');
                        out.push(e);
                    }
                }
            }
            '[' => {
                out.push(c);
                class_depth += 1;
                // A `]` (after a `^`) first in a class is a member, not its end.
                if chars.peek() == Some(&'^') {
                    out.push(chars.next().unwrap_or('^'));
                }
                if chars.peek() == Some(&']') {
                    out.push(chars.next().unwrap_or(']'));
                }
            }
            ']' if class_depth > 0 => {
                out.push(c);
                class_depth -= 1;
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ascii_form_replaces_only_the_unicode_classes() {
        assert_eq!(
            ascii_classes(r"\bimport\s+signal\s+as\s+([A-Za-z_]\w*)"),
            r"(?-u:\b)import[\t\n\x0B\x0C\r ]+signal[\t\n\x0B\x0C\r ]+as[\t\n\x0B\x0C\r ]+([A-Za-z_][0-9A-Za-z_]*)"
        );
        // Inside a class, the members; escapes that are no class stay as written.
        assert_eq!(ascii_classes(r"[\w.]*\.\(\\w"), r"[0-9A-Za-z_.]*\.\(\\w");
        assert_eq!(ascii_classes(r"[^\s\d]"), r"[^\t\n\x0B\x0C\r 0-9]");
        // A `]` first in a class is a member; `\b` after the class is a boundary.
        assert_eq!(ascii_classes(r"[]\w]\b"), r"[]0-9A-Za-z_](?-u:\b)");
        assert_eq!(ascii_classes(r"[^]a]\d"), r"[^]a][0-9]");
        // Nothing to replace.
        assert_eq!(ascii_classes(r"sa_handler\x22"), r"sa_handler\x22");
    }

    #[test]
    fn ascii_text_finds_what_the_pattern_as_written_finds() {
        // Each pattern with pieces of text it matches, mixed with pieces all share.
        let patterns = [
            (
                r"(?:\b([A-Za-z_]\w*)\s*\.\s*)?\b(signal|sigaction|pthread_sigmask)\s*\(",
                ["signal(", "signal.signal ("],
            ),
            (r"\bSIG([A-Z][A-Z0-9]*)\b", ["SIGHUP", "SIG_IGN"]),
            (r"\b(\d{1,3})\b", ["15", "1"]),
            (r"^[A-Za-z_$][\w$]*$", ["a", "_x1"]),
            (
                r"sa_handler\s*=\s*(?:(?:ctypes\.)?c_void_p\s*\(\s*)?(?:1\b|[\w.]*SIG_IGN\b)",
                ["sa_handler=1", "sa_handler = c_void_p(SIG_IGN"],
            ),
        ];
        let shared = [
            "signal",
            ".",
            " ",
            "\t",
            "\x0b",
            "\x0c",
            "\x1c",
            "\u{a0}",
            "(",
            "SIG",
            "HUP",
            "_",
            "IGN",
            "15",
            "1",
            "a",
            "$",
            "sa_handler",
            "=",
            "c_void_p",
            "x",
            "\n",
            "\u{85}",
            "é",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x7e87_5eed);
        for (pattern, matching) in patterns {
            let pieces: Vec<&str> = shared.iter().chain(&matching).copied().collect();
            let written = Regex::new(pattern).unwrap();
            let text_regex = TextRegex::new(pattern);
            let (mut found, mut missed, mut non_ascii) = (0, 0, 0);
            for _ in 0..20_000 {
                let n = rng.below(6);
                let text: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
                let expected: Vec<_> = written
                    .captures_iter(&text)
                    .map(|c| c.iter().map(|m| m.map(|m| m.range())).collect::<Vec<_>>())
                    .collect();
                let got: Vec<_> = text_regex
                    .on(&text)
                    .captures_iter(&text)
                    .map(|c| c.iter().map(|m| m.map(|m| m.range())).collect::<Vec<_>>())
                    .collect();
                assert_eq!(got, expected, "{pattern} on {text:?}");
                found += usize::from(!expected.is_empty());
                missed += usize::from(expected.is_empty());
                non_ascii += usize::from(!text.is_ascii());
            }
            // Both sides, and both forms, are exercised.
            assert!(
                found > 100 && missed > 100 && non_ascii > 100,
                "{pattern}: {found} {missed} {non_ascii}"
            );
        }
    }

    #[test]
    fn text_not_all_ascii_is_searched_with_the_pattern_as_written() {
        // `é` is a word character: no boundary before `SIG`, as the ASCII form
        // would see.
        let sig_ign = TextRegex::new(r"\bSIG_IGN\b");
        assert!(!sig_ign.on("éSIG_IGN").is_match("éSIG_IGN"));
        assert!(
            Regex::new(&ascii_classes(r"\bSIG_IGN\b"))
                .unwrap()
                .is_match("éSIG_IGN")
        );
        assert!(sig_ign.on("é SIG_IGN").is_match("é SIG_IGN"));
        assert!(sig_ign.on("x=SIG_IGN").is_match("x=SIG_IGN"));
        assert!(!sig_ign.on("xSIG_IGN").is_match("xSIG_IGN"));
    }
}
