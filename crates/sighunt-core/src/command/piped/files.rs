//! Scripts a shell text writes to a file and then runs in the same text:
//! `echo 'nohup x &' > s.sh; bash s.sh`, `printf '…' >> /tmp/.r; chmod +x /tmp/.r;
//! /tmp/.r`, `. ./s.sh`. The file's content is the literal written to it (appends
//! joined in order); a file the text did not write is unknown here.

use crate::shell::SimpleCommand;

use super::super::basename;
use super::Stream;

/// What one file holds after the text's writes up to a command.
pub(super) struct Written {
    path: String,
    /// Index of the command whose output went there.
    at: usize,
    bytes: Vec<u8>,
    decoded: bool,
}

/// The files written so far, in text order.
#[derive(Default)]
pub(super) struct Files {
    written: Vec<Written>,
}

/// Most bytes kept for all written files together.
const MAX_WRITTEN: usize = 256 * 1024;

impl Files {
    /// Command `at`'s standard output, `stream`, went to the file it redirects it
    /// to, if any: a literal path, replaced (`>`, `>|`, `&>`) or appended to.
    pub(super) fn record(&mut self, cmds: &[SimpleCommand], at: usize, stream: &Stream) {
        let Some((path, append)) = stdout_file(&cmds[at]) else {
            return;
        };
        let held: usize = self.written.iter().map(|w| w.bytes.len()).sum();
        if held + stream.bytes.len() > MAX_WRITTEN {
            return;
        }
        let mut bytes = Vec::new();
        let mut decoded = stream.decoded;
        if append {
            if let Some(before) = self.latest(path, at) {
                bytes.extend_from_slice(&before.bytes);
                decoded |= before.decoded;
                if !bytes.is_empty() && bytes.last() != Some(&b'\n') {
                    bytes.push(b'\n');
                }
            }
        }
        bytes.extend_from_slice(&stream.bytes);
        self.written.push(Written {
            path: normal(path).to_string(),
            at,
            bytes,
            decoded,
        });
    }

    /// The last write to `path` by a command before `before`.
    fn latest(&self, path: &str, before: usize) -> Option<&Written> {
        let path = normal(path);
        self.written
            .iter()
            .rev()
            .find(|w| w.at < before && w.path == path)
    }

    /// The scripts of written files that later commands run, with their runner.
    pub(super) fn run(&self, cmds: &[SimpleCommand], shells: &[String]) -> Vec<(Stream, String)> {
        if self.written.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            let Some((path, runner)) = runs_file(c, shells) else {
                continue;
            };
            if let Some(w) = self.latest(path, i) {
                out.push((
                    Stream {
                        bytes: w.bytes.clone(),
                        decoded: w.decoded,
                    },
                    runner,
                ));
            }
        }
        out
    }
}

/// `./s.sh` and `s.sh` name the same file.
fn normal(path: &str) -> &str {
    let mut p = path;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p
}

/// The file a command's standard output is redirected to (the last such
/// redirection wins, as in the shell), and whether it is appended to. Paths
/// that are not literal (`$F`, `$(…)`) are unknown.
fn stdout_file(c: &SimpleCommand) -> Option<(&str, bool)> {
    let r = c.redirects.iter().rev().find(|r| {
        matches!(r.fd, None | Some(1)) && matches!(r.op.as_str(), ">" | ">>" | ">|" | "&>" | "&>>")
    })?;
    let literal = !r.target.is_empty()
        && !r.target.contains(['$', '`', '*', '?', '['])
        && r.target != "/dev/null"
        && !r.target.starts_with("/dev/");
    literal.then_some((r.target.as_str(), r.op.ends_with(">>")))
}

/// The script file a command runs, and what runs it: `sh FILE`, `bash -x FILE`,
/// `. FILE`, `source FILE`, or the file as the program (`./FILE`, `/tmp/FILE`,
/// which the kernel or the calling shell hands to `sh` when it has no `#!`).
fn runs_file<'c>(c: &'c SimpleCommand, shells: &[String]) -> Option<(&'c str, String)> {
    let first = c.words.first()?;
    let program = basename(first);
    if matches!(program, "." | "source") {
        return c.words.get(1).map(|f| (f.as_str(), program.to_string()));
    }
    if shells.iter().any(|s| s == program) {
        let mut i = 1;
        while let Some(w) = c.words.get(i) {
            if w == "--" {
                i += 1;
                break;
            }
            if !w.starts_with('-') && !w.starts_with('+') {
                break;
            }
            // A string or standard input is the script, not a file.
            if w.starts_with("--command") || (!w.starts_with("--") && w[1..].contains(['c', 's'])) {
                return None;
            }
            // `-o OPTION`, `+O OPTION` take the next word.
            if matches!(w.as_str(), "-o" | "+o" | "-O" | "+O") {
                i += 1;
            }
            i += 1;
        }
        return c.words.get(i).map(|f| (f.as_str(), program.to_string()));
    }
    // The file itself as the program: only a path (a bare name is looked up in
    // PATH, not in the current directory).
    first
        .contains('/')
        .then(|| (first.as_str(), "sh".to_string()))
}
