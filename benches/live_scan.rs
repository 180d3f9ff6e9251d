//! A full `sighunt live` scan of a host with ~1,000 more processes than it had:
//! the budget is under 100 ms for 1,000 processes.
//!
//! Starts 1,000 `sleep` processes (a tenth of them ignoring HUP and INT, as a
//! nohup'ed job would, so that the full context of those is read too), measures
//! `LiveScanner::scan`, then a worst case where every one of them is a candidate,
//! and kills exactly the processes it started. Linux only.
//!
//! `cargo bench --bench live_scan` (set `SIGHUNT_BENCH_PROCS` to change the count).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use sighunt_core::live::{LiveOptions, LiveScanner};
use sighunt_core::rules::Rules;

/// Processes started by the bench, killed on drop (also when a bench panics).
struct Fleet(Vec<Child>);

impl Fleet {
    /// `n` sleeps; every `ignoring_every`-th one (0: none) ignores HUP and INT.
    fn start(n: usize, ignoring_every: usize) -> Fleet {
        let mut children = Vec::with_capacity(n);
        for i in 0..n {
            let mut cmd = Command::new("env");
            cmd.arg("--default-signal");
            if ignoring_every > 0 && i % ignoring_every == 0 {
                cmd.arg("--ignore-signal=HUP,INT");
            }
            cmd.args(["sleep", "600"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            match cmd.spawn() {
                Ok(c) => children.push(c),
                Err(e) => {
                    eprintln!("started {} of {n} processes: {e}", children.len());
                    break;
                }
            }
        }
        // Let every `env` exec its sleep, so what is measured is a steady host.
        std::thread::sleep(Duration::from_millis(500));
        Fleet(children)
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn bench(c: &mut Criterion) {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("no /proc: live_scan bench skipped");
        return;
    }
    let n: usize = std::env::var("SIGHUNT_BENCH_PROCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let rules = Rules::embedded();
    let mut group = c.benchmark_group("live_scan");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));

    for (label, every) in [("10pct_candidates", 10), ("all_candidates", 1)] {
        let fleet = Fleet::start(n, every);
        let mut scanner = LiveScanner::new(&rules, LiveOptions::default()).expect("scanner");
        let first = scanner.scan().expect("scan");
        eprintln!(
            "{label}: {} started, {} processes scanned, {} reported, one scan {} ms",
            fleet.0.len(),
            first.stats.processes,
            first.hits.len(),
            first.stats.elapsed.as_millis()
        );
        group.bench_function(format!("{n}_sleeps_{label}"), |b| {
            b.iter(|| scanner.scan().expect("scan"))
        });
        drop(fleet);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
