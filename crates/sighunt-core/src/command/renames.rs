//! Other names a text gives a program, put back where it uses them.
//!
//! `alias nh=nohup; nh /tmp/x`, `cp /usr/bin/nohup /tmp/nh; /tmp/nh /tmp/x` and
//! `cat /bin/nohup >/tmp/nh; chmod +x /tmp/nh; /tmp/nh /tmp/x` run nohup under a
//! name no detector knows. This remembers, in text order, each alias's words and
//! where a copy, link, move or install put a program, and puts the program back
//! when a later command's first word is that name. The exec log of such a run
//! shows only the new path (a copy keeps no trace of its origin), so the text is
//! where the rename can be seen: sudo, history, cron, a process's command line.
//!
//! Bash expands an alias only on a line read after the one that defines it, and
//! only in an interactive shell or after `shopt -s expand_aliases`
//! (tests/shell_oracle.rs runs bash on these texts); `alias nh=nohup; nh x` on one
//! line runs nothing. It is still read as nohup here: the text says what was meant.

use crate::shell::SimpleCommand;

use super::basename;

/// Most names remembered from one text (aliases and copies each).
const MAX_NAMES: usize = 32;
/// Most words an alias may stand for.
const MAX_ALIAS_WORDS: usize = 16;

/// The renamed programs of one shell text, as far as it has been read.
#[derive(Debug, Default)]
pub struct Renames {
    /// `alias NAME=VALUE`: NAME and VALUE's words.
    aliases: Vec<(String, Vec<String>)>,
    /// A path a program was copied to, and the program's path.
    copies: Vec<(String, String)>,
}

impl Renames {
    /// Reads `cmd`: puts a renamed program back in its first word, then remembers
    /// what `cmd` renames. Returns whether a word changed.
    pub fn read(&mut self, cmd: &mut SimpleCommand) -> bool {
        let changed = self.put_back(&mut cmd.words);
        self.remember(cmd);
        changed
    }

    fn put_back(&self, words: &mut Vec<String>) -> bool {
        let Some(first) = words.first() else {
            return false;
        };
        if let Some((_, value)) = self.aliases.iter().rev().find(|(n, _)| n == first) {
            let value = value.clone();
            words.splice(0..1, value);
            // The alias's first word may itself be a renamed copy.
            self.put_back_copy(words);
            return true;
        }
        self.put_back_copy(words)
    }

    fn put_back_copy(&self, words: &mut [String]) -> bool {
        let Some(first) = words.first_mut() else {
            return false;
        };
        let path = plain_path(first);
        match self.copies.iter().rev().find(|(to, _)| to == path) {
            Some((_, from)) => {
                *first = from.clone();
                true
            }
            None => false,
        }
    }

    fn remember(&mut self, cmd: &SimpleCommand) {
        let Some(first) = cmd.words.first() else {
            return;
        };
        match basename(first) {
            // An alias set in a subshell does not outlive it; a copy on disk does.
            "alias" if cmd.depth == 0 => {
                for word in &cmd.words[1..] {
                    self.remember_alias(word);
                }
            }
            "cp" | "ln" | "mv" | "install" => {
                if let Some((from, to)) = copy_operands(&cmd.words) {
                    self.remember_copy(from, to);
                }
            }
            "cat" => {
                // `cat /bin/nohup >/tmp/nh`: one file operand, stdout to a file.
                let operands: Vec<&String> = cmd.words[1..]
                    .iter()
                    .filter(|w| !w.starts_with('-'))
                    .collect();
                let to = cmd.redirects.iter().rev().find(|r| {
                    matches!(r.fd, None | Some(1)) && matches!(r.op.as_str(), ">" | ">|")
                });
                if let ([from], Some(to)) = (operands.as_slice(), to) {
                    self.remember_copy(from, &to.target);
                }
            }
            "dd" => {
                let arg = |key: &str| {
                    cmd.words[1..]
                        .iter()
                        .rev()
                        .find_map(|w| w.strip_prefix(key))
                };
                if let (Some(from), Some(to)) = (arg("if="), arg("of=")) {
                    self.remember_copy(from, to);
                }
            }
            _ => {}
        }
    }

    fn remember_alias(&mut self, word: &str) {
        let Some((name, value)) = word.split_once('=') else {
            return;
        };
        let words: Vec<String> = value.split_whitespace().map(str::to_string).collect();
        // A value with shell syntax in it (`alias x='a; b &'`) is more than a
        // program and its words: not followed.
        let plain = value.bytes().all(|b| !b";&|<>()`$\\\"'".contains(&b));
        if name.is_empty() || name.contains('/') || words.is_empty() || !plain {
            return;
        }
        if words.len() > MAX_ALIAS_WORDS {
            return;
        }
        self.aliases.retain(|(n, _)| n != name);
        if self.aliases.len() < MAX_NAMES {
            self.aliases.push((name.to_string(), words));
        }
    }

    fn remember_copy(&mut self, from: &str, to: &str) {
        let (from, to) = (plain_path(from), plain_path(to));
        // A copy into a directory (`cp /bin/nohup /tmp/`) keeps the name.
        if from.is_empty() || to.is_empty() || to.ends_with('/') || basename(from) == basename(to) {
            return;
        }
        // A copy of a renamed copy is the original program.
        let from = match self.copies.iter().rev().find(|(t, _)| t == from) {
            Some((_, original)) => original.clone(),
            None => from.to_string(),
        };
        self.copies.retain(|(t, _)| t != to);
        if self.copies.len() < MAX_NAMES {
            self.copies.push((to.to_string(), from));
        }
    }
}

/// `./nh` and `nh` name the same file (relative to the same directory).
fn plain_path(path: &str) -> &str {
    path.strip_prefix("./").unwrap_or(path)
}

/// The source and destination of `cp`/`ln`/`mv`/`install` with exactly two
/// operands. Options are skipped (`install`'s `-m`/`-o`/`-g` take a value); a
/// `-t DIR` form, or more operands, is a copy into a directory: the names stay.
fn copy_operands(words: &[String]) -> Option<(&str, &str)> {
    let takes_value = basename(&words[0]) == "install";
    let mut operands = Vec::new();
    let mut args = words[1..].iter();
    let mut options_done = false;
    while let Some(w) = args.next() {
        if !options_done && w == "--" {
            options_done = true;
        } else if !options_done && w.starts_with('-') && w.len() > 1 {
            if w == "-t" || w.starts_with("--target-directory") {
                return None;
            }
            if takes_value
                && matches!(
                    w.as_str(),
                    "-m" | "-o" | "-g" | "--mode" | "--owner" | "--group"
                )
            {
                args.next();
            }
        } else {
            operands.push(w.as_str());
        }
    }
    match operands.as_slice() {
        [from, to] => Some((from, to)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell;

    fn renamed(text: &str) -> Vec<Vec<String>> {
        let mut renames = Renames::default();
        shell::parse(text)
            .into_iter()
            .map(|mut c| {
                renames.read(&mut c);
                c.words
            })
            .filter(|w| !w.is_empty())
            .collect()
    }

    fn last(text: &str) -> Vec<String> {
        renamed(text).pop().unwrap_or_default()
    }

    #[test]
    fn copies_and_links_of_a_program_are_that_program() {
        for text in [
            "cp /usr/bin/nohup /tmp/nh; /tmp/nh /tmp/x",
            "cp -p /usr/bin/nohup /tmp/nh && /tmp/nh /tmp/x",
            "ln -sf /usr/bin/nohup /tmp/nh; /tmp/nh /tmp/x",
            "mv -- /usr/bin/nohup /tmp/nh; /tmp/nh /tmp/x",
            "install -m 755 /usr/bin/nohup /tmp/nh; /tmp/nh /tmp/x",
            "cat /usr/bin/nohup > /tmp/nh; chmod +x /tmp/nh; /tmp/nh /tmp/x",
            "dd if=/usr/bin/nohup of=/tmp/nh; /tmp/nh /tmp/x",
            "cd /tmp; cp /usr/bin/nohup nh; ./nh /tmp/x",
            "cp /usr/bin/nohup /tmp/a; cp /tmp/a /tmp/b; /tmp/b /tmp/x",
            "(cp /usr/bin/nohup /tmp/nh); /tmp/nh /tmp/x",
        ] {
            assert_eq!(last(text), ["/usr/bin/nohup", "/tmp/x"], "{text}");
        }
    }

    #[test]
    fn aliases_are_their_words() {
        assert_eq!(last("alias nh=nohup; nh /tmp/x"), ["nohup", "/tmp/x"]);
        assert_eq!(
            last("alias nh='nohup -- ' q=ls; nh /tmp/x"),
            ["nohup", "--", "/tmp/x"]
        );
        assert_eq!(
            last("cp /bin/nohup /tmp/n; alias nh=/tmp/n; nh /tmp/x"),
            ["/bin/nohup", "/tmp/x"]
        );
    }

    #[test]
    fn other_names_stay_as_written() {
        for (text, first) in [
            // Used before the rename, or not as the command word.
            ("/tmp/nh /tmp/x; cp /usr/bin/nohup /tmp/nh", "cp"),
            ("cp /usr/bin/nohup /tmp/nh; ls /tmp/nh", "ls"),
            // A copy into a directory, to several places, or with -t.
            ("cp /usr/bin/nohup /usr/bin/id /tmp/; /tmp/id", "/tmp/id"),
            ("cp -t /tmp /usr/bin/nohup; /tmp/nh", "/tmp/nh"),
            // An alias with shell syntax, or set in a subshell.
            ("alias nh='nohup /tmp/x &'; nh", "nh"),
            ("(alias nh=nohup); nh /tmp/x", "nh"),
            // cat of two files, or to stderr.
            ("cat /bin/nohup /bin/id > /tmp/nh; /tmp/nh", "/tmp/nh"),
            ("cat /bin/nohup 2> /tmp/nh; /tmp/nh", "/tmp/nh"),
        ] {
            assert_eq!(last(text)[0], first, "{text}");
        }
    }

    #[test]
    fn memory_is_bounded() {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("alias a{i}=ls; cp /bin/ls /tmp/l{i}; "));
        }
        let mut renames = Renames::default();
        for mut c in shell::parse(&text) {
            renames.read(&mut c);
        }
        assert_eq!(renames.aliases.len(), MAX_NAMES);
        assert_eq!(renames.copies.len(), MAX_NAMES);
    }
}
