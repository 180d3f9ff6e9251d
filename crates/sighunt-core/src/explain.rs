//! `--explain`: what decided each finding — the indicators that fired with their
//! weights and the rule file each weight came from, how the severity was reached —
//! and, for a finding the allow-list suppressed, the entry that suppressed it.
//!
//! The explanation is an additional JSON field, `explain`, written only with
//! `--explain`; the contract fields are unchanged. The table gets an explanation
//! block under it, CSV an `explain` column.

use serde_json::{Value, json};

use crate::allowlist::{Suppressed, Suppression};
use crate::finding::{DetectionType, Finding, Severity};
use crate::profile::ProfileName;
use crate::rules::Rules;

/// A finding to explain: reported, or suppressed by an allow-list entry.
#[derive(Debug, Clone)]
pub struct Explained<'a> {
    pub finding: &'a Finding,
    pub suppressed: Option<&'a Suppression>,
}

impl<'a> Explained<'a> {
    /// Reported findings and suppressed ones, newest first.
    pub fn merge(findings: &'a [Finding], suppressed: &'a [Suppressed]) -> Vec<Explained<'a>> {
        let mut all: Vec<Explained<'a>> = findings
            .iter()
            .map(|f| Explained {
                finding: f,
                suppressed: None,
            })
            .chain(suppressed.iter().map(|s| Explained {
                finding: &s.finding,
                suppressed: Some(&s.by),
            }))
            .collect();
        all.sort_by_key(|e| std::cmp::Reverse(e.finding.time));
        all
    }
}

/// Explains findings from the rule data they were scored with.
pub struct Explainer<'r> {
    rules: &'r Rules,
    profile: ProfileName,
}

/// One indicator's part in a score.
struct Part {
    name: String,
    weight: i64,
    min_severity: Option<Severity>,
    defined_in: String,
}

impl<'r> Explainer<'r> {
    pub fn new(rules: &'r Rules, profile: ProfileName) -> Self {
        Explainer { rules, profile }
    }

    /// The rule section a detection type is scored by.
    fn section(&self, d: DetectionType) -> &'static str {
        match (self.profile, d) {
            (ProfileName::Seed, DetectionType::PsErrorSuppression) => "seed.powershell",
            (ProfileName::Seed, _) => "seed.nohup",
            (_, DetectionType::Nohup) => "nohup",
            (_, DetectionType::PsErrorSuppression) => "powershell",
            (_, DetectionType::SignalMask) => "signal_mask",
            (_, DetectionType::SignalIgnoreLive) => "signal_live",
        }
    }

    fn section_value(&self, section: &str) -> Option<&toml::Value> {
        let mut parts = section.split('.');
        let mut v = self.rules.table().get(parts.next()?)?;
        for p in parts {
            v = v.get(p)?;
        }
        Some(v)
    }

    fn parts(&self, f: &Finding) -> Vec<Part> {
        let section = self.section(f.detection_type);
        let indicators = self
            .section_value(section)
            .and_then(|s| s.get("indicators"))
            .and_then(|i| i.as_array());
        f.indicators
            .iter()
            .map(|name| {
                let rule = indicators.and_then(|list| {
                    list.iter()
                        .find(|i| i.get("name").and_then(|n| n.as_str()) == Some(name))
                });
                let weight = if self.profile == ProfileName::Seed {
                    1
                } else {
                    rule.and_then(|r| r.get("weight"))
                        .and_then(|w| w.as_integer())
                        .unwrap_or(0)
                };
                let min_severity = rule
                    .and_then(|r| r.get("min_severity"))
                    .and_then(|s| s.as_str())
                    .and_then(|s| s.parse().ok());
                let path = format!("{section}.indicators[{name}]");
                let defined_in = self
                    .rules
                    .origin(&format!("{path}.weight"))
                    .or_else(|| self.rules.origin(&format!("{path}.patterns")))
                    .or_else(|| self.rules.origin(&path))
                    .unwrap_or("")
                    .to_string();
                Part {
                    name: name.clone(),
                    weight,
                    min_severity,
                    defined_in,
                }
            })
            .collect()
    }

    /// Why the finding has its severity, in words.
    fn severity_reason(&self, f: &Finding, parts: &[Part]) -> String {
        if self.profile == ProfileName::Seed {
            return format!(
                "every row of the seed query is {} ([seed] severity)",
                f.severity
            );
        }
        let section = self.section(f.detection_type);
        let base: Option<Severity> = self
            .section_value(section)
            .and_then(|s| s.get("base_severity"))
            .and_then(|b| b.as_str())
            .and_then(|b| b.parse().ok());
        let by_score = self.rules.severity_by_score(f.suspicion_score);
        let mut reasons = Vec::new();
        if base == Some(f.severity) {
            reasons.push(format!("the base severity of [{section}]"));
        }
        if by_score == f.severity {
            reasons.push(format!(
                "score {} reaches the {} threshold ([severity])",
                f.suspicion_score, f.severity
            ));
        }
        for p in parts {
            if p.min_severity == Some(f.severity) {
                reasons.push(format!("min_severity of {}", p.name));
            }
        }
        if reasons.is_empty() {
            // A detector's own rule (a cap for allowed programs, a decisive
            // combination) set it.
            reasons.push(format!("set by the [{section}] detector's rules"));
        }
        format!("{}: {}", f.severity, reasons.join("; "))
    }

    /// The `explain` object of a finding.
    pub fn json(&self, e: &Explained<'_>) -> Value {
        let f = e.finding;
        let parts = self.parts(f);
        let mut v = json!({
            "profile": self.profile.to_string(),
            "decision": if e.suppressed.is_some() { "suppressed" } else { "reported" },
            "rules": format!("[{}]", self.section(f.detection_type)),
            "indicators": parts.iter().map(|p| json!({
                "name": p.name,
                "weight": p.weight,
                "min_severity": p.min_severity.map(|s| s.as_str()),
                "defined_in": p.defined_in,
            })).collect::<Vec<_>>(),
            "score": f.suspicion_score,
            "severity": self.severity_reason(f, &parts),
        });
        if let Some(s) = e.suppressed {
            v["suppressed_by"] = json!({
                "entry": s.entry,
                "reason": s.reason,
                "defined_in": s.defined_in,
            });
        }
        v
    }

    /// One line of text: the decision, the score's parts, the severity's reason.
    pub fn text(&self, e: &Explained<'_>) -> String {
        let f = e.finding;
        let parts = self.parts(f);
        let score = if parts.is_empty() {
            format!("score {}: no indicator fired", f.suspicion_score)
        } else {
            let terms: Vec<String> = parts
                .iter()
                .map(|p| {
                    if p.defined_in.is_empty() {
                        format!("{} {}", p.name, p.weight)
                    } else {
                        format!("{} {} ({})", p.name, p.weight, p.defined_in)
                    }
                })
                .collect();
            format!("score {} = {}", f.suspicion_score, terms.join(" + "))
        };
        let head = match e.suppressed {
            Some(s) => format!(
                "SUPPRESSED by allow-list entry {:?} ({}): {}",
                s.entry, s.defined_in, s.reason
            ),
            None => "reported".to_string(),
        };
        format!(
            "{head} | {score} | severity {}",
            self.severity_reason(f, &parts)
        )
    }
}
