//! The hunt's streamed output (findings sorted in bounded memory, or written as
//! released with `--sort none`) against the in-memory path `--explain` still takes:
//! the same findings in the same order for every sort key, over every bundled sample
//! at once (many inputs, ties between them), and over the shared corpus when present.

mod common;

use std::collections::BTreeMap;

use common::{SIGHUNT_TIMEOUT, manifest_dir, parse_jsonl, run_with_timeout, sighunt_bin};
use serde_json::Value;

/// `sighunt hunt --no-config -f jsonl ARGS DIRS` in the crate root: the findings.
fn hunt(args: &[&str], dirs: &[&str]) -> Vec<Value> {
    let mut cmd = std::process::Command::new(sighunt_bin());
    cmd.current_dir(manifest_dir())
        .args(["hunt", "--no-config", "-f", "jsonl", "-j3"])
        .args(args)
        .args(dirs);
    let run = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT * 4);
    assert!(run.success(), "{}", run.describe());
    parse_jsonl(&run.stdout).unwrap()
}

/// The reported findings of an `--explain` run (it lists the suppressed ones too),
/// without the explanation.
fn reported(findings: Vec<Value>) -> Vec<Value> {
    findings
        .into_iter()
        .filter(|f| f["explain"]["decision"] == "reported")
        .map(|mut f| {
            f.as_object_mut().unwrap().remove("explain");
            f
        })
        .collect()
}

fn ids(findings: &[Value]) -> Vec<&str> {
    findings.iter().map(|f| f["id"].as_str().unwrap()).collect()
}

const SEVERITIES: [&str; 5] = ["informational", "low", "medium", "high", "critical"];

fn severity(f: &Value) -> usize {
    SEVERITIES.iter().position(|s| f["severity"] == *s).unwrap()
}

#[test]
fn streamed_output_is_the_in_memory_output_for_every_sort_key() {
    let mut dirs = vec!["examples"];
    if manifest_dir().join("../shared/corpus").is_dir() {
        dirs.push("../shared/corpus");
    }
    // Newest first (ties: input order, then log order): exactly what the in-memory
    // path gives (--explain keeps every finding in memory and writes them newest
    // first).
    let by_time = hunt(&["--sort", "time"], &dirs);
    let in_memory = reported(hunt(&["--sort", "time", "--explain"], &dirs));
    assert!(by_time.len() > 100, "the samples give findings");
    assert!(
        by_time == in_memory,
        "--sort time: same findings, same order"
    );
    // The other keys: a stable sort of the newest-first list by the key (the
    // documented order: ties newest first, then as above).
    let time = |f: &Value| std::cmp::Reverse(f["time"].as_str().unwrap_or("").to_string());
    let score = |f: &Value| std::cmp::Reverse(f["suspicion_score"].as_i64().unwrap());
    let mut want = by_time.clone();
    want.sort_by_key(|f| (std::cmp::Reverse(severity(f)), time(f), score(f)));
    assert!(
        hunt(&["--sort", "severity"], &dirs) == want,
        "--sort severity"
    );
    let mut want = by_time.clone();
    want.sort_by_key(|f| (score(f), time(f)));
    assert!(hunt(&["--sort", "score"], &dirs) == want, "--sort score");
    // Unsorted: the same findings, and each input's in log order.
    let by_time = hunt(&["--sort", "time"], &dirs);
    let unsorted = hunt(&["--sort", "none"], &dirs);
    let mut a = ids(&by_time);
    let mut b = ids(&unsorted);
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b, "--sort none: the same findings");
    let mut positions: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for f in &unsorted {
        let source = &f["source"];
        let position = source["line"]
            .as_u64()
            .or_else(|| source["record"].as_u64())
            .unwrap_or(0);
        positions
            .entry(source["path"].as_str().unwrap())
            .or_default()
            .push(position);
    }
    for (path, p) in positions {
        assert!(p.is_sorted(), "{path}: findings in log order: {p:?}");
    }
}

/// An audit log of `n` nohup launches (one high finding each), a millisecond apart.
fn launches(n: u32) -> String {
    (0..n)
        .map(|i| {
            let serial = 1000 + u64::from(i);
            common::nohup_launch(
                1_700_000_000 + serial / 1000,
                serial % 1000,
                serial,
                10_000 + i,
                &format!("/tmp/.x/agent-{i}"),
            )
        })
        .collect()
}

/// A table of more findings than a page is written as consecutive tables, in order,
/// with one summary under the last that counts them all.
#[test]
fn a_large_table_is_written_in_pages_with_one_summary() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("many.log");
    std::fs::write(&log, launches(2500)).unwrap();
    let mut cmd = std::process::Command::new(sighunt_bin());
    cmd.args(["hunt", "--no-config", "--sort", "time", "--color", "never"])
        .arg(&log)
        .env("COLUMNS", "200");
    let run = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT);
    assert!(run.success(), "{}", run.describe());
    let lines: Vec<&str> = run.stdout.lines().collect();
    let headers = lines.iter().filter(|l| l.starts_with("time")).count();
    assert_eq!(headers, 3, "2500 rows in pages of 1000");
    let rows: Vec<&str> = lines
        .iter()
        .filter(|l| l.contains("/tmp/.x/agent-"))
        .copied()
        .collect();
    assert_eq!(rows.len(), 2500);
    assert!(rows[0].contains("agent-2499 ") && rows[2499].contains("agent-0 "));
    assert!(
        rows[1000].contains("agent-1499 "),
        "the second page goes on where the first ended"
    );
    assert_eq!(
        lines.last().unwrap(),
        &"2500 findings: 2500 high; by type: nohup_interrupt_ignore 2500."
    );
    assert_eq!(
        run.stdout.matches(" findings: ").count(),
        1,
        "one summary, under the last page"
    );
}

/// `--sort none` writes CSV batch by batch as inputs release findings: one header,
/// every row, the same rows as the sorted output.
#[test]
fn unsorted_csv_has_one_header_and_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&a, launches(300)).unwrap();
    std::fs::write(&b, launches(5000)).unwrap();
    let csv = |sort: &str| {
        let mut cmd = std::process::Command::new(sighunt_bin());
        cmd.args(["hunt", "--no-config", "-f", "csv", "-j2", "--sort", sort])
            .args([&a, &b]);
        let run = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT);
        assert!(run.success(), "{}", run.describe());
        run.stdout
    };
    let unsorted = csv("none");
    let header = unsorted.lines().next().unwrap().to_string();
    assert!(header.starts_with("time,host,"), "{header}");
    assert_eq!(unsorted.lines().filter(|l| **l == *header).count(), 1);
    let mut rows: Vec<&str> = unsorted.lines().skip(1).collect();
    assert_eq!(rows.len(), 5300);
    let sorted = csv("time");
    let mut want: Vec<&str> = sorted.lines().skip(1).collect();
    rows.sort_unstable();
    want.sort_unstable();
    assert!(rows == want, "the same rows");
}
