//! The finding in every output: the stable `id` and the `rule_id` in JSON Lines and
//! CSV, and the documents for other tools (`--format ecs|ocsf|timesketch`) carrying
//! the same finding, on the sample logs. With `SIGHUNT_EXPORTS_VENV` and
//! `SIGHUNT_ECS_FLAT` set (scripts/ci-exports.sh sets them after installing the
//! pinned schemas), the documents are also validated against the published ECS
//! 8.11 and OCSF 1.5.0 schemas by tests/exports/schemas.py.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{SIGHUNT_TIMEOUT, manifest_dir, parse_jsonl, run_sighunt, run_with_timeout};
use serde_json::Value;

fn sample(rel: &str) -> PathBuf {
    manifest_dir().join(rel)
}

fn hunt(format: &str, path: &Path) -> String {
    let out = run_sighunt([
        "hunt".as_ref(),
        "--no-config".as_ref(),
        "-f".as_ref(),
        format.as_ref(),
        path.as_os_str(),
    ]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1) && !out.timed_out,
        "{}",
        out.describe()
    );
    out.stdout
}

fn docs(format: &str, path: &Path) -> Vec<Value> {
    parse_jsonl(&hunt(format, path)).unwrap()
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing in {v}"))
}

const AUDIT: &str = "examples/linux/audit-raw.log";

#[test]
fn ids_are_stable_unique_and_name_the_rule() {
    let path = sample(AUDIT);
    let first = docs("jsonl", &path);
    let again = docs("jsonl", &path);
    assert!(first.len() >= 10, "{first:?}");
    let ids: Vec<&str> = first.iter().map(|f| s(f, "/id")).collect();
    let ids_again: Vec<&str> = again.iter().map(|f| s(f, "/id")).collect();
    assert_eq!(ids, ids_again, "a rerun gives the same ids");
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "one id per finding"
    );
    for f in &first {
        let id = s(f, "/id");
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        let rule = s(f, "/rule_id");
        let expected = match s(f, "/detection_type") {
            "nohup_interrupt_ignore" => "sighunt_nohup_linux_auditd",
            "signal_mask" => "sighunt_signal_mask_linux_auditd",
            other => panic!("unexpected {other} in {AUDIT}"),
        };
        assert_eq!(rule, expected, "{f}");
    }
    // The same log read as syslog text names the process-creation rules.
    let syslog = docs("jsonl", &sample("examples/syslog/syslog-3164.log"));
    assert!(!syslog.is_empty());
    for f in &syslog {
        assert_eq!(s(f, "/rule_id"), "sighunt_nohup_linux_process_creation");
    }
}

#[test]
fn csv_carries_id_and_rule_id() {
    let path = sample(AUDIT);
    let jsonl = docs("jsonl", &path);
    let csv = hunt("csv", &path);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let id_col = header.iter().position(|c| *c == "id").expect("id column");
    let rule_col = header
        .iter()
        .position(|c| *c == "rule_id")
        .expect("rule_id");
    let mut reader = csv_reader(&csv);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    assert_eq!(rows.len(), jsonl.len());
    for (row, f) in rows.iter().zip(&jsonl) {
        assert_eq!(row[id_col], s(f, "/id"));
        assert_eq!(row[rule_col], s(f, "/rule_id"));
    }
}

fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::Reader::from_reader(text.as_bytes())
}

#[test]
fn ecs_documents_are_alerts_about_the_same_findings() {
    let path = sample(AUDIT);
    let jsonl = docs("jsonl", &path);
    let ecs = docs("ecs", &path);
    assert_eq!(ecs.len(), jsonl.len());
    for (doc, f) in ecs.iter().zip(&jsonl) {
        assert_eq!(s(doc, "/event/kind"), "alert");
        assert_eq!(doc["event"]["category"], serde_json::json!(["process"]));
        assert_eq!(s(doc, "/event/id"), s(f, "/id"));
        assert_eq!(s(doc, "/rule/id"), s(f, "/rule_id"));
        assert_eq!(s(doc, "/@timestamp"), s(f, "/time"));
        assert_eq!(s(doc, "/threat/framework"), "MITRE ATT&CK");
        assert_eq!(doc["threat"]["tactic"]["name"][0], "Stealth");
        assert_eq!(
            doc["threat"]["technique"]["subtechnique"]["id"][0],
            "T1564.011"
        );
        assert_eq!(s(doc, "/process/command_line"), s(f, "/command_line"));
        assert_eq!(s(doc, "/log/file/path"), s(f, "/source/path"));
        assert_eq!(s(doc, "/host/os/type"), "linux");
        assert_eq!(
            doc["event"]["risk_score"].as_f64(),
            f["suspicion_score"].as_f64()
        );
        assert_eq!(doc["tags"], f["indicators"]);
        // Severity keeps its order: critical > high > medium > low.
        let rank = ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s(f, "/severity"))
            .unwrap();
        assert_eq!(doc["event"]["severity"].as_u64(), Some(rank as u64));
    }
}

#[test]
fn ocsf_documents_are_detection_findings() {
    let path = sample("examples/windows/seed-test4.xml");
    let jsonl = docs("jsonl", &path);
    let ocsf = docs("ocsf", &path);
    assert_eq!(ocsf.len(), 1, "{ocsf:?}");
    let (doc, f) = (&ocsf[0], &jsonl[0]);
    assert_eq!(doc["class_uid"], 2004);
    assert_eq!(doc["category_uid"], 2);
    assert_eq!(doc["type_uid"], 200401);
    assert_eq!(s(doc, "/finding_info/uid"), s(f, "/id"));
    assert_eq!(s(doc, "/finding_info/analytic/name"), s(f, "/rule_id"));
    assert_eq!(s(doc, "/metadata/product/name"), "sighunt");
    assert_eq!(s(doc, "/metadata/version"), "1.5.0");
    let attack = &doc["finding_info"]["attacks"][0];
    assert_eq!(s(attack, "/tactic/uid"), "TA0005");
    assert_eq!(s(attack, "/sub_technique/uid"), "T1564.011");
    // high → 4, as OCSF numbers severities.
    assert_eq!(s(f, "/severity"), "high");
    assert_eq!(doc["severity_id"], 4);
    assert_eq!(
        doc["time"].as_i64().map(|ms| ms.div_euclid(1000)),
        common::rfc3339_to_unix(s(f, "/time"))
    );
    assert_eq!(s(doc, "/device/os/name"), "Windows");
}

#[test]
fn timesketch_events_have_what_timesketch_requires() {
    let path = sample("examples/syslog/syslog-iso.log");
    let jsonl = docs("jsonl", &path);
    let ts = docs("timesketch", &path);
    assert_eq!(ts.len(), jsonl.len());
    for (doc, f) in ts.iter().zip(&jsonl) {
        assert!(!s(doc, "/message").is_empty());
        assert_eq!(s(doc, "/timestamp_desc"), "Event Recorded");
        assert!(
            common::rfc3339_to_unix(s(doc, "/datetime")) == common::rfc3339_to_unix(s(f, "/time"))
        );
        assert_eq!(s(doc, "/id"), s(f, "/id"));
        assert!(s(doc, "/message").contains(s(f, "/nohup_target")));
    }
}

#[test]
fn benign_logs_make_no_documents_and_leads_stay_low() {
    let dir = tempfile::tempdir().unwrap();
    let benign = dir.path().join("benign.log");
    std::fs::write(
        &benign,
        "Nov 28 05:10:01 build01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/apt-get update\n\
         Nov 28 05:10:02 build01 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx\n",
    )
    .unwrap();
    let leads = sample("tests/exports/fixtures/nohup-precision.syslog");
    let jsonl = docs("jsonl", &leads);
    for format in ["ecs", "ocsf", "timesketch"] {
        assert!(docs(format, &benign).is_empty(), "{format}");
        // One document per finding, the admin jobs at low severity.
        let d = docs(format, &leads);
        assert_eq!(d.len(), jsonl.len(), "{format}");
    }
    let ecs = docs("ecs", &leads);
    for (doc, f) in ecs.iter().zip(&jsonl) {
        if s(f, "/command_line").ends_with("nohup bash backup.sh") {
            assert_eq!(s(f, "/severity"), "low");
            assert_eq!(doc["event"]["risk_score_norm"].as_f64(), Some(21.0));
        }
    }
}

#[test]
fn control_characters_never_reach_the_documents() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.log");
    std::fs::write(
        &path,
        "Nov 28 05:10:04 web01 sudo:    bob : TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/nohup /tmp/\u{1b}[2Jx \u{7}\n",
    )
    .unwrap();
    // (CSV's escaping is the CSV writer's own test.)
    for format in ["jsonl", "ecs", "ocsf", "timesketch"] {
        let out = hunt(format, &path);
        assert!(!out.is_empty(), "{format}: the finding is reported");
        assert!(
            !out.bytes().any(|b| b < 0x20 && b != b'\n'),
            "{format}: {out:?}"
        );
    }
}

#[test]
fn documents_validate_against_the_published_schemas() {
    let (Ok(venv), Ok(ecs_flat)) = (
        std::env::var("SIGHUNT_EXPORTS_VENV"),
        std::env::var("SIGHUNT_ECS_FLAT"),
    ) else {
        common::skip(
            "documents_validate_against_the_published_schemas",
            "the pinned schemas are installed by scripts/ci-exports.sh install",
            "SIGHUNT_REQUIRE_SCHEMAS",
        );
        return;
    };
    let mut cmd = Command::new(PathBuf::from(venv).join("bin/python"));
    cmd.arg(manifest_dir().join("tests/exports/schemas.py"))
        .arg(common::sighunt_bin())
        .arg(ecs_flat)
        .arg(sample("examples"))
        .arg(sample("tests/exports/fixtures"));
    let out = run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT);
    assert!(out.success(), "{}", out.describe());
    assert!(out.stdout.contains("schemas: 0 failures"), "{}", out.stdout);
}
