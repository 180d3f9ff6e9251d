//! Sources: one parser per log format, each turning bytes into normalized
//! [`Event`]s and nothing else.
//!
//! Text formats implement [`LineParser`], a push parser fed one line at a time, so
//! the same parser serves a file hunt, `--follow` and a message bus. Binary formats
//! (EVTX) read their whole input through [`read_input`].

pub mod auditd;
pub mod chunked;
pub mod eslogger;
pub mod feeder;
pub mod journald;
pub mod mde;
pub mod syslog;
pub mod sysmon_linux;
pub mod windows;

use std::sync::Arc;

use crate::event::Event;
use crate::input::lines::{Line, LineReader};
use crate::input::{InputError, InputFormat, Opened, Payload};

/// Longest line a text source accepts; longer ones are reported and skipped.
pub const MAX_LINE_BYTES: usize = 4 * 1024 * 1024;

/// Where sources deliver what they read.
pub trait EventSink {
    fn event(&mut self, event: Event);
    fn error(&mut self, error: InputError);
    /// `bytes` more of the input were read (for a progress display); sources report
    /// it now and then, not per line.
    fn progress(&mut self, _bytes: u64) {}
    /// [`EventSink::event`] for a source that reuses its events' buffers: a sink
    /// that keeps the event takes it out of `slot` (the default does, and passes it
    /// to `event`); one that only looks at it leaves it there, and the source then
    /// reuses its strings for the next event (no allocation per event in the
    /// steady state, and no copy of the event through the call).
    fn lend(&mut self, slot: &mut Option<Event>) {
        if let Some(event) = slot.take() {
            self.event(event);
        }
    }
}

/// A range parser's output when one file is read as parallel ranges: events,
/// errors and progress as for any source, and work deferred to the one thread that
/// feeds the engine, where it is finished in file order (state that spans events,
/// and so range edges, such as multi-part script blocks).
pub trait RangeSink<X>: EventSink {
    fn defer(&mut self, x: X);
}

/// How many bytes a line source reads between two progress reports.
pub(crate) const PROGRESS_EVERY: u64 = 4 * 1024 * 1024;

/// A sink that keeps everything it is given, in order: for tests, benches, fuzzing,
/// and library users who want the events of a small input as a list.
#[derive(Debug, Default)]
pub struct CollectingSink {
    pub events: Vec<Event>,
    pub errors: Vec<InputError>,
}

impl EventSink for CollectingSink {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }
    fn error(&mut self, error: InputError) {
        self.errors.push(error);
    }
}

/// A push parser for a line-oriented format. The same parser serves a hunt, the
/// follow mode, the auditd plugin and the Kafka stream: every mode splits lines with
/// [`crate::input::splitter`] or [`crate::input::lines`] and feeds them here.
///
/// # Adding a source
///
/// 1. Write `src/sources/NAME.rs` (and `NAME/tests.rs`): a parser that turns lines
///    (or, for a binary format, a whole input through [`read_input`]) into
///    [`Event`]s and reports each bad record as an [`InputError`] with its line or
///    record and goes on. It never panics and keeps no unbounded state.
/// 2. Add an [`InputFormat`] variant and its `--input-format` name
///    (`input/sniff.rs`), and a content sniffing rule there: a format is
///    recognised from the first bytes or lines, never from the file name; run the
///    sniffer over the sample data and the shared corpus to show nothing else is
///    taken for it.
/// 3. Register the parser in [`line_parser`] (text) or [`read_input`] (binary).
/// 4. Tests: unit tests with real records (cite where each sample comes from), a
///    fuzz target in `fuzz/`, hostile cases in `tests/hostile.rs`, and a sample
///    under `examples/` whose findings the golden tests then pin.
/// 5. Document the format in `docs/` (what is read, what is not).
pub trait LineParser: Send {
    /// Feeds one line (without its newline); `line_no` is 1-based.
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink);
    /// Emits whatever is still pending (end of input, or a follow-mode idle timeout).
    fn finish(&mut self, sink: &mut dyn EventSink);
    /// A line just before this parser's part of a file, read by another parser
    /// ([`chunked`]): a format whose records span lines notes which are not its own.
    fn foreign_line(&mut self, _line: &[u8]) {}
    /// A line just after this parser's part of a file: taken only if it completes
    /// something already begun. Returns whether more such lines are wanted.
    fn continuation_line(
        &mut self,
        _line: &[u8],
        _line_no: u64,
        _sink: &mut dyn EventSink,
    ) -> bool {
        false
    }
}

/// The line parser for a text format, or `None` for binary formats.
pub fn line_parser(format: InputFormat, name: &Arc<str>) -> Option<Box<dyn LineParser>> {
    match format {
        InputFormat::Auditd => Some(Box::new(auditd::AuditParser::new(name.clone()))),
        InputFormat::Json => Some(Box::new(windows::WinJsonParser::new(name.clone()))),
        InputFormat::WindowsXml => Some(Box::new(windows::WinXmlParser::new(name.clone()))),
        InputFormat::Syslog => Some(Box::new(syslog::SyslogParser::new(name.clone()))),
        InputFormat::Eslogger => Some(Box::new(eslogger::EsloggerParser::new(name.clone()))),
        InputFormat::UnifiedLog => Some(Box::new(eslogger::UnifiedLogParser::new(name.clone()))),
        InputFormat::Journald => Some(Box::new(journald::JournaldParser::new(name.clone()))),
        InputFormat::Mde => Some(Box::new(mde::MdeParser::new(name.clone()))),
        _ => None,
    }
}

/// Reads a whole opened input into `sink`. Read errors (a corrupt gzip stream, an
/// I/O error) are reported with their position and end this input only.
pub fn read_input(opened: Opened, sink: &mut dyn EventSink) {
    let Opened {
        name,
        format,
        payload,
        ..
    } = opened;
    // EVTX is binary; XML and JSON events span lines (pretty-printed arrays,
    // multi-line XML), so these read the stream themselves, still one event at a time.
    match format {
        InputFormat::Evtx => return windows::read_evtx(&name, payload, sink),
        InputFormat::WindowsXml | InputFormat::Json | InputFormat::Mde => {
            let reader: Box<dyn std::io::BufRead + Send> = match payload {
                Payload::Stream(s) => s,
                Payload::File(f) => Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
            };
            return if format == InputFormat::Json {
                windows::read_json(&name, reader, sink)
            } else if format == InputFormat::Mde {
                mde::read_mde(&name, reader, sink)
            } else {
                windows::read_xml(&name, reader, sink)
            };
        }
        _ => {}
    }
    let Some(mut parser) = line_parser(format, &name) else {
        sink.error(InputError::new(
            &name,
            None,
            format!("the {format} format is not supported by this build"),
        ));
        return;
    };
    let reader = match payload {
        Payload::Stream(s) => s,
        // Larger reads than the sniffing buffer's 64 KiB: a quarter of the system
        // calls, for the sources (auditd) that read at hundreds of MB/s; 1 MiB was
        // no faster (the block no longer stays in the core's cache).
        Payload::File(f) => Box::new(std::io::BufReader::with_capacity(256 * 1024, f)),
    };
    let mut lines = LineReader::new(reader, MAX_LINE_BYTES);
    feed_lines(&mut lines, &name, parser.as_mut(), 1, sink);
    parser.finish(sink);
}

/// Feeds every line of `lines` to `parser`, numbering them from `first_line`. A line
/// over the length limit is reported and skipped; a read error (a corrupt gzip
/// stream, an I/O error) is reported with its position and ends the input.
pub fn feed_lines<R: std::io::BufRead>(
    lines: &mut LineReader<R>,
    name: &Arc<str>,
    parser: &mut dyn LineParser,
    first_line: u64,
    sink: &mut dyn EventSink,
) {
    let mut reported = lines.offset();
    loop {
        let no = first_line + lines.line_no();
        let offset = lines.offset();
        if offset - reported >= PROGRESS_EVERY {
            sink.progress(offset - reported);
            reported = offset;
        }
        // Every line whole in the buffer at once; the rest (a line cut by the
        // buffer's end, an over-long one, the end) one by one below.
        match lines.whole_lines(|text, n| parser.line(text, first_line + n - 1, sink)) {
            Ok(0) => {}
            Ok(_) => continue,
            Err(e) => {
                sink.error(read_error(name, no, offset, &e));
                break;
            }
        }
        let no = first_line + lines.line_no();
        let offset = lines.offset();
        match lines.next_line() {
            Ok(Some(Line::Text(text))) => parser.line(text, no, sink),
            Ok(Some(Line::TooLong { bytes })) => sink.error(line_too_long(name, no, bytes)),
            Ok(None) => break,
            Err(e) => {
                sink.error(read_error(name, no, offset, &e));
                break;
            }
        }
    }
    sink.progress(lines.offset() - reported);
}

/// Feeds a stream that a splitter cuts into pieces (JSON, XML) to `parser` chunk by
/// chunk, as the reader fills them (a leading UTF-8 byte-order mark dropped); a read
/// error ends the input with an error at the line `line_of` says the parser reached.
pub(crate) fn feed_chunks<P>(
    name: &Arc<str>,
    reader: &mut dyn std::io::BufRead,
    parser: &mut P,
    sink: &mut dyn EventSink,
    line_of: fn(&P) -> u64,
    feed: fn(&mut P, &[u8], &mut dyn EventSink),
) {
    let mut first = true;
    loop {
        let chunk = match reader.fill_buf() {
            Ok([]) => break,
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                sink.error(InputError::new(
                    name,
                    Some(format!("line {}", line_of(parser))),
                    format!("read error: {e}; rest of this input skipped"),
                ));
                break;
            }
        };
        let n = chunk.len();
        let bytes = if first {
            first = false;
            chunk.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(chunk)
        } else {
            chunk
        };
        feed(parser, bytes, sink);
        reader.consume(n);
    }
}

/// The error for a line over [`MAX_LINE_BYTES`], skipped unbuffered: one wording
/// for every mode that feeds lines (a hunt, `--follow`, the plugin, the stream).
pub fn line_too_long(name: &Arc<str>, line_no: u64, bytes: u64) -> InputError {
    InputError::new(
        name,
        Some(format!("line {line_no}")),
        format!("line of {bytes} bytes exceeds the {MAX_LINE_BYTES}-byte limit; skipped"),
    )
}

/// The error for a read that failed at `line_no`, `offset` bytes into the
/// (decompressed) stream: the rest of that input is skipped.
fn read_error(name: &Arc<str>, line_no: u64, offset: u64, e: &std::io::Error) -> InputError {
    InputError::new(
        name,
        Some(format!(
            "line {line_no} (byte {offset} of the decompressed stream)"
        )),
        format!("read error: {e}; rest of this input skipped"),
    )
}

/// Parses one line of a JSON-lines format: `None` for a blank line, or for a line that
/// is not JSON (reported as an input error naming `what` was expected).
pub fn json_line(
    line: &[u8],
    line_no: u64,
    path: &Arc<str>,
    what: &str,
    sink: &mut dyn EventSink,
) -> Option<serde_json::Value> {
    let trimmed = line.trim_ascii();
    if trimmed.is_empty() {
        return None;
    }
    match serde_json::from_slice(trimmed) {
        Ok(v) => Some(v),
        Err(e) => {
            sink.error(InputError::new(
                path,
                Some(format!("line {line_no}")),
                format!("not {what} JSON object: {e}"),
            ));
            None
        }
    }
}
