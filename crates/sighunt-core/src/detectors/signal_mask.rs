//! `signal_mask`: a command line tells an interpreter or a shell to ignore signals,
//! so that the program it runs survives a hang-up, Ctrl-C or `kill` (the seed's test 3;
//! BPFDoor and BOLDMOVE do the same in C).
//!
//! Commands are found in argv, behind wrappers, nohup and inside `sh -c` strings
//! (see [`crate::command`]); the inline code of Python (`-c`), Perl (`-e`), Ruby
//! (`-e`) and Node (`-e`) is read for the calls that set a signal's disposition to
//! "ignore", and shell `trap` commands for an empty or no-op action. Every signal
//! masked fires an indicator of its own (`ignores_sigterm` …), so the finding says
//! which. A real handler (`trap 'cleanup' EXIT`, `signal.signal(SIGTERM, on_term)`)
//! is not masking and is not reported; neither is resetting (`trap - TERM`,
//! `SIG_DFL`) or merely naming a signal (`print(signal.SIGHUP)`).

use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use regex::Regex;
use serde::Deserialize;

use crate::command::inline::{Lang, inline_code};
use crate::command::paths::{Places, StagingRules};
use crate::command::{self, CommandRules, Launchers, NameFilter, WordPrefilter, basename};
use crate::detectors::nohup::DETACHERS;
use crate::detectors::{Detector, FindingId, Findings};
use crate::event::{Event, ProcessOrigin, ProcessStart};
use crate::finding::{DetectionType, Finding, Severity};
use crate::rules::{IndicatorRule, Rules, RulesError, Scorer, de_severity};

/// `[signal_mask]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalMaskRules {
    #[serde(deserialize_with = "de_severity")]
    pub base_severity: Severity,
    pub python: Vec<String>,
    pub perl: Vec<String>,
    pub ruby: Vec<String>,
    pub node: Vec<String>,
    /// PHP CLI names (`php -r CODE`); absent in rule files older than this field.
    #[serde(default)]
    pub php: Vec<String>,
    pub many_signals: usize,
    pub temp_dirs: Vec<String>,
    pub indicators: Vec<IndicatorRule>,
}

/// Signal numbers and names (Linux x86/ARM numbering; HUP, INT, QUIT, KILL, PIPE,
/// ALRM and TERM are the same on macOS and every POSIX system).
pub const SIGNALS: [(u32, &str); 31] = [
    (1, "HUP"),
    (2, "INT"),
    (3, "QUIT"),
    (4, "ILL"),
    (5, "TRAP"),
    (6, "ABRT"),
    (7, "BUS"),
    (8, "FPE"),
    (9, "KILL"),
    (10, "USR1"),
    (11, "SEGV"),
    (12, "USR2"),
    (13, "PIPE"),
    (14, "ALRM"),
    (15, "TERM"),
    (16, "STKFLT"),
    (17, "CHLD"),
    (18, "CONT"),
    (19, "STOP"),
    (20, "TSTP"),
    (21, "TTIN"),
    (22, "TTOU"),
    (23, "URG"),
    (24, "XCPU"),
    (25, "XFSZ"),
    (26, "VTALRM"),
    (27, "PROF"),
    (28, "WINCH"),
    (29, "IO"),
    (30, "PWR"),
    (31, "SYS"),
];

/// The name of signal `n` (`15` → `TERM`).
pub fn signal_name(n: u32) -> Option<&'static str> {
    SIGNALS
        .iter()
        .find(|(num, _)| *num == n)
        .map(|(_, name)| *name)
}

/// The number of a signal name, with or without `SIG`, in any case (`sigterm`,
/// `TERM`, `SIGCLD`); `None` for pseudo-signals (`EXIT`, `ERR`) and unknown names.
pub fn signal_number(name: &str) -> Option<u32> {
    let upper = name.trim().to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    let bare = match bare {
        "IOT" => "ABRT",
        "CLD" => "CHLD",
        "POLL" => "IO",
        other => other,
    };
    SIGNALS
        .iter()
        .find(|(_, n)| *n == bare)
        .map(|(num, _)| *num)
}

/// The indicator fired when signal `n` is masked (`ignores_sigterm`).
pub fn indicator_name(n: u32) -> Option<String> {
    signal_name(n).map(|name| format!("ignores_sig{}", name.to_ascii_lowercase()))
}

/// How long a finding is remembered for merging with the exec it leads to.
const MERGE_WINDOW_MS: i64 = 10_000;
/// How many findings are remembered for merging.
const MERGE_MEMORY: usize = 1_024;
/// Longest inline program text analysed (attacker-controlled; regexes are linear).
const MAX_CODE_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct SignalMaskDetector {
    rules: SignalMaskRules,
    commands: CommandRules,
    /// Process starts with no `trap` and no interpreter skip the command analysis.
    prefilter: WordPrefilter,
    /// Tells the execs whose only command is argv itself.
    launchers: Launchers,
    /// Rules out, from the first byte, a program that is no interpreter.
    interpreter_names: NameFilter,
    scorer: Scorer,
    recent: VecDeque<Recent>,
    /// How many of `recent` are `piped`: when none, no process start is looked up.
    piped_recent: usize,
    /// Staging areas ([staging]) where what runs after the masking is a payload.
    places: Places,
}

/// A finding already made, kept to merge the same masking seen again one exec
/// further down (`nohup python3 -c …` then `python3 -c …`).
#[derive(Clone)]
struct Recent {
    host: String,
    pid: u32,
    time: Option<DateTime<Utc>>,
    key: String,
    id: FindingId,
    /// Found behind a service manager's launcher: what it leads to is pid 1's child.
    detached: bool,
    /// Found in a script piped to a shell (`echo … | base64 -d | sh`): that shell, a
    /// child of this process, stands before the masking exec.
    piped: bool,
}

/// What one command masks.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Masking {
    /// Signal numbers set to be ignored (or blocked).
    pub signals: BTreeSet<u32>,
    /// A signal given by a variable that could not be resolved was ignored.
    pub unresolved: bool,
    /// Done through libc via ctypes.
    pub libc: bool,
    /// Paths the masked program runs from (exec'd after the masking).
    pub payload_paths: Vec<String>,
}

/// The masking found in one process start.
struct Analysis {
    /// The program that masks (the interpreter, or the shell running `trap`).
    exec_cmd: String,
    masking: Masking,
    /// Found behind nohup.
    with_nohup: bool,
    /// Found behind `systemd-run`, `start-stop-daemon` or `daemonize`.
    detached: bool,
    /// Found in a script piped to a shell.
    piped: bool,
    /// The masking command's arguments: the same launch seen again has the same.
    key: String,
}

impl Masking {
    fn is_empty(&self) -> bool {
        self.signals.is_empty() && !self.unresolved
    }

    fn merge(&mut self, other: Masking) {
        self.signals.extend(other.signals);
        self.unresolved |= other.unresolved;
        self.libc |= other.libc;
        self.payload_paths.extend(other.payload_paths);
    }
}

impl SignalMaskDetector {
    pub fn new(rules: &Rules) -> Result<Self, RulesError> {
        let own: SignalMaskRules = rules.section("signal_mask")?;
        let commands: CommandRules = rules.section("commands")?;
        let scorer = Scorer::new(own.indicators.clone(), own.base_severity, rules);
        // Masking is found in a `trap` command or in an interpreter's inline code.
        let prefilter = WordPrefilter::new(
            std::iter::once(&"trap".to_string())
                .chain(&own.python)
                .chain(&own.perl)
                .chain(&own.ruby)
                .chain(&own.node)
                .chain(&own.php),
        );
        let places = Places::new(&rules.section::<StagingRules>("staging")?)?;
        let interpreter_names = NameFilter::new(
            own.python
                .iter()
                .chain(&own.perl)
                .chain(&own.ruby)
                .chain(&own.node)
                .chain(&own.php)
                .map(String::as_str),
        );
        Ok(SignalMaskDetector {
            rules: own,
            launchers: Launchers::new(&commands),
            commands,
            prefilter,
            interpreter_names,
            scorer,
            recent: VecDeque::new(),
            piped_recent: 0,
            places,
        })
    }

    fn lang_of(&self, prog: &str) -> Option<Lang> {
        // Most programs start with no interpreter's first byte.
        if !self.interpreter_names.may_start_with_one(prog) {
            return None;
        }
        let matches = |list: &[String]| {
            list.iter().any(|i| {
                prog == i
                    || (prog.starts_with(i.as_str())
                        && prog[i.len()..]
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == '.'))
            })
        };
        if matches(&self.rules.python) {
            Some(Lang::Python)
        } else if matches(&self.rules.perl) {
            Some(Lang::Perl)
        } else if matches(&self.rules.ruby) {
            Some(Lang::Ruby)
        } else if matches(&self.rules.node) {
            Some(Lang::Node)
        } else if matches(&self.rules.php) {
            Some(Lang::Php)
        } else {
            None
        }
    }

    /// What the commands of one process start mask; `None` when nothing.
    fn analyse(&self, p: &ProcessStart) -> Option<Analysis> {
        // A renamed interpreter is known by its image, which the prefilter does not see.
        let interpreter_image = || {
            p.exe
                .as_deref()
                .is_some_and(|exe| self.lang_of(basename(exe)).is_some())
        };
        // An exec of a lone program (no launcher, see `command::Launchers`) masks
        // only if it is `trap` or an interpreter: argv's words need no search.
        let may_mask = match p.origin {
            ProcessOrigin::Exec => match self.launchers.lone_program(&p.argv) {
                Some(prog) => prog == "trap" || self.lang_of(prog).is_some(),
                None => self.prefilter.may_match(p),
            },
            _ => self.prefilter.may_match(p),
        };
        if !may_mask && !interpreter_image() {
            return None;
        }
        let invocations = match p.origin {
            ProcessOrigin::Exec => command::from_argv(&p.argv, &self.commands),
            ProcessOrigin::Scheduler(_) | ProcessOrigin::CommandText => {
                command::from_shell_text(&p.command_line, &self.commands)
            }
        };
        let mut total = Masking::default();
        let mut exec_cmd: Option<String> = None;
        let mut with_nohup = false;
        let mut detached = false;
        let mut piped = false;
        let mut key = String::new();
        for (i, inv) in invocations.iter().enumerate() {
            let masking = if inv.program() == "trap" {
                let mut m = shell_trap(&inv.words[1..]);
                if !m.is_empty() {
                    // What the shell runs after the trap inherits the ignored signals.
                    m.payload_paths.extend(
                        invocations[i + 1..]
                            .iter()
                            .filter(|later| later.via.starts_with(&inv.via))
                            .filter_map(|later| later.words.first().cloned()),
                    );
                }
                m
            } else {
                // An `exec -a NAME` or renamed interpreter: the image tells the language
                // when argv[0] does not (for the exec's own argv only).
                let lang = self.lang_of(inv.program()).or_else(|| {
                    (i == 0 && p.origin == ProcessOrigin::Exec)
                        .then(|| p.exe.as_deref().map(basename))
                        .flatten()
                        .and_then(|exe| self.lang_of(exe))
                });
                let Some(lang) = lang else { continue };
                let Some(code) = inline_code(lang, &inv.words) else {
                    continue;
                };
                let code = clamp(&code, MAX_CODE_BYTES);
                let mut m = match lang {
                    Lang::Python => python(code),
                    Lang::Perl => perl(code),
                    Lang::Ruby => ruby(code),
                    Lang::Node => node(code),
                    Lang::Php => php(code),
                };
                if !m.is_empty() && EXECS.on(code).is_match(code) {
                    m.payload_paths.extend(quoted_paths(code));
                }
                m
            };
            if masking.is_empty() {
                continue;
            }
            if exec_cmd.is_none() {
                exec_cmd = Some(if inv.program() == "trap" {
                    inv.via
                        .last()
                        .cloned()
                        .unwrap_or_else(|| "trap".to_string())
                } else {
                    inv.words[0].clone()
                });
            }
            with_nohup |= inv.via.iter().any(|v| v == "nohup");
            detached |= inv.via.iter().any(|v| DETACHERS.contains(&v.as_str()));
            piped |= inv.piped;
            // The masking command's arguments identify the launch: the nohup exec and
            // the interpreter exec it leads to carry the same ones.
            key = inv.words[1..].join("\u{1f}");
            total.merge(masking);
        }
        exec_cmd.map(|exec_cmd| Analysis {
            exec_cmd,
            masking: total,
            with_nohup,
            detached,
            piped,
            key,
        })
    }

    fn indicators(&self, m: &Masking, with_nohup: bool) -> Vec<String> {
        let mut fired: Vec<String> = m
            .signals
            .iter()
            .filter_map(|&n| indicator_name(n))
            .collect();
        if m.unresolved {
            fired.push("ignores_unresolved_signals".into());
        }
        if m.signals.len() >= self.rules.many_signals {
            fired.push("many_signals".into());
        }
        if m.libc {
            fired.push("libc_signal_call".into());
        }
        if with_nohup {
            fired.push("with_nohup".into());
        }
        if m.payload_paths.iter().any(|path| {
            self.places.is_staging(path)
                || self
                    .rules
                    .temp_dirs
                    .iter()
                    .any(|d| path.starts_with(d.as_str()))
        }) {
            fired.push("temp_dir_payload".into());
        }
        fired
    }

    fn merge_target(&self, p: &ProcessStart, key: &str) -> Option<FindingId> {
        let pid = p.pid?;
        self.recent.iter().rev().find_map(|r| {
            let related = r.pid == pid || p.ppid == Some(r.pid) || r.detached;
            let close = match (r.time, p.time) {
                (Some(a), Some(b)) => (b - a).num_milliseconds().abs() <= MERGE_WINDOW_MS,
                _ => true,
            };
            (related && close && r.host == p.host && r.key == key).then_some(r.id)
        })
    }

    fn remember(
        &mut self,
        p: &ProcessStart,
        key: String,
        id: FindingId,
        detached: bool,
        piped: bool,
    ) {
        let Some(pid) = p.pid else { return };
        if self.recent.len() >= MERGE_MEMORY && self.recent.pop_front().is_some_and(|r| r.piped) {
            self.piped_recent -= 1;
        }
        self.piped_recent += usize::from(piped);
        self.recent.push_back(Recent {
            host: p.host.clone(),
            pid,
            time: p.time,
            key,
            id,
            detached,
            piped,
        });
    }

    /// A child of a process whose masking was in a script piped to a shell may be
    /// that shell: it stands for its parent, so the masking exec it leads to merges.
    fn remember_piping_shell(&mut self, p: &ProcessStart) {
        let (Some(_), Some(ppid)) = (p.pid, p.ppid) else {
            return;
        };
        let parent = self
            .recent
            .iter()
            .rev()
            .find(|r| r.piped && r.pid == ppid && r.host == p.host)
            .cloned();
        if let Some(parent) = parent {
            self.remember(p, parent.key, parent.id, parent.detached, false);
        }
    }
}

impl Detector for SignalMaskDetector {
    fn boxed_clone(&self) -> Box<dyn Detector> {
        Box::new(self.clone())
    }

    fn observe(&mut self, event: &Event, out: &mut Findings) {
        let Event::Process(p) = event else { return };
        if self.piped_recent > 0 {
            self.remember_piping_shell(p);
        }
        let Some(Analysis {
            exec_cmd,
            masking,
            with_nohup,
            detached,
            piped,
            key,
        }) = self.analyse(p)
        else {
            return;
        };
        let fired = self.indicators(&masking, with_nohup);
        if let Some(id) = self.merge_target(p, &key) {
            if let Some(existing) = out.get_mut(id) {
                self.scorer
                    .amend(existing, fired.iter().map(String::as_str));
                self.remember(p, key, id, detached, piped);
                return;
            }
        }
        let score = self.scorer.score(fired.iter().map(String::as_str));
        let finding = Finding::for_process(p, DetectionType::SignalMask, exec_cmd, score);
        let id = out.push(finding);
        self.remember(p, key, id, detached, piped);
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
fn clamp(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------------------------
// Per-language analysis
// ---------------------------------------------------------------------------------

/// `SIGTERM`-style names anywhere (not `SIG_IGN`, `SIG_DFL`, `SIG_BLOCK`).
static SIG_NAME: TextRegex = TextRegex::new(r"\bSIG([A-Z][A-Z0-9]*)\b");
static INTEGER: TextRegex = TextRegex::new(r"\b(\d{1,3})\b");
static IDENT: TextRegex = TextRegex::new(r"^[A-Za-z_$][\w$]*$");

/// The signals named in `text` by `SIGXXX` names.
fn sig_names(text: &str) -> BTreeSet<u32> {
    SIG_NAME
        .on(text)
        .captures_iter(text)
        .filter_map(|c| signal_number(&c[1]))
        .collect()
}

/// How a call's signal argument resolves.
enum SignalArg {
    Signals(BTreeSet<u32>),
    /// A variable (a loop over a list): the signals it ranges over are unknown here.
    Variable,
}

/// Resolves a signal argument: names (`signal.SIGTERM`, `SIGTERM`, `'SIGTERM'`,
/// `:TERM`), numbers (`15`, `signal.Signals(15)`), or a bare variable.
fn signal_arg(arg: &str, bare_names: bool) -> Option<SignalArg> {
    let arg = arg.trim();
    let names = sig_names(arg);
    if !names.is_empty() {
        return Some(SignalArg::Signals(names));
    }
    if bare_names {
        let unquoted = arg.trim_matches(|c| matches!(c, '\'' | '"' | '`' | ':'));
        if let Some(n) = signal_number(unquoted) {
            if unquoted.chars().all(|c| c.is_ascii_alphabetic()) {
                return Some(SignalArg::Signals(BTreeSet::from([n])));
            }
        }
    }
    let numbers: BTreeSet<u32> = INTEGER
        .on(arg)
        .captures_iter(arg)
        .filter_map(|c| c[1].parse().ok())
        .filter(|n| signal_name(*n).is_some())
        .collect();
    if !numbers.is_empty() {
        return Some(SignalArg::Signals(numbers));
    }
    let ident = arg.trim_start_matches('$');
    (IDENT.on(ident).is_match(ident) || arg == "$_").then_some(SignalArg::Variable)
}

/// Adds what a signal argument resolves to; a variable takes the signals the code
/// names elsewhere (`for s in (SIGHUP, SIGTERM): signal(s, SIG_IGN)`).
fn add_signals(m: &mut Masking, arg: Option<SignalArg>, mentioned: &dyn Fn() -> BTreeSet<u32>) {
    match arg {
        Some(SignalArg::Signals(s)) => m.signals.extend(s),
        Some(SignalArg::Variable) => {
            let named = mentioned();
            if named.is_empty() {
                m.unresolved = true;
            } else {
                m.signals.extend(named);
            }
        }
        None => {}
    }
}

/// The arguments of a call whose `(` ends just before `s`: the first argument and the
/// rest, split at the first top-level comma, and the text after the closing paren.
/// Quotes and nesting are respected; `None` when the call is not closed.
fn call_args(s: &str) -> Option<(&str, Option<&str>, &str)> {
    let bytes = s.as_bytes();
    let mut depth = 0i32;
    let mut quote: Option<u8> = None;
    let mut comma: Option<usize> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if let Some(q) = quote {
            if b == b'\\' {
                i += 2;
                continue;
            }
            if b == q {
                quote = None;
            }
        } else {
            match b {
                b'\'' | b'"' | b'`' => quote = Some(b),
                b'(' | b'[' | b'{' => depth += 1,
                b')' | b']' | b'}' if depth > 0 => depth -= 1,
                b')' => {
                    let args = &s[..i];
                    let after = &s[i + 1..];
                    return Some(match comma {
                        Some(c) => (&args[..c], Some(&args[c + 1..]), after),
                        None => (args, None, after),
                    });
                }
                b',' if depth == 0 && comma.is_none() => comma = Some(i),
                _ => {}
            }
        }
        i += 1;
    }
    None
}

static PY_CALL: TextRegex =
    TextRegex::new(r"(?:\b([A-Za-z_]\w*)\s*\.\s*)?\b(signal|sigaction|pthread_sigmask)\s*\(");
static PY_ALIAS: TextRegex = TextRegex::new(r"\bimport\s+signal\s+as\s+([A-Za-z_]\w*)");
static PY_NOOP_LAMBDA: TextRegex =
    TextRegex::new(r"^lambda\b[^:]*:\s*(?:None|0|True|False|\.\.\.|\(\)|''|\x22\x22)\s*$");
static PY_SIG_IGN: TextRegex = TextRegex::new(r"\bSIG_IGN\b");
static PY_SA_IGNORE: TextRegex =
    TextRegex::new(r"sa_handler\s*=\s*(?:(?:ctypes\.)?c_void_p\s*\(\s*)?(?:1\b|[\w.]*SIG_IGN\b)");

/// `getattr(signal, 'signal')`: the attribute, written as one.
static PY_GETATTR: TextRegex = TextRegex::new(
    r#"\bgetattr\s*\(\s*([A-Za-z_]\w*)\s*,\s*(?:'([A-Za-z_]\w*)'|"([A-Za-z_]\w*)")\s*\)"#,
);
/// A name bound to the module's `signal` function: `s = signal.signal`,
/// `from signal import signal as s`.
static PY_FUNC_ALIAS: TextRegex = TextRegex::new(
    r"(?:\b([A-Za-z_]\w*)\s*=\s*(?:[A-Za-z_]\w*\s*\.\s*)?signal\b\s*(?:[;\n)]|$)|\bfrom\s+signal\s+import\s+(?:[^;\n]*,\s*)?signal\s+as\s+([A-Za-z_]\w*))",
);

/// The code with `getattr(m, 'name')` written `m.name` and calls of a name bound
/// to `signal.signal` written `signal.signal(`: what the readers below match.
fn python_normalised(code: &str) -> std::borrow::Cow<'_, str> {
    let mut code = std::borrow::Cow::Borrowed(code);
    if code.contains("getattr") {
        let replaced = PY_GETATTR
            .on(&code)
            .replace_all(&code, |c: &regex::Captures<'_>| {
                let attr = c.get(2).or_else(|| c.get(3)).map_or("", |a| a.as_str());
                format!("{}.{attr}", &c[1])
            });
        code = std::borrow::Cow::Owned(replaced.into_owned());
    }
    let aliases: Vec<String> = PY_FUNC_ALIAS
        .on(&code)
        .captures_iter(&code)
        .filter_map(|c| {
            c.get(1)
                .or_else(|| c.get(2))
                .map(|a| a.as_str().to_string())
        })
        .filter(|a| a != "signal")
        .take(4)
        .collect();
    for alias in aliases {
        let Ok(call) = Regex::new(&format!(r"(^|[^.\w]){}\s*\(", regex::escape(&alias))) else {
            continue;
        };
        let replaced = call.replace_all(&code, "${1}signal.signal(").into_owned();
        code = std::borrow::Cow::Owned(replaced);
    }
    code
}

/// Python: `signal.signal(SIG, SIG_IGN | 1 | lambda *a: None)`, `libc.signal(15, 1)`
/// and `libc.sigaction(…)` through ctypes, `pthread_sigmask(SIG_BLOCK, {…})`; also
/// through `getattr(signal, 'signal')` and a name bound to `signal.signal`.
pub fn python(code: &str) -> Masking {
    let normalised = python_normalised(code);
    let code: &str = &normalised;
    let mut m = Masking::default();
    let aliases: Vec<String> = PY_ALIAS
        .on(code)
        .captures_iter(code)
        .map(|c| c[1].to_string())
        .collect();
    let uses_ctypes = code.contains("ctypes") || code.contains("CDLL") || code.contains("cdll");
    let mentioned = || sig_names(code);
    for c in PY_CALL.on(code).captures_iter(code) {
        let whole = c.get(0).unwrap();
        let module = c.get(1).map(|m| m.as_str());
        let func = &c[2];
        let Some((first, rest, _)) = call_args(&code[whole.end()..]) else {
            continue;
        };
        let Some(rest) = rest else { continue };
        // `ctypes.CDLL(None).signal(…)`: an attribute of an expression, not the module.
        let attribute = code[..whole.start()].trim_end().ends_with('.');
        let via_module = match module {
            None => !attribute,
            Some(name) => name == "signal" || aliases.iter().any(|a| a == name),
        };
        let libc = uses_ctypes && !via_module;
        match func {
            "signal" => {
                let handler = rest.trim();
                let ignores = PY_SIG_IGN.on(handler).is_match(handler)
                    || handler == "1"
                    || handler.ends_with("c_void_p(1)")
                    || PY_NOOP_LAMBDA.on(handler).is_match(handler);
                if ignores {
                    add_signals(&mut m, signal_arg(first, false), &mentioned);
                    m.libc |= libc;
                }
            }
            "sigaction" if libc && PY_SA_IGNORE.on(code).is_match(code) => {
                add_signals(&mut m, signal_arg(first, false), &mentioned);
                m.libc = true;
            }
            "pthread_sigmask" if first.contains("SIG_BLOCK") || first.contains("SIG_SETMASK") => {
                let mask = rest.trim();
                let names = sig_names(mask);
                if mask.contains("valid_signals") {
                    m.unresolved = true;
                } else if !names.is_empty() {
                    m.signals.extend(names);
                } else {
                    add_signals(&mut m, signal_arg(mask, false), &mentioned);
                }
            }
            _ => {}
        }
    }
    m
}

static PERL_SIG: TextRegex = TextRegex::new(r"\$SIG\s*\{\s*([^}]{0,64}?)\s*\}");
static PERL_SLICE: TextRegex = TextRegex::new(r"@SIG\s*\{([^}]{0,256})\}\s*=([^=~][^;]{0,256})");
static PERL_IGNORE_VALUE: TextRegex = TextRegex::new(
    r#"^(?:'IGNORE'|"IGNORE"|qq?\s*[({\[/<|!]\s*IGNORE\s*[)}\]/>|!]|IGNORE\b|sub\s*\{\s*\})"#,
);
static PERL_SIGPROCMASK: TextRegex =
    TextRegex::new(r"sigprocmask\s*\(\s*&?(?:POSIX::)?SIG_(?:BLOCK|SETMASK)\b");
static WORD: TextRegex = TextRegex::new(r"[A-Za-z]+");
/// `POSIX::SigAction->new("IGNORE")` or `->new(SIG_IGN)`: an action that ignores.
static PERL_SIGACTION_IGNORE: TextRegex =
    TextRegex::new(r#"SigAction\s*->\s*new\s*\(\s*(?:'IGNORE'|"IGNORE"|(?:&?POSIX::)?SIG_IGN\b)"#);
/// `sigaction(SIGTERM, …)` / `POSIX::sigaction(&POSIX::SIGTERM, …)`: the signal.
static PERL_SIGACTION_CALL: TextRegex = TextRegex::new(r"\bsigaction\s*\(");

/// Bare upper-case signal names in `text` (`qw(HUP INT TERM)`, `%w[HUP TERM]`).
fn bare_names(text: &str) -> BTreeSet<u32> {
    WORD.on(text)
        .find_iter(text)
        .filter(|w| {
            w.as_str()
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        })
        .filter_map(|w| signal_number(w.as_str()))
        .collect()
}

/// Perl: `$SIG{TERM} = 'IGNORE'` (quoted or not, chained, `local`), an empty `sub {}`,
/// `@SIG{qw(HUP INT)} = ('IGNORE') x 2`, `$SIG{$_} = 'IGNORE' for qw(…)`,
/// `sigprocmask(SIG_BLOCK, …)`.
pub fn perl(code: &str) -> Masking {
    let mut m = Masking::default();
    let mentioned = || {
        let mut s = bare_names(code);
        s.extend(sig_names(code));
        s
    };
    for c in PERL_SIG.on(code).captures_iter(code) {
        let mut keys = vec![c.get(1).unwrap().as_str()];
        let mut rest = &code[c.get(0).unwrap().end()..];
        // `$SIG{A} = $SIG{B} = 'IGNORE'`: follow the chain of assignments.
        let value = loop {
            let r = rest.trim_start();
            let Some(after) = r.strip_prefix('=') else {
                break None;
            };
            if after.starts_with('=') || after.starts_with('~') {
                break None;
            }
            let after = after.trim_start();
            match PERL_SIG
                .on(after)
                .captures(after)
                .filter(|n| n.get(0).unwrap().start() == 0)
            {
                Some(next) => {
                    keys.push(next.get(1).unwrap().as_str());
                    rest = &after[next.get(0).unwrap().end()..];
                }
                None => break Some(after),
            }
        };
        let Some(value) = value else { continue };
        if !PERL_IGNORE_VALUE.on(value).is_match(value) {
            continue;
        }
        for key in keys {
            let key = key.trim_matches(|c| c == '\'' || c == '"');
            let arg = if key.starts_with('$') {
                Some(SignalArg::Variable)
            } else {
                signal_number(key).map(|n| SignalArg::Signals(BTreeSet::from([n])))
            };
            add_signals(&mut m, arg, &mentioned);
        }
    }
    for c in PERL_SLICE.on(code).captures_iter(code) {
        if c[2].contains("IGNORE") {
            let keys = &c[1];
            m.signals.extend(bare_names(keys));
            m.signals.extend(sig_names(keys));
        }
    }
    // `POSIX::sigaction(SIGTERM, POSIX::SigAction->new("IGNORE"))`, directly or
    // through a variable holding the action.
    if PERL_SIGACTION_IGNORE.on(code).is_match(code) {
        for c in PERL_SIGACTION_CALL.on(code).find_iter(code) {
            if let Some((first, Some(_), _)) = call_args(&code[c.end()..]) {
                let arg = first
                    .trim()
                    .trim_start_matches('&')
                    .trim_start_matches("POSIX::");
                add_signals(&mut m, signal_arg(arg, true), &mentioned);
            }
        }
    }
    if PERL_SIGPROCMASK.on(code).is_match(code) {
        let named = sig_names(code);
        if named.is_empty() {
            m.unresolved = true;
        }
        m.signals.extend(named);
    }
    m
}

static RUBY_TRAP: TextRegex = TextRegex::new(r"(?:\bSignal\s*\.\s*)?\btrap\b(\s*\(|[ \t]+)");
static RUBY_ARG: TextRegex = TextRegex::new(r#"^\s*('[^']*'|"[^"]*"|:[A-Za-z]\w*|\d+|[a-z_]\w*)"#);
static RUBY_IGNORE: TextRegex = TextRegex::new(
    r#"^\s*,\s*(?:'(?:IGNORE|SIG_IGN)?'|"(?:IGNORE|SIG_IGN)?"|:(?:IGNORE|SIG_IGN)\b|nil\b|(?:proc|lambda)\s*\{\s*\}|->\s*(?:\(\s*\))?\s*\{\s*\})"#,
);
static RUBY_EMPTY_BLOCK: TextRegex =
    TextRegex::new(r"^\s*\)?\s*(?:\{\s*(?:\|[^|]*\|)?\s*\}|do\s*(?:\|[^|]*\|)?\s*end\b)");

/// Ruby: `trap("HUP", "IGNORE")`, `Signal.trap(:TERM, "SIG_IGN")`, `trap("INT", "")`,
/// `trap("TERM", nil)`, an empty block `trap("TERM") {}`, and `%w(…).each { |s|
/// trap(s, "IGNORE") }`.
pub fn ruby(code: &str) -> Masking {
    let mut m = Masking::default();
    let mentioned = || {
        let mut s = bare_names(code);
        s.extend(sig_names(code));
        s
    };
    for c in RUBY_TRAP.on(code).captures_iter(code) {
        let rest = &code[c.get(0).unwrap().end()..];
        let Some(arg) = RUBY_ARG.on(rest).captures(rest) else {
            continue;
        };
        let arg_text = arg.get(1).unwrap().as_str();
        let after = &rest[arg.get(0).unwrap().end()..];
        if !(RUBY_IGNORE.on(after).is_match(after) || RUBY_EMPTY_BLOCK.on(after).is_match(after)) {
            continue;
        }
        let resolved = if arg_text.starts_with(['\'', '"', ':'])
            || arg_text.chars().all(|c| c.is_ascii_digit())
        {
            signal_arg(arg_text, true).filter(|a| !matches!(a, SignalArg::Variable))
        } else {
            Some(SignalArg::Variable)
        };
        add_signals(&mut m, resolved, &mentioned);
    }
    m
}

static NODE_ON: TextRegex = TextRegex::new(
    r"\bprocess\s*\.\s*(?:on|once|addListener|prependListener|prependOnceListener)\s*\(",
);
static NODE_NOOP: TextRegex = TextRegex::new(
    r"^\s*(?:(?:async\s*)?(?:\([^)]*\)|[A-Za-z_$][\w$]*)\s*=>\s*(?:\{\s*(?:return\s*;?\s*)?\}|null|undefined|void\s+0|0|true|false)|(?:async\s+)?function\s*[\w$]*\s*\([^)]*\)\s*\{\s*(?:return\s*;?\s*)?\})\s*$",
);

/// Node: a signal listener that does nothing (`process.on('SIGTERM', () => {})`):
/// registering any listener removes Node's default of exiting on the signal.
pub fn node(code: &str) -> Masking {
    let mut m = Masking::default();
    let mentioned = || sig_names(code);
    for c in NODE_ON.on(code).captures_iter(code) {
        let Some((first, Some(handler), _)) = call_args(&code[c.get(0).unwrap().end()..]) else {
            continue;
        };
        if !NODE_NOOP.on(handler).is_match(handler) {
            continue;
        }
        let first = first.trim();
        let arg = if first.starts_with(['\'', '"', '`']) {
            let names = sig_names(first);
            (!names.is_empty()).then_some(SignalArg::Signals(names))
        } else {
            signal_arg(first, false)
        };
        add_signals(&mut m, arg, &mentioned);
    }
    m
}

static PHP_SIGNAL: TextRegex = TextRegex::new(r"(?i)\bpcntl_signal\s*\(");
static PHP_SIGPROCMASK: TextRegex =
    TextRegex::new(r"(?i)\bpcntl_sigprocmask\s*\(\s*\\?(?:SIG_BLOCK|SIG_SETMASK)\b");
static PHP_NOOP: TextRegex = TextRegex::new(
    r"(?i)^\s*(?:\\?SIG_IGN|1|(?:static\s+)?function\s*\([^)]*\)\s*(?:use\s*\([^)]*\)\s*)?\{\s*(?:return\s*;?\s*)?\}|(?:static\s+)?fn\s*\([^)]*\)\s*=>\s*(?:null|0|true|false))\s*(?:,.*)?$",
);

/// PHP: `pcntl_signal(SIGTERM, SIG_IGN)` (or an empty closure, or by number),
/// `foreach ([SIGHUP, SIGTERM] as $s) pcntl_signal($s, SIG_IGN)`, and
/// `pcntl_sigprocmask(SIG_BLOCK, [SIGTERM])`. PHP names its constants as C does.
pub fn php(code: &str) -> Masking {
    let mut m = Masking::default();
    let mentioned = || sig_names(code);
    for c in PHP_SIGNAL.on(code).find_iter(code) {
        let Some((first, Some(handler), _)) = call_args(&code[c.end()..]) else {
            continue;
        };
        if PHP_NOOP.on(handler).is_match(handler) {
            let first = first.trim().trim_start_matches('\\');
            add_signals(&mut m, signal_arg(first, false), &mentioned);
        }
    }
    for c in PHP_SIGPROCMASK.on(code).find_iter(code) {
        if let Some((_, Some(set), _)) = call_args(&code[c.end()..]) {
            let names = sig_names(set);
            if names.is_empty() {
                m.unresolved = true;
            }
            m.signals.extend(names);
        }
    }
    m
}

/// A shell `trap` command's arguments (after the word `trap`): the conditions whose
/// action is empty (`trap '' HUP INT TERM`, `trap "" 1 2 15`) or a no-op (`trap : HUP`).
/// Resetting (`trap - TERM`, `trap 1 2`, `trap TERM`), listing (`trap -p`) and real
/// handlers (`trap 'cleanup' EXIT`) mask nothing.
pub fn shell_trap(args: &[String]) -> Masking {
    let mut m = Masking::default();
    let mut args = args;
    match args.first().map(String::as_str) {
        Some("--") => args = &args[1..],
        Some(a) if a.starts_with('-') && a.len() > 1 => return m, // -p, -l, -P
        _ => {}
    }
    let [action, conditions @ ..] = args else {
        return m;
    };
    if conditions.is_empty()
        || action == "-"
        || (!action.is_empty() && action.chars().all(|c| c.is_ascii_digit()))
    {
        return m;
    }
    let action = action.trim();
    if !(action.is_empty() || action == ":" || action == "true") {
        return m;
    }
    for cond in conditions {
        let n = if cond.chars().all(|c| c.is_ascii_digit()) {
            cond.parse()
                .ok()
                .filter(|n: &u32| signal_name(*n).is_some())
        } else {
            signal_number(cond)
        };
        if let Some(n) = n {
            m.signals.insert(n);
        }
    }
    m
}

/// The code runs another program (`os.execv`, `subprocess.Popen`, Perl `exec`/
/// `system`, Ruby `spawn`, Node `child_process`): its path literals are what runs.
static EXECS: TextRegex = TextRegex::new(
    r"\b(?:exec[a-zA-Z]*|system|spawn[a-zA-Z]*|Popen|check_call|check_output|run|execSync|execFileSync|fork|passthru|shell_exec|proc_open|popen|pcntl_exec)\b",
);

/// Absolute paths in string literals of the code (`os.execv("/tmp/x", …)`): what
/// `["'](/[^"'\s]{1,4096})["']` captures, leftmost first and without overlap, read
/// by hand because that regex (a 4,096-fold Unicode class) costs tens of
/// milliseconds to compile, a fixed cost of every hunt that meets one such command.
fn quoted_paths(code: &str) -> Vec<String> {
    const MAX_CHARS: usize = 4096;
    let is_quote = |c: char| c == '"' || c == '\'';
    let mut found = Vec::new();
    let mut at = 0;
    while found.len() < 64 {
        let Some(open) = code[at..].find(is_quote).map(|i| at + i) else {
            break;
        };
        let body = &code[open + 1..];
        // From one opening quote only one match can start: the run of path bytes
        // cannot contain its own closing quote, so the greedy count never backs off.
        let mut chars = 0;
        let mut end = None;
        if body.starts_with('/') {
            for (i, c) in body.char_indices() {
                if is_quote(c) {
                    end = Some(i);
                    break;
                }
                if c.is_whitespace() || chars > MAX_CHARS {
                    break;
                }
                chars += 1;
            }
        }
        match end {
            // `/` plus 1..=4096 more characters.
            Some(len) if (2..=MAX_CHARS + 1).contains(&chars) => {
                found.push(body[..len].to_string());
                at = open + 1 + len + 1;
            }
            _ => at = open + 1,
        }
    }
    found
}

mod text_regex;

use text_regex::TextRegex;

#[cfg(test)]
mod tests;
