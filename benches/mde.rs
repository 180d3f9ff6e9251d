//! Criterion benches of the Microsoft Defender for Endpoint source on its fixtures
//! (`tests/fixtures/mde/`, the seed's tests in every shape), each repeated to about
//! 8 MB:
//!
//! * `mde/streaming_lines`: Streaming API blob lines, read as a stream;
//! * `mde/hunting_api`: one-line hunting API answers (`Results` streamed row by row);
//! * `mde/portal_csv`: the portal's CSV export.
//!
//! `cargo bench --bench mde`. Throughput is in input bytes.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::event::Event;
use sighunt_core::input::InputError;
use sighunt_core::sources::EventSink;
use sighunt_core::sources::mde::read_mde;

/// Counts without keeping: the parser's cost without the collector.
#[derive(Default)]
struct Count(usize);

impl EventSink for Count {
    fn event(&mut self, event: Event) {
        self.0 += 1;
        black_box(event);
    }
    fn error(&mut self, e: InputError) {
        panic!("fixture error: {e}");
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/mde")
            .join(name),
    )
    .unwrap()
}

/// `unit` repeated to about 8 MB; for CSV the header is kept once.
fn repeated(unit: &[u8], csv: bool) -> Vec<u8> {
    let (head, body) = if csv {
        let end = unit.iter().position(|&b| b == b'\n').unwrap() + 1;
        (&unit[..end], &unit[end..])
    } else {
        (&unit[..0], unit)
    };
    let mut out = head.to_vec();
    while out.len() < 8 << 20 {
        out.extend_from_slice(body);
    }
    out
}

fn bench_mde(c: &mut Criterion) {
    let mut g = c.benchmark_group("mde");
    g.sample_size(20);
    for (name, file, csv) in [
        ("streaming_lines", "streaming-blob.jsonl", false),
        ("hunting_api", "hunting-api.json", false),
        ("portal_csv", "portal-export.csv", true),
    ] {
        let input: Arc<[u8]> = repeated(&fixture(file), csv).into();
        g.throughput(Throughput::Bytes(input.len() as u64));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut sink = Count::default();
                read_mde(
                    &Arc::from("bench"),
                    Box::new(Cursor::new(input.clone())),
                    &mut sink,
                );
                sink.0
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench_mde);
criterion_main!(benches);
