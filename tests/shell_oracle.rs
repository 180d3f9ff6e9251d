//! Real bash as the oracle for shell-text detection: each text is run by bash with a
//! recorder as the payload, and the recorder reports whether it started with SIGHUP
//! ignored (what nohup does). The same text in a sudo `COMMAND=` line must be a
//! nohup finding exactly when bash really ran the payload under nohup.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{hunt_jsonl, str_field, which};

/// Shell texts; `{X}` is the recorder, `{D}` a scratch directory.
const TEXTS: &[&str] = &[
    // Run under nohup, however the name is written.
    "nohup {X} &",
    "${PWD:0:0}nohup {X} &",
    "no${X:3:0}hup {X} &",
    "n$@ohup {X} &",
    "${*}nohup {X} &",
    "C=\"nohup {X}\"; $C &",
    "cp /usr/bin/nohup {D}/nh; {D}/nh {X} &",
    "ln -sf /usr/bin/nohup {D}/nl; {D}/nl {X} &",
    "cat /usr/bin/nohup > {D}/nc; chmod +x {D}/nc; {D}/nc {X} &",
    "$(echo nohup) {X} &",
    "$(echo bm9odXA= | base64 -d) {X} &",
    "\"$(rev <<< puhon)\" {X} &",
    "eval 'nohup {X} &'",
    "(echo 'nohup {X} &') | sh",
    "for i in 1; do echo 'nohup {X} &'; done | bash",
    "echo {X} | xargs nohup &",
    "find {D} -name x -exec nohup {} \\; &",
    // The payload runs, not under nohup.
    "{X} &",
    "echo nohup; {X} &",
    "cp /usr/bin/nohup {D}/nh2; {X} &",
    "C=\"echo nohup\"; $C; {X} &",
    "\"${PWD:0:1}nohup\" {X} 2>/dev/null; {X} &",
    "eval echo nohup; {X}",
    "(echo 'echo nohup') | sh; {X}",
    "f() { echo nohup \"$@\"; }; f {X}; {X}",
    "nohup() { \"$@\"; }; nohup {X}",
];

/// Texts that run the recorder under nohup, written so that the finding must also
/// name it: its `nohup_target` is the recorder's path.
const NAMED: &[&str] = &[
    "nohup {X} &",
    "C=\"nohup {X}\"; $C &",
    "$(echo nohup) {X} &",
    "eval 'nohup {X} &'",
    "(echo 'nohup {X} &') | sh",
    // Functions: the body runs at the call, with the call's arguments.
    "bg() { nohup \"$@\" >/dev/null 2>&1 & }; bg {X}",
    "function run { nohup $1 & }; run {X}",
    "f() { g \"$1\"; }; g() { nohup \"$1\" & }; f {X}",
    "start() { \"$@\" & }; start nohup {X}",
    "P={X}; f() { nohup \"${1}\" & }; f \"$P\"",
];

#[test]
fn findings_agree_with_what_bash_runs() {
    let Some(bash) = which("bash") else {
        eprintln!("SKIP: no bash");
        return;
    };
    if !Path::new("/proc/self/status").exists() || which("nohup").is_none() {
        eprintln!("SKIP: no procfs or no nohup");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap().to_string();
    let recorder = dir.path().join("x");
    let out = dir.path().join("out");
    fs::write(
        &recorder,
        format!(
            "#!/bin/sh\nmask=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status)\n\
             if [ $(( 0x$mask & 1 )) -eq 1 ]; then echo nohup >> {o}; else echo plain >> {o}; fi\n",
            o = out.display()
        ),
    )
    .unwrap();
    let mut perms = fs::metadata(&recorder).unwrap().permissions();
    perms.set_mode(0o755);
    fs::set_permissions(&recorder, perms).unwrap();
    let x = recorder.to_str().unwrap();
    let mut disagree = Vec::new();
    let named = NAMED.iter().map(|t| (t, true));
    for (template, must_name) in TEXTS.iter().map(|t| (t, false)).chain(named) {
        let text = template.replace("{X}", x).replace("{D}", &d);
        let _ = fs::remove_file(&out);
        let status = Command::new(&bash)
            .args(["-c", &text])
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        // Every text runs the recorder at least once, maybe in the background.
        let start = Instant::now();
        while !out.exists() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        let recorded = fs::read_to_string(&out).unwrap_or_default();
        assert!(
            !recorded.is_empty(),
            "{text}: the recorder did not run ({status})"
        );
        let bash_says = recorded.lines().any(|l| l == "nohup");
        let log = dir.path().join("sudo.log");
        let quoted = format!("'{}'", text.replace('\'', r"'\''"));
        fs::write(
            &log,
            format!(
                "<85>1 2026-11-28T04:53:42.216440+00:00 vm sudo - - -      root : PWD={d} ; \
                 USER=root ; COMMAND=/usr/bin/bash -c {quoted}\n"
            ),
        )
        .unwrap();
        let (run, findings) = hunt_jsonl(&[&log]);
        assert!(!run.timed_out, "{}", run.describe());
        let sighunt_says = findings
            .iter()
            .any(|f| str_field(f, "detection_type") == Some("nohup_interrupt_ignore"));
        if bash_says != sighunt_says {
            disagree.push(format!(
                "{text}: bash ran it under nohup: {bash_says}, sighunt: {sighunt_says}"
            ));
        } else if must_name {
            let targets: Vec<&str> = findings
                .iter()
                .filter_map(|f| str_field(f, "nohup_target"))
                .collect();
            if !bash_says || !targets.contains(&x) {
                disagree.push(format!(
                    "{text}: bash ran it under nohup: {bash_says}; sighunt's targets: {targets:?}"
                ));
            }
        }
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
