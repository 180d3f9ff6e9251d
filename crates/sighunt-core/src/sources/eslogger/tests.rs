//! eslogger and unified-log lines. The eslogger lines follow real eslogger output
//! (field names, nesting, `\/` escapes, message versions 9 and 10 as in mullvad's
//! test vectors quoted in docs/field-guide.md §5.1), with values of a nohup scenario.

use super::*;

use crate::sources::CollectingSink as Collect;

fn feed(parser: &mut dyn LineParser, text: &str) -> Collect {
    let mut sink = Collect::default();
    for (i, line) in text.lines().enumerate() {
        parser.line(line.as_bytes(), i as u64 + 1, &mut sink);
    }
    parser.finish(&mut sink);
    sink
}

fn processes(text: &str) -> (Vec<ProcessStart>, Vec<InputError>) {
    let c = feed(&mut EsloggerParser::new(Arc::from("es.json")), text);
    let p = c
        .events
        .into_iter()
        .filter_map(|e| match e {
            Event::Process(p) => Some(p),
            _ => None,
        })
        .collect();
    (p, c.errors)
}

/// Version 9: audit tokens as objects. zsh (pid 58916) forked 97391, which execs nohup.
const EXEC_V9_NOHUP: &str = r#"{"action":{"result":{"result":{"auth":0},"result_type":0}},"event_type":9,"global_seq_num":75,"action_type":1,"mach_time":289350913517,"process":{"is_platform_binary":true,"team_id":null,"signing_id":"com.apple.zsh","executable":{"path_truncated":false,"path":"\/bin\/zsh"},"group_id":97391,"parent_audit_token":{"asid":100019,"ruid":501,"pidversion":87724,"egid":20,"rgid":20,"pid":58916,"euid":501,"auid":501},"session_id":58916,"audit_token":{"auid":501,"asid":100019,"egid":20,"pid":97391,"pidversion":149091,"rgid":20,"euid":501,"ruid":501},"ppid":58916,"original_ppid":58916,"start_time":"2025-08-07T13:21:35.877422Z","tty":{"path_truncated":false,"path":"\/dev\/ttys003"},"is_es_client":false},"time":"2025-08-07T13:21:35.880814738Z","seq_num":27,"version":9,"event":{"exec":{"cwd":{"path_truncated":false,"path":"\/Users\/alice"},"env":["SHELL=\/bin\/zsh"],"target":{"team_id":null,"is_platform_binary":true,"signing_id":"com.apple.nohup","executable":{"path_truncated":false,"path":"\/usr\/bin\/nohup"},"group_id":97391,"parent_audit_token":{"pidversion":87724,"rgid":20,"pid":58916,"egid":20,"ruid":501,"euid":501,"asid":100019,"auid":501},"session_id":58916,"audit_token":{"pid":97391,"rgid":20,"euid":501,"auid":501,"egid":20,"asid":100019,"pidversion":149092,"ruid":501},"ppid":58916,"original_ppid":58916,"start_time":"2025-08-07T13:21:35.877422Z","tty":{"path_truncated":false,"path":"\/dev\/ttys003"},"is_es_client":false},"last_fd":9,"image_cpusubtype":0,"fds":[],"image_cputype":16777228,"args":["nohup","\/private\/tmp\/.hidden\/agent","-d"],"dyld_exec_path":"\/usr\/bin\/nohup","script":null}},"thread":{"thread_id":505819},"schema_version":1}"#;

/// Version 10 (macOS 26): audit tokens as `[auid, euid, egid, ruid, rgid, pid, asid, pidversion]`.
const EXEC_V10: &str = r#"{"version":10,"event":{"exec":{"args":["\/bin\/chmod","+x","\/private\/tmp\/.hidden\/agent"],"cwd":{"path":"\/Users\/alice"},"script":null,"target":{"audit_token":[501,501,20,501,20,97390,100019,149080],"parent_audit_token":[501,501,20,501,20,58916,100019,87724],"ppid":58916,"executable":{"path":"\/bin\/chmod","path_truncated":false},"tty":null}}},"time":"2025-08-07T13:21:35.101000000Z","seq_num":26,"schema_version":1,"event_type":9,"process":{"audit_token":[501,501,20,501,20,97390,100019,149079],"executable":{"path":"\/bin\/zsh"},"ppid":58916},"action_type":1}"#;

/// An exit event (version 9): not a process start.
const EXIT_V9: &str = r#"{"process":{"audit_token":{"euid":0,"rgid":0,"egid":0,"pid":11221,"asid":100017,"ruid":0,"auid":4294967295,"pidversion":170692},"executable":{"path_truncated":false,"path":"\/usr\/sbin\/ipconfig"},"ppid":532},"time":"2025-08-07T15:13:09.811587464Z","seq_num":362,"event_type":15,"event":{"exit":{"stat":0}},"version":9,"schema_version":1,"action_type":1}"#;

#[test]
fn exec_events_with_object_audit_tokens() {
    let (p, errors) = processes(EXEC_V9_NOHUP);
    assert!(errors.is_empty());
    let p = &p[0];
    assert_eq!(p.pid, Some(97391));
    assert_eq!(p.ppid, Some(58916));
    assert_eq!(p.exe.as_deref(), Some("/usr/bin/nohup"));
    assert_eq!(p.argv, ["nohup", "/private/tmp/.hidden/agent", "-d"]);
    assert_eq!(p.cwd.as_deref(), Some("/Users/alice"));
    assert_eq!(p.user.as_deref(), Some("501"));
    assert_eq!(p.auid, Some(501));
    assert_eq!(p.process_guid.as_deref(), Some("97391:149092"));
    assert_eq!(p.parent_process_guid.as_deref(), Some("58916:87724"));
    assert_eq!(p.tty.as_deref(), Some("/dev/ttys003"));
    assert_eq!(p.host, "");
    assert_eq!(
        p.time.unwrap().to_rfc3339(),
        "2025-08-07T13:21:35.880814738+00:00"
    );
    assert_eq!(p.provenance.format, FORMAT);
}

#[test]
fn exec_events_with_array_audit_tokens_and_other_events() {
    let (p, errors) = processes(&format!("{EXEC_V10}\n{EXIT_V9}\n\nnot json"));
    assert_eq!(errors.len(), 1, "the non-JSON line is reported");
    assert_eq!(p.len(), 1, "the exit event is no process start");
    assert_eq!(p[0].pid, Some(97390));
    assert_eq!(p[0].ppid, Some(58916));
    assert_eq!(p[0].process_guid.as_deref(), Some("97390:149080"));
    assert_eq!(p[0].argv[1], "+x");
    assert_eq!(p[0].user.as_deref(), Some("501"));
    // Either shape, field by field.
    let obj = serde_json::json!({"pid": 5, "pidversion": 9, "auid": 4294967295u32});
    let arr = serde_json::json!([4294967295u32, 0, 0, 0, 0, 5, 1, 9]);
    assert_eq!(
        AuditToken::from_json(&obj).unwrap().guid().as_deref(),
        Some("5:9")
    );
    assert_eq!(
        AuditToken::from_json(&arr).unwrap().guid().as_deref(),
        Some("5:9")
    );
    assert_eq!(AuditToken::from_json(&serde_json::json!([1, 2])), None);
}

#[test]
fn chmod_then_nohup_on_macos_is_one_correlated_finding() {
    use crate::detectors::nohup::NohupDetector;
    use crate::detectors::{Detector, Findings};
    let mut d = NohupDetector::new(&crate::rules::Rules::embedded()).unwrap();
    let mut out = Findings::default();
    let (events, _) = processes(&format!("{EXEC_V10}\n{EXEC_V9_NOHUP}"));
    for p in events {
        d.observe(&Event::Process(p), &mut out);
    }
    let f = out.drain();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].nohup_target, "/private/tmp/.hidden/agent");
    for i in ["temp_dir_payload", "hidden_path", "payload_made_executable"] {
        assert!(
            f[0].indicators.iter().any(|x| x == i),
            "{i}: {:?}",
            f[0].indicators
        );
    }
}

#[test]
fn unified_log_ndjson_sudo_lines() {
    let text = r#"Filtering the log data using "process == \"sudo\""
{"traceID":4382110374395908,"eventMessage":"   alice : TTY=ttys001 ; PWD=\/Users\/alice ; USER=root ; COMMAND=\/usr\/bin\/nohup \/Users\/Shared\/.x\/helper","eventType":"logEvent","source":null,"formatString":"%{public}s","activityIdentifier":0,"subsystem":"com.apple.sudo","category":"","threadID":1234567,"senderImageUUID":"0A1B2C3D-0000-0000-0000-000000000000","backtrace":{"frames":[]},"bootUUID":"","processImagePath":"\/usr\/bin\/sudo","timestamp":"2026-11-28 10:00:01.123456+0100","senderImagePath":"\/usr\/lib\/libsudo_util.0.dylib","machTimestamp":1234567890,"messageType":"Default","processImageUUID":"0A1B2C3D-0000-0000-0000-000000000001","processID":4711,"senderProgramCounter":1234,"parentActivityIdentifier":0,"timezoneName":""}
{"eventMessage":"unrelated","processImagePath":"\/usr\/libexec\/x","processID":1,"timestamp":"2026-11-28 10:00:02.000000+0100"}"#;
    let c = feed(&mut UnifiedLogParser::new(Arc::from("log.ndjson")), text);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.events.len(), 1);
    let Event::Process(p) = &c.events[0] else {
        panic!()
    };
    assert_eq!(p.provenance.format, UNIFIED_LOG_FORMAT);
    assert_eq!(p.user.as_deref(), Some("alice"));
    assert_eq!(p.argv, ["/usr/bin/nohup", "/Users/Shared/.x/helper"]);
    assert_eq!(p.ppid, Some(4711));
    assert_eq!(
        p.time.unwrap().to_rfc3339(),
        "2026-11-28T09:00:01.123456+00:00"
    );
}
