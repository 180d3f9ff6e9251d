//! A hunt stopped by SIGINT or SIGTERM writes what it found, sorted as asked, prints
//! its summary and exits with status 130; with `--sort none` the findings of a
//! finished input are written while the hunt still runs; a file that shrinks while
//! it is read is an input error.
//!
//! No timing guesses: the hunt is held mid-input by a pipe whose writer stays open,
//! and the test knows sighunt has read an event once it has taken several MiB
//! written after it (more than any pipe or read buffer holds).

mod common;

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::sighunt_bin;

/// A nohup launch (one finding), at second `secs` of the log.
fn nohup_event(serial: u64, pid: u32, secs: u64, target: &str) -> String {
    common::nohup_launch(1_700_000_000 + secs, 0, serial, pid, target)
}

/// About `mib` MiB of benign audit events (logins), after serial `from`.
fn benign_events(from: u64, mib: usize) -> String {
    let mut out = String::new();
    let mut serial = from;
    while out.len() < mib << 20 {
        serial += 1;
        out.push_str(&format!(
            "type=USER_LOGIN msg=audit(1700000900.000:{serial}): pid=77 uid=0 auid=1000 ses=3 msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=? addr=10.0.0.5 terminal=ssh res=success'\n"
        ));
    }
    out
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

fn spawn(args: &[&str], paths: &[&Path], stdin: Stdio) -> Child {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(sighunt_bin());
    // SAFETY: only async-signal-safe calls between fork and exec. A test run in the
    // background of a shell ignores SIGINT, and sighunt keeps an ignored signal
    // ignored: the child gets the default dispositions back.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            Ok(())
        });
    }
    cmd.args(["hunt", "--no-config", "--no-progress"])
        .args(args)
        .args(paths)
        .env("NO_COLOR", "1")
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: signalling our own child.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, sig) }, 0);
}

/// Waits for the child (killed after a hang guard, not a timing assertion) and
/// returns its exit code, stdout (after `before`) and stderr.
fn finish(mut child: Child, before: String) -> (Option<i32>, String, String) {
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        stdout.read_to_string(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("sighunt did not end after the signal");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code(),
        before + &out.join().unwrap(),
        err.join().unwrap(),
    )
}

fn pids(jsonl: &str) -> Vec<u64> {
    common::parse_jsonl(jsonl)
        .unwrap_or_else(|e| panic!("{e}\n{jsonl}"))
        .iter()
        .filter_map(|f| f["pid"].as_u64())
        .collect()
}

#[test]
fn sigint_during_a_sorted_hunt_of_stdin_writes_what_was_found_and_exits_130() {
    let mut child = spawn(&["-f", "jsonl"], &[Path::new("-")], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    // Two findings, then 8 MiB of benign events: once the pipe has taken them all,
    // sighunt has read and detected well past the findings. The pipe stays open.
    let mut data = nohup_event(10, 4242, 1, "/tmp/.x/implant");
    data.push_str(&nohup_event(11, 4343, 2, "/dev/shm/.y"));
    data.push_str(&benign_events(11, 8));
    stdin.write_all(data.as_bytes()).unwrap();
    signal(&child, libc::SIGINT);
    let (code, stdout, stderr) = finish(child, String::new());
    drop(stdin);
    assert_eq!(code, Some(130), "{stderr}");
    // Newest first, as the finished hunt would write them.
    assert_eq!(pids(&stdout), vec![4343, 4242], "{stdout}\n{stderr}");
    assert!(
        stderr.contains("sighunt: 1 file, ") && stderr.contains(" 2 findings ("),
        "the summary of the hunt so far\n{stderr}"
    );
    assert!(stderr.contains("sighunt: interrupted"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn sigterm_with_sort_none_keeps_what_finished_inputs_wrote_and_adds_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let finished = dir.path().join("a-finished.log");
    let events: String = (0..3)
        .map(|i| nohup_event(100 + i, 5000 + i as u32, 10 + i, "/tmp/.x/implant"))
        .collect();
    std::fs::write(&finished, events).unwrap();
    let fifo = dir.path().join("b-pipe");
    mkfifo(&fifo);
    // Our end of the FIFO, open before sighunt opens its own (read and write: it
    // does not wait for a reader), so sighunt never sees a FIFO without a writer.
    let mut writer = OpenOptions::new()
        .read(true)
        .write(true)
        .open(&fifo)
        .unwrap();
    // Two workers: the finished file is read while the other waits on the FIFO.
    let mut child = spawn(
        &["-f", "jsonl", "--sort", "none", "-j2"],
        &[&finished, &fifo],
        Stdio::null(),
    );
    // One finding, then more than any buffer holds, then silence.
    let mut data = nohup_event(900, 9000, 5, "/tmp/.y/held");
    data.push_str(&benign_events(900, 8));
    writer.write_all(data.as_bytes()).unwrap();
    // The finished input's findings come while the hunt still runs.
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut early = String::new();
    for _ in 0..3 {
        stdout.read_line(&mut early).unwrap();
    }
    assert_eq!(pids(&early), vec![5000, 5001, 5002], "in log order");
    // What the reader holds beyond those lines belongs to the rest.
    early.push_str(&String::from_utf8_lossy(stdout.buffer()));
    child.stdout = Some(stdout.into_inner());
    signal(&child, libc::SIGTERM);
    let (code, stdout, stderr) = finish(child, early);
    drop(writer);
    assert_eq!(code, Some(130), "{stderr}");
    assert_eq!(
        pids(&stdout),
        vec![5000, 5001, 5002, 9000],
        "the cut-short input's finding is added\n{stderr}"
    );
    assert!(stderr.contains(" 4 findings ("), "{stderr}");
}

#[test]
fn a_file_that_shrinks_while_it_is_read_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shrinking.log");
    // 12k findings: the engine releases its oldest findings in thousands, far more
    // JSON than a pipe holds, so sighunt waits on its stdout mid-file until the
    // test reads; the file is cut before that.
    let mut f = std::io::BufWriter::new(File::create(&path).unwrap());
    for i in 0..12_000u64 {
        f.write_all(nohup_event(100 + i, 20_000 + i as u32, i, "/tmp/.x/a").as_bytes())
            .unwrap();
    }
    f.write_all(benign_events(20_000, 4).as_bytes()).unwrap();
    drop(f);
    let child = spawn(
        &["-f", "jsonl", "--sort", "none", "-j1"],
        &[&path],
        Stdio::null(),
    );
    let mut child = child;
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert_eq!(pids(&first), vec![20_000], "the oldest finding first");
    first.push_str(&String::from_utf8_lossy(stdout.buffer()));
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(1000)
        .unwrap();
    child.stdout = Some(stdout.into_inner());
    let (code, stdout, stderr) = finish(child, first);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("shrinking.log") && stderr.contains("shrank while it was read"),
        "named, with what happened\n{stderr}"
    );
    assert!(stderr.contains(", 1 input error"), "counted\n{stderr}");
    // What was read before the cut is still reported.
    assert!(pids(&stdout).len() >= 4000, "{stderr}");
}
