//! Windows event XML: `<Event>` elements one after another (wevtutil writes them
//! without separators), inside an `<Events>` document, with or without XML
//! declarations, single- or double-quoted attributes, any namespace prefix.
//!
//! The stream is cut into `<Event>…</Event>` pieces by a byte scanner first, so memory
//! is bounded by [`MAX_EVENT_BYTES`] whatever the input, a malformed event costs only
//! itself, and each event's line is known; each piece is then parsed with quick-xml.

use std::io::BufRead;
use std::sync::Arc;

use memchr::memmem;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event as XmlEvent};
use quick_xml::reader::Reader;

use super::event_builder::EventBuilder;
use super::map::Mapper;
use super::{FORMAT_XML, MAX_EVENT_BYTES, WinEvent};
use crate::event::Position;
use crate::input::InputError;
use crate::sources::{EventSink, LineParser};

const OPEN: &[u8] = b"<Event";
const CLOSE: &[u8] = b"</Event>";

/// A push parser for event XML fed line by line (follow mode, message buses): the
/// same splitter, so events may span lines or share one.
pub struct WinXmlParser {
    name: Arc<str>,
    splitter: XmlSplitter,
    mapper: Mapper,
    started: bool,
}

impl WinXmlParser {
    pub fn new(name: Arc<str>) -> Self {
        WinXmlParser {
            mapper: Mapper::new(name.clone(), FORMAT_XML),
            name,
            splitter: XmlSplitter::default(),
            started: false,
        }
    }
}

impl LineParser for WinXmlParser {
    fn line(&mut self, line: &[u8], line_no: u64, sink: &mut dyn EventSink) {
        let WinXmlParser {
            name,
            splitter,
            mapper,
            started,
        } = self;
        // The splitter counts the lines it is fed from the first one on.
        if !*started {
            splitter.line = line_no;
            *started = true;
        }
        let mut on_piece =
            |line: u64, piece: Result<&[u8], String>| match piece.and_then(parse_event_xml) {
                Ok(ev) => mapper.map(ev, Position::Line(line), sink),
                Err(e) => sink.error(InputError::new(name, Some(format!("line {line}")), e)),
            };
        splitter.push(line, &mut on_piece);
        splitter.push(b"\n", &mut on_piece);
    }

    fn finish(&mut self, sink: &mut dyn EventSink) {
        let WinXmlParser {
            name,
            splitter,
            mapper,
            ..
        } = self;
        splitter.finish(&mut |line, piece| match piece.and_then(parse_event_xml) {
            Ok(ev) => mapper.map(ev, Position::Line(line), sink),
            Err(e) => sink.error(InputError::new(name, Some(format!("line {line}")), e)),
        });
        mapper.finish(sink);
    }
}

/// Reads an XML event stream into `sink`.
pub fn read_xml(name: &Arc<str>, mut reader: Box<dyn BufRead + Send>, sink: &mut dyn EventSink) {
    let mut xml = XmlReader {
        name: name.clone(),
        mapper: Mapper::new(name.clone(), FORMAT_XML),
        splitter: XmlSplitter::default(),
    };
    crate::sources::feed_chunks(
        name,
        &mut reader,
        &mut xml,
        sink,
        |x| x.splitter.line,
        XmlReader::push,
    );
    let XmlReader {
        name,
        mut mapper,
        mut splitter,
    } = xml;
    splitter.finish(&mut |line, piece| map_piece(&name, &mut mapper, line, piece, sink));
    mapper.finish(sink);
}

/// An XML stream's splitter and the mapper its events go to.
struct XmlReader {
    name: Arc<str>,
    mapper: Mapper,
    splitter: XmlSplitter,
}

impl XmlReader {
    fn push(&mut self, bytes: &[u8], sink: &mut dyn EventSink) {
        let (name, mapper) = (&self.name, &mut self.mapper);
        self.splitter.push(bytes, &mut |line, piece| {
            map_piece(name, mapper, line, piece, sink)
        });
    }
}

/// One event's XML mapped to events, or its error reported.
fn map_piece(
    name: &Arc<str>,
    mapper: &mut Mapper,
    line: u64,
    piece: Result<&[u8], String>,
    sink: &mut dyn EventSink,
) {
    match piece.and_then(parse_event_xml) {
        Ok(ev) => mapper.map(ev, Position::Line(line), sink),
        Err(e) => sink.error(InputError::new(name, Some(format!("line {line}")), e)),
    }
}

/// Cuts a byte stream into `<Event …>…</Event>` pieces.
#[derive(Debug)]
pub struct XmlSplitter {
    /// Bytes not yet consumed: the current event, or a possible partial `<Event`.
    pending: Vec<u8>,
    inside: bool,
    /// The current event is over the size cap and is being skipped.
    oversize: bool,
    /// 1-based line of the first byte of `pending`.
    line: u64,
    start_line: u64,
    /// How much of `pending` was already searched for the end tag.
    scanned: usize,
}

impl Default for XmlSplitter {
    fn default() -> Self {
        XmlSplitter {
            pending: Vec::new(),
            inside: false,
            oversize: false,
            line: 1,
            start_line: 1,
            scanned: 0,
        }
    }
}

type PieceFn<'a> = dyn FnMut(u64, Result<&[u8], String>) + 'a;

impl XmlSplitter {
    /// Feeds more bytes; complete events (and errors) go to `out` with their line.
    pub fn push(&mut self, bytes: &[u8], out: &mut PieceFn<'_>) {
        self.pending.extend_from_slice(bytes);
        loop {
            if !self.inside {
                match find_open(&self.pending) {
                    Some(i) => {
                        self.drop_front(i);
                        self.inside = true;
                        self.oversize = false;
                        self.start_line = self.line;
                        self.scanned = 0;
                    }
                    None => {
                        // Keep a tail that may be the start of `<Event` + delimiter.
                        let keep = OPEN.len().min(self.pending.len());
                        self.drop_front(self.pending.len() - keep);
                        return;
                    }
                }
            }
            let from = self.scanned.saturating_sub(CLOSE.len());
            match memmem::find(&self.pending[from..], CLOSE) {
                Some(j) => {
                    let end = from + j + CLOSE.len();
                    if !self.oversize {
                        out(self.start_line, Ok(&self.pending[..end]));
                    }
                    self.drop_front(end);
                    self.inside = false;
                }
                None => {
                    self.scanned = self.pending.len();
                    if self.oversize || self.pending.len() > MAX_EVENT_BYTES {
                        if !self.oversize {
                            out(
                                self.start_line,
                                Err(format!(
                                    "event larger than {MAX_EVENT_BYTES} bytes; skipped"
                                )),
                            );
                            self.oversize = true;
                        }
                        let keep = CLOSE.len().min(self.pending.len());
                        self.drop_front(self.pending.len() - keep);
                        self.scanned = self.pending.len();
                    }
                    return;
                }
            }
        }
    }

    /// End of input: an event still open is reported as truncated.
    pub fn finish(&mut self, out: &mut PieceFn<'_>) {
        if self.inside && !self.oversize {
            out(
                self.start_line,
                Err("event truncated at the end of the input".to_string()),
            );
        }
        self.pending.clear();
        self.inside = false;
    }

    /// Discards `n` leading bytes, counting their lines.
    fn drop_front(&mut self, n: usize) {
        self.line += memchr::memchr_iter(b'\n', &self.pending[..n]).count() as u64;
        self.pending.drain(..n);
        self.scanned = self.scanned.saturating_sub(n);
    }
}

/// Offset of the next `<Event` start tag (not `<Events>`, `<EventData>` …).
fn find_open(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = memmem::find(&b[from..], OPEN) {
        let at = from + i;
        match b.get(at + OPEN.len()) {
            Some(b' ' | b'>' | b'/' | b'\t' | b'\r' | b'\n') => return Some(at),
            // Not enough bytes yet to know: keep it for the next push.
            None => return None,
            _ => from = at + 1,
        }
    }
    None
}

/// Parses one `<Event>` element into a [`WinEvent`].
pub fn parse_event_xml(bytes: &[u8]) -> Result<WinEvent, String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().trim_text(false);
    let mut builder = EventBuilder::default();
    loop {
        let event = reader.read_event().map_err(|e| {
            format!(
                "malformed event XML at byte {}: {e}",
                reader.error_position()
            )
        })?;
        match event {
            XmlEvent::Start(e) => start_element(&mut builder, &e)?,
            XmlEvent::Empty(e) => {
                start_element(&mut builder, &e)?;
                builder.close()?;
            }
            XmlEvent::End(_) => {
                if builder.close()? {
                    break;
                }
            }
            XmlEvent::Text(t) => {
                if builder.keeps_text() {
                    let text = t.xml10_content().map_err(|e| format!("bad text: {e}"))?;
                    builder.text(&text);
                }
            }
            XmlEvent::CData(t) => {
                if builder.keeps_text() {
                    builder.text(&String::from_utf8_lossy(&t));
                }
            }
            XmlEvent::GeneralRef(r) => {
                if builder.keeps_text() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => builder.text(c.encode_utf8(&mut [0; 4])),
                        _ => match &*r {
                            b"amp" => builder.text("&"),
                            b"lt" => builder.text("<"),
                            b"gt" => builder.text(">"),
                            b"quot" => builder.text("\""),
                            b"apos" => builder.text("'"),
                            other => {
                                builder.text("&");
                                builder.text(&String::from_utf8_lossy(other));
                                builder.text(";");
                            }
                        },
                    }
                }
            }
            XmlEvent::Eof => {
                return Err("event XML ends before </Event>".to_string());
            }
            XmlEvent::Comment(_) | XmlEvent::Decl(_) | XmlEvent::PI(_) | XmlEvent::DocType(_) => {}
        }
    }
    Ok(builder.finish())
}

/// A start (or empty) tag: a new open element, and the one attribute of it that
/// matters, if any.
fn start_element(builder: &mut EventBuilder, e: &BytesStart<'_>) -> Result<(), String> {
    let wanted = builder.open(e.local_name().as_ref())?;
    if !wanted.is_empty() {
        for attr in e.attributes().flatten() {
            if attr.key.local_name().as_ref() != wanted {
                continue;
            }
            let value = match attr.normalized_value(XmlVersion::Implicit1_0) {
                Ok(v) => v.into_owned(),
                Err(_) => String::from_utf8_lossy(&attr.value).into_owned(),
            };
            builder.attribute(value);
        }
    }
    Ok(())
}
