//! `sighunt plugin`: the auditd plugin mode. auditd (3.x) starts the binary named in
//! `/etc/audit/plugins.d/sighunt.conf` and writes every audit record to its stdin,
//! one per line (`format = string`); findings go to a file, to syslog or to stdout
//! as soon as their event is complete (see [`sighunt_core::engine`] for the hold and the
//! idle flush).
//!
//! auditd passes at most two arguments to a plugin, so everything else can come from
//! a configuration file, `/etc/sighunt/plugin.toml` by default (command-line options
//! win). SIGHUP (auditd forwards it on reconfiguration, logrotate sends it) reopens
//! the output file; SIGTERM or the end of stdin (auditd stopping) flushes what is
//! pending and exits.

use std::ffi::CString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::output::{self, OutputFormat};
use crate::signals;
use sighunt_core::engine::follow::{self, Drained};
use sighunt_core::engine::{self, Engine};
use sighunt_core::finding::{Finding, Severity};
use sighunt_core::input::InputFormat;
use sighunt_core::sources::feeder::Feeder;

/// The configuration file read when none is named.
pub const DEFAULT_CONFIG: &str = "/etc/sighunt/plugin.toml";

/// Where findings go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    /// Appended to; created (mode 0640, its directory 0750) if missing.
    File(PathBuf),
    Syslog(Facility),
}

/// A syslog facility.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facility(libc::c_int);

impl FromStr for Facility {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let f = match s.to_ascii_lowercase().trim_start_matches("log_") {
            "auth" => libc::LOG_AUTH,
            "authpriv" => libc::LOG_AUTHPRIV,
            "daemon" => libc::LOG_DAEMON,
            "user" => libc::LOG_USER,
            "syslog" => libc::LOG_SYSLOG,
            "local0" => libc::LOG_LOCAL0,
            "local1" => libc::LOG_LOCAL1,
            "local2" => libc::LOG_LOCAL2,
            "local3" => libc::LOG_LOCAL3,
            "local4" => libc::LOG_LOCAL4,
            "local5" => libc::LOG_LOCAL5,
            "local6" => libc::LOG_LOCAL6,
            "local7" => libc::LOG_LOCAL7,
            _ => {
                return Err(format!(
                    "unknown syslog facility {s:?} (auth, authpriv, daemon, user, syslog, local0 … local7)"
                ));
            }
        };
        Ok(Facility(f))
    }
}

impl Default for Facility {
    fn default() -> Self {
        // Findings quote command lines: not for every reader of /var/log/syslog.
        Facility(libc::LOG_AUTHPRIV)
    }
}

/// `/etc/sighunt/plugin.toml`: the same settings as the command-line options.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// `stdout`, `syslog`, or a file path.
    pub output: Option<String>,
    /// `jsonl` or `csv` (file and stdout).
    pub format: Option<String>,
    pub min_severity: Option<String>,
    pub syslog_facility: Option<String>,
    /// Rule files merged over the defaults and `/etc/sighunt/rules.toml`.
    #[serde(default)]
    pub rules: Vec<PathBuf>,
    /// How long a finding is held for amending evidence.
    pub hold_ms: Option<u64>,
    /// After this long without records, events without an end marker are completed.
    pub idle_flush_ms: Option<u64>,
}

impl PluginConfig {
    /// Reads `path`; a missing default file is an empty configuration.
    pub fn load(path: &Path, named: bool) -> Result<PluginConfig, String> {
        match fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound && !named => Ok(PluginConfig::default()),
            Err(e) => Err(format!("{}: {e}", path.display())),
        }
    }
}

/// The effective plugin settings.
#[derive(Debug, Clone)]
pub struct PluginOptions {
    pub destination: Destination,
    pub format: OutputFormat,
    /// Forced input format (the dispatcher sends audit text).
    pub input_format: InputFormat,
    pub idle_flush: Duration,
}

/// Writes findings to the destination.
enum Writer {
    Stdout(BufWriter<io::Stdout>),
    File {
        path: PathBuf,
        file: BufWriter<File>,
    },
    Syslog,
}

impl Writer {
    fn open(destination: &Destination) -> io::Result<Writer> {
        Ok(match destination {
            Destination::Stdout => Writer::Stdout(BufWriter::new(io::stdout())),
            Destination::File(path) => Writer::File {
                path: path.clone(),
                file: BufWriter::new(open_output(path)?),
            },
            Destination::Syslog(facility) => {
                static IDENT: &std::ffi::CStr = c"sighunt";
                // SAFETY: IDENT is a static NUL-terminated string, as openlog keeps
                // the pointer.
                unsafe {
                    libc::openlog(IDENT.as_ptr(), libc::LOG_PID | libc::LOG_NDELAY, facility.0)
                };
                Writer::Syslog
            }
        })
    }

    /// A fresh CSV file needs its header.
    fn is_empty(&self) -> bool {
        match self {
            Writer::File { file, .. } => file
                .get_ref()
                .metadata()
                .map(|m| m.len() == 0)
                .unwrap_or(false),
            _ => true,
        }
    }

    fn write(
        &mut self,
        findings: &[Finding],
        format: OutputFormat,
        header: bool,
    ) -> io::Result<()> {
        let out: &mut dyn Write = match self {
            Writer::Stdout(w) => w,
            Writer::File { file, .. } => file,
            Writer::Syslog => {
                for f in findings {
                    let json = output::json_string(f)?;
                    // JSON escapes control characters, so there is no NUL inside.
                    let msg = CString::new(json).map_err(io::Error::other)?;
                    // SAFETY: constant format string, one NUL-terminated argument.
                    unsafe {
                        libc::syslog(syslog_priority(f.severity), c"%s".as_ptr(), msg.as_ptr())
                    };
                }
                return Ok(());
            }
        };
        match format {
            OutputFormat::Csv => {
                output::write_csv_batch(out, findings, header)?;
            }
            f if f.is_document() => output::write_documents(out, f, findings)?,
            _ => output::write_jsonl(out, findings)?,
        }
        out.flush()
    }

    /// After SIGHUP: the file may have been rotated away; write to the path again.
    fn reopen(&mut self) -> io::Result<()> {
        if let Writer::File { path, file } = self {
            let _ = file.flush();
            *file = BufWriter::new(open_output(path)?);
        }
        Ok(())
    }
}

fn open_output(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o750)
                .create(dir)?;
        }
    }
    OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o640)
        .open(path)
}

/// Syslog priority of a finding: its severity.
fn syslog_priority(s: Severity) -> libc::c_int {
    match s {
        Severity::Critical => libc::LOG_CRIT,
        Severity::High => libc::LOG_ERR,
        Severity::Medium => libc::LOG_WARNING,
        Severity::Low => libc::LOG_NOTICE,
        Severity::Informational => libc::LOG_INFO,
    }
}

/// Reads audit records from stdin until it ends or `stop` is set, writing each
/// finding as soon as it is ready. Output errors are reported on stderr and do not
/// stop the plugin (auditd would only restart it).
pub fn run(options: &PluginOptions, engine: &mut Engine, stop: &AtomicBool) -> io::Result<()> {
    let mut writer = Writer::open(&options.destination)?;
    let mut header = options.format == OutputFormat::Csv && writer.is_empty();
    engine.stats.files += 1;
    let mut feeder = Feeder::new(Arc::from("audit-dispatcher"), Some(options.input_format));
    let records = follow::spawn_line_reader(io::stdin());
    let mut failing = false;
    let mut emit = |writer: &mut Writer, findings: Vec<Finding>, header: &mut bool| {
        if findings.is_empty() {
            return;
        }
        match writer.write(&findings, options.format, *header) {
            Ok(()) => {
                *header = false;
                if failing {
                    eprintln!("sighunt: plugin: writing findings works again");
                    failing = false;
                }
            }
            Err(e) => {
                if !failing {
                    eprintln!("sighunt: plugin: cannot write findings: {e}");
                }
                failing = true;
            }
        }
    };
    loop {
        let drained =
            follow::drain_chunks(&records, Duration::from_millis(100), &mut feeder, engine);
        let now = Instant::now();
        feeder.idle_flush(now, options.idle_flush, engine);
        let ready = engine.take_ready(now, false);
        emit(
            &mut writer,
            ready.into_iter().map(|r| r.finding).collect(),
            &mut header,
        );
        if signals::take_hangup() {
            if let Err(e) = writer.reopen() {
                eprintln!("sighunt: plugin: cannot reopen the output: {e}");
            }
            header = options.format == OutputFormat::Csv && writer.is_empty();
        }
        if matches!(drained, Drained::Closed) || stop.load(Ordering::SeqCst) {
            break;
        }
    }
    feeder.flush(engine);
    let rest = engine.finish();
    emit(
        &mut writer,
        rest.into_iter().map(|r| r.finding).collect(),
        &mut header,
    );
    Ok(())
}

/// `sighunt plugin`'s options (each overrides the configuration file).
#[derive(clap::Args, Debug)]
pub struct PluginArgs {
    /// Configuration file (TOML: output, format, min_severity, syslog_facility, rules,
    /// hold_ms, idle_flush_ms). Default: /etc/sighunt/plugin.toml when it exists.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Append findings to this file (created 0640 if missing; reopened on SIGHUP,
    /// for logrotate).
    #[arg(long, short = 'o', value_name = "FILE", conflicts_with_all = ["syslog", "stdout"])]
    pub output: Option<PathBuf>,

    /// Send each finding to syslog as a JSON message, its priority from its
    /// severity (the default destination).
    #[arg(long, conflicts_with = "stdout")]
    pub syslog: bool,

    /// Write findings to stdout (for `ausearch --raw | sighunt plugin --stdout`).
    #[arg(long)]
    pub stdout: bool,

    /// Syslog facility: authpriv (default), auth, daemon, user, local0 … local7.
    #[arg(long, value_name = "FACILITY")]
    pub syslog_facility: Option<Facility>,

    /// jsonl (default) or csv, for a file or stdout.
    #[arg(long, short = 'f', value_name = "FORMAT")]
    pub format: Option<OutputFormat>,

    /// Report only findings of at least this severity.
    #[arg(long, value_name = "SEVERITY")]
    pub min_severity: Option<Severity>,

    /// A rule file merged over the defaults and /etc/sighunt/rules.toml (repeatable).
    #[arg(long = "rules", value_name = "FILE")]
    pub rules: Vec<PathBuf>,

    /// Read neither /etc/sighunt/plugin.toml nor the rule configuration files.
    #[arg(long)]
    pub no_config: bool,

    /// How long (ms) a finding waits for evidence that amends it (default 500).
    #[arg(long, value_name = "MS")]
    pub hold_ms: Option<u64>,

    /// Input format (default auditd: what the dispatcher sends).
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,
}

/// Runs `sighunt plugin` from its command line.
pub fn run_cli(args: PluginArgs) -> anyhow::Result<std::process::ExitCode> {
    use anyhow::Context;

    let config = match &args.config {
        Some(path) => PluginConfig::load(path, true),
        None if args.no_config => Ok(PluginConfig::default()),
        None => PluginConfig::load(Path::new(DEFAULT_CONFIG), false),
    }
    .map_err(anyhow::Error::msg)?;
    let mut files = config.rules.clone();
    files.extend(args.rules.iter().cloned());
    let rules = sighunt_core::rules::Rules::load(&sighunt_core::rules::LoadOptions {
        files,
        config: !args.no_config,
    })?;
    sighunt_core::engine::validate_rules(&rules)?;
    let allowlist = sighunt_core::allowlist::AllowList::from_rules(&rules, chrono::Utc::now())?;
    for w in &allowlist.warnings {
        eprintln!("sighunt: warning: {}", output::escape_control(w));
    }
    let facility = match (&args.syslog_facility, &config.syslog_facility) {
        (Some(f), _) => *f,
        (None, Some(name)) => name.parse().map_err(anyhow::Error::msg)?,
        (None, None) => Facility::default(),
    };
    let destination = if let Some(path) = &args.output {
        Destination::File(path.clone())
    } else if args.stdout {
        Destination::Stdout
    } else if args.syslog {
        Destination::Syslog(facility)
    } else {
        match config.output.as_deref() {
            None | Some("syslog") => Destination::Syslog(facility),
            Some("stdout") => Destination::Stdout,
            Some(path) => Destination::File(PathBuf::from(path)),
        }
    };
    let format = match (args.format, &config.format) {
        (Some(f), _) => f,
        (None, Some(name)) => name.parse().map_err(anyhow::Error::msg)?,
        (None, None) => OutputFormat::Jsonl,
    };
    if format == OutputFormat::Table {
        anyhow::bail!("the plugin writes jsonl or csv, not a table");
    }
    let min_severity = match (args.min_severity, &config.min_severity) {
        (Some(s), _) => s,
        (None, Some(name)) => name.parse().map_err(anyhow::Error::msg)?,
        (None, None) => Severity::Informational,
    };
    let hold = Duration::from_millis(args.hold_ms.or(config.hold_ms).unwrap_or(500));
    let idle_flush = config
        .idle_flush_ms
        .map_or(follow::DEFAULT_IDLE_FLUSH, Duration::from_millis);
    let options = PluginOptions {
        destination,
        format,
        input_format: args.input_format.unwrap_or(InputFormat::Auditd),
        idle_flush,
    };
    let stop = signals::install_signal_handlers();
    let mut engine = Engine::new(
        &rules,
        engine::EngineOptions {
            min_severity,
            allowlist,
            hold: engine::Hold::Wall(hold),
            keep_suppressed: false,
        },
        Box::new(|e| {
            eprintln!(
                "sighunt: plugin: {}",
                output::escape_control(&e.to_string())
            )
        }),
    )?;
    run(&options, &mut engine, stop).context("plugin")?;
    eprintln!("{}", engine.stats.summary());
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;
