//! `sighunt plugin` under a real auditd: a private auditd (its own configuration
//! directory, `plugin_dir` pointing at a private plugins directory holding a
//! `sighunt.conf` like `dist/audit/plugins.d/sighunt.conf`) starts the plugin; an
//! execve rule limited to a login uid nobody else uses audits only the test's own
//! commands. A nohup launched afterwards must be reported within two seconds; a
//! benign `grep nohup` must not be.
//!
//! Needs root, `auditd`/`auditctl` and no other audit daemon; otherwise it is
//! skipped, or fails under `SIGHUNT_REQUIRE_KERNEL_TESTS=1` (see `common::skip`). It
//! takes the lock of `scripts/audit-scenarios.sh`, so that it never runs at the same
//! time as the kernel end-to-end test (only one audit daemon can own the kernel's
//! audit socket).

mod common;

use std::fs::{self, File};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{REQUIRE_KERNEL_TESTS, brief, parse_jsonl, str_field};

const LOCKFILE: &str = "/run/lock/sighunt-audit-scenarios.lock";
const RULE_KEY: &str = "sighunt_plugin_test";
const BUDGET: Duration = Duration::from_secs(2);

/// The scenario script's lock, held for the test.
struct Lock(#[allow(dead_code)] File);

impl Lock {
    fn acquire(limit: Duration) -> Result<Lock, String> {
        let path = if Path::new("/run/lock").is_dir() {
            LOCKFILE
        } else {
            "/tmp/.sighunt-audit-scenarios.lock"
        };
        let file = File::options()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {path}: {e}"))?;
        let deadline = Instant::now() + limit;
        loop {
            // SAFETY: a valid descriptor; flock has no memory effects.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(Lock(file));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{path} stayed locked for {limit:?} (an audit test is running)"
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }
}

fn auid_in_use(auid: u32) -> bool {
    let Ok(dir) = fs::read_dir("/proc") else {
        return false;
    };
    dir.filter_map(|e| e.ok()).any(|e| {
        fs::read_to_string(e.path().join("loginuid")).is_ok_and(|v| v.trim() == auid.to_string())
    })
}

fn pids_with_auid(auid: u32) -> Vec<i32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: i32 = e.file_name().to_str()?.parse().ok()?;
            let v = fs::read_to_string(e.path().join("loginuid")).ok()?;
            (v.trim() == auid.to_string()).then_some(pid)
        })
        .collect()
}

/// Children of `parent` named `comm`.
fn children_named(parent: u32, comm: &str) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let stat = fs::read_to_string(e.path().join("stat")).ok()?;
            // pid (comm) state ppid …: comm may contain spaces, so split at ')'.
            let (head, rest) = stat.rsplit_once(')')?;
            let name = head.split_once('(')?.1;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent && name == comm).then_some(pid)
        })
        .collect()
}

fn auditctl(args: &[&str]) -> Result<String, String> {
    let out = Command::new(common::which("auditctl").unwrap_or_else(|| "auditctl".into()))
        .args(args)
        .output()
        .map_err(|e| format!("auditctl: {e}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        Ok(text)
    } else {
        Err(text)
    }
}

/// Everything the test set up, torn down in reverse order whatever happens.
struct Setup {
    dir: PathBuf,
    auditd: Option<Child>,
    rules: Vec<Vec<String>>,
    auid: u32,
    /// Auditing was disabled before (auditd enables it): disable it again.
    was_disabled: bool,
}

impl Drop for Setup {
    fn drop(&mut self) {
        for pid in pids_with_auid(self.auid) {
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for rule in self.rules.drain(..) {
            let mut args = vec!["-d".to_string()];
            args.extend(rule);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let _ = auditctl(&args);
        }
        if let Some(mut auditd) = self.auditd.take() {
            unsafe { libc::kill(auditd.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while auditd.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            let _ = auditd.kill();
            let _ = auditd.wait();
        }
        if self.was_disabled {
            let _ = auditctl(&["-e", "0"]);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_private(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `program args` with the login uid `auid` (so that only it is audited).
fn run_as_auid(auid: u32, cwd: &Path, program: &str, args: &[&str]) -> Child {
    let script = format!("echo {auid} >/proc/self/loginuid && exec \"$@\"");
    Command::new("/bin/sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(program)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start a command")
}

fn findings(path: &Path) -> Vec<Value> {
    let text = fs::read_to_string(path).unwrap_or_default();
    let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
    parse_jsonl(complete).unwrap_or_else(|e| panic!("{} is not JSON Lines: {e}", path.display()))
}

#[test]
fn plugin_reports_a_nohup_under_a_real_auditd_within_two_seconds() {
    const TEST: &str = "plugin_reports_a_nohup_under_a_real_auditd_within_two_seconds";
    if let Err(reason) = common::kernel_audit_prereqs() {
        common::skip(TEST, &reason, REQUIRE_KERNEL_TESTS);
        return;
    }
    if !Path::new("/proc/self/loginuid").exists() {
        common::skip(
            TEST,
            "/proc/self/loginuid is missing (no audit support)",
            REQUIRE_KERNEL_TESTS,
        );
        return;
    }
    let _lock = match Lock::acquire(Duration::from_secs(300)) {
        Ok(l) => l,
        Err(reason) => {
            common::skip(TEST, &reason, REQUIRE_KERNEL_TESTS);
            return;
        }
    };
    // Checked again under the lock: the scenario script may just have finished.
    if let Err(reason) = common::kernel_audit_prereqs() {
        common::skip(TEST, &reason, REQUIRE_KERNEL_TESTS);
        return;
    }
    let status = auditctl(&["-s"]).unwrap_or_default();
    if status
        .lines()
        .any(|l| l.starts_with("pid ") && l.trim() != "pid 0")
    {
        common::skip(
            TEST,
            &format!("another audit daemon is registered: {status}"),
            REQUIRE_KERNEL_TESTS,
        );
        return;
    }
    if status.lines().any(|l| l.trim() == "enabled 2") {
        common::skip(
            TEST,
            "the audit configuration is locked (enabled 2)",
            REQUIRE_KERNEL_TESTS,
        );
        return;
    }

    let mut auid = 20_000 + std::process::id() % 40_000;
    while auid_in_use(auid) {
        auid = 20_000 + (auid - 20_000 + 7919) % 40_000;
    }
    let dir = tempfile::Builder::new()
        .prefix("sighunt-plugin-test.")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    let mut setup = Setup {
        dir: dir.clone(),
        auditd: None,
        rules: Vec::new(),
        auid,
        was_disabled: status.lines().any(|l| l.trim() == "enabled 0"),
    };
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let plugins = dir.join("plugins.d");
    fs::create_dir(&plugins).unwrap();
    fs::set_permissions(&plugins, fs::Permissions::from_mode(0o750)).unwrap();
    let findings_path = dir.join("findings.jsonl");
    write_private(
        &dir.join("auditd.conf"),
        &format!(
            "local_events = yes\nwrite_logs = yes\nlog_file = {d}/audit.log\nlog_group = root\nlog_format = RAW\n\
             flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 100\nnum_logs = 2\npriority_boost = 0\n\
             name_format = NONE\nmax_log_file_action = IGNORE\nspace_left = 75\nspace_left_action = IGNORE\n\
             admin_space_left = 50\nadmin_space_left_action = IGNORE\ndisk_full_action = IGNORE\n\
             disk_error_action = IGNORE\ntcp_client_max_idle = 0\nend_of_event_timeout = 2\n\
             plugin_dir = {p}\n",
            d = dir.display(),
            p = plugins.display()
        ),
        0o600,
    );
    // The shipped plugin configuration, with this build's binary and a private
    // output file (auditd passes at most two arguments).
    let shipped =
        fs::read_to_string(common::manifest_dir().join("dist/audit/plugins.d/sighunt.conf"))
            .expect("dist/audit/plugins.d/sighunt.conf");
    let conf: String = shipped
        .lines()
        .map(|l| {
            let k = l.split('=').next().unwrap_or("").trim();
            match k {
                "path" => format!("path = {}", common::sighunt_bin().display()),
                "args" => format!("args = plugin --output={}", findings_path.display()),
                "active" => "active = yes".to_string(),
                _ => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert!(
        conf.contains("format = string") && conf.contains("direction = out"),
        "{conf}"
    );
    write_private(&plugins.join("sighunt.conf"), &conf, 0o640);

    let auditd_out = File::create(dir.join("auditd.out")).unwrap();
    let auditd = Command::new(common::which("auditd").unwrap())
        .args(["-n", "-c"])
        .arg(&dir)
        .stdin(Stdio::null())
        .stdout(auditd_out.try_clone().unwrap())
        .stderr(auditd_out)
        .spawn()
        .expect("start auditd");
    let auditd_pid = auditd.id();
    setup.auditd = Some(auditd);
    let log = |setup: &Setup| {
        format!(
            "--- auditd.out ---\n{}\n--- findings ---\n{}",
            fs::read_to_string(setup.dir.join("auditd.out")).unwrap_or_default(),
            fs::read_to_string(&findings_path).unwrap_or_default()
        )
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = auditctl(&["-s"]).unwrap_or_default();
        if s.lines().any(|l| l.trim() == format!("pid {auditd_pid}")) {
            break;
        }
        if let Some(st) = setup.auditd.as_mut().unwrap().try_wait().unwrap() {
            panic!("auditd exited ({st}):\n{}", log(&setup));
        }
        assert!(
            Instant::now() < deadline,
            "auditd did not register with the kernel:\n{}",
            log(&setup)
        );
        thread::sleep(Duration::from_millis(100));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while children_named(auditd_pid, "sighunt").is_empty() {
        assert!(
            Instant::now() < deadline,
            "auditd did not start the plugin:\n{}",
            log(&setup)
        );
        thread::sleep(Duration::from_millis(100));
    }
    for arch in ["b64", "b32"] {
        let rule: Vec<String> = [
            "always,exit",
            "-F",
            &format!("arch={arch}"),
            "-S",
            "execve",
            "-F",
            &format!("auid={auid}"),
            "-k",
            RULE_KEY,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut args = vec!["-a".to_string()];
        args.extend(rule.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        match auditctl(&args) {
            Ok(_) => setup.rules.push(rule),
            Err(e) if arch == "b32" => eprintln!("note: no 32-bit rule: {e}"),
            Err(e) => panic!("cannot add the execve rule: {e}"),
        }
    }

    let work = dir.join("work");
    fs::create_dir(&work).unwrap();
    let payload = work.join("payload.sh");
    write_private(
        &payload,
        "#!/bin/sh\n# sighunt plugin test payload\nsleep 0.2\n",
        0o755,
    );
    let notes = work.join("notes.txt");
    write_private(
        &notes,
        "remember: nohup keeps jobs alive after logout\n",
        0o644,
    );

    // The benign look-alike first, then the nohup; the clock starts at its launch.
    let mut grep = run_as_auid(auid, &work, "grep", &["nohup", notes.to_str().unwrap()]);
    grep.wait().unwrap();
    let launched = Instant::now();
    let mut nohup = run_as_auid(auid, &work, "nohup", &[payload.to_str().unwrap()]);
    let target = payload.to_str().unwrap().to_string();
    let reported = loop {
        let found = findings(&findings_path);
        if let Some(f) = found
            .iter()
            .find(|f| str_field(f, "nohup_target") == Some(target.as_str()))
        {
            break Some((launched.elapsed(), f.clone(), found));
        }
        if launched.elapsed() > BUDGET + Duration::from_secs(8) {
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let _ = nohup.wait();
    let Some((latency, finding, all)) = reported else {
        panic!("the nohup was not reported within 10 s:\n{}", log(&setup));
    };
    assert!(
        latency <= BUDGET,
        "the nohup was reported after {latency:?}, more than {BUDGET:?}:\n{}",
        brief(&finding)
    );
    eprintln!("reported {latency:?} after the launch: {}", brief(&finding));
    assert_eq!(
        str_field(&finding, "detection_type"),
        Some("nohup_interrupt_ignore")
    );
    assert_eq!(str_field(&finding, "exec_cmd"), Some("nohup"));
    assert_eq!(str_field(&finding, "technique"), Some("T1564.011"));
    assert_eq!(finding["source"]["format"], "auditd");
    let indicators = common::indicators(&finding);
    assert!(
        indicators.contains(&"temp_dir_payload"),
        "{}",
        brief(&finding)
    );
    assert!(
        matches!(
            str_field(&finding, "severity"),
            Some("medium" | "high" | "critical")
        ),
        "{}",
        brief(&finding)
    );
    for f in &all {
        let cmd = str_field(f, "command_line").unwrap_or("");
        assert!(
            !cmd.contains("grep nohup"),
            "benign look-alike reported: {}",
            brief(f)
        );
    }

    // auditd stopping stops the plugin (SIGTERM, then end of its stdin).
    let plugin = children_named(auditd_pid, "sighunt");
    drop(setup);
    let deadline = Instant::now() + Duration::from_secs(10);
    while plugin
        .iter()
        .any(|p| Path::new(&format!("/proc/{p}")).exists())
    {
        let gone = plugin.iter().all(|p| {
            fs::read_to_string(format!("/proc/{p}/stat")).map_or(true, |s| s.contains(") Z "))
        });
        if gone {
            break;
        }
        assert!(Instant::now() < deadline, "the plugin outlived auditd");
        thread::sleep(Duration::from_millis(50));
    }
}
