//! Outputs: findings for people (a table) and machines (JSON Lines, CSV).
//!
//! Log content is attacker-controlled: everything shown to a terminal passes through
//! [`escape_control`], so an ANSI sequence in a command line is printed, not obeyed.
//! JSON Lines escape every control and bidirectional character as `\uXXXX` (exact and
//! reversible); CSV cells escape them as text and neutralise spreadsheet formulas
//! ([`csv_cell`]).

pub mod batches;
pub mod ecs;
pub mod explain;
pub mod hunt;
pub mod input_errors;
pub mod ocsf;
pub mod order;
pub mod progress;
pub mod stderr;
pub mod table;
pub mod timesketch;

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use sighunt_core::finding::{Finding, TECHNIQUE};

pub use table::{TableOptions, write_table, write_table_with};

/// The output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Jsonl,
    Csv,
    /// Elastic Common Schema alert documents (JSON Lines).
    Ecs,
    /// OCSF Detection Findings (JSON Lines).
    Ocsf,
    /// Timesketch timeline events (JSON Lines).
    Timesketch,
}

impl OutputFormat {
    /// Whether findings are written as documents for a SIEM or timeline tool
    /// ([`write_documents`]) rather than in sighunt's own shape.
    pub fn is_document(self) -> bool {
        matches!(
            self,
            OutputFormat::Ecs | OutputFormat::Ocsf | OutputFormat::Timesketch
        )
    }
}

/// Writes findings in a document format (ECS, OCSF, Timesketch), one JSON object
/// per line; the other formats write nothing here.
pub fn write_documents(
    out: &mut dyn Write,
    format: OutputFormat,
    findings: &[Finding],
) -> io::Result<()> {
    match format {
        OutputFormat::Ecs => ecs::write(out, findings),
        OutputFormat::Ocsf => ocsf::write(out, findings),
        OutputFormat::Timesketch => timesketch::write(out, findings),
        OutputFormat::Table | OutputFormat::Jsonl | OutputFormat::Csv => Ok(()),
    }
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "table" => Ok(OutputFormat::Table),
            "jsonl" | "json" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            "ecs" => Ok(OutputFormat::Ecs),
            "ocsf" => Ok(OutputFormat::Ocsf),
            "timesketch" => Ok(OutputFormat::Timesketch),
            _ => Err(format!(
                "unknown output format {s:?} (expected table, jsonl, csv, ecs, ocsf or timesketch)"
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
            OutputFormat::Ecs => "ecs",
            OutputFormat::Ocsf => "ocsf",
            OutputFormat::Timesketch => "timesketch",
        })
    }
}

/// Writes one finding as a JSON line.
pub fn write_jsonl_one(out: &mut dyn Write, finding: &Finding) -> io::Result<()> {
    write_json(&mut *out, finding)?;
    out.write_all(b"\n")
}

/// Serialises `value` as JSON with every control character (C0, DEL, C1), the
/// bidirectional controls and the line/paragraph separators escaped as `\uXXXX`:
/// serde_json escapes only C0, and a terminal or viewer obeys the rest.
pub fn write_json<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, SafeJson);
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// [`write_json`] into a string.
pub fn json_string<T: serde::Serialize + ?Sized>(value: &T) -> io::Result<String> {
    let mut buf = Vec::new();
    write_json(&mut buf, value)?;
    // The serializer writes UTF-8 only.
    String::from_utf8(buf).map_err(io::Error::other)
}

/// Compact JSON whose strings escape what [`needs_json_escape`] names.
struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if needs_json_escape(c) {
                writer.write_all(&fragment.as_bytes()[start..i])?;
                write!(writer, "\\u{:04x}", c as u32)?;
                start = i + c.len_utf8();
            }
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

/// The characters JSON output escapes beyond serde_json's C0 set.
fn needs_json_escape(c: char) -> bool {
    is_control_or_bidi(c)
}

/// C0, DEL, C1, the bidirectional marks, embeddings, overrides and isolates, and the
/// Unicode line and paragraph separators.
pub fn is_control_or_bidi(c: char) -> bool {
    matches!(c as u32, 0..=0x1f | 0x7f..=0x9f | 0x200e | 0x200f | 0x2028..=0x202e | 0x2066..=0x2069)
}

/// Writes findings as JSON Lines.
pub fn write_jsonl(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        write_jsonl_one(out, f)?;
    }
    Ok(())
}

/// The CSV columns: the JSON fields (`id` and `rule_id` last, so that the columns
/// consumers already read keep their positions), with `indicators` joined by `;` and `source`
/// split into `source_path`, `source_position`, `source_format`.
pub const CSV_COLUMNS: [&str; 20] = [
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
    "id",
    "rule_id",
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
    write_csv_rows(&mut w, findings)?;
    w.flush()
}

/// Writes findings as CSV rows (no header), each cell made safe by [`csv_cell`].
pub fn write_csv_rows<W: Write>(w: &mut csv::Writer<W>, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
        let position = match f.source.position {
            sighunt_core::event::Position::Line(n) => format!("line {n}"),
            sighunt_core::event::Position::Record(n) => format!("record {n}"),
            sighunt_core::event::Position::None => String::new(),
        };
        let (time, score, indicators) = (
            f.time_rfc3339(),
            f.suspicion_score.to_string(),
            f.indicators.join(";"),
        );
        let (pid, ppid) = (opt(f.pid), opt(f.ppid));
        let id = f.id();
        let cells: [&str; 20] = [
            &time,
            &f.host,
            f.platform.as_str(),
            f.detection_type.as_str(),
            &f.exec_cmd,
            &f.nohup_target,
            &f.nohup_args,
            &f.command_line,
            &score,
            f.severity.as_str(),
            &indicators,
            &pid,
            &ppid,
            f.user.as_deref().unwrap_or(""),
            TECHNIQUE,
            &f.source.path,
            &position,
            f.source.format,
            &id,
            f.rule_id(),
        ];
        w.write_record(
            cells
                .iter()
                .map(|c| csv_cell(c))
                .collect::<Vec<_>>()
                .iter()
                .map(|c| c.as_bytes()),
        )?;
    }
    Ok(())
}

/// A CSV cell that is safe to open in a spreadsheet and to print: control and
/// bidirectional characters become text escapes (`\x1b`, `\u{202e}`; backslashes are
/// kept as they are, so Windows paths read naturally), and a cell that a spreadsheet
/// would take as a formula (starting with `=`, `+`, `-`, `@`, tab or carriage
/// return, and not a plain number) is prefixed with `'` (the OWASP rule).
pub fn csv_cell(s: &str) -> std::borrow::Cow<'_, str> {
    // A lone `-` (stdin's name) cannot be a formula.
    let formula =
        s.starts_with(['=', '+', '-', '@', '\t', '\r']) && s != "-" && !is_plain_number(s);
    if !formula && !s.chars().any(is_control_or_bidi) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    if formula {
        out.push('\'');
    }
    out.push_str(&escape_control(s));
    std::borrow::Cow::Owned(out)
}

/// `-12`, `+3.5`, `42`: a number a spreadsheet reads as a number, not a formula.
fn is_plain_number(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Makes text safe for a terminal: control characters (C0, DEL, C1) and the Unicode
/// bidirectional overrides are shown as escapes (`\x1b`, `\u{202e}`) instead of being
/// passed through. Everything else is shown as it is: a Windows path keeps its single
/// backslashes.
pub fn escape_control(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_control_or_bidi(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// An I/O error that is, or wraps (a CSV writer's error turned into `io::Error`),
/// a broken pipe: the reader of the output went away (`| head`).
pub fn io_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
        || e.get_ref().is_some_and(|inner| {
            inner
                .downcast_ref::<std::io::Error>()
                .is_some_and(io_broken_pipe)
                || inner
                    .downcast_ref::<csv::Error>()
                    .is_some_and(csv_broken_pipe)
        })
}

/// A CSV writer's error that is a broken pipe.
pub fn csv_broken_pipe(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io_broken_pipe(io))
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
        assert_eq!(escape_control(r"C:\Windows\x.exe"), r"C:\Windows\x.exe");
    }

    #[test]
    fn csv_cells_neutralise_formulas_but_not_numbers() {
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("+1+cmd"), "'+1+cmd");
        assert_eq!(csv_cell("-c 'sleep 1'"), "'-c 'sleep 1'");
        assert_eq!(csv_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_cell("\tx"), "'\\tx");
        assert_eq!(csv_cell("\r=1"), "'\\r=1");
        // Plain numbers are data, not formulas.
        assert_eq!(csv_cell("-12"), "-12");
        assert_eq!(csv_cell("+3.5"), "+3.5");
        assert_eq!(csv_cell("4242"), "4242");
        assert_eq!(csv_cell("-"), "-");
        // Benign text passes unchanged (no copy), backslashes included.
        assert!(matches!(
            csv_cell("C:\\Windows\\x.exe a=b"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(csv_cell("nohup ./x -y"), "nohup ./x -y");
    }

    #[test]
    fn csv_cells_escape_control_and_bidi() {
        assert_eq!(csv_cell("a\x1b[31mb\x07"), "a\\x1b[31mb\\x07");
        assert_eq!(
            csv_cell("x\u{202e}y\u{85}z\u{7f}"),
            "x\\u{202e}y\\u{85}z\\x7f"
        );
        assert_eq!(csv_cell("two\nlines"), "two\\nlines");
    }

    #[test]
    fn json_escapes_c1_bidi_and_del_and_stays_exact() {
        let text = "a\u{1b}b\u{85}c\u{202e}d\u{2066}e\u{7f}f\u{2028}g ü";
        let json = json_string(text).unwrap();
        assert_eq!(
            json,
            "\"a\\u001bb\\u0085c\\u202ed\\u2066e\\u007ff\\u2028g ü\""
        );
        assert!(!json.chars().any(is_control_or_bidi));
        // Any JSON parser reads back the exact text.
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, text);
    }
}
