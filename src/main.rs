//! The `sighunt` command line: argument handling only; the work is in the library.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use sighunt::output::input_errors::InputErrorLog;
use sighunt::output::order::SortKey;
use sighunt::output::{self, OutputFormat};
use sighunt::say;
use sighunt_core::engine::hunt::{self, HuntOptions};
use sighunt_core::finding::{Finding, Severity};
use sighunt_core::input::InputFormat;
use sighunt_core::rules::{LoadOptions, Rules};

/// Hunt for MITRE ATT&CK T1564.011 Ignore Process Interrupts: programs started so
/// that a hang-up, Ctrl-C or kill cannot stop them (nohup and its relatives, signal
/// masking, PowerShell error suppression).
///
/// Exit codes: 0 the run completed (also when the reader of the output went away, as
/// `| head` does); 1 --fail-on was given and a finding reached that severity; 2 usage
/// or fatal error, no named input could be read, or --strict and an input error;
/// 130 a hunt stopped by SIGINT or SIGTERM (the findings made so far are written).
/// Other input errors (unreadable or corrupt files, bad records) are reported on
/// stderr, listed in the summary, and never stop the run. See docs/cli.md.
#[derive(Parser, Debug)]
#[command(name = "sighunt", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan log files, directories or stdin for the technique.
    ///
    /// Formats are recognised by content, not by file name: Linux auditd (raw and
    /// enriched, with or without node=, or wrapped in syslog), syslog with process
    /// command lines (RFC 3164, RFC 5424, ISO timestamps), journald JSON
    /// (`journalctl -o json`) and binary journal files (read through journalctl),
    /// Windows EVTX, Windows event XML, JSON and NDJSON (Winlogbeat, Sysmon, Security
    /// 4688, PowerShell 4103/4104), macOS eslogger JSON and unified log
    /// (`log show`) output. Gzip, zstd, xz, bzip2 and lz4 compressed inputs are
    /// decompressed on the fly, recognised by their magic bytes.
    ///
    /// Exit status: 0 done, 1 --fail-on reached, 2 nothing could be read (or an input
    /// error with --strict) or a usage error, 130 interrupted (SIGINT, SIGTERM: the
    /// findings made so far are written).
    Hunt(HuntArgs),

    /// Show the effective rules, or export them for other tools.
    ///
    /// The rules are the embedded defaults, merged with /etc/sighunt/rules.toml,
    /// $XDG_CONFIG_HOME/sighunt/rules.toml (or ~/.config/sighunt/rules.toml) and
    /// each --rules FILE, in that order.
    Rules(RulesArgs),

    /// Check the running processes of this host (Linux procfs) for the technique.
    ///
    /// Reports processes that ignore SIGHUP, SIGINT, SIGQUIT or SIGTERM (the
    /// SigIgn mask of /proc/PID/status), scored by what tells an implant from a
    /// daemon: a deleted, memfd, temp or hidden executable, a borrowed name, a
    /// packet or listening socket, a socket on stdin/stdout, no terminal, a launcher
    /// that exited, nohup. Shells and well-known daemons are allow-listed in the rule
    /// data. Nothing is written to /proc and no process is signalled; processes that
    /// cannot be read are counted in the summary. Root sees every process's context.
    Live(LiveArgs),

    /// Run as an auditd plugin: read audit records from stdin (the audit dispatcher)
    /// and report each finding as soon as its event is complete, to syslog (the
    /// default), a file or stdout. Install with dist/audit/plugins.d/sighunt.conf.
    Plugin(sighunt::plugin::PluginArgs),

    /// Detect on a Kafka log bus: consume raw log lines or JSON events, write each
    /// finding as a JSON message (keyed by host) to an output topic. Instances with
    /// the same --group share the partitions; delivery is at least once, duplicates
    /// carry the same `id`.
    #[cfg(feature = "kafka")]
    Stream(sighunt::stream::StreamArgs),

    /// Watch the kernel for processes setting SIGHUP, SIGINT, SIGQUIT or SIGTERM to
    /// SIG_IGN, as they do it (an eBPF sensor on rt_sigaction; Linux, root), judged
    /// with the same rules as `live`. See docs/sense.md.
    #[cfg(all(feature = "ebpf", target_os = "linux"))]
    Sense(sighunt::sense::SenseArgs),

    /// Watch rt_sigaction with eBPF (not in this build: rebuild with `--features ebpf`).
    #[cfg(not(all(feature = "ebpf", target_os = "linux")))]
    #[command(disable_help_flag = true)]
    Sense {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },

    /// Detect on a Kafka log bus (not in this build: rebuild with `--features kafka`).
    #[cfg(not(feature = "kafka"))]
    #[command(disable_help_flag = true)]
    Stream {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
        args: Vec<std::ffi::OsString>,
    },
}

#[derive(Args, Debug)]
struct HuntArgs {
    /// Files or directories (searched recursively) to scan; `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Read every input as this format instead of sniffing it from content.
    /// One of: auditd, syslog, evtx, xml, json, eslogger, journald, unifiedlog, mde.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<InputFormat>,

    /// Output format: `table` for people, `jsonl` (one JSON object per finding) or
    /// `csv` for machines; `ecs`, `ocsf` or `timesketch` for a SIEM or timeline
    /// (Elastic Common Schema alerts, OCSF Detection Findings, Timesketch events;
    /// see docs/exports.md).
    #[arg(long, short = 'f', default_value = "table", value_name = "FORMAT")]
    format: OutputFormat,

    #[command(flatten)]
    out: FindingOutputArgs,

    /// Order of the findings: `severity` (most severe first, then newest first),
    /// `time` (newest first) or `score` (highest first, then newest), sorted on disk
    /// beyond 16 MiB of findings so memory stays flat; or `none`: each finding
    /// written as it is released (each input in log order), for machines. Default:
    /// severity for the table, time for jsonl and csv.
    #[arg(long, value_name = "KEY")]
    sort: Option<output::order::SortKey>,

    /// Any input error (an unreadable file, a corrupt record) makes the exit status
    /// 2, after the findings are written: for scripts that must not trust a partial
    /// read.
    #[arg(long)]
    strict: bool,

    /// Name every skipped and unreadable file in the summary (without it, they are
    /// named only when there are a few).
    #[arg(long, short = 'v')]
    verbose: bool,

    /// Do not print the summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// No progress bar. One is shown on stderr (files, bytes read, rate, findings so
    /// far) only when stderr is a terminal, and never with --quiet or --follow.
    #[arg(long)]
    no_progress: bool,
    /// Follow symbolic links in directory walks, out of the tree too (never into
    /// /proc, /sys or /dev). Off by default: a walk stays in the tree it was given.
    #[arg(long)]
    follow_links: bool,

    /// Worker threads for scanning inputs in parallel (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,

    #[command(flatten)]
    rule_files: RuleFileArgs,

    /// Logic to apply: `default` (sighunt's detectors and allow-lists) or `seed`
    /// (the seed Sumo Logic query's semantics on the raw records, to compare with it).
    #[arg(long, default_value = "default", value_name = "PROFILE")]
    profile: sighunt_core::profile::ProfileName,

    /// Explain each finding: the indicators and weights that scored it (and the rule
    /// file each came from), how its severity was reached; and list the findings the
    /// allow-list suppressed, with the entry that did (an `explain` field in JSON
    /// Lines, a column in CSV, lines under the table).
    #[arg(long)]
    explain: bool,

    /// Keep reading the files as they grow, like `tail -F` (across rotation and
    /// truncation; a file may not exist yet), and report each finding as soon as
    /// its event is complete, until interrupted. `-` follows stdin until it ends.
    #[arg(long, conflicts_with = "explain")]
    follow: bool,
}

/// Where findings go and which are reported: shared by `hunt` and `live`.
#[derive(Args, Debug)]
struct FindingOutputArgs {
    /// Report only findings of at least this severity: informational, low,
    /// medium, high or critical.
    #[arg(long, default_value = "informational", value_name = "SEVERITY")]
    min_severity: Severity,

    /// Exit with status 1 when any reported finding is at least this severity
    /// (for scripts and CI gates).
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<Severity>,

    /// Write findings to this file instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,

    /// Colour the table's severities: auto (when stdout is a terminal and NO_COLOR
    /// is not set), always (also into a pipe or file) or never.
    #[arg(long, default_value = "auto", value_name = "WHEN", value_parser = ["auto", "always", "never"])]
    color: String,

    /// The table with every column (detection type, exec_cmd, target, all
    /// indicators, pid, ppid, user) instead of the compact set. The table fits the
    /// terminal's width (COLUMNS, else the terminal's size; 120 when not a
    /// terminal, no limit for --wide when not a terminal).
    #[arg(long)]
    wide: bool,
}

impl FindingOutputArgs {
    /// Whether the table is coloured: `auto` means when stdout is a terminal and
    /// findings are not written to a file.
    fn color(&self) -> bool {
        match self.color.as_str() {
            "always" => true,
            "never" => false,
            _ => {
                self.output.is_none()
                    && io::stdout().is_terminal()
                    && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
            }
        }
    }

    /// How the table is laid out; `summary` adds the counts under it.
    fn table(&self, summary: bool) -> output::TableOptions {
        let width = output::table::terminal_width().or(match self.wide {
            true => None,
            false => Some(output::table::DEFAULT_WIDTH),
        });
        output::TableOptions {
            width,
            wide: self.wide,
            color: self.color(),
            summary,
        }
    }

    /// The `--output` file, or stdout.
    fn writer(&self) -> anyhow::Result<Box<dyn Write + Send>> {
        Ok(match &self.output {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(BufWriter::new(io::stdout())),
        })
    }
}

#[derive(Args, Debug)]
struct RuleFileArgs {
    /// A rule file merged over the defaults and the configuration files
    /// (repeatable; later files win).
    #[arg(long = "rules", value_name = "FILE")]
    rules: Vec<PathBuf>,

    /// Do not read /etc/sighunt/rules.toml or the user's configuration file.
    #[arg(long)]
    no_config: bool,
}

impl RuleFileArgs {
    /// The effective rules, checked.
    fn load(&self) -> anyhow::Result<Rules> {
        let rules = Rules::load(&LoadOptions {
            files: self.rules.clone(),
            config: !self.no_config,
        })?;
        sighunt_core::engine::validate_rules(&rules)?;
        Ok(rules)
    }
}

#[derive(Args, Debug)]
struct RulesArgs {
    #[command(subcommand)]
    action: RulesAction,
}

#[derive(Subcommand, Debug)]
enum RulesAction {
    /// Print the effective rules as TOML, headed by the files merged and the values
    /// user files set.
    Show {
        #[command(flatten)]
        rule_files: RuleFileArgs,
    },
    /// Generate detection content for other tools from the effective rules: Sigma
    /// rules, or Sumo Logic, Splunk SPL or Microsoft KQL queries with the current
    /// weights and allow-list.
    Export {
        /// sigma, sumo, splunk or kql.
        #[arg(long, short = 'f', value_name = "FORMAT")]
        format: sighunt_core::export::ExportFormat,
        /// Write one file per rule or query into this directory (created if needed)
        /// instead of printing to stdout.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        rule_files: RuleFileArgs,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(args) => run_hunt(args),
        Command::Rules(args) => run_rules(args),
        Command::Live(args) => run_live(args),
        Command::Plugin(args) => sighunt::plugin::run_cli(args),
        #[cfg(all(feature = "ebpf", target_os = "linux"))]
        Command::Sense(args) => sighunt::sense::run_cli(args),
        #[cfg(not(all(feature = "ebpf", target_os = "linux")))]
        Command::Sense { .. } => {
            say!(
                "sighunt: error: this build has no eBPF sensor; rebuild with \
                 `cargo install --path . --features ebpf` (Linux; needs clang, libelf-dev and \
                 zlib1g-dev), or use `sighunt live --watch 1`, which reads the same from /proc"
            );
            Ok(ExitCode::from(2))
        }
        #[cfg(feature = "kafka")]
        Command::Stream(args) => sighunt::stream::run_cli(args),
        #[cfg(not(feature = "kafka"))]
        Command::Stream { .. } => {
            say!(
                "sighunt: error: this build has no Kafka support; rebuild with \
                 `cargo install --path . --features kafka` (needs cmake and a C compiler)"
            );
            Ok(ExitCode::from(2))
        }
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): it has what it wanted.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            say!("sighunt: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether `e` comes from writing to a pipe whose reader has closed it.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(output::io_broken_pipe)
            || cause
                .downcast_ref::<csv::Error>()
                .is_some_and(output::csv_broken_pipe)
    })
}

fn run_hunt(args: HuntArgs) -> anyhow::Result<ExitCode> {
    let rules = args.rule_files.load()?;
    let allowlist = sighunt_core::allowlist::AllowList::from_rules(&rules, chrono::Utc::now())?;
    for w in &allowlist.warnings {
        say!("sighunt: warning: {}", output::escape_control(w));
    }
    let options = HuntOptions {
        input_format: args.input_format,
        min_severity: args.out.min_severity,
        threads: args.threads,
        profile: sighunt_core::profile::Profile::new(args.profile, &rules)?,
        allowlist,
    };
    if args.follow {
        let follow = sighunt::follow::FollowCommand {
            paths: &args.paths,
            format: args.format,
            output: args.out.output.as_deref(),
            color: args.out.color(),
            quiet: args.quiet,
            fail_on: args.out.fail_on,
        };
        return sighunt::follow::run_command(&follow, &rules, &options);
    }
    let show_progress = !(args.no_progress || args.quiet);
    let walk = sighunt_core::input::WalkOptions {
        follow_links: args.follow_links,
    };
    let found = sighunt_core::input::discover_with(&args.paths, walk);
    let progress =
        output::progress::Progress::start(found.len() as u64, total_size(&found), show_progress);
    let errors = InputErrorLog::default();
    // Error messages quote file names and log content: `record` escapes them. They
    // are printed with the bar hidden, so lines do not mix.
    let on_error = |e: &sighunt_core::input::InputError| {
        if let Some(line) = errors.record(e) {
            progress.suspend(|| say!("{line}"));
        }
    };
    let sort = args.sort.unwrap_or(match args.format {
        OutputFormat::Table => SortKey::Severity,
        _ => SortKey::Time,
    });
    let table = args.out.table(true);
    if args.explain {
        // --explain lists the suppressed findings too: all are kept in memory.
        let mut report = hunt::hunt_found(found, &options, &rules, &on_error, progress.counters())?;
        progress.finish();
        output::order::sort(&mut report.findings, sort);
        let stats = &report.stats;
        let nothing_read = nothing_read(stats);
        let mut out = args.out.writer()?;
        if !(nothing_read && args.format == OutputFormat::Table) {
            output::explain::write(&mut out, args.format, &rules, args.profile, &report, &table)?;
        }
        out.flush()?;
        let worst = report.findings.iter().map(|f| f.severity).max();
        report_end(&args, stats, &errors, nothing_read);
        return Ok(hunt_exit_code(&args, stats, worst, nothing_read));
    }
    // Findings are written as the engines release them (sorted on disk first unless
    // --sort none), in flat memory; a SIGINT or SIGTERM writes what was found.
    let stop = sighunt::signals::install_stop_handlers();
    let writer = output::batches::FindingWriter::new(args.out.writer()?, args.format, table);
    let on_interrupt = |stats: &hunt::HuntStats, writer: &mut output::batches::FindingWriter| {
        progress.clear();
        let mut stats = stats.clone();
        // The counts of what was written, the findings of inputs cut short included.
        stats.by_severity = writer.by_severity;
        for line in errors.untold() {
            say!("{line}");
        }
        if !args.quiet {
            say!("{}", stats.summary());
        }
        say!(
            "sighunt: interrupted: the {} finding{} made so far {} written; the inputs being read were cut short",
            writer.written,
            if writer.written == 1 { "" } else { "s" },
            if writer.written == 1 { "is" } else { "are" }
        );
    };
    let outcome = output::hunt::run(
        found,
        &options,
        &rules,
        &on_error,
        progress.counters(),
        sort,
        writer,
        stop,
        &on_interrupt,
    )?;
    progress.finish();
    let stats = &outcome.stats;
    let nothing_read = nothing_read(stats);
    let mut writer = outcome.writer;
    // "No findings." would read as "clean" when nothing was read: an error says why.
    writer.finish(nothing_read)?;
    report_end(&args, stats, &errors, nothing_read);
    Ok(hunt_exit_code(&args, stats, writer.worst, nothing_read))
}

/// Whether no input could be read at all.
fn nothing_read(stats: &hunt::HuntStats) -> bool {
    stats.files.saturating_sub(stats.unreadable + stats.skipped) == 0
}

/// What a hunt says on stderr once its findings are written: errors not yet told,
/// forced formats that gave nothing, the summary and the inputs not read.
fn report_end(
    args: &HuntArgs,
    stats: &hunt::HuntStats,
    errors: &InputErrorLog,
    nothing_read: bool,
) {
    for line in errors.untold() {
        say!("{line}");
    }
    for (name, bytes) in &stats.no_event_forced {
        say!(
            "sighunt: warning: {}: {bytes} bytes read as --input-format {} gave no event; \
             if that is not its format, leave --input-format out to detect it",
            output::escape_control(name),
            args.input_format.map(|f| f.to_string()).unwrap_or_default()
        );
    }
    if !args.quiet {
        say!("{}", stats.summary());
        print_unread(args, stats, errors, nothing_read);
    }
}

/// The exit status of a hunt (see docs/cli.md): 2 when nothing was read or, with
/// --strict, anything failed (saying why); 1 when --fail-on is reached; else 0.
fn hunt_exit_code(
    args: &HuntArgs,
    stats: &hunt::HuntStats,
    worst: Option<Severity>,
    nothing_read: bool,
) -> ExitCode {
    if nothing_read {
        // The reasons were printed above, each input with its own.
        let why = if stats.files == 0 && stats.input_errors == 0 {
            ": no files were found in the paths given"
        } else {
            " (see above)"
        };
        say!("sighunt: error: no input could be read, so nothing was checked{why}");
        return ExitCode::from(2);
    }
    if args.strict && stats.input_errors > 0 {
        say!(
            "sighunt: error: {} input error{} (--strict)",
            stats.input_errors,
            if stats.input_errors == 1 { "" } else { "s" }
        );
        return ExitCode::from(2);
    }
    let failed = args
        .out
        .fail_on
        .is_some_and(|threshold| worst.is_some_and(|w| w >= threshold));
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The size of the inputs found, for the progress bar; `None` when stdin is one.
fn total_size(found: &[sighunt_core::input::Discovered]) -> Option<u64> {
    use sighunt_core::input::InputSpec;
    let mut total = 0u64;
    for f in found.iter().flatten() {
        match &f.spec {
            InputSpec::File(path) => {
                total += std::fs::metadata(path).map_or(0, |m| m.len());
            }
            InputSpec::Stdin => return None,
        }
    }
    Some(total)
}

/// How many names a summary lists without --verbose.
const NAMED_WHEN_FEW: usize = 5;

/// Names the inputs that were skipped or could not be read (all of them with
/// --verbose, else when there are few).
fn print_unread(
    args: &HuntArgs,
    stats: &hunt::HuntStats,
    errors: &InputErrorLog,
    nothing_read: bool,
) {
    let (failed, failed_count) = errors.failed_inputs();
    let shown = |names: &[String], count: u64| -> Option<String> {
        if names.is_empty() || (!args.verbose && names.len() > NAMED_WHEN_FEW) {
            return None;
        }
        let more = count.saturating_sub(names.len() as u64);
        Some(if more > 0 {
            format!("{} and {more} more", names.join(", "))
        } else {
            names.join(", ")
        })
    };
    // When nothing was read, each failure's own line is the list.
    if failed_count > 0 && !nothing_read {
        let listed = shown(&failed, failed_count)
            .map(|l| format!(": {l}"))
            .unwrap_or_else(|| " (--verbose names them)".to_string());
        say!(
            "sighunt: could not read {failed_count} input{}{listed}",
            if failed_count == 1 { "" } else { "s" }
        );
    }
    if stats.skipped > 0 {
        let names: Vec<String> = stats
            .skipped_paths
            .iter()
            .map(|p| output::escape_control(p))
            .collect();
        let listed = shown(&names, stats.skipped)
            .map(|l| format!(": {l}"))
            .unwrap_or_else(|| " (--verbose names them)".to_string());
        say!("sighunt: skipped (not a log format sighunt reads){listed}");
    }
}

fn write_findings(
    out: &mut dyn Write,
    format: OutputFormat,
    findings: &[Finding],
    table: &output::TableOptions,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => output::write_table_with(out, findings, table),
        OutputFormat::Jsonl => output::write_jsonl(out, findings),
        OutputFormat::Csv => output::write_csv(out, findings),
        OutputFormat::Ecs | OutputFormat::Ocsf | OutputFormat::Timesketch => {
            output::write_documents(out, format, findings)
        }
    }
}

#[derive(Args, Debug)]
struct LiveArgs {
    /// Check only this process (repeatable). Default: every process.
    #[arg(long, value_name = "PID")]
    pid: Vec<u32>,

    /// Scan again every SECONDS (fractions allowed) until interrupted, reporting
    /// each process once (a process is its pid and start time). With --fail-on,
    /// exit with status 1 as soon as a reported finding reaches that severity.
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    watch: Option<std::time::Duration>,

    /// Output format: `table` for people (masked signals appear as ignores_sig*
    /// indicators), `jsonl` (one JSON object per finding) or `csv` for machines.
    #[arg(long, short = 'f', default_value = "table", value_name = "FORMAT")]
    format: OutputFormat,

    #[command(flatten)]
    out: FindingOutputArgs,

    /// The procfs to read: /proc, or the host's /proc mounted elsewhere (e.g.
    /// /host/proc when running in a container).
    #[arg(long, default_value = "/proc", value_name = "DIR")]
    proc_root: PathBuf,

    /// Also report allow-listed processes (shells, well-known daemons whose
    /// severity an `[[signal_live.allow]]` entry capped); hidden by default and
    /// counted in the summary. (The table's first column, `started`, is when each
    /// process started.)
    #[arg(long)]
    all: bool,

    /// Do not print the summary line on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,

    #[command(flatten)]
    rule_files: RuleFileArgs,
}

fn parse_seconds(s: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 86_400.0) {
        return Err(format!(
            "the interval must be more than 0 and at most 86400 seconds, not {s}"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn run_live(args: LiveArgs) -> anyhow::Result<ExitCode> {
    use sighunt_core::live::{LiveOptions, LiveScanner, Watch};

    let rules = args.rule_files.load()?;
    // The site's reviewed exceptions ([[allowlist]]) apply to live findings too.
    let allowlist = sighunt_core::allowlist::AllowList::from_rules(&rules, chrono::Utc::now())?;
    for w in &allowlist.warnings {
        say!("sighunt: warning: {}", output::escape_control(w));
    }
    let no_context = sighunt_core::allowlist::FindingContext::default();
    // Only the host's own /proc shows this process; a mounted one may have other pids.
    let exclude_pids = if args.proc_root == std::path::Path::new("/proc") {
        sighunt_core::live::own_processes()
    } else {
        Vec::new()
    };
    let options = LiveOptions {
        proc_root: args.proc_root.clone(),
        pids: args.pid.clone(),
        exclude_pids,
        ..LiveOptions::default()
    };
    let mut scanner = LiveScanner::new(&rules, options)?;
    let table = args.out.table(false);
    let mut out = args.out.writer()?;
    let reached = |findings: &[Finding]| {
        args.out
            .fail_on
            .is_some_and(|threshold| findings.iter().any(|f| f.severity >= threshold))
    };
    let mut watch = Watch::default();
    let mut first = true;
    loop {
        let report = scanner.scan()?;
        let stats = report.stats.clone();
        let hidden = report
            .hits
            .iter()
            .filter(|h| h.allow_listed && !args.all)
            .count();
        let findings = watch.fresh(report, |h| {
            (args.all || !h.allow_listed)
                && h.finding.severity >= args.out.min_severity
                && allowlist.decide(&h.finding, &no_context).is_none()
        });
        if first || !findings.is_empty() {
            if args.format == OutputFormat::Csv {
                // One CSV stream: the header only once.
                output::write_csv_batch(&mut out, &findings, first)?;
            } else {
                write_findings(&mut out, args.format, &findings, &table)?;
            }
            out.flush()?;
            if !args.quiet {
                let hidden = if first && hidden > 0 {
                    format!(", {hidden} allow-listed not shown (--all shows them)")
                } else {
                    String::new()
                };
                say!("{}{hidden}", stats.summary(&findings));
                if first && !args.pid.is_empty() && stats.vanished > 0 {
                    say!(
                        "sighunt: {} of the --pid processes do not exist",
                        stats.vanished
                    );
                }
            }
        }
        if reached(&findings) {
            return Ok(ExitCode::from(1));
        }
        let Some(interval) = args.watch else {
            return Ok(ExitCode::SUCCESS);
        };
        first = false;
        watch.forget_exited(&args.proc_root);
        std::thread::sleep(interval);
    }
}

fn run_rules(args: RulesArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        RulesAction::Show { rule_files } => {
            let rules = rule_files.load()?;
            io::stdout()
                .lock()
                .write_all(rules.to_toml_string().as_bytes())?;
        }
        RulesAction::Export {
            format,
            out,
            rule_files,
        } => {
            let rules = rule_files.load()?;
            let files = sighunt_core::export::export(&rules, format)?;
            match out {
                Some(dir) => {
                    std::fs::create_dir_all(&dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                    for (name, text) in &files {
                        let path = dir.join(name);
                        std::fs::write(&path, text)
                            .with_context(|| format!("cannot write {}", path.display()))?;
                        say!("sighunt: wrote {}", path.display());
                    }
                }
                None => io::stdout()
                    .lock()
                    .write_all(sighunt_core::export::concatenate(format, &files).as_bytes())?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
