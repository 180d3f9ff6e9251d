//! The table for people: one row per finding, sized to the terminal, log text escaped,
//! severities coloured when asked.
//!
//! Compact by default (time, host, severity, score, what ran, the first indicators,
//! evidence file:line); `wide` shows every column. Columns get at least their longest
//! word, so a word is split only when it cannot fit the width at all (then at a `/`,
//! `\`, `,` or `=` before anywhere else). Text is shown as the log has it: only control
//! characters are escaped (see [`escape_control`]).

use std::io::{self, Write};

use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::escape_control;
use sighunt_core::finding::{DetectionType, Finding, Severity};

/// How a table is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableOptions {
    /// Total width in columns; `None` for no limit (cells are then never wrapped).
    pub width: Option<usize>,
    /// Every column instead of the compact set.
    pub wide: bool,
    /// Severity colours and a bold header (ANSI).
    pub color: bool,
    /// Counts by severity and detection type under the table.
    pub summary: bool,
}

/// Width used when the output is not a terminal and `COLUMNS` is not set.
pub const DEFAULT_WIDTH: usize = 120;
/// Longest command text shown in a cell; the JSON output has it whole.
const MAX_CELL_CHARS: usize = 160;
/// Indicators named in the compact table; the rest are counted (`+2`).
const COMPACT_INDICATORS: usize = 3;
/// Words longer than this do not widen a column (they are split at a separator).
const LONG_WORD: usize = 30;
/// Yield ranks (see [`Column::yields`]).
const EVIDENCE_YIELDS: u8 = 2;
const COMMAND_YIELDS: u8 = 1;
/// Narrowest a squeezed column gets; a yielding one yields down to the second.
const MIN_SQUEEZED: usize = 4;
const MIN_YIELDED: usize = 12;
/// Command columns get at most this much before the others have all they need.
const WHAT_RAN_CAP: usize = 60;
/// Space between columns.
const GAP: &str = "  ";

/// The width of the terminal findings go to: `COLUMNS` when set to a number, else the
/// size of stdout when it is a terminal, else `None`.
pub fn terminal_width() -> Option<usize> {
    if let Some(n) = std::env::var("COLUMNS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        return Some(n);
    }
    stdout_tty_width()
}

#[cfg(unix)]
fn stdout_tty_width() -> Option<usize> {
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own; on a descriptor
    // that is not a terminal it fails and leaves it untouched.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
    (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
}

#[cfg(not(unix))]
fn stdout_tty_width() -> Option<usize> {
    None
}

/// Writes findings as a compact table sized to the terminal (compatibility entry
/// point for the continuous modes: no summary).
pub fn write_table(out: &mut dyn Write, findings: &[Finding], color: bool) -> io::Result<()> {
    let options = TableOptions {
        width: Some(terminal_width().unwrap_or(DEFAULT_WIDTH)),
        wide: false,
        color,
        summary: false,
    };
    write_table_with(out, findings, &options)
}

/// Writes findings as a table laid out by `options`, in the order given.
pub fn write_table_with(
    out: &mut dyn Write,
    findings: &[Finding],
    options: &TableOptions,
) -> io::Result<()> {
    if findings.is_empty() {
        return writeln!(out, "No findings.");
    }
    let columns = if options.wide {
        wide_columns(findings)
    } else {
        let compact = compact_columns(findings);
        // Too narrow for every word of the compact table: stack related values in
        // fewer columns (date over time over host, score under severity, indicators
        // under the command) rather than split words.
        match options.width {
            Some(width) if needed_width(&compact) > width => narrow_columns(findings),
            _ => compact,
        }
    };
    let severities: Vec<Severity> = findings.iter().map(|f| f.severity).collect();
    render(out, &columns, &severities, options)?;
    if options.summary {
        writeln!(out)?;
        for line in wrap(&summary(findings), options.width.unwrap_or(usize::MAX)) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// `18 findings: 1 critical, 7 high, 9 medium, 1 low; by type: nohup_interrupt_ignore
/// 12, signal_mask 6.` Zero counts are left out.
pub fn summary(findings: &[Finding]) -> String {
    let mut counts = SummaryCounts::default();
    findings.iter().for_each(|f| counts.add(f));
    counts.line()
}

/// The counts of a table's [`summary`] line, gathered finding by finding (a table
/// written in pages counts them all).
#[derive(Debug, Clone, Default)]
pub struct SummaryCounts {
    total: u64,
    per_severity: [u64; 5],
    /// In order of first appearance.
    per_type: Vec<(&'static str, u64)>,
}

impl SummaryCounts {
    pub fn add(&mut self, f: &Finding) {
        self.total += 1;
        self.per_severity[f.severity as usize] += 1;
        let t = f.detection_type.as_str();
        match self.per_type.iter_mut().find(|(name, _)| *name == t) {
            Some((_, n)) => *n += 1,
            None => self.per_type.push((t, 1)),
        }
    }

    /// The summary line.
    pub fn line(&self) -> String {
        let mut per_severity = Vec::new();
        for s in Severity::ALL.iter().rev() {
            let n = self.per_severity[*s as usize];
            if n > 0 {
                per_severity.push(format!("{n} {s}"));
            }
        }
        let mut per_type = self.per_type.clone();
        // Most frequent first; ties by name, so the line is stable.
        per_type.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let types: Vec<String> = per_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
        format!(
            "{} finding{}: {}; by type: {}.",
            self.total,
            if self.total == 1 { "" } else { "s" },
            per_severity.join(", "),
            types.join(", ")
        )
    }
}

/// The width a table needs to show every word whole.
fn needed_width(columns: &[Column]) -> usize {
    columns.iter().map(Column::longest_word).sum::<usize>()
        + GAP.len() * columns.len().saturating_sub(1)
}

/// One column: its header, a cell per finding, and how it may be squeezed.
struct Column {
    header: &'static str,
    cells: Vec<String>,
    /// Right-aligned (numbers).
    right: bool,
    /// Never narrower than its widest cell (short fixed-form values).
    fixed: bool,
    /// Given its whole width first when the table has room (the time).
    first: bool,
    /// Widened past this only after the other columns have their whole width (a
    /// long command line must not starve the evidence column).
    soft_cap: Option<usize>,
    /// Squeezed before the others when the table is too narrow, highest first: the
    /// evidence path (least read, splits well at its `/`s), then command text.
    yields: u8,
}

impl Column {
    fn new(header: &'static str, cells: Vec<String>) -> Column {
        Column {
            header,
            cells,
            right: false,
            fixed: false,
            first: false,
            soft_cap: None,
            yields: 0,
        }
    }

    fn yields(mut self, rank: u8) -> Column {
        self.yields = rank;
        self
    }

    fn soft_cap(mut self, cap: usize) -> Column {
        self.soft_cap = Some(cap);
        self
    }

    fn first(mut self) -> Column {
        self.first = true;
        self
    }

    fn fixed(mut self) -> Column {
        self.fixed = true;
        self
    }

    fn right(mut self) -> Column {
        self.right = true;
        self.fixed = true;
        self
    }

    /// The widest single line any cell or the header needs.
    fn natural(&self) -> usize {
        self.cells
            .iter()
            .flat_map(|c| c.lines())
            .chain([self.header])
            .map(UnicodeWidthStr::width)
            .max()
            .unwrap_or(0)
    }

    /// The widest word: below this a word must be split. A path counts by its
    /// longest part (it is split after a `/` before anywhere else), and words longer
    /// than [`LONG_WORD`] (an encoded blob) do not claim their whole width.
    fn longest_word(&self) -> usize {
        if self.fixed {
            return self.natural();
        }
        self.cells
            .iter()
            .flat_map(|c| c.split([' ', '\n']))
            .chain(self.header.split(' '))
            .map(unbreakable_width)
            .max()
            .unwrap_or(0)
            .min(LONG_WORD)
    }
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

/// What ran: `nohup /tmp/x -a` for a launch, the command line otherwise.
fn what_ran(f: &Finding) -> String {
    if f.nohup_target.is_empty() {
        cell(&f.command_line)
    } else {
        cell(&format!(
            "{} {} {}",
            f.exec_cmd, f.nohup_target, f.nohup_args
        ))
    }
}

/// `2024-03-05 12:01:02`: UTC to the second (the space lets a narrow table put the
/// date over the time).
fn short_time(f: &Finding) -> String {
    f.time
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".to_string())
}

fn top_indicators(f: &Finding) -> String {
    let shown: Vec<&str> = f
        .indicators
        .iter()
        .take(COMPACT_INDICATORS)
        .map(String::as_str)
        .collect();
    let mut text = shown.join(", ");
    if f.indicators.len() > COMPACT_INDICATORS {
        text.push_str(&format!(" +{}", f.indicators.len() - COMPACT_INDICATORS));
    }
    text
}

fn compact_columns(findings: &[Finding]) -> Vec<Column> {
    let col = |f: fn(&Finding) -> String| findings.iter().map(f).collect::<Vec<_>>();
    let mut columns = vec![
        Column::new(time_header(findings, "time (UTC)"), col(short_time)).first(),
        Column::new("host", col(|f| cell(&f.host))),
        Column::new("severity", col(|f| f.severity.as_str().to_string())).fixed(),
        Column::new("score", col(|f| f.suspicion_score.to_string())).right(),
        Column::new("what ran", col(what_ran))
            .soft_cap(WHAT_RAN_CAP)
            .yields(COMMAND_YIELDS),
        Column::new("indicators", col(top_indicators)),
        Column::new("evidence", col(|f| cell(&f.position_label()))).yields(EVIDENCE_YIELDS),
    ];
    // Logs without host names (raw auditd) leave an empty column: drop it.
    if findings.iter().all(|f| f.host.trim().is_empty()) {
        columns.remove(1);
    }
    columns
}

/// Findings of running processes (`live`) are timed by when the process started.
fn started(findings: &[Finding]) -> bool {
    findings
        .iter()
        .all(|f| f.detection_type == DetectionType::SignalIgnoreLive)
}

/// The time column's header: `started` for running processes, else `base`.
fn time_header(findings: &[Finding], base: &'static str) -> &'static str {
    match (started(findings), base) {
        (false, _) => base,
        (true, "time") => "started",
        (true, _) => "started (UTC)",
    }
}

/// The compact set in four columns, for terminals too narrow for seven.
fn narrow_columns(findings: &[Finding]) -> Vec<Column> {
    let col = |f: &dyn Fn(&Finding) -> String| findings.iter().map(f).collect::<Vec<_>>();
    let any_host = findings.iter().any(|f| !f.host.trim().is_empty());
    vec![
        Column::new(
            match (any_host, started(findings)) {
                (true, true) => "started (UTC), host",
                (true, false) => "time (UTC), host",
                (false, true) => "started (UTC)",
                (false, false) => "time (UTC)",
            },
            col(&|f| {
                let host = cell(&f.host);
                let mut text = short_time(f).replacen(' ', "\n", 1);
                if !host.is_empty() {
                    text.push('\n');
                    text.push_str(&host);
                }
                text
            }),
        ),
        Column::new(
            "severity, score",
            col(&|f| format!("{}\n{}", f.severity.as_str(), f.suspicion_score)),
        ),
        Column::new(
            "what ran, indicators",
            col(&|f| format!("{}\n{}", what_ran(f), top_indicators(f))),
        )
        .soft_cap(WHAT_RAN_CAP)
        .yields(COMMAND_YIELDS),
        Column::new("evidence", col(&|f| cell(&f.position_label()))).yields(EVIDENCE_YIELDS),
    ]
}

fn wide_columns(findings: &[Finding]) -> Vec<Column> {
    let col = |f: fn(&Finding) -> String| findings.iter().map(f).collect::<Vec<_>>();
    let opt = |v: Option<u32>| v.map(|n| n.to_string()).unwrap_or_default();
    vec![
        Column::new(time_header(findings, "time"), col(|f| f.time_rfc3339())).fixed(),
        Column::new("host", col(|f| cell(&f.host))),
        Column::new("severity", col(|f| f.severity.as_str().to_string())).fixed(),
        Column::new("score", col(|f| f.suspicion_score.to_string())).right(),
        Column::new("detection", col(|f| f.detection_type.as_str().to_string())),
        Column::new("exec_cmd", col(|f| cell(&f.exec_cmd))),
        Column::new(
            "target / command",
            col(|f| {
                if f.nohup_target.is_empty() {
                    cell(&f.command_line)
                } else {
                    cell(&format!("{} {}", f.nohup_target, f.nohup_args))
                }
            }),
        )
        .soft_cap(WHAT_RAN_CAP)
        .yields(COMMAND_YIELDS),
        Column::new("indicators", col(|f| f.indicators.join(", "))),
        // One column: the ppid goes under the pid when the table is narrow.
        Column::new(
            "pid ppid",
            findings
                .iter()
                .map(|f| format!("{} {}", opt(f.pid), opt(f.ppid)).trim().to_string())
                .collect(),
        ),
        Column::new("user", col(|f| cell(f.user.as_deref().unwrap_or("")))),
        Column::new("evidence", col(|f| cell(&f.position_label()))).yields(EVIDENCE_YIELDS),
    ]
}

/// Column widths that fit `total`: every column its longest word if that fits,
/// then the space left shared out to the columns that still wrap, most wanting first.
fn layout(columns: &[Column], total: Option<usize>) -> Vec<usize> {
    let natural: Vec<usize> = columns.iter().map(Column::natural).collect();
    let Some(total) = total else {
        return natural;
    };
    let available = total.saturating_sub(GAP.len() * columns.len().saturating_sub(1));
    let mut widths: Vec<usize> = columns.iter().map(Column::longest_word).collect();
    let mut sum: usize = widths.iter().sum();
    // Too narrow for every word: squeeze the yielding columns, then the widest
    // flexible ones (their words will be split), never below a few characters.
    while sum > available {
        let Some((i, _)) = widths
            .iter()
            .enumerate()
            .filter(|(i, w)| !columns[*i].fixed && **w > MIN_SQUEEZED)
            .max_by_key(|(i, w)| {
                let rank = if **w > MIN_YIELDED {
                    columns[*i].yields
                } else {
                    0
                };
                (rank, **w, std::cmp::Reverse(*i))
            })
        else {
            break;
        };
        widths[i] -= 1;
        sum -= 1;
    }
    // Room to spare: first the columns that read best whole, if they fit whole.
    for (i, c) in columns.iter().enumerate() {
        if c.first && sum + natural[i].saturating_sub(widths[i]) <= available {
            sum += natural[i].saturating_sub(widths[i]);
            widths[i] = widths[i].max(natural[i]);
        }
    }
    // Then widen, one column at a time, the one furthest from its natural width
    // (ties to the left), so wrapped cells get fewer lines: up to the soft caps,
    // then without.
    let capped: Vec<usize> = columns
        .iter()
        .zip(&natural)
        .map(|(c, n)| c.soft_cap.map_or(*n, |cap| cap.min(*n)))
        .collect();
    for targets in [&capped, &natural] {
        while sum < available {
            let Some((i, _)) = widths
                .iter()
                .enumerate()
                .filter(|(i, w)| **w < targets[*i])
                .max_by_key(|(i, w)| (targets[*i] - **w, std::cmp::Reverse(*i)))
            else {
                break;
            };
            widths[i] += 1;
            sum += 1;
        }
    }
    widths
}

fn render(
    out: &mut dyn Write,
    columns: &[Column],
    severities: &[Severity],
    options: &TableOptions,
) -> io::Result<()> {
    let widths = layout(columns, options.width);
    let header: Vec<Vec<String>> = columns
        .iter()
        .zip(&widths)
        .map(|(c, w)| wrap(c.header, *w))
        .collect();
    write_row(out, columns, &widths, &header, |_, text| {
        if options.color {
            format!("\x1b[1m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    })?;
    let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
    writeln!(out, "{}", rule.join(GAP))?;
    for (row, severity) in severities.iter().enumerate() {
        let cells: Vec<Vec<String>> = columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| wrap(&c.cells[row], *w))
            .collect();
        write_row(out, columns, &widths, &cells, |col, text| {
            if options.color
                && columns[col].header.starts_with("severity")
                && text == severity.as_str()
            {
                format!("{}{text}\x1b[0m", severity_colour(*severity))
            } else {
                text.to_string()
            }
        })?;
    }
    Ok(())
}

/// ANSI colour of a severity: the more severe, the louder.
fn severity_colour(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "\x1b[1;35m",
        Severity::High => "\x1b[1;31m",
        Severity::Medium => "\x1b[33m",
        Severity::Low => "\x1b[36m",
        Severity::Informational => "\x1b[2m",
    }
}

/// Writes one row of wrapped cells, line by line; `paint` may colour a cell's text
/// (padding is added outside the colour codes, so widths stay right).
fn write_row(
    out: &mut dyn Write,
    columns: &[Column],
    widths: &[usize],
    cells: &[Vec<String>],
    paint: impl Fn(usize, &str) -> String,
) -> io::Result<()> {
    let height = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    for line in 0..height {
        let mut text = String::new();
        for (i, (lines, width)) in cells.iter().zip(widths).enumerate() {
            let part = lines.get(line).map(String::as_str).unwrap_or("");
            let pad = width.saturating_sub(part.width());
            if i > 0 {
                text.push_str(GAP);
            }
            if columns[i].right {
                text.push_str(&" ".repeat(pad));
            }
            if !part.is_empty() {
                text.push_str(&paint(i, part));
            }
            if !columns[i].right {
                text.push_str(&" ".repeat(pad));
            }
        }
        writeln!(out, "{}", text.trim_end())?;
    }
    Ok(())
}

/// Wraps `text` into lines of at most `width` columns, breaking at spaces; a word
/// wider than a line is split after a `/`, `\`, `,` or `=` where possible, else
/// where it must.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    // Cells are escaped: a newline in one is a line break the table put there.
    if text.contains('\n') {
        return text
            .split('\n')
            .flat_map(|part| wrap(part, width))
            .collect();
    }
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() {
            word.width()
        } else {
            line.width() + 1 + word.width()
        };
        if needed <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest = word;
        while rest.width() > width {
            let (head, tail) = split_word(rest, width);
            lines.push(head.to_string());
            rest = tail;
        }
        line.push_str(rest);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The width of the widest piece of `word` between separators (`/`, `\`, `,`,
/// `=`, each kept with the piece before it).
fn unbreakable_width(word: &str) -> usize {
    word.split_inclusive(['/', '\\', ',', '='])
        .map(UnicodeWidthStr::width)
        .max()
        .unwrap_or(0)
}

/// Splits a word too wide for `width` into a head that fits and the rest: after the
/// last separator that fits, else at the width.
fn split_word(word: &str, width: usize) -> (&str, &str) {
    let mut used = 0;
    let mut hard = 0;
    let mut soft = None;
    for (i, c) in word.char_indices() {
        let w = c.width().unwrap_or(0);
        if used + w > width {
            break;
        }
        used += w;
        hard = i + c.len_utf8();
        if matches!(c, '/' | '\\' | ',' | '=') && hard < word.len() {
            soft = Some(hard);
        }
    }
    // A double-width character wider than the line: take it anyway.
    let at = soft
        .unwrap_or(hard)
        .max(word.chars().next().map_or(0, char::len_utf8));
    word.split_at(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_at_spaces_and_keeps_words_whole() {
        assert_eq!(
            wrap("nohup_interrupt_ignore signal_mask", 24),
            ["nohup_interrupt_ignore", "signal_mask"]
        );
        assert_eq!(wrap("a b c", 3), ["a b", "c"]);
        assert_eq!(wrap("", 5), [""]);
    }

    #[test]
    fn splits_an_overlong_word_after_a_separator_first() {
        assert_eq!(wrap("/tmp/.x/miner", 8), ["/tmp/.x/", "miner"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(
            wrap(r"C:\Users\Public\x.exe", 10),
            [r"C:\Users\", r"Public\", "x.exe"]
        );
    }

    #[test]
    fn layout_gives_every_word_its_width_when_it_fits() {
        let columns = vec![
            Column::new("a", vec!["one two three".into()]),
            Column::new("b", vec!["nohup_interrupt_ignore".into()]),
        ];
        let widths = layout(&columns, Some(30));
        assert!(widths[1] >= "nohup_interrupt_ignore".len(), "{widths:?}");
        assert!(widths.iter().sum::<usize>() + GAP.len() <= 30);
        assert_eq!(layout(&columns, None), [13, 22]);
    }
}
