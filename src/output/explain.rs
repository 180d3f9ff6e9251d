//! Writing `--explain` output: the explanation as a JSON field, a CSV column, or
//! lines under the table. The evidence of correlated indicators (the finding's
//! `related` events) is named in each: what, when, which process, file:line.

use std::io::{self, Write};

use sighunt_core::allowlist::Suppressed;
use sighunt_core::explain::{Explained, Explainer};
use sighunt_core::finding::Finding;
use sighunt_core::profile::ProfileName;
use sighunt_core::rules::Rules;

use crate::output;

/// A finding's JSON line with the `explain` field appended (contract fields keep
/// their order).
pub fn write_jsonl(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    items: &[Explained<'_>],
) -> io::Result<()> {
    for e in items {
        let base = output::json_string(e.finding)?;
        let body = base.strip_suffix('}').unwrap_or(&base);
        let explain = output::json_string(&explainer.json(e))?;
        writeln!(out, "{body},\"explain\":{explain}}}")?;
    }
    Ok(())
}

/// CSV with an `explain` column (the text form).
pub fn write_csv(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    items: &[Explained<'_>],
) -> io::Result<()> {
    let findings: Vec<Finding> = items.iter().map(|e| e.finding.clone()).collect();
    let mut plain = Vec::new();
    output::write_csv(&mut plain, &findings)?;
    let mut reader = csv::Reader::from_reader(plain.as_slice());
    let mut w = csv::Writer::from_writer(out);
    let mut header = reader.headers()?.clone();
    header.push_field("explain");
    w.write_record(&header)?;
    for (record, e) in reader.records().zip(items) {
        let mut record = record?;
        let mut text = explainer.text(e);
        for r in &e.finding.related {
            text.push_str("; evidence ");
            text.push_str(&r.describe());
        }
        record.push_field(&output::csv_cell(&text));
        w.write_record(&record)?;
    }
    w.flush()
}

/// The table of reported findings, then one explanation line per finding (in table
/// order) and the suppressed findings with the entries that suppressed them.
pub fn write_table(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    findings: &[Finding],
    suppressed: &[Suppressed],
    table: &output::TableOptions,
) -> io::Result<()> {
    output::write_table_with(out, findings, table)?;
    if !findings.is_empty() {
        writeln!(out, "\nWhy (in table order):")?;
    }
    for (i, f) in findings.iter().enumerate() {
        let e = Explained {
            finding: f,
            suppressed: None,
        };
        writeln!(
            out,
            "  {:>3}. {}",
            i + 1,
            output::escape_control(&explainer.text(&e))
        )?;
        write_evidence(out, f)?;
    }
    if !suppressed.is_empty() {
        writeln!(out, "\nSuppressed by the allow-list:")?;
        for s in suppressed {
            let f = &s.finding;
            let e = Explained {
                finding: f,
                suppressed: Some(&s.by),
            };
            let what = format!(
                "{} {} {} {} {}",
                f.time_rfc3339(),
                f.host,
                f.detection_type.as_str(),
                f.exec_cmd,
                f.nohup_target
            );
            writeln!(
                out,
                "  - {}\n      {}",
                output::escape_control(what.trim_end()),
                output::escape_control(&explainer.text(&e))
            )?;
            write_evidence(out, f)?;
        }
    }
    Ok(())
}

/// Lists the launches left out on purpose (scheduler launches with no indicator of
/// medium severity or more), so that nothing disappears silently.
fn write_excluded(
    out: &mut dyn Write,
    report: &sighunt_core::engine::hunt::HuntReport,
) -> io::Result<()> {
    if report.stats.excluded == 0 {
        return Ok(());
    }
    writeln!(
        out,
        "\n{} scheduler launch(es) excluded (the seed's exclusion; shown: {}):",
        report.stats.excluded,
        report.excluded.len()
    )?;
    for e in &report.excluded {
        let at = match e.source.position {
            sighunt_core::event::Position::Line(n) => format!("{}:{n}", e.source.path),
            sighunt_core::event::Position::Record(n) => format!("{} record {n}", e.source.path),
            sighunt_core::event::Position::None => e.source.path.to_string(),
        };
        writeln!(
            out,
            "  - {} {} {}\n      {}: {}",
            e.time.map(|t| t.to_rfc3339()).unwrap_or_default(),
            output::escape_control(&e.host),
            output::escape_control(&at),
            output::escape_control(&e.reason),
            output::escape_control(&e.command_line)
        )?;
    }
    Ok(())
}

/// One line per correlated indicator's evidence, under a finding's explanation.
fn write_evidence(out: &mut dyn Write, f: &Finding) -> io::Result<()> {
    for r in &f.related {
        writeln!(
            out,
            "       evidence {}",
            output::escape_control(&r.describe())
        )?;
    }
    Ok(())
}

/// Writes a hunt's findings with their explanations in `format`.
pub fn write(
    out: &mut dyn Write,
    format: output::OutputFormat,
    rules: &Rules,
    profile: ProfileName,
    report: &sighunt_core::engine::hunt::HuntReport,
    table: &output::TableOptions,
) -> io::Result<()> {
    let explainer = Explainer::new(rules, profile);
    match format {
        output::OutputFormat::Table => {
            write_table(out, &explainer, &report.findings, &report.suppressed, table)?;
            write_excluded(out, report)
        }
        output::OutputFormat::Jsonl => {
            let items = Explained::merge(&report.findings, &report.suppressed);
            write_jsonl(out, &explainer, &items)
        }
        output::OutputFormat::Csv => {
            let items = Explained::merge(&report.findings, &report.suppressed);
            write_csv(out, &explainer, &items)
        }
        // Documents for other tools have no place for the reasoning.
        f @ (output::OutputFormat::Ecs
        | output::OutputFormat::Ocsf
        | output::OutputFormat::Timesketch) => output::write_documents(out, f, &report.findings),
    }
}
