//! The targeted build of a flat (NXLog/OTRF) event: the same [`WinEvent`] as
//! `win_event_from_json` on the object's `serde_json::Value`, without the value
//! tree. One pass with serde_json's own parser (same string unescaping, same
//! numbers): each top-level member becomes its final `(key, text)` pair at once
//! (strings borrowed from the input until kept), nested values are skipped
//! (`IgnoredAny`), and the System fields are found through slots filled while the
//! keys go by instead of lookups in a map.
//!
//! Only for objects the scanner (`scan.rs`) has validated and found flat: it is
//! stricter than serde_json, and nothing here decides the shape.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::super::{WinEvent, parse_event_xml, parse_pid, parse_time};

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

/// The flat event in `bytes` (the scanner found it valid and flat), `Ok(None)`
/// when it has no event id.
pub(super) fn flat_event(bytes: &[u8]) -> Result<Option<WinEvent>, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let members = de.deserialize_map(MembersVisitor)?;
    de.end()?;
    Ok(members.into_event())
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

struct MembersVisitor;

impl<'de> Visitor<'de> for MembersVisitor {
    type Value = Members;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
        let mut members = Members {
            entries: Vec::with_capacity(map.size_hint().unwrap_or(48)),
            slots: [None; SLOTS],
        };
        let mut seen = 0u64;
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(MemberSeed)?;
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
        Ok(members)
    }
}

struct MemberSeed;

impl<'de> DeserializeSeed<'de> for MemberSeed {
    type Value = Member;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Member, D::Error> {
        d.deserialize_any(MemberVisitor)
    }
}

struct MemberVisitor;

impl<'de> Visitor<'de> for MemberVisitor {
    type Value = Member;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, s: &str) -> Result<Member, E> {
        Ok(Member::Text(s.to_string()))
    }
    fn visit_string<E>(self, s: String) -> Result<Member, E> {
        Ok(Member::Text(s))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Member, E> {
        Ok(Member::Other(n.to_string()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Member, E> {
        Ok(Member::Other(n.to_string()))
    }
    // As the value tree keeps a float: a `Number`, written by its `Display`.
    fn visit_f64<E>(self, n: f64) -> Result<Member, E> {
        Ok(serde_json::Number::from_f64(n)
            .map_or(Member::Dropped, |n| Member::Other(n.to_string())))
    }
    fn visit_bool<E>(self, b: bool) -> Result<Member, E> {
        Ok(Member::Other(b.to_string()))
    }
    fn visit_unit<E>(self) -> Result<Member, E> {
        Ok(Member::Dropped)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Member, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Member::Dropped)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Member, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Member::Dropped)
    }
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
}
