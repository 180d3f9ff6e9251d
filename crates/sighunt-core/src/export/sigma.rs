//! Sigma rules: one per detection family and log source.
//!
//! Sigma has no scores: each rule fires on the family's event (a nohup launch,
//! PowerShell with its errors silenced) when at least one of the indicators that
//! make a finding medium or worse on their own is present, and its level is
//! `medium`. Indicators are written as regular expressions on the command line (or
//! `a1`, `ScriptBlockText`), anchored after `nohup` where they test what nohup runs.

use super::{ATTACK_URL, Cond, Family, Field, Model, stable_uuid};
use crate::finding::Severity;

/// A Sigma rule being written.
struct Rule {
    file: String,
    title: String,
    description: String,
    logsource: Vec<(&'static str, &'static str)>,
    /// `(name, YAML body lines)` of each detection item.
    items: Vec<(String, Vec<String>)>,
    condition: String,
    falsepositives: Vec<String>,
    level: &'static str,
}

/// The rule date (YYYY-MM-DD): the rule data's version, so output is reproducible.
const DATE: &str = "2026-11-28";

/// A YAML single-quoted scalar.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn list(key: &str, values: &[String]) -> Vec<String> {
    let mut out = vec![format!("{key}:")];
    out.extend(values.iter().map(|v| format!("    - {}", q(v))));
    out
}

impl Rule {
    fn yaml(&self) -> String {
        let mut y = String::new();
        y.push_str(&format!("title: {}\n", q(&self.title)));
        y.push_str(&format!("id: {}\n", stable_uuid(&self.file)));
        y.push_str("status: experimental\n");
        y.push_str("description: |\n");
        for line in self.description.lines() {
            y.push_str(&format!("    {line}\n").replace("    \n", "\n"));
        }
        y.push_str(&format!("references:\n    - {ATTACK_URL}\n"));
        y.push_str("author: sighunt (generated from its rule data)\n");
        y.push_str(&format!("date: {DATE}\n"));
        y.push_str("tags:\n    - attack.defense-evasion\n    - attack.t1564.011\n");
        y.push_str("logsource:\n");
        for (k, v) in &self.logsource {
            y.push_str(&format!("    {k}: {v}\n"));
        }
        y.push_str("detection:\n");
        for (name, body) in &self.items {
            y.push_str(&format!("    {name}:\n"));
            for line in body {
                y.push_str(&format!("        {line}\n"));
            }
        }
        y.push_str(&format!("    condition: {}\n", self.condition));
        y.push_str("falsepositives:\n");
        for fp in &self.falsepositives {
            y.push_str(&format!("    - {}\n", q(fp)));
        }
        y.push_str(&format!("level: {}\n", self.level));
        y
    }
}

/// Indicators strong enough to make a finding medium on their own.
fn strong<'a>(family: &'a Family, model: &Model) -> Vec<&'a super::Indicator> {
    family
        .indicators
        .iter()
        .filter(|i| {
            i.rule.min_severity.is_some_and(|s| s >= Severity::Medium)
                || i.rule.weight >= model.thresholds.medium
        })
        .collect()
}

/// A regex on the whole command line for a nohup condition on its target or
/// arguments (`None` for conditions Sigma cannot see in argv: shell operators).
fn nohup_cmdline_regex(cond: &Cond) -> Option<String> {
    const NOHUP: &str = r"^(?:\S*/)?nohup\s+";
    let alt = |v: &[String]| {
        v.iter()
            .map(|s| regex::escape(s))
            .collect::<Vec<_>>()
            .join("|")
    };
    Some(match cond {
        Cond::Prefix(Field::Target, v) => format!("{NOHUP}(?:{})", alt(v)),
        Cond::Basename(Field::Target, v) => {
            format!(r"{NOHUP}(?:\S*/)?(?:{})(?:\s|$)", alt(v))
        }
        Cond::Regex(Field::Target, r) => format!(r"{NOHUP}\S*{r}"),
        Cond::Contains(Field::Args, v) => format!(r"{NOHUP}\S+\s.*(?:{})", alt(v)),
        Cond::Regex(Field::Args, r) if !r.contains('&') && !r.contains('>') => {
            format!(r"{NOHUP}\S+.*(?:{})", r.replace(r"(?:^|\s)", r"\s"))
        }
        _ => return None,
    })
}

/// Adds the detection items for `cond` under `name`; returns the condition
/// expression over them.
fn add_cond(
    items: &mut Vec<(String, Vec<String>)>,
    name: &str,
    cond: &Cond,
    leaf: &dyn Fn(&Cond) -> Option<Vec<String>>,
) -> Option<String> {
    match cond {
        Cond::All(parts) | Cond::Any(parts) => {
            let op = if matches!(cond, Cond::All(_)) {
                " and "
            } else {
                " or "
            };
            let mut exprs = Vec::new();
            for (i, p) in parts.iter().enumerate() {
                exprs.push(add_cond(items, &format!("{name}_{}", i + 1), p, leaf)?);
            }
            Some(format!("({})", exprs.join(op)))
        }
        Cond::Not(inner) => Some(format!("not {}", add_cond(items, name, inner, leaf)?)),
        c => {
            let body = leaf(c)?;
            items.push((name.to_string(), body));
            Some(name.to_string())
        }
    }
}

fn fps_nohup() -> Vec<String> {
    vec![
        "Administrators and DevOps engineers using nohup for long-running jobs (migrations, backups, builds) that must survive a logout".into(),
        "Monitoring agents and init scripts in /etc/init.d or /etc/rc.d that start daemons with nohup".into(),
    ]
}

fn fps_ps() -> Vec<String> {
    vec![
        "Infrastructure automation (Ansible, Chef, Puppet, SCCM) running PowerShell with -ErrorAction SilentlyContinue while idempotently checking or creating resources".into(),
        "Administration scripts that download or schedule tasks by design".into(),
    ]
}

fn scoring_note(family: &Family, model: &Model) -> String {
    let weights: Vec<String> = family
        .indicators
        .iter()
        .map(|i| format!("{} {}", i.rule.name, i.rule.weight))
        .collect();
    let mut s = format!(
        "sighunt scores each finding by the sum of the weights of its indicators ({}) and\nderives a severity (medium >= {}, high >= {}, critical >= {}); Sigma cannot express\nscores, so this rule fires at level medium when one indicator that is medium or\nworse on its own is present.",
        weights.join(", "),
        model.thresholds.medium,
        model.thresholds.high,
        model.thresholds.critical
    );
    if !family.not_exported.is_empty() {
        s.push_str(&format!(
            "\nNot expressible here: {}.",
            family.not_exported.join(", ")
        ));
    }
    s
}

/// Allow-list entries as Sigma filters on the fields a log source has.
fn allow_filters(
    model: &Model,
    detection_type: &str,
    fields: &[(&str, &str)],
    items: &mut Vec<(String, Vec<String>)>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let mut names = Vec::new();
    for (i, e) in model.allowlist.entries().iter().enumerate() {
        let v = e.view();
        if !v.detection_types.is_empty() && !v.detection_types.iter().any(|d| d == detection_type) {
            continue;
        }
        let field = |k: &str| fields.iter().find(|(n, _)| *n == k).map(|(_, f)| *f);
        let mut body = Vec::new();
        let mut missing = Vec::new();
        let glob_values = |globs: &[String]| -> Vec<String> { globs.to_vec() };
        for (key, values, modifier) in [
            ("user", glob_values(&v.users), ""),
            ("parent_image", glob_values(&v.parent_images), "|endswith"),
        ] {
            if values.is_empty() {
                continue;
            }
            match field(key) {
                Some(f) => body.extend(list(&format!("{f}{modifier}"), &values)),
                None => missing.push(key),
            }
        }
        if !v.command_lines.is_empty() {
            match field("command_line") {
                Some(f) => body.extend(list(&format!("{f}|re"), &v.command_lines)),
                None => missing.push("command_line"),
            }
        }
        for (key, present) in [
            ("host", !v.hosts.is_empty()),
            ("target", !v.targets.is_empty()),
            ("window", v.window.is_some()),
            ("unless_indicators", !v.unless_indicators.is_empty()),
        ] {
            if present {
                missing.push(key);
            }
        }
        missing.extend(v.not_exported.iter().copied());
        if !missing.is_empty() || body.is_empty() {
            notes.push(format!(
                "allow-list entry {:?} is not applied here (its {} cannot be expressed for this log source)",
                e.name,
                if missing.is_empty() { "conditions".to_string() } else { missing.join(", ") }
            ));
            continue;
        }
        let name = format!("filter_allow_{}", i + 1);
        items.push((name.clone(), body));
        names.push(name);
    }
    names
}

/// Every exported Sigma rule, as `(file name, YAML)`.
pub(crate) fn rules(model: &Model) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let nohup = &model.nohup;

    // nohup, Linux process_creation
    {
        let mut items = vec![(
            "selection_nohup".to_string(),
            vec!["Image|endswith: '/nohup'".to_string()],
        )];
        let mut exprs = Vec::new();
        let mut skipped = Vec::new();
        for ind in strong(nohup, model) {
            let leaf = |c: &Cond| {
                nohup_cmdline_regex(c).map(|r| vec![format!("CommandLine|re: {}", q(&r))])
            };
            match add_cond(
                &mut items,
                &format!("indicator_{}", ind.rule.name),
                &ind.cond,
                &leaf,
            ) {
                Some(e) => exprs.push(e),
                None => skipped.push(ind.rule.name.clone()),
            }
        }
        let mut notes = Vec::new();
        let filters = allow_filters(
            model,
            nohup.detection_type,
            &[
                ("user", "User"),
                ("parent_image", "ParentImage"),
                ("command_line", "CommandLine"),
            ],
            &mut items,
            &mut notes,
        );
        let mut condition = format!("selection_nohup and ({})", exprs.join(" or "));
        if !filters.is_empty() {
            condition.push_str(&format!(" and not ({})", filters.join(" or ")));
        }
        let mut description = format!(
            "nohup (T1564.011) starts a program that ignores the hang-up at logout, and what it\nstarts looks like an attacker's: a payload in a temp or hidden directory, a network\ntool, a shell, a downloader, a borrowed daemon name.\n{}\nsighunt also finds nohup behind wrappers (env, sudo, setsid, timeout, busybox) and\ninside `sh -c` strings and resolves relative paths; a process_creation rule sees\nonly the nohup process's own command line.",
            scoring_note(nohup, model)
        );
        if !skipped.is_empty() {
            description.push_str(&format!("\nNot visible in argv: {}.", skipped.join(", ")));
        }
        for n in notes {
            description.push_str(&format!("\nNote: {n}."));
        }
        out.push(Rule {
            file: "sighunt_nohup_linux_process_creation.yml".into(),
            title: "Nohup Launching a Suspicious Program".into(),
            description,
            logsource: vec![("product", "linux"), ("category", "process_creation")],
            items,
            condition,
            falsepositives: fps_nohup(),
            level: "medium",
        });
    }

    // nohup, auditd EXECVE
    {
        let mut items = vec![(
            "selection_nohup".to_string(),
            vec![
                "type: 'EXECVE'".to_string(),
                "a0|endswith: 'nohup'".to_string(),
            ],
        )];
        let mut exprs = Vec::new();
        let mut skipped = Vec::new();
        for ind in strong(nohup, model) {
            let leaf = |c: &Cond| -> Option<Vec<String>> {
                match c {
                    Cond::Prefix(Field::Target, v) => Some(list("a1|startswith", v)),
                    Cond::Basename(Field::Target, _) | Cond::Regex(Field::Target, _) => {
                        let (_, r) = c.as_regex()?;
                        Some(vec![format!("a1|re: {}", q(&r))])
                    }
                    Cond::Regex(Field::Args, r) if r.contains("-[a-z]*i") => {
                        Some(vec![format!("a2|re: {}", q(r"^-[a-z]*i[a-z]*$"))])
                    }
                    _ => None,
                }
            };
            match add_cond(
                &mut items,
                &format!("indicator_{}", ind.rule.name),
                &ind.cond,
                &leaf,
            ) {
                Some(e) => exprs.push(e),
                None => skipped.push(ind.rule.name.clone()),
            }
        }
        let mut notes = Vec::new();
        let filters = allow_filters(model, nohup.detection_type, &[], &mut items, &mut notes);
        let mut condition = format!("selection_nohup and ({})", exprs.join(" or "));
        if !filters.is_empty() {
            condition.push_str(&format!(" and not ({})", filters.join(" or ")));
        }
        let mut description = format!(
            "An auditd EXECVE record of nohup (T1564.011) whose first argument (a1, what nohup\nruns) looks like an attacker's payload.\n{}\nauditd writes an argument that contains a space or quote as hex, and splits long\nones (a2[0], a2[1] …): sighunt decodes and joins them, peels wrappers (env, sudo,\nsetsid, timeout, busybox) and lexes `sh -c` strings; this rule sees a0/a1/a2 as\nlogged, so a hex-encoded or wrapped nohup escapes it.",
            scoring_note(nohup, model)
        );
        if !skipped.is_empty() {
            description.push_str(&format!("\nNot visible in a0-a2: {}.", skipped.join(", ")));
        }
        for n in notes {
            description.push_str(&format!("\nNote: {n}."));
        }
        out.push(Rule {
            file: "sighunt_nohup_linux_auditd.yml".into(),
            title: "Nohup Launching a Suspicious Program (auditd)".into(),
            description,
            logsource: vec![("product", "linux"), ("service", "auditd")],
            items,
            condition,
            falsepositives: fps_nohup(),
            level: "medium",
        });
    }

    if let Some(ps) = &model.powershell {
        let content: Vec<&super::Indicator> = ps
            .family
            .indicators
            .iter()
            .filter(|i| !ps.context.contains(&i.rule.name))
            .collect();
        for (file, title, logsource, field, host_sel) in [
            (
                "sighunt_ps_error_suppression_windows_process_creation.yml",
                "PowerShell Silencing Errors While Running Attacker Tradecraft",
                vec![("product", "windows"), ("category", "process_creation")],
                "CommandLine",
                true,
            ),
            (
                "sighunt_ps_error_suppression_windows_ps_script.yml",
                "PowerShell Script Block Silencing Errors While Running Attacker Tradecraft",
                vec![("product", "windows"), ("category", "ps_script")],
                "ScriptBlockText",
                false,
            ),
        ] {
            let mut items = Vec::new();
            if host_sel {
                let images: Vec<String> = ps
                    .host_images
                    .iter()
                    .filter(|i| i.contains('.'))
                    .map(|i| format!("\\{i}"))
                    .collect();
                items.push((
                    "selection_host".to_string(),
                    list("Image|endswith", &images),
                ));
            }
            items.push((
                "selection_suppress".to_string(),
                vec![format!(
                    "{field}|re: {}",
                    q(&format!("(?i){}", super::PS_SUPPRESSION_REGEX))
                )],
            ));
            let mut exprs = Vec::new();
            for ind in &content {
                if let Some((_, r)) = ind.cond.as_regex() {
                    let name = format!("indicator_{}", ind.rule.name);
                    items.push((
                        name.clone(),
                        vec![format!("{field}|re: {}", q(&format!("(?i){r}")))],
                    ));
                    exprs.push(name);
                }
            }
            let mut notes = Vec::new();
            let fields: &[(&str, &str)] = if host_sel {
                &[
                    ("user", "User"),
                    ("parent_image", "ParentImage"),
                    ("command_line", "CommandLine"),
                ]
            } else {
                &[]
            };
            let filters = allow_filters(
                model,
                ps.family.detection_type,
                fields,
                &mut items,
                &mut notes,
            );
            let sel = if host_sel {
                "selection_host and selection_suppress"
            } else {
                "selection_suppress"
            };
            let mut condition = format!("{sel} and 1 of indicator_*");
            if !filters.is_empty() {
                condition.push_str(&format!(" and not ({})", filters.join(" or ")));
            }
            let mut description = format!(
                "PowerShell told to ignore its errors (-ErrorAction SilentlyContinue/Ignore, -ea,\n$ErrorActionPreference) so that a payload keeps running past failures (T1564.011),\ntogether with something an attacker does: a download or execution cradle,\npersistence, defence evasion, AMSI tampering, a transfer tool, reflective loading.\n{}\nsighunt decodes -EncodedCommand (UTF-16LE base64, any abbreviation of the switch),\nresolves backticks, string concatenation and comments, and reads the parameter\nprefixes PowerShell accepts before matching; Sigma matches the text as logged, so an\nencoded or obfuscated command escapes this rule.",
                scoring_note(&ps.family, model)
            );
            for n in notes {
                description.push_str(&format!("\nNote: {n}."));
            }
            if !host_sel {
                description.push_str("\nRequires PowerShell Script Block Logging (event 4104).");
            }
            out.push(Rule {
                file: file.into(),
                title: title.into(),
                description,
                logsource,
                items,
                condition,
                falsepositives: fps_ps(),
                level: "medium",
            });
        }
    }

    // signal masking, Linux process_creation
    if !model.signal_interpreters.is_empty() {
        let items = vec![
            (
                "selection_python".to_string(),
                vec![
                    "CommandLine|contains|all:".to_string(),
                    "    - 'signal'".to_string(),
                    "    - 'SIG_IGN'".to_string(),
                ],
            ),
            (
                "selection_perl".to_string(),
                vec![format!(
                    "CommandLine|re: {}",
                    q(r#"\$SIG\{\s*['"]?(?:HUP|INT|TERM|QUIT)['"]?\s*\}\s*=\s*['"]IGNORE"#)
                )],
            ),
            (
                "selection_shell_trap".to_string(),
                vec![format!(
                    "CommandLine|re: {}",
                    q(
                        r#"(?:^|[\s;&|(])trap\s+(?:''|""|-)\s+(?:SIG)?(?:HUP|INT|TERM|QUIT|1|2|3|15)\b"#
                    )
                )],
            ),
            (
                "selection_ruby".to_string(),
                vec![format!(
                    "CommandLine|re: {}",
                    q(r#"trap\(\s*['"](?:SIG)?(?:HUP|INT|TERM|QUIT)['"]\s*,\s*['"]IGNORE"#)
                )],
            ),
        ];
        out.push(Rule {
            file: "sighunt_signal_mask_linux_process_creation.yml".into(),
            title: "Command Line Setting Termination Signals to Be Ignored".into(),
            description: format!(
                "A shell, Python, Perl or Ruby command line sets SIGHUP, SIGINT, SIGTERM or SIGQUIT\nto be ignored (T1564.011; BPFDoor and BOLDMOVE mask signals the same way), so that\nthe program survives logout, Ctrl-C or kill.\nsighunt tells which signals are masked (by name or number) and scores them (TERM\nweighs most), resolves wrappers and `sh -c` strings and decodes auditd's hex\narguments; Sigma cannot score, so this rule fires on any of the idioms at level low.\nInterpreters sighunt recognises: {}.",
                model.signal_interpreters.join(", ")
            ),
            logsource: vec![("product", "linux"), ("category", "process_creation")],
            items,
            condition: "1 of selection_*".into(),
            falsepositives: vec![
                "Daemons and job wrappers that ignore SIGHUP or SIGPIPE by design".into(),
                "Test suites exercising signal handling".into(),
            ],
            level: "low",
        });
    }

    out.into_iter()
        .map(|r| (r.file.clone(), r.yaml()))
        .collect()
}
