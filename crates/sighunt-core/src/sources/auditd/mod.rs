//! Linux audit source: raw and enriched `audit.log`, `node=` prefixes, records
//! wrapped in syslog (`audispd:`, `audit:`) and the kernel's printk form.
//!
//! Records are grouped into events by their `(time:serial)` stamp, although records
//! of different events interleave. An event ends at its `PROCTITLE` (always last) or
//! `EOE`, or when it is older than [`EVENT_TIMEOUT_MS`] of log time, or when too many
//! events are open (counted in [`AuditParser::expired_by_count`]). `SYSCALL` + `EXECVE` + `CWD` + `PATH` + `PROCTITLE` become one
//! [`ProcessStart`]; `bind`/`listen`/`connect` with their `SOCKADDR` become a
//! [`NetworkActivity`]. Arguments are decoded at the kernel's fidelity: hex-encoded
//! values, `aN_len` + `aN[i]` chunks, and one argv spread over several `EXECVE`
//! records; `PROCTITLE` (cut at 128 bytes) is a fallback only.
//!
//! Speed: a record's fate is decided from its header before its fields are read
//! (unwanted types, records of events already dropped or completed, and non-exec
//! `SYSCALL`s from their first two fields); only exec and socket events are parsed
//! field by field, and their argument bytes are decoded once and moved, not copied,
//! into the event.

mod record;
mod spares;
mod syscall;

use std::collections::{HashMap, VecDeque};

use rustc_hash::{FxHashMap, FxHashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

#[doc(hidden)]
pub use record::parse_stamp;
pub use record::{
    Header, NoRecord, Record, Value, decode_hex, fields, parse_header_if, parse_record,
    parse_record_if,
};

use spares::Spares;
use syscall::{Syscall, parse_syscall};

use crate::command::join_argv_into;
use crate::event::{
    Event, NetworkActivity, NetworkKind, Platform, Position, ProcessOrigin, ProcessStart,
    Provenance,
};
use crate::input::InputError;
use crate::sources::{EventSink, LineParser};
use crate::text::lossy_string;

/// An event with no end marker is complete once the log is this far past it
/// (auditd's own `end_of_event_timeout` default is 2 s).
pub const EVENT_TIMEOUT_MS: i64 = 2_000;
/// ...and at least this many lines past its last record, so that records sorted or
/// shuffled by a collector are still joined.
const EVENT_TIMEOUT_LINES: u64 = 64;
/// Most events kept open at once; the oldest is completed beyond this.
pub const MAX_OPEN_EVENTS: usize = 4_096;
/// Most entries of the open-event order queue: entries of events completed out of
/// order stay queued behind an older open one until it leaves; past this the queue
/// is compacted (and if still full, the oldest open event completed).
const MAX_ORDER_ENTRIES: usize = 4 * MAX_OPEN_EVENTS;
/// Most argument bytes kept for one exec (Linux's ARG_MAX is 2 MiB by default).
const MAX_ARGV_BYTES: usize = 4 * 1024 * 1024;
/// Most argument slots reserved up front from an EXECVE's `argc`.
const MAX_ARGS_RESERVED: usize = 64;
/// Most records accepted into one event; the rest are counted and dropped.
const MAX_RECORDS_PER_EVENT: u32 = 20_000;
/// How many completed events are remembered, so late records are not mistaken for
/// new events.
const RECENTLY_DONE: usize = 1_024;

/// The name of this format in findings.
pub const FORMAT: &str = "auditd";

/// Key of an open event: a hash of the host, and the serial (serials are per host).
type EventKey = (u64, u64);

/// FNV-1a of the `node=` name: cheap, allocation-free, and collisions between the
/// few hosts of one file are not a practical concern.
fn node_hash(node: Option<&[u8]>) -> u64 {
    node.map_or(0, |n| {
        n.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    })
}

/// A push parser for audit text.
pub struct AuditParser {
    path: Arc<str>,
    /// Boxed: a record's lookup and an event's completion move a pointer, not the
    /// whole partial event (the boxes are reused, see [`Spares`]).
    open: FxHashMap<EventKey, Box<Partial>>,
    /// Open events oldest first, as (key, log time, sequence number of the opening):
    /// an entry whose event is no longer open under that number is stale.
    order: VecDeque<(EventKey, i64, u64)>,
    opened: u64,
    /// The opening number of `order`'s front entry when it was last found open;
    /// cleared when that event leaves `open`. While set, the expiry test of each
    /// line needs no lookup until the event's time is up.
    front_open: Option<u64>,
    /// Events completed or found irrelevant recently, oldest first, so that their
    /// late or remaining records are dropped instead of opening a new event.
    closed: FxHashSet<EventKey>,
    closed_order: VecDeque<EventKey>,
    latest_ms: i64,
    /// Records that belonged to an event already completed.
    pub late_records: u64,
    /// Exec attempts that failed (`success=no`), e.g. nohup's `execvp` PATH search.
    pub failed_execs: u64,
    /// Events completed early because too many were open (or queued) at once,
    /// before their end marker and before their timeout: with a well-formed log
    /// this stays 0; a high count means records of one event may have been split.
    pub expired_by_count: u64,
    /// Buffers of the events the sink has finished with, for the next events' text.
    spares: Spares,
    /// The event lent to the sink ([`EventSink::lend`]), left here when the sink
    /// has finished with it.
    lent: Option<Event>,
}

/// What is known so far of one event.
#[derive(Default)]
pub(super) struct Partial {
    /// Sequence number of the opening (matches its `order` entry).
    seq: u64,
    first_line: u64,
    last_line: u64,
    time_ms: i64,
    node: Option<String>,
    records: u32,
    syscall: Option<Syscall>,
    argc: Option<usize>,
    /// Arguments as text, each made text once, as it is stored (a gap left by
    /// arguments out of order is empty, as it ends up in argv).
    args: Vec<String>,
    /// `aN_len`-announced arguments being assembled from `aN[i]` chunks.
    chunks: HashMap<usize, Vec<u8>>,
    argv_bytes: usize,
    truncated: bool,
    cwd: Option<String>,
    path0: Option<String>,
    proctitle: Option<Vec<u8>>,
    sockaddr: Option<String>,
    has_execve: bool,
}

impl AuditParser {
    pub fn new(path: Arc<str>) -> Self {
        AuditParser {
            path,
            open: FxHashMap::default(),
            order: VecDeque::new(),
            opened: 0,
            front_open: None,
            closed: FxHashSet::default(),
            closed_order: VecDeque::new(),
            latest_ms: i64::MIN,
            late_records: 0,
            failed_execs: 0,
            expired_by_count: 0,
            spares: Spares::default(),
            lent: None,
        }
    }

    fn add(&mut self, header: Header<'_>, line_no: u64, sink: &mut dyn EventSink) {
        let key: EventKey = (node_hash(header.node), header.serial);
        if header.time_ms > self.latest_ms {
            self.latest_ms = header.time_ms;
        }
        self.expire(line_no, sink);
        self.absorb_record(key, header, line_no, sink);
    }

    /// Adds a record to its event, opening or completing the event as needed.
    #[inline(always)]
    fn absorb_record(
        &mut self,
        key: EventKey,
        header: Header<'_>,
        line_no: u64,
        sink: &mut dyn EventSink,
    ) {
        let syscall = header.kind == b"SYSCALL";
        if !syscall {
            // One lookup of the open events decides most records' fate: taken into
            // their open event, or
            if let Some(partial) = self.open.get_mut(&key) {
                if partial.take_record(header, None, line_no, &mut self.spares) {
                    self.complete(&key, sink);
                }
                return;
            }
            // a record of an event already dropped or completed: decided from the
            // header alone, the body is never scanned.
            if self.closed.contains(&key) {
                if !matches!(header.kind, b"PATH" | b"CWD" | b"PROCTITLE") {
                    self.late_records += 1;
                }
                return;
            }
        }
        let is_open = syscall && self.open.contains_key(&key);
        // The body is split from its enrichment only where it is read: SYSCALLs
        // here; other records in `Partial::absorb`, and not at all for the PATH and
        // PROCTITLE records an exec's SYSCALL and EXECVE made redundant.
        let split = syscall.then(|| header.clone().into_record());
        // The hot path: most syscall events are neither execs nor socket calls.
        // Decide from the SYSCALL record's first fields and drop the whole event.
        if split.as_ref().and_then(quick_call) == Some(Call::Other) {
            if let Some(partial) = self.open.remove(&key) {
                self.left_open(&partial);
                self.spares.keep_partial(partial);
            }
            self.close(key);
            return;
        }
        if !is_open {
            // Other records of closed events returned above, before their body.
            if syscall && self.closed.contains(&key) {
                if !matches!(header.kind, b"PATH" | b"CWD" | b"PROCTITLE") {
                    self.late_records += 1;
                }
                return;
            }
            self.opened += 1;
            let mut partial = self.spares.partial();
            partial.seq = self.opened;
            partial.first_line = line_no;
            partial.time_ms = header.time_ms;
            partial.node = header.node.map(|n| {
                let mut node = self.spares.string().into_bytes();
                node.extend_from_slice(n);
                lossy_string(node)
            });
            self.open.insert(key, partial);
            self.order.push_back((key, header.time_ms, self.opened));
            if self.open.len() > MAX_OPEN_EVENTS {
                self.expired_by_count += 1;
                self.complete_oldest(sink);
            }
            if self.order.len() > MAX_ORDER_ENTRIES {
                self.compact_order(sink);
            }
        }
        if let Some(partial) = self.open.get_mut(&key) {
            if partial.take_record(header, split, line_no, &mut self.spares) {
                self.complete(&key, sink);
            }
        }
    }

    /// Completes the events the log has moved past, in time and in lines.
    fn expire(&mut self, line_no: u64, sink: &mut dyn EventSink) {
        while let Some(&(key, t, seq)) = self.order.front() {
            // Wrapping, as release builds always computed it (now also for a stale
            // entry, whose time the test used to skip).
            let in_time = t.wrapping_add(EVENT_TIMEOUT_MS) >= self.latest_ms;
            if in_time && self.front_open == Some(seq) {
                // Open (it has not left `open` since it was found so) and in time.
                break;
            }
            let Some(partial) = self.open.get(&key).filter(|p| p.seq == seq) else {
                self.order.pop_front();
                continue;
            };
            self.front_open = Some(seq);
            if in_time || partial.last_line + EVENT_TIMEOUT_LINES > line_no {
                break;
            }
            self.complete_oldest(sink);
        }
    }

    fn complete_oldest(&mut self, sink: &mut dyn EventSink) {
        while let Some((key, _, seq)) = self.order.pop_front() {
            if self.open.get(&key).is_some_and(|p| p.seq == seq) {
                self.complete(&key, sink);
                return;
            }
        }
        // Not reached while every open event has its entry; kept total for safety.
        if let Some(&key) = self.open.keys().next() {
            self.complete(&key, sink);
        }
    }

    /// Drops the stale entries of the order queue (events completed out of order,
    /// queued behind an older open one); if the queue is still over its cap, the
    /// oldest open events are completed (counted) until it is not.
    fn compact_order(&mut self, sink: &mut dyn EventSink) {
        let open = &self.open;
        self.order
            .retain(|(key, _, seq)| open.get(key).is_some_and(|p| p.seq == *seq));
        while self.order.len() > MAX_ORDER_ENTRIES / 2 {
            self.expired_by_count += 1;
            self.complete_oldest(sink);
        }
    }

    /// Bookkeeping for an event removed from `open`.
    fn left_open(&mut self, partial: &Partial) {
        if self.front_open == Some(partial.seq) {
            self.front_open = None;
        }
    }

    fn complete(&mut self, key: &EventKey, sink: &mut dyn EventSink) {
        let Some(mut partial) = self.open.remove(key) else {
            return;
        };
        self.left_open(&partial);
        self.close(*key);
        let slot = &mut self.lent;
        let made = partial.take_event(&self.path, &mut self.failed_execs, &mut self.spares, slot);
        self.spares.keep_partial(partial);
        if made {
            sink.lend(slot);
            if let Some(done) = slot {
                self.spares.reclaim(done);
            }
        }
    }

    /// The line number of the first record of the oldest event still open, if any:
    /// a consumer that commits input positions (Kafka offsets) must not commit past
    /// it, or a restart would lose the event's first records.
    pub fn oldest_open_line(&self) -> Option<u64> {
        self.open.values().map(|p| p.first_line).min()
    }

    fn close(&mut self, key: EventKey) {
        if self.closed.insert(key) {
            if self.closed_order.len() >= RECENTLY_DONE {
                if let Some(old) = self.closed_order.pop_front() {
                    self.closed.remove(&old);
                }
            }
            self.closed_order.push_back(key);
        }
    }
}

/// The record types that make up exec and socket events; the parser reads no other.
fn is_event_record(kind: &[u8]) -> bool {
    matches!(
        kind,
        b"SYSCALL" | b"EXECVE" | b"CWD" | b"PATH" | b"PROCTITLE" | b"SOCKADDR" | b"EOE"
    )
}

impl LineParser for AuditParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        // Only records of the types that make up exec and socket events are kept;
        // everything else is skipped after the cheapest possible look.
        let header = match parse_header_if(line, is_event_record) {
            Ok(header) => header,
            Err(NoRecord::Unwanted) => return,
            Err(NoRecord::Invalid) => {
                // Not an audit record: in a syslog file with audit lines that is
                // normal; only lines that look like a broken record are reported.
                if memchr::memmem::find(line, b"msg=audit(").is_some() {
                    sink.error(InputError::new(
                        &self.path,
                        Some(format!("line {line_no}")),
                        "malformed audit record header; skipped",
                    ));
                }
                return;
            }
        };
        self.add(header, line_no, sink);
    }

    fn foreign_line(&mut self, line: &[u8]) {
        if let Ok(header) = parse_header_if(line, |_| true) {
            self.close((node_hash(header.node), header.serial));
        }
    }

    fn continuation_line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) -> bool {
        if let Ok(header) = parse_header_if(line, |_| true) {
            let key = (node_hash(header.node), header.serial);
            if self.open.contains_key(&key) {
                // No expiry here: these lines' numbers are not this parser's.
                self.absorb_record(key, header, line_no, sink);
            }
        }
        !self.open.is_empty()
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        while !self.open.is_empty() {
            self.complete_oldest(sink);
        }
        self.order.clear();
    }
}

impl Partial {
    /// Counts a record of this open event and takes it in ([`Self::absorb`]), past
    /// the cap only its end marker; returns true when it ends the event.
    #[inline(always)]
    fn take_record(
        &mut self,
        header: Header<'_>,
        split: Option<Record<'_>>,
        line_no: u64,
        spares: &mut Spares,
    ) -> bool {
        self.records += 1;
        self.last_line = line_no;
        if self.records > MAX_RECORDS_PER_EVENT && !matches!(header.kind, b"EOE" | b"PROCTITLE") {
            self.truncated = true;
            return false;
        }
        self.absorb(header, split, spares)
    }

    /// Takes one record into the event (its header, and its body if already split
    /// from the enrichment); returns true when it ends the event.
    /// Text is decoded into `spares`' buffers.
    fn absorb(
        &mut self,
        header: Header<'_>,
        split: Option<Record<'_>>,
        spares: &mut Spares,
    ) -> bool {
        let kind = header.kind;
        let record = move || split.unwrap_or_else(|| header.into_record());
        match kind {
            b"SYSCALL" => {
                self.syscall = Some(parse_syscall(&record(), spares));
                false
            }
            b"EXECVE" => {
                self.has_execve = true;
                self.absorb_execve(record().body, spares);
                false
            }
            b"CWD" => {
                if let Some((_, v)) = fields(record().body).find(|(k, _)| *k == b"cwd") {
                    self.cwd = Some(v.decode_text_in(spares.string()));
                }
                false
            }
            b"PATH" => {
                // Item 0's name stands in for the exe only when SYSCALL lacks one.
                if self.path0.is_some() || self.syscall.as_ref().is_some_and(|s| s.exe.is_some()) {
                    return false;
                }
                let mut item0 = false;
                let mut name = None;
                for (k, v) in fields(record().body) {
                    match k {
                        b"item" => item0 = v.raw() == b"0",
                        b"name" => name = Some(v),
                        _ => {}
                    }
                }
                if item0 && self.path0.is_none() {
                    self.path0 = name.map(|v| v.decode_text_in(spares.string()));
                }
                false
            }
            b"SOCKADDR" => {
                if let Some((_, v)) = fields(record().body).find(|(k, _)| *k == b"saddr") {
                    self.sockaddr = decode_hex(v.raw()).and_then(|b| format_sockaddr(&b));
                }
                false
            }
            b"PROCTITLE" => {
                // A fallback only (cut at 128 bytes): not decoded when EXECVE gave argv.
                if self.has_execve && !(self.args.is_empty() && self.chunks.is_empty()) {
                    return true;
                }
                if let Some((_, v)) = fields(record().body).find(|(k, _)| *k == b"proctitle") {
                    self.proctitle = Some(v.decode());
                }
                true
            }
            b"EOE" => true,
            _ => false,
        }
    }

    fn absorb_execve(&mut self, body: &[u8], spares: &mut Spares) {
        if self.args.capacity() == 0 {
            self.args = spares.argv();
        }
        for (k, v) in fields(body) {
            if k == b"argc" {
                if let Some(n) = record::parse_u64(v.raw()) {
                    self.argc = Some(n as usize);
                    // One allocation for the usual argv instead of a growth per
                    // doubling; no more than a short argv's worth, whatever argc
                    // claims (the records may never fill it).
                    if self.args.is_empty() {
                        self.args.reserve_exact((n as usize).min(MAX_ARGS_RESERVED));
                    }
                }
                continue;
            }
            let Some(rest) = k.strip_prefix(b"a") else {
                continue;
            };
            // aN=…, aN_len=…, aN[i]=…
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let Some(index) = record::parse_u64(&rest[..digits]).map(|n| n as usize) else {
                continue;
            };
            if index > 1_000_000 {
                self.truncated = true;
                continue;
            }
            let suffix = &rest[digits..];
            if suffix.is_empty() {
                let value = v.decode_in(spares.string().into_bytes());
                self.store_arg(index, value);
            } else if suffix == b"_len" {
                self.chunks.entry(index).or_default();
            } else if suffix.starts_with(b"[") {
                // Chunks are always hex (the kernel forces it when an arg spans
                // records); they arrive in order, so appending reassembles them.
                let raw = v.raw();
                if self.argv_bytes + raw.len() / 2 > MAX_ARGV_BYTES {
                    self.truncated = true;
                    continue;
                }
                self.argv_bytes += raw.len() / 2;
                self.chunks.entry(index).or_default().extend_from_slice(raw);
            }
        }
    }

    fn store_arg(&mut self, index: usize, value: Vec<u8>) {
        if self.argv_bytes + value.len() > MAX_ARGV_BYTES {
            self.truncated = true;
            return;
        }
        self.argv_bytes += value.len();
        let value = lossy_string(value);
        if self.args.len() == index {
            // Arguments come in order: the common case appends.
            self.args.push(value);
            return;
        }
        if self.args.len() <= index {
            self.args.resize(index + 1, String::new());
        }
        self.args[index] = value;
    }

    /// Builds the normalized event in `slot` (reusing the event there), or returns
    /// false for events sighunt does not use.
    /// `spares` gives the buffers of the text it makes (the user, the command line).
    fn take_event(
        &mut self,
        path: &Arc<str>,
        failed_execs: &mut u64,
        spares: &mut Spares,
        slot: &mut Option<Event>,
    ) -> bool {
        let sc = self.syscall.take().unwrap_or_default();
        let call = classify(&sc);
        let provenance = Provenance {
            path: path.clone(),
            position: Position::Line(self.first_line),
            format: FORMAT,
        };
        let time = DateTime::<Utc>::from_timestamp_millis(self.time_ms);
        let host = self.node.take().unwrap_or_default();
        match call {
            Call::Exec => {}
            Call::Net(kind) if sc.success != Some(false) => {
                *slot = Some(Event::Network(NetworkActivity {
                    time,
                    host,
                    pid: sc.pid,
                    process_guid: None,
                    image: sc.exe.clone(),
                    kind,
                    local: if kind == NetworkKind::Connect {
                        None
                    } else {
                        self.sockaddr.clone()
                    },
                    remote: if kind == NetworkKind::Connect {
                        self.sockaddr.take()
                    } else {
                        None
                    },
                    provenance,
                }));
                return true;
            }
            _ if self.has_execve && sc.number.is_none() && sc.name.is_none() => {}
            _ => return false,
        }
        if sc.success == Some(false) {
            *failed_execs += 1;
            return false;
        }
        let new_argv = self.argv();
        let mut new_command_line = spares.string();
        join_argv_into(&new_argv, &mut new_command_line);
        let new_user = sc.user_name.or_else(|| {
            sc.uid.map(|u| {
                let mut user = spares.string();
                push_decimal(&mut user, u);
                user
            })
        });
        // Written into the event left in the slot where there is one: every field
        // assigned in place (the pattern names them all, so a new field cannot be
        // forgotten), instead of building an event and moving it twice.
        if !matches!(slot, Some(Event::Process(_))) {
            *slot = Some(Event::Process(ProcessStart::new(
                Platform::Unix,
                provenance.clone(),
            )));
        }
        let Some(Event::Process(p)) = slot else {
            return false;
        };
        let ProcessStart {
            time: p_time,
            host: p_host,
            platform,
            pid,
            ppid,
            user,
            auid,
            session,
            exe,
            comm,
            argv,
            command_line,
            cwd,
            tty,
            parent_exe,
            parent_command_line,
            original_file_name,
            process_guid,
            parent_process_guid,
            key,
            origin,
            provenance: p_provenance,
        } = p;
        *p_time = time;
        *p_host = host;
        *platform = Platform::Unix;
        *pid = sc.pid;
        *ppid = sc.ppid;
        *user = new_user;
        *auid = sc.auid.filter(|&a| a != u32::MAX);
        *session = sc.ses.filter(|&s| s != u32::MAX);
        *exe = sc.exe.or(self.path0.take());
        *comm = sc.comm;
        *argv = new_argv;
        *command_line = new_command_line;
        *cwd = self.cwd.take();
        *tty = None;
        *parent_exe = None;
        *parent_command_line = None;
        *original_file_name = None;
        *process_guid = None;
        *parent_process_guid = None;
        *key = sc.key;
        *origin = ProcessOrigin::Exec;
        *p_provenance = provenance;
        true
    }

    /// The exec's argv: EXECVE arguments (chunked ones reassembled), else the
    /// NUL-separated PROCTITLE.
    fn argv(&mut self) -> Vec<String> {
        for (index, hex) in std::mem::take(&mut self.chunks) {
            let value = lossy_string(decode_hex(&hex).unwrap_or(hex));
            if self.args.len() <= index {
                self.args.resize(index + 1, String::new());
            }
            self.args[index] = value;
        }
        if self.has_execve && !self.args.is_empty() {
            let n = self
                .argc
                .map_or(self.args.len(), |c| c.min(self.args.len()));
            self.args.truncate(n);
            // Decoded once, moved (not copied) into the event.
            return std::mem::take(&mut self.args);
        }
        match &self.proctitle {
            Some(t) => t
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect(),
            None => Vec::new(),
        }
    }
}

/// Classifies a SYSCALL record from its leading `arch=` and `syscall=` fields (and
/// the enriched `SYSCALL=` name), without parsing the rest; `None` when that is not
/// enough (i386 `socketcall`, whose call is in a0).
fn quick_call(rec: &Record<'_>) -> Option<Call> {
    let (mut arch, mut number, mut name) = (0, None, None);
    if let Some(i) = memchr::memmem::find(rec.enriched, b"SYSCALL=") {
        let v = &rec.enriched[i + 8..];
        let end = memchr::memchr(b' ', v).unwrap_or(v.len());
        name = Some(&v[..end]);
    } else {
        for (k, v) in fields(rec.body).take(2) {
            match k {
                b"arch" => arch = parse_hex_u32(v.raw()),
                b"syscall" => {
                    number = record::parse_u64(v.raw()).and_then(|n| u32::try_from(n).ok())
                }
                _ => {}
            }
        }
    }
    match classify_call(arch, number, name, None) {
        Call::Other
            if name == Some(&b"socketcall"[..]) || (arch == ARCH_I386 && number == Some(102)) =>
        {
            None
        }
        Call::Other if name.is_none() && number.is_none() => None,
        call => Some(call),
    }
}

fn parse_hex_u32(v: &[u8]) -> u32 {
    parse_hex_u64(v)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

/// Hex digits (after an optional `+`) as `u64::from_str_radix(_, 16)` reads them,
/// without the UTF-8 check of going through `&str`: `None` for no digits, another
/// byte, or a value over `u64::MAX`.
fn parse_hex_u64(v: &[u8]) -> Option<u64> {
    // x86-64's `arch`, on nearly every SYSCALL record of most hosts: one compare.
    if v == b"c000003e" {
        return Some(u64::from(ARCH_X86_64));
    }
    let digits = v.strip_prefix(b"+").unwrap_or(v);
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 16 {
        // Sixteen digits never overflow: one table load per digit, and one test of
        // the digits' OR-ed flags at the end instead of a branch per digit (the
        // exec SYSCALL's `arch` and `a0`, every record).
        let mut n: u64 = 0;
        let mut bad = 0u8;
        for &d in digits {
            let x = record::HEX_VALUE[usize::from(d)];
            bad |= x;
            n = (n << 4) | u64::from(x & 0x0F);
        }
        return (bad & 0x80 == 0).then_some(n);
    }
    let mut n: u64 = 0;
    for &d in digits {
        let x = record::HEX_VALUE[usize::from(d)];
        if x & 0x80 != 0 {
            return None;
        }
        n = n.checked_mul(16)?.checked_add(u64::from(x))?;
    }
    Some(n)
}

/// What a syscall event is, for sighunt.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    Exec,
    Net(NetworkKind),
    Other,
}

/// AUDIT_ARCH values (EM_* | 64-bit | little-endian).
const ARCH_X86_64: u32 = 0xc000_003e;
const ARCH_I386: u32 = 0x4000_0003;
const ARCH_AARCH64: u32 = 0xc000_00b7;
const ARCH_ARM: u32 = 0x4000_0028;
const ARCH_RISCV64: u32 = 0xc000_00f3;
const ARCH_PPC64LE: u32 = 0xc000_0015;
const ARCH_S390X: u32 = 0x8000_0016;

fn classify(sc: &Syscall) -> Call {
    classify_call(
        sc.arch,
        sc.number,
        sc.name.as_deref().map(str::as_bytes),
        sc.a0,
    )
}

/// What the syscall of this architecture, number (or enriched name) and a0 is.
fn classify_call(arch: u32, number: Option<u32>, name: Option<&[u8]>, a0: Option<u64>) -> Call {
    if let Some(name) = name {
        return match name {
            b"execve" | b"execveat" => Call::Exec,
            b"bind" => Call::Net(NetworkKind::Bind),
            b"listen" => Call::Net(NetworkKind::Listen),
            b"connect" => Call::Net(NetworkKind::Connect),
            b"socketcall" => socketcall(a0),
            _ => Call::Other,
        };
    }
    let Some(n) = number else {
        return Call::Other;
    };
    match (arch, n) {
        (ARCH_X86_64, 59 | 322) => Call::Exec,
        (ARCH_X86_64, 49) => Call::Net(NetworkKind::Bind),
        (ARCH_X86_64, 50) => Call::Net(NetworkKind::Listen),
        (ARCH_X86_64, 42) => Call::Net(NetworkKind::Connect),
        (ARCH_I386, 11 | 358) => Call::Exec,
        (ARCH_I386, 361) => Call::Net(NetworkKind::Bind),
        (ARCH_I386, 363) => Call::Net(NetworkKind::Listen),
        (ARCH_I386, 362) => Call::Net(NetworkKind::Connect),
        (ARCH_I386, 102) => socketcall(a0),
        (ARCH_AARCH64 | ARCH_RISCV64, 221 | 281) => Call::Exec,
        (ARCH_AARCH64 | ARCH_RISCV64, 200) => Call::Net(NetworkKind::Bind),
        (ARCH_AARCH64 | ARCH_RISCV64, 201) => Call::Net(NetworkKind::Listen),
        (ARCH_AARCH64 | ARCH_RISCV64, 203) => Call::Net(NetworkKind::Connect),
        (ARCH_ARM, 11 | 387) => Call::Exec,
        (ARCH_PPC64LE, 11 | 362) => Call::Exec,
        (ARCH_S390X, 11 | 354) => Call::Exec,
        _ => Call::Other,
    }
}

/// i386 `socketcall(call, args)`: SYS_BIND = 2, SYS_CONNECT = 3, SYS_LISTEN = 4.
fn socketcall(a0: Option<u64>) -> Call {
    match a0 {
        Some(2) => Call::Net(NetworkKind::Bind),
        Some(3) => Call::Net(NetworkKind::Connect),
        Some(4) => Call::Net(NetworkKind::Listen),
        _ => Call::Other,
    }
}

/// Appends `n` in decimal, as `{}` writes it.
fn push_decimal(out: &mut String, n: u32) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

/// `struct sockaddr` bytes as `addr:port` (inet, inet6) or the socket path (unix).
fn format_sockaddr(b: &[u8]) -> Option<String> {
    let family = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    match family {
        2 if b.len() >= 8 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            // `a.b.c.d:port` written digit by digit: `format!` costs ten times as
            // much, on every socket event.
            let mut out = String::with_capacity(21);
            for (i, &octet) in b[4..8].iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                push_decimal(&mut out, u32::from(octet));
            }
            out.push(':');
            push_decimal(&mut out, u32::from(port));
            Some(out)
        }
        10 if b.len() >= 24 => {
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&b[8..24]);
            Some(format!("[{}]:{port}", std::net::Ipv6Addr::from(octets)))
        }
        1 => {
            let path = &b[2..];
            let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
            Some(format!("unix:{}", String::from_utf8_lossy(&path[..end])))
        }
        _ => None,
    }
}

/// The SYSCALL reader's result folded to a number, by the fixed-order reader
/// (`fixed_order`) or the general one: for the `auditd_hot` benchmark only.
#[doc(hidden)]
pub fn syscall_digest(rec: &Record<'_>, fixed_order: bool) -> u64 {
    let sc = if fixed_order {
        parse_syscall(rec, &mut Spares::default())
    } else {
        syscall::parse_syscall_general(rec)
    };
    let text = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len() as u64);
    u64::from(sc.pid.unwrap_or(0))
        ^ u64::from(sc.ppid.unwrap_or(0)) << 32
        ^ sc.a0.unwrap_or(0)
        ^ u64::from(sc.arch)
        ^ text(&sc.exe) << 8
        ^ text(&sc.comm) << 16
}

#[cfg(test)]
mod tests;
