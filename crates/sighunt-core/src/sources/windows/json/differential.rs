//! The fast relevance scanner and the targeted flat build held to the value-tree
//! path (serde_json's probe, `serde_json::Value`, `win_event_from_json`): on every
//! JSON object of the shared corpus and the repository's examples, and on mutated
//! documents (key order, nesting, escapes, number spellings, duplicate keys, cut
//! lines, huge values, invalid bytes). Same event, or the same error, every time.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

use super::probe::{Relevance, serde_inspect};
use super::{WinEvent, WinJsonParser, event_of_piece, event_of_value, flat, scan};
use crate::sources::{CollectingSink, LineParser};

/// What the path before the scanner and the targeted build made of one object.
fn value_path(bytes: &[u8]) -> Result<Option<WinEvent>, String> {
    if serde_inspect(bytes) == Some(true) {
        return Ok(None);
    }
    event_of_value(bytes)
}

/// The shape the value path reads `v` as: flat unless `winlog` is an object or
/// `Event.System` one (as `win_event_from_json` dispatches).
fn is_flat(v: &Value) -> bool {
    !(v.get("winlog").is_some_and(Value::is_object)
        || v.pointer("/Event/System").is_some_and(Value::is_object))
}

/// Counts of what the checks saw.
#[derive(Default, Debug)]
struct Seen {
    objects: usize,
    scanned: usize,
    flat_built: usize,
    events: usize,
    errors: usize,
}

/// Holds every path to the value path on `bytes`.
fn check(bytes: &[u8], seen: &mut Seen) {
    let show = || String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).into_owned();
    seen.objects += 1;
    let want = value_path(bytes);
    // The whole new path, as the splitter's pieces take it.
    let got = event_of_piece(Ok(bytes));
    assert_eq!(got, want, "{}", show());
    match &want {
        Ok(Some(_)) => seen.events += 1,
        Err(_) => seen.errors += 1,
        Ok(None) => {}
    }
    // The scanner: only sure answers, and right ones.
    let mut members = Vec::new();
    if let Some(verdict) = scan::inspect(bytes, &mut members) {
        seen.scanned += 1;
        let value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| {
            panic!("scanner accepted what serde_json rejects ({e}): {}", show())
        });
        assert_eq!(serde_inspect(bytes), Some(verdict.irrelevant), "{}", show());
        assert_eq!(verdict.flat, is_flat(&value), "{}", show());
        // The targeted build on every flat object, relevant or not.
        if verdict.flat {
            seen.flat_built += 1;
            let built = flat::flat_event(bytes, &members).expect("the flat build gave up");
            assert_eq!(Ok(built), event_of_value(bytes), "{}", show());
        }
    }
    let relevance = super::probe::inspect(bytes, &mut members);
    assert_eq!(
        relevance == Some(Relevance::Irrelevant),
        serde_inspect(bytes) == Some(true),
        "{}",
        show()
    );
}

/// The JSON event logs of the shared corpus (found by content) and the
/// repository's examples and fuzz seeds.
fn json_logs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![
        root.join("../shared/corpus/windows"),
        root.join("examples/windows"),
        root.join("fuzz/corpus/win_json"),
    ];
    dirs.push(root.join("../shared/corpus"));
    let mut files = Vec::new();
    for dir in dirs {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            let head = &text[..text.len().min(4096)];
            let json = matches!(head.trim_ascii_start().first(), Some(b'{' | b'['));
            let windows = [&b"EventID"[..], b"winlog", b"\"Event\""]
                .iter()
                .any(|k| head.windows(k.len()).any(|w| w == *k));
            if json && windows && !files.contains(&path) {
                files.push(path);
            }
        }
    }
    files
}

/// The objects of a log: its lines, or an array's elements.
fn objects(text: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut splitter = super::JsonSplitter::default();
    let mut keep = |_: u64, piece: Result<&[u8], String>| {
        if let Ok(b) = piece {
            out.push(b.to_vec());
        }
    };
    splitter.push(text, &mut keep);
    splitter.finish(&mut keep);
    out
}

fn corpus_objects() -> Vec<Vec<u8>> {
    json_logs()
        .iter()
        .flat_map(|p| objects(&std::fs::read(p).unwrap()))
        .collect()
}

#[test]
fn every_corpus_object_gives_the_same_event_by_every_path() {
    let all = corpus_objects();
    if all.len() < 1000 {
        eprintln!("SKIP: the shared corpus's JSON logs are absent");
        return;
    }
    let mut seen = Seen::default();
    for object in &all {
        check(object, &mut seen);
    }
    eprintln!("{seen:?}");
    // The scanner decides nearly all of it, and the flat build reads the OTRF
    // exports' events.
    assert!(seen.scanned * 100 >= seen.objects * 99, "{seen:?}");
    assert!(seen.flat_built * 10 >= seen.objects * 9, "{seen:?}");
    assert!(seen.events >= 500, "{seen:?}");
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Spellings of an event id, as a JSON value.
const IDS: &[&str] = &[
    "4104",
    "\"4104\"",
    "\" 4104 \"",
    "\"+4104\"",
    "\"\\u00341\\u00304\"",
    "4104.0",
    "4.104e3",
    "-4104",
    "04104",
    "4104 ",
    "\"4104\\u0000\"",
    "1",
    "\"3\"",
    "800",
    "4688",
    "4103",
    "5158",
    "99999999999999999999999",
    "1e400",
    "true",
    "null",
    "[4104]",
    "{\"#text\":4104}",
];

/// Strings with every kind of escape and character, as JSON string bodies.
const STRINGS: &[&str] = &[
    "plain",
    "a\\u0000b",
    "q\\\"uote\\\\d",
    "\\ud83d\\ude00 pair",
    "lone \\ud83d",
    "lone \\ude00 low",
    "\\/slash\\b\\f\\n\\r\\t",
    "caf\u{e9} \u{4e2d}\u{6587} \u{1f600}",
    "\\u00e9\\u4E2D",
    "bad \\x escape",
    "bad \\u12g4",
    "<Data Name=\\\"ScriptBlockText\\\">x</Data>",
];

/// One mutation of a corpus object (a `Value` map) written back as bytes.
fn mutate(base: &Map<String, Value>, rng: &mut Rng) -> Vec<u8> {
    let mut map = base.clone();
    let mut text_edits: Vec<(String, String)> = Vec::new();
    match rng.below(10) {
        // Key order shuffled.
        0 => {
            let mut entries: Vec<_> = std::mem::take(&mut map).into_iter().collect();
            for i in (1..entries.len()).rev() {
                entries.swap(i, rng.below(i + 1));
            }
            map = entries.into_iter().collect();
        }
        // Extra nesting: values inside arrays and objects, ids in nested objects.
        1 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = &keys[rng.below(keys.len())];
            let v = map[k].clone();
            map.insert(
                k.clone(),
                serde_json::json!({ "inner": [v, {"EventID": 4104}] }),
            );
            map.insert(
                "Event".into(),
                serde_json::json!({"System": {"EventID": {"#text": "4104"}}}),
            );
            if rng.below(2) == 0 {
                map.insert(
                    "winlog".into(),
                    serde_json::json!({"event_id": 4104, "channel": "x"}),
                );
            }
        }
        // A string value with escapes (and a key with one).
        2 | 3 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let k = keys[rng.below(keys.len())].clone();
            let s = STRINGS[rng.below(STRINGS.len())];
            map.insert(k.clone(), Value::String("@@S@@".into()));
            text_edits.push(("\"@@S@@\"".into(), format!("\"{s}\"")));
            if rng.below(3) == 0 {
                text_edits.push(("\"EventID\"".into(), "\"Event\\u0049D\"".into()));
            }
        }
        // The event id spelled otherwise (numbers as strings, floats …).
        4 | 5 => {
            map.insert("EventID".into(), Value::String("@@ID@@".into()));
            let id = IDS[rng.below(IDS.len())];
            text_edits.push(("\"@@ID@@\"".into(), id.into()));
        }
        // Duplicate keys after the object's own.
        6 => {
            let dup = [
                "EventID",
                "Channel",
                "Message",
                "Hostname",
                "EventData",
                "EventTime",
            ][rng.below(6)];
            let val = [
                "5158",
                "4104",
                "null",
                "\"Security\"",
                "[1]",
                "\"2020-01-01 00:00:00\"",
            ][rng.below(6)];
            let mut bytes = serde_json::to_vec(&map).unwrap();
            bytes.pop();
            bytes.extend_from_slice(format!(",\"{dup}\":{val}}}").as_bytes());
            return bytes;
        }
        // Truncated.
        7 => {
            let bytes = serde_json::to_vec(&map).unwrap();
            return bytes[..rng.below(bytes.len())].to_vec();
        }
        // Huge values: a long string, deep nesting, long numbers.
        8 => {
            let big = "x\\\"y".repeat(20_000 + rng.below(1000));
            map.insert("Message".into(), Value::String("@@S@@".into()));
            text_edits.push(("\"@@S@@\"".into(), format!("\"{big}\"")));
            let depth = [50, 99, 101, 127, 128, 129, 300][rng.below(7)];
            map.insert("Deep".into(), Value::String("@@D@@".into()));
            text_edits.push((
                "\"@@D@@\"".into(),
                format!("{}1{}", "[".repeat(depth), "]".repeat(depth)),
            ));
            map.insert("Long".into(), Value::String("@@N@@".into()));
            let n = [
                "1".repeat(400),
                format!("0.{}", "1".repeat(400)),
                "-1.5e-7".into(),
            ];
            text_edits.push(("\"@@N@@\"".into(), n[rng.below(3)].clone()));
        }
        // Raw bytes no JSON string may hold: control bytes, invalid UTF-8.
        _ => {
            let mut bytes = serde_json::to_vec(&map).unwrap();
            let bad: &[&[u8]] = &[
                b"\x01",
                b"\xff",
                b"\xc3",
                b"\xe2\x82",
                b"\xed\xa0\x80",
                b"\t",
            ];
            let at = rng.below(bytes.len());
            let b = bad[rng.below(bad.len())];
            bytes.splice(at..at, b.iter().copied());
            return bytes;
        }
    }
    let mut text = serde_json::to_string(&map).unwrap();
    for (from, to) in text_edits {
        text = text.replacen(&from, &to, 1);
    }
    if rng.below(4) == 0 {
        // Whitespace a pretty printer would put.
        text = text.replace(",\"", ",\n  \"");
    }
    text.into_bytes()
}

#[test]
fn mutated_objects_give_the_same_event_or_the_same_error_by_every_path() {
    let all = corpus_objects();
    let mut bases: Vec<Map<String, Value>> = all
        .iter()
        .filter_map(|b| serde_json::from_slice::<Value>(b).ok())
        .filter_map(|v| v.as_object().cloned())
        .filter(|m| !m.is_empty())
        .collect();
    if bases.is_empty() {
        // The fixtures of the repository keep the test meaningful without the corpus.
        bases = [
            r#"{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","Hostname":"h","ScriptBlockText":"nohup x","EventTime":"2020-09-04 16:09:38","Message":"m"}"#,
            r#"{"EventID":5158,"SourceName":"Microsoft-Windows-Security-Auditing","Keywords":-9214364837600034816}"#,
        ]
        .iter()
        .filter_map(|s| serde_json::from_str::<Value>(s).ok()?.as_object().cloned())
        .collect();
    }
    // The relevant objects more often: they take the targeted build.
    let relevant: Vec<usize> = (0..bases.len())
        .filter(|&i| {
            let b = serde_json::to_vec(&bases[i]).unwrap();
            serde_inspect(&b) == Some(false)
        })
        .collect();
    let mut rng = Rng(0x5eed_1234_abcd_0017);
    let mut seen = Seen::default();
    for round in 0..3000 {
        let i = if round % 2 == 0 && !relevant.is_empty() {
            relevant[rng.below(relevant.len())]
        } else {
            rng.below(bases.len())
        };
        let doc = mutate(&bases[i], &mut rng);
        check(&doc, &mut seen);
    }
    eprintln!("{seen:?}");
    assert!(seen.events > 500 && seen.errors > 150, "{seen:?}");
    assert!(
        seen.scanned > 1000 && seen.scanned < seen.objects,
        "{seen:?}"
    );
}

#[test]
fn mutated_lines_in_a_log_are_reported_with_file_and_line_and_the_rest_read() {
    let base = br#"{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","Hostname":"h","ScriptBlockText":"Start-Job { nohup }","ScriptBlockId":"x","MessageNumber":"1","MessageTotal":"1","EventTime":"2020-09-04 16:09:38"}"#;
    let deep = format!(
        "{{\"EventID\":4104,\"Deep\":{}1{}}}",
        "[".repeat(200),
        "]".repeat(200)
    );
    let bad: Vec<&[u8]> = vec![
        b"{\"EventID\":4104,\"ScriptBlockText\":\"a\xffb\"}",
        b"{\"EventID\":5158,\"x\":\"\x01\"}",
        b"{\"EventID\":4104,\"ScriptBlockText\":\"cut",
        deep.as_bytes(),
        b"{\"EventID\":4104,\"n\":1e400}",
        b"{\"EventID\":4104,\"s\":\"\\ud800\"}",
        b"{\"EventID\":4104,,}",
    ];
    let mut log = Vec::new();
    for b in &bad {
        log.extend_from_slice(base);
        log.push(b'\n');
        log.extend_from_slice(b);
        log.push(b'\n');
    }
    log.extend_from_slice(base);
    log.push(b'\n');
    let name: Arc<str> = Arc::from("mutated.json");
    let mut parser = WinJsonParser::new(name.clone());
    let mut sink = CollectingSink::default();
    for chunk in log.chunks(4096) {
        parser.feed(chunk, &mut sink);
    }
    parser.finish(&mut sink);
    assert_eq!(sink.events.len(), bad.len() + 1, "{:?}", sink.errors);
    assert_eq!(sink.errors.len(), bad.len(), "{:?}", sink.errors);
    for (k, e) in sink.errors.iter().enumerate() {
        let text = e.to_string();
        let line = format!("line {}", 2 * k + 2);
        assert!(
            text.contains("mutated.json") && text.contains(&line),
            "{text} (want {line})"
        );
        assert!(!text.chars().any(|c| c.is_control()), "{text:?}");
    }
    // Every line read alone gives the same as the value path.
    let mut seen = Seen::default();
    for line in log.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        check(line, &mut seen);
    }
}
