//! Rule data: indicator weights, severity thresholds, program lists and exclusions.
//!
//! Tuning is data, not code. The defaults live in `rules/*.toml`, embedded in the
//! binary and merged into one TOML table; each detector reads its own section
//! (`[nohup]`, …) into a typed struct of its own, so a detector and its rules can be
//! read together and a new detector adds a file without touching the others.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::finding::Severity;

/// The embedded default rule files, merged in this order.
const DEFAULT_RULE_FILES: &[(&str, &str)] = &[
    ("rules/default.toml", include_str!("../rules/default.toml")),
    ("rules/nohup.toml", include_str!("../rules/nohup.toml")),
];

/// An invalid rule file or section.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("rules section [{section}]: {message}")]
    Section { section: String, message: String },
}

/// The effective rules: the merged TOML table plus the common severity thresholds.
#[derive(Debug, Clone)]
pub struct Rules {
    table: toml::Table,
    pub thresholds: Thresholds,
}

/// Score thresholds shared by every detector (`[severity]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

impl Rules {
    /// The rules compiled into the binary.
    pub fn embedded() -> Rules {
        let mut table = toml::Table::new();
        for (name, text) in DEFAULT_RULE_FILES {
            let file: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("embedded {name} is invalid: {e}"));
            merge_tables(&mut table, file);
        }
        Rules::from_table(table).expect("embedded rules are valid")
    }

    /// Rules from a merged table; fails when the common part is invalid.
    pub fn from_table(table: toml::Table) -> Result<Rules, RulesError> {
        let thresholds = section_from(&table, "severity")?;
        Ok(Rules { table, thresholds })
    }

    /// Reads section `name` into the detector's own rule struct.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, RulesError> {
        section_from(&self.table, name)
    }

    /// The merged table, for `sighunt rules show`.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }

    /// The severity for `score`, never below `base`.
    pub fn severity_for_score(&self, score: i64, base: Severity) -> Severity {
        let t = &self.thresholds;
        let by_score = if score >= t.critical {
            Severity::Critical
        } else if score >= t.high {
            Severity::High
        } else if score >= t.medium {
            Severity::Medium
        } else {
            Severity::Informational
        };
        by_score.max(base)
    }
}

fn section_from<T: DeserializeOwned>(table: &toml::Table, name: &str) -> Result<T, RulesError> {
    let value = table
        .get(name)
        .cloned()
        .ok_or_else(|| RulesError::Section {
            section: name.to_string(),
            message: "missing".to_string(),
        })?;
    value
        .try_into()
        .map_err(|e: toml::de::Error| RulesError::Section {
            section: name.to_string(),
            message: e.message().to_string(),
        })
}

/// Deep-merges `overlay` into `base`: tables merge key by key, anything else
/// (including arrays) is replaced.
pub fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => merge_tables(b, o),
            (_, v) => {
                base.insert(key, v);
            }
        }
    }
}

/// One indicator's rule data: what it is called, what it weighs, why.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorRule {
    pub name: String,
    pub weight: i64,
    /// Severity a finding gets at least when this indicator fires.
    #[serde(default, deserialize_with = "de_severity_opt")]
    pub min_severity: Option<Severity>,
    pub description: String,
}

/// Scores a detector's findings from its indicator rules.
#[derive(Debug, Clone)]
pub struct Scorer {
    indicators: BTreeMap<String, IndicatorRule>,
    order: Vec<String>,
    base: Severity,
    rules: Rules,
}

/// A score and its severity, with the indicators in rule order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    pub score: i64,
    pub severity: Severity,
    pub indicators: Vec<String>,
}

impl Scorer {
    pub fn new(indicators: Vec<IndicatorRule>, base: Severity, rules: &Rules) -> Scorer {
        let order = indicators.iter().map(|i| i.name.clone()).collect();
        Scorer {
            indicators: indicators
                .into_iter()
                .map(|i| (i.name.clone(), i))
                .collect(),
            order,
            base,
            rules: rules.clone(),
        }
    }

    /// Whether an indicator of this name exists (and so can fire).
    pub fn knows(&self, name: &str) -> bool {
        self.indicators.contains_key(name)
    }

    /// Scores the fired indicators; names without a rule are ignored, so removing an
    /// indicator from the rule data switches it off.
    pub fn score<'a>(&self, fired: impl IntoIterator<Item = &'a str>) -> Score {
        let fired: Vec<&str> = fired.into_iter().collect();
        let mut score = 0;
        let mut severity = self.base;
        let mut indicators = Vec::new();
        for name in &self.order {
            if !fired.contains(&name.as_str()) {
                continue;
            }
            let rule = &self.indicators[name];
            score += rule.weight;
            if let Some(min) = rule.min_severity {
                severity = severity.max(min);
            }
            indicators.push(name.clone());
        }
        Score {
            score,
            severity: self.rules.severity_for_score(score, severity),
            indicators,
        }
    }
}

/// Deserializes an optional severity name.
pub fn de_severity_opt<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Severity>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    s.map(|s| s.parse().map_err(serde::de::Error::custom))
        .transpose()
}

/// Deserializes a severity name.
pub fn de_severity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Severity, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_rules_load_and_thresholds_order() {
        let rules = Rules::embedded();
        let t = &rules.thresholds;
        assert!(t.medium < t.high && t.high < t.critical);
    }

    #[test]
    fn scorer_sums_weights_and_applies_min_severity() {
        let rules = Rules::embedded();
        let ind = vec![
            IndicatorRule {
                name: "a".into(),
                weight: 1,
                min_severity: None,
                description: String::new(),
            },
            IndicatorRule {
                name: "b".into(),
                weight: 2,
                min_severity: Some(Severity::High),
                description: String::new(),
            },
        ];
        let scorer = Scorer::new(ind, Severity::Low, &rules);
        let none = scorer.score([]);
        assert_eq!((none.score, none.severity), (0, Severity::Low));
        let a = scorer.score(["a", "unknown"]);
        assert_eq!(
            (a.score, a.severity, a.indicators),
            (1, Severity::Low, vec!["a".to_string()])
        );
        let ab = scorer.score(["b", "a"]);
        assert_eq!(ab.score, 3);
        assert_eq!(ab.severity, Severity::High);
        assert_eq!(ab.indicators, vec!["a", "b"]);
    }

    #[test]
    fn merge_replaces_scalars_and_merges_tables() {
        let mut base: toml::Table = "[s]\na = 1\nb = [1]\n".parse().unwrap();
        let over: toml::Table = "[s]\nb = [2]\nc = 3\n".parse().unwrap();
        merge_tables(&mut base, over);
        assert_eq!(base["s"]["a"].as_integer(), Some(1));
        assert_eq!(base["s"]["b"].as_array().unwrap().len(), 1);
        assert_eq!(base["s"]["b"][0].as_integer(), Some(2));
        assert_eq!(base["s"]["c"].as_integer(), Some(3));
    }
}
