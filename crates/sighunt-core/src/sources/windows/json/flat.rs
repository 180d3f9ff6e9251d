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

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

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
    entries: Vec<(Arc<str>, Member)>,
    slots: [Option<u32>; SLOTS],
}

/// A key as the build uses it: its decoded name (shared: the event's data pairs
/// hold it), its System slot and its class bit.
#[derive(Clone)]
struct KeyInfo {
    name: Arc<str>,
    slot: Option<u8>,
    bit: u64,
}

impl KeyInfo {
    fn of(raw: &[u8]) -> Option<KeyInfo> {
        let name = unescape(raw)?;
        Some(KeyInfo {
            slot: slot(&name).map(|s| s as u8),
            bit: key_bit(&name),
            name: Arc::from(name),
        })
    }
}

/// Most distinct keys remembered per thread; past that, new keys are decoded each
/// time (a log of ever-new keys costs what it cost before, not memory).
const MAX_KNOWN_KEYS: usize = 4096;

thread_local! {
    /// The keys met so far, by their raw bytes: a log repeats the same few dozen
    /// keys in every event, and each would otherwise be decoded, allocated and
    /// converted to a shared name per event.
    static KNOWN_KEYS: RefCell<HashMap<Box<[u8]>, KeyInfo>> = RefCell::new(HashMap::new());
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
    KNOWN_KEYS.with_borrow_mut(|known| {
        for span in spans {
            let raw = bytes.get(span.key.0..span.key.1)?;
            let key = match known.get(raw) {
                Some(key) => key.clone(),
                None => {
                    let key = KeyInfo::of(raw)?;
                    if known.len() < MAX_KNOWN_KEYS {
                        known.insert(raw.into(), key.clone());
                    }
                    key
                }
            };
            let value = member(bytes.get(span.value.0..span.value.1)?)?;
            if seen & key.bit != 0
                && let Some(entry) = members.entries.iter_mut().find(|(k, _)| *k == key.name)
            {
                // A duplicate keeps the first one's place and takes its value.
                entry.1 = value;
                continue;
            }
            seen |= key.bit;
            if let Some(s) = key.slot {
                members.slots[usize::from(s)] = Some(members.entries.len() as u32);
            }
            members.entries.push((key.name, value));
        }
        Some(())
    })?;
    Some(members.into_event())
}

/// A string's content with its escapes decoded (no `\\u` surrogates: the scanner
/// leaves those to serde_json); `None` when an escape is not JSON's or the text is
/// not UTF-8.
///
/// One pass: the runs between escapes are copied eight bytes at a time and the text
/// is checked once, at the end. The check on the decoded bytes is the check on the
/// raw ones: an escape is ASCII and decodes to a whole character, so it can neither
/// complete nor break a multi-byte sequence around it.
fn unescape(raw: &[u8]) -> Option<String> {
    // Decoding never lengthens the text.
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    loop {
        i = copy_run(raw, i, &mut out);
        if i == raw.len() {
            break;
        }
        // At a backslash.
        let byte = match *raw.get(i + 1)? {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut unit = 0u32;
                for &h in raw.get(i + 2..i + 6)? {
                    unit = unit * 16 + char::from(h).to_digit(16)?;
                }
                let c = char::from_u32(unit)?;
                out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
                i += 6;
                continue;
            }
            _ => return None,
        };
        out.push(byte);
        i += 2;
    }
    String::from_utf8(out).ok()
}

/// Copies `raw[from..]` up to its next backslash onto `out`; returns where it
/// stopped (at the backslash, or the end).
#[inline]
fn copy_run(raw: &[u8], from: usize, out: &mut Vec<u8>) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    // Escapes come in runs (`\\r\\n\\t`): the next eight bytes first, as one word
    // (a zero byte of `x` is a backslash of the word, and the lowest flag of the
    // zero-byte test is exact: borrows only run upwards), then a vector search.
    let end = match raw.get(from..from + 8) {
        Some(word) => {
            let w = u64::from_le_bytes([
                word[0], word[1], word[2], word[3], word[4], word[5], word[6], word[7],
            ]);
            let x = w ^ BACKSLASHES;
            let found = x.wrapping_sub(ONES) & !x & HIGH;
            if found != 0 {
                from + (found.trailing_zeros() / 8) as usize
            } else {
                memchr::memchr(b'\\', &raw[from + 8..]).map_or(raw.len(), |n| from + 8 + n)
            }
        }
        None => memchr::memchr(b'\\', &raw[from..]).map_or(raw.len(), |n| from + n),
    };
    out.extend_from_slice(&raw[from..end]);
    end
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
                Member::Text(s) | Member::Other(s) => Some((k, s)),
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

    /// Escapes, multi-byte characters and invalid bytes at every offset of the
    /// eight-byte words: the decoded text is serde_json's, or both refuse.
    #[test]
    fn escapes_at_every_word_offset_decode_as_serde_json_decodes_them() {
        let pieces: &[&[u8]] = &[
            b"a",
            b"\\\"",
            b"\\\\",
            b"\\n\\r\\t",
            b"\\/",
            b"\\u00e9",
            b"\\u4E2D",
            b"\\u0000",
            b"\\ud83d",
            b"\\x",
            b"\\u12",
            b"\xc3\xa9",
            b"\xe4\xb8\xad",
            b"\xf0\x9f\x98\x80",
            b"\xc3",
            b"\xff",
        ];
        let mut rng = crate::test_rng::XorShift::new(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
        let (mut decoded, mut refused) = (0, 0);
        for _ in 0..20_000 {
            let mut body = Vec::new();
            body.extend(std::iter::repeat_n(b'x', next(12)));
            for _ in 0..next(6) {
                body.extend_from_slice(pieces[next(pieces.len())]);
                body.extend(std::iter::repeat_n(b'y', next(12)));
            }
            let mut quoted = b"\"".to_vec();
            quoted.extend_from_slice(&body);
            quoted.push(b'"');
            let want = serde_json::from_slice::<String>(&quoted).ok();
            let got = unescape(&body);
            let surrogate = body.windows(3).any(|w| w == b"\\ud");
            if want.is_some() && surrogate {
                // The scanner leaves surrogates to serde_json: never built here.
                assert_eq!(got, None);
                continue;
            }
            assert_eq!(got, want, "{}", String::from_utf8_lossy(&body));
            if got.is_some() {
                decoded += 1;
            } else {
                refused += 1;
            }
        }
        assert!(decoded > 2000 && refused > 2000, "{decoded} / {refused}");
    }
}
