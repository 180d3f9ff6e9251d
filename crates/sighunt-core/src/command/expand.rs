//! Shell variables a text sets to literals, put back where it uses them.
//!
//! `N=no; H=hup; $N$H /tmp/x` and `export P=/dev/shm/.k; nohup "$P" &` run
//! `nohup /tmp/x` and `nohup /dev/shm/.k`, but no word of the text says so. The
//! parser keeps `$N` verbatim (it is not an interpreter); this replaces `$NAME` and
//! `${NAME}` by the literal the same text assigned before, in text order. Two
//! forms are empty whatever was set, and are dropped: a substring of length 0
//! (`${PWD:0:0}nohup`) and `$@`/`$*` inside a longer word (`no$@hup`: no positional
//! parameters in a `-c` string or at a prompt). A command word that was only a
//! variable is split at blanks as the shell splits it (`C="nohup /tmp/x"; $C`).
//! Anything else (`${N:-x}`, `$1`, a variable the text did not set, a value from a
//! command substitution) stays as written.

use crate::shell::SimpleCommand;

/// Most variables remembered from one text.
const MAX_VARS: usize = 64;
/// Longest value remembered (and longest word an expansion may build).
const MAX_VALUE: usize = 4096;

/// The literal variables of one shell text, as far as it has been read.
#[derive(Debug, Default)]
pub struct Vars {
    set: Vec<(String, String)>,
}

impl Vars {
    /// Reads `cmd`: remembers what it assigns (a top-level command of only
    /// assignments, or `export`/`readonly`/`declare`/`local`/`typeset` of
    /// `NAME=value`), and expands its words. Returns whether a word changed.
    pub fn read(&mut self, cmd: &mut SimpleCommand) -> bool {
        let mut changed = false;
        for w in &mut cmd.words {
            if let Some(name) = program_lookup(w) {
                *w = name;
                changed = true;
            }
        }
        let mut split_first = false;
        for (i, w) in cmd.words.iter_mut().enumerate() {
            if !w.contains('$') {
                continue;
            }
            let whole_variable = i == 0 && self.is_one_variable(w);
            if let Some(expanded) = self.expand(w) {
                *w = expanded;
                changed = true;
                split_first |= whole_variable;
            }
        }
        // `$C` as the command word: the shell splits its value into words (a
        // quoted "$C" would name one program with blanks in it, which never runs).
        if split_first && cmd.words[0].contains([' ', '\t', '\n']) {
            let first: Vec<String> = cmd.words[0]
                .split([' ', '\t', '\n'])
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            cmd.words.splice(0..1, first);
        }
        // A subshell's or substitution's assignments do not outlive it.
        if cmd.depth > 0 {
            return changed;
        }
        let program = cmd.words.first().map(String::as_str);
        let assignments: Vec<String> = match program {
            None => cmd.assignments.clone(),
            Some("export" | "readonly" | "declare" | "local" | "typeset") => cmd.words[1..]
                .iter()
                .filter(|w| !w.starts_with('-'))
                .cloned()
                .collect(),
            Some(_) => return changed,
        };
        for a in assignments {
            let Some((name, value)) = a.split_once('=') else {
                continue;
            };
            let name = name.strip_suffix('+').unwrap_or(name);
            if !is_name(name) {
                continue;
            }
            let value = self.expand(value).unwrap_or_else(|| value.to_string());
            // A value built by a command or another expansion is unknown: forget it.
            self.set.retain(|(n, _)| n != name);
            if value.contains("$(") || value.contains('`') || value.len() > MAX_VALUE {
                continue;
            }
            if self.set.len() < MAX_VARS {
                self.set.push((name.to_string(), value));
            }
        }
        changed
    }

    /// Whether `word` is exactly one known variable (`$C`, `${C}`).
    fn is_one_variable(&self, word: &str) -> bool {
        parameter(word).is_some_and(|name| is_name(name) && self.set.iter().any(|(n, _)| n == name))
    }

    /// `word` with the known variables replaced and the empty forms dropped;
    /// `None` if nothing changed.
    fn expand(&self, word: &str) -> Option<String> {
        if !word.contains('$') {
            return None;
        }
        let mut out = String::with_capacity(word.len());
        let mut rest = word;
        let mut changed = false;
        // `$@` in a word with blanks is no obfuscated command word but a script
        // handed on (`bash -c 'f() { nohup "$@" & }; f /tmp/x'`): its shell, or a
        // function in it, has positional parameters. Only blank-free words lose it.
        let positional_len = if word.contains([' ', '\t', '\n']) {
            0
        } else {
            word.len()
        };
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            if let Some(used) = empty_expansion(after, positional_len) {
                rest = &after[used..];
                changed = true;
                continue;
            }
            let (name, used) = if let Some(braced) = after.strip_prefix('{') {
                match braced.find('}') {
                    Some(end) if is_name(&braced[..end]) => (&braced[..end], end + 2),
                    _ => ("", 0),
                }
            } else {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                if is_name(&after[..end]) {
                    (&after[..end], end)
                } else {
                    ("", 0)
                }
            };
            match self.set.iter().rev().find(|(n, _)| n == name) {
                Some((_, value)) if used > 0 && out.len() + value.len() <= MAX_VALUE => {
                    out.push_str(value);
                    rest = &after[used..];
                    changed = true;
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        changed.then_some(out)
    }
}

/// The length of an expansion at `after` (what follows a `$`) that is empty
/// whatever the variables hold: `{NAME:N:0}` (also `{@:N:0}`), and, in a word of
/// `word_len` bytes that has more than the expansion, `@`, `*`, `{@}`, `{*}`
/// (`word_len` 0: never these).
fn empty_expansion(after: &str, word_len: usize) -> Option<usize> {
    if let Some(braced) = after.strip_prefix('{') {
        let end = braced.find('}')?;
        let inner = &braced[..end];
        if word_len > end + 3 && (inner == "@" || inner == "*") {
            return Some(end + 2);
        }
        let mut parts = inner.splitn(3, ':');
        let (name, offset, length) = (parts.next()?, parts.next()?, parts.next()?);
        let name_ok = is_name(name) || name == "@" || name == "*";
        let offset_ok = !offset.is_empty() && offset.trim().bytes().all(|b| b.is_ascii_digit());
        let zero = !length.trim().is_empty() && length.trim().bytes().all(|b| b == b'0');
        return (name_ok && offset_ok && zero).then_some(end + 2);
    }
    (word_len > 2 && (after.starts_with('@') || after.starts_with('*'))).then_some(1)
}

/// What `word` names when it is one parameter expansion and nothing else: `NAME`
/// for `$NAME` or `${NAME}` (also `1`, `@` …), unchecked.
pub(super) fn parameter(word: &str) -> Option<&str> {
    let after = word.strip_prefix('$')?;
    Some(
        after
            .strip_prefix('{')
            .and_then(|b| b.strip_suffix('}'))
            .unwrap_or(after),
    )
}

/// A shell variable name: a letter or `_`, then letters, digits or `_`.
fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A word that is only a lookup of a program's path (`$(which nohup)`,
/// `` `command -v nohup` ``, `$(type -P nohup)`): the shell runs what that prints,
/// the program of that name (as a path, which detectors read by its base name).
fn program_lookup(word: &str) -> Option<String> {
    let inner = word
        .strip_prefix("$(")
        .and_then(|w| w.strip_suffix(')'))
        .or_else(|| word.strip_prefix('`').and_then(|w| w.strip_suffix('`')))?;
    let parts: Vec<&str> = inner.split_whitespace().collect();
    let name = match parts.as_slice() {
        ["which", name] | ["command", "-v", name] | ["type", "-p" | "-P", name] => *name,
        _ => return None,
    };
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._+-/".contains(&b));
    plain.then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell;

    fn expanded(text: &str) -> Vec<Vec<String>> {
        let mut vars = Vars::default();
        shell::parse(text)
            .into_iter()
            .map(|mut c| {
                vars.read(&mut c);
                c.words
            })
            .filter(|w| !w.is_empty())
            .collect()
    }

    #[test]
    fn literals_set_before_are_put_back() {
        assert_eq!(
            expanded("N=no; H=hup; $N$H /tmp/x &"),
            [["nohup", "/tmp/x"]]
        );
        assert_eq!(
            expanded("export P=/dev/shm/.k; nohup \"${P}\" 1"),
            [
                vec!["export", "P=/dev/shm/.k"],
                vec!["nohup", "/dev/shm/.k", "1"]
            ]
        );
        assert_eq!(expanded("A=/tmp; B=$A/x; nohup $B"), [["nohup", "/tmp/x"]]);
        assert_eq!(expanded("N=x; N=no; ${N}hup y"), [["nohup", "y"]]);
        assert_eq!(expanded("T=''; trap \"$T\" HUP"), [["trap", "", "HUP"]]);
    }

    #[test]
    fn what_the_text_does_not_set_stays_as_written() {
        assert_eq!(expanded("$N$H /tmp/x"), [["$N$H", "/tmp/x"]]);
        assert_eq!(
            expanded("N=no; ${N:-x}hup $1 $@ $$"),
            [["${N:-x}hup", "$1", "$@", "$$"]]
        );
        assert_eq!(
            expanded("N=$(cat f); $N /tmp/x"),
            [vec!["cat", "f"], vec!["$N", "/tmp/x"]]
        );
        // Set in a subshell: gone after it.
        assert_eq!(expanded("(N=nohup); $N /tmp/x"), [["$N", "/tmp/x"]]);
        // An assignment before a command is the command's environment only.
        assert_eq!(
            expanded("N=nohup true; $N /tmp/x"),
            [vec!["true"], vec!["$N", "/tmp/x"]]
        );
        // Used before it is set.
        assert_eq!(expanded("$N /tmp/x; N=nohup"), [["$N", "/tmp/x"]]);
    }

    #[test]
    fn expansions_empty_whatever_is_set_are_dropped() {
        for text in [
            "${PWD:0:0}nohup /tmp/x",
            "no${X:3:0}hup /tmp/x",
            "n$@ohup /tmp/x",
            "nohup$* /tmp/x",
            "${*}nohup /tmp/x",
            "no${@:1:00}hup /tmp/x",
        ] {
            assert_eq!(expanded(text), [["nohup", "/tmp/x"]], "{text}");
        }
        // Not empty, or a positional list on its own: as written.
        for (text, first) in [
            ("${PWD:0:1}nohup /tmp/x", "${PWD:0:1}nohup"),
            ("${PWD:0}nohup /tmp/x", "${PWD:0}nohup"),
            ("${X:a:0}nohup /tmp/x", "${X:a:0}nohup"),
            ("$@ /tmp/x", "$@"),
            ("${*} /tmp/x", "${*}"),
        ] {
            assert_eq!(expanded(text)[0][0], first, "{text}");
        }
    }

    #[test]
    fn a_variable_as_the_command_word_is_split_into_words() {
        assert_eq!(
            expanded("C=\"nohup  /tmp/x\"; $C -q"),
            [["nohup", "/tmp/x", "-q"]]
        );
        assert_eq!(expanded("C='nohup /tmp/x'; ${C}"), [["nohup", "/tmp/x"]]);
        // Only the command word, and only when it was the variable alone.
        assert_eq!(expanded("P='/tmp/a b'; nohup $P"), [["nohup", "/tmp/a b"]]);
        assert_eq!(
            expanded("C='no hup'; ${C}x /tmp/x"),
            [["no hupx", "/tmp/x"]]
        );
    }

    #[test]
    fn program_path_lookups_are_the_program() {
        let nohup_x = vec!["nohup".to_string(), "/tmp/.a".to_string()];
        for text in [
            "$(which nohup) /tmp/.a &",
            "`which nohup` /tmp/.a",
            "\"$(command -v nohup)\" /tmp/.a",
            "$(type -P nohup) /tmp/.a",
        ] {
            assert!(
                expanded(text).contains(&nohup_x),
                "{text}: {:?}",
                expanded(text)
            );
        }
        // Other substitutions, and lookups with more to them, stay as written.
        for text in [
            "$(cat nohup) /tmp/.a",
            "$(which nohup | head -1) /tmp/.a",
            "$(which $N) /tmp/.a",
            "$(type nohup) /tmp/.a",
        ] {
            assert!(
                !expanded(text).contains(&nohup_x),
                "{text}: {:?}",
                expanded(text)
            );
        }
    }

    #[test]
    fn memory_is_bounded() {
        let mut vars = Vars::default();
        let mut text = String::new();
        for i in 0..200 {
            text.push_str(&format!("V{i}=x; "));
        }
        for mut c in shell::parse(&text) {
            vars.read(&mut c);
        }
        assert_eq!(vars.set.len(), MAX_VARS);
        // The 4 KiB cap on what an expansion builds: the second use stays.
        let words = expanded(&format!("W={}; echo $W$W", "y".repeat(3000)));
        assert_eq!(words[0][1], format!("{}$W", "y".repeat(3000)));
    }
}
