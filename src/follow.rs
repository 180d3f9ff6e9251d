//! Continuous detection: `hunt --follow` (files followed like `tail -F`), and the
//! [`Engine`] that the follow mode, the auditd plugin and the Kafka stream share.
//!
//! The detectors are the hunt's; only the arrival of events and the departure of
//! findings change. A finding leaves as soon as its event is complete, after a short
//! hold ([`DEFAULT_HOLD`]) during which later evidence can still amend it (the
//! `nohup` exec that follows its `sh -c "nohup … &"`, a listener bound right after
//! the launch). An auditd event is complete at its `PROCTITLE`/`EOE` record, or, for
//! one without an end marker, after [`DEFAULT_IDLE_FLUSH`] without new lines.
//!
//! Files are followed by name across rotation and truncation: the path is checked on
//! every poll (device and inode); a rotated-away file is drained until it has been
//! quiet for [`RETIRE_GRACE`] (a writer may still append to it before reopening),
//! then closed; a file that shrinks is read again from its start. Each byte is read
//! once through one descriptor, so no line is lost or read twice across a rotation.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::allowlist::{AllowList, FindingContext};
use crate::detectors::{self, Detector, Findings};
use crate::event::{Event, Position};
use crate::finding::{Finding, Severity};
use crate::input::{InputError, InputFormat, sniff};
use crate::pipeline::HuntStats;
use crate::rules::{Rules, RulesError};
use crate::sources::{self, EventSink, LineParser, MAX_LINE_BYTES};

/// How long a finding is held for evidence that may amend it before it is emitted.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(500);
/// An event without an end marker is completed after this long without new lines
/// (auditd's own `end_of_event_timeout` is 2 s).
pub const DEFAULT_IDLE_FLUSH: Duration = Duration::from_secs(1);
/// How often followed files are checked when there is nothing to read.
pub const DEFAULT_POLL: Duration = Duration::from_millis(200);
/// A rotated-away file is read until it has been quiet this long.
pub const RETIRE_GRACE: Duration = Duration::from_secs(5);
/// Most findings held at once; beyond this the oldest leave early (bounded memory
/// under a flood of findings).
const MAX_HELD: usize = 10_000;
/// Most bytes read from one file in one poll, so a large backlog does not delay the
/// findings of its first part (nor stop other files from being read).
const POLL_BUDGET: u64 = 8 * 1024 * 1024;
/// Lines and bytes gathered to sniff the format of a followed input.
const SNIFF_LINES: usize = 64;
const SNIFF_BYTES: usize = 64 * 1024;
/// Most rotated-away files drained at once per followed path.
const MAX_RETIRED: usize = 8;

// ---------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------

/// How long a finding is held for evidence that may amend it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hold {
    /// This long after its event completed (live modes: low latency).
    Wall(Duration),
    /// Until its host's log (event times) has moved `window` past it, or for
    /// `max_wall` at most. Independent of how fast or unevenly messages are read,
    /// so re-processing the same messages makes the same findings (the Kafka
    /// stream).
    LogTime {
        window: chrono::TimeDelta,
        max_wall: Duration,
    },
}

/// What the engine does with findings.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Drop findings below this severity.
    pub min_severity: Severity,
    /// Findings it matches are suppressed.
    pub allowlist: AllowList,
    /// How long a finding is held for amending evidence.
    pub hold: Hold,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            min_severity: Severity::Informational,
            allowlist: AllowList::default(),
            hold: Hold::Wall(DEFAULT_HOLD),
        }
    }
}

/// A finding ready to leave, and the lowest input position (line) its evidence came
/// from: a consumer that commits input positions must not commit past it before the
/// finding is safely delivered.
#[derive(Debug)]
pub struct Ready {
    pub finding: Finding,
    pub floor: u64,
}

/// A finding still held for amending evidence.
struct Held {
    born: Instant,
    floor: u64,
    context: FindingContext,
    /// Time and host of the event that made it.
    time: Option<DateTime<Utc>>,
    host: Arc<str>,
}

/// Most hosts whose latest log time is remembered per engine.
const MAX_HOSTS: usize = 65_536;

/// Reports an input error; called as errors happen.
pub type ErrorFn = Box<dyn FnMut(&InputError) + Send>;

/// The detectors of one continuous input (or of one Kafka partition), fed event by
/// event, releasing findings once they have been held long enough.
pub struct Engine {
    detectors: Vec<Box<dyn Detector>>,
    findings: Findings,
    /// One entry per finding in `findings`, in the same order.
    held: VecDeque<Held>,
    options: EngineOptions,
    on_error: ErrorFn,
    /// Events seen, input errors, findings reported per severity, suppressed.
    pub stats: HuntStats,
    /// The latest event time seen (log time).
    pub latest_time: Option<DateTime<Utc>>,
    /// The latest event time seen per host.
    host_time: HashMap<Arc<str>, DateTime<Utc>>,
}

impl Engine {
    pub fn new(
        rules: &Rules,
        options: EngineOptions,
        on_error: ErrorFn,
    ) -> Result<Self, RulesError> {
        Ok(Engine {
            detectors: detectors::default_set(rules)?,
            findings: Findings::default(),
            held: VecDeque::new(),
            options,
            on_error,
            stats: HuntStats::default(),
            latest_time: None,
            host_time: HashMap::new(),
        })
    }

    /// Findings held long enough (all of them with `all`), allow-listed and
    /// filtered by severity, oldest first.
    pub fn take_ready(&mut self, now: Instant, all: bool) -> Vec<Ready> {
        let hold = self.options.hold;
        let host_time = &self.host_time;
        let settled = |h: &Held| {
            let age = now.saturating_duration_since(h.born);
            match hold {
                Hold::Wall(d) => age >= d,
                Hold::LogTime { window, max_wall } => {
                    age >= max_wall
                        || match (h.time, host_time.get(&h.host)) {
                            (Some(t), Some(latest)) => *latest >= t + window,
                            // No log time to go by: a short wall-clock hold.
                            _ => age >= DEFAULT_HOLD,
                        }
                }
            }
        };
        let mut n = self.held.iter().take_while(|h| all || settled(h)).count();
        n = n.max(self.held.len().saturating_sub(MAX_HELD));
        if n == 0 {
            return Vec::new();
        }
        let found = self.findings.drain_oldest(n);
        let mut ready = Vec::with_capacity(found.len());
        for (finding, held) in found.into_iter().zip(self.held.drain(..n)) {
            if finding.severity < self.options.min_severity {
                continue;
            }
            if self
                .options
                .allowlist
                .decide(&finding, &held.context)
                .is_some()
            {
                self.stats.suppressed += 1;
                continue;
            }
            self.stats.by_severity[finding.severity as usize] += 1;
            let floor = match finding.source.position {
                Position::Line(n) | Position::Record(n) => held.floor.min(n),
                Position::None => held.floor,
            };
            ready.push(Ready { finding, floor });
        }
        ready
    }

    /// End of all input: lets the detectors emit what they hold back, and releases
    /// every finding.
    pub fn finish(&mut self) -> Vec<Ready> {
        for d in &mut self.detectors {
            d.finish(&mut self.findings);
        }
        self.track_new(0, None, None, Arc::from(""));
        self.take_ready(Instant::now(), true)
    }

    /// Reports something about an input that is not an error (a followed file that
    /// does not exist yet): shown like an error, not counted as one.
    pub fn notice(&mut self, notice: &InputError) {
        (self.on_error)(notice);
    }

    /// The lowest input position a held finding came from.
    pub fn min_held_floor(&self) -> Option<u64> {
        self.held.iter().map(|h| h.floor).min()
    }

    /// Findings held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    fn track_new(
        &mut self,
        floor: u64,
        parent_image: Option<String>,
        time: Option<DateTime<Utc>>,
        host: Arc<str>,
    ) {
        if self.findings.len() > self.held.len() {
            let now = Instant::now();
            while self.held.len() < self.findings.len() {
                self.held.push_back(Held {
                    born: now,
                    floor,
                    context: FindingContext {
                        parent_image: parent_image.clone(),
                    },
                    time,
                    host: host.clone(),
                });
            }
        }
    }
}

impl EventSink for Engine {
    fn event(&mut self, event: Event) {
        self.stats.events += 1;
        let host = match &event {
            Event::Process(p) => p.host.as_str(),
            Event::Script(s) => s.host.as_str(),
            Event::Network(n) => n.host.as_str(),
        };
        let time = event.time();
        if let Some(t) = time {
            if self.latest_time.is_none_or(|l| t > l) {
                self.latest_time = Some(t);
            }
            if let Some(latest) = self.host_time.get_mut(host) {
                if t > *latest {
                    *latest = t;
                }
            } else {
                if self.host_time.len() >= MAX_HOSTS {
                    // Forgotten hosts fall back on the wall-clock limit.
                    self.host_time.clear();
                }
                self.host_time.insert(Arc::from(host), t);
            }
        }
        for d in &mut self.detectors {
            d.observe(&event, &mut self.findings);
        }
        if self.findings.len() > self.held.len() {
            let floor = match event.provenance().position {
                Position::Line(n) | Position::Record(n) => n,
                Position::None => 0,
            };
            let parent_image = match &event {
                Event::Process(p) => p.parent_exe.clone(),
                _ => None,
            };
            let host = Arc::from(host);
            self.track_new(floor, parent_image, time, host);
        }
    }

    fn error(&mut self, error: InputError) {
        self.stats.input_errors += 1;
        (self.on_error)(&error);
    }
}

// ---------------------------------------------------------------------------------
// Signals
// ---------------------------------------------------------------------------------

static STOP: AtomicBool = AtomicBool::new(false);
static HANGUP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    if STOP.swap(true, Ordering::SeqCst) {
        // A second Ctrl-C: the user does not want to wait for the final flush.
        unsafe { libc::_exit(130) };
    }
}

extern "C" fn on_hangup(_: libc::c_int) {
    HANGUP.store(true, Ordering::SeqCst);
}

/// Makes SIGINT and SIGTERM request a clean stop (pending findings are flushed)
/// instead of killing the process, and SIGHUP set a flag ([`take_hangup`]) that
/// the plugin uses to reopen its output file. Returns the stop flag.
pub fn install_signal_handlers() -> &'static AtomicBool {
    // SAFETY: the handlers only store to atomics (async-signal-safe) or `_exit`.
    unsafe {
        for (sig, handler) in [
            (libc::SIGINT, on_stop as extern "C" fn(libc::c_int)),
            (libc::SIGTERM, on_stop),
            (libc::SIGHUP, on_hangup),
        ] {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
    &STOP
}

/// Whether a SIGHUP arrived since the last call.
pub fn take_hangup() -> bool {
    HANGUP.swap(false, Ordering::SeqCst)
}

// ---------------------------------------------------------------------------------
// Reading a pipe on its own thread (stdin, the audit dispatcher)
// ---------------------------------------------------------------------------------

/// What the reader thread delivers.
pub enum Chunk {
    /// Complete lines, in order, with their 1-based numbers.
    Lines(Vec<(u64, Vec<u8>)>),
    /// A line over [`MAX_LINE_BYTES`], skipped.
    TooLong { line_no: u64, bytes: u64 },
    /// A read error; the stream ends.
    Failed(io::Error),
}

/// Reads `input` line by line on a thread of its own, so that the caller can wait
/// with a timeout (idle flushes, signals) instead of blocking in `read`. The channel
/// is bounded: a slow consumer slows the reader, not the memory. The channel closes
/// at end of input.
pub fn spawn_line_reader<R: Read + Send + 'static>(mut input: R) -> Receiver<Chunk> {
    let (tx, rx) = mpsc::sync_channel::<Chunk>(64);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let mut splitter = Splitter::default();
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let _ = tx.send(Chunk::Failed(e));
                    return;
                }
            };
            // Everything read so far is handed over before the next (blocking)
            // read, so a line is never held back waiting for the next one.
            let mut lines = Vec::new();
            let mut other = Vec::new();
            splitter.split(&buf[..n], &mut |piece| match piece {
                Piece::Line(no, l) => lines.push((no, l.to_vec())),
                Piece::TooLong(line_no, bytes) => other.push(Chunk::TooLong { line_no, bytes }),
            });
            if !lines.is_empty() && tx.send(Chunk::Lines(lines)).is_err() {
                return;
            }
            for c in other {
                if tx.send(c).is_err() {
                    return;
                }
            }
        }
        let mut last = Vec::new();
        splitter.finish(&mut |piece| {
            if let Piece::Line(no, l) = piece {
                last.push((no, l.to_vec()));
            }
        });
        if !last.is_empty() {
            let _ = tx.send(Chunk::Lines(last));
        }
    });
    rx
}

/// A piece of text split into lines.
enum Piece<'a> {
    /// A complete line (without `\n` or a trailing `\r`) and its 1-based number.
    Line(u64, &'a [u8]),
    /// A line over [`MAX_LINE_BYTES`] (its number and length), skipped unbuffered.
    TooLong(u64, u64),
}

/// Splits a byte stream arriving in arbitrary pieces into bounded lines.
#[derive(Default)]
struct Splitter {
    /// An incomplete last line.
    partial: Vec<u8>,
    /// Inside a line over the limit: bytes of it skipped so far.
    skipping: Option<u64>,
    line_no: u64,
}

impl Splitter {
    fn split(&mut self, mut data: &[u8], out: &mut dyn FnMut(Piece<'_>)) {
        while !data.is_empty() {
            let (piece, complete) = match memchr::memchr(b'\n', data) {
                Some(i) => (&data[..i], true),
                None => (data, false),
            };
            data = if complete {
                &data[piece.len() + 1..]
            } else {
                &[]
            };
            if let Some(skipped) = &mut self.skipping {
                *skipped += piece.len() as u64 + u64::from(complete);
                if complete {
                    let bytes = *skipped;
                    self.skipping = None;
                    self.line_no += 1;
                    out(Piece::TooLong(self.line_no, bytes));
                }
                continue;
            }
            if self.partial.len() + piece.len() > MAX_LINE_BYTES {
                let bytes = (self.partial.len() + piece.len()) as u64 + u64::from(complete);
                self.partial = Vec::new();
                if complete {
                    self.line_no += 1;
                    out(Piece::TooLong(self.line_no, bytes));
                } else {
                    self.skipping = Some(bytes);
                }
                continue;
            }
            if !complete {
                self.partial.extend_from_slice(piece);
                continue;
            }
            self.line_no += 1;
            if self.partial.is_empty() {
                out(Piece::Line(self.line_no, strip_cr(piece)));
            } else {
                self.partial.extend_from_slice(piece);
                let line = std::mem::take(&mut self.partial);
                out(Piece::Line(self.line_no, strip_cr(&line)));
            }
        }
    }

    /// End of the stream: an unterminated last line is a line.
    fn finish(&mut self, out: &mut dyn FnMut(Piece<'_>)) {
        if let Some(bytes) = self.skipping.take() {
            self.line_no += 1;
            out(Piece::TooLong(self.line_no, bytes));
        } else if !self.partial.is_empty() {
            self.line_no += 1;
            let line = std::mem::take(&mut self.partial);
            out(Piece::Line(self.line_no, strip_cr(&line)));
        }
    }
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

// ---------------------------------------------------------------------------------
// Feeding lines of one input to its parser
// ---------------------------------------------------------------------------------

/// The parser of one followed input, created once its format is known (forced, or
/// sniffed from its first lines).
pub struct Feeder {
    name: Arc<str>,
    format: Option<InputFormat>,
    parser: Option<Box<dyn LineParser>>,
    /// Lines read before the format was known.
    pre_sniff: Vec<(u64, Vec<u8>)>,
    pre_sniff_bytes: usize,
    /// The input cannot be read as any line format; it is ignored from now on.
    pub failed: bool,
    /// Lines were fed since the parser last flushed.
    dirty: bool,
    last_line: Instant,
}

impl Feeder {
    pub fn new(name: Arc<str>, forced: Option<InputFormat>) -> Self {
        let mut f = Feeder {
            name,
            format: None,
            parser: None,
            pre_sniff: Vec::new(),
            pre_sniff_bytes: 0,
            failed: false,
            dirty: false,
            last_line: Instant::now(),
        };
        if let Some(format) = forced {
            f.start(format, &mut NullSink);
        }
        f
    }

    /// The format, once known.
    pub fn format(&self) -> Option<InputFormat> {
        self.format
    }

    fn start(&mut self, format: InputFormat, sink: &mut dyn EventSink) {
        self.format = Some(format);
        match sources::line_parser(format, &self.name) {
            Some(p) => self.parser = Some(p),
            None => {
                self.failed = true;
                sink.error(InputError::new(
                    &self.name,
                    None,
                    format!("the {format} format cannot be followed (only line formats can); not followed"),
                ));
            }
        }
    }

    /// Feeds one complete line.
    pub fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        if self.failed {
            return;
        }
        self.dirty = true;
        self.last_line = Instant::now();
        if let Some(p) = &mut self.parser {
            p.line(line, line_no, sink);
            return;
        }
        let room = SNIFF_BYTES.saturating_sub(self.pre_sniff_bytes);
        self.pre_sniff_bytes += line.len().min(room) + 1;
        self.pre_sniff.push((line_no, line.to_vec()));
        if self.pre_sniff.len() >= SNIFF_LINES || self.pre_sniff_bytes >= SNIFF_BYTES {
            self.decide(sink);
        }
    }

    fn piece(&mut self, piece: Piece<'_>, sink: &mut dyn EventSink) {
        match piece {
            Piece::Line(no, line) => self.line(line, no, sink),
            Piece::TooLong(no, bytes) => self.too_long(no, bytes, sink),
        }
    }

    /// A line too long to keep: reported, skipped.
    pub fn too_long(&mut self, line_no: u64, bytes: u64, sink: &mut dyn EventSink) {
        sink.error(InputError::new(
            &self.name,
            Some(format!("line {line_no}")),
            format!("line of {bytes} bytes exceeds the {MAX_LINE_BYTES}-byte limit; skipped"),
        ));
    }

    /// The input has nothing more to read for now: decides the format from the
    /// lines gathered so far, if it is still unknown.
    pub fn caught_up(&mut self, sink: &mut dyn EventSink) {
        if self.parser.is_none() && !self.failed && !self.pre_sniff.is_empty() {
            self.decide(sink);
        }
    }

    fn decide(&mut self, sink: &mut dyn EventSink) {
        let mut head = Vec::with_capacity(self.pre_sniff_bytes);
        for (_, l) in &self.pre_sniff {
            let room = SNIFF_BYTES.saturating_sub(head.len());
            head.extend_from_slice(&l[..l.len().min(room)]);
            head.push(b'\n');
        }
        if sniff::compression(&head) != sniff::Compression::None {
            self.failed = true;
            self.pre_sniff.clear();
            sink.error(InputError::new(
                &self.name,
                None,
                "compressed content cannot be followed; not followed (hunt it without --follow)",
            ));
            return;
        }
        match sniff::sniff(&head) {
            Some(format) => {
                self.start(format, sink);
                let lines = std::mem::take(&mut self.pre_sniff);
                self.pre_sniff_bytes = 0;
                if let Some(p) = &mut self.parser {
                    for (no, l) in lines {
                        p.line(&l, no, sink);
                    }
                }
            }
            None => {
                self.failed = true;
                self.pre_sniff.clear();
                sink.error(InputError::new(
                    &self.name,
                    None,
                    "format not recognised from its first lines (use --input-format to force one); not followed",
                ));
            }
        }
    }

    /// Completes pending events when the input has been quiet for `idle`.
    pub fn idle_flush(&mut self, now: Instant, idle: Duration, sink: &mut dyn EventSink) {
        if self.dirty && now.saturating_duration_since(self.last_line) >= idle {
            self.flush(sink);
        }
    }

    /// Completes every pending event now.
    pub fn flush(&mut self, sink: &mut dyn EventSink) {
        self.caught_up(sink);
        if let Some(p) = &mut self.parser {
            p.finish(sink);
        }
        self.dirty = false;
    }
}

/// A sink for the parser constructor path, which never emits.
struct NullSink;

impl EventSink for NullSink {
    fn event(&mut self, _: Event) {}
    fn error(&mut self, _: InputError) {}
}

// ---------------------------------------------------------------------------------
// Following one path
// ---------------------------------------------------------------------------------

/// One open file of a followed path (the path's current file, or one rotated away).
struct Generation {
    file: File,
    /// Device and inode.
    id: (u64, u64),
    /// Bytes read through this descriptor.
    offset: u64,
    lines: Splitter,
    last_data: Instant,
}

impl Generation {
    fn open(path: &Path) -> io::Result<Generation> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        Ok(Generation {
            file,
            id: (meta.dev(), meta.ino()),
            offset: 0,
            lines: Splitter::default(),
            last_data: Instant::now(),
        })
    }

    /// Reads up to `budget` bytes, feeding complete lines; returns the bytes read.
    fn read(
        &mut self,
        budget: u64,
        feeder: &mut Feeder,
        sink: &mut dyn EventSink,
    ) -> io::Result<u64> {
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < budget {
            let n = match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            total += n as u64;
            self.offset += n as u64;
            self.lines
                .split(&buf[..n], &mut |piece| feeder.piece(piece, sink));
        }
        if total > 0 {
            self.last_data = Instant::now();
        }
        Ok(total)
    }

    /// The file will not grow any more: its unterminated last line is a line.
    fn close(mut self, feeder: &mut Feeder, sink: &mut dyn EventSink) {
        self.lines.finish(&mut |piece| feeder.piece(piece, sink));
    }
}

/// A path followed like `tail -F`.
struct Followed {
    path: PathBuf,
    feeder: Feeder,
    current: Option<Generation>,
    retired: Vec<Generation>,
    /// The last problem reported about the path, so it is reported once.
    reported: Option<String>,
}

impl Followed {
    fn new(path: PathBuf, forced: Option<InputFormat>) -> Self {
        let name: Arc<str> = Arc::from(path.to_string_lossy().as_ref());
        Followed {
            feeder: Feeder::new(name, forced),
            path,
            current: None,
            retired: Vec::new(),
            reported: None,
        }
    }

    /// Reports a problem with the path once (until it changes); `counted` ones are
    /// input errors, the others notices.
    fn note(&mut self, message: String, counted: bool, sink: &mut Engine) {
        if self.reported.as_deref() != Some(message.as_str()) {
            let e = InputError::new(&self.feeder.name, None, message.clone());
            if counted {
                sink.error(e);
            } else {
                sink.notice(&e);
            }
            self.reported = Some(message);
        }
    }

    /// Reads what is new; returns whether anything was read.
    fn poll(&mut self, now: Instant, sink: &mut Engine) -> bool {
        if self.feeder.failed {
            return false;
        }
        let mut read = 0;
        // Older data first: what was appended to rotated-away files.
        let mut i = 0;
        while i < self.retired.len() {
            let g = &mut self.retired[i];
            let n = g.read(POLL_BUDGET, &mut self.feeder, sink).unwrap_or(0);
            read += n;
            if n == 0 && now.saturating_duration_since(g.last_data) >= RETIRE_GRACE {
                let g = self.retired.remove(i);
                g.close(&mut self.feeder, sink);
            } else {
                i += 1;
            }
        }
        let current = self.read_current(sink);
        read += current;
        // Has the path been rotated (renamed away, replaced) since?
        match fs::metadata(&self.path) {
            Ok(meta) => {
                let id = (meta.dev(), meta.ino());
                if self.current.as_ref().is_some_and(|g| g.id != id) {
                    // Drain the old file to its current end before switching, so
                    // its last lines come before the new file's first ones.
                    read += self.read_current(sink);
                    if let Some(mut old) = self.current.take() {
                        old.last_data = now;
                        self.retired.push(old);
                        if self.retired.len() > MAX_RETIRED {
                            let g = self.retired.remove(0);
                            g.close(&mut self.feeder, sink);
                        }
                    }
                }
                if self.current.is_none() {
                    match Generation::open(&self.path) {
                        Ok(g) => {
                            self.reported = None;
                            self.current = Some(g);
                            read += self.read_current(sink);
                        }
                        Err(e) => self.note(format!("cannot read: {e}; retrying"), true, sink),
                    }
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if self.current.is_none() && self.retired.is_empty() {
                    self.note(
                        "does not exist (yet); waiting for it to appear".into(),
                        false,
                        sink,
                    );
                }
            }
            Err(e) => self.note(format!("cannot read: {e}; retrying"), true, sink),
        }
        if current < POLL_BUDGET {
            // At the end of the file for now: decide the format on what is there.
            self.feeder.caught_up(sink);
        }
        read > 0
    }

    fn read_current(&mut self, sink: &mut Engine) -> u64 {
        let Some(g) = &mut self.current else { return 0 };
        // Truncated (copytruncate, `> file`): read it again from its start.
        if let Ok(meta) = g.file.metadata() {
            if meta.len() < g.offset {
                let name = self.feeder.name.clone();
                sink.notice(&InputError::new(
                    &name,
                    None,
                    "file truncated; reading it from its start",
                ));
                if g.file.seek(SeekFrom::Start(0)).is_ok() {
                    g.offset = 0;
                    g.lines = Splitter::default();
                }
            }
        }
        match g.read(POLL_BUDGET, &mut self.feeder, sink) {
            Ok(n) => n,
            Err(e) => {
                let message = format!("read error: {e}; retrying");
                self.note(message, true, sink);
                0
            }
        }
    }

    fn close(&mut self, sink: &mut Engine) {
        for g in std::mem::take(&mut self.retired) {
            g.close(&mut self.feeder, sink);
        }
        if let Some(g) = self.current.take() {
            g.close(&mut self.feeder, sink);
        }
        self.feeder.flush(sink);
    }
}

// ---------------------------------------------------------------------------------
// The follow loop
// ---------------------------------------------------------------------------------

/// How `hunt --follow` reads.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Force this format instead of sniffing.
    pub input_format: Option<InputFormat>,
    /// How often files are checked when there is nothing to read.
    pub poll: Duration,
    /// Events without an end marker are completed after this much quiet.
    pub idle_flush: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            input_format: None,
            poll: DEFAULT_POLL,
            idle_flush: DEFAULT_IDLE_FLUSH,
        }
    }
}

/// What the caller does with each batch of findings; returns `false` to stop.
pub type EmitFn<'a> = &'a mut dyn FnMut(Vec<Finding>) -> io::Result<bool>;

/// Follows `paths` (files, or `-` for stdin) until `stop` is set, or until stdin
/// ends when it is the only input. Directories are refused: a followed path names
/// one log file, which may not exist yet.
pub fn follow(
    paths: &[PathBuf],
    options: &FollowOptions,
    engine: &mut Engine,
    stop: &AtomicBool,
    emit: EmitFn<'_>,
) -> io::Result<()> {
    let mut files = Vec::new();
    let mut stdin: Option<(Feeder, Receiver<Chunk>)> = None;
    for p in paths {
        if p.as_os_str() == "-" {
            if stdin.is_none() {
                let feeder = Feeder::new(Arc::from("-"), options.input_format);
                stdin = Some((feeder, spawn_line_reader(io::stdin())));
            }
        } else if p.is_dir() {
            return Err(io::Error::other(format!(
                "{}: is a directory; --follow takes log files (which may not exist yet)",
                p.display()
            )));
        } else {
            engine.stats.files += 1;
            files.push(Followed::new(p.clone(), options.input_format));
        }
    }
    if stdin.is_some() {
        engine.stats.files += 1;
    }
    let mut stdin_done = false;
    loop {
        let now = Instant::now();
        let mut busy = false;
        for f in &mut files {
            busy |= f.poll(now, engine);
            f.feeder.idle_flush(now, options.idle_flush, engine);
        }
        if let Some((feeder, rx)) = &mut stdin {
            if !stdin_done {
                // Wait on the pipe rather than sleeping when it is the only input.
                let wait = if files.is_empty() && !busy {
                    options.poll
                } else {
                    Duration::ZERO
                };
                match drain_chunks(rx, wait, feeder, engine) {
                    Drained::Some => busy = true,
                    Drained::Nothing => feeder.caught_up(engine),
                    Drained::Closed => {
                        feeder.flush(engine);
                        stdin_done = true;
                    }
                }
                feeder.idle_flush(Instant::now(), options.idle_flush, engine);
            }
        }
        let ready = engine.take_ready(Instant::now(), false);
        if !ready.is_empty() && !emit(ready.into_iter().map(|r| r.finding).collect())? {
            return Ok(());
        }
        if stop.load(Ordering::SeqCst) || (stdin_done && files.is_empty()) {
            break;
        }
        // With stdin as the only input, waiting on the pipe above is the sleep.
        let waited_on_stdin = stdin.is_some() && files.is_empty() && !stdin_done;
        if !busy && !waited_on_stdin {
            std::thread::sleep(options.poll);
        }
    }
    for f in &mut files {
        f.close(engine);
    }
    if let Some((feeder, _)) = &mut stdin {
        feeder.flush(engine);
    }
    let rest = engine.finish();
    if !rest.is_empty() {
        emit(rest.into_iter().map(|r| r.finding).collect())?;
    }
    Ok(())
}

/// What [`drain_chunks`] found.
pub enum Drained {
    Some,
    Nothing,
    Closed,
}

/// Feeds whatever the reader thread has delivered (waiting at most `wait` for the
/// first chunk).
pub fn drain_chunks(
    rx: &Receiver<Chunk>,
    wait: Duration,
    feeder: &mut Feeder,
    sink: &mut dyn EventSink,
) -> Drained {
    let mut got = false;
    let mut first = true;
    loop {
        let chunk = if first && !wait.is_zero() {
            match rx.recv_timeout(wait) {
                Ok(c) => c,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return Drained::Closed,
            }
        } else {
            match rx.try_recv() {
                Ok(c) => c,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Drained::Closed,
            }
        };
        first = false;
        got = true;
        match chunk {
            Chunk::Lines(lines) => {
                for (no, l) in lines {
                    feeder.line(&l, no, sink);
                }
            }
            Chunk::TooLong { line_no, bytes } => feeder.too_long(line_no, bytes, sink),
            Chunk::Failed(e) => {
                let name = feeder.name.clone();
                sink.error(InputError::new(
                    &name,
                    None,
                    format!("read error: {e}; input ended"),
                ));
            }
        }
    }
    if got { Drained::Some } else { Drained::Nothing }
}

// ---------------------------------------------------------------------------------
// `hunt --follow` on the command line
// ---------------------------------------------------------------------------------

/// The `hunt` options that matter when following.
pub struct FollowCommand<'a> {
    pub paths: &'a [PathBuf],
    pub format: crate::output::OutputFormat,
    pub output: Option<&'a Path>,
    /// Colour the table.
    pub color: bool,
    pub quiet: bool,
    pub fail_on: Option<Severity>,
}

/// Runs `hunt --follow`: findings are written (and flushed) as they become ready;
/// the summary is printed when the run is interrupted (SIGINT, SIGTERM) or stdin
/// ends. Exit status 1 as soon as a finding reaches `--fail-on`.
pub fn run_command(
    cmd: &FollowCommand<'_>,
    rules: &Rules,
    hunt: &crate::pipeline::HuntOptions,
) -> anyhow::Result<std::process::ExitCode> {
    use crate::output::{self, OutputFormat};
    use std::io::Write;

    if !matches!(hunt.profile, crate::profile::Profile::Default) {
        anyhow::bail!("--follow applies sighunt's detectors only (not --profile seed)");
    }
    let stop = install_signal_handlers();
    let on_error: ErrorFn = Box::new(|e: &InputError| {
        eprintln!("sighunt: {}", output::escape_control(&e.to_string()));
    });
    let mut engine = Engine::new(
        rules,
        EngineOptions {
            min_severity: hunt.min_severity,
            allowlist: hunt.allowlist.clone(),
            hold: Hold::Wall(DEFAULT_HOLD),
        },
        on_error,
    )?;
    let options = FollowOptions {
        input_format: hunt.input_format,
        ..FollowOptions::default()
    };
    let mut out: Box<dyn Write> = match cmd.output {
        Some(path) => {
            Box::new(io::BufWriter::new(File::create(path).map_err(|e| {
                anyhow::anyhow!("cannot create {}: {e}", path.display())
            })?))
        }
        None => Box::new(io::BufWriter::new(io::stdout())),
    };
    let mut first = true;
    let mut failed = false;
    let mut emit = |findings: Vec<Finding>| -> io::Result<bool> {
        // In the order their events completed (a stream has no "newest first").
        match cmd.format {
            OutputFormat::Csv => {
                // One CSV stream: the header only once.
                let mut buf = Vec::new();
                output::write_csv(&mut buf, &findings)?;
                let body = if first {
                    &buf[..]
                } else {
                    buf.iter()
                        .position(|&b| b == b'\n')
                        .map_or(&buf[..0], |i| &buf[i + 1..])
                };
                out.write_all(body)?;
            }
            OutputFormat::Jsonl => output::write_jsonl(&mut out, &findings)?,
            OutputFormat::Table => output::write_table(&mut out, &findings, cmd.color)?,
        }
        first = false;
        out.flush()?;
        if cmd
            .fail_on
            .is_some_and(|t| findings.iter().any(|f| f.severity >= t))
        {
            failed = true;
            return Ok(false);
        }
        Ok(true)
    };
    follow(cmd.paths, &options, &mut engine, stop, &mut emit)?;
    if !cmd.quiet {
        let suppressed = match engine.stats.suppressed {
            0 => String::new(),
            n => format!(", {n} suppressed by the allow-list"),
        };
        eprintln!("{}{suppressed}", engine.stats.summary());
    }
    Ok(if failed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests;
