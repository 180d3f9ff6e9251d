//! Windows event sources: binary EVTX files, event XML (`wevtutil qe /f:xml`,
//! `Get-WinEvent … .ToXml()`, one `<Event>` after another or an `<Events>` document)
//! and JSON (Winlogbeat/Elastic raw and module-processed, OTRF/NXLog flat objects,
//! `evtx_dump`-style `{"Event": {"System": …}}`; one object per line or an array,
//! pretty-printed or not).
//!
//! Every transport is first reduced to a [`WinEvent`] (System fields plus the
//! EventData name/value pairs); [`map::Mapper`] then turns the events that matter
//! into sighunt events: Sysmon 1 and Security 4688 into [`ProcessStart`], Sysmon 3
//! into [`NetworkActivity`], PowerShell 4104 (multi-part blocks reassembled by
//! ScriptBlockId), 4103 and the classic log's 800 into [`ScriptBlock`]. Everything
//! else is skipped; in EVTX files it is skipped before it is rendered.
//!
//! [`ProcessStart`]: crate::event::ProcessStart
//! [`NetworkActivity`]: crate::event::NetworkActivity
//! [`ScriptBlock`]: crate::event::ScriptBlock

mod event_builder;
mod evtx;
mod evtx_plan;
mod evtx_records;
mod evtx_template;
mod json;
mod map;
mod xml;

use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};

pub use evtx::{
    EvtxVisitor, build_evtx_event, read_evtx, read_evtx_records, read_with as read_evtx_with,
};
pub use evtx_records::{RawRecord, chunk_records as evtx_chunk_records};
pub use evtx_template::{RecordRead, TemplateReader};
pub use json::{
    JsonSplitter, WinJsonParser, certainly_irrelevant, certainly_irrelevant_by_serde,
    ranged as json_ranged, read_json, win_event_from_json, win_event_from_json_bytes,
};
pub use map::{Mapper, is_relevant_event_id, needs_order};
pub use xml::{WinXmlParser, parse_event_xml, read_xml};

/// Format names carried in provenance (the `--input-format` names).
pub const FORMAT_EVTX: &str = "evtx";
pub const FORMAT_XML: &str = "xml";
pub const FORMAT_JSON: &str = "json";

/// Largest single event (one XML `<Event>`, one JSON object) accepted; larger ones
/// are reported and skipped. Script blocks are split by Windows long before this.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One Windows event, whatever transport carried it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WinEvent {
    pub event_id: Option<u32>,
    /// Provider name (`Microsoft-Windows-Sysmon`, `PowerShell` …).
    pub provider: String,
    /// Channel (log) name (`Security`, `Windows PowerShell` …).
    pub channel: String,
    /// `Computer`: the host the event was written on.
    pub computer: String,
    pub time: Option<DateTime<Utc>>,
    pub record_id: Option<u64>,
    /// `Execution ProcessID`: the process that wrote the event (for PowerShell's own
    /// logs, the PowerShell process).
    pub exec_pid: Option<u32>,
    /// `Security UserID`, a SID.
    pub user_sid: Option<String>,
    /// EventData `<Data Name=…>` pairs (and UserData leaves), in order. Names are
    /// shared: a compiled EVTX template hands every record the same ones.
    pub data: Vec<(Arc<str>, String)>,
    /// EventData `<Data>` without a name (classic events such as 800).
    pub unnamed: Vec<String>,
    /// The rendered message, when the transport kept it.
    pub message: Option<String>,
}

impl WinEvent {
    /// The raw value of EventData field `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of field `name`, unless it is empty or Windows' `-` placeholder.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(present)
    }

    /// Sets `name` unless the event already has a value for it.
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if self.get(name).is_none() {
            self.data.push((Arc::from(name), value.into()));
        }
    }
}

/// `s` trimmed, unless it is empty or the `-` Windows writes for "none".
pub fn present(s: &str) -> Option<&str> {
    let t = s.trim();
    (!t.is_empty() && t != "-").then_some(t)
}

/// A process id as Windows logs write it: decimal (Sysmon) or `0x`-hex (Security).
/// Zero means "unknown" in these logs.
pub fn parse_pid(s: &str) -> Option<u32> {
    let s = s.trim();
    let n = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
        None => s.parse().ok()?,
    };
    (n != 0).then_some(n)
}

/// A timestamp as the Windows transports write it: RFC 3339 (`SystemTime`,
/// `@timestamp`, any number of fraction digits), or `YYYY-MM-DD HH:MM:SS[.fff]`
/// without a zone (Sysmon `UtcTime`, some XML exports), taken as UTC.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    let s = s.strip_suffix('Z').unwrap_or(s);
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t.and_utc());
        }
    }
    None
}

#[cfg(test)]
mod tests;
