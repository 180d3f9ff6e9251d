//! `--profile seed`: the seed Sumo Logic query's semantics, applied to raw records.
//!
//! The query never sees parsed events: it sees messages (one log line, one Windows
//! event) and runs keyword scope → exclusions → `parse regex` → `where` → `if(…
//! matches …)` indicators worth 1 each. This module does exactly that on each raw
//! record of an input, with the query's strings taken from `[seed]` in the rule
//! data, so it needs nothing from sighunt's sources or detectors: the comparison
//! with the default profile is between the two logics, not two parsers.
//!
//! Where Sumo Logic's semantics had to be chosen (documented in `rules/seed.toml`
//! and the README's "Seed parity"): keywords are case-insensitive whole terms;
//! `matches "…"` is a wildcard pattern unless `[seed] matches = "regex"`; a field a
//! `parse … nodrop` did not find is null and matches nothing; `process` is a syslog
//! line's program name.

use std::io::BufRead;
use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Utc};
use regex::Regex;
use serde::Deserialize;

use crate::event::{Platform, Position, Provenance};
use crate::finding::{DetectionType, Finding, Severity};
use crate::input::lines::{Line, LineReader};
use crate::input::{InputError, InputFormat, Opened, Payload};
use crate::rules::{Rules, RulesError, de_severity};
use crate::sources::MAX_LINE_BYTES;
use crate::sources::windows::read_evtx_records;

/// Largest Windows XML event accumulated; larger ones are reported and skipped.
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// `[seed]` in the rule data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedRules {
    matches: MatchMode,
    #[serde(deserialize_with = "de_severity")]
    severity: Severity,
    nohup: NohupPartRules,
    powershell: PsPartRules,
}

/// How `matches "…"` patterns are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchMode {
    /// Sumo Logic's documented semantics: `*` is any text, the rest literal.
    Wildcard,
    /// The author's evident intent: a regular expression matching the whole value.
    Regex,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct NohupPartRules {
    keywords: Vec<String>,
    excluded_processes: Vec<String>,
    excluded_raw: Vec<String>,
    exec_cmd_regex: String,
    nohup_regex: String,
    min_score: i64,
    indicators: Vec<SeedIndicatorRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PsPartRules {
    images: Vec<String>,
    suppression: Vec<String>,
    command_line_regex: String,
    process_image_regex: String,
    process_image_pattern: String,
    min_score: i64,
    indicators: Vec<SeedIndicatorRule>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedIndicatorRule {
    name: String,
    field: String,
    patterns: Vec<String>,
}

/// The field an indicator tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Raw,
    ExecCmd,
    NohupTarget,
    NohupArgs,
    CmdLower,
}

#[derive(Debug)]
struct Indicator {
    name: String,
    field: Field,
    patterns: Vec<Regex>,
}

/// A keyword expression term: a phrase of Sumo terms.
#[derive(Debug)]
struct Phrase(Vec<String>);

/// The seed query, compiled.
#[derive(Debug)]
pub struct SeedQuery {
    pub mode: MatchMode,
    severity: Severity,
    nohup_keywords: Vec<Phrase>,
    excluded_processes: Vec<String>,
    excluded_raw: Vec<Regex>,
    exec_cmd: Regex,
    nohup: Regex,
    nohup_min_score: i64,
    nohup_indicators: Vec<Indicator>,
    ps_images: Vec<Phrase>,
    ps_suppression: Vec<Phrase>,
    command_line: Regex,
    process_image: Regex,
    process_image_pattern: Regex,
    ps_min_score: i64,
    ps_indicators: Vec<Indicator>,
}

/// Which part of the query a record is in scope of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Part 1: Linux/macOS nohup (auditd, syslog).
    Nohup,
    /// Part 2: Windows PowerShell error suppression (Sysmon, Security).
    PowerShell,
}

/// A row of the query's output, before it is made a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedRow {
    pub detection_type: DetectionType,
    pub exec_cmd: String,
    pub nohup_target: String,
    pub nohup_args: String,
    pub indicators: Vec<String>,
    pub suspicion_score: i64,
}

/// What a record's header says: `_time`, `_sourceHost`, and the syslog program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordMeta {
    pub time: Option<DateTime<Utc>>,
    pub host: String,
    pub process: Option<String>,
}

fn compile(section: &str, what: &str, pattern: &str) -> Result<Regex, RulesError> {
    Regex::new(pattern).map_err(|e| RulesError::Field {
        section: section.to_string(),
        path: what.to_string(),
        message: format!("invalid regular expression: {e}"),
    })
}

impl SeedQuery {
    /// Compiles `[seed]` from the rule data.
    pub fn from_rules(rules: &Rules) -> Result<SeedQuery, RulesError> {
        let r: SeedRules = rules.section("seed")?;
        let mode = r.matches;
        let indicators = |part: &str, list: &[SeedIndicatorRule], allowed: &[(&str, Field)]| {
            list.iter()
                .map(|i| {
                    let field = allowed
                        .iter()
                        .find(|(n, _)| *n == i.field)
                        .map(|(_, f)| *f)
                        .ok_or_else(|| RulesError::Field {
                            section: "seed".into(),
                            path: format!("{part}.indicators[{}].field", i.name),
                            message: format!(
                                "unknown field {:?} (expected one of {})",
                                i.field,
                                allowed
                                    .iter()
                                    .map(|(n, _)| *n)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                        })?;
                    let patterns = i
                        .patterns
                        .iter()
                        .map(|p| {
                            matches_regex(mode, p).map_err(|e| RulesError::Field {
                                section: "seed".into(),
                                path: format!("{part}.indicators[{}].patterns", i.name),
                                message: format!("invalid pattern {p:?}: {e}"),
                            })
                        })
                        .collect::<Result<_, _>>()?;
                    Ok(Indicator {
                        name: i.name.clone(),
                        field,
                        patterns,
                    })
                })
                .collect::<Result<Vec<_>, RulesError>>()
        };
        let nohup_fields = [
            ("_raw", Field::Raw),
            ("exec_cmd", Field::ExecCmd),
            ("nohup_target", Field::NohupTarget),
            ("nohup_args", Field::NohupArgs),
        ];
        let ps_fields = [("_raw", Field::Raw), ("cmd_lower", Field::CmdLower)];
        Ok(SeedQuery {
            mode,
            severity: r.severity,
            nohup_keywords: r.nohup.keywords.iter().map(|k| Phrase::new(k)).collect(),
            excluded_processes: r.nohup.excluded_processes.clone(),
            excluded_raw: r
                .nohup
                .excluded_raw
                .iter()
                .map(|p| compile("seed", "nohup.excluded_raw", p))
                .collect::<Result<_, _>>()?,
            exec_cmd: compile("seed", "nohup.exec_cmd_regex", &r.nohup.exec_cmd_regex)?,
            nohup: compile("seed", "nohup.nohup_regex", &r.nohup.nohup_regex)?,
            nohup_min_score: r.nohup.min_score,
            nohup_indicators: indicators("nohup", &r.nohup.indicators, &nohup_fields)?,
            ps_images: r.powershell.images.iter().map(|k| Phrase::new(k)).collect(),
            ps_suppression: r
                .powershell
                .suppression
                .iter()
                .map(|k| Phrase::new(k))
                .collect(),
            command_line: compile(
                "seed",
                "powershell.command_line_regex",
                &r.powershell.command_line_regex,
            )?,
            process_image: compile(
                "seed",
                "powershell.process_image_regex",
                &r.powershell.process_image_regex,
            )?,
            process_image_pattern: matches_regex(mode, &r.powershell.process_image_pattern)
                .map_err(|e| RulesError::Field {
                    section: "seed".into(),
                    path: "powershell.process_image_pattern".into(),
                    message: e.to_string(),
                })?,
            ps_min_score: r.powershell.min_score,
            ps_indicators: indicators("powershell", &r.powershell.indicators, &ps_fields)?,
        })
    }

    /// Part 1 on one raw record: the row the query outputs for it, if any.
    pub fn nohup_row(&self, raw: &str, meta: &RecordMeta) -> Option<SeedRow> {
        let terms = terms(raw);
        if !self.nohup_keywords.iter().any(|k| k.found_in(&terms)) {
            return None;
        }
        let excluded_process = meta.process.as_deref().is_some_and(|p| {
            self.excluded_processes
                .iter()
                .any(|x| x.eq_ignore_ascii_case(p))
        });
        if excluded_process || self.excluded_raw.iter().any(|re| re.is_match(raw)) {
            return None;
        }
        let exec_cmd = capture(&self.exec_cmd, raw, "exec_cmd");
        let (target, args) = match self.nohup.captures(raw) {
            Some(c) => (
                c.name("nohup_target").map(|m| m.as_str().to_string()),
                c.name("nohup_args").map(|m| m.as_str().to_string()),
            ),
            None => (None, None),
        };
        // where exec_cmd = "nohup" OR nohup_target != "" (a null field fails both)
        if exec_cmd.as_deref() != Some("nohup") && target.as_deref().is_none_or(str::is_empty) {
            return None;
        }
        let value = |f: Field| -> Option<&str> {
            match f {
                Field::Raw => Some(raw),
                Field::ExecCmd => exec_cmd.as_deref(),
                Field::NohupTarget => target.as_deref(),
                Field::NohupArgs => args.as_deref(),
                Field::CmdLower => None,
            }
        };
        let fired = fire(&self.nohup_indicators, value);
        let score = fired.len() as i64;
        (score >= self.nohup_min_score).then(|| SeedRow {
            detection_type: DetectionType::Nohup,
            exec_cmd: exec_cmd.clone().unwrap_or_default(),
            nohup_target: target.clone().unwrap_or_default(),
            nohup_args: args.clone().unwrap_or_default(),
            indicators: fired,
            suspicion_score: score,
        })
    }

    /// Part 2 on one raw record: the row the query outputs for it, if any.
    pub fn powershell_row(&self, raw: &str) -> Option<SeedRow> {
        let terms = terms(raw);
        if !self.ps_images.iter().any(|k| k.found_in(&terms))
            || !self.ps_suppression.iter().any(|k| k.found_in(&terms))
        {
            return None;
        }
        let command_line = capture(&self.command_line, raw, "command_line");
        let process_image = capture(&self.process_image, raw, "process_image")?;
        if !self.process_image_pattern.is_match(&process_image) {
            return None;
        }
        let cmd_lower = command_line.as_deref().map(str::to_lowercase);
        let value = |f: Field| -> Option<&str> {
            match f {
                Field::Raw => Some(raw),
                Field::CmdLower => cmd_lower.as_deref(),
                _ => None,
            }
        };
        let fired = fire(&self.ps_indicators, value);
        let score = fired.len() as i64;
        (score >= self.ps_min_score).then(|| SeedRow {
            detection_type: DetectionType::PsErrorSuppression,
            exec_cmd: process_image.clone(),
            nohup_target: String::new(),
            nohup_args: command_line.clone().unwrap_or_default(),
            indicators: fired,
            suspicion_score: score,
        })
    }

    fn finding(&self, row: SeedRow, meta: &RecordMeta, source: Provenance) -> Finding {
        let platform = match row.detection_type {
            DetectionType::PsErrorSuppression => Platform::Windows,
            _ => Platform::Unix,
        };
        Finding {
            time: meta.time,
            host: meta.host.clone(),
            platform,
            detection_type: row.detection_type,
            exec_cmd: row.exec_cmd,
            nohup_target: row.nohup_target,
            command_line: if platform == Platform::Windows {
                row.nohup_args.clone()
            } else {
                String::new()
            },
            nohup_args: row.nohup_args,
            suspicion_score: row.suspicion_score,
            severity: self.severity,
            indicators: row.indicators,
            pid: None,
            ppid: None,
            user: None,
            source,
            related: Vec::new(),
        }
    }

    /// Runs the query over one opened input; returns its rows as findings (in input
    /// order) and the number of records read. Read errors go to `on_error`.
    pub fn scan(
        &self,
        opened: Opened,
        on_error: &mut dyn FnMut(InputError),
    ) -> (Vec<Finding>, u64) {
        let Opened {
            name,
            format,
            payload,
            ..
        } = opened;
        let mut out = Vec::new();
        let mut records = 0u64;
        let fmt_name = format.as_str();
        // Part 1's sources are Linux and macOS logs, Part 2's Windows logs; JSON can
        // be either.
        let parts: &[Part] = match format {
            InputFormat::Evtx | InputFormat::WindowsXml => &[Part::PowerShell],
            InputFormat::Json => &[Part::Nohup, Part::PowerShell],
            _ => &[Part::Nohup],
        };
        let mut record = |raw: &str, position: Position, meta: RecordMeta| {
            records += 1;
            for part in parts {
                let row = match part {
                    Part::Nohup => self.nohup_row(raw, &meta),
                    Part::PowerShell => self.powershell_row(raw),
                };
                if let Some(row) = row {
                    let source = Provenance {
                        path: name.clone(),
                        position,
                        format: fmt_name,
                    };
                    out.push(self.finding(row, &meta, source));
                }
            }
        };
        let stream: Box<dyn BufRead + Send> = match payload {
            Payload::Stream(s) => s,
            Payload::File(f) => Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
        };
        match format {
            // The one EVTX chunk loop of the hunt, in file order as before.
            InputFormat::Evtx => {
                read_evtx_records(&name, Payload::Stream(stream), on_error, &mut |xml, id| {
                    let meta = xml_meta(xml);
                    record(xml, Position::Record(id), meta)
                })
            }
            InputFormat::WindowsXml => {
                read_xml_events(&name, stream, on_error, &mut |xml, line| {
                    let meta = xml_meta(xml);
                    record(xml, Position::Line(line), meta)
                })
            }
            _ => read_lines(&name, stream, on_error, &mut |line, no| {
                let meta = match format {
                    InputFormat::Json | InputFormat::Eslogger => json_meta(line),
                    _ => line_meta(line),
                };
                record(line, Position::Line(no), meta)
            }),
        }
        (out, records)
    }
}

/// The named group of the first match of `re` in `raw` (`parse regex … nodrop`).
fn capture(re: &Regex, raw: &str, group: &str) -> Option<String> {
    re.captures(raw)
        .and_then(|c| c.name(group))
        .map(|m| m.as_str().to_string())
}

/// Names of the indicators whose patterns match their field; a null field matches
/// nothing.
fn fire<'a>(indicators: &[Indicator], value: impl Fn(Field) -> Option<&'a str>) -> Vec<String> {
    indicators
        .iter()
        .filter(|i| value(i.field).is_some_and(|v| i.patterns.iter().any(|p| p.is_match(v))))
        .map(|i| i.name.clone())
        .collect()
}

/// The regex a `matches "pattern"` amounts to in `mode`, anchored at both ends.
pub fn matches_regex(mode: MatchMode, pattern: &str) -> Result<Regex, regex::Error> {
    match mode {
        MatchMode::Regex => Regex::new(&format!("^(?:{pattern})$")),
        MatchMode::Wildcard => {
            let mut re = String::from("(?s)^");
            let mut chars = pattern.chars();
            while let Some(c) = chars.next() {
                match c {
                    '*' => re.push_str(".*"),
                    // In a quoted string a backslash escapes the next character.
                    '\\' => {
                        if let Some(next) = chars.next() {
                            re.push_str(&regex::escape(&next.to_string()));
                        }
                    }
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            Regex::new(&re)
        }
    }
}

impl Phrase {
    fn new(text: &str) -> Phrase {
        Phrase(terms(text))
    }

    /// The phrase's terms appear next to each other in `terms`.
    fn found_in(&self, terms: &[String]) -> bool {
        !self.0.is_empty() && terms.windows(self.0.len()).any(|w| w == self.0.as_slice())
    }
}

/// Sumo Logic's terms of a message, lower-cased: runs of letters, digits and `_`,
/// and each other non-space character on its own.
fn terms(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() || c == '_' {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if !c.is_whitespace() && !c.is_control() {
            out.push(c.to_string());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

fn read_lines(
    name: &Arc<str>,
    stream: Box<dyn BufRead + Send>,
    on_error: &mut dyn FnMut(InputError),
    each: &mut dyn FnMut(&str, u64),
) {
    let mut lines = LineReader::new(stream, MAX_LINE_BYTES);
    loop {
        let no = lines.line_no() + 1;
        match lines.next_line() {
            Ok(Some(Line::Text(bytes))) => each(&String::from_utf8_lossy(bytes), no),
            Ok(Some(Line::TooLong { bytes })) => on_error(InputError::new(
                name,
                Some(format!("line {no}")),
                format!("line of {bytes} bytes exceeds the {MAX_LINE_BYTES}-byte limit; skipped"),
            )),
            Ok(None) => break,
            Err(e) => {
                on_error(InputError::new(
                    name,
                    Some(format!("line {no}")),
                    format!("read error: {e}; rest of this input skipped"),
                ));
                break;
            }
        }
    }
}

/// Splits Windows XML into `<Event>…</Event>` records (each one Sumo message),
/// reporting the line each starts on.
fn read_xml_events(
    name: &Arc<str>,
    stream: Box<dyn BufRead + Send>,
    on_error: &mut dyn FnMut(InputError),
    each: &mut dyn FnMut(&str, u64),
) {
    let mut pending = String::new();
    let mut start_line = 0u64;
    let mut skipping = false;
    // Oversized events, reported after the read (the reader holds `on_error`).
    let mut oversized: Vec<u64> = Vec::new();
    read_lines(name, stream, on_error, &mut |line, no| {
        let mut rest = line;
        loop {
            if pending.is_empty() && !skipping {
                let Some(i) = find_event_start(rest) else {
                    return;
                };
                rest = &rest[i..];
                start_line = no;
            }
            match rest.find("</Event>") {
                Some(end) => {
                    let end = end + "</Event>".len();
                    if !skipping {
                        pending.push_str(&rest[..end]);
                        each(&pending, start_line);
                    }
                    pending.clear();
                    skipping = false;
                    rest = &rest[end..];
                }
                None => {
                    if !skipping {
                        pending.push_str(rest);
                        pending.push('\n');
                        if pending.len() > MAX_EVENT_BYTES {
                            oversized.push(start_line);
                            pending.clear();
                            skipping = true;
                        }
                    }
                    return;
                }
            }
        }
    });
    for line in oversized {
        on_error(InputError::new(
            name,
            Some(format!("line {line}")),
            format!("event larger than {MAX_EVENT_BYTES} bytes; skipped"),
        ));
    }
}

/// Where an `<Event>` or `<Event …>` element starts (not `<Events>`).
fn find_event_start(s: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = s[from..].find("<Event") {
        let at = from + i;
        match s[at + 6..].chars().next() {
            Some('>') | Some(' ') | Some('\t') | Some('\r') | Some('\n') | None => {
                return Some(at);
            }
            _ => from = at + 6,
        }
    }
    None
}

/// `_time` and `_sourceHost` of a Windows event rendered as XML.
fn xml_meta(xml: &str) -> RecordMeta {
    static TIME: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r#"SystemTime\s*=\s*["']([^"']+)["']"#).unwrap());
    static HOST: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"<Computer>([^<]*)</Computer>").unwrap());
    RecordMeta {
        time: TIME.captures(xml).and_then(|c| parse_time(&c[1])),
        host: HOST
            .captures(xml)
            .map(|c| c[1].trim().to_string())
            .unwrap_or_default(),
        process: None,
    }
}

/// `_time` and `_sourceHost` of a JSON event (Winlogbeat, NXLog, flat exports).
fn json_meta(line: &str) -> RecordMeta {
    let mut meta = RecordMeta::default();
    let Ok(serde_json::Value::Object(v)) = serde_json::from_str::<serde_json::Value>(line) else {
        return line_meta(line);
    };
    let get = |path: &[&str]| -> Option<&str> {
        let mut cur = v.get(path[0])?;
        for p in &path[1..] {
            cur = cur.get(p)?;
        }
        cur.as_str()
    };
    for path in [
        &["@timestamp"][..],
        &["TimeCreated"],
        &["timestamp"],
        &["EventTime"],
        &["winlog", "time_created"],
        &["UtcTime"],
    ] {
        if let Some(t) = get(path).and_then(parse_time) {
            meta.time = Some(t);
            break;
        }
    }
    for path in [
        &["Computer"][..],
        &["winlog", "computer_name"],
        &["computer_name"],
        &["host", "name"],
        &["Hostname"],
        &["hostname"],
        &["host"],
    ] {
        if let Some(h) = get(path) {
            meta.host = h.to_string();
            break;
        }
    }
    meta
}

/// A timestamp in RFC 3339 or `YYYY-MM-DD HH:MM:SS[.f]` (taken as UTC).
fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
}

/// `_time`, `_sourceHost` and the syslog program of a text line: an auditd record
/// (`node=`, `msg=audit(EPOCH…)`), a syslog line (RFC 3164, RFC 5424 or ISO
/// timestamp), or auditd wrapped in syslog.
pub fn line_meta(line: &str) -> RecordMeta {
    static AUDIT_TIME: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"msg=audit\((\d{1,12})(?:\.(\d{1,9}))?:").unwrap());
    static NODE: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"(?:^|\s)node=(\S+)").unwrap());
    let mut meta = syslog_header(line).unwrap_or_default();
    if let Some(c) = AUDIT_TIME.captures(line) {
        let secs: i64 = c[1].parse().unwrap_or(0);
        let frac = c.get(2).map_or("", |m| m.as_str());
        let nanos: u32 = format!("{frac:0<9}").parse().unwrap_or(0);
        if let Some(t) = Utc.timestamp_opt(secs, nanos).single() {
            meta.time = Some(t);
        }
    }
    if let Some(c) = NODE.captures(line) {
        meta.host = c[1].to_string();
    }
    meta
}

/// The header of a syslog line, if it has one.
fn syslog_header(line: &str) -> Option<RecordMeta> {
    static RFC5424: std::sync::LazyLock<Regex> =
        std::sync::LazyLock::new(|| Regex::new(r"^(?:<\d{1,3}>)?1 (\S+) (\S+) (\S+) ").unwrap());
    static ISO: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"^(?:<\d{1,3}>)?(\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) (\S+) ([^\s\[:]+)").unwrap()
    });
    static RFC3164: std::sync::LazyLock<Regex> = std::sync::LazyLock::new(|| {
        Regex::new(r"^(?:<\d{1,3}>)?([A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d) (\S+) ([^\s\[:]+)")
            .unwrap()
    });
    let nil = |s: &str| if s == "-" { None } else { Some(s.to_string()) };
    if let Some(c) = RFC5424.captures(line) {
        return Some(RecordMeta {
            time: parse_time(&c[1]),
            host: nil(&c[2]).unwrap_or_default(),
            process: nil(&c[3]),
        });
    }
    if let Some(c) = ISO.captures(line) {
        let ts = &c[1];
        let time = parse_time(ts).or_else(|| {
            // `+0000` offsets without a colon.
            DateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f%z")
                .ok()
                .map(|t| t.with_timezone(&Utc))
        });
        return Some(RecordMeta {
            time,
            host: c[2].to_string(),
            process: Some(c[3].to_string()),
        });
    }
    let c = RFC3164.captures(line)?;
    Some(RecordMeta {
        time: rfc3164_time(&c[1], Utc::now()),
        host: c[2].to_string(),
        process: Some(c[3].to_string()),
    })
}

/// An RFC 3164 timestamp has no year: the current one, or last year's when that
/// would put it more than a day in the future (a December log read in January).
fn rfc3164_time(ts: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let ts: String = ts.split_whitespace().collect::<Vec<_>>().join(" ");
    for year in [now.year(), now.year() - 1] {
        let t = NaiveDateTime::parse_from_str(&format!("{year} {ts}"), "%Y %b %d %H:%M:%S")
            .ok()?
            .and_utc();
        if t <= now + chrono::Duration::days(1) {
            return Some(t);
        }
    }
    None
}

#[cfg(test)]
mod tests;
