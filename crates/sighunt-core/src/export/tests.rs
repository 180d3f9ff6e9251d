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
    assert!(
        names.contains(&"sighunt_nohup_linux_process_creation.yml"),
        "{names:?}"
    );
    assert!(
        names.contains(&"sighunt_nohup_linux_auditd.yml"),
        "{names:?}"
    );
    for (name, text) in &files {
        assert!(text.contains("- attack.t1564.011\n"), "{name}");
        assert!(text.contains("- attack.defense-evasion\n"), "{name}");
        assert!(text.contains("falsepositives:\n"), "{name}");
        assert!(text.contains("\nlevel: "), "{name}");
        assert!(text.contains(ATTACK_URL), "{name}");
    }
    let auditd = &files
        .iter()
        .find(|(n, _)| n.ends_with("auditd.yml"))
        .unwrap()
        .1;
    assert!(auditd.contains("service: auditd"));
    assert!(auditd.contains("    - '/dev/shm/'"), "{auditd}");
    assert!(auditd.contains("Sigma cannot express"), "{auditd}");
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
