//! `sighunt sense` (the eBPF sensor, feature `ebpf`) on the real kernel: programs
//! this test starts set SIGTERM/SIGHUP to SIG_IGN (Python, Perl, a shell `trap`,
//! nohup, a staged copy under a kernel-thread name) and each must be reported
//! within one second with the kernel's view of the call and the severity `sighunt
//! live` gives the same process; a shell's background job (INT and QUIT ignored)
//! stays low and a process ignoring only SIGPIPE is not reported at all.
//!
//! Needs root, a BTF kernel, python3, perl, bash, sh, nohup and `env
//! --default-signal`; without them it prints SKIP and passes, unless
//! SIGHUNT_REQUIRE_EBPF_TESTS=1 (scripts/ci-ebpf.sh sets it), where the skip is a
//! failure. Without the feature, `sighunt sense` must say how to get it.

#![cfg(target_os = "linux")]

mod common;

#[cfg(not(feature = "ebpf"))]
#[test]
fn sense_without_the_feature_says_how_to_get_it() {
    let out = common::run_sighunt(["sense", "--format", "jsonl"]);
    assert_eq!(out.status.code(), Some(2), "{}", out.describe());
    assert!(
        out.stderr.contains("--features ebpf") && out.stderr.contains("live --watch"),
        "{}",
        out.describe()
    );
    assert!(out.stdout.is_empty());
}

#[cfg(feature = "ebpf")]
mod with_ebpf {
    use super::common;
    use super::common::{sig_ign, start_time};

    use std::collections::BTreeSet;
    use std::fs;
    use std::io::{BufRead, BufReader};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};
    use std::sync::mpsc::{self, Receiver};
    use std::thread;
    use std::time::{Duration, Instant};

    use serde_json::Value;

    const TEST: &str = "sense_reports_sig_ign_as_it_happens";
    const REQUIRE: &str = "SIGHUNT_REQUIRE_EBPF_TESTS";
    const HUP: u64 = 1;
    const INT: u64 = 1 << 1;
    const PIPE: u64 = 1 << 12;
    const TERM: u64 = 1 << 14;
    const LIFETIME: &str = "120";
    const WITHIN: Duration = Duration::from_secs(1);

    /// A process this test started; killed (by pid, if still the same process)
    /// when dropped.
    struct Started {
        name: &'static str,
        pid: u32,
        start: String,
        child: Option<Child>,
        /// When the test first saw the signal ignored in /proc.
        ignored_at: Option<Instant>,
    }

    impl Drop for Started {
        fn drop(&mut self) {
            if start_time(self.pid).as_deref() == Some(self.start.as_str()) {
                // SAFETY: kill(2) on the pid verified above to be ours.
                unsafe {
                    libc::kill(self.pid as libc::pid_t, libc::SIGKILL);
                }
            }
            if let Some(c) = &mut self.child {
                let _ = c.wait();
            }
        }
    }

    /// Polls every 2 ms until `check` holds (10 s at most); returns when it did.
    fn wait_for(what: &str, mut check: impl FnMut() -> bool) -> Instant {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if check() {
                return Instant::now();
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            thread::sleep(Duration::from_millis(2));
        }
    }

    /// Signal dispositions reset to default whatever the test runner ignores.
    fn clean(program: &str) -> Command {
        let mut cmd = Command::new("env");
        cmd.arg("--default-signal").arg(program);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd
    }

    fn spawn(name: &'static str, cmd: &mut Command, mask: u64) -> Started {
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let pid = child.id();
        let ignored_at = (mask != 0).then(|| {
            wait_for(&format!("{name} to ignore {mask:#x}"), || {
                sig_ign(pid).is_some_and(|m| m & mask == mask)
            })
        });
        wait_for(&format!("{name} to appear"), || start_time(pid).is_some());
        Started {
            name,
            pid,
            start: start_time(pid).unwrap(),
            child: Some(child),
            ignored_at,
        }
    }

    fn prerequisites() -> Result<(), String> {
        if !common::is_root() {
            return Err("needs root to load BPF programs".into());
        }
        if !Path::new("/sys/kernel/btf/vmlinux").exists() {
            return Err("the kernel has no BTF (/sys/kernel/btf/vmlinux)".into());
        }
        for p in ["bash", "sh", "nohup", "python3", "perl", "sleep", "env"] {
            if common::which(p).is_none() {
                return Err(format!("{p} is not installed"));
            }
        }
        let ok = Command::new("env")
            .args(["--default-signal", "true"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("env --default-signal is not supported".into());
        }
        Ok(())
    }

    /// A running `sighunt sense --format jsonl`: its findings as they arrive.
    struct Sensor {
        child: Child,
        lines: Receiver<(Instant, Value)>,
        stderr: Receiver<String>,
        got: Vec<(Instant, Value)>,
        err: Vec<String>,
    }

    impl Sensor {
        fn start(extra: &[&str]) -> Sensor {
            let mut child = Command::new(common::sighunt_bin())
                .args([
                    "sense",
                    "--format",
                    "jsonl",
                    "--no-config",
                    "--duration",
                    "300",
                ])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start sighunt sense");
            let (tx, lines) = mpsc::channel();
            let out = child.stdout.take().unwrap();
            thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    let v: Value = serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("bad JSON line {line:?}: {e}"));
                    if tx.send((Instant::now(), v)).is_err() {
                        break;
                    }
                }
            });
            let (etx, stderr) = mpsc::channel();
            let err = child.stderr.take().unwrap();
            thread::spawn(move || {
                for line in BufReader::new(err).lines() {
                    let Ok(line) = line else { break };
                    if etx.send(line).is_err() {
                        break;
                    }
                }
            });
            let mut s = Sensor {
                child,
                lines,
                stderr,
                got: Vec::new(),
                err: Vec::new(),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while !s.err.iter().any(|l| l.contains("sighunt sense: watching")) {
                if let Ok(l) = s.stderr.recv_timeout(Duration::from_millis(100)) {
                    s.err.push(l);
                }
                if let Ok(Some(status)) = s.child.try_wait() {
                    s.drain();
                    panic!("sighunt sense exited ({status}):\n{}", s.err.join("\n"));
                }
                assert!(
                    Instant::now() < deadline,
                    "sense did not start: {:?}",
                    s.err
                );
            }
            s
        }

        fn drain(&mut self) {
            while let Ok(x) = self.lines.try_recv() {
                self.got.push(x);
            }
            while let Ok(l) = self.stderr.try_recv() {
                self.err.push(l);
            }
        }

        /// Findings for `pid`, with their arrival times, in order.
        fn for_pid(&self, pid: u32) -> Vec<&(Instant, Value)> {
            self.got
                .iter()
                .filter(|(_, v)| v["pid"].as_u64() == Some(u64::from(pid)))
                .collect()
        }

        /// Waits until `pid` has a finding satisfying `done`, or `limit` passes.
        fn wait_pid(&mut self, pid: u32, limit: Duration, done: impl Fn(&Value) -> bool) {
            let deadline = Instant::now() + limit;
            loop {
                self.drain();
                if self.for_pid(pid).iter().any(|(_, v)| done(v)) || Instant::now() > deadline {
                    return;
                }
                thread::sleep(Duration::from_millis(10));
            }
        }

        /// Stops it with SIGINT (a clean stop) and returns the stderr lines.
        fn stop(mut self) -> Vec<String> {
            // SAFETY: kill(2) on our own child.
            unsafe {
                libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
            }
            let status = self.child.wait().unwrap();
            thread::sleep(Duration::from_millis(100));
            self.drain();
            assert!(status.success(), "sense exit {status}: {:?}", self.err);
            std::mem::take(&mut self.err)
        }
    }

    fn indicators(f: &Value) -> BTreeSet<String> {
        common::indicators(f)
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    fn rank(f: &Value) -> usize {
        let s = common::str_field(f, "severity").unwrap_or("");
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap_or_else(|| panic!("bad severity in {f}"))
    }

    /// `sighunt live --pid PID`: the oracle sense must agree with.
    fn live(pid: u32) -> Option<Value> {
        let out = common::run_sighunt([
            "live",
            "--all",
            "--format",
            "jsonl",
            "--no-config",
            "--pid",
            &pid.to_string(),
        ]);
        assert!(out.success(), "{}", out.describe());
        common::parse_jsonl(&out.stdout).unwrap().into_iter().next()
    }

    /// The last finding sense reported for `s`, checked to have arrived within a
    /// second of the call and to carry the kernel's context.
    fn reported<'a>(sensor: &'a Sensor, s: &Started, comm: &str) -> &'a Value {
        let all = sensor.for_pid(s.pid);
        let (first_at, _) = all.first().unwrap_or_else(|| {
            panic!(
                "{} (pid {}) not reported; got {:#?}",
                s.name, s.pid, sensor.got
            )
        });
        if let Some(at) = s.ignored_at {
            let late = first_at.saturating_duration_since(at);
            assert!(late < WITHIN, "{} reported {late:?} after the call", s.name);
        }
        let (_, f) = all.last().unwrap();
        let k = &f["sensor"];
        assert_eq!(k["tgid"].as_u64(), Some(u64::from(s.pid)), "{f}");
        assert_eq!(k["uid"].as_u64(), Some(0), "{f}");
        assert!(k["cgroup_id"].as_u64().is_some_and(|c| c > 0), "{f}");
        assert!(
            k["latency_us"].as_u64().is_some_and(|l| l < 1_000_000),
            "{f}"
        );
        assert!(
            all.iter().any(|(_, f)| f["sensor"]["comm"] == comm),
            "{}: no event from comm {comm}: {all:#?}",
            s.name
        );
        assert_eq!(f["source"]["format"], "ebpf");
        assert_eq!(f["detection_type"], "signal_ignore_live");
        f
    }

    /// Sense's judgement equals live's for the same process now.
    fn agrees_with_live(name: &str, f: &Value, pid: u32) {
        let l = live(pid).unwrap_or_else(|| panic!("live does not report {name} (pid {pid})"));
        assert_eq!(f["severity"], l["severity"], "{name}: sense {f}\nlive {l}");
        assert_eq!(indicators(f), indicators(&l), "{name}: sense {f}\nlive {l}");
        assert_eq!(f["exec_cmd"], l["exec_cmd"], "{name}");
        assert_eq!(f["command_line"], l["command_line"], "{name}");
    }

    #[test]
    fn sense_reports_sig_ign_as_it_happens() {
        if let Err(reason) = prerequisites() {
            common::skip(TEST, &reason, REQUIRE);
            return;
        }
        let mut sensor = Sensor::start(&[]);
        let me = std::process::id();
        let mut started = Vec::new();

        let python = spawn(
            "python",
            clean("python3").arg("-c").arg(format!(
                "import signal,time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep({LIFETIME})"
            )),
            TERM,
        );
        let perl = spawn(
            "perl",
            clean("perl").arg("-e").arg(format!(
                "$SIG{{TERM}}='IGNORE'; for (1..{LIFETIME}) {{ sleep 1 }}"
            )),
            TERM,
        );
        let trap = spawn(
            "sh-trap",
            clean("sh")
                .arg("-c")
                .arg(format!("trap '' TERM; sleep {LIFETIME}; :")),
            TERM,
        );
        // The same trap in a script dropped in /dev/shm: the allow-list no longer
        // caps it.
        let shm = tempfile::Builder::new()
            .prefix("sighunt-sense-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let script = shm.path().join("job.sh");
        fs::write(&script, format!("trap '' TERM\nsleep {LIFETIME}\n:\n")).unwrap();
        let staged_script = spawn("staged-script", clean("sh").arg(&script), TERM);
        let nohup = spawn("nohup", clean("nohup").arg("sleep").arg(LIFETIME), HUP);
        // A copy of sleep in a hidden temp dir, started under a kernel-thread name
        // with HUP and TERM ignored by the shell that execs it (BPFDoor's pattern).
        let stage = tempfile::Builder::new()
            .prefix(".sighunt-sense-")
            .tempdir_in("/tmp")
            .unwrap();
        let staged = stage.path().join("kdmtmpflush");
        fs::copy(common::which("sleep").unwrap(), &staged).unwrap();
        fs::set_permissions(&staged, fs::Permissions::from_mode(0o755)).unwrap();
        let implant = spawn(
            "staged",
            clean("bash").arg("-c").arg(format!(
                "trap '' HUP TERM; exec -a '[kworker/1:7]' {} {LIFETIME}",
                staged.display()
            )),
            HUP | TERM,
        );
        wait_for("the staged copy to run", || {
            fs::read_link(format!("/proc/{}/exe", implant.pid)).is_ok_and(|p| p == staged)
        });
        // Inheritance without a call: Python ignores TERM, forks, and the child
        // execs a second staged copy; the child's exec is what reports it.
        let heir_copy = stage.path().join("kworkerd");
        fs::copy(common::which("sleep").unwrap(), &heir_copy).unwrap();
        fs::set_permissions(&heir_copy, fs::Permissions::from_mode(0o755)).unwrap();
        let forker = spawn(
            "forker",
            clean("python3").arg("-c").arg(format!(
                "import os,signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)\nif os.fork() == 0: os.execv({0:?}, [{0:?}, {LIFETIME:?}])\nos.wait()",
                heir_copy.display().to_string()
            )),
            TERM,
        );
        let heir_pid = {
            let mut pid = 0;
            wait_for("the forked child's exec", || {
                pid = fs::read_to_string(format!("/proc/{0}/task/{0}/children", forker.pid))
                    .unwrap_or_default()
                    .split_whitespace()
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                pid != 0 && fs::read_link(format!("/proc/{pid}/exe")).is_ok_and(|p| p == heir_copy)
            });
            pid
        };
        // Benign: a non-interactive shell's `&` job (INT and QUIT ignored), and a
        // daemon that ignores only SIGPIPE.
        let shell = spawn(
            "background-job-shell",
            clean("bash")
                .arg("-c")
                .arg(format!("sleep {LIFETIME} & wait")),
            0,
        );
        let job_pid = {
            let mut pid = 0;
            wait_for("the background job", || {
                let children =
                    fs::read_to_string(format!("/proc/{0}/task/{0}/children", shell.pid))
                        .unwrap_or_default();
                pid = children
                    .split_whitespace()
                    .next()
                    .and_then(|p| p.parse().ok())
                    .unwrap_or(0);
                pid != 0 && sig_ign(pid).is_some_and(|m| m & INT != 0)
            });
            pid
        };
        let pipe = spawn(
            "sigpipe-daemon",
            clean("perl").arg("-e").arg(format!(
                "$SIG{{PIPE}}='IGNORE'; for (1..{LIFETIME}) {{ sleep 1 }}"
            )),
            PIPE,
        );

        // The "is it ignored already?" idiom: SIG_IGN, then a handler back at once.
        let idiom = spawn(
            "transient",
            clean("perl").arg("-e").arg(format!(
                "$SIG{{TERM}}='IGNORE'; $SIG{{TERM}}='DEFAULT'; for (1..{LIFETIME}) {{ sleep 1 }}"
            )),
            0,
        );
        for s in [&python, &perl, &trap, &staged_script, &nohup, &implant] {
            sensor.wait_pid(s.pid, Duration::from_secs(3), |_| true);
        }
        sensor.wait_pid(nohup.pid, Duration::from_secs(2), |f| {
            f["sensor"]["event"] == "exec"
        });
        sensor.wait_pid(implant.pid, Duration::from_secs(2), |f| {
            f["sensor"]["event"] == "exec"
        });
        sensor.wait_pid(job_pid, Duration::from_secs(2), |_| true);
        sensor.wait_pid(heir_pid, Duration::from_secs(2), |_| true);
        // The SIGPIPE daemon has had as long as the others.
        thread::sleep(Duration::from_millis(500));
        sensor.drain();

        let f = reported(&sensor, &python, "python3");
        assert_eq!(f["sensor"]["signal"], "SIGTERM");
        assert_eq!(f["sensor"]["ppid"].as_u64(), Some(u64::from(me)));
        assert!(indicators(f).contains("ignores_sigterm"), "{f}");
        assert!(rank(f) >= 2, "python ignoring TERM is at least medium: {f}");
        assert!(common::str_field(f, "command_line").is_some_and(|c| c.contains("SIG_IGN")));
        agrees_with_live("python", f, python.pid);

        let f = reported(&sensor, &perl, "perl");
        assert_eq!(f["sensor"]["signal"], "SIGTERM");
        assert!(
            indicators(f).contains("ignores_sigterm") && rank(f) >= 2,
            "{f}"
        );
        agrees_with_live("perl", f, perl.pid);

        // A system shell's own trap is capped by the shells' allow-list entry (the
        // rule data), in live and sense alike.
        let f = reported(&sensor, &trap, "sh");
        assert!(indicators(f).contains("ignores_sigterm"), "{f}");
        assert!(
            indicators(f).contains("allow_listed") && rank(f) <= 1,
            "{f}"
        );
        assert!(
            f["sensor"]["parent_chain"][0]
                .as_str()
                .is_some_and(|p| p.ends_with(&format!("[{me}]"))),
            "{f}"
        );
        agrees_with_live("sh-trap", f, trap.pid);

        let f = reported(&sensor, &staged_script, "sh");
        let ind = indicators(f);
        assert!(
            ind.contains("ignores_sigterm") && ind.contains("exe_temp_dir"),
            "{f}"
        );
        assert!(
            rank(f) >= 2,
            "a /dev/shm script ignoring TERM is at least medium: {f}"
        );
        agrees_with_live("staged-script", f, staged_script.pid);

        // nohup's own call is superseded by the program it execs, which keeps HUP
        // ignored; an admin's nohup of a system binary stays low.
        let f = reported(&sensor, &nohup, "sleep");
        assert_eq!(f["sensor"]["event"], "exec", "{f}");
        assert_eq!(
            f["sensor"]["signals_ignored"],
            serde_json::json!(["SIGHUP"]),
            "{f}"
        );
        assert!(
            common::str_field(f, "exec_cmd").is_some_and(|e| e.ends_with("/sleep")),
            "{f}"
        );
        assert!(indicators(f).contains("ignores_sighup"), "{f}");
        assert!(rank(f) <= 1, "nohup sleep stays low: {f}");
        agrees_with_live("nohup", f, nohup.pid);

        let f = reported(&sensor, &implant, "kdmtmpflush");
        assert_eq!(f["sensor"]["event"], "exec", "{f}");
        let set = f["sensor"]["signals_ignored"].as_array().unwrap();
        assert!(
            set.contains(&"SIGHUP".into()) && set.contains(&"SIGTERM".into()),
            "{f}"
        );
        assert_eq!(common::str_field(f, "exec_cmd"), staged.to_str());
        let ind = indicators(f);
        for want in [
            "ignores_sighup",
            "ignores_sigterm",
            "exe_temp_dir",
            "hidden_path",
            "name_masquerade",
        ] {
            assert!(ind.contains(want), "staged lacks {want}: {f}");
        }
        assert!(rank(f) >= 3, "a staged copy ignoring TERM is high: {f}");
        agrees_with_live("staged", f, implant.pid);

        let heir = sensor.for_pid(heir_pid);
        let (_, f) = heir.last().unwrap_or_else(|| {
            panic!(
                "the forked child's exec was not reported: {:#?}",
                sensor.got
            )
        });
        assert_eq!(f["sensor"]["event"], "exec", "{f}");
        assert_eq!(f["sensor"]["comm"], "kworkerd", "{f}");
        assert_eq!(
            f["sensor"]["ppid"].as_u64(),
            Some(u64::from(forker.pid)),
            "{f}"
        );
        let set = f["sensor"]["signals_ignored"].as_array().unwrap();
        assert!(set.contains(&"SIGTERM".into()), "{f}");
        assert_eq!(common::str_field(f, "exec_cmd"), heir_copy.to_str());
        assert!(
            rank(f) >= 2,
            "a staged copy that inherited TERM ignored: {f}"
        );
        agrees_with_live("forked-child", f, heir_pid);

        // The background job: seen by the kernel, judged low by the same rules.
        let job = sensor.for_pid(job_pid);
        assert!(
            !job.is_empty(),
            "the & job's SIG_IGN on INT/QUIT was not seen"
        );
        for (_, f) in &job {
            assert!(rank(f) <= 1, "a background job stays low: {f}");
            assert!(indicators(f).contains("background_job_signals"), "{f}");
        }
        assert!(
            sensor.for_pid(pipe.pid).is_empty(),
            "SIGPIPE alone is filtered in the kernel: {:#?}",
            sensor.for_pid(pipe.pid)
        );

        assert!(
            sensor.for_pid(idiom.pid).is_empty(),
            "a SIG_IGN restored at once is transient: {:#?}",
            sensor.for_pid(idiom.pid)
        );
        started.push(idiom);
        started.extend([
            python,
            perl,
            trap,
            staged_script,
            nohup,
            implant,
            shell,
            pipe,
        ]);
        let err = sensor.stop();
        let summary = err
            .iter()
            .find(|l| l.contains("kernel events"))
            .unwrap_or_else(|| panic!("no summary: {err:?}"));
        assert!(
            summary.contains("dropped 0 (ring buffer full)"),
            "{summary}"
        );
        drop(started);
    }

    /// The kernel-side rate limit: a process calling sigaction in a loop is
    /// reported once and its excess calls are counted, not sent.
    #[test]
    fn sense_rate_limits_a_sigaction_storm() {
        if let Err(reason) = prerequisites() {
            common::skip("sense_rate_limits_a_sigaction_storm", &reason, REQUIRE);
            return;
        }
        let mut sensor = Sensor::start(&["--rate", "4"]);
        let storm = spawn(
            "storm",
            clean("perl")
                .arg("-e")
                .arg("for (1..2000) { $SIG{TERM}='IGNORE' } sleep 30"),
            TERM,
        );
        sensor.wait_pid(storm.pid, Duration::from_secs(3), |_| true);
        thread::sleep(Duration::from_millis(300));
        sensor.drain();
        assert_eq!(sensor.for_pid(storm.pid).len(), 1, "{:#?}", sensor.got);
        let err = sensor.stop();
        let summary = err.iter().find(|l| l.contains("kernel events")).unwrap();
        // 2000 calls, 4 passed per second: at least 1990 counted as rate-limited.
        let limited: u64 = summary
            .split(" (ring buffer full) and ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{summary}"));
        assert!(limited >= 1990, "{summary}");
    }

    /// Without privileges it says so, suggests `live --watch`, and exits 2.
    #[test]
    fn sense_without_privileges_says_what_to_use() {
        let (Some(setpriv), true) = (common::which("setpriv"), common::is_root()) else {
            common::skip(
                "sense_without_privileges_says_what_to_use",
                "needs root and setpriv to run sighunt as nobody",
                REQUIRE,
            );
            return;
        };
        let out = common::run_with_timeout(
            Command::new(setpriv)
                .args([
                    "--reuid=65534",
                    "--regid=65534",
                    "--clear-groups",
                    "--inh-caps=-all",
                ])
                .arg(common::sighunt_bin())
                .args(["sense", "--no-config", "--duration", "5"]),
            Duration::from_secs(30),
        );
        if out.stderr.contains("Permission denied") && out.stderr.contains("setpriv") {
            common::skip(
                "sense_without_privileges_says_what_to_use",
                "nobody cannot execute the test binary here",
                REQUIRE,
            );
            return;
        }
        assert_eq!(out.status.code(), Some(2), "{}", out.describe());
        assert!(
            out.stderr.contains("needs root") && out.stderr.contains("sighunt live --watch"),
            "{}",
            out.describe()
        );
    }
}
