//! SIEM queries with scores: Sumo Logic, Splunk SPL and Microsoft KQL, in the style
//! of the seed query (one part per platform, an `if(…)` per indicator, a sum), but
//! with the current weights, severity thresholds and allow-list, and regular
//! expressions written as each language reads them.

use super::{Cond, Family, Field, Model, PS_SUPPRESSION_REGEX, glob_regex};
use crate::finding::Severity;

/// How one query language writes the pieces of a query.
pub(crate) struct Dialect {
    pub name: &'static str,
    pub ext: &'static str,
    comment: &'static str,
    /// Start of the Linux part: scope, parsing, up to `nohup_target`/`nohup_args`.
    linux_head: fn(&Model) -> Vec<String>,
    /// `by_scheduler`: 1 when a scheduler (the names given) logged the launch.
    scheduler_flag: fn(&[String]) -> String,
    /// Start of the Windows part, up to `command_line`/`cmd_lower`/`process_image`.
    windows_head: fn(&Model, &[String]) -> Vec<String>,
    /// `name = value` as a pipeline step.
    assign: fn(&str, &str) -> String,
    /// A boolean `field matches regex`.
    matches: fn(&str, &str) -> String,
    /// `if(cond, a, b)`.
    iff: fn(&str, &str, &str) -> String,
    /// A filter step keeping rows where the condition holds.
    filter: fn(&str) -> String,
    /// Equality in a condition.
    eq: &'static str,
    /// Boolean operators.
    and: &'static str,
    or: &'static str,
    not: fn(&str) -> String,
    /// A string literal.
    string: fn(&str) -> String,
    /// "HH:MM" of the event time, UTC.
    hhmm: &'static str,
    host: &'static str,
    user: &'static str,
    parent: &'static str,
    /// Sort newest first and choose the output columns.
    tail: fn(&[&str]) -> Vec<String>,
}

/// The Sumo Logic dialect.
pub(crate) const SUMO: Dialect = Dialect {
    name: "Sumo Logic",
    ext: "sumo",
    comment: "//",
    linux_head: |_| {
        let mut v = vec![
            "(_sourceCategory=linux/audit OR _sourceCategory=linux/syslog OR _sourceCategory=macos/syslog)".into(),
            "\"nohup\"".into(),
        ];
        v.extend([
            format!(
                "| parse regex field=_raw \"{}\" nodrop",
                sumo_str(AUDIT_NOHUP_RE)
            ),
            format!(
                "| parse regex field=_raw \"{}\" nodrop",
                sumo_str(TEXT_NOHUP_RE)
            ),
            "| if(isBlank(t1), t2, t1) as nohup_target".into(),
            "| if(isBlank(t1), a2, a1) as nohup_args".into(),
            "| where !isBlank(nohup_target)".into(),
            "| \"nohup\" as exec_cmd".into(),
        ]);
        v
    },
    scheduler_flag: |names| {
        let ex: Vec<String> = names
            .iter()
            .map(|s| format!("process = \"{}\"", sumo_str(s)))
            .collect();
        format!("| if({}, 1, 0) as by_scheduler", ex.join(" or "))
    },
    windows_head: |_, hosts| {
        let quoted: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        vec![
            "(_sourceCategory=windows/sysmon OR _sourceCategory=windows/security)".into(),
            format!("({})", quoted.join(" OR ")),
            format!(
                "| parse regex field=_raw \"{}\" nodrop",
                sumo_str(WIN_CMDLINE_RE)
            ),
            format!(
                "| parse regex field=_raw \"{}\" nodrop",
                sumo_str(WIN_IMAGE_RE)
            ),
            format!(
                "| parse regex field=_raw \"{}\" nodrop",
                sumo_str(WIN_PARENT_RE)
            ),
            format!(
                "| where process_image matches /{}/",
                sumo_re(&host_image_re(hosts))
            ),
            "| toLowerCase(command_line) as cmd_lower".into(),
            "| process_image as exec_cmd".into(),
        ]
    },
    assign: |name, value| format!("| {value} as {name}"),
    matches: |field, re| format!("{field} matches /{}/", sumo_re(re)),
    iff: |c, a, b| format!("if({c}, {a}, {b})"),
    filter: |c| format!("| where {c}"),
    eq: "=",
    and: " and ",
    or: " or ",
    not: |c| format!("!({c})"),
    string: |s| format!("\"{}\"", sumo_str(s)),
    hhmm: "formatDate(_messagetime, \"HH:mm\", \"UTC\")",
    host: "_sourceHost",
    user: "user",
    parent: "parent_image",
    tail: |cols| {
        vec![
            "| sort by _messagetime desc".into(),
            format!("| fields _messagetime, _sourceHost, {}", cols.join(", ")),
        ]
    },
};

/// The Splunk SPL dialect.
pub(crate) const SPLUNK: Dialect = Dialect {
    name: "Splunk SPL",
    ext: "spl",
    comment: "```",
    linux_head: |_| {
        let mut v = vec![
            "search (sourcetype=linux:audit OR sourcetype=linux_audit OR sourcetype=auditd OR sourcetype=syslog OR sourcetype=linux_secure) \"nohup\"".into(),
        ];
        v.extend([
            format!("| rex field=_raw \"{}\"", spl_str(AUDIT_NOHUP_RE)),
            format!("| rex field=_raw \"{}\"", spl_str(TEXT_NOHUP_RE)),
            "| eval nohup_target=coalesce(t1, t2), nohup_args=if(isnotnull(t1), a1, a2)".into(),
            "| where isnotnull(nohup_target)".into(),
            "| eval exec_cmd=\"nohup\"".into(),
        ]);
        v
    },
    scheduler_flag: |names| {
        let ex: Vec<String> = names
            .iter()
            .map(|s| format!("\"{}\"", spl_str(s)))
            .collect();
        format!(
            "| eval by_scheduler=if(in(process, {}), 1, 0)",
            ex.join(", ")
        )
    },
    windows_head: |_, hosts| {
        let quoted: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        vec![
            format!(
                "search ((source=\"XmlWinEventLog:Microsoft-Windows-Sysmon/Operational\" EventCode=1) OR (source=\"*WinEventLog:Security\" EventCode=4688)) ({})",
                quoted.join(" OR ")
            ),
            "| eval command_line=coalesce(CommandLine, Process_Command_Line), process_image=coalesce(Image, New_Process_Name), parent_image=coalesce(ParentImage, Creator_Process_Name)".into(),
            format!("| where match(process_image, \"{}\")", spl_str(&host_image_re(hosts))),
            "| eval cmd_lower=lower(command_line), exec_cmd=process_image".into(),
        ]
    },
    assign: |name, value| format!("| eval {name}={value}"),
    matches: |field, re| format!("match({field}, \"{}\")", spl_str(re)),
    iff: |c, a, b| format!("if({c}, {a}, {b})"),
    filter: |c| format!("| where {c}"),
    eq: "==",
    and: " AND ",
    or: " OR ",
    not: |c| format!("NOT ({c})"),
    string: |s| format!("\"{}\"", spl_str(s)),
    hhmm: "strftime(_time, \"%H:%M\")",
    host: "host",
    user: "user",
    parent: "parent_image",
    tail: |cols| {
        vec![
            "| sort - _time".into(),
            format!("| table _time, host, {}", cols.join(", ")),
        ]
    },
};

/// The Microsoft KQL dialect (Defender XDR / Sentinel `DeviceProcessEvents`).
pub(crate) const KQL: Dialect = Dialect {
    name: "Microsoft KQL (Defender XDR / Sentinel)",
    ext: "kql",
    comment: "//",
    linux_head: |_| {
        let mut v = vec![
            "DeviceProcessEvents".into(),
            format!(
                "| where FileName =~ \"nohup\" or ProcessCommandLine matches regex {}",
                kql_str(r"(?:^|[\s;&|(])(?:\S*/)?nohup\s")
            ),
        ];
        v.extend([
            format!(
                "| extend nohup_target = extract({}, 1, ProcessCommandLine)",
                kql_str(r"(?:^|[\s;&|(])(?:\S*/)?nohup\s+([^\s;&|)]+)")
            ),
            format!(
                "| extend nohup_args = extract({}, 1, ProcessCommandLine)",
                kql_str(r"(?:^|[\s;&|(])(?:\S*/)?nohup\s+[^\s;&|)]+(.*)")
            ),
            "| where isnotempty(nohup_target)".into(),
            "| extend exec_cmd = \"nohup\", parent_image = InitiatingProcessFolderPath".into(),
        ]);
        v
    },
    scheduler_flag: |names| {
        let ex: Vec<String> = names.iter().map(|s| kql_str(s)).collect();
        format!(
            "| extend by_scheduler = iff(InitiatingProcessFileName in~ ({}), 1, 0)",
            ex.join(", ")
        )
    },
    windows_head: |_, hosts| {
        let quoted: Vec<String> = hosts.iter().map(|h| format!("\"{h}\"")).collect();
        vec![
            "DeviceProcessEvents".into(),
            format!(
                "| where FileName in~ ({0}) or ProcessVersionInfoOriginalFileName in~ ({0})",
                quoted.join(", ")
            ),
            "| extend command_line = ProcessCommandLine, process_image = FolderPath, parent_image = InitiatingProcessFolderPath".into(),
            "| extend cmd_lower = tolower(command_line), exec_cmd = process_image".into(),
        ]
    },
    assign: |name, value| format!("| extend {name} = {value}"),
    matches: |field, re| format!("{field} matches regex {}", kql_str(re)),
    iff: |c, a, b| format!("iff({c}, {a}, {b})"),
    filter: |c| format!("| where {c}"),
    eq: "==",
    and: " and ",
    or: " or ",
    not: |c| format!("not({c})"),
    string: kql_str_owned,
    hhmm: "format_datetime(Timestamp, \"HH:mm\")",
    host: "DeviceName",
    user: "AccountName",
    parent: "parent_image",
    tail: |cols| {
        vec![
            "| sort by Timestamp desc".into(),
            format!("| project Timestamp, DeviceName, {}", cols.join(", ")),
        ]
    },
};

/// auditd `a0="nohup" a1="TARGET" …` (a0 may be a path).
const AUDIT_NOHUP_RE: &str = r#"a0="?(?:\S*/)?nohup"?\s+a1="?(?<t1>[^"\s]+)"?(?<a1>.*)"#;
/// `nohup TARGET ARGS` in command text (syslog, sudo, shell history).
const TEXT_NOHUP_RE: &str = r"(?:^|[\s;&|(=])(?:\S*/)?nohup\s+(?<t2>[^\s;&|)]+)(?<a2>[^\n]*)";
/// The command line in JSON (`"CommandLine":"…"`), key=value or rendered text
/// (`Process Command Line:`), which the seed's `CommandLine=` misses.
const WIN_CMDLINE_RE: &str = r#"(?i)"?(?:CommandLine|Process Command Line)"?\s*[:=]\s*"?(?<command_line>(?:[^"\r\n\\]|\\.)+)"#;
const WIN_IMAGE_RE: &str =
    r#"(?i)"?(?:Image|New Process Name)"?\s*[:=]\s*"?(?<process_image>[^"\r\n]+)"#;
const WIN_PARENT_RE: &str =
    r#"(?i)"?(?:ParentImage|Creator Process Name)"?\s*[:=]\s*"?(?<parent_image>[^"\r\n]+)"#;

fn host_image_re(hosts: &[String]) -> String {
    let alt: Vec<String> = hosts.iter().map(|h| regex::escape(h)).collect();
    format!(r"(?i)(?:^|[\\/])(?:{})$", alt.join("|"))
}

/// Text inside a Sumo Logic double-quoted string.
fn sumo_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A regex inside Sumo Logic's `/…/`.
fn sumo_re(s: &str) -> String {
    s.replace('/', "\\/")
}

/// Text inside an SPL double-quoted string (backslash and quote escaped).
fn spl_str(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// A KQL verbatim string literal.
fn kql_str(s: &str) -> String {
    format!("@\"{}\"", s.replace('"', "\"\""))
}

fn kql_str_owned(s: &str) -> String {
    kql_str(s)
}

/// The field name a dialect uses for a [`Field`] of `family`.
fn field_name(f: Field) -> &'static str {
    match f {
        Field::Target => "nohup_target",
        Field::Args => "nohup_args",
        Field::CommandLine => "cmd_lower",
    }
}

fn render_cond(d: &Dialect, c: &Cond) -> String {
    match c {
        Cond::All(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| render_cond(d, p))
                .collect::<Vec<_>>()
                .join(d.and)
        ),
        Cond::Any(parts) => format!(
            "({})",
            parts
                .iter()
                .map(|p| render_cond(d, p))
                .collect::<Vec<_>>()
                .join(d.or)
        ),
        Cond::Not(inner) => (d.not)(&render_cond(d, inner)),
        c => {
            let (f, re) = c.as_regex().expect("leaf conditions are regexes");
            (d.matches)(field_name(f), &re)
        }
    }
}

fn rank(s: Severity) -> usize {
    s as usize
}

/// Indicator columns, score, severity rank and severity.
fn scoring(d: &Dialect, family: &Family, model: &Model, q: &mut Vec<String>) {
    for ind in &family.indicators {
        q.push(comment(
            d,
            &format!(
                "{}: weight {}{}",
                ind.rule.name,
                ind.rule.weight,
                ind.rule
                    .min_severity
                    .map(|s| format!(", at least {s}"))
                    .unwrap_or_default()
            ),
        ));
        let value = (d.iff)(
            &render_cond(d, &ind.cond),
            &ind.rule.weight.to_string(),
            "0",
        );
        q.push((d.assign)(&ind.rule.name, &value));
    }
    let names: Vec<&str> = family
        .indicators
        .iter()
        .map(|i| i.rule.name.as_str())
        .collect();
    let sum = if names.is_empty() {
        "0".to_string()
    } else {
        names.join(" + ")
    };
    q.push((d.assign)("suspicion_score", &sum));
    q.push((d.assign)(
        "severity_rank",
        &rank(family.base_severity).to_string(),
    ));
    let t = &model.thresholds;
    let mut raise = |cond: String, to: Severity| {
        let cond = format!("{cond}{}severity_rank < {}", d.and, rank(to));
        q.push((d.assign)(
            "severity_rank",
            &(d.iff)(&cond, &rank(to).to_string(), "severity_rank"),
        ));
    };
    for (score, sev) in [
        (t.medium, Severity::Medium),
        (t.high, Severity::High),
        (t.critical, Severity::Critical),
    ] {
        raise(format!("suspicion_score >= {score}"), sev);
    }
    for ind in &family.indicators {
        if let Some(min) = ind.rule.min_severity {
            raise(format!("{} > 0", ind.rule.name), min);
        }
    }
    let mut sev = (d.string)("informational");
    for s in [
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ] {
        sev = (d.iff)(
            &format!("severity_rank {} {}", d.eq, rank(s)),
            &(d.string)(s.as_str()),
            &sev,
        );
    }
    q.push((d.assign)("severity", &sev));
}

/// The allow-list entries for `detection_type` as filters.
fn allowlist(d: &Dialect, model: &Model, detection_type: &str, q: &mut Vec<String>) {
    for e in model.allowlist.entries() {
        let v = e.view();
        if !v.detection_types.is_empty() && !v.detection_types.iter().any(|t| t == detection_type) {
            continue;
        }
        let any = |field: &str, res: Vec<String>| -> Option<String> {
            (!res.is_empty()).then(|| {
                let parts: Vec<String> = res.iter().map(|r| (d.matches)(field, r)).collect();
                format!("({})", parts.join(d.or))
            })
        };
        let mut conds: Vec<String> = [
            any(
                d.host,
                v.hosts
                    .iter()
                    .map(|g| format!("(?i){}", glob_regex(g, false)))
                    .collect(),
            ),
            any(
                d.user,
                v.users.iter().map(|g| glob_regex(g, false)).collect(),
            ),
            any(
                d.parent,
                v.parent_images
                    .iter()
                    .map(|g| {
                        if g.contains('/') || g.contains('\\') {
                            glob_regex(g, true)
                        } else {
                            format!(
                                r"(?:^|[\\/]){}",
                                glob_regex(g, true).trim_start_matches('^')
                            )
                        }
                    })
                    .collect(),
            ),
            // Only the nohup part has a target column.
            any(
                "nohup_target",
                if detection_type == "nohup_interrupt_ignore" {
                    v.targets.iter().map(|g| glob_regex(g, true)).collect()
                } else {
                    Vec::new()
                },
            ),
            any(
                if detection_type == "nohup_interrupt_ignore" {
                    "nohup_args"
                } else {
                    "command_line"
                },
                v.command_lines.clone(),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if let Some((a, b)) = &v.window {
            let (a, b) = ((d.string)(a), (d.string)(b));
            conds.push(if a <= b {
                format!("({0} >= {a}{1}{0} < {b})", d.hhmm, d.and)
            } else {
                format!("({0} >= {a}{1}{0} < {b})", d.hhmm, d.or)
            });
        }
        for u in &v.unless_indicators {
            conds.push(format!("{u} {} 0", d.eq));
        }
        q.push(comment(
            d,
            &format!(
                "allow-list {:?} ({}): {}{}",
                e.name,
                e.defined_in,
                e.reason,
                e.expires
                    .map(|x| format!("; expires {}", x.format("%Y-%m-%d")))
                    .unwrap_or_default()
            ),
        ));
        if !v.not_exported.is_empty() {
            q.push(comment(
                d,
                &format!(
                    "(its {} condition is not expressed here: the filter is wider)",
                    v.not_exported.join(", ")
                ),
            ));
        }
        if !conds.is_empty() {
            q.push((d.filter)(&(d.not)(&conds.join(d.and))));
        }
    }
}

fn header(d: &Dialect, model: &Model, part: &str, family: &Family, limits: &str) -> Vec<String> {
    let t = &model.thresholds;
    let mut h = vec![
        format!("T1564.011 Ignore Process Interrupts: {part} ({})", d.name),
        "Generated by `sighunt rules export` from its rule data: change the rules and".into(),
        "regenerate rather than editing this query.".into(),
        format!(
            "suspicion_score = sum of the weights below; severity: base {}, medium >= {}, high >= {}, critical >= {},",
            family.base_severity, t.medium, t.high, t.critical
        ),
        format!(
            "or the indicator's own minimum. Reference: {}",
            super::ATTACK_URL
        ),
        format!("Not expressed (needs sighunt's parsing): {limits}"),
    ];
    if !family.not_exported.is_empty() {
        h.push(format!(
            "Indicators not exported: {}.",
            family.not_exported.join(", ")
        ));
    }
    h.iter().map(|l| comment(d, l)).collect()
}

/// A comment line (SPL comments are enclosed in triple backticks).
fn comment(d: &Dialect, text: &str) -> String {
    if d.comment == "```" {
        format!("``` {} ```", text.replace('`', "'"))
    } else {
        format!("{} {text}", d.comment)
    }
}

/// The queries of a dialect: the Linux nohup part and, when the rules have it, the
/// Windows PowerShell part.
pub(crate) fn render(model: &Model, d: &Dialect) -> Vec<(String, String)> {
    let cols = [
        "exec_cmd",
        "nohup_target",
        "nohup_args",
        "detection_type",
        "platform",
        "suspicion_score",
        "severity",
    ];
    let mut files = Vec::new();

    let mut q = header(
        d,
        model,
        "nohup on Linux/macOS",
        &model.nohup,
        "hex-encoded auditd arguments, nohup behind wrappers (env, sudo, setsid, timeout, busybox) or inside `sh -c` strings, relative paths, merging a launch with its exec.",
    );
    q.extend((d.linux_head)(model));
    if !model.excluded_schedulers.is_empty() {
        q.push((d.scheduler_flag)(&model.excluded_schedulers));
    }
    scoring(d, &model.nohup, model, &mut q);
    if !model.excluded_schedulers.is_empty() {
        // sighunt leaves out what a scheduler runs unless the launch reaches medium.
        q.push((d.filter)(&format!(
            "by_scheduler {} 0{}severity_rank >= {}",
            d.eq,
            d.or,
            rank(Severity::Medium)
        )));
    }
    allowlist(d, model, model.nohup.detection_type, &mut q);
    q.push((d.assign)(
        "detection_type",
        &(d.string)("nohup_interrupt_ignore"),
    ));
    q.push((d.assign)("platform", &(d.string)("Linux/macOS")));
    q.extend((d.tail)(&cols));
    files.push((
        format!("sighunt_nohup_linux.{}", d.ext),
        q.join("\n") + "\n",
    ));

    if let Some(ps) = &model.powershell {
        let mut q = header(
            d,
            model,
            "PowerShell error suppression on Windows",
            &ps.family,
            "-EncodedCommand decoding, backtick/concatenation/comment de-obfuscation, parameter prefixes, script blocks (4104), correlation with network events.",
        );
        q.extend((d.windows_head)(model, &ps.host_images));
        q.push((d.filter)(&(d.matches)("cmd_lower", PS_SUPPRESSION_REGEX)));
        scoring(d, &ps.family, model, &mut q);
        let content: Vec<&str> = ps
            .family
            .indicators
            .iter()
            .filter(|i| !ps.context.contains(&i.rule.name))
            .map(|i| i.rule.name.as_str())
            .collect();
        if !content.is_empty() {
            q.push(comment(
                d,
                "at least one content indicator (the seed's score > 0)",
            ));
            q.push((d.filter)(&format!("{} > 0", content.join(" + "))));
        }
        allowlist(d, model, ps.family.detection_type, &mut q);
        q.push((d.assign)(
            "detection_type",
            &(d.string)("ps_error_suppression"),
        ));
        q.push((d.assign)("platform", &(d.string)("Windows")));
        // The columns this part has (it has no nohup target or arguments).
        q.extend((d.tail)(&[
            "exec_cmd",
            "command_line",
            "detection_type",
            "platform",
            "suspicion_score",
            "severity",
        ]));
        files.push((
            format!("sighunt_ps_error_suppression_windows.{}", d.ext),
            q.join("\n") + "\n",
        ));
    }
    files
}
