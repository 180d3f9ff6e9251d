//! The MDE source on real Streaming API records (`tests/fixtures/mde/real/`, sources
//! in its README) and on the shapes' edge cases.

use std::io::Cursor;
use std::sync::Arc;

use super::map::parse_time;
use super::{MdeParser, read_mde};
use crate::event::{Event, FileWriteKind, NetworkKind, Platform, Position};
use crate::sources::{CollectingSink, LineParser};

const WIN_PROCESS: &str =
    include_str!("../../../../../tests/fixtures/mde/real/win-process.splunk-ta.json");
const MAC_PROCESS: &str =
    include_str!("../../../../../tests/fixtures/mde/real/mac-process.graph2otel.json");
const MAC_NETWORK: &str =
    include_str!("../../../../../tests/fixtures/mde/real/mac-network.graph2otel.json");
const WIN_FILE: &str =
    include_str!("../../../../../tests/fixtures/mde/real/win-file.graph2otel.json");

fn read(bytes: &[u8]) -> CollectingSink {
    let mut sink = CollectingSink::default();
    read_mde(
        &Arc::from("t.json"),
        Box::new(Cursor::new(bytes.to_vec())),
        &mut sink,
    );
    sink
}

/// Feeds `text` line by line through the push parser (the follow and stream modes).
fn read_lines(text: &str) -> CollectingSink {
    let mut sink = CollectingSink::default();
    let mut p = MdeParser::new(Arc::from("t"));
    for (i, line) in text.lines().enumerate() {
        p.line(line.as_bytes(), i as u64 + 1, &mut sink);
    }
    p.finish(&mut sink);
    sink
}

fn compact(pretty: &str) -> String {
    serde_json::to_string(&serde_json::from_str::<serde_json::Value>(pretty).unwrap()).unwrap()
}

fn errors(c: &CollectingSink) -> Vec<String> {
    c.errors.iter().map(|e| e.to_string()).collect()
}

#[test]
fn real_windows_process_record() {
    let c = read(WIN_PROCESS.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    let [Event::Process(p)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(p.platform, Platform::Windows);
    assert_eq!(p.host, "bobslaptop.example.com");
    assert_eq!(p.exe.as_deref(), Some(r"C:\Windows\System32\whoami.exe"));
    assert_eq!(p.command_line, "\"whoami.exe\" /user");
    assert_eq!(p.argv, ["whoami.exe", "/user"]);
    assert_eq!((p.pid, p.ppid), (Some(40288), Some(39240)));
    assert_eq!(p.user.as_deref(), Some(r"nt authority\system"));
    assert_eq!(
        p.parent_exe.as_deref(),
        Some(r"c:\windows\system32\windowspowershell\v1.0\powershell.exe")
    );
    assert!(
        p.parent_command_line
            .as_deref()
            .unwrap()
            .contains("DetectionScripts")
    );
    assert_eq!(p.original_file_name.as_deref(), Some("whoami.exe"));
    assert_eq!(p.time, parse_time("2021-04-14T18:49:17.7849324Z"));
    assert_eq!(p.provenance.position, Position::Line(1));
    assert_eq!(p.provenance.format, "mde");
    // Identity: device, pid, creation time to the microsecond.
    assert_eq!(
        p.process_guid.as_deref(),
        Some("df5b716f594eb30d61bf2b73998fea62a9b448e3/40288/1618426157528333")
    );
    assert_eq!(
        p.parent_process_guid.as_deref(),
        Some("df5b716f594eb30d61bf2b73998fea62a9b448e3/39240/1618426155904022")
    );
}

#[test]
fn real_macos_process_record_exec_in_place() {
    let c = read(MAC_PROCESS.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    let [Event::Process(p)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(p.platform, Platform::Unix);
    assert_eq!(p.host, "mbp14");
    assert_eq!(
        p.argv,
        [
            "/System/Library/Frameworks/CryptoTokenKit.framework/UserSelector",
            "-o",
            "anybind"
        ]
    );
    assert_eq!(p.user.as_deref(), Some("rob"));
    // AdditionalFields (JSON text) gives the working directory.
    assert_eq!(p.cwd.as_deref(), Some("/"));
    // ctkahp exec'd UserSelector: same pid, two processes told apart by creation time.
    assert_eq!((p.pid, p.ppid), (Some(91345), Some(91345)));
    assert_ne!(p.process_guid, p.parent_process_guid);
    assert!(p.process_guid.is_some() && p.parent_process_guid.is_some());
}

#[test]
fn real_network_and_file_records() {
    let c = read(MAC_NETWORK.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    let [Event::Network(n)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(n.kind, NetworkKind::Connect);
    assert_eq!(n.local.as_deref(), Some("10.0.0.183:53630"));
    assert_eq!(n.remote.as_deref(), Some("20.42.65.85:443"));
    assert_eq!(n.pid, Some(16865));
    assert_eq!(n.host, "mbp16");

    let c = read(WIN_FILE.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    let [Event::FileWrite(f)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(f.kind, FileWriteKind::Created);
    assert_eq!(
        f.path,
        r"C:\Windows\apppatch\MergeSdbFiles\01DA54B25CE0D000.msimain.sdb"
    );
    assert_eq!(f.image.as_deref(), Some(r"c:\windows\system32\sdbinst.exe"));
    assert_eq!(f.pid, Some(5464));
}

/// The same four records in every JSON shape give the same events.
#[test]
fn shapes_agree() {
    let records: Vec<String> = [WIN_PROCESS, MAC_PROCESS, MAC_NETWORK, WIN_FILE]
        .iter()
        .map(|r| compact(r))
        .collect();
    let summary = |c: &CollectingSink| -> Vec<String> {
        assert!(c.errors.is_empty(), "{:?}", errors(c));
        c.events
            .iter()
            .map(|e| match e {
                Event::Process(p) => {
                    format!("p {} {:?} {:?}", p.command_line, p.pid, p.process_guid)
                }
                Event::Network(n) => format!("n {:?} {:?} {:?}", n.remote, n.pid, n.process_guid),
                Event::FileWrite(f) => format!("f {} {:?}", f.path, f.process_guid),
                Event::Script(_) => "s".into(),
            })
            .collect()
    };
    let lines = records.join("\r\n") + "\r\n";
    let base = summary(&read(lines.as_bytes()));
    assert_eq!(base.len(), 4);
    let wrapped = format!("{{\"records\":[{}]}}", records.join(","));
    assert_eq!(summary(&read(wrapped.as_bytes())), base);
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(&wrapped).unwrap())
            .unwrap();
    assert_eq!(summary(&read(pretty.as_bytes())), base);
    assert_eq!(summary(&read_lines(&pretty)), base);
    assert_eq!(summary(&read_lines(&lines)), base);
    // Hunting API: the rows are the properties; the table comes from ActionType.
    let props: Vec<String> = records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(r).unwrap();
            v["properties"].to_string()
        })
        .collect();
    let api = format!(
        "{{\"Stats\":{{\"x\":[1,{{\"records\":2}}]}},\"Schema\":[{{\"Name\":\"Timestamp\",\"Type\":\"DateTime\"}}],\"Results\":[{}]}}",
        props.join(",")
    );
    assert_eq!(summary(&read(api.as_bytes())), base);
    let array = format!("[{}]", props.join(",\n"));
    assert_eq!(summary(&read(array.as_bytes())), base);
    // Byte by byte: the splitter keeps no assumption about where reads cut.
    let mut sink = CollectingSink::default();
    let mut p = MdeParser::new(Arc::from("t"));
    p.mode = super::Mode::Json;
    for b in api.as_bytes() {
        p.feed_json(std::slice::from_ref(b), &mut sink);
    }
    p.finish(&mut sink);
    assert_eq!(summary(&sink), base);
}

/// Log Analytics' query API: rows are arrays named by the `columns` before them.
#[test]
fn log_analytics_rows_use_their_columns() {
    let doc = r#"{"tables":[{"name":"PrimaryResult","columns":[{"name":"TimeGenerated","type":"datetime"},{"name":"Type","type":"string"},{"name":"DeviceName","type":"string"},{"name":"ActionType","type":"string"},{"name":"FileName","type":"string"},{"name":"FolderPath","type":"string"},{"name":"ProcessCommandLine","type":"string"},{"name":"ProcessId","type":"long"}],
"rows":[["2026-11-30T09:20:00.1234560Z","DeviceProcessEvents","h1","ProcessCreated","nohup","/usr/bin/nohup","nohup /tmp/x",4123],
["2026-11-30T09:20:01Z","DeviceRegistryEvents","h1","RegistryValueSet",null,null,null,null],
["2026-11-30T09:20:02Z","DeviceProcessEvents","h1"]]}]}"#;
    let c = read(doc.as_bytes());
    let [Event::Process(p)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(p.argv, ["nohup", "/tmp/x"]);
    assert_eq!(p.pid, Some(4123));
    assert_eq!(p.provenance.position, Position::Line(2));
    assert_eq!(
        errors(&c),
        ["t.json: line 4, row 3: row of 3 values where the column list has 8; skipped"]
    );
}

/// A wrapper's rows are streamed: a document far larger than the row limit is read
/// without error as long as each row fits.
#[test]
fn wrapper_rows_are_streamed_not_buffered() {
    let row = compact(MAC_NETWORK);
    let mut doc = String::from("{\"records\":[");
    for i in 0..2000 {
        if i > 0 {
            doc.push(',');
        }
        doc.push_str(&row);
    }
    doc.push_str("]}");
    let mut sink = CollectingSink::default();
    let mut split = super::split::RowSplitter::new(row.len() + 16);
    let (mut rows, mut errs) = (0, 0);
    split.push(doc.as_bytes(), &mut |_, piece| match piece {
        super::split::Piece::Row(_, _) => rows += 1,
        super::split::Piece::Error(_) => errs += 1,
        super::split::Piece::Columns(_) => {}
    });
    assert!(doc.len() > 1000 * (row.len() + 16));
    assert_eq!((rows, errs), (2000, 0));
    // One row over the limit is reported with its line; its neighbours are read.
    let big = format!(
        "{}\n{{\"category\":\"AdvancedHunting-DeviceNetworkEvents\",\"properties\":{{\"x\":\"{}\"}}}}\n{}\n",
        row,
        "a".repeat(super::MAX_ROW_BYTES),
        row
    );
    let c = read(big.as_bytes());
    assert_eq!(c.events.len(), 2);
    assert_eq!(
        errors(&c),
        [format!(
            "t.json: line 2: record larger than {} bytes; skipped",
            super::MAX_ROW_BYTES
        )]
    );
    sink.events.clear();
}

#[test]
fn broken_json_lines_are_reported_and_skipped() {
    let good = compact(MAC_NETWORK);
    let text = format!(
        "{good}\n{}\n{good}\n{{\"time\":\"x\",\"operationName\":\"Publish\",\"category\":\"AdvancedHunting-DeviceNetworkEvents\"}}\nnot json\n{good}\n[1,2]\n{{\"a\":{{\"b\":1}}\n{good}\n",
        &good[..good.len() / 3]
    );
    for c in [read(text.as_bytes()), read_lines(&text)] {
        assert_eq!(c.events.len(), 4, "{:?}", errors(&c));
        let errs = errors(&c);
        assert_eq!(errs.len(), 6, "{errs:?}");
        assert!(
            errs[0].starts_with("t") && errs[0].contains("line 2:"),
            "{errs:?}"
        );
        assert!(errs[1].contains("line 4: Streaming API record without `properties`"));
        assert!(errs[2].contains("line 5: not a JSON object or array"));
        assert!(errs[3].contains("line 7: row is not a JSON object or array"));
        assert!(
            errs[5].contains("line 8: record not closed at the end of line 8"),
            "{errs:?}"
        );
    }
}

#[test]
fn csv_quoting_and_headers() {
    let csv = "\u{feff}\"Timestamp [UTC]\",DeviceName,ActionType,FileName,FolderPath,ProcessCommandLine,ProcessId\r\n\
\"12/5/2026, 8:15:30.123 PM\",h1,ProcessCreated,bash,/usr/bin/bash,\"bash -c \"\"nohup /tmp/a, b &\"\"\",7\r\n\
2026-12-05T20:15:31Z,h1,ProcessCreated,sh,/bin/sh,\"sh -c 'echo one\r\necho two'\",8\r\n";
    let c = read(csv.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    let [Event::Process(a), Event::Process(b)] = &c.events[..] else {
        panic!("{:?}", c.events)
    };
    assert_eq!(a.argv, ["bash", "-c", "nohup /tmp/a, b &"]);
    assert_eq!(a.time, parse_time("2026-12-05T20:15:30.123Z"));
    assert_eq!(b.argv, ["sh", "-c", "echo one\necho two"]);
    assert_eq!(b.provenance.position, Position::Line(3));
    let c = read(b"Name,Value\r\nx,1\r\n");
    assert_eq!(
        errors(&c),
        [
            "t.json: line 1: not a Defender for Endpoint CSV header (no ActionType, DeviceName or DeviceId column); input skipped"
        ]
    );
}

#[test]
fn times_in_every_shape() {
    let want = parse_time("2026-11-30T21:20:00.123Z").unwrap();
    for s in [
        "2026-11-30T21:20:00.1230000Z",
        "2026-11-30T21:20:00.123Z",
        "2026-11-30 21:20:00.123",
        "11/30/2026, 9:20:00.123 PM",
        "Nov 30, 2026 9:20:00.123 PM",
    ] {
        assert_eq!(parse_time(s), Some(want), "{s}");
    }
    assert_eq!(parse_time("yesterday"), None);
}

#[test]
fn other_tables_and_actions_are_not_errors() {
    let text = r#"{"category":"AdvancedHunting-DeviceRegistryEvents","operationName":"Publish","properties":{"ActionType":"RegistryValueSet","DeviceName":"h"}}
{"Type":"SecurityEvent","TimeGenerated":"2026-11-30T09:20:00Z","EventID":4688}
{"category":"AdvancedHunting-DeviceNetworkEvents","operationName":"Publish","properties":{"ActionType":"DnsConnectionInspected","DeviceName":"h"}}
{"category":"AdvancedHunting-DeviceFileEvents","operationName":"Publish","properties":{"ActionType":"FileDeleted","DeviceName":"h","FolderPath":"/tmp/x"}}
"#;
    let c = read(text.as_bytes());
    assert!(
        c.events.is_empty() && c.errors.is_empty(),
        "{:?}",
        errors(&c)
    );
}

/// A record's own fields named like a wrapper's (`rows`, `results` inside
/// `properties` or `AdditionalFields`) do not make it a wrapper.
#[test]
fn record_fields_named_like_wrappers_stay_fields() {
    let text = r#"{"category":"AdvancedHunting-DeviceProcessEvents","operationName":"Publish","properties":{"results":[1],"AdditionalFields":{"rows":[[1]],"records":[{"a":1}]},"Timestamp":"2026-11-30T09:20:00Z","DeviceName":"h","ActionType":"ProcessCreated","FileName":"nohup","FolderPath":"/usr/bin/nohup","ProcessCommandLine":"nohup /tmp/x","ProcessId":7}}"#;
    let c = read(text.as_bytes());
    assert!(c.errors.is_empty(), "{:?}", errors(&c));
    assert_eq!(c.events.len(), 1);
}
