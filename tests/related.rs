//! Evidence you can follow: every correlated indicator of a finding names the event
//! behind it in the `related` array (and in `--explain`), and the file:line it gives
//! is that event in the log. Checked on the bundled audit log of the end-to-end
//! scenarios (recorded from a real kernel): the line a `related` entry points to is
//! a record of the audit event whose EXECVE or SYSCALL is the evidence it describes.

mod common;

use std::collections::HashMap;
use std::fs;

use common::{manifest_dir, parse_jsonl, run_sighunt};
use serde_json::Value;

/// The indicators that come from other events than the finding's own.
const CORRELATED: [&str; 8] = [
    "payload_made_executable",
    "payload_written",
    "payload_downloaded",
    "loopback_dev_listener",
    "net_listener",
    "init_script_parent",
    "web_service_parent",
    "relaunched",
];

const LOG: &str = "examples/linux/audit-raw.log";

fn hunt(args: &[&str]) -> String {
    let path = manifest_dir().join(LOG);
    let mut all = vec!["hunt"];
    all.extend_from_slice(args);
    all.push(path.to_str().unwrap());
    let run = run_sighunt(all);
    assert!(run.success(), "{}", run.describe());
    run.stdout
}

/// The audit serial of a record line (`msg=audit(TIME:SERIAL)`).
fn serial(line: &str) -> Option<&str> {
    let start = line.find("msg=audit(")? + "msg=audit(".len();
    let rest = &line[start..];
    let colon = rest.find(':')?;
    let end = rest.find(')')?;
    Some(&rest[colon + 1..end])
}

#[test]
fn every_correlated_indicator_names_its_evidence() {
    let findings = parse_jsonl(&hunt(&["-f", "jsonl"])).unwrap();
    let log = fs::read_to_string(manifest_dir().join(LOG)).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    // All records of each audit event, by serial.
    let mut events: HashMap<&str, Vec<&str>> = HashMap::new();
    for line in &lines {
        if let Some(s) = serial(line) {
            events.entry(s).or_default().push(line);
        }
    }
    let mut checked = HashMap::new();
    for f in &findings {
        let related = f["related"].as_array().expect("a related array, always");
        let fired: Vec<&str> = f["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|i| CORRELATED.contains(i))
            .collect();
        // Pipeline feeders (download_tool, encoded_payload) name their evidence too,
        // though the same indicators also fire from a command line alone.
        let named: Vec<&str> = related
            .iter()
            .map(|r| r["indicator"].as_str().unwrap())
            .filter(|i| CORRELATED.contains(i))
            .collect();
        assert_eq!(named, fired, "one evidence per correlated indicator: {f}");
        for r in related {
            let indicator = r["indicator"].as_str().unwrap();
            assert_eq!(
                r["source"]["path"].as_str().unwrap(),
                manifest_dir().join(LOG).to_str().unwrap()
            );
            let line_no = r["source"]["line"].as_u64().expect("a line") as usize;
            let line = lines[line_no - 1];
            let records = &events[serial(line).expect("an audit record")];
            let event = records.join("\n");
            let what = r["what"].as_str().unwrap();
            match indicator {
                "payload_made_executable" => {
                    assert!(what.starts_with("chmod "), "{r}");
                    // chmod's own exec, or the shell whose `-c` string ran it.
                    assert!(
                        event.contains("a0=\"chmod\"") || event.contains("a1=\"-c\""),
                        "{r}\n{event}"
                    );
                }
                // bind(2) is syscall 49, listen(2) 50 on x86_64.
                "net_listener" | "loopback_dev_listener" => assert!(
                    event.contains("syscall=49") || event.contains("syscall=50"),
                    "{r}\n{event}"
                ),
                "init_script_parent" => {
                    assert!(what.contains("/etc/init.d/"), "{r}");
                    assert!(event.contains("/etc/init.d/"), "{r}\n{event}");
                }
                "relaunched" => assert!(event.contains("a0=\"nohup\""), "{r}\n{event}"),
                // The command that wrote or fetched the file (its pid is checked below).
                // A downloader or decoder of the same pipeline: its own exec.
                "download_tool" | "encoded_payload" => {
                    assert!(event.contains("syscall=59"), "{r}\n{event}")
                }
                "web_service_parent" | "payload_written" | "payload_downloaded" => {}
                other => panic!("unexpected {other}"),
            }
            // The evidence's pid is the event's.
            let pid = r["pid"].as_u64().unwrap();
            assert!(
                event.contains(&format!(" pid={pid} ")),
                "pid {pid} in the event:\n{event}"
            );
            *checked.entry(indicator.to_string()).or_insert(0) += 1;
        }
    }
    for indicator in [
        "payload_made_executable",
        "net_listener",
        "init_script_parent",
        "relaunched",
        "web_service_parent",
    ] {
        assert!(
            checked.contains_key(indicator),
            "the example exercises {indicator}: {checked:?}"
        );
    }
    // A finding with no correlated indicator has an empty array.
    assert!(
        findings
            .iter()
            .any(|f| f["related"].as_array().is_some_and(Vec::is_empty))
    );
}

#[test]
fn explain_shows_the_evidence_under_each_finding() {
    let table = hunt(&["--explain", "--color", "never"]);
    let evidence: Vec<&str> = table
        .lines()
        .filter(|l| l.trim_start().starts_with("evidence "))
        .collect();
    assert!(
        evidence
            .iter()
            .any(|l| l.contains("payload_made_executable: chmod +x /tmp/")
                && l.contains("audit-raw.log:")),
        "{table}"
    );
    assert!(
        evidence
            .iter()
            .any(|l| l.contains("net_listener: bind 127.0.0.1:14444")),
        "{table}"
    );
    // CSV's explain column names it too.
    let csv = hunt(&["--explain", "-f", "csv"]);
    assert!(csv.contains("evidence net_listener: bind"), "{csv}");
}
