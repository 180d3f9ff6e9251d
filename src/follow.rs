//! `hunt --follow` on the command line: the options, the output, the summary. The
//! following itself is [`sighunt_core::engine::follow`].

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use sighunt_core::engine::follow::{FollowOptions, follow};
use sighunt_core::engine::{DEFAULT_HOLD, Engine, EngineOptions, ErrorFn, Hold};
use sighunt_core::finding::{Finding, Severity};
use sighunt_core::input::InputError;
use sighunt_core::rules::Rules;

use crate::signals::install_signal_handlers;

/// The `hunt` options that matter when following.
pub struct FollowCommand<'a> {
    pub paths: &'a [PathBuf],
    pub format: crate::output::OutputFormat,
    pub output: Option<&'a Path>,
    /// Colour the table.
    pub color: bool,
    pub quiet: bool,
    pub fail_on: Option<Severity>,
}

/// Runs `hunt --follow`: findings are written (and flushed) as they become ready;
/// the summary is printed when the run is interrupted (SIGINT, SIGTERM) or stdin
/// ends. Exit status 1 as soon as a finding reaches `--fail-on`.
pub fn run_command(
    cmd: &FollowCommand<'_>,
    rules: &Rules,
    hunt: &sighunt_core::engine::hunt::HuntOptions,
) -> anyhow::Result<std::process::ExitCode> {
    use crate::output::{self, OutputFormat};
    use std::io::Write;

    if !matches!(hunt.profile, sighunt_core::profile::Profile::Default) {
        anyhow::bail!("--follow applies sighunt's detectors only (not --profile seed)");
    }
    let stop = install_signal_handlers();
    let on_error: ErrorFn = Box::new(|e: &InputError| {
        eprintln!("sighunt: {}", output::escape_control(&e.to_string()));
    });
    let mut engine = Engine::new(
        rules,
        EngineOptions {
            min_severity: hunt.min_severity,
            allowlist: hunt.allowlist.clone(),
            hold: Hold::Wall(DEFAULT_HOLD),
            keep_suppressed: false,
        },
        on_error,
    )?;
    let options = FollowOptions {
        input_format: hunt.input_format,
        ..FollowOptions::default()
    };
    let mut out: Box<dyn Write> = match cmd.output {
        Some(path) => {
            Box::new(io::BufWriter::new(File::create(path).map_err(|e| {
                anyhow::anyhow!("cannot create {}: {e}", path.display())
            })?))
        }
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    let mut first = true;
    let mut failed = false;
    let mut emit = |findings: Vec<Finding>| -> io::Result<bool> {
        // In the order their events completed (a stream has no "newest first").
        match cmd.format {
            OutputFormat::Csv => {
                output::write_csv_batch(&mut out, &findings, first)?;
            }
            OutputFormat::Jsonl => output::write_jsonl(&mut out, &findings)?,
            OutputFormat::Table => output::write_table(&mut out, &findings, cmd.color)?,
        }
        first = false;
        out.flush()?;
        if cmd
            .fail_on
            .is_some_and(|t| findings.iter().any(|f| f.severity >= t))
        {
            failed = true;
            return Ok(false);
        }
        Ok(true)
    };
    follow(cmd.paths, &options, &mut engine, stop, &mut emit)?;
    if !cmd.quiet {
        let suppressed = match engine.stats.suppressed {
            0 => String::new(),
            n => format!(", {n} suppressed by the allow-list"),
        };
        eprintln!("{}{suppressed}", engine.stats.summary());
    }
    Ok(if failed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}
