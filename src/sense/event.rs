//! The records the BPF program sends (`struct event` in bpf/sigaction.bpf.c),
//! decoded from the ring buffer's bytes without trusting their length.

use chrono::{DateTime, Utc};

/// Bytes in one record: 8 + 8 + 8 * 4 + 8 + 16.
pub const RECORD_LEN: usize = 72;

/// What the kernel saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// `rt_sigaction(signal, {SIG_IGN})` returned 0.
    Sigaction,
    /// A process started a program (execve) with a reported signal ignored
    /// (ignored signals survive fork and exec).
    Exec,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenseEvent {
    /// `bpf_ktime_get_ns()`: CLOCK_MONOTONIC nanoseconds.
    pub monotonic_ns: u64,
    pub cgroup_id: u64,
    /// The thread that made the call.
    pub tid: u32,
    /// The process (what `/proc` and findings call the pid).
    pub tgid: u32,
    /// The real parent's process id, as the kernel had it at the call.
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    /// The signal set to SIG_IGN; 0 for an exec.
    pub signal: u32,
    pub kind: EventKind,
    /// The reported signals whose handler was SIG_IGN in the kernel at the event
    /// (bit N-1).
    pub ignored: u64,
    /// The thread's name at the call (at most 15 bytes, lossily decoded).
    pub comm: String,
}

/// Why a record was not decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("ring buffer record of {0} bytes, expected {RECORD_LEN}")]
    Length(usize),
    #[error("ring buffer record of unknown kind {0}")]
    Kind(u32),
}

impl SenseEvent {
    pub fn decode(data: &[u8]) -> Result<SenseEvent, DecodeError> {
        if data.len() < RECORD_LEN {
            return Err(DecodeError::Length(data.len()));
        }
        let u64_at = |o: usize| u64::from_ne_bytes(data[o..o + 8].try_into().unwrap());
        let u32_at = |o: usize| u32::from_ne_bytes(data[o..o + 4].try_into().unwrap());
        let kind = match u32_at(40) {
            1 => EventKind::Sigaction,
            2 => EventKind::Exec,
            k => return Err(DecodeError::Kind(k)),
        };
        let comm = &data[56..72];
        let comm = &comm[..comm.iter().position(|&b| b == 0).unwrap_or(comm.len())];
        Ok(SenseEvent {
            monotonic_ns: u64_at(0),
            cgroup_id: u64_at(8),
            tid: u32_at(16),
            tgid: u32_at(20),
            ppid: u32_at(24),
            uid: u32_at(28),
            gid: u32_at(32),
            signal: u32_at(36),
            kind,
            ignored: u64_at(48),
            comm: String::from_utf8_lossy(comm).into_owned(),
        })
    }

    /// The wall-clock time of the event, from the monotonic clock's offset now.
    pub fn time(&self, clock: &Clocks) -> DateTime<Utc> {
        let ago = clock.monotonic_ns.saturating_sub(self.monotonic_ns);
        clock.wall - chrono::Duration::nanoseconds(ago.min(i64::MAX as u64) as i64)
    }

    /// How long ago the kernel saw it.
    pub fn age(&self, clock: &Clocks) -> std::time::Duration {
        std::time::Duration::from_nanos(clock.monotonic_ns.saturating_sub(self.monotonic_ns))
    }
}

/// The monotonic and wall clocks read together.
#[derive(Debug, Clone, Copy)]
pub struct Clocks {
    pub monotonic_ns: u64,
    pub wall: DateTime<Utc>,
}

impl Clocks {
    pub fn now() -> Clocks {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes the timespec it is given.
        unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        Clocks {
            monotonic_ns: (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64,
            wall: Utc::now(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: u32, comm: &[u8]) -> Vec<u8> {
        let mut r = Vec::new();
        for v in [5_000_000_000u64, 77] {
            r.extend_from_slice(&v.to_ne_bytes());
        }
        for v in [101u32, 100, 1, 1000, 1000, 15, kind, 0] {
            r.extend_from_slice(&v.to_ne_bytes());
        }
        r.extend_from_slice(&(1u64 << 14 | 1).to_ne_bytes());
        let mut c = [0u8; 16];
        c[..comm.len()].copy_from_slice(comm);
        r.extend_from_slice(&c);
        r
    }

    #[test]
    fn decodes_the_c_layout() {
        let r = record(1, b"python3");
        assert_eq!(r.len(), RECORD_LEN);
        let e = SenseEvent::decode(&r).unwrap();
        assert_eq!(
            (e.tid, e.tgid, e.ppid, e.uid, e.gid),
            (101, 100, 1, 1000, 1000)
        );
        assert_eq!(
            (e.signal, e.kind, e.cgroup_id),
            (15, EventKind::Sigaction, 77)
        );
        assert_eq!(e.ignored, 1 << 14 | 1);
        assert_eq!(e.comm, "python3");
        // A full 16-byte name has no terminator; invalid UTF-8 is replaced.
        let e = SenseEvent::decode(&record(2, &[b'a'; 16])).unwrap();
        assert_eq!((e.kind, e.comm.len()), (EventKind::Exec, 16));
        let e = SenseEvent::decode(&record(2, &[0xff, b'x'])).unwrap();
        assert_eq!(e.comm, "\u{fffd}x");
    }

    #[test]
    fn rejects_short_and_unknown_records() {
        let r = record(1, b"x");
        assert_eq!(SenseEvent::decode(&r[..40]), Err(DecodeError::Length(40)));
        assert_eq!(SenseEvent::decode(&[]), Err(DecodeError::Length(0)));
        assert_eq!(
            SenseEvent::decode(&record(9, b"x")),
            Err(DecodeError::Kind(9))
        );
    }

    #[test]
    fn converts_monotonic_to_wall_time() {
        let e = SenseEvent::decode(&record(1, b"x")).unwrap();
        let wall = Utc::now();
        let clock = Clocks {
            monotonic_ns: e.monotonic_ns + 250_000_000,
            wall,
        };
        assert_eq!(wall - e.time(&clock), chrono::Duration::milliseconds(250));
        assert_eq!(e.age(&clock).as_millis(), 250);
        // An event stamped after the clock was read is "now", not the future.
        let early = Clocks {
            monotonic_ns: 0,
            wall,
        };
        assert_eq!(e.time(&early), wall);
    }
}
