//! The `sighunt` command line: argument handling only; the work is in the library.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use sighunt::finding::{Finding, Severity};
use sighunt::input::InputFormat;
use sighunt::output::{self, OutputFormat};
use sighunt::pipeline::{self, HuntOptions};
use sighunt::rules::Rules;

/// Hunt for MITRE ATT&CK T1564.011 Ignore Process Interrupts: programs started so
/// that a hang-up, Ctrl-C or kill cannot stop them (nohup and its relatives, signal
/// masking, PowerShell error suppression).
///
/// Exit codes: 0 the run completed; 1 --fail-on was given and a finding reached
/// that severity; 2 usage or fatal error. Input errors (unreadable or corrupt files,
/// bad records) are reported on stderr and counted, and never stop the run.
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
    /// enriched, with or without node=, or wrapped in syslog). Gzip and zstd
    /// compressed inputs are decompressed on the fly.
    Hunt(HuntArgs),
}

#[derive(Args, Debug)]
struct HuntArgs {
    /// Files or directories (searched recursively) to scan; `-` reads stdin.
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,

    /// Read every input as this format instead of sniffing it from content.
    /// One of: auditd, syslog, evtx, xml, json.
    #[arg(long, value_name = "FORMAT")]
    input_format: Option<InputFormat>,

    /// Output format: `table` for people, `jsonl` (one JSON object per finding) or
    /// `csv` for machines.
    #[arg(long, short = 'f', default_value = "table", value_name = "FORMAT")]
    format: OutputFormat,

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

    /// Colour the table: auto (when stdout is a terminal), always or never.
    #[arg(long, default_value = "auto", value_name = "WHEN", value_parser = ["auto", "always", "never"])]
    color: String,

    /// Do not print the summary line on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,

    /// Worker threads for scanning inputs in parallel (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    threads: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Hunt(args) => run_hunt(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sighunt: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run_hunt(args: HuntArgs) -> anyhow::Result<ExitCode> {
    let rules = Rules::embedded();
    let options = HuntOptions {
        input_format: args.input_format,
        min_severity: args.min_severity,
        threads: args.threads,
    };
    // Error messages quote file names and log content: escape them always.
    let on_error = |e: &sighunt::input::InputError| {
        eprintln!("sighunt: {}", output::escape_control(&e.to_string()));
    };
    let report = pipeline::hunt(&args.paths, &options, &rules, &on_error)?;

    let to_terminal = args.output.is_none() && io::stdout().is_terminal();
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => to_terminal,
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(BufWriter::new(io::stdout().lock())),
    };
    write_findings(&mut out, args.format, &report.findings, color)?;
    out.flush()?;
    if !args.quiet {
        eprintln!("{}", report.stats.summary());
    }
    let failed = args
        .fail_on
        .is_some_and(|threshold| report.findings.iter().any(|f| f.severity >= threshold));
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn write_findings(
    out: &mut dyn Write,
    format: OutputFormat,
    findings: &[Finding],
    color: bool,
) -> io::Result<()> {
    match format {
        OutputFormat::Table => output::write_table(out, findings, color),
        OutputFormat::Jsonl => output::write_jsonl(out, findings),
        OutputFormat::Csv => output::write_csv(out, findings),
    }
}
