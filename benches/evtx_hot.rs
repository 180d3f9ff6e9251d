//! Criterion micro-benchmark of the EVTX event build on a real Sysmon log of the
//! shared corpus (skipped, with a note, when it is absent): every record of every
//! chunk built into a Windows event
//!
//! * `evtx_hot/direct`: the hunt's path: the chunk's records walked without the
//!   crate, each built from its compiled template definition and values read here
//!   (records the reader hands back: the crate, as below);
//! * `evtx_hot/direct_relevant`: the same with the hunt's event-id check, which
//!   skips irrelevant records before decoding anything;
//! * `evtx_hot/template`: the crate parses the chunk and builds every record (its
//!   iterator always does), the event built from the template and the crate's
//!   values (the path before the direct read);
//! * `evtx_hot/xml_round_trip`: rendered to XML by the evtx crate and parsed back
//!   (the last fallback, and the path before the template reader);
//! * `evtx_hot/file_to_events`: the hunt's source end to end on the file (the
//!   chunk loop reading the file, the id check, the build, and the mapping into
//!   sighunt events: process starts with their argv split, script blocks), what a
//!   hunt does before its detectors.
//!
//! Chunks are in memory for the first four; each iteration starts from their bytes,
//! as the hunt does.
//! `cargo bench --bench evtx_hot`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use evtx::{EvtxChunkData, EvtxParser, ParserSettings};
use sighunt_core::event::Event;
use sighunt_core::input::{InputError, Payload};
use sighunt_core::sources::EventSink;
use sighunt_core::sources::windows::{
    RecordRead, TemplateReader, build_evtx_event, evtx_chunk_records, is_relevant_event_id,
    parse_event_xml, read_evtx,
};

const SYSMON: &str = "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx";

fn sysmon_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/corpus/windows")
        .join(SYSMON)
}

fn chunks() -> Option<Vec<Vec<u8>>> {
    let path = sysmon_path();
    if !path.exists() {
        eprintln!("skipped: {} is absent", path.display());
        return None;
    }
    let mut parser = EvtxParser::from_path(&path).unwrap();
    Some(parser.chunks().map(|c| c.unwrap().data).collect())
}

/// Fields built over all records (so that nothing is optimized away).
fn build_all(chunks: &[Vec<u8>], template: bool) -> usize {
    let settings = Arc::new(ParserSettings::new().indent(false));
    let mut reader = TemplateReader::default();
    let mut fields = 0;
    for bytes in chunks {
        let mut data = EvtxChunkData::new(bytes.clone(), false).unwrap();
        let mut chunk = data.parse(settings.clone()).unwrap();
        reader.new_chunk();
        for record in chunk.iter().flatten() {
            let built = if template {
                build_evtx_event(&mut reader, &record)
            } else {
                None
            };
            let ev = match built {
                Some(ev) => ev,
                None => parse_event_xml(record.into_xml().unwrap().data.as_bytes()).unwrap(),
            };
            fields += ev.data.len();
        }
    }
    fields
}

/// Fields built over all records read directly (`relevant`: the hunt's id check),
/// the crate for what the reader hands back.
fn direct_all(chunks: &[Vec<u8>], relevant: fn(u32) -> bool) -> usize {
    let settings = Arc::new(ParserSettings::new().indent(false));
    let mut reader = TemplateReader::default();
    let mut fields = 0;
    for bytes in chunks {
        let mut data = EvtxChunkData::new(bytes.clone(), false).unwrap();
        reader.new_chunk();
        let records = evtx_chunk_records(&data).unwrap();
        let mut done = 0;
        for r in &records {
            match reader.read_record(&data.data, r.binxml.clone(), relevant) {
                RecordRead::Event(ev) => fields += ev.data.len(),
                RecordRead::Skipped => {}
                RecordRead::Crate => break,
            }
            done += 1;
        }
        if done < records.len() {
            let mut chunk = data.parse(settings.clone()).unwrap();
            for record in chunk.iter().skip(done).flatten() {
                let ev = build_evtx_event(&mut reader, &record).unwrap_or_else(|| {
                    parse_event_xml(record.into_xml().unwrap().data.as_bytes()).unwrap()
                });
                fields += ev.data.len();
            }
        }
    }
    fields
}

/// Counts what a source hands over (events by kind, argv words, errors).
#[derive(Default)]
struct Counting {
    events: usize,
    words: usize,
    errors: usize,
}

impl EventSink for Counting {
    fn event(&mut self, event: Event) {
        self.events += 1;
        if let Event::Process(p) = &event {
            self.words += p.argv.len();
        }
    }
    fn error(&mut self, _: InputError) {
        self.errors += 1;
    }
}

/// The file read as the hunt reads it, into sighunt events: (events, argv words).
fn file_to_events(path: &Path) -> (usize, usize) {
    let mut sink = Counting::default();
    let file = std::fs::File::open(path).unwrap();
    read_evtx(&Arc::from("bench.evtx"), Payload::File(file), &mut sink);
    assert_eq!(sink.errors, 0);
    (sink.events, sink.words)
}

fn bench_event_build(c: &mut Criterion) {
    let Some(chunks) = chunks() else { return };
    assert_eq!(build_all(&chunks, true), build_all(&chunks, false));
    assert_eq!(direct_all(&chunks, |_| true), build_all(&chunks, false));
    let mut g = c.benchmark_group("evtx_hot");
    g.sample_size(10);
    g.throughput(Throughput::Bytes((chunks.len() * 65536) as u64));
    g.bench_function("direct", |b| {
        b.iter(|| black_box(direct_all(&chunks, |_| true)))
    });
    g.bench_function("direct_relevant", |b| {
        b.iter(|| black_box(direct_all(&chunks, is_relevant_event_id)))
    });
    g.bench_function("template", |b| {
        b.iter(|| black_box(build_all(&chunks, true)))
    });
    g.bench_function("xml_round_trip", |b| {
        b.iter(|| black_box(build_all(&chunks, false)))
    });
    let path = sysmon_path();
    assert!(file_to_events(&path).0 > 0);
    g.bench_function("file_to_events", |b| {
        b.iter(|| black_box(file_to_events(&path)))
    });
    g.finish();
}

criterion_group!(benches, bench_event_build);
criterion_main!(benches);
