//! Sysmon for Linux: one XML `<Event>` per syslog line (ident `sysmon`), written by
//! libxml2 with double-quoted attributes and no namespace.
//!
//! Event 1 (process create) becomes a [`ProcessStart`] with its parent (ProcessGuid,
//! ParentProcessGuid, ParentImage, ParentCommandLine); event 3 (network connection)
//! a [`NetworkActivity`]. Syslog daemons cut long lines (1–8 KB by default) and Sysmon
//! events can be longer: a truncated event keeps every field read before the cut,
//! including the beginning of a cut value.

use chrono::{DateTime, Utc};
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

use crate::command::basename;
use crate::event::{
    Event, NetworkActivity, NetworkKind, Platform, ProcessOrigin, ProcessStart, Provenance,
};
use crate::sources::syslog::{SHELLS, parse_iso_timestamp};

/// The name of this format in findings.
pub const FORMAT: &str = "sysmon-linux";

/// Most `<Data>` fields kept from one event (EID 1 has 23).
const MAX_FIELDS: usize = 64;
/// Most bytes of XML looked at for one event.
const MAX_XML_BYTES: usize = 1 << 20;

/// The fields of one Sysmon event.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SysmonRecord {
    pub provider: String,
    pub event_id: Option<u32>,
    pub time: Option<DateTime<Utc>>,
    pub computer: String,
    /// `<Data Name="…">value</Data>`, in order.
    pub data: Vec<(String, String)>,
    /// The XML ended (or broke) before `</Event>`.
    pub truncated: bool,
}

impl SysmonRecord {
    /// A field's value, `None` when absent, empty or Sysmon's `-`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty() && *v != "-")
    }
}

/// Parses the `<Event>` element that starts somewhere in `text`; `None` when there is
/// none or it does not even carry an event id.
pub fn parse(text: &str) -> Option<SysmonRecord> {
    let start = text.find("<Event")?;
    let mut xml = &text[start..];
    if xml.len() > MAX_XML_BYTES {
        let mut end = MAX_XML_BYTES;
        while !xml.is_char_boundary(end) {
            end -= 1;
        }
        xml = &xml[..end];
    }
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(false);
    let mut rec = SysmonRecord::default();
    // Open elements (local names), the current Data name and its text so far.
    let mut stack: Vec<String> = Vec::new();
    let mut data_name: Option<String> = None;
    let mut text_buf = String::new();
    loop {
        let event = match reader.read_event() {
            Ok(e) => e,
            Err(_) => {
                rec.truncated = true;
                break;
            }
        };
        match event {
            XmlEvent::Start(e) => {
                let name = local_name(&e);
                if stack.is_empty() && name != "Event" {
                    return None;
                }
                attributes(
                    &mut rec,
                    stack.last().map(String::as_str),
                    &name,
                    &e,
                    &mut data_name,
                );
                text_buf.clear();
                stack.push(name);
            }
            XmlEvent::Empty(e) => {
                let name = local_name(&e);
                let mut ignored = None;
                attributes(
                    &mut rec,
                    stack.last().map(String::as_str),
                    &name,
                    &e,
                    &mut ignored,
                );
                if name == "Data" && stack.last().is_some_and(|p| p == "EventData") {
                    if let Some(n) = ignored {
                        push_field(&mut rec, n, String::new());
                    }
                }
            }
            XmlEvent::End(_) => {
                let Some(name) = stack.pop() else { break };
                let parent = stack.last().map(String::as_str);
                match (parent, name.as_str()) {
                    (Some("System"), "EventID") => rec.event_id = text_buf.trim().parse().ok(),
                    (Some("System"), "Computer") => rec.computer = text_buf.trim().to_string(),
                    (Some("EventData"), "Data") => {
                        if let Some(n) = data_name.take() {
                            push_field(&mut rec, n, std::mem::take(&mut text_buf));
                        }
                    }
                    _ => {}
                }
                text_buf.clear();
                if stack.is_empty() {
                    break;
                }
            }
            XmlEvent::Text(t) => {
                if let Ok(s) = t.xml10_content() {
                    text_buf.push_str(&s);
                }
            }
            XmlEvent::CData(t) => text_buf.push_str(&String::from_utf8_lossy(&t)),
            XmlEvent::GeneralRef(r) => match r.resolve_char_ref() {
                Ok(Some(c)) => text_buf.push(c),
                _ => match r.decode().as_deref() {
                    Ok("amp") => text_buf.push('&'),
                    Ok("lt") => text_buf.push('<'),
                    Ok("gt") => text_buf.push('>'),
                    Ok("quot") => text_buf.push('"'),
                    Ok("apos") => text_buf.push('\''),
                    _ => {}
                },
            },
            XmlEvent::Eof => {
                rec.truncated = true;
                break;
            }
            XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::DocType(_) => {}
        }
    }
    if rec.truncated {
        // Keep the beginning of the value the cut went through.
        if let (Some(n), Some("Data")) = (data_name.take(), stack.last().map(String::as_str)) {
            push_field(&mut rec, n, text_buf);
        }
    }
    rec.event_id.is_some().then_some(rec)
}

fn push_field(rec: &mut SysmonRecord, name: String, value: String) {
    if rec.data.len() < MAX_FIELDS {
        rec.data.push((name, value));
    }
}

fn local_name(e: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(e.local_name().as_ref()).into_owned()
}

fn attributes(
    rec: &mut SysmonRecord,
    parent: Option<&str>,
    element: &str,
    e: &BytesStart<'_>,
    data_name: &mut Option<String>,
) {
    for attr in e.attributes().flatten() {
        let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&attr.value).into_owned(),
        };
        match (parent, element, attr.key.local_name().as_ref()) {
            (Some("System"), "Provider", b"Name") => rec.provider = value,
            (Some("System"), "TimeCreated", b"SystemTime") => {
                rec.time = parse_iso_timestamp(&value).map(|(t, _)| t)
            }
            (Some("EventData"), "Data", b"Name") => *data_name = Some(value),
            _ => {}
        }
    }
}

/// Splits a command line that is argv joined by single spaces (Sysmon for Linux's
/// `CommandLine`): on spaces only, quotes kept as the characters they are. The code
/// a shell or an interpreter gets with `-c`/`-e` was one argument (`sh -c STR`,
/// `nohup bash -c STR`, `python3 -c CODE`): everything after that option is taken
/// back whole, exactly as logged.
pub fn split_space_joined_argv(s: &str) -> Vec<String> {
    let mut argv: Vec<String> = Vec::new();
    let mut rest = s.trim_start_matches(' ');
    // The program whose options follow: a shell (`-c`) or an interpreter (python's
    // `-c`, perl's, ruby's and node's `-e`).
    let mut runner: Option<Runner> = None;
    while !rest.is_empty() {
        let end = rest.find(' ').unwrap_or(rest.len());
        let word = &rest[..end];
        if let (Some(kind), true) = (runner, word.starts_with('-') && !word.starts_with("--")) {
            let flags = &word[1..];
            let takes_code = match kind {
                Runner::Shell | Runner::Script => flags.contains('c'),
                Runner::Python => flags.ends_with('c'),
                Runner::Eval => flags.ends_with('e'),
            };
            if !flags.is_empty() && flags.bytes().all(|b| b.is_ascii_alphabetic()) && takes_code {
                argv.push(word.to_string());
                let mut code = rest[end..].strip_prefix(' ').unwrap_or_default();
                // What follows the code in the launcher's own syntax, when it is
                // unmistakable: `find … -exec sh -c CODE ;` and `script -c CODE
                // /dev/null`.
                let mut tail = None;
                let in_find = argv
                    .iter()
                    .any(|w| matches!(w.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"));
                for end_word in [" ;", " +", " \\;"] {
                    if in_find && code.ends_with(end_word) {
                        code = &code[..code.len() - end_word.len()];
                        tail = Some(&end_word[1..]);
                    }
                }
                if kind == Runner::Script {
                    if let Some(c) = code.strip_suffix(" /dev/null") {
                        code = c;
                        tail = Some("/dev/null");
                    }
                }
                if !code.is_empty() {
                    argv.push(code.to_string());
                }
                argv.extend(tail.map(str::to_string));
                return argv;
            }
        } else if word != "--" {
            // (`start-stop-daemon --exec /usr/bin/perl -- -e CODE`: the `--` is the
            // launcher's.)
            runner = code_runner(basename(word));
        }
        argv.push(word.to_string());
        rest = rest[end..].trim_start_matches(' ');
    }
    argv
}

/// How a program takes inline code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Runner {
    Shell,
    /// `script -c CMD [FILE]`.
    Script,
    Python,
    Eval,
}

/// Shells (`-c STR`) and interpreters (`-c CODE`, `-e CODE`), a version suffix
/// allowed (`python3.11`).
fn code_runner(name: &str) -> Option<Runner> {
    let versioned = |i: &str| {
        name.strip_prefix(i)
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    };
    if SHELLS.contains(&name) {
        Some(Runner::Shell)
    } else if name == "script" {
        Some(Runner::Script)
    } else if versioned("python") {
        Some(Runner::Python)
    } else if ["perl", "ruby", "node", "nodejs"]
        .iter()
        .any(|i| versioned(i))
    {
        Some(Runner::Eval)
    } else {
        None
    }
}

/// The normalized event of a Sysmon for Linux record, if sighunt uses its kind.
/// `host` and `time` come from the syslog line when the XML lacks them.
pub fn to_event(
    rec: &SysmonRecord,
    host: &str,
    time: Option<DateTime<Utc>>,
    provenance: Provenance,
) -> Option<Event> {
    let host = if rec.computer.is_empty() {
        host.to_string()
    } else {
        rec.computer.clone()
    };
    let time = rec
        .time
        .or_else(|| {
            rec.get("UtcTime")
                .and_then(parse_iso_timestamp)
                .map(|(t, _)| t)
        })
        .or(time);
    let f = |name: &str| rec.get(name).map(str::to_string);
    let num = |name: &str| rec.get(name).and_then(|v| v.trim().parse::<u32>().ok());
    match rec.event_id? {
        1 => {
            let mut p = ProcessStart::new(Platform::Unix, provenance);
            p.time = time;
            p.host = host;
            p.pid = num("ProcessId");
            p.ppid = num("ParentProcessId");
            p.user = f("User");
            p.exe = f("Image");
            p.cwd = f("CurrentDirectory");
            // CommandLine is argv joined by spaces, not a shell string: quote
            // characters in it are argument text, and it is kept byte-true.
            let raw = rec.get("CommandLine").unwrap_or_default();
            p.argv = split_space_joined_argv(raw);
            p.command_line = raw.to_string();
            p.parent_exe = f("ParentImage");
            p.parent_command_line = f("ParentCommandLine");
            p.original_file_name = f("OriginalFileName");
            p.process_guid = f("ProcessGuid");
            p.parent_process_guid = f("ParentProcessGuid");
            p.origin = ProcessOrigin::Exec;
            Some(Event::Process(p))
        }
        3 => {
            let endpoint = |ip: &str, port: &str| -> Option<String> {
                let ip = rec.get(ip)?;
                Some(match rec.get(port) {
                    Some(port) if ip.contains(':') => format!("[{ip}]:{port}"),
                    Some(port) => format!("{ip}:{port}"),
                    None => ip.to_string(),
                })
            };
            let source = endpoint("SourceIp", "SourcePort");
            let destination = endpoint("DestinationIp", "DestinationPort");
            // The source is the side that initiated the connection; a connection
            // the process did not initiate was accepted on a listening socket.
            let initiated = !rec
                .get("Initiated")
                .is_some_and(|v| v.eq_ignore_ascii_case("false"));
            let (local, remote) = if initiated {
                (source, destination)
            } else {
                (destination, source)
            };
            Some(Event::Network(NetworkActivity {
                time,
                host,
                pid: num("ProcessId"),
                process_guid: f("ProcessGuid"),
                image: f("Image"),
                kind: if initiated {
                    NetworkKind::Connect
                } else {
                    NetworkKind::Listen
                },
                local,
                remote,
                provenance,
            }))
        }
        _ => None,
    }
}

/// Parses the event in `text` and maps it; see [`parse`] and [`to_event`].
pub fn event_from_xml(
    text: &str,
    host: &str,
    time: Option<DateTime<Utc>>,
    provenance: Provenance,
) -> Option<Event> {
    to_event(&parse(text)?, host, time, provenance)
}

#[cfg(test)]
mod tests;
