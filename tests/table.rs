//! The table at 80, 120 and 200 columns: snapshots of the bundled Linux and Windows
//! examples (`tests/snapshots/table-*.txt`), and the properties every width must
//! have, checked against the JSON Lines output of the same run: no line wider than
//! the terminal, every indicator name whole, Windows paths with single backslashes,
//! the most severe findings first, a summary that adds up.
//!
//! Regenerate the snapshots after an intended change with
//! `SIGHUNT_WRITE_GOLDEN=1 cargo test --test table`, then review the diff.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{SIGHUNT_TIMEOUT, manifest_dir, parse_jsonl, run_with_timeout, sighunt_bin};
use serde_json::Value;
use unicode_width::UnicodeWidthStr;

const INPUTS: [&str; 2] = [
    "examples/linux/audit-raw.log",
    "examples/windows/seed-test4.winlogbeat.ndjson",
];

/// `sighunt hunt ARGS INPUTS` in the crate root with `COLUMNS` set; (stdout, status).
fn hunt(columns: Option<usize>, args: &[&str]) -> (String, i32) {
    let mut cmd = Command::new(sighunt_bin());
    cmd.current_dir(manifest_dir())
        .env_remove("NO_COLOR")
        .arg("hunt")
        .args(args)
        .args(INPUTS);
    match columns {
        Some(n) => cmd.env("COLUMNS", n.to_string()),
        None => cmd.env_remove("COLUMNS"),
    };
    let run = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT);
    assert!(run.success(), "{}", run.describe());
    (run.stdout, run.status.code().unwrap_or(-1))
}

fn findings() -> Vec<Value> {
    let (out, _) = hunt(None, &["-f", "jsonl"]);
    parse_jsonl(&out).unwrap()
}

fn snapshot_path(name: &str) -> PathBuf {
    manifest_dir().join("tests/snapshots").join(name)
}

fn check_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    if std::env::var_os("SIGHUNT_WRITE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; write it with SIGHUNT_WRITE_GOLDEN=1",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{name} differs from {}:\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// The properties a table of `findings` must have at `width`.
fn check_table(table: &str, width: usize, findings: &[Value]) {
    for line in table.lines() {
        assert!(
            line.width() <= width,
            "a line wider than {width} columns ({}):\n{line}",
            line.width()
        );
    }
    // Words whole: every indicator the table shows appears unbroken. The compact
    // table shows the first three of each finding.
    for f in findings {
        for name in f["indicators"].as_array().unwrap().iter().take(3) {
            let name = name.as_str().unwrap();
            assert!(
                table.contains(name),
                "indicator {name} is not shown whole at {width} columns:\n{table}"
            );
        }
    }
    // Strings as they are: the Windows image path with one backslash each.
    assert!(
        table.contains(r"C:\Windows\System32\"),
        "single backslashes:\n{table}"
    );
    assert!(!table.contains(r"\\"), "no doubled backslash:\n{table}");
    // Most severe first: the first data row is the critical finding.
    let critical = findings
        .iter()
        .filter(|f| f["severity"] == "critical")
        .count();
    assert_eq!(critical, 1, "the example has one critical finding");
    let rule = table
        .lines()
        .position(|l| l.starts_with('─'))
        .expect("a rule under the header");
    let first_row_line = table.lines().nth(rule + 1).unwrap();
    assert!(
        first_row_line.contains("critical"),
        "the critical finding leads:\n{table}"
    );
    // The summary (after the blank line) adds up.
    let summary = table
        .rsplit_once("\n\n")
        .map(|(_, s)| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap();
    assert!(
        summary.starts_with(&format!("{} findings: 1 critical,", findings.len())),
        "{summary}"
    );
    assert!(
        summary.contains("nohup_interrupt_ignore") && summary.contains("ps_error_suppression"),
        "{summary}"
    );
}

#[test]
fn the_table_fits_80_120_and_200_columns() {
    let findings = findings();
    assert!(findings.len() > 10, "the examples give a real table");
    for width in [80, 120, 200] {
        let (table, _) = hunt(Some(width), &[]);
        check_table(&table, width, &findings);
        check_snapshot(&format!("table-{width}.txt"), &table);
    }
}

#[test]
fn wide_shows_every_column_and_fits_200() {
    let (table, _) = hunt(Some(200), &["--wide"]);
    // The header, over as many lines as it wraps to.
    let header: String = table
        .lines()
        .take_while(|l| !l.starts_with('─'))
        .collect::<Vec<_>>()
        .join(" ");
    for column in [
        "time",
        "severity",
        "score",
        "detection",
        "exec_cmd",
        "target / command",
        "indicators",
        "pid",
        "ppid",
        "user",
        "evidence",
    ] {
        assert!(header.contains(column), "{column} in {header}");
    }
    assert!(table.lines().all(|l| l.width() <= 200), "{table}");
    // Every indicator of every finding, not just the first three.
    for f in findings() {
        for name in f["indicators"].as_array().unwrap() {
            assert!(table.contains(name.as_str().unwrap()), "{name}");
        }
    }
    check_snapshot("table-wide-200.txt", &table);
}

#[test]
fn sort_orders_rows_by_the_key_asked() {
    let findings = findings();
    let times: Vec<&str> = findings
        .iter()
        .map(|f| f["time"].as_str().unwrap())
        .collect();
    // JSON Lines keep the time order (newest first) unless asked otherwise.
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    let (by_score, _) = hunt(None, &["-f", "jsonl", "--sort", "score"]);
    let scores: Vec<i64> = parse_jsonl(&by_score)
        .unwrap()
        .iter()
        .map(|f| f["suspicion_score"].as_i64().unwrap())
        .collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let (by_severity, _) = hunt(None, &["-f", "jsonl", "--sort", "severity"]);
    let rank = |s: &str| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    let sorted = parse_jsonl(&by_severity).unwrap();
    assert!(
        sorted.windows(2).all(|w| {
            let (a, b) = (
                rank(w[0]["severity"].as_str().unwrap()),
                rank(w[1]["severity"].as_str().unwrap()),
            );
            a > b || (a == b && w[0]["time"].as_str() >= w[1]["time"].as_str())
        }),
        "severity, then newest first"
    );
    // The same findings in every order.
    assert_eq!(sorted.len(), findings.len());
}

#[test]
fn color_always_colours_a_pipe_and_never_does_not() {
    let (always, _) = hunt(Some(120), &["--color", "always"]);
    assert!(
        always.contains("\x1b[1;35mcritical\x1b[0m"),
        "critical in magenta on a pipe with --color always:\n{always}"
    );
    let (auto, _) = hunt(Some(120), &[]);
    assert!(!auto.contains('\x1b'), "auto on a pipe: no colour");
    let (never, _) = hunt(Some(120), &["--color", "never"]);
    assert!(!never.contains('\x1b'));
    // Colour codes do not count towards the width.
    let plain_widths: Vec<usize> = auto.lines().map(UnicodeWidthStr::width).collect();
    let strip = |l: &str| {
        let mut out = String::new();
        let mut chars = l.chars();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                for c in chars.by_ref() {
                    if c == 'm' {
                        break;
                    }
                }
            } else {
                out.push(c);
            }
        }
        out
    };
    let coloured_widths: Vec<usize> = always.lines().map(|l| strip(l).width()).collect();
    assert_eq!(plain_widths, coloured_widths);
}

#[test]
fn live_findings_are_timed_by_process_start() {
    // A process that ignores SIGHUP under nohup, found by `live --pid`.
    let mut child = Command::new("nohup")
        .args(["sleep", "30"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("nohup sleep");
    let pid = child.id().to_string();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = run_with_timeout(
        Command::new(sighunt_bin()).env("COLUMNS", "120").args([
            "live",
            "--no-config",
            "--all",
            "--pid",
            &pid,
        ]),
        SIGHUNT_TIMEOUT,
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(run.success(), "{}", run.describe());
    let header = run.stdout.lines().next().unwrap_or_default();
    assert!(
        header.starts_with("started (UTC)"),
        "the time column says it is the process start:\n{}",
        run.stdout
    );
}
