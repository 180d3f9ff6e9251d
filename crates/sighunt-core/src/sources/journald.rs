//! journald's JSON export (`journalctl -o json`): one object per line with
//! `MESSAGE`, `SYSLOG_IDENTIFIER`, `_HOSTNAME`, `_PID`/`SYSLOG_PID` and
//! `__REALTIME_TIMESTAMP` (microseconds since the epoch, as a string).
//!
//! Messages are read like syslog messages (cron, sudo, shell history, Sysmon for
//! Linux, nohup anywhere; see [`crate::sources::syslog::Messages`]). Entries that
//! journald read from the kernel's audit socket (`_TRANSPORT=audit`) are turned back
//! into audit records — journald stores `MESSAGE=<TYPE> <fields>` with the record's
//! serial in `_AUDIT_ID` and its time in `_SOURCE_REALTIME_TIMESTAMP` — and handed
//! to the auditd source, so they are grouped into exec and socket events as usual.
//! `MESSAGE` may be a string or, when it is not valid UTF-8, an array of bytes.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::sources::auditd::AuditParser;
use crate::sources::syslog::{Message, Messages};
use crate::sources::{EventSink, LineParser};

/// The name of this format in findings.
pub const FORMAT: &str = "journald";

/// Most bytes of a `MESSAGE` given as a byte array.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// The journald JSON line parser.
pub struct JournaldParser {
    path: Arc<str>,
    messages: Messages,
    audit: AuditParser,
    /// Reused buffer for rebuilt audit records.
    record: Vec<u8>,
}

impl JournaldParser {
    pub fn new(path: Arc<str>) -> Self {
        JournaldParser {
            messages: Messages::new(path.clone(), FORMAT),
            audit: AuditParser::new(path.clone()),
            path,
            record: Vec::new(),
        }
    }
}

/// A field as text: journald writes numbers as strings, and binary values as arrays
/// of byte values.
fn field_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(a) => {
            let bytes: Vec<u8> = a
                .iter()
                .take(MAX_MESSAGE_BYTES)
                .filter_map(|b| b.as_u64().and_then(|n| u8::try_from(n).ok()))
                .collect();
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn field_u64(v: &Value, key: &str) -> Option<u64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn micros_to_time(us: u64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp_micros(i64::try_from(us).ok()?)
}

/// What to do with a rebuilt audit record.
enum AuditUse<'a> {
    Line(u64, &'a mut dyn EventSink),
    Foreign,
    Continuation(u64, &'a mut dyn EventSink),
}

impl JournaldParser {
    /// Rebuilds `[node=HOST ]type=TYPE msg=audit(S.mmm:ID): fields` from an audit
    /// entry and hands it to the auditd parser; returns what the auditd parser says
    /// of a continuation line (whether it wants more).
    fn audit_entry(&mut self, v: &Value, message: &str, how: AuditUse<'_>) -> bool {
        let Some(id) = field_u64(v, "_AUDIT_ID") else {
            return false;
        };
        let Some(us) = field_u64(v, "_SOURCE_REALTIME_TIMESTAMP")
            .or_else(|| field_u64(v, "__REALTIME_TIMESTAMP"))
        else {
            return false;
        };
        let (kind, fields) = message.split_once(' ').unwrap_or((message, ""));
        // journald names known types (SYSCALL, EXECVE …) and writes others as AUDITnnnn;
        // the number is in _AUDIT_TYPE either way.
        let kind_owned;
        let kind = if !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
        {
            kind
        } else {
            kind_owned = field_u64(v, "_AUDIT_TYPE").map(|n| n.to_string());
            match &kind_owned {
                Some(k) => k.as_str(),
                None => return false,
            }
        };
        self.record.clear();
        if let Some(host) = v.get("_HOSTNAME").and_then(Value::as_str) {
            if !host.is_empty() && !host.contains(' ') {
                self.record.extend_from_slice(b"node=");
                self.record.extend_from_slice(host.as_bytes());
                self.record.push(b' ');
            }
        }
        let stamp = format!(
            "type={kind} msg=audit({}.{:03}:{id}): ",
            us / 1_000_000,
            (us / 1_000) % 1_000
        );
        self.record.extend_from_slice(stamp.as_bytes());
        self.record.extend_from_slice(fields.as_bytes());
        let record = std::mem::take(&mut self.record);
        let wants = match how {
            AuditUse::Line(line_no, sink) => {
                self.audit.line(&record, line_no, sink);
                false
            }
            AuditUse::Foreign => {
                self.audit.foreign_line(&record);
                false
            }
            AuditUse::Continuation(line_no, sink) => {
                self.audit.continuation_line(&record, line_no, sink)
            }
        };
        self.record = record;
        wants
    }

    /// The JSON object of a line, if it is one (errors are reported by `line`).
    fn parse(line: &[u8]) -> Option<Value> {
        serde_json::from_slice(line.trim_ascii()).ok()
    }
}

fn is_audit_entry(v: &Value) -> bool {
    v.get("_TRANSPORT").and_then(Value::as_str) == Some("audit")
}

impl LineParser for JournaldParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let Some(v) = crate::sources::json_line(line, line_no, &self.path, "a journald", sink)
        else {
            return;
        };
        let Some(message) = v.get("MESSAGE").and_then(field_text) else {
            return;
        };
        if is_audit_entry(&v) {
            self.messages.finish(sink);
            self.audit_entry(&v, &message, AuditUse::Line(line_no, sink));
            return;
        }
        let time = field_u64(&v, "__REALTIME_TIMESTAMP").and_then(micros_to_time);
        let ident = v
            .get("SYSLOG_IDENTIFIER")
            .and_then(Value::as_str)
            .or_else(|| v.get("_COMM").and_then(Value::as_str))
            .unwrap_or_default();
        let pid = field_u64(&v, "SYSLOG_PID")
            .or_else(|| field_u64(&v, "_PID"))
            .and_then(|n| u32::try_from(n).ok());
        let m = Message {
            time,
            host: v
                .get("_HOSTNAME")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            ident,
            pid,
            text: &message,
        };
        self.messages.message(&m, line_no, sink);
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        self.messages.finish(sink);
        self.audit.finish(sink);
    }

    fn foreign_line(&mut self, line: &[u8]) {
        if let Some(v) = Self::parse(line).filter(is_audit_entry) {
            if let Some(message) = v.get("MESSAGE").and_then(field_text) {
                self.audit_entry(&v, &message, AuditUse::Foreign);
            }
        }
    }

    fn continuation_line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) -> bool {
        // Only audit records continue across an edge; a sudo command held back is
        // complete here.
        self.messages.finish(sink);
        match Self::parse(line).filter(is_audit_entry) {
            Some(v) => match v.get("MESSAGE").and_then(field_text) {
                Some(message) => {
                    self.audit_entry(&v, &message, AuditUse::Continuation(line_no, sink))
                }
                None => true,
            },
            // Not an audit entry: the auditd parser decides whether it still waits.
            None => self.audit.continuation_line(line, line_no, sink),
        }
    }
}

#[cfg(test)]
mod tests;
