//! Bad input never stops a hunt: a garbage file, a truncated gzip and a 50 MB single
//! line each get a clear error naming the file, and the good files beside them are
//! still scanned and their findings reported.

mod common;

use std::io::Write;

use common::{indicators, run_sighunt, str_field};

const NOHUP_EVENT: &str = "type=SYSCALL msg=audit(1700000000.000:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid=4242 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)
type=EXECVE msg=audit(1700000000.000:10): argc=2 a0=\"nohup\" a1=\"/tmp/.x/payload\"
type=CWD msg=audit(1700000000.000:10): cwd=\"/root\"
type=PROCTITLE msg=audit(1700000000.000:10): proctitle=6E6F687570002F746D702F2E782F7061796C6F6164
";

#[test]
fn garbage_truncated_gzip_and_huge_line_are_reported_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("a-good.log");
    std::fs::write(&good, NOHUP_EVENT).unwrap();

    let garbage = dir.path().join("b-garbage.bin");
    let junk: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, junk).unwrap();

    // A gzip of a real audit log, cut in the middle of its deflate stream.
    let truncated = dir.path().join("c-truncated.log.gz");
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    for i in 0..2_000 {
        enc.write_all(
            NOHUP_EVENT
                .replace(":10)", &format!(":{})", 100 + i))
                .as_bytes(),
        )
        .unwrap();
    }
    let gz = enc.finish().unwrap();
    std::fs::write(&truncated, &gz[..gz.len() / 2]).unwrap();

    // A 50 MB line in an otherwise valid audit log, with a nohup event after it.
    let huge = dir.path().join("d-huge-line.log");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&huge).unwrap());
        f.write_all(b"type=EXECVE msg=audit(1700000001.000:20): argc=1 a0=")
            .unwrap();
        let chunk = vec![b'A'; 1 << 20];
        for _ in 0..50 {
            f.write_all(&chunk).unwrap();
        }
        f.write_all(b"\n").unwrap();
        f.write_all(
            NOHUP_EVENT
                .replace(":10)", ":30)")
                .replace("4242", "4343")
                .as_bytes(),
        )
        .unwrap();
    }

    // A file found in a directory walk that is no log is skipped and counted; a file
    // the user names is an error. Name the garbage, walk the rest.
    let stray = dir.path().join("e-notes.txt");
    std::fs::write(&stray, "scenario notes, not a log\n").unwrap();
    let out = run_sighunt([
        "hunt".as_ref(),
        "--format".as_ref(),
        "jsonl".as_ref(),
        dir.path().as_os_str(),
        garbage.as_os_str(),
    ]);
    assert!(out.success(), "{}", out.describe());

    // Each bad file is named in a clear error.
    let err = &out.stderr;
    assert!(
        err.contains("b-garbage.bin") && err.contains("format not recognised"),
        "{err}"
    );
    assert!(
        err.contains("c-truncated.log.gz") && err.contains("read error"),
        "{err}"
    );
    assert!(
        err.contains("d-huge-line.log") && err.contains("line 1") && err.contains("exceeds"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    // The good file, the records before the gzip cut, and the event after the long
    // line are all still found.
    let findings = common::parse_jsonl(&out.stdout).unwrap();
    let paths: Vec<&str> = findings
        .iter()
        .filter_map(|f| f["source"]["path"].as_str())
        .collect();
    assert!(paths.iter().any(|p| p.ends_with("a-good.log")), "{paths:?}");
    assert!(
        paths
            .iter()
            .filter(|p| p.ends_with("c-truncated.log.gz"))
            .count()
            > 10,
        "{paths:?}"
    );
    let after_long = findings
        .iter()
        .find(|f| {
            f["source"]["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("d-huge-line.log"))
        })
        .expect("the event after the 50 MB line");
    assert_eq!(after_long["pid"], 4343);
    assert_eq!(after_long["source"]["line"], 2);
    for f in &findings {
        assert_eq!(str_field(f, "nohup_target"), Some("/tmp/.x/payload"));
        assert!(indicators(f).contains(&"hidden_path"));
    }
    // The summary counts the three input errors, and the skipped stray file (the
    // garbage file is met twice: skipped in the walk, an error when named).
    assert!(err.contains("3 input errors"), "{err}");
    assert!(err.contains("2 skipped"), "{err}");
    // A skipped file is no error, but it is named in the summary (few of them).
    assert!(
        err.lines()
            .filter(|l| l.contains("e-notes.txt"))
            .all(|l| l.starts_with("sighunt: skipped (not a log format sighunt reads): ")),
        "a skipped file is named, not reported as an error: {err}"
    );
    assert!(err.contains("e-notes.txt"), "{err}");
}

#[test]
fn unreadable_paths_and_symlink_loops_do_not_stop_the_walk() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("good.log"), NOHUP_EVENT).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let missing = dir.path().join("does-not-exist.log");
    let out = run_sighunt([
        "hunt".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
        dir.path().as_os_str(),
        missing.as_os_str(),
    ]);
    assert!(out.success(), "{}", out.describe());
    assert!(out.stderr.contains("does-not-exist.log"), "{}", out.stderr);
    // A walk does not follow links by default: the loop is counted, not entered.
    assert!(out.stderr.contains("(1 not read"), "{}", out.stderr);
    let findings = common::parse_jsonl(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "good.log is scanned once");

    // Following links, the loop is detected and reported, not followed forever.
    let out = run_sighunt([
        "hunt".as_ref(),
        "-f".as_ref(),
        "jsonl".as_ref(),
        "--follow-links".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert!(out.success(), "{}", out.describe());
    assert!(out.stderr.contains("symlink loop"), "{}", out.stderr);
    let findings = common::parse_jsonl(&out.stdout).unwrap();
    assert_eq!(
        findings.len(),
        1,
        "good.log is scanned once, not once per loop turn"
    );
}

#[test]
fn stdin_zstd_and_fail_on_exit_code() {
    let compressed = zstd::encode_all(NOHUP_EVENT.as_bytes(), 3).unwrap();
    let mut child = std::process::Command::new(common::sighunt_bin())
        .args(["hunt", "--format", "csv", "--fail-on", "medium", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&compressed).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a medium+ finding with --fail-on medium exits 1"
    );
    let csv = String::from_utf8(out.stdout).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("time,host,platform,detection_type,exec_cmd,nohup_target")
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains("/tmp/.x/payload") && row.contains(",-,line 1,auditd"),
        "{row}"
    );

    // Below the threshold: exit 0 (an empty log; /dev/null is a device, not read).
    let empty = tempfile::NamedTempFile::new().unwrap();
    let out = run_sighunt([
        "hunt",
        "--fail-on",
        "critical",
        "--min-severity",
        "high",
        "-q",
        empty.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", out.describe());
}

#[test]
fn files_and_directories_the_user_cannot_read_are_reported_and_skipped() {
    // Permissions mean nothing to root: run sighunt as `nobody` (util-linux setpriv).
    let (Some(setpriv), true) = (common::which("setpriv"), common::is_root()) else {
        eprintln!("SKIP: needs root and setpriv to run sighunt as an unprivileged user");
        return;
    };
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    mode(dir.path(), 0o755);
    std::fs::write(dir.path().join("good.log"), NOHUP_EVENT).unwrap();
    mode(&dir.path().join("good.log"), 0o644);
    std::fs::write(dir.path().join("secret.log"), NOHUP_EVENT).unwrap();
    mode(&dir.path().join("secret.log"), 0o000);
    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::write(private.join("hidden.log"), NOHUP_EVENT).unwrap();
    mode(&private, 0o700);
    let out = common::run_with_timeout(
        std::process::Command::new(setpriv)
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(common::sighunt_bin())
            .args(["hunt", "-f", "jsonl"])
            .arg(dir.path()),
        common::SIGHUNT_TIMEOUT,
    );
    if matches!(out.status.code(), Some(126 | 127)) {
        // setpriv could not exec the binary: a checkout nobody cannot enter.
        eprintln!("SKIP: sighunt is not executable by nobody: {}", out.stderr);
        return;
    }
    assert!(out.success(), "{}", out.describe());
    assert!(
        out.stderr.contains("secret.log") && out.stderr.contains("private"),
        "both are named: {}",
        out.stderr
    );
    assert!(out.stderr.contains("2 input errors"), "{}", out.stderr);
    let findings = common::parse_jsonl(&out.stdout).unwrap();
    assert_eq!(findings.len(), 1, "good.log is still read: {}", out.stdout);
}
