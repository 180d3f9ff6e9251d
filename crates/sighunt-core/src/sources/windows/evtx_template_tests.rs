//! The template reader against the evtx crate's own XML rendering (parsed back by
//! sighunt's XML parser), on every record of every EVTX file of the shared corpus.

use std::path::PathBuf;
use std::sync::Arc;

use evtx::{EvtxChunkData, EvtxParser, ParserSettings};

use super::super::evtx::{build_evtx_event, standard_event_id};
use super::super::evtx_records::chunk_records;
use super::super::map::is_relevant_event_id;
use super::super::parse_event_xml;
use super::*;

/// Every `.evtx` under ../shared/corpus; empty (with a note) when it is absent, a
/// failure then under CI=true.
fn corpus_evtx() -> Vec<PathBuf> {
    let root = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    let mut found = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("evtx"))
            {
                found.push(p);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no EVTX file under {} (CI=true)",
            root.display()
        );
        eprintln!("SKIP: no EVTX file under {}", root.display());
    }
    found
}

/// Counts of the ways records were built, over the chunks compared.
#[derive(Debug, Default)]
struct Counts {
    /// Read from the chunk, built from the compiled definition or the walk.
    direct: usize,
    /// Read from the chunk and built by the element walk alone.
    walked: usize,
    /// Left to the crate by the direct read (then: walk over the crate's values,
    /// or the XML round trip).
    to_crate: usize,
    /// Built by the walk from the crate's values.
    crate_template: usize,
    /// Only the XML round trip could build it.
    round_trip: usize,
    /// Skipped by the direct read for their event id.
    skipped: usize,
    /// Built directly with a string array repeating its element (the compiled
    /// definitions only: the walk hands those back).
    arrays: usize,
}

/// Whether the record at `binxml` holds a string array value (in its own instance
/// or the one nested in a value).
fn holds_string_array(chunk: &[u8], binxml: std::ops::Range<usize>) -> bool {
    let instance_types = |start: usize, end: usize| -> Vec<u8> {
        let mut c = Cursor {
            data: chunk,
            pos: start + 5,
            end,
        };
        read_instance_raw(&mut c)
            .map(|i| i.descriptors.chunks_exact(4).map(|d| d[2]).collect())
            .unwrap_or_default()
    };
    let mut c = Cursor {
        data: chunk,
        pos: binxml.start + 5,
        end: binxml.end,
    };
    let Ok(instance) = read_instance_raw(&mut c) else {
        return false;
    };
    let Some(values) = instance.values() else {
        return false;
    };
    values.iter().any(|v| match v {
        Value::StringArray(_) => true,
        Value::Crate(BinXmlValue::BinXmlType(bytes)) => {
            let start = bytes.as_ptr() as usize - chunk.as_ptr() as usize;
            instance_types(start, start + bytes.len()).contains(&0x81)
        }
        _ => false,
    })
}

/// Every record of `chunks` built every way there is and compared with the XML
/// round trip (the evtx crate's renderer, parsed back): the direct read (compiled
/// definitions, the element walk), the walk alone, the walk over the crate's
/// values; the direct walk of the chunk's records against the crate's iterator;
/// the direct id check against the crate-value one.
fn compare_chunks(label: &str, chunks: &mut dyn Iterator<Item = EvtxChunkData>) -> Counts {
    let mut n = Counts::default();
    let (mut direct, mut walk_only, mut from_crate) = (
        TemplateReader::default(),
        TemplateReader {
            compiled: false,
            ..TemplateReader::default()
        },
        TemplateReader::default(),
    );
    for mut data in chunks {
        let walked = chunk_records(&data);
        let Ok(mut chunk) = data.parse(Arc::new(ParserSettings::new().indent(false))) else {
            continue;
        };
        for reader in [&mut direct, &mut walk_only, &mut from_crate] {
            reader.new_chunk();
        }
        let mut seen = Vec::new();
        for record in chunk.iter().flatten() {
            let id = record.event_record_id;
            let start = record.binxml_offset as usize;
            let binxml = start..start + record.binxml_size as usize;
            seen.push((id, binxml.clone()));
            let rendered = record
                .clone()
                .into_xml()
                .map_err(|e| e.to_string())
                .and_then(|r| parse_event_xml(r.data.as_bytes()));
            let mut built_direct = false;
            match direct.read_record(record.chunk.data, binxml.clone(), |_| true) {
                RecordRead::Event(ev) => {
                    built_direct = true;
                    n.direct += 1;
                    assert_eq!(Ok(ev), rendered, "{label}: record {id} (direct)");
                }
                RecordRead::Crate => n.to_crate += 1,
                RecordRead::Skipped => panic!("{label}: record {id} skipped with no id refused"),
            }
            match walk_only.read_record(record.chunk.data, binxml.clone(), |_| true) {
                RecordRead::Event(ev) => {
                    n.walked += 1;
                    assert_eq!(Ok(ev), rendered, "{label}: record {id} (walk)");
                }
                RecordRead::Crate | RecordRead::Skipped => {
                    n.arrays += usize::from(
                        built_direct && holds_string_array(record.chunk.data, binxml.clone()),
                    );
                }
            }
            // The id check before anything is built: as the crate's values say.
            let mut probe = TemplateReader::default();
            let skipped = matches!(
                probe.read_record(record.chunk.data, binxml, is_relevant_event_id),
                RecordRead::Skipped
            );
            let refused = standard_event_id(&record).is_some_and(|id| !is_relevant_event_id(id));
            assert_eq!(skipped, refused, "{label}: record {id} (id check)");
            n.skipped += usize::from(skipped);
            match build_evtx_event(&mut from_crate, &record) {
                Some(ev) => {
                    n.crate_template += 1;
                    assert_eq!(Ok(ev), rendered, "{label}: record {id} (crate values)");
                }
                None => n.round_trip += 1,
            }
        }
        // The direct walk of the records: the crate's, record for record.
        let walked = walked.expect("an undamaged chunk's record headers read");
        let walked: Vec<_> = walked
            .into_iter()
            .map(|r| (r.event_record_id, r.binxml))
            .collect();
        assert_eq!(walked, seen, "{label}: record walk");
    }
    n
}

#[test]
fn every_corpus_record_builds_as_its_xml_does() {
    let mut total = Counts::default();
    for path in corpus_evtx() {
        let label = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut parser = EvtxParser::from_path(&path).unwrap();
        let mut chunks = parser.chunks().flatten();
        let n = compare_chunks(&label, &mut chunks);
        eprintln!("{label}: {n:?}");
        assert!(n.direct > 0, "{label}: no record took the direct path");
        assert_eq!(
            n.walked + n.arrays,
            n.direct,
            "{label}: the walk alone built fewer, other than string arrays"
        );
        total.direct += n.direct;
        total.to_crate += n.to_crate;
        total.crate_template += n.crate_template;
        total.round_trip += n.round_trip;
        total.skipped += n.skipped;
        total.arrays += n.arrays;
    }
    // The classic 800 events hold their three texts as one string array.
    assert!(
        total.arrays > 0,
        "no record with a string array read directly: {total:?}"
    );
    eprintln!("corpus: {total:?}");
    // Windows' own logs are plain templates: the crate and the round trip stay the
    // exception.
    assert!(
        total.to_crate * 20 <= total.direct + total.to_crate,
        "{total:?}"
    );
    assert!(
        total.round_trip * 20 <= total.crate_template + total.round_trip,
        "{total:?}"
    );
}

/// A deterministic byte stream (xorshift) for the damage test.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn damaged_chunks_build_or_fall_back_without_panicking() {
    let Some(path) = corpus_evtx().into_iter().next() else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let Some(first) = bytes.get(4096..4096 + 65536) else {
        return;
    };
    let mut state = 0x9e37_79b9_7f4a_7c15;
    let mut built = 0;
    for round in 0..200 {
        let mut chunk = first.to_vec();
        // Flip bytes past the chunk header (template definitions, names, records).
        for _ in 0..1 + round % 16 {
            let at = 512 + (xorshift(&mut state) as usize) % (chunk.len() - 512);
            chunk[at] ^= (xorshift(&mut state) as u8) | 1;
        }
        let Ok(mut data) = EvtxChunkData::new(chunk, false) else {
            continue;
        };
        let Ok(mut parsed) = data.parse(Arc::new(ParserSettings::new().indent(false))) else {
            continue;
        };
        let mut reader = TemplateReader::default();
        for record in parsed.iter().flatten() {
            if build_evtx_event(&mut reader, &record).is_some() {
                built += 1;
            }
        }
    }
    assert!(built > 0, "no damaged chunk kept a buildable record");
}

#[test]
fn truncated_and_garbled_definitions_are_refused() {
    // A hand-made definition: <Event><System><EventID>%0</EventID></System></Event>,
    // names in place.
    fn name(out: &mut Vec<u8>, s: &str) {
        let at = out.len() as u32 + 4;
        out.extend_from_slice(&at.to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&(s.len() as u16).to_le_bytes());
        for u in s.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out.extend_from_slice(&[0, 0]);
    }
    fn element(out: &mut Vec<u8>, s: &str) {
        out.push(0x01);
        out.extend_from_slice(&0xffffu16.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        name(out, s);
        out.push(0x02);
    }
    let mut chunk = vec![0u8; 24];
    let header = chunk.len();
    chunk.extend_from_slice(&[0x0f, 1, 1, 0]);
    element(&mut chunk, "Event");
    element(&mut chunk, "System");
    element(&mut chunk, "EventID");
    chunk.extend_from_slice(&[0x0d, 0, 0, 0x06]);
    chunk.extend_from_slice(&[0x04, 0x04, 0x04, 0x00]);
    let size = (chunk.len() - header) as u32;
    chunk[20..24].copy_from_slice(&size.to_le_bytes());
    let values = [BinXmlValue::UInt16Type(4688)];
    let mut reader = TemplateReader::default();
    let ev = reader
        .build(&chunk, 0, &values)
        .expect("a plain definition");
    assert_eq!(ev.event_id, Some(4688));
    // Every cut of it is refused, never read past.
    for cut in 0..chunk.len() {
        let mut short = chunk[..cut].to_vec();
        if cut >= 24 {
            let size = (cut - header) as u32;
            short[20..24].copy_from_slice(&size.to_le_bytes());
        }
        reader.new_chunk();
        assert_eq!(reader.build(&short, 0, &values), None, "cut at {cut}");
    }
    // A size past the chunk, a CDATA token, a root other than Event: refused.
    for (at, byte) in [(23, 0x7f), (header + 4, 0x07)] {
        let mut bad = chunk.clone();
        bad[at] = byte;
        reader.new_chunk();
        assert_eq!(reader.build(&bad, 0, &values), None, "byte {at}");
    }
    let mut other = chunk.clone();
    let e = other.iter().position(|&b| b == b'E').unwrap();
    other[e] = b'X';
    reader.new_chunk();
    assert_eq!(reader.build(&other, 0, &values), None);
    // Values it cannot write as the renderer does: refused too.
    reader.new_chunk();
    assert_eq!(reader.build(&chunk, 0, &[BinXmlValue::SizeTType(1)]), None);
}

/// A record whose walk would pass the budget takes the round trip: the same chunk
/// builds with the default budget and falls back whole with a tiny one (the bound
/// that stops a crafted record of nested instances from costing exponential work).
#[test]
fn records_over_the_walk_budget_fall_back() {
    let Some(path) = corpus_evtx().into_iter().next() else {
        return;
    };
    let mut parser = EvtxParser::from_path(&path).unwrap();
    let mut data = parser.chunks().flatten().next().unwrap();
    let mut count = |reader: &mut TemplateReader| {
        let mut chunk = data
            .parse(Arc::new(ParserSettings::new().indent(false)))
            .unwrap();
        reader.new_chunk();
        chunk
            .iter()
            .flatten()
            .filter(|r| build_evtx_event(reader, r).is_some())
            .count()
    };
    let roomy = count(&mut TemplateReader::default());
    assert!(roomy > 0, "{}: nothing built", path.display());
    let few_nodes = TemplateReader {
        walk_nodes: 3,
        ..TemplateReader::default()
    };
    let few_bytes = TemplateReader {
        walk_bytes: 8,
        ..TemplateReader::default()
    };
    for mut tight in [few_nodes, few_bytes] {
        assert_eq!(count(&mut tight), 0, "{}", path.display());
    }
}

/// The hand-written writers against the standard library's formatting and
/// replacing, on edge values.
#[test]
fn value_writers_agree_with_std() {
    for v in [0u64, 1, 9, 10, 99, 4688, u64::from(u32::MAX), u64::MAX] {
        let (mut dec, mut hex) = (String::new(), String::new());
        push_decimal(&mut dec, v);
        push_hex(&mut hex, v);
        assert_eq!(dec, v.to_string());
        assert_eq!(hex, format!("0x{v:x}"));
    }
    for v in [0i64, -1, 1, i64::MIN, i64::MAX, -4688] {
        let mut dec = String::new();
        push_signed(&mut dec, v);
        assert_eq!(dec, v.to_string());
    }
    for text in [
        "",
        "a",
        "\r",
        "\r\n",
        "\n\r",
        "a\r\r\nb\rc\n",
        "\r\r",
        "é\r\nü",
    ] {
        assert_eq!(
            unix_line_ends(text),
            text.replace("\r\n", "\n").replace('\r', "\n"),
            "{text:?}"
        );
    }
    // UTF-16: ASCII runs longer than the copy buffer, controls, a lone surrogate.
    let long: String = "x\tyz\r\n".repeat(40) + "é" + &"w".repeat(70);
    for text in [long.as_str(), "", "plain", "a\u{1}b", "\u{fffe}"] {
        let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut out = String::new();
        push_utf16(&mut out, &bytes);
        let want: String = text.chars().map(xml_char).collect();
        assert_eq!(out, want, "{text:?}");
    }
    let mut out = String::from("k=");
    push_utf16(&mut out, &[0x41, 0, 0x00, 0xd8, 0x42, 0]);
    assert_eq!(out, "k=A_B");
    // Random units around the four-at-a-time test's edges (0x1f/0x20, 0x7f/0x80,
    // a high byte, tab and line ends, surrogates, U+FFFE), at every alignment, held
    // to decoding unit by unit.
    const UNITS: [u16; 14] = [
        0x1f, 0x20, 0x41, 0x7e, 0x7f, 0x80, 0x09, 0x0a, 0x0d, 0x00, 0x100, 0xd800, 0xdc00, 0xfffe,
    ];
    let mut state = 0x2545_f491_4f6c_dd1d;
    for _ in 0..5_000 {
        let len = (xorshift(&mut state) % 300) as usize;
        let plain = xorshift(&mut state) % 4 != 0;
        let units: Vec<u16> = (0..len)
            .map(|_| match xorshift(&mut state) % 16 {
                n if plain && n < 14 => 0x61,
                _ => UNITS[(xorshift(&mut state) % 14) as usize],
            })
            .collect();
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let mut out = String::new();
        push_utf16(&mut out, &bytes);
        let want: String = char::decode_utf16(units.iter().copied())
            .map(|c| c.map_or('_', xml_char))
            .collect();
        assert_eq!(out, want, "{units:x?}");
        // The NUL search four units at a time, against unit by unit.
        assert_eq!(
            first_nul_unit(&bytes),
            bytes.chunks_exact(2).position(|u| u == [0, 0]),
            "{units:x?}"
        );
    }
    // String arrays: only what the renderer repeats the element for, read the same.
    let utf16 = |units: &[u16]| -> Vec<u8> { units.iter().flat_map(|u| u.to_le_bytes()).collect() };
    let ab = utf16(&[0x61, 0, 0x62, 0x63, 0]);
    assert_eq!(
        string_array_items(&ab),
        Some(vec![&ab[..2], &ab[4..8]]),
        "two items"
    );
    for (units, why) in [
        (&[0x61, 0][..], "one item"),
        (&[], "empty"),
        (&[0x61, 0, 0, 0x62, 0], "an empty item"),
        (&[0x61, 0, 0x62], "the last without its NUL"),
    ] {
        assert_eq!(string_array_items(&utf16(units)), None, "{why}");
    }
    assert_eq!(
        string_array_items(&[0x61, 0, 0, 0, 0x62]),
        None,
        "odd length"
    );
    for units in [
        &[1u16, 0x100, 0x8000, 0xffff, 0][..],
        &[0x100; 9],
        &[0x8000, 0x0001, 0],
    ] {
        let bytes: Vec<u8> = units.iter().flat_map(|u| u.to_le_bytes()).collect();
        let want = bytes.chunks_exact(2).position(|u| u == [0, 0]);
        assert_eq!(first_nul_unit(&bytes), want, "{units:x?}");
    }
}
