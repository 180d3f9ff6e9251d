//! Compressed logs and binary journal files, made by the real tools (`xz`, `bzip2`,
//! `lz4`, `gzip`, `zstd`, systemd's `systemd-journal-remote`): a compressed copy of a
//! log gives exactly the findings of the plain file, concatenated archives are read
//! to the end, a corrupt one is an error that names the file, and a binary journal
//! is read through journalctl or refused with a message that says what to do.
//! A test whose tool is missing says SKIP (scripts/ci-decode.sh installs them).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{SIGHUNT_TIMEOUT, manifest_dir, parse_jsonl, run_sighunt, run_with_timeout, which};
use serde_json::Value;

/// The findings of `path` with the `source.path` dropped (it names the file).
fn findings(path: &Path) -> Vec<Value> {
    let run = run_sighunt(["hunt", "-f", "jsonl", path.to_str().unwrap()]);
    assert!(run.success(), "{}", run.describe());
    assert!(
        !run.stderr.contains("input error") || run.stderr.contains(" 0 input errors"),
        "{}",
        run.describe()
    );
    let mut values = parse_jsonl(&run.stdout).unwrap();
    // The file's name differs between an archive and its plain copy: so do the
    // path-derived id and the evidence's path.
    for v in &mut values {
        v["source"].as_object_mut().unwrap().remove("path");
        v.as_object_mut().unwrap().remove("id");
        if let Some(related) = v["related"].as_array_mut() {
            for r in related {
                if let Some(source) = r["source"].as_object_mut() {
                    source.remove("path");
                }
            }
        }
    }
    values
}

/// Runs `tool ARGS` in `dir`; false (with a SKIP line) when the tool is missing.
fn tool(dir: &Path, program: &str, args: &[&str]) -> bool {
    if which(program).is_none() {
        eprintln!("SKIP: {program} is not installed");
        return false;
    }
    let run = run_with_timeout(
        Command::new(program).args(args).current_dir(dir),
        SIGHUNT_TIMEOUT,
    );
    assert!(run.success(), "{}", run.describe());
    true
}

fn plain_copy(dir: &Path) -> PathBuf {
    let plain = dir.join("audit.log");
    fs::copy(manifest_dir().join("examples/linux/audit-raw.log"), &plain).unwrap();
    plain
}

#[test]
fn every_compression_gives_the_findings_of_the_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_copy(dir.path());
    let expected = findings(&plain);
    assert!(expected.len() > 10);
    for (program, args, output) in [
        ("xz", vec!["-k", "audit.log"], "audit.log.xz"),
        ("bzip2", vec!["-k", "audit.log"], "audit.log.bz2"),
        (
            "lz4",
            vec!["-q", "audit.log", "audit.log.lz4"],
            "audit.log.lz4",
        ),
        ("gzip", vec!["-k", "audit.log"], "audit.log.gz"),
        ("zstd", vec!["-q", "-k", "audit.log"], "audit.log.zst"),
    ] {
        if !tool(dir.path(), program, &args) {
            continue;
        }
        // Renamed: the content decides, not the extension.
        let renamed = dir.path().join(format!("{program}-archive.dat"));
        fs::rename(dir.path().join(output), &renamed).unwrap();
        assert_eq!(findings(&renamed), expected, "{program}");
    }
}

#[test]
fn concatenated_archives_are_read_to_the_end() {
    // `xz -c a b > ab.xz` and friends write one stream per file.
    let dir = tempfile::tempdir().unwrap();
    let plain = plain_copy(dir.path());
    let syslog = dir.path().join("syslog.log");
    fs::copy(
        manifest_dir().join("examples/syslog/syslog-3164.log"),
        &syslog,
    )
    .unwrap();
    let both = dir.path().join("both.log");
    fs::write(
        &both,
        [fs::read(&plain).unwrap(), fs::read(&syslog).unwrap()].concat(),
    )
    .unwrap();
    let expected = findings(&both);
    for (program, args, ext) in [
        ("xz", ["-k", "-f"], "xz"),
        ("bzip2", ["-k", "-f"], "bz2"),
        ("lz4", ["-q", "-m"], "lz4"),
    ] {
        let mut ok = true;
        for f in ["audit.log", "syslog.log"] {
            ok &= tool(dir.path(), program, &[args[0], args[1], f]);
        }
        if !ok {
            continue;
        }
        let joined = dir.path().join(format!("joined.{ext}"));
        fs::write(
            &joined,
            [
                fs::read(dir.path().join(format!("audit.log.{ext}"))).unwrap(),
                fs::read(dir.path().join(format!("syslog.log.{ext}"))).unwrap(),
            ]
            .concat(),
        )
        .unwrap();
        assert_eq!(findings(&joined), expected, "{program}: both streams");
    }
}

#[test]
fn a_truncated_archive_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    plain_copy(dir.path());
    if !tool(dir.path(), "xz", &["-k", "audit.log"]) {
        return;
    }
    let archive = dir.path().join("audit.log.xz");
    let bytes = fs::read(&archive).unwrap();
    fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let run = run_sighunt(["hunt", "-f", "jsonl", archive.to_str().unwrap()]);
    assert!(
        !run.timed_out && run.status.code() != Some(101),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("audit.log.xz")
            && (run.stderr.contains("read error") || run.stderr.contains("corrupt or truncated")),
        "{}",
        run.describe()
    );
    // --strict makes it fail the run.
    let strict = run_sighunt(["hunt", "--strict", "-f", "jsonl", archive.to_str().unwrap()]);
    assert_eq!(strict.status.code(), Some(2), "{}", strict.describe());
}

/// A binary journal file with a sudo entry that nohups a hidden payload and a benign
/// sshd entry, written by systemd-journal-remote; `None` when it is not installed.
fn make_journal(dir: &Path) -> Option<PathBuf> {
    let remote = [
        "/usr/lib/systemd/systemd-journal-remote",
        "/lib/systemd/systemd-journal-remote",
    ]
    .into_iter()
    .map(PathBuf::from)
    .find(|p| p.exists())?;
    let export = "__REALTIME_TIMESTAMP=1700000000000000\n__MONOTONIC_TIMESTAMP=1000\n\
_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web01\nSYSLOG_IDENTIFIER=sudo\n_PID=4242\n\
MESSAGE=   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/nohup /tmp/.x/miner -o pool.example:3333\n\n\
__REALTIME_TIMESTAMP=1700000001000000\n__MONOTONIC_TIMESTAMP=2000\n\
_BOOT_ID=0123456789abcdef0123456789abcdef\n_HOSTNAME=web01\nSYSLOG_IDENTIFIER=sshd\n_PID=99\n\
MESSAGE=Accepted publickey for alice from 10.0.0.1 port 50000 ssh2\n\n";
    let input = dir.join("entries.export");
    fs::write(&input, export).unwrap();
    let journal = dir.join("system.journal");
    let run = run_with_timeout(
        Command::new(remote)
            .arg(format!("--output={}", journal.display()))
            .arg(&input),
        SIGHUNT_TIMEOUT,
    );
    assert!(run.success(), "{}", run.describe());
    Some(journal)
}

#[test]
fn a_binary_journal_is_read_through_journalctl() {
    let dir = tempfile::tempdir().unwrap();
    let Some(journal) = make_journal(dir.path()) else {
        eprintln!("SKIP: systemd-journal-remote is not installed");
        return;
    };
    if which("journalctl").is_none() {
        eprintln!("SKIP: journalctl is not installed");
        return;
    }
    let run = run_sighunt(["hunt", "-f", "jsonl", journal.to_str().unwrap()]);
    assert!(run.success(), "{}", run.describe());
    let found = parse_jsonl(&run.stdout).unwrap();
    assert_eq!(found.len(), 1, "the sudo nohup, not sshd: {}", run.stdout);
    assert_eq!(found[0]["nohup_target"], "/tmp/.x/miner");
    assert_eq!(found[0]["host"], "web01");
    assert_eq!(found[0]["source"]["format"], "journald");
}

#[test]
fn without_journalctl_a_binary_journal_gets_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let Some(journal) = make_journal(dir.path()) else {
        eprintln!("SKIP: systemd-journal-remote is not installed");
        return;
    };
    let run = run_with_timeout(
        Command::new(common::sighunt_bin())
            .env("PATH", dir.path())
            .args(["hunt", journal.to_str().unwrap()]),
        SIGHUNT_TIMEOUT,
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.describe());
    assert!(
        run.stderr.contains("binary journald file")
            && run.stderr.contains("journalctl is not installed")
            && run.stderr.contains("journalctl --file FILE -o json"),
        "{}",
        run.describe()
    );
}
