//! `nohup_interrupt_ignore`: a program launched with `nohup` so that the hang-up at
//! logout does not stop it (the seed's Part 1).
//!
//! nohup is found in argv, behind wrappers and inside shell strings (see
//! [`crate::command`]), never by grepping the raw line. The target is what nohup runs;
//! indicators look at the target, the script an interpreter target runs, and the
//! commands nested in a shell target. One launch is one finding: the `sh -c` string
//! that contains a nohup and the nohup exec it leads to are merged.
//!
//! Evidence from other events comes from [`Correlator`] (see
//! [`crate::detectors::correlation`]): the payload made executable before the launch,
//! the parent that launched it (an init script, a web service), a relaunch, and a
//! socket the program binds afterwards, which amends the finding already emitted.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::command::join_argv;
use crate::command::paths::{Places, StagingRules};
use crate::command::{self, CommandRules, Invocation, WordPrefilter, basename, is_decoder};
use crate::detectors::correlation::{Correlator, LaunchKind, resolve_for};
use crate::detectors::{Detector, Exclusion, FindingId, Findings};
use crate::event::{Event, ProcessOrigin, ProcessStart};
use crate::finding::{DetectionType, Finding, Severity};
use crate::rules::{IndicatorRule, Rules, RulesError, Scorer, de_severity};

/// `[nohup]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NohupRules {
    #[serde(deserialize_with = "de_severity")]
    pub base_severity: Severity,
    pub excluded_schedulers: Vec<String>,
    pub net_tools: Vec<String>,
    pub download_tools: Vec<String>,
    pub temp_dirs: Vec<String>,
    pub persistence_paths: Vec<String>,
    pub masquerade_names: Vec<String>,
    pub system_dirs: Vec<String>,
    pub interpreters: Vec<String>,
    pub indicators: Vec<IndicatorRule>,
}

/// How long a launch is remembered for merging with the exec it leads to.
const MERGE_WINDOW_MS: i64 = 10_000;
/// How many launches are remembered for merging.
const MERGE_MEMORY: usize = 1_024;

#[derive(Clone)]
pub struct NohupDetector {
    rules: NohupRules,
    commands: CommandRules,
    /// Process starts that cannot run `nohup` skip the command analysis.
    prefilter: WordPrefilter,
    /// Execs whose argv was walked lately and launched nothing: the next exec of
    /// the same argv needs no walk.
    launch_free: LaunchFreeArgvs,
    scorer: Scorer,
    recent: VecDeque<Recent>,
    correlator: Correlator,
    places: Places,
    /// Scheduler launches left out (the seed's exclusion), counted, the first kept.
    excluded: Vec<Exclusion>,
    excluded_count: u64,
}

/// Most excluded scheduler launches kept for `--explain` (all are counted).
const MAX_EXCLUSIONS_KEPT: usize = 256;

/// A launch seen through a wrapper or a shell string, kept until the nohup exec it
/// leads to arrives, so that both are one finding.
#[derive(Clone)]
struct Recent {
    host: String,
    pid: u32,
    session: Option<u32>,
    time: Option<DateTime<Utc>>,
    target: String,
    args: String,
    id: FindingId,
    /// Announced through a service manager (`systemd-run`, `start-stop-daemon`,
    /// `daemonize`): the launch it leads to has pid 1 as its parent, and no session.
    detached: bool,
}

/// Launchers whose command runs as a child of the service manager, not of them.
pub const DETACHERS: [&str; 3] = ["systemd-run", "start-stop-daemon", "daemonize"];

/// One nohup launch found in an event.
struct Launch {
    exec_cmd: String,
    target_words: Vec<String>,
    nohup: Invocation,
    /// The kernel ran nohup under another name (a copy, a symlink, `exec -a`).
    renamed: bool,
    /// Every command of the process start (pipeline members beside nohup).
    all: Vec<Invocation>,
    /// The working directory nohup runs in: the process's, or the last `cd DIR`
    /// before it in the same shell string (`sh -c "cd /opt/app && nohup ./run &"`).
    cwd: Option<String>,
}

impl NohupDetector {
    pub fn new(rules: &Rules) -> Result<Self, RulesError> {
        let nohup: NohupRules = rules.section("nohup")?;
        let commands: CommandRules = rules.section("commands")?;
        let scorer = Scorer::new(nohup.indicators.clone(), nohup.base_severity, rules);
        let correlator = Correlator::new(rules, nohup.download_tools.clone())?;
        let places = Places::new(&rules.section::<StagingRules>("staging")?)?;
        Ok(NohupDetector {
            rules: nohup,
            prefilter: WordPrefilter::new(["nohup"]),
            launch_free: LaunchFreeArgvs::default(),
            commands,
            scorer,
            recent: VecDeque::new(),
            correlator,
            places,
            excluded: Vec::new(),
            excluded_count: 0,
        })
    }

    /// Correlation state dropped by its count limits so far (for a run summary).
    pub fn correlation_stats(&self) -> crate::detectors::correlation::CorrelationStats {
        self.correlator.stats()
    }

    /// Adds indicators to a finding already emitted and scores it again.
    fn amend(&self, finding: &mut Finding, more: &[&str]) {
        self.scorer.amend(finding, more.iter().copied());
    }

    /// The kernel ran nohup: its image is nohup (a symlink resolves to it; `exec -a`
    /// changes only argv[0]) or a copy of nohup made on this host.
    fn image_is_nohup(&self, p: &ProcessStart) -> bool {
        p.origin == ProcessOrigin::Exec
            && !p.argv.is_empty()
            && (p.exe.as_deref().is_some_and(|exe| basename(exe) == "nohup")
                || self.correlator.is_nohup_copy(p))
    }

    fn launches(&self, p: &ProcessStart) -> Vec<Launch> {
        let mut invocations = match p.origin {
            ProcessOrigin::Exec => command::from_argv(&p.argv, &self.commands),
            ProcessOrigin::Scheduler(_) | ProcessOrigin::CommandText => {
                command::from_shell_text(&p.command_line, &self.commands)
            }
        };
        // nohup by identity: argv[0] says something else.
        let mut renamed = false;
        if let Some(first) = invocations.first() {
            let name = first.program().to_string();
            if name != "nohup"
                && !matches!(name.as_str(), "busybox" | "toybox")
                && self.image_is_nohup(p)
            {
                renamed = true;
                let mut words = vec!["nohup".to_string()];
                words.extend_from_slice(&p.argv[1..]);
                let mut as_nohup = command::from_argv(&words, &self.commands);
                if let Some(n) = as_nohup.first_mut() {
                    n.words[0] = p.argv[0].clone();
                }
                invocations = as_nohup;
            }
        }
        let nohups: Vec<Invocation> = invocations
            .iter()
            .enumerate()
            .filter(|(i, inv)| inv.program() == "nohup" || (renamed && *i == 0))
            .map(|(_, inv)| inv.clone())
            .collect();
        nohups
            .into_iter()
            .filter_map(|inv| {
                let cwd = working_directory(p.cwd.clone(), p.user.as_deref(), &invocations, &inv);
                // A command text (sudo, history, cron) is all there is of its run;
                // an exec log also has the nohup exec that find or xargs makes.
                let from_text = !matches!(p.origin, ProcessOrigin::Exec);
                // nohup's only options are --help and --version, and `--`.
                let target_words = match inv.words[1..].iter().position(|w| w != "--") {
                    Some(i) => inv.words[i + 1..].to_vec(),
                    // `… | xargs nohup`: xargs appends the target it reads.
                    None if from_text && inv.via.last().is_some_and(|v| v == "xargs") => {
                        vec![RUNTIME_TARGET.to_string()]
                    }
                    None => return None,
                };
                if target_words[0].starts_with("--") {
                    return None; // --help / --version: nothing launched
                }
                if target_words[0].contains("{}") && !from_text {
                    // `find … -exec nohup {} ;`: find fills the name in; the nohup exec
                    // it leads to has it.
                    return None;
                }
                let exec_cmd = match inv.via.last().map(String::as_str) {
                    Some(multi @ ("busybox" | "toybox")) => format!("{multi} {}", inv.words[0]),
                    _ => inv.words[0].clone(),
                };
                let renamed =
                    (renamed && inv.via.is_empty() && inv.words[0] == p.argv[0]) || inv.renamed;
                Some(Launch {
                    exec_cmd,
                    target_words,
                    nohup: inv,
                    renamed,
                    all: invocations.clone(),
                    cwd,
                })
            })
            .collect()
    }

    /// The commands nohup really runs, wrappers and shell strings peeled: every
    /// command of the chain that is not only a launcher of the next.
    fn payload_commands(&self, target_words: &[String]) -> Vec<Invocation> {
        command::from_argv(target_words, &self.commands)
            .into_iter()
            .filter(|inv| !inv.runs_inner)
            .collect()
    }

    /// nohup runs a shell or interpreter whose code comes from stdin or a `-c`
    /// string (not a script file): what a pipeline or a substitution feeds.
    fn reads_code(&self, target_words: &[String]) -> bool {
        let nested = command::from_argv(target_words, &self.commands);
        let Some(first) = nested
            .iter()
            .find(|inv| !inv.runs_inner || self.commands.shells.iter().any(|s| s == inv.program()))
        else {
            return false;
        };
        self.is_shell_like(first.program())
            && (first.runs_inner
                || first.words[1..].iter().all(|w| w.starts_with('-'))
                || first.words[1..]
                    .iter()
                    .any(|w| w == "-c" || w == "-e" || w == "-"))
    }

    /// The indicators a launch fires.
    fn indicators(&self, p: &ProcessStart, launch: &Launch) -> Vec<&'static str> {
        let r = &self.rules;
        let mut fired = Vec::new();
        let payloads = self.payload_paths(p, launch);
        let nested = command::from_argv(&launch.target_words, &self.commands);
        let runs = self.payload_commands(&launch.target_words);

        if payloads.iter().any(|path| self.is_staging(path)) {
            fired.push("temp_dir_payload");
        }
        if nested.iter().any(|inv| self.is_net_tool(inv.program())) {
            fired.push("suspicious_net_tool");
        }
        if nested.iter().any(|inv| self.is_interactive_shell(inv)) {
            fired.push("interactive_shell");
        }
        let all_redirects = launch
            .nohup
            .redirects
            .iter()
            .chain(nested.iter().flat_map(|i| i.redirects.iter()));
        let dev_net = |s: &str| s.starts_with("/dev/tcp/") || s.starts_with("/dev/udp/");
        if all_redirects.clone().any(|rd| dev_net(&rd.target))
            || launch
                .target_words
                .iter()
                .any(|w| w.contains("/dev/tcp/") || w.contains("/dev/udp/"))
            || nested.iter().any(|inv| self.execs_shell_over_network(inv))
        {
            fired.push("reverse_shell");
        }
        if payloads.iter().any(|path| {
            r.persistence_paths
                .iter()
                .any(|d| path.starts_with(d.as_str()))
        }) {
            fired.push("persistence_path");
        }
        if launch.nohup.background {
            fired.push("background_exec");
        }
        if payloads.iter().any(|path| self.places.is_hidden(path)) {
            fired.push("hidden_path");
        }
        // Pipeline members beside nohup in the same command string.
        let beside: Vec<&Invocation> = if launch.nohup.in_pipeline {
            launch
                .all
                .iter()
                .filter(|inv| {
                    inv.in_pipeline
                        && inv.via == launch.nohup.via
                        && inv.words != launch.nohup.words
                })
                .collect()
        } else {
            Vec::new()
        };
        let is_download = |inv: &Invocation| r.download_tools.iter().any(|t| t == inv.program());
        let feeds_shell = self.reads_code(&launch.target_words);
        if runs.iter().any(&is_download)
            || nested.iter().any(|inv| inv.in_pipeline && is_download(inv))
            || (feeds_shell && beside.iter().any(|inv| is_download(inv)))
        {
            fired.push("download_tool");
        }
        if payloads.iter().any(|path| self.is_masquerade(path)) {
            fired.push("masquerade_name");
        }
        if launch.renamed {
            fired.push("nohup_renamed");
        }
        if discards_output(&launch.nohup) {
            fired.push("output_discarded");
        }
        if launch.nohup.decoded
            || (nested.iter().any(is_decoder)
                && nested.iter().any(|inv| self.is_shell_like(inv.program())))
            || (feeds_shell && beside.iter().any(|inv| is_decoder(inv)))
        {
            fired.push("encoded_payload");
        }
        fired
    }

    /// The path is a staging area ([staging] areas) or one of the seed's temp
    /// directories.
    fn is_staging(&self, path: &str) -> bool {
        self.places.is_staging(path)
            || self
                .rules
                .temp_dirs
                .iter()
                .any(|d| path.starts_with(d.as_str()))
    }

    /// Paths of what actually runs: each program of the chain nohup starts
    /// (wrappers and shell strings peeled) and the script an interpreter is given;
    /// relative paths resolved against the working directory, `~` to a home.
    fn payload_paths(&self, p: &ProcessStart, launch: &Launch) -> Vec<String> {
        let target_words = &launch.target_words;
        let mut paths = Vec::new();
        let mut push = |w: &str, cwd: Option<&str>| {
            if w.contains('/') || w.starts_with('~') {
                let path = resolve_for(w, cwd, p.user.as_deref());
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        };
        push(&target_words[0], launch.cwd.as_deref());
        let nested = command::from_argv(target_words, &self.commands);
        for inv in nested.iter().filter(|inv| !inv.runs_inner) {
            // `nohup sh -c "cd /opt/app && ./run"`: the cd in the string counts.
            let cwd = working_directory(launch.cwd.clone(), p.user.as_deref(), &nested, inv);
            push(&inv.words[0], cwd.as_deref());
            if !self.is_shell_like(inv.program()) {
                continue;
            }
            // First operand after the interpreter's options, unless code is inline.
            let mut it = inv.words[1..].iter();
            while let Some(w) = it.next() {
                if matches!(w.as_str(), "-c" | "-e" | "-E" | "-r") {
                    break;
                }
                if w.starts_with('-') {
                    if matches!(w.as_str(), "-m" | "-W" | "-X" | "-I" | "-M" | "-o" | "-O") {
                        it.next();
                    }
                    continue;
                }
                push(w, cwd.as_deref());
                break;
            }
        }
        paths
    }

    /// The name a development server is known by: the program, or for an
    /// interpreter the module (`python3 -m http.server`) or script it runs.
    fn is_dev_server(&self, target_words: &[String]) -> bool {
        self.payload_commands(target_words).iter().any(|inv| {
            let prog = inv.program();
            if self.correlator.is_dev_server(prog) {
                return true;
            }
            let module = inv
                .words
                .iter()
                .position(|w| w == "-m")
                .and_then(|i| inv.words.get(i + 1));
            module.is_some_and(|m| self.correlator.is_dev_server(m))
                || (self.is_shell_like(prog)
                    && inv.words[1..]
                        .iter()
                        .find(|w| !w.starts_with('-'))
                        .is_some_and(|w| self.correlator.is_dev_server(basename(w))))
        })
    }

    fn is_shell_like(&self, prog: &str) -> bool {
        self.commands.shells.iter().any(|s| s == prog)
            || self.rules.interpreters.iter().any(|i| {
                prog == i
                    || (prog.starts_with(i.as_str())
                        && prog[i.len()..]
                            .chars()
                            .all(|c| c.is_ascii_digit() || c == '.'))
            })
    }

    fn is_net_tool(&self, prog: &str) -> bool {
        self.rules.net_tools.iter().any(|t| t == prog)
    }

    fn is_interactive_shell(&self, inv: &Invocation) -> bool {
        self.commands.shells.iter().any(|s| s == inv.program())
            && inv.words[1..]
                .iter()
                .take_while(|w| w.starts_with('-') && !w.starts_with("--"))
                .any(|w| {
                    // `-i`, or combined flags such as `-li`; not `-c` strings' content.
                    w[1..].chars().all(|c| c.is_ascii_alphabetic()) && w.contains('i')
                })
    }

    /// `nc -e /bin/sh`, `ncat -c bash`, `socat … exec:/bin/sh`, a scripting language
    /// wiring a socket to a shell.
    fn execs_shell_over_network(&self, inv: &Invocation) -> bool {
        let prog = inv.program();
        let args = &inv.words[1..];
        if self.is_net_tool(prog) {
            let lower: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
            return lower.iter().any(|a| {
                a == "-e"
                    || a == "-c"
                    || a.starts_with("--exec")
                    || a.starts_with("--sh-exec")
                    || a.starts_with("--lua-exec")
                    || a.starts_with("exec:")
                    || a.starts_with("system:")
                    || a.contains(",exec:")
                    || a.starts_with("-e/")
            });
        }
        if self.is_shell_like(prog) && !self.commands.shells.iter().any(|s| s == prog) {
            let code = args.join(" ");
            return code.contains("socket")
                && [
                    "/bin/sh",
                    "/bin/bash",
                    "pty.spawn",
                    "dup2",
                    "subprocess",
                    "exec(",
                ]
                .iter()
                .any(|k| code.contains(k));
        }
        false
    }

    fn is_masquerade(&self, path: &str) -> bool {
        let name = basename(path);
        let stem =
            name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '/' || c == ':' || c == ']');
        let stem = stem.trim_start_matches('[');
        !self
            .rules
            .system_dirs
            .iter()
            .any(|d| path.starts_with(d.as_str()))
            && self
                .rules
                .masquerade_names
                .iter()
                .any(|m| name == m || stem == m || stem.trim_end_matches('/') == m)
    }

    /// Takes the launch a wrapper or shell string announced if this one is it: same
    /// target and arguments, same host, close in time, and the same process (a
    /// wrapper exec'd nohup), its child, or the same login session (`sh -c "nohup x
    /// &"` exits before its child execs, which is then re-parented to init).
    fn take_announced(&mut self, p: &ProcessStart, target: &str, args: &str) -> Option<FindingId> {
        let pid = p.pid?;
        // Looked up once, and only when the nearer relations do not match. A
        // grandchild: a shell reading the announcing command's pipe stands between
        // (`sh -c "echo … | base64 -d | sh"`).
        let mut grandparent = None;
        let i = self.recent.iter().rposition(|r| {
            let close = match (r.time, p.time) {
                (Some(a), Some(b)) => (b - a).num_milliseconds().abs() <= MERGE_WINDOW_MS,
                _ => true,
            };
            // The same launch first: the process table is looked up only for one.
            let same = close && r.host == p.host && r.target == target && r.args == args;
            same && (r.pid == pid
                || p.ppid == Some(r.pid)
                || (r.session.is_some() && r.session == p.session)
                || r.detached
                || *grandparent.get_or_insert_with(|| self.correlator.grandparent(p))
                    == Some(r.pid))
        })?;
        self.recent.remove(i).map(|r| r.id)
    }

    fn announce(
        &mut self,
        p: &ProcessStart,
        target: String,
        args: String,
        id: FindingId,
        detached: bool,
    ) {
        let Some(pid) = p.pid else { return };
        if self.recent.len() >= MERGE_MEMORY {
            self.recent.pop_front();
        }
        self.recent.push_back(Recent {
            host: p.host.clone(),
            pid,
            session: p.session,
            time: p.time,
            target,
            args,
            id,
            detached,
        });
    }
}

impl Detector for NohupDetector {
    fn boxed_clone(&self) -> Box<dyn Detector> {
        Box::new(self.clone())
    }

    fn oldest_evidence(&self) -> Option<u64> {
        // `recent` only merges into findings still held: the engine counts those.
        self.correlator.oldest_evidence()
    }

    fn state_dropped(&self) -> u64 {
        let s = self.correlator.stats();
        s.processes_dropped + s.preparations_dropped + s.launches_dropped
    }

    fn exclusions(&self) -> (&[Exclusion], u64) {
        (&self.excluded, self.excluded_count)
    }

    fn observe(&mut self, event: &Event, out: &mut Findings) {
        // Evidence for launches already reported (a bind after the nohup).
        for a in self.correlator.observe(event) {
            if let Some(existing) = out.get_mut(a.id) {
                self.amend(existing, &[a.indicator]);
                existing.add_related(a.related);
            }
        }
        let Event::Process(p) = event else { return };
        let scheduler = match &p.origin {
            ProcessOrigin::Scheduler(name)
                if self.rules.excluded_schedulers.iter().any(|s| s == name) =>
            {
                Some(name.clone())
            }
            _ => None,
        };
        // An exec of a lone program (no launcher, see `command::Launchers`) runs
        // nohup only as its image: argv's words need no search. The correlator
        // has just told that for this event.
        let may_run_nohup = match p.origin {
            ProcessOrigin::Exec if self.correlator.observed_lone_exec() => false,
            _ => self.prefilter.may_match(p),
        };
        let image_is_nohup = self.image_is_nohup(p);
        if !may_run_nohup && !image_is_nohup {
            self.correlator.record_process(p);
            return;
        }
        // An exec whose image is not nohup launches what its argv runs, and
        // nothing else: whether that is nothing depends on argv alone.
        let argv_decides = p.origin == ProcessOrigin::Exec && !image_is_nohup;
        if argv_decides && self.launch_free.contains(&p.argv) {
            self.correlator.record_process(p);
            return;
        }
        let launches = self.launches(p);
        if argv_decides && launches.is_empty() {
            self.launch_free.insert(&p.argv);
        }
        for launch in launches {
            let mut fired = self.indicators(p, &launch);
            let payloads = self.payload_paths(p, &launch);
            let target = launch.target_words[0].clone();
            let args = join_argv(&launch.target_words[1..]);
            let key = launch_key(&payloads, &target, &args);
            let kind = LaunchKind {
                dev_server: self.is_dev_server(&launch.target_words),
                reads_code: self.reads_code(&launch.target_words),
            };
            // nohup is the exec itself (not found behind a wrapper or in a string).
            let announced = !launch.nohup.via.is_empty() || launch.nohup.from_shell_text;
            let detached = launch
                .nohup
                .via
                .iter()
                .any(|v| DETACHERS.contains(&v.as_str()));
            let merged_into = self.take_announced(p, &target, &args);
            let context =
                self.correlator
                    .launch_context(p, &payloads, &key, merged_into, kind.reads_code);
            fired.extend(context.indicators.iter().copied());
            if let Some(name) = &scheduler {
                // The seed's exclusion, unless the launch carries real evidence.
                if self.scorer.score(fired.iter().copied()).severity < Severity::Medium {
                    self.excluded_count += 1;
                    if self.excluded.len() < MAX_EXCLUSIONS_KEPT {
                        self.excluded.push(Exclusion {
                            reason: format!("scheduler launch ({name}) with no indicator of medium severity or more"),
                            time: p.time,
                            host: p.host.clone(),
                            command_line: p.command_line.clone(),
                            source: p.provenance.clone(),
                        });
                    }
                    continue;
                }
                fired.push("scheduler_launch");
            }
            if let Some(id) = merged_into {
                if let Some(existing) = out.get_mut(id) {
                    self.amend(existing, &fired);
                    for r in &context.related {
                        existing.add_related(r.clone());
                    }
                    self.correlator.register_launch(p, &key, id, kind);
                    if announced {
                        // One step further down a chain (`bash -c "sudo nohup x"`).
                        self.announce(p, target, args, id, detached);
                    }
                    continue;
                }
            }
            let score = self.scorer.score(fired.iter().copied());
            let finding = Finding {
                nohup_target: target.clone(),
                nohup_args: args.clone(),
                related: context.related,
                ..Finding::for_process(p, DetectionType::Nohup, launch.exec_cmd, score)
            };
            let id = out.push(finding);
            self.correlator.register_launch(p, &key, id, kind);
            if announced {
                self.announce(p, target, args, id, detached);
            }
        }
        self.correlator.record_process(p);
    }
}

/// Argvs of execs lately found to launch nothing, so that an exec repeated (cron
/// jobs, monitoring: `sh -c "echo nohup is a command"` every minute) is not walked
/// again: a shell string's walk costs over ten thousand instructions. A small
/// table indexed by a hash of argv, each slot the argv last put there; a lookup
/// compares the whole argv, so only the same argv is ever found.
#[derive(Clone, Default)]
struct LaunchFreeArgvs {
    /// [`LAUNCH_FREE_SLOTS`] slots; none until the table is first written.
    slots: Vec<Option<Box<[String]>>>,
}

/// Slots of [`LaunchFreeArgvs`].
const LAUNCH_FREE_SLOTS: usize = 64;
/// Longest argv (bytes of its words) [`LaunchFreeArgvs`] keeps.
const LAUNCH_FREE_MAX_BYTES: usize = 4096;

impl LaunchFreeArgvs {
    fn slot(argv: &[String]) -> usize {
        use std::hash::{Hash, Hasher};
        let mut hasher = rustc_hash::FxHasher::default();
        argv.hash(&mut hasher);
        // FxHash's high bits are its best mixed.
        (hasher.finish() >> 58) as usize % LAUNCH_FREE_SLOTS
    }

    fn contains(&self, argv: &[String]) -> bool {
        self.slots
            .get(Self::slot(argv))
            .and_then(Option::as_deref)
            .is_some_and(|kept| kept == argv)
    }

    fn insert(&mut self, argv: &[String]) {
        if argv.iter().map(String::len).sum::<usize>() > LAUNCH_FREE_MAX_BYTES {
            return;
        }
        if self.slots.is_empty() {
            self.slots.resize(LAUNCH_FREE_SLOTS, None);
        }
        self.slots[Self::slot(argv)] = Some(argv.into());
    }
}

/// What identifies "the same program" across launches: the payload's path, or the
/// whole command when nohup runs a bare name (`nohup nc -lvp 4444`).
/// The target of a nohup that `find -exec` or `xargs` completes at run time, as
/// find writes it.
const RUNTIME_TARGET: &str = "{}";

fn launch_key(payloads: &[String], target: &str, args: &str) -> String {
    match payloads.first() {
        Some(path) => path.clone(),
        None if args.is_empty() => target.to_string(),
        None => format!("{target} {args}"),
    }
}

/// The directory a command of `all` runs in: `cwd`, changed by the last `cd DIR`
/// listed before it in the same shell string (a `cd` in a subshell or after `||` is
/// taken as well: the usual `cd DIR && cmd` is what matters).
fn working_directory(
    mut cwd: Option<String>,
    user: Option<&str>,
    all: &[Invocation],
    target: &Invocation,
) -> Option<String> {
    if !target.from_shell_text {
        return cwd;
    }
    for inv in all {
        if std::ptr::eq(inv, target) || (inv.words == target.words && inv.via == target.via) {
            break;
        }
        if inv.program() == "cd" && inv.via == target.via {
            match inv.words.get(1).map(String::as_str) {
                // `cd`, `cd ~`, `cd -`: a home or the previous directory, unknown here.
                None | Some("-") => cwd = None,
                Some(dir) if dir.starts_with('~') => {
                    cwd = crate::command::paths::expand_home(dir, user)
                }
                Some(dir) => {
                    cwd = Some(crate::detectors::correlation::resolve(dir, cwd.as_deref()))
                }
            }
        }
    }
    cwd
}

/// stdout and stderr both go to /dev/null (`>/dev/null 2>&1`, `&>/dev/null`).
fn discards_output(inv: &Invocation) -> bool {
    let mut stdout_null = false;
    let mut stderr_null = false;
    for r in &inv.redirects {
        let to_null = r.target == "/dev/null";
        match (r.fd, r.op.as_str()) {
            (_, "&>") | (_, "&>>") | (None, ">&") if to_null => {
                stdout_null = true;
                stderr_null = true;
            }
            (None | Some(1), ">" | ">>" | ">|") => stdout_null = to_null,
            (Some(2), ">" | ">>" | ">|") => stderr_null = to_null,
            (Some(2), ">&") if r.target == "1" => stderr_null = stdout_null,
            _ => {}
        }
    }
    stdout_null && stderr_null
}

#[cfg(test)]
mod tests;
