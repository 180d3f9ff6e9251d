//! `--format ocsf`: each finding as an OCSF Detection Finding (class 2004, schema
//! 1.5.0), one JSON object per line, for Amazon Security Lake, Splunk and other
//! OCSF consumers. The tests validate every document against the published OCSF
//! 1.5.0 schema, pinned.

use std::io::{self, Write};

use chrono::Utc;
use serde_json::{Value, json};
use sighunt_core::event::Position;
use sighunt_core::export::{ATTACK_URL, rule_title, rule_uuid};
use sighunt_core::finding::{
    ATTACK_VERSION, Finding, PARENT_TECHNIQUE, PARENT_TECHNIQUE_NAME, Severity, TACTIC_ID,
    TACTIC_NAME, TECHNIQUE, TECHNIQUE_NAME,
};

use super::ecs::{os_type, summary};

/// The OCSF schema version the documents follow.
pub const OCSF_VERSION: &str = "1.5.0";

/// Writes findings as OCSF Detection Findings, one per line.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &document(f))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// OCSF `severity_id` and its caption.
fn severity(s: Severity) -> (u8, &'static str) {
    match s {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

/// OCSF `os.type_id` and `os.name` for the finding's platform.
fn os(f: &Finding) -> Value {
    match os_type(f) {
        "windows" => json!({ "type_id": 100, "type": "Windows", "name": "Windows" }),
        "macos" => json!({ "type_id": 300, "type": "macOS", "name": "macOS" }),
        _ => json!({ "type_id": 200, "type": "Linux", "name": "Linux" }),
    }
}

/// The OCSF document of one finding.
pub fn document(f: &Finding) -> Value {
    let (severity_id, severity_name) = severity(f.severity);
    let time = f.time.unwrap_or_else(Utc::now).timestamp_millis();
    let mut process = json!({
        "cmd_line": f.command_line,
        "name": f.exec_cmd.rsplit(['/', '\\']).next().unwrap_or(&f.exec_cmd),
    });
    if f.exec_cmd.contains(['/', '\\']) {
        process["file"] = json!({
            "path": f.exec_cmd,
            "name": process["name"],
            "type_id": 1,
            "type": "Regular File",
        });
    }
    match f.pid {
        Some(pid) => process["pid"] = json!(pid),
        // OCSF wants a pid or a uid; a log line with no pid has the finding's.
        None => process["uid"] = json!(f.id()),
    }
    if let Some(ppid) = f.ppid {
        process["parent_process"] = json!({ "pid": ppid });
    }
    if let Some(user) = &f.user {
        process["user"] = json!({ "name": user });
    }
    // OCSF's device needs a name: without a host the finding has no device.
    let device = (!f.host.is_empty())
        .then(|| json!({ "type_id": 0, "type": "Unknown", "hostname": f.host, "os": os(f) }));
    let (position_kind, position) = match f.source.position {
        Position::Line(n) => ("line", Some(n)),
        Position::Record(n) => ("record", Some(n)),
        Position::None => ("", None),
    };
    let mut source = json!({ "path": &*f.source.path, "format": f.source.format });
    if let Some(n) = position {
        source[position_kind] = json!(n);
    }
    let mut doc = json!({
        "activity_id": 1,
        "activity_name": "Create",
        "category_uid": 2,
        "category_name": "Findings",
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "type_uid": 200401,
        "type_name": "Detection Finding: Create",
        "severity_id": severity_id,
        "severity": severity_name,
        "status_id": 1,
        "status": "New",
        "is_alert": true,
        "time": time,
        "message": summary(f),
        "risk_score": f.suspicion_score,
        "finding_info": {
            "uid": f.id(),
            "title": rule_title(f.rule_id()),
            "types": [f.detection_type.as_str()],
            "analytic": {
                "uid": rule_uuid(f.rule_id()),
                "name": f.rule_id(),
                "type_id": 1,
                "type": "Rule",
            },
            "attacks": [{
                "version": ATTACK_VERSION,
                "tactic": { "uid": TACTIC_ID, "name": TACTIC_NAME },
                "technique": { "uid": PARENT_TECHNIQUE, "name": PARENT_TECHNIQUE_NAME },
                "sub_technique": { "uid": TECHNIQUE, "name": TECHNIQUE_NAME, "src_url": ATTACK_URL },
            }],
            "data_sources": [f.source.format],
        },
        "metadata": {
            "version": OCSF_VERSION,
            "product": {
                "name": "sighunt",
                "vendor_name": "sighunt",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "log_name": &*f.source.path,
        },
        "evidences": [{ "process": process }],
        "unmapped": { "indicators": f.indicators, "source": source },
    });
    if let Some(device) = device {
        doc["device"] = device;
    }
    doc
}
