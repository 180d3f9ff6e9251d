//! Reading Linux procfs: the few files a live check needs, parsed from bytes.
//!
//! Hand-written rather than the `procfs` crate: the root is a parameter (a fake tree
//! in tests, `/host/proc` in a container), only the fields used are parsed, one
//! buffer is reused across processes, and every parser takes attacker-influenced
//! text (a process chooses its own `comm` and `cmdline`) without panicking.
//! Nothing here writes to `/proc` or signals a process. Every path is opened beneath
//! the root (`live::beneath`): no link leads a read out of it, no read blocks (a
//! FIFO or device in a crafted tree is refused), and every read is bounded.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::beneath::Beneath;

/// `PF_KTHREAD` in `/proc/PID/stat` flags: a kernel thread (no executable, no
/// dispositions of its own to speak of).
pub const PF_KTHREAD: u64 = 0x0020_0000;
/// Most of a command line read (the kernel allows megabytes; what identifies a
/// process is at the start).
const MAX_CMDLINE: u64 = 128 * 1024;
/// Most file descriptors examined per process.
pub const MAX_FDS: usize = 16_384;
/// Most entries of the root looked at (the kernel's largest `pid_max` is 2^22).
const MAX_ROOT_ENTRIES: usize = (1 << 22) + 4096;

/// A signal set as `/proc/PID/status` prints it: bit N-1 is signal N.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SigSet(pub u64);

impl SigSet {
    /// Parses the hex digits of `SigIgn:`/`SigBlk:`/`SigCgt:`, most significant first.
    /// Architectures with 128 signals print 32 digits; the low 64 bits (the last 16
    /// digits) hold the classic signals.
    pub fn parse(hex: &str) -> Option<SigSet> {
        let hex = hex.trim();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let low = &hex[hex.len().saturating_sub(16)..];
        u64::from_str_radix(low, 16).ok().map(SigSet)
    }

    /// Whether signal `n` (1-based) is in the set.
    pub fn contains(self, n: u32) -> bool {
        (1..=64).contains(&n) && (self.0 >> (n - 1)) & 1 == 1
    }

    /// The signal numbers in the set, ascending.
    pub fn signals(self) -> impl Iterator<Item = u32> {
        (1..=64u32).filter(move |&n| self.contains(n))
    }

    /// The set of the given signal numbers.
    pub fn of(signals: impl IntoIterator<Item = u32>) -> SigSet {
        SigSet(
            signals
                .into_iter()
                .filter(|n| (1..=64).contains(n))
                .fold(0, |acc, n| acc | 1 << (n - 1)),
        )
    }

    pub fn intersects(self, other: SigSet) -> bool {
        self.0 & other.0 != 0
    }
}

/// The fields of `/proc/PID/status` a live check uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// `Name:` (the kernel escapes `\n` and `\\` in it).
    pub name: String,
    pub ppid: u32,
    /// Real and effective uid.
    pub uid: Option<u32>,
    pub euid: Option<u32>,
    pub sig_ign: SigSet,
    pub sig_blk: SigSet,
    pub sig_cgt: SigSet,
}

/// Parses `/proc/PID/status`; `None` when the signal lines are missing (not a
/// process status file, or a truncated read).
pub fn parse_status(text: &[u8]) -> Option<Status> {
    let text = String::from_utf8_lossy(text);
    let mut st = Status::default();
    let (mut ign, mut blk, mut cgt) = (None, None, None);
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key {
            "Name" => st.name = value.to_string(),
            "PPid" => st.ppid = value.parse().unwrap_or(0),
            "Uid" => {
                let mut ids = value.split_whitespace().map(|v| v.parse().ok());
                st.uid = ids.next().flatten();
                st.euid = ids.next().flatten();
            }
            "SigIgn" => ign = SigSet::parse(value),
            "SigBlk" => blk = SigSet::parse(value),
            "SigCgt" => cgt = SigSet::parse(value),
            _ => {}
        }
    }
    st.sig_ign = ign?;
    st.sig_blk = blk.unwrap_or_default();
    st.sig_cgt = cgt.unwrap_or_default();
    Some(st)
}

/// The fields of `/proc/PID/stat` a live check uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stat {
    /// The raw task name between the parentheses (may contain spaces and `)`).
    pub comm: String,
    pub state: char,
    pub ppid: u32,
    /// Controlling terminal (0: none).
    pub tty_nr: i64,
    pub flags: u64,
    /// Start time in clock ticks since boot.
    pub starttime: u64,
    /// The `sigignore` field: SigIgn of signals 1-31 only (the kernel masks the
    /// rest); `None` on kernels or files without it.
    pub sig_ign: Option<SigSet>,
}

/// Parses `/proc/PID/stat`. The comm field may contain anything, so the fields are
/// counted from the *last* `)`.
pub fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|&b| b == b'(')?;
    let close = text.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&text[open + 1..close]).into_owned();
    let rest = String::from_utf8_lossy(&text[close + 1..]);
    // Field k of proc_pid_stat(5) is rest[k - 3].
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    if f.len() < 20 {
        return None;
    }
    Some(Stat {
        comm,
        state: f[0].chars().next().unwrap_or('?'),
        ppid: f[1].parse().ok()?,
        tty_nr: f[4].parse().ok()?,
        flags: f[6].parse().ok()?,
        starttime: f[19].parse().ok()?,
        sig_ign: f.get(30).and_then(|v| v.parse().ok()).map(SigSet),
    })
}

/// Splits `/proc/PID/cmdline` into arguments. A process may rewrite its argument
/// area (BPFDoor writes `/sbin/udevd -d` there), so a single NUL-less string is
/// kept whole.
pub fn parse_cmdline(raw: &[u8]) -> Vec<String> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// One row of `/proc/net/packet`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketSocket {
    /// `sk_type`: 3 SOCK_RAW, 2 SOCK_DGRAM.
    pub kind: u32,
    /// Ethertype, e.g. 0x0003 ETH_P_ALL, 0x0800 ETH_P_IP.
    pub proto: u32,
    pub uid: u32,
    pub inode: u64,
}

/// Parses `/proc/net/packet` (header `sk RefCnt Type Proto Iface R Rmem User Inode`).
pub fn parse_net_packet(text: &str) -> Vec<PacketSocket> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            if f.len() < 9 {
                return None;
            }
            Some(PacketSocket {
                kind: f[2].parse().ok()?,
                proto: u32::from_str_radix(f[3], 16).ok()?,
                uid: f[7].parse().ok()?,
                inode: f[8].parse().ok()?,
            })
        })
        .collect()
}

/// TCP state `0A`: listening.
pub const TCP_LISTEN: u8 = 0x0A;

/// Parses `/proc/net/{tcp,tcp6,udp,udp6}` into inode → state (`st` column, hex).
pub fn parse_net_inet(text: &str, out: &mut HashMap<u64, u8>) {
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_ascii_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let (Ok(state), Ok(inode)) = (u8::from_str_radix(f[3], 16), f[9].parse::<u64>()) else {
            continue;
        };
        if inode != 0 {
            out.insert(inode, state);
        }
    }
}

/// The inode of a `socket:[12345]` fd link.
pub fn socket_inode(link: &str) -> Option<u64> {
    link.strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// `btime` from `/proc/stat`: boot time in seconds since the epoch.
pub fn parse_btime(text: &str) -> Option<i64> {
    text.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// uid → user name from a passwd file.
pub fn parse_passwd(text: &str) -> HashMap<u32, String> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let _pw = f.next()?;
            let uid = f.next()?.parse().ok()?;
            (!name.is_empty() && !name.starts_with('#')).then(|| (uid, name.to_string()))
        })
        .collect()
}

/// Access to one procfs tree. Paths are built under `root`; reads reuse one buffer.
#[derive(Debug)]
pub struct Procfs {
    root: PathBuf,
    beneath: Beneath,
    buf: Vec<u8>,
}

impl Procfs {
    pub fn new(root: impl Into<PathBuf>) -> Procfs {
        let root = root.into();
        Procfs {
            beneath: Beneath::new(&root),
            root,
            buf: Vec::with_capacity(4096),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The numeric entries of the root: every process (thread-group leaders only).
    pub fn pids(&self) -> io::Result<Vec<u32>> {
        let mut pids: Vec<u32> = fs::read_dir(&self.root)?
            .take(MAX_ROOT_ENTRIES)
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse().ok()))
            .collect();
        pids.sort_unstable();
        Ok(pids)
    }

    /// Reads `rel` (at most `limit` bytes) into the shared buffer.
    pub fn read(&mut self, rel: &str, limit: u64) -> io::Result<&[u8]> {
        self.buf.clear();
        self.beneath
            .open_file(rel)?
            .take(limit)
            .read_to_end(&mut self.buf)?;
        Ok(&self.buf)
    }

    pub fn read_string(&mut self, rel: &str, limit: u64) -> io::Result<String> {
        self.read(rel, limit)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    pub fn status(&mut self, pid: u32) -> io::Result<Option<Status>> {
        self.read(&format!("{pid}/status"), 64 * 1024)
            .map(parse_status)
    }

    pub fn stat(&mut self, pid: u32) -> io::Result<Option<Stat>> {
        self.read(&format!("{pid}/stat"), 4096).map(parse_stat)
    }

    pub fn cmdline(&mut self, pid: u32) -> io::Result<Vec<String>> {
        self.read(&format!("{pid}/cmdline"), MAX_CMDLINE)
            .map(parse_cmdline)
    }

    /// A symlink's target as text (`exe`, `cwd`, `fd/N`, `ns/net`): read, never followed.
    pub fn link(&self, rel: &str) -> io::Result<String> {
        self.beneath
            .read_link(rel)
            .map(|p| p.to_string_lossy().into_owned())
    }

    /// The targets of the process's file descriptors, as (fd, link text), at most
    /// [`MAX_FDS`]; fds that close while being read are skipped.
    pub fn fds(&self, pid: u32) -> io::Result<Vec<(u32, String)>> {
        let mut out = Vec::new();
        for (name, target) in self.beneath.links_in(&format!("{pid}/fd"), MAX_FDS)? {
            if let Ok(fd) = name.parse() {
                out.push((fd, target.to_string_lossy().into_owned()));
            }
        }
        Ok(out)
    }
}

/// The socket tables of one network namespace.
#[derive(Debug, Default)]
pub struct NetTables {
    pub packet: HashSet<u64>,
    /// Inode → TCP/UDP state, IPv4 and IPv6.
    pub inet: HashMap<u64, u8>,
    /// Inodes of listening TCP sockets.
    pub listening: HashSet<u64>,
}

impl NetTables {
    /// Reads the tables under `dir` (`net` or `PID/net` relative to the root);
    /// missing files leave their part empty.
    pub fn read(proc: &mut Procfs, dir: &str) -> NetTables {
        let mut t = NetTables::default();
        if let Ok(text) = proc.read_string(&format!("{dir}/packet"), 16 << 20) {
            t.packet = parse_net_packet(&text)
                .into_iter()
                .map(|p| p.inode)
                .collect();
        }
        for (file, tcp) in [
            ("tcp", true),
            ("tcp6", true),
            ("udp", false),
            ("udp6", false),
        ] {
            if let Ok(text) = proc.read_string(&format!("{dir}/{file}"), 64 << 20) {
                let mut part = HashMap::new();
                parse_net_inet(&text, &mut part);
                if tcp {
                    t.listening.extend(
                        part.iter()
                            .filter(|(_, s)| **s == TCP_LISTEN)
                            .map(|(i, _)| *i),
                    );
                }
                t.inet.extend(part);
            }
        }
        t
    }
}
