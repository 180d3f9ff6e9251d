//! One input partition: its parsers, its detectors, and what may be committed.
//!
//! Kafka delivers a partition in order, and producers key messages by host, so one
//! partition holds whole hosts: its own detector set keeps each host's correlation
//! state correct whichever instance of the group owns the partition.
//!
//! A line's number encodes the message it came from: line `i` (1-based) of the
//! message at offset `o` is `o << 20 | i`, so that every position the parsers and
//! detectors keep maps back to its offset without a table, and is the same whoever
//! reads the message and from wherever reading began. The commit watermark is the
//! offset of the oldest message something still depends on: an audit event whose
//! end has not arrived, a finding held for amending evidence, the evidence the
//! detectors keep for correlation with launches still to come
//! ([`Engine::oldest_position_held`]), a finding sent but not yet acknowledged by
//! the broker. Reading again from it rebuilds all of that, and so makes the same
//! findings with the same ids.
//!
//! Beside it, each commit carries (as its metadata) the offset below which every
//! finding has been delivered ([`PartitionState::delivered_through`]): the next
//! owner reads again from the watermark to rebuild the evidence, and sends only the
//! findings from that offset on, so a finding delivered once is not sent again, in
//! a copy that may lack evidence which had aged out meanwhile.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sighunt_core::engine::{Engine, EngineOptions, Ready};
use sighunt_core::event::{Event, Position};
use sighunt_core::finding::Finding;
use sighunt_core::input::splitter::{Piece, Splitter};
use sighunt_core::input::{InputError, InputFormat, sniff};
use sighunt_core::rules::{Rules, RulesError};
use sighunt_core::sources::auditd::AuditParser;
use sighunt_core::sources::{self, EventSink, LineParser};

/// A parser of one format within a partition.
enum Parser {
    /// Audit text: its open events are known exactly.
    Audit(HostAudit),
    /// Other line formats: anything fed since the last flush may still be pending.
    Other {
        parser: Box<dyn LineParser>,
        dirty_since: Option<(u64, Instant)>,
    },
}

impl Parser {
    fn pending_since(&self) -> Option<u64> {
        match self {
            Parser::Audit(p) => p.oldest_open_line(),
            Parser::Other { dirty_since, .. } => dirty_since.map(|(line, _)| line),
        }
    }

    fn line(&mut self, line: &[u8], no: u64, sink: &mut dyn EventSink) {
        match self {
            Parser::Audit(p) => p.line(line, no, sink),
            Parser::Other {
                parser,
                dirty_since,
            } => {
                dirty_since.get_or_insert((no, Instant::now()));
                parser.line(line, no, sink);
            }
        }
    }

    fn flush(&mut self, sink: &mut dyn EventSink) {
        match self {
            Parser::Audit(p) => p.finish(sink),
            Parser::Other {
                parser,
                dirty_since,
            } => {
                parser.finish(sink);
                *dirty_since = None;
            }
        }
    }
}

/// Most hosts whose audit events are assembled at once per partition; beyond, the
/// least recently heard one's open events are completed.
const MAX_AUDIT_HOSTS: usize = 16_384;

/// One audit parser per host (`node=`): a host's events end by its own clock, so
/// a host whose clock is ahead (or whose log is behind) does not cut the others'
/// events short. A partition carries many hosts; a file usually one.
struct HostAudit {
    name: Arc<str>,
    hosts: HashMap<Box<[u8]>, (AuditParser, u64)>,
    /// Lines fed, for least-recently-heard eviction.
    clock: u64,
    /// First and last line of each recent event (node hash, serial), complete or
    /// not: a commit must not fall inside one, or reading again from it would
    /// assemble the event's tail as an event of its own.
    spans: HashMap<(u64, u64), (u64, u64)>,
    /// Spans ending below this line can no longer contain a commit.
    spans_below: u64,
    /// Spans are pruned when there are this many.
    prune_at: usize,
}

impl HostAudit {
    fn new(name: Arc<str>) -> Self {
        HostAudit {
            name,
            hosts: HashMap::new(),
            clock: 0,
            spans: HashMap::new(),
            spans_below: 0,
            prune_at: 1024,
        }
    }

    /// The event stamp's serial, if the line has one (`msg=audit(TIME:SERIAL)`).
    fn serial(line: &[u8]) -> Option<u64> {
        let i = memchr::memmem::find(line, b"msg=audit(")? + 10;
        let rest = &line[i..line.len().min(i + 40)];
        let colon = memchr::memchr(b':', rest)?;
        let digits = &rest[colon + 1..];
        let end = digits.iter().position(|b| !b.is_ascii_digit())?;
        std::str::from_utf8(&digits[..end]).ok()?.parse().ok()
    }

    fn remember_span(&mut self, node: &[u8], line: &[u8], no: u64) {
        let Some(serial) = Self::serial(line) else {
            return;
        };
        let node = node.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let span = self.spans.entry((node, serial)).or_insert((no, no));
        span.1 = no;
        if self.spans.len() > self.prune_at {
            let below = self.spans_below;
            self.spans.retain(|_, (_, last)| *last >= below);
            self.prune_at = (2 * self.spans.len()).max(1024);
            if self.spans.len() > 4 * MAX_AUDIT_HOSTS {
                // Bounded whatever the commits do: the oldest go.
                let mut lasts: Vec<u64> = self.spans.values().map(|(_, l)| *l).collect();
                let cut = lasts.len() / 2;
                let (_, median, _) = lasts.select_nth_unstable(cut);
                let median = *median;
                self.spans.retain(|_, (_, last)| *last >= median);
            }
        }
    }

    /// `line` moved back to the first line of any event it falls inside.
    fn outside_events(&self, mut line: u64) -> u64 {
        loop {
            let first = self
                .spans
                .values()
                .filter(|(first, last)| *first < line && line <= *last)
                .map(|(first, _)| *first)
                .min();
            match first {
                Some(f) => line = f,
                None => return line,
            }
        }
    }

    /// The `node=` name of a record (empty without one): before its `type=`, at
    /// the start of the line or after a syslog header.
    fn node(line: &[u8]) -> &[u8] {
        let head = &line[..memchr::memmem::find(line, b"type=").unwrap_or(line.len())];
        match memchr::memmem::find(head, b"node=") {
            Some(i) => {
                let rest = &head[i + 5..];
                let end = rest
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .unwrap_or(rest.len());
                &rest[..end]
            }
            None => b"",
        }
    }

    fn line(&mut self, line: &[u8], no: u64, sink: &mut dyn EventSink) {
        self.clock += 1;
        let node = Self::node(line);
        if !self.hosts.contains_key(node) && self.hosts.len() >= MAX_AUDIT_HOSTS {
            let oldest = self
                .hosts
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone());
            if let Some((mut p, _)) = oldest.and_then(|k| self.hosts.remove(&k)) {
                p.finish(sink);
            }
        }
        let clock = self.clock;
        let name = &self.name;
        let entry = self
            .hosts
            .entry(Box::from(node))
            .or_insert_with(|| (AuditParser::new(name.clone()), 0));
        entry.1 = clock;
        entry.0.line(line, no, sink);
        self.remember_span(node, line, no);
    }

    fn oldest_open_line(&self) -> Option<u64> {
        self.hosts
            .values()
            .filter_map(|(p, _)| p.oldest_open_line())
            .min()
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        for (p, _) in self.hosts.values_mut() {
            p.finish(sink);
        }
    }
}

/// Bits of a line number that count lines within one message.
const LINE_BITS: u32 = 20;
/// Most lines one message may hold.
pub const MAX_LINES_PER_MESSAGE: u64 = (1 << LINE_BITS) - 1;
/// Highest offset whose lines can be numbered.
const MAX_OFFSET: i64 = (1 << (63 - LINE_BITS)) - 1;

/// The number of line `index` (1-based) of the message at `offset`.
pub fn line_of(offset: i64, index: u64) -> u64 {
    ((offset.max(0) as u64) << LINE_BITS) | index
}

/// The offset of the message holding line `line`.
pub fn offset_of(line: u64) -> i64 {
    (line >> LINE_BITS) as i64
}

/// `line N` in an input error's location, as the message's offset and line.
fn describe_location(location: &str) -> String {
    match location
        .strip_prefix("line ")
        .and_then(|n| n.parse::<u64>().ok())
    {
        Some(line) => format!(
            "offset {}, line {}",
            offset_of(line),
            line & MAX_LINES_PER_MESSAGE
        ),
        None => location.to_string(),
    }
}

/// Where a partition stands after handling a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Fed to the detectors.
    Processed,
    /// A message with no payload (a tombstone): nothing to read.
    Empty,
    /// Skipped, with the reason (logged by the caller with its offset).
    Poison(String),
}

/// Tuning of the partition's flushes.
#[derive(Debug, Clone)]
pub struct PartitionOptions {
    /// Completes pending events after this long without messages.
    pub idle_flush: Duration,
    /// A non-audit parser pending for this long is flushed even while messages keep
    /// arriving, so that the watermark moves on.
    pub max_pending: Duration,
    /// A partition without messages for this long releases its held findings.
    pub quiet_release: Duration,
}

impl Default for PartitionOptions {
    fn default() -> Self {
        PartitionOptions {
            idle_flush: sighunt_core::engine::follow::DEFAULT_IDLE_FLUSH,
            max_pending: Duration::from_secs(10),
            quiet_release: Duration::from_secs(3),
        }
    }
}

/// A finding ready to be sent, placed in the partition.
#[derive(Debug)]
pub struct Outgoing {
    pub finding: Finding,
    /// Offset of the oldest message its evidence came from.
    pub floor_offset: i64,
    /// Offset of the message holding its event's first record.
    pub position_offset: i64,
}

/// The state of one assigned input partition.
pub struct PartitionState {
    pub topic: Arc<str>,
    pub partition: i32,
    /// `kafka:TOPIC/PARTITION`, the `source.path` of its findings.
    pub name: Arc<str>,
    engine: Engine<'static>,
    parsers: Vec<(InputFormat, Parser)>,
    forced: Option<InputFormat>,
    options: PartitionOptions,
    /// The offset after the last message handled.
    pub next_offset: Option<i64>,
    /// The last offset a commit was requested for.
    pub committed: Option<crate::stream::Mark>,
    /// Floor offsets of findings sent and not yet acknowledged (with counts).
    in_flight: BTreeMap<i64, usize>,
    /// The same findings' own offsets.
    in_flight_positions: BTreeMap<i64, usize>,
    /// Findings of events below this offset were delivered by an earlier owner:
    /// made again while the evidence is rebuilt, they are not sent.
    pub delivered_before: Option<i64>,
    /// Findings made again and not sent for that reason.
    pub not_resent: u64,
    last_message: Instant,
    /// Input errors of the message being handled, for the caller to log.
    errors: Arc<Mutex<Vec<InputError>>>,
    /// Messages handled, and skipped as poison.
    pub messages: u64,
    pub poison: u64,
}

impl PartitionState {
    pub fn new(
        topic: Arc<str>,
        partition: i32,
        forced: Option<InputFormat>,
        rules: &Rules,
        engine_options: EngineOptions,
        options: PartitionOptions,
    ) -> Result<Self, RulesError> {
        let errors: Arc<Mutex<Vec<InputError>>> = Arc::default();
        let sink_errors = errors.clone();
        let engine = Engine::new(
            rules,
            engine_options,
            Box::new(move |e| {
                if let Ok(mut v) = sink_errors.lock() {
                    // Bounded: a message can report only so much.
                    if v.len() < 100 {
                        v.push(e.clone());
                    }
                }
            }),
        )?;
        Ok(PartitionState {
            name: Arc::from(format!("kafka:{topic}/{partition}")),
            topic,
            partition,
            engine,
            parsers: Vec::new(),
            forced,
            options,
            next_offset: None,
            committed: None,
            in_flight: BTreeMap::new(),
            in_flight_positions: BTreeMap::new(),
            delivered_before: None,
            not_resent: 0,
            last_message: Instant::now(),
            errors,
            messages: 0,
            poison: 0,
        })
    }

    /// Events seen, findings per severity, suppressed, input errors.
    pub fn stats(&self) -> &sighunt_core::engine::hunt::HuntStats {
        &self.engine.stats
    }

    /// Input errors reported while handling the last message(s), their locations
    /// given as offset and line.
    pub fn take_errors(&mut self) -> Vec<InputError> {
        let mut errors = self
            .errors
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        for e in &mut errors {
            if let Some(l) = &e.location {
                e.location = Some(describe_location(l));
            }
        }
        errors
    }

    /// Handles one message. Never panics: a parser or detector that does is
    /// contained, its held findings are kept, its state is reset, and the message
    /// is reported as poison.
    pub fn handle(&mut self, offset: i64, payload: Option<&[u8]>) -> Outcome {
        if self.next_offset.is_some_and(|next| offset < next) {
            // Already handled (a re-delivery after a seek): reading it twice would
            // feed its lines twice.
            return Outcome::Empty;
        }
        if self.next_offset.is_none() {
            // Everything the first findings can rest on lies from here on.
            self.engine.evidence_floor = Some(line_of(offset, 0));
        }
        self.next_offset = Some(offset + 1);
        self.messages += 1;
        self.last_message = Instant::now();
        let Some(payload) = payload.filter(|p| !p.is_empty()) else {
            return Outcome::Empty;
        };
        let format = match self.forced {
            Some(f) => f,
            None => match sniff::sniff(payload) {
                Some(f) => f,
                None => {
                    self.poison += 1;
                    return Outcome::Poison("format not recognised".into());
                }
            },
        };
        if format == InputFormat::Evtx {
            self.poison += 1;
            return Outcome::Poison("binary EVTX content is not read from messages".into());
        }
        let lines = memchr::memchr_iter(b'\n', payload).count() as u64 + 1;
        if lines > MAX_LINES_PER_MESSAGE || !(0..=MAX_OFFSET).contains(&offset) {
            self.poison += 1;
            return Outcome::Poison(format!(
                "{lines} lines at offset {offset}: over {MAX_LINES_PER_MESSAGE} lines or past offset {MAX_OFFSET}"
            ));
        }
        let result = catch_unwind(AssertUnwindSafe(|| self.feed(offset, format, payload)));
        if result.is_err() {
            self.poison += 1;
            // Whatever the parsers and detectors held may be inconsistent: keep the
            // findings already made, start afresh for the rest.
            self.recover();
            return Outcome::Poison("the message crashed a parser; partition state reset".into());
        }
        Outcome::Processed
    }

    fn feed(&mut self, offset: i64, format: InputFormat, payload: &[u8]) {
        // Line 0 of the message: its lines are numbered from 1 on.
        let base = line_of(offset, 0);
        if format == InputFormat::WindowsXml {
            // Windows XML has no line parser: each message is read whole, its lines
            // numbered as the message's.
            let mut sink = Renumber {
                base,
                inner: &mut self.engine,
            };
            sources::windows::read_xml(
                &self.name,
                Box::new(std::io::Cursor::new(payload.to_vec())),
                &mut sink,
            );
            return;
        }
        let i = match self.parsers.iter().position(|(f, _)| *f == format) {
            Some(i) => i,
            None => {
                let parser = if format == InputFormat::Auditd {
                    Parser::Audit(HostAudit::new(self.name.clone()))
                } else {
                    match sources::line_parser(format, &self.name) {
                        Some(parser) => Parser::Other {
                            parser,
                            dirty_since: None,
                        },
                        None => return,
                    }
                };
                self.parsers.push((format, parser));
                self.parsers.len() - 1
            }
        };
        let parser = &mut self.parsers[i].1;
        // Each message holds whole lines, numbered within the message.
        let mut splitter = Splitter::after_line(base);
        let engine = &mut self.engine;
        let name = &self.name;
        let mut piece = |p: Piece<'_>| match p {
            Piece::Line(no, line) => parser.line(line, no, engine),
            Piece::TooLong(no, bytes) => engine.error(sources::line_too_long(name, no, bytes)),
        };
        splitter.split(payload, &mut piece);
        splitter.finish(&mut piece);
    }

    /// After a panic: parsers and detectors start afresh; findings already made
    /// stay and leave as usual.
    fn recover(&mut self) {
        // Salvage the events pending before the crash if their parsers can still
        // complete them; the parsers then start afresh. The detectors go on (their
        // state is bounded; at worst it misses some context).
        let engine = &mut self.engine;
        let parsers = &mut self.parsers;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            for (_, p) in parsers.iter_mut() {
                p.flush(engine);
            }
        }));
        self.parsers.clear();
    }

    /// Periodic work: completes events of a quiet partition, or of a parser pending
    /// too long; returns the findings ready to leave.
    pub fn tick(&mut self, now: Instant) -> Vec<Outgoing> {
        let idle = now.saturating_duration_since(self.last_message) >= self.options.idle_flush;
        let max_pending = self.options.max_pending;
        let engine = &mut self.engine;
        let _ = catch_unwind(AssertUnwindSafe(|| {
            for (_, p) in &mut self.parsers {
                let stale = match p {
                    Parser::Audit(a) => idle && a.oldest_open_line().is_some(),
                    Parser::Other { dirty_since, .. } => dirty_since.is_some_and(|(_, since)| {
                        idle || now.saturating_duration_since(since) >= max_pending
                    }),
                };
                if stale {
                    p.flush(engine);
                }
            }
        }));
        let quiet_for = now.saturating_duration_since(self.last_message);
        // Findings leave once their host's log has moved on (see `Hold::LogTime`),
        // or when the partition has gone quiet: nothing more is coming for now.
        let quiet = quiet_for >= self.options.quiet_release;
        let ready = self.engine.take_ready(now, quiet);
        self.place(ready)
    }

    /// The findings whose hold has passed, checked after every message so that
    /// which evidence amends a finding before it leaves depends on the messages,
    /// not on how many were read between two ticks.
    pub fn release_settled(&mut self) -> Vec<Outgoing> {
        let ready = self.engine.take_ready(Instant::now(), false);
        self.place(ready)
    }

    /// Releases every held finding (shutdown), without completing pending events:
    /// those are read again by the next owner, from the committed offset.
    pub fn release_all(&mut self) -> Vec<Outgoing> {
        let ready = self.engine.take_ready(Instant::now(), true);
        self.place(ready)
    }

    /// Names each finding's source by the offset of its event's first record (the
    /// same whoever reads it: the finding's id depends on it).
    fn place(&mut self, ready: Vec<Ready>) -> Vec<Outgoing> {
        let mut out = Vec::with_capacity(ready.len());
        for Ready { mut finding, floor } in ready {
            let mut position_offset = offset_of(floor);
            if let Position::Line(n) = finding.source.position {
                let offset = offset_of(n);
                if self.delivered_before.is_some_and(|d| offset < d) {
                    self.not_resent += 1;
                    continue;
                }
                finding.source.position = Position::Record(offset as u64);
                position_offset = offset;
            }
            out.push(Outgoing {
                finding,
                floor_offset: offset_of(floor),
                position_offset,
            });
        }
        out
    }

    /// A finding with this floor was handed to the producer.
    pub fn sent(&mut self, floor_offset: i64, position_offset: i64) {
        *self.in_flight.entry(floor_offset).or_default() += 1;
        *self.in_flight_positions.entry(position_offset).or_default() += 1;
    }

    /// A finding with this floor was acknowledged by the broker.
    pub fn acknowledged(&mut self, floor_offset: i64, position_offset: i64) {
        for (map, key) in [
            (&mut self.in_flight, floor_offset),
            (&mut self.in_flight_positions, position_offset),
        ] {
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
    }

    /// Findings sent and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.in_flight.values().sum()
    }

    /// What to commit: the watermark, and the delivered offset as metadata.
    pub fn mark(&mut self) -> Option<crate::stream::Mark> {
        let mark = crate::stream::Mark {
            offset: self.watermark()?,
            delivered: self.delivered_through()?,
        };
        self.engine.evidence_floor = self.evidence_floor();
        for (_, p) in &mut self.parsers {
            if let Parser::Audit(a) = p {
                // No later watermark is lower (the evidence ages out in order).
                a.spans_below = line_of(mark.offset, 0);
            }
        }
        Some(mark)
    }

    /// The offset up to which (exclusive) nothing consumed is needed any more: its
    /// events complete, its findings delivered, no evidence from it kept, and no
    /// audit event straddles it. Reading again from there rebuilds everything not
    /// yet delivered. `None` before the first message.
    pub fn watermark(&self) -> Option<i64> {
        let own = self.own_mark(true)?;
        let mut line = line_of(own, 1);
        if let Some(evidence) = self.engine.oldest_position_held() {
            line = line.min(evidence);
        }
        for (_, p) in &self.parsers {
            if let Parser::Audit(a) = p {
                line = a.outside_events(line);
            }
        }
        Some(offset_of(line))
    }

    /// The offset below which every event is complete and every finding made from
    /// it delivered (or filtered out): what a next owner need not send again.
    /// `None` before the first message.
    pub fn delivered_through(&self) -> Option<i64> {
        let own = self.own_mark(false)?;
        // Below `delivered_before`, an earlier owner delivered everything (what is
        // pending there now leads only to findings not sent again).
        Some(self.delivered_before.map_or(own, |d| own.max(d)))
    }

    /// The lowest line that evidence of a finding made now may come from: an event
    /// not complete, or what the detectors keep (not the held findings, whose own
    /// floors come from here).
    fn evidence_floor(&self) -> Option<u64> {
        let next = line_of(self.next_offset?, 0);
        self.parsers
            .iter()
            .filter_map(|(_, p)| p.pending_since())
            .chain(self.engine.detectors_evidence())
            .chain(Some(next))
            .min()
    }

    /// The oldest of: the next offset, an event not complete, a held finding, a
    /// finding not acknowledged; of a finding, the oldest evidence it may rest on
    /// (`with_evidence`) or its own event.
    fn own_mark(&self, with_evidence: bool) -> Option<i64> {
        let next = self.next_offset?;
        let held = if with_evidence {
            self.engine.min_held_floor()
        } else {
            self.engine.min_held_position()
        };
        let in_flight = if with_evidence {
            &self.in_flight
        } else {
            &self.in_flight_positions
        };
        let oldest = self
            .parsers
            .iter()
            .filter_map(|(_, p)| p.pending_since())
            .chain(held)
            .min()
            .map(offset_of)
            .into_iter()
            .chain(in_flight.keys().next().copied())
            .min();
        Some(oldest.map_or(next, |o| o.min(next)))
    }
}

/// Numbers the lines of events read from one message as the message's.
struct Renumber<'a> {
    base: u64,
    inner: &'a mut Engine<'static>,
}

impl EventSink for Renumber<'_> {
    fn event(&mut self, mut event: Event) {
        let provenance = match &mut event {
            Event::Process(p) => &mut p.provenance,
            Event::Script(s) => &mut s.provenance,
            Event::Network(n) => &mut n.provenance,
            Event::FileWrite(f) => &mut f.provenance,
        };
        if let Position::Line(n) = provenance.position {
            provenance.position = Position::Line(self.base + n);
        }
        self.inner.event(event);
    }

    fn error(&mut self, error: InputError) {
        self.inner.error(error);
    }
}
