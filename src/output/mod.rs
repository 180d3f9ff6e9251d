//! Outputs: findings for people (a table) and machines (JSON Lines, CSV).
//!
//! Log content is attacker-controlled: everything shown to a terminal passes through
//! [`escape_control`], so an ANSI sequence in a command line is printed, not obeyed.

pub mod explain;
pub mod progress;
mod table;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use sighunt_core::finding::{Finding, TECHNIQUE};

pub use table::write_table;

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Jsonl,
    Csv,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "jsonl" | "json" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            _ => Err(format!(
                "unknown output format {s:?} (expected table, jsonl or csv)"
            )),
        }
    }
}

impl fmt::Display for OutputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OutputFormat::Table => "table",
            OutputFormat::Jsonl => "jsonl",
            OutputFormat::Csv => "csv",
        })
    }
}

/// Writes one finding as a JSON line.
pub fn write_jsonl_one(out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
    serde_json::to_writer(&mut *out, finding)?;
    out.write_all(b"\n")
}

/// Writes findings as JSON Lines.
pub fn write_jsonl(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        write_jsonl_one(out, f)?;
    }
    Ok(())
}

/// The CSV columns: the JSON fields, with `indicators` joined by `;` and `source`
/// split into `source_path`, `source_position`, `source_format`.
pub const CSV_COLUMNS: [&str; 18] = [
    "time",
    "host",
    "platform",
    "detection_type",
    "exec_cmd",
    "nohup_target",
    "nohup_args",
    "command_line",
    "suspicion_score",
    "severity",
    "indicators",
    "pid",
    "ppid",
    "user",
    "technique",
    "source_path",
    "source_position",
    "source_format",
];

/// Writes findings as CSV with a header row.
pub fn write_csv(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    write_csv_batch(out, findings, true)
}

/// One batch of a CSV stream (follow, plugin, sense): the header only with the first.
pub fn write_csv_batch(out: &mut dyn Write, findings: &[Finding], header: bool) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    if header {
        w.write_record(CSV_COLUMNS)?;
    }
    for f in findings {
        let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        let position = match f.source.position {
            sighunt_core::event::Position::Line(n) => format!("line {n}"),
            sighunt_core::event::Position::Record(n) => format!("record {n}"),
            sighunt_core::event::Position::None => String::new(),
        };
        w.write_record([
            f.time_rfc3339().as_str(),
            &f.host,
            f.platform.as_str(),
            f.detection_type.as_str(),
            &f.exec_cmd,
            &f.nohup_target,
            &f.nohup_args,
            &f.command_line,
            &f.suspicion_score.to_string(),
            f.severity.as_str(),
            &f.indicators.join(";"),
            &opt(f.pid),
            &opt(f.ppid),
            f.user.as_deref().unwrap_or(""),
            TECHNIQUE,
            &f.source.path,
            &position,
            f.source.format,
        ])?;
    }
    w.flush()
}

/// Makes text safe for a terminal: control characters (C0, DEL, C1) and the Unicode
/// bidirectional overrides are shown as escapes (`\x1b`, `\u{202e}`) instead of being
/// passed through.
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if (0x80..0xa0).contains(&(c as u32))
                || matches!(c as u32, 0x200e | 0x200f | 0x202a..=0x202e | 0x2066..=0x2069) =>
            {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_control() {
        assert_eq!(escape_control("a\x1b[31mred\x07"), "a\\x1b[31mred\\x07");
        assert_eq!(escape_control("tab\there\nnl"), "tab\\there\\nnl");
        assert_eq!(escape_control("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert_eq!(escape_control("c1\u{9b}x"), "c1\\u{9b}x");
        assert_eq!(escape_control("plain /tmp/x ü"), "plain /tmp/x ü");
    }
}
