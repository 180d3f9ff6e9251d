//! Live host checks (`sighunt live`): running processes that ignore a terminating
//! signal, read from procfs (`detection_type = signal_ignore_live`).
//!
//! Every process's ignored signals are read (`/proc/PID/stat`'s `sigignore` field
//! as a cheap first filter, then `/proc/PID/status` `SigIgn`, bit N-1 = signal N);
//! those that ignore one of the rule data's `reported_signals` (HUP, INT, QUIT, TERM)
//! are examined further for what separates an implant from a daemon: a deleted,
//! `memfd:`, temp or hidden executable, a name that does not match it, a packet or
//! listening socket, a socket on stdin/stdout, no terminal, a dead launcher, nohup.
//! Every other process costs one read, which keeps a scan of 1,000 processes under
//! 100 ms. Nothing is written and nothing is signalled; a process that cannot be read
//! (permissions, or it exited mid-scan) is counted, never fatal.

mod beneath;
pub mod procfs;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use crate::command::join_argv;
use crate::command::{self, CommandRules, basename};
use crate::detectors::signal_mask::{indicator_name, signal_number};
use crate::event::{Platform, Position, Provenance};
use crate::finding::{DetectionType, Finding, Severity};
use crate::rules::{IndicatorRule, Rules, RulesError, Scorer, de_severity};
use procfs::{NetTables, PF_KTHREAD, Procfs, SigSet, Stat, Status};

/// `[signal_live]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LiveRules {
    #[serde(deserialize_with = "de_severity")]
    pub base_severity: Severity,
    pub reported_signals: Vec<String>,
    pub incidental_signals: Vec<String>,
    #[serde(deserialize_with = "de_severity")]
    pub incidental_max_severity: Severity,
    pub incidental_overridden_by: Vec<String>,
    pub temp_dirs: Vec<String>,
    pub system_dirs: Vec<String>,
    pub hidden_dir_allow: Vec<String>,
    pub interpreters: Vec<String>,
    pub masquerade_names: Vec<String>,
    pub subreapers: Vec<String>,
    pub build_tools: Vec<String>,
    pub service_cgroups: Vec<String>,
    pub allow_overridden_by: Vec<String>,
    pub allow: Vec<AllowEntry>,
    pub indicators: Vec<IndicatorRule>,
}

/// Programs that ignore signals by design (`[[signal_live.allow]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowEntry {
    /// Executable base names, matched only in `system_dirs`.
    #[serde(default)]
    pub programs: Vec<String>,
    /// Scripts run by an interpreter, by absolute path.
    #[serde(default)]
    pub scripts: Vec<String>,
    #[serde(deserialize_with = "de_severity")]
    pub max_severity: Severity,
    pub reason: String,
}

/// A live check could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("cannot list processes in {path} (live checks need a Linux procfs; see --proc-root)")]
    NoProcfs { path: String, source: io::Error },
    #[error(transparent)]
    Rules(#[from] RulesError),
}

/// What to scan.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// The procfs mount (`/proc`; `/host/proc` from a container; a fake tree in tests).
    pub proc_root: PathBuf,
    /// Only these processes; all when empty.
    pub pids: Vec<u32>,
    /// Where user names come from; numeric uids when `None` or unreadable.
    pub passwd: Option<PathBuf>,
    /// Processes never reported: the scanner itself (see [`own_processes`]).
    pub exclude_pids: Vec<u32>,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            proc_root: PathBuf::from("/proc"),
            pids: Vec::new(),
            passwd: Some(PathBuf::from("/etc/passwd")),
            exclude_pids: Vec::new(),
        }
    }
}

/// A process's identity across scans: pids are reused, (pid, start time) is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub pid: u32,
    pub start_ticks: u64,
}

/// One reported process.
#[derive(Debug, Clone)]
pub struct LiveHit {
    pub key: ProcessKey,
    pub finding: Finding,
    /// Every signal the process ignores, by number.
    pub ignored: Vec<u32>,
    /// An allow-list entry (`[[signal_live.allow]]`) capped its severity and no
    /// overriding indicator fired: a known daemon, hidden unless asked for.
    pub allow_listed: bool,
}

/// Counters for the summary line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveStats {
    /// Processes whose status was read.
    pub processes: u64,
    pub kernel_threads: u64,
    /// Processes whose status could not be read (permissions, not a process).
    pub unreadable: u64,
    /// Processes that exited between listing and reading.
    pub vanished: u64,
    /// Reported processes some of whose context could not be read (exe, fds:
    /// another user's process without root).
    pub partial: u64,
    pub elapsed: Duration,
}

impl LiveStats {
    /// The value of a `/proc` read, or `None` with the reason counted: a process
    /// that exited meanwhile has vanished, anything else is unreadable.
    fn counted<T>(&mut self, read: io::Result<Option<T>>) -> Option<T> {
        match read {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.unreadable += 1;
                None
            }
            Err(e) => {
                match e.kind() {
                    io::ErrorKind::NotFound => self.vanished += 1,
                    _ => self.unreadable += 1,
                }
                None
            }
        }
    }
}

impl LiveStats {
    pub fn summary(&self, findings: &[Finding]) -> String {
        let mut per = [0u64; 5];
        for f in findings {
            per[f.severity as usize] += 1;
        }
        let per: Vec<String> = Severity::ALL
            .iter()
            .rev()
            .map(|s| format!("{} {s}", per[*s as usize]))
            .collect();
        format!(
            "sighunt live: {} processes ({} kernel threads skipped), {} finding{} ({}), {} unreadable, {} exited during the scan, {} partly readable, {} ms",
            self.processes,
            self.kernel_threads,
            findings.len(),
            if findings.len() == 1 { "" } else { "s" },
            per.join(", "),
            self.unreadable,
            self.vanished,
            self.partial,
            self.elapsed.as_millis(),
        )
    }
}

/// The result of one scan: reported processes, highest severity first.
#[derive(Debug, Default)]
pub struct LiveReport {
    pub hits: Vec<LiveHit>,
    pub stats: LiveStats,
}

/// Scans a procfs tree; reusable across scans (`--watch`).
pub struct LiveScanner {
    rules: LiveRules,
    commands: CommandRules,
    scorer: Scorer,
    proc: Procfs,
    pids: Vec<u32>,
    exclude_pids: Vec<u32>,
    users: HashMap<u32, String>,
    reported: SigSet,
    /// Signals a shell ignores for its `&` jobs (`incidental_signals`).
    incidental: SigSet,
    clk_tck: u64,
    host: String,
    root_label: String,
}

/// Everything read about one candidate process.
struct Context {
    pid: u32,
    status: Status,
    stat: Stat,
    exe: Option<String>,
    argv: Vec<String>,
    cgroup: String,
    fds: Vec<(u32, String)>,
    parent_comm: Option<String>,
    parent_exe: Option<String>,
    parent_argv: Vec<String>,
    cwd: Option<String>,
    partial: bool,
}

impl LiveScanner {
    pub fn new(rules: &Rules, options: LiveOptions) -> Result<LiveScanner, LiveError> {
        let own: LiveRules = rules.section("signal_live")?;
        let commands: CommandRules = rules.section("commands")?;
        let scorer = Scorer::new(own.indicators.clone(), own.base_severity, rules);
        let reported = SigSet::of(own.reported_signals.iter().filter_map(|s| signal_number(s)));
        let incidental = SigSet::of(
            own.incidental_signals
                .iter()
                .filter_map(|s| signal_number(s)),
        );
        let users = options
            .passwd
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|t| procfs::parse_passwd(&t))
            .unwrap_or_default();
        let mut proc = Procfs::new(&options.proc_root);
        let host = proc
            .read_string("sys/kernel/hostname", 256)
            .map(|h| h.trim().to_string())
            .unwrap_or_default();
        Ok(LiveScanner {
            rules: own,
            commands,
            scorer,
            root_label: options
                .proc_root
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string(),
            proc,
            pids: options.pids,
            exclude_pids: options.exclude_pids,
            users,
            reported,
            incidental,
            clk_tck: clock_ticks(),
            host,
        })
    }

    /// One pass over the processes.
    pub fn scan(&mut self) -> Result<LiveReport, LiveError> {
        let started = Instant::now();
        let mut report = LiveReport::default();
        let pids = if self.pids.is_empty() {
            self.proc.pids().map_err(|source| LiveError::NoProcfs {
                path: self.proc.root().display().to_string(),
                source,
            })?
        } else {
            self.pids.clone()
        };
        let boot = self
            .proc
            .read_string("stat", 1 << 20)
            .ok()
            .and_then(|t| procfs::parse_btime(&t));
        // Socket tables are read once per network namespace, and only if needed.
        let mut nets: HashMap<String, Arc<NetTables>> = HashMap::new();
        let scan_time = Utc::now();
        let pids: Vec<u32> = pids
            .into_iter()
            .filter(|p| !self.exclude_pids.contains(p))
            .collect();

        // `stat` carries the classic signals' SigIgn too (decimal, signals 1-31) and is
        // cheaper for the kernel to render than `status`, which is read only for the
        // processes that ignore a reported signal.
        let prefilter = self.reported.0 >> 31 == 0;
        for pid in pids {
            let Some(stat) = report.stats.counted(self.proc.stat(pid)) else {
                continue;
            };
            report.stats.processes += 1;
            if prefilter
                && stat
                    .sig_ign
                    .is_some_and(|ign| !ign.intersects(self.reported))
            {
                continue;
            }
            // Kernel threads ignore every signal and have no program to judge.
            if stat.flags & PF_KTHREAD != 0 || pid == 2 || stat.ppid == 2 {
                report.stats.kernel_threads += 1;
                continue;
            }
            if stat.state == 'Z' || stat.state == 'X' {
                continue; // a zombie has exited; nothing left to stop
            }
            let Some(status) = report.stats.counted(self.proc.status(pid)) else {
                continue;
            };
            if !status.sig_ign.intersects(self.reported) {
                continue;
            }
            let ctx = self.context(pid, status, stat);
            if ctx.partial {
                report.stats.partial += 1;
            }
            let net = self.net_tables(&ctx, &mut nets);
            let starttime = ctx.stat.starttime;
            let time = boot
                .and_then(|b| {
                    let tck = self.clk_tck.max(1);
                    let secs = i64::try_from(starttime / tck).ok()?;
                    let millis = (starttime % tck) * 1000 / tck;
                    Utc.timestamp_opt(b.checked_add(secs)?, (millis * 1_000_000) as u32)
                        .single()
                })
                .unwrap_or(scan_time);
            report.hits.push(self.judge(ctx, &net, time));
        }
        report.hits.sort_by(|a, b| {
            b.finding
                .severity
                .cmp(&a.finding.severity)
                .then(b.finding.time.cmp(&a.finding.time))
                .then(a.key.cmp(&b.key))
        });
        report.stats.elapsed = started.elapsed();
        Ok(report)
    }

    /// Judges one process now, exactly as a scan would (`sighunt sense` calls it
    /// when the kernel reports a SIG_IGN). `Ok(None)`: a kernel thread or zombie,
    /// or none of the reported signals ignored (any more). An error: the process
    /// cannot be read (`NotFound` when it has exited).
    pub fn judge_pid(&mut self, pid: u32, time: DateTime<Utc>) -> io::Result<Option<LiveHit>> {
        let unparsable = || io::Error::new(io::ErrorKind::InvalidData, "unparsable procfs entry");
        let stat = self.proc.stat(pid)?.ok_or_else(unparsable)?;
        if stat.flags & PF_KTHREAD != 0 || stat.state == 'Z' || stat.state == 'X' {
            return Ok(None);
        }
        let status = self.proc.status(pid)?.ok_or_else(unparsable)?;
        if !status.sig_ign.intersects(self.reported) {
            return Ok(None);
        }
        let ctx = self.context(pid, status, stat);
        let net = self.net_tables(&ctx, &mut HashMap::new());
        Ok(Some(self.judge(ctx, &net, time)))
    }

    /// Reads what the judgement needs; unreadable parts are left empty and noted.
    fn context(&mut self, pid: u32, status: Status, stat: Stat) -> Context {
        let denied = |e: &io::Error| e.kind() == io::ErrorKind::PermissionDenied;
        let exe = self.proc.link(&format!("{pid}/exe"));
        let argv = self.proc.cmdline(pid);
        let cgroup = self
            .proc
            .read_string(&format!("{pid}/cgroup"), 64 * 1024)
            .unwrap_or_default();
        let fds = self.proc.fds(pid);
        let partial = exe.as_ref().is_err_and(denied)
            || argv.as_ref().is_err_and(denied)
            || fds.as_ref().is_err_and(denied);
        let ppid = stat.ppid;
        let parent_comm = (ppid > 0)
            .then(|| self.proc.stat(ppid).ok().flatten().map(|s| s.comm))
            .flatten();
        let parent_exe = (ppid > 0)
            .then(|| self.proc.link(&format!("{ppid}/exe")).ok())
            .flatten();
        let parent_argv = if ppid > 0 {
            self.proc.cmdline(ppid).unwrap_or_default()
        } else {
            Vec::new()
        };
        Context {
            pid,
            status,
            stat,
            exe: exe.ok(),
            argv: argv.unwrap_or_default(),
            cgroup,
            fds: fds.unwrap_or_default(),
            parent_comm,
            parent_exe,
            parent_argv,
            cwd: None,
            partial,
        }
    }

    fn net_tables(
        &mut self,
        ctx: &Context,
        cache: &mut HashMap<String, Arc<NetTables>>,
    ) -> Arc<NetTables> {
        if !ctx.fds.iter().any(|(_, l)| l.starts_with("socket:[")) {
            return Arc::new(NetTables::default());
        }
        // Each network namespace has its own tables; /proc/PID/net shows the
        // process's own. Without a readable ns link, the reader's tables are used.
        let (key, dir) = match self.proc.link(&format!("{}/ns/net", ctx.pid)) {
            Ok(ns) => (ns, format!("{}/net", ctx.pid)),
            Err(_) => (String::new(), "net".to_string()),
        };
        if let Some(t) = cache.get(&key) {
            return t.clone();
        }
        let mut tables = NetTables::read(&mut self.proc, &dir);
        if tables.packet.is_empty() && tables.inet.is_empty() && dir != "net" {
            tables = NetTables::read(&mut self.proc, "net");
        }
        let tables = Arc::new(tables);
        cache.insert(key, tables.clone());
        tables
    }

    fn is_interpreter(&self, name: &str) -> bool {
        self.rules.interpreters.iter().any(|i| {
            name == i
                || (name.starts_with(i.as_str())
                    && name[i.len()..]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == '.'))
        })
    }

    fn in_system_dir(&self, path: &str) -> bool {
        self.rules
            .system_dirs
            .iter()
            .any(|d| path.starts_with(d.as_str()))
    }

    /// The script an interpreter runs (`bash /tmp/x.sh`, `python3 -u /dev/shm/a.py`),
    /// made absolute against the working directory; `None` for inline code.
    fn script(&mut self, ctx: &mut Context) -> Option<String> {
        let mut it = ctx.argv.iter().skip(1);
        let mut script = None;
        while let Some(w) = it.next() {
            if matches!(
                w.as_str(),
                "-c" | "-e" | "-E" | "-m" | "--eval" | "-p" | "--command"
            ) {
                return None;
            }
            if w == "--" {
                script = it.next().cloned();
                break;
            }
            if w.starts_with('-') && w.len() > 1 {
                // Options with a separate argument (python -W/-X, bash -o/-O, java -cp).
                if matches!(
                    w.as_str(),
                    "-W" | "-X" | "-o" | "-O" | "+O" | "-cp" | "-classpath"
                ) {
                    it.next();
                }
                // Combined short flags ending in an inline-code flag (`bash -lc`).
                if !w.starts_with("--") && (w.ends_with('c') || w.ends_with('e')) && w.len() <= 4 {
                    return None;
                }
                continue;
            }
            script = Some(w.clone());
            break;
        }
        let script = script?;
        if script.starts_with('/') {
            return Some(script);
        }
        if ctx.cwd.is_none() {
            ctx.cwd = self.proc.link(&format!("{}/cwd", ctx.pid)).ok();
        }
        ctx.cwd.as_ref().map(|cwd| {
            format!(
                "{}/{}",
                cwd.trim_end_matches('/'),
                script.trim_start_matches("./")
            )
        })
    }

    fn judge(&mut self, mut ctx: Context, net: &NetTables, time: DateTime<Utc>) -> LiveHit {
        let exe_raw = ctx.exe.clone().unwrap_or_default();
        let deleted = exe_raw.ends_with(" (deleted)");
        let exe_path = exe_raw
            .strip_suffix(" (deleted)")
            .unwrap_or(&exe_raw)
            .to_string();
        let memfd = exe_path.starts_with("/memfd:");
        let exe_name = basename(&exe_path).to_string();
        let interpreter = !exe_path.is_empty() && self.is_interpreter(&exe_name);
        let script = if interpreter {
            self.script(&mut ctx)
        } else {
            None
        };

        let r = &self.rules;
        let ign = ctx.status.sig_ign;
        let mut fired: Vec<String> = ign.signals().filter_map(indicator_name).collect();
        if ctx.status.sig_blk.intersects(self.reported) {
            fired.push("blocks_term_signals".into());
        }
        if memfd {
            fired.push("exe_memfd".into());
        } else if deleted {
            fired.push("exe_deleted".into());
        }
        let mut locations: Vec<&str> = Vec::new();
        if !exe_path.is_empty() && !memfd {
            locations.push(&exe_path);
        }
        if let Some(s) = &script {
            locations.push(s);
        }
        let temp = locations
            .iter()
            .any(|p| r.temp_dirs.iter().any(|d| p.starts_with(d.as_str())));
        let hidden = locations
            .iter()
            .any(|p| is_hidden(p) && !r.hidden_dir_allow.iter().any(|a| p.contains(a.as_str())));
        // A build tool running what it just built in its temp tree (cargo install's
        // build scripts, `go run`): the parent's executable, not a name, says so.
        let in_temp = |p: &str| r.temp_dirs.iter().any(|d| p.starts_with(d.as_str()));
        let built = ctx.parent_exe.as_deref().is_some_and(|p| {
            !p.ends_with(" (deleted)")
                && !in_temp(p)
                && r.build_tools.iter().any(|t| t == basename(p))
        });
        if built && (temp || hidden) {
            fired.push("toolchain_build".into());
        } else {
            if temp {
                fired.push("exe_temp_dir".into());
            }
            if hidden {
                fired.push("hidden_path".into());
            }
        }
        if !exe_path.is_empty()
            && self.masquerades(&ctx, &exe_path, &exe_name, deleted || memfd, interpreter)
        {
            fired.push("name_masquerade".into());
        }

        let sockets: BTreeSet<u64> = ctx
            .fds
            .iter()
            .filter_map(|(_, l)| procfs::socket_inode(l))
            .collect();
        if sockets.iter().any(|i| net.packet.contains(i)) {
            fired.push("packet_socket".into());
        }
        let stdio_inet = ctx
            .fds
            .iter()
            .filter(|(fd, _)| *fd <= 1)
            .filter_map(|(_, l)| procfs::socket_inode(l))
            .any(|i| net.inet.contains_key(&i));
        if stdio_inet {
            fired.push("stdio_socket".into());
        }
        if sockets.iter().any(|i| net.listening.contains(i)) {
            fired.push("listening_socket".into());
        }
        if ctx.stat.tty_nr == 0 {
            fired.push("no_tty".into());
        }
        let adopted = ctx.stat.ppid == 1
            || ctx
                .parent_comm
                .as_deref()
                .is_some_and(|c| r.subreapers.iter().any(|s| s == c));
        let service = r
            .service_cgroups
            .iter()
            .any(|m| ctx.cgroup.contains(m.as_str()));
        if ctx.pid != 1 && ctx.stat.ppid != 0 && adopted && !service {
            fired.push("reparented".into());
        }
        if self.under_nohup(&ctx) {
            fired.push("under_nohup".into());
        }
        let allowed = self.allow_cap(&exe_path, deleted || memfd, script.as_deref());
        if allowed.is_some() {
            fired.push("allow_listed".into());
        }
        let incidental = ign.0 & self.reported.0 & !self.incidental.0 == 0;
        if incidental {
            fired.push("background_job_signals".into());
        }

        let score = self.scorer.score(fired.iter().map(String::as_str));
        let mut severity = score.severity;
        let fired_any = |list: &[String]| score.indicators.iter().any(|i| list.contains(i));
        let mut allow_listed = false;
        if let Some(cap) = allowed {
            if !fired_any(&self.rules.allow_overridden_by) {
                severity = severity.min(cap);
                allow_listed = true;
            }
        }
        if incidental && !fired_any(&self.rules.incidental_overridden_by) {
            severity = severity.min(self.rules.incidental_max_severity);
        }
        let comm = ctx.stat.comm.clone();
        let command_line = if ctx.argv.is_empty() {
            format!("[{comm}]")
        } else {
            join_argv(&ctx.argv)
        };
        let user = ctx.status.uid.map(|uid| {
            self.users
                .get(&uid)
                .cloned()
                .unwrap_or_else(|| uid.to_string())
        });
        let finding = Finding {
            time: Some(time),
            host: self.host.clone(),
            platform: Platform::Unix,
            detection_type: DetectionType::SignalIgnoreLive,
            exec_cmd: if exe_raw.is_empty() { comm } else { exe_raw },
            nohup_target: String::new(),
            nohup_args: String::new(),
            command_line,
            suspicion_score: score.score,
            severity,
            indicators: score.indicators,
            pid: Some(ctx.pid),
            ppid: Some(ctx.stat.ppid),
            user,
            source: Provenance {
                path: Arc::from(format!("{}/{}/status", self.root_label, ctx.pid)),
                position: Position::None,
                format: "procfs",
            },
            related: Vec::new(),
        };
        LiveHit {
            key: ProcessKey {
                pid: ctx.pid,
                start_ticks: ctx.stat.starttime,
            },
            finding,
            ignored: ign.signals().collect(),
            allow_listed,
        }
    }

    /// The process calls itself what it is not: a kernel thread (`[kworker/0:1]`; a
    /// real one has no command line), or a system daemon whose name its executable,
    /// outside the system directories (or deleted), does not have.
    fn masquerades(
        &self,
        ctx: &Context,
        exe_path: &str,
        exe_name: &str,
        gone: bool,
        interpreter: bool,
    ) -> bool {
        let argv0 = ctx.argv.first().map(String::as_str).unwrap_or("");
        let joined = ctx.argv.join(" ");
        let claimed_thread = |s: &str| {
            let s = s.trim();
            s.len() > 2 && s.starts_with('[') && s.ends_with(']')
        };
        if claimed_thread(argv0) || claimed_thread(&joined) {
            return true;
        }
        if self.in_system_dir(exe_path) && !gone {
            return false;
        }
        let stem = |s: &str| -> String {
            let first = s.split_whitespace().next().unwrap_or("");
            let name = basename(first.trim_start_matches('['));
            name.split(['/', ':', ']']).next().unwrap_or("").to_string()
        };
        let mut claimed = vec![stem(&ctx.stat.comm)];
        if !interpreter {
            claimed.push(stem(argv0));
        }
        claimed.iter().any(|c| {
            !c.is_empty()
                && c != exe_name
                && !exe_name.starts_with(c.as_str())
                && self.rules.masquerade_names.iter().any(|m| m == c)
        })
    }

    /// Started under nohup: output to `nohup.out`, still called nohup, or a parent
    /// whose command line runs nohup (`sh -c "nohup x &"` still waiting).
    fn under_nohup(&self, ctx: &Context) -> bool {
        ctx.fds.iter().any(|(fd, l)| {
            (*fd == 1 || *fd == 2) && (l.ends_with("/nohup.out") || l == "nohup.out")
        }) || ctx.stat.comm == "nohup"
            || (!ctx.parent_argv.is_empty()
                && command::from_argv(&ctx.parent_argv, &self.commands)
                    .iter()
                    .any(|inv| inv.program() == "nohup"))
    }

    /// The severity cap of the allow-list entry the process matches, if any.
    fn allow_cap(&self, exe_path: &str, gone: bool, script: Option<&str>) -> Option<Severity> {
        let program = !exe_path.is_empty() && !gone && self.in_system_dir(exe_path);
        let name = basename(exe_path);
        self.rules
            .allow
            .iter()
            .filter(|a| {
                (program && a.programs.iter().any(|p| p == name))
                    || script.is_some_and(|s| a.scripts.iter().any(|p| p == s))
            })
            .map(|a| a.max_severity)
            .max()
    }
}

/// A path component starts with a dot.
fn is_hidden(path: &str) -> bool {
    path.split('/')
        .any(|c| c.len() > 1 && c.starts_with('.') && c != "..")
}

/// `sysconf(_SC_CLK_TCK)`: the unit of `/proc/PID/stat` start times (100 on every
/// mainstream Linux architecture, which is the fallback).
fn clock_ticks() -> u64 {
    #[cfg(unix)]
    {
        // SAFETY: sysconf only reads a configuration value.
        let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if t > 0 {
            return t as u64;
        }
    }
    100
}

/// The processes a scan of the host's `/proc` must not report: this one, and its
/// parent when that is the same program (a `sighunt` that started this one).
pub fn own_processes() -> Vec<u32> {
    let mut own = vec![std::process::id()];
    #[cfg(not(unix))]
    let parent = 0;
    #[cfg(unix)]
    let parent = std::os::unix::process::parent_id();
    let exe = |pid: &str| std::fs::read_link(format!("/proc/{pid}/exe")).ok();
    if let (Some(mine), Some(theirs)) = (exe("self"), exe(&parent.to_string())) {
        if mine == theirs && parent > 1 {
            own.push(parent);
        }
    }
    own
}

/// Reports each process once across repeated scans (`--watch`): keyed by pid and
/// start time, forgotten when the process is gone, so memory follows the process
/// table, not the run time.
#[derive(Debug, Default)]
pub struct Watch {
    seen: HashSet<ProcessKey>,
}

impl Watch {
    /// The hits not reported before, among those passing `keep`; remembers them.
    pub fn fresh(&mut self, report: LiveReport, keep: impl Fn(&LiveHit) -> bool) -> Vec<Finding> {
        let mut fresh = Vec::new();
        for hit in report.hits {
            if keep(&hit) && self.seen.insert(hit.key) {
                fresh.push(hit.finding);
            }
        }
        fresh
    }

    /// Forgets processes that no longer exist under `root`.
    pub fn forget_exited(&mut self, root: &Path) {
        self.seen.retain(|k| root.join(k.pid.to_string()).exists());
    }
}

#[cfg(test)]
mod tests;
