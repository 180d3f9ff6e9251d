//! A regular expression of the rule data as the literal texts Sigma's `contains`
//! matches: the PowerShell patterns are PCRE-style (`\s+`, `(?:a|b)?`, `\b`), which
//! no portable `|re` can carry, but most are a few literal spellings in a row.
//!
//! A pattern becomes alternatives, each a list of parts that must all appear in
//! order (`.*` between them: Sigma's `contains|all`, which does not keep the
//! order, so the rule can only match more). Understood: literal characters,
//! punctuation escaped with `\`, `\s`, `\s+` (one space), `\s*` (none or one), `\w+`
//! and `.*` (a gap), `\b` (dropped, see below), groups `(…|…)` and `(?:…|…)`, and `?`
//! after a character or group. Anything else (classes, anchors, other repetition)
//! leaves the pattern to sighunt.
//!
//! `contains` has no word boundary: where a `\b` is dropped, spellings with a part
//! shorter than [`MIN_UNBOUNDED`] are left out (`\bncat\b` would match
//! "concatenate"; `ncat.exe` is kept).

/// The shortest part kept where a word boundary was dropped.
const MIN_UNBOUNDED: usize = 6;
/// The most spellings one pattern may expand to.
const MAX_ALTERNATIVES: usize = 32;

/// One spelling: parts that must all appear, in order.
type Spelling = Vec<String>;

/// The spellings of `pattern` (lower case as given), or `None` when it is not a
/// sequence of literals this module understands.
pub(crate) fn spellings(pattern: &str) -> Option<Vec<Spelling>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut unbounded = false;
    let (alts, end) = alternation(&chars, 0, &mut unbounded)?;
    if end != chars.len() {
        return None;
    }
    let mut out: Vec<Spelling> = Vec::new();
    for alt in alts {
        let parts: Spelling = alt.into_iter().filter(|p| !p.is_empty()).collect();
        if parts.is_empty() {
            return None; // a spelling that matches everything
        }
        if unbounded && parts.iter().any(|p| p.chars().count() < MIN_UNBOUNDED) {
            continue;
        }
        if !out.contains(&parts) {
            out.push(parts);
        }
    }
    (!out.is_empty()).then_some(out)
}

/// `a|b|…` from `i` up to a `)` or the end: the spellings and where it stopped.
fn alternation(
    chars: &[char],
    mut i: usize,
    unbounded: &mut bool,
) -> Option<(Vec<Spelling>, usize)> {
    let mut all = Vec::new();
    loop {
        let (seq, next) = sequence(chars, i, unbounded)?;
        all.extend(seq);
        i = next;
        if chars.get(i) == Some(&'|') {
            i += 1;
            continue;
        }
        if all.len() > MAX_ALTERNATIVES {
            return None;
        }
        return Some((all, i));
    }
}

/// Atoms in a row from `i` up to `|`, `)` or the end.
fn sequence(chars: &[char], mut i: usize, unbounded: &mut bool) -> Option<(Vec<Spelling>, usize)> {
    let mut acc: Vec<Spelling> = vec![vec![String::new()]];
    while let Some(&c) = chars.get(i) {
        let atom: Vec<Spelling> = match c {
            '|' | ')' => break,
            '(' => {
                let start = if chars.get(i + 1) == Some(&'?') {
                    if chars.get(i + 2) != Some(&':') {
                        return None;
                    }
                    i + 3
                } else {
                    i + 1
                };
                let (alts, end) = alternation(chars, start, unbounded)?;
                if chars.get(end) != Some(&')') {
                    return None;
                }
                i = end + 1;
                alts
            }
            '\\' => {
                let n = *chars.get(i + 1)?;
                i += 2;
                match n {
                    's' => match chars.get(i) {
                        Some('+') => {
                            i += 1;
                            vec![vec![" ".to_string()]]
                        }
                        Some('*') => {
                            i += 1;
                            vec![vec![String::new()], vec![" ".to_string()]]
                        }
                        _ => vec![vec![" ".to_string()]],
                    },
                    'w' if chars.get(i) == Some(&'+') => {
                        i += 1;
                        vec![vec![String::new(), String::new()]]
                    }
                    'b' => {
                        *unbounded = true;
                        vec![vec![String::new()]]
                    }
                    n if n.is_ascii_alphanumeric() => return None,
                    n => vec![vec![n.to_string()]],
                }
            }
            '.' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                vec![vec![String::new(), String::new()]]
            }
            '.' | '^' | '$' | '[' | ']' | '{' | '}' | '*' | '+' | '?' => return None,
            c => {
                i += 1;
                vec![vec![c.to_string()]]
            }
        };
        // `?` after an atom: it may be absent.
        let atom = if chars.get(i) == Some(&'?') {
            i += 1;
            let mut a = atom;
            a.push(vec![String::new()]);
            a
        } else {
            atom
        };
        if matches!(chars.get(i), Some('*' | '+' | '{')) {
            return None;
        }
        acc = concat(&acc, &atom);
        if acc.len() > MAX_ALTERNATIVES {
            return None;
        }
    }
    Some((acc, i))
}

/// Every spelling of `a` followed by every spelling of `b`.
fn concat(a: &[Spelling], b: &[Spelling]) -> Vec<Spelling> {
    let mut out = Vec::new();
    for x in a {
        for y in b {
            let mut s = x.clone();
            let last = s.pop().unwrap_or_default();
            s.push(format!("{last}{}", y[0]));
            s.extend(y[1..].iter().cloned());
            out.push(s);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(parts: &[&str]) -> Spelling {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn literals_and_optional_groups_become_spellings() {
        assert_eq!(
            spellings("start-bitstransfer"),
            Some(vec![one(&["start-bitstransfer"])])
        );
        assert_eq!(
            spellings(r"msxml2\.(?:server)?xmlhttp"),
            Some(vec![
                one(&["msxml2.serverxmlhttp"]),
                one(&["msxml2.xmlhttp"])
            ])
        );
        assert_eq!(
            spellings(r"wevtutil(?:\.exe)?\s+cl\b"),
            Some(vec![one(&["wevtutil.exe cl"]), one(&["wevtutil cl"])])
        );
        assert_eq!(
            spellings(r"set-netfirewallprofile\s.*-enabled\s+\$?(?:false|0)"),
            Some(vec![
                one(&["set-netfirewallprofile ", "-enabled $false"]),
                one(&["set-netfirewallprofile ", "-enabled $0"]),
                one(&["set-netfirewallprofile ", "-enabled false"]),
                one(&["set-netfirewallprofile ", "-enabled 0"]),
            ])
        );
    }

    #[test]
    fn word_boundaries_keep_only_long_spellings() {
        assert_eq!(spellings(r"\bschtasks\b"), Some(vec![one(&["schtasks"])]));
        assert_eq!(
            spellings(r"\bncat(?:\.exe)?\b"),
            Some(vec![one(&["ncat.exe"])])
        );
        assert_eq!(spellings(r"\bnc\b"), None);
    }

    #[test]
    fn what_is_not_a_literal_is_left_to_sighunt() {
        for p in [
            r"(?:^|[^\w$.-])iwr\b",
            r"(?:^|[\s;(|&])(?:curl|wget)(?:\.exe)?\s",
            r"a.b",
            r"ab+",
            r"a{2}",
            r"\d",
            r"(?i)x",
            r".*",
        ] {
            assert_eq!(spellings(p), None, "{p}");
        }
    }
}
