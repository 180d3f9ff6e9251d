//! The targeted build of a flat (NXLog/OTRF) event: the same [`WinEvent`] as
//! `win_event_from_json` on the object's `serde_json::Value`, without the value
//! tree and without reading the object a second time: the scanner (`scan.rs`)
//! has validated it and kept where each top-level member lies, so each member
//! becomes its final `(key, text)` pair at once (a string copied once from the
//! input, unescaped only when it has escapes), nested values are not looked at,
//! and the System fields are found through slots filled while the keys go by
//! instead of lookups in a map. Numbers are written as serde_json writes them: a
//! plain integer as it stands (JSON allows no other spelling of it), anything else
//! through serde_json itself.
//!
//! Only for objects the scanner found valid and flat; what this build does not
//! expect makes it answer `None`, and the value tree reads the object instead.

use super::super::{WinEvent, parse_event_xml, parse_pid, parse_time};
use super::scan::Span;

/// The keys the flat shape reads System fields from, in each field's order of
/// preference (as `json.rs`'s `flat` lists them).
const EVENT_ID: [usize; 4] = [0, 1, 2, 3];
const PROVIDER: [usize; 4] = [4, 5, 6, 7];
const CHANNEL: [usize; 3] = [8, 9, 10];
const COMPUTER: [usize; 4] = [11, 12, 13, 14];
const TIME: [usize; 5] = [15, 16, 17, 18, 19];
const RECORD_ID: [usize; 3] = [20, 21, 22];
const EXEC_PID: usize = 23;
const USER_ID: usize = 24;
const MESSAGE: [usize; 3] = [25, 26, 27];
const EVENT_DATA: usize = 28;
const SLOTS: usize = 29;

/// The slot of a key the System fields are read from.
fn slot(key: &str) -> Option<usize> {
    Some(match key {
        "EventID" => 0,
        "EventId" => 1,
        "event_id" => 2,
        "Id" => 3,
        "SourceName" => 4,
        "ProviderName" => 5,
        "Provider" => 6,
        "Provider_Name" => 7,
        "Channel" => 8,
        "LogName" => 9,
        "channel" => 10,
        "Hostname" => 11,
        "Computer" => 12,
        "MachineName" => 13,
        "computer_name" => 14,
        "TimeCreated" => 15,
        "UtcTime" => 16,
        "@timestamp" => 17,
        "TimeGenerated" => 18,
        "EventTime" => 19,
        "RecordNumber" => 20,
        "EventRecordID" => 21,
        "RecordId" => 22,
        "ExecutionProcessID" => 23,
        "UserID" => 24,
        "Message" => 25,
        "message" => 26,
        "RenderedDescription" => 27,
        "EventData" => 28,
        _ => return None,
    })
}

/// A member's value as the full path keeps it.
#[derive(Debug)]
enum Member {
    /// A JSON string.
    Text(String),
    /// A number or boolean, written as serde_json writes it.
    Other(String),
    /// `null`, an array or an object: not kept.
    Dropped,
}

impl Member {
    fn text(&self) -> Option<&str> {
        match self {
            Member::Text(s) | Member::Other(s) => Some(s),
            Member::Dropped => None,
        }
    }
}

/// The top-level members, in the order of a `serde_json::Value` map (first
/// occurrence's place, last occurrence's value), and the slots of System keys.
struct Members {
    entries: Vec<(String, Member)>,
    slots: [Option<u32>; SLOTS],
}

/// The flat event in `bytes`, whose top-level members the scanner found valid,
/// flat and at `spans`: `Some(None)` when it has no event id, `None` when the
/// build meets what it does not expect.
pub(super) fn flat_event(bytes: &[u8], spans: &[Span]) -> Option<Option<WinEvent>> {
    let mut members = Members {
        entries: Vec::with_capacity(spans.len()),
        slots: [None; SLOTS],
    };
    let mut seen = 0u64;
    for span in spans {
        let key = unescape(bytes.get(span.key.0..span.key.1)?)?;
        let value = member(bytes.get(span.value.0..span.value.1)?)?;
        let bit = key_bit(&key);
        if seen & bit != 0
            && let Some(entry) = members.entries.iter_mut().find(|(k, _)| *k == key)
        {
            // A duplicate keeps the first one's place and takes its value.
            entry.1 = value;
            continue;
        }
        seen |= bit;
        if let Some(s) = slot(&key) {
            members.slots[s] = Some(members.entries.len() as u32);
        }
        members.entries.push((key, value));
    }
    Some(members.into_event())
}

/// A string's content with its escapes decoded (no `\\u` surrogates: the scanner
/// leaves those to serde_json).
fn unescape(raw: &[u8]) -> Option<String> {
    // Validated once; the pieces between escapes are slices of it (an escape's
    // backslash is ASCII, so always a character boundary).
    let text = std::str::from_utf8(raw).ok()?;
    let Some(mut at) = memchr::memchr(b'\\', raw) else {
        return Some(text.to_owned());
    };
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    loop {
        out.push_str(text.get(i..at)?);
        let (c, width) = match *raw.get(at + 1)? {
            b'"' => ('"', 2),
            b'\\' => ('\\', 2),
            b'/' => ('/', 2),
            b'b' => ('\u{8}', 2),
            b'f' => ('\u{c}', 2),
            b'n' => ('\n', 2),
            b'r' => ('\r', 2),
            b't' => ('\t', 2),
            b'u' => {
                let hex = text.get(at + 2..at + 6)?;
                if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return None;
                }
                (char::from_u32(u32::from_str_radix(hex, 16).ok()?)?, 6)
            }
            _ => return None,
        };
        out.push(c);
        i = at + width;
        // Escapes come in runs (`\\r\\n\\t`): look at the next byte first.
        at = match raw.get(i) {
            Some(b'\\') => i,
            _ => match memchr::memchr(b'\\', &raw[i..]) {
                Some(n) => i + n,
                None => break,
            },
        };
    }
    out.push_str(text.get(i..)?);
    Some(out)
}

/// A member's value (its whole JSON text) as the value tree keeps it.
fn member(raw: &[u8]) -> Option<Member> {
    Some(match raw.first()? {
        b'"' => Member::Text(unescape(raw.get(1..raw.len() - 1)?)?),
        b'-' | b'0'..=b'9' => Member::Other(number_text(std::str::from_utf8(raw).ok()?)?),
        b't' => Member::Other("true".to_string()),
        b'f' => Member::Other("false".to_string()),
        _ => Member::Dropped,
    })
}

/// A number as a `serde_json::Number` writes it once parsed.
fn number_text(literal: &str) -> Option<String> {
    let integer = !literal.contains(['.', 'e', 'E']);
    // serde_json keeps such integers as u64 or i64 and writes them back digit for
    // digit; `-0` becomes the float -0.0, larger ones floats.
    if integer
        && literal != "-0"
        && (literal.parse::<u64>().is_ok() || literal.parse::<i64>().is_ok())
    {
        return Some(literal.to_string());
    }
    match serde_json::from_str::<serde_json::Value>(literal).ok()? {
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Members {
    /// The first of `keys` with a scalar value.
    fn first(&self, keys: &[usize]) -> Option<&str> {
        keys.iter().find_map(|&k| self.get(k))
    }

    fn get(&self, slot: usize) -> Option<&str> {
        self.entries[self.slots[slot]? as usize].1.text()
    }

    fn into_event(self) -> Option<WinEvent> {
        let owned = |s: Option<&str>| s.map(str::to_string);
        let event_id = self.first(&EVENT_ID)?.trim().parse().ok()?;
        let mut ev = WinEvent {
            event_id: Some(event_id),
            provider: owned(self.first(&PROVIDER)).unwrap_or_default(),
            channel: owned(self.first(&CHANNEL)).unwrap_or_default(),
            computer: owned(self.first(&COMPUTER)).unwrap_or_default(),
            // Sysmon's own UtcTime before the collector's timestamps.
            time: TIME.iter().find_map(|&k| self.get(k).and_then(parse_time)),
            record_id: self.first(&RECORD_ID).and_then(|r| r.parse().ok()),
            exec_pid: self.get(EXEC_PID).and_then(parse_pid),
            user_sid: owned(self.get(USER_ID).filter(|s| s.starts_with("S-1-"))),
            message: owned(self.first(&MESSAGE)),
            ..WinEvent::default()
        };
        // The 2022 OTRF exports carry EventData as an XML string as well.
        let xml = match self.slots[EVENT_DATA].map(|e| &self.entries[e as usize].1) {
            Some(Member::Text(xml)) if xml.trim_start().starts_with('<') => {
                parse_event_xml(format!("<Event>{xml}</Event>").as_bytes()).ok()
            }
            _ => None,
        };
        ev.data = self
            .entries
            .into_iter()
            .filter_map(|(k, v)| match v {
                Member::Text(s) | Member::Other(s) => Some((k.into(), s)),
                Member::Dropped => None,
            })
            .collect();
        if let Some(parsed) = xml {
            for (k, val) in parsed.data {
                ev.set_default(&k, val);
            }
            ev.unnamed = parsed.unnamed;
        }
        Some(ev)
    }
}

/// A bit per key class, to see quickly that a key is new (duplicates are rare).
fn key_bit(key: &str) -> u64 {
    let b = key.as_bytes();
    let first = b.first().copied().unwrap_or(0) as usize;
    let last = b.last().copied().unwrap_or(0) as usize;
    1 << ((b.len() * 31 + first * 7 + last) & 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_slot_key_maps_to_its_own_slot() {
        let keys = [
            "EventID",
            "EventId",
            "event_id",
            "Id",
            "SourceName",
            "ProviderName",
            "Provider",
            "Provider_Name",
            "Channel",
            "LogName",
            "channel",
            "Hostname",
            "Computer",
            "MachineName",
            "computer_name",
            "TimeCreated",
            "UtcTime",
            "@timestamp",
            "TimeGenerated",
            "EventTime",
            "RecordNumber",
            "EventRecordID",
            "RecordId",
            "ExecutionProcessID",
            "UserID",
            "Message",
            "message",
            "RenderedDescription",
            "EventData",
        ];
        assert_eq!(keys.len(), SLOTS);
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(slot(k), Some(i), "{k}");
        }
        assert_eq!(slot("eventid"), None);
        let groups: Vec<usize> = [
            &EVENT_ID[..],
            &PROVIDER,
            &CHANNEL,
            &COMPUTER,
            &TIME,
            &RECORD_ID,
            &[EXEC_PID],
            &[USER_ID],
            &MESSAGE,
            &[EVENT_DATA],
        ]
        .concat();
        assert_eq!(groups, (0..SLOTS).collect::<Vec<_>>());
    }

    #[test]
    fn numbers_are_written_as_serde_json_writes_them() {
        let literals = [
            "0",
            "-0",
            "7",
            "-7",
            "4104",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "-18446744073709551615",
            "99999999999999999999999",
            "1.0",
            "1.50",
            "-0.0",
            "0.1",
            "3.14159265358979323846",
            "1e3",
            "1E-7",
            "-2.5e+10",
        ];
        for literal in literals {
            let want = match serde_json::from_str::<serde_json::Value>(literal).unwrap() {
                serde_json::Value::Number(n) => n.to_string(),
                other => panic!("{other}"),
            };
            assert_eq!(
                number_text(literal).as_deref(),
                Some(want.as_str()),
                "{literal}"
            );
        }
    }

    #[test]
    fn escapes_decode_as_serde_json_decodes_them() {
        for body in [
            r#"plain"#,
            r#"a\u0000b"#,
            r#"q\"uote\\d\/e"#,
            r#"\b\f\n\r\t"#,
            r#"\u00e9\u4E2D\u0041"#,
            "caf\u{e9} \\n \u{1f600}",
        ] {
            let want: String = serde_json::from_str(&format!("\"{body}\"")).unwrap();
            assert_eq!(
                unescape(body.as_bytes()).as_deref(),
                Some(want.as_str()),
                "{body}"
            );
        }
        assert_eq!(unescape(br"\x"), None);
        assert_eq!(unescape(br"\ud83d"), None);
    }
}
