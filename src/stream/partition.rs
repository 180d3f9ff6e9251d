//! One input partition: its parsers, its detectors, and what may be committed.
//!
//! Kafka delivers a partition in order, and producers key messages by host, so one
//! partition holds whole hosts: its own detector set keeps each host's correlation
//! state correct whichever instance of the group owns the partition.
//!
//! Lines are numbered per partition as they are fed, and each message remembers its
//! first line, so that a line maps back to the offset of the message it came from.
//! The commit watermark is the offset of the oldest message something still depends
//! on: an audit event whose end has not arrived, a finding held for amending
//! evidence, a finding sent but not yet acknowledged by the broker.

use std::collections::{BTreeMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

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
    Audit(AuditParser),
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

/// One consumed message, until the watermark passes it.
struct Span {
    first_line: u64,
    offset: i64,
    key: Option<Box<[u8]>>,
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

/// How long (log time) a released finding's chain may still grow: the nohup
/// detector merges a wrapper's or shell string's launch with the exec that follows
/// within 10 s.
const SETTLE_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// A partition quiet this long (wall clock) has no chain still growing.
const QUIET_SETTLED: Duration = Duration::from_secs(60);
/// Most released findings whose settling is tracked per partition.
const MAX_SETTLING: usize = 10_000;

/// A finding ready to be sent, placed in the partition.
#[derive(Debug)]
pub struct Outgoing {
    pub finding: Finding,
    /// Offset of the oldest message its evidence came from.
    pub floor_offset: i64,
    /// The key of that message (the host, when producers key as documented).
    pub message_key: Option<Box<[u8]>>,
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
    next_line: u64,
    spans: VecDeque<Span>,
    /// The offset after the last message handled.
    pub next_offset: Option<i64>,
    /// The last offset a commit was requested for.
    pub committed: Option<i64>,
    /// Floor offsets of findings sent and not yet acknowledged (with counts).
    in_flight: BTreeMap<i64, usize>,
    /// Findings released recently (log time, floor offset): evidence arriving within
    /// the merge window may still belong to their chain (`sh -c "nohup x &"`, then
    /// the nohup exec), so a restart must begin before them for the chain to be
    /// rebuilt whole, with the same id.
    settling: VecDeque<(Option<DateTime<Utc>>, i64)>,
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
            next_line: 1,
            spans: VecDeque::new(),
            next_offset: None,
            committed: None,
            in_flight: BTreeMap::new(),
            settling: VecDeque::new(),
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

    /// Input errors reported while handling the last message(s).
    pub fn take_errors(&mut self) -> Vec<InputError> {
        self.errors
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }

    /// Handles one message. Never panics: a parser or detector that does is
    /// contained, its held findings are kept, its state is reset, and the message
    /// is reported as poison.
    pub fn handle(&mut self, offset: i64, key: Option<&[u8]>, payload: Option<&[u8]>) -> Outcome {
        if self.next_offset.is_some_and(|next| offset < next) {
            // Already handled (a re-delivery after a seek): reading it twice would
            // feed its lines twice.
            return Outcome::Empty;
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
        self.spans.push_back(Span {
            first_line: self.next_line,
            offset,
            key: key.map(Box::from),
        });
        let result = catch_unwind(AssertUnwindSafe(|| self.feed(format, payload)));
        if result.is_err() {
            self.poison += 1;
            // Whatever the parsers and detectors held may be inconsistent: keep the
            // findings already made, start afresh for the rest.
            self.recover();
            return Outcome::Poison("the message crashed a parser; partition state reset".into());
        }
        Outcome::Processed
    }

    fn feed(&mut self, format: InputFormat, payload: &[u8]) {
        if format == InputFormat::WindowsXml {
            // Windows XML has no line parser: each message is read whole, its lines
            // renumbered into the partition's.
            let base = self.next_line;
            let lines = memchr::memchr_iter(b'\n', payload).count() as u64 + 1;
            self.next_line += lines;
            let mut sink = Renumber {
                base: base - 1,
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
                    Parser::Audit(AuditParser::new(self.name.clone()))
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
        // Each message holds whole lines, numbered on from the partition's last.
        let mut splitter = Splitter::after_line(self.next_line - 1);
        let engine = &mut self.engine;
        let name = &self.name;
        let mut piece = |p: Piece<'_>| match p {
            Piece::Line(no, line) => parser.line(line, no, engine),
            Piece::TooLong(no, bytes) => engine.error(sources::line_too_long(name, no, bytes)),
        };
        splitter.split(payload, &mut piece);
        splitter.finish(&mut piece);
        self.next_line = splitter.line_no() + 1;
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
        if quiet_for >= QUIET_SETTLED {
            // Nothing arrived for a long while: no chain is still growing.
            self.settling.clear();
        }
        // Findings leave once their host's log has moved on (see `Hold::LogTime`),
        // or when the partition has gone quiet: nothing more is coming for now.
        let quiet = quiet_for >= self.options.quiet_release;
        let ready = self.engine.take_ready(now, quiet);
        self.place(ready)
    }

    /// Releases every held finding (shutdown), without completing pending events:
    /// those are read again by the next owner, from the committed offset.
    pub fn release_all(&mut self) -> Vec<Outgoing> {
        let ready = self.engine.take_ready(Instant::now(), true);
        self.place(ready)
    }

    fn place(&mut self, ready: Vec<Ready>) -> Vec<Outgoing> {
        ready
            .into_iter()
            .map(|Ready { mut finding, floor }| {
                let span = self.span_of(floor);
                let (floor_offset, message_key) = match span {
                    Some(s) => (s.offset, s.key.clone()),
                    None => (self.next_offset.unwrap_or(0), None),
                };
                if let Position::Line(n) = finding.source.position {
                    if let Some(s) = self.span_of(n) {
                        finding.source.position = Position::Record(s.offset.max(0) as u64);
                    }
                }
                if self.settling.len() >= MAX_SETTLING {
                    self.settling.pop_front();
                }
                self.settling.push_back((finding.time, floor_offset));
                Outgoing {
                    finding,
                    floor_offset,
                    message_key,
                }
            })
            .collect()
    }

    /// The message holding `line`.
    fn span_of(&self, line: u64) -> Option<&Span> {
        let i = self.spans.partition_point(|s| s.first_line <= line);
        if i == 0 {
            self.spans.front()
        } else {
            self.spans.get(i - 1)
        }
    }

    /// A finding with this floor was handed to the producer.
    pub fn sent(&mut self, floor_offset: i64) {
        *self.in_flight.entry(floor_offset).or_default() += 1;
    }

    /// A finding with this floor was acknowledged by the broker.
    pub fn acknowledged(&mut self, floor_offset: i64) {
        if let Some(n) = self.in_flight.get_mut(&floor_offset) {
            *n -= 1;
            if *n == 0 {
                self.in_flight.remove(&floor_offset);
            }
        }
    }

    /// Findings sent and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.in_flight.values().sum()
    }

    /// The offset up to which (exclusive) everything consumed is settled: its events
    /// complete, its findings delivered. `None` before the first message.
    pub fn watermark(&mut self) -> Option<i64> {
        let next = self.next_offset?;
        let pending_line = self
            .parsers
            .iter()
            .filter_map(|(_, p)| p.pending_since())
            .chain(self.engine.min_held_floor())
            .min();
        let mut mark = match pending_line {
            Some(line) => self.span_of(line).map_or(next, |s| s.offset),
            None => next,
        };
        if let Some((&oldest, _)) = self.in_flight.iter().next() {
            mark = mark.min(oldest);
        }
        let latest = self.engine.latest_time;
        self.settling.retain(|(t, _)| match (t, latest) {
            (Some(t), Some(latest)) => *t + SETTLE_WINDOW > latest,
            _ => false,
        });
        if let Some(oldest) = self.settling.iter().map(|(_, o)| *o).min() {
            mark = mark.min(oldest);
        }
        // Messages wholly behind the pending line are no longer needed to map lines.
        let keep_from = pending_line.unwrap_or(self.next_line);
        while self.spans.len() > 1 && self.spans[1].first_line <= keep_from {
            self.spans.pop_front();
        }
        if pending_line.is_none() && self.in_flight.is_empty() {
            self.spans.clear();
        }
        Some(mark)
    }
}

/// Shifts the line numbers of events read from one message into the partition's.
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
