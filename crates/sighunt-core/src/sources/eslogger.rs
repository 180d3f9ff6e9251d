//! macOS sources: Endpoint Security JSON as `eslogger` prints it (one object per
//! line), and the unified log as `log show --style ndjson` prints it.
//!
//! eslogger `exec` events become [`ProcessStart`]s: the new image is
//! `event.exec.target`, its exact argv `event.exec.args`, the parent
//! `target.ppid` / `target.parent_audit_token`. Audit tokens come as objects
//! (`{"pid":…,"pidversion":…}`, message versions up to 9) or as the kernel's eight
//! integers (`[auid, euid, egid, ruid, rgid, pid, asid, pidversion]`, version 10,
//! macOS 26); `pid:pidversion` identifies one image of one process (the version
//! changes at every exec), so it serves as the process GUID.
//!
//! The unified log does not record process execution; only what programs log
//! themselves, chiefly sudo's `COMMAND=`. Its messages are read like syslog
//! messages (see [`crate::sources::syslog::Messages`]); `log show --style syslog`
//! output is syslog text and is read by the syslog source.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::command::basename;
use crate::command::join_argv;
use crate::event::{Event, Platform, Position, ProcessOrigin, ProcessStart, Provenance};
use crate::input::InputError;
use crate::sources::syslog::{Message, Messages, parse_iso_timestamp};
use crate::sources::{EventSink, LineParser};

/// The name of the eslogger format in findings.
pub const FORMAT: &str = "eslogger";
/// The name of the unified-log format in findings.
pub const UNIFIED_LOG_FORMAT: &str = "unifiedlog";

/// Most arguments kept for one exec.
const MAX_ARGS: usize = 65_536;

/// An audit token's fields sighunt uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditToken {
    pub auid: Option<u32>,
    pub euid: Option<u32>,
    pub ruid: Option<u32>,
    pub pid: Option<u32>,
    pub asid: Option<u32>,
    pub pidversion: Option<u32>,
}

impl AuditToken {
    /// Reads either shape of `audit_token`.
    pub fn from_json(v: &Value) -> Option<AuditToken> {
        let num = |v: Option<&Value>| {
            v.and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
        };
        match v {
            Value::Object(o) => Some(AuditToken {
                auid: num(o.get("auid")),
                euid: num(o.get("euid")),
                ruid: num(o.get("ruid")),
                pid: num(o.get("pid")),
                asid: num(o.get("asid")),
                pidversion: num(o.get("pidversion")),
            }),
            // audit_token_t.val[8]: auid, euid, egid, ruid, rgid, pid, asid, pidversion.
            Value::Array(a) if a.len() == 8 => Some(AuditToken {
                auid: num(a.first()),
                euid: num(a.get(1)),
                ruid: num(a.get(3)),
                pid: num(a.get(5)),
                asid: num(a.get(6)),
                pidversion: num(a.get(7)),
            }),
            _ => None,
        }
    }

    /// `pid:pidversion`, unique for one image of one process.
    pub fn guid(&self) -> Option<String> {
        Some(format!("{}:{}", self.pid?, self.pidversion?))
    }
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for key in path {
        cur = cur.get(key)?;
    }
    cur.as_str()
}

/// The [`ProcessStart`] of one eslogger `exec` event, or `None` for other events.
pub fn exec_event(v: &Value, provenance: Provenance) -> Option<ProcessStart> {
    let exec = v.get("event")?.get("exec")?;
    let target = exec.get("target")?;
    let token = target.get("audit_token").and_then(AuditToken::from_json);
    let parent = target
        .get("parent_audit_token")
        .and_then(AuditToken::from_json);
    let mut p = ProcessStart::new(Platform::Unix, provenance);
    p.time = v
        .get("time")
        .and_then(Value::as_str)
        .and_then(parse_iso_timestamp)
        .map(|(t, _)| t);
    p.pid = token.and_then(|t| t.pid).or_else(|| {
        target
            .get("pid")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    });
    p.pid?;
    p.ppid = target
        .get("ppid")
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok())
        .or_else(|| parent.and_then(|t| t.pid));
    // Real uid, as auditd's `uid=`: who the process runs for.
    p.user = token.and_then(|t| t.ruid.or(t.euid)).map(|u| u.to_string());
    p.auid = token.and_then(|t| t.auid).filter(|&a| a != u32::MAX);
    p.session = token.and_then(|t| t.asid);
    p.process_guid = token.and_then(|t| t.guid());
    p.parent_process_guid = parent.and_then(|t| t.guid());
    p.exe = str_at(target, &["executable", "path"]).map(str::to_string);
    p.cwd = str_at(exec, &["cwd", "path"]).map(str::to_string);
    p.tty = str_at(target, &["tty", "path"]).map(str::to_string);
    p.argv = exec
        .get("args")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .take(MAX_ARGS)
                .map(|s| s.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    if p.argv.is_empty() {
        // Old clients without args: the image is all there is.
        p.argv = p.exe.iter().cloned().collect();
    }
    // A `#!` script: the kernel runs the interpreter, the script is the program.
    if let Some(script) = str_at(exec, &["script", "path"]) {
        if !p.argv.iter().any(|a| a == script) {
            p.argv.insert(0, script.to_string());
        }
    }
    p.command_line = join_argv(&p.argv);
    p.comm = p.exe.as_deref().map(|e| basename(e).to_string());
    p.origin = ProcessOrigin::Exec;
    Some(p)
}

/// The eslogger line parser.
pub struct EsloggerParser {
    path: Arc<str>,
}

impl EsloggerParser {
    pub fn new(path: Arc<str>) -> Self {
        EsloggerParser { path }
    }
}

impl LineParser for EsloggerParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let Some(v) = crate::sources::json_line(line, line_no, &self.path, "an eslogger", sink)
        else {
            return;
        };
        let provenance = Provenance {
            path: self.path.clone(),
            position: Position::Line(line_no),
            format: FORMAT,
        };
        if let Some(p) = exec_event(&v, provenance) {
            sink.event(Event::Process(p));
        }
    }

    fn finish(&mut self, _sink: &mut dyn EventSink) {}
}

/// `log show --style ndjson` timestamps: `2018-10-24 17:23:33.842651+0200`.
fn unified_time(v: &Value) -> Option<DateTime<Utc>> {
    v.get("timestamp")
        .and_then(Value::as_str)
        .and_then(parse_iso_timestamp)
        .map(|(t, _)| t)
}

/// The unified-log (`log show --style ndjson`) line parser.
pub struct UnifiedLogParser {
    path: Arc<str>,
    messages: Messages,
}

impl UnifiedLogParser {
    pub fn new(path: Arc<str>) -> Self {
        UnifiedLogParser {
            messages: Messages::new(path.clone(), UNIFIED_LOG_FORMAT),
            path,
        }
    }
}

impl LineParser for UnifiedLogParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let trimmed = line.trim_ascii();
        // `log` prints a "Filtering the log data using …" line and the like first.
        if !trimmed.starts_with(b"{") {
            return;
        }
        let v: Value = match serde_json::from_slice(trimmed) {
            Ok(v) => v,
            Err(e) => {
                sink.error(InputError::new(
                    &self.path,
                    Some(format!("line {line_no}")),
                    format!("not a unified-log JSON object: {e}"),
                ));
                return;
            }
        };
        let Some(text) = v.get("eventMessage").and_then(Value::as_str) else {
            return;
        };
        let image = v
            .get("processImagePath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let m = Message {
            time: unified_time(&v),
            host: "",
            ident: basename(image),
            pid: v
                .get("processID")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
            text,
        };
        self.messages.message(&m, line_no, sink);
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        self.messages.finish(sink);
    }
}

#[cfg(test)]
mod tests;
