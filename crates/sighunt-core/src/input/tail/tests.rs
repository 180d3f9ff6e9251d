use super::*;

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

use crate::engine::tests::{SH_C_THEN_NOHUP, engine};
use crate::engine::{Engine, EngineOptions};
use crate::event::Position;
use crate::rules::Rules;

use crate::sources::LineParser;

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
fn two_rotations_within_one_poll_lose_no_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let (one, two) = (dir.path().join("app.log.1"), dir.path().join("app.log.2"));
    let mut e = engine(Duration::ZERO);
    let (mut f, lines) = recorded(&path);
    append(&path, &numbered(1, 10));
    f.poll(Instant::now(), &mut e);
    // Between two polls: logrotate runs twice (create mode, `rotate 2`).
    append(&path, &numbered(11, 20));
    fs::rename(&path, &one).unwrap();
    append(&path, &numbered(21, 30));
    fs::rename(&one, &two).unwrap();
    fs::rename(&path, &one).unwrap();
    append(&path, &numbered(31, 40));
    // An older rotated file, never followed and not modified since: not read.
    let old = dir.path().join("app.log-20200101");
    append(&old, "stale line\n");
    let long_ago = std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(1_577_836_800);
    File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(long_ago)
        .unwrap();
    // And a compressed one written just now: never read as text.
    append(&dir.path().join("app.log.3.gz"), "\x1f\u{8b}binary\n");
    f.poll(Instant::now(), &mut e);
    f.poll(Instant::now(), &mut e);
    assert_eq!(texts(&lines), expected(1, 40), "every line once, in order");
    // The generation found late is not read again on later polls.
    append(&path, &numbered(41, 41));
    f.poll(Instant::now(), &mut e);
    assert_eq!(texts(&lines), expected(1, 41));
}

#[test]
fn a_file_truncated_then_grown_past_the_position_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut e = engine(Duration::ZERO);
    let (mut f, lines) = recorded(&path);
    append(&path, &numbered(1, 5));
    f.poll(Instant::now(), &mut e);
    // Truncated, then a large write before the next poll: the size grew, but the
    // bytes before the old position are new ones.
    File::create(&path).unwrap();
    let big: String = (1..=200).map(|i| format!("new {i}\n")).collect();
    append(&path, &big);
    f.poll(Instant::now(), &mut e);
    let mut want = expected(1, 5);
    want.extend((1..=200).map(|i| format!("new {i}")));
    assert_eq!(texts(&lines), want);
    // Plain growth is not mistaken for a rewrite.
    append(&path, "new 201\n");
    f.poll(Instant::now(), &mut e);
    want.push("new 201".into());
    assert_eq!(texts(&lines), want);
}

#[test]
fn a_fifo_at_the_followed_path_is_reported_never_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let mut e = engine(Duration::ZERO);
    let (mut f, lines) = recorded(&path);
    assert!(!f.poll(Instant::now(), &mut e));
    assert!(texts(&lines).is_empty());
    assert_eq!(e.stats.input_errors, 1, "reported once");
    f.poll(Instant::now(), &mut e);
    assert_eq!(e.stats.input_errors, 1);
}
