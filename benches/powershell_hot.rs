//! Criterion benches of the PowerShell detector per script event, on the script
//! events (4104 blocks, 4103 commands, 800 pipelines) of the OTRF Security-Datasets
//! exports of the shared corpus (skipped, with a note, when absent):
//!
//! * `powershell_hot/observe`: the detector judging every script event, as a hunt
//!   does (prefilters, then the analysis for the blocks they pass);
//! * `powershell_hot/prefilter`: `pwsh::may_suppress` alone on every judged text;
//! * `powershell_hot/analyze`: `pwsh::analyze` on every judged text, the cost the
//!   prefilter saves on the blocks it rejects.
//!
//! `cargo bench --bench powershell_hot`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::detectors::powershell::{PowerShellDetector, commands_from_4103};
use sighunt_core::detectors::{Detector, Findings};
use sighunt_core::event::Event;
use sighunt_core::input::{InputSpec, open};
use sighunt_core::rules::Rules;
use sighunt_core::sources::{CollectingSink, read_input};

const EXPORTS: &[&str] = &[
    "OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json",
    "OTRF_Security-Datasets_empire_psremoting_stager_2020-09-20170827.json",
];

/// The script events of both exports, or `None` when the corpus is absent.
fn script_events() -> Option<Vec<Event>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/windows");
    let mut out = Vec::new();
    for name in EXPORTS {
        let path: PathBuf = dir.join(name);
        let Ok(opened) = open(&InputSpec::File(path), None) else {
            eprintln!("skipped: {name} is absent from the shared corpus");
            return None;
        };
        let mut sink = CollectingSink::default();
        read_input(opened, &mut sink);
        out.extend(
            sink.events
                .into_iter()
                .filter(|e| matches!(e, Event::Script(_))),
        );
    }
    Some(out)
}

fn bench_powershell_hot(c: &mut Criterion) {
    let Some(events) = script_events() else {
        return;
    };
    let rules = Rules::embedded();
    let detector = PowerShellDetector::new(&rules).expect("embedded rules");
    let texts: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Script(s) if s.event_id == 4103 => Some(commands_from_4103(&s.text, &[])),
            Event::Script(s) => Some(s.text.clone()),
            _ => None,
        })
        .collect();
    let bytes: u64 = texts.iter().map(|t| t.len() as u64).sum();
    let mut g = c.benchmark_group("powershell_hot");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));

    g.bench_function(format!("observe/{}_script_events", events.len()), |b| {
        b.iter_batched(
            || detector.clone(),
            |mut d| {
                let mut out = Findings::default();
                for e in &events {
                    d.observe(black_box(e), &mut out);
                }
                out.len()
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_function(format!("prefilter/{}_texts", texts.len()), |b| {
        b.iter(|| {
            texts
                .iter()
                .filter(|t| sighunt_core::pwsh::may_suppress(black_box(t)))
                .count()
        })
    });
    g.bench_function(format!("analyze/{}_texts", texts.len()), |b| {
        b.iter(|| {
            texts
                .iter()
                .map(|t| sighunt_core::pwsh::analyze(black_box(t), 4).commands.len())
                .sum::<usize>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_powershell_hot);
criterion_main!(benches);
