use super::*;

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

use crate::rules::Rules;

/// Real kernel records (examples/linux/audit-raw.log, scenario 04): `sh -c "nohup
/// x4.sh >/dev/null 2>&1 &"` and the nohup exec it leads to, 8 ms later.
const SH_C_THEN_NOHUP: &str = r#"type=SYSCALL msg=audit(1795841764.979:2419): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f5130 a1=55c7864f6d90 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11843 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="sh" exe="/usr/bin/dash" key="sighunt_e2e"
type=BPRM_FCAPS msg=audit(1795841764.979:2419): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
type=EXECVE msg=audit(1795841764.979:2419): argc=3 a0="sh" a1="-c" a2=6E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
type=CWD msg=audit(1795841764.979:2419): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841764.979:2419): item=0 name="/usr/bin/sh" inode=247076 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841764.979:2419): proctitle=7368002D63006E6F687570202F746D702F73696768756E742D6532652E366C3155507A2F78342E7368203E2F6465762F6E756C6C20323E26312026
type=SYSCALL msg=audit(1795841764.987:2420): arch=c000003e syscall=59 success=yes exit=0 a0=5584f9fa2c80 a1=5584f97ac998 a2=5584f9fa2b58 a3=0 items=2 ppid=11843 pid=11844 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="nohup" exe="/usr/bin/nohup" key="sighunt_e2e"
type=EXECVE msg=audit(1795841764.987:2420): argc=2 a0="nohup" a1="/tmp/sighunt-e2e.6l1UPz/x4.sh"
type=CWD msg=audit(1795841764.987:2420): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841764.987:2420): item=0 name="/usr/bin/nohup" inode=247586 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841764.987:2420): proctitle=6E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F78342E7368
"#;

/// A benign look-alike from the same capture: `grep nohup notes.txt`.
const GREP_NOHUP: &str = r#"type=SYSCALL msg=audit(1795841767.511:2459): arch=c000003e syscall=59 success=yes exit=0 a0=55c7864f08a0 a1=55c7864f4dc0 a2=55c7864f4440 a3=bed3d784bbd6f765 items=2 ppid=11801 pid=11886 auid=31703 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=63 comm="grep" exe="/usr/bin/grep" key="sighunt_e2e"
type=BPRM_FCAPS msg=audit(1795841767.511:2459): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
type=EXECVE msg=audit(1795841767.511:2459): argc=3 a0="grep" a1="nohup" a2="/tmp/sighunt-e2e.6l1UPz/notes.txt"
type=CWD msg=audit(1795841767.511:2459): cwd="/tmp/sighunt-e2e.6l1UPz"
type=PATH msg=audit(1795841767.511:2459): item=0 name="/usr/bin/grep" inode=247264 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PATH msg=audit(1795841767.511:2459): item=1 name="/lib64/ld-linux-x86-64.so.2" inode=325843 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795841767.511:2459): proctitle=67726570006E6F687570002F746D702F73696768756E742D6532652E366C3155507A2F6E6F7465732E747874
"#;

fn engine(hold: Duration) -> Engine {
    Engine::new(
        &Rules::embedded(),
        EngineOptions {
            hold: Hold::Wall(hold),
            ..EngineOptions::default()
        },
        Box::new(|_| {}),
    )
    .unwrap()
}

fn feed(engine: &mut Engine, parser: &mut dyn LineParser, text: &str, first_line: u64) {
    for (i, line) in text.lines().enumerate() {
        parser.line(line.as_bytes(), first_line + i as u64, engine);
    }
}

#[test]
fn a_finding_waits_for_the_exec_that_amends_it() {
    let mut e = engine(Duration::from_secs(3600));
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, exec) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    feed(&mut e, &mut parser, sh_c, 1);
    // The event is complete at its PROCTITLE: a finding exists, held.
    assert_eq!(e.held(), 1);
    assert!(e.take_ready(Instant::now(), false).is_empty());
    feed(&mut e, &mut parser, exec, 7);
    // The nohup exec amended the held finding instead of adding a second one.
    assert_eq!(e.held(), 1);
    let ready = e.take_ready(Instant::now() + Duration::from_secs(3601), false);
    assert_eq!(ready.len(), 1, "{ready:?}");
    let f = &ready[0].finding;
    assert_eq!(f.nohup_target, "/tmp/sighunt-e2e.6l1UPz/x4.sh");
    assert_eq!(f.source.position, Position::Line(1));
    assert_eq!(ready[0].floor, 1);
    assert!(
        f.indicators.iter().any(|i| i == "temp_dir_payload"),
        "{:?}",
        f.indicators
    );
}

#[test]
fn released_at_once_the_exec_would_make_a_second_finding() {
    // What the hold prevents: with no hold the `sh -c` finding leaves before the
    // exec arrives, and the exec cannot amend it any more.
    let mut e = engine(Duration::ZERO);
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let mut out = Vec::new();
    for (i, line) in SH_C_THEN_NOHUP.lines().enumerate() {
        parser.line(line.as_bytes(), i as u64 + 1, &mut e);
        out.extend(e.take_ready(Instant::now(), false));
    }
    assert_eq!(out.len(), 2);
}

#[test]
fn a_log_time_hold_waits_for_the_host_log_not_the_clock() {
    let mut e = Engine::new(
        &Rules::embedded(),
        EngineOptions {
            hold: Hold::LogTime {
                window: chrono::TimeDelta::seconds(2),
                max_wall: Duration::from_secs(3600),
            },
            ..EngineOptions::default()
        },
        Box::new(|_| {}),
    )
    .unwrap();
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, _) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    feed(&mut e, &mut parser, sh_c, 1);
    // However long the reader stalls, the finding waits for the log to move on...
    assert!(
        e.take_ready(Instant::now() + Duration::from_secs(600), false)
            .is_empty()
    );
    // ...which it does once the host logs an event 2.5 s later (the grep).
    feed(&mut e, &mut parser, GREP_NOHUP, 7);
    assert_eq!(e.take_ready(Instant::now(), false).len(), 1);
}

#[test]
fn benign_look_alike_is_not_reported() {
    let mut e = engine(Duration::ZERO);
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    feed(&mut e, &mut parser, GREP_NOHUP, 1);
    parser.finish(&mut e);
    assert!(e.finish().is_empty());
    assert_eq!(e.stats.events, 1);
}

#[test]
fn held_findings_are_bounded() {
    let mut e = engine(Duration::from_secs(3600));
    let mut parser = crate::sources::auditd::AuditParser::new(Arc::from("audit.log"));
    let (sh_c, _) = SH_C_THEN_NOHUP.split_at(
        SH_C_THEN_NOHUP
            .find("type=SYSCALL msg=audit(1795841764.987")
            .unwrap(),
    );
    let mut released = 0;
    for i in 0..(MAX_HELD as u64 + 5) {
        // A distinct event and process each time (the same launch again would be
        // merged into the first finding).
        let text = sh_c
            .replace(":2419)", &format!(":{})", 10_000 + i))
            .replace("pid=11843", &format!("pid={}", 20_000 + i))
            .replace("ses=63", &format!("ses={}", 1_000 + i));
        feed(&mut e, &mut parser, &text, i * 10 + 1);
        released += e.take_ready(Instant::now(), false).len();
    }
    assert!(e.held() <= MAX_HELD);
    assert_eq!(released + e.held(), MAX_HELD + 5);
}

// ---------------------------------------------------------------------------------
// Line splitting and tail -F
// ---------------------------------------------------------------------------------

fn pieces(chunks: &[&[u8]]) -> Vec<String> {
    let mut s = Splitter::default();
    let mut out = Vec::new();
    let mut push = |p: Piece<'_>| {
        out.push(match p {
            Piece::Line(n, l) => format!("{n}:{}", String::from_utf8_lossy(l)),
            Piece::TooLong(n, b) => format!("{n}:<{b} bytes>"),
        })
    };
    for c in chunks {
        s.split(c, &mut push);
    }
    s.finish(&mut push);
    out
}

#[test]
fn splits_lines_cut_anywhere() {
    assert_eq!(
        pieces(&[b"ab", b"c\r\nde", b"f\n\ng", b"h"]),
        ["1:abc", "2:def", "3:", "4:gh"]
    );
    assert!(pieces(&[]).is_empty());
}

#[test]
fn skips_over_long_lines_without_buffering_them() {
    let long = vec![b'x'; MAX_LINE_BYTES + 10];
    let (a, b) = long.split_at(MAX_LINE_BYTES - 5);
    let out = pieces(&[b"ok\n", a, b, b"\nnext\n"]);
    assert_eq!(
        out,
        [
            "1:ok",
            &format!("2:<{} bytes>", MAX_LINE_BYTES + 11),
            "3:next"
        ]
    );
}

/// Lines fed, with their numbers.
type Lines = Arc<Mutex<Vec<(u64, String)>>>;

/// A parser that records the lines it is fed.
struct Recorder(Lines);

impl LineParser for Recorder {
    fn line(&mut self, line: &[u8], line_no: u64, _: &mut dyn EventSink) {
        self.0
            .lock()
            .unwrap()
            .push((line_no, String::from_utf8_lossy(line).into_owned()));
    }
    fn finish(&mut self, _: &mut dyn EventSink) {}
}

fn recorded(path: &Path) -> (Followed, Lines) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let mut f = Followed::new(path.to_path_buf(), None);
    f.feeder.parser = Some(Box::new(Recorder(lines.clone())));
    f.feeder.format = Some(InputFormat::Syslog);
    (f, lines)
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn texts(lines: &Lines) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .map(|(_, t)| t.clone())
        .collect()
}

fn numbered(from: usize, to: usize) -> String {
    (from..=to).map(|i| format!("line {i}\n")).collect()
}

fn expected(from: usize, to: usize) -> Vec<String> {
    (from..=to).map(|i| format!("line {i}")).collect()
}

#[test]
fn follows_across_rotation_without_losing_or_repeating_a_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut e = engine(Duration::ZERO);
    let (mut f, lines) = recorded(&path);
    append(&path, &numbered(1, 100));
    append(&path, "line 10");
    f.poll(Instant::now(), &mut e);
    assert_eq!(
        texts(&lines),
        expected(1, 100),
        "the unterminated line waits"
    );
    // logrotate's create mode: rename, then the writer appends to the old file
    // until it reopens, while the new file already gets lines.
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(
        &dir.path().join("app.log.1"),
        &format!("1\n{}", numbered(102, 110)),
    );
    append(&path, &numbered(111, 120));
    let now = Instant::now();
    f.poll(now, &mut e);
    f.poll(now, &mut e);
    assert_eq!(texts(&lines), expected(1, 120));
    // The rotated file is still read while it may grow.
    append(&dir.path().join("app.log.1"), "late line\n");
    append(&path, &numbered(121, 121));
    f.poll(now, &mut e);
    let mut want = expected(1, 120);
    want.push("late line".into());
    want.push("line 121".into());
    assert_eq!(texts(&lines), want);
    // Once quiet for the grace period it is closed; nothing is read twice.
    let later = Instant::now() + RETIRE_GRACE;
    f.poll(later, &mut e);
    assert!(f.retired.is_empty());
    f.poll(later, &mut e);
    assert_eq!(texts(&lines), want);
    // Line numbers are the lines' own in their file.
    let numbers: Vec<u64> = lines.lock().unwrap().iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers[100], 101);
    assert_eq!(numbers[110], 1);
}

#[test]
fn a_truncated_file_is_read_again_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut e = engine(Duration::ZERO);
    let (mut f, lines) = recorded(&path);
    append(&path, &numbered(1, 10));
    f.poll(Instant::now(), &mut e);
    File::create(&path).unwrap();
    append(&path, "after 1\nafter 2\n");
    f.poll(Instant::now(), &mut e);
    let mut want = expected(1, 10);
    want.extend(["after 1".to_string(), "after 2".to_string()]);
    assert_eq!(texts(&lines), want);
    assert_eq!(lines.lock().unwrap()[10].0, 1);
    assert_eq!(
        e.stats.input_errors, 0,
        "a truncation is a notice, not an error"
    );
}

#[test]
fn waits_for_a_file_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let notices = Arc::new(Mutex::new(Vec::new()));
    let n2 = notices.clone();
    let mut e = Engine::new(
        &Rules::embedded(),
        EngineOptions::default(),
        Box::new(move |err| n2.lock().unwrap().push(err.to_string())),
    )
    .unwrap();
    let (mut f, lines) = recorded(&path);
    f.poll(Instant::now(), &mut e);
    f.poll(Instant::now(), &mut e);
    assert_eq!(notices.lock().unwrap().len(), 1, "reported once");
    append(&path, "hello\n");
    f.poll(Instant::now(), &mut e);
    assert_eq!(texts(&lines), ["hello"]);
    assert_eq!(e.stats.input_errors, 0);
}

#[test]
fn the_format_is_sniffed_from_the_first_lines_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.log");
    let mut e = engine(Duration::ZERO);
    let mut f = Followed::new(path.clone(), None);
    // Only the first record at first: too little to decide on a full sniff window,
    // so the format is decided when the file is caught up, and the line is kept.
    let (first, rest) = SH_C_THEN_NOHUP.split_once('\n').unwrap();
    append(&path, &format!("{first}\n"));
    f.poll(Instant::now(), &mut e);
    assert_eq!(f.feeder.format(), Some(InputFormat::Auditd));
    append(&path, rest);
    f.poll(Instant::now(), &mut e);
    let ready = e.take_ready(Instant::now(), true);
    assert_eq!(ready.len(), 1);
    assert_eq!(ready[0].finding.source.position, Position::Line(1));
}

#[test]
fn unknown_and_compressed_content_is_refused_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = engine(Duration::ZERO);
    let text = dir.path().join("notes.txt");
    append(&text, "just some text\n");
    let mut f = Followed::new(text, None);
    f.poll(Instant::now(), &mut e);
    assert!(f.feeder.failed);
    let gz = dir.path().join("a.gz");
    fs::write(&gz, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, b'\n']).unwrap();
    let mut g = Followed::new(gz, None);
    g.poll(Instant::now(), &mut e);
    assert!(g.feeder.failed);
    assert_eq!(e.stats.input_errors, 2);
}

#[test]
fn idle_flush_completes_an_event_without_end_marker() {
    // An exec whose PROCTITLE never comes (a collector dropped it): completed
    // after the idle timeout, not left pending forever.
    let mut e = engine(Duration::ZERO);
    let mut feeder = Feeder::new(Arc::from("audit.log"), Some(InputFormat::Auditd));
    let exec: Vec<&str> = SH_C_THEN_NOHUP.lines().skip(6).take(4).collect();
    for (i, l) in exec.iter().enumerate() {
        feeder.line(l.as_bytes(), i as u64 + 1, &mut e);
    }
    assert_eq!(e.stats.events, 0);
    feeder.idle_flush(Instant::now(), Duration::from_secs(3600), &mut e);
    assert_eq!(e.stats.events, 0);
    feeder.idle_flush(
        Instant::now() + Duration::from_secs(2),
        Duration::from_secs(1),
        &mut e,
    );
    assert_eq!(e.stats.events, 1);
    let ready = e.take_ready(Instant::now(), true);
    assert_eq!(ready.len(), 1);
    assert_eq!(
        ready[0].finding.nohup_target,
        "/tmp/sighunt-e2e.6l1UPz/x4.sh"
    );
}

#[test]
fn reader_thread_hands_over_lines_without_waiting_for_more() {
    let (mut w, r) = std::os::unix::net::UnixStream::pair().unwrap();
    let rx = spawn_line_reader(r);
    w.write_all(b"one\ntwo\nthr").unwrap();
    let mut got = Vec::new();
    while got.len() < 2 {
        match rx
            .recv_timeout(Duration::from_secs(5))
            .expect("lines arrive without EOF")
        {
            Chunk::Lines(l) => got.extend(
                l.into_iter()
                    .map(|(n, t)| (n, String::from_utf8(t).unwrap())),
            ),
            _ => panic!("unexpected chunk"),
        }
    }
    assert_eq!(got, [(1, "one".to_string()), (2, "two".to_string())]);
    w.write_all(b"ee").unwrap();
    drop(w);
    match rx.recv_timeout(Duration::from_secs(5)).unwrap() {
        Chunk::Lines(l) => assert_eq!(l, [(3, b"three".to_vec())]),
        _ => panic!("unexpected chunk"),
    }
    assert!(
        rx.recv_timeout(Duration::from_secs(5)).is_err(),
        "closed at EOF"
    );
}
