//! `--format ecs`: each finding as an Elastic Common Schema (8.x) alert document,
//! one JSON object per line, ready for an Elasticsearch index or a Filebeat/Elastic
//! Agent input without an ingest mapping.
//!
//! Only ECS fields are written (the tests validate every document against the
//! published ECS field definitions, pinned); what ECS has no field for (the
//! nohup target, the indicators, the position in the log) is in `message` and
//! `tags`, and the finding's `id` is `event.id`.

use std::io::{self, Write};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use sighunt_core::event::Platform;
use sighunt_core::export::{ATTACK_URL, rule_title, rule_uuid};
use sighunt_core::finding::{
    Finding, PARENT_TECHNIQUE, PARENT_TECHNIQUE_NAME, Severity, TACTIC_ID, TACTIC_NAME, TECHNIQUE,
    TECHNIQUE_NAME,
};

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// Writes findings as ECS alert documents, one per line.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &document(f))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Elastic Security's default risk score for a severity (0-100).
pub fn risk_score_norm(s: Severity) -> f64 {
    match s {
        Severity::Informational => 0.0,
        Severity::Low => 21.0,
        Severity::Medium => 47.0,
        Severity::High => 73.0,
        Severity::Critical => 99.0,
    }
}

/// `host.os.type`: macOS where the source is a macOS log.
pub fn os_type(f: &Finding) -> &'static str {
    match (f.platform, f.source.format) {
        (Platform::Windows, _) => "windows",
        (Platform::Unix, "eslogger" | "unifiedlog") => "macos",
        (Platform::Unix, _) => "linux",
    }
}

/// One line a person reads in a SIEM's alert list.
pub fn summary(f: &Finding) -> String {
    let what = if f.nohup_target.is_empty() {
        f.command_line.clone()
    } else {
        [f.exec_cmd.as_str(), &f.nohup_target, &f.nohup_args]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let indicators = if f.indicators.is_empty() {
        "no indicator".to_string()
    } else {
        f.indicators.join(", ")
    };
    format!(
        "{} {} (score {}, {}): {} [{}]",
        TECHNIQUE,
        f.detection_type.as_str(),
        f.suspicion_score,
        f.severity,
        what,
        indicators
    )
}

fn basename(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The ECS document of one finding.
pub fn document(f: &Finding) -> Value {
    let timestamp = f
        .time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut event = json!({
        "kind": "alert",
        "category": ["process"],
        "type": [if f.source.format == "procfs" { "info" } else { "start" }],
        "module": "sighunt",
        "dataset": "sighunt.finding",
        "provider": f.source.format,
        "id": f.id(),
        "code": f.detection_type.as_str(),
        "severity": f.severity as i64,
        "risk_score": f.suspicion_score as f64,
        "risk_score_norm": risk_score_norm(f.severity),
        "reason": f.indicators.join(", "),
    });
    if f.time.is_none() {
        // The log gave no time: `@timestamp` is when sighunt reported it.
        event["created"] = json!(timestamp);
    }
    let mut process = json!({
        "command_line": f.command_line,
        "name": basename(&f.exec_cmd),
    });
    if f.exec_cmd.contains(['/', '\\']) {
        process["executable"] = json!(f.exec_cmd);
    }
    if let Some(pid) = f.pid {
        process["pid"] = json!(pid);
    }
    if let Some(ppid) = f.ppid {
        process["parent"] = json!({ "pid": ppid });
    }
    let tactic_url = format!("https://attack.mitre.org/tactics/{TACTIC_ID}/");
    let mut doc = json!({
        "@timestamp": timestamp,
        "ecs": { "version": ECS_VERSION },
        "message": summary(f),
        "tags": f.indicators,
        "event": event,
        "rule": {
            "id": f.rule_id(),
            "uuid": rule_uuid(f.rule_id()),
            "name": rule_title(f.rule_id()),
            "ruleset": "sighunt",
            "category": f.detection_type.as_str(),
            "reference": ATTACK_URL,
        },
        "threat": {
            "framework": "MITRE ATT&CK",
            "tactic": {
                "id": [TACTIC_ID],
                "name": [TACTIC_NAME],
                "reference": [tactic_url],
            },
            "technique": {
                "id": [PARENT_TECHNIQUE],
                "name": [PARENT_TECHNIQUE_NAME],
                "reference": [format!("https://attack.mitre.org/techniques/{PARENT_TECHNIQUE}/")],
                "subtechnique": {
                    "id": [TECHNIQUE],
                    "name": [TECHNIQUE_NAME],
                    "reference": [ATTACK_URL],
                },
            },
        },
        "process": process,
        "host": { "os": { "type": os_type(f) } },
        "log": { "file": { "path": &*f.source.path } },
    });
    if !f.host.is_empty() {
        doc["host"]["name"] = json!(f.host);
        doc["host"]["hostname"] = json!(f.host);
    }
    if let Some(user) = &f.user {
        doc["user"] = json!({ "name": user });
    }
    doc
}
