//! The events sighunt reads, as a SIEM would hold them for Sigma rules: each event
//! under the Sigma log source(s) it belongs to, with the taxonomy's field names
//! (`Image`, `CommandLine`, `ScriptBlockText`, auditd's `a0`, `a1` …).
//!
//! This is what the differential test (`scripts/ci-exports.sh`) runs the exported
//! Sigma rules over, so that a rule and sighunt are judged on the same events: an
//! auditd exec is both an auditd `EXECVE` record and a Linux process creation (what
//! Auditbeat or Sysmon for Linux would write), a PowerShell 4104/4103/800 the
//! script, module or classic-script event, a Windows process a process creation.

use std::collections::BTreeMap;

use crate::command::join_argv;
use crate::event::{
    Event, NetworkActivity, NetworkKind, Platform, Position, ProcessOrigin, ProcessStart,
    ScriptBlock,
};

/// A Sigma log source: product and category or service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LogSource {
    pub product: &'static str,
    /// `category` or `service`.
    pub kind: &'static str,
    pub name: &'static str,
}

impl LogSource {
    const fn category(product: &'static str, name: &'static str) -> Self {
        LogSource {
            product,
            kind: "category",
            name,
        }
    }
    const fn service(product: &'static str, name: &'static str) -> Self {
        LogSource {
            product,
            kind: "service",
            name,
        }
    }
}

/// One event under one log source.
#[derive(Debug, Clone)]
pub struct SigmaEvent {
    pub logsource: LogSource,
    pub fields: BTreeMap<&'static str, String>,
}

/// The event under each log source Sigma rules would see it in (none for events no
/// exported rule reads, such as Sysmon network connections).
pub fn sigma_events(event: &Event) -> Vec<SigmaEvent> {
    match event {
        Event::Process(p) => process(p),
        Event::Script(s) => script(s).into_iter().collect(),
        Event::Network(n) => network(n).into_iter().collect(),
        Event::FileWrite(_) => Vec::new(),
    }
}

/// An auditd bind/listen/connect as its SYSCALL record (what the correlation
/// rules' socket step reads); other sources' network events are not exported.
fn network(n: &NetworkActivity) -> Option<SigmaEvent> {
    if n.provenance.format != "auditd" {
        return None;
    }
    let mut fields = BTreeMap::new();
    fields.insert("type", "SYSCALL".to_string());
    let syscall = match n.kind {
        NetworkKind::Bind => "bind",
        NetworkKind::Listen => "listen",
        NetworkKind::Connect => "connect",
    };
    fields.insert("syscall", syscall.to_string());
    put(&mut fields, "pid", n.pid.map(|p| p.to_string()).as_deref());
    put(&mut fields, "exe", n.image.as_deref());
    put(
        &mut fields,
        "saddr",
        n.local.as_deref().or(n.remote.as_deref()),
    );
    Some(SigmaEvent {
        logsource: LogSource::service("linux", "auditd"),
        fields,
    })
}

/// `line N`, `record N` or empty: how the provenance names the place.
pub fn position_label(position: Position) -> String {
    match position {
        Position::Line(n) => format!("line {n}"),
        Position::Record(n) => format!("record {n}"),
        Position::None => String::new(),
    }
}

fn put(fields: &mut BTreeMap<&'static str, String>, key: &'static str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        fields.insert(key, v.to_string());
    }
}

fn process(p: &ProcessStart) -> Vec<SigmaEvent> {
    let mut out = Vec::new();
    let macos = matches!(p.provenance.format, "eslogger" | "unifiedlog");
    let product = match p.platform {
        Platform::Windows => "windows",
        Platform::Unix if macos => "macos",
        Platform::Unix => "linux",
    };
    let command_line = if p.command_line.is_empty() {
        join_argv(&p.argv)
    } else {
        p.command_line.clone()
    };
    // The image: the executable the record names, else argv[0] when it is a path.
    let image = p
        .exe
        .clone()
        .or_else(|| p.argv.first().filter(|a| a.contains(['/', '\\'])).cloned());
    let mut fields = BTreeMap::new();
    put(&mut fields, "Image", image.as_deref());
    put(&mut fields, "CommandLine", Some(&command_line));
    // A scheduler's log names the scheduler, as Sysmon would name the parent.
    let scheduler = match &p.origin {
        ProcessOrigin::Scheduler(name) => Some(name.as_str()),
        _ => None,
    };
    put(
        &mut fields,
        "ParentImage",
        p.parent_exe.as_deref().or(scheduler),
    );
    put(
        &mut fields,
        "ParentCommandLine",
        p.parent_command_line.as_deref(),
    );
    put(&mut fields, "User", p.user.as_deref());
    put(&mut fields, "CurrentDirectory", p.cwd.as_deref());
    put(
        &mut fields,
        "OriginalFileName",
        p.original_file_name.as_deref(),
    );
    put(&mut fields, "ProcessGuid", p.process_guid.as_deref());
    put(
        &mut fields,
        "ParentProcessGuid",
        p.parent_process_guid.as_deref(),
    );
    put(
        &mut fields,
        "ProcessId",
        p.pid.map(|n| n.to_string()).as_deref(),
    );
    put(
        &mut fields,
        "ParentProcessId",
        p.ppid.map(|n| n.to_string()).as_deref(),
    );
    out.push(SigmaEvent {
        logsource: LogSource::category(product, "process_creation"),
        fields,
    });
    if p.provenance.format == "auditd" {
        // The EXECVE record with its SYSCALL's fields, arguments decoded (as
        // Auditbeat and `ausearch -i` show them).
        let mut fields = BTreeMap::new();
        fields.insert("type", "EXECVE".to_string());
        fields.insert("argc", p.argv.len().to_string());
        for (i, arg) in p.argv.iter().enumerate().take(ARG_FIELDS.len()) {
            fields.insert(ARG_FIELDS[i], arg.clone());
        }
        put(&mut fields, "exe", p.exe.as_deref());
        put(&mut fields, "comm", p.comm.as_deref());
        put(&mut fields, "key", p.key.as_deref());
        put(&mut fields, "cwd", p.cwd.as_deref());
        put(&mut fields, "pid", p.pid.map(|n| n.to_string()).as_deref());
        put(
            &mut fields,
            "ppid",
            p.ppid.map(|n| n.to_string()).as_deref(),
        );
        put(
            &mut fields,
            "auid",
            p.auid.map(|n| n.to_string()).as_deref(),
        );
        put(
            &mut fields,
            "ses",
            p.session.map(|n| n.to_string()).as_deref(),
        );
        put(&mut fields, "uid", p.user.as_deref());
        out.push(SigmaEvent {
            logsource: LogSource::service("linux", "auditd"),
            fields,
        });
    }
    out
}

/// auditd's argument fields, as many as Sigma's auditd taxonomy names.
const ARG_FIELDS: [&str; 10] = ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7", "a8", "a9"];

fn script(s: &ScriptBlock) -> Option<SigmaEvent> {
    let mut fields = BTreeMap::new();
    let category = match s.event_id {
        4104 => {
            fields.insert("ScriptBlockText", s.text.clone());
            put(&mut fields, "ScriptBlockId", Some(&s.script_block_id));
            put(&mut fields, "Path", s.path.as_deref());
            "ps_script"
        }
        4103 => {
            fields.insert("Payload", s.text.clone());
            let mut context = String::new();
            if let Some(h) = &s.host_application {
                context.push_str(&format!("Host Application = {h}\n"));
            }
            if let Some(p) = &s.path {
                context.push_str(&format!("Script Name = {p}\n"));
            }
            put(&mut fields, "ContextInfo", Some(&context));
            "ps_module"
        }
        800 => {
            // The classic log's EventData as one text, as Windows renders it: the
            // pipeline's command text, then the context's Key=Value lines.
            let mut data = s.text.clone();
            if let Some(h) = &s.host_application {
                data.push_str(&format!("\n\tHostApplication={h}"));
            }
            fields.insert("Data", data);
            put(
                &mut fields,
                "HostApplication",
                s.host_application.as_deref(),
            );
            "ps_classic_script"
        }
        _ => return None,
    };
    Some(SigmaEvent {
        logsource: LogSource::category("windows", category),
        fields,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Provenance;

    fn field<'a>(e: &'a SigmaEvent, k: &str) -> Option<&'a str> {
        e.fields.get(k).map(String::as_str)
    }

    #[test]
    fn an_auditd_exec_is_an_execve_record_and_a_process_creation() {
        let mut p = ProcessStart::test_exec(&["nohup", "/tmp/x y", "-q"], 42, 7);
        p.exe = Some("/usr/bin/nohup".into());
        let events = sigma_events(&Event::Process(p));
        assert_eq!(events.len(), 2);
        let pc = &events[0];
        assert_eq!(
            pc.logsource,
            LogSource::category("linux", "process_creation")
        );
        assert_eq!(field(pc, "Image"), Some("/usr/bin/nohup"));
        assert_eq!(field(pc, "ProcessId"), Some("42"));
        assert_eq!(field(pc, "ParentProcessId"), Some("7"));
        let ex = &events[1];
        assert_eq!(ex.logsource, LogSource::service("linux", "auditd"));
        assert_eq!(field(ex, "type"), Some("EXECVE"));
        // Arguments decoded, one field each, as Auditbeat and `ausearch -i` show them.
        assert_eq!(field(ex, "a1"), Some("/tmp/x y"));
        assert_eq!(field(ex, "a2"), Some("-q"));
        assert_eq!(field(ex, "argc"), Some("3"));
        assert_eq!(field(ex, "a3"), None);
    }

    #[test]
    fn a_scheduler_is_the_parent_and_scripts_go_to_their_log_source() {
        let prov = Provenance {
            path: std::sync::Arc::from("syslog"),
            position: Position::Line(3),
            format: "syslog",
        };
        let mut p = ProcessStart::new(Platform::Unix, prov.clone());
        p.command_line = "nohup /tmp/a &".into();
        p.origin = ProcessOrigin::Scheduler("CRON".into());
        let events = sigma_events(&Event::Process(p));
        assert_eq!(events.len(), 1, "text logs have no EXECVE record");
        assert_eq!(field(&events[0], "ParentImage"), Some("CRON"));
        assert_eq!(field(&events[0], "Image"), None, "no path, no image");

        for (id, category, key) in [
            (4104, "ps_script", "ScriptBlockText"),
            (4103, "ps_module", "Payload"),
            (800, "ps_classic_script", "Data"),
        ] {
            let s = ScriptBlock {
                time: None,
                host: "h".into(),
                pid: None,
                user: None,
                script_block_id: String::new(),
                path: None,
                host_application: Some("powershell.exe -nop".into()),
                text: "iex $x".into(),
                event_id: id,
                provenance: prov.clone(),
            };
            let e = sigma_events(&Event::Script(s));
            assert_eq!(e[0].logsource, LogSource::category("windows", category));
            assert!(field(&e[0], key).unwrap().starts_with("iex $x"), "{id}");
        }
    }
}
