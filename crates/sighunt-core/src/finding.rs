//! The finding: what every detector produces and every output writes.
//!
//! Its JSON form is a contract (see `DESIGN.md`): field names and meanings must not
//! change without a version bump.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::event::{Platform, Position, Provenance};

/// MITRE ATT&CK sub-technique every finding belongs to.
pub const TECHNIQUE: &str = "T1564.011";
/// Its name in ATT&CK.
pub const TECHNIQUE_NAME: &str = "Ignore Process Interrupts";
/// The parent technique, and its name.
pub const PARENT_TECHNIQUE: &str = "T1564";
pub const PARENT_TECHNIQUE_NAME: &str = "Hide Artifacts";
/// The ATT&CK version the tactic below is taken from: v19 split Defense Evasion
/// (TA0005) into Stealth, which kept its id and T1564, and Defense Impairment.
pub const ATTACK_VERSION: &str = "19";
/// The tactic: id, name, and the short name Sigma tags use (`attack.stealth`).
pub const TACTIC_ID: &str = "TA0005";
pub const TACTIC_NAME: &str = "Stealth";
pub const TACTIC_SHORT_NAME: &str = "stealth";

/// How much attention a finding deserves, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 5] = [
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| {
                sev.as_str().eq_ignore_ascii_case(s)
                    || (s.eq_ignore_ascii_case("info") && *sev == Severity::Informational)
            })
            .ok_or_else(|| {
                format!(
                    "unknown severity {s:?} (expected informational, low, medium, high or critical)"
                )
            })
    }
}

impl Serialize for Severity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The detection families (`detection_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DetectionType {
    /// `nohup` or a relative launched a program (the seed's Part 1).
    Nohup,
    /// PowerShell error suppression with malicious indicators (the seed's Part 2).
    PsErrorSuppression,
    /// Signal masking seen in a command line or script.
    SignalMask,
    /// A running process that ignores terminating signals, seen in `/proc`.
    SignalIgnoreLive,
}

impl DetectionType {
    pub fn as_str(self) -> &'static str {
        match self {
            DetectionType::Nohup => "nohup_interrupt_ignore",
            DetectionType::PsErrorSuppression => "ps_error_suppression",
            DetectionType::SignalMask => "signal_mask",
            DetectionType::SignalIgnoreLive => "signal_ignore_live",
        }
    }
}

/// One explained, scored detection.
#[derive(Debug, Clone)]
pub struct Finding {
    pub time: Option<DateTime<Utc>>,
    pub host: String,
    pub platform: Platform,
    pub detection_type: DetectionType,
    pub exec_cmd: String,
    pub nohup_target: String,
    pub nohup_args: String,
    pub command_line: String,
    pub suspicion_score: i64,
    pub severity: Severity,
    /// Names of the indicators that fired, in rule order.
    pub indicators: Vec<String>,
    pub pid: Option<u32>,
    pub ppid: Option<u32>,
    pub user: Option<String>,
    pub source: Provenance,
    /// The evidence from other events behind each correlated indicator (the chmod
    /// that made the payload executable, the bind after the launch, the init script
    /// that started it), in the order the indicators fired.
    pub related: Vec<Related>,
}

/// Evidence from another event that made a correlated indicator fire: what it was,
/// when, which process, and where it is in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Related {
    /// The indicator this evidence made fire (`payload_made_executable`, …).
    pub indicator: &'static str,
    /// What the event was, for people: `chmod +x /tmp/x`, `bind 0.0.0.0:4444`.
    pub what: String,
    pub time: Option<DateTime<Utc>>,
    pub pid: Option<u32>,
    /// Where the event is: path and line or record. `None` when it is not known
    /// (a parent process seen only in the launch's own record).
    pub source: Option<Provenance>,
}

/// Longest `what` kept in a [`Related`] (a command line; the event has it whole).
pub const MAX_RELATED_WHAT: usize = 512;

impl Related {
    /// Evidence `what` (capped at [`MAX_RELATED_WHAT`] bytes) for `indicator`.
    pub fn new(
        indicator: &'static str,
        what: &str,
        time: Option<DateTime<Utc>>,
        pid: Option<u32>,
        source: Option<Provenance>,
    ) -> Related {
        let mut end = what.len().min(MAX_RELATED_WHAT);
        while !what.is_char_boundary(end) {
            end -= 1;
        }
        Related {
            indicator,
            what: what[..end].to_string(),
            time,
            pid,
            source,
        }
    }

    /// `path:line`, `path#record`, or `path`; empty when the source is not known.
    pub fn position_label(&self) -> String {
        self.source.as_ref().map(position_label).unwrap_or_default()
    }

    /// One line for people: `payload_made_executable: chmod +x /tmp/x (pid 41,
    /// 2024-03-05T12:00:00.000Z, audit.log:12)`.
    pub fn describe(&self) -> String {
        let mut at = Vec::new();
        if let Some(pid) = self.pid {
            at.push(format!("pid {pid}"));
        }
        if let Some(t) = self.time {
            at.push(t.to_rfc3339_opts(SecondsFormat::Millis, true));
        }
        let position = self.position_label();
        if !position.is_empty() {
            at.push(position);
        }
        if at.is_empty() {
            format!("{}: {}", self.indicator, self.what)
        } else {
            format!("{}: {} ({})", self.indicator, self.what, at.join(", "))
        }
    }
}

impl Serialize for Related {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("indicator", self.indicator)?;
        m.serialize_entry("what", &self.what)?;
        m.serialize_entry(
            "time",
            &self
                .time
                .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
        )?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("source", &self.source.as_ref().map(SourceRef))?;
        m.end()
    }
}

/// `path:line`, `path#record`, or `path`.
fn position_label(p: &Provenance) -> String {
    match p.position {
        Position::Line(n) => format!("{}:{n}", p.path),
        Position::Record(n) => format!("{}#{n}", p.path),
        Position::None => p.path.to_string(),
    }
}

impl Finding {
    /// Adds evidence for a correlated indicator, unless that indicator has its
    /// evidence already (one launch seen twice, as `sh -c "nohup x"` and as the
    /// nohup exec, keeps the first).
    pub fn add_related(&mut self, related: Related) {
        if !self
            .related
            .iter()
            .any(|r| r.indicator == related.indicator)
        {
            self.related.push(related);
        }
    }

    /// The stable id of this finding: FNV-1a (128 bits) over where its evidence starts
    /// and what it says was launched, never over timing, so re-reading the same
    /// evidence (a rerun, a replay after a rebalance) gives the same id.
    pub fn id(&self) -> String {
        let f = self;
        const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013B;
        let mut h: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u128::from(b);
                h = h.wrapping_mul(PRIME);
            }
            // A separator, so that ("ab","c") and ("a","bc") differ.
            h ^= 0xff;
            h = h.wrapping_mul(PRIME);
        };
        eat(f.source.path.as_bytes());
        let position = match f.source.position {
            Position::Line(n) => format!("line {n}"),
            Position::Record(n) => format!("record {n}"),
            Position::None => String::new(),
        };
        eat(position.as_bytes());
        eat(f.detection_type.as_str().as_bytes());
        eat(f.exec_cmd.as_bytes());
        eat(f.nohup_target.as_bytes());
        eat(f.nohup_args.as_bytes());
        format!("{h:032x}")
    }

    /// The sighunt rule that made this finding: its detection family and the log
    /// source it read, named as the exported Sigma rule for that pair is
    /// (`sighunt rules export --format sigma` writes it as the rule's `name`), so a
    /// SIEM can join a finding to the rule. Findings of `sighunt live` have no Sigma
    /// counterpart and name the live check.
    pub fn rule_id(&self) -> &'static str {
        let macos = matches!(self.source.format, "eslogger" | "unifiedlog");
        let auditd = self.source.format == "auditd";
        match self.detection_type {
            DetectionType::Nohup if auditd => "sighunt_nohup_linux_auditd",
            DetectionType::Nohup if macos => "sighunt_nohup_macos_process_creation",
            DetectionType::Nohup => "sighunt_nohup_linux_process_creation",
            DetectionType::SignalMask if auditd => "sighunt_signal_mask_linux_auditd",
            DetectionType::SignalMask if macos => "sighunt_signal_mask_macos_process_creation",
            DetectionType::SignalMask => "sighunt_signal_mask_linux_process_creation",
            DetectionType::PsErrorSuppression => "sighunt_ps_error_suppression_windows",
            DetectionType::SignalIgnoreLive => "sighunt_signal_ignore_live",
        }
    }

    /// A finding about a process start: time, host, platform, pid, ppid, user,
    /// command line and source come from the event; `nohup_target` and `nohup_args`
    /// start empty for detectors that fill them.
    pub fn for_process(
        p: &crate::event::ProcessStart,
        detection_type: DetectionType,
        exec_cmd: String,
        score: crate::rules::Score,
    ) -> Finding {
        Finding {
            time: p.time,
            host: p.host.clone(),
            platform: p.platform,
            detection_type,
            exec_cmd,
            nohup_target: String::new(),
            nohup_args: String::new(),
            command_line: p.command_line.clone(),
            suspicion_score: score.score,
            severity: score.severity,
            indicators: score.indicators,
            pid: p.pid,
            ppid: p.ppid,
            user: p.user.clone(),
            source: p.provenance.clone(),
            related: Vec::new(),
        }
    }

    /// Time as RFC 3339 UTC, or an empty string when the source had none.
    pub fn time_rfc3339(&self) -> String {
        self.time
            .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
            .unwrap_or_default()
    }

    /// `line N` / `record N`, for people.
    pub fn position_label(&self) -> String {
        position_label(&self.source)
    }

    /// The seed's order: newest first; findings without a time go last, and ties
    /// keep input order (the sort is stable).
    pub fn sort_newest_first(findings: &mut [Finding]) {
        findings.sort_by_key(|f| std::cmp::Reverse(f.time));
    }
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(20))?;
        m.serialize_entry("id", &self.id())?;
        m.serialize_entry("time", &self.time_rfc3339())?;
        m.serialize_entry("host", &self.host)?;
        m.serialize_entry("platform", self.platform.as_str())?;
        m.serialize_entry("detection_type", self.detection_type.as_str())?;
        m.serialize_entry("exec_cmd", &self.exec_cmd)?;
        m.serialize_entry("nohup_target", &self.nohup_target)?;
        m.serialize_entry("nohup_args", &self.nohup_args)?;
        m.serialize_entry("command_line", &self.command_line)?;
        m.serialize_entry("suspicion_score", &self.suspicion_score)?;
        m.serialize_entry("severity", &self.severity)?;
        m.serialize_entry("indicators", &self.indicators)?;
        m.serialize_entry("pid", &self.pid)?;
        m.serialize_entry("ppid", &self.ppid)?;
        m.serialize_entry("user", &self.user)?;
        m.serialize_entry("technique", TECHNIQUE)?;
        m.serialize_entry("rule_id", self.rule_id())?;
        m.serialize_entry("source", &SourceRef(&self.source))?;
        m.serialize_entry("related", &self.related)?;
        m.end()
    }
}

/// The `source` object: `{path, line|record, format}`.
struct SourceRef<'a>(&'a Provenance);

impl Serialize for SourceRef<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("path", &*self.0.path)?;
        match self.0.position {
            Position::Line(n) => m.serialize_entry("line", &n)?,
            Position::Record(n) => m.serialize_entry("record", &n)?,
            Position::None => {}
        }
        m.serialize_entry("format", self.0.format)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn related_evidence_serializes_and_reads_for_people() {
        let source = Provenance {
            path: Arc::from("audit.log"),
            position: Position::Line(12),
            format: "auditd",
        };
        let time = DateTime::from_timestamp(1_700_000_000, 0);
        let r = Related::new(
            "payload_made_executable",
            "chmod +x /tmp/x",
            time,
            Some(41),
            Some(source),
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"indicator":"payload_made_executable","what":"chmod +x /tmp/x","time":"2023-11-14T22:13:20.000Z","pid":41,"source":{"path":"audit.log","line":12,"format":"auditd"}}"#
        );
        assert_eq!(
            r.describe(),
            "payload_made_executable: chmod +x /tmp/x (pid 41, 2023-11-14T22:13:20.000Z, audit.log:12)"
        );
        let bare = Related::new("init_script_parent", "/etc/init.d/x", None, None, None);
        assert_eq!(
            serde_json::to_string(&bare).unwrap(),
            r#"{"indicator":"init_script_parent","what":"/etc/init.d/x","time":null,"pid":null,"source":null}"#
        );
        assert_eq!(bare.describe(), "init_script_parent: /etc/init.d/x");
        // `what` is capped on a character boundary.
        let long = Related::new("relaunched", &"é".repeat(400), None, None, None);
        assert!(long.what.len() <= MAX_RELATED_WHAT && long.what.chars().all(|c| c == 'é'));
    }
}
