//! Each auditd quirk, on verbatim records (laurel's and go-libaudit's test data,
//! docs/field-guide.md, and this machine's kernel via `scripts/audit-scenarios.sh`).

use super::*;
use crate::event::{NetworkKind, ProcessStart};

use crate::sources::CollectingSink as Collect;

fn parse_text(text: &[u8]) -> (Collect, AuditParser) {
    let mut parser = AuditParser::new(Arc::from("test.log"));
    let mut sink = Collect::default();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    (sink, parser)
}

fn processes(text: &[u8]) -> Vec<ProcessStart> {
    parse_text(text)
        .0
        .events
        .into_iter()
        .filter_map(|e| match e {
            Event::Process(p) => Some(p),
            _ => None,
        })
        .collect()
}

/// laurel `src/testdata/record-execve.txt`: node=, enriched fields after 0x1D, EOE.
const ENRICHED_WHOAMI: &[u8] = b"node=work type=SYSCALL msg=audit(1615114232.375:15558): arch=c000003e syscall=59 success=yes exit=0 a0=63b29337fd18 a1=63b293387d58 a2=63b293375640 a3=fffffffffffff000 items=2 ppid=10883 pid=10884 auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts1 ses=1 comm=\"whoami\" exe=\"/usr/bin/whoami\" key=(null)\x1dARCH=x86_64 SYSCALL=execve AUID=\"user\" UID=\"root\" GID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\" EGID=\"root\" SGID=\"root\" FSGID=\"root\"
node=work type=EXECVE msg=audit(1615114232.375:15558): argc=1 a0=\"whoami\"
node=work type=CWD msg=audit(1615114232.375:15558): cwd=\"/home/user/tmp\"
node=work type=PATH msg=audit(1615114232.375:15558): item=0 name=\"/usr/bin/whoami\" inode=261214 dev=ca:03 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0000000000000000 cap_fi=0000000000000000 cap_fe=0 cap_fver=0\x1dOUID=\"root\" OGID=\"root\"
node=work type=PATH msg=audit(1615114232.375:15558): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=262146 dev=ca:03 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0000000000000000 cap_fi=0000000000000000 cap_fe=0 cap_fver=0\x1dOUID=\"root\" OGID=\"root\"
node=work type=PROCTITLE msg=audit(1615114232.375:15558): proctitle=\"whoami\"
node=work type=EOE msg=audit(1615114232.375:15558):
";

#[test]
fn joins_syscall_execve_cwd_path_proctitle_into_one_process_start() {
    let ps = processes(ENRICHED_WHOAMI);
    assert_eq!(ps.len(), 1);
    let p = &ps[0];
    assert_eq!(p.host, "work");
    assert_eq!(p.argv, ["whoami"]);
    assert_eq!(p.command_line, "whoami");
    assert_eq!(p.pid, Some(10884));
    assert_eq!(p.ppid, Some(10883));
    assert_eq!(p.auid, Some(1000));
    assert_eq!(
        p.user.as_deref(),
        Some("root"),
        "user name from the enriched part"
    );
    assert_eq!(p.comm.as_deref(), Some("whoami"));
    assert_eq!(p.exe.as_deref(), Some("/usr/bin/whoami"));
    assert_eq!(p.cwd.as_deref(), Some("/home/user/tmp"));
    assert_eq!(p.key, None, "key=(null) is no key");
    assert_eq!(p.provenance.position, Position::Line(1));
    assert_eq!(p.time.unwrap().timestamp_millis(), 1_615_114_232_375);
}

#[test]
fn raw_format_without_enrichment_gives_numeric_user() {
    let raw: Vec<u8> = ENRICHED_WHOAMI
        .split(|&b| b == b'\n')
        .map(|l| {
            let l = l.strip_prefix(b"node=work ").unwrap_or(l);
            match l.iter().position(|&b| b == 0x1d) {
                Some(i) => &l[..i],
                None => l,
            }
        })
        .collect::<Vec<_>>()
        .join(&b'\n');
    let p = &processes(&raw)[0];
    assert_eq!(p.user.as_deref(), Some("0"));
    assert_eq!(p.host, "");
    assert_eq!(p.argv, ["whoami"]);
}

/// Real records from this machine's kernel (auditd 3.0.9, `log_format=ENRICHED`):
/// the `sh -c` string has a space, so the kernel hex-encodes a2.
const HEX_SH_C: &[u8] = b"type=SYSCALL msg=audit(1795838193.947:5): arch=c000003e syscall=59 success=yes exit=0 a0=5586f086f970 a1=5586f086f020 a2=5586f086f990 a3=8 items=2 ppid=2138 pid=2154 auid=12345 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"sh\" exe=\"/usr/bin/dash\" key=\"sighunt_e2e\"\x1dARCH=x86_64 SYSCALL=execve AUID=\"unknown(12345)\" UID=\"root\" GID=\"root\" EUID=\"root\" SUID=\"root\" FSUID=\"root\" EGID=\"root\" SGID=\"root\" FSGID=\"root\"
type=BPRM_FCAPS msg=audit(1795838193.947:5): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0
type=EXECVE msg=audit(1795838193.947:5): argc=3 a0=\"sh\" a1=\"-c\" a2=6E6F68757020736C6565702030203E2F6465762F6E756C6C20323E2631202620736C65657020302E323B20656E7620583D31206E6F68757020747275653B206563686F206869
type=CWD msg=audit(1795838193.947:5): cwd=\"/tmp/aud\"
type=PATH msg=audit(1795838193.947:5): item=0 name=\"/usr/bin/sh\" inode=247076 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\x1dOUID=\"root\" OGID=\"root\"
type=PROCTITLE msg=audit(1795838193.947:5): proctitle=62617368002D63006563686F203132333435203E202F70726F632F73656C662F6C6F67696E7569643B2065786563207368202D6320226E6F68757020736C6565702030203E2F6465762F6E756C6C20323E2631202620736C65657020302E323B20656E7620583D31206E6F68757020747275653B206563686F20686922
";

#[test]
fn decodes_hex_encoded_arguments() {
    let p = &processes(HEX_SH_C)[0];
    assert_eq!(
        p.argv,
        [
            "sh",
            "-c",
            "nohup sleep 0 >/dev/null 2>&1 & sleep 0.2; env X=1 nohup true; echo hi"
        ]
    );
    assert_eq!(p.key.as_deref(), Some("sighunt_e2e"));
    assert_eq!(p.exe.as_deref(), Some("/usr/bin/dash"));
    assert_eq!(p.user.as_deref(), Some("root"));
    // EXECVE wins over PROCTITLE, which here shows the parent's pre-exec argv.
    assert!(!p.command_line.contains("loginuid"));
}

/// Real failed execs from this machine: nohup's `execvp` walks PATH
/// (`success=no exit=-2`, no EXECVE record) before it finds the program.
const NOHUP_PATH_SEARCH: &[u8] = b"type=SYSCALL msg=audit(1795838193.947:7): arch=c000003e syscall=59 success=yes exit=0 a0=55beb97d4de0 a1=55beb97d4ba0 a2=55beb97d4cc8 a3=0 items=2 ppid=2154 pid=2155 auid=12345 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=\"sighunt_e2e\"
type=EXECVE msg=audit(1795838193.947:7): argc=3 a0=\"nohup\" a1=\"sleep\" a2=\"0\"
type=CWD msg=audit(1795838193.947:7): cwd=\"/tmp/aud\"
type=PROCTITLE msg=audit(1795838193.947:7): proctitle=6E6F68757000736C6565700030
type=SYSCALL msg=audit(1795838193.951:8): arch=c000003e syscall=59 success=no exit=-2 a0=7ffcb77912a0 a1=7ffcb7791560 a2=7ffcb7791578 a3=7ff34c62ae70 items=1 ppid=2154 pid=2155 auid=12345 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=\"sighunt_e2e\"
type=CWD msg=audit(1795838193.951:8): cwd=\"/tmp/aud\"
type=PATH msg=audit(1795838193.951:8): item=0 name=\"/root/.cargo/bin/sleep\" nametype=UNKNOWN cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795838193.951:8): proctitle=6E6F68757000736C6565700030
type=SYSCALL msg=audit(1795838193.951:9): arch=c000003e syscall=59 success=no exit=-2 a0=7ffcb77912a0 a1=7ffcb7791560 a2=7ffcb7791578 a3=7ff34c62ae70 items=1 ppid=2154 pid=2155 auid=12345 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=\"sighunt_e2e\"
type=CWD msg=audit(1795838193.951:9): cwd=\"/tmp/aud\"
type=PATH msg=audit(1795838193.951:9): item=0 name=\"/root/.pyenv/shims/sleep\" nametype=UNKNOWN cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0
type=PROCTITLE msg=audit(1795838193.951:9): proctitle=6E6F68757000736C6565700030
";

#[test]
fn failed_execs_are_not_launches() {
    let (sink, parser) = parse_text(NOHUP_PATH_SEARCH);
    assert_eq!(sink.events.len(), 1, "only the successful nohup exec");
    assert_eq!(parser.failed_execs, 2);
    let Event::Process(p) = &sink.events[0] else {
        panic!()
    };
    assert_eq!(p.argv, ["nohup", "sleep", "0"]);
}

#[test]
fn reassembles_chunked_argument_spread_over_several_execve_records() {
    // laurel `record-execve-long.txt` has this shape: a1_len + a1[0..2] over three
    // EXECVE records, continuation records with two spaces after the colon.
    let arg: Vec<u8> = std::iter::repeat_n(b'a', 8192).collect();
    let hex: String = arg.iter().map(|b| format!("{b:02X}")).collect();
    let (c0, rest) = hex.split_at(7000);
    let (c1, c2) = rest.split_at(7000);
    let text = format!(
        "type=SYSCALL msg=audit(1615150974.493:21028): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=10881 pid=8832 auid=1000 uid=1000 gid=1000 euid=1000 suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts1 ses=1 comm=\"echo\" exe=\"/usr/bin/echo\" key=(null)\n\
type=EXECVE msg=audit(1615150974.493:21028): argc=3 a0=\"/bin/echo\" a1_len=16384 a1[0]={c0}\n\
type=EXECVE msg=audit(1615150974.493:21028):  a1[1]={c1}\n\
type=EXECVE msg=audit(1615150974.493:21028):  a1[2]={c2} a2=\"tail\"\n\
type=CWD msg=audit(1615150974.493:21028): cwd=\"/tmp\"\n\
type=PROCTITLE msg=audit(1615150974.493:21028): proctitle=2F62696E2F6563686F00616161\n\
type=EOE msg=audit(1615150974.493:21028):\n"
    );
    let p = &processes(text.as_bytes())[0];
    assert_eq!(p.argv.len(), 3);
    assert_eq!(p.argv[0], "/bin/echo");
    assert_eq!(p.argv[1].len(), 8192);
    assert!(p.argv[1].bytes().all(|b| b == b'a'));
    assert_eq!(p.argv[2], "tail");
}

#[test]
fn groups_interleaved_records_by_serial() {
    let text = b"type=SYSCALL msg=audit(1682609045.526:1): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=100 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"a\" exe=\"/bin/a\" key=(null)
type=SYSCALL msg=audit(1682609045.526:2): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=1 ppid=1 pid=200 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"b\" exe=\"/bin/b\" key=(null)
type=EXECVE msg=audit(1682609045.526:2): argc=2 a0=\"b\" a1=\"two\"
type=EXECVE msg=audit(1682609045.526:1): argc=2 a0=\"a\" a1=\"one\"
type=CWD msg=audit(1682609045.526:1): cwd=\"/\"
type=PROCTITLE msg=audit(1682609045.526:2): proctitle=620074776F
type=PROCTITLE msg=audit(1682609045.526:1): proctitle=61006F6E65
";
    let ps = processes(text);
    assert_eq!(ps.len(), 2);
    let by_pid = |pid| ps.iter().find(|p| p.pid == Some(pid)).unwrap();
    assert_eq!(by_pid(100).argv, ["a", "one"]);
    assert_eq!(by_pid(200).argv, ["b", "two"]);
    assert_eq!(by_pid(100).cwd.as_deref(), Some("/"));
}

#[test]
fn events_without_end_marker_complete_on_timeout_or_at_end() {
    // laurel's shell-proc-trace files have events with neither PROCTITLE nor EOE.
    let head = b"type=SYSCALL msg=audit(1000.000:1): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=100 auid=0 uid=0 comm=\"grep\" exe=\"/usr/bin/grep\" key=(null)
type=EXECVE msg=audit(1000.000:1): argc=2 a0=\"grep\" a1=\"baz\"
";
    let mut parser = AuditParser::new(Arc::from("t"));
    let mut sink = Collect::default();
    let mut n = 0;
    let mut feed = |parser: &mut AuditParser, sink: &mut Collect, text: &[u8]| {
        for l in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            n += 1;
            parser.line(l, n, sink);
        }
    };
    feed(&mut parser, &mut sink, head);
    // Ten seconds of other (non-exec) events later, but only a few lines: still open,
    // because collectors may shuffle records of one event a few lines apart.
    let other = |serial: u32| {
        format!(
            "type=SYSCALL msg=audit(1010.000:{serial}): arch=c000003e syscall=1 success=yes exit=1 ppid=1 pid=7 uid=0 comm=\"w\" exe=\"/w\" key=(null)\ntype=PROCTITLE msg=audit(1010.000:{serial}): proctitle=\"w\"\n"
        )
    };
    feed(&mut parser, &mut sink, other(2).as_bytes());
    assert!(sink.events.is_empty());
    // Far enough in time and in lines: complete.
    for serial in 3..60 {
        feed(&mut parser, &mut sink, other(serial).as_bytes());
    }
    assert_eq!(sink.events.len(), 1, "the first event expired");
    feed(&mut parser, &mut sink, b"type=SYSCALL msg=audit(1010.000:99): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=101 uid=0 comm=\"sed\" exe=\"/usr/bin/sed\" key=(null)\n");
    parser.finish(&mut sink);
    assert_eq!(
        sink.events.len(),
        2,
        "the last one completes at the end of input"
    );
}

#[test]
fn proctitle_is_the_fallback_when_there_is_no_execve() {
    let text = b"type=SYSCALL msg=audit(1.000:9): arch=c000003e syscall=59 success=yes exit=0 items=1 ppid=1 pid=5 auid=0 uid=0 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)
type=PROCTITLE msg=audit(1.000:9): proctitle=6E6F68757000736C6565700030
";
    assert_eq!(processes(text)[0].argv, ["nohup", "sleep", "0"]);
}

#[test]
fn syslog_wrapped_records_and_other_architectures() {
    // audispd lines (docs/field-guide.md §1.9), and an i386 execve (syscall 11).
    let text = b"Mar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=SYSCALL msg=audit(1585291054.568:2911): arch=40000003 syscall=11 success=yes exit=0 a0=6f29b0 items=2 ppid=22440 pid=22441 auid=4294967295 uid=48 gid=48 tty=(none) ses=4294967295 comm=\"ps\" exe=\"/usr/bin/ps\" subj=system_u:system_r:httpd_t:s0 key=\"L5_EXEC_BIN\"
Mar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=EXECVE msg=audit(1585291054.568:2911): argc=2 a0=\"ps\" a1=\"aux\"
Mar 27 00:37:34 vnode03 audispd: node=vnode03.vuln type=CWD msg=audit(1585291054.568:2911):  cwd=\"/var/www/html\"
";
    let p = &processes(text)[0];
    assert_eq!(p.host, "vnode03.vuln");
    assert_eq!(p.argv, ["ps", "aux"]);
    assert_eq!(p.auid, None, "4294967295 is the unset login uid");
    assert_eq!(p.user.as_deref(), Some("48"));
    assert_eq!(
        p.cwd.as_deref(),
        Some("/var/www/html"),
        "old kernels' two-space CWD"
    );

    let aarch64 = b"type=SYSCALL msg=audit(1.000:1): arch=c00000b7 syscall=221 success=yes exit=0 ppid=1 pid=2 uid=0 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)
type=EXECVE msg=audit(1.000:1): argc=2 a0=\"nohup\" a1=\"./x\"
type=EOE msg=audit(1.000:1):
";
    assert_eq!(processes(aarch64)[0].argv, ["nohup", "./x"]);

    // A non-exec syscall (x86_64 write = 1, aarch64 59 = pipe2) is not a process start.
    let not_exec = b"type=SYSCALL msg=audit(1.000:1): arch=c00000b7 syscall=59 success=yes exit=0 ppid=1 pid=2 uid=0 comm=\"x\" exe=\"/x\" key=(null)
type=PROCTITLE msg=audit(1.000:1): proctitle=\"x\"
";
    assert!(processes(not_exec).is_empty());
}

#[test]
fn bind_and_listen_become_network_activity() {
    let text = b"type=SYSCALL msg=audit(1700000000.100:50): arch=c000003e syscall=49 success=yes exit=0 a0=3 a1=7ffd a2=10 a3=0 items=0 ppid=10 pid=11 auid=1000 uid=1000 comm=\"nc\" exe=\"/usr/bin/nc.openbsd\" key=(null)
type=SOCKADDR msg=audit(1700000000.100:50): saddr=0200386C7F0000010000000000000000
type=PROCTITLE msg=audit(1700000000.100:50): proctitle=6E63002D6C7670003134343434
type=SYSCALL msg=audit(1700000000.101:51): arch=c000003e syscall=50 success=yes exit=0 a0=3 a1=1 a2=0 a3=0 items=0 ppid=10 pid=11 auid=1000 uid=1000 comm=\"nc\" exe=\"/usr/bin/nc.openbsd\" key=(null)
type=PROCTITLE msg=audit(1700000000.101:51): proctitle=6E63002D6C7670003134343434
";
    let (sink, _) = parse_text(text);
    let nets: Vec<_> = sink
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Network(n) => Some(n),
            _ => None,
        })
        .collect();
    assert_eq!(nets.len(), 2);
    assert_eq!(nets[0].kind, NetworkKind::Bind);
    assert_eq!(nets[0].local.as_deref(), Some("127.0.0.1:14444"));
    assert_eq!(nets[0].pid, Some(11));
    assert_eq!(nets[1].kind, NetworkKind::Listen);
}

#[test]
fn hostile_records_are_bounded_and_never_panic() {
    // One serial with a flood of EXECVE records and absurd argument indexes.
    let mut text = Vec::new();
    text.extend_from_slice(b"type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 uid=0 comm=\"x\" exe=\"/x\" key=(null)\n");
    text.extend_from_slice(b"type=EXECVE msg=audit(1.000:1): argc=99999999999 a0=\"x\" a999999999=\"y\" a5_len=4 a5[0]=ZZ\n");
    for _ in 0..30_000 {
        text.extend_from_slice(b"type=EXECVE msg=audit(1.000:1):  a1=\"x\"\n");
    }
    text.extend_from_slice(b"type=EOE msg=audit(1.000:1):\n");
    text.extend_from_slice(b"type=EXECVE msg=audit(1.000:1): argc=1 a0=\"late\"\n");
    for junk in [
        &b"type= msg=audit(:)"[..],
        b"type=X msg=audit(1.2:)",
        b"\xff\xfe type=\x00 msg=audit(",
        b"msg=audit(1.000:1): a0=\"x\"",
    ] {
        text.extend_from_slice(junk);
        text.push(b'\n');
    }
    let (sink, parser) = parse_text(&text);
    assert_eq!(sink.events.len(), 1);
    let Event::Process(p) = &sink.events[0] else {
        panic!()
    };
    assert_eq!(p.argv[0], "x");
    assert!(p.argv.len() <= 6, "argc is clamped to the arguments seen");
    assert_eq!(parser.late_records, 1);
    assert!(!sink.errors.is_empty(), "a broken header is reported");
}

#[test]
fn corpus_logs_parse_without_errors() {
    // Real third-party logs: every exec they contain becomes a process start.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/auditd");
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").is_err(),
            "../shared/corpus is missing under CI"
        );
        eprintln!("skipped: {} not found", dir.display());
        return;
    }
    let mut total = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read(&path).unwrap();
        // Expected: serials with a successful execve SYSCALL or an EXECVE record,
        // less the failed ones.
        let mut ok = std::collections::HashSet::new();
        let mut failed = std::collections::HashSet::new();
        for l in text.split(|&b| b == b'\n') {
            let Some(rec) = parse_record(l) else { continue };
            let serial = (rec.node.map(<[u8]>::to_vec), rec.serial);
            let body = rec.body;
            let has = |pat: &[u8]| memchr::memmem::find(body, pat).is_some();
            let failed_call = has(b"success=no") || has(b"success=\"no\"");
            match rec.kind {
                b"SYSCALL" if failed_call => {
                    failed.insert(serial);
                }
                b"SYSCALL"
                    if (rec.body.starts_with(b"arch=c000003e syscall=59 ")
                        || has(b"SYSCALL=execve")) =>
                {
                    ok.insert(serial);
                }
                b"EXECVE" => {
                    ok.insert(serial);
                }
                _ => {}
            }
        }
        let execs = ok.difference(&failed).count();
        let (sink, _) = parse_text(&text);
        let got = sink
            .events
            .iter()
            .filter(|e| matches!(e, Event::Process(_)))
            .count();
        assert_eq!(got, execs, "{}", path.display());
        assert!(
            sink.errors.is_empty(),
            "{}: {:?}",
            path.display(),
            sink.errors
        );
        total += got;
    }
    assert!(total >= 40, "the corpus has execs ({total})");
}

#[test]
fn the_order_queue_stays_bounded_behind_an_event_that_never_completes() {
    // One exec event that never ends, at a log time that never moves on, followed
    // by many events each completed by its PROCTITLE: their queue entries pile up
    // behind the first one unless the queue is compacted.
    let mut parser = AuditParser::new(Arc::from("t"));
    let mut sink = Collect::default();
    parser.line(b"type=SYSCALL msg=audit(5.000:1): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid=2 uid=0 comm=\"x\" exe=\"/x\" key=(null)", 1, &mut sink);
    let mut line_no = 1;
    for serial in 2..60_000u32 {
        for l in [
            format!(
                "type=SYSCALL msg=audit(5.000:{serial}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={serial} uid=0 comm=\"y\" exe=\"/y\" key=(null)"
            ),
            format!("type=PROCTITLE msg=audit(5.000:{serial}): proctitle=\"y\""),
        ] {
            line_no += 1;
            parser.line(l.as_bytes(), line_no, &mut sink);
        }
        assert!(parser.order.len() <= MAX_ORDER_ENTRIES, "serial {serial}");
    }
    assert_eq!(
        sink.events.len(),
        59_998,
        "every completed event was emitted"
    );
    assert_eq!(
        parser.expired_by_count, 0,
        "compaction alone kept it bounded"
    );
    parser.finish(&mut sink);
    assert_eq!(
        sink.events.len(),
        59_999,
        "the open one completes at the end"
    );
}

#[test]
fn too_many_open_events_are_expired_by_count_and_counted() {
    // Exec events that never end, all at one log time: beyond MAX_OPEN_EVENTS the
    // oldest is completed early, and each such completion is counted.
    let mut parser = AuditParser::new(Arc::from("t"));
    let mut sink = Collect::default();
    let n = MAX_OPEN_EVENTS as u32 + 100;
    for serial in 1..=n {
        let l = format!(
            "type=SYSCALL msg=audit(5.000:{serial}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={serial} uid=0 comm=\"y\" exe=\"/y\" key=(null)"
        );
        parser.line(l.as_bytes(), u64::from(serial), &mut sink);
        assert!(parser.open.len() <= MAX_OPEN_EVENTS);
    }
    assert_eq!(parser.expired_by_count, 100);
    let pids: Vec<u32> = sink
        .events
        .iter()
        .map(|e| match e {
            Event::Process(p) => p.pid.unwrap(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(pids, (1..=100).collect::<Vec<_>>(), "the oldest go first");
    parser.finish(&mut sink);
    assert_eq!(sink.events.len(), n as usize);
    assert_eq!(
        parser.expired_by_count, 100,
        "the end of input is no expiry"
    );
}

#[test]
fn hex_registers_read_as_from_str_radix_reads_them() {
    for v in [
        "c000003e",
        "C000003E",
        "0",
        "+1f",
        "+",
        "",
        "-1",
        "ffffffff",
        "100000000",
        "ffffffffffffffff",
        "10000000000000000",
        "00000000000000000000c000003e",
        "12g4",
        "é",
    ] {
        assert_eq!(
            super::parse_hex_u64(v.as_bytes()),
            u64::from_str_radix(v, 16).ok(),
            "{v:?}"
        );
        assert_eq!(
            super::parse_hex_u32(v.as_bytes()),
            u32::from_str_radix(v, 16).unwrap_or(0),
            "{v:?}"
        );
    }
}

#[test]
fn inet_sockaddr_is_written_as_format_writes_it() {
    // Every octet value in every position, ports at the edges and between.
    for v in 0..=255u8 {
        for port in [0u16, 1, 9, 10, 99, 100, 443, 8080, 9999, 10000, 65535] {
            let [p0, p1] = port.to_be_bytes();
            let b = [
                2,
                0,
                p0,
                p1,
                v,
                255 - v,
                v / 3,
                v % 10,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
                0,
            ];
            assert_eq!(
                format_sockaddr(&b).unwrap(),
                format!("{}.{}.{}.{}:{port}", b[4], b[5], b[6], b[7])
            );
        }
    }
    assert_eq!(format_sockaddr(&[2, 0, 0, 80, 10, 0]), None);
}

/// A sink like the engine's: it looks at each lent event where it lies (a copy is
/// kept for the test) and leaves it, so the parser reuses its buffers and writes
/// the next event over it.
#[derive(Default)]
struct Looking {
    seen: Vec<String>,
}

impl EventSink for Looking {
    fn event(&mut self, event: Event) {
        self.seen.push(format!("{event:?}"));
    }
    fn error(&mut self, _: InputError) {}
    fn lend(&mut self, slot: &mut Option<Event>) {
        if let Some(event) = slot {
            self.seen.push(format!("{event:?}"));
        }
    }
}

/// Every event, by the reusing path and by the plain one.
fn both_ways(text: &[u8]) -> (Vec<String>, Vec<String>) {
    let plain = parse_text(text)
        .0
        .events
        .iter()
        .map(|e| format!("{e:?}"))
        .collect();
    let mut parser = AuditParser::new(Arc::from("test.log"));
    let mut looking = Looking::default();
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        parser.line(line, i as u64 + 1, &mut looking);
    }
    parser.finish(&mut looking);
    (plain, looking.seen)
}

#[test]
fn reused_events_carry_nothing_over_from_the_one_before() {
    // A full exec (node, enriched user, key, cwd, exe), then one with none of
    // them: no key, no cwd, no node, a raw uid, and its exe only from PATH.
    let text = b"node=web1 type=SYSCALL msg=audit(1700000000.100:10): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=2 ppid=1 pid=100 auid=1000 uid=33 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=7 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=\"exec\"\x1dUID=\"www-data\"
node=web1 type=EXECVE msg=audit(1700000000.100:10): argc=3 a0=\"nohup\" a1=\"/tmp/.x\" a2=\"-d\"
node=web1 type=CWD msg=audit(1700000000.100:10): cwd=\"/var/www\"
node=web1 type=PROCTITLE msg=audit(1700000000.100:10): proctitle=6E6F687570
type=SYSCALL msg=audit(1700000000.200:11): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=0 items=1 ppid=100 pid=101 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"id\" key=(null)
type=EXECVE msg=audit(1700000000.200:11): argc=1 a0=\"id\"
type=PATH msg=audit(1700000000.200:11): item=0 name=\"/usr/bin/id\" inode=1 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL
type=PROCTITLE msg=audit(1700000000.200:11): proctitle=6964
";
    let (plain, reused) = both_ways(text);
    assert_eq!(plain.len(), 2);
    assert_eq!(reused, plain);
    assert!(reused[1].contains("cwd: None") && reused[1].contains("key: None"));
    assert!(reused[1].contains("host: \"\"") && reused[1].contains("user: Some(\"0\")"));
    assert!(reused[1].contains("exe: Some(\"/usr/bin/id\")"));
}

#[test]
fn reusing_events_changes_no_event_of_the_real_logs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![
        root.join("../../../shared/corpus"),
        root.join("../../examples/linux"),
    ];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let Ok(text) = std::fs::read(&path) else {
                continue;
            };
            if memchr::memmem::find(&text, b"msg=audit(").is_none() {
                continue;
            }
            let (plain, reused) = both_ways(&text);
            assert_eq!(reused, plain, "{}", path.display());
            files += 1;
        }
    }
    assert!(files >= 2, "the sample logs are read");
}
