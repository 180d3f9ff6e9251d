//! `sighunt hunt --follow`: the binary follows a log file that grows, is rotated
//! (renamed away while the writer still appends to it, a new file created) and
//! truncated, and reports exactly what a hunt over the whole log reports, each
//! finding once, while it runs.
//!
//! The log is `examples/linux/audit-raw.log`, written by the real kernel (see
//! `scripts/audit-scenarios.sh`), fed in pieces cut in the middle of lines.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{brief, parse_jsonl, sighunt_bin, str_field};

fn example_log() -> Vec<u8> {
    fs::read(common::manifest_dir().join("examples/linux/audit-raw.log"))
        .expect("examples/linux/audit-raw.log")
}

fn append(path: &Path, bytes: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(bytes).unwrap();
}

/// What identifies a finding whatever file or position it was read from.
fn key(v: &Value) -> String {
    let f = |k: &str| str_field(v, k).unwrap_or("").to_string();
    format!(
        "{}|{}|{}|{}|{}|{}|{}",
        f("detection_type"),
        f("host"),
        f("time"),
        f("exec_cmd"),
        f("nohup_target"),
        f("nohup_args"),
        f("command_line")
    )
}

/// Findings of a plain hunt over the whole log, by key.
fn expected(path: &Path) -> BTreeMap<String, Value> {
    let out = common::run_sighunt([
        "hunt".as_ref(),
        "--no-config".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
        path.as_os_str(),
    ]);
    assert!(out.success(), "{}", out.describe());
    parse_jsonl(&out.stdout)
        .unwrap()
        .into_iter()
        .map(|v| (key(&v), v))
        .collect()
}

/// A `sighunt hunt --follow` child, its stdout collected on a thread.
struct Follower {
    child: Child,
    stdout: std::sync::Arc<std::sync::Mutex<String>>,
    reader: Option<thread::JoinHandle<()>>,
}

impl Follower {
    fn start(args: &[&str], stdin: Stdio) -> Follower {
        let mut child = Command::new(sighunt_bin())
            .args(args)
            .stdin(stdin)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sighunt");
        let stdout = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut pipe = child.stdout.take().unwrap();
        let sink = stdout.clone();
        let reader = thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Follower {
            child,
            stdout,
            reader: Some(reader),
        }
    }

    fn findings(&self) -> Vec<Value> {
        let text = self.stdout.lock().unwrap().clone();
        // Only complete lines: the last one may still be being written.
        let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
        parse_jsonl(complete).unwrap_or_else(|e| panic!("not JSON Lines: {e}"))
    }

    /// Waits (up to a minute) until `pred` holds for the findings so far.
    fn wait_for(&self, what: &str, pred: impl Fn(&[Value]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.findings();
            if pred(&found) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not reported while following; findings so far:\n{}",
                found.iter().map(brief).collect::<Vec<_>>().join("\n")
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it with SIGTERM (a clean stop) and returns its stderr.
    fn stop(mut self) -> (Vec<Value>, String) {
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("sighunt --follow did not stop on SIGTERM");
            }
            thread::sleep(Duration::from_millis(20));
        };
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "exit status {status}; stderr:\n{err}");
        (self.findings(), err)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn assert_same(got: &[Value], want: &BTreeMap<String, Value>) {
    let mut seen = BTreeMap::new();
    for v in got {
        *seen.entry(key(v)).or_insert(0) += 1;
    }
    let twice: Vec<&String> = seen
        .iter()
        .filter(|(_, n)| **n > 1)
        .map(|(k, _)| k)
        .collect();
    assert!(twice.is_empty(), "reported more than once: {twice:#?}");
    let missing: Vec<&String> = want.keys().filter(|k| !seen.contains_key(*k)).collect();
    assert!(
        missing.is_empty(),
        "not reported while following: {missing:#?}"
    );
    let extra: Vec<&String> = seen.keys().filter(|k| !want.contains_key(*k)).collect();
    assert!(
        extra.is_empty(),
        "reported only while following: {extra:#?}"
    );
    // Same scoring too: the detectors are the hunt's.
    for v in got {
        let w = &want[&key(v)];
        assert_eq!(v["severity"], w["severity"], "{}", brief(v));
        assert_eq!(v["indicators"], w["indicators"], "{}", brief(v));
    }
}

#[test]
fn follows_a_log_across_rotation_and_truncation() {
    let log = example_log();
    // After the truncation, the other capture of the same scenarios (ENRICHED
    // format, other serials and temp paths) is written.
    let second =
        fs::read(common::manifest_dir().join("examples/linux/audit-enriched.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    let mut both = log.clone();
    both.extend_from_slice(&second);
    fs::write(&whole, &both).unwrap();
    // One hunt over both, in order: the follower keeps one detector set too.
    let want = expected(&whole);
    assert!(
        want.len() >= 20,
        "the example logs have the scenario findings"
    );

    let path = dir.path().join("audit.log");
    let path_s = path.to_str().unwrap();
    // Started before the file exists, as under a log directory that is being set up.
    let f = Follower::start(
        &["hunt", "--follow", "--no-config", "-f", "jsonl", path_s],
        Stdio::null(),
    );
    thread::sleep(Duration::from_millis(300));

    // Three pieces, cut inside lines: written to the file, to the file after it
    // was renamed away (a writer that has not reopened yet), and to a new file.
    let cut1 = log.len() / 3 + 17;
    let cut2 = 2 * log.len() / 3 + 5;
    append(&path, &log[..cut1]);
    // The first findings are reported while following, before any more is written.
    f.wait_for("a finding from the first part of the log", |found| {
        !found.is_empty()
    });

    let rotated = dir.path().join("audit.log.1");
    fs::rename(&path, &rotated).unwrap();
    // The rest of the cut line, and more, still goes to the renamed file...
    let newline = cut1 + log[cut1..].iter().position(|&b| b == b'\n').unwrap() + 1;
    append(&rotated, &log[cut1..newline]);
    append(&rotated, &log[newline..cut2]);
    thread::sleep(Duration::from_millis(400));
    // ...and the writer then reopens the name: a new file gets the rest.
    let newline2 = cut2 + log[cut2..].iter().position(|&b| b == b'\n').unwrap() + 1;
    append(&rotated, &log[cut2..newline2]);
    append(&path, &log[newline2..]);
    let first_part = want
        .values()
        .filter(|v| {
            v["source"]["line"]
                .as_u64()
                .is_some_and(|l| l <= log.iter().filter(|&&b| b == b'\n').count() as u64)
        })
        .count();
    f.wait_for("every finding of the first log", |found| {
        found.len() >= first_part
    });

    // Truncated and written again (copytruncate, `> file`): the new content is read
    // from the start of the file.
    fs::write(&path, b"").unwrap();
    thread::sleep(Duration::from_millis(400));
    append(&path, &second);
    f.wait_for("the findings of the rewritten file", |found| {
        found.len() >= want.len()
    });

    let (found, stderr) = f.stop();
    assert!(
        stderr.contains("truncated"),
        "the truncation is noticed: {stderr}"
    );
    assert!(stderr.contains("0 input errors"), "{stderr}");
    assert_same(&found, &want);
    // The benign look-alikes of the captures stay unreported.
    for v in &found {
        let cmd = str_field(v, "command_line").unwrap_or("");
        assert!(
            !cmd.contains("grep nohup") && !cmd.contains("echo nohup"),
            "{}",
            brief(v)
        );
    }
}

#[test]
fn follows_stdin_until_it_ends() {
    let log = example_log();
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.log");
    fs::write(&whole, &log).unwrap();
    let want = expected(&whole);

    let mut f = Follower::start(
        &["hunt", "--follow", "--no-config", "-f", "jsonl", "-"],
        Stdio::piped(),
    );
    let mut stdin = f.child.stdin.take().unwrap();
    let half = log.len() / 2;
    stdin.write_all(&log[..half]).unwrap();
    stdin.flush().unwrap();
    f.wait_for("a finding while stdin is still open", |found| {
        !found.is_empty()
    });
    stdin.write_all(&log[half..]).unwrap();
    drop(stdin);
    // End of input: it flushes and exits by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    while f.child.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "did not exit at the end of stdin"
        );
        thread::sleep(Duration::from_millis(20));
    }
    let (found, stderr) = f.stop_exited();
    assert!(stderr.contains("1 file"), "{stderr}");
    assert_same(&found, &want);
}

impl Follower {
    fn stop_exited(mut self) -> (Vec<Value>, String) {
        let status = self.child.wait().unwrap();
        if let Some(r) = self.reader.take() {
            r.join().unwrap();
        }
        let mut err = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(status.success(), "exit status {status}; stderr:\n{err}");
        (self.findings(), err)
    }
}

#[test]
fn refuses_directories_and_content_it_cannot_follow() {
    let dir = tempfile::tempdir().unwrap();
    let out = common::run_sighunt(["hunt".as_ref(), "--follow".as_ref(), dir.path().as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "{}", out.describe());
    assert!(out.stderr.contains("is a directory"), "{}", out.describe());

    let out = common::run_sighunt(["hunt", "--follow", "--explain", "x.log"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.describe());
}
