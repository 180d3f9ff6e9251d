//! The relevance check of a JSON event before any value tree is built: the event id,
//! found where [`super::win_event_from_json`] would find it (same shapes, same
//! precedence, same parsing), read with a borrowed, allocation-free deserialiser
//! that skips every other value. Most events of a Windows log are of ids sighunt
//! never maps; they cost one validating skim instead of a `serde_json::Value`.

use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use super::super::map::is_relevant_event_id;
use super::scan::Span;

/// True when the object in `bytes` is certainly dropped by the full path: valid JSON
/// whose event id is missing, unreadable or not one sighunt maps. False when it may
/// matter, or when the bytes do not deserialise (the full path then reports why).
pub fn certainly_irrelevant(bytes: &[u8]) -> bool {
    thread_local! {
        static MEMBERS: std::cell::RefCell<Vec<Span>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    MEMBERS.with_borrow_mut(|members| inspect(bytes, members)) == Some(Relevance::Irrelevant)
}

/// What the relevance check decided about one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Relevance {
    /// The full path drops it.
    Irrelevant,
    /// It may matter, and it is a flat object the scanner validated: the targeted
    /// build (`flat.rs`) reads it from the members the scanner kept.
    RelevantFlat,
    /// It may matter: the value tree reads it.
    Relevant,
}

/// The relevance of `bytes`, `None` when they are not one JSON object (whole,
/// nothing after it but whitespace) or not UTF-8. The scanner answers when it is
/// sure (and leaves the object's top-level members in `members`), serde_json
/// otherwise.
pub(super) fn inspect(bytes: &[u8], members: &mut Vec<Span>) -> Option<Relevance> {
    if let Some(verdict) = super::scan::inspect(bytes, members) {
        return Some(if verdict.irrelevant {
            Relevance::Irrelevant
        } else if verdict.flat {
            Relevance::RelevantFlat
        } else {
            Relevance::Relevant
        });
    }
    serde_inspect(bytes).map(|irrelevant| {
        if irrelevant {
            Relevance::Irrelevant
        } else {
            Relevance::Relevant
        }
    })
}

/// The relevance check with serde_json alone: `Some(irrelevant)` when `bytes` is
/// one JSON object (whole, nothing after it but whitespace), `None` when it is not
/// (or not UTF-8).
pub(super) fn serde_inspect(bytes: &[u8]) -> Option<bool> {
    // serde_json validates UTF-8 only in the strings it reads; the full path reads
    // them all, so invalid text must go that way to be reported.
    std::str::from_utf8(bytes).ok()?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let probe = de.deserialize_map(TopVisitor).ok()?;
    de.end().ok()?;
    Some(!probe.event_id().is_some_and(is_relevant_event_id))
}

/// A scalar candidate for the event id: `None` when missing or not a scalar (a
/// pointer lookup then falls through to the next candidate), `Some(parsed)` when a
/// scalar (its parse may still fail, which ends the lookup).
pub(super) type Candidate = Option<Option<u32>>;

#[derive(Default)]
pub(super) struct Top {
    /// `winlog` when it is an object: its `event_id`.
    pub winlog: Option<Candidate>,
    /// `event.code`.
    pub event_code: Candidate,
    /// `Event` when it has a `System` object: `System.EventID` (scalar or `#text`).
    pub event_system: Option<Candidate>,
    /// `EventID`, `EventId`, `event_id`, `Id`, in that order of preference.
    pub flat: [Candidate; 4],
}

impl Top {
    pub(super) fn event_id(&self) -> Option<u32> {
        if let Some(winlog_id) = self.winlog {
            return winlog_id.or(self.event_code).flatten();
        }
        if let Some(system_id) = self.event_system {
            return system_id.flatten();
        }
        self.flat.iter().find_map(|c| *c).flatten()
    }
}

/// `s` as `win_event_from_json`'s `parse_id` reads it.
pub(super) fn id_of_text(s: &str) -> Option<u32> {
    s.trim().parse().ok()
}

/// A value read as a candidate: scalars parsed, anything else skipped.
struct CandidateSeed;

impl<'de> DeserializeSeed<'de> for CandidateSeed {
    type Value = Candidate;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Candidate, D::Error> {
        d.deserialize_any(CandidateVisitor { text_field: false })
    }
}

/// `text_field`: also take an object's `#text` (evtx_dump's `EventID`).
struct CandidateVisitor {
    text_field: bool,
}

impl<'de> Visitor<'de> for CandidateVisitor {
    type Value = Candidate;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E>(self, s: &str) -> Result<Candidate, E> {
        Ok(Some(id_of_text(s)))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Candidate, E> {
        Ok(Some(u32::try_from(n).ok()))
    }
    fn visit_i64<E>(self, n: i64) -> Result<Candidate, E> {
        Ok(Some(u32::try_from(n).ok()))
    }
    // A float is written with a `.` or an exponent: never a u32 once printed.
    fn visit_f64<E>(self, _: f64) -> Result<Candidate, E> {
        Ok(Some(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Candidate, E> {
        Ok(Some(None))
    }
    fn visit_unit<E>(self) -> Result<Candidate, E> {
        Ok(None)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Candidate, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Candidate, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Key>()? {
            if self.text_field && key == Key::Text {
                found = map.next_value_seed(CandidateSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The keys the probe (and the scanner, json/scan.rs) looks at, at any level; the
/// rest are `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Winlog,
    EventLower,
    EventUpper,
    System,
    Code,
    EventIdSnake,
    EventIdUpper,
    EventIdCamel,
    Id,
    Text,
    Other,
}

impl Key {
    pub(super) fn of(raw: &[u8]) -> Key {
        match raw {
            b"winlog" => Key::Winlog,
            b"event" => Key::EventLower,
            b"Event" => Key::EventUpper,
            b"System" => Key::System,
            b"code" => Key::Code,
            b"event_id" => Key::EventIdSnake,
            b"EventID" => Key::EventIdUpper,
            b"EventId" => Key::EventIdCamel,
            b"Id" => Key::Id,
            b"#text" => Key::Text,
            _ => Key::Other,
        }
    }
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object key")
            }
            fn visit_str<E>(self, s: &str) -> Result<Key, E> {
                Ok(Key::of(s.as_bytes()))
            }
        }
        d.deserialize_str(KeyVisitor)
    }
}

struct TopVisitor;

impl<'de> Visitor<'de> for TopVisitor {
    type Value = Top;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Top, A::Error> {
        // Later duplicates replace earlier ones, as in a `serde_json::Value` map.
        let mut top = Top::default();
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Winlog => {
                    top.winlog = map.next_value_seed(Object(ChildKey::EventIdSnake))?;
                }
                Key::EventLower => {
                    top.event_code = map.next_value_seed(Object(ChildKey::Code))?.flatten();
                }
                Key::EventUpper => top.event_system = map.next_value_seed(EventObject)?,
                Key::EventIdUpper => top.flat[0] = map.next_value_seed(CandidateSeed)?,
                Key::EventIdCamel => top.flat[1] = map.next_value_seed(CandidateSeed)?,
                Key::EventIdSnake => top.flat[2] = map.next_value_seed(CandidateSeed)?,
                Key::Id => top.flat[3] = map.next_value_seed(CandidateSeed)?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(top)
    }
}

/// Which child of an object is the candidate.
#[derive(Clone, Copy)]
enum ChildKey {
    EventIdSnake,
    Code,
}

/// A value that must be an object (`Some(child candidate)`), or anything else
/// The visitor methods of an object-only probe: anything but an object (an array, a
/// string, a number, a boolean, null) is skipped and gives `None`.
macro_rules! not_an_object {
    () => {
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    };
}

/// (`None`, skipped).
struct Object(ChildKey);

impl<'de> DeserializeSeed<'de> for Object {
    type Value = Option<Candidate>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Object {
    type Value = Option<Candidate>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Key>()? {
            let wanted = match self.0 {
                ChildKey::EventIdSnake => key == Key::EventIdSnake,
                ChildKey::Code => key == Key::Code,
            };
            if wanted {
                found = map.next_value_seed(CandidateSeed)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(found))
    }
    not_an_object!();
}

/// `Event`: `Some(System.EventID candidate)` when it is an object with a `System`
/// object, else `None`.
struct EventObject;

impl<'de> DeserializeSeed<'de> for EventObject {
    type Value = Option<Candidate>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EventObject {
    type Value = Option<Candidate>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut system = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::System {
                system = map.next_value_seed(SystemObject)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(system)
    }
    not_an_object!();
}

/// `System`: `Some(EventID candidate)` when it is an object, else `None`.
struct SystemObject;

impl<'de> DeserializeSeed<'de> for SystemObject {
    type Value = Option<Candidate>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for SystemObject {
    type Value = Option<Candidate>;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut id = None;
        while let Some(key) = map.next_key::<Key>()? {
            if key == Key::EventIdUpper {
                id = map.next_value_seed(TextCandidate)?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Some(id))
    }
    not_an_object!();
}

/// A scalar, or an object's `#text` scalar.
struct TextCandidate;

impl<'de> DeserializeSeed<'de> for TextCandidate {
    type Value = Candidate;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Candidate, D::Error> {
        d.deserialize_any(CandidateVisitor { text_field: true })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sources::windows::win_event_from_json;

    /// What the full path decides: the event id, if the object is a Windows event.
    fn full_path_id(bytes: &[u8]) -> Option<Option<u32>> {
        let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
        Some(win_event_from_json(&value).and_then(|e| e.event_id))
    }

    /// The probe may only drop what the full path drops.
    fn check(bytes: &[u8]) -> bool {
        let skipped = certainly_irrelevant(bytes);
        match full_path_id(bytes) {
            None => assert!(!skipped, "invalid JSON goes the full path: {}", show(bytes)),
            Some(id) => {
                let relevant = id.is_some_and(is_relevant_event_id);
                if bytes.starts_with(b"{") {
                    assert_eq!(skipped, !relevant, "{}", show(bytes));
                } else {
                    // Not an object: never skipped, the full path drops it.
                    assert!(!skipped && !relevant, "{}", show(bytes));
                }
            }
        }
        skipped
    }

    fn show(bytes: &[u8]) -> String {
        String::from_utf8_lossy(bytes).into_owned()
    }

    #[test]
    fn agrees_with_the_full_path_on_every_shape_and_spelling_of_the_id() {
        let ids = [
            "4688",
            "\"4688\"",
            "\" 4104 \"",
            "\"+1\"",
            "3.0",
            "1e3",
            "-1",
            "0",
            "4294967297",
            "true",
            "null",
            "[1]",
            "{\"#text\":\"800\"}",
            "{\"#text\":4103}",
            "{\"#text\":{\"#text\":1}}",
            "\"x\"",
            "5158",
            "\"\\u0034688\"",
        ];
        let mut cases = Vec::new();
        for id in ids {
            for shape in [
                format!("{{\"EventID\":{id},\"Channel\":\"Security\"}}"),
                format!("{{\"EventId\":7,\"EventID\":{id}}}"),
                format!("{{\"EventID\":{{}},\"EventId\":{id}}}"),
                format!("{{\"Id\":{id},\"event_id\":null}}"),
                format!("{{\"EventID\":1,\"EventID\":{id}}}"),
                format!("{{\"winlog\":{{\"event_id\":{id},\"channel\":\"Security\"}}}}"),
                format!("{{\"winlog\":{{}},\"event\":{{\"code\":{id}}}}}"),
                format!("{{\"winlog\":{{\"event_id\":null}},\"event\":{{\"code\":{id}}}}}"),
                format!("{{\"winlog\":{{\"event_id\":{id}}},\"event\":{{\"code\":4688}}}}"),
                format!("{{\"winlog\":[1],\"EventID\":{id}}}"),
                format!("{{\"winlog\":{{\"event_id\":{id}}},\"winlog\":5,\"EventID\":4104}}"),
                format!("{{\"event\":[{id}],\"winlog\":{{}}}}"),
                format!("{{\"Event\":{{\"System\":{{\"EventID\":{id}}}}}}}"),
                format!("{{\"Event\":{{\"System\":{{\"EventID\":{id}}}}},\"EventID\":4688}}"),
                format!("{{\"Event\":{{\"System\":1}},\"EventID\":{id}}}"),
                format!("{{\"Event\":[{{\"System\":{{}}}}],\"EventID\":{id}}}"),
                format!("{{\"Event\":{{\"EventData\":{{}}}},\"EventID\":{id}}}"),
                format!("{{\"Event\":{{\"System\":{{\"EventID\":{id}}},\"System\":{{}}}}}}"),
            ] {
                cases.push(shape.into_bytes());
            }
        }
        // Not events, not objects, not JSON, not UTF-8.
        for junk in [
            &b"[1,2]"[..],
            b"{}",
            b"{\"EventID\":4688",
            b"{\"EventID\":4688} x",
            b"{\"EventID\":\"\xff\"}",
            b"{\"EventID\":5158,\"x\":\"\xff\"}",
            b"{\"EventID\":5158,\"x\":\"a\x01\"}",
        ] {
            cases.push(junk.to_vec());
        }
        let skipped = cases.iter().filter(|c| check(c)).count();
        assert!(skipped > 100, "{skipped} of {}", cases.len());
        assert!(skipped < cases.len() - 100, "{skipped} of {}", cases.len());
    }

    #[test]
    fn agrees_with_the_full_path_on_the_corpus_and_skips_most_of_it() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/windows");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.push(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../examples/windows/winlogbeat-sysmon.json"),
        );
        let (mut objects, mut skipped) = (0, 0);
        for path in files.iter().filter(|p| p.exists()) {
            let text = std::fs::read(path).unwrap();
            for line in text.split(|&b| b == b'\n') {
                let line = line.trim_ascii();
                if line.starts_with(b"{") {
                    objects += 1;
                    skipped += usize::from(check(line));
                }
            }
        }
        if objects == 0 {
            eprintln!("SKIP: no JSON corpus under {}", dir.display());
            return;
        }
        assert!(
            skipped * 10 >= objects * 8,
            "{skipped} of {objects} skipped"
        );
    }
}
