//! Rule export: the same rule data, as detection content for other tools.
//!
//! * `sigma`: one Sigma rule per detection family and log source (Linux
//!   process_creation, auditd EXECVE, Windows process_creation, PowerShell script
//!   block), with ATT&CK tags, references, false positives and level; what Sigma
//!   cannot express (scores, decoding, wrapper peeling) is said in each description.
//! * `sumo`, `splunk`, `kql`: one query per platform in the seed's style, carrying
//!   the current indicator weights, severity thresholds and allow-list, with a score
//!   per row.
//!
//! Each indicator sighunt can express as a condition on a few fields (the nohup
//! target, its arguments, the command line) is built once here, from the rule lists,
//! as a `Cond`; each output renders the conditions in its own language. An
//! indicator that needs sighunt's parsing (shell strings, decoding) and has no such
//! form is listed as not exported.

mod correlation;
pub mod events;
mod literal;
mod portable;
mod query;
mod sigma;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::allowlist::AllowList;
use crate::finding::Severity;
use crate::rules::{IndicatorRule, Rules, RulesError, de_severity};

/// What `sighunt rules export --format` can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Sigma,
    Sumo,
    Splunk,
    Kql,
}

impl FromStr for ExportFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "sigma" => Ok(ExportFormat::Sigma),
            "sumo" | "sumologic" => Ok(ExportFormat::Sumo),
            "splunk" | "spl" => Ok(ExportFormat::Splunk),
            "kql" | "kusto" | "sentinel" => Ok(ExportFormat::Kql),
            _ => Err(format!(
                "unknown export format {s:?} (expected sigma, sumo, splunk or kql)"
            )),
        }
    }
}

impl fmt::Display for ExportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ExportFormat::Sigma => "sigma",
            ExportFormat::Sumo => "sumo",
            ExportFormat::Splunk => "splunk",
            ExportFormat::Kql => "kql",
        })
    }
}

/// The canonical reference of the technique.
pub const ATTACK_URL: &str = "https://attack.mitre.org/techniques/T1564/011/";

/// sighunt's rules by the id findings carry ([`crate::finding::Finding::rule_id`]),
/// with their titles. The exported Sigma rule for a family and log source has the
/// id as its `name`; PowerShell's rules, one per Windows log source, are named
/// the id followed by `_` and the log source category.
pub const RULES: &[(&str, &str)] = &[
    (
        "sighunt_nohup_linux_process_creation",
        "Nohup Launching a Suspicious Program - Linux",
    ),
    (
        "sighunt_nohup_linux_auditd",
        "Nohup Launching a Suspicious Program - Auditd",
    ),
    (
        "sighunt_nohup_macos_process_creation",
        "Nohup Launching a Suspicious Program - MacOS",
    ),
    (
        "sighunt_signal_mask_linux_process_creation",
        "Command Line Setting Termination Signals to Be Ignored - Linux",
    ),
    (
        "sighunt_signal_mask_linux_auditd",
        "Command Line Setting Termination Signals to Be Ignored - Auditd",
    ),
    (
        "sighunt_signal_mask_macos_process_creation",
        "Command Line Setting Termination Signals to Be Ignored - MacOS",
    ),
    (
        "sighunt_ps_error_suppression_windows",
        "PowerShell Silencing Errors While Running Attacker Tradecraft",
    ),
    (
        "sighunt_signal_ignore_live",
        "Running Process Ignoring Termination Signals",
    ),
];

/// The title of the rule `rule_id` (the id itself for an unknown one).
pub fn rule_title(rule_id: &str) -> &str {
    RULES
        .iter()
        .find(|(id, _)| *id == rule_id)
        .map_or(rule_id, |(_, title)| title)
}

/// The UUID of the rule `rule_id`: the `id` of its exported Sigma rule, stable
/// across exports.
pub fn rule_uuid(rule_id: &str) -> String {
    stable_uuid(rule_id)
}

/// Exports the effective rules as `(file name, content)` pairs. Allow-list entries
/// expired as of now are left out.
pub fn export(rules: &Rules, format: ExportFormat) -> Result<Vec<(String, String)>, RulesError> {
    export_at(rules, format, Utc::now())
}

/// [`export`], with the allow-list evaluated as of `now` (for reproducible output).
pub fn export_at(
    rules: &Rules,
    format: ExportFormat,
    now: DateTime<Utc>,
) -> Result<Vec<(String, String)>, RulesError> {
    let model = Model::from_rules(rules, now)?;
    Ok(match format {
        ExportFormat::Sigma => sigma::rules(&model),
        ExportFormat::Sumo => query::render(&model, &query::SUMO),
        ExportFormat::Splunk => query::render(&model, &query::SPLUNK),
        ExportFormat::Kql => query::render(&model, &query::KQL),
    })
}

/// The files as one text for stdout: Sigma rules as one multi-document YAML
/// stream, queries one after another.
pub fn concatenate(format: ExportFormat, files: &[(String, String)]) -> String {
    let sep = match format {
        ExportFormat::Sigma => "---\n",
        _ => "\n",
    };
    files
        .iter()
        .map(|(_, text)| text.as_str())
        .collect::<Vec<_>>()
        .join(sep)
}

/// A field a condition tests, named by meaning; each output maps it to its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Field {
    /// What nohup runs (auditd `a1`, the word after `nohup`).
    Target,
    /// The arguments after the target.
    Args,
    /// The whole command line (PowerShell: lower-cased).
    CommandLine,
}

/// A condition, built from rule lists; regular expressions are RE2/PCRE-compatible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cond {
    /// The field starts with one of these.
    Prefix(Field, Vec<String>),
    /// The field's last path component is one of these.
    Basename(Field, Vec<String>),
    /// The field contains one of these.
    Contains(Field, Vec<String>),
    /// The field matches this regular expression somewhere.
    Regex(Field, String),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Not(Box<Cond>),
}

impl Cond {
    /// The condition as one regular expression search, when it is one.
    pub(crate) fn as_regex(&self) -> Option<(Field, String)> {
        let alt = |v: &[String]| {
            v.iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|")
        };
        match self {
            Cond::Prefix(f, v) => Some((*f, format!("^(?:{})", alt(v)))),
            Cond::Basename(f, v) => Some((*f, format!("(?:^|/)(?:{})$", alt(v)))),
            Cond::Contains(f, v) => Some((*f, format!("(?:{})", alt(v)))),
            Cond::Regex(f, r) => Some((*f, r.clone())),
            _ => None,
        }
    }
}

/// An exported indicator: its rule data and its condition.
#[derive(Debug, Clone)]
pub(crate) struct Indicator {
    pub rule: IndicatorRule,
    pub cond: Cond,
}

/// One detection family on one platform, ready to render.
#[derive(Debug, Clone)]
pub(crate) struct Family {
    pub detection_type: &'static str,
    pub base_severity: Severity,
    pub indicators: Vec<Indicator>,
    /// Indicators of the rule data the exports cannot express.
    pub not_exported: Vec<String>,
    /// The rule data's indicators strong enough for a finding on their own
    /// (min_severity medium or more, or a weight at the medium threshold), those
    /// without a query condition included.
    pub strong: Vec<String>,
}

/// Everything the exports are made of.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub thresholds: crate::rules::Thresholds,
    pub nohup: Family,
    pub excluded_schedulers: Vec<String>,
    /// `None` when the rule data has no `[powershell]` section.
    pub powershell: Option<PsFamily>,
    pub allowlist: AllowList,
    pub signal_interpreters: Vec<String>,
    /// The word lists the Sigma rules are written from.
    pub lists: Lists,
    /// The correlation windows (prepare, follow) in seconds, when the rules have
    /// a `[correlation]` section.
    pub windows: Option<(i64, i64)>,
}

/// Rule-data word lists, as the Sigma rules use them.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lists {
    /// The seed's temp directories and every `[staging]` area that is a plain
    /// prefix (no `*`): where the Sigma rules look for a dropped payload.
    pub staging_dirs: Vec<String>,
    /// `[staging]` per-user tool directories (`.local`, `.cargo` …) and homes:
    /// a tool directory directly under a home is not a hidden path.
    pub tool_dirs: Vec<String>,
    pub homes: Vec<String>,
    pub net_tools: Vec<String>,
    pub download_tools: Vec<String>,
    pub interpreters: Vec<String>,
    pub shells: Vec<String>,
    /// Programs that run their argument (env, sudo, setsid …).
    pub wrappers: Vec<String>,
    pub masquerade_names: Vec<String>,
    pub system_dirs: Vec<String>,
    pub web_service_users: Vec<String>,
    /// PowerShell indicator patterns by indicator name.
    pub ps_patterns: std::collections::BTreeMap<String, Vec<String>>,
}

/// The PowerShell family: hosts and suppression besides the indicators.
#[derive(Debug, Clone)]
pub(crate) struct PsFamily {
    pub family: Family,
    pub host_images: Vec<String>,
    /// Indicators that add to a score but never make a finding alone.
    pub context: Vec<String>,
    /// Hosts administration scripts download from (`admin_hosts`).
    pub admin_hosts: Vec<String>,
}

/// The slice of `[nohup]` the exports use.
#[derive(Debug, Deserialize)]
struct NohupData {
    #[serde(deserialize_with = "de_severity")]
    base_severity: Severity,
    excluded_schedulers: Vec<String>,
    net_tools: Vec<String>,
    download_tools: Vec<String>,
    temp_dirs: Vec<String>,
    persistence_paths: Vec<String>,
    masquerade_names: Vec<String>,
    system_dirs: Vec<String>,
    #[serde(default)]
    interpreters: Vec<String>,
    indicators: Vec<IndicatorRule>,
}

#[derive(Debug, Deserialize)]
struct CorrelationData {
    #[serde(default)]
    web_service_users: Vec<String>,
    #[serde(default = "default_prepare_window")]
    prepare_window_secs: i64,
    #[serde(default = "default_follow_window")]
    follow_window_secs: i64,
}

fn default_prepare_window() -> i64 {
    600
}

fn default_follow_window() -> i64 {
    3600
}

#[derive(Debug, Deserialize)]
struct CommandsData {
    shells: Vec<String>,
    #[serde(default)]
    wrappers: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct PsData {
    #[serde(deserialize_with = "de_severity")]
    base_severity: Severity,
    host_images: Vec<String>,
    #[serde(default)]
    context_indicators: Vec<String>,
    #[serde(default)]
    admin_hosts: Vec<String>,
    patterns: std::collections::BTreeMap<String, Vec<String>>,
    indicators: Vec<IndicatorRule>,
}

#[derive(Debug, Deserialize)]
struct SignalData {
    python: Vec<String>,
    perl: Vec<String>,
    ruby: Vec<String>,
    #[serde(default)]
    php: Vec<String>,
}

/// How PowerShell is told to ignore errors, as a regular expression on the
/// lower-cased command line or script (the forms sighunt's parser recognises that a
/// regex can: -ErrorAction/-ea with SilentlyContinue, Ignore, 0 or 4, and
/// $ErrorActionPreference set to either).
pub(crate) const PS_SUPPRESSION_REGEX: &str = r#"(?:-erroraction|-ea)(?:\s+|\s*:\s*)['"]?(?:silentlycontinue|ignore|0|4)\b|\$erroractionpreference\s*=\s*['"]?(?:silentlycontinue|ignore|0|4)\b"#;

impl Model {
    fn from_rules(rules: &Rules, now: DateTime<Utc>) -> Result<Model, RulesError> {
        let n: NohupData = rules.section("nohup")?;
        let commands: CommandsData = rules.section("commands")?;
        let shells = commands.shells.clone();
        let staging: crate::command::paths::StagingRules = match rules.table().get("staging") {
            None => crate::command::paths::StagingRules {
                areas: Vec::new(),
                tool_dirs: Vec::new(),
                homes: Vec::new(),
            },
            Some(_) => rules.section("staging")?,
        };
        let mut staging_dirs = n.temp_dirs.clone();
        for area in &staging.areas {
            if !area.contains('*') && area.ends_with('/') && !staging_dirs.contains(area) {
                staging_dirs.push(area.clone());
            }
        }
        let nohup_cond = |name: &str| -> Option<Cond> {
            let shells_re = shells
                .iter()
                .map(|s| regex::escape(s))
                .collect::<Vec<_>>()
                .join("|");
            Some(match name {
                "temp_dir_payload" => Cond::Prefix(Field::Target, staging_dirs.clone()),
                "suspicious_net_tool" => Cond::Basename(Field::Target, n.net_tools.clone()),
                "interactive_shell" => Cond::All(vec![
                    Cond::Basename(Field::Target, shells.clone()),
                    Cond::Regex(Field::Args, r"(?:^|\s)-[a-z]*i[a-z]*(?:\s|$)".into()),
                ]),
                "reverse_shell" => Cond::Any(vec![
                    Cond::Contains(Field::Args, vec!["/dev/tcp/".into(), "/dev/udp/".into()]),
                    Cond::All(vec![
                        Cond::Basename(Field::Target, n.net_tools.clone()),
                        Cond::Regex(
                            Field::Args,
                            r"(?:^|\s)(?:-e|-c|--exec|--sh-exec)(?:\s|$)|exec:|system:".into(),
                        ),
                    ]),
                ]),
                "persistence_path" => Cond::Prefix(Field::Target, n.persistence_paths.clone()),
                "background_exec" => Cond::Regex(Field::Args, r"&\s*$".into()),
                "hidden_path" => Cond::Regex(Field::Target, r"/\.[^/.]".into()),
                "download_tool" => Cond::Basename(Field::Target, n.download_tools.clone()),
                "masquerade_name" => Cond::All(vec![
                    Cond::Basename(Field::Target, n.masquerade_names.clone()),
                    Cond::Not(Box::new(Cond::Prefix(Field::Target, n.system_dirs.clone()))),
                ]),
                "output_discarded" => Cond::Regex(
                    Field::Args,
                    r"(?:&>\s*/dev/null|>\s*/dev/null\s+2>&1|2>\s*/dev/null\s+>\s*/dev/null)"
                        .into(),
                ),
                "encoded_payload" => Cond::Regex(
                    Field::Args,
                    format!(
                        r"(?:base64\s+(?:-d|--decode|-D)|xxd\s+-r|openssl\s+(?:enc|base64)\s.*-d).*\|\s*(?:\S*/)?(?:{shells_re})\b"
                    ),
                ),
                _ => return None,
            })
        };
        let nohup = family(
            "nohup_interrupt_ignore",
            n.base_severity,
            rules.thresholds.medium,
            &n.indicators,
            nohup_cond,
        );
        let powershell = match rules.table().get("powershell") {
            None => None,
            Some(_) => {
                let p: PsData = rules.section("powershell")?;
                let cond = |name: &str| -> Option<Cond> {
                    let pats = p.patterns.get(name)?;
                    (!pats.is_empty())
                        .then(|| Cond::Regex(Field::CommandLine, format!("(?:{})", pats.join("|"))))
                };
                Some(PsFamily {
                    family: family(
                        "ps_error_suppression",
                        p.base_severity,
                        rules.thresholds.medium,
                        &p.indicators,
                        cond,
                    ),
                    host_images: p.host_images.clone(),
                    context: p.context_indicators.clone(),
                    admin_hosts: p.admin_hosts.clone(),
                })
            }
        };
        let signal_interpreters = match rules.table().get("signal_mask") {
            None => Vec::new(),
            Some(_) => {
                let s: SignalData = rules.section("signal_mask")?;
                [s.python, s.perl, s.ruby, s.php].concat()
            }
        };
        let correlation: Option<CorrelationData> = match rules.table().get("correlation") {
            None => None,
            Some(_) => Some(rules.section("correlation")?),
        };
        let web_service_users = correlation
            .as_ref()
            .map(|c| c.web_service_users.clone())
            .unwrap_or_default();
        let ps_patterns = match rules.table().get("powershell") {
            None => Default::default(),
            Some(_) => rules.section::<PsData>("powershell")?.patterns,
        };
        let lists = Lists {
            staging_dirs,
            tool_dirs: staging.tool_dirs.clone(),
            homes: staging.homes.clone(),
            net_tools: n.net_tools.clone(),
            download_tools: n.download_tools.clone(),
            interpreters: n.interpreters.clone(),
            shells: commands.shells.clone(),
            wrappers: commands.wrappers.clone(),
            masquerade_names: n.masquerade_names.clone(),
            system_dirs: n.system_dirs.clone(),
            web_service_users,
            ps_patterns,
        };
        Ok(Model {
            lists,
            windows: correlation.map(|c| (c.prepare_window_secs, c.follow_window_secs)),
            thresholds: rules.thresholds.clone(),
            nohup,
            excluded_schedulers: n.excluded_schedulers.clone(),
            powershell,
            allowlist: AllowList::from_rules(rules, now)?,
            signal_interpreters,
        })
    }
}

fn family(
    detection_type: &'static str,
    base_severity: Severity,
    medium: i64,
    rules: &[IndicatorRule],
    cond: impl Fn(&str) -> Option<Cond>,
) -> Family {
    let mut indicators = Vec::new();
    let mut not_exported = Vec::new();
    for r in rules {
        match cond(&r.name) {
            Some(c) => indicators.push(Indicator {
                rule: r.clone(),
                cond: c,
            }),
            None => not_exported.push(r.name.clone()),
        }
    }
    Family {
        detection_type,
        base_severity,
        indicators,
        not_exported,
        strong: rules
            .iter()
            .filter(|r| r.min_severity.is_some_and(|s| s >= Severity::Medium) || r.weight >= medium)
            .map(|r| r.name.clone())
            .collect(),
    }
}

/// A glob (`*`, `**`, `?`) as an anchored regular expression; `*` stops at `/`
/// when `paths`.
pub(crate) fn glob_regex(glob: &str, paths: bool) -> String {
    let mut re = String::from("^");
    let mut chars = glob.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str(if paths { "[^/]*" } else { ".*" }),
            '?' => re.push_str(if paths { "[^/]" } else { "." }),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    re
}

/// A stable UUID (version 4 layout) derived from `name`, so regenerated rules keep
/// their ids.
pub(crate) fn stable_uuid(name: &str) -> String {
    let fnv = |seed: u64| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
        for b in name.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h
    };
    let (a, b) = (fnv(0x5167_6875_6e74), fnv(0x7431_3536_342e));
    let bytes: Vec<u8> = a.to_be_bytes().into_iter().chain(b.to_be_bytes()).collect();
    let mut x = [0u8; 16];
    x.copy_from_slice(&bytes);
    x[6] = (x[6] & 0x0f) | 0x40;
    x[8] = (x[8] & 0x3f) | 0x80;
    let hex: String = x.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests;
