//! Rule data: indicator weights, severity thresholds, program lists, exclusions and
//! allow-lists.
//!
//! Tuning is data, not code. The defaults live in `rules/*.toml`, embedded in the
//! binary and merged into one TOML table; each detector reads its own section
//! (`[nohup]`, …) into a typed struct of its own, so a detector and its rules can be
//! read together and a new detector adds a file without touching the others.
//!
//! A user's rule files are merged over the defaults, in this order (later wins):
//! `/etc/sighunt/rules.toml`, then `$XDG_CONFIG_HOME/sighunt/rules.toml` (or
//! `~/.config/sighunt/rules.toml` when `XDG_CONFIG_HOME` is unset), then each
//! `--rules FILE` as given. Merging is key by key (see [`merge_tables`]): tables merge,
//! arrays of named tables (`[[nohup.indicators]]`, `[[allowlist]]`) merge element by
//! element by `name`, `KEY_append = [...]` extends the list `KEY`, and everything
//! else replaces. An invalid file is reported with its path, line and column.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::finding::Severity;

/// A check of the rule sections one module owns.
pub type SectionCheck = fn(&Rules) -> Result<(), RulesError>;

/// The embedded default rule files, merged in this order.
const DEFAULT_RULE_FILES: &[(&str, &str)] = &[
    ("rules/default.toml", include_str!("../rules/default.toml")),
    ("rules/nohup.toml", include_str!("../rules/nohup.toml")),
    (
        "rules/correlation.toml",
        include_str!("../rules/correlation.toml"),
    ),
    ("rules/signal.toml", include_str!("../rules/signal.toml")),
    (
        "rules/powershell.toml",
        include_str!("../rules/powershell.toml"),
    ),
    (
        "rules/allowlist.toml",
        include_str!("../rules/allowlist.toml"),
    ),
    ("rules/seed.toml", include_str!("../rules/seed.toml")),
];

/// The text of the embedded rule file `name` (`rules/powershell.toml`), if there is
/// one: lets a module recognise its embedded section without merging every file.
pub(crate) fn embedded_file(name: &str) -> Option<&'static str> {
    DEFAULT_RULE_FILES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| *text)
}

/// Suffix of a key that extends a list instead of replacing it
/// (`net_tools_append = ["gost"]` adds to `net_tools`).
pub const APPEND_SUFFIX: &str = "_append";

/// An invalid rule file or section.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error("{file}: {message}")]
    Parse { file: String, message: String },
    #[error("rules section [{section}]: {message}")]
    Section { section: String, message: String },
    /// A field of a section that no user file could be blamed for.
    #[error("rules section [{section}], {path}: {message}")]
    Field {
        section: String,
        path: String,
        message: String,
    },
    /// An error at a place in a rule file.
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
}

/// The effective rules: the merged TOML table plus the common severity thresholds.
#[derive(Debug, Clone)]
pub struct Rules {
    /// Shared: detectors keep a copy of the rules, and a hunt copies its detectors
    /// for every input.
    table: Arc<toml::Table>,
    pub thresholds: Thresholds,
    /// Which file last set each value (`nohup.indicators[temp_dir_payload].weight`).
    origins: Arc<BTreeMap<String, Arc<str>>>,
    /// The files merged, in order.
    sources: Arc<Vec<Source>>,
}

/// One merged rule file.
#[derive(Debug)]
struct Source {
    name: Arc<str>,
    /// The text of a user file, kept to point errors at a line; `None` when embedded.
    text: Option<String>,
}

/// Score thresholds shared by every detector (`[severity]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub medium: i64,
    pub high: i64,
    pub critical: i64,
}

/// Where to look for rule files besides the embedded defaults.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `--rules FILE`, merged in order after the configuration files.
    pub files: Vec<PathBuf>,
    /// Read the configuration files (`/etc/sighunt/rules.toml`, the user's).
    pub config: bool,
}

impl Rules {
    /// The rules compiled into the binary.
    pub fn embedded() -> Rules {
        let mut table = toml::Table::new();
        let mut origins = BTreeMap::new();
        for (name, text) in DEFAULT_RULE_FILES {
            let file: toml::Table = text
                .parse()
                .unwrap_or_else(|e| panic!("embedded {name} is invalid: {e}"));
            let source: Arc<str> = Arc::from(*name);
            merge_traced(&mut table, file, "", &mut |path| {
                origins.insert(path, source.clone());
            });
        }
        let mut rules = Rules::from_table(table).expect("embedded rules are valid");
        rules.origins = Arc::new(origins);
        rules.sources = Arc::new(
            DEFAULT_RULE_FILES
                .iter()
                .map(|(name, _)| Source {
                    name: Arc::from(*name),
                    text: None,
                })
                .collect(),
        );
        rules
    }

    /// The embedded rules, then the configuration files that exist (when
    /// `options.config`), then `options.files` in order.
    pub fn load(options: &LoadOptions) -> Result<Rules, RulesError> {
        let mut rules = Rules::embedded();
        if options.config {
            for path in config_files() {
                if path.is_file() {
                    rules.add_file(&path)?;
                }
            }
        }
        for path in &options.files {
            rules.add_file(path)?;
        }
        Ok(rules)
    }

    /// Rules from a merged table; fails when the common part is invalid.
    pub fn from_table(table: toml::Table) -> Result<Rules, RulesError> {
        let thresholds = section_from(&table, "severity").map_err(|(path, message)| {
            let steps: Vec<Step> = path
                .into_iter()
                .map(|seg| match seg {
                    PathSeg::Key(k) => Step::Key(k),
                    PathSeg::Index(i) => Step::Index(i),
                })
                .collect();
            field_error("severity", &display_path(&steps), message)
        })?;
        Ok(Rules {
            table: Arc::new(table),
            thresholds,
            origins: Arc::default(),
            sources: Arc::default(),
        })
    }

    /// Runs each owner's check of its sections (see [`crate::engine::RULE_CHECKS`]),
    /// so that a bad rule file fails before any input is read. The rules layer
    /// knows no section's meaning: the module that reads a section validates it.
    pub fn validate(&self, checks: &[SectionCheck]) -> Result<(), RulesError> {
        checks.iter().try_for_each(|check| check(self))
    }

    /// Merges a user rule file over these rules.
    pub fn add_file(&mut self, path: &Path) -> Result<(), RulesError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RulesError::Parse {
            file: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        let text = String::from_utf8(bytes).map_err(|e| RulesError::Parse {
            file: name.clone(),
            message: format!("not UTF-8 text: {e}"),
        })?;
        self.add_text(&name, &text)
    }

    /// Merges rule text named `name` (a path, for messages) over these rules.
    pub fn add_text(&mut self, name: &str, text: &str) -> Result<(), RulesError> {
        let overlay: toml::Table = toml::from_str(text).map_err(|e| {
            let message = e.message().trim_end().to_string();
            match e.span() {
                Some(span) => at(name, text, span.start, message),
                None => RulesError::Parse {
                    file: name.to_string(),
                    message,
                },
            }
        })?;
        // A misspelt section would otherwise be read by nobody, silently.
        for key in overlay.keys() {
            let section = key.strip_suffix(APPEND_SUFFIX).unwrap_or(key);
            if !self.table.contains_key(key) && !self.table.contains_key(section) {
                let known: Vec<&str> = self.table.keys().map(String::as_str).collect();
                let offset = key_span(text, &[key.as_str()]).map_or(0, |s| s.start);
                return Err(at(
                    name,
                    text,
                    offset,
                    format!("unknown section [{key}] (known: {})", known.join(", ")),
                ));
            }
        }
        let source: Arc<str> = Arc::from(name);
        let mut table = (*self.table).clone();
        let mut origins = (*self.origins).clone();
        merge_traced(&mut table, overlay, "", &mut |path| {
            origins.insert(path, source.clone());
        });
        let mut sources: Vec<Source> = self
            .sources
            .iter()
            .map(|s| Source {
                name: s.name.clone(),
                text: s.text.clone(),
            })
            .collect();
        sources.push(Source {
            name: source.clone(),
            text: Some(text.to_string()),
        });
        let mut next = Rules {
            table: Arc::new(table),
            thresholds: self.thresholds.clone(),
            origins: Arc::new(origins),
            sources: Arc::new(sources),
        };
        next.thresholds = next.section("severity")?;
        *self = next;
        Ok(())
    }

    /// Reads section `name` into the detector's own rule struct. An invalid value is
    /// reported at its line in the user file that set it, when one did.
    pub fn section<T: DeserializeOwned>(&self, name: &str) -> Result<T, RulesError> {
        section_from(&self.table, name).map_err(|(path, message)| self.locate(name, &path, message))
    }

    /// The merged table, for `sighunt rules show`.
    pub fn table(&self) -> &toml::Table {
        &self.table
    }

    /// Whether these are exactly the rules compiled into the binary (no user file
    /// merged, not built from another table).
    pub fn is_embedded(&self) -> bool {
        !self.sources.is_empty() && self.sources.iter().all(|s| s.text.is_none())
    }

    /// The names of the merged files, in order (embedded ones as `rules/….toml`).
    pub fn source_names(&self) -> Vec<&str> {
        self.sources.iter().map(|s| &*s.name).collect()
    }

    /// The file that last set the value at `path` (`nohup.indicators[x].weight`,
    /// `allowlist[name]`), if any.
    pub fn origin(&self, path: &str) -> Option<&str> {
        self.origins.get(path).map(|s| &**s)
    }

    /// Values set by user files (not the embedded defaults), with the file, in path
    /// order.
    pub fn overrides(&self) -> Vec<(&str, &str)> {
        let user: Vec<&str> = self
            .sources
            .iter()
            .filter(|s| s.text.is_some())
            .map(|s| &*s.name)
            .collect();
        self.origins
            .iter()
            .filter(|(_, src)| user.contains(&&***src))
            .map(|(p, s)| (p.as_str(), &**s))
            .collect()
    }

    /// The effective rules as TOML, headed by the files merged and the values user
    /// files set (`sighunt rules show`).
    pub fn to_toml_string(&self) -> String {
        let mut out = String::from("# sighunt effective rules, merged from (later wins):\n");
        for s in self.sources.iter() {
            let kind = if s.text.is_some() { "" } else { " (embedded)" };
            out.push_str(&format!("#   {}{kind}\n", s.name));
        }
        let overrides = self.overrides();
        if !overrides.is_empty() {
            out.push_str("# values set by user files:\n");
            for (path, file) in overrides {
                out.push_str(&format!("#   {path}  <- {file}\n"));
            }
        }
        out.push('\n');
        out.push_str(&toml::to_string(&*self.table).unwrap_or_default());
        out
    }

    /// The severity for `score`, never below `base`.
    pub fn severity_for_score(&self, score: i64, base: Severity) -> Severity {
        self.severity_by_score(score).max(base)
    }

    /// The severity the score alone reaches.
    pub fn severity_by_score(&self, score: i64) -> Severity {
        let t = &self.thresholds;
        if score >= t.critical {
            Severity::Critical
        } else if score >= t.high {
            Severity::High
        } else if score >= t.medium {
            Severity::Medium
        } else {
            Severity::Informational
        }
    }

    /// Turns a deserialization error at `path` of section `section` into an error at
    /// the line of the user file that set the value (the innermost part of the path
    /// a user file mentions), or a path-only error when the defaults are to blame.
    fn locate(&self, section: &str, path: &[PathSeg], message: String) -> RulesError {
        let mut keys = vec![Step::Key(section.to_string())];
        let mut value = self.table.get(section);
        for seg in path {
            match seg {
                PathSeg::Key(k) => {
                    value = value.and_then(|v| v.get(k));
                    keys.push(Step::Key(k.clone()));
                }
                PathSeg::Index(i) => {
                    let elem = value.and_then(|v| v.get(*i));
                    match elem.and_then(|e| e.get("name")).and_then(|n| n.as_str()) {
                        Some(name) => keys.push(Step::Named(name.to_string())),
                        None => keys.push(Step::Index(*i)),
                    }
                    value = elem;
                }
            }
        }
        let display = display_path(&keys);
        let mut best: Option<(usize, &str, &str, usize)> = None;
        for s in self.sources.iter() {
            let Some(text) = &s.text else { continue };
            if let Some((depth, offset)) = deepest_span(text, &keys) {
                // Later files win ties: they are the ones that took effect.
                if best.is_none_or(|b| depth >= b.0) {
                    best = Some((depth, &s.name, text, offset));
                }
            }
        }
        match best {
            Some((depth, file, text, offset)) if depth > 1 => {
                at(file, text, offset, format!("{message} (at {display})"))
            }
            _ => field_error(section, &display_rest(&keys), message),
        }
    }
}

/// The configuration files read when present, lowest precedence first:
/// `/etc/sighunt/rules.toml`, then `$XDG_CONFIG_HOME/sighunt/rules.toml` or, when
/// that variable is unset or empty, `$HOME/.config/sighunt/rules.toml`.
pub fn config_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/sighunt/rules.toml")];
    let xdg = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty());
    let user_dir = match xdg {
        Some(dir) => Some(PathBuf::from(dir)),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| PathBuf::from(h).join(".config")),
    };
    if let Some(dir) = user_dir {
        files.push(dir.join("sighunt").join("rules.toml"));
    }
    files
}

fn field_error(section: &str, path: &str, message: String) -> RulesError {
    if path.is_empty() {
        RulesError::Section {
            section: section.to_string(),
            message,
        }
    } else {
        RulesError::Field {
            section: section.to_string(),
            path: path.to_string(),
            message,
        }
    }
}

/// An error at byte `offset` of `text`, as 1-based line and column.
fn at(file: &str, text: &str, offset: usize, message: String) -> RulesError {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(1, |l| l.chars().count() + 1);
    RulesError::At {
        file: file.to_string(),
        line,
        column,
        message,
    }
}

/// A segment of the path serde reports an error at.
#[derive(Debug, Clone)]
enum PathSeg {
    Key(String),
    Index(usize),
}

/// A step of a path through the merged table, with array elements named by their
/// `name` where they have one (indices differ between a file and the merge).
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Named(String),
    Index(usize),
}

fn display_path(steps: &[Step]) -> String {
    let mut out = String::new();
    for s in steps {
        match s {
            Step::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Step::Named(n) => out.push_str(&format!("[{n}]")),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// The path below the section.
fn display_rest(steps: &[Step]) -> String {
    display_path(steps.get(1..).unwrap_or_default())
}

/// How deep `steps` can be followed in the rule text, and the byte offset of the
/// deepest part found.
fn deepest_span(text: &str, steps: &[Step]) -> Option<(usize, usize)> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best = None;
    let mut table: Option<&toml::de::DeTable<'_>> = Some(doc.get_ref());
    let mut value: Option<&toml::Spanned<toml::de::DeValue<'_>>> = None;
    for (depth, step) in steps.iter().enumerate() {
        let found = match step {
            Step::Key(k) => table.and_then(|t| {
                let append = format!("{k}{APPEND_SUFFIX}");
                t.iter()
                    .find(|(key, _)| key.get_ref() == k || key.get_ref() == &append)
                    .map(|(key, v)| (key.span().start, v))
            }),
            Step::Named(n) => value
                .and_then(|v| v.get_ref().as_array())
                .and_then(|arr| {
                    arr.iter().find(|e| {
                        e.get_ref()
                            .as_table()
                            .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == "name"))
                            .and_then(|(_, v)| v.get_ref().as_str())
                            == Some(n.as_str())
                    })
                })
                .map(|e| {
                    // An element's own span can be its header; its name is a line we
                    // know is inside it.
                    let start = e
                        .get_ref()
                        .as_table()
                        .and_then(|t| t.iter().find(|(k, _)| k.get_ref() == "name"))
                        .map_or(e.span().start, |(k, _)| k.span().start);
                    (start, e)
                }),
            Step::Index(i) => value
                .and_then(|v| v.get_ref().as_array())
                .and_then(|arr| arr.get(*i))
                .map(|e| (e.span().start, e)),
        };
        let Some((offset, v)) = found else { break };
        best = Some((depth + 1, offset));
        value = Some(v);
        table = v.get_ref().as_table();
    }
    best
}

/// The byte span of the key at `path` (top-level keys and below) in `text`.
fn key_span(text: &str, path: &[&str]) -> Option<std::ops::Range<usize>> {
    let steps: Vec<Step> = path.iter().map(|k| Step::Key(k.to_string())).collect();
    let (depth, offset) = deepest_span(text, &steps)?;
    (depth == steps.len()).then_some(offset..offset)
}

fn section_from<T: DeserializeOwned>(
    table: &toml::Table,
    name: &str,
) -> Result<T, (Vec<PathSeg>, String)> {
    let value = table
        .get(name)
        .cloned()
        .ok_or_else(|| (Vec::new(), "missing".to_string()))?;
    serde_path_to_error::deserialize(value).map_err(
        |e: serde_path_to_error::Error<toml::de::Error>| {
            let path = e
                .path()
                .iter()
                .filter_map(|seg| match seg {
                    serde_path_to_error::Segment::Seq { index } => Some(PathSeg::Index(*index)),
                    serde_path_to_error::Segment::Map { key } => Some(PathSeg::Key(key.clone())),
                    serde_path_to_error::Segment::Enum { variant } => {
                        Some(PathSeg::Key(variant.clone()))
                    }
                    serde_path_to_error::Segment::Unknown => None,
                })
                .collect();
            (path, e.inner().message().trim_end().to_string())
        },
    )
}

/// Deep-merges `overlay` into `base`: tables merge key by key; arrays of tables that
/// all have a `name` merge element by element by name (an element with `remove =
/// true` deletes the one of that name, a new name is appended); `KEY_append = [...]`
/// extends the array `KEY` with the values it does not hold yet; anything else
/// (scalars, other arrays) is replaced.
pub fn merge_tables(base: &mut toml::Table, overlay: toml::Table) {
    merge_traced(base, overlay, "", &mut |_| {});
}

fn join_path(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

/// The `name` of an array element, if it is a table that has one.
fn element_name(v: &toml::Value) -> Option<&str> {
    v.as_table()?.get("name")?.as_str()
}

fn all_named(arr: &[toml::Value]) -> bool {
    !arr.is_empty() && arr.iter().all(|v| element_name(v).is_some())
}

fn merge_traced(
    base: &mut toml::Table,
    overlay: toml::Table,
    prefix: &str,
    trace: &mut dyn FnMut(String),
) {
    for (key, value) in overlay {
        if let (Some(list), toml::Value::Array(extra)) = (key.strip_suffix(APPEND_SUFFIX), &value) {
            if !base.contains_key(&key) {
                let path = join_path(prefix, list);
                match base.get_mut(list) {
                    Some(toml::Value::Array(existing)) => {
                        for v in extra {
                            if !existing.contains(v) {
                                existing.push(v.clone());
                            }
                        }
                    }
                    _ => {
                        base.insert(list.to_string(), value.clone());
                    }
                }
                trace(path);
                continue;
            }
        }
        let path = join_path(prefix, &key);
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(b)), toml::Value::Table(o)) => {
                merge_traced(b, o, &path, trace)
            }
            (Some(toml::Value::Array(b)), toml::Value::Array(o))
                if all_named(&o) && b.iter().all(|v| element_name(v).is_some()) =>
            {
                merge_named(b, o, &path, trace)
            }
            (_, v) => {
                trace_leaves(&path, &v, trace);
                base.insert(key, v);
            }
        }
    }
}

fn merge_named(
    base: &mut Vec<toml::Value>,
    overlay: Vec<toml::Value>,
    path: &str,
    trace: &mut dyn FnMut(String),
) {
    for elem in overlay {
        let toml::Value::Table(mut elem) = elem else {
            continue;
        };
        let Some(name) = elem
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
        else {
            continue;
        };
        let elem_path = format!("{path}[{name}]");
        let existing = base
            .iter()
            .position(|v| element_name(v) == Some(name.as_str()));
        if elem.get("remove").and_then(|r| r.as_bool()) == Some(true) {
            if let Some(i) = existing {
                base.remove(i);
            }
            trace(elem_path);
            continue;
        }
        elem.remove("remove");
        match existing.and_then(|i| base.get_mut(i)) {
            Some(toml::Value::Table(b)) => {
                elem.remove("name");
                merge_traced(b, elem, &elem_path, trace);
            }
            _ => {
                let v = toml::Value::Table(elem);
                trace_leaves(&elem_path, &v, trace);
                base.push(v);
            }
        }
    }
}

/// Records every value under `path` as set.
fn trace_leaves(path: &str, value: &toml::Value, trace: &mut dyn FnMut(String)) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                trace_leaves(&join_path(path, k), v, trace);
            }
        }
        toml::Value::Array(a) if all_named(a) => {
            trace(path.to_string());
            for v in a {
                if let Some(name) = element_name(v) {
                    trace_leaves(&format!("{path}[{name}]"), v, trace);
                }
            }
        }
        _ => trace(path.to_string()),
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

    /// Adds indicators to a finding already made (evidence that arrived later) and
    /// scores it again.
    pub fn amend<'a>(
        &self,
        finding: &mut crate::finding::Finding,
        more: impl IntoIterator<Item = &'a str>,
    ) {
        let mut names: Vec<String> = std::mem::take(&mut finding.indicators);
        names.extend(more.into_iter().map(str::to_string));
        let score = self.score(names.iter().map(String::as_str));
        finding.indicators = score.indicators;
        finding.suspicion_score = score.score;
        finding.severity = score.severity;
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
