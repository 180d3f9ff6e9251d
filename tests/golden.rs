//! Golden tests of the finding contract: every sample log in `examples/` and every
//! file of the shared third-party corpus is hunted, and the JSON Lines output (with
//! `--explain`, so the reasoning is part of the contract too) and the summary line
//! are compared with `tests/golden/`; the bundled samples are also hunted with
//! `--profile seed`. Any change of output is a visible diff.
//!
//! Regenerate after an intended change with
//! `SIGHUNT_WRITE_GOLDEN=1 cargo test --test golden`, then review `git diff tests/golden`.
//! The corpus part is skipped when `../shared/corpus` is absent.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use std::process::Command;

use common::{SIGHUNT_TIMEOUT, manifest_dir, run_with_timeout, sighunt_bin};

const WRITE: &str = "SIGHUNT_WRITE_GOLDEN";

/// The inputs: (directory relative to the crate root, whether it must exist).
const INPUT_DIRS: [(&str, bool); 5] = [
    ("examples", true),
    ("../shared/corpus/auditd", false),
    ("../shared/corpus/syslog", false),
    ("../shared/corpus/honeypot", false),
    ("../shared/corpus/windows", false),
];

fn inputs() -> Vec<String> {
    let root = manifest_dir();
    let mut files = Vec::new();
    for (dir, required) in INPUT_DIRS {
        let abs = root.join(dir);
        if !abs.is_dir() {
            assert!(!required, "{dir} is missing");
            eprintln!("golden: {dir} absent, skipped");
            continue;
        }
        for entry in walk(&abs) {
            let rel = entry.strip_prefix(&root).map_or_else(
                |_| format!("{dir}/{}", entry.strip_prefix(&abs).unwrap().display()),
                |p| p.display().to_string(),
            );
            files.push(rel);
        }
    }
    files.sort();
    files
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if is_log(&p) {
                out.push(p);
            }
        }
    }
    out
}

/// Documentation and scenario tables beside the samples are not logs.
fn is_log(p: &Path) -> bool {
    !matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("md" | "tsv" | "py")
    )
}

/// The golden file for an input: its path with `/` and `..` made flat.
fn golden_path(input: &str, profile: &str) -> PathBuf {
    let flat = input.trim_start_matches("../").replace(['/', '\\'], "__");
    let suffix = if profile == "default" { "" } else { ".seed" };
    manifest_dir()
        .join("tests/golden")
        .join(format!("{flat}{suffix}.golden"))
}

/// What a hunt of one input prints: the findings (one JSON object a line, with
/// `--explain`) and the summary line.
fn hunt_output(input: &str, profile: &str) -> String {
    let mut cmd = Command::new(sighunt_bin());
    cmd.current_dir(manifest_dir()).env("NO_COLOR", "1").args([
        "hunt",
        "--format",
        "jsonl",
        "--explain",
        "--no-config",
        "-j1",
        "--no-progress",
        "--profile",
        profile,
        input,
    ]);
    let out = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT);
    let summary = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("sighunt: ") && l.contains(" finding"))
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "# exit {}\n# {summary}\n{}",
        out.status.code().unwrap_or(-1),
        out.stdout
    )
}

#[test]
fn every_sample_and_corpus_file_matches_its_golden_output() {
    let write = std::env::var_os(WRITE).is_some();
    let mut failures = Vec::new();
    let files = inputs();
    assert!(files.len() >= 6, "too few inputs found: {files:?}");
    // The seed profile (the seed query's exact semantics) on the bundled samples.
    let runs = files.iter().map(|f| (f, "default")).chain(
        files
            .iter()
            .filter(|f| f.starts_with("examples/"))
            .map(|f| (f, "seed")),
    );
    for (input, profile) in runs {
        let actual = hunt_output(input, profile);
        let path = golden_path(input, profile);
        if write {
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, &actual).unwrap();
            continue;
        }
        match fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{input}: output differs from {}\n{}",
                path.display(),
                first_difference(&expected, &actual)
            )),
            Err(_) => failures.push(format!(
                "{input}: no golden file {} (run with {WRITE}=1)",
                path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden outputs differ (regenerate with {WRITE}=1 if intended):\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// The first differing line of two outputs, for the failure message.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<_>, Vec<_>) = (expected.lines().collect(), actual.lines().collect());
    for i in 0..e.len().max(a.len()) {
        let (x, y) = (e.get(i).copied(), a.get(i).copied());
        if x != y {
            return format!(
                "  line {}:\n  - {}\n  + {}",
                i + 1,
                x.unwrap_or("<none>"),
                y.unwrap_or("<none>")
            );
        }
    }
    String::new()
}
