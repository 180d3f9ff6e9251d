//! `sighunt sense`: an eBPF sensor that sees a process set SIGHUP, SIGINT, SIGQUIT
//! or SIGTERM to SIG_IGN the moment it does (Linux, feature `ebpf`).
//!
//! The BPF program (bpf/sigaction.bpf.c) sits on the `rt_sigaction` entry and exit
//! tracepoints, reads the new handler from the caller's memory and passes on, through
//! a ring buffer, only successful `SIG_IGN` calls on the reported signals, rate
//! limited per process, with drops counted; it also reports every `execve` that
//! starts with a reported signal ignored (ignored signals survive fork and exec:
//! `nohup cmd`, `trap '' TERM; ./implant`). User space reads
//! `/proc` for each event at once and judges the process with `sighunt live`'s
//! scorer ([`LiveScanner::judge_pid`]): the same indicators, allow-list and
//! severities, so `sense` and `live` agree on a process; the site allow-list
//! (`[[allowlist]]`) applies too. Findings are held [`SETTLE`] so that the program a
//! wrapper execs replaces the wrapper's report, and judged again then if the
//! process is still there: the C idiom `if (signal(SIGINT, SIG_IGN) != SIG_IGN)
//! signal(SIGINT, handler)` (gcc, make, many daemons) sets SIG_IGN for microseconds
//! and is dropped as transient; a process that exited within the window is reported
//! as it was read at the event.

pub mod event;
pub mod probe;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;

use crate::output::{self, OutputFormat};
use event::{Clocks, EventKind, SenseEvent};
use probe::{Counters, Probe, ProbeConfig, ProbeError, ProbeStorage};
use sighunt_core::allowlist::{AllowList, FindingContext};
use sighunt_core::detectors::signal_mask::signal_number;
use sighunt_core::event::Provenance;
use sighunt_core::finding::{Finding, Severity};
use sighunt_core::live::procfs::{self, SigSet};
use sighunt_core::live::{LiveHit, LiveOptions, LiveRules, LiveScanner, ProcessKey};
use sighunt_core::rules::{LoadOptions, Rules};

/// How long a finding waits for the same process's exec before it is written.
pub const SETTLE: Duration = Duration::from_millis(100);
/// Processes remembered as reported; beyond this the oldest half is forgotten.
const MAX_REMEMBERED: usize = 65_536;
/// Ancestors listed in `sensor.parent_chain`.
const MAX_CHAIN: usize = 8;

/// `sighunt sense` options.
#[derive(clap::Args, Debug)]
pub struct SenseArgs {
    /// Output format: `table`, `jsonl` (each finding with a `sensor` object: the
    /// kernel's view of the call) or `csv`.
    #[arg(long, short = 'f', default_value = "table", value_name = "FORMAT")]
    pub format: OutputFormat,

    /// Report only findings of at least this severity.
    #[arg(long, default_value = "informational", value_name = "SEVERITY")]
    pub min_severity: Severity,

    /// Exit with status 1 as soon as a reported finding reaches this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,

    /// Write findings to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Colour the table: auto, always or never.
    #[arg(long, default_value = "auto", value_name = "WHEN", value_parser = ["auto", "always", "never"])]
    pub color: String,

    /// Stop after this many seconds (default: until interrupted).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<Duration>,

    /// Events per process per second the kernel passes on; the rest are counted
    /// as rate-limited in the summary.
    #[arg(long, default_value = "16", value_name = "N")]
    pub rate: u32,

    /// Do not print the start and summary lines on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,

    /// A rule file merged over the defaults and the configuration files.
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Do not read /etc/sighunt/rules.toml or the user's configuration file.
    #[arg(long)]
    pub no_config: bool,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 1e7) {
        return Err(format!("the duration must be more than 0 seconds, not {s}"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The kernel's view of the call, added to each JSON finding as `sensor`.
#[derive(Debug, Clone, Serialize)]
pub struct SensorContext {
    /// `rt_sigaction` or `exec`.
    pub event: &'static str,
    /// The signal set to SIG_IGN (`SIGTERM`); absent for an exec.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// The reported signals whose handler was SIG_IGN in the kernel at the event.
    pub signals_ignored: Vec<String>,
    pub tid: u32,
    pub tgid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub comm: String,
    pub cgroup_id: u64,
    /// Microseconds from the call to the judgement.
    pub latency_us: u64,
    /// The ancestors at the judgement, nearest first: `comm[pid]`.
    pub parent_chain: Vec<String>,
}

/// A judged event waiting out [`SETTLE`].
struct Held {
    due: Instant,
    key: ProcessKey,
    /// The judgement at the event.
    hit: LiveHit,
    source: Provenance,
    sensor: SensorContext,
}

/// Counters for the summary line.
#[derive(Debug, Default, Clone)]
pub struct SenseStats {
    pub events: u64,
    pub findings: u64,
    pub suppressed: u64,
    /// Processes gone before `/proc` could be read.
    pub exited: u64,
    /// Processes that no longer ignored the signal at the end of [`SETTLE`].
    pub transient: u64,
    pub unreadable: u64,
    pub malformed: u64,
}

/// Turns kernel events into findings: judges at once, holds briefly, reports each
/// (process, program, ignored signals) once.
pub struct Sensor {
    scanner: LiveScanner,
    allowlist: AllowList,
    min_severity: Severity,
    reported: SigSet,
    held: HashMap<u32, Held>,
    seen: HashMap<ProcessKey, (String, u64)>,
    pub stats: SenseStats,
    last_forget: Instant,
}

impl Sensor {
    pub fn new(
        rules: &Rules,
        allowlist: AllowList,
        min_severity: Severity,
    ) -> anyhow::Result<Self> {
        let live: LiveRules = rules.section("signal_live")?;
        let reported = SigSet::of(
            live.reported_signals
                .iter()
                .filter_map(|s| signal_number(s)),
        );
        Ok(Sensor {
            scanner: LiveScanner::new(rules, LiveOptions::default())?,
            allowlist,
            min_severity,
            reported,
            held: HashMap::new(),
            seen: HashMap::new(),
            stats: SenseStats::default(),
            last_forget: Instant::now(),
        })
    }

    /// The signals the kernel should report (`reported_signals` of the rules).
    pub fn report_mask(&self) -> u64 {
        self.reported.0
    }

    /// Judges one event now (reading `/proc` while the process is there).
    pub fn event(&mut self, event: &SenseEvent, clocks: &Clocks) {
        self.stats.events += 1;
        let time = event.time(clocks);
        let hit = match self.scanner.judge_pid(event.tgid, time) {
            Ok(Some(hit)) => hit,
            Ok(None) => {
                // Restored already (or a zombie): nothing to report.
                self.stats.transient += 1;
                return;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                self.stats.exited += 1;
                return;
            }
            Err(_) => {
                self.stats.unreadable += 1;
                return;
            }
        };
        let source = Provenance {
            path: Arc::from(match event.kind {
                EventKind::Sigaction => "tracepoint:syscalls:sys_exit_rt_sigaction",
                EventKind::Exec => "tracepoint:sched:sched_process_exec",
            }),
            position: sighunt_core::event::Position::None,
            format: "ebpf",
        };
        let names = |set: SigSet| -> Vec<String> { set.signals().map(signal_name).collect() };
        let sensor = SensorContext {
            event: match event.kind {
                EventKind::Sigaction => "rt_sigaction",
                EventKind::Exec => "exec",
            },
            signal: (event.kind == EventKind::Sigaction).then(|| signal_name(event.signal)),
            signals_ignored: names(SigSet(event.ignored)),
            tid: event.tid,
            tgid: event.tgid,
            ppid: event.ppid,
            uid: event.uid,
            gid: event.gid,
            comm: event.comm.clone(),
            cgroup_id: event.cgroup_id,
            latency_us: event.age(&Clocks::now()).as_micros() as u64,
            parent_chain: parent_chain(event.tgid),
        };
        // A later event of the same process (its exec, another signal) replaces
        // the held one, whose judgement it supersedes, but not its due time: a
        // process calling sigaction in a loop is still reported after SETTLE.
        let due = self
            .held
            .get(&event.tgid)
            .filter(|h| h.key == hit.key)
            .map_or_else(|| Instant::now() + SETTLE, |h| h.due);
        self.held.insert(
            event.tgid,
            Held {
                due,
                key: hit.key,
                hit,
                source,
                sensor,
            },
        );
    }

    /// The judgement to report for a held event: the process judged again if it
    /// is still there (`None` when it no longer ignores a reported signal), else
    /// the judgement made at the event.
    fn confirm(&mut self, held: &Held) -> Option<LiveHit> {
        let key = held.key;
        let running = std::fs::read(format!("/proc/{}/stat", key.pid))
            .ok()
            .and_then(|raw| procfs::parse_stat(&raw))
            .is_some_and(|s| s.starttime == key.start_ticks && s.state != 'Z' && s.state != 'X');
        if !running {
            return Some(held.hit.clone());
        }
        match self.scanner.judge_pid(
            key.pid,
            held.hit.finding.time.unwrap_or_else(chrono::Utc::now),
        ) {
            Ok(Some(hit)) if hit.key == key => Some(hit),
            Ok(_) => None,
            Err(_) => Some(held.hit.clone()),
        }
    }

    /// The held findings whose time has come (all with `all`), new ones only,
    /// in the order of their events.
    pub fn ready(&mut self, now: Instant, all: bool) -> Vec<(Finding, SensorContext)> {
        let due: Vec<u32> = self
            .held
            .iter()
            .filter(|(_, h)| all || h.due <= now)
            .map(|(pid, _)| *pid)
            .collect();
        let mut out: Vec<Held> = due.iter().filter_map(|p| self.held.remove(p)).collect();
        out.sort_by_key(|h| h.hit.finding.time);
        let mut ready = Vec::new();
        for h in out {
            let Some(hit) = self.confirm(&h) else {
                self.stats.transient += 1;
                continue;
            };
            let ignored = SigSet::of(hit.ignored.iter().copied());
            let mut finding = hit.finding;
            finding.source = h.source;
            let what = (finding.exec_cmd.clone(), ignored.0 & self.reported.0);
            if self.seen.get(&h.key) == Some(&what) {
                continue;
            }
            self.seen.insert(h.key, what);
            if finding.severity < self.min_severity {
                continue;
            }
            if self
                .allowlist
                .decide(&finding, &FindingContext::default())
                .is_some()
            {
                self.stats.suppressed += 1;
                continue;
            }
            self.stats.findings += 1;
            ready.push((finding, h.sensor));
        }
        if now.duration_since(self.last_forget) > Duration::from_secs(10)
            || self.seen.len() > MAX_REMEMBERED
        {
            self.forget_exited();
            self.last_forget = now;
        }
        ready
    }

    /// Forgets processes that have exited (pids are reused; memory follows the
    /// process table).
    fn forget_exited(&mut self) {
        self.seen
            .retain(|k, _| start_ticks(k.pid) == Some(k.start_ticks));
        if self.seen.len() > MAX_REMEMBERED {
            // Still over: forget arbitrary ones; a repeat report is the only cost.
            let excess = self.seen.len() - MAX_REMEMBERED / 2;
            let drop: Vec<ProcessKey> = self.seen.keys().take(excess).copied().collect();
            for k in drop {
                self.seen.remove(&k);
            }
        }
    }
}

fn start_ticks(pid: u32) -> Option<u64> {
    let raw = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    procfs::parse_stat(&raw).map(|s| s.starttime)
}

/// `SIGTERM` for 15; `SIG42` for a number without a name.
fn signal_name(n: u32) -> String {
    sighunt_core::detectors::signal_mask::signal_name(n)
        .map_or_else(|| format!("SIG{n}"), |name| format!("SIG{name}"))
}

/// `comm[pid]` of each ancestor, nearest first, up to pid 1.
fn parent_chain(pid: u32) -> Vec<String> {
    let mut chain = Vec::new();
    let mut next = start_ppid(pid).map(|(ppid, _)| ppid);
    while let Some(ppid) = next.filter(|&p| p != 0) {
        if chain.len() >= MAX_CHAIN {
            break;
        }
        let Some((grand, comm)) = start_ppid(ppid) else {
            break;
        };
        chain.push(format!("{}[{ppid}]", output::escape_control(&comm)));
        next = (ppid != 1).then_some(grand);
    }
    chain
}

/// (ppid, comm) of a process.
fn start_ppid(pid: u32) -> Option<(u32, String)> {
    let raw = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    procfs::parse_stat(&raw).map(|s| (s.ppid, s.comm))
}

/// `sighunt sense`.
pub fn run_cli(args: SenseArgs) -> anyhow::Result<ExitCode> {
    let rules = Rules::load(&LoadOptions {
        files: args.rules.clone(),
        config: !args.no_config,
    })?;
    sighunt_core::engine::validate_rules(&rules)?;
    let allowlist = AllowList::from_rules(&rules, chrono::Utc::now())?;
    for w in &allowlist.warnings {
        eprintln!("sighunt: warning: {}", output::escape_control(w));
    }
    let mut sensor = Sensor::new(&rules, allowlist, args.min_severity)?;

    if probe::ensure_tracefs() && !args.quiet {
        eprintln!("sighunt sense: mounted tracefs at /sys/kernel/tracing (tracepoints need it)");
    }
    let mut storage = ProbeStorage::default();
    let config = ProbeConfig {
        report_mask: sensor.report_mask(),
        rate_burst: args.rate,
    };
    let probe = match Probe::start(&mut storage, config) {
        Ok(p) => p,
        Err(e) => return Ok(unavailable(&e)),
    };
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => args.output.is_none() && io::stdout().is_terminal(),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };

    let stop = crate::signals::install_signal_handlers();
    let pending: std::cell::RefCell<Vec<Result<SenseEvent, event::DecodeError>>> =
        Default::default();
    let ring = probe.ring(|e| pending.borrow_mut().push(e))?;
    if !args.quiet {
        eprintln!(
            "sighunt sense: watching rt_sigaction and exec for SIG_IGN on {}",
            SigSet(sensor.report_mask())
                .signals()
                .map(signal_name)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let started = Instant::now();
    let mut csv_header = true;
    let mut failed = false;
    let mut last_drops = Counters::default();
    loop {
        probe::poll(&ring, Duration::from_millis(50))?;
        let clocks = Clocks::now();
        for e in pending.borrow_mut().drain(..) {
            match e {
                Ok(e) => sensor.event(&e, &clocks),
                Err(_) => sensor.stats.malformed += 1,
            }
        }
        let finished =
            stop.load(Ordering::SeqCst) || args.duration.is_some_and(|d| started.elapsed() >= d);
        let ready = sensor.ready(Instant::now(), finished);
        if !ready.is_empty() {
            write(&mut out, args.format, &ready, color, &mut csv_header)?;
            out.flush()?;
            if args
                .fail_on
                .is_some_and(|t| ready.iter().any(|(f, _)| f.severity >= t))
            {
                failed = true;
                break;
            }
        }
        let drops = probe.counters();
        if !args.quiet
            && (drops.ring_full > last_drops.ring_full
                || drops.rate_limited > last_drops.rate_limited)
        {
            eprintln!(
                "sighunt sense: dropped {} events (ring buffer full) and {} (rate limit) so far",
                drops.ring_full, drops.rate_limited
            );
            last_drops = drops;
        }
        if finished {
            break;
        }
    }
    drop(ring);
    if !args.quiet {
        let c = probe.counters();
        let s = &sensor.stats;
        eprintln!(
            "sighunt sense: {} kernel events ({} SIG_IGN calls), {} finding{}, {} suppressed by the allow-list, {} transient (restored within {} ms), {} exited before /proc was read, {} unreadable, {} malformed, dropped {} (ring buffer full) and {} (rate limit), {} s",
            s.events,
            c.seen,
            s.findings,
            if s.findings == 1 { "" } else { "s" },
            s.suppressed,
            s.transient,
            SETTLE.as_millis(),
            s.exited,
            s.unreadable,
            s.malformed,
            c.ring_full,
            c.rate_limited,
            started.elapsed().as_secs()
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The sensor cannot run here: say why and what works instead; exit 2.
fn unavailable(e: &ProbeError) -> ExitCode {
    eprintln!(
        "sighunt: error: the eBPF sensor cannot run on this host: {}\n\
         sighunt: `sighunt live --watch 1` checks the same processes from /proc without BPF \
         (it sees a signal ignored within the interval, not the call itself)",
        output::escape_control(&e.to_string())
    );
    ExitCode::from(2)
}

fn write(
    out: &mut dyn Write,
    format: OutputFormat,
    ready: &[(Finding, SensorContext)],
    color: bool,
    csv_header: &mut bool,
) -> anyhow::Result<()> {
    match format {
        OutputFormat::Jsonl => {
            for (f, s) in ready {
                let mut v = serde_json::to_value(f)?;
                if let Some(o) = v.as_object_mut() {
                    o.insert("sensor".into(), serde_json::to_value(s)?);
                }
                serde_json::to_writer(&mut *out, &v)?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Table => {
            let findings: Vec<Finding> = ready.iter().map(|(f, _)| f.clone()).collect();
            output::write_table(out, &findings, color)?;
        }
        OutputFormat::Csv => {
            let findings: Vec<Finding> = ready.iter().map(|(f, _)| f.clone()).collect();
            output::write_csv_batch(out, &findings, *csv_header)?;
            *csv_header = false;
        }
    }
    Ok(())
}
