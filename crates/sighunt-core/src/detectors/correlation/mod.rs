//! Correlation: what turns single events into a story. A per-host process table (who
//! is whose parent) and the evidence a nohup launch gets from other events:
//!
//! * `payload_made_executable`: the payload was `chmod +x`'d, `install`ed,
//!   downloaded or written (an EDR's file event, `file_write.rs`) to its path
//!   shortly before it was nohup'd (the seed's test 2);
//! * `net_listener`: the nohup'd program (or a child of it) then binds or listens
//!   on a socket (auditd `bind`/`listen`, Sysmon 3 accepted connection; the seed's
//!   test 1) — evidence that arrives after the finding, so the finding is amended;
//! * `init_script_parent`: an ancestor is a script under an init, rc, cron or
//!   systemd directory (UNC3886: `/etc/init.d/localnet` running `nohup /bin/support`);
//! * `web_service_parent`: the launch runs as a web server or database account, or
//!   descends from such a process (a web shell);
//! * `relaunched`: the same program was nohup'd by another process earlier (it was
//!   killed, or a watchdog keeps restarting it).
//!
//! The table is keyed by host and pid (auditd `pid`/`ppid`, eslogger audit tokens,
//! Sysmon ProcessId) and by process GUID (Sysmon ProcessGuid, eslogger
//! `pid:pidversion`). Every structure is bounded in entries and in log time (the
//! windows in `[correlation]` of the rule data); entries pushed out by the count
//! limit before their time are counted and reported, so a summary can say what was
//! dropped.

use aho_corasick::AhoCorasick;
use rustc_hash::FxBuildHasher;
use serde::Deserialize;

use crate::command::paths::expand_home;
use crate::command::{
    self, CommandRules, Invocation, Launchers, NameFilter, argv_is_decoder, basename,
    chmod_targets, copy_targets, dd_targets, download_targets_of, install_targets,
    redirect_targets, tee_targets,
};
use crate::detectors::{FindingId, evidence_position};
use crate::event::{Event, NetworkKind, ProcessOrigin, ProcessStart, Provenance};
use crate::finding::Related;
use crate::rules::{Rules, RulesError};

/// `[correlation]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrelationRules {
    /// A process is remembered this long (log time) after its exec.
    pub process_ttl_secs: i64,
    /// Most processes remembered, all hosts together.
    pub max_processes: usize,
    /// How many generations above a launch are looked at.
    pub max_ancestors: usize,
    /// A chmod/install/download counts if it happened at most this long before.
    pub prepare_window_secs: i64,
    pub max_prepared_paths: usize,
    /// A bind/listen counts if it happened at most this long after the launch.
    pub follow_window_secs: i64,
    pub max_watched_launches: usize,
    /// A launch of the same program by another process within this time is a relaunch.
    pub relaunch_window_secs: i64,
    pub max_relaunch_targets: usize,
    /// Directories of boot, scheduler and service scripts.
    pub init_script_dirs: Vec<String>,
    /// Accounts of web servers and databases (names as logs resolve them).
    pub web_service_users: Vec<String>,
    /// The same accounts by number, for logs that do not resolve names (raw auditd).
    pub web_service_uids: Vec<u32>,
    /// Web server and database programs (base names; a version suffix such as
    /// `php-fpm8.2` matches `php-fpm`).
    pub web_service_programs: Vec<String>,
    /// Command-line fragments of web applications run by a generic runtime (Java).
    pub web_service_command_markers: Vec<String>,
    /// A downloader or decoder this close (either side) to a nohup'd shell started
    /// by the same parent or session feeds it.
    pub pipe_window_ms: i64,
    /// Development servers whose loopback-only listener weighs less.
    pub dev_servers: Vec<String>,
}

/// A finding to amend with an indicator, and the event that made it fire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Amendment {
    pub id: FindingId,
    pub indicator: &'static str,
    pub related: Related,
}

/// What correlation adds to one launch: indicators, and the evidence of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchContext {
    pub indicators: Vec<&'static str>,
    pub related: Vec<Related>,
}

/// State pushed out by the count limits before its time ran out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CorrelationStats {
    pub processes_dropped: u64,
    pub preparations_dropped: u64,
    pub launches_dropped: u64,
}

impl CorrelationStats {
    /// Lines for a run summary; empty when nothing was dropped.
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (n, what) in [
            (self.processes_dropped, "process-table entries"),
            (self.preparations_dropped, "chmod/download records"),
            (self.launches_dropped, "watched nohup launches"),
        ] {
            if n > 0 {
                out.push(format!(
                    "correlation: {n} {what} dropped before their window ended (limits in [correlation])"
                ));
            }
        }
        out
    }
}

/// Programs that run the script named by their first operand.
const SCRIPT_RUNNERS: &[&str] = &[
    "run-parts",
    "perl",
    "python",
    "ruby",
    "php",
    "env",
    "busybox",
];

/// Programs that make a file executable or write it into place.
const PREPARERS: &[&str] = &["chmod", "install", "cp", "mv", "ln", "dd", "tee"];

/// Decoders whose output a nohup'd shell may read (a feeder, like a download).
const DECODERS: &[&str] = &["base64", "base32", "basenc", "xxd", "openssl"];

/// Longest text kept per process-table field.
const MAX_FIELD_BYTES: usize = 512;
/// Arguments kept per process (enough to see `sh /etc/init.d/x start`).
const MAX_ARGS_KEPT: usize = 4;

/// FNV-1a of a host name: table keys stay small and allocation-free.
fn host_key(host: &str) -> u64 {
    host.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The longest prefix of `s` of at most [`MAX_FIELD_BYTES`] on a char boundary.
fn cap(s: &str) -> &str {
    let mut end = s.len().min(MAX_FIELD_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Fields of [`ProcInfo::text`] before the arguments: exe, user, cwd, command line.
const NAMED_FIELDS: usize = 4;
/// The field of [`ProcInfo::text`] that holds the parent's GUID, after the arguments.
const PARENT_GUID_FIELD: usize = NAMED_FIELDS + MAX_ARGS_KEPT;

/// What the table remembers of one process (its latest exec). Its text fields
/// share one allocation: the table holds tens of thousands of these. Kept small
/// (its ring entry is 128 bytes): a larger entry is moved by a `memcpy` call whose
/// wide loads cannot take the entry's bytes from the stores that just made it, and
/// wait for every older store to reach the cache, the table's own cache misses
/// included (measured with `perf`: 5 % of a large audit hunt went there).
#[derive(Debug, Clone)]
struct ProcInfo {
    pid: u32,
    /// How many arguments `text` holds.
    args: u8,
    /// Whether the event named the parent's GUID (possibly empty).
    has_parent_guid: bool,
    /// exe, user, cwd, command line, up to [`MAX_ARGS_KEPT`] arguments, then the
    /// parent's GUID, each capped at [`MAX_FIELD_BYTES`], concatenated; `ends[i]`
    /// is where field i ends.
    ends: [u16; PARENT_GUID_FIELD + 1],
    ppid: Option<u32>,
    text: Box<str>,
    /// Where its exec is in the input (evidence for `init_script_parent`, …).
    source: Provenance,
}

impl ProcInfo {
    fn new(p: &ProcessStart, pid: u32) -> ProcInfo {
        let mut ends = [0u16; PARENT_GUID_FIELD + 1];
        let named = [
            p.exe.as_deref().unwrap_or_default(),
            p.user.as_deref().unwrap_or_default(),
            p.cwd.as_deref().unwrap_or_default(),
            p.command_line.as_str(),
        ];
        let args = &p.argv[..p.argv.len().min(MAX_ARGS_KEPT)];
        // Capped once, in a plain array: written on every exec.
        let mut capped = [""; PARENT_GUID_FIELD + 1];
        for (c, field) in capped.iter_mut().zip(named) {
            *c = cap(field);
        }
        for (c, arg) in capped[NAMED_FIELDS..].iter_mut().zip(args) {
            *c = cap(arg);
        }
        capped[PARENT_GUID_FIELD] = cap(p.parent_process_guid.as_deref().unwrap_or_default());
        let mut text = String::with_capacity(capped.iter().map(|f| f.len()).sum());
        // Fields past the arguments kept are empty: they end where the text does.
        for (end, field) in ends.iter_mut().zip(capped) {
            if !field.is_empty() {
                text.push_str(field);
            }
            *end = text.len() as u16;
        }
        ProcInfo {
            pid,
            args: args.len() as u8,
            has_parent_guid: p.parent_process_guid.is_some(),
            ends,
            ppid: p.ppid,
            text: text.into_boxed_str(),
            source: p.provenance.clone(),
        }
    }

    /// The parent's GUID, if the event named one.
    fn parent_guid(&self) -> Option<&str> {
        self.has_parent_guid.then(|| self.field(PARENT_GUID_FIELD))
    }

    fn field(&self, i: usize) -> &str {
        let start = if i == 0 {
            0
        } else {
            usize::from(self.ends[i - 1])
        };
        &self.text[start..usize::from(self.ends[i])]
    }

    fn non_empty(&self, i: usize) -> Option<&str> {
        Some(self.field(i)).filter(|s| !s.is_empty())
    }
}

/// One generation above a launch, from the table or from the event itself.
#[derive(Debug, Clone, Default)]
struct Ancestor {
    pid: Option<u32>,
    exe: Option<String>,
    args: Vec<String>,
    command_line: String,
    user: Option<String>,
    cwd: Option<String>,
    /// When and where its exec was seen, if it was.
    time: Option<chrono::DateTime<chrono::Utc>>,
    source: Option<Provenance>,
}

impl Ancestor {
    fn from_info(p: &ProcInfo, time_ms: i64) -> Ancestor {
        Ancestor {
            time: chrono::DateTime::from_timestamp_millis(time_ms),
            source: Some(p.source.clone()),
            pid: Some(p.pid),
            exe: p.non_empty(0).map(str::to_string),
            user: p.non_empty(1).map(str::to_string),
            cwd: p.non_empty(2).map(str::to_string),
            command_line: p.field(3).to_string(),
            args: (0..usize::from(p.args))
                .map(|i| p.field(NAMED_FIELDS + i).to_string())
                .collect(),
        }
    }

    /// This ancestor as the evidence for `indicator`.
    fn related(&self, indicator: &'static str) -> Related {
        let what = if self.command_line.is_empty() {
            self.exe.as_deref().unwrap_or_default()
        } else {
            self.command_line.as_str()
        };
        Related::new(indicator, what, self.time, self.pid, self.source.clone())
    }
}

#[derive(Clone)]
struct Watch {
    id: FindingId,
    listened: bool,
    /// A development server: a loopback-only listener weighs less.
    dev_server: bool,
}

/// How a payload's path was prepared before its launch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Prepared {
    /// `chmod +x`, `install`.
    made_executable: bool,
    /// Copied, moved, linked or written there.
    written: bool,
    /// Downloaded there (`curl -o`, `wget -O`).
    downloaded: bool,
    /// A copy or link of nohup itself.
    nohup_copy: bool,
}

/// What feeds a pipeline: a downloader writing to stdout, or a decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Feeder {
    Download,
    Decode,
}

impl Feeder {
    fn indicator(self) -> &'static str {
        match self {
            Feeder::Download => "download_tool",
            Feeder::Decode => "encoded_payload",
        }
    }
}

/// The processes of one pipeline share a parent (a shell's children) and a login
/// session (a subshell that never execs stands between `$(…)` and the shell).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Parent(u32),
    Session(u32),
}

fn families(p: &ProcessStart) -> impl Iterator<Item = Family> {
    p.ppid
        .filter(|&pp| pp > 1)
        .map(Family::Parent)
        .into_iter()
        .chain(p.session.map(Family::Session))
}

#[derive(Clone)]
struct Launched {
    pid: u32,
    id: FindingId,
    /// The launch, as evidence for a `relaunched` later.
    evidence: Related,
}

/// The correlation state of one input.
#[derive(Clone)]
pub struct Correlator {
    rules: CorrelationRules,
    commands: CommandRules,
    download_tools: Vec<String>,
    /// Finds any of chmod, install and the download tools in a command line at once.
    preparers: AhoCorasick,
    /// Rules out, from two bytes, an argv word that is none of the preparers,
    /// download tools and shells (most words of most execs).
    preparer_names: NameFilter,
    /// The same for the downloaders and decoders that feed a pipe.
    feeder_names: NameFilter,
    /// Tells the execs whose only command is argv itself.
    launchers: Launchers,
    processes: Bounded<(u64, u32), ProcInfo, FxBuildHasher>,
    guids: Bounded<(u64, Box<str>), u32>,
    /// How each path was prepared, and the command that last prepared it (the
    /// evidence a preparation indicator names).
    prepared: Bounded<(u64, Box<str>), (Prepared, Related)>,
    /// Downloaders and decoders (and their pid) by the parent and session they ran
    /// in; forgotten when another process of the family execs.
    feeders: Bounded<(u64, Family), (Feeder, u32, Related), FxBuildHasher>,
    /// nohup'd shells reading code (and their pid), by parent and session, for a
    /// feeder logged right after.
    fed: Bounded<(u64, Family), (FindingId, u32), FxBuildHasher>,
    watched: Bounded<(u64, u32), Watch, FxBuildHasher>,
    watched_guids: Bounded<(u64, Box<str>), (FindingId, bool)>,
    launched: Bounded<(u64, Box<str>), Launched>,
    latest_ms: i64,
    /// The windows of [`CorrelationRules`] in milliseconds (process, prepare,
    /// follow, relaunch), reckoned once: expiry runs on every event.
    windows_ms: [i64; 4],
    /// The last process start observed was an exec of a lone program
    /// ([`Launchers::lone_program`]).
    lone_exec: bool,
    /// Copies of nohup recorded so far (in `prepared`).
    nohup_copies: u64,
}

impl Correlator {
    /// Reads `[correlation]` and `[commands]`; `download_tools` are the programs whose
    /// output files count as prepared payloads.
    pub fn new(rules: &Rules, download_tools: Vec<String>) -> Result<Self, RulesError> {
        let c: CorrelationRules = rules.section("correlation")?;
        let commands: CommandRules = rules.section("commands")?;
        let mut needles: Vec<String> = ["chmod", "install", "cp", "mv", "ln", "dd", "tee", ">"]
            .map(String::from)
            .to_vec();
        needles.extend(download_tools.iter().cloned());
        let preparers = AhoCorasick::new(&needles).map_err(|e| RulesError::Section {
            section: "nohup".into(),
            message: format!("download_tools: {e}"),
        })?;
        let preparer_names = NameFilter::new(
            PREPARERS
                .iter()
                .copied()
                .chain(download_tools.iter().map(String::as_str))
                .chain(commands.shells.iter().map(String::as_str)),
        );
        let feeder_names = NameFilter::new(
            DECODERS
                .iter()
                .copied()
                .chain(download_tools.iter().map(String::as_str)),
        );
        let windows_ms = [
            c.process_ttl_secs,
            c.prepare_window_secs,
            c.follow_window_secs,
            c.relaunch_window_secs,
        ]
        .map(|secs| secs.saturating_mul(1000));
        Ok(Correlator {
            preparers,
            preparer_names,
            feeder_names,
            launchers: Launchers::new(&commands),
            processes: Bounded::new(c.max_processes),
            guids: Bounded::new(c.max_processes),
            prepared: Bounded::new(c.max_prepared_paths),
            feeders: Bounded::new(c.max_watched_launches),
            fed: Bounded::new(c.max_watched_launches),
            watched: Bounded::new(c.max_watched_launches),
            watched_guids: Bounded::new(c.max_watched_launches),
            launched: Bounded::new(c.max_relaunch_targets),
            rules: c,
            commands,
            download_tools,
            latest_ms: i64::MIN,
            windows_ms,
            lone_exec: false,
            nohup_copies: 0,
        })
    }

    /// The lowest input position of the evidence kept for launches still to come:
    /// the process table, payloads made executable, earlier launches (see
    /// [`crate::detectors::Detector::oldest_evidence`]).
    pub fn oldest_evidence(&self) -> Option<u64> {
        [
            self.processes.oldest_position(),
            self.guids.oldest_position(),
            self.prepared.oldest_position(),
            self.launched.oldest_position(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// What was dropped so far.
    pub fn stats(&self) -> CorrelationStats {
        CorrelationStats {
            processes_dropped: self.processes.dropped + self.guids.dropped,
            preparations_dropped: self.prepared.dropped + self.feeders.dropped,
            launches_dropped: self.watched.dropped
                + self.watched_guids.dropped
                + self.launched.dropped
                + self.fed.dropped,
        }
    }

    /// The log time of an event in milliseconds; events without a time are taken to
    /// happen at the latest time seen.
    fn time_of(&self, t: Option<chrono::DateTime<chrono::Utc>>) -> i64 {
        t.map_or(self.latest_ms, |t| t.timestamp_millis())
    }

    /// Bookkeeping for every event, before detection: ages state out, remembers
    /// payload preparations, and matches sockets to launches watched for them.
    pub fn observe(&mut self, event: &Event) -> Vec<Amendment> {
        if let Some(t) = event.time() {
            self.latest_ms = self.latest_ms.max(t.timestamp_millis());
        }
        self.expire();
        match event {
            Event::Process(p) => {
                let lone = match p.origin {
                    ProcessOrigin::Exec => self.launchers.lone_program(&p.argv),
                    _ => None,
                };
                self.lone_exec = lone.is_some();
                self.remember_preparations(p, lone);
                self.remember_feeder(p)
            }
            Event::FileWrite(f) => {
                self.remember_file_write(f);
                Vec::new()
            }
            Event::Network(n)
                if matches!(n.kind, NetworkKind::Bind | NetworkKind::Listen)
                    && n.local.as_deref().is_some_and(is_inet) =>
            {
                let loopback = n.local.as_deref().is_some_and(is_loopback);
                let host = host_key(&n.host);
                let mut found = None;
                if let Some(guid) = &n.process_guid {
                    found = self
                        .watched_guids
                        .get(&(host, Box::from(guid.as_str())))
                        .map(|(w, _)| *w);
                }
                if found.is_none() {
                    // The program itself (nohup execs it in the same pid) or a child.
                    let mut pid = n.pid;
                    let mut seen = Vec::new();
                    for _ in 0..=self.rules.max_ancestors {
                        let Some(p) = pid.filter(|p| *p > 1 && !seen.contains(p)) else {
                            break;
                        };
                        seen.push(p);
                        if let Some(w) = self.watched.get_mut(&(host, p)) {
                            if w.listened {
                                return Vec::new();
                            }
                            w.listened = true;
                            found = Some((w.id, w.dev_server));
                            break;
                        }
                        pid = self.processes.get(&(host, p)).and_then(|(i, _)| i.ppid);
                    }
                }
                found
                    .map(|(id, dev_server)| {
                        let indicator = if dev_server && loopback {
                            "loopback_dev_listener"
                        } else {
                            "net_listener"
                        };
                        let what = format!(
                            "{} {}{}",
                            match n.kind {
                                NetworkKind::Bind => "bind",
                                NetworkKind::Listen => "listen",
                                NetworkKind::Connect => "connect",
                            },
                            n.local.as_deref().unwrap_or("?"),
                            n.image
                                .as_deref()
                                .map(|i| format!(" by {i}"))
                                .unwrap_or_default()
                        );
                        vec![Amendment {
                            id,
                            indicator,
                            related: Related::new(
                                indicator,
                                &what,
                                n.time,
                                n.pid,
                                Some(n.provenance.clone()),
                            ),
                        }]
                    })
                    .unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }

    fn expire(&mut self) {
        if self.latest_ms == i64::MIN {
            return;
        }
        let [process, prepare, follow, relaunch] =
            self.windows_ms.map(|ms| self.latest_ms.saturating_sub(ms));
        self.processes.expire(process);
        self.guids.expire(process);
        self.prepared.expire(prepare);
        let pipe = self.latest_ms.saturating_sub(self.rules.pipe_window_ms);
        self.feeders.expire(pipe);
        self.fed.expire(pipe);
        self.watched.expire(follow);
        self.watched_guids.expire(follow);
        self.launched.expire(relaunch);
    }

    /// Remembers the paths a process start makes executable or writes, and the
    /// copies of nohup it makes.
    /// `lone`: the exec's lone program ([`Launchers::lone_program`]).
    fn remember_preparations(&mut self, p: &ProcessStart, lone: Option<&str>) {
        // Cheap test first: most execs run none of these programs. An exec's argv
        // words are compared by name (a path that merely contains `cp` or `ln` is not
        // parsed); shell text is searched as text.
        let runs_preparer = match (lone, &p.origin) {
            // The only command found is argv itself (no launcher, no shell string).
            (Some(prog), _) => {
                self.preparer_names.may_equal(prog)
                    && (PREPARERS.contains(&prog) || self.download_tools.iter().any(|t| t == prog))
            }
            (None, ProcessOrigin::Exec) => p.argv.iter().any(|w| {
                let name = basename(w);
                if !self.preparer_names.may_equal(name) {
                    return false;
                }
                PREPARERS.contains(&name)
                    || self.download_tools.iter().any(|t| t == name)
                    || (self.commands.shells.iter().any(|s| s == name)
                        && self.preparers.is_match(&p.command_line))
            }),
            _ => self.preparers.is_match(&p.command_line),
        };
        if !runs_preparer {
            return;
        }
        // A lone program's one command is argv itself (no redirection, not from
        // shell text): no walk, no copy of argv.
        if lone.is_some() {
            self.remember_prepared_by(p, &p.argv, None);
            return;
        }
        let invocations = match p.origin {
            ProcessOrigin::Exec => command::from_argv(&p.argv, &self.commands),
            _ => command::from_shell_text(&p.command_line, &self.commands),
        };
        for inv in &invocations {
            self.remember_prepared_by(p, &inv.words, Some(inv));
        }
    }

    /// Remembers the paths one command of `p`, `words`, makes executable or
    /// writes. `inv`: the command as found, for its shell redirections; `None` for
    /// an exec's own argv.
    fn remember_prepared_by(
        &mut self,
        p: &ProcessStart,
        words: &[String],
        inv: Option<&Invocation>,
    ) {
        let exec = |made_executable, written| Prepared {
            made_executable,
            written,
            ..Prepared::default()
        };
        let program = words.first().map_or("", |w| basename(w));
        let mut found: Vec<(String, Prepared)> = Vec::new();
        // Every path of `targets` prepared the same way.
        let add = |found: &mut Vec<_>, targets: Vec<String>, how: Prepared| {
            found.extend(targets.into_iter().map(|t| (t, how)));
        };
        match program {
            "chmod" => add(&mut found, chmod_targets(words), exec(true, false)),
            "install" => add(&mut found, install_targets(words), exec(true, true)),
            "dd" => add(&mut found, dd_targets(words), exec(false, true)),
            "tee" => add(&mut found, tee_targets(words), exec(false, true)),
            "cp" | "mv" | "ln" => {
                for (src, dest) in copy_targets(words) {
                    let nohup_copy = basename(&src) == "nohup";
                    self.nohup_copies += u64::from(nohup_copy);
                    found.push((
                        dest,
                        Prepared {
                            nohup_copy,
                            ..exec(false, true)
                        },
                    ));
                }
            }
            prog if self.download_tools.iter().any(|t| t == prog) => {
                let redirects = inv.map_or(&[][..], |inv| &inv.redirects);
                let how = Prepared {
                    downloaded: true,
                    ..Prepared::default()
                };
                add(&mut found, download_targets_of(words, redirects), how);
            }
            _ => {}
        }
        // `echo … > /bin/x`, `base64 -d > /tmp/x`: a redirection writes too.
        if let Some(inv) = inv.filter(|inv| inv.from_shell_text) {
            if !self.download_tools.iter().any(|t| t == program) {
                add(&mut found, redirect_targets(inv), exec(false, true));
            }
        }
        // The usual download (to stdout, a health check) prepares nothing.
        if found.is_empty() {
            return;
        }
        let host = host_key(&p.host);
        let time = self.time_of(p.time);
        let position = evidence_position(p.provenance.position);
        let evidence = Related::new(
            "payload_prepared",
            &command::join_argv(words),
            p.time,
            p.pid,
            Some(p.provenance.clone()),
        );
        for (path, how) in found {
            let path = resolve_for(&path, p.cwd.as_deref(), p.user.as_deref());
            let key = (host, Box::from(canonical(&path)));
            let merged = match self.prepared.get(&key) {
                Some(((old, _), _)) => Prepared {
                    made_executable: old.made_executable || how.made_executable,
                    written: old.written || how.written,
                    downloaded: old.downloaded || how.downloaded,
                    nohup_copy: old.nohup_copy || how.nohup_copy,
                },
                None => how,
            };
            self.prepared
                .insert_at(key, (merged, evidence.clone()), time, position);
        }
    }

    /// Remembers a downloader writing to stdout or a decoder by its parent and
    /// session; a nohup'd shell already launched beside it is amended.
    fn remember_feeder(&mut self, p: &ProcessStart) -> Vec<Amendment> {
        if p.origin != ProcessOrigin::Exec || p.argv.is_empty() {
            return Vec::new();
        }
        let prog = basename(&p.argv[0]);
        if !self.feeder_names.may_equal(prog) {
            return Vec::new();
        }
        let is_download = self.download_tools.iter().any(|t| t == prog);
        if !is_download && !DECODERS.contains(&prog) {
            return Vec::new();
        }
        // A download from this host (a health check) feeds no payload.
        let local = p.argv.iter().any(|a| {
            ["://127.", "://localhost", "://[::1]"]
                .iter()
                .any(|l| a.contains(l))
        });
        // An exec's argv is its one command: no redirection.
        let feeder = if is_download && !local && download_targets_of(&p.argv, &[]).is_empty() {
            Feeder::Download
        } else if argv_is_decoder(&p.argv) {
            Feeder::Decode
        } else {
            return Vec::new();
        };
        let host = host_key(&p.host);
        let time = self.time_of(p.time);
        let pid = p.pid.unwrap_or_default();
        let mut out = Vec::new();
        for family in families(p) {
            let evidence = Related::new(
                feeder.indicator(),
                &p.command_line,
                p.time,
                p.pid,
                Some(p.provenance.clone()),
            );
            self.feeders
                .insert((host, family), (feeder, pid, evidence), time);
            if let Some(((id, _), at)) = self.fed.get(&(host, family)) {
                if (time - at).abs() <= self.rules.pipe_window_ms
                    && !out.iter().any(|a: &Amendment| a.id == *id)
                {
                    out.push(Amendment {
                        id: *id,
                        indicator: feeder.indicator(),
                        related: Related::new(
                            feeder.indicator(),
                            &p.command_line,
                            p.time,
                            p.pid,
                            Some(p.provenance.clone()),
                        ),
                    });
                }
            }
        }
        out
    }

    /// The exe is a copy or link of nohup made on this host shortly before.
    pub fn is_nohup_copy(&self, p: &ProcessStart) -> bool {
        // The common case costs no lookup: no copy of nohup was seen at all.
        if self.nohup_copies == 0 {
            return false;
        }
        let Some(exe) = p.exe.as_deref() else {
            return false;
        };
        self.prepared
            .get(&(host_key(&p.host), Box::from(canonical(exe))))
            .is_some_and(|((prep, _), _)| prep.nohup_copy)
    }

    /// Whether the last process start [`Correlator::observe`] saw was an exec of
    /// a lone program ([`Launchers::lone_program`]): its only command is its argv.
    /// Read by the nohup detector for the same event, which then needs no walk.
    pub fn observed_lone_exec(&self) -> bool {
        self.lone_exec
    }

    /// Adds a process to the table (after detection looked at it: its own entry is
    /// not its parent).
    pub fn record_process(&mut self, p: &ProcessStart) {
        let Some(pid) = p.pid else { return };
        let host = host_key(&p.host);
        // A pipeline's members exec one after the other: another process of the same
        // parent or session in between means the feeder fed something else (`curl
        // …/health; make; nohup sh -c …` is a sequence, not a substitution).
        // Nothing to forget, the usual case, costs no lookup.
        if p.origin == ProcessOrigin::Exec && !(self.feeders.is_empty() && self.fed.is_empty()) {
            for family in families(p) {
                let key = (host, family);
                if self
                    .feeders
                    .get(&key)
                    .is_some_and(|((_, fpid, _), _)| *fpid != pid)
                {
                    self.feeders.remove(&key);
                }
                if self
                    .fed
                    .get(&key)
                    .is_some_and(|((_, fpid), _)| *fpid != pid)
                {
                    self.fed.remove(&key);
                }
            }
        }
        let time = self.time_of(p.time);
        let position = evidence_position(p.provenance.position);
        self.processes
            .insert_at((host, pid), ProcInfo::new(p, pid), time, position);
        if let Some(guid) = &p.process_guid {
            self.guids
                .insert_at((host, Box::from(cap(guid))), pid, time, position);
        }
    }

    /// The ancestors of `p`, nearest first: the parent the event names (Sysmon's
    /// ParentImage), then the table's chain by GUID or pid.
    fn ancestors(&self, p: &ProcessStart) -> Vec<Ancestor> {
        let host = host_key(&p.host);
        let mut out = Vec::new();
        if p.parent_exe.is_some() || p.parent_command_line.is_some() {
            let command_line = p.parent_command_line.clone().unwrap_or_default();
            out.push(Ancestor {
                pid: p.ppid,
                exe: p.parent_exe.clone(),
                args: command_line
                    .split_ascii_whitespace()
                    .take(MAX_ARGS_KEPT)
                    .map(str::to_string)
                    .collect(),
                command_line,
                user: None,
                cwd: None,
                // The launch's own record names this parent.
                time: p.time,
                source: Some(p.provenance.clone()),
            });
        }
        let by_guid = |g: &str| self.by_guid(host, g);
        let mut next = self.parent_entry(host, p);
        let mut seen: Vec<u32> = p.pid.into_iter().collect();
        // The event's own parent fields already stand for the first generation.
        if !out.is_empty() {
            if let Some((first, _)) = next {
                if Some(first.pid) == p.ppid {
                    out[0].user = first.non_empty(1).map(str::to_string);
                    out[0].cwd = first.non_empty(2).map(str::to_string);
                    seen.push(first.pid);
                    next = self.parent_of(host, first, by_guid);
                }
            }
        }
        while out.len() < self.rules.max_ancestors.max(1) {
            let Some((info, time_ms)) = next else { break };
            if seen.contains(&info.pid) {
                break;
            }
            seen.push(info.pid);
            out.push(Ancestor::from_info(info, time_ms));
            next = self.parent_of(host, info, by_guid);
        }
        out
    }

    /// The pid of `p`'s parent's parent, when the table has the parent: a shell
    /// reading a script from a pipe stands between the command that piped it and
    /// what the script runs (`sh -c "echo … | base64 -d | sh"`).
    pub fn grandparent(&self, p: &ProcessStart) -> Option<u32> {
        let host = host_key(&p.host);
        let (parent, _) = self.parent_entry(host, p)?;
        if let Some((grand, _)) = parent.parent_guid().and_then(|g| self.by_guid(host, g)) {
            return Some(grand.pid);
        }
        parent.ppid.filter(|&pp| pp > 0 && pp != parent.pid)
    }

    /// The table's entry of the process a GUID names.
    fn by_guid(&self, host: u64, guid: &str) -> Option<(&ProcInfo, i64)> {
        self.guids
            .get(&(host, Box::from(guid)))
            .and_then(|(pid, _)| self.processes.get(&(host, *pid)))
    }

    /// The table's entry of `p`'s parent: by the parent GUID the event names, else
    /// by its parent pid.
    fn parent_entry(&self, host: u64, p: &ProcessStart) -> Option<(&ProcInfo, i64)> {
        p.parent_process_guid
            .as_deref()
            .and_then(|g| self.by_guid(host, g))
            .or_else(|| p.ppid.and_then(|pp| self.processes.get(&(host, pp))))
    }

    fn parent_of<'a>(
        &'a self,
        host: u64,
        info: &ProcInfo,
        by_guid: impl Fn(&str) -> Option<(&'a ProcInfo, i64)>,
    ) -> Option<(&'a ProcInfo, i64)> {
        info.parent_guid().and_then(by_guid).or_else(|| {
            info.ppid
                .filter(|&pp| pp > 0 && pp != info.pid)
                .and_then(|pp| self.processes.get(&(host, pp)))
        })
    }

    /// The parent and correlated indicators of a launch found in `p`. `payloads` are
    /// the resolved paths of what runs, `target_key` names the launch for relaunch
    /// matching, `same` is the finding `p` is merged into, if any.
    pub fn launch_context(
        &self,
        p: &ProcessStart,
        payloads: &[String],
        target_key: &str,
        same: Option<FindingId>,
        reads_code: bool,
    ) -> LaunchContext {
        let host = host_key(&p.host);
        let time = self.time_of(p.time);
        let ancestors = self.ancestors(p);
        let mut context = LaunchContext::default();
        let mut fire = |indicator: &'static str, evidence: Related| {
            context.indicators.push(indicator);
            context.related.push(evidence);
        };

        let preparations: Vec<&(Prepared, Related)> = payloads
            .iter()
            .filter_map(|path| self.prepared.get(&(host, Box::from(canonical(path)))))
            .filter(|(_, t)| *t <= time)
            .map(|(prepared, _)| prepared)
            .collect();
        for (indicator, made) in [
            (
                "payload_made_executable",
                (|p: &Prepared| p.made_executable) as fn(&Prepared) -> bool,
            ),
            ("payload_written", |p: &Prepared| p.written),
            ("payload_downloaded", |p: &Prepared| p.downloaded),
        ] {
            if let Some((_, by)) = preparations.iter().find(|(prep, _)| made(prep)) {
                let mut evidence = by.clone();
                evidence.indicator = indicator;
                fire(indicator, evidence);
            }
        }
        let mut feeders_fired: Vec<&'static str> = Vec::new();
        if reads_code {
            for family in families(p) {
                if let Some(((feeder, _, evidence), at)) = self.feeders.get(&(host, family)) {
                    let indicator = feeder.indicator();
                    if (time - at).abs() <= self.rules.pipe_window_ms
                        && !feeders_fired.contains(&indicator)
                    {
                        feeders_fired.push(indicator);
                        fire(indicator, evidence.clone());
                    }
                }
            }
        }
        if let Some(a) = ancestors.iter().find(|a| self.is_init_script(a)) {
            fire("init_script_parent", a.related("init_script_parent"));
        }
        if let Some(user) = p.user.as_deref().filter(|u| self.is_web_user(u)) {
            let evidence = Related::new(
                "web_service_parent",
                &format!("runs as user {user}"),
                p.time,
                p.pid,
                Some(p.provenance.clone()),
            );
            fire("web_service_parent", evidence);
        } else if let Some(a) = ancestors.iter().find(|a| self.is_web_service(a)) {
            fire("web_service_parent", a.related("web_service_parent"));
        }
        if let (Some(pid), Some((prev, _))) =
            (p.pid, self.launched.get(&(host, Box::from(target_key))))
        {
            if prev.pid != pid
                && Some(prev.id) != same
                && !ancestors.iter().any(|a| a.pid == Some(prev.pid))
            {
                fire("relaunched", prev.evidence.clone());
            }
        }
        context
    }

    /// Watches a launch for later evidence (a socket), and remembers it for relaunches.
    pub fn register_launch(
        &mut self,
        p: &ProcessStart,
        target_key: &str,
        id: FindingId,
        launch: LaunchKind,
    ) {
        let Some(pid) = p.pid else { return };
        let host = host_key(&p.host);
        let time = self.time_of(p.time);
        let position = evidence_position(p.provenance.position);
        // Watches only amend findings the engine still holds (whose evidence it
        // keeps): no position. A launch is evidence for a later relaunch.
        self.watched.insert_at(
            (host, pid),
            Watch {
                id,
                listened: false,
                dev_server: launch.dev_server,
            },
            time,
            None,
        );
        if let Some(guid) = &p.process_guid {
            self.watched_guids
                .insert((host, Box::from(cap(guid))), (id, launch.dev_server), time);
        }
        if launch.reads_code {
            for family in families(p) {
                self.fed.insert((host, family), (id, pid), time);
            }
        }
        let evidence = Related::new(
            "relaunched",
            &p.command_line,
            p.time,
            Some(pid),
            Some(p.provenance.clone()),
        );
        self.launched.insert_at(
            (host, Box::from(cap(target_key))),
            Launched { pid, id, evidence },
            time,
            position,
        );
    }

    fn under_init_dir(&self, path: &str) -> bool {
        self.rules
            .init_script_dirs
            .iter()
            .any(|d| path.starts_with(d.as_str()))
    }

    /// The process runs a script from a boot, rc, cron or systemd directory: its
    /// image, or the script a shell or interpreter was given (the kernel runs a `#!`
    /// script as `interpreter script args`), or the directory `run-parts` runs.
    fn is_init_script(&self, a: &Ancestor) -> bool {
        let resolve_arg = |w: &str| resolve(w, a.cwd.as_deref());
        let runs_scripts = a.args.first().is_some_and(|w| {
            let name = basename(w);
            self.commands.shells.iter().any(|s| s == name)
                || SCRIPT_RUNNERS.iter().any(|r| {
                    name == *r
                        || (name.starts_with(r)
                            && name[r.len()..]
                                .chars()
                                .all(|c| c.is_ascii_digit() || c == '.'))
                })
        });
        a.exe.as_deref().is_some_and(|e| self.under_init_dir(e))
            || a.args
                .first()
                .is_some_and(|w| self.under_init_dir(&resolve_arg(w)))
            || (runs_scripts
                && a.args[1..]
                    .iter()
                    .find(|w| !w.starts_with('-'))
                    .is_some_and(|w| self.under_init_dir(&resolve_arg(w))))
    }

    fn is_web_user(&self, user: &str) -> bool {
        self.rules.web_service_users.iter().any(|u| u == user)
            || user
                .parse::<u32>()
                .is_ok_and(|uid| self.rules.web_service_uids.contains(&uid))
    }

    fn is_web_program(&self, path: &str) -> bool {
        let name = basename(path);
        self.rules.web_service_programs.iter().any(|p| {
            name == p
                || name.strip_prefix(p.as_str()).is_some_and(|rest| {
                    rest.chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == ':')
                })
        })
    }

    fn is_web_service(&self, a: &Ancestor) -> bool {
        a.user.as_deref().is_some_and(|u| self.is_web_user(u))
            || a.exe.as_deref().is_some_and(|e| self.is_web_program(e))
            || a.args.first().is_some_and(|w| self.is_web_program(w))
            || self
                .rules
                .web_service_command_markers
                .iter()
                .any(|m| a.command_line.contains(m.as_str()))
    }
}

/// What a launch is, for the evidence that arrives after it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LaunchKind {
    /// A development server ([`CorrelationRules::dev_servers`]).
    pub dev_server: bool,
    /// A shell or interpreter reading its code from stdin or a `-c` string.
    pub reads_code: bool,
}

impl Correlator {
    /// Whether `name` (a program or module name) is a development server.
    pub fn is_dev_server(&self, name: &str) -> bool {
        self.rules.dev_servers.iter().any(|d| d == name)
    }
}

/// A network socket address (`1.2.3.4:80`, `[::1]:80`), not a unix one (`unix:…`;
/// sources give no address at all for netlink and other families).
fn is_inet(addr: &str) -> bool {
    !addr.is_empty() && !addr.starts_with("unix:")
}

/// A loopback address (`127.0.0.0/8`, `::1`), with or without brackets.
fn is_loopback(addr: &str) -> bool {
    let a = addr.trim_start_matches('[');
    a.starts_with("127.")
        || a.starts_with("::1]")
        || a.starts_with("::1:")
        || a.starts_with("::ffff:127.")
}

/// One name for paths macOS reaches through its /tmp and /var symlinks
/// (`/private/tmp/x` is `/tmp/x`), so that a preparation typed one way meets the
/// image the kernel reports the other way.
fn canonical(path: &str) -> &str {
    match path.strip_prefix("/private") {
        Some(rest)
            if rest.starts_with("/tmp/")
                || rest.starts_with("/var/")
                || rest.starts_with("/etc/") =>
        {
            rest
        }
        _ => path,
    }
}

/// `path` resolved like [`resolve`], with `~` expanded to `user`'s home first.
pub fn resolve_for(path: &str, cwd: Option<&str>, user: Option<&str>) -> String {
    if path.starts_with('~') {
        return match expand_home(path, user) {
            Some(home) => resolve(&home, None),
            None => path.to_string(),
        };
    }
    resolve(path, cwd)
}

/// `path` made absolute against `cwd` when it is relative, with `.` and `..` folded.
pub fn resolve(path: &str, cwd: Option<&str>) -> String {
    let joined = match cwd {
        Some(cwd) if !path.starts_with('/') => format!("{}/{path}", cwd.trim_end_matches('/')),
        _ => path.to_string(),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if joined.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

mod bounded;
mod file_write;

use bounded::Bounded;
#[doc(hidden)]
pub use bounded::churn as table_churn;
#[cfg(test)]
mod tests;
