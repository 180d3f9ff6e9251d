//! Exit codes a script can trust, and nothing lost silently: every exit status of
//! `sighunt hunt` (0 done, 1 --fail-on reached, 2 nothing read / --strict / usage),
//! a broken pipe and a closed stderr, capped repeated errors, skipped files named, a
//! forced format that reads nothing. Each case runs the real binary on real files.

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{SIGHUNT_TIMEOUT, is_root, manifest_dir, run_sighunt, run_with_timeout, sighunt_bin};

fn example(name: &str) -> String {
    manifest_dir()
        .join("examples")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn code(run: &common::RunOutput) -> i32 {
    assert!(!run.timed_out, "{}", run.describe());
    run.status.code().unwrap_or(-1)
}

/// A benign auditd record: an exec of `ls`, which no detector reports.
const BENIGN_AUDIT: &str = "type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=100 pid=101 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=1 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)\ntype=EXECVE msg=audit(1700000000.000:1): argc=2 a0=\"ls\" a1=\"-l\"\ntype=EOE msg=audit(1700000000.000:1):\n";

#[test]
fn exit_0_when_the_run_completes() {
    let run = run_sighunt(["hunt", "-f", "jsonl", &example("linux/audit-raw.log")]);
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(run.stdout.lines().count() > 10, "findings were written");

    // Benign input: no finding, and --fail-on is not reached.
    let dir = tempfile::tempdir().unwrap();
    let benign = dir.path().join("audit.log");
    fs::write(&benign, BENIGN_AUDIT).unwrap();
    let run = run_sighunt(["hunt", "--fail-on", "low", benign.to_str().unwrap()]);
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(run.stdout.contains("No findings."), "{}", run.describe());
    assert!(run.stderr.contains("1 event"), "{}", run.describe());
}

#[test]
fn exit_1_when_fail_on_is_reached() {
    let path = example("linux/audit-raw.log");
    let run = run_sighunt(["hunt", "--fail-on", "critical", "-f", "jsonl", &path]);
    assert_eq!(code(&run), 1, "{}", run.describe());
    // The findings are written all the same.
    assert!(run.stdout.contains("\"severity\":\"critical\""));
}

#[test]
fn exit_2_when_no_named_input_could_be_read() {
    // A missing file, even with --fail-on: "No findings." would read as "clean".
    let run = run_sighunt(["hunt", "--fail-on", "low", "/nonexistent/audit.log"]);
    assert_eq!(code(&run), 2, "{}", run.describe());
    assert!(!run.stdout.contains("No findings"), "{}", run.describe());
    assert!(
        run.stderr.contains("no input could be read")
            && run.stderr.contains("/nonexistent/audit.log")
            && run.stderr.contains("No such file"),
        "says why: {}",
        run.describe()
    );

    // An empty directory: nothing to read.
    let dir = tempfile::tempdir().unwrap();
    let run = run_sighunt(["hunt", dir.path().to_str().unwrap()]);
    assert_eq!(code(&run), 2, "{}", run.describe());
    assert!(
        run.stderr.contains("no files were found"),
        "{}",
        run.describe()
    );

    // A directory of files in no log format: skipped, named, exit 2.
    fs::write(
        dir.path().join("photo.jpg"),
        [0xffu8, 0xd8, 0xff, 0xe0, 0, 0x10],
    )
    .unwrap();
    let run = run_sighunt(["hunt", dir.path().to_str().unwrap()]);
    assert_eq!(code(&run), 2, "{}", run.describe());
    assert!(run.stderr.contains("photo.jpg"), "{}", run.describe());

    // Permission denied everywhere (not testable as root, who reads anything).
    if !is_root() {
        use std::os::unix::fs::PermissionsExt;
        let locked = dir.path().join("secure.log");
        fs::write(&locked, BENIGN_AUDIT).unwrap();
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let run = run_sighunt(["hunt", locked.to_str().unwrap()]);
        assert_eq!(code(&run), 2, "{}", run.describe());
        assert!(
            run.stderr.contains("Permission denied"),
            "{}",
            run.describe()
        );
    }
}

#[test]
fn a_partial_failure_is_listed_and_strict_makes_it_exit_2() {
    let good = example("linux/audit-raw.log");
    let run = run_sighunt(["hunt", "-f", "jsonl", &good, "/nonexistent/a.log"]);
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(
        run.stderr
            .contains("could not read 1 input: /nonexistent/a.log (cannot read"),
        "{}",
        run.describe()
    );
    let strict = run_sighunt([
        "hunt",
        "--strict",
        "-f",
        "jsonl",
        &good,
        "/nonexistent/a.log",
    ]);
    assert_eq!(code(&strict), 2, "{}", strict.describe());
    assert_eq!(strict.stdout, run.stdout, "findings are written first");
    assert!(
        strict.stderr.contains("(--strict)"),
        "{}",
        strict.describe()
    );

    // --strict on a clean read is still 0.
    let clean = run_sighunt(["hunt", "--strict", "-f", "jsonl", &good]);
    assert_eq!(code(&clean), 0, "{}", clean.describe());
}

#[test]
fn exit_2_on_usage_errors_and_missing_features() {
    let run = run_sighunt(["hunt", "--no-such-flag", "x"]);
    assert_eq!(code(&run), 2, "{}", run.describe());
    let run = run_sighunt(["hunt", "--sort", "colour", "x"]);
    assert_eq!(code(&run), 2, "{}", run.describe());
    if !cfg!(feature = "kafka") {
        let run = run_sighunt(["stream", "--brokers", "localhost:9092"]);
        assert_eq!(code(&run), 2, "{}", run.describe());
        assert!(
            run.stderr.contains("--features kafka"),
            "{}",
            run.describe()
        );
    }
}

/// A log big enough that its findings overflow a pipe buffer (syslog lines are
/// events each; repeated audit records would be one event).
fn big_log(dir: &std::path::Path) -> String {
    let one = fs::read_to_string(example("syslog/syslog-3164.log")).unwrap();
    let path = dir.join("big.log");
    fs::write(&path, one.repeat(200)).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn a_reader_that_goes_away_ends_the_run_quietly_with_0() {
    let dir = tempfile::tempdir().unwrap();
    let big = big_log(dir.path());
    for format in ["table", "jsonl", "csv"] {
        // `sighunt hunt … | head -1`: read one line, then close the pipe.
        let mut child = Command::new(sighunt_bin())
            .args(["hunt", "--no-progress", "-f", format, &big])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty());
        let out = wait_with_timeout(child);
        assert_eq!(out.status.code(), Some(0), "{format}: {}", out.stderr);
        assert!(
            !out.stderr.contains("Broken pipe") && !out.stderr.contains("sighunt: error"),
            "{format}: quiet: {}",
            out.stderr
        );
    }
}

struct Finished {
    status: std::process::ExitStatus,
    stderr: String,
}

fn wait_with_timeout(mut child: std::process::Child) -> Finished {
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let deadline = std::time::Instant::now() + SIGHUNT_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("sighunt did not end");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Finished {
        status,
        stderr: reader.join().unwrap(),
    }
}

#[test]
fn a_closed_stderr_does_not_panic() {
    let good = example("linux/audit-raw.log");
    let bin = sighunt_bin();
    // `2>&-`: stderr closed from the start, with an error and a summary to write.
    let run = run_with_timeout(
        Command::new("sh").arg("-c").arg(format!(
            "'{}' hunt -f jsonl '{good}' /nonexistent 2>&-",
            bin.display()
        )),
        SIGHUNT_TIMEOUT,
    );
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(run.stdout.lines().count() > 10);

    // stderr a pipe whose reader is gone (EPIPE on every message).
    let mut child = Command::new(&bin)
        .args(["hunt", "-f", "jsonl", &good, "/nonexistent"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "no panic (101)");
    assert!(out.lines().count() > 10);
}

#[test]
fn repeated_input_errors_are_capped_with_a_count() {
    // A syslog file forced as JSON: every line is the same error.
    let syslog = example("syslog/syslog-3164.log");
    let lines = fs::read_to_string(&syslog).unwrap().lines().count();
    assert!(lines > 10);
    let run = run_sighunt(["hunt", "--input-format", "json", &syslog]);
    let shown = run
        .stderr
        .lines()
        .filter(|l| l.contains("not a JSON object"))
        .count();
    assert_eq!(shown, 4, "three shown, then one count line: {}", run.stderr);
    assert!(
        run.stderr.contains(&format!(
            "{} more \"not a JSON object; line skipped\" not shown",
            lines - 3
        )),
        "{}",
        run.stderr
    );
    // All of them are still counted.
    assert!(
        run.stderr.contains(&format!("{lines} input errors")),
        "{}",
        run.stderr
    );
}

#[test]
fn a_forced_format_that_reads_nothing_says_so() {
    let syslog = example("syslog/syslog-3164.log");
    // Read as auditd, syslog lines are no audit records: no error per line, but no
    // event either.
    let run = run_sighunt(["hunt", "--input-format", "auditd", &syslog]);
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(
        run.stderr
            .contains("read as --input-format auditd gave no event")
            && run.stderr.contains("syslog-3164.log"),
        "{}",
        run.describe()
    );
    // The right format: no such warning.
    let run = run_sighunt(["hunt", "--input-format", "syslog", &syslog]);
    assert!(!run.stderr.contains("gave no event"), "{}", run.describe());
}

#[test]
fn skipped_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    fs::copy(example("linux/audit-raw.log"), dir.path().join("audit.log")).unwrap();
    fs::write(dir.path().join("notes.bin"), [0u8, 1, 2, 3, 0xff, 0xfe]).unwrap();
    let run = run_sighunt(["hunt", "-f", "jsonl", dir.path().to_str().unwrap()]);
    assert_eq!(code(&run), 0, "{}", run.describe());
    assert!(
        run.stderr
            .contains("skipped (not a log format sighunt reads): ")
            && run.stderr.contains("notes.bin"),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("audit.log,"), "{}", run.describe());

    // Many skipped files: counted, named only with --verbose.
    for i in 0..8 {
        fs::write(dir.path().join(format!("blob{i}.bin")), [0u8, 0xff, 7]).unwrap();
    }
    let run = run_sighunt(["hunt", "-f", "jsonl", dir.path().to_str().unwrap()]);
    assert!(
        run.stderr.contains("(--verbose names them)"),
        "{}",
        run.describe()
    );
    let run = run_sighunt(["hunt", "-v", "-f", "jsonl", dir.path().to_str().unwrap()]);
    assert!(
        (0..8).all(|i| run.stderr.contains(&format!("blob{i}.bin"))),
        "{}",
        run.describe()
    );
}

/// `sighunt live ARGS -f jsonl`, started by `launcher` (e.g. `nohup`, so that it
/// ignores SIGHUP itself); the child's pid and the findings' pids.
fn live_pids(launcher: &[&str], args: &[&str]) -> (u32, Vec<u64>, String) {
    let bin = sighunt_bin();
    let mut cmd = Command::new(launcher[0]);
    cmd.args(&launcher[1..])
        .arg(&bin)
        .args(["live", "--no-config", "-f", "jsonl"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let pids = common::parse_jsonl(&stdout)
        .unwrap()
        .iter()
        .filter_map(|f| f["pid"].as_u64())
        .collect();
    (pid, pids, stderr)
}

#[test]
fn live_never_reports_itself() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("SKIP: no procfs");
        return;
    }
    // Under nohup, sighunt itself ignores SIGHUP: exactly what `live` looks for. nohup
    // execs sighunt, so the child's pid is sighunt's.
    let (pid, pids, stderr) = live_pids(&["nohup"], &["--all"]);
    assert!(
        !pids.contains(&u64::from(pid)),
        "sighunt ({pid}) reported itself: {pids:?}\n{stderr}"
    );
    // It would have been found: the same process seen from outside is reported.
    let mut me = Command::new("nohup")
        .args(["sleep", "30"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let (_, pids, stderr) = live_pids(&["env"], &["--all", "--pid", &me.id().to_string()]);
    let _ = me.kill();
    let _ = me.wait();
    assert_eq!(pids, [u64::from(me.id())], "{stderr}");
}

#[test]
fn live_hides_allow_listed_processes_unless_all() {
    if !std::path::Path::new("/proc/self/status").exists() {
        eprintln!("SKIP: no procfs");
        return;
    }
    // A shell that ignores QUIT and TERM (allow-listed: shells do) waiting on a
    // child that inherited the same (not allow-listed).
    // Its own process group, so that the sleep goes with it: an orphaned sleep
    // that ignores TERM would be a finding for tests/live.rs run right after.
    let mut shell = Command::new("bash")
        .args(["-c", "trap '' QUIT TERM; sleep 30; true"])
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let shell_pid = u64::from(shell.id());
    let pid_arg = shell.id().to_string();
    let (_, hidden, stderr) = live_pids(&["env"], &["--pid", &pid_arg]);
    assert!(hidden.is_empty(), "hidden without --all: {hidden:?}");
    assert!(
        stderr.contains("1 allow-listed not shown (--all shows them)"),
        "{stderr}"
    );
    let (_, all, stderr) = live_pids(&["env"], &["--all", "--pid", &pid_arg]);
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid_arg}")])
        .status();
    let _ = shell.kill();
    let _ = shell.wait();
    assert_eq!(all, [shell_pid], "{stderr}");
}
