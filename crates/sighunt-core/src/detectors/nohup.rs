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
use crate::command::{self, CommandRules, Invocation, WordPrefilter, basename};
use crate::detectors::correlation::{Correlator, resolve};
use crate::detectors::{Detector, FindingId, Findings};
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
    scorer: Scorer,
    recent: VecDeque<Recent>,
    correlator: Correlator,
}

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
}

/// One nohup launch found in an event.
struct Launch {
    exec_cmd: String,
    target_words: Vec<String>,
    nohup: Invocation,
}

impl NohupDetector {
    pub fn new(rules: &Rules) -> Result<Self, RulesError> {
        let nohup: NohupRules = rules.section("nohup")?;
        let commands: CommandRules = rules.section("commands")?;
        let scorer = Scorer::new(nohup.indicators.clone(), nohup.base_severity, rules);
        let correlator = Correlator::new(rules, nohup.download_tools.clone())?;
        Ok(NohupDetector {
            rules: nohup,
            commands,
            prefilter: WordPrefilter::new(["nohup"]),
            scorer,
            recent: VecDeque::new(),
            correlator,
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

    fn launches(&self, p: &ProcessStart) -> Vec<Launch> {
        let invocations = match p.origin {
            ProcessOrigin::Exec => command::from_argv(&p.argv, &self.commands),
            ProcessOrigin::Scheduler(_) | ProcessOrigin::CommandText => {
                command::from_shell_text(&p.command_line, &self.commands)
            }
        };
        invocations
            .into_iter()
            .filter(|inv| inv.program() == "nohup")
            .filter_map(|inv| {
                // nohup's only options are --help and --version, and `--`.
                let start = inv.words[1..]
                    .iter()
                    .position(|w| w != "--")
                    .map(|i| i + 1)?;
                let target_words = inv.words[start..].to_vec();
                if target_words[0].starts_with("--") {
                    return None; // --help / --version: nothing launched
                }
                let exec_cmd = if inv.via.last().is_some_and(|v| v == "busybox") {
                    format!("busybox {}", inv.words[0])
                } else {
                    inv.words[0].clone()
                };
                Some(Launch {
                    exec_cmd,
                    target_words,
                    nohup: inv,
                })
            })
            .collect()
    }

    /// The indicators a launch fires.
    fn indicators(&self, p: &ProcessStart, launch: &Launch) -> Vec<&'static str> {
        let r = &self.rules;
        let mut fired = Vec::new();
        let target = &launch.target_words[0];
        let target_name = basename(target);
        let payloads = self.payload_paths(p, &launch.target_words);
        let nested = command::from_argv(&launch.target_words, &self.commands);

        if payloads
            .iter()
            .any(|path| r.temp_dirs.iter().any(|d| path.starts_with(d.as_str())))
        {
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
        if payloads.iter().any(|path| is_hidden_path(path)) {
            fired.push("hidden_path");
        }
        if r.download_tools.iter().any(|t| t == target_name)
            || nested
                .iter()
                .any(|inv| inv.in_pipeline && r.download_tools.iter().any(|t| t == inv.program()))
        {
            fired.push("download_tool");
        }
        if payloads.iter().any(|path| self.is_masquerade(path)) {
            fired.push("masquerade_name");
        }
        if discards_output(&launch.nohup) {
            fired.push("output_discarded");
        }
        if nested.iter().any(is_decoder)
            && nested.iter().any(|inv| self.is_shell_like(inv.program()))
        {
            fired.push("encoded_payload");
        }
        fired
    }

    /// Paths of what actually runs: the target, and the script an interpreter target
    /// is given; relative paths resolved against the working directory.
    fn payload_paths(&self, p: &ProcessStart, target_words: &[String]) -> Vec<String> {
        let mut paths = Vec::new();
        let mut push = |w: &str| {
            if w.contains('/') {
                paths.push(resolve(w, p.cwd.as_deref()));
            }
        };
        push(&target_words[0]);
        if self.is_shell_like(basename(&target_words[0])) {
            // First operand after the interpreter's options, unless code is inline.
            let mut it = target_words[1..].iter();
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
                push(w);
                break;
            }
        }
        paths
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
        let i = self.recent.iter().rposition(|r| {
            let related = r.pid == pid
                || p.ppid == Some(r.pid)
                || (r.session.is_some() && r.session == p.session);
            let close = match (r.time, p.time) {
                (Some(a), Some(b)) => (b - a).num_milliseconds().abs() <= MERGE_WINDOW_MS,
                _ => true,
            };
            related && close && r.host == p.host && r.target == target && r.args == args
        })?;
        self.recent.remove(i).map(|r| r.id)
    }

    fn announce(&mut self, p: &ProcessStart, target: String, args: String, id: FindingId) {
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

    fn observe(&mut self, event: &Event, out: &mut Findings) {
        // Evidence for launches already reported (a bind after the nohup).
        for a in self.correlator.observe(event) {
            if let Some(existing) = out.get_mut(a.id) {
                self.amend(existing, &[a.indicator]);
            }
        }
        let Event::Process(p) = event else { return };
        if let ProcessOrigin::Scheduler(name) = &p.origin {
            if self.rules.excluded_schedulers.iter().any(|s| s == name) {
                self.correlator.record_process(p);
                return;
            }
        }
        if !self.prefilter.may_match(p) {
            self.correlator.record_process(p);
            return;
        }
        for launch in self.launches(p) {
            let mut fired = self.indicators(p, &launch);
            let payloads = self.payload_paths(p, &launch.target_words);
            let target = launch.target_words[0].clone();
            let args = join_argv(&launch.target_words[1..]);
            let key = launch_key(&payloads, &target, &args);
            // nohup is the exec itself (not found behind a wrapper or in a string).
            let announced = !launch.nohup.via.is_empty() || launch.nohup.from_shell_text;
            let merged_into = self.take_announced(p, &target, &args);
            let context = self
                .correlator
                .launch_context(p, &payloads, &key, merged_into);
            fired.extend(context.indicators.iter().copied());
            if let Some(id) = merged_into {
                if let Some(existing) = out.get_mut(id) {
                    self.amend(existing, &fired);
                    self.correlator.register_launch(p, &key, id);
                    if announced {
                        // One step further down a chain (`bash -c "sudo nohup x"`).
                        self.announce(p, target, args, id);
                    }
                    continue;
                }
            }
            let score = self.scorer.score(fired.iter().copied());
            let finding = Finding {
                nohup_target: target.clone(),
                nohup_args: args.clone(),
                ..Finding::for_process(p, DetectionType::Nohup, launch.exec_cmd, score)
            };
            let id = out.push(finding);
            self.correlator.register_launch(p, &key, id);
            if announced {
                self.announce(p, target, args, id);
            }
        }
        self.correlator.record_process(p);
    }
}

/// What identifies "the same program" across launches: the payload's path, or the
/// whole command when nohup runs a bare name (`nohup nc -lvp 4444`).
fn launch_key(payloads: &[String], target: &str, args: &str) -> String {
    match payloads.first() {
        Some(path) => path.clone(),
        None if args.is_empty() => target.to_string(),
        None => format!("{target} {args}"),
    }
}

/// A component of the path starts with a dot.
fn is_hidden_path(path: &str) -> bool {
    path.split('/')
        .any(|c| c.len() > 1 && c.starts_with('.') && c != "..")
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

/// `base64 -d`, `xxd -r`, `openssl enc -d`: decodes a payload.
fn is_decoder(inv: &Invocation) -> bool {
    let args = &inv.words[1..];
    match inv.program() {
        "base64" | "base32" | "basenc" => args
            .iter()
            .any(|a| a == "-d" || a == "--decode" || a == "-D"),
        "xxd" => args.iter().any(|a| a.starts_with("-r")),
        "openssl" => {
            args.iter().any(|a| a == "-d") && args.iter().any(|a| a == "enc" || a == "base64")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests;
