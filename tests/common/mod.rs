//! Helpers shared by the integration tests (`mod common;` in a file under `tests/`).
//!
//! * running the `sighunt` binary (with a time limit) and parsing its JSON Lines output;
//! * environment probes (root, programs on `PATH`, running processes);
//! * the skip policy: a test whose prerequisites are missing prints why and returns, unless
//!   the environment variable named by the caller (e.g. `SIGHUNT_REQUIRE_KERNEL_TESTS=1`)
//!   asks for it to be mandatory, in which case the skip is a failure.
//!
//! No dependency beyond the crate's own (`serde_json`) and the standard library.

#![allow(dead_code)]

use std::ffi::OsStr;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Environment variable that turns a skipped real-kernel test into a failure.
pub const REQUIRE_KERNEL_TESTS: &str = "SIGHUNT_REQUIRE_KERNEL_TESTS";

/// Default time limit for one `sighunt` run.
pub const SIGHUNT_TIMEOUT: Duration = Duration::from_secs(60);

/// The crate root (where `Cargo.toml`, `scripts/`, `examples/` live).
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `sighunt` binary cargo built for this test run.
pub fn sighunt_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sighunt"))
}

// ---------------------------------------------------------------------------------------
// Running programs
// ---------------------------------------------------------------------------------------

/// What a finished (or killed) child produced.
#[derive(Debug)]
pub struct RunOutput {
    /// What was run, for messages.
    pub what: String,
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The time limit was reached and the child was killed.
    pub timed_out: bool,
}

impl RunOutput {
    pub fn success(&self) -> bool {
        !self.timed_out && self.status.success()
    }

    /// A short report for assertion messages (stderr tail included).
    pub fn describe(&self) -> String {
        let status = if self.timed_out {
            "killed after the time limit".to_string()
        } else {
            format!("{}", self.status)
        };
        format!(
            "`{}` ended with {status}\n--- stderr (tail) ---\n{}\n--- stdout (head) ---\n{}",
            self.what,
            tail(&self.stderr, 60),
            head(&self.stdout, 20)
        )
    }
}

fn head(s: &str, lines: usize) -> String {
    s.lines().take(lines).collect::<Vec<_>>().join("\n")
}

fn tail(s: &str, lines: usize) -> String {
    let all: Vec<&str> = s.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Run `cmd` with stdin closed, capturing stdout and stderr, killing it after `limit`.
/// Panics only if the program cannot be started at all.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> RunOutput {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));

    // Drain both pipes on their own threads so a chatty child never blocks.
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });

    let deadline = Instant::now() + limit;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                timed_out = true;
                let _ = child.kill();
                break child.wait().expect("wait for killed child");
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {what}: {e}"),
        }
    };
    let stdout = String::from_utf8_lossy(&out_thread.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&err_thread.join().unwrap_or_default()).into_owned();
    RunOutput {
        what,
        status,
        stdout,
        stderr,
        timed_out,
    }
}

/// Run the `sighunt` binary with `args`.
pub fn run_sighunt<I, S>(args: I) -> RunOutput
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(sighunt_bin());
    cmd.args(args).env("NO_COLOR", "1").env_remove("RUST_LOG");
    run_with_timeout(&mut cmd, SIGHUNT_TIMEOUT)
}

/// `sighunt hunt --format jsonl <paths...>`: the run and its findings, one JSON value per
/// non-empty stdout line. Panics (with the run's stderr) if a line is not a JSON object.
pub fn hunt_jsonl(paths: &[&Path]) -> (RunOutput, Vec<Value>) {
    let mut args: Vec<&OsStr> = vec![
        OsStr::new("hunt"),
        OsStr::new("--format"),
        OsStr::new("jsonl"),
    ];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    let out = run_sighunt(args);
    let findings = parse_jsonl(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of sighunt is not JSON Lines: {e}\n{}",
            out.describe()
        )
    });
    (out, findings)
}

/// Parse JSON Lines: every non-empty line must be a JSON object.
pub fn parse_jsonl(text: &str) -> Result<Vec<Value>, String> {
    let mut values = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value =
            serde_json::from_str(line).map_err(|e| format!("line {}: {e}: {line}", i + 1))?;
        if !v.is_object() {
            return Err(format!("line {}: not a JSON object: {line}", i + 1));
        }
        values.push(v);
    }
    Ok(values)
}

// ---------------------------------------------------------------------------------------
// Environment probes
// ---------------------------------------------------------------------------------------

/// Effective uid is 0, read from `/proc/self/status` (falls back to `id -u`).
pub fn is_root() -> bool {
    if let Ok(status) = fs::read_to_string("/proc/self/status") {
        if let Some(line) = status.lines().find(|l| l.starts_with("Uid:")) {
            // Uid: real effective saved fs
            return line.split_whitespace().nth(2) == Some("0");
        }
    }
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Full path of an executable found on `PATH` (plus the sbin directories, which a
/// non-login root shell may lack).
pub fn which(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH").unwrap_or_default();
    let extra = ["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from);
    std::env::split_paths(&path)
        .chain(extra)
        .map(|dir| dir.join(program))
        .find(|p| {
            fs::metadata(p)
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Pids of running processes whose name (`/proc/PID/comm`) is exactly `name`.
pub fn pids_named(name: &str) -> Vec<u32> {
    let Ok(dir) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|pid| {
            fs::read_to_string(format!("/proc/{pid}/comm"))
                .map(|c| c.trim_end() == name)
                .unwrap_or(false)
        })
        .collect()
}

/// Is the environment variable set to a true-ish value (`1`, `true`, `yes`)?
pub fn env_flag(var: &str) -> bool {
    std::env::var(var)
        .map(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
        .unwrap_or(false)
}

/// Skip policy. Prints `SKIP <test>: <reason>` to stderr, or panics when `require_var` is
/// set (see [`env_flag`]). Call it and then `return` from the test.
pub fn skip(test: &str, reason: &str, require_var: &str) {
    if env_flag(require_var) {
        panic!("{test} cannot run but {require_var} is set: {reason}");
    }
    eprintln!("SKIP {test}: {reason} (set {require_var}=1 to make this a failure)");
}

/// Prerequisites of tests that drive the real kernel audit subsystem with
/// `scripts/audit-scenarios.sh`: root, `auditd` and `auditctl`, and no audit daemon
/// already running (only one can own the kernel's audit socket).
pub fn kernel_audit_prereqs() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("needs Linux".into());
    }
    if !is_root() {
        return Err("needs root (kernel audit rules and a private auditd)".into());
    }
    for tool in ["auditd", "auditctl"] {
        if which(tool).is_none() {
            return Err(format!(
                "`{tool}` not found on PATH (apt-get install -y auditd)"
            ));
        }
    }
    let running = pids_named("auditd");
    if !running.is_empty() {
        return Err(format!(
            "an auditd is already running (pid {running:?}); the test needs its own"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------

/// `value[key]` as `&str`, or `None` when absent / not a string.
pub fn str_field<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

/// The `indicators` array as strings (non-strings are ignored).
pub fn indicators(value: &Value) -> Vec<&str> {
    value
        .get("indicators")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A one-line rendering of a finding for messages, long strings shortened.
pub fn brief(value: &Value) -> String {
    fn shorten(v: &Value) -> Value {
        match v {
            Value::String(s) if s.len() > 160 => {
                let cut = (0..=120)
                    .rev()
                    .find(|&i| s.is_char_boundary(i))
                    .unwrap_or(0);
                Value::String(format!("{}…<{} bytes>", &s[..cut], s.len()))
            }
            Value::Object(m) => {
                Value::Object(m.iter().map(|(k, v)| (k.clone(), shorten(v))).collect())
            }
            Value::Array(a) => Value::Array(a.iter().map(shorten).collect()),
            other => other.clone(),
        }
    }
    shorten(value).to_string()
}

/// Seconds since the Unix epoch of an RFC 3339 timestamp
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`), or `None` if it is not one.
pub fn rfc3339_to_unix(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| std::str::from_utf8(part).ok()?.parse().ok())?
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !matches!(b.get(10), Some(b'T' | b't'))
    {
        return None;
    }
    if b.get(13) != Some(&b':') || b.get(16) != Some(&b':') {
        return None;
    }
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    let offset = match b.get(i..)? {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), ..] if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (num(i + 1, 2)?, num(i + 4, 2)?);
            let o = oh * 3600 + om * 60;
            if *sign == b'+' { o } else { -o }
        }
        _ => return None,
    };
    // days from civil (H. Hinnant)
    let yy = if mo <= 2 { y - 1 } else { y };
    let era = yy.div_euclid(400);
    let yoe = yy - era * 400;
    let doy = (153 * ((mo + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset)
}

// ---------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------

/// `/proc/PID/stat` start time (field 22), to recognise a process (pids are reused).
pub fn start_time(pid: u32) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19).map(str::to_string)
}

/// The `SigIgn` mask of `/proc/PID/status`.
pub fn sig_ign(pid: u32) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

/// A kernel-shaped nohup launch of `target` (SYSCALL, EXECVE, PROCTITLE) stamped
/// `secs`.`ms`:`serial`: one finding each, for tests that need many of them.
pub fn nohup_launch(secs: u64, ms: u64, serial: u64, pid: u32, target: &str) -> String {
    let hex: String = format!("nohup\0{target}")
        .bytes()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!(
        "type=SYSCALL msg=audit({secs}.{ms:03}:{serial}): arch=c000003e syscall=59 success=yes exit=0 a0=1 a1=2 a2=3 a3=4 items=2 ppid=1 pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm=\"nohup\" exe=\"/usr/bin/nohup\" key=(null)\n\
         type=EXECVE msg=audit({secs}.{ms:03}:{serial}): argc=2 a0=\"nohup\" a1=\"{target}\"\n\
         type=PROCTITLE msg=audit({secs}.{ms:03}:{serial}): proctitle={hex}\n"
    )
}

/// `word` single-quoted for a shell.
pub fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// Hunts one sudo syslog line (run from `pwd`, `COMMAND=command`) written to
/// `dir/sudo.log`: the findings, the run having finished in time.
pub fn hunt_sudo_command(dir: &Path, pwd: &str, command: &str) -> Vec<Value> {
    let log = dir.join("sudo.log");
    fs::write(
        &log,
        format!(
            "<85>1 2026-11-28T04:53:42.216440+00:00 vm sudo - - -      root : PWD={pwd} ; \
             USER=root ; COMMAND={command}\n"
        ),
    )
    .unwrap();
    let (run, findings) = hunt_jsonl(&[&log]);
    assert!(!run.timed_out, "{}", run.describe());
    findings
}

/// How many parallel ranges a hunt's summary says one large file was read as.
pub fn split_ranges(stderr: &str) -> Option<usize> {
    let (_, rest) = stderr.split_once("1 large file read as ")?;
    rest.split_once(" parallel ranges")?.0.parse().ok()
}

/// The ranges a file of `bytes` is split into on `threads` threads: at least one
/// per thread, and ranges of at most about `sources::chunked::RANGE_BYTES`, so that
/// every worker parses ahead of the engine.
pub fn expected_ranges(bytes: u64, threads: usize) -> usize {
    threads.max(bytes.div_ceil(sighunt_core::sources::chunked::RANGE_BYTES) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339() {
        assert_eq!(rfc3339_to_unix("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            rfc3339_to_unix("2021-03-07T20:50:32.375Z"),
            Some(1_615_150_232)
        );
        assert_eq!(
            rfc3339_to_unix("2021-03-07T21:50:32+01:00"),
            Some(1_615_150_232)
        );
        assert_eq!(rfc3339_to_unix("2021-03-07 20:50:32Z"), None);
        assert_eq!(rfc3339_to_unix("2021-03-07T20:50:32"), None);
        assert_eq!(rfc3339_to_unix("1615150232"), None);
    }

    #[test]
    fn jsonl() {
        assert_eq!(parse_jsonl("{\"a\":1}\n\n{\"b\":2}\n").unwrap().len(), 2);
        assert!(parse_jsonl("{\"a\":1}\n[1]\n").is_err());
        assert!(parse_jsonl("nope\n").is_err());
    }
}
