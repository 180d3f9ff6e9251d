//! Allow-lists: findings a site has reviewed and accepts, suppressed after detection
//! in one place for every detector.
//!
//! Entries live in the rule data (`[[allowlist]]`, see `rules/allowlist.toml`): each
//! has a `name`, a mandatory `reason`, an optional expiry, and conditions on the
//! finding (host, user, parent image, nohup target, command line, detection type,
//! time window). An entry suppresses a finding when all of its conditions match; the
//! first entry that does is recorded with the suppression, so `--explain` can show
//! which entry decided and why. Expired entries are ignored, with a warning.

use std::sync::Arc;

use chrono::{DateTime, Datelike, NaiveTime, TimeZone, Timelike, Utc, Weekday};
use globset::{Glob, GlobBuilder, GlobMatcher};
use regex::Regex;
use serde::Deserialize;

use crate::event::Platform;
use crate::finding::Finding;
use crate::rules::{Rules, RulesError};

/// One or several values: `host = "db-*"` or `host = ["db-*", "web-*"]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::None => Vec::new(),
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// `[[allowlist]]` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryData {
    name: String,
    reason: String,
    #[serde(default)]
    expires: Option<toml::value::Datetime>,
    #[serde(default)]
    detection_type: OneOrMany,
    #[serde(default)]
    host: OneOrMany,
    #[serde(default)]
    user: OneOrMany,
    #[serde(default)]
    parent_image: OneOrMany,
    #[serde(default)]
    target: OneOrMany,
    #[serde(default)]
    command_line: OneOrMany,
    #[serde(default)]
    window: Option<String>,
    #[serde(default)]
    weekdays: OneOrMany,
    #[serde(default)]
    from: Option<toml::value::Datetime>,
    #[serde(default)]
    until: Option<toml::value::Datetime>,
    #[serde(default)]
    unless_indicators: Vec<String>,
}

/// A compiled allow-list entry.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub reason: String,
    pub expires: Option<DateTime<Utc>>,
    /// The rule file that defined (last changed) the entry.
    pub defined_in: String,
    detection_types: Vec<String>,
    hosts: Vec<GlobMatcher>,
    users: Vec<GlobMatcher>,
    parent_images: Vec<(GlobMatcher, GlobMatcher, bool)>,
    targets: Vec<GlobMatcher>,
    command_lines: Vec<Regex>,
    window: Option<(NaiveTime, NaiveTime)>,
    weekdays: Vec<Weekday>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    unless_indicators: Vec<String>,
}

/// What the engine knows about a finding besides the finding itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindingContext {
    /// The image of the parent of the process the finding is about.
    pub parent_image: Option<String>,
}

/// Why a finding was suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suppression {
    pub entry: String,
    pub reason: String,
    pub defined_in: String,
}

/// A suppressed finding and the entry that suppressed it.
#[derive(Debug, Clone)]
pub struct Suppressed {
    pub finding: Finding,
    pub by: Suppression,
}

/// The effective allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    entries: Arc<Vec<Entry>>,
    /// Entries ignored because they expired, with a message each.
    pub warnings: Vec<String>,
}

fn invalid(name: &str, what: &str, message: String) -> RulesError {
    RulesError::Field {
        section: "allowlist".into(),
        path: format!("[{name}].{what}"),
        message,
    }
}

/// A `toml` date or date-time as UTC; a bare date is `end_of_day` (its last
/// instant) or its start.
fn to_utc(dt: &toml::value::Datetime, end_of_day: bool) -> Option<DateTime<Utc>> {
    let date = dt.date?;
    let day =
        chrono::NaiveDate::from_ymd_opt(i32::from(date.year), date.month.into(), date.day.into())?;
    match dt.time {
        None => {
            let t = if end_of_day {
                day.succ_opt()?.and_hms_opt(0, 0, 0)? - chrono::Duration::nanoseconds(1)
            } else {
                day.and_hms_opt(0, 0, 0)?
            };
            Some(t.and_utc())
        }
        Some(time) => {
            let naive = day.and_hms_nano_opt(
                time.hour.into(),
                time.minute.into(),
                time.second.unwrap_or(0).into(),
                time.nanosecond.unwrap_or(0),
            )?;
            let offset_secs = match dt.offset {
                Some(toml::value::Offset::Custom { minutes }) => i32::from(minutes) * 60,
                _ => 0,
            };
            let offset = chrono::FixedOffset::east_opt(offset_secs)?;
            offset
                .from_local_datetime(&naive)
                .single()
                .map(|t| t.with_timezone(&Utc))
        }
    }
}

fn glob(
    name: &str,
    what: &str,
    pattern: &str,
    case_insensitive: bool,
    paths: bool,
) -> Result<GlobMatcher, RulesError> {
    GlobBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .literal_separator(paths)
        .backslash_escape(false)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| invalid(name, what, format!("invalid glob {pattern:?}: {e}")))
}

fn parse_window(name: &str, w: &str) -> Result<(NaiveTime, NaiveTime), RulesError> {
    let bad = || invalid(name, "window", format!("{w:?} is not HH:MM-HH:MM"));
    let (a, b) = w.split_once('-').ok_or_else(bad)?;
    let t = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").map_err(|_| bad());
    Ok((t(a)?, t(b)?))
}

fn parse_weekday(name: &str, d: &str) -> Result<Weekday, RulesError> {
    d.parse::<Weekday>()
        .map_err(|_| invalid(name, "weekdays", format!("{d:?} is not a day (mon … sun)")))
}

impl AllowList {
    /// The allow-list of the rule data, as of `now` (entries expired by then are
    /// left out, with a warning each).
    pub fn from_rules(rules: &Rules, now: DateTime<Utc>) -> Result<AllowList, RulesError> {
        let data: Vec<EntryData> = rules.section("allowlist")?;
        let mut entries = Vec::new();
        let mut warnings = Vec::new();
        let mut names = std::collections::HashSet::new();
        for d in data {
            let n = d.name.as_str();
            if n.trim().is_empty() {
                return Err(invalid(n, "name", "an entry needs a name".into()));
            }
            if !names.insert(d.name.clone()) {
                return Err(invalid(n, "name", "two entries have this name".into()));
            }
            let defined_in = rules
                .origin(&format!("allowlist[{n}]"))
                .or_else(|| rules.origin(&format!("allowlist[{n}].reason")))
                .unwrap_or("rules")
                .to_string();
            if d.reason.trim().is_empty() {
                return Err(invalid(
                    n,
                    "reason",
                    "a reason is required (who accepted this, why, a ticket)".into(),
                ));
            }
            let expires = match &d.expires {
                Some(e) => Some(to_utc(e, true).ok_or_else(|| {
                    invalid(n, "expires", format!("{e} is not a date or date-time"))
                })?),
                None => None,
            };
            let bound = |v: &Option<toml::value::Datetime>, what: &str, end: bool| {
                v.as_ref()
                    .map(|e| {
                        to_utc(e, end).ok_or_else(|| {
                            invalid(n, what, format!("{e} is not a date or date-time"))
                        })
                    })
                    .transpose()
            };
            let entry = Entry {
                name: d.name.clone(),
                reason: d.reason.clone(),
                expires,
                defined_in,
                detection_types: d.detection_type.values(),
                hosts: d
                    .host
                    .values()
                    .iter()
                    .map(|p| glob(n, "host", p, true, false))
                    .collect::<Result<_, _>>()?,
                users: d
                    .user
                    .values()
                    .iter()
                    .map(|p| glob(n, "user", p, false, false))
                    .collect::<Result<_, _>>()?,
                parent_images: d
                    .parent_image
                    .values()
                    .iter()
                    .map(|p| {
                        let by_name = !p.contains('/') && !p.contains('\\');
                        Ok((
                            glob(n, "parent_image", p, false, !by_name)?,
                            glob(n, "parent_image", p, true, !by_name)?,
                            by_name,
                        ))
                    })
                    .collect::<Result<_, RulesError>>()?,
                targets: d
                    .target
                    .values()
                    .iter()
                    .map(|p| glob(n, "target", p, false, true))
                    .collect::<Result<_, _>>()?,
                command_lines: d
                    .command_line
                    .values()
                    .iter()
                    .map(|p| {
                        Regex::new(p).map_err(|e| {
                            invalid(
                                n,
                                "command_line",
                                format!("invalid regular expression: {e}"),
                            )
                        })
                    })
                    .collect::<Result<_, _>>()?,
                window: d
                    .window
                    .as_deref()
                    .map(|w| parse_window(n, w))
                    .transpose()?,
                weekdays: d
                    .weekdays
                    .values()
                    .iter()
                    .map(|w| parse_weekday(n, w))
                    .collect::<Result<_, _>>()?,
                from: bound(&d.from, "from", false)?,
                until: bound(&d.until, "until", true)?,
                unless_indicators: d.unless_indicators.clone(),
            };
            let has_condition = !entry.detection_types.is_empty()
                || !entry.hosts.is_empty()
                || !entry.users.is_empty()
                || !entry.parent_images.is_empty()
                || !entry.targets.is_empty()
                || !entry.command_lines.is_empty()
                || entry.window.is_some()
                || !entry.weekdays.is_empty()
                || entry.from.is_some()
                || entry.until.is_some();
            if !has_condition {
                return Err(invalid(
                    n,
                    "name",
                    "the entry has no condition and would suppress every finding".into(),
                ));
            }
            if let Some(exp) = entry.expires {
                if exp < now {
                    warnings.push(format!(
                        "allow-list entry {:?} ({}) expired on {} and is ignored",
                        entry.name,
                        entry.defined_in,
                        exp.format("%Y-%m-%d %H:%M UTC")
                    ));
                    continue;
                }
            }
            entries.push(entry);
        }
        Ok(AllowList {
            entries: Arc::new(entries),
            warnings,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The first entry that suppresses `finding`, if any.
    pub fn decide(&self, finding: &Finding, ctx: &FindingContext) -> Option<&Entry> {
        self.entries.iter().find(|e| e.matches(finding, ctx))
    }

    /// Why `finding` is suppressed, if an entry matches it.
    pub fn suppression(&self, finding: &Finding, ctx: &FindingContext) -> Option<Suppression> {
        self.decide(finding, ctx).map(|e| Suppression {
            entry: e.name.clone(),
            reason: e.reason.clone(),
            defined_in: e.defined_in.clone(),
        })
    }
}

/// An entry's conditions as written, for exporting it to other query languages.
#[derive(Debug, Clone, Default)]
pub struct EntryView {
    pub detection_types: Vec<String>,
    pub hosts: Vec<String>,
    pub users: Vec<String>,
    pub parent_images: Vec<String>,
    pub targets: Vec<String>,
    pub command_lines: Vec<String>,
    /// Daily window, "HH:MM" UTC.
    pub window: Option<(String, String)>,
    pub unless_indicators: Vec<String>,
    /// Conditions given that have no form outside sighunt (weekdays, from, until).
    pub not_exported: Vec<&'static str>,
}

impl Entry {
    /// The entry's conditions as written.
    pub fn view(&self) -> EntryView {
        let globs = |v: &[GlobMatcher]| v.iter().map(|g| g.glob().glob().to_string()).collect();
        let mut not_exported = Vec::new();
        if !self.weekdays.is_empty() {
            not_exported.push("weekdays");
        }
        if self.from.is_some() {
            not_exported.push("from");
        }
        if self.until.is_some() {
            not_exported.push("until");
        }
        EntryView {
            detection_types: self.detection_types.clone(),
            hosts: globs(&self.hosts),
            users: globs(&self.users),
            parent_images: self
                .parent_images
                .iter()
                .map(|(g, _, _)| g.glob().glob().to_string())
                .collect(),
            targets: globs(&self.targets),
            command_lines: self
                .command_lines
                .iter()
                .map(|r| r.as_str().to_string())
                .collect(),
            window: self
                .window
                .map(|(a, b)| (a.format("%H:%M").to_string(), b.format("%H:%M").to_string())),
            unless_indicators: self.unless_indicators.clone(),
            not_exported,
        }
    }

    /// Every condition the entry gives matches the finding.
    pub fn matches(&self, f: &Finding, ctx: &FindingContext) -> bool {
        if self
            .unless_indicators
            .iter()
            .any(|u| f.indicators.contains(u))
        {
            return false;
        }
        if !self.detection_types.is_empty()
            && !self
                .detection_types
                .iter()
                .any(|d| d == f.detection_type.as_str())
        {
            return false;
        }
        if !self.hosts.is_empty() && !self.hosts.iter().any(|g| g.is_match(&f.host)) {
            return false;
        }
        if !self.users.is_empty()
            && !f
                .user
                .as_deref()
                .is_some_and(|u| self.users.iter().any(|g| g.is_match(u)))
        {
            return false;
        }
        if !self.parent_images.is_empty() {
            let windows = f.platform == Platform::Windows;
            let ok = ctx.parent_image.as_deref().is_some_and(|p| {
                let name = p.rsplit(['/', '\\']).next().unwrap_or(p);
                self.parent_images.iter().any(|(exact, nocase, by_name)| {
                    let g = if windows { nocase } else { exact };
                    g.is_match(if *by_name { name } else { p })
                })
            });
            if !ok {
                return false;
            }
        }
        if !self.targets.is_empty()
            && (f.nohup_target.is_empty()
                || !self.targets.iter().any(|g| g.is_match(&f.nohup_target)))
        {
            return false;
        }
        if !self.command_lines.is_empty()
            && !self
                .command_lines
                .iter()
                .any(|r| r.is_match(&f.command_line))
        {
            return false;
        }
        let timed = self.window.is_some()
            || !self.weekdays.is_empty()
            || self.from.is_some()
            || self.until.is_some();
        if timed {
            let Some(t) = f.time else { return false };
            if self.from.is_some_and(|from| t < from) || self.until.is_some_and(|until| t > until) {
                return false;
            }
            if !self.weekdays.is_empty() && !self.weekdays.contains(&t.weekday()) {
                return false;
            }
            if let Some((start, end)) = self.window {
                let now =
                    NaiveTime::from_hms_opt(t.hour(), t.minute(), t.second()).unwrap_or_default();
                let inside = if start <= end {
                    now >= start && now < end
                } else {
                    now >= start || now < end
                };
                if !inside {
                    return false;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests;
