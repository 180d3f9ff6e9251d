//! Feeding the lines of one continuous input to its parser, once its format is known
//! (forced, or sniffed from its first lines).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::Event;
use crate::input::splitter::Piece;
use crate::input::{InputError, InputFormat, sniff};
use crate::sources::{self, EventSink, LineParser};

/// Lines and bytes gathered to sniff the format of a followed input.
const SNIFF_LINES: usize = 64;
const SNIFF_BYTES: usize = 64 * 1024;

/// The parser of one followed input, created once its format is known (forced, or
/// sniffed from its first lines).
pub struct Feeder {
    pub(crate) name: Arc<str>,
    pub(crate) format: Option<InputFormat>,
    pub(crate) parser: Option<Box<dyn LineParser>>,
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

    pub(crate) fn piece(&mut self, piece: Piece<'_>, sink: &mut dyn EventSink) {
        match piece {
            Piece::Line(no, line) => self.line(line, no, sink),
            Piece::TooLong(no, bytes) => self.too_long(no, bytes, sink),
        }
    }

    /// A line too long to keep: reported, skipped.
    pub fn too_long(&mut self, line_no: u64, bytes: u64, sink: &mut dyn EventSink) {
        sink.error(sources::line_too_long(&self.name, line_no, bytes));
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
