//! The progress bar and colour on a terminal (here a pseudo-terminal made by
//! util-linux `script`): the bar is drawn on stderr when it is a terminal, by bytes
//! for files, never when stderr is a pipe or with --no-progress; severities are
//! coloured unless NO_COLOR or --color never.

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

/// Runs `command` (a shell command line) on a pseudo-terminal; returns what the
/// terminal showed, or `None` when no pseudo-terminal can be had.
fn on_a_terminal(command: &str) -> Option<String> {
    which("script")?;
    let probe = run_with_timeout(
        Command::new("script").args(["-qec", "true", "/dev/null"]),
        Duration::from_secs(10),
    );
    if !probe.success() {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let typescript = dir.path().join("typescript");
    let run = run_with_timeout(
        Command::new("script")
            .arg("-qec")
            .arg(command)
            .arg(&typescript)
            .env_remove("NO_COLOR")
            .env("COLUMNS", "120"),
        Duration::from_secs(120),
    );
    assert!(run.success(), "{}", run.describe());
    Some(String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned())
}

#[test]
fn one_big_file_moves_the_bar_by_bytes_before_it_is_done() {
    // Benign sshd lines in one file, sized from this machine's measured speed so that
    // reading it takes many progress ticks however fast the machine is.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("secure.log");
    let mut block = String::new();
    let mut i = 0u64;
    while block.len() < 8 * 1024 * 1024 {
        block.push_str(&format!(
            "Nov 28 04:{:02}:{:02} web01 sshd[{}]: Accepted publickey for deploy from 10.0.0.{} port 22 ssh2\n",
            i / 60 % 60,
            i % 60,
            1000 + i % 5000,
            i % 250
        ));
        i += 1;
    }
    let write_blocks = |blocks: usize| {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&log).unwrap());
        for _ in 0..blocks {
            out.write_all(block.as_bytes()).unwrap();
        }
        out.flush().unwrap();
    };
    // The probe is big enough that start-up costs do not hide the reading speed.
    let probe_blocks = 8;
    write_blocks(probe_blocks);
    let started = std::time::Instant::now();
    let probe = run_sighunt([
        "hunt",
        "-f",
        "jsonl",
        "-o",
        "/dev/null",
        log.to_str().unwrap(),
    ]);
    assert!(probe.success(), "{}", probe.describe());
    let per_block = started.elapsed().as_secs_f64() / probe_blocks as f64;
    // About four seconds of reading (twenty ticks of the bar), at most 2 GiB on disk.
    let blocks = ((4.0 / per_block.max(1e-4)).ceil() as usize).clamp(probe_blocks, 256);
    write_blocks(blocks);
    let Some(shown) = on_a_terminal(&format!(
        "{} hunt -f jsonl -o /dev/null {}",
        sighunt_bin().display(),
        log.display()
    )) else {
        eprintln!("SKIP: util-linux `script` or a pseudo-terminal is not available");
        return;
    };
    // Frames drawn while the file was still being read say how far it got.
    let partial: Vec<&str> = shown
        .split("0/1 files  ")
        .skip(1)
        .filter_map(|frame| frame.split(" read,").next())
        .filter(|read| read.contains(" of ") && !read.starts_with("0 B"))
        .collect();
    assert!(
        !partial.is_empty(),
        "the bar shows bytes of the total before the file is done ({blocks} blocks):\n{shown}"
    );
    assert!(shown.contains("sighunt: 1 file,"), "{shown}");
}

#[test]
fn a_terminal_gets_severity_colours_unless_no_color_or_never() {
    let example = manifest_dir().join("examples/linux/audit-raw.log");
    let hunt = |extra: &str| {
        on_a_terminal(&format!(
            "{extra} {} hunt --no-progress {}",
            sighunt_bin().display(),
            example.display()
        ))
    };
    let Some(auto) = hunt("") else {
        eprintln!("SKIP: util-linux `script` or a pseudo-terminal is not available");
        return;
    };
    assert!(
        auto.contains("\x1b[1;35mcritical\x1b[0m") && auto.contains("\x1b[1;31mhigh\x1b[0m"),
        "critical in magenta, high in red on a terminal:\n{auto}"
    );
    let no_color = hunt("NO_COLOR=1").expect("a terminal, as above");
    assert!(!no_color.contains("\x1b[1;35m"), "NO_COLOR: {no_color}");
    assert!(no_color.contains("critical"));
    let never = on_a_terminal(&format!(
        "{} hunt --no-progress --color never {}",
        sighunt_bin().display(),
        example.display()
    ))
    .expect("a terminal, as above");
    assert!(!never.contains("\x1b[1;35m"), "--color never: {never}");
    // The table is sized to the terminal's COLUMNS.
    assert!(
        never
            .lines()
            .filter(|l| !l.starts_with("Script "))
            .all(|l| unicode_width::UnicodeWidthStr::width(l.trim_end_matches('\r')) <= 120),
        "{never}"
    );
}
