//! The table for people: one row per finding, most relevant columns first, log text
//! escaped, coloured by severity only when writing to a terminal.

use std::io::{self, Write};

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::escape_control;
use sighunt_core::finding::{Finding, Severity};

/// Longest command line shown in a cell; the JSON output has it whole.
const MAX_CELL_CHARS: usize = 160;

/// Writes findings as a table; `color` enables severity colours.
pub fn write_table(out: &mut dyn Write, findings: &[Finding], color: bool) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "No findings.");
    }
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(200);
    if !color {
        table.force_no_tty();
    }
    table.set_header([
        "time",
        "host",
        "severity",
        "score",
        "detection",
        "exec_cmd",
        "target / command",
        "indicators",
        "pid",
        "user",
        "evidence",
    ]);
    for f in findings {
        let shown = if f.nohup_target.is_empty() {
            f.command_line.clone()
        } else {
            format!("{} {}", f.nohup_target, f.nohup_args)
        };
        let mut severity = Cell::new(f.severity.as_str());
        if color {
            severity = severity.fg(match f.severity {
                Severity::Critical => Color::Magenta,
                Severity::High => Color::Red,
                Severity::Medium => Color::Yellow,
                Severity::Low => Color::Cyan,
                Severity::Informational => Color::Grey,
            });
        }
        table.add_row(vec![
            Cell::new(f.time_rfc3339()),
            Cell::new(cell(&f.host)),
            severity,
            Cell::new(f.suspicion_score),
            Cell::new(f.detection_type.as_str()),
            Cell::new(cell(&f.exec_cmd)),
            Cell::new(cell(&shown)),
            Cell::new(f.indicators.join(", ")),
            Cell::new(f.pid.map(|p| p.to_string()).unwrap_or_default()),
            Cell::new(cell(f.user.as_deref().unwrap_or(""))),
            Cell::new(cell(&f.position_label())),
        ]);
    }
    writeln!(out, "{table}")
}

/// Escapes control characters and shortens long text.
fn cell(s: &str) -> String {
    let escaped = escape_control(s.trim());
    if escaped.chars().count() <= MAX_CELL_CHARS {
        return escaped;
    }
    let mut short: String = escaped.chars().take(MAX_CELL_CHARS).collect();
    short.push('…');
    short
}
