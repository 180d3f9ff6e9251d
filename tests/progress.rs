//! The progress bar: drawn on stderr when it is a terminal (here a pseudo-terminal
//! made by util-linux `script`), never when stderr is a pipe or with --no-progress.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{manifest_dir, run_sighunt, run_with_timeout, sighunt_bin, which};

/// Runs `sighunt hunt ARGS -` on a pseudo-terminal, fed the bundled Linux example
/// twice with a pause between, so that the hunt lasts long enough for the bar to be
/// drawn; returns everything the terminal showed.
fn hunt_on_a_terminal(args: &str) -> Option<String> {
    which("script")?;
    // No pseudo-terminal to be had (a container without /dev/pts): nothing to test.
    let probe = run_with_timeout(
        Command::new("script").args(["-qec", "true", "/dev/null"]),
        Duration::from_secs(10),
    );
    if !probe.success() {
        return None;
    }
    let example = manifest_dir().join("examples/linux/audit-raw.log");
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let inner = format!(
        "(cat {ex}; sleep 1; cat {ex}) | {bin} hunt -f jsonl -o /dev/null {args} -",
        ex = example.display(),
        bin = sighunt_bin().display(),
    );
    let run = run_with_timeout(
        Command::new("script")
            .arg("-qec")
            .arg(&inner)
            .arg(&typescript),
        Duration::from_secs(60),
    );
    assert!(run.success(), "{}", run.describe());
    Some(String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned())
}

#[test]
fn a_terminal_gets_a_progress_bar_and_the_summary_after_it() {
    let Some(shown) = hunt_on_a_terminal("") else {
        eprintln!("SKIP: util-linux `script` or a pseudo-terminal is not available");
        return;
    };
    assert!(
        shown.contains("0/1 files") && shown.contains(" read, ") && shown.contains("/s, "),
        "the bar shows files, bytes read and the rate:\n{shown}"
    );
    assert!(
        shown.contains("sighunt: 1 file,"),
        "then the summary:\n{shown}"
    );

    let quiet = hunt_on_a_terminal("--no-progress").expect("a terminal, as above");
    assert!(
        !quiet.contains(" read, "),
        "--no-progress draws nothing:\n{quiet}"
    );
    assert!(quiet.contains("sighunt: 1 file,"), "{quiet}");
}

#[test]
fn a_pipe_gets_no_progress_bar() {
    let example = manifest_dir().join("examples/linux/audit-raw.log");
    let run = run_sighunt(["hunt", "-f", "jsonl", example.to_str().unwrap()]);
    assert!(run.success(), "{}", run.describe());
    assert!(!run.stderr.contains(" read, "), "{}", run.describe());
    assert!(
        !run.stderr.contains('\x1b'),
        "no escape sequences: {:?}",
        run.stderr
    );
}
