//! Criterion benches of the auditd source's per-line hot loops, on lines of the
//! shape the kernel writes (`type=T msg=audit(ssssssssss.mmm:serial): …`), as in a
//! busy host's raw `audit.log` (and `bench/gen`'s corpus):
//!
//! * `auditd_hot/stamp`: the `(time:serial)` stamp alone;
//! * `auditd_hot/header`: type, host and stamp of every line, with the parser's type
//!   filter (what every line costs before its fate is known);
//! * `auditd_hot/syscall_fields`: the `key=value` split of an exec `SYSCALL` body;
//! * `auditd_hot/syscall_fixed_order`, `auditd_hot/syscall_general`: the fields
//!   sighunt keeps of an exec `SYSCALL` record, read by position in the kernel's
//!   order, and by the general name lookup (the fallback and the tests' oracle);
//! * `auditd_hot/hex_args`: decoding hex-encoded `EXECVE` arguments;
//! * `auditd_hot/events`: the whole parser, lines to events, on whole exec events
//!   (`SYSCALL`, `EXECVE`, `CWD`, `PATH`, `PROCTITLE`, `EOE` of one serial) among
//!   non-exec syscalls: header, type filter, fields, argument assembly and the
//!   `ProcessStart` built for each exec; `auditd_hot/events_lent` the same with
//!   each event lent to a sink that leaves it, as the engine does, so the parser
//!   reuses its buffers (the difference is the allocation per event);
//! * `auditd_hot/word_prefilter_nohup`, `auditd_hot/word_prefilter_signal`: the
//!   argv word test the nohup and signal-mask detectors run on every exec before
//!   any command analysis (one-byte needles and needle pairs, then the automaton);
//! * `auditd_hot/process_table`: the correlation's bounded map at the process
//!   table's size (32k entries, full), written on every exec: inserts that evict,
//!   replacements, removals, lookups and expiries (throughput in operations).
//!
//! `cargo bench --bench auditd_hot`. Throughput is in input bytes.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sighunt_core::command::WordPrefilter;
use sighunt_core::event::{Event, Platform, Position, ProcessStart, Provenance};
use sighunt_core::sources::auditd;
use sighunt_core::sources::{CollectingSink, LineParser};

/// The record types the parser reads (the rest are refused from their type).
fn wanted(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"SYSCALL" | b"EXECVE" | b"CWD" | b"PATH" | b"PROCTITLE" | b"SOCKADDR" | b"EOE"
    )
}

/// The `msg=audit(…)` stamp of the `i`th event: a distinct time and serial each.
fn stamp(i: usize) -> String {
    format!(
        "msg=audit(1795000{:03}.{:03}:{}):",
        i / 1000 % 1000,
        i % 1000,
        1000 + i
    )
}

/// Lines in the kernel's shape and a busy host's mix: mostly non-exec syscalls,
/// their CWD/PATH/PROCTITLE, execs with quoted and hex arguments, and records of
/// types the parser never reads.
fn kernel_lines(n: usize) -> Vec<Vec<u8>> {
    let mut lines = Vec::with_capacity(n);
    for i in 0..n {
        let stamp = stamp(i);
        let line = match i % 8 {
            0 | 1 => format!(
                "type=SYSCALL {stamp} arch=c000003e syscall=257 success=yes exit=5 a0=5500270c3656 a1=7ffe167012f9 a2=656 a3=0 items=1 ppid=1 pid={} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"sshd\" exe=\"/usr/sbin/sshd\" subj=unconfined key=(null)",
                18000 + i % 5000
            ),
            2 => format!("type=CWD {stamp} cwd=\"/\""),
            3 => format!(
                "type=PATH {stamp} item=0 name=\"/var/lib/chmod/state.39\" inode=401009 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
            ),
            4 => format!(
                "type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 a0=5500b84fc8ee a1=7ffec3dfdfd3 a2=8ee a3=0 items=2 ppid=56245 pid={} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"curl\" exe=\"/usr/bin/curl\" subj=unconfined key=(null)",
                1000 + i % 60000
            ),
            5 => format!(
                "type=EXECVE {stamp} argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=6563686F206E6F687570206973206120636F6D6D616E64"
            ),
            6 => format!(
                "type=PROCTITLE {stamp} proctitle=2F62696E2F7368002D63006563686F206E6F68757020697320612063"
            ),
            _ => format!(
                "type=BPRM_FCAPS {stamp} fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0"
            ),
        };
        lines.push(line.into_bytes());
    }
    lines
}

fn bytes(lines: &[Vec<u8>]) -> u64 {
    lines.iter().map(|l| l.len() as u64 + 1).sum()
}

fn bench_header(c: &mut Criterion) {
    let lines = kernel_lines(4096);
    let mut g = c.benchmark_group("auditd_hot");
    // The stamps alone: what follows `msg=audit(` on each line.
    let stamps: Vec<&[u8]> = lines
        .iter()
        .map(|l| {
            let at = memchr::memmem::find(l, b"audit(").expect("every line has a stamp");
            &l[at + 6..]
        })
        .collect();
    g.throughput(Throughput::Bytes(
        stamps
            .iter()
            .map(|s| {
                s.iter()
                    .position(|&b| b == b')')
                    .map_or(0, |p| p as u64 + 1)
            })
            .sum(),
    ));
    g.bench_function("stamp", |b| {
        b.iter(|| {
            stamps
                .iter()
                .filter_map(|s| auditd::parse_stamp(black_box(s)))
                .fold(0u64, |acc, (ms, serial, _)| acc ^ ms as u64 ^ serial)
        })
    });
    g.throughput(Throughput::Bytes(bytes(&lines)));
    g.bench_function("header", |b| {
        b.iter(|| {
            lines
                .iter()
                .filter_map(|l| auditd::parse_header_if(black_box(l), wanted).ok())
                .fold(0u64, |acc, h| acc ^ h.serial ^ h.kind.len() as u64)
        })
    });
    g.finish();
}

fn bench_fields_and_hex(c: &mut Criterion) {
    let lines = kernel_lines(4096);
    let records: Vec<auditd::Record<'_>> = lines
        .iter()
        .filter_map(|l| auditd::parse_record(l))
        .collect();
    let exec_syscalls: Vec<&[u8]> = records
        .iter()
        .filter(|r| r.kind == b"SYSCALL" && r.body.starts_with(b"arch=c000003e syscall=59 "))
        .map(|r| r.body)
        .collect();
    assert!(!exec_syscalls.is_empty(), "the mix has exec SYSCALLs");
    let mut g = c.benchmark_group("auditd_hot");
    g.throughput(Throughput::Bytes(
        exec_syscalls.iter().map(|b| b.len() as u64).sum(),
    ));
    g.bench_function("syscall_fields", |b| {
        b.iter(|| {
            exec_syscalls
                .iter()
                .map(|body| auditd::fields(black_box(body)).count())
                .sum::<usize>()
        })
    });
    // The SYSCALL reader proper (fields sighunt keeps, strings built): by position
    // in the kernel's order, and by the general name lookup it falls back to.
    let exec_records: Vec<&auditd::Record<'_>> = records
        .iter()
        .filter(|r| r.kind == b"SYSCALL" && r.body.starts_with(b"arch=c000003e syscall=59 "))
        .collect();
    for (name, fixed_order) in [("syscall_fixed_order", true), ("syscall_general", false)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                exec_records
                    .iter()
                    .map(|r| auditd::syscall_digest(black_box(r), fixed_order))
                    .fold(0u64, |acc, d| acc ^ d)
            })
        });
    }
    // Every bare hex value of the EXECVE and PROCTITLE records.
    let hex: Vec<&[u8]> = records
        .iter()
        .filter(|r| matches!(r.kind, b"EXECVE" | b"PROCTITLE"))
        .flat_map(|r| auditd::fields(r.body).map(|(_, v)| v))
        .filter_map(|v| match v {
            auditd::Value::Bare(b) if b.len() >= 8 && auditd::decode_hex(b).is_some() => Some(b),
            _ => None,
        })
        .collect();
    assert!(!hex.is_empty(), "the mix has hex arguments");
    g.throughput(Throughput::Bytes(hex.iter().map(|h| h.len() as u64).sum()));
    g.bench_function("hex_args", |b| {
        b.iter(|| {
            hex.iter()
                .map(|h| auditd::decode_hex(black_box(h)).map_or(0, |d| d.len()))
                .sum::<usize>()
        })
    });
    g.finish();
}

/// Whole events as the kernel logs them: one exec (quoted and hex arguments) in
/// four events, the others non-exec syscalls with their CWD and PATH.
fn event_lines(events: usize) -> Vec<Vec<u8>> {
    let mut lines = Vec::new();
    for i in 0..events {
        let stamp = stamp(i);
        let pid = 1000 + i % 60000;
        if i % 4 == 0 {
            lines.push(format!(
                "type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 a0=5500b84fc8ee a1=7ffec3dfdfd3 a2=8ee a3=0 items=2 ppid=56245 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"sh\" exe=\"/usr/bin/dash\" subj=unconfined key=(null)"
            ));
            lines.push(format!(
                "type=EXECVE {stamp} argc=3 a0=\"/bin/sh\" a1=\"-c\" a2=6563686F206E6F687570206973206120636F6D6D616E64"
            ));
            lines.push(format!("type=CWD {stamp} cwd=\"/root\""));
            lines.push(format!(
                "type=PATH {stamp} item=0 name=\"/bin/sh\" inode=401009 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
            ));
            lines.push(format!(
                "type=PROCTITLE {stamp} proctitle=2F62696E2F7368002D63006563686F206E6F68757020697320612063"
            ));
        } else {
            lines.push(format!(
                "type=SYSCALL {stamp} arch=c000003e syscall=257 success=yes exit=5 a0=5500270c3656 a1=7ffe167012f9 a2=656 a3=0 items=1 ppid=1 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"sshd\" exe=\"/usr/sbin/sshd\" subj=unconfined key=(null)"
            ));
            lines.push(format!("type=CWD {stamp} cwd=\"/\""));
            lines.push(format!(
                "type=PATH {stamp} item=0 name=\"/etc/ssh/moduli\" inode=401009 dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
            ));
            lines.push(format!(
                "type=PROCTITLE {stamp} proctitle=2F7573722F7362696E2F73736864"
            ));
        }
        lines.push(format!("type=EOE {stamp}"));
    }
    lines.into_iter().map(String::into_bytes).collect()
}

fn bench_events(c: &mut Criterion) {
    let lines = event_lines(2048);
    let mut g = c.benchmark_group("auditd_hot");
    g.throughput(Throughput::Bytes(bytes(&lines)));
    g.bench_function("events", |b| {
        b.iter(|| {
            let mut parser = auditd::AuditParser::new("bench.log".into());
            let mut sink = CollectingSink::default();
            for (no, line) in lines.iter().enumerate() {
                parser.line(black_box(line), no as u64 + 1, &mut sink);
            }
            parser.finish(&mut sink);
            assert_eq!(sink.events.len(), 512, "one event per exec");
            sink.events.len()
        })
    });
    // As the engine takes them: each event looked at where it lies and left, so
    // the parser reuses its buffers (no allocation per event once warm).
    g.bench_function("events_lent", |b| {
        let mut parser = auditd::AuditParser::new("bench.log".into());
        b.iter(|| {
            let mut sink = LookingSink::default();
            for (no, line) in lines.iter().enumerate() {
                parser.line(black_box(line), no as u64 + 1, &mut sink);
            }
            parser.finish(&mut sink);
            assert_eq!(sink.execs, 512, "one event per exec");
            sink.execs
        })
    });
    g.finish();
}

/// Counts the execs it is lent and leaves them, like the engine.
#[derive(Default)]
struct LookingSink {
    execs: usize,
}

impl sighunt_core::sources::EventSink for LookingSink {
    fn event(&mut self, event: Event) {
        self.execs += usize::from(matches!(event, Event::Process(_)));
    }
    fn error(&mut self, _: sighunt_core::input::InputError) {}
    fn lend(&mut self, slot: &mut Option<Event>) {
        self.execs += usize::from(matches!(slot, Some(Event::Process(_))));
    }
}

/// The word prefilter the nohup and signal-mask detectors run on every exec's argv
/// before any command analysis: what each exec costs them when it concerns neither.
fn bench_word_prefilter(c: &mut Criterion) {
    let argvs: Vec<Vec<String>> = [
        &[
            "/usr/bin/curl",
            "-s",
            "-o",
            "/dev/null",
            "http://10.0.0.5:8080/health",
        ][..],
        &["ls", "-la", "/var/log"],
        &["/usr/bin/python3", "/opt/app/manage.py", "runserver"],
        &["git", "rev-parse", "--abbrev-ref", "HEAD"],
        &["/bin/sh", "-c", "echo nohup is a command"],
        &["systemctl", "status", "cron.service", "--no-pager"],
        &["tar", "-czf", "/backup/etc.tar.gz", "/etc"],
        &["nohup", "/tmp/.x/agent", "--port", "4444"],
    ]
    .iter()
    .cycle()
    .take(512)
    .map(|a| a.iter().map(|w| w.to_string()).collect())
    .collect();
    let execs: Vec<ProcessStart> = argvs
        .into_iter()
        .map(|argv| {
            let mut p = ProcessStart::new(
                Platform::Unix,
                Provenance {
                    path: "bench.log".into(),
                    position: Position::Line(1),
                    format: "auditd",
                },
            );
            p.command_line = sighunt_core::command::join_argv(&argv);
            p.argv = argv;
            p
        })
        .collect();
    let nohup = WordPrefilter::new(["nohup"]);
    let signal = WordPrefilter::new(["trap", "python", "perl", "ruby", "node", "php"]);
    let mut g = c.benchmark_group("auditd_hot");
    g.throughput(Throughput::Bytes(
        execs.iter().map(|p| p.command_line.len() as u64 + 1).sum(),
    ));
    for (name, filter) in [
        ("word_prefilter_nohup", &nohup),
        ("word_prefilter_signal", &signal),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                execs
                    .iter()
                    .filter(|p| filter.may_match(black_box(p)))
                    .count()
            })
        });
    }
    g.finish();
}

fn bench_process_table(c: &mut Criterion) {
    use sighunt_core::detectors::correlation::table_churn;
    const OPS: usize = 200_000;
    let mut g = c.benchmark_group("auditd_hot");
    g.throughput(Throughput::Elements(OPS as u64));
    g.sample_size(20);
    g.bench_function("process_table", |b| {
        b.iter(|| black_box(table_churn(32_768, OPS, black_box(7))))
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_header,
    bench_fields_and_hex,
    bench_events,
    bench_word_prefilter,
    bench_process_table
);
criterion_main!(benches);
