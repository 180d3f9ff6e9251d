//! The same event gives the same finding whatever shape it is read in: EVTX (where
//! a corpus file has it), wevtutil XML, Winlogbeat raw and ECS-processed JSON, and
//! OTRF/NXLog flat JSON — checked as a table, one row per event, one column per
//! shape. Also: sighunt's own cases (`winevents::cases`) are committed in XML and
//! Winlogbeat JSON under `examples/windows/` and give the verdicts of their table.
//!
//! Corpus files are read in place; when `../shared` is absent the corpus row is
//! skipped with a message, unless CI=true.

mod winevents;

use std::collections::BTreeMap;
use std::path::PathBuf;

use sighunt_core::finding::Finding;
use sighunt_core::sources::windows::{WinEvent, is_relevant_event_id, parse_event_xml};
use winevents::{CASES, DELIVERIES, Origin, SHAPES, Shape, deliver, hunt_text, render, summary};

/// Findings by host, each as its comparable summary (provenance left out: it names
/// the file and position, which differ by shape by design).
fn table(findings: &[Finding]) -> BTreeMap<String, Vec<String>> {
    let mut t: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for f in findings {
        t.entry(f.host.to_lowercase())
            .or_default()
            .push(summary(f).to_lowercase());
    }
    for v in t.values_mut() {
        v.sort();
    }
    t
}

/// Reads `events` in every shape and asserts one table for all; returns it.
fn same_in_every_shape(events: &[WinEvent], what: &str) -> BTreeMap<String, Vec<String>> {
    let mut by_shape: Vec<(Shape, BTreeMap<String, Vec<String>>)> = Vec::new();
    for &shape in SHAPES {
        let findings = hunt_text(&render(events, shape), shape.extension());
        by_shape.push((shape, table(&findings)));
    }
    let (first_shape, first) = &by_shape[0];
    for (shape, t) in &by_shape[1..] {
        let hosts: std::collections::BTreeSet<&String> = first.keys().chain(t.keys()).collect();
        for host in hosts {
            assert_eq!(
                first.get(host),
                t.get(host),
                "{what}: {host} differs between {first_shape:?} and {shape:?}"
            );
        }
    }
    first.clone()
}

#[test]
fn every_case_and_delivery_gives_one_finding_in_every_shape() {
    let mut events = Vec::new();
    let mut expected: BTreeMap<String, bool> = BTreeMap::new();
    let mut seq = 0;
    for case in CASES {
        for &d in DELIVERIES {
            if !case.malicious && d == winevents::Delivery::DoubleEncoded {
                continue;
            }
            seq += 1;
            let host = format!("{}-{d:?}", case.id);
            expected.insert(host.to_lowercase(), case.malicious);
            events.extend(deliver(&Origin { host, seq }, case.script, d));
        }
    }
    let t = same_in_every_shape(&events, "cases");
    for (host, malicious) in &expected {
        assert_eq!(
            t.contains_key(host),
            *malicious,
            "{host}: {:?}",
            t.get(host)
        );
    }
    eprintln!(
        "shapes: {} events, {} hosts found in all of {} shapes alike",
        events.len(),
        t.len(),
        SHAPES.len()
    );
}

fn corpus(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/windows/"
    ))
    .join(file);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !std::env::var("CI").is_ok_and(|v| v == "true"),
        "corpus file {} is missing and CI=true",
        path.display()
    );
    eprintln!(
        "SKIP: {} is absent (../shared not available)",
        path.display()
    );
    None
}

/// The relevant records of an EVTX file as the `evtx` crate renders them to XML,
/// parsed back into events.
fn evtx_events(path: &PathBuf) -> Vec<WinEvent> {
    let mut parser = evtx::EvtxParser::from_path(path).expect("open evtx");
    let mut out = Vec::new();
    for record in parser.records() {
        let Ok(record) = record else { continue };
        let Ok(ev) = parse_event_xml(record.data.as_bytes()) else {
            continue;
        };
        if ev.event_id.is_some_and(is_relevant_event_id) {
            out.push(ev);
        }
    }
    out
}

/// `ev` with `$ErrorActionPreference = 'SilentlyContinue'` before its script text
/// (4104's first part, 800's pipeline) or an ErrorAction binding (4103).
fn silence(mut ev: WinEvent) -> WinEvent {
    const SUP: &str = "$ErrorActionPreference = 'SilentlyContinue'\n";
    match ev.event_id {
        Some(4104) if ev.get("MessageNumber").is_none_or(|n| n.trim() == "1") => {
            for (k, v) in ev.data.iter_mut() {
                if &**k == "ScriptBlockText" {
                    v.insert_str(0, SUP);
                }
            }
        }
        Some(800) => {
            if let Some(text) = ev.unnamed.first_mut() {
                text.insert_str(0, SUP);
            }
        }
        Some(4103) => {
            for (k, v) in ev.data.iter_mut() {
                if &**k == "Payload" {
                    if let Some(end) = v.find('\n') {
                        let command = v[..end]
                            .strip_prefix("CommandInvocation(")
                            .and_then(|r| r.split_once(')'))
                            .map(|(c, _)| c.to_string())
                            .unwrap_or_default();
                        v.insert_str(
                            end + 1,
                            &format!("ParameterBinding({command}): name=\"ErrorAction\"; value=\"SilentlyContinue\"\n"),
                        );
                    }
                }
            }
        }
        _ => {}
    }
    ev
}

#[test]
fn corpus_evtx_events_give_the_same_findings_in_every_shape() {
    let files = [
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID4103-4104-Payload_download_via_PowerShell.evtx",
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID4688-Encoded_PowerShell_MSF_payload_via_process_execution.evtx",
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
        "sbousseaden_EVTX-ATTACK-SAMPLES_Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
        "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx",
    ];
    let mut rows = 0;
    for file in files {
        let Some(path) = corpus(file) else { continue };
        // The file as recorded (no suppression in these: the verdicts are "none"
        // in every shape, and must be the same).
        let direct = table(&winevents::hunt_paths(std::slice::from_ref(&path)));
        let events = evtx_events(&path);
        let shaped = same_in_every_shape(&events, file);
        assert_eq!(
            direct, shaped,
            "{file}: EVTX differs from its XML/JSON renderings"
        );
        // The same real events with error suppression added to their script text:
        // findings now, and the same in every shape.
        let silenced: Vec<WinEvent> = events.iter().cloned().map(silence).collect();
        let t = same_in_every_shape(&silenced, file);
        let n = t.values().map(Vec::len).sum::<usize>();
        rows += n;
        eprintln!(
            "{file}: {} events; as recorded {} findings in EVTX and {} shapes alike; silenced {n} findings alike",
            events.len(),
            direct.values().map(Vec::len).sum::<usize>(),
            SHAPES.len()
        );
    }
    if corpus(files[0]).is_some() {
        assert!(rows > 0, "no corpus finding to compare");
    }
}

// --- the committed case files ---------------------------------------------------------

/// The delivery each case is committed with (they take turns).
fn committed_events() -> Vec<WinEvent> {
    let mut events = Vec::new();
    for (k, case) in CASES.iter().enumerate() {
        let mut d = DELIVERIES[k % DELIVERIES.len()];
        if !case.malicious && d == winevents::Delivery::DoubleEncoded {
            d = winevents::Delivery::SysmonEncoded;
        }
        let origin = Origin {
            host: format!("CASE-{}", case.id),
            seq: 7000 + k as u32,
        };
        events.extend(deliver(&origin, case.script, d));
    }
    events
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/windows/")).join(name)
}

#[test]
fn committed_case_files_are_current_and_give_their_verdicts() {
    let events = committed_events();
    let files = [
        ("ps-cases.xml", render(&events, Shape::Xml)),
        (
            "ps-cases.winlogbeat.ndjson",
            render(&events, Shape::WinlogbeatRaw),
        ),
    ];
    for (name, text) in &files {
        let path = example(name);
        if std::env::var("SIGHUNT_WRITE_CASES").is_ok() {
            std::fs::write(&path, text).expect("write case file");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == *text,
            "{name} is not current: run SIGHUNT_WRITE_CASES=1 cargo test --test windows_shapes"
        );
        let found = table(&winevents::hunt_paths(&[path]));
        let mut rows = Vec::new();
        for case in CASES {
            let host = format!("case-{}", case.id.to_lowercase());
            let got = found.get(&host);
            assert_eq!(got.is_some(), case.malicious, "{name} {}: {got:?}", case.id);
            if let Some(got) = got {
                for i in case.indicators {
                    assert!(
                        got.iter().any(|s| s.contains(i)),
                        "{name} {}: {i} missing in {got:?}",
                        case.id
                    );
                }
            }
            rows.push(format!(
                "| {} | {} | {} | {} |",
                case.id,
                case.what,
                if case.malicious { "finding" } else { "none" },
                got.map(|g| g.join("; ")).unwrap_or_default()
            ));
        }
        eprintln!("{name}:\n{}", rows.join("\n"));
    }
}
