//! Windows events built from PowerShell scripts, in every shape sighunt reads: the
//! rendered XML of `wevtutil`/`Get-WinEvent`, Winlogbeat raw and ECS-processed
//! JSON, and OTRF/NXLog flat JSON (docs/field-guide.md §3); plus a hunt over such
//! text through the library's own input path.

#![allow(dead_code)]

pub mod cases;

use std::io::Write;

use base64::Engine;
use serde_json::{Map, Value, json};
use sighunt_core::engine::hunt::{HuntOptions, hunt};
use sighunt_core::finding::Finding;
use sighunt_core::rules::Rules;
use sighunt_core::sources::windows::WinEvent;

pub use cases::{CASES, DELIVERIES, Delivery};

pub const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";
pub const CMD: &str = r"C:\Windows\System32\cmd.exe";

/// The shapes one event can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Xml,
    WinlogbeatRaw,
    WinlogbeatEcs,
    Flat,
}

pub const SHAPES: &[Shape] = &[
    Shape::Xml,
    Shape::WinlogbeatRaw,
    Shape::WinlogbeatEcs,
    Shape::Flat,
];

impl Shape {
    pub fn extension(self) -> &'static str {
        match self {
            Shape::Xml => "xml",
            _ => "ndjson",
        }
    }
}

/// `-EncodedCommand`'s encoding: base64 of UTF-16LE.
pub fn encode(script: &str) -> String {
    let bytes: Vec<u8> = script.encode_utf16().flat_map(u16::to_le_bytes).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One argument quoted as `CommandLineToArgvW` reads it back.
pub fn quote_arg(arg: &str) -> String {
    let mut out = String::from("\"");
    let mut backslashes = 0;
    for c in arg.chars() {
        match c {
            '\\' => backslashes += 1,
            '"' => {
                out.push_str(&"\\".repeat(backslashes * 2 + 1));
                out.push('"');
                backslashes = 0;
            }
            c => {
                out.push_str(&"\\".repeat(backslashes));
                backslashes = 0;
                out.push(c);
            }
        }
    }
    out.push_str(&"\\".repeat(backslashes * 2));
    out.push('"');
    out
}

/// Where and when an event happened; `seq` makes pids, guids and record ids unique.
#[derive(Debug, Clone)]
pub struct Origin {
    pub host: String,
    pub seq: u32,
}

impl Origin {
    fn pid(&self) -> u32 {
        1000 + self.seq * 4
    }
    fn time(&self, offset_ms: u32) -> String {
        let ms = self.seq * 10 + offset_ms;
        format!(
            "2024-06-0{}T{:02}:{:02}:{:02}.{:03}Z",
            1 + (ms / 86_400_000) % 9,
            (ms / 3_600_000) % 24,
            (ms / 60_000) % 60,
            (ms / 1000) % 60,
            ms % 1000
        )
    }
    fn guid(&self) -> String {
        format!(
            "{{8d1f3c2a-6b7e-65f0-{:04x}-{:012x}}}",
            self.seq % 0xffff,
            self.seq
        )
    }
}

fn base(o: &Origin, id: u32, provider: &str, channel: &str, offset_ms: u32) -> WinEvent {
    WinEvent {
        event_id: Some(id),
        provider: provider.into(),
        channel: channel.into(),
        computer: o.host.clone(),
        time: sighunt_core::sources::windows::parse_time(&o.time(offset_ms)),
        record_id: Some(u64::from(o.seq) * 10 + u64::from(offset_ms)),
        exec_pid: Some(o.pid()),
        user_sid: Some("S-1-5-21-3623811015-3361044348-30300820-1013".into()),
        ..WinEvent::default()
    }
}

fn data(ev: &mut WinEvent, pairs: &[(&str, String)]) {
    for (k, v) in pairs {
        ev.data.push(((*k).into(), v.clone()));
    }
}

/// A Sysmon 1 process start.
pub fn sysmon1(o: &Origin, image: &str, original: &str, command_line: &str) -> WinEvent {
    let mut ev = base(
        o,
        1,
        "Microsoft-Windows-Sysmon",
        "Microsoft-Windows-Sysmon/Operational",
        0,
    );
    ev.exec_pid = Some(3012);
    ev.user_sid = Some("S-1-5-18".into());
    data(
        &mut ev,
        &[
            ("RuleName", "-".into()),
            (
                "UtcTime",
                o.time(0)
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .to_string(),
            ),
            ("ProcessGuid", o.guid()),
            ("ProcessId", o.pid().to_string()),
            ("Image", image.into()),
            ("OriginalFileName", original.into()),
            ("CommandLine", command_line.into()),
            ("CurrentDirectory", r"C:\Users\alice\".into()),
            ("User", r"CORP\alice".into()),
            (
                "ParentProcessGuid",
                "{8d1f3c2a-6b61-65f0-3e02-000000001f00}".into(),
            ),
            ("ParentProcessId", "5208".into()),
            ("ParentImage", r"C:\Windows\explorer.exe".into()),
            ("ParentCommandLine", r"C:\Windows\Explorer.EXE".into()),
        ],
    );
    ev
}

/// A Security 4688 process start.
pub fn security4688(o: &Origin, image: &str, command_line: &str) -> WinEvent {
    let mut ev = base(
        o,
        4688,
        "Microsoft-Windows-Security-Auditing",
        "Security",
        0,
    );
    ev.exec_pid = Some(4);
    data(
        &mut ev,
        &[
            (
                "SubjectUserSid",
                "S-1-5-21-3623811015-3361044348-30300820-1013".into(),
            ),
            ("SubjectUserName", "alice".into()),
            ("SubjectDomainName", "CORP".into()),
            ("SubjectLogonId", "0x73b9c".into()),
            ("NewProcessId", format!("{:#x}", o.pid())),
            ("NewProcessName", image.into()),
            ("TokenElevationType", "%%1938".into()),
            ("ProcessId", "0x1458".into()),
            ("CommandLine", command_line.into()),
            ("TargetUserSid", "S-1-0-0".into()),
            ("ParentProcessName", r"C:\Windows\explorer.exe".into()),
            ("MandatoryLabel", "S-1-16-8192".into()),
        ],
    );
    ev
}

/// A 4104 script block in `parts` parts (split on character boundaries).
pub fn script_block(o: &Origin, text: &str, parts: usize) -> Vec<WinEvent> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(parts.max(1)).max(1);
    let pieces: Vec<String> = chars.chunks(size).map(|c| c.iter().collect()).collect();
    let total = pieces.len();
    pieces
        .into_iter()
        .enumerate()
        .map(|(k, piece)| {
            let mut ev = base(
                o,
                4104,
                "Microsoft-Windows-PowerShell",
                "Microsoft-Windows-PowerShell/Operational",
                100 + k as u32,
            );
            data(
                &mut ev,
                &[
                    ("MessageNumber", (k + 1).to_string()),
                    ("MessageTotal", total.to_string()),
                    ("ScriptBlockText", piece),
                    (
                        "ScriptBlockId",
                        format!("6e4c1b59-2eb8-4934-9e78-{:012x}", o.seq),
                    ),
                    ("Path", String::new()),
                ],
            );
            ev
        })
        .collect()
}

fn context_info(host_application: &str) -> String {
    format!(
        "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        Host Version = 5.1.19041.3996\r\n        Host ID = 2a1f7a4c-0a4b-4a35-9c07-2d3c3d3b1f10\r\n        Host Application = {host_application}\r\n        Engine Version = 5.1.19041.3996\r\n        Runspace ID = 8e9e5a1c-3b1e-4d1f-8a4e-4bb3b8f1c2aa\r\n        Pipeline ID = 1\r\n        Command Name = Invoke-Command\r\n        Command Type = Cmdlet\r\n        Script Name = \r\n        Command Path = \r\n        Sequence Number = 16\r\n        User = CORP\\alice\r\n        Connected User = \r\n        Shell ID = Microsoft.PowerShell\r\n"
    )
}

/// A 4103 module-logging event of `Invoke-Command -ScriptBlock { script }`.
pub fn module_logging(o: &Origin, script: &str, host_application: &str) -> WinEvent {
    let mut ev = base(
        o,
        4103,
        "Microsoft-Windows-PowerShell",
        "Microsoft-Windows-PowerShell/Operational",
        200,
    );
    data(
        &mut ev,
        &[
            ("ContextInfo", context_info(host_application)),
            ("UserData", String::new()),
            (
                "Payload",
                format!(
                    "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\nParameterBinding(Invoke-Command): name=\"ScriptBlock\"; value=\"{script}\"\r\n"
                ),
            ),
        ],
    );
    ev
}

/// A classic-log 800 pipeline-execution event of `script`.
pub fn pipeline(o: &Origin, script: &str, host_application: &str) -> WinEvent {
    let mut ev = base(o, 800, "PowerShell", "Windows PowerShell", 300);
    ev.exec_pid = Some(0);
    ev.unnamed = vec![
        script.to_string(),
        format!(
            "\tDetailSequence=1\r\n\tDetailTotal=1\r\n\r\n\tSequenceNumber=17\r\n\r\n\tUserId=CORP\\alice\r\n\tHostName=ConsoleHost\r\n\tHostVersion=5.1.19041.3996\r\n\tHostId=2a1f7a4c-0a4b-4a35-9c07-2d3c3d3b1f10\r\n\tHostApplication={host_application}\r\n\tEngineVersion=5.1.19041.3996\r\n\tRunspaceId=8e9e5a1c-3b1e-4d1f-8a4e-4bb3b8f1c2aa\r\n\tPipelineId=1\r\n\tScriptName=\r\n\tCommandLine={script}\r\n"
        ),
        "CommandInvocation(Invoke-Command): \"Invoke-Command\"\r\n".to_string(),
    ];
    ev
}

/// The events that log `script` delivered as `d`.
pub fn deliver(o: &Origin, script: &str, d: Delivery) -> Vec<WinEvent> {
    let encoded = format!(
        "\"{POWERSHELL}\" -NoProfile -EncodedCommand {}",
        encode(script)
    );
    match d {
        Delivery::SysmonEncoded => vec![sysmon1(o, POWERSHELL, "PowerShell.EXE", &encoded)],
        Delivery::SysmonCommand => vec![sysmon1(
            o,
            POWERSHELL,
            "PowerShell.EXE",
            &format!("\"{POWERSHELL}\" -NoProfile -Command {}", quote_arg(script)),
        )],
        Delivery::Security4688 => vec![security4688(o, POWERSHELL, &encoded)],
        Delivery::CmdCarets => vec![sysmon1(
            o,
            CMD,
            "Cmd.Exe",
            &format!(
                "\"C:\\Windows\\system32\\cmd.exe\" /c p^o^w^e^r^s^h^e^l^l.e^x^e -n^op -e^nc {}",
                encode(script)
            ),
        )],
        Delivery::DoubleEncoded => {
            let outer = format!(
                "powershell.exe -NoProfile -EncodedCommand {}",
                encode(script)
            );
            vec![sysmon1(
                o,
                POWERSHELL,
                "PowerShell.EXE",
                &format!(
                    "\"{POWERSHELL}\" -NoProfile -EncodedCommand {}",
                    encode(&outer)
                ),
            )]
        }
        Delivery::ScriptBlock => script_block(o, script, 1),
        Delivery::ScriptBlockParts => script_block(o, script, 3),
        Delivery::ModuleLogging => vec![module_logging(
            o,
            script,
            &format!("{POWERSHELL} -NoProfile"),
        )],
        Delivery::Pipeline => vec![pipeline(o, script, &format!("{POWERSHELL} -NoProfile"))],
    }
}

// --- rendering ------------------------------------------------------------------------

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
    out
}

fn rfc3339(ev: &WinEvent) -> String {
    ev.time
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// `ev` as `wevtutil qe /f:xml` renders it.
pub fn to_xml(ev: &WinEvent) -> String {
    let mut s = format!(
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='{}'/><EventID>{}</EventID><Version>1</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime='{}'/><EventRecordID>{}</EventRecordID><Correlation/><Execution ProcessID='{}' ThreadID='4120'/><Channel>{}</Channel><Computer>{}</Computer><Security UserID='{}'/></System><EventData>",
        xml_escape(&ev.provider),
        ev.event_id.unwrap_or(0),
        rfc3339(ev),
        ev.record_id.unwrap_or(0),
        ev.exec_pid.unwrap_or(0),
        xml_escape(&ev.channel),
        xml_escape(&ev.computer),
        ev.user_sid.as_deref().unwrap_or("S-1-5-18"),
    );
    for (k, v) in &ev.data {
        s.push_str(&format!(
            "<Data Name='{}'>{}</Data>",
            xml_escape(k),
            xml_escape(v)
        ));
    }
    for v in &ev.unnamed {
        s.push_str(&format!("<Data>{}</Data>", xml_escape(v)));
    }
    s.push_str("</EventData></Event>");
    s
}

fn event_data(ev: &WinEvent) -> Map<String, Value> {
    let mut m = Map::new();
    for (k, v) in &ev.data {
        m.insert(k.to_string(), Value::String(v.clone()));
    }
    for (k, v) in ev.unnamed.iter().enumerate() {
        m.insert(format!("param{}", k + 1), Value::String(v.clone()));
    }
    m
}

/// `ev` as Winlogbeat ships it without an ingest pipeline.
pub fn to_winlogbeat_raw(ev: &WinEvent) -> Value {
    json!({
        "@timestamp": rfc3339(ev),
        "agent": {"type": "winlogbeat", "version": "8.13.2"},
        "event": {"code": ev.event_id.unwrap_or(0).to_string(), "kind": "event", "provider": ev.provider},
        "host": {"name": ev.computer.to_lowercase()},
        "winlog": {
            "api": "wineventlog",
            "channel": ev.channel,
            "computer_name": ev.computer,
            "event_data": Value::Object(event_data(ev)),
            "event_id": ev.event_id.unwrap_or(0).to_string(),
            "process": {"pid": ev.exec_pid.unwrap_or(0), "thread": {"id": 4120}},
            "provider_name": ev.provider,
            "record_id": ev.record_id.unwrap_or(0),
            "user": {"identifier": ev.user_sid},
        }
    })
}

fn take(m: &mut Map<String, Value>, key: &str) -> Value {
    m.remove(key).unwrap_or(Value::Null)
}

fn number(v: Value) -> Value {
    match &v {
        Value::String(s) => {
            let s = s.trim();
            let n = match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16).ok(),
                None => s.parse().ok(),
            };
            n.map(Value::from).unwrap_or(v)
        }
        _ => v,
    }
}

/// `ev` after the Winlogbeat sysmon/security/powershell module pipelines: mapped
/// fields move out of `event_data` into ECS.
pub fn to_winlogbeat_ecs(ev: &WinEvent) -> Value {
    let mut v = to_winlogbeat_raw(ev);
    let id = ev.event_id.unwrap_or(0);
    let mut d = event_data(ev);
    let mut ecs = Map::new();
    match id {
        1 => {
            let user = take(&mut d, "User");
            let (domain, name) = user
                .as_str()
                .and_then(|u| u.split_once('\\'))
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .unwrap_or_default();
            ecs.insert(
                "process".into(),
                json!({
                    "command_line": take(&mut d, "CommandLine"),
                    "executable": take(&mut d, "Image"),
                    "pid": number(take(&mut d, "ProcessId")),
                    "entity_id": take(&mut d, "ProcessGuid"),
                    "working_directory": take(&mut d, "CurrentDirectory"),
                    "pe": {"original_file_name": take(&mut d, "OriginalFileName")},
                    "parent": {
                        "executable": take(&mut d, "ParentImage"),
                        "command_line": take(&mut d, "ParentCommandLine"),
                        "pid": number(take(&mut d, "ParentProcessId")),
                        "entity_id": take(&mut d, "ParentProcessGuid"),
                    }
                }),
            );
            ecs.insert("user".into(), json!({"domain": domain, "name": name}));
        }
        4688 => {
            ecs.insert(
                "process".into(),
                json!({
                    "command_line": take(&mut d, "CommandLine"),
                    "executable": take(&mut d, "NewProcessName"),
                    "pid": number(take(&mut d, "NewProcessId")),
                    "parent": {"executable": take(&mut d, "ParentProcessName")},
                }),
            );
        }
        4104 => {
            ecs.insert(
                "powershell".into(),
                json!({
                    "file": {
                        "script_block_text": take(&mut d, "ScriptBlockText"),
                        "script_block_id": take(&mut d, "ScriptBlockId"),
                    },
                    "sequence": number(take(&mut d, "MessageNumber")),
                    "total": number(take(&mut d, "MessageTotal")),
                }),
            );
            let path = take(&mut d, "Path");
            if path.as_str().is_some_and(|p| !p.is_empty()) {
                ecs.insert("file".into(), json!({"path": path}));
            }
        }
        4103 => {
            let payload = take(&mut d, "Payload");
            let context = take(&mut d, "ContextInfo");
            let context = context.as_str().unwrap_or("");
            let host_app = context
                .lines()
                .find_map(|l| l.trim().strip_prefix("Host Application = "))
                .unwrap_or("")
                .to_string();
            ecs.insert(
                "message".into(),
                Value::String(format!(
                    "{}\nContext:\n{}",
                    payload.as_str().unwrap_or(""),
                    context.replace('\r', "")
                )),
            );
            ecs.insert("process".into(), json!({"command_line": host_app}));
        }
        800 => {
            let text = take(&mut d, "param1");
            let context = take(&mut d, "param2");
            take(&mut d, "param3");
            let host_app = context
                .as_str()
                .unwrap_or("")
                .lines()
                .find_map(|l| l.trim().strip_prefix("HostApplication="))
                .unwrap_or("")
                .to_string();
            ecs.insert("powershell".into(), json!({"command": {"value": text}}));
            ecs.insert("process".into(), json!({"command_line": host_app}));
        }
        _ => {}
    }
    let obj = v.as_object_mut().expect("an object");
    obj["winlog"]["event_id"] = Value::from(id);
    obj["winlog"]["event_data"] = Value::Object(d);
    obj["event"]["code"] = Value::from(id);
    for (k, val) in ecs {
        obj.insert(k, val);
    }
    v
}

/// `ev` as NXLog `im_msvistalog` flattens it (OTRF Security-Datasets, classic shape).
pub fn to_flat(ev: &WinEvent) -> Value {
    let mut m = Map::new();
    m.insert("tags".into(), json!(["mordorDataset"]));
    m.insert("@timestamp".into(), Value::String(rfc3339(ev)));
    m.insert("Hostname".into(), Value::String(ev.computer.clone()));
    m.insert("EventID".into(), Value::from(ev.event_id.unwrap_or(0)));
    m.insert("SourceName".into(), Value::String(ev.provider.clone()));
    m.insert("Channel".into(), Value::String(ev.channel.clone()));
    m.insert(
        "ExecutionProcessID".into(),
        Value::from(ev.exec_pid.unwrap_or(0)),
    );
    m.insert(
        "RecordNumber".into(),
        Value::from(ev.record_id.unwrap_or(0)),
    );
    m.insert(
        "SourceModuleType".into(),
        Value::String("im_msvistalog".into()),
    );
    if let Some(sid) = &ev.user_sid {
        m.insert("UserID".into(), Value::String(sid.clone()));
    }
    for (k, v) in &ev.data {
        m.insert(k.to_string(), Value::String(v.clone()));
    }
    if ev.event_id == Some(800) {
        let text = ev.unnamed.first().cloned().unwrap_or_default();
        let context = ev.unnamed.get(1).cloned().unwrap_or_default();
        let details = ev.unnamed.get(2).cloned().unwrap_or_default();
        m.insert(
            "Message".into(),
            Value::String(format!(
                "Pipeline execution details for command line: {text}. \r\n\r\nContext Information: \r\n{context}\r\n\r\nDetails: \r\n{details}"
            )),
        );
    }
    Value::Object(m)
}

/// `events` as one file's text in `shape`.
pub fn render(events: &[WinEvent], shape: Shape) -> String {
    let mut out = String::new();
    if shape == Shape::Xml {
        out.push_str("<?xml version='1.0' encoding='UTF-8'?>\n<Events>\n");
    }
    for ev in events {
        let line = match shape {
            Shape::Xml => to_xml(ev),
            Shape::WinlogbeatRaw => to_winlogbeat_raw(ev).to_string(),
            Shape::WinlogbeatEcs => to_winlogbeat_ecs(ev).to_string(),
            Shape::Flat => to_flat(ev).to_string(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    if shape == Shape::Xml {
        out.push_str("</Events>\n");
    }
    out
}

/// Hunts `text` (one file of `extension`) with the embedded rules through the
/// library's input path; input errors fail the test.
pub fn hunt_text(text: &str, extension: &str) -> Vec<Finding> {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("events.{extension}"));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .expect("write events");
    hunt_paths(&[path])
}

pub fn hunt_paths(paths: &[std::path::PathBuf]) -> Vec<Finding> {
    let errors = std::sync::Mutex::new(Vec::new());
    let report = hunt(paths, &HuntOptions::default(), &Rules::embedded(), &|e| {
        errors.lock().unwrap().push(e.to_string())
    })
    .expect("embedded rules are valid");
    let errors = errors.into_inner().unwrap();
    assert!(errors.is_empty(), "input errors: {errors:?}");
    report.findings
}

/// A finding's short form for comparisons across shapes.
pub fn summary(f: &Finding) -> String {
    format!(
        "{} {} {} [{}] {}",
        f.host,
        f.severity,
        f.suspicion_score,
        f.indicators.join(","),
        f.command_line
    )
}
