//! The commands a process start really runs.
//!
//! `env X=1 nohup ./x`, `sudo -u www nohup ./x`, `busybox nohup ./x` and
//! `sh -c "nohup ./x >/dev/null 2>&1 &"` all run `nohup ./x`. This module peels
//! exec-style wrappers (by their real option syntax) and lexes shell `-c` strings,
//! and lists every command found, outermost first, so detectors match on argv and
//! not on the raw text of a log line (`grep nohup file` runs grep, not nohup).

use serde::Deserialize;

use crate::event::{ProcessOrigin, ProcessStart};
use crate::shell::{self, Redirect};
use inline::Lang;

mod argv;
mod decoding;
mod expand;
mod functions;
pub mod inline;
mod interpreter;
mod launchers;
mod name_filter;
pub mod paths;
mod piped;
mod renames;
mod targets;
mod windows;

pub use argv::{join_argv, join_argv_into};
pub use name_filter::NameFilter;
pub use targets::{
    argv_is_decoder, chmod_targets, copy_targets, dd_targets, download_targets,
    download_targets_of, install_targets, is_decoder, mode_grants_exec, redirect_targets,
    tee_targets,
};
pub use windows::{command_line_program, split_command_line};

/// Most nesting levels followed (`sh -c "sudo env nohup sh -c '…'"`).
const MAX_DEPTH: u32 = 16;
/// Most commands listed for one process start.
const MAX_COMMANDS: usize = 1_024;

/// The program lists that decide what is a wrapper and what is a shell
/// (`[commands]` in the rule data).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandRules {
    /// Programs that run their argument (`env`, `sudo`, `setsid`, `timeout` …).
    pub wrappers: Vec<String>,
    /// Shells whose `-c STRING` is lexed.
    pub shells: Vec<String>,
}

/// One command found in a process start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The command's words, program first.
    pub words: Vec<String>,
    /// Wrappers (and `nohup`) this command was found behind, outermost first.
    pub via: Vec<String>,
    /// Put in the background with `&` in the shell text it came from.
    pub background: bool,
    /// Redirections of the shell command it came from.
    pub redirects: Vec<Redirect>,
    /// Part of a pipeline with other commands.
    pub in_pipeline: bool,
    /// Found inside a shell string rather than in the exec's own argv.
    pub from_shell_text: bool,
    /// This command only starts the next one listed (a wrapper, nohup, a shell
    /// running a string): it is not a payload.
    pub runs_inner: bool,
    /// Found in a script the command line hands to a shell as data (`echo … | sh`,
    /// `bash <<< …`, `eval "$(…)"`): a shell process stands between the process
    /// start and this command.
    pub piped: bool,
    /// Found in a script the command line decodes (base64, base32, hex, gzip,
    /// `rev`, printf escapes) and hands to a shell: `echo … | base64 -d | sh`.
    pub decoded: bool,
    /// Its program word is a name the same shell text gave the program (an
    /// alias, a copy or link made before it): `words[0]` is the program put back.
    pub renamed: bool,
}

impl Invocation {
    /// The program's base name (`/usr/bin/nohup` → `nohup`).
    pub fn program(&self) -> &str {
        self.words.first().map_or("", |w| basename(w))
    }
}

/// The last path component.
pub fn basename(path: &str) -> &str {
    // A byte search from the end: called on every argv word of every exec, where
    // `rsplit('/')`'s pattern machinery cost several times the scan itself.
    // Most names are short: a plain loop beats memchr's set-up for those.
    let bytes = path.as_bytes();
    let slash = if bytes.len() <= 32 {
        bytes.iter().rposition(|&b| b == b'/')
    } else {
        memchr::memrchr(b'/', bytes)
    };
    match slash {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// The commands [`from_argv`] or [`from_shell_text`] would find in a process start,
/// as far as one literal search can tell: lets a detector skip wrapper peeling and
/// shell lexing for the common process start that cannot concern it.
///
/// Every word of every command found is an argv word (or the command text) as is, or
/// a word lexed out of a shell string in one. Lexing removes quotes and escapes and
/// nothing else, so a needle can only appear in a found word if the text contains it
/// or contains a quoting or escape character (`no''hup`, `\nohup`, `$'\x6e'ohup`).
/// [`WordPrefilter::may_match`] is therefore false only when no command found could
/// contain a needle: there is no loss of recall.
#[derive(Debug, Clone)]
pub struct WordPrefilter {
    needles: Needles,
}

/// A literal search for a few short needles, none empty, in short words (argv
/// words, a command line). An automaton call cost more than the scan of a short
/// word, and most words hold no needle: one pass over the word looks each pair of
/// adjacent bytes up in a table, and compares the needles themselves only where a
/// pair can start one. A table of first bytes alone would stop too often (`n`, `o`,
/// `b`, `p`, `t` start needles, and most words hold one of them); pairs (`no`,
/// `ba`, `py` …) are rare.
#[derive(Debug, Clone)]
struct Needles {
    /// One-byte needles.
    single: [bool; 256],
    /// The pairs `a << 8 | b` a needle can start with, as a bit set: the first two
    /// bytes of each longer needle, and every pair whose first byte is a one-byte
    /// needle.
    starts: Box<[u64; 1024]>,
    /// The longer needles, each with its first two bytes as a pair (compared
    /// first).
    long: Vec<(usize, Box<[u8]>)>,
}

impl Needles {
    fn new<'a>(patterns: impl IntoIterator<Item = &'a [u8]>) -> Self {
        let mut needles = Needles {
            single: [false; 256],
            starts: Box::new([0; 1024]),
            long: Vec::new(),
        };
        let mut add_start = |pair: usize| needles.starts[pair >> 6] |= 1 << (pair & 63);
        for p in patterns {
            match *p {
                [] => {}
                [a] => {
                    needles.single[usize::from(a)] = true;
                    (0..256).for_each(|b| add_start(usize::from(a) << 8 | b));
                }
                [a, b, ..] => {
                    let pair = usize::from(a) << 8 | usize::from(b);
                    add_start(pair);
                    needles.long.push((pair, Box::from(p)));
                }
            }
        }
        needles
    }

    /// Whether `word` contains one of the needles.
    #[inline]
    fn found_in(&self, word: &[u8]) -> bool {
        let Some((&last, _)) = word.split_last() else {
            return false;
        };
        word.windows(2).enumerate().any(|(i, w)| {
            let pair = usize::from(w[0]) << 8 | usize::from(w[1]);
            self.starts[pair >> 6] & (1 << (pair & 63)) != 0 && self.starts_here(word, i, pair)
        }) || self.single[usize::from(last)]
    }

    /// Whether a needle starts at `word[i]`, whose pair of bytes there is `pair`
    /// (one of `starts`).
    #[cold]
    fn starts_here(&self, word: &[u8], i: usize, pair: usize) -> bool {
        self.single[pair >> 8]
            || self
                .long
                .iter()
                .any(|(first, n)| *first == pair && word[i..].starts_with(n))
    }
}

/// Characters through which shell lexing can build a word the raw text does not
/// contain, and the decoders through which a piped script can (`echo … | base64 -d
/// | sh`, see [`piped`]; `printf`/`echo -e` escapes need a `\\`).
const SHELL_QUOTING: [&str; 12] = [
    "'", "\"", "\\", "$", "`", "base64", "base32", "basenc", "xxd", "openssl", "|rev", "| rev",
];

impl WordPrefilter {
    /// A prefilter for words containing any of `needles` (case-sensitively, as the
    /// program and word comparisons of the detectors are).
    pub fn new<I, S>(needles: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut patterns: Vec<String> = needles
            .into_iter()
            .map(|n| n.as_ref().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        patterns.extend(SHELL_QUOTING.iter().map(|q| q.to_string()));
        WordPrefilter {
            needles: Needles::new(patterns.iter().map(|p| p.as_bytes())),
        }
    }

    /// False when no command found in `p` can have a word containing a needle.
    pub fn may_match(&self, p: &ProcessStart) -> bool {
        let is_match = |text: &str| self.needles.found_in(text.as_bytes());
        match p.origin {
            ProcessOrigin::Exec => p.argv.iter().any(|w| is_match(w)),
            ProcessOrigin::Scheduler(_) | ProcessOrigin::CommandText => is_match(&p.command_line),
        }
    }
}

/// Launchers [`walk`] knows whatever the rule data says: nohup, `eval`, `su`, the
/// multicall binaries.
const BUILT_IN_LAUNCHERS: [&str; 5] = ["nohup", "eval", "su", "busybox", "toybox"];

/// A program [`walk`] looks behind for the command it runs: nohup, a wrapper, a
/// shell, `eval`, `su`, a multicall binary.
fn is_launcher(prog: &str, rules: &CommandRules) -> bool {
    BUILT_IN_LAUNCHERS.contains(&prog)
        || rules.shells.iter().any(|s| s == prog)
        || rules.wrappers.iter().any(|w| w == prog)
}

/// Tells from `argv[0]` alone whether [`from_argv`] can find any command but argv
/// itself (see [`Launchers::lone_program`]). Built once per detector.
#[derive(Debug, Clone)]
pub struct Launchers {
    /// The launchers' names ([`is_launcher`]) by first byte: a program is compared
    /// with the few that start like it, not with every shell and wrapper.
    by_first: Box<[Vec<Box<str>>]>,
    /// An empty name is a launcher (only if the rule data lists one).
    empty: bool,
    /// Rules out most programs before any name is compared.
    names: NameFilter,
    /// The same for the interpreters' names.
    interpreters: NameFilter,
}

impl Launchers {
    pub fn new(rules: &CommandRules) -> Self {
        let names: Vec<&str> = BUILT_IN_LAUNCHERS
            .into_iter()
            .chain(rules.shells.iter().map(String::as_str))
            .chain(rules.wrappers.iter().map(String::as_str))
            .collect();
        let mut by_first = vec![Vec::new(); 256].into_boxed_slice();
        for name in &names {
            if let Some(&b) = name.as_bytes().first() {
                by_first[usize::from(b)].push(Box::from(*name));
            }
        }
        Launchers {
            by_first,
            empty: names.iter().any(|n| n.is_empty()),
            names: NameFilter::new(names.iter().copied()),
            interpreters: NameFilter::new(inline::PROGRAMS.iter().map(|&(name, _)| name)),
        }
    }

    /// [`is_launcher`], from the names by first byte.
    fn is_launcher(&self, prog: &str) -> bool {
        if !self.names.may_equal(prog) {
            return false;
        }
        match prog.as_bytes().first() {
            Some(&b) => self.by_first[usize::from(b)].iter().any(|n| **n == *prog),
            None => self.empty,
        }
    }

    /// The program of the one command [`from_argv`] finds in `argv` when it can find
    /// no other: `argv[0]`'s base name, when that is no launcher and no interpreter
    /// whose inline code may run commands. That command's words are `argv` as it
    /// is. `None` when the walk may find more (or nothing: an empty argv).
    ///
    /// Most execs run such a program (`grep`, `ls`, `curl`): a detector looking for
    /// programs by name among the commands found needs only this name, neither the
    /// walk nor a prefilter over every argv word.
    pub fn lone_program<'a>(&self, argv: &'a [String]) -> Option<&'a str> {
        let prog = basename(argv.first()?);
        // An interpreter's name starts with one of the names (a version may follow).
        let interpreter =
            self.interpreters.may_start_with_one(prog) && Lang::of_program(prog).is_some();
        (!interpreter && !self.is_launcher(prog)).then_some(prog)
    }
}

/// Lists the commands `argv` runs, outermost first.
pub fn from_argv(argv: &[String], rules: &CommandRules) -> Vec<Invocation> {
    let mut out = Vec::new();
    let start = Invocation {
        words: Vec::new(),
        via: Vec::new(),
        background: false,
        redirects: Vec::new(),
        in_pipeline: false,
        from_shell_text: false,
        runs_inner: false,
        piped: false,
        decoded: false,
        renamed: false,
    };
    let mut budget = piped::SCRIPT_BUDGET;
    walk(argv.to_vec(), start, rules, 0, &mut budget, &mut out);
    out
}

/// Lists the commands a line of shell text runs (cron `CMD`, sudo `COMMAND=`,
/// shell history), outermost first.
pub fn from_shell_text(text: &str, rules: &CommandRules) -> Vec<Invocation> {
    let mut out = Vec::new();
    let mut budget = piped::SCRIPT_BUDGET;
    walk_shell_text(text, &[], rules, 0, &mut budget, &mut out);
    out
}

/// `budget`: the bytes scripts piped to a shell may still take (see [`piped`]).
fn walk_shell_text(
    text: &str,
    via: &[String],
    rules: &CommandRules,
    depth: u32,
    budget: &mut usize,
    out: &mut Vec<Invocation>,
) {
    let shell::Script {
        commands: cmds,
        functions,
    } = shell::parse_script(text);
    let scripts = if depth < MAX_DEPTH {
        piped::piped_scripts(&cmds, &rules.shells, budget)
    } else {
        Vec::new()
    };
    let calls = functions::Calls::new(functions, &cmds);
    let mut text_walk = TextWalk {
        via,
        rules,
        depth,
        vars: expand::Vars::default(),
        renames: renames::Renames::default(),
        calls: &calls,
    };
    for (i, cmd) in cmds.into_iter().enumerate() {
        if calls.is_deferred(i) {
            continue;
        }
        match calls.callee(i) {
            Some(f) => text_walk.call(f, cmd, 0, budget, out),
            None => text_walk.command(cmd, budget, out),
        }
        if out.len() >= MAX_COMMANDS {
            return;
        }
    }
    // What the text pipes to a shell runs after it, behind that shell.
    for script in scripts {
        let mut via = via.to_vec();
        via.push(script.runner);
        let before = out.len();
        walk_shell_text(&script.text, &via, rules, depth + 1, budget, out);
        for inv in &mut out[before..] {
            inv.piped = true;
            inv.decoded |= script.decoded;
        }
        if out.len() >= MAX_COMMANDS {
            return;
        }
    }
}

/// The commands of one shell text, walked in text order: what the text has set so
/// far (variables, renamed programs) applies to each.
struct TextWalk<'a> {
    via: &'a [String],
    rules: &'a CommandRules,
    depth: u32,
    vars: expand::Vars,
    renames: renames::Renames,
    calls: &'a functions::Calls,
}

impl TextWalk<'_> {
    fn command(
        &mut self,
        mut cmd: shell::SimpleCommand,
        budget: &mut usize,
        out: &mut Vec<Invocation>,
    ) {
        self.vars.read(&mut cmd);
        let renamed = self.renames.read(&mut cmd);
        let ctx = Invocation {
            words: Vec::new(),
            via: self.via.to_vec(),
            background: cmd.background,
            redirects: cmd.redirects,
            in_pipeline: cmd.in_pipeline,
            from_shell_text: true,
            runs_inner: false,
            piped: false,
            decoded: false,
            renamed,
        };
        walk(cmd.words, ctx, self.rules, self.depth + 1, budget, out);
    }

    /// `call` runs function `f`: its body's commands, bound to the call's
    /// arguments (the call's own variables expanded first).
    fn call(
        &mut self,
        f: usize,
        mut call: shell::SimpleCommand,
        nesting: u32,
        budget: &mut usize,
        out: &mut Vec<Invocation>,
    ) {
        self.vars.read(&mut call);
        for cmd in self.calls.bound(f, &call) {
            if out.len() >= MAX_COMMANDS {
                return;
            }
            let inner = cmd.words.first().and_then(|p| self.calls.callee_by_name(p));
            match inner {
                Some(g) if nesting < functions::MAX_NESTING => {
                    self.call(g, cmd, nesting + 1, budget, out);
                }
                _ => self.command(cmd, budget, out),
            }
        }
    }
}

fn walk(
    words: Vec<String>,
    ctx: Invocation,
    rules: &CommandRules,
    depth: u32,
    budget: &mut usize,
    out: &mut Vec<Invocation>,
) {
    if words.is_empty() || depth > MAX_DEPTH || out.len() >= MAX_COMMANDS {
        return;
    }
    let prog = basename(&words[0]).to_string();
    let mut this = ctx;
    this.words = words;
    // `python3 -c 'os.system("…")'`: what an interpreter's inline code runs.
    let code_runs = Lang::of_program(&prog)
        .and_then(|lang| {
            Some(interpreter::code_runs(
                lang,
                &inline::inline_code(lang, &this.words)?,
            ))
        })
        .filter(|runs| !runs.is_empty());
    let runs_more = code_runs.is_some() || is_launcher(&prog, rules);
    if !runs_more {
        // The common case: a program that runs nothing else; no copy needed.
        out.push(this);
        return;
    }
    let at = out.len();
    out.push(this.clone());
    let words = &this.words;
    let inner = |name: &str| {
        let mut next = this.clone();
        next.via.push(name.to_string());
        next.renamed = false;
        next
    };
    let before = out.len();
    if prog == "nohup" {
        let start = skip_options(words, 1, &[]);
        walk(
            words[start..].to_vec(),
            inner("nohup"),
            rules,
            depth + 1,
            budget,
            out,
        );
    } else if is_multicall(&prog) {
        // `busybox nohup x`, `toybox nohup x`, `busybox sh -c …`: the applet is the
        // next word.
        walk(
            words[1..].to_vec(),
            inner(&prog),
            rules,
            depth + 1,
            budget,
            out,
        );
    } else if rules.shells.contains(&prog) || prog == "su" {
        if let Some(text) = shell_c_string(words) {
            let mut via = this.via.clone();
            via.push(prog.clone());
            walk_shell_text(text, &via, rules, depth, budget, out);
        }
    } else if prog == "eval" {
        // `eval 'nohup ./x &'`: the shell runs its words, joined, as shell text.
        if let Some(text) = eval_text(words) {
            let mut via = this.via.clone();
            via.push(prog.clone());
            walk_shell_text(&text, &via, rules, depth, budget, out);
        }
    } else if let Some(text) = command_string(&prog, words) {
        // `runuser -l u -c STR`, `script -qc STR`, `flock f -c STR`: a shell string.
        let mut via = this.via.clone();
        via.push(prog.clone());
        walk_shell_text(text, &via, rules, depth, budget, out);
    } else if rules.wrappers.contains(&prog) {
        if let Some(next) = unwrap(&prog, words) {
            walk(next, inner(&prog), rules, depth + 1, budget, out);
        }
    } else if let Some(runs) = code_runs {
        // What the code runs comes behind the interpreter, which stays a program of
        // its own (it is not only a launcher).
        for run in runs {
            match run {
                interpreter::CodeRun::Shell(text) => {
                    let mut via = this.via.clone();
                    via.push(prog.clone());
                    walk_shell_text(&text, &via, rules, depth + 1, budget, out);
                }
                interpreter::CodeRun::Argv(argv) => {
                    walk(argv, inner(&prog), rules, depth + 1, budget, out);
                }
            }
            if out.len() >= MAX_COMMANDS {
                break;
            }
        }
        return;
    }
    if out.len() > before {
        out[at].runs_inner = true;
    }
}

/// The text `eval` runs: its words joined by spaces. Not when a word is a command
/// substitution: what that prints is followed as a piped script (see [`piped`]).
fn eval_text(words: &[String]) -> Option<String> {
    let args = words.get(1..).filter(|a| !a.is_empty())?;
    if args.iter().any(|w| w.contains("$(") || w.contains('`')) {
        return None;
    }
    Some(args.join(" "))
}

/// Programs that are many programs, the first operand naming which.
fn is_multicall(prog: &str) -> bool {
    prog == "busybox" || prog == "toybox"
}

/// The shell string a launcher passes to `sh -c` (`runuser -c`, `script -c`,
/// `flock FILE -c`), by the launcher's own option syntax.
fn command_string<'a>(prog: &str, words: &'a [String]) -> Option<&'a str> {
    let long = |w: &'a str| w.strip_prefix("--command=");
    match prog {
        "runuser" | "script" => {
            let mut i = 1;
            while i < words.len() {
                let w = words[i].as_str();
                if let Some(rest) = long(w) {
                    return Some(rest);
                }
                if w == "--command" || w == "-c" {
                    return words.get(i + 1).map(String::as_str);
                }
                // `script -qc STR`: combined short flags ending in c.
                if w.starts_with('-') && !w.starts_with("--") && w.ends_with('c') {
                    return words.get(i + 1).map(String::as_str);
                }
                if w == "--" {
                    return None;
                }
                i += 1;
            }
            None
        }
        "flock" => {
            let i = skip_options(words, 1, &["-w", "--timeout", "-E", "--conflict-exit-code"]) + 1;
            match words.get(i).map(String::as_str) {
                Some("-c") | Some("--command") => words.get(i + 1).map(String::as_str),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The string a shell runs with `-c` (`sh -c STR`, `bash -lc STR`, `su - u -c STR`).
fn shell_c_string(words: &[String]) -> Option<&str> {
    let mut i = 1;
    let mut want_string = false;
    while i < words.len() {
        let w = words[i].as_str();
        if want_string {
            return Some(w);
        }
        if w == "--command" || (w.starts_with('-') && !w.starts_with("--") && w[1..].contains('c'))
        {
            if let Some(rest) = w.strip_prefix("--command=") {
                return Some(rest);
            }
            want_string = true;
        } else if let Some(rest) = w.strip_prefix("--command=") {
            return Some(rest);
        } else if w == "-o" || w == "+o" || w == "-O" || w == "+O" {
            // `bash -o pipefail -c …`: the option's argument is not the string.
            i += 1;
        }
        i += 1;
    }
    None
}

/// Skips options starting at `i`: flags, `--`, and the options in `with_arg` that
/// take the next word as their argument. Returns the index of the first operand.
fn skip_options(words: &[String], mut i: usize, with_arg: &[&str]) -> usize {
    while i < words.len() {
        let w = words[i].as_str();
        if w == "--" {
            return i + 1;
        }
        if !w.starts_with('-') || w == "-" {
            return i;
        }
        if with_arg.contains(&w) || takes_next_word(w, with_arg) {
            i += 1;
        }
        i += 1;
    }
    i
}

/// A cluster of short flags whose first value-taking option is its last letter
/// (`sudo -Eu www nohup x`: `-u`'s value is the next word); one earlier in the
/// cluster takes the rest of the word instead (`ionice -c3`).
fn takes_next_word(w: &str, with_arg: &[&str]) -> bool {
    if w.starts_with("--") || w.len() < 3 || !w.is_ascii() {
        return false;
    }
    let letters = &w.as_bytes()[1..];
    letters
        .iter()
        .position(|&c| {
            with_arg
                .iter()
                .any(|o| o.len() == 2 && o.as_bytes() == [b'-', c])
        })
        .is_some_and(|at| at + 1 == letters.len())
}

/// The command a wrapper runs, by the wrapper's own option syntax; `None` when it
/// runs none (`env` alone prints the environment).
fn unwrap(prog: &str, words: &[String]) -> Option<Vec<String>> {
    let rest = |i: usize| -> Option<Vec<String>> { (i < words.len()).then(|| words[i..].to_vec()) };
    match prog {
        "env" => {
            let mut i = 1;
            while i < words.len() {
                let w = words[i].as_str();
                if w == "--" {
                    i += 1;
                    break;
                }
                if w == "-S" || w == "--split-string" {
                    // `env -S "nohup ./x"`: the string is split into words.
                    let mut split = shell::split_words(words.get(i + 1)?);
                    split.extend_from_slice(&words[(i + 2).min(words.len())..]);
                    return Some(split).filter(|s| !s.is_empty());
                }
                if let Some(s) = w
                    .strip_prefix("--split-string=")
                    .or_else(|| w.strip_prefix("-S"))
                {
                    let mut split = shell::split_words(s);
                    split.extend_from_slice(&words[i + 1..]);
                    return Some(split).filter(|s| !s.is_empty());
                }
                if matches!(w, "-u" | "--unset" | "-C" | "--chdir") {
                    i += 2;
                    continue;
                }
                if w.starts_with('-') || is_assignment(w) {
                    i += 1;
                    continue;
                }
                break;
            }
            rest(i)
        }
        "sudo" => rest(skip_options(
            words,
            1,
            &[
                "-u",
                "-g",
                "-C",
                "-D",
                "-h",
                "-p",
                "-r",
                "-t",
                "-T",
                "-U",
                "-R",
                "--user",
                "--group",
                "--chdir",
                "--host",
                "--prompt",
                "--role",
                "--type",
                "--other-user",
                "--chroot",
                "--close-from",
                "--command-timeout",
            ],
        )),
        "doas" => rest(skip_options(words, 1, &["-u", "-C"])),
        "runuser" => rest(skip_options(
            words,
            1,
            &["-u", "-g", "-G", "--user", "--group", "--supp-group"],
        )),
        "nice" => rest(skip_options(words, 1, &["-n", "--adjustment"])),
        "ionice" => rest(skip_options(
            words,
            1,
            &["-c", "-n", "--class", "--classdata"],
        )),
        "stdbuf" => rest(skip_options(
            words,
            1,
            &["-i", "-o", "-e", "--input", "--output", "--error"],
        )),
        "timeout" => rest(skip_options(words, 1, &["-k", "-s", "--kill-after", "--signal"]) + 1),
        "chrt" => rest(skip_options(words, 1, &[]) + 1),
        "taskset" => rest(skip_options(words, 1, &[]) + 1),
        "chroot" => rest(skip_options(words, 1, &["--userspec", "--groups"]) + 1),
        "flock" => {
            rest(skip_options(words, 1, &["-w", "--timeout", "-E", "--conflict-exit-code"]) + 1)
        }
        "xargs" => rest(skip_options(
            words,
            1,
            &[
                "-a",
                "-d",
                "-E",
                "-I",
                "-L",
                "-n",
                "-P",
                "-s",
                "--arg-file",
                "--delimiter",
                "--max-lines",
                "--max-args",
                "--max-procs",
                "--max-chars",
                "--process-slot-var",
            ],
        )),
        "find" => {
            // `find … -exec CMD {} ;`: the words up to `;` or `+`.
            let i = words
                .iter()
                .position(|w| matches!(w.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))?
                + 1;
            let end = words[i..]
                .iter()
                .position(|w| w == ";" || w == "+")
                .map_or(words.len(), |e| i + e);
            (i < end).then(|| words[i..end].to_vec())
        }
        "unshare" => rest(skip_options(
            words,
            1,
            &[
                "--propagation",
                "-S",
                "--setuid",
                "-G",
                "--setgid",
                "-R",
                "--root",
                "-w",
                "--wd",
                "--map-user",
                "--map-group",
                "--map-users",
                "--map-groups",
            ],
        )),
        "nsenter" => rest(skip_options(
            words,
            1,
            &[
                "-t", "--target", "-S", "--setuid", "-G", "--setgid", "--env",
            ],
        )),
        "systemd-run" => rest(skip_options(
            words,
            1,
            &[
                "-u",
                "--unit",
                "-p",
                "--property",
                "--description",
                "--slice",
                "-E",
                "--setenv",
                "--uid",
                "--gid",
                "--nice",
                "-M",
                "--machine",
                "-H",
                "--host",
                "--working-directory",
                "--on-active",
                "--on-boot",
                "--on-startup",
                "--on-unit-active",
                "--on-unit-inactive",
                "--on-calendar",
                "--timer-property",
                "--path-property",
                "--socket-property",
                "--service-type",
                "--slice-inherit",
            ],
        )),
        "start-stop-daemon" => {
            // `--exec PATH` (or `--startas PATH`) names the program; its arguments
            // follow `--`.
            let mut program = None;
            let mut i = 1;
            while i < words.len() {
                let w = words[i].as_str();
                if w == "--" {
                    break;
                }
                for (short, long) in [("-a", "--startas"), ("-x", "--exec")] {
                    if w == short || w == long {
                        if long == "--startas" || program.is_none() {
                            program = words.get(i + 1).cloned();
                        }
                    } else if let Some(v) = w.strip_prefix(&format!("{long}=")) {
                        if long == "--startas" || program.is_none() {
                            program = Some(v.to_string());
                        }
                    }
                }
                i += 1;
            }
            let mut argv = vec![program?];
            argv.extend_from_slice(&words[(i + 1).min(words.len())..]);
            Some(argv)
        }
        // Only `script -c STR` runs a command (see `command_string`).
        "script" => None,
        // `watch -n 60 CMD…`: the operands joined by spaces are run by `sh -c`
        // (as given with `-x`/`--exec`).
        "watch" => {
            let i = skip_options(words, 1, &["-n", "--interval", "-q", "--equexit"]);
            let operands = words.get(i..).filter(|o| !o.is_empty())?;
            if words[1..i].iter().any(|w| w == "-x" || w == "--exec") {
                return Some(operands.to_vec());
            }
            Some(vec!["sh".to_string(), "-c".to_string(), operands.join(" ")])
        }
        "daemonize" => rest(skip_options(
            words,
            1,
            &["-c", "-e", "-E", "-l", "-o", "-p", "-u"],
        )),
        "time" => rest(skip_options(
            words,
            1,
            &["-f", "-o", "--format", "--output"],
        )),
        "exec" => rest(skip_options(words, 1, &["-a"])),
        "screen" => launchers::screen(words),
        "tmux" => launchers::tmux(words),
        "ssh" => launchers::ssh(words),
        "proxychains" | "proxychains4" => rest(skip_options(words, 1, &["-f"])),
        "caffeinate" => rest(skip_options(words, 1, &["-t", "-w"])),
        // `command`, `builtin`, `setsid`, `unbuffer`, `torsocks`, and any wrapper the
        // rule data adds: flags, then the command.
        _ => rest(skip_options(words, 1, &[])),
    }
}

/// `NAME=value`, as in `env X=1 cmd`.
fn is_assignment(w: &str) -> bool {
    match w.find('=') {
        Some(i) if i > 0 => w[..i]
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_'),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::Rules;
    use aho_corasick::AhoCorasick;

    fn rules() -> CommandRules {
        Rules::embedded().section("commands").unwrap()
    }

    fn argv(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_function_runs_where_it_is_called_with_the_calls_arguments() {
        let found = |text: &str| -> Vec<(Vec<String>, bool)> {
            from_shell_text(text, &rules())
                .into_iter()
                .map(|i| (i.words, i.background))
                .collect()
        };
        let nohup = |words: &[&str]| (argv(words), true);
        assert_eq!(
            found(r#"bash -c 'bg() { nohup "$@" >/dev/null 2>&1 & }; bg /tmp/.x/m -o p'"#),
            [
                (
                    argv(&[
                        "bash",
                        "-c",
                        r#"bg() { nohup "$@" >/dev/null 2>&1 & }; bg /tmp/.x/m -o p"#
                    ]),
                    false
                ),
                nohup(&["nohup", "/tmp/.x/m", "-o", "p"]),
                nohup(&["/tmp/.x/m", "-o", "p"]),
            ]
        );
        // The call's `&`; a call in a function called later; variables of the call.
        assert_eq!(
            found(r#"f(){ g "$1"; }; g(){ nohup "$1"; }; P=/dev/shm/k; f "$P" &"#),
            [nohup(&["nohup", "/dev/shm/k"]), nohup(&["/dev/shm/k"])]
        );
        // Not called: as written.
        assert_eq!(
            found(r#"f(){ nohup "$@" & }; echo hi"#),
            [
                nohup(&["nohup", "$@"]),
                nohup(&["$@"]),
                (argv(&["echo", "hi"]), false)
            ]
        );
    }

    /// A process start of `argv`, as an exec.
    fn exec(words: &[&str]) -> ProcessStart {
        ProcessStart::test_exec(words, 1, 0)
    }

    #[test]
    fn needles_are_found_exactly_where_an_automaton_finds_them() {
        // The needles of both detectors' prefilters, words built from their pieces.
        let needles = [
            "nohup", "trap", "python", "perl", "ruby", "node", "php", "'", "\"", "\\", "$", "`",
            "base64", "xxd", "openssl", "|rev", "| rev",
        ];
        let filter = WordPrefilter::new(needles);
        let oracle = AhoCorasick::new(needles).unwrap();
        let pieces = [
            "no", "hup", "n", "o", "h", "u", "p", "tr", "ap", "py", "th", "on", "pe", "rl", "|",
            " ", "r", "ev", "ba", "se", "64", "x", "d", "'", "\"", "\\", "$", "`", "é", "/",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x9a1d_5eed);
        let (mut found, mut refused) = (0, 0);
        for _ in 0..100_000 {
            let n = rng.below(6);
            let word: String = (0..n).map(|_| pieces[rng.below(pieces.len())]).collect();
            let is_match = oracle.is_match(&word);
            assert_eq!(
                filter.needles.found_in(word.as_bytes()),
                is_match,
                "{word:?}"
            );
            found += usize::from(is_match);
            refused += usize::from(!is_match);
        }
        // Both sides are exercised.
        assert!(found > 10_000 && refused > 10_000, "{found} {refused}");
        let n = &filter.needles;
        // A one-byte needle alone, first, last; a needle at the end, and one
        // after a false start of the same pair.
        assert!(n.found_in(b"$") && n.found_in(b"$ab") && n.found_in(b"ab`"));
        assert!(n.found_in(b"xyznohup") && n.found_in(b"ppython") && n.found_in(b"nonohup"));
        // A pair that starts a needle, the needle not there; nothing at all.
        assert!(!n.found_in(b"xyzno") && !n.found_in(b"ppy") && !n.found_in(b"nohu"));
        assert!(!n.found_in(b"") && !n.found_in(b"/usr/bin/ls") && !n.found_in(b"-l"));
    }

    #[test]
    fn word_prefilter_never_refuses_what_peeling_and_lexing_would_find() {
        let r = rules();
        let filter = WordPrefilter::new(["nohup"]);
        let finds_nohup = |words: &[&str]| {
            from_argv(&argv(words), &r)
                .iter()
                .any(|i| i.program() == "nohup")
        };
        // Found by peeling or lexing: the prefilter must let each through.
        for words in [
            &["nohup", "./x"][..],
            &["env", "X=1", "/usr/bin/nohup", "./x"],
            &["sh", "-c", "nohup ./x &"],
            &["sh", "-c", "no''hup ./x &"],
            &["sh", "-c", "\\nohup ./x"],
            &["bash", "-c", "\"no\"hup ./x"],
        ] {
            assert!(finds_nohup(words), "{words:?} runs nohup");
            assert!(filter.may_match(&exec(words)), "{words:?} passes");
        }
        // Neither the needle nor quoting: refused, and indeed nothing to find.
        for words in [&["ls", "-la", "/tmp"][..], &["sh", "-c", "cd /tmp && make"]] {
            assert!(!finds_nohup(words));
            assert!(!filter.may_match(&exec(words)), "{words:?} is skipped");
        }
        // Shell text (cron, sudo) is searched as text.
        let mut cron = exec(&[]);
        cron.origin = ProcessOrigin::Scheduler("cron".into());
        cron.command_line = "cd /x && ./run.sh".into();
        assert!(!filter.may_match(&cron));
        cron.command_line = "n'o'hup ./run.sh".into();
        assert!(filter.may_match(&cron));
    }

    #[test]
    fn a_lone_program_is_the_only_command_the_walk_finds() {
        let r = rules();
        let launchers = Launchers::new(&r);
        let mut names: Vec<String> = BUILT_IN_LAUNCHERS.map(String::from).to_vec();
        names.extend(r.shells.iter().cloned());
        names.extend(r.wrappers.iter().cloned());
        names.extend(inline::PROGRAMS.iter().map(|(n, _)| n.to_string()));
        // Near misses: same first byte, same length, a version, a path, other cases.
        names.extend(
            [
                "grep",
                "sleep",
                "cat",
                "csh2",
                "date",
                "dash",
                "curl",
                "chrt",
                "awk",
                "ash",
                "python3",
                "python3.11",
                "perl5.36",
                "php-cli8",
                "php8.2",
                "node18",
                "Bash",
                "SH",
                "",
                "/",
                "x/",
                "3",
                "pythonx",
                "nohupx",
                "s",
                "-c",
                "é",
                "busybox1",
            ]
            .map(String::from),
        );
        let words = [
            &["-c", "nohup ./x &"][..],
            &["X=1", "nohup", "./x"],
            &["-c", "import os; os.system('nohup ./x &')"],
            &["-e", "system(\"nohup ./x &\")"],
            &["nohup", "sh", "-c", "trap '' HUP; ./x"],
            &[],
        ];
        for name in &names {
            for prefix in ["", "/usr/bin/", "./"] {
                for rest in words {
                    let mut argv = vec![format!("{prefix}{name}")];
                    argv.extend(rest.iter().map(|w| w.to_string()));
                    let found = from_argv(&argv, &r);
                    let prog = basename(&argv[0]);
                    let launcher = is_launcher(prog, &r) || Lang::of_program(prog).is_some();
                    match launchers.lone_program(&argv) {
                        Some(p) => {
                            assert!(!launcher, "{argv:?}");
                            assert_eq!(p, prog);
                            assert_eq!(found.len(), 1, "{argv:?}: {found:?}");
                            assert_eq!(found[0].words, argv);
                            assert!(found[0].via.is_empty() && !found[0].runs_inner);
                        }
                        None => assert!(launcher, "{argv:?} is no launcher"),
                    }
                }
            }
        }
        assert_eq!(launchers.lone_program(&[]), None);
    }

    fn programs(inv: &[Invocation]) -> Vec<String> {
        inv.iter().map(|i| i.words.join(" ")).collect()
    }

    #[test]
    fn peels_wrappers_by_their_option_syntax() {
        let r = rules();
        let cases: &[(&[&str], &str)] = &[
            (
                &["env", "-i", "X=1", "-u", "HOME", "nohup", "./x"],
                "nohup ./x",
            ),
            (
                &["sudo", "-u", "www-data", "-E", "nohup", "./x"],
                "nohup ./x",
            ),
            (
                &["timeout", "-s", "KILL", "10", "nohup", "./x"],
                "nohup ./x",
            ),
            (
                &["nice", "-n", "10", "ionice", "-c", "3", "nohup", "./x"],
                "nohup ./x",
            ),
            (
                &["stdbuf", "-oL", "setsid", "-f", "nohup", "./x"],
                "nohup ./x",
            ),
            (&["busybox", "nohup", "./x"], "nohup ./x"),
            (&["env", "-S", "nohup ./x y"], "nohup ./x y"),
            (&["taskset", "-c", "0", "nohup", "./x"], "nohup ./x"),
            (&["watch", "-n", "60", "nohup", "./x"], "nohup ./x"),
            (&["watch", "-n", "5", "nohup ./x >/dev/null &"], "nohup ./x"),
            (&["watch", "-x", "-t", "nohup", "./x"], "nohup ./x"),
        ];
        for (input, want) in cases {
            let found = programs(&from_argv(&argv(input), &r));
            assert!(found.iter().any(|f| f == want), "{input:?} -> {found:?}");
        }
    }

    #[test]
    fn lexes_shell_strings() {
        let r = rules();
        let inv = from_argv(
            &argv(&["sh", "-c", "cd /tmp; nohup ./x >/dev/null 2>&1 &"]),
            &r,
        );
        let nohup = inv.iter().find(|i| i.program() == "nohup").unwrap();
        assert!(nohup.background && nohup.from_shell_text);
        assert_eq!(nohup.redirects.len(), 2);
        assert_eq!(nohup.via, ["sh"]);
        let target = inv.iter().find(|i| i.words == ["./x"]).unwrap();
        assert_eq!(target.via, ["sh", "nohup"]);
        assert!(
            target.background,
            "the nohup'd program inherits the background flag"
        );

        let inv = from_argv(&argv(&["bash", "-lc", "sudo nohup /tmp/a"]), &r);
        assert!(programs(&inv).contains(&"nohup /tmp/a".to_string()));
    }

    #[test]
    fn does_not_see_commands_in_data() {
        let r = rules();
        for input in [
            &["grep", "nohup", "file"][..],
            &["echo", "nohup", "./x"],
            &["sh", "-c", "echo 'nohup ./x &'"],
            &["env"],
        ] {
            let inv = from_argv(&argv(input), &r);
            assert!(!inv.iter().any(|i| i.program() == "nohup"), "{input:?}");
        }
    }

    #[test]
    fn finds_what_an_interpreters_inline_code_runs() {
        let r = rules();
        for input in [
            &["python3", "-c", "import os; os.system('nohup /tmp/.a &')"][..],
            &["perl", "-e", "system('nohup', '/tmp/.a')"],
            &["sudo", "php", "-r", "shell_exec('nohup /tmp/.a &');"],
        ] {
            let inv = from_argv(&argv(input), &r);
            let nohup = inv.iter().find(|i| i.program() == "nohup");
            let nohup = nohup.unwrap_or_else(|| panic!("{input:?}: {inv:?}"));
            assert_eq!(nohup.words, ["nohup", "/tmp/.a"], "{input:?}");
            // The interpreter is listed too, and stays a program (not only a launcher).
            let interpreter = inv
                .iter()
                .find(|i| matches!(i.program(), "python3" | "perl" | "php"));
            assert!(
                interpreter.is_some_and(|i| !i.runs_inner),
                "{input:?}: {inv:?}"
            );
        }
        // Code that only prints or stores the text runs nothing.
        for input in [
            &["python3", "-c", "print('os.system(\"nohup /tmp/.a\")')"][..],
            &[
                "python3",
                "/srv/app.py",
                "-c",
                "import os; os.system('nohup /tmp/.a')",
            ],
        ] {
            let inv = from_argv(&argv(input), &r);
            assert!(
                !inv.iter().any(|i| i.program() == "nohup"),
                "{input:?}: {inv:?}"
            );
        }
    }

    #[test]
    fn eval_runs_its_words_as_shell_text() {
        let r = rules();
        for text in [
            "eval 'nohup /tmp/.a &'",
            "eval nohup /tmp/.a '&'",
            "eval \"sleep 1; nohup /tmp/.a &\"",
            "X=1 eval 'eval \"nohup /tmp/.a &\"'",
        ] {
            let inv = from_shell_text(text, &r);
            let nohup = inv.iter().find(|i| i.program() == "nohup");
            let nohup = nohup.unwrap_or_else(|| panic!("{text}: {inv:?}"));
            assert_eq!(nohup.words, ["nohup", "/tmp/.a"], "{text}");
            assert!(
                nohup.background && nohup.via.contains(&"eval".to_string()),
                "{text}"
            );
        }
        // Words that only mention nohup, and eval of a substitution (read as a
        // piped script instead, once), are not a nohup run by eval.
        for text in ["eval echo nohup", "eval", "echo eval nohup /tmp/.a"] {
            let inv = from_shell_text(text, &r);
            assert!(
                !inv.iter().any(|i| i.program() == "nohup"),
                "{text}: {inv:?}"
            );
        }
        let inv = from_shell_text("eval \"$(echo 'nohup /tmp/.a &')\"", &r);
        assert_eq!(
            inv.iter().filter(|i| i.program() == "nohup").count(),
            1,
            "{inv:?}"
        );
    }
}
