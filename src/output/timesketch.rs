//! `--format timesketch`: each finding as one Timesketch timeline event (JSON
//! Lines with the three fields Timesketch requires, `message`, `datetime` and
//! `timestamp_desc`, and the finding's fields as attributes), ready for
//! `timesketch_importer` or the web upload.

use std::io::{self, Write};

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use sighunt_core::event::Position;
use sighunt_core::finding::{Finding, TECHNIQUE};

use super::ecs::summary;

/// Writes findings as Timesketch JSONL.
pub fn write(out: &mut dyn Write, findings: &[Finding]) -> io::Result<()> {
    for f in findings {
        serde_json::to_writer(&mut *out, &document(f))?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// The Timesketch event of one finding.
pub fn document(f: &Finding) -> Value {
    let (datetime, timestamp_desc) = match f.time {
        Some(t) => (
            t.to_rfc3339_opts(SecondsFormat::Micros, true),
            "Event Recorded",
        ),
        // Timesketch needs a time: a log without one is placed when it was reported.
        None => (
            Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true),
            "Finding Reported",
        ),
    };
    let position = match f.source.position {
        Position::Line(n) => format!("line {n}"),
        Position::Record(n) => format!("record {n}"),
        Position::None => String::new(),
    };
    json!({
        "message": summary(f),
        "datetime": datetime,
        "timestamp_desc": timestamp_desc,
        "id": f.id(),
        "rule_id": f.rule_id(),
        "detection_type": f.detection_type.as_str(),
        "severity": f.severity.as_str(),
        "suspicion_score": f.suspicion_score,
        "indicators": f.indicators,
        "technique": TECHNIQUE,
        "hostname": f.host,
        "username": f.user,
        "pid": f.pid,
        "ppid": f.ppid,
        "exec_cmd": f.exec_cmd,
        "nohup_target": f.nohup_target,
        "nohup_args": f.nohup_args,
        "command_line": f.command_line,
        "source_path": &*f.source.path,
        "source_position": position,
        "source_format": f.source.format,
        "data_type": "sighunt:finding",
    })
}
