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

use common::{hunt_sudo_command, shell_quote, str_field, which};

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
    // A script written to a file, then run from it.
    "echo 'nohup {X} &' > {D}/w1.sh; bash {D}/w1.sh",
    "printf 'nohup {X} &\\n' > {D}/w2; chmod +x {D}/w2; {D}/w2",
    "echo '#!/bin/sh' > {D}/w3; echo 'nohup {X} &' >> {D}/w3; sh {D}/w3",
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
    "echo 'nohup {X} &' > {D}/w4.sh; cat {D}/w4.sh; {X}",
    "bash {D}/w5.sh 2>/dev/null; echo 'nohup {X} &' > {D}/w5.sh; {X}",
    "echo 'nohup {X} &' > {D}/w6.sh; echo '{X}' > {D}/w6.sh; sh {D}/w6.sh",
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
    "echo 'nohup {X} &' > {D}/w7.sh; . {D}/w7.sh",
];

/// Texts run through terminal multiplexers, each needing its program, and whether
/// the finding must name the recorder; `{S}` is a
/// socket or session name of the text's own, removed afterwards.
const MULTIPLEXED: &[(&str, &str, bool)] = &[
    ("tmux", "tmux -L {S} new -d 'nohup {X}'", true),
    ("tmux", "tmux -L {S} new-session -d -s s nohup {X}", true),
    (
        "tmux",
        "tmux -L {S} new -d -s s; tmux -L {S} send-keys -t s 'nohup {X}' Enter",
        true,
    ),
    ("tmux", "tmux -L {S} new -d {X}", false),
    (
        "tmux",
        "tmux -L {S} new -d -s s; tmux -L {S} send-keys -t s 'echo nohup; {X}' Enter",
        false,
    ),
    ("screen", "screen -dmS {S} nohup {X}", true),
    ("screen", "screen -dmS {S} sh -c 'nohup {X}'", true),
    // -X needs the session up: wait for it (a slow machine may take a while).
    (
        "screen",
        "screen -dmS {S}; for i in $(seq 200); do screen -S {S} -X select . && break; \
         sleep 0.1; done; screen -S {S} -X stuff 'nohup {X}\\n'",
        true,
    ),
    ("screen", "screen -dmS {S} {X}", false),
];

/// The recorder and its scratch directory.
struct Oracle {
    bash: std::path::PathBuf,
    dir: tempfile::TempDir,
    out: std::path::PathBuf,
}

impl Oracle {
    /// `None` (and why, on stderr) where bash, procfs or nohup is missing.
    fn new() -> Option<Oracle> {
        let Some(bash) = which("bash") else {
            eprintln!("SKIP: no bash");
            return None;
        };
        if !Path::new("/proc/self/status").exists() || which("nohup").is_none() {
            eprintln!("SKIP: no procfs or no nohup");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
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
        Some(Oracle { bash, dir, out })
    }

    fn recorder(&self) -> String {
        self.dir.path().join("x").to_str().unwrap().to_string()
    }

    fn scratch(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    /// Runs `text` with bash and hunts the same text in a sudo line: whether the
    /// recorder ran under nohup, and sighunt's findings. `None` when they disagree
    /// (or, with `must_name`, when the finding does not name the recorder), as a
    /// message.
    fn check(&self, text: &str, must_name: bool) -> Option<String> {
        let _ = fs::remove_file(&self.out);
        let status = Command::new(&self.bash)
            .args(["-c", text])
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        // Every text runs the recorder at least once, maybe in the background.
        let start = Instant::now();
        while !self.out.exists() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        std::thread::sleep(Duration::from_millis(100));
        let recorded = fs::read_to_string(&self.out).unwrap_or_default();
        assert!(
            !recorded.is_empty(),
            "{text}: the recorder did not run ({status})"
        );
        let bash_says = recorded.lines().any(|l| l == "nohup");
        let command = format!("/usr/bin/bash -c {}", shell_quote(text));
        let findings = hunt_sudo_command(self.dir.path(), &self.scratch(), &command);
        let sighunt_says = findings
            .iter()
            .any(|f| str_field(f, "detection_type") == Some("nohup_interrupt_ignore"));
        if bash_says != sighunt_says {
            return Some(format!(
                "{text}: bash ran it under nohup: {bash_says}, sighunt: {sighunt_says}"
            ));
        }
        let x = self.recorder();
        if must_name {
            let targets: Vec<&str> = findings
                .iter()
                .filter_map(|f| str_field(f, "nohup_target"))
                .collect();
            if !bash_says || !targets.contains(&x.as_str()) {
                return Some(format!(
                    "{text}: bash ran it under nohup: {bash_says}; sighunt's targets: {targets:?}"
                ));
            }
        }
        None
    }
}

#[test]
fn findings_agree_with_what_bash_runs() {
    let Some(oracle) = Oracle::new() else { return };
    let (x, d) = (oracle.recorder(), oracle.scratch());
    let named = NAMED.iter().map(|t| (t, true));
    let disagree: Vec<String> = TEXTS
        .iter()
        .map(|t| (t, false))
        .chain(named)
        .filter_map(|(template, must_name)| {
            let text = template.replace("{X}", &x).replace("{D}", &d);
            oracle.check(&text, must_name)
        })
        .collect();
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}

/// tmux and screen run the texts given to them (a session's command, the keys
/// typed into it): the real programs say whether the payload ran under nohup. CI
/// installs both; elsewhere a missing one is skipped and said.
#[test]
fn findings_agree_with_what_multiplexers_run() {
    let Some(oracle) = Oracle::new() else { return };
    let x = oracle.recorder();
    let mut disagree = Vec::new();
    for (k, (program, template, must_name)) in MULTIPLEXED.iter().enumerate() {
        let Some(path) = which(program) else {
            // CI installs them: there a missing one is a broken setup, not a skip.
            assert!(std::env::var_os("CI").is_none(), "no {program} in CI");
            eprintln!("SKIP: no {program}: {template}");
            continue;
        };
        let session = format!("sighunt-oracle-{}-{k}", std::process::id());
        let text = template.replace("{X}", &x).replace("{S}", &session);
        disagree.extend(oracle.check(&text, *must_name));
        // The session (and tmux's server) may outlive the payload.
        let quit: &[&str] = if *program == "tmux" {
            &["-L", &session, "kill-server"]
        } else {
            &["-S", &session, "-X", "quit"]
        };
        let _ = Command::new(path)
            .args(quit)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    assert!(disagree.is_empty(), "{}", disagree.join("\n"));
}
