//! Scripts a shell text hands to another shell as data.
//!
//! `echo bm9odXAg… | base64 -d | sh`, `sh -c "$(echo … | base64 -d)"`,
//! `printf '\x6e\x6f\x68\x75\x70 …' | bash`, `bash <<< 'nohup …'` and
//! `eval "$(echo … | xxd -r -p)"` run commands that no word of the text contains:
//! a shell reads them from a pipe, a here-string or a command substitution. A
//! process log still shows them as their own execs, but a line of shell text (sudo
//! `COMMAND=`, cron, history, a 4688-style command line) is all some logs keep, so
//! the literal is followed through the stages that transform it (base64, base32,
//! hex, gzip, `rev`, printf escapes) to the shell that runs it (or `at`/`batch`,
//! whose job atd runs later with sh), and the result is
//! read as shell text like an `sh -c` string.
//!
//! Only literals are followed: data from a file, the network or a variable is
//! unknown here (the process log has what it ran).

use std::io::Read;

use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};

use crate::shell::SimpleCommand;

use super::basename;
use super::decoding::{Decoding, decoding_of};

mod files;

/// Most scripts followed from one shell text.
const MAX_SCRIPTS: usize = 16;
/// Most bytes all the stages followed for one process start may produce together
/// (decoded scripts inside decoded scripts, gzip bombs): the caller's budget starts
/// here.
pub const SCRIPT_BUDGET: usize = 1 << 20;

/// A script a shell text runs through a shell's standard input, a command
/// substitution or `eval`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipedScript {
    /// The script's text.
    pub text: String,
    /// The program that runs it (`sh`, `bash`, `eval`, or the substitution's own
    /// shell when the output is the command).
    pub runner: String,
    /// The literal was decoded on the way (base64, base32, hex, gzip, `rev`, printf
    /// or `echo -e` escapes), not only moved.
    pub decoded: bool,
}

/// The scripts `cmds` (one [`crate::shell::parse`] of a text) hand to a shell as
/// data, in text order. `shells` are the programs that run a script; `budget` is
/// how many more bytes the stages may produce (see [`SCRIPT_BUDGET`]).
pub fn piped_scripts(
    cmds: &[SimpleCommand],
    shells: &[String],
    budget: &mut usize,
) -> Vec<PipedScript> {
    let mut out = Vec::new();
    // The common text has no literal source: nothing to allocate or scan.
    if !cmds.iter().any(is_source) {
        return out;
    }
    let pipelines = Pipelines::of(cmds);
    let mut files = files::Files::default();
    for (id, anchor) in &pipelines.order {
        if out.len() >= MAX_SCRIPTS || *budget == 0 {
            break;
        }
        let stages = pipelines.stages(*id);
        if !stages.iter().any(|s| s.may_write_literal(cmds)) {
            continue;
        }
        let Some(stream) = follow(&stages, cmds, &pipelines, shells, budget, &mut out, 0) else {
            continue;
        };
        // `echo … > s.sh`: what a later `sh s.sh` or `./s.sh` of the text runs.
        if let Some(Stage::Simple(last)) = stages.last() {
            files.record(cmds, *last, &stream);
        }
        // What is left at the end of a pipeline in a `$(…)` becomes text of the
        // command around it: run if that command runs it. (A command written
        // directly in a group or a loop body is not in a substitution.)
        let first = &cmds[*anchor];
        if first.depth > 0 && first.group_stage.is_none() {
            if let Some(e) = enclosing(cmds, *anchor) {
                if let Some(runner) = runs_substitution(e, shells) {
                    let stream = with_command_operands(stream, e);
                    push_script(&mut out, stream, runner);
                }
            }
        }
    }
    for (stream, runner) in files.run(cmds, shells) {
        push_script(&mut out, stream, runner);
    }
    out
}

/// One stage of a pipeline: a simple command, or a compound command (`( … )`,
/// `{ …; }`, a loop) given as the commands written directly in it.
enum Stage {
    Simple(usize),
    Compound(Vec<usize>),
}

impl Stage {
    /// Whether the stage writes a literal of its own, whatever comes into it.
    fn may_write_literal(&self, cmds: &[SimpleCommand]) -> bool {
        match self {
            Stage::Simple(i) => is_source(&cmds[*i]),
            Stage::Compound(members) => members.iter().any(|&i| is_source(&cmds[i])),
        }
    }
}

/// The pipelines of one parse, by id: their simple stages and compound stages,
/// indexed in one pass so that following them stays linear in the text.
struct Pipelines {
    /// Each pipeline's id and its first simple command (or first command of its
    /// first compound stage), in text order.
    order: Vec<(u32, usize)>,
    /// `(pipeline, stage, command)` for every simple stage and every command
    /// written directly in a compound stage, sorted.
    entries: Vec<(u32, u32, usize, bool)>,
}

impl Pipelines {
    fn of(cmds: &[SimpleCommand]) -> Pipelines {
        let mut order: Vec<(u32, usize)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut entries = Vec::with_capacity(cmds.len());
        for (i, c) in cmds.iter().enumerate() {
            if seen.insert(c.pipeline) {
                order.push((c.pipeline, i));
            }
            entries.push((c.pipeline, c.stage, i, false));
            if let Some((p, k)) = c.group_stage {
                if seen.insert(p) {
                    order.push((p, i));
                }
                entries.push((p, k, i, true));
            }
        }
        entries.sort_unstable();
        Pipelines { order, entries }
    }

    /// The stages of pipeline `id`, in order.
    fn stages(&self, id: u32) -> Vec<Stage> {
        let from = self.entries.partition_point(|e| e.0 < id);
        let mut stages: Vec<(u32, Stage)> = Vec::new();
        for &(p, k, i, in_compound) in &self.entries[from..] {
            if p != id {
                break;
            }
            match (in_compound, stages.last_mut()) {
                (true, Some((last, Stage::Compound(members)))) if *last == k => members.push(i),
                (true, _) => stages.push((k, Stage::Compound(vec![i]))),
                (false, _) => stages.push((k, Stage::Simple(i))),
            }
        }
        stages.into_iter().map(|(_, s)| s).collect()
    }
}

/// A command that writes a literal: `echo`, `printf`, or any command given a
/// here-string.
fn is_source(first: &SimpleCommand) -> bool {
    let program = first.words.first().map_or("", |w| basename(w));
    matches!(program, "echo" | "printf") || first.redirects.iter().any(|r| r.op == "<<<")
}

/// Bytes flowing between stages, and whether a stage decoded them.
struct Stream {
    bytes: Vec<u8>,
    decoded: bool,
}

/// Most compound commands followed inside one another (`( { (echo …); } ) | sh`).
const MAX_COMPOUND_NESTING: u32 = 8;

/// Runs the literals of a pipeline through its stages. A stage that is a shell
/// (or `at`, `batch`, `crontab`) reading its input adds a script to `out`;
/// returns what the last stage writes, if it is known.
fn follow(
    stages: &[Stage],
    cmds: &[SimpleCommand],
    pipelines: &Pipelines,
    shells: &[String],
    budget: &mut usize,
    out: &mut Vec<PipedScript>,
    nesting: u32,
) -> Option<Stream> {
    let mut stream: Option<Stream> = None;
    for stage in stages {
        let stage = match stage {
            Stage::Simple(i) => &cmds[*i],
            Stage::Compound(members) => {
                // What a group writes: the known output of each pipeline in it, in
                // order; what it passes through from its input (`cat`) is unknown.
                stream = if nesting < MAX_COMPOUND_NESTING {
                    compound_output(members, cmds, pipelines, shells, budget, nesting + 1)
                } else {
                    None
                };
                continue;
            }
        };
        let words = &stage.words;
        let program = words.first().map_or("", |w| basename(w));
        // A here-string replaces the pipe as the stage's input (`base64 -d <<< X`).
        if let Some(r) = stage.redirects.iter().rev().find(|r| r.op == "<<<") {
            if r.target.contains("$(") || r.target.contains('`') {
                // Its value is a substitution: the pipeline inside it is followed on
                // its own; what comes into this stage is unknown.
                stream = None;
                if shells.iter().any(|s| s == program) {
                    return None;
                }
                continue;
            }
            let mut bytes = r.target.clone().into_bytes();
            bytes.push(b'\n');
            stream = Some(Stream {
                bytes,
                decoded: false,
            });
        }
        if let Some(text) = literal_output(program, words) {
            stream = Some(text);
            continue;
        }
        // Nothing known comes in: a later stage may still write a literal of its
        // own (`crontab -l | { cat; echo …; } | crontab -`).
        let Some(input) = stream.take() else {
            continue;
        };
        if shells.iter().any(|s| s == program) {
            if reads_stdin(words) {
                push_script(out, input, program.to_string());
            }
            return None;
        }
        // `… | at now + 1 minute`, `… | batch`: atd runs the script later with sh.
        if matches!(program, "at" | "batch") {
            if at_reads_stdin(words) {
                push_script(out, input, program.to_string());
            }
            return None;
        }
        // `… | crontab -`: the table's jobs are what cron runs with sh.
        if program == "crontab" {
            if crontab_reads_stdin(words) {
                let jobs = crontab_jobs(&input.bytes);
                push_script(
                    out,
                    Stream {
                        bytes: jobs.into_bytes(),
                        decoded: input.decoded,
                    },
                    program.to_string(),
                );
            }
            return None;
        }
        let next = transform(program, words.get(1..).unwrap_or_default(), input, *budget)?;
        *budget = budget.saturating_sub(next.bytes.len());
        stream = Some(next);
    }
    stream
}

/// What the commands written directly in a compound command write, as far as it
/// is known: the output of each of its pipelines that ends in a known stream, one
/// after the other. `None` when none is known.
fn compound_output(
    members: &[usize],
    cmds: &[SimpleCommand],
    pipelines: &Pipelines,
    shells: &[String],
    budget: &mut usize,
    nesting: u32,
) -> Option<Stream> {
    let mut known: Option<Stream> = None;
    let mut done = Vec::new();
    for &i in members {
        let id = cmds[i].pipeline;
        if done.contains(&id) {
            continue;
        }
        done.push(id);
        // Scripts these inner pipelines run are found when they are followed on
        // their own: here only their output counts.
        let mut scratch = Vec::new();
        let stages = pipelines.stages(id);
        let Some(part) = follow(
            &stages,
            cmds,
            pipelines,
            shells,
            budget,
            &mut scratch,
            nesting,
        ) else {
            continue;
        };
        let total = known.get_or_insert(Stream {
            bytes: Vec::new(),
            decoded: false,
        });
        if !total.bytes.is_empty() && total.bytes.last() != Some(&b'\n') {
            total.bytes.push(b'\n');
        }
        total.bytes.extend_from_slice(&part.bytes);
        total.decoded |= part.decoded;
        *budget = budget.saturating_sub(part.bytes.len());
        if *budget == 0 {
            break;
        }
    }
    known
}

/// `crontab` installs the table it reads from standard input with `-` or with no
/// file operand, unless it lists, edits or removes one (`-l`, `-e`, `-r`, `-i`).
fn crontab_reads_stdin(words: &[String]) -> bool {
    let mut i = 1;
    let mut operands = 0;
    while let Some(w) = words.get(i) {
        match w.as_str() {
            "-u" | "-s" => i += 1,
            "-" => operands += 1,
            w if w.starts_with('-') => {
                if w[1..].chars().any(|c| matches!(c, 'l' | 'e' | 'r' | 'i')) {
                    return false;
                }
            }
            _ => return false, // a file
        }
        i += 1;
    }
    operands <= 1
}

/// The commands of a user crontab, one per line: each job line without its
/// schedule (five time fields or an `@reboot`-style nickname), cut at its first
/// unescaped `%` (the rest is the job's standard input); comments and
/// environment settings are not commands.
fn crontab_jobs(table: &[u8]) -> String {
    let mut jobs = String::new();
    for line in String::from_utf8_lossy(table).lines() {
        let line = line.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let command = if line.starts_with('@') {
            line.split_once(char::is_whitespace).map(|(_, rest)| rest)
        } else if is_crontab_setting(line) {
            None
        } else {
            let mut rest = line;
            let mut fields = 0;
            while fields < 5 {
                let Some((_, after)) = rest.split_once(char::is_whitespace) else {
                    rest = "";
                    break;
                };
                rest = after.trim_start();
                fields += 1;
            }
            Some(rest)
        };
        let Some(command) = command.map(str::trim_start).filter(|c| !c.is_empty()) else {
            continue;
        };
        let mut job = String::with_capacity(command.len());
        let mut chars = command.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('%') => job.push('%'),
                    Some(other) => {
                        job.push('\\');
                        job.push(other);
                    }
                    None => job.push('\\'),
                },
                '%' => break,
                c => job.push(c),
            }
        }
        jobs.push_str(&job);
        jobs.push('\n');
    }
    jobs
}

/// `NAME = value` (cron's environment lines; the name is one word before `=`).
fn is_crontab_setting(line: &str) -> bool {
    let Some((name, _)) = line.split_once('=') else {
        return false;
    };
    let name = name.trim_end();
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// `at`/`batch` take the job from standard input unless told to read a file
/// (`-f`) or to list, show or remove jobs (`-l`, `-c`, `-d`, `-r`).
fn at_reads_stdin(words: &[String]) -> bool {
    !words[1..].iter().any(|w| {
        w.starts_with('-')
            && !w.starts_with("--")
            && w[1..]
                .chars()
                .any(|c| matches!(c, 'f' | 'l' | 'c' | 'd' | 'r'))
    })
}

/// What `echo` and `printf` write, from their words alone.
fn literal_output(program: &str, words: &[String]) -> Option<Stream> {
    match program {
        "echo" => {
            let mut i = 1;
            let mut escapes = false;
            while let Some(w) = words.get(i) {
                let flags = w.strip_prefix('-').filter(|f| {
                    !f.is_empty() && f.bytes().all(|b| matches!(b, b'n' | b'e' | b'E'))
                });
                let Some(flags) = flags else { break };
                escapes = flags.contains('e');
                i += 1;
            }
            let text = words[i..].join(" ");
            Some(if escapes {
                Stream {
                    bytes: unescape(&text),
                    decoded: text.contains('\\'),
                }
            } else {
                Stream {
                    bytes: text.into_bytes(),
                    decoded: false,
                }
            })
        }
        "printf" => {
            let format = words.get(1)?;
            let args = &words[2.min(words.len())..];
            let bytes = match format.as_str() {
                "%s" | "%s\\n" => args.join("").into_bytes(),
                "%b" | "%b\\n" => unescape(&args.join("")),
                f if !f.contains('%') => unescape(f),
                _ => return None,
            };
            let decoded = words[1..].iter().any(|w| w.contains('\\'));
            Some(Stream { bytes, decoded })
        }
        _ => None,
    }
}

/// A shell with no `-c` string and no script file reads its script from stdin.
fn reads_stdin(words: &[String]) -> bool {
    let mut rest = words.get(1..).unwrap_or_default().iter();
    for w in rest.by_ref() {
        if w == "-" || w == "--" {
            return true;
        }
        if !w.starts_with('-') && !w.starts_with('+') {
            return false; // a script file
        }
        if w.starts_with("--command") || (!w.starts_with("--") && w[1..].contains('c')) {
            return false;
        }
    }
    true
}

/// What a filter stage makes of its input, for the decoders and filters followed;
/// `None` for any other stage, or output over `limit` bytes.
fn transform(program: &str, args: &[String], input: Stream, limit: usize) -> Option<Stream> {
    let bytes = match decoding_of(program, args) {
        Some(Decoding::Base64) => base64(&input.bytes)?,
        Some(Decoding::Base32) => base32(&input.bytes)?,
        Some(Decoding::Hex) => hex(&input.bytes)?,
        Some(Decoding::Gunzip) => gunzip(&input.bytes, limit)?,
        Some(Decoding::Reverse) => rev(&input.bytes)?,
        Some(Decoding::Other) => return None,
        None if program == "cat" && (args.is_empty() || args.iter().any(|a| a == "-")) => {
            return Some(input);
        }
        None => return None,
    };
    (bytes.len() <= limit).then_some(Stream {
        bytes,
        decoded: true,
    })
}

/// The command a `$(…)` at `cmds[i]` is a word of: the last one before it that
/// is less deep (nested commands follow the command they belong to).
fn enclosing(cmds: &[SimpleCommand], i: usize) -> Option<&SimpleCommand> {
    let depth = cmds[i].depth;
    cmds[..i].iter().rev().find(|c| c.depth < depth)
}

/// The program that runs the output of a substitution in `e`'s words, if `e`
/// runs it: the substitution is the command word (`$(…)`), `eval`'s argument,
/// the script of `source`/`.`/a shell (`<(…)`), or a here-string to a shell.
/// `sh -c "$(…)"` is not listed: the `-c` string is read as its own text, where
/// the substitution is the command word.
fn runs_substitution(e: &SimpleCommand, shells: &[String]) -> Option<String> {
    let first = e.words.first()?;
    if first.starts_with("$(") || first.starts_with('`') {
        return Some("sh".to_string());
    }
    let program = basename(first);
    let is_shell = shells.iter().any(|s| s == program);
    match program {
        "eval" => return Some("eval".to_string()),
        "source" | "." if e.words[1..].iter().any(|w| w.starts_with("<(")) => {
            return Some(program.to_string());
        }
        _ if is_shell => {
            let script_substituted = e.words[1..]
                .iter()
                .find(|w| !w.starts_with('-'))
                .is_some_and(|w| w.starts_with("<("));
            let here_string = e
                .redirects
                .iter()
                .any(|r| r.op == "<<<" && (r.target.contains("$(") || r.target.contains('`')));
            if script_substituted || here_string {
                return Some(program.to_string());
            }
        }
        _ => {}
    }
    None
}

/// When a substitution is the whole command word (`$(echo nohup) /tmp/x &`), what
/// it prints is only the program: the command's other words (quoted, so they stay
/// words) and its `&` follow it in the script.
fn with_command_operands(mut stream: Stream, e: &SimpleCommand) -> Stream {
    let Some(first) = e.words.first() else {
        return stream;
    };
    let one_substitution =
        (first.starts_with("$(") && first.ends_with(')') && first.matches("$(").count() == 1)
            || (first.starts_with('`') && first.ends_with('`') && first.matches('`').count() == 2);
    if !one_substitution {
        return stream;
    }
    // `$(…)` drops the output's trailing newlines; the rest is split into words.
    while stream.bytes.last().is_some_and(|b| *b == b'\n') {
        stream.bytes.pop();
    }
    for word in &e.words[1..] {
        stream.bytes.extend_from_slice(b" '");
        stream
            .bytes
            .extend_from_slice(word.replace('\'', "'\\''").as_bytes());
        stream.bytes.push(b'\'');
    }
    if e.background {
        stream.bytes.extend_from_slice(b" &");
    }
    stream.bytes.push(b'\n');
    stream
}

fn push_script(out: &mut Vec<PipedScript>, stream: Stream, runner: String) {
    if out.len() >= MAX_SCRIPTS || stream.bytes.contains(&0) {
        return;
    }
    // A binary payload is not a script this module can read.
    let Ok(text) = String::from_utf8(stream.bytes) else {
        return;
    };
    if text.trim().is_empty() {
        return;
    }
    out.push(PipedScript {
        text,
        runner,
        decoded: stream.decoded,
    });
}

/// `base64 -d` of coreutils and macOS: whitespace ignored, padding optional;
/// the URL-safe alphabet as `basenc --base64url`.
fn base64(input: &[u8]) -> Option<Vec<u8>> {
    const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD_LENIENT: GeneralPurpose =
        GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
    const URL_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    STANDARD_LENIENT
        .decode(&compact)
        .or_else(|_| URL_LENIENT.decode(&compact))
        .ok()
}

/// `base32 -d` (RFC 4648 alphabet; padding optional).
fn base32(input: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace() && *b != b'=')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    data_encoding::BASE32_NOPAD.decode(&compact).ok()
}

/// `xxd -r -p`: hex digits, whitespace ignored.
fn hex(input: &[u8]) -> Option<Vec<u8>> {
    let compact: Vec<u8> = input
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    data_encoding::HEXLOWER_PERMISSIVE.decode(&compact).ok()
}

/// gzip; `None` if it would write more than `limit` bytes.
fn gunzip(input: &[u8], limit: usize) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(input)
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .ok()?;
    (out.len() <= limit).then_some(out)
}

/// `rev`: each line's characters reversed.
fn rev(input: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(input).ok()?;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        out.extend(body.chars().rev());
        out.push_str(newline);
    }
    Some(out.into_bytes())
}

/// The escapes `printf` (its format and `%b`) and `echo -e` interpret: `\xHH`,
/// `\0NNN` and `\NNN` octal, `\n`, `\t`, `\\` and the other C escapes. `\c`
/// ends the output.
fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let digits = |from: usize, max: usize, radix: u32| -> (u32, usize) {
        let mut value = 0u32;
        let mut n = 0;
        while n < max {
            match b.get(from + n).and_then(|&c| char::from(c).to_digit(radix)) {
                Some(d) => value = value * radix + d,
                None => break,
            }
            n += 1;
        }
        (value, n)
    };
    while i < b.len() {
        if b[i] != b'\\' || i + 1 == b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let c = b[i + 1];
        i += 2;
        match c {
            b'x' => {
                let (v, n) = digits(i, 2, 16);
                if n == 0 {
                    out.extend_from_slice(b"\\x");
                } else {
                    out.push(v as u8);
                    i += n;
                }
            }
            b'0'..=b'7' => {
                // `\0NNN` (echo -e, %b) and `\NNN` (printf's format).
                let start = if c == b'0' { i } else { i - 1 };
                let (v, n) = digits(start, 3, 8);
                out.push((v & 0xff) as u8);
                i = start + n;
            }
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'v' => out.push(0x0b),
            b'e' | b'E' => out.push(0x1b),
            b'\\' => out.push(b'\\'),
            b'c' => break,
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
