//! A cheap, conservative test run before [`analyze()`](super::analyze()): when
//! [`may_suppress`] is false, the analysis of the text (at any depth) silences no
//! error and is not depth-limited, so a detector gated on those can skip it.
//!
//! Why it is conservative. [`analyze()`](super::analyze()) sets suppression only
//! where a *name* is checked: an assigned variable (`erroractionpreference`,
//! `psdefaultparametervalues`), a parameter (`-ea`, `-errora…`), a splatted or
//! default key (`ea`, `erroraction…`), a `Set-Variable`-like command's target, an
//! `.Add(k, v)` key; and it reads new code (the only way to go deeper) only through
//! `iex`-like commands and `ScriptBlock::Create`-like methods. A name is either
//! written in the text or computed by folding (concatenation, `-f`, `[char]` …),
//! and a computed name reaches a check only through one of these sinks: a command
//! or method that takes code or a variable name, `.Add(…)`, or the call operators
//! `&`/`.` whose command name is folded. So the text may suppress only if it holds
//! one of the written names or one of the sinks. Written names are searched in the
//! text as the lexer would see it: backticks removed (the lexer's escapes make a
//! letter of the next character, never a letter of something else), dashes mapped,
//! lower case; searching for more than the lexer finds (inside strings and
//! comments, across escapes) only lets more texts through.
//!
//! The names here mirror `analyze.rs` (`is_error_action`, the `command` and
//! `method` match arms, `var_key` checks); a change there needs one here, and the
//! oracle test (`prefilter_is_conservative` in this module's tests, plus the
//! corpus test in the PowerShell detector) checks the pair.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

/// How a needle must be bounded to count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Anywhere.
    Any,
    /// A whole command name: not inside a longer word (a path or `.exe` may
    /// surround it, as `command_key` removes them).
    Command,
    /// A member name: after `.`, `:` or a quote, not followed by a name character.
    Member,
    /// Anywhere, but only with a splat (`@name`) in the text.
    WithSplat,
}

/// The needles, lower case, with how they are bounded.
const NEEDLES: &[(&str, Bound)] = &[
    // Variables, parameters, default and splat keys named in full or in part.
    ("errora", Bound::Any),
    ("-ea", Bound::Any),
    ("psdefaultparametervalues", Bound::Any),
    // A splatted `@{ea = 0}`.
    ("ea", Bound::WithSplat),
    // Commands that run code or set a variable by name (`Walker::command`).
    ("iex", Bound::Command),
    ("invoke-expression", Bound::Command),
    ("invoke-command", Bound::Command),
    ("icm", Bound::Command),
    ("start-job", Bound::Command),
    ("sajb", Bound::Command),
    ("powershell", Bound::Command),
    ("powershell_ise", Bound::Command),
    ("pwsh", Bound::Command),
    ("set-variable", Bound::Command),
    ("sv", Bound::Command),
    ("new-variable", Bound::Command),
    ("nv", Bound::Command),
    ("set-item", Bound::Command),
    ("si", Bound::Command),
    // Methods that run code or add a default (`Walker::method`).
    ("create", Bound::Member),
    ("invokescript", Bound::Member),
    ("newscriptblock", Bound::Member),
    ("add", Bound::Member),
];

static NEEDLE_SET: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(NEEDLES.iter().map(|(n, _)| n))
        .expect("valid needles")
});

/// Whether [`analyze()`](super::analyze()) of `text` might find error suppression
/// or reach its depth limit. `false` is a proof that it does not.
pub fn may_suppress(text: &str) -> bool {
    if call_operator(text) {
        return true;
    }
    if text.is_ascii() && memchr::memchr(b'`', text.as_bytes()).is_none() {
        // The lexer's view is the text itself, but for case.
        names(text.as_bytes())
    } else {
        names(lexer_view(text).as_bytes())
    }
}

/// The text as the lexer reads its letters: dashes and typographic quotes mapped,
/// backticks removed, lower case.
fn lexer_view(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '`' => {}
            '\u{2013}' | '\u{2014}' | '\u{2015}' => out.push('-'),
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => out.push('\''),
            '\u{201C}' | '\u{201D}' | '\u{201E}' => out.push('"'),
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// A byte that continues a command name (so a needle next to it is part of a
/// longer word). Anything else, non-ASCII included, may end one.
fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A byte that surely continues a member name (a non-ASCII one may not: it may be
/// white space).
fn member_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'?'
}

/// Whether the lexer's view (ASCII case aside) holds one of the names.
fn names(view: &[u8]) -> bool {
    let mut splat: Option<bool> = None;
    for m in NEEDLE_SET.find_overlapping_iter(view) {
        let (_, bound) = NEEDLES[m.pattern().as_usize()];
        let before = m.start().checked_sub(1).map(|k| view[k]);
        let after = view.get(m.end()).copied();
        let hit = match bound {
            Bound::Any => true,
            Bound::Command => !before.is_some_and(word_byte) && !after.is_some_and(word_byte),
            Bound::Member => {
                before.is_some_and(|b| matches!(b, b'.' | b':' | b'\'' | b'"'))
                    && !after.is_some_and(member_byte)
            }
            Bound::WithSplat => *splat.get_or_insert_with(|| has_splat(view)),
        };
        if hit {
            return true;
        }
    }
    false
}

/// `&` or `.` as the lexer reads a call operator (`& $x`, `. ('ie'+'x')`): followed
/// by white space, a quote (typographic ones included), `(`, `$`, `{` or nothing.
/// A backtick after it counts too (an escape inside a string's `$(…)` may become
/// white space there). Read on the text itself, backticks kept.
fn call_operator(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(k) = memchr::memchr2(b'&', b'.', &bytes[at..]) {
        let i = at + k;
        // `&` and `.` are ASCII, so `i + 1` is a character boundary.
        match text[i + 1..].chars().next() {
            None => return true,
            Some(n)
                if n.is_whitespace()
                    || matches!(
                        n,
                        '\'' | '"'
                            | '('
                            | '$'
                            | '{'
                            | '`'
                            | '\u{2018}'
                            | '\u{2019}'
                            | '\u{201A}'
                            | '\u{201B}'
                            | '\u{201C}'
                            | '\u{201D}'
                            | '\u{201E}'
                    ) =>
            {
                return true;
            }
            _ => {}
        }
        at = i + 1;
    }
    false
}

/// `@name`: a splat (the lexer's `@` followed by a name character).
fn has_splat(view: &[u8]) -> bool {
    // A non-ASCII byte may start a letter.
    view.windows(2)
        .any(|w| w[0] == b'@' && (member_byte(w[1]) || w[1] >= 0x80))
}

#[cfg(test)]
mod tests;
