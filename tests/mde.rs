//! End-to-end tests of the Microsoft Defender for Endpoint source: the `sighunt`
//! binary on the seed's tests as MDE records them, in every shape the rows leave MDE
//! (`tests/fixtures/mde/`, written by its `generate.py` from Microsoft's published
//! schemas), compared with the verdicts the same scenarios get from auditd and
//! Sysmon (`examples/linux/`, `examples/windows/`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{brief, hunt_jsonl, indicators, manifest_dir, str_field};

fn fixture(name: &str) -> PathBuf {
    manifest_dir().join("tests/fixtures/mde").join(name)
}

/// Every shape: Streaming API (blob lines, Event Hub message), hunting results (API,
/// Graph, portal JSON and CSV), Sentinel / Log Analytics (data export, query API, CSV).
const SHAPES: [&str; 9] = [
    "streaming-blob.jsonl",
    "streaming-eventhub.json",
    "hunting-api.json",
    "graph-hunting.json",
    "portal-export.json",
    "portal-export.csv",
    "sentinel-export.jsonl",
    "sentinel-query-api.json",
    "sentinel-export.csv",
];

/// A finding's verdict: detection type, severity, indicators (sorted).
fn verdict(f: &Value) -> (String, String, Vec<String>) {
    let mut ind: Vec<String> = indicators(f).into_iter().map(str::to_string).collect();
    ind.sort();
    (
        str_field(f, "detection_type")
            .unwrap_or_default()
            .to_string(),
        str_field(f, "severity").unwrap_or_default().to_string(),
        ind,
    )
}

fn hunt_clean(path: &Path) -> Vec<Value> {
    let (run, findings) = hunt_jsonl(&[path]);
    assert!(run.success(), "{}", run.describe());
    assert!(
        run.stderr.contains(" 0 input errors"),
        "input errors reading {}:\n{}",
        path.display(),
        run.stderr
    );
    findings
}

type Pick = fn(&Value) -> bool;

fn target(f: &Value) -> &str {
    str_field(f, "nohup_target").unwrap_or_default()
}

/// The scenarios: how to find each in the MDE findings and in the reference
/// (auditd or Sysmon) findings of the same scenario.
const SCENARIOS: [(&str, Pick, &str, Pick); 5] = [
    (
        "seed test 1: nohup nc listening on 14444",
        |f| target(f) == "nc",
        "examples/linux/audit-raw.log",
        |f| target(f) == "nc" && str_field(f, "nohup_args").is_some_and(|a| a.contains("14444")),
    ),
    (
        "seed test 2: payload written to /tmp, chmod +x, nohup'd",
        |f| target(f) == "/tmp/df00tech_test_payload.sh",
        "examples/linux/audit-raw.log",
        |f| target(f).starts_with("/tmp/df00tech_test_payload"),
    ),
    (
        "seed test 3: python3 ignoring SIGHUP and SIGTERM",
        |f| str_field(f, "detection_type") == Some("signal_mask"),
        "examples/linux/audit-raw.log",
        |f| {
            str_field(f, "detection_type") == Some("signal_mask")
                && str_field(f, "exec_cmd") == Some("python3")
                && str_field(f, "command_line").is_some_and(|c| c.contains("import signal,time;"))
        },
    ),
    (
        "seed test 4: PowerShell download cradle with error suppression",
        |f| str_field(f, "detection_type") == Some("ps_error_suppression"),
        "examples/windows/seed-test4.xml",
        |f| str_field(f, "detection_type") == Some("ps_error_suppression"),
    ),
    (
        "administration: a scheduled nohup of a backup script (low at most)",
        |f| target(f).ends_with("/backup.sh"),
        "examples/linux/audit-raw.log",
        |f| target(f).ends_with("/backup.sh"),
    ),
];

fn only<'a>(findings: &'a [Value], pick: Pick, what: &str, file: &str) -> &'a Value {
    let hits: Vec<&Value> = findings.iter().filter(|f| pick(f)).collect();
    assert_eq!(
        hits.len(),
        1,
        "{what} in {file}: {:?}",
        findings.iter().map(brief).collect::<Vec<_>>()
    );
    hits[0]
}

#[test]
fn every_shape_gives_the_auditd_and_sysmon_verdicts() {
    let mut references = std::collections::HashMap::new();
    for (_, _, file, _) in SCENARIOS {
        references
            .entry(file)
            .or_insert_with(|| hunt_clean(&manifest_dir().join(file)));
    }
    for shape in SHAPES {
        let findings = hunt_clean(&fixture(shape));
        for (what, pick, file, reference_pick) in SCENARIOS {
            let mde = only(&findings, pick, what, shape);
            let reference = only(&references[file], reference_pick, what, file);
            // MDE records the payload's creation (DeviceFileEvents); an exec log such
            // as auditd's does not see a shell redirection write it. That one
            // indicator is the evidence MDE adds; the verdict is otherwise the same.
            let mut from_mde = verdict(mde);
            from_mde.2.retain(|i| i != "payload_written");
            assert_eq!(from_mde, verdict(reference), "{what}: {shape} vs {file}");
            assert_eq!(
                mde.pointer("/source/format").and_then(Value::as_str),
                Some("mde")
            );
        }
        // The benign look-alikes (grep nohup, printing a signal number, a compiler's
        // temp file, sshd listening, an agent's `-ErrorAction SilentlyContinue`)
        // raise nothing: the five scenarios are all there is.
        assert_eq!(
            findings.len(),
            SCENARIOS.len(),
            "{shape}: {:?}",
            findings.iter().map(brief).collect::<Vec<_>>()
        );
    }
}

#[test]
fn verdicts_spelled_out() {
    // The table the comparison above rests on, so a change on both sides shows.
    let findings = hunt_clean(&fixture("streaming-blob.jsonl"));
    let got: Vec<_> = SCENARIOS
        .iter()
        .map(|(what, pick, ..)| verdict(only(&findings, *pick, what, "blob")))
        .collect();
    let v = |d: &str, s: &str, i: &[&str]| {
        (
            d.to_string(),
            s.to_string(),
            i.iter().map(|x| x.to_string()).collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        got,
        [
            v(
                "nohup_interrupt_ignore",
                "high",
                &["net_listener", "suspicious_net_tool"]
            ),
            v(
                "nohup_interrupt_ignore",
                "medium",
                &[
                    "payload_made_executable",
                    "payload_written",
                    "temp_dir_payload"
                ]
            ),
            v(
                "signal_mask",
                "medium",
                &["ignores_sighup", "ignores_sigterm"]
            ),
            v(
                "ps_error_suppression",
                "high",
                &[
                    "download_cradle",
                    "error_preference_suppressed",
                    "execution_policy_bypass",
                    "network_activity"
                ]
            ),
            v("nohup_interrupt_ignore", "low", &["background_exec"]),
        ]
    );
}

/// Metamorphic variants of the Streaming API blob: rows removed change exactly the
/// indicator they carry.
#[test]
fn correlation_follows_the_rows() {
    let blob = fs::read_to_string(fixture("streaming-blob.jsonl")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let without = |name: &str, drop: &[&str]| -> Vec<Value> {
        let text: String = blob
            .split_inclusive('\n')
            .filter(|l| !drop.iter().any(|d| l.contains(d)))
            .collect();
        let path = dir.path().join(name);
        fs::write(&path, text).unwrap();
        hunt_clean(&path)
    };
    let payload = |f: &[Value]| {
        verdict(only(
            f,
            |f| target(f) == "/tmp/df00tech_test_payload.sh",
            "payload",
            "variant",
        ))
    };
    let chmod = "\"ProcessCommandLine\":\"chmod +x /tmp/df00tech_test_payload.sh\"";
    let written = "\"ActionType\":\"FileCreated\",\"FileName\":\"df00tech_test_payload.sh\"";
    // Without the chmod row, the DeviceFileEvents FileCreated alone prepares the
    // payload (written, not made executable).
    let f = without("no-chmod.jsonl", &[chmod]);
    let prepared = payload(&f).2;
    assert!(prepared.contains(&"payload_written".to_string()));
    assert!(!prepared.contains(&"payload_made_executable".to_string()));
    // Without the write either, nothing prepared it: the indicator and a severity go.
    let f = without("no-prep.jsonl", &[chmod, written]);
    assert_eq!(
        payload(&f),
        (
            "nohup_interrupt_ignore".into(),
            "medium".into(),
            vec!["temp_dir_payload".to_string()]
        )
    );
    // Without nc's listening socket, no net_listener.
    let f = without("no-listen.jsonl", &["\"LocalPort\":14444"]);
    let nc = verdict(only(&f, |f| target(f) == "nc", "nc", "variant"));
    assert_eq!(nc.2, ["suspicious_net_tool"]);
}

#[test]
fn malformed_records_are_reported_and_the_run_goes_on() {
    for (file, expected) in [
        (
            "malformed.jsonl",
            &[
                "malformed.jsonl: line 1: line break inside a JSON string",
                "malformed.jsonl: line 4: Streaming API record without `properties`; skipped",
                "malformed.jsonl: line 5: unreadable Timestamp \"yesterday-ish\"; row skipped",
                "malformed.jsonl: line 6: not a JSON object or array; line skipped",
                "malformed.jsonl: line 7: not a Defender for Endpoint row",
                "malformed.jsonl: line 8: row is not a JSON object or array; skipped",
            ][..],
        ),
        (
            "malformed.csv",
            &[
                "malformed.csv: line 4: CSV row has 3 fields where the header has",
                "malformed.csv: line 22: CSV record with an unclosed quote at end of input; skipped",
            ][..],
        ),
    ] {
        let (run, findings) = hunt_jsonl(&[&fixture(file)]);
        for e in expected {
            assert!(run.stderr.contains(e), "{file}: {e}\n{}", run.stderr);
        }
        // The rows after each bad one are read: the PowerShell finding comes last.
        assert!(
            findings
                .iter()
                .any(|f| str_field(f, "detection_type") == Some("ps_error_suppression")),
            "{}",
            run.describe()
        );
        assert!(findings.len() >= 4, "{}", run.describe());
    }
}

/// Nothing else sighunt reads is taken for MDE, and every MDE shape is.
#[test]
fn sniffing_takes_mde_and_nothing_else() {
    use sighunt_core::input::sniff::{InputFormat, sniff};
    let head = |p: &Path| {
        let bytes = fs::read(p).unwrap();
        bytes[..bytes.len().min(64 * 1024)].to_vec()
    };
    for shape in SHAPES.iter().chain(&["malformed.jsonl", "malformed.csv"]) {
        assert_eq!(
            sniff(&head(&fixture(shape))),
            Some(InputFormat::Mde),
            "{shape}"
        );
    }
    let mut checked = 0;
    for dir in ["examples", "../shared/corpus"] {
        let root = manifest_dir().join(dir);
        if !root.is_dir() {
            continue;
        }
        for entry in walkdir(&root) {
            let is_mde = entry.components().any(|c| c.as_os_str() == "mde");
            let got = sniff(&head(&entry));
            assert_eq!(got == Some(InputFormat::Mde), is_mde, "{}", entry.display());
            checked += 1;
        }
    }
    assert!(checked > 10);
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}
