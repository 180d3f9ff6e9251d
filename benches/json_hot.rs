//! Criterion benches of the JSON hot path, per object, on the OTRF
//! Security-Datasets exports of the shared corpus (skipped, with a note, when
//! absent):
//!
//! * `json_hot/probe`: the relevance check (event id before any value tree: the
//!   validating skip-scanner, serde_json where it is unsure) over every line of
//!   both exports; `json_hot/probe_serde`: the same check with serde_json alone
//!   (the check before the scanner), for comparison;
//! * `json_hot/event_build`: for the lines the probe keeps, the Windows event as
//!   the source builds it (check, then the targeted build of flat objects);
//!   `json_hot/event_build_value_tree`: the same events through a
//!   `serde_json::Value` (the path before, still the one for other shapes);
//! * `json_hot/map`: those events mapped to sighunt events.
//!
//! `cargo bench --bench json_hot`.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::event::Position;
use sighunt_core::sources::CollectingSink;
use sighunt_core::sources::windows::{self, FORMAT_JSON, Mapper};

const EXPORTS: &[&str] = &[
    "OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json",
    "OTRF_Security-Datasets_empire_psremoting_stager_2020-09-20170827.json",
];

/// The non-blank lines of both exports, or `None` when the corpus is absent.
fn lines() -> Option<Vec<Vec<u8>>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/windows");
    let mut out = Vec::new();
    for name in EXPORTS {
        let Ok(text) = std::fs::read(dir.join(name)) else {
            eprintln!("skipped: {name} is absent from the shared corpus");
            return None;
        };
        out.extend(
            text.split(|&b| b == b'\n')
                .map(<[u8]>::trim_ascii)
                .filter(|l| !l.is_empty())
                .map(<[u8]>::to_vec),
        );
    }
    Some(out)
}

fn bench_json_hot(c: &mut Criterion) {
    let Some(all) = lines() else { return };
    let relevant: Vec<&Vec<u8>> = all
        .iter()
        .filter(|l| !windows::certainly_irrelevant(l))
        .collect();
    let mut g = c.benchmark_group("json_hot");
    g.sample_size(20);

    g.throughput(Throughput::Bytes(all.iter().map(|l| l.len() as u64).sum()));
    g.bench_function(format!("probe/{}_objects", all.len()), |b| {
        b.iter(|| {
            all.iter()
                .filter(|l| windows::certainly_irrelevant(black_box(l)))
                .count()
        })
    });

    g.bench_function(format!("probe_serde/{}_objects", all.len()), |b| {
        b.iter(|| {
            all.iter()
                .filter(|l| windows::certainly_irrelevant_by_serde(black_box(l)))
                .count()
        })
    });

    g.throughput(Throughput::Bytes(
        relevant.iter().map(|l| l.len() as u64).sum(),
    ));
    g.bench_function(format!("event_build/{}_relevant", relevant.len()), |b| {
        b.iter(|| {
            relevant
                .iter()
                .filter_map(|l| windows::win_event_from_json_bytes(black_box(l)).ok()?)
                .count()
        })
    });
    g.bench_function(
        format!("event_build_value_tree/{}_relevant", relevant.len()),
        |b| {
            b.iter(|| {
                relevant
                    .iter()
                    .filter_map(|l| serde_json::from_slice::<serde_json::Value>(black_box(l)).ok())
                    .filter_map(|v| windows::win_event_from_json(&v))
                    .count()
            })
        },
    );

    let events: Vec<_> = relevant
        .iter()
        .filter_map(|l| serde_json::from_slice::<serde_json::Value>(l).ok())
        .filter_map(|v| windows::win_event_from_json(&v))
        .collect();
    let name: Arc<str> = Arc::from("otrf.json");
    g.bench_function(format!("map/{}_events", events.len()), |b| {
        b.iter(|| {
            let mut mapper = Mapper::new(name.clone(), FORMAT_JSON);
            let mut sink = CollectingSink::default();
            for (i, ev) in events.iter().enumerate() {
                mapper.map(ev.clone(), Position::Line(i as u64 + 1), &mut sink);
            }
            mapper.finish(&mut sink);
            sink.events.len()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_json_hot);
criterion_main!(benches);
