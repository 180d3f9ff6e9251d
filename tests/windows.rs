//! End-to-end tests of the Windows sources and the PowerShell detector: the `sighunt`
//! binary on real third-party samples (`../shared/corpus/windows/`, see its MANIFEST)
//! and on the constructed sample of the seed's test 4 (`examples/windows/`).
//!
//! Corpus files are read in place, never copied. When `../shared` is absent each
//! corpus test says so and returns; under `CI=true` that absence is a failure.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::{brief, hunt_jsonl, indicators, str_field};

const DETECTION: &str = "ps_error_suppression";
const POWERSHELL: &str = r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe";

fn corpus(file: &str) -> Option<PathBuf> {
    let path = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/corpus/windows/"
    ))
    .join(file);
    if path.exists() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("corpus file {} is missing and CI=true", path.display());
    }
    eprintln!(
        "SKIP: {} is absent (../shared not available)",
        path.display()
    );
    None
}

fn example(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/windows/")).join(file)
}

/// Runs a hunt; the run must succeed without input errors.
fn hunt(path: &Path) -> (Vec<Value>, String) {
    let (run, findings) = hunt_jsonl(&[path]);
    assert!(run.success(), "{}", run.describe());
    assert!(
        run.stderr.contains(" 0 input errors"),
        "input errors reading {}:\n{}",
        path.display(),
        run.stderr
    );
    (findings, run.stderr)
}

/// The event count from the summary line (`…, N events, …`).
fn events_read(stderr: &str) -> u64 {
    let summary = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("sighunt:"))
        .unwrap_or("");
    summary
        .split(", ")
        .find_map(|part| {
            part.strip_suffix(" events")
                .or_else(|| part.strip_suffix(" event"))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no event count in {summary:?}"))
}

fn has_all(f: &Value, names: &[&str]) {
    let got = indicators(f);
    for n in names {
        assert!(got.contains(n), "{n} missing: {}", brief(f));
    }
}

fn common_fields(f: &Value) {
    assert_eq!(
        str_field(f, "detection_type"),
        Some(DETECTION),
        "{}",
        brief(f)
    );
    assert_eq!(str_field(f, "platform"), Some("Windows"));
    assert_eq!(str_field(f, "technique"), Some("T1564.011"));
    assert_eq!(str_field(f, "nohup_target"), Some(""));
    assert_eq!(f["nohup_args"], f["command_line"]);
}

#[test]
fn empire_launcher_vbs_stager_is_found_once_with_its_connection() {
    let Some(path) = corpus("OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json")
    else {
        return;
    };
    let (findings, stderr) = hunt(&path);
    assert!(events_read(&stderr) > 200, "{stderr}");
    // The stager's $ErrorActionPreference + WebClient appear only in 800 events (19 of
    // them, one per pipeline command): one finding. The launcher (Sysmon 1, 4688,
    // 4104) does not suppress errors and is not a finding of its own.
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    common_fields(f);
    assert_eq!(str_field(f, "exec_cmd"), Some(POWERSHELL));
    assert_eq!(str_field(f, "host"), Some("WORKSTATION5.theshire.local"));
    assert_eq!(f["pid"], 2316);
    assert_eq!(f["ppid"], 2440);
    assert_eq!(str_field(f, "user"), Some(r"THESHIRE\pgustavo"));
    assert_eq!(str_field(f, "severity"), Some("critical"));
    has_all(
        f,
        &[
            "error_preference_suppressed",
            "download_cradle",
            "exec_cradle",
            "hidden_window",
            "encoded_command",
            "suspicious_parent", // wscript.exe ran launcher.vbs
            "network_activity",  // Sysmon 3 to 10.10.10.5:80 from the same ProcessGuid
        ],
    );
    let cmd = str_field(f, "command_line").unwrap();
    assert!(cmd.contains(r#"$ErrorActionPreference = "SilentlyContinue""#));
    assert!(cmd.contains("NeW-ObJeCt SySTEM.NET.WeBCLiENt"));
    assert_eq!(f["source"]["format"], "json");
    assert_eq!(f["source"]["line"], 1370);
    assert_eq!(str_field(f, "time"), Some("2020-09-04T20:10:01.604Z"));
}

#[test]
fn empire_psremoting_stager_is_found_once_with_its_connection() {
    let Some(path) =
        corpus("OTRF_Security-Datasets_empire_psremoting_stager_2020-09-20170827.json")
    else {
        return;
    };
    let (findings, _) = hunt(&path);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    common_fields(f);
    // The classic log calls the host WORKSTATION6, Sysmon WORKSTATION6.theshire.local.
    assert_eq!(str_field(f, "host"), Some("WORKSTATION6"));
    assert_eq!(f["pid"], 10116);
    has_all(
        f,
        &[
            "error_preference_suppressed",
            "download_cradle",
            "exec_cradle",
            "network_activity",
        ],
    );
    // Started by WinRM's wsmprovhost.exe, not by Office or a script host.
    assert!(!indicators(f).contains(&"suspicious_parent"));
}

/// Benign look-alikes and attacks without error suppression: no finding.
#[test]
fn look_alikes_and_unsuppressed_attacks_are_not_findings() {
    for (file, min_events) in [
        // 4104 Start-BitsTransfer (network_util) and PowerShell's own suggestion
        // handler with `-ErrorAction Ignore`, in different script blocks.
        (
            "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
            10,
        ),
        // 58 × 4688 MSF payload: hidden window, encoded gzip payload, no suppression.
        (
            "mdecrevoisier_EVTX-to-MITRE-Attack_ID4688-Encoded_PowerShell_MSF_payload_via_process_execution.evtx",
            58,
        ),
        // IEX(New-Object Net.WebClient).downloadString: a cradle, no suppression.
        (
            "mdecrevoisier_EVTX-to-MITRE-Attack_ID4103-4104-Payload_download_via_PowerShell.evtx",
            3,
        ),
        // Out-Minidump: `Remove-Item … -ErrorAction SilentlyContinue` cleans up a
        // partial dump; no indicator of the technique (as in the seed).
        (
            "sbousseaden_EVTX-ATTACK-SAMPLES_Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
            1,
        ),
        // An Atomic Red Team run under Sysmon: 511 process creations, none suppressing.
        (
            "sbousseaden_EVTX-ATTACK-SAMPLES_PanacheSysmon_vs_AtomicRedTeam01.evtx",
            500,
        ),
        // A benign Security log and the format variants.
        ("WithSecureLabs_chainsaw_security_sample.evtx", 0),
        ("wagga40_Zircolite_winlogbeat_sysmon_sample.json", 0),
        ("wagga40_Zircolite_xml_events_sample.xml", 0),
    ] {
        let Some(path) = corpus(file) else { return };
        let (findings, stderr) = hunt(&path);
        assert!(findings.is_empty(), "{file}: {findings:#?}");
        assert!(events_read(&stderr) >= min_events, "{file}: {stderr}");
    }
}

#[test]
fn seed_test_4_example_is_found_with_its_connection() {
    for file in ["seed-test4.xml", "seed-test4.winlogbeat.ndjson"] {
        let (findings, stderr) = hunt(&example(file));
        assert_eq!(events_read(&stderr), 3, "{file}: {stderr}");
        // Sysmon 1 and the 4104 block of the same launch are one finding.
        assert_eq!(findings.len(), 1, "{file}: {findings:#?}");
        let f = &findings[0];
        common_fields(f);
        assert_eq!(str_field(f, "exec_cmd"), Some(POWERSHELL));
        assert_eq!(str_field(f, "host"), Some("WIN10-LAB.corp.example"));
        assert_eq!(f["pid"], 6544);
        assert_eq!(str_field(f, "user"), Some(r"CORP\alice"));
        assert_eq!(
            indicators(f),
            [
                "error_preference_suppressed",
                "download_cradle",
                "execution_policy_bypass",
                "network_activity"
            ]
        );
        assert_eq!(f["suspicion_score"], 7);
        assert_eq!(str_field(f, "severity"), Some("high"));
        let cmd = str_field(f, "command_line").unwrap();
        for needle in [
            "ErrorActionPreference",
            "SilentlyContinue",
            "Net.WebClient",
            "DownloadString",
            "Invoke-WebRequest",
        ] {
            assert!(cmd.contains(needle), "{needle} not in {cmd}");
        }
    }
}

#[test]
fn compressed_and_directory_inputs() {
    let Some(evtx) = corpus(
        "mdecrevoisier_EVTX-to-MITRE-Attack_ID800-4103-4104-PowerShell_BITS_job_started.evtx",
    ) else {
        return;
    };
    let Some(json) = corpus("OTRF_Security-Datasets_empire_launcher_vbs_2020-09-04160940.json")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (src, name) in [(&evtx, "bits.evtx.gz"), (&json, "empire.json.gz")] {
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(dir.path().join(name)).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(&std::fs::read(src).unwrap()).unwrap();
        gz.finish().unwrap();
    }
    // A gzip'd EVTX is read as a stream (chunk by chunk), with the same events.
    let (_, plain) = hunt(&evtx);
    let (none, packed) = hunt(&dir.path().join("bits.evtx.gz"));
    assert!(none.is_empty());
    assert_eq!(events_read(&plain), events_read(&packed));
    // The whole directory: the Empire finding, found the same way.
    let (findings, _) = hunt(dir.path());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    has_all(
        &findings[0],
        &[
            "error_preference_suppressed",
            "download_cradle",
            "network_activity",
        ],
    );
}
