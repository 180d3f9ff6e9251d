//! Writes a large, realistic raw `audit.log` for the benchmark.
//!
//! `sighunt-bench-gen OUT.log SIZE_MB [SEED]` writes about SIZE_MB MiB and prints
//! on stdout how many technique launches it planted (`planted_nohup=N`,
//! `planted_signal=N`), so the bench can check that the detections are all there.
//!
//! Record shapes are those of real auditd 3.x output on x86_64 (as in
//! `examples/linux/audit-raw.log` and the shared corpus): `SYSCALL` with all its
//! registers and ids, `EXECVE` with quoted or hex-encoded arguments, `CWD`, `PATH`
//! items, hex `PROCTITLE`, `BPRM_FCAPS`, and the PAM/service records of a busy host.
//! The mix is mostly non-exec syscalls (file, socket, sendto) and benign execs of
//! many processes, with the records of up to eight events interleaved, and a small
//! fraction of launches the technique is about: plain nohup, `sh -c` strings
//! hex-encoded by the kernel, arguments split into `aN[i]` chunks, nohup behind
//! wrappers, and `trap '' HUP` / Python `SIG_IGN`. Benign look-alikes (`grep nohup`,
//! `man nohup`, `echo nohup`) are mixed in so that a text search over-counts.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};

/// xorshift64*: fast and reproducible for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// Benign commands: (exe, argv).
const BENIGN: &[(&str, &[&str])] = &[
    ("/usr/bin/ls", &["ls", "-la", "/var/log"]),
    ("/usr/bin/cat", &["cat", "/proc/meminfo"]),
    ("/usr/bin/grep", &["grep", "-c", "nohup", "/var/log/syslog"]),
    ("/usr/bin/grep", &["grep", "-rn", "ERROR", "/var/log/app"]),
    ("/usr/bin/systemctl", &["systemctl", "status", "sshd"]),
    (
        "/usr/bin/python3.11",
        &[
            "/usr/bin/python3",
            "/usr/lib/update-notifier/apt-check",
            "--human-readable",
        ],
    ),
    ("/usr/bin/git", &["git", "status", "--porcelain"]),
    ("/usr/bin/ps", &["ps", "-eo", "pid,comm,etime"]),
    ("/usr/bin/man", &["man", "nohup"]),
    (
        "/usr/bin/dash",
        &["/bin/sh", "-c", "echo nohup is a command"],
    ),
    (
        "/usr/bin/dash",
        &["/bin/sh", "-c", "run-parts --report /etc/cron.hourly"],
    ),
    (
        "/usr/bin/run-parts",
        &["run-parts", "--report", "/etc/cron.hourly"],
    ),
    (
        "/usr/sbin/logrotate",
        &["/usr/sbin/logrotate", "/etc/logrotate.conf"],
    ),
    (
        "/usr/bin/curl",
        &["curl", "-fsS", "http://127.0.0.1:8080/health"],
    ),
    ("/usr/bin/date", &["date", "+%s"]),
    ("/usr/bin/awk", &["awk", "{print $1}", "/etc/passwd"]),
    ("/usr/bin/sed", &["sed", "-n", "1,10p", "/etc/hosts"]),
    (
        "/usr/bin/find",
        &["find", "/tmp", "-mtime", "+7", "-delete"],
    ),
    (
        "/usr/bin/bash",
        &["bash", "-c", "source /etc/profile && env | sort"],
    ),
    ("/usr/bin/sleep", &["sleep", "5"]),
];

/// Non-exec syscalls: (number, comm, exe, has a path, exit).
const OTHER: &[(u32, &str, &str, bool, &str)] = &[
    (257, "nginx", "/usr/sbin/nginx", true, "12"),
    (257, "sshd", "/usr/sbin/sshd", true, "5"),
    (2, "pickup", "/usr/libexec/postfix/pickup", true, "-13"),
    (44, "auditd", "/usr/sbin/auditd", false, "60"),
    (42, "curl", "/usr/bin/curl", false, "0"),
    (87, "logrotate", "/usr/sbin/logrotate", true, "0"),
    (90, "chmod", "/usr/bin/chmod", true, "0"),
    (
        4,
        "systemd-journal",
        "/usr/lib/systemd/systemd-journald",
        true,
        "0",
    ),
];

/// PAM / service records (single-record events), `{pid}` etc. filled in.
const USER_RECORDS: &[&str] = &[
    "USER_ACCT msg=audit({ts}): pid={pid} uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:accounting acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
    "CRED_ACQ msg=audit({ts}): pid={pid} uid=0 auid=4294967295 ses=4294967295 msg='op=PAM:setcred acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
    "LOGIN msg=audit({ts}): pid={pid} uid=0 subj=unconfined old-auid=4294967295 auid=0 tty=(none) old-ses=4294967295 ses={ses} res=1",
    "USER_START msg=audit({ts}): pid={pid} uid=0 auid=0 ses={ses} msg='op=PAM:session_open acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
    "CRED_DISP msg=audit({ts}): pid={pid} uid=0 auid=0 ses={ses} msg='op=PAM:setcred acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
    "USER_END msg=audit({ts}): pid={pid} uid=0 auid=0 ses={ses} msg='op=PAM:session_close acct=\"root\" exe=\"/usr/sbin/cron\" hostname=? addr=? terminal=cron res=success'",
    "SERVICE_START msg=audit({ts}): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='unit=phpsessionclean comm=\"systemd\" exe=\"/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'",
    "SERVICE_STOP msg=audit({ts}): pid=1 uid=0 auid=4294967295 ses=4294967295 msg='unit=phpsessionclean comm=\"systemd\" exe=\"/lib/systemd/systemd\" hostname=? addr=? terminal=? res=success'",
];

struct Gen {
    rng: Rng,
    serial: u64,
    ms: u64,
    next_pid: u32,
    planted_nohup: u64,
    planted_signal: u64,
    /// Events being written, each a queue of its remaining records (reversed), and
    /// the event it leads to (a child's exec starts once its parent's is written).
    open: Vec<(Vec<String>, Option<Vec<String>>)>,
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[(b >> 4) as usize] as char);
        s.push(HEX[(b & 15) as usize] as char);
    }
    s
}

/// An EXECVE argument as auditd writes it: quoted when plain, hex otherwise.
fn arg_value(a: &str) -> String {
    let plain = !a.is_empty() && a.bytes().all(|b| b.is_ascii_graphic() && b != b'"');
    if plain {
        format!("\"{a}\"")
    } else {
        hex(a.as_bytes())
    }
}

impl Gen {
    fn stamp(&self, serial: u64, ms: u64) -> String {
        format!("{}.{:03}:{serial}", 1_795_000_000 + ms / 1000, ms % 1000)
    }

    fn pid(&mut self) -> u32 {
        // Many processes: pids wrap like a busy host's.
        self.next_pid = if self.next_pid >= 4_000_000 {
            1000
        } else {
            self.next_pid + 1 + self.rng.below(7) as u32
        };
        self.next_pid
    }

    fn new_serial(&mut self) -> (u64, u64) {
        self.serial += 1;
        self.ms += self.rng.below(3);
        (self.serial, self.ms)
    }

    // The fields of one SYSCALL record, in the record's order.
    #[allow(clippy::too_many_arguments)]
    fn syscall(
        &mut self,
        ts: &str,
        nr: u32,
        exit: &str,
        items: u32,
        ppid: u32,
        pid: u32,
        comm: &str,
        exe: &str,
    ) -> String {
        let r = self.rng.next();
        format!(
            "type=SYSCALL msg=audit({ts}): arch=c000003e syscall={nr} success={} exit={exit} a0={:x} a1={:x} a2={:x} a3=0 items={items} ppid={ppid} pid={pid} auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 ses=3 comm=\"{comm}\" exe=\"{exe}\" subj=unconfined key=(null)",
            if exit.starts_with('-') { "no" } else { "yes" },
            0x5500_0000_0000u64 + (r & 0xffff_ffff),
            0x7ffe_0000_0000u64 + (r >> 32),
            r & 0xfff,
        )
    }

    fn path(ts: &str, item: u32, name: &str, inode: u64) -> String {
        format!(
            "type=PATH msg=audit({ts}): item={item} name=\"{name}\" inode={inode} dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0"
        )
    }

    /// One exec event; `split` cuts the last argument into `aN[i]` chunks.
    fn exec(
        &mut self,
        exe: &str,
        argv: &[String],
        ppid: u32,
        pid: u32,
        cwd: &str,
        split: bool,
    ) -> Vec<String> {
        let (serial, ms) = self.new_serial();
        let ts = self.stamp(serial, ms);
        let comm: String = argv[0]
            .rsplit('/')
            .next()
            .unwrap_or("x")
            .chars()
            .take(15)
            .collect();
        let mut recs = vec![self.syscall(&ts, 59, "0", 2, ppid, pid, &comm, exe)];
        recs.push(format!("type=BPRM_FCAPS msg=audit({ts}): fver=0 fp=0 fi=0 fe=0 old_pp=000001fffeffffff old_pi=0 old_pe=000001fffeffffff old_pa=0 pp=000001fffeffffff pi=0 pe=000001fffeffffff pa=0 frootid=0"));
        let mut line = format!("type=EXECVE msg=audit({ts}): argc={}", argv.len());
        for (i, a) in argv.iter().enumerate() {
            if split && i == argv.len() - 1 {
                // The kernel's form for an argument too long for one record.
                let h = hex(a.as_bytes());
                let _ = write!(line, " a{i}_len={}", h.len());
                for (j, chunk) in h.as_bytes().chunks(7_500).enumerate() {
                    let _ = write!(line, " a{i}[{j}]={}", std::str::from_utf8(chunk).unwrap());
                    recs.push(std::mem::replace(
                        &mut line,
                        format!("type=EXECVE msg=audit({ts}):"),
                    ));
                }
            } else {
                let _ = write!(line, " a{i}={}", arg_value(a));
            }
        }
        if !line.ends_with("):") {
            recs.push(line);
        }
        recs.push(format!("type=CWD msg=audit({ts}): cwd={}", arg_value(cwd)));
        recs.push(Self::path(&ts, 0, exe, 240_000 + u64::from(pid % 9000)));
        recs.push(Self::path(&ts, 1, "/lib64/ld-linux-x86-64.so.2", 325_843));
        let title: Vec<u8> = argv.join("\0").into_bytes();
        recs.push(format!(
            "type=PROCTITLE msg=audit({ts}): proctitle={}",
            hex(&title[..title.len().min(128)])
        ));
        recs
    }

    fn other(&mut self) -> Vec<String> {
        let (serial, ms) = self.new_serial();
        let ts = self.stamp(serial, ms);
        let &(nr, comm, exe, has_path, exit) = self.rng.pick(OTHER);
        let pid = 1000 + self.rng.below(60_000) as u32;
        let mut recs = vec![self.syscall(&ts, nr, exit, u32::from(has_path), 1, pid, comm, exe)];
        if nr == 42 {
            recs.push(format!(
                "type=SOCKADDR msg=audit({ts}): saddr=02001F90{}0000000000000000",
                hex(&[10, 0, (pid % 250) as u8, 7])
            ));
        }
        if has_path {
            recs.push(format!("type=CWD msg=audit({ts}): cwd=\"/\""));
            recs.push(format!(
                "type=PATH msg=audit({ts}): item=0 name=\"/var/lib/{comm}/state.{}\" inode={} dev=fe:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
                serial % 97,
                400_000 + serial % 100_000
            ));
        }
        recs.push(format!(
            "type=PROCTITLE msg=audit({ts}): proctitle={}",
            hex(exe.as_bytes())
        ));
        recs
    }

    fn user_record(&mut self) -> Vec<String> {
        let (serial, ms) = self.new_serial();
        let ts = self.stamp(serial, ms);
        let pid = self.pid();
        let t = self.rng.pick(USER_RECORDS);
        vec![format!(
            "type={}",
            t.replace("{ts}", &ts)
                .replace("{pid}", &pid.to_string())
                .replace("{ses}", &(serial % 500).to_string())
        )]
    }

    fn benign_exec(&mut self) -> Vec<String> {
        let &(exe, argv) = self.rng.pick(BENIGN);
        let argv: Vec<String> = argv.iter().map(|s| s.to_string()).collect();
        let ppid = 1000 + self.rng.below(60_000) as u32;
        let pid = self.pid();
        self.exec(exe, &argv, ppid, pid, "/root", false)
    }

    /// A launch the detectors must find; may be two execs (`sh -c` then nohup).
    fn planted(&mut self) -> Vec<Vec<String>> {
        // Unique per launch, so that each is its own finding.
        let n = self.serial;
        let ppid = 1000 + self.rng.below(60_000) as u32;
        let pid = self.pid();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match self.rng.below(6) {
            0 => {
                self.planted_nohup += 1;
                vec![self.exec(
                    "/usr/bin/nohup",
                    &s(&[
                        "nohup",
                        &format!("/tmp/.cache-{n}/kworker"),
                        "-c",
                        "/tmp/.c",
                    ]),
                    ppid,
                    pid,
                    "/tmp",
                    false,
                )]
            }
            1 => {
                // sh -c "nohup … &" (hex-encoded by the kernel), then the nohup exec.
                self.planted_nohup += 1;
                let target = format!("/dev/shm/x{n}.sh");
                let sh = self.exec(
                    "/usr/bin/dash",
                    &s(&["sh", "-c", &format!("nohup {target} >/dev/null 2>&1 &")]),
                    ppid,
                    pid,
                    "/tmp",
                    false,
                );
                let child = self.pid();
                let nohup = self.exec(
                    "/usr/bin/nohup",
                    &s(&["nohup", &target]),
                    pid,
                    child,
                    "/tmp",
                    false,
                );
                vec![sh, nohup]
            }
            2 => {
                // An argument split by the kernel into a1[0], a1[1], ….
                self.planted_nohup += 1;
                let long = format!("{}; nohup /var/tmp/.x{n} &", ":".repeat(9_000));
                vec![self.exec(
                    "/usr/bin/bash",
                    &s(&["bash", "-c", &long]),
                    ppid,
                    pid,
                    "/tmp",
                    true,
                )]
            }
            3 => {
                self.planted_nohup += 1;
                let port = (1024 + n % 60_000).to_string();
                vec![self.exec(
                    "/usr/bin/env",
                    &s(&["env", "X=1", "setsid", "nohup", "nc", "-lvp", &port]),
                    ppid,
                    pid,
                    "/root",
                    false,
                )]
            }
            4 => {
                self.planted_signal += 1;
                vec![self.exec(
                    "/usr/bin/bash",
                    &s(&[
                        "bash",
                        "-c",
                        "trap '' HUP INT TERM; /tmp/.w/miner --donate 0",
                    ]),
                    ppid,
                    pid,
                    "/tmp",
                    false,
                )]
            }
            _ => {
                self.planted_signal += 1;
                vec![self.exec(
                    "/usr/bin/python3.11",
                    &s(&["python3", "-c", "import signal,os; signal.signal(signal.SIGHUP, signal.SIG_IGN); os.system('/tmp/.w/agent')"]),
                    ppid,
                    pid,
                    "/tmp",
                    false,
                )]
            }
        }
    }

    /// The next event(s) to write, by the mix.
    fn next_events(&mut self, planted_per_million: u64) -> Vec<Vec<String>> {
        let roll = self.rng.below(1_000_000);
        if roll < planted_per_million {
            return self.planted();
        }
        match roll % 100 {
            0..=54 => vec![self.other()],
            55..=64 => vec![self.user_record()],
            _ => vec![self.benign_exec()],
        }
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: sighunt-bench-gen OUT.log SIZE_MB [SEED]");
        std::process::exit(2);
    }
    let size = args[2].parse::<u64>().expect("SIZE_MB") << 20;
    let seed = args
        .get(3)
        .map_or(0x5167_4e75, |s| s.parse().expect("SEED"))
        | 1;
    let mut out = BufWriter::with_capacity(1 << 20, File::create(&args[1])?);
    let mut g = Gen {
        rng: Rng(seed),
        serial: 1000,
        ms: 0,
        next_pid: 1000,
        planted_nohup: 0,
        planted_signal: 0,
        open: Vec::new(),
    };
    // About one planted launch per 2,000 events.
    let planted_per_million = 500;
    let mut written = 0u64;
    loop {
        // Keep up to 8 events open and write their records interleaved, in order
        // within each event, as auditd does on a busy multi-core host.
        while g.open.len() < 8 {
            // A parent's exec and the child's it leads to: the child's is opened
            // only once the parent's is written.
            let mut events = g.next_events(planted_per_million).into_iter().map(|mut e| {
                e.reverse();
                e
            });
            let first = events.next().expect("at least one event");
            g.open.push((first, events.next()));
        }
        let i = g.rng.below(g.open.len() as u64) as usize;
        let rec = g.open[i].0.pop().expect("open events are not empty");
        if g.open[i].0.is_empty() {
            let (_, next) = g.open.swap_remove(i);
            if let Some(next) = next {
                g.open.push((next, None));
            }
        }
        out.write_all(rec.as_bytes())?;
        out.write_all(b"\n")?;
        written += rec.len() as u64 + 1;
        if written >= size {
            break;
        }
    }
    // Finish the open events so that nothing planted is cut off.
    for (e, next) in std::mem::take(&mut g.open) {
        for rec in e
            .into_iter()
            .rev()
            .chain(next.into_iter().flat_map(|n| n.into_iter().rev()))
        {
            out.write_all(rec.as_bytes())?;
            out.write_all(b"\n")?;
        }
    }
    out.flush()?;
    println!("planted_nohup={}", g.planted_nohup);
    println!("planted_signal={}", g.planted_signal);
    Ok(())
}
