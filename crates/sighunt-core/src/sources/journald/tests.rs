//! journald JSON export. The entries follow `journalctl -o json` (every value a
//! string, binary values as byte arrays) and, for `_TRANSPORT=audit`, what
//! systemd's `journald-audit.c` stores (`MESSAGE=<TYPE> <fields>`, `_AUDIT_ID`,
//! `_AUDIT_TYPE`, `_SOURCE_REALTIME_TIMESTAMP`).

use super::*;
use crate::event::{Event, ProcessOrigin};

use crate::sources::CollectingSink as Collect;

fn feed(text: &str) -> Collect {
    let mut parser = JournaldParser::new(Arc::from("journal.json"));
    let mut sink = Collect::default();
    for (i, line) in text.lines().enumerate() {
        parser.line(line.as_bytes(), i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    sink
}

const SUDO: &str = r#"{"__CURSOR":"s=3f1c0b5e2d8a4c7f9e6b1a2d3c4e5f60;i=1a2b;b=0123456789abcdef0123456789abcdef;m=2b3c4d5e;t=5f1e2d3c4b5a6;x=7a8b9c0d1e2f3a4b","__REALTIME_TIMESTAMP":"1795838970123456","__MONOTONIC_TIMESTAMP":"725368158","_BOOT_ID":"0123456789abcdef0123456789abcdef","PRIORITY":"5","SYSLOG_FACILITY":"10","_UID":"1000","_GID":"1000","_CAP_EFFECTIVE":"1ffffffffff","_MACHINE_ID":"fedcba9876543210fedcba9876543210","_HOSTNAME":"web01","_TRANSPORT":"syslog","SYSLOG_IDENTIFIER":"sudo","SYSLOG_TIMESTAMP":"Nov 28 04:09:30 ","_COMM":"sudo","_EXE":"/usr/bin/sudo","_CMDLINE":"sudo nohup /dev/shm/.p/x","_PID":"4242","MESSAGE":"   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/nohup /dev/shm/.p/x","_SOURCE_REALTIME_TIMESTAMP":"1795838970123400"}"#;

const CRON: &str = r#"{"__CURSOR":"s=3f1c;i=1a2c","__REALTIME_TIMESTAMP":"1795838961000001","_HOSTNAME":"web01","_TRANSPORT":"syslog","SYSLOG_IDENTIFIER":"CRON","_COMM":"cron","_PID":"5151","SYSLOG_PID":"5151","MESSAGE":"(root) CMD (nohup /opt/agent/run.sh >/dev/null 2>&1 &)"}"#;

#[test]
fn syslog_transport_entries_are_read_as_messages() {
    let c = feed(&format!("{SUDO}\n{CRON}"));
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.events.len(), 2);
    let Event::Process(sudo) = &c.events[0] else {
        panic!()
    };
    assert_eq!(sudo.provenance.format, FORMAT);
    assert_eq!(sudo.host, "web01");
    assert_eq!(sudo.user.as_deref(), Some("alice"));
    assert_eq!(sudo.ppid, Some(4242));
    assert_eq!(sudo.argv, ["/usr/bin/nohup", "/dev/shm/.p/x"]);
    assert_eq!(
        sudo.time.unwrap().to_rfc3339(),
        "2026-11-28T04:09:30.123456+00:00"
    );
    let Event::Process(cron) = &c.events[1] else {
        panic!()
    };
    assert_eq!(cron.origin, ProcessOrigin::Scheduler("CRON".into()));
    assert_eq!(cron.pid, Some(5151));
}

const AUDIT_ENTRIES: &str = r#"{"__REALTIME_TIMESTAMP":"1795838965400100","_TRANSPORT":"audit","_HOSTNAME":"web01","SYSLOG_FACILITY":"4","SYSLOG_IDENTIFIER":"audit","_AUDIT_TYPE":"1300","_AUDIT_TYPE_NAME":"SYSCALL","_AUDIT_ID":"1241","_SOURCE_REALTIME_TIMESTAMP":"1795838965399000","_PID":"14116","_PPID":"14115","_UID":"33","_COMM":"nohup","_EXE":"/usr/bin/nohup","MESSAGE":"SYSCALL arch=c000003e syscall=59 success=yes exit=0 a0=55c7a702bf30 a1=55c7a702bd70 a2=55c7a702b5f0 a3=4b9ab65bad458ebc items=2 ppid=14115 pid=14116 auid=34048 uid=33 gid=33 euid=33 suid=33 fsuid=33 egid=33 sgid=33 fsgid=33 tty=(none) ses=33 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=\"sighunt_e2e\""}
{"__REALTIME_TIMESTAMP":"1795838965400200","_TRANSPORT":"audit","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"audit","_AUDIT_TYPE":"1309","_AUDIT_TYPE_NAME":"EXECVE","_AUDIT_ID":"1241","_SOURCE_REALTIME_TIMESTAMP":"1795838965399000","MESSAGE":"EXECVE argc=2 a0=\"nohup\" a1=\"/tmp/.w/s\""}
{"__REALTIME_TIMESTAMP":"1795838965400300","_TRANSPORT":"audit","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"audit","_AUDIT_TYPE":"1307","_AUDIT_ID":"1241","_SOURCE_REALTIME_TIMESTAMP":"1795838965399000","MESSAGE":"CWD cwd=\"/var/www\""}
{"__REALTIME_TIMESTAMP":"1795838965400400","_TRANSPORT":"audit","_HOSTNAME":"web01","SYSLOG_IDENTIFIER":"audit","_AUDIT_TYPE":"1327","_AUDIT_ID":"1241","_SOURCE_REALTIME_TIMESTAMP":"1795838965399000","MESSAGE":[80,82,79,67,84,73,84,76,69,32,112,114,111,99,116,105,116,108,101,61,54,69,54,70,54,56,55,53,55,48,48,48,50,70,55,52,54,68,55,48,50,70,50,69,55,55,50,70,55,51]}"#;

#[test]
fn audit_transport_entries_become_audit_events_again() {
    let c = feed(AUDIT_ENTRIES);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.events.len(), 1, "{:?}", c.events);
    let Event::Process(p) = &c.events[0] else {
        panic!()
    };
    assert_eq!(p.provenance.format, "auditd");
    assert_eq!(p.host, "web01");
    assert_eq!((p.pid, p.ppid), (Some(14116), Some(14115)));
    assert_eq!(p.argv, ["nohup", "/tmp/.w/s"]);
    assert_eq!(p.cwd.as_deref(), Some("/var/www"));
    assert_eq!(p.user.as_deref(), Some("33"));
    assert_eq!(p.time.unwrap().timestamp_millis(), 1_795_838_965_399);
    assert_eq!(p.provenance.position, crate::event::Position::Line(1));

    use crate::detectors::nohup::NohupDetector;
    use crate::detectors::{Detector, Findings};
    let mut d = NohupDetector::new(&crate::rules::Rules::embedded()).unwrap();
    let mut out = Findings::default();
    for e in &c.events {
        d.observe(e, &mut out);
    }
    let f = out.drain();
    assert_eq!(f.len(), 1);
    assert!(f[0].indicators.iter().any(|i| i == "web_service_parent"));
}

#[test]
fn bad_and_odd_entries() {
    let c = feed(
        "{\"MESSAGE\":null}\n{not json\n\n{\"__REALTIME_TIMESTAMP\":\"x\",\"MESSAGE\":\"nohup /tmp/z &\"}",
    );
    assert_eq!(c.errors.len(), 1);
    assert_eq!(
        c.events.len(),
        1,
        "a message is read even without a usable time"
    );
    assert_eq!(c.events[0].time(), None);
}

#[test]
fn audit_entries_split_between_two_ranges_make_one_event() {
    let lines: Vec<String> = format!("{SUDO}\n{AUDIT_ENTRIES}\n{CRON}")
        .lines()
        .map(str::to_string)
        .collect();
    for cut in 0..=lines.len() {
        let mut sink = Collect::default();
        let mut a = JournaldParser::new(Arc::from("j"));
        for (i, l) in lines[..cut].iter().enumerate() {
            a.line(l.as_bytes(), i as u64 + 1, &mut sink);
        }
        for (i, l) in lines[cut..].iter().enumerate() {
            if !a.continuation_line(l.as_bytes(), (cut + i) as u64 + 1, &mut sink) {
                break;
            }
        }
        a.finish(&mut sink);
        let mut b = JournaldParser::new(Arc::from("j"));
        for l in &lines[..cut] {
            b.foreign_line(l.as_bytes());
        }
        for (i, l) in lines[cut..].iter().enumerate() {
            b.line(l.as_bytes(), (cut + i) as u64 + 1, &mut sink);
        }
        b.finish(&mut sink);
        let formats: Vec<&str> = sink.events.iter().map(|e| e.provenance().format).collect();
        assert_eq!(formats, ["journald", "auditd", "journald"], "cut {cut}");
    }
}
