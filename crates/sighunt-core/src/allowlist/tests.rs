use super::*;
use crate::event::{Position, Provenance};
use crate::finding::{DetectionType, Severity};

fn finding(host: &str, target: &str, time: &str) -> Finding {
    Finding {
        time: Some(
            DateTime::parse_from_rfc3339(time)
                .unwrap()
                .with_timezone(&Utc),
        ),
        host: host.into(),
        platform: Platform::Unix,
        detection_type: DetectionType::Nohup,
        exec_cmd: "nohup".into(),
        nohup_target: target.into(),
        nohup_args: String::new(),
        command_line: format!("nohup {target}"),
        suspicion_score: 0,
        severity: Severity::Low,
        indicators: Vec::new(),
        pid: None,
        ppid: None,
        user: Some("postgres".into()),
        source: Provenance {
            path: Arc::from("t"),
            position: Position::None,
            format: "auditd",
        },
        related: Vec::new(),
    }
}

fn list(text: &str, now: &str) -> Result<AllowList, RulesError> {
    let mut rules = Rules::embedded();
    rules.add_text("site.toml", text)?;
    AllowList::from_rules(
        &rules,
        DateTime::parse_from_rfc3339(now)
            .unwrap()
            .with_timezone(&Utc),
    )
}

const BACKUP: &str = r#"
[[allowlist]]
name = "db-backup"
reason = "CHG-1: nightly backup"
expires = 2026-12-31
host = "DB-*"
user = "postgres"
target = "/opt/backup/*.sh"
window = "23:30-02:00"
unless_indicators = ["reverse_shell"]
"#;

#[test]
fn all_conditions_must_match() {
    let a = list(BACKUP, "2026-06-01T00:00:00Z").unwrap();
    let ctx = FindingContext::default();
    let hit = finding("db-7", "/opt/backup/run.sh", "2026-06-01T00:30:00Z");
    assert_eq!(
        a.decide(&hit, &ctx).map(|e| e.name.as_str()),
        Some("db-backup")
    );
    assert_eq!(a.entries()[0].defined_in, "site.toml");
    // Outside the window (wraps midnight), another host, a deeper path, a reverse shell.
    assert!(
        a.decide(
            &finding("db-7", "/opt/backup/run.sh", "2026-06-01T12:00:00Z"),
            &ctx
        )
        .is_none()
    );
    assert!(
        a.decide(
            &finding("web-1", "/opt/backup/run.sh", "2026-06-01T00:30:00Z"),
            &ctx
        )
        .is_none()
    );
    assert!(
        a.decide(
            &finding("db-7", "/opt/backup/x/run.sh", "2026-06-01T00:30:00Z"),
            &ctx
        )
        .is_none()
    );
    let mut shell = hit.clone();
    shell.indicators.push("reverse_shell".into());
    assert!(a.decide(&shell, &ctx).is_none());
}

#[test]
fn expired_entries_are_ignored_with_a_warning() {
    let a = list(BACKUP, "2027-01-01T00:00:00Z").unwrap();
    assert!(a.is_empty());
    assert_eq!(a.warnings.len(), 1);
    assert!(a.warnings[0].contains("db-backup"), "{:?}", a.warnings);
    // The expiry day itself is still valid.
    assert!(!list(BACKUP, "2026-12-31T23:59:00Z").unwrap().is_empty());
}

#[test]
fn reason_and_a_condition_are_required() {
    let e = list(
        "[[allowlist]]\nname = \"x\"\nreason = \" \"\nhost = \"a\"\n",
        "2026-01-01T00:00:00Z",
    )
    .unwrap_err();
    assert!(e.to_string().contains("reason is required"), "{e}");
    let e = list(
        "[[allowlist]]\nname = \"x\"\nhost = \"a\"\n",
        "2026-01-01T00:00:00Z",
    )
    .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("site.toml:2:1: missing field `reason`"),
        "{e}"
    );
    let e = list(
        "[[allowlist]]\nname = \"x\"\nreason = \"r\"\n",
        "2026-01-01T00:00:00Z",
    )
    .unwrap_err();
    assert!(e.to_string().contains("no condition"), "{e}");
}

#[test]
fn parent_image_by_name_or_path_and_command_line_regex() {
    let a = list(
        "[[allowlist]]\nname = \"cron\"\nreason = \"r\"\nparent_image = \"cron\"\n\n[[allowlist]]\nname = \"re\"\nreason = \"r\"\ncommand_line = '^nohup /srv/app/bin/worker( |$)'\n",
        "2026-01-01T00:00:00Z",
    )
    .unwrap();
    let f = finding("h", "/tmp/x", "2026-06-01T00:30:00Z");
    let cron = FindingContext {
        parent_image: Some("/usr/sbin/cron".into()),
    };
    assert_eq!(a.decide(&f, &cron).map(|e| e.name.as_str()), Some("cron"));
    assert!(
        a.decide(
            &f,
            &FindingContext {
                parent_image: Some("/usr/sbin/crond".into())
            }
        )
        .is_none()
    );
    let w = finding("h", "/srv/app/bin/worker", "2026-06-01T00:30:00Z");
    assert_eq!(
        a.decide(&w, &FindingContext::default())
            .map(|e| e.name.as_str()),
        Some("re")
    );
    let w2 = finding("h", "/srv/app/bin/worker2", "2026-06-01T00:30:00Z");
    assert!(a.decide(&w2, &FindingContext::default()).is_none());
}
