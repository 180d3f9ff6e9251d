//! `ps_error_suppression`: PowerShell told to carry on past its errors
//! (`-ErrorAction SilentlyContinue`, `$ErrorActionPreference = 'SilentlyContinue'` …)
//! by code that also downloads, executes strings, persists or weakens defences (the
//! seed's Part 2).
//!
//! Evidence is judged where it is: the decoded command line of a PowerShell host
//! (Sysmon 1, Security 4688, or a host started inside another program's command
//! line), a 4104 script block, the commands of a 4103 event, the pipeline text of an
//! 800 event. Error suppression is the gate; a content indicator in the same text is
//! required (unless the rules say otherwise); how the process was started, its parent
//! and its network connections (Sysmon 3, matched by ProcessGuid or host and pid,
//! before or after the finding) only add to the score. See `rules/powershell.toml`.
//!
//! State is bounded: recent PowerShell processes, recent network events and recently
//! reported texts are each kept in a fixed-size FIFO.

mod actions;
mod decode;

use std::borrow::Cow;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use aho_corasick::AhoCorasick;
use chrono::{DateTime, Utc};
use regex::{Regex, RegexSet, RegexSetBuilder};
use serde::Deserialize;

pub use actions::ActionRule;
pub use decode::{
    HostArgs, Suppression, basename, command_line_key, commands_from_4103, decode_encoded_command,
    nested_decodes, nested_decodes_to, normalize, parse_host_args, strip_carets, suppression,
};

use actions::Actions;

use crate::cmdexe;
use crate::command::{command_line_program, split_command_line};
use crate::detectors::{Detector, FindingId, Findings, evidence_position};
use crate::event::{Event, NetworkActivity, Platform, ProcessStart, Provenance, ScriptBlock};
use crate::finding::{DetectionType, Finding, Severity};
use crate::rules::{IndicatorRule, Rules, RulesError, Scorer, de_severity};

/// `[powershell]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerShellRules {
    #[serde(deserialize_with = "de_severity")]
    pub base_severity: Severity,
    pub require_indicator: bool,
    pub host_images: Vec<String>,
    pub host_original_names: Vec<String>,
    pub module_paths: Vec<String>,
    pub inert_commands: Vec<String>,
    pub suspicious_parents: Vec<String>,
    pub context_indicators: Vec<String>,
    pub dedupe_window_seconds: i64,
    /// Layers of encoding inside encoding decoded (`decode_depth_limit` beyond).
    pub max_decode_depth: usize,
    pub admin_hosts: Vec<String>,
    pub writable_folders: Vec<String>,
    pub payload_extensions: Vec<String>,
    /// Text patterns per indicator; read by the detector only for indicators
    /// without actions (the others are for the SIEM exports).
    pub patterns: BTreeMap<String, Vec<String>>,
    /// Text patterns the detector reads whatever the indicator.
    #[serde(default)]
    pub text_patterns: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub actions: Vec<ActionRule>,
    pub indicators: Vec<IndicatorRule>,
}

/// The indicator of evidence encoded deeper than `max_decode_depth`.
const DEPTH_LIMIT: &str = "decode_depth_limit";

/// Recent PowerShell processes remembered for correlation.
const PROCESS_MEMORY: usize = 8_192;
/// Recent network events of processes not (yet) known.
const NETWORK_MEMORY: usize = 8_192;
/// Recently reported texts, for merging repeats.
const REPORTED_MEMORY: usize = 4_096;
/// Longest text put into a finding's command line.
const MAX_DISPLAY_BYTES: usize = 256 * 1024;

#[derive(Clone)]
pub struct PowerShellDetector {
    rules: PowerShellRules,
    scorer: Scorer,
    compiled: Arc<Compiled>,
    procs: ProcTable,
    network: NetMemory,
    reported: HashMap<TextKey, (FindingId, Option<DateTime<Utc>>)>,
    reported_order: VecDeque<TextKey>,
    /// Remembered texts forgotten to make room.
    reported_dropped: u64,
    host_app: HostAppMemo,
    verdicts: VerdictMemory,
}

/// Host and hash of a judged text.
type TextKey = (String, u64);

/// The rule data's regular expressions, compiled.
#[derive(Clone)]
struct Compiled {
    /// A PowerShell host named inside another command line: read on every process
    /// start, so built with the detector.
    embedded: Regex,
    /// The host names, ignoring ASCII case: rules out most command lines before
    /// `embedded` is run (see [`Compiled::may_name_host`]). `None` when that would
    /// not be exact (a name not all ASCII) or could not be built.
    host_names: Option<AhoCorasick>,
    /// What judges a PowerShell text, built on first use (see [`compile`]).
    judging: OnceLock<Judging>,
}

/// The patterns and actions that judge a PowerShell text: most of the detector's
/// build time (about 100 M instructions of regex and automaton construction, a
/// tenth of a 64 MiB auditd hunt), and needed only once a PowerShell text turns up.
#[derive(Clone)]
struct Judging {
    /// Text patterns the detector reads, per indicator, in rule order (so findings
    /// list indicators predictably).
    patterns: Vec<(String, RegexSet)>,
    actions: Actions,
}

impl Compiled {
    /// False only when `embedded` cannot match `text`: it needs one of the host
    /// names, and its `(?i)` is Unicode case folding, which in ASCII text, for
    /// ASCII names, is ASCII case folding (the other variants of ASCII letters,
    /// `ſ` or the Kelvin sign, are not ASCII). A third of the cost of the regex on
    /// the usual command line, which names no PowerShell host.
    fn may_name_host(&self, text: &str) -> bool {
        match &self.host_names {
            Some(names) if text.is_ascii() => names.is_match(text),
            _ => true,
        }
    }

    /// The patterns and actions, built now if no text needed them before.
    fn judging(&self, ps: &PowerShellRules) -> &Judging {
        // Only the embedded rules are left unbuilt, and they build (a unit test
        // builds them); user rules were built, and so checked, in `compile`.
        self.judging.get_or_init(|| {
            build_judging(ps, false).expect("the embedded powershell rules compile")
        })
    }
}

/// The compile key of the embedded `[powershell]` section, for [`compile`]: read
/// from its own file (the section lives there alone), a tenth of the cost of
/// merging every embedded file. Were it ever to differ from the merged section,
/// the embedded patterns would only be built eagerly again (a test checks it does
/// not).
static EMBEDDED_KEY: LazyLock<Option<String>> = LazyLock::new(|| {
    let text = crate::rules::embedded_file("rules/powershell.toml")?;
    let table: toml::Table = text.parse().ok()?;
    let ps: PowerShellRules = table.get("powershell")?.clone().try_into().ok()?;
    Some(compile_key(&ps))
});

/// Everything of the rule data [`compile`] reads, as one string.
fn compile_key(ps: &PowerShellRules) -> String {
    format!(
        "{:?}{:?}{:?}{:?}{:?}{:?}{:?}{:?}",
        ps.patterns,
        ps.text_patterns,
        ps.actions,
        ps.admin_hosts,
        ps.writable_folders,
        ps.payload_extensions,
        ps.host_images,
        ps.indicators
    )
}

/// Every input gets its own detector set, and most hunts use the same rules: compiled
/// patterns are shared, keyed by the rule data they come from.
///
/// A bad rule must fail the run before any input is read, so patterns that differ
/// from the embedded ones are built here; the embedded ones are known to build, and
/// are built on first use ([`Compiled::judging`]): a hunt of Linux logs without
/// PowerShell never pays for them. `embedded` says `ps` comes from the embedded rules
/// alone ([`Rules::is_embedded`]): then neither key is computed (a tenth of start-up).
fn compile(ps: &PowerShellRules, embedded: bool) -> Result<Arc<Compiled>, String> {
    static CACHE: Mutex<Vec<(String, Arc<Compiled>)>> = Mutex::new(Vec::new());
    // A Debug-formatted key starts with `{` or `[`: the marker cannot be one.
    const EMBEDDED_MARKER: &str = "embedded rules";
    let key = if embedded {
        EMBEDDED_MARKER.to_string()
    } else {
        compile_key(ps)
    };
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = cache.iter().find(|(k, _)| *k == key) {
        return Ok(c.clone());
    }
    let judging = OnceLock::new();
    if !embedded && EMBEDDED_KEY.as_deref() != Some(key.as_str()) {
        let _ = judging.set(build_judging(ps, true)?);
    }
    let embedded =
        decode::embedded_host_regex(&ps.host_images).map_err(|e| format!("host_images: {e}"))?;
    let host_names = if ps.host_images.iter().all(|n| n.is_ascii()) {
        AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&ps.host_images)
            .ok()
    } else {
        None
    };
    let compiled = Arc::new(Compiled {
        embedded,
        host_names,
        judging,
    });
    if cache.len() >= 8 {
        cache.remove(0);
    }
    cache.push((key, compiled.clone()));
    Ok(compiled)
}

/// Builds the patterns and actions of `ps`; an error names the rule at fault.
/// Without `eager`, the actions' argument patterns are left for their first use.
fn build_judging(ps: &PowerShellRules, eager: bool) -> Result<Judging, String> {
    let actions = Actions::new(
        &ps.actions,
        &ps.admin_hosts,
        &ps.writable_folders,
        &ps.payload_extensions,
        eager,
    )?;
    // An indicator with actions is judged on what the script does; its patterns
    // are the exports' approximation, not read here.
    let mut read: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, list) in &ps.patterns {
        if !actions.indicators().any(|i| i == name) {
            read.entry(name.clone())
                .or_default()
                .extend(list.iter().cloned());
        }
    }
    for (name, list) in &ps.text_patterns {
        read.entry(name.clone())
            .or_default()
            .extend(list.iter().cloned());
    }
    let mut patterns = Vec::new();
    for (name, list) in &read {
        let set = RegexSetBuilder::new(list)
            .case_insensitive(true)
            .size_limit(16 * 1024 * 1024)
            .build()
            .map_err(|e| format!("patterns.{name}: {e}"))?;
        patterns.push((name.clone(), set));
    }
    patterns.sort_by_key(|(name, _)| ps.indicators.iter().position(|i| &i.name == name));
    Ok(Judging { patterns, actions })
}

/// What a text says whoever ran it (see [`PowerShellDetector::read_text`]).
struct TextVerdict {
    /// The layers decoded from it.
    nested: Vec<String>,
    /// Hash of the normalised text and layers (what repeats are merged by).
    norm_hash: u64,
    /// The indicators its text fires, in report order, before the context ones.
    fired: Vec<String>,
    /// Whether one of them is not a context indicator.
    content: bool,
}

/// Texts judged recently, each with its verdict (`None`: the gate passed nothing).
#[derive(Clone, Default)]
struct VerdictMemory {
    entries: HashMap<u64, (String, Option<Arc<TextVerdict>>)>,
    order: VecDeque<u64>,
    bytes: usize,
}

/// Most texts and bytes of text remembered with their verdicts.
const VERDICT_MEMORY: usize = 256;
const VERDICT_MEMORY_BYTES: usize = 8 << 20;

impl VerdictMemory {
    fn get(&self, key: u64, text: &str) -> Option<Option<Arc<TextVerdict>>> {
        // The text itself is compared: a hash collision is a miss.
        let (kept, v) = self.entries.get(&key)?;
        (kept == text).then(|| v.clone())
    }

    fn put(&mut self, key: u64, text: &str, v: Option<Arc<TextVerdict>>) {
        if text.len() > VERDICT_MEMORY_BYTES / 4 {
            return;
        }
        while self.order.len() >= VERDICT_MEMORY
            || (self.bytes + text.len() > VERDICT_MEMORY_BYTES && !self.order.is_empty())
        {
            if let Some(old) = self.order.pop_front() {
                if let Some((t, _)) = self.entries.remove(&old) {
                    self.bytes -= t.len();
                }
            }
        }
        if let Some((t, _)) = self.entries.insert(key, (text.to_string(), v)) {
            // Same hash, another text: the old one is replaced (its key stays in
            // `order` once).
            self.bytes -= t.len();
        } else {
            self.order.push_back(key);
        }
        self.bytes += text.len();
    }
}

/// What passed the error suppression gate (see [`PowerShellDetector::full_gate`]).
struct Gate {
    /// The layers decoded from the script.
    nested: Vec<String>,
    /// The script's analysis, then each layer's.
    analyses: Vec<crate::pwsh::Analysis>,
    sup: Suppression,
    /// A layer deeper than the limit was left unread.
    limited: bool,
}

/// What a script event's host application says, read once for the events that
/// repeat it (a session's blocks all carry the same one).
#[derive(Clone, Default)]
struct HostAppMemo {
    app: String,
    read: HostAppRead,
}

#[derive(Clone, Default)]
struct HostAppRead {
    /// Hash of its [`command_line_key`].
    key: u64,
    /// Its program, or the default host.
    exec: String,
    /// The context indicators its switches fire.
    context: Vec<&'static str>,
}

impl HostAppMemo {
    fn of(&mut self, app: &str) -> &HostAppRead {
        if self.app != app || self.app.is_empty() {
            let args = split_command_line(app);
            let exec = args
                .first()
                .cloned()
                .unwrap_or_else(|| DEFAULT_HOST.to_string());
            let context = match args.get(1..) {
                Some(rest) => {
                    let pwsh = basename(&exec).to_ascii_lowercase().starts_with("pwsh");
                    parse_host_args(rest, pwsh, true).context()
                }
                None => Vec::new(),
            };
            self.app = app.to_string();
            self.read = HostAppRead {
                key: hash_of(&command_line_key(app)),
                exec,
                context,
            };
        }
        &self.read
    }
}

/// One piece of evidence, before it is judged.
struct Evidence<'a> {
    time: Option<DateTime<Utc>>,
    host: &'a str,
    platform: Platform,
    exec_cmd: String,
    /// What the analyst sees (decoded command line, script text); `None`: the
    /// script itself.
    display: Option<Cow<'a, str>>,
    /// The PowerShell text to judge.
    script: Cow<'a, str>,
    context: Vec<String>,
    pid: Option<u32>,
    ppid: Option<u32>,
    user: Option<String>,
    source: &'a Provenance,
    /// The process this evidence belongs to, when known.
    slot: Option<u64>,
}

impl<'a> Evidence<'a> {
    /// Evidence from a process start: where, when and by whom come from the event.
    fn of_process(
        p: &'a ProcessStart,
        exec_cmd: String,
        display: String,
        script: String,
        context: Vec<String>,
        slot: Option<u64>,
    ) -> Evidence<'a> {
        Evidence {
            time: p.time,
            host: &p.host,
            platform: p.platform,
            exec_cmd,
            display: Some(Cow::Owned(display)),
            script: Cow::Owned(script),
            context,
            pid: p.pid,
            ppid: p.ppid,
            user: p.user.clone(),
            source: &p.provenance,
            slot,
        }
    }
}

impl PowerShellDetector {
    pub fn new(rules: &Rules) -> Result<Self, RulesError> {
        let ps: PowerShellRules = rules.section("powershell")?;
        let invalid = |message: String| RulesError::Section {
            section: "powershell".to_string(),
            message,
        };
        let named = |name: &str| ps.indicators.iter().any(|i| i.name == name);
        for (what, name) in ps
            .patterns
            .keys()
            .map(|n| ("patterns", n))
            .chain(ps.text_patterns.keys().map(|n| ("text_patterns", n)))
            .chain(ps.actions.iter().map(|a| ("actions", &a.indicator)))
        {
            if !named(name) {
                return Err(invalid(format!("{what}.{name}: no indicator of that name")));
            }
        }
        let compiled = compile(&ps, rules.is_embedded()).map_err(invalid)?;
        let scorer = Scorer::new(ps.indicators.clone(), ps.base_severity, rules);
        Ok(PowerShellDetector {
            rules: ps,
            scorer,
            compiled,
            procs: ProcTable::default(),
            network: NetMemory::default(),
            reported: HashMap::new(),
            reported_order: VecDeque::new(),
            reported_dropped: 0,
            host_app: HostAppMemo::default(),
            verdicts: VerdictMemory::default(),
        })
    }

    fn is_context(&self, name: &str) -> bool {
        self.rules.context_indicators.iter().any(|c| c == name)
    }

    fn is_host(&self, p: &ProcessStart) -> bool {
        let by_image = |path: &str| {
            let name = basename(path);
            self.rules
                .host_images
                .iter()
                .any(|h| h.eq_ignore_ascii_case(name))
        };
        p.exe.as_deref().is_some_and(by_image)
            || p.original_file_name.as_deref().is_some_and(|ofn| {
                self.rules
                    .host_original_names
                    .iter()
                    .any(|h| h.eq_ignore_ascii_case(ofn.trim()))
            })
            || (p.exe.is_none() && p.argv.first().is_some_and(|a| by_image(a)))
    }

    fn is_suspicious_parent(&self, image: Option<&str>) -> bool {
        image.is_some_and(|path| {
            let name = basename(path);
            self.rules
                .suspicious_parents
                .iter()
                .any(|p| p.eq_ignore_ascii_case(name))
        })
    }

    fn is_module_path(&self, path: &str) -> bool {
        let path = path.to_lowercase().replace('/', "\\");
        self.rules
            .module_paths
            .iter()
            .any(|m| path.contains(&m.to_lowercase()))
    }

    fn on_process(&mut self, p: &ProcessStart, out: &mut Findings) {
        let windows = p.platform == Platform::Windows;
        if self.is_host(p) {
            // Keyed by host only here: most process starts are no PowerShell host,
            // and the key costs an allocation.
            let host = host_key(&p.host);
            let args: Vec<String> = if windows {
                split_command_line(&p.command_line)
            } else {
                p.argv.clone()
            };
            let pwsh = p
                .exe
                .as_deref()
                .is_some_and(|e| basename(e).to_ascii_lowercase().starts_with("pwsh"))
                || p.original_file_name
                    .as_deref()
                    .is_some_and(|o| o.to_ascii_lowercase().starts_with("pwsh"));
            let ha = parse_host_args(args.get(1..).unwrap_or(&[]), pwsh, windows);
            let mut context: Vec<String> = ha.context().into_iter().map(String::from).collect();
            if self.is_suspicious_parent(p.parent_exe.as_deref()) {
                context.push("suspicious_parent".to_string());
            }
            let slot = self.procs.upsert(Proc {
                host: host.clone(),
                time: p.time,
                pid: p.pid,
                guid: p.process_guid.as_deref().map(str::to_lowercase),
                image: p.exe.clone().or_else(|| p.argv.first().cloned()),
                ppid: p.ppid,
                user: p.user.clone(),
                context: context.clone(),
                findings: Vec::new(),
                networked: false,
                command_key: hash_of(&command_line_key(&p.command_line)),
                position: evidence_position(p.provenance.position).unwrap_or(u64::MAX),
            });
            if self.network.seen(&host, p.process_guid.as_deref(), p.pid) {
                self.procs.mark_networked(slot);
            }
            if let Some(script) = ha.script.clone() {
                let display = display_line(&p.command_line, &ha);
                let exec_cmd = p
                    .exe
                    .clone()
                    .or_else(|| p.argv.first().cloned())
                    .unwrap_or_default();
                self.judge(
                    Evidence::of_process(p, exec_cmd, display, script, context, Some(slot)),
                    out,
                );
            }
            return;
        }
        // A host started by cmd.exe, found as cmd.exe parses its line.
        let program = p
            .exe
            .as_deref()
            .or_else(|| p.argv.first().map(String::as_str))
            .unwrap_or("");
        if windows && (cmdexe::is_cmd(program) || cmdexe::is_cmd(&first_program(&p.command_line))) {
            let inner = cmdexe::commands(&p.command_line);
            if !inner.is_empty() {
                self.judge_cmd_children(p, &inner, out);
                return;
            }
        }
        // A host started from inside another command line (mshta, wmic …).
        let names_host = self.compiled.may_name_host(&p.command_line)
            && self.compiled.embedded.is_match(&p.command_line);
        if !names_host && !p.command_line.contains('^') {
            return;
        }
        let cleaned = if windows {
            strip_carets(&p.command_line)
        } else {
            p.command_line.clone()
        };
        for (name, args) in decode::find_embedded_hosts(&cleaned, &self.compiled.embedded) {
            let pwsh = name.to_ascii_lowercase().starts_with("pwsh");
            let ha = parse_host_args(&args, pwsh, windows);
            let Some(script) = ha.script.clone() else {
                continue;
            };
            let mut context: Vec<String> = ha.context().into_iter().map(String::from).collect();
            // The program whose command line starts PowerShell is its parent.
            if self.is_suspicious_parent(p.exe.as_deref()) {
                context.push("suspicious_parent".to_string());
            }
            let display = display_line(&cleaned, &ha);
            self.judge(
                Evidence::of_process(p, name, display, script, context, None),
                out,
            );
        }
    }

    /// The PowerShell hosts among the commands a cmd.exe line runs, judged as if
    /// started directly (cmd.exe is their parent).
    fn judge_cmd_children(&mut self, p: &ProcessStart, inner: &[String], out: &mut Findings) {
        for command in inner {
            // Most commands run no PowerShell host: the program name decides that
            // before the rest of the line is split.
            let program = command_line_program(command);
            if !self
                .rules
                .host_images
                .iter()
                .any(|h| h.eq_ignore_ascii_case(basename(&program)))
            {
                continue;
            }
            let args = split_command_line(command);
            let Some(name) = args.first() else {
                continue;
            };
            let image = basename(name);
            let pwsh = image.to_ascii_lowercase().starts_with("pwsh");
            let ha = parse_host_args(&args[1..], pwsh, true);
            let Some(script) = ha.script.clone() else {
                continue;
            };
            let mut context: Vec<String> = ha.context().into_iter().map(String::from).collect();
            if self.is_suspicious_parent(p.parent_exe.as_deref()) {
                context.push("suspicious_parent".to_string());
            }
            // What the analyst sees: cmd.exe's line as cmd.exe read it.
            let display = display_line(&strip_carets(&p.command_line), &ha);
            self.judge(
                Evidence::of_process(p, name.clone(), display, script, context, None),
                out,
            );
        }
    }

    fn on_script(&mut self, s: &ScriptBlock, out: &mut Findings) {
        if s.path.as_deref().is_some_and(|p| self.is_module_path(p)) {
            return;
        }
        let script: Cow<'_, str> = if s.event_id == 4103 {
            Cow::Owned(commands_from_4103(&s.text, &self.rules.inert_commands))
        } else {
            Cow::Borrowed(&s.text)
        };
        if script.trim().is_empty() {
            return;
        }
        let host = host_key(&s.host);
        let mut slot = s
            .pid
            .and_then(|pid| self.procs.by_pid.get(&(host.clone(), pid)).copied())
            .or_else(|| {
                let key = self.host_app.of(s.host_application.as_deref()?).key;
                self.procs.by_command.get(&(host.clone(), key)).copied()
            });
        let mut context = Vec::new();
        let (exec_cmd, pid, ppid, user) = match slot.and_then(|id| self.procs.entries.get(&id)) {
            Some(proc) => {
                context.extend(proc.context.iter().cloned());
                (
                    proc.image
                        .clone()
                        .unwrap_or_else(|| DEFAULT_HOST.to_string()),
                    proc.pid.or(s.pid),
                    proc.ppid,
                    proc.user.clone().or_else(|| s.user.clone()),
                )
            }
            None => {
                // The host application's own switches still say how it was started.
                let exec = match s.host_application.as_deref() {
                    Some(app) => {
                        let read = self.host_app.of(app);
                        context.extend(read.context.iter().map(|c| c.to_string()));
                        read.exec.clone()
                    }
                    None => DEFAULT_HOST.to_string(),
                };
                if s.pid.is_some() && self.network.seen(&host, None, s.pid) {
                    context.push("network_activity".to_string());
                }
                (exec, s.pid, None, s.user.clone())
            }
        };
        if slot.is_none() && s.pid.is_some() {
            // Remember the process, so a later connection from it raises the finding.
            slot = Some(self.procs.insert(Proc {
                host: host.clone(),
                time: s.time,
                pid: s.pid,
                guid: None,
                image: Some(exec_cmd.clone()),
                ppid: None,
                user: user.clone(),
                context: context.clone(),
                findings: Vec::new(),
                networked: context.iter().any(|c| c == "network_activity"),
                command_key: 0,
                position: evidence_position(s.provenance.position).unwrap_or(u64::MAX),
            }));
        }
        // A 4104 block is shown as logged; a 4103 event as the commands read from it.
        let display = None;
        self.judge(
            Evidence {
                time: s.time,
                host: &s.host,
                platform: Platform::Windows,
                exec_cmd,
                display,
                script,
                context,
                pid,
                ppid,
                user,
                source: &s.provenance,
                slot,
            },
            out,
        );
    }

    fn on_network(&mut self, n: &NetworkActivity, out: &mut Findings) {
        let host = host_key(&n.host);
        match self.procs.find(&host, n.process_guid.as_deref(), n.pid) {
            Some(slot) => {
                let Some(proc) = self.procs.entries.get_mut(&slot) else {
                    return;
                };
                if proc.networked {
                    return;
                }
                proc.networked = true;
                let ids = proc.findings.clone();
                for id in ids {
                    self.amend(out, id, &["network_activity".to_string()]);
                }
            }
            None => {
                // Only PowerShell's own connections can matter later.
                let ps_image = n.image.as_deref().is_none_or(|image| {
                    let name = basename(image);
                    self.rules
                        .host_images
                        .iter()
                        .any(|h| h.eq_ignore_ascii_case(name))
                });
                if ps_image {
                    self.network.remember(
                        &host,
                        n.process_guid.as_deref(),
                        n.pid,
                        evidence_position(n.provenance.position),
                    );
                }
            }
        }
    }

    /// Whether `script` may pass the error suppression gate: when not, the gate
    /// surely passes nothing (the prefilters `pwsh::may_suppress` and
    /// `decode::may_hold_payload` are conservative) and the analysis is skipped.
    fn passes_prefilters(script: &str) -> bool {
        crate::pwsh::may_suppress(script) || decode::may_hold_payload(script)
    }

    /// The error suppression gate of `script`: its decoded layers and their
    /// analyses when errors are silenced in one of them or a layer was left unread,
    /// `None` when neither (and the evidence is not reported).
    fn full_gate(&self, script: &str) -> Option<Gate> {
        let depth = self.rules.max_decode_depth;
        let (nested, mut limited) = nested_decodes_to(script, depth);
        let mut sup = Suppression::default();
        let mut analyses = Vec::with_capacity(1 + nested.len());
        for code in std::iter::once(script).chain(nested.iter().map(String::as_str)) {
            let a = crate::pwsh::analyze(code, depth);
            sup.preference |= a.suppression.preference;
            sup.parameter |= a.suppression.parameter;
            limited |= a.depth_limited;
            analyses.push(a);
        }
        (sup.any() || limited).then_some(Gate {
            nested,
            analyses,
            sup,
            limited,
        })
    }

    /// What `script` says, whoever ran it: the gate, then the indicators its text
    /// fires. Repeated texts (a stager's blocks logged again and again, a session's
    /// 4103 commands) are judged once: the answer is kept, with the text it is for,
    /// in a bounded memory.
    fn read_text(&mut self, script: &str) -> Option<Arc<TextVerdict>> {
        if !Self::passes_prefilters(script) {
            return None;
        }
        let key = hash_of(script);
        if let Some(v) = self.verdicts.get(key, script) {
            return v;
        }
        let v = self.full_read_text(script).map(Arc::new);
        self.verdicts.put(key, script, v.clone());
        v
    }

    /// [`Self::read_text`] without the prefilters or the memory.
    fn full_read_text(&self, script: &str) -> Option<TextVerdict> {
        let Gate {
            nested,
            analyses,
            sup,
            limited,
        } = self.full_gate(script)?;
        let mut norm = normalize(script);
        for n in &nested {
            norm.push_str(" ; ");
            norm.push_str(&normalize(n));
        }
        // The script and every layer decoded from it, read as PowerShell.
        let judging = self.compiled.judging(&self.rules);
        let mut fired: Vec<String> = Vec::new();
        let mut text = norm.clone();
        for a in &analyses {
            for f in judging.actions.fire(a) {
                if !fired.contains(&f) {
                    fired.push(f);
                }
            }
            for s in &a.strings {
                if text.len() < MAX_DISPLAY_BYTES * 4 {
                    text.push_str(" ; ");
                    text.push_str(&s.to_lowercase());
                }
            }
        }
        if limited {
            fired.push(DEPTH_LIMIT.to_string());
        }
        if sup.preference {
            fired.push("error_preference_suppressed".to_string());
        }
        if sup.parameter {
            fired.push("error_action_suppressed".to_string());
        }
        for (name, set) in &judging.patterns {
            if !fired.contains(name) && set.is_match(&text) {
                fired.push(name.clone());
            }
        }
        let content = fired.iter().any(|n| !self.is_context(n));
        Some(TextVerdict {
            nested,
            norm_hash: hash_of(&norm),
            fired,
            content,
        })
    }

    /// Judges one piece of evidence and reports or merges a finding.
    fn judge(&mut self, ev: Evidence<'_>, out: &mut Findings) {
        // What could not be read is reported, whatever was seen; else error
        // suppression is the gate.
        let Some(verdict) = self.read_text(&ev.script) else {
            return;
        };
        if self.rules.require_indicator && !verdict.content {
            return;
        }
        let nested = &verdict.nested;
        let mut fired = verdict.fired.clone();
        fired.extend(ev.context.iter().cloned());
        if ev
            .slot
            .and_then(|s| self.procs.entries.get(&s))
            .is_some_and(|p| p.networked)
        {
            fired.push("network_activity".to_string());
        }

        let host = host_key(ev.host);
        let key = (host, verdict.norm_hash);
        if let Some(&(id, seen_at)) = self.reported.get(&key) {
            let close = match (seen_at, ev.time) {
                (Some(a), Some(b)) => {
                    (b - a).num_seconds().abs() <= self.rules.dedupe_window_seconds
                }
                _ => true,
            };
            if close && out.get_mut(id).is_some() {
                self.amend(out, id, &fired);
                if let Some(slot) = ev.slot {
                    self.procs.add_finding(slot, id);
                }
                return;
            }
        }

        let mut display = match ev.display {
            Some(d) => d.into_owned(),
            None => ev.script.into_owned(),
        };
        for n in nested {
            display.push_str("\n[decoded] ");
            display.push_str(n);
        }
        let display = truncate(display);
        let score = self.scorer.score(fired.iter().map(String::as_str));
        let id = out.push(Finding {
            time: ev.time,
            host: ev.host.to_string(),
            platform: ev.platform,
            detection_type: DetectionType::PsErrorSuppression,
            exec_cmd: ev.exec_cmd,
            nohup_target: String::new(),
            nohup_args: display.clone(),
            command_line: display,
            suspicion_score: score.score,
            severity: score.severity,
            indicators: score.indicators,
            pid: ev.pid,
            ppid: ev.ppid,
            user: ev.user,
            source: ev.source.clone(),
            related: Vec::new(),
        });
        if let Some(slot) = ev.slot {
            self.procs.add_finding(slot, id);
        }
        if self.reported_order.len() >= REPORTED_MEMORY {
            if let Some(old) = self.reported_order.pop_front() {
                self.reported.remove(&old);
                self.reported_dropped += 1;
            }
        }
        self.reported_order.push_back(key.clone());
        self.reported.insert(key, (id, ev.time));
    }

    /// Adds indicators to a finding already made and scores it again.
    fn amend(&self, out: &mut Findings, id: FindingId, add: &[String]) {
        if let Some(f) = out.get_mut(id) {
            self.scorer.amend(f, add.iter().map(String::as_str));
        }
    }
}

impl Detector for PowerShellDetector {
    fn boxed_clone(&self) -> Box<dyn Detector> {
        Box::new(self.clone())
    }

    fn observe(&mut self, event: &Event, out: &mut Findings) {
        match event {
            Event::Process(p) => self.on_process(p, out),
            Event::Script(s) => self.on_script(s, out),
            Event::Network(n) => self.on_network(n, out),
            Event::FileWrite(_) => {}
        }
    }

    fn state_dropped(&self) -> u64 {
        self.procs.dropped + self.network.dropped + self.reported_dropped
    }

    fn oldest_evidence(&self) -> Option<u64> {
        // `reported` only merges into findings still held: the engine counts those.
        self.procs
            .entries
            .values()
            .map(|p| p.position)
            .chain(self.network.positions.iter().copied())
            .filter(|&p| p != u64::MAX)
            .min()
    }
}

/// The host part that identifies a machine across logs: case folded, domain
/// dropped (`WORKSTATION6` in one log is `WORKSTATION6.theshire.local` in another).
fn host_key(host: &str) -> String {
    host.split('.').next().unwrap_or(host).trim().to_lowercase()
}

fn hash_of(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// The program of a command line (its first word, quotes removed).
fn first_program(cmd: &str) -> String {
    command_line_program(cmd)
}

/// The PowerShell image a script event came from when nothing better is known.
const DEFAULT_HOST: &str = "powershell.exe";

/// The command line with its -EncodedCommand argument replaced by the decoded text.
fn display_line(cmd: &str, ha: &HostArgs) -> String {
    match (&ha.encoded, &ha.script) {
        (Some(b64), Some(script)) => match cmd.find(b64.as_str()) {
            Some(i) => format!("{}{}{}", &cmd[..i], script, &cmd[i + b64.len()..]),
            None => format!("{cmd}\n[decoded] {script}"),
        },
        _ => cmd.to_string(),
    }
}

fn truncate(mut s: String) -> String {
    if s.len() <= MAX_DISPLAY_BYTES {
        return s;
    }
    let mut cut = MAX_DISPLAY_BYTES;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let dropped = s.len() - cut;
    s.truncate(cut);
    s.push_str(&format!(" … [{dropped} more bytes]"));
    s
}

/// A PowerShell process seen starting (or writing script logs).
#[derive(Clone)]
struct Proc {
    host: String,
    time: Option<DateTime<Utc>>,
    pid: Option<u32>,
    guid: Option<String>,
    image: Option<String>,
    ppid: Option<u32>,
    user: Option<String>,
    context: Vec<String>,
    findings: Vec<FindingId>,
    networked: bool,
    command_key: u64,
    /// Input position of the first event that made or completed this record
    /// ([`u64::MAX`]: none).
    position: u64,
}

/// Recent processes, findable by ProcessGuid, by host and pid, and by command line.
#[derive(Clone, Default)]
struct ProcTable {
    entries: HashMap<u64, Proc>,
    by_guid: HashMap<(String, String), u64>,
    by_pid: HashMap<(String, u32), u64>,
    by_command: HashMap<(String, u64), u64>,
    order: VecDeque<u64>,
    next: u64,
    /// Processes forgotten to make room.
    dropped: u64,
}

/// Two records of one command line this close in time are one launch.
const SAME_LAUNCH_SECONDS: i64 = 60;

/// Most findings remembered per process.
const FINDINGS_PER_PROCESS: usize = 64;

impl ProcTable {
    /// Records a process, or completes the record of the same process seen in
    /// another log (Sysmon 1 and Security 4688 of one launch: same host, pid and
    /// command line, no conflicting ProcessGuid).
    fn upsert(&mut self, proc: Proc) -> u64 {
        let by_pid = proc
            .pid
            .and_then(|pid| self.by_pid.get(&(proc.host.clone(), pid)).copied());
        // Some exports drop the pid from one of the two records: the command line
        // (and a close time) then identifies the launch.
        let by_command = || {
            let id = *self
                .by_command
                .get(&(proc.host.clone(), proc.command_key))?;
            let e = self.entries.get(&id)?;
            let close = match (e.time, proc.time) {
                (Some(a), Some(b)) => (a - b).num_seconds().abs() <= SAME_LAUNCH_SECONDS,
                _ => false,
            };
            (close && (e.pid.is_none() || proc.pid.is_none())).then_some(id)
        };
        let existing = by_pid.or_else(|| (proc.command_key != 0).then(by_command).flatten());
        if let Some(id) = existing {
            if let Some(e) = self.entries.get_mut(&id) {
                let same_guid = match (&e.guid, &proc.guid) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                let same_pid = match (e.pid, proc.pid) {
                    (Some(a), Some(b)) => a == b,
                    _ => true,
                };
                let same_command = e.command_key == proc.command_key
                    || e.command_key == 0
                    || proc.command_key == 0;
                if same_guid && same_pid && same_command {
                    if e.pid.is_none() {
                        if let Some(pid) = proc.pid {
                            self.by_pid.insert((proc.host.clone(), pid), id);
                        }
                        e.pid = proc.pid;
                    }
                    if e.guid.is_none() {
                        if let Some(g) = &proc.guid {
                            self.by_guid.insert((proc.host.clone(), g.clone()), id);
                        }
                        e.guid = proc.guid;
                    }
                    if e.command_key == 0 && proc.command_key != 0 {
                        self.by_command
                            .insert((proc.host.clone(), proc.command_key), id);
                        e.command_key = proc.command_key;
                    }
                    e.image = e.image.take().or(proc.image);
                    e.ppid = e.ppid.or(proc.ppid);
                    e.user = e.user.take().or(proc.user);
                    for c in proc.context {
                        if !e.context.contains(&c) {
                            e.context.push(c);
                        }
                    }
                    e.networked |= proc.networked;
                    e.position = e.position.min(proc.position);
                    return id;
                }
            }
        }
        self.insert(proc)
    }

    fn insert(&mut self, proc: Proc) -> u64 {
        if self.order.len() >= PROCESS_MEMORY {
            if let Some(old) = self.order.pop_front() {
                self.evict(old);
                self.dropped += 1;
            }
        }
        let id = self.next;
        self.next += 1;
        if let Some(g) = &proc.guid {
            self.by_guid.insert((proc.host.clone(), g.clone()), id);
        }
        if let Some(pid) = proc.pid {
            // A new process with a known pid replaces the old one (pid reuse).
            self.by_pid.insert((proc.host.clone(), pid), id);
        }
        if proc.command_key != 0 {
            self.by_command
                .insert((proc.host.clone(), proc.command_key), id);
        }
        self.entries.insert(id, proc);
        self.order.push_back(id);
        id
    }

    fn evict(&mut self, id: u64) {
        let Some(p) = self.entries.remove(&id) else {
            return;
        };
        if let Some(g) = p.guid {
            let k = (p.host.clone(), g);
            if self.by_guid.get(&k) == Some(&id) {
                self.by_guid.remove(&k);
            }
        }
        if let Some(pid) = p.pid {
            let k = (p.host.clone(), pid);
            if self.by_pid.get(&k) == Some(&id) {
                self.by_pid.remove(&k);
            }
        }
        let k = (p.host, p.command_key);
        if self.by_command.get(&k) == Some(&id) {
            self.by_command.remove(&k);
        }
    }

    /// The process a network event belongs to: by ProcessGuid, else by host and pid
    /// (unless the guids differ: the pid was reused).
    fn find(&self, host: &str, guid: Option<&str>, pid: Option<u32>) -> Option<u64> {
        let guid = guid.map(str::to_lowercase);
        if let Some(g) = &guid {
            if let Some(&id) = self.by_guid.get(&(host.to_string(), g.clone())) {
                return Some(id);
            }
        }
        let id = *self.by_pid.get(&(host.to_string(), pid?))?;
        match (&guid, self.entries.get(&id).and_then(|p| p.guid.as_ref())) {
            (Some(a), Some(b)) if a != b => None,
            _ => Some(id),
        }
    }

    fn mark_networked(&mut self, id: u64) {
        if let Some(p) = self.entries.get_mut(&id) {
            p.networked = true;
        }
    }

    fn add_finding(&mut self, id: u64, finding: FindingId) {
        if let Some(p) = self.entries.get_mut(&id) {
            if p.findings.len() < FINDINGS_PER_PROCESS && !p.findings.contains(&finding) {
                p.findings.push(finding);
            }
        }
    }
}

/// Network events of PowerShell processes not known yet (the connection may be
/// logged before the evidence that makes a finding).
#[derive(Clone, Default)]
struct NetMemory {
    keys: HashSet<(String, NetKey)>,
    order: VecDeque<(String, NetKey)>,
    /// Input position of each entry of `order` ([`u64::MAX`]: none).
    positions: VecDeque<u64>,
    dropped: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum NetKey {
    Guid(String),
    Pid(u32),
}

impl NetMemory {
    fn remember(&mut self, host: &str, guid: Option<&str>, pid: Option<u32>, at: Option<u64>) {
        let keys = guid
            .map(|g| NetKey::Guid(g.to_lowercase()))
            .into_iter()
            .chain(pid.map(NetKey::Pid));
        for k in keys {
            let entry = (host.to_string(), k);
            if self.keys.contains(&entry) {
                continue;
            }
            if self.order.len() >= NETWORK_MEMORY {
                if let Some(old) = self.order.pop_front() {
                    self.keys.remove(&old);
                    self.positions.pop_front();
                    self.dropped += 1;
                }
            }
            self.order.push_back(entry.clone());
            self.positions.push_back(at.unwrap_or(u64::MAX));
            self.keys.insert(entry);
        }
    }

    fn seen(&self, host: &str, guid: Option<&str>, pid: Option<u32>) -> bool {
        guid.is_some_and(|g| {
            self.keys
                .contains(&(host.to_string(), NetKey::Guid(g.to_lowercase())))
        }) || pid.is_some_and(|p| self.keys.contains(&(host.to_string(), NetKey::Pid(p))))
    }
}

#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod tests;
