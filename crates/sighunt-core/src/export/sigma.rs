//! Sigma rules: one per detection family and log source, written so that they do
//! what sighunt does where they land.
//!
//! Sigma has no scores: each rule fires on the family's event (a nohup launch,
//! PowerShell with its errors silenced, a signal set to be ignored) when one of the
//! indicators that make a finding medium or worse on their own is present, and its
//! level is `medium`. Values are matched with `contains`/`startswith`/`endswith`
//! (case-insensitive in Sigma, correctly escaped by every backend) wherever they
//! can be; where the position of a word matters (what nohup runs), a regular
//! expression in the subset every engine reads alike ([`super::portable`]). Each
//! rule's `name` is the `rule_id` of the findings it stands for.

use super::portable::{SP, WORD, alt, lit};
use super::{Family, Model, rule_title, stable_uuid};
use crate::finding::{PARENT_TECHNIQUE, TACTIC_SHORT_NAME, TECHNIQUE};

/// A Sigma rule being written.
pub(crate) struct Rule {
    /// The Sigma `name` (what correlation rules refer to; a finding's `rule_id`).
    pub name: String,
    pub file: String,
    pub title: String,
    pub description: String,
    pub logsource: Vec<(&'static str, &'static str)>,
    /// `(name, YAML body lines)` of each detection item.
    pub items: Vec<(String, Vec<String>)>,
    pub condition: String,
    pub falsepositives: Vec<String>,
    pub level: &'static str,
}

/// The rule date (YYYY-MM-DD): the rule data's version, so output is reproducible.
pub(crate) const DATE: &str = "2026-11-28";

/// A YAML single-quoted scalar.
pub(crate) fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `key:` and its values as a YAML list (one value stays a list: SigmaHQ's style
/// check wants a scalar only for a single value, see [`one_or_list`]).
fn list(key: &str, values: &[String]) -> Vec<String> {
    let mut out = vec![format!("{key}:")];
    out.extend(values.iter().map(|v| format!("    - {}", q(v))));
    out
}

/// `key: value` for one value, a list for several.
fn one_or_list(key: &str, values: &[String]) -> Vec<String> {
    match values {
        [one] => vec![format!("{key}: {}", q(one))],
        _ => list(key, values),
    }
}

/// The common head of every rule: title, id, name, status, description, author,
/// date, tags. The technique is a tag, not a link (SigmaHQ's validators reject an
/// ATT&CK link among the references).
pub(crate) fn yaml_head(name: &str, title: &str, description: &str) -> String {
    let mut y = String::new();
    y.push_str(&format!("title: {}\n", q(title)));
    y.push_str(&format!("id: {}\n", stable_uuid(name)));
    y.push_str(&format!("name: {name}\n"));
    y.push_str("status: experimental\n");
    y.push_str("description: |\n");
    for line in description.lines() {
        y.push_str(&format!("    {line}\n").replace("    \n", "\n"));
    }
    y.push_str("author: sighunt (generated from its rule data)\n");
    y.push_str(&format!("date: {DATE}\n"));
    y.push_str(&format!(
        "tags:\n    - attack.{TACTIC_SHORT_NAME}\n    - attack.{}\n    - attack.{}\n",
        PARENT_TECHNIQUE.to_ascii_lowercase(),
        TECHNIQUE.to_ascii_lowercase()
    ));
    y
}

impl Rule {
    pub(crate) fn yaml(&self) -> String {
        let mut y = yaml_head(&self.name, &self.title, &self.description);
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
fn strong(family: &Family) -> Vec<&str> {
    family.strong.iter().map(String::as_str).collect()
}

/// Indicators only a sequence of events shows: the correlation rules carry two of
/// them, the others are left to sighunt.
const CORRELATED: [&str; 5] = [
    "payload_made_executable",
    "net_listener",
    "init_script_parent",
    "relaunched",
    "web_service_parent",
];

/// A program name, optionally with its directory: `(…/)?(a|b)`.
fn program(names: &[String]) -> String {
    format!(r"({WORD}/)?{}", alt(names))
}

/// A program name with a version suffix (`python3.11`).
fn versioned(names: &[String]) -> String {
    format!(r"({WORD}/)?{}[0-9.]*", alt(names))
}

/// Wrappers nohup may run before the program (`nohup nice -n 19 X`, `nohup stdbuf
/// -oL timeout 5 X`), when the rule data lists them: their own words are options,
/// numbers and `VAR=value` assignments, so the program is the first word after them.
/// Wrappers that take a path or a name (chroot, flock, sudo -u) are left out: their
/// argument would read as the program.
const WRAPPERS_AFTER_NOHUP: [&str; 18] = [
    "env",
    "nice",
    "ionice",
    "stdbuf",
    "timeout",
    "chrt",
    "taskset",
    "setsid",
    "sudo",
    "doas",
    "time",
    "command",
    "exec",
    "unbuffer",
    "torsocks",
    "proxychains",
    "proxychains4",
    "caffeinate",
];

/// nohup, its `--`, and any wrappers it runs before the program, somewhere in a
/// command line: what follows is the program nohup starts.
fn nohup_at(model: &Model) -> String {
    let wrappers: Vec<String> = WRAPPERS_AFTER_NOHUP
        .iter()
        .filter(|w| model.lists.wrappers.iter().any(|x| x == *w))
        .map(|w| w.to_string())
        .collect();
    if wrappers.is_empty() {
        return format!(r".*nohup{SP}+(--{SP}+)?");
    }
    format!(
        r".*nohup{SP}+(--{SP}+)?(({WORD}/)?{}({SP}+(-{WORD}|[0-9]{WORD}|[A-Za-z_][A-Za-z0-9_]*={WORD}))*{SP}+)*",
        alt(&wrappers)
    )
}

/// A home directory (`/home/NAME`, `/root` …) as a regex.
fn homes_re(model: &Model) -> String {
    let homes: Vec<String> = model
        .lists
        .homes
        .iter()
        .map(|h| {
            if h.ends_with('/') {
                format!("{}[^/ ]*", lit(h))
            } else {
                lit(h)
            }
        })
        .collect();
    format!("({})", homes.join("|"))
}

/// A per-user tool directory directly under a home (`~/.local/`), and one with a
/// hidden part below it (`~/.local/.x`): the first is not a hidden path, the
/// second is (sighunt's `[staging] tool_dirs`). `before` is what precedes the path.
fn tool_dir_items(model: &Model, field: &str, before: &str) -> (Vec<String>, Vec<String>) {
    let tools = alt(&model
        .lists
        .tool_dirs
        .iter()
        .map(|t| t.trim_start_matches('.').to_string())
        .collect::<Vec<_>>());
    let homes = homes_re(model);
    (
        vec![format!(
            "{field}|re: {}",
            q(&format!(r"{before}{homes}/\.{tools}/.*"))
        )],
        vec![format!(
            "{field}|re: {}",
            q(&format!(r"{before}{homes}/\.{tools}(/{WORD})?/\.[^/. ].*"))
        )],
    )
}

/// An interpreter or shell and its options before the script it runs (optional).
fn interp_re(model: &Model) -> String {
    let mut runners = model.lists.interpreters.clone();
    runners.extend(model.lists.shells.iter().cloned());
    format!(r"({}{SP}+(-{WORD}{SP}+)*)?", versioned(&runners))
}

/// The detection items of one nohup indicator on a process_creation command line
/// (`None`: not visible there).
fn nohup_cmdline_items(model: &Model, indicator: &str) -> Option<Vec<Vec<String>>> {
    let l = &model.lists;
    let n = nohup_at(model);
    let interp = interp_re(model);
    let re = |r: String| vec![format!("CommandLine|re: {}", q(&r))];
    // A name at the end of the command line (no arguments after it), as `endswith`:
    // a regex cannot say "followed by a space or the end" in a way Lucene (whole
    // value) and the searching engines read alike.
    let at_end = |names: &[String], before: &[&str]| -> Vec<String> {
        let mut v = Vec::new();
        for name in names {
            for b in before {
                v.push(format!("{b}{name}"));
            }
        }
        list("CommandLine|endswith", &v)
    };
    Some(match indicator {
        "temp_dir_payload" => vec![re(format!("{n}{interp}{}.*", alt(&l.staging_dirs)))],
        "hidden_path" => vec![re(format!(r"{n}{interp}{WORD}/\.[^/. ].*"))],
        "suspicious_net_tool" => vec![
            re(format!("{n}{}{SP}.*", program(&l.net_tools))),
            at_end(&l.net_tools, &["nohup ", "/"]),
        ],
        "download_tool" => vec![
            re(format!("{n}{}{SP}.*", program(&l.download_tools))),
            at_end(&l.download_tools, &["nohup ", "/"]),
        ],
        "interactive_shell" => vec![
            re(format!(
                r"{n}{}({SP}+-[a-zA-Z]*)*{SP}+-[a-zA-Z]*i[a-zA-Z]*{SP}.*",
                program(&l.shells)
            )),
            [
                vec![format!(
                    "CommandLine|re: {}",
                    q(&format!(
                        "{n}{}({SP}+-[a-zA-Z]*)*{SP}+-.*",
                        program(&l.shells)
                    ))
                )],
                list(
                    "CommandLine|endswith",
                    &[" -i".to_string(), " -li".to_string(), " -il".to_string()],
                ),
            ]
            .concat(),
        ],
        "reverse_shell" => vec![
            list(
                "CommandLine|contains",
                &["/dev/tcp/".to_string(), "/dev/udp/".to_string()],
            ),
            re(format!(
                r"{n}{}{SP}(.*{SP})?(-e|-c|--exec|--sh-exec|--lua-exec)({SP}|=|/).*",
                program(&l.net_tools)
            )),
            re(format!(
                r"{n}{}{SP}.*(exec|system):.*",
                program(&l.net_tools)
            )),
        ],
        "masquerade_name" => vec![
            re(format!(
                r"{n}{WORD}/{}[0-9]*{SP}.*",
                alt(&l.masquerade_names)
            )),
            [
                vec![format!("CommandLine|re: {}", q(&format!("{n}{WORD}/.*")))],
                at_end(&l.masquerade_names, &["/"]),
            ]
            .concat(),
        ],
        "encoded_payload" => {
            let decode = r".*(base64 +(-d|--decode|-D)|xxd +-r|openssl +(enc|base64) .*-d).*\| *";
            vec![
                re(format!("{decode}{}[ ;'|&)].*", program(&l.shells))),
                [
                    vec![format!("CommandLine|re: {}", q(&format!("{decode}.*")))],
                    at_end(&l.shells, &[" ", "/", "|"]),
                ]
                .concat(),
            ]
        }
        _ => return None,
    })
}

/// nohup under another name, as a process_creation shows it: the image is nohup
/// but argv[0] is not (a symlink, `exec -a NAME nohup`), or a shell string runs it
/// with `exec -a`. A copy of nohup under another path is sighunt's alone (it
/// remembers the `cp`). Returns the condition over the items it adds.
fn nohup_renamed_cmdline(items: &mut Vec<(String, Vec<String>)>) -> String {
    items.push((
        "indicator_nohup_renamed".to_string(),
        vec![format!(
            "CommandLine|re: {}",
            q(&format!(r".*exec{SP}+-a{SP}+[^ ]+{SP}+nohup{SP}.*"))
        )],
    ));
    items.push((
        "indicator_nohup_renamed_image".to_string(),
        vec!["Image|endswith: '/nohup'".to_string()],
    ));
    // argv[0] is nohup, by name or path (`nohup x`, `/usr/bin/nohup x`).
    items.push((
        "filter_nohup_argv0".to_string(),
        vec![
            "- CommandLine|startswith: 'nohup'".to_string(),
            "- CommandLine|contains: '/nohup '".to_string(),
        ],
    ));
    "(indicator_nohup_renamed or (indicator_nohup_renamed_image and not filter_nohup_argv0))"
        .to_string()
}

/// The filter that keeps a genuine daemon name from being a masquerade: the
/// program lives in a system directory.
fn masquerade_filter_cmdline(model: &Model) -> Vec<String> {
    vec![format!(
        "CommandLine|re: {}",
        q(&format!(
            "{}{}.*",
            nohup_at(model),
            alt(&model.lists.system_dirs)
        ))
    )]
}

/// Items of one nohup indicator on auditd's EXECVE fields, the target in
/// `target` (`a1` after nohup, `a2` after `busybox nohup`) and the script an
/// interpreter runs in `script`.
fn nohup_auditd_items(
    model: &Model,
    indicator: &str,
    target: &str,
    script: &str,
) -> Option<Vec<Vec<String>>> {
    let l = &model.lists;
    let mut runners = l.interpreters.clone();
    runners.extend(l.shells.iter().cloned());
    let is = |field: &str, names: &[String]| -> Vec<Vec<String>> {
        vec![
            one_or_list(field, names),
            one_or_list(
                &format!("{field}|endswith"),
                &names.iter().map(|n| format!("/{n}")).collect::<Vec<_>>(),
            ),
        ]
    };
    // The interpreter, by name (with the usual version suffixes): `endswith`, which
    // every engine reads alike, where a regex would end ambiguously.
    let mut interp_names = Vec::new();
    for r in &runners {
        for suffix in ["", "2", "3"] {
            interp_names.push(format!("{r}{suffix}"));
        }
    }
    let interp = [
        vec![format!("{target}|endswith:")],
        interp_names
            .iter()
            .flat_map(|n| {
                [
                    format!("    - {}", q(&format!("/{n}"))),
                    format!("    - {}", q(n)),
                ]
            })
            .collect::<Vec<_>>(),
    ]
    .concat();
    Some(match indicator {
        "temp_dir_payload" => vec![
            one_or_list(&format!("{target}|startswith"), &l.staging_dirs),
            [
                interp.clone(),
                one_or_list(&format!("{script}|startswith"), &l.staging_dirs),
            ]
            .concat(),
        ],
        "hidden_path" => vec![
            vec![format!("{target}|re: {}", q(r".*/\.[^/.].*"))],
            [interp, vec![format!("{script}|re: {}", q(r".*/\.[^/.].*"))]].concat(),
        ],
        "suspicious_net_tool" => is(target, &l.net_tools),
        "download_tool" => is(target, &l.download_tools),
        "masquerade_name" => vec![list(
            &format!("{target}|endswith"),
            &l.masquerade_names
                .iter()
                .map(|n| format!("/{n}"))
                .collect::<Vec<_>>(),
        )],
        _ => return None,
    })
}

/// Adds `alternatives` as items `name`, `name_2` …; returns the condition over them.
fn add_alternatives(
    items: &mut Vec<(String, Vec<String>)>,
    name: &str,
    alternatives: Vec<Vec<String>>,
) -> String {
    let mut names = Vec::new();
    for (i, body) in alternatives.into_iter().enumerate() {
        let n = if i == 0 {
            name.to_string()
        } else {
            format!("{name}_{}", i + 1)
        };
        items.push((n.clone(), body));
        names.push(n);
    }
    if names.len() == 1 {
        names.remove(0)
    } else {
        format!("({})", names.join(" or "))
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
    // nohup_renamed has no query condition, but the Sigma rules carry it.
    let not_here: Vec<&str> = family
        .not_exported
        .iter()
        .map(String::as_str)
        .filter(|n| *n != "nohup_renamed")
        .collect();
    if !not_here.is_empty() {
        s.push_str(&format!("\nNot expressible here: {}.", not_here.join(", ")));
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

/// The nohup rule for Linux or macOS process creation.
fn nohup_process_creation(model: &Model, product: &'static str, os: &str) -> Rule {
    let nohup = &model.nohup;
    let name = format!("sighunt_nohup_{product}_process_creation");
    // nohup itself, or a wrapper or shell whose command line starts it (env, sudo,
    // setsid, timeout, busybox, sh -c): the indicators look after the word nohup.
    let l = &model.lists;
    let mut launchers: Vec<String> = l.wrappers.clone();
    launchers.extend(l.shells.iter().cloned());
    launchers.push("busybox".into());
    // `su -c STRING` runs a shell string, as `sh -c` does.
    launchers.push("su".into());
    let mut items = vec![
        (
            "selection_nohup".to_string(),
            vec![
                "- Image|endswith: '/nohup'".to_string(),
                "- CommandLine|startswith: 'nohup '".to_string(),
                "- CommandLine|contains:".to_string(),
                "      - '; nohup '".to_string(),
                "      - ';nohup '".to_string(),
                "      - '&& nohup '".to_string(),
            ],
        ),
        (
            "selection_wrapped".to_string(),
            [
                list(
                    "Image|endswith",
                    &launchers
                        .iter()
                        .map(|w| format!("/{w}"))
                        .collect::<Vec<_>>(),
                ),
                vec!["CommandLine|contains: 'nohup '".to_string()],
            ]
            .concat(),
        ),
    ];
    let mut exprs = Vec::new();
    let mut skipped = Vec::new();
    for ind in strong(nohup) {
        if CORRELATED.contains(&ind) {
            continue;
        }
        if ind == "nohup_renamed" {
            exprs.push(nohup_renamed_cmdline(&mut items));
            continue;
        }
        match nohup_cmdline_items(model, ind) {
            Some(alts) => {
                let mut e = add_alternatives(&mut items, &format!("indicator_{ind}"), alts);
                if ind == "masquerade_name" {
                    items.push((
                        "filter_masquerade_system_dir".to_string(),
                        masquerade_filter_cmdline(model),
                    ));
                    e = format!("({e} and not filter_masquerade_system_dir)");
                }
                if ind == "hidden_path" && !model.lists.tool_dirs.is_empty() {
                    let (tool_dir, below) = tool_dir_items(
                        model,
                        "CommandLine",
                        &format!("{}{}", nohup_at(model), interp_re(model)),
                    );
                    items.push(("filter_tool_dir".to_string(), tool_dir));
                    items.push(("hidden_below_tool_dir".to_string(), below));
                    e = format!("({e} and not (filter_tool_dir and not hidden_below_tool_dir))");
                }
                exprs.push(e);
            }
            None => skipped.push(ind.to_string()),
        }
    }
    if !model.lists.web_service_users.is_empty() {
        items.push((
            "indicator_web_service_user".to_string(),
            list("User", &model.lists.web_service_users),
        ));
        exprs.push("indicator_web_service_user".to_string());
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
    let mut condition = format!(
        "(selection_nohup or selection_wrapped) and ({})",
        exprs.join(" or ")
    );
    // No scheduler filter: sighunt leaves out what cron runs unless an indicator of
    // at least medium severity fires, and this rule fires on nothing less.
    if !filters.is_empty() {
        condition.push_str(&format!(" and not ({})", filters.join(" or ")));
    }
    let mut description = format!(
        "nohup (T1564.011) starts a program that ignores the hang-up at logout, and what it\nstarts looks like an attacker's: a payload (or the script an interpreter runs) in a\ntemp or hidden directory, a network tool, an interactive or reverse shell, a\ndownloader, a borrowed daemon name, a decoded payload piped to a shell, or a web\nservice account launching it. Wrapped (env, sudo, setsid, timeout, busybox) and\nshell-string (`sh -c`) launches are matched after the word nohup.\n{}",
        scoring_note(nohup, model)
    );
    description.push_str(&format!(
        "\nsighunt also resolves relative paths against the working directory, lexes\nquoted shell strings and follows the process tree (init script, web service\nparents, relaunches, chmod before and listener after: see the correlation rules);\na {os} process_creation rule sees one command line."
    ));
    if !skipped.is_empty() {
        description.push_str(&format!("\nNot visible in argv: {}.", skipped.join(", ")));
    }
    for n in notes {
        description.push_str(&format!("\nNote: {n}."));
    }
    let (file, title) = match product {
        "macos" => (
            "proc_creation_macos_sighunt_nohup_suspicious_program.yml",
            rule_title("sighunt_nohup_macos_process_creation"),
        ),
        _ => (
            "proc_creation_lnx_sighunt_nohup_suspicious_program.yml",
            rule_title("sighunt_nohup_linux_process_creation"),
        ),
    };
    Rule {
        name,
        file: file.into(),
        title: title.into(),
        description,
        logsource: vec![("product", product), ("category", "process_creation")],
        items,
        condition,
        falsepositives: fps_nohup(),
        level: "medium",
    }
}

/// The nohup rule for auditd EXECVE records.
fn nohup_auditd(model: &Model) -> Rule {
    let nohup = &model.nohup;
    let mut items = vec![
        (
            "selection_execve".to_string(),
            vec!["type: 'EXECVE'".to_string()],
        ),
        (
            "selection_nohup".to_string(),
            vec!["a0|endswith: 'nohup'".to_string()],
        ),
        (
            "selection_busybox_nohup".to_string(),
            vec![
                "a0|endswith: 'busybox'".to_string(),
                "a1: 'nohup'".to_string(),
            ],
        ),
    ];
    let mut by_variant = Vec::new();
    let mut skipped = Vec::new();
    for (variant, target, script) in [("nohup", "a1", "a2"), ("busybox_nohup", "a2", "a3")] {
        let mut exprs = Vec::new();
        for ind in strong(nohup) {
            // nohup_renamed: by the executable, below, not per variant.
            if CORRELATED.contains(&ind) || ind == "nohup_renamed" {
                continue;
            }
            match nohup_auditd_items(model, ind, target, script) {
                Some(alts) => {
                    let mut e = add_alternatives(&mut items, &format!("{variant}_{ind}"), alts);
                    if ind == "hidden_path" && !model.lists.tool_dirs.is_empty() {
                        // `~/.local/bin/x` is not hidden; `~/.local/.x/y` is.
                        let mut filter = Vec::new();
                        for field in [target, script] {
                            let (tool_dir, below) = tool_dir_items(model, field, ".*");
                            let f = format!("filter_{variant}_tool_dir_{field}");
                            let b = format!("{variant}_hidden_below_tool_dir_{field}");
                            items.push((f.clone(), tool_dir));
                            items.push((b.clone(), below));
                            filter.push(format!("({f} and not {b})"));
                        }
                        e = format!("({e} and not ({}))", filter.join(" or "));
                    }
                    if ind == "masquerade_name" {
                        let f = format!("filter_{variant}_system_dir");
                        items.push((
                            f.clone(),
                            one_or_list(&format!("{target}|startswith"), &model.lists.system_dirs),
                        ));
                        e = format!("({e} and not {f})");
                    }
                    exprs.push(e);
                }
                None if variant == "nohup" => skipped.push(ind.to_string()),
                None => {}
            }
        }
        by_variant.push(format!(
            "(selection_{variant} and ({}))",
            exprs.join(" or ")
        ));
    }
    if strong(nohup).contains(&"nohup_renamed") {
        // The kernel ran nohup (exe) under another argv[0]: a symlink or `exec -a`.
        items.push((
            "selection_renamed_nohup".to_string(),
            vec!["exe|endswith: '/nohup'".to_string()],
        ));
        items.push((
            "filter_renamed_argv0".to_string(),
            vec!["a0|endswith: 'nohup'".to_string()],
        ));
        // A shell string that runs nohup with `exec -a NAME`.
        items.push((
            "selection_exec_a_nohup".to_string(),
            vec![
                "a1: '-c'".to_string(),
                format!(
                    "a2|re: {}",
                    q(&format!(r".*exec{SP}+-a{SP}+[^ ]+{SP}+nohup{SP}.*"))
                ),
            ],
        ));
        by_variant.push("(selection_renamed_nohup and not filter_renamed_argv0)".to_string());
        by_variant.push("selection_exec_a_nohup".to_string());
    }
    let mut notes = Vec::new();
    let filters = allow_filters(model, nohup.detection_type, &[], &mut items, &mut notes);
    let mut condition = format!("selection_execve and ({})", by_variant.join(" or "));
    if !filters.is_empty() {
        condition.push_str(&format!(" and not ({})", filters.join(" or ")));
    }
    let mut description = format!(
        "An auditd EXECVE record of nohup (T1564.011), or of busybox's nohup applet, whose\ntarget (a1, or a2 after busybox) looks like an attacker's payload, or whose\ninterpreter target runs a script from a temp or hidden directory.\n{}\nThe arguments must be decoded (auditd writes an argument with a space or quote as\nhex, and long ones in pieces): Auditbeat and `ausearch -i` do; sighunt does it\nitself, peels wrappers and lexes `sh -c` strings.",
        scoring_note(nohup, model)
    );
    if !skipped.is_empty() {
        description.push_str(&format!(
            "\nNot visible in single arguments: {}.",
            skipped.join(", ")
        ));
    }
    for n in notes {
        description.push_str(&format!("\nNote: {n}."));
    }
    Rule {
        name: "sighunt_nohup_linux_auditd".into(),
        file: "lnx_auditd_sighunt_nohup_suspicious_program.yml".into(),
        title: rule_title("sighunt_nohup_linux_auditd").into(),
        description,
        logsource: vec![("product", "linux"), ("service", "auditd")],
        items,
        condition,
        falsepositives: fps_nohup(),
        level: "medium",
    }
}

/// The signal-masking idioms, as detection items on `field`. No double quote
/// appears in a pattern (a quote is any character here): Lucene reads `"` as an
/// operator, and the EQL backend's escaping breaks on `\"`.
fn signal_items(field: &str) -> Vec<(String, Vec<String>)> {
    let sigs = "(HUP|INT|TERM|QUIT)";
    let trap_signals: Vec<String> = ["HUP", "INT", "TERM", "QUIT", "1", "2", "3", "15"]
        .iter()
        .flat_map(|s| [format!(" {s}"), format!(" SIG{s}")])
        .collect();
    vec![
        (
            "selection_python".to_string(),
            vec![
                format!("{field}|contains|all:"),
                "    - 'signal'".to_string(),
                "    - 'SIG_IGN'".to_string(),
            ],
        ),
        (
            "selection_perl".to_string(),
            vec![format!(
                "{field}|re: {}",
                q(&format!(
                    r".*\$SIG\{{ *.?(SIG)?{sigs}.? *\}} *= *.?IGNORE.*"
                ))
            )],
        ),
        (
            "selection_shell_trap".to_string(),
            vec![format!(
                "{field}|re: {}",
                q(
                    r".*trap +(-- +)?([^a-zA-Z0-9 ][^a-zA-Z0-9 ]*|-) +([A-Z0-9]+ +)*(SIG)?(HUP|INT|TERM|QUIT|1|2|3|15)[ ;&|)].*"
                )
            )],
        ),
        (
            "selection_shell_trap_last".to_string(),
            [
                vec![format!(
                    "{field}|re: {}",
                    q(r".*trap +(-- +)?([^a-zA-Z0-9 ][^a-zA-Z0-9 ]*|-) +.*")
                )],
                list(&format!("{field}|endswith"), &trap_signals),
            ]
            .concat(),
        ),
        (
            // Node: process.on('SIGTERM', () => {}) or function () {}: an empty handler.
            "selection_node".to_string(),
            vec![format!(
                "{field}|re: {}",
                q(&format!(
                    r".*process\.on\( *.SIG{sigs}. *, *(\( *\) *=. *|function *\( *\) *)\{{ *\}}.*"
                ))
            )],
        ),
        (
            // Perl: POSIX::sigaction(SIGTERM, POSIX::SigAction->new('IGNORE')).
            "selection_perl_sigaction".to_string(),
            vec![format!(
                "{field}|re: {}",
                q(&format!(
                    r".*sigaction\( *(POSIX::)?(SIG)?{sigs} *,.*SigAction-.new\( *.IGNORE.*"
                ))
            )],
        ),
        (
            "selection_ruby".to_string(),
            vec![format!(
                "{field}|re: {}",
                q(&format!(r".*trap\( *.(SIG)?{sigs}. *, *.IGNORE.*"))
            )],
        ),
    ]
}

fn signal_description(model: &Model, where_: &str) -> String {
    format!(
        "A shell, Python, Perl, Ruby or PHP command sets SIGHUP, SIGINT, SIGTERM or SIGQUIT to be\nignored (T1564.011; BPFDoor and BOLDMOVE mask signals the same way), so that the\nprogram survives logout, Ctrl-C or kill. {where_}\nsighunt tells which signals are masked (by name or number) and scores them (TERM\nweighs most, HUP alone stays low), resolves wrappers and `sh -c` strings; Sigma\ncannot score, so this rule fires on any of the idioms at level low.\nInterpreters sighunt recognises: {}.",
        model.signal_interpreters.join(", ")
    )
}

fn fps_signal() -> Vec<String> {
    vec![
        "Daemons and job wrappers that ignore SIGHUP or SIGPIPE by design".into(),
        "Test suites exercising signal handling".into(),
    ]
}

/// The signal-masking rules: Linux and macOS process creation, auditd.
fn signal_rules(model: &Model) -> Vec<Rule> {
    let mut out = Vec::new();
    for (product, file, os) in [
        (
            "linux",
            "proc_creation_lnx_sighunt_signal_mask.yml",
            "Linux",
        ),
        (
            "macos",
            "proc_creation_macos_sighunt_signal_mask.yml",
            "macOS",
        ),
    ] {
        let name = format!("sighunt_signal_mask_{product}_process_creation");
        out.push(Rule {
            title: rule_title(&name).into(),
            name,
            file: file.into(),
            description: signal_description(
                model,
                &format!("Seen in a {os} process creation's command line."),
            ),
            logsource: vec![("product", product), ("category", "process_creation")],
            items: signal_items("CommandLine"),
            condition: "1 of selection_*".into(),
            falsepositives: fps_signal(),
            level: "low",
        });
    }
    // auditd: the code is the argument after -c/-e (a2), or the one after it.
    let mut items = vec![("execve".to_string(), vec!["type: 'EXECVE'".to_string()])];
    for field in ["a2", "a3"] {
        for (n, body) in signal_items(field) {
            items.push((format!("{n}_{field}"), body));
        }
    }
    out.push(Rule {
        name: "sighunt_signal_mask_linux_auditd".into(),
        file: "lnx_auditd_sighunt_signal_mask.yml".into(),
        title: rule_title("sighunt_signal_mask_linux_auditd").into(),
        description: signal_description(
            model,
            "Seen in an auditd EXECVE record's code argument (a2 or a3: `python3 -c CODE`,\n`perl -e CODE`, `sh -c STRING`), decoded as Auditbeat and `ausearch -i` show it.",
        ),
        logsource: vec![("product", "linux"), ("service", "auditd")],
        items,
        condition: "execve and 1 of selection_*".into(),
        falsepositives: fps_signal(),
        level: "low",
    });
    out
}

/// Spellings of the PowerShell patterns that name what a script changes (a
/// Defender setting, a logging policy, a Run key, the Startup folder) rather than
/// the change: sighunt fires on them as the arguments of a writing command, never
/// of a read (`Get-ItemProperty …\Run`, `Get-MpPreference | Select ExclusionPath`,
/// `reg query`). In the Sigma rules they count beside one of [`SETTING_WRITERS`].
const ARGUMENT_SPELLINGS: [&str; 8] = [
    "exclusionpath",
    "disablerealtimemonitoring",
    "disableioavprotection",
    "disablebehaviormonitoring",
    "enablescriptblocklogging",
    "\\currentversion\\run",
    "\\currentversion\\winlogon",
    "\\start menu\\programs\\startup",
];

/// Commands that write a setting, a registry value or a file (sighunt's
/// persistence and defence-evasion actions; the short aliases are left out).
const SETTING_WRITERS: [&str; 14] = [
    "set-itemproperty",
    "new-itemproperty",
    "set-item ",
    "new-item ",
    "copy-item",
    "move-item",
    "set-content",
    "add-content",
    "out-file",
    "reg add",
    "reg.exe add",
    "reg import",
    "invoke-webrequest",
    "start-bitstransfer",
];

/// A pattern's spelling as the Sigma rules use it: `schtasks` is sighunt's only
/// with /create or /change (a query reads).
fn ps_sigma_spellings(s: &[String]) -> Vec<Vec<String>> {
    if s.len() == 1 && s[0] == "schtasks" {
        let mut out = Vec::new();
        for exe in ["schtasks", "schtasks.exe"] {
            for verb in ["/create", "/change", "-create", "-change"] {
                out.push(vec![format!("{exe} {verb}")]);
            }
        }
        return out;
    }
    vec![s.to_vec()]
}

/// How PowerShell is told to ignore errors, as `contains` alternatives (Sigma's
/// `contains` ignores case, as PowerShell does).
fn ps_suppression(field: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for switch in ["-ErrorAction", "-ea"] {
        for sep in [" ", ":"] {
            // The value bare or quoted, also with the doubled quote of a string
            // inside a single-quoted string (`-ScriptBlock '… -ea ''Ignore'''`).
            for quote in ["", "'", "\"", "''"] {
                for value in ["SilentlyContinue", "Ignore"] {
                    forms.push(format!("{switch}{sep}{quote}{value}"));
                }
            }
        }
        for value in ["0", "4"] {
            forms.push(format!("{switch} {value}"));
        }
    }
    let mut v = vec![format!("- {field}|contains:")];
    v.extend(forms.iter().map(|f| format!("      - {}", q(f))));
    for value in ["SilentlyContinue", "Ignore"] {
        v.push(format!("- {field}|contains|all:"));
        v.push("      - '$ErrorActionPreference'".to_string());
        v.push(format!("      - {}", q(value)));
    }
    v
}

/// The PowerShell rules: process creation, script block (4104), module (4103) and
/// classic pipeline (800) logging.
fn powershell_rules(model: &Model) -> Vec<Rule> {
    let Some(ps) = &model.powershell else {
        return Vec::new();
    };
    let mut content = Vec::new();
    let mut partial = Vec::new();
    for ind in &ps.family.indicators {
        let name = &ind.rule.name;
        if ps.context.contains(name) {
            continue;
        }
        let Some(patterns) = model.lists.ps_patterns.get(name) else {
            continue;
        };
        let mut spellings: Vec<Vec<String>> = Vec::new();
        for p in patterns {
            match super::literal::spellings(p) {
                Some(found) => {
                    for s in found {
                        if !spellings.contains(&s) {
                            spellings.push(s);
                        }
                    }
                }
                None => {
                    if !partial.contains(name) {
                        partial.push(name.clone());
                    }
                }
            }
        }
        if !spellings.is_empty() {
            content.push((name.clone(), spellings));
        }
    }
    let mut out = Vec::new();
    for (category, file, field, what) in [
        (
            "process_creation",
            "proc_creation_win_sighunt_ps_error_suppression.yml",
            "CommandLine",
            "a PowerShell command line",
        ),
        (
            "ps_script",
            "posh_ps_sighunt_error_suppression.yml",
            "ScriptBlockText",
            "a script block (event 4104; requires Script Block Logging)",
        ),
        (
            "ps_module",
            "posh_pm_sighunt_error_suppression.yml",
            "Payload",
            "a module-logging record (event 4103; requires Module Logging)",
        ),
        (
            "ps_classic_script",
            "posh_pc_sighunt_error_suppression_pipeline.yml",
            "Data",
            "the classic log's pipeline execution details (event 800)",
        ),
    ] {
        let mut items = Vec::new();
        if category == "process_creation" {
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
        items.push(("selection_suppress".to_string(), ps_suppression(field)));
        let mut exprs = vec!["1 of indicator_*".to_string()];
        let mut arguments: Vec<String> = Vec::new();
        for (name, spellings) in &content {
            // What a script changes, named without the change: only beside a write.
            let (args, spellings): (Vec<Vec<String>>, Vec<Vec<String>>) = spellings
                .iter()
                .flat_map(|s| ps_sigma_spellings(s))
                .partition(|s| s.len() == 1 && ARGUMENT_SPELLINGS.contains(&s[0].as_str()));
            if !args.is_empty() {
                let n = format!("argument_{name}");
                items.push((
                    n,
                    list(
                        &format!("{field}|contains"),
                        &args
                            .into_iter()
                            .map(|mut s| s.remove(0))
                            .collect::<Vec<_>>(),
                    ),
                ));
                arguments.push(name.clone());
            }
            if spellings.is_empty() {
                continue;
            }
            let single: Vec<String> = spellings
                .iter()
                .filter(|s| s.len() == 1)
                .map(|s| s[0].clone())
                .collect();
            let several: Vec<&Vec<String>> = spellings.iter().filter(|s| s.len() > 1).collect();
            let body = if several.is_empty() {
                list(&format!("{field}|contains"), &single)
            } else {
                // Spellings in parts (`set-netfirewallprofile ` … `-enabled false`):
                // a list of maps, one `contains|all` per spelling.
                let mut v = Vec::new();
                if !single.is_empty() {
                    v.push(format!("- {field}|contains:"));
                    v.extend(single.iter().map(|x| format!("      - {}", q(x))));
                }
                for parts in several {
                    v.push(format!("- {field}|contains|all:"));
                    v.extend(parts.iter().map(|x| format!("      - {}", q(x))));
                }
                v
            };
            // A download from the hosts administration scripts use is sighunt's
            // download_known_host, context only: the item stands apart with a filter.
            if name == "download_cradle" && !ps.admin_hosts.is_empty() {
                items.push(("download_cradle".to_string(), body));
                items.push((
                    "filter_admin_host".to_string(),
                    list(&format!("{field}|contains"), &ps.admin_hosts),
                ));
                exprs.push("(download_cradle and not filter_admin_host)".to_string());
            } else {
                items.push((format!("indicator_{name}"), body));
            }
        }
        if !arguments.is_empty() {
            items.push((
                "writes_setting".to_string(),
                list(
                    &format!("{field}|contains"),
                    &SETTING_WRITERS
                        .iter()
                        .map(|w| w.to_string())
                        .collect::<Vec<_>>(),
                ),
            ));
            exprs.push("(1 of argument_* and writes_setting)".to_string());
        }
        let mut notes = Vec::new();
        let fields: &[(&str, &str)] = if category == "process_creation" {
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
        let sel = if category == "process_creation" {
            "selection_host and selection_suppress"
        } else {
            "selection_suppress"
        };
        let mut condition = format!("{sel} and ({})", exprs.join(" or "));
        if !filters.is_empty() {
            condition.push_str(&format!(" and not ({})", filters.join(" or ")));
        }
        let mut description = format!(
            "PowerShell told to ignore its errors (-ErrorAction SilentlyContinue/Ignore, -ea,\n$ErrorActionPreference) so that a payload keeps running past failures (T1564.011),\ntogether with something an attacker does, seen in {what}: a download or\nexecution cradle, persistence, defence evasion, AMSI tampering, a transfer tool,\nreflective loading.\n{}\nsighunt decodes -EncodedCommand (UTF-16LE base64, any abbreviation of the switch),\nresolves backticks, string concatenation and comments, and reads the parameter\nprefixes PowerShell accepts before matching; Sigma matches the text as logged, so an\nencoded or obfuscated command escapes this rule.",
            scoring_note(&ps.family, model)
        );
        if !partial.is_empty() {
            description.push_str(&format!(
                "\nOnly the patterns of {} that are literal spellings are exported (the\nother regular expressions are sighunt's).",
                partial.join(", ")
            ));
        }
        for n in notes {
            description.push_str(&format!("\nNote: {n}."));
        }
        let name = format!("sighunt_ps_error_suppression_windows_{category}");
        out.push(Rule {
            title: format!(
                "{} - {}",
                rule_title("sighunt_ps_error_suppression_windows"),
                match category {
                    "process_creation" => "Process Creation",
                    "ps_script" => "Script Block",
                    "ps_module" => "Module Logging",
                    _ => "Classic Pipeline",
                }
            ),
            name,
            file: file.into(),
            description,
            logsource: vec![("product", "windows"), ("category", category)],
            items,
            condition,
            falsepositives: fps_ps(),
            level: "medium",
        });
    }
    out
}

/// Every exported Sigma rule, as `(file name, YAML)`.
pub(crate) fn rules(model: &Model) -> Vec<(String, String)> {
    let mut out = vec![
        nohup_process_creation(model, "linux", "Linux"),
        nohup_process_creation(model, "macos", "macOS"),
        nohup_auditd(model),
    ];
    out.extend(powershell_rules(model));
    if !model.signal_interpreters.is_empty() {
        out.extend(signal_rules(model));
    }
    let mut files: Vec<(String, String)> = out
        .into_iter()
        .map(|r| (r.file.clone(), r.yaml()))
        .collect();
    files.extend(super::correlation::rules(model));
    files
}
