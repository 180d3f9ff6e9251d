//! syslog source: RFC 3164 (`Mmm dd hh:mm:ss host tag[pid]: msg`, with or without
//! `<PRI>`), RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) and the
//! ISO-timestamp form rsyslog writes by default (`2025-12-10T22:27:58.152234+09:00
//! host tag: msg`, also macOS `log show --style syslog` and `journalctl -o short-iso`).
//!
//! What a line says is read by the program that wrote it:
//! * cron's `(user) CMD (command)`: a [`ProcessStart`] with
//!   `origin: Scheduler(ident)` (the seed excludes these by default; the command is
//!   still parsed so rule data can opt in);
//! * sudo's `user : TTY=… ; PWD=… ; USER=… ; COMMAND=…` (and its `(command
//!   continued)` lines): `origin: CommandText` with user, tty and working directory;
//! * bash history sent to syslog (`HISTORY: PID=… UID=… cmd`, and the common
//!   `user [pid]: cmd` / `[user] cmd` conventions): `origin: CommandText`;
//! * Sysmon for Linux XML events: see [`super::sysmon_linux`];
//! * audit records (audispd, audisp-syslog, kernel printk): handed to the auditd
//!   source, so a syslog file mixing audit lines and other lines yields both;
//! * any other line in which `nohup` is a command word, lexed with [`crate::shell`]
//!   (the seed's raw search, minus the false hits of a grep).
//!
//! RFC 3164 stamps carry no year and no zone: they are read as UTC, in the latest
//! year that does not put them more than a day in the future.

use std::borrow::Cow;
use std::sync::Arc;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::command::basename;
use crate::command::join_argv;
use crate::event::{Event, Platform, Position, ProcessOrigin, ProcessStart, Provenance};
use crate::input::sniff::is_audit_line;
use crate::sources::auditd::AuditParser;
use crate::sources::{EventSink, LineParser, sysmon_linux};

/// The name of this format in findings.
pub const FORMAT: &str = "syslog";

/// Programs whose syslog lines are shell history (bash's own `HISTORY:` lines use the
/// shell's name as ident, login shells with a leading `-`).
const SHELL_IDENTS: &[&str] = &["bash", "sh", "zsh", "ksh", "dash", "ash", "mksh", "rbash"];
/// Programs that run their `-c` argument as shell text.
pub(crate) const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "rbash", "su",
];
/// Longest message text interpreted; the rest of a longer line is ignored (the
/// shell lexer caps its own input at 1 MiB too).
const MAX_MESSAGE_BYTES: usize = 1 << 20;

/// The parts of a syslog line sighunt uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header<'a> {
    pub time: Option<DateTime<Utc>>,
    /// Host name, or `""` when the line has none.
    pub host: &'a str,
    /// The tag (APP-NAME) without `[pid]` and `:`, e.g. `sudo`, `CRON`, `-bash`.
    pub ident: &'a str,
    pub pid: Option<u32>,
    /// The message, as written (leading spaces kept: sudo right-aligns user names).
    pub message: &'a str,
}

/// Splits a syslog line into its header fields and message, or `None` when it does
/// not start like syslog. `now` decides the year of RFC 3164 stamps.
pub fn parse_header(line: &str, now: DateTime<Utc>) -> Option<Header<'_>> {
    let mut rest = line.strip_prefix('\u{feff}').unwrap_or(line);
    if let Some(after) = rest.strip_prefix('<') {
        let close = after.find('>')?;
        if close == 0 || close > 3 || !after[..close].bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest = &after[close + 1..];
    }
    if let Some(after) = rest.strip_prefix("1 ") {
        if after.starts_with('-') || after.starts_with(|c: char| c.is_ascii_digit()) {
            return parse_5424(after);
        }
    }
    let (time, used) = match parse_iso_timestamp(rest) {
        Some(t) => t,
        None => parse_3164_timestamp(rest, now)?,
    };
    rest = rest[used..].trim_start_matches(' ');
    // `host tag: msg`, or `tag: msg` when the sender wrote no host.
    let (first, after_first) = split_word(rest);
    let (host, rest) = if first.ends_with(':') || is_tag_with_pid(first) {
        ("", rest)
    } else if looks_like_host(first) {
        (first, after_first)
    } else {
        // Not a host (e.g. a bracketed context): the whole rest is the message.
        return Some(Header {
            time: Some(time),
            host: "",
            ident: "",
            pid: None,
            message: rest,
        });
    };
    let (ident, pid, message) = split_tag(rest);
    Some(Header {
        time: Some(time),
        host,
        ident,
        pid,
        message,
    })
}

/// RFC 5424 after `<PRI>1 `.
fn parse_5424(rest: &str) -> Option<Header<'_>> {
    let (stamp, rest) = split_word(rest);
    let time = if stamp == "-" {
        None
    } else {
        Some(parse_iso_timestamp(stamp)?.0)
    };
    let (host, rest) = split_word(rest);
    let (app, rest) = split_word(rest);
    let (procid, rest) = split_word(rest);
    let (_msgid, rest) = split_word(rest);
    let rest = skip_structured_data(rest)?;
    let message = rest.strip_prefix(' ').unwrap_or(rest);
    let message = message.strip_prefix('\u{feff}').unwrap_or(message);
    let nil = |s: &'static str, v: &str| v == s;
    Some(Header {
        time,
        host: if nil("-", host) { "" } else { host },
        ident: if nil("-", app) { "" } else { app },
        pid: procid.parse().ok(),
        message,
    })
}

/// Skips RFC 5424 STRUCTURED-DATA: `-`, or `[id k="v" …]…` with `\"`, `\]`, `\\`
/// escapes inside values.
fn skip_structured_data(s: &str) -> Option<&str> {
    if let Some(rest) = s.strip_prefix('-') {
        return Some(rest);
    }
    let b = s.as_bytes();
    let mut i = 0;
    while b.get(i) == Some(&b'[') {
        let mut quoted = false;
        i += 1;
        loop {
            match *b.get(i)? {
                b'\\' if quoted => i += 2,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b']' if !quoted => {
                    i += 1;
                    break;
                }
                _ => i += 1,
            }
        }
    }
    (i > 0).then(|| &s[i.min(s.len())..])
}

/// `word rest` → (`word`, `rest` without its leading spaces).
fn split_word(s: &str) -> (&str, &str) {
    match s.find(' ') {
        Some(i) => (&s[..i], s[i..].trim_start_matches(' ')),
        None => (s, ""),
    }
}

fn is_tag_with_pid(w: &str) -> bool {
    w.ends_with("]:") || (w.ends_with(']') && w.contains('['))
}

/// A host name or address: no brackets, quotes, `=` or other punctuation that tags
/// and messages have.
fn looks_like_host(w: &str) -> bool {
    !w.is_empty()
        && w.len() <= 255
        && w.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':' | b'%'))
}

/// `tag[pid]: message`, `tag: message`, `tag[pid] message` (macOS), or just a message.
fn split_tag(s: &str) -> (&str, Option<u32>, &str) {
    let end = s.find(' ').unwrap_or(s.len());
    let word = &s[..end];
    let (tag, message) = if let Some(tag) = word.strip_suffix(':') {
        (tag, &s[end.min(s.len())..])
    } else if word.ends_with(']') && word.contains('[') {
        (word, &s[end..])
    } else if let Some(colon) = word.find(':') {
        // `audispd:node=…` (no space after the colon)
        (&word[..colon], &s[colon + 1..])
    } else {
        return ("", None, s);
    };
    let message = message.strip_prefix(' ').unwrap_or(message);
    match tag.rfind('[') {
        Some(open) if tag.ends_with(']') => {
            let pid = tag[open + 1..tag.len() - 1].parse().ok();
            (&tag[..open], pid, message)
        }
        _ => (tag, None, message),
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Mmm dd hh:mm:ss` (day space- or zero-padded) → time and bytes used.
fn parse_3164_timestamp(s: &str, now: DateTime<Utc>) -> Option<(DateTime<Utc>, usize)> {
    let b = s.as_bytes();
    if b.len() < 15 || b[3] != b' ' {
        return None;
    }
    let month = MONTHS.iter().position(|m| s.starts_with(m))? as u32 + 1;
    // Day: "dd", " d" or "d " (some senders do not pad).
    let mut i = 4;
    if b[i] == b' ' {
        i += 1;
    }
    let day_start = i;
    while i < b.len() && b[i].is_ascii_digit() && i - day_start < 2 {
        i += 1;
    }
    let day: u32 = s[day_start..i].parse().ok()?;
    if b.get(i) != Some(&b' ') {
        return None;
    }
    i += 1;
    let (h, m, sec, used) = parse_hms(&s[i..])?;
    let year_for = |y: i32| {
        NaiveDate::from_ymd_opt(y, month, day)?
            .and_hms_opt(h, m, sec)
            .map(|t| Utc.from_utc_datetime(&t))
    };
    let this_year = now.year();
    // A stamp more than a day in the future belongs to the previous year (a
    // December log read in January); Feb 29 may need a leap year further back.
    let time = [this_year, this_year - 1, this_year - 4]
        .into_iter()
        .filter_map(year_for)
        .find(|t| *t <= now + chrono::Duration::days(1))?;
    Some((time, i + used))
}

/// `hh:mm:ss[.frac]` → (h, m, s, bytes used); the fraction is skipped.
fn parse_hms(s: &str) -> Option<(u32, u32, u32, usize)> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let h = two_digits(&b[0..2])?;
    let m = two_digits(&b[3..5])?;
    let sec = two_digits(&b[6..8])?;
    let mut used = 8;
    if b.get(8) == Some(&b'.') {
        used += 1;
        while b.get(used).is_some_and(u8::is_ascii_digit) {
            used += 1;
        }
    }
    Some((h, m, sec, used))
}

fn two_digits(b: &[u8]) -> Option<u32> {
    (b.len() == 2 && b.iter().all(u8::is_ascii_digit))
        .then(|| u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
}

/// An ISO 8601 / RFC 3339 stamp at the start of `s`: `YYYY-MM-DD[T ]hh:mm:ss[.frac]`
/// then `Z`, `±hh:mm`, `±hhmm` or nothing (read as UTC). Returns the time and the
/// bytes used.
pub fn parse_iso_timestamp(s: &str) -> Option<(DateTime<Utc>, usize)> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    let year: i32 = s.get(0..4)?.parse().ok()?;
    let month = two_digits(&b[5..7])?;
    let day = two_digits(&b[8..10])?;
    let h = two_digits(&b[11..13])?;
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let m = two_digits(&b[14..16])?;
    let sec = two_digits(&b[17..19])?;
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        for _ in (i - start).min(9)..9 {
            nanos *= 10;
        }
    }
    let naive = NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(h, m, sec, nanos)?;
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') => {
            i += 1;
            0
        }
        Some(&sign @ (b'+' | b'-')) => {
            let oh = two_digits(b.get(i + 1..i + 3)?)?;
            let (om, len) = if b.get(i + 3) == Some(&b':') {
                (two_digits(b.get(i + 4..i + 6)?)?, 6)
            } else {
                (two_digits(b.get(i + 3..i + 5)?)?, 5)
            };
            i += len;
            let o = (oh * 3600 + om * 60) as i32;
            if sign == b'+' { o } else { -o }
        }
        _ => 0,
    };
    let time = FixedOffset::east_opt(offset_secs)?
        .from_local_datetime(&naive)
        .single()?
        .with_timezone(&Utc);
    Some((time, i))
}

/// rsyslog (and sudo) write control characters as `#` + three octal digits; tabs
/// and newlines must be real again for the shell lexer to see word boundaries.
pub fn unescape_control(s: &str) -> Cow<'_, str> {
    if !s.contains("#0") && !s.contains("#1") {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut i = 0;
    while i + 3 < b.len() {
        if b[i] == b'#' && b[i + 1..i + 4].iter().all(|d| (b'0'..=b'7').contains(d)) {
            let v = u32::from(b[i + 1] - b'0') * 64
                + u32::from(b[i + 2] - b'0') * 8
                + u32::from(b[i + 3] - b'0');
            if v < 0x20 || v == 0x7f {
                out.push_str(&s[last..i]);
                out.push(char::from(v as u8));
                i += 4;
                last = i;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&s[last..]);
    Cow::Owned(out)
}

/// Splits a command line that a program logged as its argv joined by spaces: sudo's
/// `COMMAND=` (sudo before 1.9.? joins without quoting, newer sudo single-quotes
/// arguments with spaces: `COMMAND=/usr/bin/sh -c 'nohup /tmp/x &'`) and Sysmon for
/// Linux's `CommandLine`. Quoted text is split like a shell would; unquoted text on
/// spaces. The string a shell gets with `-c` was one argument: when it arrives in
/// pieces, everything after `-c` is joined back into it (a shell's own `$0 $1 …`
/// after the string are rare, a `-c` string with spaces is not).
pub fn split_logged_argv(s: &str) -> Vec<String> {
    let words: Vec<String> = if s.contains(['\'', '"', '\\']) {
        crate::shell::split_words(s)
    } else {
        s.split_ascii_whitespace().map(str::to_string).collect()
    };
    let mut argv: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = &words[i];
        argv.push(w.clone());
        i += 1;
        if SHELLS.contains(&basename(w)) {
            // The shell's options; the one containing `c` takes the string.
            while i < words.len() && words[i].starts_with('-') && !words[i].starts_with("--") {
                let opt = &words[i];
                argv.push(opt.clone());
                i += 1;
                if opt[1..].bytes().all(|b| b.is_ascii_alphabetic()) && opt.contains('c') {
                    if i < words.len() {
                        argv.push(words[i..].join(" "));
                    }
                    return argv;
                }
            }
        }
    }
    argv
}

/// One message to interpret, with what the container (syslog header, journald
/// fields, unified-log JSON) said about it.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub time: Option<DateTime<Utc>>,
    pub host: &'a str,
    pub ident: &'a str,
    pub pid: Option<u32>,
    pub text: &'a str,
}

/// Turns messages of cron, sudo, shells, Sysmon for Linux and anything mentioning
/// nohup into events. Shared by the syslog, journald and unified-log sources.
pub struct Messages {
    path: Arc<str>,
    format: &'static str,
    /// A sudo command held back one message, in case sudo continues it on the next
    /// line (`user : (command continued) …`): the event, its user and its raw text.
    pending: Option<(ProcessStart, String, String)>,
}

impl Messages {
    pub fn new(path: Arc<str>, format: &'static str) -> Self {
        Messages {
            path,
            format,
            pending: None,
        }
    }

    fn provenance(&self, line_no: u64, format: &'static str) -> Provenance {
        Provenance {
            path: self.path.clone(),
            position: Position::Line(line_no),
            format,
        }
    }

    fn start(&self, m: &Message<'_>, line_no: u64, origin: ProcessOrigin) -> ProcessStart {
        let mut p = ProcessStart::new(Platform::Unix, self.provenance(line_no, self.format));
        p.time = m.time;
        p.host = m.host.to_string();
        p.origin = origin;
        p
    }

    /// Interprets one message.
    pub fn message(&mut self, m: &Message<'_>, line_no: u64, sink: &mut dyn EventSink) {
        let text = clamp(m.text);
        let text = unescape_control(text);
        let text = text.trim_start_matches([' ', '\u{feff}']);
        let ident = basename(m.ident);

        // The end of a sudo command whose beginning this parser did not see (the
        // previous range of a file read in parallel): not a command of its own.
        if self.pending.is_none() && sudo_continuation(text).is_some() {
            return;
        }
        if let Some((p, user, raw)) = self.pending.take() {
            match sudo_continuation(text) {
                Some((u, rest)) if u == user && p.host == m.host && ident == "sudo" => {
                    let mut p = p;
                    let raw = format!("{raw} {rest}");
                    set_command(&mut p, &raw);
                    self.pending = Some((p, user, raw));
                    return;
                }
                _ => sink.event(Event::Process(p)),
            }
        }

        if text.contains("<Event") {
            let provenance = self.provenance(line_no, sysmon_linux::FORMAT);
            if let Some(event) = sysmon_linux::event_from_xml(text, m.host, m.time, provenance) {
                sink.event(event);
            }
            return;
        }
        if let Some((user, command)) = cron_command(text) {
            let scheduler = if ident.is_empty() { "cron" } else { ident };
            let mut p = self.start(m, line_no, ProcessOrigin::Scheduler(scheduler.to_string()));
            // cron logs the pid of the child that then execs `/bin/sh -c command`.
            p.pid = m.pid;
            p.user = Some(user.to_string());
            p.argv = vec!["/bin/sh".into(), "-c".into(), command.to_string()];
            p.command_line = command.to_string();
            sink.event(Event::Process(p));
            return;
        }
        if ident == "sudo" {
            if let Some(s) = parse_sudo(text) {
                let mut p = self.start(m, line_no, ProcessOrigin::CommandText);
                // The command runs as sudo's child.
                p.ppid = m.pid;
                p.user = Some(s.user.to_string());
                p.tty = s.tty.map(str::to_string);
                p.cwd = s.pwd.map(str::to_string);
                set_command(&mut p, s.command);
                self.pending = Some((p, s.user.to_string(), s.command.to_string()));
                return;
            }
        }
        if let Some(h) = history_line(ident, text) {
            let mut p = self.start(m, line_no, ProcessOrigin::CommandText);
            // The logged pid is the interactive shell's: the command's parent.
            p.ppid = h.shell_pid;
            p.user = h.user;
            p.command_line = h.command.to_string();
            p.argv = crate::shell::split_words(h.command);
            sink.event(Event::Process(p));
            return;
        }
        if text.contains("nohup") && mentions_nohup_command(text) {
            let mut p = self.start(m, line_no, ProcessOrigin::CommandText);
            p.command_line = text.to_string();
            p.argv = crate::shell::split_words(text);
            sink.event(Event::Process(p));
        }
    }

    /// Takes a line read past the end of this parser's part of a file if it continues
    /// the sudo command held back; returns whether it did.
    pub fn continue_sudo(&mut self, m: &Message<'_>) -> bool {
        let text = unescape_control(clamp(m.text));
        let text = text.trim_start_matches([' ', '\u{feff}']);
        match (&mut self.pending, sudo_continuation(text)) {
            (Some((p, user, raw)), Some((u, rest)))
                if u == user.as_str() && p.host == m.host && basename(m.ident) == "sudo" =>
            {
                raw.push(' ');
                raw.push_str(rest);
                let raw = raw.clone();
                set_command(p, &raw);
                true
            }
            _ => false,
        }
    }

    /// Whether a sudo command is held back.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Emits the sudo command held back, if any.
    pub fn finish(&mut self, sink: &mut dyn EventSink) {
        if let Some((p, _, _)) = self.pending.take() {
            sink.event(Event::Process(p));
        }
    }
}

/// The longest prefix of `s` of at most [`MAX_MESSAGE_BYTES`] on a char boundary.
fn clamp(s: &str) -> &str {
    let mut end = s.len().min(MAX_MESSAGE_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Sets a command-text event's command from sudo's logged argv: argv is split back,
/// and the command line is rebuilt quoted so that lexing it gives argv again.
fn set_command(p: &mut ProcessStart, raw: &str) {
    p.argv = split_logged_argv(raw);
    p.command_line = join_argv(&p.argv);
}

/// cron's `(user) CMD (command)`.
fn cron_command(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix('(')?;
    let close = rest.find(") CMD (")?;
    let user = &rest[..close];
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    let cmd = &rest[close + 7..];
    let cmd = cmd.strip_suffix(')').unwrap_or(cmd);
    Some((user, cmd.trim()))
}

/// The parts of a sudo log line sighunt uses.
#[derive(Debug, PartialEq, Eq)]
struct SudoLine<'a> {
    user: &'a str,
    tty: Option<&'a str>,
    pwd: Option<&'a str>,
    command: &'a str,
}

/// sudo's `user : [reason ; ][HOST=h ; ]TTY=t ; PWD=d ; USER=u ; [GROUP=g ; ][ENV=… ; ]COMMAND=cmd`.
fn parse_sudo(text: &str) -> Option<SudoLine<'_>> {
    let sep = text.find(" : ")?;
    let user = text[..sep].trim();
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    let rest = &text[sep + 3..];
    // COMMAND= is the last field and may itself contain ` ; `.
    let at = if rest.starts_with("COMMAND=") {
        0
    } else {
        rest.find(" ; COMMAND=")? + 3
    };
    let command = rest[at + 8..].trim();
    let mut line = SudoLine {
        user,
        tty: None,
        pwd: None,
        command,
    };
    for field in rest[..at].split(" ; ") {
        let field = field.trim();
        if let Some(v) = field.strip_prefix("TTY=") {
            line.tty = Some(v);
        } else if let Some(v) = field.strip_prefix("PWD=") {
            line.pwd = Some(v);
        }
    }
    (!command.is_empty()).then_some(line)
}

/// sudo's `user : (command continued) rest`.
fn sudo_continuation(text: &str) -> Option<(&str, &str)> {
    let sep = text.find(" : (command continued) ")?;
    let user = text[..sep].trim();
    Some((user, text[sep + 23..].trim_end()))
}

/// A shell history line.
struct History<'a> {
    shell_pid: Option<u32>,
    user: Option<String>,
    command: &'a str,
}

/// bash's `HISTORY: PID=n UID=n command`, the `PROMPT_COMMAND` convention
/// `user [pid]: command [status]` (logger's default tag is the user name), and the
/// patched-bash form `[user] command`.
fn history_line<'a>(ident: &str, text: &'a str) -> Option<History<'a>> {
    let shell_ident = SHELL_IDENTS.contains(&ident.trim_start_matches('-'));
    if let Some(rest) = text.strip_prefix("HISTORY: PID=") {
        let (pid, rest) = rest.split_once(" UID=")?;
        let (uid, command) = rest.split_once(' ').unwrap_or((rest, ""));
        let command = command.trim();
        return (!command.is_empty()).then(|| History {
            shell_pid: pid.parse().ok(),
            user: uid.parse::<u32>().ok().map(|u| u.to_string()),
            command,
        });
    }
    // `user [pid]: command [status]`
    if let Some((user, rest)) = text.split_once(" [") {
        if let Some((pid, command)) = rest.split_once("]: ") {
            if !user.contains(' ')
                && !user.is_empty()
                && pid.bytes().all(|b| b.is_ascii_digit())
                && !pid.is_empty()
                && (user == ident || shell_ident)
            {
                let command = strip_history_decorations(command);
                return (!command.is_empty()).then(|| History {
                    shell_pid: pid.parse().ok(),
                    user: Some(user.to_string()),
                    command,
                });
            }
        }
    }
    // `[user] command`, written by shells patched to log their history.
    if shell_ident {
        if let Some(rest) = text.strip_prefix('[') {
            let (user, command) = rest.split_once("] ")?;
            let command = command.trim();
            if !user.is_empty() && !user.contains(' ') && !command.is_empty() {
                return Some(History {
                    shell_pid: None,
                    user: Some(user.to_string()),
                    command,
                });
            }
        }
    }
    None
}

/// Drops a leading history number (`  42  cmd`) and a trailing exit status (`cmd [0]`).
fn strip_history_decorations(command: &str) -> &str {
    let mut c = command.trim();
    let digits = c.bytes().take_while(u8::is_ascii_digit).count();
    if digits > 0 && c[digits..].starts_with("  ") {
        c = c[digits..].trim_start();
    }
    if let Some(open) = c.rfind(" [") {
        let status = &c[open + 2..];
        if let Some(num) = status.strip_suffix(']') {
            if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit()) {
                c = c[..open].trim_end();
            }
        }
    }
    c
}

/// Whether `nohup` is a word of a command in `text` lexed as shell (not just a
/// substring, not inside a quoted string). Which commands really run nohup is the
/// detector's business; this only keeps unrelated lines out.
fn mentions_nohup_command(text: &str) -> bool {
    crate::shell::parse(text)
        .iter()
        .any(|c| c.words.iter().any(|w| basename(w) == "nohup"))
}

/// The syslog line parser.
pub struct SyslogParser {
    path: Arc<str>,
    now: DateTime<Utc>,
    messages: Messages,
    audit: AuditParser,
}

impl SyslogParser {
    pub fn new(path: Arc<str>) -> Self {
        Self::with_now(path, Utc::now())
    }

    /// A parser that dates RFC 3164 stamps (which have no year) relative to `now`.
    pub fn with_now(path: Arc<str>, now: DateTime<Utc>) -> Self {
        SyslogParser {
            messages: Messages::new(path.clone(), FORMAT),
            audit: AuditParser::new(path.clone()),
            path,
            now,
        }
    }

    /// The input's display name.
    pub fn path(&self) -> &Arc<str> {
        &self.path
    }
}

/// Whether a message is an audit record (audispd, audisp-syslog, the kernel's
/// `audit:` printk), as opposed to a program's text that merely quotes one.
fn is_audit_message(message: &str) -> bool {
    let m = message.trim_start();
    m.starts_with("type=")
        || m.starts_with("node=")
        || m.starts_with("audit:")
        || m.starts_with("audit(")
        || m.starts_with('[')
}

impl LineParser for SyslogParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let text = String::from_utf8_lossy(line);
        let Some(h) = parse_header(&text, self.now) else {
            // Raw audit records mixed into the file are still audit records.
            if is_audit_line(line) {
                self.messages.finish(sink);
                self.audit.line(line, line_no, sink);
            }
            return;
        };
        if is_audit_line(line) && is_audit_message(h.message) {
            // A sudo command held back goes first: events keep the log's order.
            self.messages.finish(sink);
            self.audit.line(line, line_no, sink);
            return;
        }
        let m = Message {
            time: h.time,
            host: h.host,
            ident: h.ident,
            pid: h.pid,
            text: h.message,
        };
        self.messages.message(&m, line_no, sink);
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        self.messages.finish(sink);
        self.audit.finish(sink);
    }

    fn foreign_line(&mut self, line: &[u8]) {
        if is_audit_line(line) {
            self.audit.foreign_line(line);
        }
    }

    fn continuation_line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) -> bool {
        let audit_wants = self.audit.continuation_line(line, line_no, sink);
        if self.messages.has_pending() {
            let text = String::from_utf8_lossy(line);
            let continued = parse_header(&text, self.now).is_some_and(|h| {
                self.messages.continue_sudo(&Message {
                    time: h.time,
                    host: h.host,
                    ident: h.ident,
                    pid: h.pid,
                    text: h.message,
                })
            });
            if continued {
                return true;
            }
            // The held-back command is complete: emit it now, in order.
            self.messages.finish(sink);
        }
        audit_wants
    }
}

#[cfg(test)]
mod tests;
