//! One large audit.log read in parallel ranges (`-j2`) gives exactly the findings of a
//! single-threaded read (`-j1`): events straddling a range edge are joined once, and
//! every finding's line number is the line of its event's first record.

mod common;

use std::fmt::Write as _;

use common::{parse_jsonl, run_sighunt};
use serde_json::Value;

/// Above the size from which a file is split (`sources::chunked::MIN_CHUNKED_BYTES`).
const TARGET_BYTES: usize = 72 * 1024 * 1024;

/// Writes one exec event's records (SYSCALL, EXECVE, CWD, PATH, PROCTITLE) for `serial`.
fn exec_records(out: &mut String, serial: u64, argv_hex: &[String], comm: &str) {
    let t = 1_700_000_000 + serial / 1000;
    let ms = serial % 1000;
    let stamp = format!("msg=audit({t}.{ms:03}:{serial})");
    let _ = writeln!(
        out,
        "type=SYSCALL {stamp}: arch=c000003e syscall=59 success=yes exit=0 a0=55d0 a1=55d1 a2=55d2 a3=0 items=2 ppid=4242 pid={serial} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"{comm}\" exe=\"/usr/bin/{comm}\" subj=unconfined key=\"exec\""
    );
    let mut execve = format!("type=EXECVE {stamp}: argc={}", argv_hex.len());
    for (i, a) in argv_hex.iter().enumerate() {
        let _ = write!(execve, " a{i}={a}");
    }
    out.push_str(&execve);
    out.push('\n');
    let _ = writeln!(out, "type=CWD {stamp}: cwd=\"/root\"");
    let _ = writeln!(
        out,
        "type=PATH {stamp}: item=0 name=\"/usr/bin/{comm}\" inode=1 dev=08:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
    );
    let _ = writeln!(out, "type=PROCTITLE {stamp}: proctitle=7368");
}

/// Quoted when plain, hex when it has a space (as the kernel writes it).
fn arg(a: &str) -> String {
    if a.bytes().all(|b| b.is_ascii_graphic() && b != b'"') {
        format!("\"{a}\"")
    } else {
        a.bytes().map(|b| format!("{b:02X}")).collect()
    }
}

/// Writes the corpus; returns how many nohup launches and `trap ''` maskings it holds.
fn write_corpus(path: &std::path::Path) -> (usize, usize) {
    let mut text = String::with_capacity(TARGET_BYTES + 4096);
    let (mut nohups, mut traps) = (0, 0);
    let mut serial = 1000u64;
    while text.len() < TARGET_BYTES {
        serial += 1;
        if serial % 997 == 0 {
            nohups += 1;
            // A payload per launch: correlation state (a relaunch) does not cross a
            // range edge, and is not what this test is about.
            let payload = format!("/tmp/.x/agent{serial}");
            let argv = ["nohup", payload.as_str(), "-p", "8080"].map(arg);
            exec_records(&mut text, serial, &argv, "nohup");
        } else if serial % 1499 == 0 {
            traps += 1;
            let script = format!("trap '' HUP INT; /tmp/.y/miner {serial}");
            let argv = ["/bin/sh", "-c", &script].map(arg);
            exec_records(&mut text, serial, &argv, "sh");
        } else if serial % 3 == 0 {
            // Non-exec syscalls: the bulk of a busy log, dropped early.
            let _ = writeln!(
                text,
                "type=SYSCALL msg=audit({}.{:03}:{serial}): arch=c000003e syscall=257 success=yes exit=3 ppid=1 pid={serial} uid=0 comm=\"cat\" exe=\"/usr/bin/cat\" key=(null)",
                1_700_000_000 + serial / 1000,
                serial % 1000
            );
        } else {
            let argv = ["ls", "-la", "/var/log/nohup-look-alike dir"].map(arg);
            exec_records(&mut text, serial, &argv, "ls");
        }
    }
    std::fs::write(path, &text).unwrap();
    (nohups, traps)
}

fn hunt(path: &std::path::Path, threads: &str) -> (Vec<Value>, String) {
    let run = run_sighunt([
        "hunt",
        "--format",
        "jsonl",
        "--no-progress",
        "-j",
        threads,
        path.to_str().unwrap(),
    ]);
    assert!(run.success(), "{}", run.describe());
    assert!(run.stderr.contains("0 input errors"), "{}", run.describe());
    let mut findings = parse_jsonl(&run.stdout).unwrap();
    findings.sort_by_key(|f| f.to_string());
    (findings, run.stderr)
}

#[test]
fn a_split_read_finds_exactly_what_a_single_read_finds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let (nohups, traps) = write_corpus(&path);
    let (single, stderr) = hunt(&path, "1");
    assert!(!stderr.contains("parallel ranges"), "{stderr}");
    let (split, stderr) = hunt(&path, "2");
    let bytes = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        common::split_ranges(&stderr),
        Some(common::expected_ranges(bytes, 2)),
        "the file was split into more ranges than threads: {stderr}"
    );
    let count = |kind: &str| {
        single
            .iter()
            .filter(|f| f["detection_type"] == kind)
            .count()
    };
    assert_eq!(count("nohup_interrupt_ignore"), nohups, "every nohup found");
    assert_eq!(count("signal_mask"), traps, "every trap '' found");
    assert_eq!(single.len(), nohups + traps, "the look-alikes are not");
    // The same findings, line numbers included (the first difference, if any).
    assert_eq!(single.len(), split.len());
    if let Some((a, b)) = single.iter().zip(&split).find(|(a, b)| a != b) {
        panic!("-j1 found\n{a}\nwhere -j2 found\n{b}");
    }

    // Line numbers are exact across ranges: each names its event's SYSCALL record.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for f in &split {
        let line = f["source"]["line"].as_u64().unwrap() as usize;
        let pid = f["pid"].as_u64().unwrap();
        assert!(
            lines[line - 1].starts_with("type=SYSCALL")
                && lines[line - 1].contains(&format!(":{pid})")),
            "line {line} is the event of pid {pid}: {}",
            lines[line - 1]
        );
    }
}

/// The real kernel log of the sample scenarios (`examples/linux/audit-raw.log`),
/// repeated with its times and serials shifted until the file is split: the same
/// payloads are launched again and again (relaunch and preparation evidence crosses
/// every range edge), so only a read that carries detector state across the edges
/// finds what a single read finds.
fn write_repeated_real_log(path: &std::path::Path) -> usize {
    let real = std::fs::read_to_string(common::manifest_dir().join("examples/linux/audit-raw.log"))
        .unwrap();
    let stamp = regex_lite_stamp();
    let mut text = String::with_capacity(TARGET_BYTES + real.len());
    let mut copies = 0;
    while text.len() < TARGET_BYTES {
        // Two minutes apart: within the correlation windows of the copy before.
        let shift_s = copies as u64 * 120;
        let shift_serial = copies as u64 * 100_000;
        for line in real.lines() {
            text.push_str(&stamp(line, shift_s, shift_serial));
            text.push('\n');
        }
        copies += 1;
    }
    std::fs::write(path, &text).unwrap();
    copies
}

/// Rewrites `msg=audit(SECONDS.MS:SERIAL)` in a line, shifted.
fn regex_lite_stamp() -> impl Fn(&str, u64, u64) -> String {
    |line, shift_s, shift_serial| {
        let Some(at) = line.find("audit(") else {
            return line.to_string();
        };
        let rest = &line[at + 6..];
        let (Some(dot), Some(colon), Some(close)) =
            (rest.find('.'), rest.find(':'), rest.find(')'))
        else {
            return line.to_string();
        };
        let (Ok(secs), Ok(serial)) = (
            rest[..dot].parse::<u64>(),
            rest[colon + 1..close].parse::<u64>(),
        ) else {
            return line.to_string();
        };
        format!(
            "{}audit({}.{}:{}){}",
            &line[..at],
            secs + shift_s,
            &rest[dot + 1..colon],
            serial + shift_serial,
            &rest[close + 1..]
        )
    }
}

#[test]
fn correlation_across_range_edges_gives_the_same_findings_on_any_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let copies = write_repeated_real_log(&path);
    let (single, _) = hunt(&path, "1");
    let relaunched = single
        .iter()
        .filter(|f| {
            f["indicators"]
                .as_array()
                .is_some_and(|i| i.iter().any(|n| n == "relaunched"))
        })
        .count();
    assert!(
        relaunched > copies / 2,
        "relaunch evidence from earlier copies is used: {relaunched} of {copies} copies"
    );
    for threads in ["2", "4"] {
        let (split, stderr) = hunt(&path, threads);
        let bytes = std::fs::metadata(&path).unwrap().len();
        assert_eq!(
            common::split_ranges(&stderr),
            Some(common::expected_ranges(bytes, threads.parse().unwrap())),
            "the file was split: {stderr}"
        );
        assert_eq!(
            single.len(),
            split.len(),
            "-j{threads}: same number of findings"
        );
        if let Some((a, b)) = single.iter().zip(&split).find(|(a, b)| a != b) {
            panic!("-j1 found\n{a}\nwhere -j{threads} found\n{b}");
        }
    }
}
