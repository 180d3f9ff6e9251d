//! `--explain`: what decided each finding — the indicators that fired with their
//! weights and the rule file each weight came from, how the severity was reached —
//! and, for a finding the allow-list suppressed, the entry that suppressed it.
//!
//! The explanation is an additional JSON field, `explain`, written only with
//! `--explain`; the contract fields are unchanged. The table gets an explanation
//! block under it, CSV an `explain` column.

use std::io::{self, Write};

use serde_json::{Value, json};

use crate::allowlist::{Suppressed, Suppression};
use crate::finding::{DetectionType, Finding, Severity};
use crate::output;
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

/// A finding's JSON line with the `explain` field appended (contract fields keep
/// their order).
pub fn write_jsonl(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    items: &[Explained<'_>],
) -> io::Result<()> {
    for e in items {
        let base = serde_json::to_string(e.finding)?;
        let body = base.strip_suffix('}').unwrap_or(&base);
        let explain = serde_json::to_string(&explainer.json(e))?;
        writeln!(out, "{body},\"explain\":{explain}}}")?;
    }
    Ok(())
}

/// CSV with an `explain` column (the text form).
pub fn write_csv(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    items: &[Explained<'_>],
) -> io::Result<()> {
    let findings: Vec<Finding> = items.iter().map(|e| e.finding.clone()).collect();
    let mut plain = Vec::new();
    output::write_csv(&mut plain, &findings)?;
    let mut reader = csv::Reader::from_reader(plain.as_slice());
    let mut w = csv::Writer::from_writer(out);
    let mut header = reader.headers()?.clone();
    header.push_field("explain");
    w.write_record(&header)?;
    for (record, e) in reader.records().zip(items) {
        let mut record = record?;
        record.push_field(&explainer.text(e));
        w.write_record(&record)?;
    }
    w.flush()
}

/// The table of reported findings, then one explanation line per finding (in table
/// order) and the suppressed findings with the entries that suppressed them.
pub fn write_table(
    out: &mut dyn Write,
    explainer: &Explainer<'_>,
    findings: &[Finding],
    suppressed: &[Suppressed],
    color: bool,
) -> io::Result<()> {
    output::write_table(out, findings, color)?;
    if !findings.is_empty() {
        writeln!(out, "\nWhy (in table order):")?;
    }
    for (i, f) in findings.iter().enumerate() {
        let e = Explained {
            finding: f,
            suppressed: None,
        };
        writeln!(
            out,
            "  {:>3}. {}",
            i + 1,
            output::escape_control(&explainer.text(&e))
        )?;
    }
    if !suppressed.is_empty() {
        writeln!(out, "\nSuppressed by the allow-list:")?;
        for s in suppressed {
            let f = &s.finding;
            let e = Explained {
                finding: f,
                suppressed: Some(&s.by),
            };
            let what = format!(
                "{} {} {} {} {}",
                f.time_rfc3339(),
                f.host,
                f.detection_type.as_str(),
                f.exec_cmd,
                f.nohup_target
            );
            writeln!(
                out,
                "  - {}\n      {}",
                output::escape_control(what.trim_end()),
                output::escape_control(&explainer.text(&e))
            )?;
        }
    }
    Ok(())
}

/// Writes a hunt's findings with their explanations in `format`.
pub fn write(
    out: &mut dyn Write,
    format: output::OutputFormat,
    rules: &Rules,
    profile: ProfileName,
    report: &crate::pipeline::HuntReport,
    color: bool,
) -> io::Result<()> {
    let explainer = Explainer::new(rules, profile);
    match format {
        output::OutputFormat::Table => {
            write_table(out, &explainer, &report.findings, &report.suppressed, color)
        }
        output::OutputFormat::Jsonl => {
            let items = Explained::merge(&report.findings, &report.suppressed);
            write_jsonl(out, &explainer, &items)
        }
        output::OutputFormat::Csv => {
            let items = Explained::merge(&report.findings, &report.suppressed);
            write_csv(out, &explainer, &items)
        }
    }
}
