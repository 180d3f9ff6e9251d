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
}

impl Finding {
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
        match self.source.position {
            Position::Line(n) => format!("{}:{n}", self.source.path),
            Position::Record(n) => format!("{}#{n}", self.source.path),
            Position::None => self.source.path.to_string(),
        }
    }

    /// The seed's order: newest first; findings without a time go last, and ties
    /// keep input order (the sort is stable).
    pub fn sort_newest_first(findings: &mut [Finding]) {
        findings.sort_by_key(|f| std::cmp::Reverse(f.time));
    }
}

impl Serialize for Finding {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(19))?;
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
