//! Regular expressions every engine reads the same way.
//!
//! A Sigma `|re` value reaches Elasticsearch as a Lucene `RegExp` (always matched
//! against the whole value, no `\s`/`\b`/`(?:`/`(?i)`, and `#@&<>~"` are operators),
//! Splunk, Sumo Logic and Python as PCRE-like searches (matched anywhere), Kusto and
//! Sentinel as RE2. The subset used here is the one they agree on: literal
//! characters (punctuation escaped with a backslash), `.`, bracket classes written
//! out (`[^ ]`, `[^/]`), `*`, `+`, `?`, `|` and plain groups `( … )`. Every pattern
//! starts with `.*`, so that "somewhere in the value" means the same whether the
//! engine anchors or searches; the end is written so that it does too (`.*`, or
//! an optional tail).

/// Characters that are operators in at least one of the dialects.
const SPECIAL: &str = r#".^$*+?()[]{}|\#@&<>~""#;

/// `s` as a literal in a portable regex. `/` is left as it is: the backends that
/// delimit regexes with it (Lucene, Sumo Logic) escape it themselves.
pub(crate) fn lit(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        if SPECIAL.contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `(a|b|c)` of literals.
pub(crate) fn alt(words: &[String]) -> String {
    format!(
        "({})",
        words.iter().map(|w| lit(w)).collect::<Vec<_>>().join("|")
    )
}

/// The space between words. Only the space: Lucene reads `\t` as the letter `t`,
/// even in a class (`[^ \t]` would exclude `t`), and a literal tab is invisible
/// in a rule; command lines separate words with spaces.
pub(crate) const SP: &str = " ";
/// A word: no space.
pub(crate) const WORD: &str = "[^ ]*";

/// What a regex must not contain to stay in the portable subset: shorthand classes,
/// anchors, assertions, non-capturing or flag groups, lazy quantifiers, counted
/// repetition (Lucene reads `{n}` differently) and unescaped Lucene operators.
#[cfg(test)]
pub(crate) fn non_portable(re: &str) -> Option<String> {
    if !re.starts_with(".*") {
        return Some("does not start with .*".into());
    }
    let mut chars = re.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    return Some("ends with a backslash".into());
                };
                if n.is_ascii_alphanumeric() {
                    return Some(format!("uses \\{n}"));
                }
            }
            '[' if !in_class => in_class = true,
            ']' if in_class => in_class = false,
            '(' if !in_class && chars.peek() == Some(&'?') => {
                return Some("uses a (?…) group".into());
            }
            '^' | '$' if !in_class => return Some(format!("uses the anchor {c}")),
            '{' | '}' | '#' | '@' | '&' | '<' | '>' | '~' | '"' if !in_class => {
                return Some(format!("uses an unescaped {c}"));
            }
            '+' | '*' | '?' if !in_class && chars.peek() == Some(&'?') => {
                return Some("uses a lazy quantifier".into());
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_every_dialects_operators() {
        assert_eq!(lit("a.b/c"), r"a\.b/c");
        assert_eq!(lit("x&y~z"), r"x\&y\~z");
        assert_eq!(
            alt(&["nc".into(), "nc.openbsd".into()]),
            r"(nc|nc\.openbsd)"
        );
    }

    #[test]
    fn the_checker_names_what_is_not_portable() {
        assert_eq!(non_portable(r".*nohup +/tmp/[^ ]*.*"), None);
        assert!(
            non_portable(r".*nohup[ \t]+/tmp/.*")
                .unwrap()
                .contains("\\t")
        );
        assert!(non_portable(r"(?i)x").is_some());
        assert!(non_portable(r".*(?:a|b)").unwrap().contains("(?"));
        assert!(non_portable(r".*\bx").unwrap().contains("\\b"));
        assert!(non_portable(r".*\sx").is_some());
        assert!(non_portable(r".*x$").is_some());
        assert!(non_portable(r".*a&b").is_some());
        assert!(non_portable(r".*a{2}").is_some());
        assert!(non_portable("nohup").is_some());
    }
}
